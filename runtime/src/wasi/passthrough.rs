//! WASI under a Wasm host: every call goes to the host's own `wasi_snapshot_preview1` import.
//!
//! The guest's memory is one buffer inside the runtime's memory, so a guest address becomes a
//! runtime address by adding the buffer's base. The host checks pointers only against the
//! runtime's whole memory, so each function here first checks every guest pointer, length and
//! alignment against the guest's memory (`GuestMemory`), and only then hands the host runtime
//! addresses. Nested pointers (iovec arrays) are copied into runtime-side arrays of runtime
//! addresses. The host's errno comes back unchanged; WASI semantics are the host's.
//!
//! Two calls write through guest buffers that a guest may make overlap, and there the guest must
//! still read back exactly what the host gives it directly (issue 14):
//! - `args_get` / `environ_get` with the pointer array overlapping the strings: the runtime writes
//!   both lists itself (argv is its own, and the host's environment has to get guest addresses),
//!   in the order the host writes (`ListOrder`, found by calling the host's `environ_get` on
//!   runtime-side copies with the same overlap; see `environ_get` and `host_orders`);
//! - `poll_oneoff` with the event array overlapping the subscriptions: the host itself writes the
//!   events into guest memory, and every host reads all subscriptions first; with a hidden
//!   descriptor the host reads a rewritten runtime-side copy of the subscriptions (`poll_with`),
//!   so nothing of the guest's is rewritten before or after the call.
//!
//! Soundness: the host writes only inside ranges checked here (the result pointers and iovec
//! buffers); the base is taken after the last read through `GuestMemory`, and nothing else
//! touches guest memory until the host returns.

use wasi::wasi_snapshot_preview1 as host;

use std::sync::OnceLock;

use super::memory::{IOVEC_ALIGN, IOV_MAX};
use super::{
    arg32, arg64, args_list, errno as codes, lay_out, list_ranges, write_list, write_list_sizes,
    GuestMemory, ListOrder, StringList, WasiCtx, LIST_ORDERS,
};
use crate::trap::{Trap, TrapKind};
use chiwawa_format::snapshot::{FdKind, FdState};

pub(super) use super::{args_sizes_get, proc_exit};

type Result = std::result::Result<u32, Trap>;

/// Sizes and alignments of the preview1 structs a call writes through a pointer (wasm32 ABI).
const FDSTAT: (u64, u32) = (24, 8);
const FILESTAT: (u64, u32) = (64, 8);
const PRESTAT: (u64, u32) = (8, 4);
const SUBSCRIPTION: (u32, u32) = (48, 8);
const EVENT: (u32, u32) = (32, 8);
const U16: (u64, u32) = (2, 2);
const U32: (u64, u32) = (4, 4);
const U64: (u64, u32) = (8, 8);

/// The host's errno, unchanged.
fn errno(e: i32) -> Result {
    Ok(e as u32)
}

/// Checks a value or struct result pointer.
fn check(
    memory: &GuestMemory<'_>,
    addr: u32,
    (size, align): (u64, u32),
) -> std::result::Result<(), Trap> {
    memory.range(addr, size, align).map(drop)
}

/// Checks a byte buffer (string, data buffer).
fn check_bytes(memory: &GuestMemory<'_>, addr: u32, len: u32) -> std::result::Result<(), Trap> {
    memory.range(addr, u64::from(len), 1).map(drop)
}

/// The runtime address of checked guest address `addr`, as the i32 the host's imports take.
fn at(base: *mut u8, addr: u32) -> i32 {
    base.wrapping_add(addr as usize) as usize as i32
}

/// The guest's iovec array at `addr` (checked, buffers included) as an array of runtime
/// iovecs. `Iovec` and `Ciovec` have the same layout; the host reads `Ciovec`s from it for writes.
fn host_iovecs(
    memory: &mut GuestMemory<'_>,
    addr: u32,
    count: u32,
) -> std::result::Result<(*mut u8, Vec<wasi::Iovec>), Trap> {
    let guest = memory.iovecs(addr, count, IOV_MAX)?;
    let base = memory.base()?;
    let iovs = guest
        .iter()
        .map(|&(buf, len)| wasi::Iovec {
            buf: base.wrapping_add(buf as usize),
            buf_len: len as usize,
        })
        .collect();
    Ok((base, iovs))
}

fn iovs_ptr(iovs: &[wasi::Iovec]) -> i32 {
    const _: () = assert!(std::mem::align_of::<wasi::Iovec>() == IOVEC_ALIGN as usize);
    iovs.as_ptr() as usize as i32
}

pub(super) fn environ_sizes_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    if let Some(env) = &ctx.env {
        return write_list_sizes(
            memory,
            env.iter().map(|kv| kv.as_bytes()),
            arg32(p, 0),
            arg32(p, 1),
        );
    }
    let (count, size) = (arg32(p, 0), arg32(p, 1));
    check(memory, count, U32)?;
    check(memory, size, U32)?;
    let base = memory.base()?;
    // SAFETY: both result pointers are checked, aligned u32 slots in guest memory.
    errno(unsafe { host::environ_sizes_get(at(base, count), at(base, size)) })
}

/// A runtime-side buffer of `len` bytes whose byte `aligned_at` lies at an address that is a
/// multiple of `align`, for handing the host a copy of a guest structure with the guest's
/// alignment.
struct Scratch {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Scratch {
    fn new(len: usize, aligned_at: usize, align: usize) -> Scratch {
        let buf = vec![0; len + align];
        let addr = buf.as_ptr() as usize + aligned_at;
        let start = (align - addr % align) % align;
        Scratch { buf, start, len }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }

    /// The runtime address of byte `at` (at most `len`) of the buffer.
    fn addr(&mut self, at: usize) -> usize {
        self.bytes_mut().as_mut_ptr() as usize + at
    }
}

/// The host's environment, read into the runtime's own memory (`Err` holds the host's errno).
fn host_environ() -> std::result::Result<StringList, u32> {
    let (mut count, mut size) = (0u32, 0u32);
    // SAFETY: the results go to two local u32s.
    let e = unsafe {
        host::environ_sizes_get(
            &mut count as *mut u32 as usize as i32,
            &mut size as *mut u32 as usize as i32,
        )
    };
    if e != 0 {
        return Err(e as u32);
    }
    let mut ptrs = vec![0u32; count as usize];
    let mut bytes = vec![0u8; size as usize];
    // SAFETY: the host writes `count` u32s into `ptrs` and `size` bytes into `bytes`, the sizes
    // it has just reported.
    let e = unsafe {
        host::environ_get(
            ptrs.as_mut_ptr() as usize as i32,
            bytes.as_mut_ptr() as usize as i32,
        )
    };
    if e != 0 {
        return Err(e as u32);
    }
    let base = bytes.as_ptr() as usize as u32;
    let offsets: Vec<u32> = ptrs.iter().map(|p| p.wrapping_sub(base)).collect();
    // Each string starts where the one before ended, the first at 0, and ends with its NUL.
    let consistent = offsets.first().is_none_or(|&o| o == 0)
        && offsets.iter().enumerate().all(|(i, &start)| {
            let end = offsets.get(i + 1).copied().unwrap_or(size);
            start < end && end <= size && bytes[end as usize - 1] == 0
        });
    if !consistent {
        return Err(codes::IO);
    }
    Ok(StringList { bytes, offsets })
}

/// The orders (`ListOrder`) that give what the host's `environ_get` gives for `list` (the host's
/// environment) with the pointer array at byte `ptrs` and the strings at byte `buf` of a region
/// holding `initial`: the host is called on a runtime-side copy of the region, and each order's
/// layout compared with it.
fn orders_like_host(
    list: &StringList,
    initial: &[u8],
    ptrs: usize,
    buf: usize,
) -> std::result::Result<Vec<ListOrder>, u32> {
    assert!(
        ptrs + 4 * list.offsets.len() <= initial.len() && buf + list.bytes.len() <= initial.len()
    );
    let mut scratch = Scratch::new(initial.len(), ptrs, 4);
    scratch.bytes_mut().copy_from_slice(initial);
    let (ptrs_addr, buf_addr) = (scratch.addr(ptrs), scratch.addr(buf));
    // SAFETY: the host writes the pointer array (4-aligned) and the strings of `list`, the
    // environment it reported, which the region holds at these offsets (checked by the caller).
    let e = unsafe { host::environ_get(ptrs_addr as i32, buf_addr as i32) };
    if e != 0 {
        return Err(e as u32);
    }
    Ok(LIST_ORDERS
        .into_iter()
        .filter(|&order| {
            let mut model = initial.to_vec();
            lay_out(order, list, &mut model, ptrs, buf, buf_addr as u32);
            model == scratch.bytes()
        })
        .collect())
}

/// The orders the host's `environ_get` writes in, as far as its environment shows them (all four
/// when it cannot tell). Three overlapping layouts tell the four apart when the host has at least
/// two variables: the strings over the pointers (a pointer first, or a string first?), string 1
/// over pointer 0 (all the strings first?), and string 0 under pointer 1 (all the pointers
/// first?). Found once per process: the host does not change.
fn host_orders() -> &'static [ListOrder] {
    static ORDERS: OnceLock<Vec<ListOrder>> = OnceLock::new();
    ORDERS.get_or_init(|| {
        let Ok(list) = host_environ() else {
            return LIST_ORDERS.to_vec();
        };
        let n = list.offsets.len();
        let mut layouts = vec![(0, 0)];
        if let Some(&second) = list.offsets.get(1) {
            layouts.push((second as usize, 0));
            layouts.push((0, 4));
        }
        let mut orders = LIST_ORDERS.to_vec();
        for (ptrs, buf) in layouts {
            let len = (ptrs + 4 * n).max(buf + list.bytes.len());
            match orders_like_host(&list, &vec![0xee; len], ptrs, buf) {
                Ok(like) => orders.retain(|o| like.contains(o)),
                Err(_) => return LIST_ORDERS.to_vec(),
            }
        }
        orders
    })
}

/// The order to write the guest's string list in: the first of `candidates` the host's own
/// probes (`host_orders`) agree with, else the first candidate, else the first order the probes
/// agree with, else wasmtime's order.
fn pick(candidates: &[ListOrder]) -> ListOrder {
    let probed = host_orders();
    candidates
        .iter()
        .find(|o| probed.contains(o))
        .or(candidates.first())
        .or(probed.first())
        .copied()
        .unwrap_or(ListOrder::PtrThenStr)
}

/// The guest's argv is the runtime's own, so the runtime writes it, in the host's order
/// (`ListOrder`): when the pointer array overlaps the strings the guest then reads back what the
/// host would have given it directly. The order is found from the host's `environ_get`; a host
/// whose environment has fewer than two variables cannot show it fully, and then the first
/// order (wasmtime's) that fits what it shows is used.
pub(super) fn args_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (ptrs, buf) = (arg32(p, 0), arg32(p, 1));
    let Some(list) = args_list(ctx) else {
        return Ok(codes::OVERFLOW);
    };
    let order = match list_ranges(memory, &list, ptrs, buf)? {
        Some(_) => pick(&LIST_ORDERS),
        None => ListOrder::PtrThenStr, // any: the order shows only when the two overlap
    };
    write_list(memory, &list, ptrs, buf, order)
}

/// The host's environment is read into the runtime's memory and then written to the guest by the
/// runtime, with guest addresses in the pointer array: the host never sees the guest's buffers.
/// When the pointer array overlaps the strings, the result depends on the order of the writes
/// (`ListOrder`), and the guest gets what the host gives it directly: the host is called once
/// more on a runtime-side copy of the overlapping region, with the same layout, and the order
/// whose result matches the host's is used (`pick`: the host's probes decide if several match,
/// and if none does).
pub(super) fn environ_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (ptrs, buf) = (arg32(p, 0), arg32(p, 1));
    // An environment of the runtime's own (a restored run's) is written as argv is.
    if let Some(env) = &ctx.env {
        let Some(list) = StringList::new(env.iter().map(|kv| kv.as_bytes())) else {
            return Ok(codes::OVERFLOW);
        };
        let order = match list_ranges(memory, &list, ptrs, buf)? {
            Some(_) => pick(&LIST_ORDERS),
            None => ListOrder::PtrThenStr,
        };
        return write_list(memory, &list, ptrs, buf, order);
    }
    let list = match host_environ() {
        Ok(list) => list,
        Err(e) => return Ok(e),
    };
    let Some(span) = list_ranges(memory, &list, ptrs, buf)? else {
        return write_list(memory, &list, ptrs, buf, ListOrder::PtrThenStr);
    };
    // Both checked, so their span lies inside guest memory.
    let initial = memory.bytes_mut()?[span.clone()].to_vec();
    let (ptrs_at, buf_at) = (ptrs as usize - span.start, buf as usize - span.start);
    let like = match orders_like_host(&list, &initial, ptrs_at, buf_at) {
        Ok(like) => like,
        Err(e) => return Ok(e),
    };
    write_list(memory, &list, ptrs, buf, pick(&like))
}

pub(super) fn clock_res_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (id, out) = (arg32(p, 0), arg32(p, 1));
    check(memory, out, U64)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u64 slot in guest memory.
    errno(unsafe { host::clock_res_get(id as i32, at(base, out)) })
}

pub(super) fn clock_time_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (id, precision, out) = (arg32(p, 0), arg64(p, 1), arg32(p, 2));
    check(memory, out, U64)?;
    // The monotonic clock through the runtime: a restored run's offset, and the last reading
    // given to the guest, which a snapshot records.
    if id == wasi::CLOCKID_MONOTONIC.raw() {
        // SAFETY: no guest pointers; the host writes the runtime-side result.
        return Ok(
            match unsafe { wasi::clock_time_get(wasi::CLOCKID_MONOTONIC, precision) } {
                Ok(t) => {
                    memory.write_u64(out, ctx.guest_monotonic(t))?;
                    codes::SUCCESS
                }
                Err(e) => u32::from(e.raw()),
            },
        );
    }
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u64 slot in guest memory.
    errno(unsafe { host::clock_time_get(id as i32, precision as i64, at(base, out)) })
}

/// The host's monotonic clock, before the guest's offset.
pub(super) fn host_monotonic(_: &WasiCtx) -> Option<u64> {
    // SAFETY: no pointers.
    unsafe { wasi::clock_time_get(wasi::CLOCKID_MONOTONIC, 1) }.ok()
}

/// Whether host descriptor `fd` is open.
pub(super) fn host_fd_exists(_: &WasiCtx, fd: u32) -> bool {
    // SAFETY: no guest pointers; the host writes a runtime-side result.
    unsafe { wasi::fd_fdstat_get(fd) }.is_ok()
}

/// Whether host descriptor `fd` is a directory.
pub(super) fn host_is_dir(_: &WasiCtx, fd: u32) -> bool {
    // SAFETY: no guest pointers; the host writes a runtime-side result.
    unsafe { wasi::fd_fdstat_get(fd) }.is_ok_and(|s| s.fs_filetype == wasi::FILETYPE_DIRECTORY)
}

/// Writes all of `bytes` to host descriptor `fd` (the rest of a short write); the errno if it
/// fails.
pub(super) fn write_rest(
    _: &mut WasiCtx,
    fd: u32,
    mut bytes: &[u8],
) -> std::result::Result<(), u32> {
    while !bytes.is_empty() {
        let iov = wasi::Ciovec {
            buf: bytes.as_ptr(),
            buf_len: bytes.len(),
        };
        // SAFETY: the host reads the runtime's own buffer.
        match unsafe { wasi::fd_write(fd, &[iov]) } {
            Ok(0) => return Err(codes::IO),
            Ok(n) => bytes = &bytes[n.min(bytes.len())..],
            Err(e) => return Err(u32::from(e.raw())),
        }
    }
    Ok(())
}

/// See [`WasiCtx::guest_fds`]: the guest's descriptors are the host's (less the hidden one),
/// found by asking the host about each number, on to 64 past the highest one in use.
pub(super) fn guest_fds(ctx: &mut WasiCtx) -> std::result::Result<Vec<FdState>, String> {
    let mut out = Vec::new();
    let mut last = 2u32;
    let mut fd = 0u32;
    while fd <= last.saturating_add(64) {
        let host_fd = match ctx.fd_map() {
            Some(map) => map.to_host(fd),
            None => Some(fd),
        };
        let Some(host_fd) = host_fd else { break };
        // SAFETY: no guest pointers; the host writes runtime-side results.
        if unsafe { wasi::fd_fdstat_get(host_fd) }.is_ok() {
            last = fd;
            // What the guest opened first: some hosts (bun, wasi-js) answer fd_prestat_get for
            // every directory descriptor, not only preopens.
            let kind = if fd < 3 {
                FdKind::Stdio
            } else if let Some(kind) = ctx.opened_kind(fd)? {
                kind
            } else {
                match preopen_name(host_fd) {
                    Some(name) => FdKind::Preopen { name },
                    None => return Err(super::opened_fd(fd)),
                }
            };
            let rights = ctx.narrowed.get(&fd).copied();
            out.push(FdState { fd, kind, rights });
        }
        fd += 1;
    }
    Ok(out)
}

/// The guest name of host descriptor `fd` if it is a preopened directory.
fn preopen_name(fd: u32) -> Option<String> {
    // SAFETY: no guest pointers; the host writes runtime-side results.
    let prestat = unsafe { wasi::fd_prestat_get(fd) }.ok()?;
    if prestat.tag != wasi::PREOPENTYPE_DIR.raw() {
        return None;
    }
    let mut name = vec![0u8; unsafe { prestat.u.dir.pr_name_len }];
    // SAFETY: `name` holds the length the host reported.
    unsafe { wasi::fd_prestat_dir_name(fd, name.as_mut_ptr(), name.len()) }.ok()?;
    String::from_utf8(name).ok()
}

pub(super) fn fd_advise(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe {
        host::fd_advise(
            arg32(p, 0) as i32,
            arg64(p, 1) as i64,
            arg64(p, 2) as i64,
            arg32(p, 3) as i32,
        )
    })
}

pub(super) fn fd_allocate(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::fd_allocate(arg32(p, 0) as i32, arg64(p, 1) as i64, arg64(p, 2) as i64) })
}

pub(super) fn fd_close(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers. The runtime holds no descriptor of its own while the guest runs
    // (DESIGN.md principle 3), so the guest can only close its own.
    errno(unsafe { host::fd_close(arg32(p, 0) as i32) })
}

pub(super) fn fd_datasync(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::fd_datasync(arg32(p, 0) as i32) })
}

pub(super) fn fd_fdstat_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    check(memory, out, FDSTAT)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned fdstat in guest memory.
    errno(unsafe { host::fd_fdstat_get(fd as i32, at(base, out)) })
}

pub(super) fn fd_fdstat_set_flags(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::fd_fdstat_set_flags(arg32(p, 0) as i32, arg32(p, 1) as i32) })
}

pub(super) fn fd_fdstat_set_rights(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe {
        host::fd_fdstat_set_rights(arg32(p, 0) as i32, arg64(p, 1) as i64, arg64(p, 2) as i64)
    })
}

pub(super) fn fd_filestat_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    check(memory, out, FILESTAT)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned filestat in guest memory.
    errno(unsafe { host::fd_filestat_get(fd as i32, at(base, out)) })
}

pub(super) fn fd_filestat_set_size(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::fd_filestat_set_size(arg32(p, 0) as i32, arg64(p, 1) as i64) })
}

pub(super) fn fd_filestat_set_times(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe {
        host::fd_filestat_set_times(
            arg32(p, 0) as i32,
            arg64(p, 1) as i64,
            arg64(p, 2) as i64,
            arg32(p, 3) as i32,
        )
    })
}

pub(super) fn fd_pread(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, offset, nread) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg64(p, 3),
        arg32(p, 4),
    );
    check(memory, nread, U32)?;
    let (base, iovs) = host_iovecs(memory, iovs, count)?;
    // SAFETY: every iovec buffer and `nread` are checked guest ranges.
    errno(unsafe {
        host::fd_pread(
            fd as i32,
            iovs_ptr(&iovs),
            iovs.len() as i32,
            offset as i64,
            at(base, nread),
        )
    })
}

pub(super) fn fd_prestat_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    check(memory, out, PRESTAT)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned prestat in guest memory.
    errno(unsafe { host::fd_prestat_get(fd as i32, at(base, out)) })
}

pub(super) fn fd_prestat_dir_name(
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    check_bytes(memory, path, len)?;
    let base = memory.base()?;
    // SAFETY: the host writes at most `len` bytes into the checked buffer.
    errno(unsafe { host::fd_prestat_dir_name(fd as i32, at(base, path), len as i32) })
}

pub(super) fn fd_pwrite(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, offset, nwritten) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg64(p, 3),
        arg32(p, 4),
    );
    check(memory, nwritten, U32)?;
    let (base, iovs) = host_iovecs(memory, iovs, count)?;
    // SAFETY: every ciovec buffer and `nwritten` are checked guest ranges.
    errno(unsafe {
        host::fd_pwrite(
            fd as i32,
            iovs_ptr(&iovs),
            iovs.len() as i32,
            offset as i64,
            at(base, nwritten),
        )
    })
}

pub(super) fn fd_read(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, nread) = (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    check(memory, nread, U32)?;
    let (base, iovs) = host_iovecs(memory, iovs, count)?;
    // SAFETY: every iovec buffer and `nread` are checked guest ranges.
    errno(unsafe {
        host::fd_read(
            fd as i32,
            iovs_ptr(&iovs),
            iovs.len() as i32,
            at(base, nread),
        )
    })
}

pub(super) fn fd_readdir(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, buf, len, cookie, used) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg64(p, 3),
        arg32(p, 4),
    );
    check_bytes(memory, buf, len)?;
    check(memory, used, U32)?;
    let base = memory.base()?;
    // SAFETY: the host fills at most `len` bytes of the checked buffer and the checked `used`.
    errno(unsafe {
        host::fd_readdir(
            fd as i32,
            at(base, buf),
            len as i32,
            cookie as i64,
            at(base, used),
        )
    })
}

pub(super) fn fd_renumber(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::fd_renumber(arg32(p, 0) as i32, arg32(p, 1) as i32) })
}

pub(super) fn fd_seek(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, offset, whence, out) = (arg32(p, 0), arg64(p, 1), arg32(p, 2), arg32(p, 3));
    check(memory, out, U64)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u64 slot in guest memory.
    errno(unsafe { host::fd_seek(fd as i32, offset as i64, whence as i32, at(base, out)) })
}

pub(super) fn fd_sync(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::fd_sync(arg32(p, 0) as i32) })
}

pub(super) fn fd_tell(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    check(memory, out, U64)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u64 slot in guest memory.
    errno(unsafe { host::fd_tell(fd as i32, at(base, out)) })
}

pub(super) fn fd_write(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, nwritten) = (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    check(memory, nwritten, U32)?;
    let (base, iovs) = host_iovecs(memory, iovs, count)?;
    // SAFETY: every ciovec buffer and `nwritten` are checked guest ranges.
    errno(unsafe {
        host::fd_write(
            fd as i32,
            iovs_ptr(&iovs),
            iovs.len() as i32,
            at(base, nwritten),
        )
    })
}

pub(super) fn path_create_directory(
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    check_bytes(memory, path, len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the checked path.
    errno(unsafe { host::path_create_directory(fd as i32, at(base, path), len as i32) })
}

pub(super) fn path_filestat_get(
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, flags, path, len, out) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
    );
    check_bytes(memory, path, len)?;
    check(memory, out, FILESTAT)?;
    let base = memory.base()?;
    // SAFETY: checked path; `out` is a checked, aligned filestat.
    errno(unsafe {
        host::path_filestat_get(
            fd as i32,
            flags as i32,
            at(base, path),
            len as i32,
            at(base, out),
        )
    })
}

pub(super) fn path_filestat_set_times(
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, flags, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    let (atim, mtim, fst_flags) = (arg64(p, 4), arg64(p, 5), arg32(p, 6));
    check_bytes(memory, path, len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the checked path.
    errno(unsafe {
        host::path_filestat_set_times(
            fd as i32,
            flags as i32,
            at(base, path),
            len as i32,
            atim as i64,
            mtim as i64,
            fst_flags as i32,
        )
    })
}

pub(super) fn path_link(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (old_fd, old_flags, old_path, old_len) =
        (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    let (new_fd, new_path, new_len) = (arg32(p, 4), arg32(p, 5), arg32(p, 6));
    check_bytes(memory, old_path, old_len)?;
    check_bytes(memory, new_path, new_len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the two checked paths.
    errno(unsafe {
        host::path_link(
            old_fd as i32,
            old_flags as i32,
            at(base, old_path),
            old_len as i32,
            new_fd as i32,
            at(base, new_path),
            new_len as i32,
        )
    })
}

pub(super) fn path_open(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, dirflags, path, len, oflags) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
    );
    let (rights_base, rights_inheriting, fdflags, out) =
        (arg64(p, 5), arg64(p, 6), arg32(p, 7), arg32(p, 8));
    check_bytes(memory, path, len)?;
    check(memory, out, U32)?;
    let base = memory.base()?;
    // SAFETY: checked path; `out` is a checked, aligned u32 slot.
    errno(unsafe {
        host::path_open(
            fd as i32,
            dirflags as i32,
            at(base, path),
            len as i32,
            oflags as i32,
            rights_base as i64,
            rights_inheriting as i64,
            fdflags as i32,
            at(base, out),
        )
    })
}

pub(super) fn path_readlink(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, path, len, buf, buf_len, used) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
        arg32(p, 5),
    );
    check_bytes(memory, path, len)?;
    check_bytes(memory, buf, buf_len)?;
    check(memory, used, U32)?;
    let base = memory.base()?;
    // SAFETY: checked path; the host fills at most `buf_len` bytes of the checked buffer.
    errno(unsafe {
        host::path_readlink(
            fd as i32,
            at(base, path),
            len as i32,
            at(base, buf),
            buf_len as i32,
            at(base, used),
        )
    })
}

pub(super) fn path_remove_directory(
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    check_bytes(memory, path, len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the checked path.
    errno(unsafe { host::path_remove_directory(fd as i32, at(base, path), len as i32) })
}

pub(super) fn path_rename(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, old_path, old_len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    let (new_fd, new_path, new_len) = (arg32(p, 3), arg32(p, 4), arg32(p, 5));
    check_bytes(memory, old_path, old_len)?;
    check_bytes(memory, new_path, new_len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the two checked paths.
    errno(unsafe {
        host::path_rename(
            fd as i32,
            at(base, old_path),
            old_len as i32,
            new_fd as i32,
            at(base, new_path),
            new_len as i32,
        )
    })
}

pub(super) fn path_symlink(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (old_path, old_len, fd, new_path, new_len) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
    );
    check_bytes(memory, old_path, old_len)?;
    check_bytes(memory, new_path, new_len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the two checked paths.
    errno(unsafe {
        host::path_symlink(
            at(base, old_path),
            old_len as i32,
            fd as i32,
            at(base, new_path),
            new_len as i32,
        )
    })
}

pub(super) fn path_unlink_file(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    check_bytes(memory, path, len)?;
    let base = memory.base()?;
    // SAFETY: the host reads the checked path.
    errno(unsafe { host::path_unlink_file(fd as i32, at(base, path), len as i32) })
}

/// Subscriptions and events hold no pointers: checking both arrays' extents is enough. The host
/// reads the guest's subscriptions and writes the guest's events itself, so an event array that
/// overlaps the subscriptions gives the guest exactly what the host gives it directly.
pub(super) fn poll_oneoff(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (subs, events, count, nevents) = (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    memory.array(subs, count, SUBSCRIPTION.0, SUBSCRIPTION.1)?;
    memory.array(events, count, EVENT.0, EVENT.1)?;
    check(memory, nevents, U32)?;
    let base = memory.base()?;
    // SAFETY: the host reads `count` checked subscriptions and writes at most `count` events into
    // the checked event array, and the count into the checked `nevents`.
    errno(unsafe {
        host::poll_oneoff(
            at(base, subs),
            at(base, events),
            count as i32,
            at(base, nevents),
        )
    })
}

/// `poll_oneoff` on `subs`, a runtime-side copy of the guest's subscriptions (already checked
/// and read from the guest's memory, see `poll_hiding`), with the guest's event array and count.
/// The host reads every subscription before it writes an event, so reading a copy changes
/// nothing it reads, even where the guest's events overlap its subscriptions.
pub(super) fn poll_with(
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    subs: &[u8],
    p: &[u64],
) -> Result {
    let (events, count, nevents) = (arg32(p, 1), arg32(p, 2), arg32(p, 3));
    if subs.len() as u64 != u64::from(count) * u64::from(SUBSCRIPTION.0) {
        return Err(Trap::new(TrapKind::Host(
            "wasi: poll_oneoff: subscriptions and count disagree".into(),
        )));
    }
    memory.array(events, count, EVENT.0, EVENT.1)?;
    check(memory, nevents, U32)?;
    let mut copy = Scratch::new(subs.len(), 0, SUBSCRIPTION.1 as usize);
    copy.bytes_mut().copy_from_slice(subs);
    let subs = copy.addr(0);
    let base = memory.base()?;
    // SAFETY: the host reads `count` subscriptions from the aligned copy, which holds
    // `count * 48` bytes (the caller checked the guest's array of that size), and writes at most
    // `count` events into the checked event array and the count into the checked `nevents`.
    errno(unsafe {
        host::poll_oneoff(
            subs as i32,
            at(base, events),
            count as i32,
            at(base, nevents),
        )
    })
}

pub(super) fn proc_raise(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::proc_raise(arg32(p, 0) as i32) })
}

pub(super) fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::sched_yield() })
}

pub(super) fn random_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (buf, len) = (arg32(p, 0), arg32(p, 1));
    check_bytes(memory, buf, len)?;
    let base = memory.base()?;
    // SAFETY: the host fills the checked buffer.
    errno(unsafe { host::random_get(at(base, buf), len as i32) })
}

/// `sock_accept` without the host's `sock_accept`. Hosts of the first preview1 release lack that
/// function (it came later), and a Wasm module cannot import a function optionally, so importing
/// it would stop chiwawa-rt.wasm from starting on them even for guests that never accept. So the
/// runtime answers itself. For a descriptor that is not a socket (or no descriptor at all) it
/// gives the host's own answer: what the host's `sock_shutdown` says of that descriptor, which
/// fails there without an effect and which the hosts tried answer with the same errno as their
/// `sock_accept` (EBADF for a bad descriptor; for a file ENOTSOCK on wasmtime, ENOTCAPABLE on
/// node, EBADF on wasmi). A host without sockets at all (ENOSYS, as deno) gets the POSIX answer:
/// EBADF for a bad descriptor, else ENOTSOCK, as deno's `sock_accept` says. On a socket (a
/// host's preopened listener, such as `wasmtime run --tcplisten`) accepting is not supported:
/// ENOTSUP.
pub(super) fn sock_accept(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 2));
    check(memory, out, U32)?;
    // SAFETY: no guest pointers; the host writes the runtime-side result.
    let stat = unsafe { wasi::fd_fdstat_get(fd) };
    if let Ok(stat) = &stat {
        let socket = [wasi::FILETYPE_SOCKET_STREAM, wasi::FILETYPE_SOCKET_DGRAM];
        if socket.contains(&stat.fs_filetype) {
            return Ok(codes::NOTSUP);
        }
    }
    // SAFETY: no pointers; `fd` is not a socket, so this fails without an effect.
    let e = unsafe { host::sock_shutdown(fd as i32, wasi::SDFLAGS_WR.into()) };
    Ok(match (e as u32, stat) {
        (0, _) => codes::NOTSUP,
        (codes::NOSYS, Err(e)) => u32::from(e.raw()),
        (codes::NOSYS, Ok(_)) => codes::NOTSOCK,
        (e, _) => e,
    })
}

pub(super) fn sock_recv(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, ri_flags, datalen, ro_flags) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
        arg32(p, 5),
    );
    check(memory, datalen, U32)?;
    check(memory, ro_flags, U16)?;
    let (base, iovs) = host_iovecs(memory, iovs, count)?;
    // SAFETY: every iovec buffer and both results are checked guest ranges.
    errno(unsafe {
        host::sock_recv(
            fd as i32,
            iovs_ptr(&iovs),
            iovs.len() as i32,
            ri_flags as i32,
            at(base, datalen),
            at(base, ro_flags),
        )
    })
}

pub(super) fn sock_send(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, si_flags, datalen) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
    );
    check(memory, datalen, U32)?;
    let (base, iovs) = host_iovecs(memory, iovs, count)?;
    // SAFETY: every ciovec buffer and the result are checked guest ranges.
    errno(unsafe {
        host::sock_send(
            fd as i32,
            iovs_ptr(&iovs),
            iovs.len() as i32,
            si_flags as i32,
            at(base, datalen),
        )
    })
}

pub(super) fn sock_shutdown(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    // SAFETY: no pointers.
    errno(unsafe { host::sock_shutdown(arg32(p, 0) as i32, arg32(p, 1) as i32) })
}
