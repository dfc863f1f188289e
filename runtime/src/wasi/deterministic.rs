//! Deterministic runs (`--deterministic`): what the guest reads of the world that differs from
//! host to host and from run to run is replaced, after the host has answered, by values that
//! depend only on the run itself, so that one image with one input runs the same instructions,
//! and writes the same output, trace, profile, statistics and snapshots, on every host.
//!
//! - **Clocks** read the executed instruction count as nanoseconds, plus the time the guest
//!   has slept (`poll_oneoff` clock subscriptions that fired, relative ones by their timeout):
//!   monotonic and CPU-time clocks from 0, the real-time clock from 2000-01-01T00:00:00Z. Their
//!   resolution is 1 ns.
//! - **random_get** fills the buffer from a SplitMix64 stream seeded with the instruction
//!   count (two calls are always at different counts).
//! - **File identities and times**: `fd_filestat_get` and `path_filestat_get` give device 0,
//!   an inode that is a hash of the path the guest opened the file by (or of the descriptor,
//!   for one it did not open), and times 0; `fd_readdir` entries an inode hashed from the
//!   directory and the entry's name.
//! - **Descriptor status** (`fd_fdstat_get`), which hosts answer very differently (node calls
//!   a redirected stdout a regular file, wasmi sets append on it, rights differ everywhere),
//!   and which C's stdio reads to choose its buffering: see [`fdstat`].
//!
//! Everything else is the host's: the files' contents and sizes, the order `fd_readdir` lists
//! entries in, errnos. Needs the instruction count: the runtime meters a deterministic run.

use super::memory::GuestMemory;
use super::{arg32, WasiCtx};

/// 2000-01-01T00:00:00Z in nanoseconds since the Unix epoch: the real-time clock's origin.
const EPOCH_NS: u64 = 946_684_800 * 1_000_000_000;

/// FNV-1a over `parts`, each followed by a separator; never 0 (some programs read inode 0 as
/// "no file").
fn identity(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(std::iter::once(&0u8)) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash.max(1)
}

/// The next value of a SplitMix64 stream.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl WasiCtx {
    /// Makes the guest's view of clocks, random bytes and file identities deterministic (see
    /// the module's documentation); the caller gives the instruction count at each call.
    pub fn set_deterministic(&mut self) {
        self.deterministic = true;
    }

    /// Whether runs are deterministic ([`WasiCtx::set_deterministic`]).
    pub fn is_deterministic(&self) -> bool {
        self.deterministic
    }

    /// A restored deterministic run: its clock, at `instructions`, goes on from no earlier
    /// than `last`, the latest monotonic reading the checkpointed run gave the guest.
    pub fn continue_virtual_clock(&mut self, last: u64, instructions: u64) {
        self.slept_ns = last.saturating_sub(instructions);
        self.monotonic_seen.set(last);
    }

    /// The virtual monotonic clock at `instructions`.
    fn virtual_now(&self, instructions: u64) -> u64 {
        instructions.saturating_add(self.slept_ns)
    }

    /// The base for inode numbers of guest descriptor `fd`'s files: the preopen and path it
    /// was opened by, or the descriptor alone.
    fn identity_base(&self, fd: u32) -> (u32, String) {
        match self.opened.get(&fd) {
            Some(Some(file)) => (file.dir, format!("{}/", file.path)),
            _ => (fd, String::new()),
        }
    }
}

/// Before a call of `name`: an answer that does not ask the host, where hosts answer
/// differently: `fd_sync` and `fd_datasync` of a directory are EBADF (wasmtime's and wasmi's
/// answer; node syncs it).
pub(super) fn before_call(ctx: &WasiCtx, name: &str, params: &[u64]) -> Option<u32> {
    if !matches!(name, "fd_sync" | "fd_datasync") {
        return None;
    }
    let fd = arg32(params, 0);
    let host = match ctx.fd_map() {
        Some(map) => map.to_host(fd)?,
        None => fd,
    };
    super::sys::host_is_dir(ctx, host).then_some(super::errno::BADF)
}

/// After a call of `name` that succeeded, at `instructions`: what the host wrote that differs
/// between hosts, replaced (see the module's documentation).
pub(super) fn after_call(
    ctx: &mut WasiCtx,
    name: &str,
    memory: &mut GuestMemory<'_>,
    params: &[u64],
    instructions: u64,
) {
    // The host has written these already, so the addresses are in bounds and aligned: the
    // writes below cannot fail (and would leave the host's values if they did).
    match name {
        "clock_time_get" => {
            let now = ctx.virtual_now(instructions);
            let value = match arg32(params, 0) {
                0 => EPOCH_NS.saturating_add(now),
                1 => {
                    ctx.monotonic_seen.set(ctx.monotonic_seen.get().max(now));
                    now
                }
                _ => now,
            };
            let _ = memory.write_u64(arg32(params, 2), value);
        }
        "clock_res_get" => {
            let _ = memory.write_u64(arg32(params, 1), 1);
        }
        "random_get" => {
            let mut state = instructions ^ 0x6368_6977_6177_6121;
            if let Ok(buf) = memory.slice_mut(arg32(params, 0), arg32(params, 1)) {
                for chunk in buf.chunks_mut(8) {
                    let bytes = splitmix64(&mut state).to_le_bytes();
                    chunk.copy_from_slice(&bytes[..chunk.len()]);
                }
            }
        }
        "fd_filestat_get" => {
            let (dir, path) = ctx.identity_base(arg32(params, 0));
            let ino = identity(&[&dir.to_le_bytes(), path.as_bytes()]);
            filestat(memory, arg32(params, 1), ino);
        }
        "path_filestat_get" => {
            let (dir, prefix) = ctx.identity_base(arg32(params, 0));
            let path = memory
                .slice(arg32(params, 2), arg32(params, 3))
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            let ino = identity(&[&dir.to_le_bytes(), prefix.as_bytes(), &path]);
            filestat(memory, arg32(params, 4), ino);
        }
        "fd_readdir" => {
            let (dir, prefix) = ctx.identity_base(arg32(params, 0));
            let (buf, len) = (arg32(params, 1), arg32(params, 2));
            let used = memory.read_u32(arg32(params, 4)).unwrap_or(0).min(len);
            // Entries: next (u64), inode (u64), name length (u32), type (u8), 3 bytes of
            // padding, then the name; the last one may be cut short by the buffer's end.
            let mut at: u32 = 0;
            while at + 24 <= used {
                let entry = buf.wrapping_add(at);
                let Ok(name_len) = memory.read_u32(entry.wrapping_add(16)) else {
                    break;
                };
                let shown = name_len.min(used - at - 24);
                let name = memory
                    .slice(entry.wrapping_add(24), shown)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                let ino = identity(&[&dir.to_le_bytes(), prefix.as_bytes(), &name]);
                let _ = memory.write(entry.wrapping_add(8), &ino.to_le_bytes(), 1);
                at = at.saturating_add(24).saturating_add(name_len);
            }
        }
        "fd_fdstat_get" => fdstat(ctx, memory, arg32(params, 0), arg32(params, 1)),
        "fd_write" => complete_write(ctx, memory, params),
        "poll_oneoff" => slept(ctx, memory, params, instructions),
        _ => {}
    }
}

/// The rights a preopened directory reports (base, inheriting): wasmtime's, which every host
/// here accepts back in `path_open`.
const DIR_RIGHTS: (u64, u64) = (0x07b7_fe00, 0x0ff7_ffff);

/// `fd_fdstat_get` of guest descriptor `fd` into `at`, the same on every host: the standard
/// streams as wasmtime reports a file or pipe (type unknown, no flags, read or write rights);
/// a descriptor the guest opened or narrowed with the flags and rights it asked for; a
/// preopened directory with [`DIR_RIGHTS`]; flags only the defined ones.
fn fdstat(ctx: &WasiCtx, memory: &mut GuestMemory<'_>, fd: u32, at: u32) {
    let Ok(head) = memory.slice(at, 4).map(<[u8]>::to_vec) else {
        return;
    };
    let (mut filetype, mut flags) = (head[0], u16::from_le_bytes([head[2], head[3]]) & 0x1f);
    if let Some(Some(file)) = ctx.opened.get(&fd) {
        // (node reports no append flag for a file opened with it.)
        flags = file.fdflags & 0x1f;
    }
    let rights = if let Some(&narrowed) = ctx.narrowed.get(&fd) {
        Some(narrowed)
    } else if let Some(Some(file)) = ctx.opened.get(&fd) {
        Some((file.rights_base, file.rights_inheriting))
    } else if fd <= 2 && !ctx.opened.contains_key(&fd) {
        (filetype, flags) = (0, 0);
        let rights = if fd == 0 { 1 << 1 } else { 1 << 6 };
        Some((rights, rights))
    } else if filetype == 3 {
        Some(DIR_RIGHTS)
    } else {
        None
    };
    let _ = memory.write(at, &[filetype, 0], 1);
    let _ = memory.write_u16(at.wrapping_add(2), flags);
    if let Some((base, inheriting)) = rights {
        let _ = memory.write_u64(at.wrapping_add(8), base);
        let _ = memory.write_u64(at.wrapping_add(16), inheriting);
    }
}

/// `fd_write` that wrote less than it was given (wasmtime writes only the first buffer of some
/// descriptors): the rest is written, and the guest told all of it was. A failure in the rest
/// leaves the host's short count, which the guest handles as it would have.
fn complete_write(ctx: &mut WasiCtx, memory: &mut GuestMemory<'_>, params: &[u64]) {
    let (fd, out) = (arg32(params, 0), arg32(params, 3));
    let (Ok(iovs), Ok(written)) = (
        memory.iovecs(arg32(params, 1), arg32(params, 2), super::memory::IOV_MAX),
        memory.read_u32(out),
    ) else {
        return;
    };
    let total: u64 = iovs.iter().map(|&(_, len)| u64::from(len)).sum();
    if u64::from(written) >= total || total > u64::from(u32::MAX) {
        return;
    }
    let mut rest = Vec::with_capacity((total - u64::from(written)) as usize);
    let mut skip = written as usize;
    for &(buf, len) in &iovs {
        let Ok(bytes) = memory.slice(buf, len) else {
            return;
        };
        let from = skip.min(bytes.len());
        skip -= from;
        rest.extend_from_slice(&bytes[from..]);
    }
    let host = match ctx.fd_map() {
        Some(map) => map.to_host(fd),
        None => Some(fd),
    };
    let Some(host) = host else { return };
    if super::sys::write_rest(ctx, host, &rest).is_ok() {
        let _ = memory.write_u32(out, total as u32);
    }
}

/// A file's status at `at` with device 0, inode `ino` and times 0.
fn filestat(memory: &mut GuestMemory<'_>, at: u32, ino: u64) {
    let _ = memory.write_u64(at, 0);
    let _ = memory.write_u64(at.wrapping_add(8), ino);
    for time in [40u32, 48, 56] {
        let _ = memory.write_u64(at.wrapping_add(time), 0);
    }
}

/// `poll_oneoff`: the time the guest slept is added to the virtual clocks: for each clock
/// subscription that fired, its timeout (relative) or up to its deadline (absolute, on the
/// monotonic clock).
fn slept(ctx: &mut WasiCtx, memory: &GuestMemory<'_>, params: &[u64], instructions: u64) {
    let (subs, events, count) = (arg32(params, 0), arg32(params, 1), arg32(params, 2));
    let Ok(fired) = memory.read_u32(arg32(params, 3)) else {
        return;
    };
    let mut wait: u64 = 0;
    for e in 0..fired.min(count) {
        let event = events.wrapping_add(e.wrapping_mul(32));
        // A clock event (type 0) without error.
        let (Ok(userdata), Ok(error), Ok(kind)) = (
            memory.read_u64(event),
            memory.read_u16(event.wrapping_add(8)),
            memory.slice(event.wrapping_add(10), 1),
        ) else {
            continue;
        };
        if kind[0] != 0 || error != 0 {
            continue;
        }
        for s in 0..count {
            let sub = subs.wrapping_add(s.wrapping_mul(48));
            let (Ok(data), Ok(tag)) = (memory.read_u64(sub), memory.slice(sub.wrapping_add(8), 1))
            else {
                continue;
            };
            if data != userdata || tag[0] != 0 {
                continue;
            }
            let (Ok(timeout), Ok(flags)) = (
                memory.read_u64(sub.wrapping_add(24)),
                memory.read_u16(sub.wrapping_add(40)),
            ) else {
                continue;
            };
            let wanted = if flags & 1 != 0 {
                timeout.saturating_sub(ctx.virtual_now(instructions))
            } else {
                timeout
            };
            wait = wait.max(wanted);
            break;
        }
    }
    ctx.slept_ns = ctx.slept_ns.saturating_add(wait);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_differ_by_path_and_are_never_zero() {
        let a = identity(&[&3u32.to_le_bytes(), b"", b"a.txt"]);
        let b = identity(&[&3u32.to_le_bytes(), b"", b"b.txt"]);
        let a_in_4 = identity(&[&4u32.to_le_bytes(), b"", b"a.txt"]);
        assert!(a != b && a != a_in_4 && a != 0);
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(identity(&[b"ab", b"c"]), identity(&[b"a", b"bc"]));
    }

    #[test]
    fn the_random_stream_depends_on_its_seed_only() {
        let stream = |seed: u64| {
            let mut s = seed;
            (0..4).map(|_| splitmix64(&mut s)).collect::<Vec<_>>()
        };
        assert_eq!(stream(7), stream(7));
        assert_ne!(stream(7), stream(8));
    }
}
