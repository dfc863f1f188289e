//! Native tests: the function table, the pointer checks, and the layouts the guest sees, all
//! through `link` and the store's host-function closures, as the interpreter calls them.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use super::*;
use crate::store::{FuncInst, Memory};

struct Guest {
    store: Store,
    ctx: Rc<RefCell<WasiCtx>>,
    memory: Memory,
}

impl Guest {
    fn new(args: &[&str]) -> Guest {
        Guest {
            store: Store::new(),
            ctx: Rc::new(RefCell::new(WasiCtx::new(
                args.iter().map(|a| a.to_string()).collect(),
            ))),
            memory: Memory::new(1, None).unwrap(),
        }
    }

    /// Calls WASI function `name` with or without the guest memory.
    fn call_with(
        &mut self,
        name: &str,
        params: &[u64],
        with_memory: bool,
    ) -> Result<Option<u64>, Trap> {
        let Some(Extern::Func(addr)) = link(&mut self.store, &self.ctx, MODULE, name) else {
            panic!("{name} not linked");
        };
        let FuncInst::Host { func, .. } = &self.store.funcs[addr as usize] else {
            panic!("{name} is not a host function");
        };
        let func = func.clone();
        let mut results = vec![0; self.store.func_type(addr).results.len()];
        let memory = if with_memory {
            Some(&mut self.memory)
        } else {
            None
        };
        func(
            &mut Caller {
                memory,
                data: &mut (),
                note: None,
                instructions: None,
            },
            params,
            &mut results,
        )?;
        Ok(results.first().copied())
    }

    fn call(&mut self, name: &str, params: &[u64]) -> Result<Option<u64>, Trap> {
        self.call_with(name, params, true)
    }

    /// Calls `name` and returns its errno.
    fn errno(&mut self, name: &str, params: &[u64]) -> u32 {
        self.call(name, params).unwrap().unwrap() as u32
    }

    fn trap(&mut self, name: &str, params: &[u64]) -> TrapKind {
        self.call(name, params).unwrap_err().kind
    }

    fn put(&mut self, addr: u32, bytes: &[u8]) {
        self.memory.bytes_mut()[addr as usize..][..bytes.len()].copy_from_slice(bytes);
    }

    fn get(&self, addr: u32, len: usize) -> &[u8] {
        &self.memory.bytes()[addr as usize..][..len]
    }

    fn u32_at(&self, addr: u32) -> u32 {
        u32::from_le_bytes(self.get(addr, 4).try_into().unwrap())
    }

    fn u64_at(&self, addr: u32) -> u64 {
        u64::from_le_bytes(self.get(addr, 8).try_into().unwrap())
    }

    /// Writes an iovec array at `at` for the given (buf, len) pairs.
    fn iovecs(&mut self, at: u32, iovs: &[(u32, u32)]) {
        for (i, &(buf, len)) in iovs.iter().enumerate() {
            let slot = at + 8 * i as u32;
            self.put(slot, &buf.to_le_bytes());
            self.put(slot + 4, &len.to_le_bytes());
        }
    }

    /// Writes `path` at `at` and returns the (ptr, len) parameters.
    fn path(&mut self, at: u32, path: &str) -> (u64, u64) {
        self.put(at, path.as_bytes());
        (u64::from(at), path.len() as u64)
    }
}

fn is_misaligned(kind: &TrapKind) -> bool {
    matches!(kind, TrapKind::Host(m) if m.contains("not aligned"))
}

/// A fresh host directory for one test, removed when dropped (the WASI tests' and the
/// preview-2 host's).
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("chiwawa-wasi-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PAGE: u32 = 65536;

#[test]
fn table_has_all_46_preview1_functions() {
    assert_eq!(FUNCTIONS.len(), 46);
    let mut names: Vec<_> = FUNCTIONS.iter().map(|f| f.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 46);
    let sig = |name: &str| {
        let f = FUNCTIONS.iter().find(|f| f.name == name).unwrap();
        (f.params, f.results)
    };
    assert_eq!(sig("fd_write"), (&[I32, I32, I32, I32][..], &[I32][..]));
    assert_eq!(sig("clock_time_get"), (&[I32, I64, I32][..], &[I32][..]));
    assert_eq!(
        sig("path_open"),
        (
            &[I32, I32, I32, I32, I32, I64, I64, I32, I32][..],
            &[I32][..]
        )
    );
    assert_eq!(sig("proc_exit"), (&[I32][..], &[][..]));
    assert_eq!(sig("sched_yield"), (&[][..], &[I32][..]));
}

#[test]
fn link_resolves_only_preview1_names() {
    let mut g = Guest::new(&["prog"]);
    for f in FUNCTIONS {
        let Some(Extern::Func(addr)) = link(&mut g.store, &g.ctx, MODULE, f.name) else {
            panic!("{} not linked", f.name);
        };
        let ty = g.store.func_type(addr);
        assert_eq!(
            (&ty.params[..], &ty.results[..]),
            (f.params, f.results),
            "{}",
            f.name
        );
    }
    assert_eq!(link(&mut g.store, &g.ctx, MODULE, "fd_nonsense"), None);
    assert_eq!(
        link(&mut g.store, &g.ctx, "wasi_unstable", "fd_write"),
        None
    );
    assert_eq!(link(&mut g.store, &g.ctx, "env", "fd_write"), None);
}

#[test]
fn guest_memory_checks_bounds_and_alignment() {
    let mut bytes = vec![0u8; 64];
    let mut m = GuestMemory::new(&mut bytes);
    assert_eq!(m.range(0, 64, 8).unwrap(), 0..64);
    assert_eq!(
        m.range(64, 0, 1).unwrap(),
        64..64,
        "an empty range may sit at the end"
    );
    assert_eq!(
        m.range(65, 0, 1).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        m.range(60, 5, 1).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        m.range(u32::MAX, u64::MAX, 1).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    assert!(is_misaligned(&m.range(4, 8, 8).unwrap_err().kind));
    assert!(is_misaligned(&m.read_u32(2).unwrap_err().kind));
    assert_eq!(m.read_u64(56).unwrap(), 0);
    assert_eq!(
        m.read_u64(64).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    // count * size overflowing 32 bits must not wrap into range.
    assert_eq!(
        m.array(0, 0x2000_0001, 8, 4).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        m.array(0, u32::MAX, u32::MAX, 1).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    m.write_u32(60, 0xdead_beef).unwrap();
    assert_eq!(
        m.write_u32(61, 1).unwrap_err().kind,
        TrapKind::Host("wasi: pointer 0x3d is not aligned to 4 bytes".into())
    );
    assert_eq!(m.read_u32(60).unwrap(), 0xdead_beef);
    // An iovec whose buffer leaves memory fails even though the array itself is inside.
    m.write_u32(0, 32).unwrap();
    m.write_u32(4, 33).unwrap();
    assert_eq!(
        m.iovecs(0, 1, 16).unwrap_err().kind,
        TrapKind::MemoryOutOfBounds
    );
    m.write_u32(4, 32).unwrap();
    assert_eq!(m.iovecs(0, 1, 16).unwrap(), vec![(32, 32)]);
    let mut none = GuestMemory::none();
    assert_eq!(
        none.write_u32(0, 1).unwrap_err().kind,
        TrapKind::Host("wasi: memory not exported".into())
    );
}

#[test]
fn args_layout() {
    let mut g = Guest::new(&["prog", "a b", ""]);
    assert_eq!(g.errno("args_sizes_get", &[0, 4]), 0);
    assert_eq!((g.u32_at(0), g.u32_at(4)), (3, 5 + 4 + 1));
    assert_eq!(g.errno("args_get", &[100, 200]), 0);
    assert_eq!(
        (g.u32_at(100), g.u32_at(104), g.u32_at(108)),
        (200, 205, 209)
    );
    assert_eq!(g.get(200, 10), b"prog\0a b\0\0");
}

#[test]
fn args_pointers_are_checked_before_writing() {
    let mut g = Guest::new(&["prog", "arg"]);
    // The pointer array runs off the end of memory: trap, and the buffer stays untouched.
    assert_eq!(
        g.trap("args_get", &[u64::from(PAGE - 4), 200]),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(g.get(200, 9), [0; 9]);
    assert_eq!(
        g.trap("args_get", &[100, u64::from(PAGE - 4)]),
        TrapKind::MemoryOutOfBounds
    );
    assert!(is_misaligned(&g.trap("args_get", &[102, 200])));
    assert_eq!(
        g.trap("args_sizes_get", &[0, u64::from(PAGE)]),
        TrapKind::MemoryOutOfBounds
    );
    assert!(is_misaligned(&g.trap("args_sizes_get", &[1, 4])));
    // A value beyond 32 bits in a slot is an i32 zero-extended by the interpreter; only the low
    // 32 bits count, and they are checked like any other address.
    assert_eq!(
        g.trap("args_sizes_get", &[0xffff_fffc, 4]),
        TrapKind::MemoryOutOfBounds
    );
}

#[test]
fn environ_layout() {
    let mut g = Guest::new(&["prog"]);
    g.ctx.borrow_mut().native.set_env(&["A=1", "PATH=/bin"]);
    assert_eq!(g.errno("environ_sizes_get", &[0, 4]), 0);
    assert_eq!((g.u32_at(0), g.u32_at(4)), (2, 4 + 10));
    assert_eq!(g.errno("environ_get", &[64, 1000]), 0);
    assert_eq!((g.u32_at(64), g.u32_at(68)), (1000, 1004));
    assert_eq!(g.get(1000, 14), b"A=1\0PATH=/bin\0");
    assert_eq!(
        g.trap("environ_get", &[64, u64::from(PAGE - 13)]),
        TrapKind::MemoryOutOfBounds
    );
}

#[test]
fn fd_write_checks_iovecs() {
    let mut g = Guest::new(&["prog"]);
    // No iovecs: nothing written (and nothing printed by the test).
    g.put(16, &[0xff; 4]);
    assert_eq!(g.errno("fd_write", &[1, 8, 0, 16]), 0);
    assert_eq!(g.u32_at(16), 0);
    // A buffer outside memory traps; a misaligned iovec array or result pointer traps.
    g.iovecs(8, &[(PAGE - 2, 3)]);
    assert_eq!(
        g.trap("fd_write", &[2, 8, 1, 16]),
        TrapKind::MemoryOutOfBounds
    );
    assert!(is_misaligned(&g.trap("fd_write", &[2, 6, 1, 16])));
    assert!(is_misaligned(&g.trap("fd_write", &[2, 8, 0, 18])));
    // An iovec array larger than memory.
    assert_eq!(
        g.trap("fd_write", &[2, 8, 0x2000_0000, 16]),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        g.errno("fd_write", &[0, 8, 0, 16]),
        errno::BADF,
        "stdin is not writable"
    );
    assert_eq!(g.errno("fd_write", &[99, 8, 0, 16]), errno::BADF);
}

#[test]
fn files_in_a_preopened_directory() {
    let tmp = TempDir::new("files");
    let mut g = Guest::new(&["prog"]);
    g.ctx.borrow_mut().preopen_dir(&tmp.0, "/sandbox").unwrap();

    // Preopen discovery as wasi-libc does it.
    assert_eq!(g.errno("fd_prestat_get", &[3, 8]), 0);
    assert_eq!((g.get(8, 1)[0], g.u32_at(12)), (0, 8));
    assert_eq!(g.errno("fd_prestat_dir_name", &[3, 32, 8]), 0);
    assert_eq!(g.get(32, 8), b"/sandbox");
    assert_eq!(
        g.errno("fd_prestat_dir_name", &[3, 32, 7]),
        errno::NAMETOOLONG
    );
    assert_eq!(g.errno("fd_prestat_get", &[4, 8]), errno::BADF);
    assert_eq!(g.errno("fd_prestat_get", &[0, 8]), errno::BADF);
    assert!(is_misaligned(&g.trap("fd_prestat_get", &[3, 10])));

    // Create and write a file: path_open(dir, follow, path, oflags CREAT|TRUNC, rights READ|WRITE|..).
    let (path, len) = g.path(2100, "hello.txt");
    let rights = (1 << 1) | (1 << 6) | (1 << 2);
    assert_eq!(
        g.errno("path_open", &[3, 1, path, len, 1 | 8, rights, 0, 0, 16]),
        0
    );
    let fd = u64::from(g.u32_at(16));
    assert_eq!(fd, 4);
    g.put(200, b"hello, world\n");
    g.iovecs(24, &[(200, 7), (207, 6)]);
    assert_eq!(g.errno("fd_write", &[fd, 24, 2, 40]), 0);
    assert_eq!(g.u32_at(40), 13);
    assert_eq!(
        std::fs::read(tmp.0.join("hello.txt")).unwrap(),
        b"hello, world\n"
    );

    // Seek back and read it in two iovecs.
    assert_eq!(g.errno("fd_seek", &[fd, 0, 0, 48]), 0);
    assert_eq!(g.u64_at(48), 0);
    assert!(is_misaligned(&g.trap("fd_seek", &[fd, 0, 0, 44])));
    g.iovecs(24, &[(300, 5), (310, 100)]);
    assert_eq!(g.errno("fd_read", &[fd, 24, 2, 40]), 0);
    assert_eq!(g.u32_at(40), 13);
    assert_eq!(
        (g.get(300, 5), g.get(310, 8)),
        (&b"hello"[..], &b", world\n"[..])
    );
    assert_eq!(g.errno("fd_tell", &[fd, 48]), 0);
    assert_eq!(g.u64_at(48), 13);

    // Positional reads leave the offset alone.
    g.iovecs(24, &[(400, 5)]);
    assert_eq!(g.errno("fd_pread", &[fd, 24, 1, 7, 40]), 0);
    assert_eq!((g.u32_at(40), g.get(400, 5)), (5, &b"world"[..]));
    assert_eq!(g.errno("fd_tell", &[fd, 48]), 0);
    assert_eq!(g.u64_at(48), 13);

    // filestat: filetype at 16, size at 32.
    assert_eq!(g.errno("fd_filestat_get", &[fd, 64]), 0);
    assert_eq!((g.get(80, 1)[0], g.u64_at(96)), (4, 13));
    assert!(is_misaligned(&g.trap("fd_filestat_get", &[fd, 68])));
    assert_eq!(
        g.trap("fd_filestat_get", &[fd, u64::from(PAGE - 32)]),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(g.errno("fd_fdstat_get", &[fd, 64]), 0);
    assert_eq!(g.get(64, 1)[0], 4);
    assert_eq!(g.errno("fd_close", &[fd]), 0);
    assert_eq!(g.errno("fd_close", &[fd]), errno::BADF);

    assert_eq!(g.errno("path_filestat_get", &[3, 1, path, len, 64]), 0);
    assert_eq!(g.u64_at(96), 13);

    // Directories: create, list, rename, remove.
    let (sub, sub_len) = g.path(2140, "sub");
    assert_eq!(g.errno("path_create_directory", &[3, sub, sub_len]), 0);
    assert_eq!(
        g.errno("path_create_directory", &[3, sub, sub_len]),
        errno::EXIST
    );
    assert_eq!(g.errno("fd_readdir", &[3, 8192, 4096, 0, 40]), 0);
    let used = g.u32_at(40) as usize;
    let listing = g.get(8192, used).to_vec();
    let mut names = Vec::new();
    let mut at = 0;
    while at + 24 <= listing.len() {
        let namlen = u32::from_le_bytes(listing[at + 16..at + 20].try_into().unwrap()) as usize;
        names.push((
            String::from_utf8(listing[at + 24..at + 24 + namlen].to_vec()).unwrap(),
            listing[at + 20],
        ));
        at += 24 + namlen;
    }
    assert_eq!(
        names,
        [
            (".".into(), 3),
            ("..".into(), 3),
            ("hello.txt".into(), 4),
            ("sub".into(), 3)
        ]
    );
    // Resuming from a cookie skips what was read.
    assert_eq!(g.errno("fd_readdir", &[3, 8192, 4096, 3, 40]), 0);
    assert_eq!(g.u32_at(40), 24 + 3);
    // A short buffer is filled completely (the guest grows it and asks again).
    assert_eq!(g.errno("fd_readdir", &[3, 8192, 30, 0, 40]), 0);
    assert_eq!(g.u32_at(40), 30);

    let (new, new_len) = g.path(2160, "sub/moved.txt");
    assert_eq!(g.errno("path_rename", &[3, path, len, 3, new, new_len]), 0);
    assert!(tmp.0.join("sub/moved.txt").exists());
    assert_eq!(
        g.errno("path_remove_directory", &[3, sub, sub_len]),
        errno::NOTEMPTY
    );
    assert_eq!(g.errno("path_unlink_file", &[3, new, new_len]), 0);
    assert_eq!(g.errno("path_remove_directory", &[3, sub, sub_len]), 0);
    assert_eq!(
        g.errno("path_open", &[3, 1, path, len, 0, rights, 0, 0, 16]),
        errno::NOENT
    );

    // Opening a directory gives a directory descriptor usable as a base for paths.
    let (dot, dot_len) = g.path(2180, ".");
    assert_eq!(
        g.errno("path_open", &[3, 1, dot, dot_len, 2, 0, 0, 0, 16]),
        0
    );
    let dirfd = u64::from(g.u32_at(16));
    assert_eq!(g.errno("fd_fdstat_get", &[dirfd, 64]), 0);
    assert_eq!(g.get(64, 1)[0], 3);
    assert_eq!(
        g.errno("fd_prestat_get", &[dirfd, 8]),
        errno::BADF,
        "not a preopen"
    );
    assert_eq!(g.errno("fd_close", &[dirfd]), 0);
}

#[test]
fn paths_cannot_leave_the_preopened_directory() {
    let tmp = TempDir::new("escape");
    std::fs::create_dir(tmp.0.join("inner")).unwrap();
    std::fs::write(tmp.0.join("secret"), b"outside").unwrap();
    let mut g = Guest::new(&["prog"]);
    g.ctx
        .borrow_mut()
        .preopen_dir(&tmp.0.join("inner"), "/")
        .unwrap();
    let rights = 1 << 1;
    for path in ["../secret", "/etc/passwd", "a/../../secret"] {
        let (p, len) = g.path(100, path);
        let errno = g.errno("path_open", &[3, 1, p, len, 0, rights, 0, 0, 16]);
        assert_ne!(errno, 0, "{path} opened");
    }
    // A symlink pointing out of the directory cannot be followed.
    let (target, target_len) = g.path(100, "../secret");
    let (link_path, link_len) = g.path(200, "escape");
    let errno = g.errno(
        "path_symlink",
        &[target, target_len, 3, link_path, link_len],
    );
    assert_eq!(errno, 0);
    assert_eq!(
        g.errno(
            "path_open",
            &[3, 1, link_path, link_len, 0, rights, 0, 0, 16]
        ),
        errno::PERM
    );
    assert_eq!(
        g.errno("path_readlink", &[3, link_path, link_len, 300, 64, 16]),
        0
    );
    assert_eq!(g.get(300, g.u32_at(16) as usize), b"../secret");
    // Paths on descriptors that are not directories.
    assert_eq!(
        g.errno(
            "path_open",
            &[1, 1, link_path, link_len, 0, rights, 0, 0, 16]
        ),
        errno::NOTDIR
    );
    assert_eq!(
        g.errno(
            "path_open",
            &[9, 1, link_path, link_len, 0, rights, 0, 0, 16]
        ),
        errno::BADF
    );
    // A path outside guest memory traps before anything is opened.
    assert_eq!(
        g.trap(
            "path_open",
            &[3, 1, u64::from(PAGE - 2), 3, 0, rights, 0, 0, 16]
        ),
        TrapKind::MemoryOutOfBounds
    );
}

#[test]
fn clocks_random_and_yield() {
    let mut g = Guest::new(&["prog"]);
    assert_eq!(g.errno("clock_time_get", &[0, 1, 8]), 0);
    assert!(
        g.u64_at(8) > 1_600_000_000 * 1_000_000_000,
        "realtime is nanoseconds since 1970"
    );
    assert_eq!(g.errno("clock_time_get", &[1, 1, 8]), 0);
    let t0 = g.u64_at(8);
    assert_eq!(g.errno("clock_time_get", &[1, 1, 8]), 0);
    assert!(g.u64_at(8) >= t0);
    assert_eq!(g.errno("clock_res_get", &[1, 16]), 0);
    assert!(g.u64_at(16) > 0);
    assert_eq!(g.errno("clock_time_get", &[7, 1, 8]), errno::INVAL);
    assert!(is_misaligned(&g.trap("clock_time_get", &[1, 1, 12])));
    assert_eq!(
        g.trap("clock_time_get", &[1, 1, u64::from(PAGE)]),
        TrapKind::MemoryOutOfBounds
    );

    assert_eq!(g.errno("random_get", &[100, 37]), 0);
    let first = g.get(100, 37).to_vec();
    assert!(first.iter().any(|&b| b != 0));
    assert_eq!(g.get(137, 1), [0], "nothing beyond the buffer");
    assert_eq!(g.errno("random_get", &[100, 37]), 0);
    assert_ne!(g.get(100, 37), &first[..]);
    assert_eq!(
        g.trap("random_get", &[u64::from(PAGE - 10), 11]),
        TrapKind::MemoryOutOfBounds
    );

    assert_eq!(g.errno("sched_yield", &[]), 0);
}

#[test]
fn poll_oneoff_sleeps_on_a_clock() {
    let mut g = Guest::new(&["prog"]);
    // One relative monotonic clock subscription of 1 ms.
    g.put(0, &42u64.to_le_bytes());
    g.put(8, &[0]);
    g.put(16, &1u32.to_le_bytes());
    g.put(24, &1_000_000u64.to_le_bytes());
    let start = std::time::Instant::now();
    assert_eq!(g.errno("poll_oneoff", &[0, 64, 1, 128]), 0);
    assert!(start.elapsed() >= std::time::Duration::from_millis(1));
    assert_eq!(g.u32_at(128), 1);
    assert_eq!((g.u64_at(64), g.get(72, 3)), (42, &[0, 0, 0][..]));
    assert!(is_misaligned(&g.trap("poll_oneoff", &[4, 64, 1, 128])));
    assert_eq!(
        g.trap("poll_oneoff", &[0, u64::from(PAGE - 16), 1, 128]),
        TrapKind::MemoryOutOfBounds
    );
}

#[test]
fn proc_exit_traps_with_the_status() {
    let mut g = Guest::new(&["prog"]);
    assert_eq!(g.trap("proc_exit", &[3]), TrapKind::Exit(3));
    assert_eq!(
        g.call_with("proc_exit", &[0], false).unwrap_err().kind,
        TrapKind::Exit(0)
    );
}

#[test]
fn unimplemented_functions_return_nosys() {
    let mut g = Guest::new(&["prog"]);
    assert_eq!(g.errno("sock_accept", &[3, 0, 8]), errno::NOSYS);
    assert_eq!(g.errno("fd_advise", &[1, 0, 0, 0]), errno::NOSYS);
    assert_eq!(g.errno("proc_raise", &[9]), errno::NOSYS);
}

#[test]
fn stdio_fdstat_has_no_seek_rights() {
    let mut g = Guest::new(&["prog"]);
    for fd in 0..3 {
        assert_eq!(g.errno("fd_fdstat_get", &[fd, 8]), 0);
        let rights = g.u64_at(16);
        assert_eq!(rights & ((1 << 2) | (1 << 5)), 0, "fd {fd}");
        assert_ne!(rights & ((1 << 1) | (1 << 6)), 0, "fd {fd}");
    }
    assert_eq!(g.errno("fd_seek", &[1, 0, 0, 8]), errno::SPIPE);
    assert_eq!(g.errno("fd_fdstat_get", &[3, 8]), errno::BADF);
}

#[test]
fn calls_without_memory_or_with_bad_arity() {
    let mut g = Guest::new(&["prog"]);
    let kind = g
        .call_with("fd_write", &[1, 0, 0, 0], false)
        .unwrap_err()
        .kind;
    assert_eq!(kind, TrapKind::Host("wasi: memory not exported".into()));
    assert_eq!(g.call_with("sched_yield", &[], false).unwrap(), Some(0));
    assert_eq!(
        g.call_with("fd_close", &[99], false).unwrap(),
        Some(u64::from(errno::BADF))
    );
    assert!(matches!(g.trap("fd_close", &[]), TrapKind::Host(_)));
}

/// Two hidden descriptors (the image file and the `--strace` file): the guest's numbers skip
/// both, whichever order they were hidden in.
#[test]
fn two_hidden_descriptors_are_both_skipped() {
    let tmp = TempDir::new("hidden-two");
    let dirs = ["a", "b", "c", "d", "e"];
    for d in dirs {
        std::fs::create_dir(tmp.0.join(d)).unwrap();
    }
    let mut g = Guest::new(&["prog"]);
    for d in dirs {
        let guest = format!("/{d}");
        g.ctx
            .borrow_mut()
            .preopen_dir(&tmp.0.join(d), &guest)
            .unwrap();
    }
    g.ctx.borrow_mut().hide_fd(6);
    g.ctx.borrow_mut().hide_fd(4);
    let mut seen = Vec::new();
    for fd in 3..8u64 {
        if g.errno("fd_prestat_get", &[fd, 8]) != 0 {
            break;
        }
        let len = g.u32_at(12);
        assert_eq!(g.errno("fd_prestat_dir_name", &[fd, 32, u64::from(len)]), 0);
        seen.push(String::from_utf8(g.get(32, len as usize).to_vec()).unwrap());
    }
    assert_eq!(seen, ["/a", "/c", "/e"]);
    // A new descriptor (host 8) is guest 6.
    let (path, len) = g.path(100, "x.txt");
    assert_eq!(
        g.errno("path_open", &[5, 1, path, len, 1, 1 << 6, 0, 0, 16]),
        0
    );
    assert_eq!(g.u32_at(16), 6);
    assert!(tmp.0.join("e/x.txt").exists());
}

/// With host descriptor 4 hidden (as the runtime hides its image file), the guest's descriptors
/// skip it everywhere: arguments, the descriptors `path_open` returns, `poll_oneoff`'s
/// subscriptions; and the guest cannot reach descriptor 4 itself.
#[test]
fn a_hidden_descriptor_is_skipped_in_every_number_the_guest_sees() {
    let tmp = TempDir::new("hidden");
    for d in ["a", "b", "c"] {
        std::fs::create_dir(tmp.0.join(d)).unwrap();
    }
    let mut g = Guest::new(&["prog"]);
    for d in ["a", "b", "c"] {
        let guest = format!("/{d}");
        g.ctx
            .borrow_mut()
            .preopen_dir(&tmp.0.join(d), &guest)
            .unwrap();
    }
    g.ctx.borrow_mut().hide_fd(4);

    // Preopen discovery sees /a as 3 and /c as 4; /b (host 4) is out of reach, 5 is the end.
    let prestat_name = |g: &mut Guest, fd: u64| {
        assert_eq!(g.errno("fd_prestat_get", &[fd, 8]), 0, "fd {fd}");
        let len = g.u32_at(12);
        assert_eq!(g.errno("fd_prestat_dir_name", &[fd, 32, u64::from(len)]), 0);
        String::from_utf8(g.get(32, len as usize).to_vec()).unwrap()
    };
    assert_eq!(prestat_name(&mut g, 3), "/a");
    assert_eq!(prestat_name(&mut g, 4), "/c");
    assert_eq!(g.errno("fd_prestat_get", &[5, 8]), errno::BADF);
    assert_eq!(
        g.errno("fd_prestat_get", &[u64::from(u32::MAX), 8]),
        errno::BADF
    );

    // A file opened in guest 4 (host 5, /c) is host 6, guest 5.
    let rights = (1 << 1) | (1 << 6); // fd_read, fd_write
    let (path, len) = g.path(100, "x.txt");
    assert_eq!(
        g.errno("path_open", &[4, 1, path, len, 1, rights, 0, 0, 16]),
        0
    );
    assert_eq!(g.u32_at(16), 5);
    assert!(tmp.0.join("c/x.txt").exists());
    assert!(!tmp.0.join("b/x.txt").exists());
    g.put(200, b"hi");
    g.put(208, &200u32.to_le_bytes());
    g.put(212, &2u32.to_le_bytes());
    assert_eq!(g.errno("fd_write", &[5, 208, 1, 220]), 0);
    assert_eq!(std::fs::read(tmp.0.join("c/x.txt")).unwrap(), b"hi");

    // Renumbering works in guest numbers: guest 5 onto guest 3 (host 6 onto host 3).
    assert_eq!(g.errno("fd_renumber", &[5, 3]), 0);
    assert_eq!(g.errno("fd_fdstat_get", &[3, 64]), 0);
    assert_eq!(g.get(64, 1)[0], 4, "guest 3 is now the regular file");
    assert_eq!(g.errno("fd_fdstat_get", &[5, 64]), errno::BADF);

    // poll_oneoff: guest 4 (host 5, a directory) is there, guest 5 is not; the subscriptions
    // are the guest's again after the call.
    for (i, fd) in [4u32, 5].iter().enumerate() {
        let sub = 1024 + 48 * i as u32;
        let mut bytes = [0u8; 48];
        bytes[..8].copy_from_slice(&(0x10 + i as u64).to_le_bytes());
        bytes[8] = 1; // fd_read
        bytes[16..20].copy_from_slice(&fd.to_le_bytes());
        g.put(sub, &bytes);
    }
    assert_eq!(g.errno("poll_oneoff", &[1024, 2048, 2, 300]), 0);
    assert_eq!(g.u32_at(300), 2);
    let events: Vec<(u64, u16)> = (0..2)
        .map(|i| {
            let e = 2048 + 32 * i;
            (
                g.u64_at(e),
                u16::from_le_bytes(g.get(e + 8, 2).try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(events, [(0x10, 0), (0x11, errno::BADF as u16)]);
    assert_eq!((g.u32_at(1024 + 16), g.u32_at(1024 + 48 + 16)), (4, 5));
}

/// The string-list layouts of each host's order, checked against what the hosts gave a probe
/// program (environ `A=1`, `B=two words` and argv `probe.wasm one two`, the pointer array and the
/// strings overlapping in a buffer at guest address 0xf00 filled with 0xee) run directly on
/// wasmtime 49 (PtrThenStr), the wasmi CLI 2.0 (StrThenPtr) and node 20 (StrsThenPtrs).
#[test]
fn overlapping_string_lists_as_each_host_writes_them() {
    let env = StringList::new([&b"A=1"[..], b"B=two words"].into_iter()).unwrap();
    let args = StringList::new([&b"probe.wasm"[..], b"one", b"two"].into_iter()).unwrap();
    let layout = |order, list: &StringList, ptrs: usize, buf: usize| {
        let mut mem = vec![0xee; 24];
        lay_out(order, list, &mut mem, ptrs, buf, 0xf00 + buf as u32);
        mem
    };
    let hex = |s: &str| -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    };
    use ListOrder::*;
    let cases = [
        // The pointers and the strings both at the start.
        (
            PtrThenStr,
            &env,
            0,
            0,
            "41 3d 31 00 42 3d 74 77 6f 20 77 6f 72 64 73 00 ee ee ee ee ee ee ee ee",
        ),
        (
            StrThenPtr,
            &env,
            0,
            0,
            "00 0f 00 00 04 0f 00 00 6f 20 77 6f 72 64 73 00 ee ee ee ee ee ee ee ee",
        ),
        (
            StrsThenPtrs,
            &env,
            0,
            0,
            "00 0f 00 00 04 0f 00 00 6f 20 77 6f 72 64 73 00 ee ee ee ee ee ee ee ee",
        ),
        (
            PtrThenStr,
            &args,
            0,
            0,
            "70 72 6f 62 0b 0f 00 00 0f 0f 00 00 6e 65 00 74 77 6f 00 ee ee ee ee ee",
        ),
        (
            StrThenPtr,
            &args,
            0,
            0,
            "00 0f 00 00 0b 0f 00 00 0f 0f 00 00 6e 65 00 74 77 6f 00 ee ee ee ee ee",
        ),
        (
            StrsThenPtrs,
            &args,
            0,
            0,
            "00 0f 00 00 0b 0f 00 00 0f 0f 00 00 6e 65 00 74 77 6f 00 ee ee ee ee ee",
        ),
        // The pointers one slot after the strings' start.
        (
            PtrThenStr,
            &env,
            4,
            0,
            "41 3d 31 00 42 3d 74 77 6f 20 77 6f 72 64 73 00 ee ee ee ee ee ee ee ee",
        ),
        (
            StrThenPtr,
            &env,
            4,
            0,
            "41 3d 31 00 42 3d 74 77 04 0f 00 00 72 64 73 00 ee ee ee ee ee ee ee ee",
        ),
        (
            StrsThenPtrs,
            &env,
            4,
            0,
            "41 3d 31 00 00 0f 00 00 04 0f 00 00 72 64 73 00 ee ee ee ee ee ee ee ee",
        ),
        (
            PtrThenStr,
            &args,
            4,
            0,
            "70 72 6f 62 65 2e 77 61 0b 0f 00 6f 0f 0f 00 74 77 6f 00 ee ee ee ee ee",
        ),
        (
            StrThenPtr,
            &args,
            4,
            0,
            "70 72 6f 62 00 0f 00 00 0b 0f 00 00 0f 0f 00 00 77 6f 00 ee ee ee ee ee",
        ),
        (
            StrsThenPtrs,
            &args,
            4,
            0,
            "70 72 6f 62 00 0f 00 00 0b 0f 00 00 0f 0f 00 00 77 6f 00 ee ee ee ee ee",
        ),
        // The strings two bytes in, the pointers at 8.
        (
            PtrThenStr,
            &env,
            8,
            2,
            "ee ee 41 3d 31 00 42 3d 74 77 6f 20 77 6f 72 64 73 00 ee ee ee ee ee ee",
        ),
        (
            StrThenPtr,
            &env,
            8,
            2,
            "ee ee 41 3d 31 00 42 3d 74 77 6f 20 06 0f 00 00 73 00 ee ee ee ee ee ee",
        ),
        (
            StrsThenPtrs,
            &env,
            8,
            2,
            "ee ee 41 3d 31 00 42 3d 02 0f 00 00 06 0f 00 00 73 00 ee ee ee ee ee ee",
        ),
        (
            PtrThenStr,
            &args,
            8,
            2,
            "ee ee 70 72 6f 62 65 2e 77 61 73 6d 0d 6f 6e 65 11 74 77 6f 00 ee ee ee",
        ),
        (
            StrThenPtr,
            &args,
            8,
            2,
            "ee ee 70 72 6f 62 65 2e 02 0f 00 00 0d 0f 00 00 11 0f 00 00 00 ee ee ee",
        ),
        (
            StrsThenPtrs,
            &args,
            8,
            2,
            "ee ee 70 72 6f 62 65 2e 02 0f 00 00 0d 0f 00 00 11 0f 00 00 00 ee ee ee",
        ),
    ];
    for (order, list, ptrs, buf, want) in cases {
        assert_eq!(
            layout(order, list, ptrs, buf),
            hex(want),
            "{order:?} pointers at {ptrs}, strings at {buf}"
        );
    }
    // Apart, every order gives the same bytes.
    let apart: Vec<_> = LIST_ORDERS.iter().map(|&o| layout(o, &env, 0, 8)).collect();
    assert!(apart.windows(2).all(|w| w[0] == w[1]));
}

/// Natively chiwawa is the host, and writes overlapping lists in wasmtime's order; the extents
/// are still checked before anything is written.
#[test]
fn overlapping_args_and_environ_natively() {
    let mut g = Guest::new(&["probe.wasm", "one", "two"]);
    g.ctx.borrow_mut().native.set_env(&["A=1", "B=two words"]);
    let env = StringList::new([&b"A=1"[..], b"B=two words"].into_iter()).unwrap();
    let args = StringList::new([&b"probe.wasm"[..], b"one", b"two"].into_iter()).unwrap();
    for (name, list) in [("args_get", &args), ("environ_get", &env)] {
        for (ptrs, buf) in [(0u32, 0u32), (4, 0), (8, 2), (0, 4)] {
            g.put(0xf00, &[0xee; 32]);
            let (p, b) = (0xf00 + ptrs, 0xf00 + buf);
            assert_eq!(g.errno(name, &[u64::from(p), u64::from(b)]), 0);
            let mut want = vec![0xee; 32];
            lay_out(
                ListOrder::PtrThenStr,
                list,
                &mut want,
                ptrs as usize,
                buf as usize,
                b,
            );
            assert_eq!(g.get(0xf00, 32), want, "{name} at {ptrs}/{buf}");
        }
        // Overlapping and running off the end of memory: a trap, nothing written.
        g.put(PAGE - 8, &[0xee; 8]);
        assert_eq!(
            g.trap(name, &[u64::from(PAGE - 8), u64::from(PAGE - 8)]),
            TrapKind::MemoryOutOfBounds
        );
        assert_eq!(g.get(PAGE - 8, 8), [0xee; 8]);
    }
}

/// An event array over the subscriptions: every subscription is read before any event is
/// written, and with a hidden descriptor nothing of the guest's is rewritten after the call (it
/// used to put the subscription's descriptor back over the event).
#[test]
fn poll_oneoff_events_over_the_subscriptions() {
    for hidden in [None, Some(4)] {
        let mut g = Guest::new(&["prog"]);
        if let Some(fd) = hidden {
            g.ctx.borrow_mut().hide_fd(fd);
        }
        for events in [0u32, 8, 16] {
            // fd_read on a bad descriptor, and after it a clock that has expired.
            let mut subs = [0u8; 96];
            subs[..8].copy_from_slice(&0x1111u64.to_le_bytes());
            subs[8] = 1;
            subs[16..20].copy_from_slice(&77u32.to_le_bytes());
            subs[48..56].copy_from_slice(&0x2222u64.to_le_bytes());
            subs[64..68].copy_from_slice(&1u32.to_le_bytes()); // monotonic, timeout 0
            g.put(0, &[0xee; 128]);
            g.put(0, &subs);
            assert_eq!(g.errno("poll_oneoff", &[0, u64::from(events), 2, 124]), 0);
            assert_eq!(g.u32_at(124), 2, "{hidden:?} {events}");
            let mut want = [0xee; 128];
            want[..96].copy_from_slice(&subs);
            for (i, (userdata, error, ty)) in [(0x1111u64, errno::BADF as u16, 1u8), (0x2222, 0, 0)]
                .into_iter()
                .enumerate()
            {
                let at = events as usize + 32 * i;
                want[at..at + 32].fill(0);
                want[at..at + 8].copy_from_slice(&userdata.to_le_bytes());
                want[at + 8..at + 10].copy_from_slice(&error.to_le_bytes());
                want[at + 10] = ty;
            }
            want[124..128].copy_from_slice(&2u32.to_le_bytes());
            assert_eq!(g.get(0, 128), want, "{hidden:?} events at {events}");
        }
    }
}

#[test]
fn poll_oneoff_absolute_monotonic_timeouts_follow_a_restored_clock() {
    let mut g = Guest::new(&["prog"]);
    // The guest's monotonic clock 3 s ahead of the host's, as after a restore.
    let host_now = g.ctx.borrow().monotonic_seen();
    assert_eq!(host_now, 0, "nothing read yet");
    assert_eq!(g.errno("clock_time_get", &[1, 1, 200]), 0);
    let ahead = g.u64_at(200) + 3_000_000_000;
    g.ctx.borrow_mut().continue_monotonic_from(ahead).unwrap();
    assert_eq!(g.errno("clock_time_get", &[1, 1, 200]), 0);
    let now = g.u64_at(200);
    assert!(now >= ahead, "the clock goes on from the snapshot's");
    // Wake at the guest's now + 5 ms, absolute: 5 ms, not 3 s and 5 ms.
    g.put(0, &7u64.to_le_bytes());
    g.put(8, &[0]);
    g.put(16, &1u32.to_le_bytes());
    g.put(24, &(now + 5_000_000).to_le_bytes());
    g.put(40, &1u16.to_le_bytes());
    let start = std::time::Instant::now();
    assert_eq!(g.errno("poll_oneoff", &[0, 64, 1, 128]), 0);
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert_eq!((g.u32_at(128), g.u64_at(64)), (1, 7));
    // The subscription itself is the guest's, unchanged.
    assert_eq!(g.u64_at(24), now + 5_000_000);
}

/// A directory's times can be set through its parent (SQLite does it with its lock directory),
/// and syncing a directory descriptor is EBADF, as wasmtime answers.
#[cfg(not(target_os = "wasi"))]
#[test]
fn a_directory_can_have_its_times_set_but_not_be_synced() {
    let tmp = TempDir::new("dir-times");
    std::fs::create_dir(tmp.0.join("d.lock")).unwrap();
    let mut g = Guest::new(&["prog"]);
    g.ctx.borrow_mut().preopen_dir(&tmp.0, "/").unwrap();
    let (path, len) = g.path(100, "d.lock");
    // atim and mtim (flags 1 | 4) to 1 and 2 seconds after the epoch.
    let (one, two) = (1_000_000_000u64, 2_000_000_000u64);
    assert_eq!(
        g.errno("path_filestat_set_times", &[3, 0, path, len, one, two, 5]),
        0
    );
    let meta = std::fs::metadata(tmp.0.join("d.lock")).unwrap();
    let since = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(since(meta.modified().unwrap()).as_secs(), 2);
    // The preopen itself, and a directory opened under it (O_DIRECTORY).
    assert_eq!(g.errno("fd_sync", &[3]), errno::BADF);
    assert_eq!(
        g.errno(
            "path_open",
            &[3, 0, path, len, 2, 0x0fff_ffff, 0x0fff_ffff, 0, 16]
        ),
        0
    );
    let fd = u64::from(g.u32_at(16));
    assert_eq!(g.errno("fd_sync", &[fd]), errno::BADF);
    assert_eq!(g.errno("fd_datasync", &[fd]), errno::BADF);
}
