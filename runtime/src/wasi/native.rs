//! WASI for the native runtime: a small implementation of its own, for tests and debugging.
//!
//! It serves argv, the process environment, clocks, random bytes, stdio, and files under
//! preopened directories. Files are reached only through `cap-std` directory handles, which
//! resolve every guest path inside its directory (no `..` or absolute path or symlink leads out);
//! plain `std::fs` paths would let a guest escape. Functions without a native implementation
//! exist and return `NOSYS`, so modules importing them still instantiate.
//!
//! Pointer checks are the ones the pass-through uses: every result pointer is checked before the
//! call does anything, so both targets trap on the same guest mistakes.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::hash::BuildHasher;
use std::io::{self, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, Metadata, OpenOptions};

use chiwawa_format::snapshot::{FdKind, FdState};

use super::errno::*;
use super::memory::IOV_MAX;
use super::{
    arg32, arg64, opened_fd, write_list, write_list_sizes, GuestMemory, ListOrder, StringList,
    WasiCtx,
};
use crate::trap::Trap;

pub(super) use super::{args_get, args_sizes_get, proc_exit};

type Result = std::result::Result<u32, Trap>;

/// Why a call failed: an errno for the guest, or a trap (bad pointer).
enum Fail {
    Errno(u32),
    Trap(Trap),
}

impl From<Trap> for Fail {
    fn from(trap: Trap) -> Fail {
        Fail::Trap(trap)
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Errno(errno_of(&e))
    }
}

type Done = std::result::Result<(), Fail>;

/// Runs a call body: success is errno 0, a failure its errno, a trap stays a trap.
fn run(body: impl FnOnce() -> Done) -> Result {
    match body() {
        Ok(()) => Ok(SUCCESS),
        Err(Fail::Errno(e)) => Ok(e),
        Err(Fail::Trap(trap)) => Err(trap),
    }
}

fn fail<T>(errno: u32) -> std::result::Result<T, Fail> {
    Err(Fail::Errno(errno))
}

fn errno_of(e: &io::Error) -> u32 {
    use io::ErrorKind as K;
    #[cfg(target_os = "linux")]
    match e.raw_os_error() {
        Some(1) => return PERM,
        Some(13) => return ACCES,
        Some(36) => return NAMETOOLONG,
        Some(40) => return LOOP,
        _ => {}
    }
    match e.kind() {
        K::NotFound => NOENT,
        // cap-std reports a path that would leave its directory as PermissionDenied without an
        // OS error; wasmtime reports that as PERM.
        K::PermissionDenied if e.raw_os_error().is_none() => PERM,
        K::PermissionDenied => ACCES,
        K::AlreadyExists => EXIST,
        K::WouldBlock => AGAIN,
        K::InvalidInput => INVAL,
        K::InvalidFilename => NAMETOOLONG,
        K::TimedOut => TIMEDOUT,
        K::Interrupted => INTR,
        K::Unsupported => NOTSUP,
        K::OutOfMemory => NOMEM,
        K::NotADirectory => NOTDIR,
        K::IsADirectory => ISDIR,
        K::DirectoryNotEmpty => NOTEMPTY,
        K::ReadOnlyFilesystem => ROFS,
        K::StorageFull => NOSPC,
        K::NotSeekable => SPIPE,
        K::FileTooLarge => FBIG,
        K::ResourceBusy => BUSY,
        K::ExecutableFileBusy => TXTBSY,
        K::CrossesDevices => XDEV,
        K::TooManyLinks => MLINK,
        K::BrokenPipe => PIPE,
        _ => IO,
    }
}

// Preview1 constants used here.
const FILETYPE_UNKNOWN: u8 = 0;
const FILETYPE_BLOCK_DEVICE: u8 = 1;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SOCKET_STREAM: u8 = 6;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;
const FDFLAGS_APPEND: u16 = 1;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const OFLAGS_CREAT: u32 = 1;
const OFLAGS_DIRECTORY: u32 = 2;
const OFLAGS_EXCL: u32 = 4;
const OFLAGS_TRUNC: u32 = 8;
const RIGHTS_FD_DATASYNC: u64 = 1 << 0;
const RIGHTS_FD_READ: u64 = 1 << 1;
const RIGHTS_FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
const RIGHTS_FD_SYNC: u64 = 1 << 4;
const RIGHTS_FD_WRITE: u64 = 1 << 6;
const RIGHTS_FD_FILESTAT_GET: u64 = 1 << 21;
const RIGHTS_POLL_FD_READWRITE: u64 = 1 << 27;
/// Every right preview1 defines (bits 0..=29).
const RIGHTS_ALL: u64 = (1 << 30) - 1;
/// Stdio has no seek or tell rights: that is how wasi-libc's `isatty` tells a terminal.
const RIGHTS_STDIO: u64 = RIGHTS_FD_READ
    | RIGHTS_FD_WRITE
    | RIGHTS_FD_DATASYNC
    | RIGHTS_FD_SYNC
    | RIGHTS_FD_FDSTAT_SET_FLAGS
    | RIGHTS_FD_FILESTAT_GET
    | RIGHTS_POLL_FD_READWRITE;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const EVENTTYPE_CLOCK: u8 = 0;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const DIRENT_SIZE: usize = 24;

/// An open descriptor.
enum Entry {
    Stdin,
    Stdout,
    Stderr,
    Dir {
        dir: Dir,
        /// The guest name of a preopened directory.
        preopen: Option<String>,
    },
    File {
        file: File,
        append: bool,
    },
}

/// The native WASI state of one guest.
pub(crate) struct State {
    fds: Vec<Option<Entry>>,
    /// `KEY=VALUE` strings.
    pub(super) env: Vec<Vec<u8>>,
    /// Zero of the monotonic clock.
    start: Instant,
    /// SplitMix64 state for `random_get`.
    rng: u64,
}

fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(s))
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }
    }
}

impl State {
    pub(crate) fn new() -> State {
        let env = std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = os_bytes(&k).into_owned();
                kv.push(b'=');
                kv.extend_from_slice(&os_bytes(&v));
                kv
            })
            .collect();
        // A debug-quality generator, not a cryptographic one: SplitMix64 seeded from the clock
        // and std's per-process random hash keys (std exposes no OS random API; the real
        // runtime under a Wasm host passes random_get through to the host).
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let rng = RandomState::new().hash_one(now);
        State {
            fds: vec![Some(Entry::Stdin), Some(Entry::Stdout), Some(Entry::Stderr)],
            env,
            start: Instant::now(),
            rng,
        }
    }

    #[cfg(test)]
    pub(crate) fn set_env(&mut self, env: &[&str]) {
        self.env = env.iter().map(|kv| kv.as_bytes().to_vec()).collect();
    }

    pub(crate) fn preopen_dir(&mut self, host: &Path, guest: &str) -> io::Result<()> {
        let dir = Dir::open_ambient_dir(host, ambient_authority())?;
        self.fds.push(Some(Entry::Dir {
            dir,
            preopen: Some(guest.to_string()),
        }));
        Ok(())
    }

    fn entry(&self, fd: u32) -> std::result::Result<&Entry, Fail> {
        match self.fds.get(fd as usize) {
            Some(Some(entry)) => Ok(entry),
            _ => fail(BADF),
        }
    }

    fn dir(&self, fd: u32) -> std::result::Result<&Dir, Fail> {
        match self.entry(fd)? {
            Entry::Dir { dir, .. } => Ok(dir),
            _ => fail(NOTDIR),
        }
    }

    fn file(&self, fd: u32) -> std::result::Result<&File, Fail> {
        match self.entry(fd)? {
            Entry::File { file, .. } => Ok(file),
            Entry::Dir { .. } => fail(ISDIR),
            _ => fail(SPIPE),
        }
    }

    /// Puts `entry` in the lowest free descriptor.
    fn insert(&mut self, entry: Entry) -> u32 {
        match self.fds.iter().position(Option::is_none) {
            Some(fd) => {
                self.fds[fd] = Some(entry);
                fd as u32
            }
            None => {
                self.fds.push(Some(entry));
                (self.fds.len() - 1) as u32
            }
        }
    }

    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn now(&self, clock: u32) -> Option<u64> {
        match clock {
            CLOCK_REALTIME => Some(nanos(SystemTime::now())),
            CLOCK_MONOTONIC => Some(self.start.elapsed().as_nanos() as u64),
            _ => None,
        }
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A file timestamp in nanoseconds since the epoch (0 where the platform has none).
fn stamp(t: io::Result<cap_std::time::SystemTime>) -> u64 {
    t.map_or(0, |t| nanos(t.into_std()))
}

/// A guest path as a host path relative to a directory handle.
fn guest_path<'m>(
    memory: &'m GuestMemory<'_>,
    addr: u32,
    len: u32,
) -> std::result::Result<&'m Path, Fail> {
    let bytes = memory.slice(addr, len)?;
    #[cfg(unix)]
    {
        Ok(Path::new(
            <OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes),
        ))
    }
    #[cfg(not(unix))]
    {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Path::new(s)),
            Err(_) => fail(ILSEQ),
        }
    }
}

fn filetype(meta: &Metadata) -> u8 {
    let ty = meta.file_type();
    if ty.is_dir() {
        return FILETYPE_DIRECTORY;
    }
    if ty.is_file() {
        return FILETYPE_REGULAR_FILE;
    }
    if ty.is_symlink() {
        return FILETYPE_SYMBOLIC_LINK;
    }
    #[cfg(unix)]
    {
        use cap_std::fs::FileTypeExt;
        if ty.is_block_device() {
            return FILETYPE_BLOCK_DEVICE;
        }
        if ty.is_char_device() {
            return FILETYPE_CHARACTER_DEVICE;
        }
        if ty.is_socket() {
            return FILETYPE_SOCKET_STREAM;
        }
    }
    FILETYPE_UNKNOWN
}

/// A preview1 `filestat` (64 bytes, align 8).
fn filestat(meta: &Metadata) -> [u8; 64] {
    #[cfg(unix)]
    let (dev, ino, nlink, ctim) = {
        use cap_std::fs::MetadataExt;
        let ctim = (meta.ctime() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(meta.ctime_nsec() as u64);
        (meta.dev(), meta.ino(), meta.nlink(), ctim)
    };
    #[cfg(not(unix))]
    let (dev, ino, nlink, ctim) = (0, 0, 1, stamp(meta.created()));
    let mut out = [0; 64];
    out[0..8].copy_from_slice(&dev.to_le_bytes());
    out[8..16].copy_from_slice(&ino.to_le_bytes());
    out[16] = filetype(meta);
    out[24..32].copy_from_slice(&nlink.to_le_bytes());
    out[32..40].copy_from_slice(&meta.len().to_le_bytes());
    out[40..48].copy_from_slice(&stamp(meta.accessed()).to_le_bytes());
    out[48..56].copy_from_slice(&stamp(meta.modified()).to_le_bytes());
    out[56..64].copy_from_slice(&ctim.to_le_bytes());
    out
}

fn stdio_filetype(terminal: bool) -> u8 {
    if terminal {
        FILETYPE_CHARACTER_DEVICE
    } else {
        FILETYPE_UNKNOWN
    }
}

/// Reads into the iovecs in order, stopping at the first short read. Returns the byte count;
/// an error after some bytes were read is reported as a short read.
fn read_iovecs(
    reader: &mut dyn Read,
    memory: &mut GuestMemory<'_>,
    iovs: &[(u32, u32)],
) -> std::result::Result<u32, Fail> {
    let mut total = 0u32;
    for &(buf, len) in iovs {
        if total.checked_add(len).is_none() {
            break;
        }
        let n = match reader.read(memory.slice_mut(buf, len)?) {
            Ok(n) => n as u32,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e.into()),
        };
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

/// Writes the iovecs in order. Returns the byte count; an error after some bytes were written is
/// reported as a short write.
fn write_iovecs(
    writer: &mut dyn Write,
    memory: &GuestMemory<'_>,
    iovs: &[(u32, u32)],
) -> std::result::Result<u32, Fail> {
    let mut total = 0u32;
    for &(buf, len) in iovs {
        if total.checked_add(len).is_none() {
            break;
        }
        match writer.write_all(memory.slice(buf, len)?) {
            Ok(()) => total += len,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e.into()),
        }
    }
    match writer.flush() {
        Err(e) if total == 0 => Err(e.into()),
        _ => Ok(total),
    }
}

macro_rules! nosys {
    ($($name:ident),* $(,)?) => {$(
        pub(super) fn $name(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[u64]) -> Result {
            Ok(NOSYS)
        }
    )*};
}

nosys!(
    fd_advise,
    fd_allocate,
    fd_fdstat_set_flags,
    fd_fdstat_set_rights,
    proc_raise,
    sock_accept,
    sock_recv,
    sock_send,
    sock_shutdown,
);

pub(super) fn environ_sizes_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    write_list_sizes(
        memory,
        ctx.native.env.iter().map(Vec::as_slice),
        arg32(p, 0),
        arg32(p, 1),
    )
}

/// In wasmtime's order (`ListOrder`), as `args_get`.
pub(super) fn environ_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let Some(list) = StringList::new(ctx.native.env.iter().map(Vec::as_slice)) else {
        return Ok(OVERFLOW);
    };
    write_list(
        memory,
        &list,
        arg32(p, 0),
        arg32(p, 1),
        ListOrder::PtrThenStr,
    )
}

pub(super) fn clock_res_get(_: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (clock, out) = (arg32(p, 0), arg32(p, 1));
    run(|| {
        memory.range(out, 8, 8)?;
        match clock {
            CLOCK_REALTIME | CLOCK_MONOTONIC => Ok(memory.write_u64(out, 1)?),
            _ => fail(INVAL),
        }
    })
}

pub(super) fn clock_time_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (clock, out) = (arg32(p, 0), arg32(p, 2));
    run(|| {
        memory.range(out, 8, 8)?;
        match ctx.native.now(clock) {
            Some(t) if clock == CLOCK_MONOTONIC => {
                Ok(memory.write_u64(out, ctx.guest_monotonic(t))?)
            }
            Some(t) => Ok(memory.write_u64(out, t)?),
            None => fail(INVAL),
        }
    })
}

/// The monotonic clock as this WASI keeps it, before the guest's offset.
pub(super) fn host_monotonic(ctx: &WasiCtx) -> Option<u64> {
    ctx.native.now(CLOCK_MONOTONIC)
}

/// Whether host descriptor `fd` is open.
pub(super) fn host_fd_exists(ctx: &WasiCtx, fd: u32) -> bool {
    ctx.native.entry(fd).is_ok()
}

/// Whether host descriptor `fd` is a directory.
pub(super) fn host_is_dir(ctx: &WasiCtx, fd: u32) -> bool {
    matches!(ctx.native.entry(fd), Ok(Entry::Dir { .. }))
}

/// Writes all of `bytes` to descriptor `fd` (the rest of a short write); the errno if it fails.
pub(super) fn write_rest(ctx: &mut WasiCtx, fd: u32, bytes: &[u8]) -> std::result::Result<(), u32> {
    let written = match ctx.native.entry(fd) {
        Ok(Entry::Stdout) => io::stdout().lock().write_all(bytes),
        Ok(Entry::Stderr) => io::stderr().lock().write_all(bytes),
        Ok(Entry::File { file, .. }) => (&mut &*file).write_all(bytes),
        _ => return Err(BADF),
    };
    written.map_err(|e| errno_of(&e))
}

/// See [`WasiCtx::guest_fds`].
pub(super) fn guest_fds(ctx: &mut WasiCtx) -> std::result::Result<Vec<FdState>, String> {
    let mut out = Vec::new();
    for fd in 0..ctx.native.fds.len() {
        let kind = match &ctx.native.fds[fd] {
            None => continue,
            Some(Entry::Stdin | Entry::Stdout | Entry::Stderr) => FdKind::Stdio,
            Some(Entry::Dir {
                preopen: Some(name),
                ..
            }) => FdKind::Preopen { name: name.clone() },
            Some(_) => ctx
                .opened_kind(fd as u32)?
                .ok_or_else(|| opened_fd(fd as u32))?,
        };
        out.push(FdState {
            fd: fd as u32,
            kind,
            rights: ctx.narrowed.get(&(fd as u32)).copied(),
        });
    }
    Ok(out)
}

pub(super) fn fd_close(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    Ok(match ctx.native.fds.get_mut(arg32(p, 0) as usize) {
        Some(slot @ Some(_)) => {
            *slot = None;
            SUCCESS
        }
        _ => BADF,
    })
}

pub(super) fn fd_datasync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    run(|| match ctx.native.file(arg32(p, 0)) {
        Ok(file) => Ok(file.sync_data()?),
        // A directory: wasmtime's answer.
        Err(Fail::Errno(ISDIR)) => fail(BADF),
        Err(Fail::Errno(SPIPE)) => fail(INVAL),
        Err(e) => Err(e),
    })
}

pub(super) fn fd_sync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    run(|| match ctx.native.file(arg32(p, 0)) {
        Ok(file) => Ok(file.sync_all()?),
        Err(Fail::Errno(ISDIR)) => fail(BADF),
        Err(Fail::Errno(SPIPE)) => fail(INVAL),
        Err(e) => Err(e),
    })
}

pub(super) fn fd_fdstat_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    run(|| {
        memory.range(out, 24, 8)?;
        let (filetype, flags, base, inheriting) = match ctx.native.entry(fd)? {
            Entry::Stdin => (
                stdio_filetype(io::stdin().is_terminal()),
                0,
                RIGHTS_STDIO,
                0,
            ),
            Entry::Stdout => (
                stdio_filetype(io::stdout().is_terminal()),
                0,
                RIGHTS_STDIO,
                0,
            ),
            Entry::Stderr => (
                stdio_filetype(io::stderr().is_terminal()),
                0,
                RIGHTS_STDIO,
                0,
            ),
            Entry::Dir { .. } => (FILETYPE_DIRECTORY, 0, RIGHTS_ALL, RIGHTS_ALL),
            Entry::File { append, .. } => {
                let flags = if *append { FDFLAGS_APPEND } else { 0 };
                (FILETYPE_REGULAR_FILE, flags, RIGHTS_ALL, 0)
            }
        };
        let mut stat = [0u8; 24];
        stat[0] = filetype;
        stat[2..4].copy_from_slice(&flags.to_le_bytes());
        stat[8..16].copy_from_slice(&base.to_le_bytes());
        stat[16..24].copy_from_slice(&inheriting.to_le_bytes());
        Ok(memory.write(out, &stat, 8)?)
    })
}

pub(super) fn fd_filestat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    run(|| {
        memory.range(out, 64, 8)?;
        let stat = match ctx.native.entry(fd)? {
            Entry::File { file, .. } => filestat(&file.metadata()?),
            Entry::Dir { dir, .. } => filestat(&dir.dir_metadata()?),
            stdio => {
                let terminal = match stdio {
                    Entry::Stdin => io::stdin().is_terminal(),
                    Entry::Stdout => io::stdout().is_terminal(),
                    _ => io::stderr().is_terminal(),
                };
                let mut stat = [0; 64];
                stat[16] = stdio_filetype(terminal);
                stat
            }
        };
        Ok(memory.write(out, &stat, 8)?)
    })
}

pub(super) fn fd_filestat_set_size(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    run(|| Ok(ctx.native.file(arg32(p, 0))?.set_len(arg64(p, 1))?))
}

/// The times `fst_flags` asks to set: each of access and modification to the value given, to
/// now, or left as it is; both for one of them is EINVAL.
fn file_times(atim: u64, mtim: u64, flags: u32) -> std::result::Result<std::fs::FileTimes, Fail> {
    const ATIM: u32 = 1;
    const ATIM_NOW: u32 = 2;
    const MTIM: u32 = 4;
    const MTIM_NOW: u32 = 8;
    if flags & (ATIM | ATIM_NOW) == ATIM | ATIM_NOW || flags & (MTIM | MTIM_NOW) == MTIM | MTIM_NOW
    {
        return fail(INVAL);
    }
    let at = |ns: u64| std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    let now = std::time::SystemTime::now();
    let mut times = std::fs::FileTimes::new();
    if flags & ATIM != 0 {
        times = times.set_accessed(at(atim));
    } else if flags & ATIM_NOW != 0 {
        times = times.set_accessed(now);
    }
    if flags & MTIM != 0 {
        times = times.set_modified(at(mtim));
    } else if flags & MTIM_NOW != 0 {
        times = times.set_modified(now);
    }
    Ok(times)
}

pub(super) fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    run(|| {
        let times = file_times(arg64(p, 1), arg64(p, 2), arg32(p, 3))?;
        // (A duplicate of the descriptor: std sets the times, cap-std holds the file.)
        Ok(ctx
            .native
            .file(arg32(p, 0))?
            .try_clone()?
            .into_std()
            .set_times(times)?)
    })
}

pub(super) fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 2), arg32(p, 3));
    run(|| {
        let times = file_times(arg64(p, 4), arg64(p, 5), arg32(p, 6))?;
        let dir = ctx.native.dir(fd)?;
        let path = guest_path(memory, path, len)?;
        let file = if dir.metadata(path)?.is_dir() {
            // (A directory handle may be a path-only descriptor, which cannot have its times
            // set: the directory opened for reading instead.)
            dir.open_dir(path)?.open(".")?.into_std()
        } else {
            dir.open(path)?.into_std()
        };
        Ok(file.set_times(times)?)
    })
}

/// `pread`/`pwrite` by seeking there and back (the runtime is single-threaded).
fn at_offset<T>(
    mut file: &File,
    offset: u64,
    f: impl FnOnce(&File) -> std::result::Result<T, Fail>,
) -> std::result::Result<T, Fail> {
    let saved = file.stream_position()?;
    file.seek(SeekFrom::Start(offset))?;
    let result = f(file);
    file.seek(SeekFrom::Start(saved))?;
    result
}

pub(super) fn fd_pread(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, offset, out) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg64(p, 3),
        arg32(p, 4),
    );
    run(|| {
        memory.range(out, 4, 4)?;
        let iovs = memory.iovecs(iovs, count, IOV_MAX)?;
        let file = ctx.native.file(fd)?;
        let n = at_offset(file, offset, |mut file| {
            read_iovecs(&mut file, memory, &iovs)
        })?;
        Ok(memory.write_u32(out, n)?)
    })
}

pub(super) fn fd_pwrite(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, offset, out) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg64(p, 3),
        arg32(p, 4),
    );
    run(|| {
        memory.range(out, 4, 4)?;
        let iovs = memory.iovecs(iovs, count, IOV_MAX)?;
        let file = ctx.native.file(fd)?;
        let n = at_offset(file, offset, |mut file| {
            write_iovecs(&mut file, memory, &iovs)
        })?;
        Ok(memory.write_u32(out, n)?)
    })
}

pub(super) fn fd_read(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, out) = (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    run(|| {
        memory.range(out, 4, 4)?;
        let iovs = memory.iovecs(iovs, count, IOV_MAX)?;
        let n = match ctx.native.entry(fd)? {
            Entry::Stdin => read_iovecs(&mut io::stdin().lock(), memory, &iovs)?,
            Entry::File { file, .. } => read_iovecs(&mut &*file, memory, &iovs)?,
            Entry::Dir { .. } => return fail(ISDIR),
            Entry::Stdout | Entry::Stderr => return fail(BADF),
        };
        Ok(memory.write_u32(out, n)?)
    })
}

pub(super) fn fd_write(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, iovs, count, out) = (arg32(p, 0), arg32(p, 1), arg32(p, 2), arg32(p, 3));
    run(|| {
        memory.range(out, 4, 4)?;
        let iovs = memory.iovecs(iovs, count, IOV_MAX)?;
        let n = match ctx.native.entry(fd)? {
            Entry::Stdout => write_iovecs(&mut io::stdout().lock(), memory, &iovs)?,
            Entry::Stderr => write_iovecs(&mut io::stderr().lock(), memory, &iovs)?,
            Entry::File { file, .. } => write_iovecs(&mut &*file, memory, &iovs)?,
            Entry::Dir { .. } => return fail(ISDIR),
            Entry::Stdin => return fail(BADF),
        };
        Ok(memory.write_u32(out, n)?)
    })
}

pub(super) fn fd_prestat_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    run(|| {
        memory.range(out, 8, 4)?;
        match ctx.native.entry(fd)? {
            Entry::Dir {
                preopen: Some(name),
                ..
            } => {
                let mut prestat = [0u8; 8]; // tag 0: a directory
                prestat[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
                Ok(memory.write(out, &prestat, 4)?)
            }
            _ => fail(BADF),
        }
    })
}

pub(super) fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, buf, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    run(|| {
        memory.range(buf, u64::from(len), 1)?;
        match ctx.native.entry(fd)? {
            Entry::Dir {
                preopen: Some(name),
                ..
            } if name.len() > len as usize => fail(NAMETOOLONG),
            Entry::Dir {
                preopen: Some(name),
                ..
            } => Ok(memory.write(buf, name.as_bytes(), 1)?),
            _ => fail(BADF),
        }
    })
}

/// Directory entries in a stable order, `.` and `..` first; the cookie of an entry is its index.
fn dir_entries(dir: &Dir) -> std::result::Result<Vec<(Vec<u8>, u64, u8)>, Fail> {
    #[cfg(unix)]
    let ino = |meta: &Metadata| cap_std::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let ino = |_: &Metadata| 0u64;
    let this = dir.dir_metadata().map_or(0, |m| ino(&m));
    let mut entries = Vec::new();
    for entry in dir.entries()? {
        let entry = entry?;
        let (inode, ty) = match entry.metadata() {
            Ok(meta) => (ino(&meta), filetype(&meta)),
            Err(_) => (0, FILETYPE_UNKNOWN),
        };
        entries.push((os_bytes(&entry.file_name()).into_owned(), inode, ty));
    }
    entries.sort();
    let mut all = vec![
        (b".".to_vec(), this, FILETYPE_DIRECTORY),
        (b"..".to_vec(), 0, FILETYPE_DIRECTORY),
    ];
    all.extend(entries);
    Ok(all)
}

pub(super) fn fd_readdir(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, buf, len, cookie, used) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg64(p, 3),
        arg32(p, 4),
    );
    run(|| {
        memory.range(buf, u64::from(len), 1)?;
        memory.range(used, 4, 4)?;
        let entries = dir_entries(ctx.native.dir(fd)?)?;
        let mut out = Vec::new();
        for (i, (name, ino, ty)) in entries
            .iter()
            .enumerate()
            .skip(cookie.min(usize::MAX as u64) as usize)
        {
            if out.len() >= len as usize {
                break;
            }
            let mut dirent = [0u8; DIRENT_SIZE];
            dirent[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            dirent[8..16].copy_from_slice(&ino.to_le_bytes());
            dirent[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            dirent[20] = *ty;
            out.extend_from_slice(&dirent);
            out.extend_from_slice(name);
        }
        // A full buffer tells the guest there may be more; it asks again from the last cookie.
        out.truncate(len as usize);
        memory.write(buf, &out, 1)?;
        Ok(memory.write_u32(used, out.len() as u32)?)
    })
}

pub(super) fn fd_renumber(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (from, to) = (arg32(p, 0), arg32(p, 1));
    run(|| {
        ctx.native.entry(from)?;
        ctx.native.entry(to)?;
        if from != to {
            let entry = ctx.native.fds[from as usize].take();
            ctx.native.fds[to as usize] = entry;
        }
        Ok(())
    })
}

fn seek(ctx: &WasiCtx, fd: u32, to: SeekFrom) -> std::result::Result<u64, Fail> {
    let mut file = ctx.native.file(fd)?;
    Ok(file.seek(to)?)
}

pub(super) fn fd_seek(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, offset, whence, out) = (arg32(p, 0), arg64(p, 1) as i64, arg32(p, 2), arg32(p, 3));
    run(|| {
        memory.range(out, 8, 8)?;
        let to = match whence {
            0 if offset >= 0 => SeekFrom::Start(offset as u64),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return fail(INVAL),
        };
        let position = seek(ctx, fd, to)?;
        Ok(memory.write_u64(out, position)?)
    })
}

pub(super) fn fd_tell(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, out) = (arg32(p, 0), arg32(p, 1));
    run(|| {
        memory.range(out, 8, 8)?;
        let position = seek(ctx, fd, SeekFrom::Current(0))?;
        Ok(memory.write_u64(out, position)?)
    })
}

pub(super) fn path_create_directory(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    run(|| {
        Ok(ctx
            .native
            .dir(fd)?
            .create_dir(guest_path(memory, path, len)?)?)
    })
}

pub(super) fn path_filestat_get(
    ctx: &mut WasiCtx,
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
    run(|| {
        memory.range(out, 64, 8)?;
        let dir = ctx.native.dir(fd)?;
        let path = guest_path(memory, path, len)?;
        let meta = if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
            dir.metadata(path)?
        } else {
            dir.symlink_metadata(path)?
        };
        Ok(memory.write(out, &filestat(&meta), 8)?)
    })
}

pub(super) fn path_link(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (old_fd, old_path, old_len) = (arg32(p, 0), arg32(p, 2), arg32(p, 3));
    let (new_fd, new_path, new_len) = (arg32(p, 4), arg32(p, 5), arg32(p, 6));
    run(|| {
        let (old, new) = (
            guest_path(memory, old_path, old_len)?,
            guest_path(memory, new_path, new_len)?,
        );
        Ok(ctx
            .native
            .dir(old_fd)?
            .hard_link(old, ctx.native.dir(new_fd)?, new)?)
    })
}

/// Opens a file or directory under a directory descriptor. Symbolic links inside the directory
/// are always followed (cap-std keeps them inside it); `dirflags` is not honoured.
pub(super) fn path_open(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, path, len, oflags) = (arg32(p, 0), arg32(p, 2), arg32(p, 3), arg32(p, 4));
    let (rights, fdflags, out) = (arg64(p, 5), arg32(p, 7) as u16, arg32(p, 8));
    run(|| {
        memory.range(out, 4, 4)?;
        let dir = ctx.native.dir(fd)?;
        let path = guest_path(memory, path, len)?;
        let creating = oflags & (OFLAGS_CREAT | OFLAGS_TRUNC) != 0;
        let entry = if oflags & OFLAGS_DIRECTORY != 0
            || (!creating && dir.metadata(path).is_ok_and(|m| m.is_dir()))
        {
            if creating {
                return fail(ISDIR);
            }
            Entry::Dir {
                dir: dir.open_dir(path)?,
                preopen: None,
            }
        } else {
            let append = fdflags & FDFLAGS_APPEND != 0;
            let write = rights & RIGHTS_FD_WRITE != 0 || append || oflags & OFLAGS_TRUNC != 0;
            let read = rights & RIGHTS_FD_READ != 0 || !write;
            let mut options = OpenOptions::new();
            options
                .read(read)
                .write(write && !append)
                .append(append)
                .truncate(oflags & OFLAGS_TRUNC != 0)
                .create(oflags & OFLAGS_CREAT != 0)
                .create_new(
                    (oflags & (OFLAGS_CREAT | OFLAGS_EXCL)) == (OFLAGS_CREAT | OFLAGS_EXCL),
                );
            Entry::File {
                file: dir.open_with(path, &options)?,
                append,
            }
        };
        let new_fd = ctx.native.insert(entry);
        Ok(memory.write_u32(out, new_fd)?)
    })
}

pub(super) fn path_readlink(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, path, len, buf, buf_len, used) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
        arg32(p, 5),
    );
    run(|| {
        memory.range(buf, u64::from(buf_len), 1)?;
        memory.range(used, 4, 4)?;
        let target = ctx
            .native
            .dir(fd)?
            .read_link_contents(guest_path(memory, path, len)?)?;
        let target = os_bytes(target.as_os_str()).into_owned();
        let n = target.len().min(buf_len as usize);
        memory.write(buf, &target[..n], 1)?;
        Ok(memory.write_u32(used, n as u32)?)
    })
}

pub(super) fn path_remove_directory(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    run(|| {
        Ok(ctx
            .native
            .dir(fd)?
            .remove_dir(guest_path(memory, path, len)?)?)
    })
}

pub(super) fn path_rename(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (fd, old_path, old_len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    let (new_fd, new_path, new_len) = (arg32(p, 3), arg32(p, 4), arg32(p, 5));
    run(|| {
        let (old, new) = (
            guest_path(memory, old_path, old_len)?,
            guest_path(memory, new_path, new_len)?,
        );
        Ok(ctx
            .native
            .dir(fd)?
            .rename(old, ctx.native.dir(new_fd)?, new)?)
    })
}

pub(super) fn path_symlink(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (old_path, old_len, fd, new_path, new_len) = (
        arg32(p, 0),
        arg32(p, 1),
        arg32(p, 2),
        arg32(p, 3),
        arg32(p, 4),
    );
    run(|| {
        let (target, link) = (
            guest_path(memory, old_path, old_len)?,
            guest_path(memory, new_path, new_len)?,
        );
        let dir = ctx.native.dir(fd)?;
        #[cfg(not(windows))]
        {
            // The target is stored as text; following it later stays inside the directory.
            Ok(dir.symlink_contents(target, link)?)
        }
        #[cfg(windows)]
        {
            let _ = (target, link, dir);
            fail(NOSYS)
        }
    })
}

pub(super) fn path_unlink_file(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result {
    let (fd, path, len) = (arg32(p, 0), arg32(p, 1), arg32(p, 2));
    run(|| {
        Ok(ctx
            .native
            .dir(fd)?
            .remove_file(guest_path(memory, path, len)?)?)
    })
}

/// Clock subscriptions sleep until the earliest deadline; descriptor subscriptions are reported
/// ready at once (reads and writes here block instead of failing with EAGAIN).
pub(super) fn poll_oneoff(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (subs, count) = (arg32(p, 0), arg32(p, 2));
    let range = memory.array(subs, count, 48, 8)?;
    let subs = memory.bytes_mut()?[range].to_vec();
    poll_with(ctx, memory, &subs, p)
}

/// `poll_oneoff` with the subscriptions `subs` already read (and checked) from the guest's
/// memory: like the hosts, every subscription is read before any event is written, so an event
/// array overlapping the subscriptions changes nothing the call reads.
pub(super) fn poll_with(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    subs: &[u8],
    p: &[u64],
) -> Result {
    let (events, count, nevents) = (arg32(p, 1), arg32(p, 2), arg32(p, 3));
    fn field<const N: usize>(subs: &[u8], at: usize) -> [u8; N] {
        let mut out = [0; N];
        out.copy_from_slice(&subs[at..at + N]);
        out
    }
    run(|| {
        memory.array(events, count, 32, 8)?;
        memory.range(nevents, 4, 4)?;
        if count == 0 {
            return fail(INVAL);
        }
        // (userdata, error, type, time left for a clock)
        let mut ready: Vec<(u64, u16, u8)> = Vec::new();
        let mut clocks: Vec<(u64, u64)> = Vec::new();
        for sub in (0..subs.len()).step_by(48) {
            let userdata = u64::from_le_bytes(field(subs, sub));
            let tag = subs[sub + 8];
            if tag == EVENTTYPE_CLOCK {
                let clock = u32::from_le_bytes(field(subs, sub + 16));
                let timeout = u64::from_le_bytes(field(subs, sub + 24));
                let flags = u16::from_le_bytes(field(subs, sub + 40));
                let abstime = flags & SUBCLOCKFLAGS_ABSTIME != 0;
                match ctx.native.now(clock) {
                    Some(now) if abstime => clocks.push((userdata, timeout.saturating_sub(now))),
                    Some(_) => clocks.push((userdata, timeout)),
                    None => ready.push((userdata, INVAL as u16, tag)),
                }
            } else if tag <= 2 {
                let fd = u32::from_le_bytes(field(subs, sub + 16));
                let error = if ctx.native.entry(fd).is_ok() {
                    SUCCESS
                } else {
                    BADF
                };
                ready.push((userdata, error as u16, tag));
            } else {
                return fail(INVAL);
            }
        }
        let wait = if ready.is_empty() {
            clocks.iter().map(|c| c.1).min().unwrap_or(0)
        } else {
            0
        };
        if wait > 0 {
            std::thread::sleep(Duration::from_nanos(wait));
        }
        ready.extend(
            clocks
                .iter()
                .filter(|c| c.1 <= wait)
                .map(|c| (c.0, 0, EVENTTYPE_CLOCK)),
        );
        for (i, (userdata, error, ty)) in ready.iter().enumerate() {
            let mut event = [0u8; 32];
            event[0..8].copy_from_slice(&userdata.to_le_bytes());
            event[8..10].copy_from_slice(&error.to_le_bytes());
            event[10] = *ty;
            memory.write(events + 32 * i as u32, &event, 8)?;
        }
        Ok(memory.write_u32(nevents, ready.len() as u32)?)
    })
}

pub(super) fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[u64]) -> Result {
    std::thread::yield_now();
    Ok(SUCCESS)
}

pub(super) fn random_get(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, p: &[u64]) -> Result {
    let (buf, len) = (arg32(p, 0), arg32(p, 1));
    let out = memory.slice_mut(buf, len)?;
    for chunk in out.chunks_mut(8) {
        let bytes = ctx.native.next_random().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    Ok(SUCCESS)
}
