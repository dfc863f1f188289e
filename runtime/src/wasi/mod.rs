//! WASI preview1 (`wasi_snapshot_preview1`) for guests.
//!
//! Inside a Wasm host (`target_os = "wasi"`) every call is passed through to the host's own
//! import of the same function (`passthrough.rs`): the runtime checks the guest's pointers and
//! rewrites nested ones, the host does the work. Natively (`native.rs`) a small WASI of its own
//! serves tests and debugging. Both implement the one table of functions below, so `link` binds
//! the same 46 names with the same signatures on either target.
//!
//! Only the guest's argv is the runtime's own business on both targets (the runtime's argv holds
//! the runtime's options), and `proc_exit` becomes a trap so the CLI can clean up before it exits.
//!
//! One descriptor of the runtime's own can be hidden from the guest ([`WasiCtx::hide_fd`]): the
//! image file, kept open to read code on demand. The guest's descriptor numbers then skip it:
//! guest descriptor `g` is host descriptor `g` below the hidden one and `g + 1` from it on, in
//! every argument that names a descriptor, in the descriptors `path_open` and `sock_accept`
//! return, and in `poll_oneoff`'s subscriptions. So the guest sees exactly the table it would see
//! without the runtime, whatever numbers the host hands out.

mod memory;

#[cfg(not(target_os = "wasi"))]
mod native;
#[cfg(target_os = "wasi")]
mod passthrough;

#[cfg(all(test, not(target_os = "wasi")))]
mod tests;

#[cfg(not(target_os = "wasi"))]
use native as sys;
#[cfg(target_os = "wasi")]
use passthrough as sys;

use std::cell::RefCell;
use std::rc::Rc;

use chiwawa_format::FuncType;

pub use memory::GuestMemory;

use crate::store::{Caller, Extern, HostFn, Store};
use crate::trap::{Trap, TrapKind};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// What the guest was given: its argv and, natively, its descriptor table.
pub struct WasiCtx {
    /// The guest's argv, `argv[0]` included.
    pub args: Vec<String>,
    /// The host descriptor hidden from the guest, if any.
    hidden_fd: Option<u32>,
    #[cfg(not(target_os = "wasi"))]
    pub(crate) native: native::State,
}

impl WasiCtx {
    /// Guest argv is exactly `args`; environment, stdio and preopened directories are the ones the
    /// host gave this process (under a Wasm host by pass-through; natively `std::env::vars`, this
    /// process's stdio and the directories added with `preopen_dir`).
    pub fn new(args: Vec<String>) -> WasiCtx {
        WasiCtx {
            args,
            hidden_fd: None,
            #[cfg(not(target_os = "wasi"))]
            native: native::State::new(),
        }
    }

    /// Hides host descriptor `fd`, a descriptor of the runtime's own, from the guest (see the
    /// module's documentation). Call it before the guest runs, at most once.
    pub fn hide_fd(&mut self, fd: u32) {
        debug_assert!(self.hidden_fd.is_none(), "one hidden descriptor only");
        self.hidden_fd = Some(fd);
    }

    /// Natively: preopens host directory `host` as guest directory `guest` (like
    /// `wasmtime --dir host::guest`); preopens get descriptors 3, 4, ... in call order.
    /// Under a Wasm host the guest sees the host's preopens, so this returns `Unsupported`:
    /// give the directory to the host instead (e.g. `wasmtime --dir`).
    pub fn preopen_dir(&mut self, host: &std::path::Path, guest: &str) -> std::io::Result<()> {
        #[cfg(not(target_os = "wasi"))]
        {
            self.native.preopen_dir(host, guest)
        }
        #[cfg(target_os = "wasi")]
        {
            let _ = (host, guest);
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "under a Wasm host the guest sees the host's preopened directories: \
                 give the directory to the host (e.g. `wasmtime --dir`)",
            ))
        }
    }
}

/// Resolves one import: `Some` for every `wasi_snapshot_preview1` function (a new host function
/// with the exact preview1 signature, bound to `ctx`), `None` for anything else.
pub fn link(
    store: &mut Store,
    ctx: &Rc<RefCell<WasiCtx>>,
    module: &str,
    name: &str,
) -> Option<Extern> {
    if module != MODULE {
        return None;
    }
    let func = FUNCTIONS.iter().find(|f| f.name == name)?;
    let (imp, arity) = (func.imp, func.params.len());
    let (fds, fd_out, poll) = (fd_params(name), fd_result(name), name == "poll_oneoff");
    let ctx = Rc::clone(ctx);
    let host: HostFn = Rc::new(
        move |caller: &mut Caller<'_>, params: &[u64], results: &mut [u64]| {
            if params.len() != arity {
                return Err(host_trap(format!(
                    "wasi: {arity} arguments expected, got {}",
                    params.len()
                )));
            }
            let mut ctx = ctx
                .try_borrow_mut()
                .map_err(|_| host_trap("wasi: context already in use".into()))?;
            let mut memory = match caller.memory.as_deref_mut() {
                Some(memory) => GuestMemory::new(memory.bytes_mut()),
                None => GuestMemory::none(),
            };
            let errno = match ctx.hidden_fd {
                None => imp(&mut ctx, &mut memory, params)?,
                Some(hidden) if poll => poll_hiding(hidden, imp, &mut ctx, &mut memory, params)?,
                Some(hidden) => {
                    call_hiding(hidden, fds, fd_out, imp, &mut ctx, &mut memory, params)?
                }
            };
            if let Some(result) = results.first_mut() {
                *result = u64::from(errno);
            }
            Ok(())
        },
    );
    let ty = FuncType {
        params: func.params.to_vec(),
        results: func.results.to_vec(),
    };
    Some(Extern::Func(store.add_host_func(ty, host)))
}

/// The most parameters a preview1 function takes (`path_open`).
const MAX_PARAMS: usize = 9;

/// The parameters of preview1 function `name` that are descriptors.
fn fd_params(name: &str) -> &'static [usize] {
    match name {
        "fd_renumber" => &[0, 1],
        "path_link" => &[0, 4],
        "path_rename" => &[0, 3],
        "path_symlink" => &[2],
        _ if ["fd_", "path_", "sock_"]
            .iter()
            .any(|p| name.starts_with(p)) =>
        {
            &[0]
        }
        _ => &[],
    }
}

/// The parameter of preview1 function `name` that points to a descriptor it returns.
fn fd_result(name: &str) -> Option<usize> {
    match name {
        "path_open" => Some(8),
        "sock_accept" => Some(2),
        _ => None,
    }
}

/// Guest descriptor `fd` as the host's, with host descriptor `hidden` skipped; `None` if the
/// host's number would not fit.
fn fd_to_host(hidden: u32, fd: u32) -> Option<u32> {
    if fd >= hidden {
        fd.checked_add(1)
    } else {
        Some(fd)
    }
}

/// Host descriptor `fd` (not `hidden`) as the guest sees it.
fn fd_to_guest(hidden: u32, fd: u32) -> u32 {
    if fd > hidden {
        fd - 1
    } else {
        fd
    }
}

/// A call with descriptor `hidden` hidden: the descriptor parameters `fds` are mapped to the
/// host's, and the descriptor the call writes through parameter `fd_out`, if any, back to the
/// guest's.
fn call_hiding(
    hidden: u32,
    fds: &[usize],
    fd_out: Option<usize>,
    imp: Impl,
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    params: &[u64],
) -> Result<u32, Trap> {
    let mut host = [0u64; MAX_PARAMS];
    let host = &mut host[..params.len()];
    host.copy_from_slice(params);
    for &i in fds {
        match fd_to_host(hidden, params[i] as u32) {
            Some(fd) => host[i] = u64::from(fd),
            // A guest descriptor past the last host one: the host has no such descriptor
            // either.
            None => return Ok(errno::BADF),
        }
    }
    let e = imp(ctx, memory, host)?;
    if let (errno::SUCCESS, Some(i)) = (e, fd_out) {
        let at = params[i] as u32;
        let fd = memory.read_u32(at)?;
        memory.write_u32(at, fd_to_guest(hidden, fd))?;
    }
    Ok(e)
}

/// `poll_oneoff` with descriptor `hidden` hidden: the descriptors in the guest's subscriptions
/// are rewritten to the host's for the call and put back after it (the subscriptions are the
/// call's input only; events carry no descriptors).
fn poll_hiding(
    hidden: u32,
    imp: Impl,
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    params: &[u64],
) -> Result<u32, Trap> {
    const SIZE: u32 = 48;
    const TAG: u32 = 8;
    const FD: u32 = 16;
    let (subs, count) = (arg32(params, 0), arg32(params, 2));
    if memory.array(subs, count, SIZE, 8).is_err() {
        // Out of bounds: the call reports it, with nothing rewritten.
        return imp(ctx, memory, params);
    }
    let mut saved = Vec::new();
    for i in 0..count {
        let at = subs + i * SIZE;
        let tag = memory.read_u32(at + TAG)? & 0xff;
        if tag == 1 || tag == 2 {
            // fd_read, fd_write: a descriptor. One that cannot exist on the host becomes one
            // that does not (u32::MAX), so the host reports it as it would have.
            let fd = memory.read_u32(at + FD)?;
            saved.push((at + FD, fd));
            memory.write_u32(at + FD, fd_to_host(hidden, fd).unwrap_or(u32::MAX))?;
        }
    }
    let result = imp(ctx, memory, params);
    for (at, fd) in saved {
        memory.write_u32(at, fd)?;
    }
    result
}

/// One preview1 function: its name, its signature (value type bytes) and this target's
/// implementation, which returns the errno (ignored for `proc_exit`, which has no result).
pub struct WasiFunction {
    pub name: &'static str,
    pub params: &'static [u8],
    pub results: &'static [u8],
    pub(crate) imp: Impl,
}

pub(crate) type Impl = fn(&mut WasiCtx, &mut GuestMemory<'_>, &[u64]) -> Result<u32, Trap>;

const I32: u8 = 0x7f;
const I64: u8 = 0x7e;

macro_rules! wasi_functions {
    ($($name:ident($($param:ident),*) $(-> $result:ident)?;)*) => {
        /// Every `wasi_snapshot_preview1` function with its signature.
        pub const FUNCTIONS: &[WasiFunction] = &[$(WasiFunction {
            name: stringify!($name),
            params: &[$($param),*],
            results: &[$($result)?],
            imp: sys::$name,
        }),*];
    };
}

wasi_functions! {
    args_get(I32, I32) -> I32;
    args_sizes_get(I32, I32) -> I32;
    environ_get(I32, I32) -> I32;
    environ_sizes_get(I32, I32) -> I32;
    clock_res_get(I32, I32) -> I32;
    clock_time_get(I32, I64, I32) -> I32;
    fd_advise(I32, I64, I64, I32) -> I32;
    fd_allocate(I32, I64, I64) -> I32;
    fd_close(I32) -> I32;
    fd_datasync(I32) -> I32;
    fd_fdstat_get(I32, I32) -> I32;
    fd_fdstat_set_flags(I32, I32) -> I32;
    fd_fdstat_set_rights(I32, I64, I64) -> I32;
    fd_filestat_get(I32, I32) -> I32;
    fd_filestat_set_size(I32, I64) -> I32;
    fd_filestat_set_times(I32, I64, I64, I32) -> I32;
    fd_pread(I32, I32, I32, I64, I32) -> I32;
    fd_prestat_get(I32, I32) -> I32;
    fd_prestat_dir_name(I32, I32, I32) -> I32;
    fd_pwrite(I32, I32, I32, I64, I32) -> I32;
    fd_read(I32, I32, I32, I32) -> I32;
    fd_readdir(I32, I32, I32, I64, I32) -> I32;
    fd_renumber(I32, I32) -> I32;
    fd_seek(I32, I64, I32, I32) -> I32;
    fd_sync(I32) -> I32;
    fd_tell(I32, I32) -> I32;
    fd_write(I32, I32, I32, I32) -> I32;
    path_create_directory(I32, I32, I32) -> I32;
    path_filestat_get(I32, I32, I32, I32, I32) -> I32;
    path_filestat_set_times(I32, I32, I32, I32, I64, I64, I32) -> I32;
    path_link(I32, I32, I32, I32, I32, I32, I32) -> I32;
    path_open(I32, I32, I32, I32, I32, I64, I64, I32, I32) -> I32;
    path_readlink(I32, I32, I32, I32, I32, I32) -> I32;
    path_remove_directory(I32, I32, I32) -> I32;
    path_rename(I32, I32, I32, I32, I32, I32) -> I32;
    path_symlink(I32, I32, I32, I32, I32) -> I32;
    path_unlink_file(I32, I32, I32) -> I32;
    poll_oneoff(I32, I32, I32, I32) -> I32;
    proc_exit(I32);
    proc_raise(I32) -> I32;
    sched_yield() -> I32;
    random_get(I32, I32) -> I32;
    sock_accept(I32, I32, I32) -> I32;
    sock_recv(I32, I32, I32, I32, I32, I32) -> I32;
    sock_send(I32, I32, I32, I32, I32) -> I32;
    sock_shutdown(I32, I32) -> I32;
}

/// Preview1 errno values used by the runtime itself (the host's pass through unchanged).
#[allow(dead_code)] // each target uses its own subset
pub(crate) mod errno {
    pub const SUCCESS: u32 = 0;
    pub const ACCES: u32 = 2;
    pub const AGAIN: u32 = 6;
    pub const BADF: u32 = 8;
    pub const BUSY: u32 = 10;
    pub const EXIST: u32 = 20;
    pub const FBIG: u32 = 22;
    pub const ILSEQ: u32 = 25;
    pub const INTR: u32 = 27;
    pub const INVAL: u32 = 28;
    pub const IO: u32 = 29;
    pub const ISDIR: u32 = 31;
    pub const LOOP: u32 = 32;
    pub const MLINK: u32 = 34;
    pub const NAMETOOLONG: u32 = 37;
    pub const NOENT: u32 = 44;
    pub const NOMEM: u32 = 48;
    pub const NOSPC: u32 = 51;
    pub const NOSYS: u32 = 52;
    pub const NOTDIR: u32 = 54;
    pub const NOTEMPTY: u32 = 55;
    pub const NOTSUP: u32 = 58;
    pub const OVERFLOW: u32 = 61;
    pub const PERM: u32 = 63;
    pub const PIPE: u32 = 64;
    pub const ROFS: u32 = 69;
    pub const SPIPE: u32 = 70;
    pub const TIMEDOUT: u32 = 73;
    pub const TXTBSY: u32 = 74;
    pub const XDEV: u32 = 75;
    pub const NOTCAPABLE: u32 = 76;
}

fn host_trap(message: String) -> Trap {
    Trap::new(TrapKind::Host(message))
}

/// Parameter `i` as an i32 (zero-extended in its slot) or i64.
fn arg32(params: &[u64], i: usize) -> u32 {
    params[i] as u32
}

fn arg64(params: &[u64], i: usize) -> u64 {
    params[i]
}

/// Writes the count and the total size (each string plus its NUL) of a string list, the layout
/// of `args_sizes_get` / `environ_sizes_get`.
fn write_list_sizes<'s>(
    memory: &mut GuestMemory<'_>,
    list: impl Iterator<Item = &'s [u8]>,
    count_ptr: u32,
    size_ptr: u32,
) -> Result<u32, Trap> {
    let (mut count, mut size) = (0u64, 0u64);
    for item in list {
        count += 1;
        size += item.len() as u64 + 1;
    }
    let (Ok(count), Ok(size)) = (u32::try_from(count), u32::try_from(size)) else {
        return Ok(errno::OVERFLOW);
    };
    memory.write_u32(count_ptr, count)?;
    memory.write_u32(size_ptr, size)?;
    Ok(errno::SUCCESS)
}

/// Writes a string list the way `args_get` / `environ_get` do: the NUL-terminated strings one
/// after another from `buf`, and the guest address of each into the u32 array at `ptrs`.
/// Both extents are checked before anything is written.
fn write_list<'s>(
    memory: &mut GuestMemory<'_>,
    list: impl Iterator<Item = &'s [u8]> + Clone,
    ptrs: u32,
    buf: u32,
) -> Result<u32, Trap> {
    let count = list.clone().count() as u64;
    let size: u64 = list.clone().map(|s| s.len() as u64 + 1).sum();
    memory.range(ptrs, count.saturating_mul(4), 4)?;
    memory.range(buf, size, 1)?;
    let mut at = buf;
    for (i, item) in list.enumerate() {
        // In range: checked above, so these sums stay below the memory size.
        memory.write_u32(ptrs + 4 * i as u32, at)?;
        memory.write(at, item, 1)?;
        memory.write(at + item.len() as u32, &[0], 1)?;
        at += item.len() as u32 + 1;
    }
    Ok(errno::SUCCESS)
}

pub(crate) fn args_sizes_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result<u32, Trap> {
    write_list_sizes(
        memory,
        ctx.args.iter().map(|a| a.as_bytes()),
        arg32(p, 0),
        arg32(p, 1),
    )
}

pub(crate) fn args_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result<u32, Trap> {
    write_list(
        memory,
        ctx.args.iter().map(|a| a.as_bytes()),
        arg32(p, 0),
        arg32(p, 1),
    )
}

/// `proc_exit(code)` stops the guest with `TrapKind::Exit(code)`; the CLI exits with that status
/// once it has cleaned up.
pub(crate) fn proc_exit(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result<u32, Trap> {
    Err(Trap::new(TrapKind::Exit(arg32(p, 0))))
}
