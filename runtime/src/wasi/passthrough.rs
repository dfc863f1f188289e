//! WASI under a Wasm host: every call goes to the host's own `wasi_snapshot_preview1` import.
//!
//! The guest's memory is one buffer inside the runtime's memory, so a guest address becomes a
//! runtime address by adding the buffer's base. The host checks pointers only against the
//! runtime's whole memory, so each function here first checks every guest pointer, length and
//! alignment against the guest's memory (`GuestMemory`), and only then hands the host runtime
//! addresses. Nested pointers (iovec arrays) are copied into runtime-side arrays of runtime
//! addresses. The host's errno comes back unchanged; WASI semantics are the host's.
//!
//! Soundness: the host writes only inside ranges checked here (the result pointers and iovec
//! buffers); the base is taken after the last read through `GuestMemory`, and nothing else
//! touches guest memory until the host returns.

use wasi::wasi_snapshot_preview1 as host;

use super::memory::{IOVEC_ALIGN, IOV_MAX};
use super::{arg32, arg64, GuestMemory, WasiCtx};
use crate::trap::Trap;

pub(super) use super::{args_get, args_sizes_get, proc_exit};

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
    _: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (count, size) = (arg32(p, 0), arg32(p, 1));
    check(memory, count, U32)?;
    check(memory, size, U32)?;
    let base = memory.base()?;
    // SAFETY: both result pointers are checked, aligned u32 slots in guest memory.
    errno(unsafe { host::environ_sizes_get(at(base, count), at(base, size)) })
}

/// The host fills the guest's buffer and pointer array, writing runtime addresses into the array;
/// they are turned back into guest addresses afterwards.
pub(super) fn environ_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (environ, buf) = (arg32(p, 0), arg32(p, 1));
    let (mut count, mut size) = (0u32, 0u32);
    // SAFETY: the results go to two local u32s.
    let e = unsafe {
        host::environ_sizes_get(
            &mut count as *mut u32 as usize as i32,
            &mut size as *mut u32 as usize as i32,
        )
    };
    if e != 0 {
        return errno(e);
    }
    memory.array(environ, count, 4, 4)?;
    check_bytes(memory, buf, size)?;
    let base = memory.base()?;
    // SAFETY: the pointer array (count u32s) and the buffer (size bytes) are checked above with
    // the counts the host itself reported, so the host writes only inside them.
    let e = unsafe { host::environ_get(at(base, environ), at(base, buf)) };
    if e != 0 {
        return errno(e);
    }
    let base = base as usize as u32;
    for i in 0..count {
        let slot = environ + 4 * i;
        let runtime_addr = memory.read_u32(slot)?;
        memory.write_u32(slot, runtime_addr.wrapping_sub(base))?;
    }
    errno(0)
}

pub(super) fn clock_res_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (id, out) = (arg32(p, 0), arg32(p, 1));
    check(memory, out, U64)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u64 slot in guest memory.
    errno(unsafe { host::clock_res_get(id as i32, at(base, out)) })
}

pub(super) fn clock_time_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (id, precision, out) = (arg32(p, 0), arg64(p, 1), arg32(p, 2));
    check(memory, out, U64)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u64 slot in guest memory.
    errno(unsafe { host::clock_time_get(id as i32, precision as i64, at(base, out)) })
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

/// Subscriptions and events hold no pointers: checking both arrays' extents is enough.
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

pub(super) fn sock_accept(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, flags, out) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    check(memory, out, U32)?;
    let base = memory.base()?;
    // SAFETY: `out` is a checked, aligned u32 slot.
    errno(unsafe { host::sock_accept(fd as i32, flags as i32, at(base, out)) })
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
