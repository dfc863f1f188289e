//! WASI preview 2 (the `wasi:cli/command` world: wasi:cli, wasi:io, wasi:clocks, wasi:random,
//! wasi:filesystem) over the runtime's preview 1 layer.
//!
//! Every preview-2 operation is done with preview-1 functions (`crate::wasi::bind`) called
//! on a scratch memory of the host's own: arguments (iovecs, paths, subscriptions) are laid out
//! in the scratch, its offsets passed as the pointers, and the results read back. So the
//! preview-1 layer's pointer checks, hidden descriptors, `--strace`, `--deterministic` clocks
//! and random bytes and its native / pass-through split apply to a component unchanged.
//!
//! The canonical ABI is not done here: the caller lifts the guest's arguments into [`Value`]s,
//! calls [`Host::call`] and lowers the result. [`Host::signature`] gives the type chiwawa
//! implements for each function, in the grammar the caller renders the component's types in.
//!
//! Resources of every type share one handle table (handles from 1, the lowest free one reused);
//! each entry knows its resource type, and a handle of the wrong type or a dead one traps.
//!
//! Choices where preview 2 leaves room:
//! - `check-write` always grants [`WRITE_BUDGET`] bytes (64 KiB); `write` accepts more and
//!   writes everything (looping over short preview-1 writes), and flushing is a no-op.
//!   `write-zeroes` beyond the budget fails with `last-operation-failed`.
//! - A read does one preview-1 read of at most 64 KiB; zero bytes for a non-zero length is
//!   `closed`. Streams of files read and write at their own offset (`fd_pread`/`fd_pwrite`;
//!   on a host without `fd_pwrite`, a seek and a write); an append stream writes at the
//!   file's size at each write.
//! - Stream pollables are always ready; clock pollables block in `poll_oneoff` on a relative
//!   monotonic-clock subscription.
//! - `get-terminal-*` answer a terminal when the preview-1 descriptor is one as wasi-libc's
//!   `isatty` decides it (a character device without the seek and tell rights), else none;
//!   `initial-cwd` answers none.
//! - `poll` reports the pollables ready once `poll_oneoff` has waited for the earliest clock.
//! - A descriptor's flags are the ones it was opened with (preopens: read, mutate-directory);
//!   its preview-1 descriptor is closed when the last resource using it (the descriptor, its
//!   streams, its directory-entry streams) is dropped. Preopened directories are never closed.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use super::value::Value;
use crate::trap::{Trap, TrapKind};
use crate::wasi::{self, errno, Bound, WasiCtx};

/// The bytes `check-write` grants every time (4096 * 16).
pub const WRITE_BUDGET: u64 = 4096 * 16;
/// The scratch memory's initial size.
const SCRATCH: usize = 64 * 1024;
/// The most bytes one preview-1 read or write moves.
const CHUNK: usize = 64 * 1024;
/// The most bytes `descriptor.read` returns at once.
const READ_MAX: usize = 1 << 20;
/// The most random bytes one call returns (the guest could not hold much more anyway).
const RANDOM_MAX: u64 = 1 << 26;
/// The longest path passed on (longer ones are `name-too-long`).
const PATH_MAX: usize = 1 << 20;
/// The most live resources.
const MAX_HANDLES: usize = 1 << 24;
/// The scratch's alignment: preview-1 hosts check the alignment of the real addresses.
const ALIGN: usize = 16;
/// Where paths go in the scratch (fixed-size results before them).
const PATHS: usize = 128;

// ---------------------------------------------------------------------------------------------
// Signatures.

/// `stream-error`.
macro_rules! se {
    () => {
        "variant{last-operation-failed(own<error>), closed}"
    };
}

/// `wasi:filesystem/types.error-code`.
macro_rules! ec {
    () => {
        "enum{access, would-block, already, bad-descriptor, busy, deadlock, quota, exist, \
         file-too-large, illegal-byte-sequence, in-progress, interrupted, invalid, io, \
         is-directory, loop, too-many-links, message-size, name-too-long, no-device, no-entry, \
         no-lock, insufficient-memory, insufficient-space, not-directory, not-empty, \
         not-recoverable, unsupported, no-tty, no-such-device, overflow, not-permitted, pipe, \
         read-only, invalid-seek, text-file-busy, cross-device}"
    };
}

/// `descriptor-type`.
macro_rules! dt {
    () => {
        "enum{unknown, block-device, character-device, directory, fifo, symbolic-link, \
         regular-file, socket}"
    };
}

/// `wasi:clocks/wall-clock.datetime`.
macro_rules! datetime {
    () => {
        "record{seconds: u64, nanoseconds: u32}"
    };
}

/// `descriptor-stat`.
macro_rules! stat {
    () => {
        concat!(
            "record{type: ",
            dt!(),
            ", link-count: u64, size: u64, data-access-timestamp: option<",
            datetime!(),
            ">, data-modification-timestamp: option<",
            datetime!(),
            ">, status-change-timestamp: option<",
            datetime!(),
            ">}"
        )
    };
}

/// `descriptor-flags`.
macro_rules! df {
    () => {
        "flags{read, write, file-integrity-sync, data-integrity-sync, requested-write-sync, \
         mutate-directory}"
    };
}

/// `path-flags`.
macro_rules! pf {
    () => {
        "flags{symlink-follow}"
    };
}

/// `new-timestamp`.
macro_rules! nt {
    () => {
        concat!("variant{no-change, now, timestamp(", datetime!(), ")}")
    };
}

/// A method of `descriptor` taking `$params` (after self) and returning `result<$ok, error-code>`.
macro_rules! desc {
    ($params:expr, $ok:expr) => {
        concat!(
            "func(borrow<descriptor>",
            $params,
            ") -> result<",
            $ok,
            ", ",
            ec!(),
            ">"
        )
    };
}

/// Every function implemented: interface (version removed), name, type.
const SIGNATURES: &[(&str, &str, &str)] = &[
    (
        "wasi:cli/environment",
        "get-environment",
        "func() -> list<tuple<string, string>>",
    ),
    (
        "wasi:cli/environment",
        "get-arguments",
        "func() -> list<string>",
    ),
    (
        "wasi:cli/environment",
        "initial-cwd",
        "func() -> option<string>",
    ),
    ("wasi:cli/exit", "exit", "func(result)"),
    ("wasi:cli/exit", "exit-with-code", "func(u8)"),
    ("wasi:cli/stdin", "get-stdin", "func() -> own<input-stream>"),
    (
        "wasi:cli/stdout",
        "get-stdout",
        "func() -> own<output-stream>",
    ),
    (
        "wasi:cli/stderr",
        "get-stderr",
        "func() -> own<output-stream>",
    ),
    (
        "wasi:cli/terminal-stdin",
        "get-terminal-stdin",
        "func() -> option<own<terminal-input>>",
    ),
    (
        "wasi:cli/terminal-stdout",
        "get-terminal-stdout",
        "func() -> option<own<terminal-output>>",
    ),
    (
        "wasi:cli/terminal-stderr",
        "get-terminal-stderr",
        "func() -> option<own<terminal-output>>",
    ),
    (
        "wasi:io/error",
        "[method]error.to-debug-string",
        "func(borrow<error>) -> string",
    ),
    (
        "wasi:io/poll",
        "[method]pollable.ready",
        "func(borrow<pollable>) -> bool",
    ),
    (
        "wasi:io/poll",
        "[method]pollable.block",
        "func(borrow<pollable>)",
    ),
    (
        "wasi:io/poll",
        "poll",
        "func(list<borrow<pollable>>) -> list<u32>",
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.read",
        concat!(
            "func(borrow<input-stream>, u64) -> result<list<u8>, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.blocking-read",
        concat!(
            "func(borrow<input-stream>, u64) -> result<list<u8>, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.skip",
        concat!(
            "func(borrow<input-stream>, u64) -> result<u64, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.blocking-skip",
        concat!(
            "func(borrow<input-stream>, u64) -> result<u64, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]input-stream.subscribe",
        "func(borrow<input-stream>) -> own<pollable>",
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.check-write",
        concat!("func(borrow<output-stream>) -> result<u64, ", se!(), ">"),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.write",
        concat!(
            "func(borrow<output-stream>, list<u8>) -> result<_, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-write-and-flush",
        concat!(
            "func(borrow<output-stream>, list<u8>) -> result<_, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.flush",
        concat!("func(borrow<output-stream>) -> result<_, ", se!(), ">"),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-flush",
        concat!("func(borrow<output-stream>) -> result<_, ", se!(), ">"),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.subscribe",
        "func(borrow<output-stream>) -> own<pollable>",
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.write-zeroes",
        concat!("func(borrow<output-stream>, u64) -> result<_, ", se!(), ">"),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-write-zeroes-and-flush",
        concat!("func(borrow<output-stream>, u64) -> result<_, ", se!(), ">"),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.splice",
        concat!(
            "func(borrow<output-stream>, borrow<input-stream>, u64) -> result<u64, ",
            se!(),
            ">"
        ),
    ),
    (
        "wasi:io/streams",
        "[method]output-stream.blocking-splice",
        concat!(
            "func(borrow<output-stream>, borrow<input-stream>, u64) -> result<u64, ",
            se!(),
            ">"
        ),
    ),
    ("wasi:clocks/monotonic-clock", "now", "func() -> u64"),
    ("wasi:clocks/monotonic-clock", "resolution", "func() -> u64"),
    (
        "wasi:clocks/monotonic-clock",
        "subscribe-instant",
        "func(u64) -> own<pollable>",
    ),
    (
        "wasi:clocks/monotonic-clock",
        "subscribe-duration",
        "func(u64) -> own<pollable>",
    ),
    (
        "wasi:clocks/wall-clock",
        "now",
        concat!("func() -> ", datetime!()),
    ),
    (
        "wasi:clocks/wall-clock",
        "resolution",
        concat!("func() -> ", datetime!()),
    ),
    (
        "wasi:random/random",
        "get-random-bytes",
        "func(u64) -> list<u8>",
    ),
    ("wasi:random/random", "get-random-u64", "func() -> u64"),
    (
        "wasi:random/insecure",
        "get-insecure-random-bytes",
        "func(u64) -> list<u8>",
    ),
    (
        "wasi:random/insecure",
        "get-insecure-random-u64",
        "func() -> u64",
    ),
    (
        "wasi:random/insecure-seed",
        "insecure-seed",
        "func() -> tuple<u64, u64>",
    ),
    (
        "wasi:filesystem/preopens",
        "get-directories",
        "func() -> list<tuple<own<descriptor>, string>>",
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.read-via-stream",
        desc!(", u64", "own<input-stream>"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.write-via-stream",
        desc!(", u64", "own<output-stream>"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.append-via-stream",
        desc!("", "own<output-stream>"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.advise",
        desc!(
            ", u64, u64, enum{normal, sequential, random, will-need, dont-need, no-reuse}",
            "_"
        ),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.sync-data",
        desc!("", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.get-flags",
        desc!("", df!()),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.get-type",
        desc!("", dt!()),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.set-size",
        desc!(", u64", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.set-times",
        desc!(concat!(", ", nt!(), ", ", nt!()), "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.read",
        desc!(", u64, u64", "tuple<list<u8>, bool>"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.write",
        desc!(", list<u8>, u64", "u64"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.read-directory",
        desc!("", "own<directory-entry-stream>"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.sync",
        desc!("", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.create-directory-at",
        desc!(", string", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.stat",
        desc!("", stat!()),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.stat-at",
        desc!(concat!(", ", pf!(), ", string"), stat!()),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.set-times-at",
        desc!(concat!(", ", pf!(), ", string, ", nt!(), ", ", nt!()), "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.link-at",
        desc!(
            concat!(", ", pf!(), ", string, borrow<descriptor>, string"),
            "_"
        ),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.open-at",
        desc!(
            concat!(
                ", ",
                pf!(),
                ", string, flags{create, directory, exclusive, truncate}, ",
                df!()
            ),
            "own<descriptor>"
        ),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.readlink-at",
        desc!(", string", "string"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.remove-directory-at",
        desc!(", string", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.rename-at",
        desc!(", string, borrow<descriptor>, string", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.symlink-at",
        desc!(", string, string", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.unlink-file-at",
        desc!(", string", "_"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.is-same-object",
        "func(borrow<descriptor>, borrow<descriptor>) -> bool",
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.metadata-hash",
        desc!("", "record{lower: u64, upper: u64}"),
    ),
    (
        "wasi:filesystem/types",
        "[method]descriptor.metadata-hash-at",
        desc!(
            concat!(", ", pf!(), ", string"),
            "record{lower: u64, upper: u64}"
        ),
    ),
    (
        "wasi:filesystem/types",
        "[method]directory-entry-stream.read-directory-entry",
        concat!(
            "func(borrow<directory-entry-stream>) -> result<option<record{type: ",
            dt!(),
            ", name: string}>, ",
            ec!(),
            ">"
        ),
    ),
    (
        "wasi:filesystem/types",
        "filesystem-error-code",
        concat!("func(borrow<error>) -> option<", ec!(), ">"),
    ),
];

// ---------------------------------------------------------------------------------------------
// Resources.

/// A resource type this host implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Error,
    Pollable,
    InputStream,
    OutputStream,
    TerminalInput,
    TerminalOutput,
    Descriptor,
    DirectoryEntryStream,
}

/// Every resource type: its interface and name.
const KINDS: &[(Kind, &str, &str)] = &[
    (Kind::Error, "wasi:io/error", "error"),
    (Kind::Pollable, "wasi:io/poll", "pollable"),
    (Kind::InputStream, "wasi:io/streams", "input-stream"),
    (Kind::OutputStream, "wasi:io/streams", "output-stream"),
    (
        Kind::TerminalInput,
        "wasi:cli/terminal-input",
        "terminal-input",
    ),
    (
        Kind::TerminalOutput,
        "wasi:cli/terminal-output",
        "terminal-output",
    ),
    (Kind::Descriptor, "wasi:filesystem/types", "descriptor"),
    (
        Kind::DirectoryEntryStream,
        "wasi:filesystem/types",
        "directory-entry-stream",
    ),
];

impl Kind {
    fn of(interface: &str, name: &str) -> Option<Kind> {
        KINDS
            .iter()
            .find(|(_, i, n)| *i == interface && *n == name)
            .map(|k| k.0)
    }

    fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|k| k.0 == self)
            .map_or("resource", |k| k.2)
    }
}

/// Where a stream reads or writes.
#[derive(Clone, Copy, Debug)]
enum Position {
    /// The descriptor's own position (standard streams): `fd_read` / `fd_write`.
    Stream,
    /// At an offset of a file, advanced by each read or write.
    Offset(u64),
    /// At the end of a file.
    Append,
}

#[derive(Clone, Copy, Debug)]
struct Stream {
    fd: u32,
    at: Position,
}

/// When a pollable is ready.
#[derive(Clone, Copy, Debug)]
enum Wake {
    /// Always (streams).
    Now,
    /// When the monotonic clock reaches this instant.
    At(u64),
}

#[derive(Clone, Copy, Debug)]
struct Descriptor {
    fd: u32,
    /// `descriptor-flags` as opened.
    flags: u64,
    /// A preopened directory: never closed.
    preopen: bool,
}

#[derive(Debug)]
struct DirStream {
    fd: u32,
    /// The `fd_readdir` cookie after the entries read so far.
    cookie: u64,
    /// Entries read and not yet returned: descriptor-type, name.
    pending: VecDeque<(u32, String)>,
    /// `fd_readdir` has no more.
    done: bool,
    /// The buffer size `fd_readdir` is asked with.
    buffer: usize,
}

#[derive(Debug)]
enum Resource {
    Error {
        errno: Option<u32>,
        message: String,
    },
    Pollable(Wake),
    Input(Stream),
    Output(Stream),
    Descriptor(Descriptor),
    Dir(DirStream),
    /// A `terminal-output` (`output`) or `terminal-input`: nothing but a token to drop.
    Terminal {
        output: bool,
    },
}

impl Resource {
    fn kind(&self) -> Kind {
        match self {
            Resource::Error { .. } => Kind::Error,
            Resource::Pollable(_) => Kind::Pollable,
            Resource::Input(_) => Kind::InputStream,
            Resource::Output(_) => Kind::OutputStream,
            Resource::Descriptor(_) => Kind::Descriptor,
            Resource::Dir(_) => Kind::DirectoryEntryStream,
            Resource::Terminal { output: true } => Kind::TerminalOutput,
            Resource::Terminal { output: false } => Kind::TerminalInput,
        }
    }

    /// The preview-1 descriptor this resource keeps open, if any.
    fn fd(&self) -> Option<u32> {
        match self {
            Resource::Input(s) | Resource::Output(s) => Some(s.fd),
            Resource::Descriptor(d) if !d.preopen => Some(d.fd),
            Resource::Dir(d) => Some(d.fd),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The preview-1 side.

/// Preview-1 functions bound to the context, and the scratch memory they are called on.
struct P1 {
    ctx: Rc<RefCell<WasiCtx>>,
    bound: BTreeMap<&'static str, Bound>,
    /// The scratch memory: its view starts at the first 16-byte-aligned byte.
    scratch: Vec<u8>,
    /// The host answered `fd_pwrite` with ENOSYS: positioned writes seek and write.
    no_pwrite: bool,
    /// The instructions executed so far, passed on to every call.
    instructions: Option<u64>,
}

impl P1 {
    /// Where the view starts in `scratch`.
    fn offset(&self) -> usize {
        self.scratch.as_ptr().align_offset(ALIGN).min(ALIGN)
    }

    fn view_len(&self) -> usize {
        self.scratch.len().saturating_sub(ALIGN)
    }

    fn view(&self) -> &[u8] {
        let (off, len) = (self.offset(), self.view_len());
        self.scratch.get(off..off + len).unwrap_or(&[])
    }

    fn view_mut(&mut self) -> &mut [u8] {
        let (off, len) = (self.offset(), self.view_len());
        self.scratch.get_mut(off..off + len).unwrap_or(&mut [])
    }

    /// Makes the view at least `len` bytes long, keeping what it holds.
    fn ensure(&mut self, len: usize) -> Result<(), Trap> {
        if len > u32::MAX as usize - 4 * ALIGN {
            return Err(host_trap(format!(
                "wasi: a preview-1 call needs {len} bytes of scratch memory"
            )));
        }
        let (old, old_len) = (self.offset(), self.view_len());
        if old_len >= len {
            return Ok(());
        }
        self.scratch.resize(len + ALIGN, 0);
        let new = self.offset();
        if new != old {
            self.scratch.copy_within(old..old + old_len, new);
        }
        Ok(())
    }

    fn put(&mut self, at: usize, bytes: &[u8]) -> Result<(), Trap> {
        let end = at.saturating_add(bytes.len());
        self.ensure(end)?;
        self.view_mut()
            .get_mut(at..end)
            .ok_or_else(|| host_trap("wasi: scratch out of range".into()))?
            .copy_from_slice(bytes);
        Ok(())
    }

    fn put_u32(&mut self, at: usize, v: u32) -> Result<(), Trap> {
        self.put(at, &v.to_le_bytes())
    }

    fn get(&self, at: usize, len: usize) -> Result<&[u8], Trap> {
        self.view()
            .get(at..at.saturating_add(len))
            .ok_or_else(|| host_trap("wasi: scratch out of range".into()))
    }

    fn u8_at(&self, at: usize) -> Result<u8, Trap> {
        Ok(self.get(at, 1)?[0])
    }

    fn u32_at(&self, at: usize) -> Result<u32, Trap> {
        let mut b = [0; 4];
        b.copy_from_slice(self.get(at, 4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64_at(&self, at: usize) -> Result<u64, Trap> {
        let mut b = [0; 8];
        b.copy_from_slice(self.get(at, 8)?);
        Ok(u64::from_le_bytes(b))
    }

    /// Calls preview-1 function `name` on the scratch; its errno (a trap, `proc_exit`'s
    /// included, passes unchanged).
    fn call(&mut self, name: &'static str, params: &[u64]) -> Result<u32, Trap> {
        if !self.bound.contains_key(name) {
            let (_, f) = wasi::bind(&self.ctx, wasi::MODULE, name)
                .ok_or_else(|| host_trap(format!("wasi: no preview 1 function {name}")))?;
            self.bound.insert(name, f);
        }
        let (off, len) = (self.offset(), self.view_len());
        let f = self
            .bound
            .get(name)
            .ok_or_else(|| host_trap(format!("wasi: no preview 1 function {name}")))?;
        let memory = self.scratch.get_mut(off..off + len);
        let mut results = [0u64; 1];
        f(memory, params, &mut results, None, self.instructions)?;
        Ok(results[0] as u32)
    }

    /// Writes `path` at `at`: its (pointer, length), or `name-too-long`.
    fn path(&mut self, at: usize, path: &str) -> Result<Result<(u64, u64), u32>, Trap> {
        if path.len() > PATH_MAX {
            return Ok(Err(errno::NAMETOOLONG));
        }
        self.put(at, path.as_bytes())?;
        Ok(Ok((at as u64, path.len() as u64)))
    }

    /// A string list as `args_get` / `environ_get` give it (`sizes` their `_sizes_get`).
    fn string_list(&mut self, sizes: &'static str, get: &'static str) -> Result<Vec<String>, Trap> {
        self.ensure(8)?;
        check(sizes, self.call(sizes, &[0, 4])?)?;
        let (count, size) = (self.u32_at(0)? as usize, self.u32_at(4)? as usize);
        if count == 0 {
            // Not asked for, as wasi-libc does not ask: some hosts (node) refuse an empty list.
            return Ok(Vec::new());
        }
        let ptrs = 8usize;
        let buf = count
            .checked_mul(4)
            .and_then(|n| n.checked_add(ptrs))
            .ok_or_else(|| host_trap(format!("wasi: {sizes} gave {count} strings")))?;
        self.ensure(buf.saturating_add(size).saturating_add(1))?;
        check(get, self.call(get, &[ptrs as u64, buf as u64])?)?;
        let end = buf + size;
        let mut out = Vec::with_capacity(count.min(1 << 16));
        for i in 0..count {
            let p = self.u32_at(ptrs + 4 * i)? as usize;
            let bytes = self.get(p.min(end), end.saturating_sub(p))?;
            let s = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
            out.push(String::from_utf8_lossy(s).into_owned());
        }
        Ok(out)
    }

    /// `clock_time_get(id)`.
    fn now(&mut self, id: u32) -> Result<u64, Trap> {
        self.ensure(8)?;
        check(
            "clock_time_get",
            self.call("clock_time_get", &[u64::from(id), 1, 0])?,
        )?;
        self.u64_at(0)
    }

    /// `clock_res_get(id)`.
    fn resolution(&mut self, id: u32) -> Result<u64, Trap> {
        self.ensure(8)?;
        check(
            "clock_res_get",
            self.call("clock_res_get", &[u64::from(id), 0])?,
        )?;
        self.u64_at(0)
    }

    /// `len` bytes of `random_get`.
    fn random(&mut self, len: u64) -> Result<Vec<u8>, Trap> {
        if len > RANDOM_MAX {
            return Err(host_trap(format!(
                "wasi: {len} random bytes asked for (at most {RANDOM_MAX} at once)"
            )));
        }
        let mut out = Vec::with_capacity(len as usize);
        self.ensure(CHUNK)?;
        while out.len() < len as usize {
            let n = (len as usize - out.len()).min(CHUNK);
            check("random_get", self.call("random_get", &[0, n as u64])?)?;
            out.extend_from_slice(self.get(0, n)?);
        }
        Ok(out)
    }

    /// One read of at most `len` bytes of `fd`, at `offset` or at its position.
    fn read(
        &mut self,
        fd: u32,
        offset: Option<u64>,
        len: usize,
    ) -> Result<Result<Vec<u8>, u32>, Trap> {
        let len = len.min(CHUNK);
        self.ensure(16 + len)?;
        self.put_u32(0, 16)?;
        self.put_u32(4, len as u32)?;
        let e = match offset {
            Some(o) => self.call("fd_pread", &[u64::from(fd), 0, 1, o, 8])?,
            None => self.call("fd_read", &[u64::from(fd), 0, 1, 8])?,
        };
        if e != errno::SUCCESS {
            return Ok(Err(e));
        }
        let n = (self.u32_at(8)? as usize).min(len);
        Ok(Ok(self.get(16, n)?.to_vec()))
    }

    /// The size of file `fd` (`fd_filestat_get`).
    fn size(&mut self, fd: u32) -> Result<Result<u64, u32>, Trap> {
        Ok(self.filestat(fd)?.map(|s| s.size))
    }

    /// Writes all of `data` to `fd` at `at`: the bytes written and the errno that stopped it.
    fn write_all(
        &mut self,
        fd: u32,
        at: Position,
        mut data: &[u8],
    ) -> Result<(u64, Option<u32>), Trap> {
        let mut offset = match at {
            Position::Stream => None,
            Position::Offset(o) => Some(o),
            Position::Append if data.is_empty() => None,
            Position::Append => match self.size(fd)? {
                Ok(size) => Some(size),
                Err(e) => return Ok((0, Some(e))),
            },
        };
        let mut total = 0u64;
        while !data.is_empty() {
            let chunk = &data[..data.len().min(CHUNK)];
            self.ensure(16 + chunk.len())?;
            self.put(16, chunk)?;
            self.put_u32(0, 16)?;
            self.put_u32(4, chunk.len() as u32)?;
            let e = match offset {
                Some(o) if self.no_pwrite => self.seek_write(fd, o)?,
                Some(o) => match self.call("fd_pwrite", &[u64::from(fd), 0, 1, o, 8])? {
                    errno::NOSYS => {
                        self.no_pwrite = true;
                        self.seek_write(fd, o)?
                    }
                    e => e,
                },
                None => self.call("fd_write", &[u64::from(fd), 0, 1, 8])?,
            };
            if e != errno::SUCCESS {
                return Ok((total, Some(e)));
            }
            let n = (self.u32_at(8)? as usize).min(chunk.len());
            if n == 0 {
                return Ok((total, Some(errno::IO)));
            }
            total += n as u64;
            offset = offset.map(|o| o.saturating_add(n as u64));
            data = &data[n..];
        }
        Ok((total, None))
    }

    /// `fd_pwrite` of the iovec at 0 (result at 8) as a seek to `offset` and an `fd_write`, for
    /// hosts without `fd_pwrite` (wasm3). The descriptor's own position is free to move: the
    /// preview-2 streams of a file all carry their offsets. A host that numbers `whence` as the
    /// old `wasi_unstable` did (0 = from the current position) lands elsewhere; the offset the
    /// seek returns shows it, and a second seek by the difference corrects it.
    fn seek_write(&mut self, fd: u32, offset: u64) -> Result<u32, Trap> {
        let mut at = 0u64;
        for _ in 0..2 {
            let delta = offset.wrapping_sub(at);
            match self.call("fd_seek", &[u64::from(fd), delta, 0, 8])? {
                errno::SUCCESS => at = self.u64_at(8)?,
                e => return Ok(e),
            }
            if at == offset {
                return self.call("fd_write", &[u64::from(fd), 0, 1, 8]);
            }
        }
        Ok(errno::SPIPE)
    }

    fn filestat(&mut self, fd: u32) -> Result<Result<Filestat, u32>, Trap> {
        self.ensure(64)?;
        match self.call("fd_filestat_get", &[u64::from(fd), 0])? {
            errno::SUCCESS => Ok(Ok(self.filestat_at(0)?)),
            e => Ok(Err(e)),
        }
    }

    fn path_filestat(
        &mut self,
        fd: u32,
        flags: u64,
        path: &str,
    ) -> Result<Result<Filestat, u32>, Trap> {
        self.ensure(64)?;
        let (p, len) = match self.path(PATHS, path)? {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        match self.call("path_filestat_get", &[u64::from(fd), flags & 1, p, len, 0])? {
            errno::SUCCESS => Ok(Ok(self.filestat_at(0)?)),
            e => Ok(Err(e)),
        }
    }

    fn filestat_at(&self, at: usize) -> Result<Filestat, Trap> {
        Ok(Filestat {
            dev: self.u64_at(at)?,
            ino: self.u64_at(at + 8)?,
            filetype: self.u8_at(at + 16)?,
            nlink: self.u64_at(at + 24)?,
            size: self.u64_at(at + 32)?,
            atim: self.u64_at(at + 40)?,
            mtim: self.u64_at(at + 48)?,
            ctim: self.u64_at(at + 56)?,
        })
    }

    /// The preview-1 filetype of `fd` (`fd_fdstat_get`).
    fn filetype(&mut self, fd: u32) -> Result<Result<u8, u32>, Trap> {
        Ok(self.fdstat(fd)?.map(|(filetype, _)| filetype))
    }

    /// The preview-1 filetype and base rights of `fd` (`fd_fdstat_get`).
    fn fdstat(&mut self, fd: u32) -> Result<Result<(u8, u64), u32>, Trap> {
        self.ensure(24)?;
        match self.call("fd_fdstat_get", &[u64::from(fd), 0])? {
            errno::SUCCESS => Ok(Ok((self.u8_at(0)?, self.u64_at(8)?))),
            e => Ok(Err(e)),
        }
    }

    /// Blocks until the monotonic clock reaches `at`.
    fn sleep_until(&mut self, at: u64) -> Result<(), Trap> {
        let now = self.now(MONOTONIC)?;
        if now >= at {
            return Ok(());
        }
        self.ensure(96)?;
        let mut sub = [0u8; 48];
        // userdata 0, tag 0 (clock), clock id, timeout, precision 0, flags 0: a relative
        // timeout, which every host implements (node sleeps an absolute one's whole value).
        sub[16..20].copy_from_slice(&MONOTONIC.to_le_bytes());
        sub[24..32].copy_from_slice(&(at - now).to_le_bytes());
        self.put(0, &sub)?;
        self.put(48, &[0; 36])?;
        check("poll_oneoff", self.call("poll_oneoff", &[0, 48, 1, 80])?)
    }
}

/// A preview-1 `filestat`.
#[derive(Clone, Copy, Debug)]
struct Filestat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

const REALTIME: u32 = 0;
const MONOTONIC: u32 = 1;

/// Preview-1 rights (bits).
mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    /// path_create_directory .. path_filestat_set_times (bits 9-13, 15-20), fd_readdir (14),
    /// path_symlink, path_remove_directory, path_unlink_file (24-26).
    pub const DIRECTORY: u64 = 0x001f_fe00 | 0x0700_0000;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// Every right a file or directory can have (sockets' excluded).
    pub const ALL: u64 = (1 << 28) - 1;
}

/// A trap for a failed preview-1 call that has no error in preview 2.
fn check(name: &str, e: u32) -> Result<(), Trap> {
    if e == errno::SUCCESS {
        Ok(())
    } else {
        Err(host_trap(format!("wasi: {name} failed: {}", describe(e))))
    }
}

fn host_trap(message: String) -> Trap {
    Trap::new(TrapKind::Host(message))
}

/// The preview-1 errno names, by number.
#[rustfmt::skip]
const ERRNO_NAMES: [&str; 77] = [
    "success", "2big", "acces", "addrinuse", "addrnotavail", "afnosupport", "again", "already",
    "badf", "badmsg", "busy", "canceled", "child", "connaborted", "connrefused", "connreset",
    "deadlk", "destaddrreq", "dom", "dquot", "exist", "fault", "fbig", "hostunreach", "idrm",
    "ilseq", "inprogress", "intr", "inval", "io", "isconn", "isdir", "loop", "mfile", "mlink",
    "msgsize", "multihop", "nametoolong", "netdown", "netreset", "netunreach", "nfile", "nobufs",
    "nodev", "noent", "noexec", "nolck", "nolink", "nomem", "nomsg", "noprotoopt", "nospc",
    "nosys", "notconn", "notdir", "notempty", "notrecoverable", "notsock", "notsup", "notty",
    "nxio", "overflow", "ownerdead", "perm", "pipe", "proto", "protonosupport", "prototype",
    "range", "rofs", "spipe", "srch", "stale", "timedout", "txtbsy", "xdev", "notcapable",
];

/// A preview-1 errno as a debug string.
fn describe(e: u32) -> String {
    match ERRNO_NAMES.get(e as usize) {
        Some(name) => format!("preview 1 errno {e} ({name})"),
        None => format!("preview 1 errno {e}"),
    }
}

/// A preview-1 errno as `wasi:filesystem/types.error-code` (its case index).
fn error_code(e: u32) -> u32 {
    match e {
        2 | 76 => 0,                 // acces, notcapable: access
        6 => 1,                      // again: would-block
        7 => 2,                      // already
        8 => 3,                      // badf: bad-descriptor
        10 => 4,                     // busy
        16 => 5,                     // deadlk: deadlock
        19 => 6,                     // dquot: quota
        20 => 7,                     // exist
        22 => 8,                     // fbig: file-too-large
        25 => 9,                     // ilseq: illegal-byte-sequence
        26 => 10,                    // inprogress
        27 => 11,                    // intr: interrupted
        1 | 18 | 21 | 28 | 68 => 12, // 2big, dom, fault, inval, range: invalid
        29 => 13,                    // io
        31 => 14,                    // isdir: is-directory
        32 => 15,                    // loop
        34 => 16,                    // mlink: too-many-links
        35 => 17,                    // msgsize: message-size
        37 => 18,                    // nametoolong
        43 => 19,                    // nodev: no-device
        44 => 20,                    // noent: no-entry
        46 => 21,                    // nolck: no-lock
        33 | 41 | 42 | 48 => 22,     // mfile, nfile, nobufs, nomem: insufficient-memory
        51 => 23,                    // nospc: insufficient-space
        54 => 24,                    // notdir
        55 => 25,                    // notempty
        56 => 26,                    // notrecoverable
        52 | 58 => 27,               // nosys, notsup: unsupported
        59 => 28,                    // notty: no-tty
        60 => 29,                    // nxio: no-such-device
        61 => 30,                    // overflow
        63 => 31,                    // perm: not-permitted
        64 => 32,                    // pipe
        69 => 33,                    // rofs: read-only
        70 => 34,                    // spipe: invalid-seek
        74 => 35,                    // txtbsy: text-file-busy
        75 => 36,                    // xdev: cross-device
        _ => 13,                     // anything else: io
    }
}

/// Whether what preview-2 function `name` of `interface` returns differs from host to host or
/// run to run (clock readings, random bytes, file metadata): `--strace` does not show it, as
/// it shows no clock reading or random byte of a preview-1 call, so that a run's trace is the
/// same on every host that answers the guest the same.
fn host_dependent(interface: &str, name: &str) -> bool {
    interface.starts_with("wasi:random/")
        || (interface.starts_with("wasi:clocks/") && matches!(name, "now" | "resolution"))
        || matches!(
            name,
            "[method]descriptor.stat"
                | "[method]descriptor.stat-at"
                | "[method]descriptor.metadata-hash"
                | "[method]descriptor.metadata-hash-at"
        )
}

/// Call `name` of `interface` with `args` as `--strace` and `--trace-out` show it.
pub(crate) fn call_line(interface: &str, name: &str, args: &[Value]) -> String {
    let args: Vec<String> = args.iter().map(shown).collect();
    format!("{interface}#{name}({})", args.join(", "))
}

/// Value `v` as a `--strace` line shows it: handles as `#n`, strings and bytes quoted (the
/// first 32 bytes), lists up to 8 items, variants and enums by case index.
fn shown(v: &Value) -> String {
    let all = |items: &[Value]| items.iter().map(shown).collect::<Vec<_>>().join(", ");
    let payload = |p: &Option<Box<Value>>| {
        p.as_deref()
            .map_or(String::new(), |v| format!("({})", shown(v)))
    };
    match v {
        Value::Bool(b) => b.to_string(),
        Value::S8(n) => n.to_string(),
        Value::U8(n) => n.to_string(),
        Value::S16(n) => n.to_string(),
        Value::U16(n) => n.to_string(),
        Value::S32(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::S64(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(x) => format!("{x:?}"),
        Value::F64(x) => format!("{x:?}"),
        Value::Char(c) => format!("{c:?}"),
        Value::String(s) => crate::wasi::quoted(s.as_bytes()),
        Value::Bytes(b) => format!("{} ({} bytes)", crate::wasi::quoted(b), b.len()),
        Value::List(items) if items.len() > 8 => {
            format!("[{}, ...] ({} items)", all(&items[..8]), items.len())
        }
        Value::List(items) => format!("[{}]", all(items)),
        Value::Record(fields) => format!("{{{}}}", all(fields)),
        Value::Tuple(items) => format!("({})", all(items)),
        Value::Variant(case, p) => format!("case {case}{}", payload(p)),
        Value::Enum(case) => format!("case {case}"),
        Value::Option(None) => "none".to_string(),
        Value::Option(Some(v)) => format!("some({})", shown(v)),
        Value::Result(Ok(p)) => format!("ok{}", payload(p)),
        Value::Result(Err(p)) => format!("err{}", payload(p)),
        Value::Flags(bits) => format!("flags {bits:#x}"),
        Value::Own(h) | Value::Borrow(h) => format!("#{h}"),
    }
}

/// A preview-1 filetype as a `descriptor-type` case index.
fn descriptor_type(filetype: u8) -> u32 {
    match filetype {
        1 => 1,     // block-device
        2 => 2,     // character-device
        3 => 3,     // directory
        4 => 6,     // regular-file
        5 | 6 => 7, // socket
        7 => 5,     // symbolic-link
        _ => 0,     // unknown
    }
}

/// Nanoseconds as a `datetime`.
fn datetime(ns: u64) -> Value {
    Value::Record(vec![
        Value::U64(ns / 1_000_000_000),
        Value::U32((ns % 1_000_000_000) as u32),
    ])
}

fn stat_value(s: &Filestat) -> Value {
    let time = |t| Value::Option(Some(Box::new(datetime(t))));
    Value::Record(vec![
        Value::Enum(descriptor_type(s.filetype)),
        Value::U64(s.nlink),
        Value::U64(s.size),
        time(s.atim),
        time(s.mtim),
        time(s.ctim),
    ])
}

/// `metadata-hash-value` of a file's identity (device, inode): the same for the same object.
fn metadata_hash(s: &Filestat) -> Value {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let lower = mix(s.dev ^ mix(s.ino));
    let upper = mix(lower ^ s.ino.rotate_left(32) ^ 0x5bd1_e995);
    Value::Record(vec![Value::U64(lower), Value::U64(upper)])
}

fn ok(v: Value) -> Value {
    Value::Result(Ok(Some(Box::new(v))))
}

fn ok_unit() -> Value {
    Value::Result(Ok(None))
}

fn err(v: Value) -> Value {
    Value::Result(Err(Some(Box::new(v))))
}

/// `Err(error-code)` of a preview-1 errno.
fn fs_err(e: u32) -> Value {
    err(Value::Enum(error_code(e)))
}

/// `Ok(())` or `Err(error-code)` of a preview-1 errno.
fn fs_unit(e: u32) -> Value {
    if e == errno::SUCCESS {
        ok_unit()
    } else {
        fs_err(e)
    }
}

/// `stream-error.closed` as an error result.
fn closed() -> Value {
    err(Value::Variant(1, None))
}

/// A `new-timestamp` as preview-1 (time, set-flag, now-flag) parts: the time and the
/// `fstflags` bits for it (`set` and `now` the bits of this timestamp); `Err(errno)` for a
/// datetime out of range.
fn new_timestamp(v: &Value, set: u32, now: u32) -> Result<Result<(u64, u32), u32>, Trap> {
    match v {
        Value::Variant(0, None) => Ok(Ok((0, 0))),
        Value::Variant(1, None) => Ok(Ok((0, now))),
        Value::Variant(2, Some(dt)) => match dt.as_ref() {
            Value::Record(f) => match f.as_slice() {
                [Value::U64(s), Value::U32(ns)] => {
                    if *ns >= 1_000_000_000 {
                        return Ok(Err(errno::INVAL));
                    }
                    match s
                        .checked_mul(1_000_000_000)
                        .and_then(|t| t.checked_add(u64::from(*ns)))
                    {
                        Some(t) => Ok(Ok((t, set))),
                        None => Ok(Err(errno::OVERFLOW)),
                    }
                }
                _ => Err(bad_arg("new-timestamp")),
            },
            _ => Err(bad_arg("new-timestamp")),
        },
        _ => Err(bad_arg("new-timestamp")),
    }
}

fn bad_arg(what: &str) -> Trap {
    host_trap(format!("wasi: argument is not a {what}"))
}

/// The lifted arguments of one call, read by position.
struct Args<'a> {
    v: &'a [Value],
    name: &'a str,
}

impl Args<'_> {
    fn at(&self, i: usize) -> Result<&Value, Trap> {
        self.v
            .get(i)
            .ok_or_else(|| host_trap(format!("wasi: {}: argument {i} missing", self.name)))
    }

    fn bad(&self, i: usize, what: &str) -> Trap {
        host_trap(format!("wasi: {}: argument {i} is not a {what}", self.name))
    }

    fn u64(&self, i: usize) -> Result<u64, Trap> {
        match self.at(i)? {
            Value::U64(x) => Ok(*x),
            _ => Err(self.bad(i, "u64")),
        }
    }

    fn u8(&self, i: usize) -> Result<u8, Trap> {
        match self.at(i)? {
            Value::U8(x) => Ok(*x),
            _ => Err(self.bad(i, "u8")),
        }
    }

    fn flags(&self, i: usize) -> Result<u64, Trap> {
        match self.at(i)? {
            Value::Flags(x) => Ok(*x),
            _ => Err(self.bad(i, "flags")),
        }
    }

    fn enum_case(&self, i: usize) -> Result<u32, Trap> {
        match self.at(i)? {
            Value::Enum(x) => Ok(*x),
            _ => Err(self.bad(i, "enum")),
        }
    }

    fn string(&self, i: usize) -> Result<&str, Trap> {
        match self.at(i)? {
            Value::String(s) => Ok(s),
            _ => Err(self.bad(i, "string")),
        }
    }

    fn bytes(&self, i: usize) -> Result<std::borrow::Cow<'_, [u8]>, Trap> {
        match self.at(i)? {
            Value::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            Value::List(l) => l
                .iter()
                .map(|v| match v {
                    Value::U8(b) => Ok(*b),
                    _ => Err(self.bad(i, "list<u8>")),
                })
                .collect::<Result<Vec<u8>, Trap>>()
                .map(std::borrow::Cow::Owned),
            _ => Err(self.bad(i, "list<u8>")),
        }
    }

    /// A resource handle, borrowed or owned.
    fn handle(&self, i: usize) -> Result<u32, Trap> {
        match self.at(i)? {
            Value::Borrow(h) | Value::Own(h) => Ok(*h),
            _ => Err(self.bad(i, "handle")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The host.

/// The preview-2 host: the preview-1 context, the preview-1 functions bound to it, the scratch
/// memory they are called on and the resource table.
pub struct Host {
    p1: P1,
    /// Handle `h` is `table[h - 1]`.
    table: Vec<Option<Resource>>,
    /// How many live resources use each preview-1 descriptor that this host opened.
    fd_users: BTreeMap<u32, u32>,
}

impl Host {
    /// A host over `ctx`, the guest's preview-1 context.
    pub fn new(ctx: Rc<RefCell<WasiCtx>>) -> Host {
        Host {
            p1: P1 {
                ctx,
                bound: BTreeMap::new(),
                scratch: vec![0; SCRATCH + ALIGN],
                no_pwrite: false,
                instructions: None,
            },
            table: Vec::new(),
            fd_users: BTreeMap::new(),
        }
    }

    /// The type chiwawa implements for function `name` of `interface` ("wasi:io/streams", the
    /// version already removed by the caller), rendered in the component type grammar; `None`
    /// when not implemented.
    pub fn signature(interface: &str, name: &str) -> Option<&'static str> {
        SIGNATURES
            .iter()
            .find(|(i, n, _)| *i == interface && *n == name)
            .map(|s| s.2)
    }

    /// Whether resource `name` of `interface` is one this host implements (so `resource.drop`
    /// can be linked).
    pub fn has_resource(interface: &str, name: &str) -> bool {
        Kind::of(interface, name).is_some()
    }

    /// Calls `name` of `interface` (version removed) with lifted arguments; returns the result
    /// value (`None` for functions without result). An `own` argument is moved out of the
    /// table (dropped once the call is done).
    pub fn call(
        &mut self,
        interface: &str,
        name: &str,
        args: Vec<Value>,
        instructions: Option<u64>,
    ) -> Result<Option<Value>, Trap> {
        self.p1.instructions = instructions;
        let traced = self.strace_enter(interface, name, &args);
        let result = self.dispatch(interface, name, &args).and_then(|result| {
            for arg in &args {
                if let Value::Own(h) = arg {
                    if self.entry(*h).is_some() {
                        self.remove(*h)?;
                    }
                }
            }
            Ok(result)
        });
        if traced {
            let line = match &result {
                Ok(Some(v)) if host_dependent(interface, name) => match v {
                    Value::Result(Ok(_)) => "ok(...)".to_string(),
                    Value::Result(Err(e)) => shown(&Value::Result(Err(e.clone()))),
                    _ => "...".to_string(),
                },
                Ok(Some(v)) => shown(v),
                Ok(None) => "()".to_string(),
                Err(trap) => trap.to_string(),
            };
            self.strace_leave(line);
        }
        result
    }

    /// Opens the `--strace` lines of call `name` of `interface` with `args`, if `--strace` is
    /// on: whether it is.
    fn strace_enter(&mut self, interface: &str, name: &str, args: &[Value]) -> bool {
        let mut ctx = self.p1.ctx.borrow_mut();
        if ctx.strace_on() {
            ctx.strace_enter(call_line(interface, name, args));
        }
        ctx.strace_on()
    }

    fn strace_leave(&mut self, result: String) {
        self.p1.ctx.borrow_mut().strace_leave(result);
    }

    /// `resource.drop` of `handle`, a resource `resource` of `interface`.
    pub fn drop_resource(
        &mut self,
        interface: &str,
        resource: &str,
        handle: u32,
        instructions: Option<u64>,
    ) -> Result<(), Trap> {
        self.p1.instructions = instructions;
        let name = format!("[resource-drop]{resource}");
        let traced = self.strace_enter(interface, &name, &[Value::Own(handle)]);
        let result = Kind::of(interface, resource)
            .ok_or_else(|| {
                host_trap(format!(
                    "wasi: no resource {resource} in {interface} to drop"
                ))
            })
            .and_then(|kind| self.check_kind(handle, kind).map(|_| ()))
            .and_then(|()| self.remove(handle));
        if traced {
            let line = match &result {
                Ok(()) => "()".to_string(),
                Err(trap) => trap.to_string(),
            };
            self.strace_leave(line);
        }
        result
    }

    /// `some(terminal)` (an output's if `output`) if preview-1 descriptor `fd` is a terminal as wasi-libc's
    /// `isatty` decides it: a character device without the seek and tell rights.
    fn terminal(&mut self, fd: u32, output: bool) -> Result<Value, Trap> {
        const CHARACTER_DEVICE: u8 = 2;
        let terminal = match self.p1.fdstat(fd)? {
            Ok((filetype, rights)) => {
                filetype == CHARACTER_DEVICE && rights & (rights::FD_SEEK | rights::FD_TELL) == 0
            }
            Err(_) => false,
        };
        Ok(Value::Option(if terminal {
            Some(Box::new(self.own(Resource::Terminal { output })?))
        } else {
            None
        }))
    }

    // -- the table --

    fn entry(&self, h: u32) -> Option<&Resource> {
        let i = (h as usize).checked_sub(1)?;
        self.table.get(i)?.as_ref()
    }

    fn entry_mut(&mut self, h: u32) -> Option<&mut Resource> {
        let i = (h as usize).checked_sub(1)?;
        self.table.get_mut(i)?.as_mut()
    }

    fn unknown(h: u32, kind: Kind) -> Trap {
        host_trap(format!("unknown handle {h} (a {} expected)", kind.name()))
    }

    fn check_kind(&self, h: u32, kind: Kind) -> Result<&Resource, Trap> {
        match self.entry(h) {
            Some(r) if r.kind() == kind => Ok(r),
            _ => Err(Self::unknown(h, kind)),
        }
    }

    /// Adds `r`: its handle. A resource keeping a descriptor open counts as its user.
    fn insert(&mut self, r: Resource) -> Result<u32, Trap> {
        if let Some(fd) = r.fd() {
            if let Some(n) = self.fd_users.get_mut(&fd) {
                *n += 1;
            }
        }
        let i = match self.table.iter().position(Option::is_none) {
            Some(i) => {
                self.table[i] = Some(r);
                i
            }
            None if self.table.len() < MAX_HANDLES => {
                self.table.push(Some(r));
                self.table.len() - 1
            }
            None => {
                return Err(host_trap(format!(
                    "wasi: too many resources (at most {MAX_HANDLES})"
                )))
            }
        };
        Ok(i as u32 + 1)
    }

    /// Removes handle `h` (known live), closing its descriptor if it was the last user.
    fn remove(&mut self, h: u32) -> Result<(), Trap> {
        let Some(r) = (h as usize)
            .checked_sub(1)
            .and_then(|i| self.table.get_mut(i))
            .and_then(Option::take)
        else {
            return Err(host_trap(format!("unknown handle {h}")));
        };
        if let Some(fd) = r.fd() {
            if let Some(n) = self.fd_users.get_mut(&fd) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.fd_users.remove(&fd);
                    self.p1.call("fd_close", &[u64::from(fd)])?;
                }
            }
        }
        Ok(())
    }

    fn input(&self, h: u32) -> Result<Stream, Trap> {
        match self.check_kind(h, Kind::InputStream)? {
            Resource::Input(s) => Ok(*s),
            _ => Err(Self::unknown(h, Kind::InputStream)),
        }
    }

    fn output(&self, h: u32) -> Result<Stream, Trap> {
        match self.check_kind(h, Kind::OutputStream)? {
            Resource::Output(s) => Ok(*s),
            _ => Err(Self::unknown(h, Kind::OutputStream)),
        }
    }

    fn descriptor(&self, h: u32) -> Result<Descriptor, Trap> {
        match self.check_kind(h, Kind::Descriptor)? {
            Resource::Descriptor(d) => Ok(*d),
            _ => Err(Self::unknown(h, Kind::Descriptor)),
        }
    }

    fn pollable(&self, h: u32) -> Result<Wake, Trap> {
        match self.check_kind(h, Kind::Pollable)? {
            Resource::Pollable(w) => Ok(*w),
            _ => Err(Self::unknown(h, Kind::Pollable)),
        }
    }

    /// Moves stream `h`'s offset on by `n` bytes.
    fn advance(&mut self, h: u32, n: u64) {
        if let Some(Resource::Input(s) | Resource::Output(s)) = self.entry_mut(h) {
            if let Position::Offset(o) = &mut s.at {
                *o = o.saturating_add(n);
            }
        }
    }

    /// A `stream-error` result for a preview-1 errno: `closed` for a broken pipe, else
    /// `last-operation-failed` with a new error resource.
    fn stream_failed(&mut self, e: u32) -> Result<Value, Trap> {
        if e == errno::PIPE {
            return Ok(closed());
        }
        self.failed(Some(e), describe(e))
    }

    fn failed(&mut self, errno: Option<u32>, message: String) -> Result<Value, Trap> {
        let h = self.insert(Resource::Error { errno, message })?;
        Ok(err(Value::Variant(0, Some(Box::new(Value::Own(h))))))
    }

    fn own(&mut self, r: Resource) -> Result<Value, Trap> {
        Ok(Value::Own(self.insert(r)?))
    }

    // -- dispatch --

    fn dispatch(
        &mut self,
        interface: &str,
        name: &str,
        v: &[Value],
    ) -> Result<Option<Value>, Trap> {
        let a = Args { v, name };
        let expected = Self::signature(interface, name)
            .map(arity)
            .ok_or_else(|| host_trap(format!("wasi: {interface}#{name} is not implemented")))?;
        if v.len() != expected {
            return Err(host_trap(format!(
                "wasi: {interface}#{name}: {expected} arguments expected, got {}",
                v.len()
            )));
        }
        let value = match (interface, name) {
            ("wasi:cli/environment", "get-environment") => {
                let env = self.p1.string_list("environ_sizes_get", "environ_get")?;
                Value::List(
                    env.into_iter()
                        .map(|kv| {
                            let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                            Value::Tuple(vec![Value::String(k.into()), Value::String(v.into())])
                        })
                        .collect(),
                )
            }
            ("wasi:cli/environment", "get-arguments") => {
                let args = self.p1.string_list("args_sizes_get", "args_get")?;
                Value::List(args.into_iter().map(Value::String).collect())
            }
            ("wasi:cli/environment", "initial-cwd") => Value::Option(None),
            ("wasi:cli/exit", "exit") => {
                let code = match a.at(0)? {
                    Value::Result(Ok(_)) => 0,
                    Value::Result(Err(_)) => 1,
                    _ => return Err(a.bad(0, "result")),
                };
                return self.exit(code);
            }
            ("wasi:cli/exit", "exit-with-code") => {
                let code = a.u8(0)?;
                return self.exit(u32::from(code));
            }
            ("wasi:cli/stdin", "get-stdin") => self.own(Resource::Input(Stream {
                fd: 0,
                at: Position::Stream,
            }))?,
            ("wasi:cli/stdout", "get-stdout") => self.own(Resource::Output(Stream {
                fd: 1,
                at: Position::Stream,
            }))?,
            ("wasi:cli/stderr", "get-stderr") => self.own(Resource::Output(Stream {
                fd: 2,
                at: Position::Stream,
            }))?,
            ("wasi:cli/terminal-stdin", "get-terminal-stdin") => self.terminal(0, false)?,
            ("wasi:cli/terminal-stdout", "get-terminal-stdout") => self.terminal(1, true)?,
            ("wasi:cli/terminal-stderr", "get-terminal-stderr") => self.terminal(2, true)?,
            ("wasi:io/error", "[method]error.to-debug-string") => {
                match self.check_kind(a.handle(0)?, Kind::Error)? {
                    Resource::Error { message, .. } => Value::String(message.clone()),
                    _ => return Err(Self::unknown(a.handle(0)?, Kind::Error)),
                }
            }
            ("wasi:io/poll", "[method]pollable.ready") => {
                let wake = self.pollable(a.handle(0)?)?;
                Value::Bool(self.ready(wake)?)
            }
            ("wasi:io/poll", "[method]pollable.block") => {
                if let Wake::At(t) = self.pollable(a.handle(0)?)? {
                    self.p1.sleep_until(t)?;
                }
                return Ok(None);
            }
            ("wasi:io/poll", "poll") => self.poll(a.at(0)?)?,
            ("wasi:io/streams", _) => self.streams(name, &a)?,
            ("wasi:clocks/monotonic-clock", "now") => Value::U64(self.p1.now(MONOTONIC)?),
            ("wasi:clocks/monotonic-clock", "resolution") => {
                Value::U64(self.p1.resolution(MONOTONIC)?)
            }
            ("wasi:clocks/monotonic-clock", "subscribe-instant") => {
                let at = a.u64(0)?;
                self.own(Resource::Pollable(Wake::At(at)))?
            }
            ("wasi:clocks/monotonic-clock", "subscribe-duration") => {
                let d = a.u64(0)?;
                let at = self.p1.now(MONOTONIC)?.saturating_add(d);
                self.own(Resource::Pollable(Wake::At(at)))?
            }
            ("wasi:clocks/wall-clock", "now") => datetime(self.p1.now(REALTIME)?),
            ("wasi:clocks/wall-clock", "resolution") => datetime(self.p1.resolution(REALTIME)?),
            ("wasi:random/random", "get-random-bytes")
            | ("wasi:random/insecure", "get-insecure-random-bytes") => {
                Value::Bytes(self.p1.random(a.u64(0)?)?)
            }
            ("wasi:random/random", "get-random-u64")
            | ("wasi:random/insecure", "get-insecure-random-u64") => {
                Value::U64(u64_of(&self.p1.random(8)?, 0))
            }
            ("wasi:random/insecure-seed", "insecure-seed") => {
                let b = self.p1.random(16)?;
                Value::Tuple(vec![Value::U64(u64_of(&b, 0)), Value::U64(u64_of(&b, 8))])
            }
            ("wasi:filesystem/preopens", "get-directories") => self.preopens()?,
            ("wasi:filesystem/types", "filesystem-error-code") => {
                match self.check_kind(a.handle(0)?, Kind::Error)? {
                    Resource::Error { errno: Some(e), .. } => {
                        Value::Option(Some(Box::new(Value::Enum(error_code(*e)))))
                    }
                    _ => Value::Option(None),
                }
            }
            ("wasi:filesystem/types", "[method]directory-entry-stream.read-directory-entry") => {
                self.read_directory_entry(a.handle(0)?)?
            }
            ("wasi:filesystem/types", _) => self.descriptor_method(name, &a)?,
            _ => {
                return Err(host_trap(format!(
                    "wasi: {interface}#{name} is not implemented"
                )))
            }
        };
        Ok(Some(value))
    }

    fn exit(&mut self, code: u32) -> Result<Option<Value>, Trap> {
        self.p1.call("proc_exit", &[u64::from(code)])?;
        Err(Trap::new(TrapKind::Exit(code)))
    }

    fn ready(&mut self, wake: Wake) -> Result<bool, Trap> {
        match wake {
            Wake::Now => Ok(true),
            Wake::At(t) => Ok(self.p1.now(MONOTONIC)? >= t),
        }
    }

    /// `poll`: the indices of the ready pollables, after blocking until one is.
    fn poll(&mut self, list: &Value) -> Result<Value, Trap> {
        let Value::List(items) = list else {
            return Err(bad_arg("list<borrow<pollable>>"));
        };
        if items.is_empty() {
            return Err(host_trap("wasi: poll of no pollables".into()));
        }
        if u32::try_from(items.len()).is_err() {
            return Err(host_trap("wasi: poll of too many pollables".into()));
        }
        let mut wakes = Vec::with_capacity(items.len());
        for item in items {
            let (Value::Borrow(h) | Value::Own(h)) = item else {
                return Err(bad_arg("borrow<pollable>"));
            };
            wakes.push(self.pollable(*h)?);
        }
        let ready = |now: u64| -> Vec<Value> {
            wakes
                .iter()
                .enumerate()
                .filter(|(_, w)| match w {
                    Wake::Now => true,
                    Wake::At(t) => now >= *t,
                })
                .map(|(i, _)| Value::U32(i as u32))
                .collect()
        };
        let now = self.p1.now(MONOTONIC)?;
        let mut out = ready(now);
        if out.is_empty() {
            let first = wakes
                .iter()
                .filter_map(|w| match w {
                    Wake::At(t) => Some(*t),
                    Wake::Now => None,
                })
                .min()
                .unwrap_or(now);
            self.p1.sleep_until(first)?;
            let now = self.p1.now(MONOTONIC)?.max(first);
            out = ready(now);
        }
        Ok(Value::List(out))
    }

    // -- wasi:io/streams --

    /// One read of at most `len` bytes from input stream `h`: the bytes, or the error result.
    fn stream_read(&mut self, h: u32, len: u64) -> Result<Result<Vec<u8>, Value>, Trap> {
        let s = self.input(h)?;
        if len == 0 {
            return Ok(Ok(Vec::new()));
        }
        let offset = match s.at {
            Position::Offset(o) => Some(o),
            _ => None,
        };
        let n = len.min(CHUNK as u64) as usize;
        match self.p1.read(s.fd, offset, n)? {
            Ok(bytes) if bytes.is_empty() => Ok(Err(closed())),
            Ok(bytes) => {
                self.advance(h, bytes.len() as u64);
                Ok(Ok(bytes))
            }
            Err(e) => Ok(Err(self.stream_failed(e)?)),
        }
    }

    /// Writes all of `data` to output stream `h`.
    fn stream_write(&mut self, h: u32, data: &[u8]) -> Result<Value, Trap> {
        let s = self.output(h)?;
        let (n, e) = self.p1.write_all(s.fd, s.at, data)?;
        self.advance(h, n);
        match e {
            None => Ok(ok_unit()),
            Some(e) => self.stream_failed(e),
        }
    }

    fn streams(&mut self, name: &str, a: &Args<'_>) -> Result<Value, Trap> {
        let h = a.handle(0)?;
        Ok(match name {
            "[method]input-stream.read" | "[method]input-stream.blocking-read" => {
                match self.stream_read(h, a.u64(1)?)? {
                    Ok(bytes) => ok(Value::Bytes(bytes)),
                    Err(e) => e,
                }
            }
            "[method]input-stream.skip" | "[method]input-stream.blocking-skip" => {
                match self.stream_read(h, a.u64(1)?)? {
                    Ok(bytes) => ok(Value::U64(bytes.len() as u64)),
                    Err(e) => e,
                }
            }
            "[method]input-stream.subscribe" => {
                self.input(h)?;
                self.own(Resource::Pollable(Wake::Now))?
            }
            "[method]output-stream.check-write" => {
                self.output(h)?;
                ok(Value::U64(WRITE_BUDGET))
            }
            "[method]output-stream.write" | "[method]output-stream.blocking-write-and-flush" => {
                let data = a.bytes(1)?;
                self.stream_write(h, &data)?
            }
            "[method]output-stream.flush" | "[method]output-stream.blocking-flush" => {
                self.output(h)?;
                ok_unit()
            }
            "[method]output-stream.subscribe" => {
                self.output(h)?;
                self.own(Resource::Pollable(Wake::Now))?
            }
            "[method]output-stream.write-zeroes"
            | "[method]output-stream.blocking-write-zeroes-and-flush" => {
                self.output(h)?;
                let len = a.u64(1)?;
                if len > WRITE_BUDGET {
                    return self.failed(
                        None,
                        format!("write-zeroes of {len} bytes, more than check-write grants"),
                    );
                }
                self.stream_write(h, &vec![0; len as usize])?
            }
            "[method]output-stream.splice" | "[method]output-stream.blocking-splice" => {
                self.output(h)?;
                let src = a.handle(1)?;
                match self.stream_read(src, a.u64(2)?)? {
                    Ok(bytes) => {
                        let written = self.stream_write(h, &bytes)?;
                        match written {
                            Value::Result(Ok(_)) => ok(Value::U64(bytes.len() as u64)),
                            e => e,
                        }
                    }
                    Err(e) => e,
                }
            }
            _ => {
                return Err(host_trap(format!(
                    "wasi: wasi:io/streams#{name} is not implemented"
                )))
            }
        })
    }

    // -- wasi:filesystem --

    fn preopens(&mut self) -> Result<Value, Trap> {
        let mut out = Vec::new();
        for fd in 3u32..3 + 4096 {
            self.p1.ensure(8)?;
            match self.p1.call("fd_prestat_get", &[u64::from(fd), 0])? {
                errno::SUCCESS => {}
                errno::BADF => break,
                _ => continue,
            }
            if self.p1.u8_at(0)? != 0 {
                continue;
            }
            let len = self.p1.u32_at(4)? as usize;
            self.p1.ensure(8 + len)?;
            let e = self
                .p1
                .call("fd_prestat_dir_name", &[u64::from(fd), 8, len as u64])?;
            if e != errno::SUCCESS {
                continue;
            }
            let name = self.p1.get(8, len)?;
            let name = String::from_utf8_lossy(name)
                .trim_end_matches('\0')
                .to_string();
            let h = self.insert(Resource::Descriptor(Descriptor {
                fd,
                flags: DF_READ | DF_MUTATE_DIRECTORY,
                preopen: true,
            }))?;
            out.push(Value::Tuple(vec![Value::Own(h), Value::String(name)]));
        }
        Ok(Value::List(out))
    }

    /// A new resource on descriptor `d`'s preview-1 descriptor.
    fn on_descriptor(&mut self, r: Resource) -> Result<Value, Trap> {
        Ok(ok(self.own(r)?))
    }

    fn descriptor_method(&mut self, name: &str, a: &Args<'_>) -> Result<Value, Trap> {
        let Some(method) = name.strip_prefix("[method]descriptor.") else {
            return Err(host_trap(format!(
                "wasi: wasi:filesystem/types#{name} is not implemented"
            )));
        };
        let d = self.descriptor(a.handle(0)?)?;
        let fd = u64::from(d.fd);
        let p1 = &mut self.p1;
        Ok(match method {
            "read-via-stream" => {
                let at = Position::Offset(a.u64(1)?);
                self.on_descriptor(Resource::Input(Stream { fd: d.fd, at }))?
            }
            "write-via-stream" => {
                let at = Position::Offset(a.u64(1)?);
                self.on_descriptor(Resource::Output(Stream { fd: d.fd, at }))?
            }
            "append-via-stream" => self.on_descriptor(Resource::Output(Stream {
                fd: d.fd,
                at: Position::Append,
            }))?,
            "advise" => {
                let (offset, len, advice) = (a.u64(1)?, a.u64(2)?, a.enum_case(3)?);
                if advice > 5 {
                    return Err(a.bad(3, "advice"));
                }
                match p1.call("fd_advise", &[fd, offset, len, u64::from(advice)])? {
                    // Advice is a hint: a host that takes none has done what was asked.
                    errno::NOSYS | errno::NOTSUP => ok_unit(),
                    e => fs_unit(e),
                }
            }
            "sync-data" => fs_unit(p1.call("fd_datasync", &[fd])?),
            "sync" => fs_unit(p1.call("fd_sync", &[fd])?),
            "get-flags" => ok(Value::Flags(d.flags)),
            "get-type" => match p1.filetype(d.fd)? {
                Ok(t) => ok(Value::Enum(descriptor_type(t))),
                Err(e) => fs_err(e),
            },
            "set-size" => fs_unit(p1.call("fd_filestat_set_size", &[fd, a.u64(1)?])?),
            "set-times" => {
                let atim = new_timestamp(a.at(1)?, 1, 2)?;
                let mtim = new_timestamp(a.at(2)?, 4, 8)?;
                match (atim, mtim) {
                    (Ok((at, af)), Ok((mt, mf))) => fs_unit(
                        p1.call("fd_filestat_set_times", &[fd, at, mt, u64::from(af | mf)])?,
                    ),
                    (Err(e), _) | (_, Err(e)) => fs_err(e),
                }
            }
            "read" => {
                let (len, mut offset) = (a.u64(1)?, a.u64(2)?);
                let want = len.min(READ_MAX as u64) as usize;
                let mut out = Vec::new();
                let mut end = false;
                while out.len() < want {
                    match p1.read(d.fd, Some(offset), want - out.len())? {
                        Ok(bytes) if bytes.is_empty() => {
                            end = true;
                            break;
                        }
                        Ok(bytes) => {
                            offset = offset.saturating_add(bytes.len() as u64);
                            out.extend_from_slice(&bytes);
                        }
                        Err(e) if out.is_empty() => return Ok(fs_err(e)),
                        Err(_) => break,
                    }
                }
                ok(Value::Tuple(vec![Value::Bytes(out), Value::Bool(end)]))
            }
            "write" => {
                let data = a.bytes(1)?;
                let offset = a.u64(2)?;
                match p1.write_all(d.fd, Position::Offset(offset), &data)? {
                    (n, None) => ok(Value::U64(n)),
                    (0, Some(e)) => fs_err(e),
                    (n, Some(_)) => ok(Value::U64(n)),
                }
            }
            "read-directory" => match p1.filetype(d.fd)? {
                Ok(3) => self.on_descriptor(Resource::Dir(DirStream {
                    fd: d.fd,
                    cookie: 0,
                    pending: VecDeque::new(),
                    done: false,
                    buffer: 4096,
                }))?,
                Ok(_) => fs_err(errno::NOTDIR),
                Err(e) => fs_err(e),
            },
            "create-directory-at" => match p1.path(PATHS, a.string(1)?)? {
                Ok((p, l)) => fs_unit(p1.call("path_create_directory", &[fd, p, l])?),
                Err(e) => fs_err(e),
            },
            "stat" => match p1.filestat(d.fd)? {
                Ok(s) => ok(stat_value(&s)),
                Err(e) => fs_err(e),
            },
            "stat-at" => match p1.path_filestat(d.fd, a.flags(1)?, a.string(2)?)? {
                Ok(s) => ok(stat_value(&s)),
                Err(e) => fs_err(e),
            },
            "set-times-at" => {
                let flags = a.flags(1)? & 1;
                let atim = new_timestamp(a.at(3)?, 1, 2)?;
                let mtim = new_timestamp(a.at(4)?, 4, 8)?;
                match (atim, mtim, p1.path(PATHS, a.string(2)?)?) {
                    (Ok((at, af)), Ok((mt, mf)), Ok((p, l))) => fs_unit(p1.call(
                        "path_filestat_set_times",
                        &[fd, flags, p, l, at, mt, u64::from(af | mf)],
                    )?),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => fs_err(e),
                }
            }
            "link-at" => {
                let flags = a.flags(1)? & 1;
                let (old, new) = (a.string(2)?, a.string(4)?);
                let to = self.descriptor(a.handle(3)?)?;
                let p1 = &mut self.p1;
                match two_paths(p1, old, new)? {
                    Ok((op, ol, np, nl)) => fs_unit(
                        p1.call("path_link", &[fd, flags, op, ol, u64::from(to.fd), np, nl])?,
                    ),
                    Err(e) => fs_err(e),
                }
            }
            "open-at" => {
                let (lookup, path) = (a.flags(1)? & 1, a.string(2)?);
                let (oflags, flags) = (a.flags(3)? & 0xf, a.flags(4)? & 0x3f);
                self.open_at(d.fd, lookup, path, oflags, flags)?
            }
            "readlink-at" => self.readlink_at(d.fd, a.string(1)?)?,
            "remove-directory-at" => match p1.path(PATHS, a.string(1)?)? {
                Ok((p, l)) => fs_unit(p1.call("path_remove_directory", &[fd, p, l])?),
                Err(e) => fs_err(e),
            },
            "rename-at" => {
                let (old, new) = (a.string(1)?, a.string(3)?);
                let to = self.descriptor(a.handle(2)?)?;
                let p1 = &mut self.p1;
                match two_paths(p1, old, new)? {
                    Ok((op, ol, np, nl)) => {
                        fs_unit(p1.call("path_rename", &[fd, op, ol, u64::from(to.fd), np, nl])?)
                    }
                    Err(e) => fs_err(e),
                }
            }
            "symlink-at" => match two_paths(p1, a.string(1)?, a.string(2)?)? {
                Ok((op, ol, np, nl)) => fs_unit(p1.call("path_symlink", &[op, ol, fd, np, nl])?),
                Err(e) => fs_err(e),
            },
            "unlink-file-at" => match p1.path(PATHS, a.string(1)?)? {
                Ok((p, l)) => fs_unit(p1.call("path_unlink_file", &[fd, p, l])?),
                Err(e) => fs_err(e),
            },
            "is-same-object" => {
                let other = self.descriptor(a.handle(1)?)?;
                let p1 = &mut self.p1;
                match (p1.filestat(d.fd)?, p1.filestat(other.fd)?) {
                    (Ok(x), Ok(y)) => Value::Bool(x.dev == y.dev && x.ino == y.ino),
                    _ => Value::Bool(false),
                }
            }
            "metadata-hash" => match p1.filestat(d.fd)? {
                Ok(s) => ok(metadata_hash(&s)),
                Err(e) => fs_err(e),
            },
            "metadata-hash-at" => match p1.path_filestat(d.fd, a.flags(1)?, a.string(2)?)? {
                Ok(s) => ok(metadata_hash(&s)),
                Err(e) => fs_err(e),
            },
            _ => {
                return Err(host_trap(format!(
                    "wasi: wasi:filesystem/types#{name} is not implemented"
                )))
            }
        })
    }

    fn open_at(
        &mut self,
        dir: u32,
        lookup: u64,
        path: &str,
        oflags: u64,
        flags: u64,
    ) -> Result<Value, Trap> {
        use rights::*;
        let mut base = FD_SEEK
            | FD_FDSTAT_SET_FLAGS
            | FD_TELL
            | FD_ADVISE
            | FD_FILESTAT_GET
            | FD_FILESTAT_SET_TIMES
            | POLL_FD_READWRITE
            | DIRECTORY;
        if flags & DF_READ != 0 {
            base |= FD_READ;
        }
        if flags & DF_WRITE != 0 {
            base |= FD_WRITE | FD_DATASYNC | FD_SYNC | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;
        }
        // file-integrity-sync, data-integrity-sync, requested-write-sync: SYNC, DSYNC, RSYNC.
        let mut fdflags = 0u64;
        if flags & (1 << 2) != 0 {
            fdflags |= 16;
        }
        if flags & (1 << 3) != 0 {
            fdflags |= 2;
        }
        if flags & (1 << 4) != 0 {
            fdflags |= 8;
        }
        let p1 = &mut self.p1;
        p1.ensure(8)?;
        let (p, l) = match p1.path(PATHS, path)? {
            Ok(p) => p,
            Err(e) => return Ok(fs_err(e)),
        };
        let e = p1.call(
            "path_open",
            &[u64::from(dir), lookup, p, l, oflags, base, ALL, fdflags, 0],
        )?;
        if e != errno::SUCCESS {
            return Ok(fs_err(e));
        }
        let fd = p1.u32_at(0)?;
        self.fd_users.insert(fd, 0);
        let h = self.insert(Resource::Descriptor(Descriptor {
            fd,
            flags,
            preopen: false,
        }))?;
        Ok(ok(Value::Own(h)))
    }

    fn readlink_at(&mut self, dir: u32, path: &str) -> Result<Value, Trap> {
        let p1 = &mut self.p1;
        let (p, l) = match p1.path(PATHS, path)? {
            Ok(p) => p,
            Err(e) => return Ok(fs_err(e)),
        };
        let buf = PATHS + path.len();
        let mut size = 4096usize;
        loop {
            p1.ensure(buf + size)?;
            let e = p1.call(
                "path_readlink",
                &[u64::from(dir), p, l, buf as u64, size as u64, 0],
            )?;
            if e != errno::SUCCESS {
                return Ok(fs_err(e));
            }
            let used = (p1.u32_at(0)? as usize).min(size);
            if used < size || size >= PATH_MAX {
                let target = String::from_utf8_lossy(p1.get(buf, used)?).into_owned();
                return Ok(ok(Value::String(target)));
            }
            size *= 2;
        }
    }

    fn read_directory_entry(&mut self, h: u32) -> Result<Value, Trap> {
        self.check_kind(h, Kind::DirectoryEntryStream)?;
        loop {
            let Some(Resource::Dir(dir)) = self.entry_mut(h) else {
                return Err(Self::unknown(h, Kind::DirectoryEntryStream));
            };
            if let Some((ty, name)) = dir.pending.pop_front() {
                return Ok(ok(Value::Option(Some(Box::new(Value::Record(vec![
                    Value::Enum(ty),
                    Value::String(name),
                ]))))));
            }
            if dir.done {
                return Ok(ok(Value::Option(None)));
            }
            let (fd, cookie, size) = (dir.fd, dir.cookie, dir.buffer);
            let p1 = &mut self.p1;
            p1.ensure(8 + size)?;
            let e = p1.call("fd_readdir", &[u64::from(fd), 8, size as u64, cookie, 0])?;
            if e != errno::SUCCESS {
                return Ok(fs_err(e));
            }
            let used = (p1.u32_at(0)? as usize).min(size);
            let bytes = p1.get(8, used)?;
            let mut entries = Vec::new();
            let mut next = cookie;
            let mut at = 0usize;
            while at + 24 <= bytes.len() {
                let field = |o: usize, n: usize| &bytes[at + o..at + o + n];
                let d_next = u64::from_le_bytes(field(0, 8).try_into().unwrap_or([0; 8]));
                let namlen = u32::from_le_bytes(field(16, 4).try_into().unwrap_or([0; 4])) as usize;
                let ty = bytes[at + 20];
                let Some(name) = bytes.get(at + 24..(at + 24).saturating_add(namlen)) else {
                    break;
                };
                let name = String::from_utf8_lossy(name).into_owned();
                next = d_next;
                at += 24 + namlen;
                if name != "." && name != ".." {
                    entries.push((descriptor_type(ty), name));
                }
            }
            let complete = at;
            let Some(Resource::Dir(dir)) = self.entry_mut(h) else {
                return Err(Self::unknown(h, Kind::DirectoryEntryStream));
            };
            if used < size {
                // The host had no more than that.
                dir.done = true;
            } else if complete == 0 {
                // Not even one entry fits: a bigger buffer.
                if size >= PATH_MAX * 16 {
                    return Ok(fs_err(errno::NAMETOOLONG));
                }
                dir.buffer = size * 2;
                continue;
            }
            dir.cookie = next;
            dir.pending.extend(entries);
        }
    }
}

/// Flags of `descriptor-flags`.
const DF_READ: u64 = 1 << 0;
const DF_WRITE: u64 = 1 << 1;
const DF_MUTATE_DIRECTORY: u64 = 1 << 5;

/// Two paths' (pointer, length) pairs in the scratch.
type TwoPaths = (u64, u64, u64, u64);

/// Writes two paths one after the other: their (pointer, length) pairs, or an errno.
fn two_paths(p1: &mut P1, old: &str, new: &str) -> Result<Result<TwoPaths, u32>, Trap> {
    let (op, ol) = match p1.path(PATHS, old)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let (np, nl) = match p1.path(PATHS + old.len(), new)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok((op, ol, np, nl)))
}

/// The little-endian u64 at `at` of `b` (0 where short).
fn u64_of(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        x.copy_from_slice(s);
    }
    u64::from_le_bytes(x)
}

/// The number of parameters of a signature `func(...)`: the top-level commas plus one.
fn arity(sig: &str) -> usize {
    let Some(rest) = sig.strip_prefix("func(") else {
        return 0;
    };
    let mut depth = 0usize;
    let mut count = 0usize;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '(' | '<' | '{' => depth += 1,
            ')' if depth == 0 => break,
            ')' | '>' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => count += 1,
            _ => {}
        }
        if !c.is_whitespace() {
            any = true;
        }
    }
    if any {
        count + 1
    } else {
        0
    }
}

#[cfg(all(test, not(target_os = "wasi")))]
mod tests {
    use super::*;

    fn ctx() -> Rc<RefCell<WasiCtx>> {
        let mut ctx = WasiCtx::new(vec!["prog".into(), "a".into(), "b c".into()]);
        ctx.set_env(vec!["K=V".into(), "X=1=2".into()]);
        Rc::new(RefCell::new(ctx))
    }

    fn host() -> Host {
        Host::new(ctx())
    }

    fn call(h: &mut Host, interface: &str, name: &str, args: Vec<Value>) -> Value {
        h.call(interface, name, args, None)
            .unwrap_or_else(|t| panic!("{interface}#{name}: {t}"))
            .unwrap_or_else(|| panic!("{interface}#{name}: no result"))
    }

    fn trap(h: &mut Host, interface: &str, name: &str, args: Vec<Value>) -> TrapKind {
        h.call(interface, name, args, None).unwrap_err().kind
    }

    fn own(v: &Value) -> u32 {
        match v {
            Value::Own(h) => *h,
            _ => panic!("not an own handle: {v:?}"),
        }
    }

    fn ok_of(v: Value) -> Value {
        match v {
            Value::Result(Ok(Some(v))) => *v,
            _ => panic!("not ok with a value: {v:?}"),
        }
    }

    fn bytes(v: Value) -> Vec<u8> {
        match v {
            Value::Bytes(b) => b,
            _ => panic!("not bytes: {v:?}"),
        }
    }

    fn u64v(v: &Value) -> u64 {
        match v {
            Value::U64(x) => *x,
            _ => panic!("not a u64: {v:?}"),
        }
    }

    const IS_UNIT_OK: fn(&Value) -> bool = |v| matches!(v, Value::Result(Ok(None)));

    use crate::wasi::tests::TempDir;

    /// Every function claimed, by interface.
    const CLAIMED: &[(&str, &[&str])] = &[
        (
            "wasi:cli/environment",
            &["get-environment", "get-arguments", "initial-cwd"],
        ),
        ("wasi:cli/exit", &["exit", "exit-with-code"]),
        ("wasi:cli/stdin", &["get-stdin"]),
        ("wasi:cli/stdout", &["get-stdout"]),
        ("wasi:cli/stderr", &["get-stderr"]),
        ("wasi:cli/terminal-stdin", &["get-terminal-stdin"]),
        ("wasi:cli/terminal-stdout", &["get-terminal-stdout"]),
        ("wasi:cli/terminal-stderr", &["get-terminal-stderr"]),
        ("wasi:io/error", &["[method]error.to-debug-string"]),
        (
            "wasi:io/poll",
            &["[method]pollable.ready", "[method]pollable.block", "poll"],
        ),
        (
            "wasi:io/streams",
            &[
                "[method]input-stream.read",
                "[method]input-stream.blocking-read",
                "[method]input-stream.skip",
                "[method]input-stream.blocking-skip",
                "[method]input-stream.subscribe",
                "[method]output-stream.check-write",
                "[method]output-stream.write",
                "[method]output-stream.blocking-write-and-flush",
                "[method]output-stream.flush",
                "[method]output-stream.blocking-flush",
                "[method]output-stream.subscribe",
                "[method]output-stream.write-zeroes",
                "[method]output-stream.blocking-write-zeroes-and-flush",
                "[method]output-stream.splice",
                "[method]output-stream.blocking-splice",
            ],
        ),
        (
            "wasi:clocks/monotonic-clock",
            &[
                "now",
                "resolution",
                "subscribe-instant",
                "subscribe-duration",
            ],
        ),
        ("wasi:clocks/wall-clock", &["now", "resolution"]),
        (
            "wasi:random/random",
            &["get-random-bytes", "get-random-u64"],
        ),
        (
            "wasi:random/insecure",
            &["get-insecure-random-bytes", "get-insecure-random-u64"],
        ),
        ("wasi:random/insecure-seed", &["insecure-seed"]),
        ("wasi:filesystem/preopens", &["get-directories"]),
        (
            "wasi:filesystem/types",
            &[
                "[method]descriptor.read-via-stream",
                "[method]descriptor.write-via-stream",
                "[method]descriptor.append-via-stream",
                "[method]descriptor.advise",
                "[method]descriptor.sync-data",
                "[method]descriptor.get-flags",
                "[method]descriptor.get-type",
                "[method]descriptor.set-size",
                "[method]descriptor.set-times",
                "[method]descriptor.read",
                "[method]descriptor.write",
                "[method]descriptor.read-directory",
                "[method]descriptor.sync",
                "[method]descriptor.create-directory-at",
                "[method]descriptor.stat",
                "[method]descriptor.stat-at",
                "[method]descriptor.set-times-at",
                "[method]descriptor.link-at",
                "[method]descriptor.open-at",
                "[method]descriptor.readlink-at",
                "[method]descriptor.remove-directory-at",
                "[method]descriptor.rename-at",
                "[method]descriptor.symlink-at",
                "[method]descriptor.unlink-file-at",
                "[method]descriptor.is-same-object",
                "[method]descriptor.metadata-hash",
                "[method]descriptor.metadata-hash-at",
                "[method]directory-entry-stream.read-directory-entry",
                "filesystem-error-code",
            ],
        ),
    ];

    /// A tiny check of the grammar: `func(` first, brackets balanced and properly nested,
    /// no empty type between commas, `->` at most once at the top level.
    fn well_formed(sig: &str) -> Result<(), String> {
        if !sig.starts_with("func(") {
            return Err("does not start with func(".into());
        }
        let mut stack = Vec::new();
        let mut arrows = 0;
        let chars: Vec<char> = sig.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            match c {
                '(' | '<' | '{' => stack.push(c),
                ')' | '}' => {
                    let open = if c == ')' { '(' } else { '{' };
                    if stack.pop() != Some(open) {
                        return Err(format!("unbalanced {c} at {i}"));
                    }
                }
                '>' if i > 0 && chars[i - 1] == '-' => {
                    if !stack.is_empty() {
                        return Err("-> inside brackets".into());
                    }
                    arrows += 1;
                }
                '>' if stack.pop() != Some('<') => {
                    return Err(format!("unbalanced > at {i}"));
                }
                ',' => {
                    if chars.get(i + 1) != Some(&' ') {
                        return Err(format!("no space after the comma at {i}"));
                    }
                    let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
                    if matches!(before, Some('(' | '<' | '{' | ',')) {
                        return Err(format!("empty type before the comma at {i}"));
                    }
                }
                _ => {}
            }
        }
        if !stack.is_empty() {
            return Err("unclosed bracket".into());
        }
        if arrows > 1 {
            return Err("more than one ->".into());
        }
        Ok(())
    }

    #[test]
    fn every_claimed_function_has_a_well_formed_signature() {
        let mut claimed = 0;
        for (interface, names) in CLAIMED {
            for name in *names {
                let sig = Host::signature(interface, name)
                    .unwrap_or_else(|| panic!("{interface}#{name} has no signature"));
                well_formed(sig).unwrap_or_else(|e| panic!("{interface}#{name}: {sig}: {e}"));
                claimed += 1;
            }
        }
        assert_eq!(
            claimed,
            SIGNATURES.len(),
            "a signature not listed in CLAIMED"
        );
        assert!(Host::signature("wasi:io/streams", "[method]output-stream.nope").is_none());
        assert_eq!(
            Host::signature("wasi:io/streams", "[method]output-stream.write"),
            Some(
                "func(borrow<output-stream>, list<u8>) -> result<_, \
                 variant{last-operation-failed(own<error>), closed}>"
            )
        );
        assert_eq!(
            Host::signature("wasi:cli/stdout", "get-stdout"),
            Some("func() -> own<output-stream>")
        );
        assert_eq!(
            Host::signature("wasi:cli/exit", "exit"),
            Some("func(result)")
        );
        assert_eq!(
            Host::signature("wasi:clocks/wall-clock", "now"),
            Some("func() -> record{seconds: u64, nanoseconds: u32}")
        );
        assert!(
            Host::signature("wasi:filesystem/types", "[method]descriptor.stat")
                .unwrap()
                .contains("record{type: enum{unknown, ")
        );
        assert_eq!(
            arity(Host::signature("wasi:filesystem/types", "[method]descriptor.open-at").unwrap()),
            5
        );
        assert_eq!(arity("func()"), 0);
        assert_eq!(arity("func(result)"), 1);
    }

    #[test]
    fn resources_are_known_by_interface() {
        for (interface, name) in [
            ("wasi:io/error", "error"),
            ("wasi:io/poll", "pollable"),
            ("wasi:io/streams", "input-stream"),
            ("wasi:io/streams", "output-stream"),
            ("wasi:cli/terminal-input", "terminal-input"),
            ("wasi:cli/terminal-output", "terminal-output"),
            ("wasi:filesystem/types", "descriptor"),
            ("wasi:filesystem/types", "directory-entry-stream"),
        ] {
            assert!(Host::has_resource(interface, name), "{interface} {name}");
        }
        assert!(!Host::has_resource("wasi:io/streams", "error"));
        assert!(!Host::has_resource("wasi:sockets/tcp", "tcp-socket"));
    }

    #[test]
    fn arguments_and_environment_come_back_exact() {
        let mut h = host();
        let args = call(&mut h, "wasi:cli/environment", "get-arguments", vec![]);
        assert_eq!(
            args,
            Value::List(vec![
                Value::String("prog".into()),
                Value::String("a".into()),
                Value::String("b c".into()),
            ])
        );
        let env = call(&mut h, "wasi:cli/environment", "get-environment", vec![]);
        let pair =
            |k: &str, v: &str| Value::Tuple(vec![Value::String(k.into()), Value::String(v.into())]);
        assert_eq!(env, Value::List(vec![pair("K", "V"), pair("X", "1=2")]));
        assert_eq!(
            call(&mut h, "wasi:cli/environment", "initial-cwd", vec![]),
            Value::Option(None)
        );
    }

    #[test]
    fn a_large_environment_grows_the_scratch() {
        let ctx = ctx();
        let big: Vec<String> = (0..2000)
            .map(|i| format!("V{i}={}", "x".repeat(100)))
            .collect();
        ctx.borrow_mut().set_env(big.clone());
        let mut h = Host::new(ctx);
        let Value::List(env) = call(&mut h, "wasi:cli/environment", "get-environment", vec![])
        else {
            panic!("not a list")
        };
        assert_eq!(env.len(), 2000);
        assert_eq!(
            env[1999],
            Value::Tuple(vec![
                Value::String("V1999".into()),
                Value::String("x".repeat(100))
            ])
        );
    }

    #[test]
    fn stdio_handles_are_fresh_and_distinct() {
        let mut h = host();
        let stdin = own(&call(&mut h, "wasi:cli/stdin", "get-stdin", vec![]));
        let stdout = own(&call(&mut h, "wasi:cli/stdout", "get-stdout", vec![]));
        let stderr = own(&call(&mut h, "wasi:cli/stderr", "get-stderr", vec![]));
        let stdout2 = own(&call(&mut h, "wasi:cli/stdout", "get-stdout", vec![]));
        let mut all = vec![stdin, stdout, stderr, stdout2];
        assert_eq!(all[0], 1, "handles start at 1");
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4);
        let budget = call(
            &mut h,
            "wasi:io/streams",
            "[method]output-stream.check-write",
            vec![Value::Borrow(stderr)],
        );
        assert_eq!(u64v(&ok_of(budget)), WRITE_BUDGET);
        let written = call(
            &mut h,
            "wasi:io/streams",
            "[method]output-stream.blocking-write-and-flush",
            vec![Value::Borrow(stderr), Value::Bytes(Vec::new())],
        );
        assert!(IS_UNIT_OK(&written));
        // The test's own stdout and stderr: a terminal only if cargo test runs on one.
        use std::io::IsTerminal;
        let terminals = [
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        ];
        for (name, terminal) in ["get-terminal-stdout", "get-terminal-stderr"]
            .into_iter()
            .zip(terminals)
        {
            let iface = format!("wasi:cli/terminal-{}", &name[13..]);
            let got = call(&mut h, &iface, name, vec![]);
            assert_eq!(matches!(got, Value::Option(Some(_))), terminal, "{name}");
        }
        // The lowest free handle is reused.
        h.drop_resource("wasi:io/streams", "output-stream", stdout, None)
            .unwrap();
        let again = own(&call(&mut h, "wasi:cli/stderr", "get-stderr", vec![]));
        assert_eq!(again, stdout);
    }

    #[test]
    fn bad_handles_trap() {
        let mut h = host();
        let stdin = own(&call(&mut h, "wasi:cli/stdin", "get-stdin", vec![]));
        let is_unknown =
            |k: &TrapKind| matches!(k, TrapKind::Host(m) if m.contains("unknown handle"));
        let write = |handle| vec![Value::Borrow(handle), Value::Bytes(b"x".to_vec())];
        // Never given, 0, and of the wrong type.
        for handle in [0, 99, u32::MAX, stdin] {
            let k = trap(
                &mut h,
                "wasi:io/streams",
                "[method]output-stream.write",
                write(handle),
            );
            assert!(is_unknown(&k), "{handle}: {k:?}");
        }
        // Dropped: dead, and a second drop traps too.
        h.drop_resource("wasi:io/streams", "input-stream", stdin, None)
            .unwrap();
        let k = trap(
            &mut h,
            "wasi:io/streams",
            "[method]input-stream.read",
            vec![Value::Borrow(stdin), Value::U64(1)],
        );
        assert!(is_unknown(&k), "{k:?}");
        let k = h
            .drop_resource("wasi:io/streams", "input-stream", stdin, None)
            .unwrap_err()
            .kind;
        assert!(is_unknown(&k), "{k:?}");
        // Dropping as the wrong resource type.
        let out = own(&call(&mut h, "wasi:cli/stdout", "get-stdout", vec![]));
        let k = h
            .drop_resource("wasi:io/streams", "input-stream", out, None)
            .unwrap_err()
            .kind;
        assert!(is_unknown(&k), "{k:?}");
        // Wrong argument types and counts trap, never panic.
        assert!(matches!(
            trap(
                &mut h,
                "wasi:io/streams",
                "[method]output-stream.write",
                vec![Value::Borrow(out)]
            ),
            TrapKind::Host(_)
        ));
        assert!(matches!(
            trap(
                &mut h,
                "wasi:io/streams",
                "[method]output-stream.write",
                vec![Value::Borrow(out), Value::U64(3)]
            ),
            TrapKind::Host(_)
        ));
        assert!(matches!(
            trap(&mut h, "wasi:io/poll", "poll", vec![Value::List(vec![])]),
            TrapKind::Host(_)
        ));
        assert!(matches!(
            trap(&mut h, "wasi:sockets/tcp", "nope", vec![]),
            TrapKind::Host(_)
        ));
        // Huge lengths: a trap or an error value, never a panic.
        assert!(matches!(
            trap(
                &mut h,
                "wasi:random/random",
                "get-random-bytes",
                vec![Value::U64(u64::MAX)]
            ),
            TrapKind::Host(_)
        ));
        let zeroes = call(
            &mut h,
            "wasi:io/streams",
            "[method]output-stream.write-zeroes",
            vec![Value::Borrow(out), Value::U64(u64::MAX)],
        );
        assert!(matches!(zeroes, Value::Result(Err(_))), "{zeroes:?}");
    }

    #[test]
    fn clocks_are_monotonic() {
        let mut h = host();
        let a = u64v(&call(&mut h, "wasi:clocks/monotonic-clock", "now", vec![]));
        let b = u64v(&call(&mut h, "wasi:clocks/monotonic-clock", "now", vec![]));
        assert!(b >= a);
        assert!(
            u64v(&call(
                &mut h,
                "wasi:clocks/monotonic-clock",
                "resolution",
                vec![]
            )) > 0
        );
        let Value::Record(now) = call(&mut h, "wasi:clocks/wall-clock", "now", vec![]) else {
            panic!("not a record")
        };
        assert!(u64v(&now[0]) > 1_600_000_000, "{now:?}");
        assert!(matches!(now[1], Value::U32(ns) if ns < 1_000_000_000));
        let res = call(&mut h, "wasi:clocks/wall-clock", "resolution", vec![]);
        assert!(matches!(res, Value::Record(ref f) if f.len() == 2));
    }

    #[test]
    fn random_bytes_have_the_length_asked_for() {
        let mut h = host();
        for len in [0u64, 1, 7, 8, 100, 70_000] {
            let b = bytes(call(
                &mut h,
                "wasi:random/random",
                "get-random-bytes",
                vec![Value::U64(len)],
            ));
            assert_eq!(b.len() as u64, len);
            let b = bytes(call(
                &mut h,
                "wasi:random/insecure",
                "get-insecure-random-bytes",
                vec![Value::U64(len)],
            ));
            assert_eq!(b.len() as u64, len);
        }
        let x = call(&mut h, "wasi:random/random", "get-random-u64", vec![]);
        let y = call(&mut h, "wasi:random/random", "get-random-u64", vec![]);
        assert_ne!(x, y);
        assert!(matches!(
            call(
                &mut h,
                "wasi:random/insecure",
                "get-insecure-random-u64",
                vec![]
            ),
            Value::U64(_)
        ));
        let seed = call(&mut h, "wasi:random/insecure-seed", "insecure-seed", vec![]);
        assert!(matches!(seed, Value::Tuple(ref t) if t.len() == 2));
    }

    #[test]
    fn pollables_wait_for_their_clock() {
        let mut h = host();
        let start = std::time::Instant::now();
        let p = own(&call(
            &mut h,
            "wasi:clocks/monotonic-clock",
            "subscribe-duration",
            vec![Value::U64(2_000_000)],
        ));
        assert_eq!(
            call(
                &mut h,
                "wasi:io/poll",
                "[method]pollable.ready",
                vec![Value::Borrow(p)]
            ),
            Value::Bool(false)
        );
        assert_eq!(
            h.call(
                "wasi:io/poll",
                "[method]pollable.block",
                vec![Value::Borrow(p)],
                None
            ),
            Ok(None)
        );
        assert!(start.elapsed() >= std::time::Duration::from_millis(2));
        assert_eq!(
            call(
                &mut h,
                "wasi:io/poll",
                "[method]pollable.ready",
                vec![Value::Borrow(p)]
            ),
            Value::Bool(true)
        );
        // poll: the stream's pollable is ready at once, the far clock is not.
        let stdout = own(&call(&mut h, "wasi:cli/stdout", "get-stdout", vec![]));
        let s = own(&call(
            &mut h,
            "wasi:io/streams",
            "[method]output-stream.subscribe",
            vec![Value::Borrow(stdout)],
        ));
        let far = own(&call(
            &mut h,
            "wasi:clocks/monotonic-clock",
            "subscribe-duration",
            vec![Value::U64(3_600_000_000_000)],
        ));
        let ready = call(
            &mut h,
            "wasi:io/poll",
            "poll",
            vec![Value::List(vec![Value::Borrow(far), Value::Borrow(s)])],
        );
        assert_eq!(ready, Value::List(vec![Value::U32(1)]));
        // poll of clocks only: blocks until the first.
        let now = u64v(&call(&mut h, "wasi:clocks/monotonic-clock", "now", vec![]));
        let near = own(&call(
            &mut h,
            "wasi:clocks/monotonic-clock",
            "subscribe-instant",
            vec![Value::U64(now + 3_000_000)],
        ));
        let start = std::time::Instant::now();
        let ready = call(
            &mut h,
            "wasi:io/poll",
            "poll",
            vec![Value::List(vec![Value::Borrow(far), Value::Borrow(near)])],
        );
        assert_eq!(ready, Value::List(vec![Value::U32(1)]));
        assert!(start.elapsed() >= std::time::Duration::from_millis(2));
        // A stream handle is not a pollable.
        let k = trap(
            &mut h,
            "wasi:io/poll",
            "poll",
            vec![Value::List(vec![Value::Borrow(stdout)])],
        );
        assert!(matches!(k, TrapKind::Host(m) if m.contains("unknown handle")));
    }

    #[test]
    fn exit_traps_with_the_status() {
        let mut h = host();
        let k = trap(
            &mut h,
            "wasi:cli/exit",
            "exit",
            vec![Value::Result(Err(None))],
        );
        assert_eq!(k, TrapKind::Exit(1));
        let k = trap(
            &mut h,
            "wasi:cli/exit",
            "exit",
            vec![Value::Result(Ok(None))],
        );
        assert_eq!(k, TrapKind::Exit(0));
        let k = trap(
            &mut h,
            "wasi:cli/exit",
            "exit-with-code",
            vec![Value::U8(7)],
        );
        assert_eq!(k, TrapKind::Exit(7));
    }

    const FS: &str = "wasi:filesystem/types";
    const IO: &str = "wasi:io/streams";

    /// open-at flags: create; descriptor flags: read, write.
    fn open(h: &mut Host, dir: u32, path: &str, oflags: u64, flags: u64) -> Value {
        call(
            h,
            FS,
            "[method]descriptor.open-at",
            vec![
                Value::Borrow(dir),
                Value::Flags(1),
                Value::String(path.into()),
                Value::Flags(oflags),
                Value::Flags(flags),
            ],
        )
    }

    fn preopened(name: &str) -> (TempDir, Host, u32) {
        let tmp = TempDir::new(&format!("p2-{name}"));
        let ctx = ctx();
        ctx.borrow_mut().preopen_dir(&tmp.0, "dir").unwrap();
        let mut h = Host::new(ctx);
        let Value::List(dirs) = call(
            &mut h,
            "wasi:filesystem/preopens",
            "get-directories",
            vec![],
        ) else {
            panic!("not a list")
        };
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        let Value::Tuple(pair) = &dirs[0] else {
            panic!("not a tuple")
        };
        assert_eq!(pair[1], Value::String("dir".into()));
        let dir = own(&pair[0]);
        (tmp, h, dir)
    }

    /// [`preopened`] with file `f` created in it, open for reading and writing: the directory,
    /// the file's handle and its preview-1 descriptor.
    fn new_file(name: &str) -> (TempDir, Host, u32, u32, u32) {
        let (tmp, mut h, dir) = preopened(name);
        let file = own(&ok_of(open(&mut h, dir, "f", 1, 0b11)));
        let Some(Resource::Descriptor(d)) = h.entry(file) else {
            panic!("no descriptor")
        };
        let fd = d.fd;
        (tmp, h, dir, file, fd)
    }

    fn read_dir(h: &mut Host, dir: u32) -> Vec<(u32, String)> {
        let stream = own(&ok_of(call(
            h,
            FS,
            "[method]descriptor.read-directory",
            vec![Value::Borrow(dir)],
        )));
        let mut names = Vec::new();
        loop {
            let entry = ok_of(call(
                h,
                FS,
                "[method]directory-entry-stream.read-directory-entry",
                vec![Value::Borrow(stream)],
            ));
            match entry {
                Value::Option(None) => break,
                Value::Option(Some(e)) => match *e {
                    Value::Record(f) => match (&f[0], &f[1]) {
                        (Value::Enum(t), Value::String(n)) => names.push((*t, n.clone())),
                        _ => panic!("bad entry {f:?}"),
                    },
                    e => panic!("bad entry {e:?}"),
                },
                e => panic!("bad entry {e:?}"),
            }
        }
        h.drop_resource(FS, "directory-entry-stream", stream, None)
            .unwrap();
        names.sort();
        names
    }

    #[test]
    fn filesystem_round_trip() {
        let (tmp, mut h, dir) = preopened("round-trip");
        assert_eq!(
            ok_of(call(
                &mut h,
                FS,
                "[method]descriptor.get-type",
                vec![Value::Borrow(dir)]
            )),
            Value::Enum(3)
        );
        // Create and write through a stream.
        let file = own(&ok_of(open(&mut h, dir, "hello.txt", 1, 0b11)));
        let out = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.write-via-stream",
            vec![Value::Borrow(file), Value::U64(0)],
        )));
        for part in [&b"hello, "[..], b"world"] {
            let r = call(
                &mut h,
                IO,
                "[method]output-stream.blocking-write-and-flush",
                vec![Value::Borrow(out), Value::Bytes(part.to_vec())],
            );
            assert!(IS_UNIT_OK(&r), "{r:?}");
        }
        h.drop_resource(IO, "output-stream", out, None).unwrap();
        assert_eq!(
            std::fs::read(tmp.0.join("hello.txt")).unwrap(),
            b"hello, world"
        );
        // Stat: a regular file of 12 bytes.
        let Value::Record(stat) = ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.stat",
            vec![Value::Borrow(file)],
        )) else {
            panic!("not a record")
        };
        assert_eq!(stat[0], Value::Enum(6));
        assert_eq!(stat[2], Value::U64(12));
        assert!(matches!(stat[4], Value::Option(Some(_))));
        // Read it back through a stream, in small reads, then closed.
        let input = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.read-via-stream",
            vec![Value::Borrow(file), Value::U64(0)],
        )));
        let mut back = Vec::new();
        loop {
            let r = call(
                &mut h,
                IO,
                "[method]input-stream.blocking-read",
                vec![Value::Borrow(input), Value::U64(5)],
            );
            match r {
                Value::Result(Ok(Some(b))) => back.extend(bytes(*b)),
                Value::Result(Err(Some(e))) => {
                    assert_eq!(*e, Value::Variant(1, None), "closed");
                    break;
                }
                r => panic!("{r:?}"),
            }
        }
        assert_eq!(back, b"hello, world");
        h.drop_resource(IO, "input-stream", input, None).unwrap();
        // read and write at offsets.
        let r = ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.read",
            vec![Value::Borrow(file), Value::U64(100), Value::U64(7)],
        ));
        assert_eq!(
            r,
            Value::Tuple(vec![Value::Bytes(b"world".to_vec()), Value::Bool(true)])
        );
        let w = ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.write",
            vec![
                Value::Borrow(file),
                Value::Bytes(b"W".to_vec()),
                Value::U64(7),
            ],
        ));
        assert_eq!(w, Value::U64(1));
        // Append.
        let app = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.append-via-stream",
            vec![Value::Borrow(file)],
        )));
        let r = call(
            &mut h,
            IO,
            "[method]output-stream.write",
            vec![Value::Borrow(app), Value::Bytes(b"!".to_vec())],
        );
        assert!(IS_UNIT_OK(&r));
        h.drop_resource(IO, "output-stream", app, None).unwrap();
        assert_eq!(
            std::fs::read(tmp.0.join("hello.txt")).unwrap(),
            b"hello, World!"
        );
        assert_eq!(
            ok_of(call(
                &mut h,
                FS,
                "[method]descriptor.get-flags",
                vec![Value::Borrow(file)]
            )),
            Value::Flags(0b11)
        );
        // The directory lists it (no . or ..), with a subdirectory made.
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.create-directory-at",
            vec![Value::Borrow(dir), Value::String("sub".into())],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        assert_eq!(
            read_dir(&mut h, dir),
            vec![(3, "sub".to_string()), (6, "hello.txt".to_string())]
        );
        // stat-at, is-same-object and metadata hashes.
        let Value::Record(stat) = ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.stat-at",
            vec![
                Value::Borrow(dir),
                Value::Flags(1),
                Value::String("hello.txt".into()),
            ],
        )) else {
            panic!("not a record")
        };
        assert_eq!(stat[2], Value::U64(13));
        let again = own(&ok_of(open(&mut h, dir, "hello.txt", 0, 1)));
        assert_eq!(
            call(
                &mut h,
                FS,
                "[method]descriptor.is-same-object",
                vec![Value::Borrow(file), Value::Borrow(again)]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                &mut h,
                FS,
                "[method]descriptor.is-same-object",
                vec![Value::Borrow(file), Value::Borrow(dir)]
            ),
            Value::Bool(false)
        );
        let hash = call(
            &mut h,
            FS,
            "[method]descriptor.metadata-hash",
            vec![Value::Borrow(file)],
        );
        let hash_at = call(
            &mut h,
            FS,
            "[method]descriptor.metadata-hash-at",
            vec![
                Value::Borrow(dir),
                Value::Flags(1),
                Value::String("hello.txt".into()),
            ],
        );
        assert_eq!(hash, hash_at);
        // Rename, then unlink.
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.rename-at",
            vec![
                Value::Borrow(dir),
                Value::String("hello.txt".into()),
                Value::Borrow(dir),
                Value::String("sub/moved.txt".into()),
            ],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        assert!(tmp.0.join("sub/moved.txt").exists());
        h.drop_resource(FS, "descriptor", file, None).unwrap();
        h.drop_resource(FS, "descriptor", again, None).unwrap();
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.unlink-file-at",
            vec![Value::Borrow(dir), Value::String("sub/moved.txt".into())],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        assert!(!tmp.0.join("sub/moved.txt").exists());
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.remove-directory-at",
            vec![Value::Borrow(dir), Value::String("sub".into())],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        assert_eq!(read_dir(&mut h, dir), vec![]);
        // A missing file: no-entry (20); an error value, not a trap.
        assert_eq!(
            open(&mut h, dir, "missing.txt", 0, 1),
            Value::Result(Err(Some(Box::new(Value::Enum(20)))))
        );
        // Reading a directory as a file fails with an error resource.
        let input = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.read-via-stream",
            vec![Value::Borrow(dir), Value::U64(0)],
        )));
        let r = call(
            &mut h,
            IO,
            "[method]input-stream.read",
            vec![Value::Borrow(input), Value::U64(10)],
        );
        let Value::Result(Err(Some(e))) = r else {
            panic!("{r:?}")
        };
        let Value::Variant(0, Some(error)) = *e else {
            panic!("not last-operation-failed: {e:?}")
        };
        let error = own(&error);
        let Value::String(debug) = call(
            &mut h,
            "wasi:io/error",
            "[method]error.to-debug-string",
            vec![Value::Borrow(error)],
        ) else {
            panic!("not a string")
        };
        assert!(debug.contains("errno"), "{debug}");
        let code = call(
            &mut h,
            FS,
            "filesystem-error-code",
            vec![Value::Borrow(error)],
        );
        assert!(matches!(code, Value::Option(Some(_))), "{code:?}");
        h.drop_resource("wasi:io/error", "error", error, None)
            .unwrap();
    }

    #[test]
    fn dropping_the_last_user_closes_the_descriptor() {
        let (_tmp, mut h, dir, file, fd) = new_file("close");
        let out = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.write-via-stream",
            vec![Value::Borrow(file), Value::U64(0)],
        )));
        // The stream outlives its descriptor's handle: still writable.
        h.drop_resource(FS, "descriptor", file, None).unwrap();
        assert_eq!(h.fd_users.get(&fd), Some(&1));
        let r = call(
            &mut h,
            IO,
            "[method]output-stream.write",
            vec![Value::Borrow(out), Value::Bytes(b"x".to_vec())],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        h.drop_resource(IO, "output-stream", out, None).unwrap();
        assert_eq!(h.fd_users.get(&fd), None);
        // The preopen is never closed: get-directories finds it again.
        h.drop_resource(FS, "descriptor", dir, None).unwrap();
        let Value::List(dirs) = call(
            &mut h,
            "wasi:filesystem/preopens",
            "get-directories",
            vec![],
        ) else {
            panic!("not a list")
        };
        assert_eq!(dirs.len(), 1);
    }

    /// The fallback for hosts without `fd_pwrite`: a seek, then a write, at the offset asked
    /// for wherever the descriptor's own position was.
    #[test]
    fn seek_write_writes_at_the_offset() {
        let (tmp, mut h, _, _, fd) = new_file("seekw");
        let p1 = &mut h.p1;
        assert_eq!(
            p1.write_all(fd, Position::Offset(0), b"hello world"),
            Ok((11, None))
        );
        assert_eq!(
            p1.call("fd_seek", &[u64::from(fd), 2, 0, 8]),
            Ok(errno::SUCCESS)
        );
        p1.put(16, b"WORLD").unwrap();
        p1.put_u32(0, 16).unwrap();
        p1.put_u32(4, 5).unwrap();
        assert_eq!(p1.seek_write(fd, 6), Ok(errno::SUCCESS));
        assert_eq!(p1.u32_at(8), Ok(5));
        let bytes = std::fs::read(tmp.0.join("f")).unwrap();
        assert_eq!(bytes, b"hello WORLD");
    }

    /// A host without `fd_pwrite` (ENOSYS) whose `fd_seek` numbers `whence` as
    /// `wasi_unstable` did (0 current, 1 end, 2 set), as wasm3's: positioned writes still land
    /// at their offsets.
    #[test]
    fn positioned_writes_without_fd_pwrite_on_old_whence_numbers() {
        let (tmp, mut h, _, _, fd) = new_file("nopwrite");
        let p1 = &mut h.p1;
        let (_, seek) = wasi::bind(&p1.ctx, wasi::MODULE, "fd_seek").unwrap();
        let old_seek: wasi::Bound = Box::new(move |memory, params, results, note, n| {
            let mut params = params.to_vec();
            params[2] = [1, 2, 0][params[2] as usize % 3];
            seek(memory, &params, results, note, n)
        });
        let no_pwrite: wasi::Bound = Box::new(|_, _, results, _, _| {
            results[0] = u64::from(errno::NOSYS);
            Ok(())
        });
        p1.bound.insert("fd_seek", old_seek);
        p1.bound.insert("fd_pwrite", no_pwrite);
        assert_eq!(
            p1.write_all(fd, Position::Offset(0), b"hello world"),
            Ok((11, None))
        );
        assert!(p1.no_pwrite, "ENOSYS switches to seek and write");
        assert_eq!(
            p1.write_all(fd, Position::Offset(6), b"WORLD"),
            Ok((5, None))
        );
        assert_eq!(p1.write_all(fd, Position::Offset(0), b"J"), Ok((1, None)));
        let bytes = std::fs::read(tmp.0.join("f")).unwrap();
        assert_eq!(bytes, b"Jello WORLD");
    }

    #[test]
    fn strace_shows_values_briefly() {
        let long: Vec<Value> = (0..10).map(Value::U32).collect();
        let cases = [
            (Value::Own(3), "#3"),
            (Value::Bytes(b"a\n".to_vec()), "\"a\\n\" (2 bytes)"),
            (
                Value::Bytes(vec![b'x'; 40]),
                "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"... (40 bytes)",
            ),
            (
                Value::List(long),
                "[0, 1, 2, 3, 4, 5, 6, 7, ...] (10 items)",
            ),
            (
                Value::Result(Err(Some(Box::new(Value::Enum(8))))),
                "err(case 8)",
            ),
            (Value::Result(Ok(None)), "ok"),
            (Value::Option(Some(Box::new(Value::Borrow(1)))), "some(#1)"),
            (
                Value::Tuple(vec![Value::String("k".into()), Value::Char('v')]),
                "(\"k\", 'v')",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(shown(&value), want, "{value:?}");
        }
        assert!(host_dependent("wasi:clocks/wall-clock", "now"));
        assert!(host_dependent("wasi:random/random", "get-random-u64"));
        assert!(host_dependent(
            "wasi:filesystem/types",
            "[method]descriptor.stat"
        ));
        assert!(!host_dependent(
            "wasi:clocks/monotonic-clock",
            "subscribe-duration"
        ));
        assert!(!host_dependent(
            "wasi:io/streams",
            "[method]input-stream.read"
        ));
    }

    #[test]
    fn symlinks_links_and_times() {
        let (tmp, mut h, dir) = preopened("links");
        std::fs::write(tmp.0.join("target"), b"t").unwrap();
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.symlink-at",
            vec![
                Value::Borrow(dir),
                Value::String("target".into()),
                Value::String("link".into()),
            ],
        );
        if IS_UNIT_OK(&r) {
            let target = call(
                &mut h,
                FS,
                "[method]descriptor.readlink-at",
                vec![Value::Borrow(dir), Value::String("link".into())],
            );
            assert_eq!(ok_of(target), Value::String("target".into()));
        }
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.link-at",
            vec![
                Value::Borrow(dir),
                Value::Flags(0),
                Value::String("target".into()),
                Value::Borrow(dir),
                Value::String("hard".into()),
            ],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        assert_eq!(std::fs::read(tmp.0.join("hard")).unwrap(), b"t");
        let when = Value::Variant(
            2,
            Some(Box::new(Value::Record(vec![
                Value::U64(1_000_000_000),
                Value::U32(0),
            ]))),
        );
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.set-times-at",
            vec![
                Value::Borrow(dir),
                Value::Flags(1),
                Value::String("target".into()),
                Value::Variant(0, None),
                when.clone(),
            ],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        let Value::Record(stat) = ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.stat-at",
            vec![
                Value::Borrow(dir),
                Value::Flags(1),
                Value::String("target".into()),
            ],
        )) else {
            panic!("not a record")
        };
        assert_eq!(
            stat[4],
            Value::Option(Some(Box::new(Value::Record(vec![
                Value::U64(1_000_000_000),
                Value::U32(0)
            ]))))
        );
        let file = own(&ok_of(open(&mut h, dir, "target", 0, 0b11)));
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.set-size",
            vec![Value::Borrow(file), Value::U64(4)],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        assert_eq!(std::fs::read(tmp.0.join("target")).unwrap(), b"t\0\0\0");
        for m in ["sync", "sync-data"] {
            let r = call(
                &mut h,
                FS,
                &format!("[method]descriptor.{m}"),
                vec![Value::Borrow(file)],
            );
            assert!(IS_UNIT_OK(&r), "{m}: {r:?}");
        }
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.advise",
            vec![
                Value::Borrow(file),
                Value::U64(0),
                Value::U64(0),
                Value::Enum(1),
            ],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        let r = call(
            &mut h,
            FS,
            "[method]descriptor.set-times",
            vec![Value::Borrow(file), Value::Variant(1, None), when],
        );
        assert!(IS_UNIT_OK(&r), "{r:?}");
        // Exclusive create of an existing file: exist (7).
        assert_eq!(
            open(&mut h, dir, "target", 0b101, 0b11),
            Value::Result(Err(Some(Box::new(Value::Enum(7)))))
        );
        // A file is not a directory to read.
        assert_eq!(
            call(
                &mut h,
                FS,
                "[method]descriptor.read-directory",
                vec![Value::Borrow(file)]
            ),
            Value::Result(Err(Some(Box::new(Value::Enum(24)))))
        );
    }

    #[test]
    fn splice_and_skip_move_bytes_between_streams() {
        let (tmp, mut h, dir) = preopened("splice");
        std::fs::write(tmp.0.join("src"), b"0123456789").unwrap();
        let src = own(&ok_of(open(&mut h, dir, "src", 0, 1)));
        let dst = own(&ok_of(open(&mut h, dir, "dst", 1, 0b10)));
        let input = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.read-via-stream",
            vec![Value::Borrow(src), Value::U64(0)],
        )));
        let out = own(&ok_of(call(
            &mut h,
            FS,
            "[method]descriptor.write-via-stream",
            vec![Value::Borrow(dst), Value::U64(0)],
        )));
        let skipped = call(
            &mut h,
            IO,
            "[method]input-stream.skip",
            vec![Value::Borrow(input), Value::U64(2)],
        );
        assert_eq!(ok_of(skipped), Value::U64(2));
        let n = call(
            &mut h,
            IO,
            "[method]output-stream.splice",
            vec![Value::Borrow(out), Value::Borrow(input), Value::U64(100)],
        );
        assert_eq!(ok_of(n), Value::U64(8));
        let n = call(
            &mut h,
            IO,
            "[method]output-stream.blocking-splice",
            vec![Value::Borrow(out), Value::Borrow(input), Value::U64(100)],
        );
        assert_eq!(n, closed());
        let r = call(
            &mut h,
            IO,
            "[method]output-stream.write-zeroes",
            vec![Value::Borrow(out), Value::U64(2)],
        );
        assert!(IS_UNIT_OK(&r));
        assert_eq!(std::fs::read(tmp.0.join("dst")).unwrap(), b"23456789\0\0");
    }

    #[test]
    fn deterministic_runs_get_the_preview_1_layers_clocks_and_random() {
        let run = || {
            let ctx = ctx();
            ctx.borrow_mut().set_deterministic();
            let mut h = Host::new(ctx);
            let at = |h: &mut Host, iface: &str, name: &str, args, n| {
                h.call(iface, name, args, Some(n)).unwrap().unwrap()
            };
            let now = at(&mut h, "wasi:clocks/monotonic-clock", "now", vec![], 5000);
            let bytes = at(
                &mut h,
                "wasi:random/random",
                "get-random-bytes",
                vec![Value::U64(16)],
                6000,
            );
            let p = own(&at(
                &mut h,
                "wasi:clocks/monotonic-clock",
                "subscribe-duration",
                vec![Value::U64(1_000_000)],
                7000,
            ));
            let start = std::time::Instant::now();
            h.call(
                "wasi:io/poll",
                "[method]pollable.block",
                vec![Value::Borrow(p)],
                Some(8000),
            )
            .unwrap();
            let later = at(&mut h, "wasi:clocks/monotonic-clock", "now", vec![], 9000);
            (now, bytes, later, start.elapsed())
        };
        let (now, bytes, later, _) = run();
        assert_eq!(now, Value::U64(5000));
        assert!(u64v(&later) >= 7000 + 1_000_000, "{later:?}");
        let again = run();
        assert_eq!((now, bytes, later), (again.0, again.1, again.2));
    }
}
