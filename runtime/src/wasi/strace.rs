//! `--strace`: every preview1 call the guest makes, one line each, decoded like strace: the
//! function, its arguments (descriptors and flags as numbers, paths as strings, the bytes a
//! read or write moved, up to 32 of them), and the result: the errno by name and what the call
//! returned through memory (bytes moved, a new descriptor, a file offset). Clock readings and
//! random bytes are not shown, so the trace of a run is the same on every host that answers
//! the guest the same.

use super::memory::GuestMemory;
use super::{arg32, arg64, moved_out};

/// Preview1 errno names, by value.
const ERRNO: [&str; 77] = [
    "SUCCESS",
    "2BIG",
    "ACCES",
    "ADDRINUSE",
    "ADDRNOTAVAIL",
    "AFNOSUPPORT",
    "AGAIN",
    "ALREADY",
    "BADF",
    "BADMSG",
    "BUSY",
    "CANCELED",
    "CHILD",
    "CONNABORTED",
    "CONNREFUSED",
    "CONNRESET",
    "DEADLK",
    "DESTADDRREQ",
    "DOM",
    "DQUOT",
    "EXIST",
    "FAULT",
    "FBIG",
    "HOSTUNREACH",
    "IDRM",
    "ILSEQ",
    "INPROGRESS",
    "INTR",
    "INVAL",
    "IO",
    "ISCONN",
    "ISDIR",
    "LOOP",
    "MFILE",
    "MLINK",
    "MSGSIZE",
    "MULTIHOP",
    "NAMETOOLONG",
    "NETDOWN",
    "NETRESET",
    "NETUNREACH",
    "NFILE",
    "NOBUFS",
    "NODEV",
    "NOENT",
    "NOEXEC",
    "NOLCK",
    "NOLINK",
    "NOMEM",
    "NOMSG",
    "NOPROTOOPT",
    "NOSPC",
    "NOSYS",
    "NOTCONN",
    "NOTDIR",
    "NOTEMPTY",
    "NOTRECOVERABLE",
    "NOTSOCK",
    "NOTSUP",
    "NOTTY",
    "NXIO",
    "OVERFLOW",
    "OWNERDEAD",
    "PERM",
    "PIPE",
    "PROTO",
    "PROTONOSUPPORT",
    "PROTOTYPE",
    "RANGE",
    "ROFS",
    "SPIPE",
    "SRCH",
    "STALE",
    "TIMEDOUT",
    "TXTBSY",
    "XDEV",
    "NOTCAPABLE",
];

/// The errno `e` by name (`E` and the name, `0` for success).
fn errno_name(e: u32) -> String {
    match ERRNO.get(e as usize) {
        Some(_) if e == 0 => "0".into(),
        Some(name) => format!("E{name}"),
        None => format!("errno {e}"),
    }
}

/// The parameters of `name` that are a (pointer, length) string: the pointer's index.
fn string_params(name: &str) -> &'static [usize] {
    match name {
        "path_create_directory" | "path_remove_directory" | "path_unlink_file" => &[1],
        "path_filestat_get" | "path_filestat_set_times" | "path_open" => &[2],
        "path_readlink" => &[1],
        "path_link" => &[2, 5],
        "path_rename" => &[1, 4],
        "path_symlink" => &[0, 3],
        _ => &[],
    }
}

/// Up to 32 bytes as a quoted, escaped string, with `...` if there were more.
pub(crate) fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes.iter().take(32) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    if bytes.len() > 32 {
        out.push_str("...");
    }
    out
}

/// The first `limit` bytes that the iovecs at `iovs` (`count` of them) cover.
fn gathered(memory: &GuestMemory<'_>, iovs: u32, count: u32, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count.min(1024) {
        let at = iovs.wrapping_add(i.wrapping_mul(8));
        let (Ok(buf), Ok(len)) = (memory.read_u32(at), memory.read_u32(at.wrapping_add(4))) else {
            break;
        };
        let want = (limit + 1).saturating_sub(out.len()).min(len as usize);
        match memory.slice(buf, want as u32) {
            Ok(bytes) => out.extend_from_slice(bytes),
            Err(_) => break,
        }
        if out.len() > limit {
            break;
        }
    }
    out
}

/// The line for a call of `name` with `params` that returned `errno` (`None`: it trapped, or
/// does not return), read from `memory` after the call.
pub(crate) fn line(
    name: &str,
    memory: &GuestMemory<'_>,
    params: &[u64],
    types: &[u8],
    errno: Option<u32>,
) -> String {
    let strings = string_params(name);
    let mut args = Vec::with_capacity(params.len());
    let mut i = 0;
    while i < params.len() {
        if strings.contains(&i) && i + 1 < params.len() {
            let text = memory
                .slice(arg32(params, i), arg32(params, i + 1))
                .map(quoted)
                .unwrap_or_else(|_| "<bad pointer>".into());
            args.push(text);
            i += 2;
            continue;
        }
        args.push(match types.get(i) {
            Some(&0x7e) => arg64(params, i).to_string(),
            _ => arg32(params, i).to_string(),
        });
        i += 1;
    }
    // What moved: the bytes of a read or write, instead of the iovec pointers.
    let ok = errno == Some(0);
    let mut returned = String::new();
    let out_u32 = |k: usize| memory.read_u32(arg32(params, k)).ok();
    match name {
        "fd_write" | "fd_pwrite" => {
            let bytes = gathered(memory, arg32(params, 1), arg32(params, 2), 32);
            args[1] = quoted(&bytes);
            args[2] = format!("{} iovecs", arg32(params, 2));
            if let (true, Some(n)) = (ok, moved_out(name).and_then(out_u32)) {
                returned = format!(" ({n} bytes)");
            }
        }
        "fd_read" | "fd_pread" => {
            args[2] = format!("{} iovecs", arg32(params, 2));
            args[1] = "..".into();
            if let (true, Some(n)) = (ok, moved_out(name).and_then(out_u32)) {
                let bytes = gathered(memory, arg32(params, 1), arg32(params, 2), 32);
                let shown = &bytes[..bytes.len().min(n as usize)];
                args[1] = quoted(shown);
                returned = format!(" ({n} bytes)");
            }
        }
        "path_open" => {
            if let (true, Some(fd)) = (ok, out_u32(8)) {
                returned = format!(" (fd {fd})");
            }
        }
        "fd_seek" | "fd_tell" => {
            let out = if name == "fd_seek" { 3 } else { 1 };
            if let (true, Ok(at)) = (ok, memory.read_u64(arg32(params, out))) {
                returned = format!(" (offset {at})");
            }
        }
        _ => {}
    }
    match errno {
        Some(e) => format!("{name}({}) = {}{returned}", args.join(", "), errno_name(e)),
        None => format!("{name}({})", args.join(", ")),
    }
}
