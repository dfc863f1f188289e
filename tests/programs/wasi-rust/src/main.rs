//! WASI preview1 conformance program in Rust: exercises args, environ, clocks, random, stdio,
//! files, directories, links, poll and exit through std (and the raw `wasi` 0.11 binding where
//! std has no call), printing only deterministic results: error kinds and raw errnos, sizes, file
//! types and contents, never timestamps, inode numbers or random bytes. Expects to run in an
//! otherwise empty directory preopened as ".", with stdin from a file; exits with status 9.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `ok` or the error's kind and raw OS errno (the WASI errno).
/// The first preopened directory, ".".
const PREOPEN: wasi::Fd = 3;

fn res<T>(r: &io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("{:?} (errno {})", e.kind(), e.raw_os_error().unwrap_or(-1)),
    }
}

fn show<T>(what: &str, r: io::Result<T>) -> Option<T> {
    println!("{what:<36} {}", res(&r));
    r.ok()
}

fn errno(what: &str, r: Result<(), wasi::Errno>) {
    let text = match r {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("{} (errno {})", e.name(), e.raw()),
    };
    println!("{what:<36} {text}");
}

fn kind(t: fs::FileType) -> &'static str {
    if t.is_symlink() {
        "symlink"
    } else if t.is_dir() {
        "dir"
    } else if t.is_file() {
        "file"
    } else {
        "other"
    }
}

fn list(dir: &str) {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .map(|e| {
                    let e = e.expect("dir entry");
                    let t = e.file_type().map(kind).unwrap_or("?");
                    format!("{}({t})", e.file_name().to_string_lossy())
                })
                .collect();
            names.sort();
            println!("{:<36} {}", format!("read_dir {dir}"), names.join(" "));
        }
        Err(e) => println!("{:<36} {}", format!("read_dir {dir}"), res::<()>(&Err(e))),
    }
}

fn main() {
    println!("== args and environ");
    for (i, a) in std::env::args().enumerate() {
        println!("argv[{i}]={a}");
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    println!("env count {}", vars.len());
    for (k, v) in &vars {
        println!("env {k}={v}");
    }
    println!(
        "var CHIWAWA_MISSING = {:?}",
        std::env::var("CHIWAWA_MISSING").ok()
    );

    println!("== clocks, random, poll, yield");
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    println!(
        "realtime after 2020: {}",
        since_epoch.as_secs() > 1_577_836_800
    );
    // poll_oneoff with a clock subscription. node's timers count whole milliseconds from a
    // cached loop time, so a 2 ms sleep there measured 1.x ms now and then (one CI run): sleep
    // 20 ms and ask for 15, which any host's timer granularity gives.
    let t1 = Instant::now();
    std::thread::sleep(Duration::from_millis(20));
    println!(
        "monotonic advanced by 15ms over sleep(20ms): {}",
        t1.elapsed() >= Duration::from_millis(15)
    );
    for (name, id) in [
        ("realtime", wasi::CLOCKID_REALTIME),
        ("monotonic", wasi::CLOCKID_MONOTONIC),
    ] {
        let r = unsafe { wasi::clock_res_get(id) };
        println!(
            "clock_res_get {name:<22} {}",
            r.map(|r| r > 0)
                .map_or_else(|e| e.name().to_string(), |p| format!("positive {p}"))
        );
    }
    let mut buf = [0u8; 100];
    errno("random_get 100", unsafe {
        wasi::random_get(buf.as_mut_ptr(), buf.len())
    });
    let sub = wasi::Subscription {
        userdata: 42,
        u: wasi::SubscriptionU {
            tag: wasi::EVENTTYPE_CLOCK.raw(),
            u: wasi::SubscriptionUU {
                clock: wasi::SubscriptionClock {
                    id: wasi::CLOCKID_MONOTONIC,
                    timeout: 500_000,
                    precision: 0,
                    flags: 0,
                },
            },
        },
    };
    let mut event = std::mem::MaybeUninit::<wasi::Event>::zeroed();
    let n = unsafe { wasi::poll_oneoff(&sub, event.as_mut_ptr(), 1) };
    let event = unsafe { event.assume_init() };
    println!(
        "poll_oneoff clock 0.5ms               {:?} userdata={} type={} error={}",
        n.map_err(|e| e.name()),
        event.userdata,
        event.type_.raw(),
        event.error.raw()
    );
    errno("sched_yield", unsafe { wasi::sched_yield() });

    println!("== stdio");
    let mut input = String::new();
    show("read stdin", io::stdin().read_to_string(&mut input));
    println!("stdin: {:?}", input);
    io::stdout().flush().unwrap();
    eprintln!("to stderr: {} lines of stdin", input.lines().count());

    println!("== files");
    let mut f = show("create data.bin", File::create("data.bin")).unwrap();
    show("write", f.write_all(b"The quick brown fox\n"));
    show("set_len 32 (grow)", f.set_len(32));
    println!("stream_position {:?}", f.stream_position().ok()); // fd_tell
    println!("seek end -4 {:?}", f.seek(SeekFrom::End(-4)).ok());
    show("write at end", f.write_all(b"END\n"));
    let fd = f.as_raw_fd() as wasi::Fd;
    errno("fd_advise willneed", unsafe {
        wasi::fd_advise(fd, 0, 16, wasi::ADVICE_WILLNEED)
    });
    errno("fd_allocate 0..4096", unsafe {
        wasi::fd_allocate(fd, 0, 4096)
    });
    errno("fd_datasync", unsafe { wasi::fd_datasync(fd) });
    show("sync_all", f.sync_all());
    let meta = show("metadata", f.metadata()).unwrap();
    println!(
        "  len={} type={} readonly={}",
        meta.len(),
        kind(meta.file_type()),
        meta.permissions().readonly()
    );
    match unsafe { wasi::fd_fdstat_get(fd) } {
        Ok(s) => println!(
            "fd_fdstat_get                        type={} flags={}",
            s.fs_filetype.raw(),
            s.fs_flags
        ),
        Err(e) => println!("fd_fdstat_get                        {}", e.name()),
    }
    drop(f);
    let mut f = show(
        "open read+write",
        OpenOptions::new().read(true).write(true).open("data.bin"),
    )
    .unwrap();
    let mut head = [0u8; 9];
    show("read_exact 9", f.read_exact(&mut head));
    println!("head {:?}", String::from_utf8_lossy(&head));
    println!("seek cur +1 {:?}", f.seek(SeekFrom::Current(1)).ok());
    let mut word = [0u8; 5];
    show("read_exact 5", f.read_exact(&mut word));
    println!("word {:?}", String::from_utf8_lossy(&word));
    println!(
        "seek before start: {}",
        res(&f.seek(SeekFrom::Current(-100)))
    );
    drop(f);
    let mut appender = show(
        "open append",
        OpenOptions::new().append(true).open("data.bin"),
    )
    .unwrap();
    show("append", appender.write_all(b"appended\n"));
    drop(appender);
    let bytes = fs::read("data.bin").unwrap();
    println!(
        "data.bin {} bytes: {:?}",
        bytes.len(),
        String::from_utf8_lossy(&bytes)
    );

    println!("== directories and links");
    show("create_dir d", fs::create_dir("d"));
    show("create_dir d again", fs::create_dir("d"));
    show("create_dir_all d/e/f", fs::create_dir_all("d/e/f"));
    show("write d/e/f/x.txt", fs::write("d/e/f/x.txt", "x\n"));
    show(
        "rename x.txt -> y.txt",
        fs::rename("d/e/f/x.txt", "d/e/y.txt"),
    );
    show(
        "hard_link y.txt -> h.txt",
        fs::hard_link("d/e/y.txt", "d/h.txt"),
    );
    errno("path_symlink y.txt <- d/e/s", unsafe {
        wasi::path_symlink("y.txt", PREOPEN, "d/e/s")
    });
    println!("read_link d/e/s {:?}", fs::read_link("d/e/s").ok());
    println!("read_link of a file: {}", res(&fs::read_link("d/h.txt")));
    let m = show("symlink_metadata d/e/s", fs::symlink_metadata("d/e/s")).unwrap();
    println!("  type={} len={}", kind(m.file_type()), m.len());
    let m = show("metadata d/e/s (follow)", fs::metadata("d/e/s")).unwrap();
    println!("  type={} len={}", kind(m.file_type()), m.len());
    println!("read through link {:?}", fs::read_to_string("d/e/s").ok());
    list("d");
    list("d/e");
    show("remove_dir non-empty d/e", fs::remove_dir("d/e"));
    show("remove_file symlink d/e/s", fs::remove_file("d/e/s"));
    show("remove_dir d/e/f", fs::remove_dir("d/e/f"));
    show("remove_file dir d/e", fs::remove_file("d/e"));
    show(
        "rename d/e/y.txt -> keep.txt",
        fs::rename("d/e/y.txt", "keep.txt"),
    );
    show("remove_dir d/e", fs::remove_dir("d/e"));
    list(".");

    println!("== errors");
    println!("open missing: {}", res(&File::open("missing.txt")));
    println!("metadata missing: {}", res(&fs::metadata("no/such/dir")));
    println!("open outside: {}", res(&File::open("../outside.txt")));
    println!("open absolute: {}", res(&File::open("/etc/passwd")));
    println!("read_dir missing: {}", res(&fs::read_dir("nope").map(drop)));
    println!("remove missing: {}", res(&fs::remove_file("missing.txt")));
    println!(
        "create in missing dir: {}",
        res(&File::create("no/such/file"))
    );
    println!(
        "open dir as file for writing: {}",
        res(&OpenOptions::new().write(true).open("d"))
    );
    let mut bad = [0u8; 4];
    let iov = [wasi::Iovec {
        buf: bad.as_mut_ptr(),
        buf_len: bad.len(),
    }];
    println!(
        "fd_read bad fd: {:?}",
        unsafe { wasi::fd_read(99, &iov) }.map_err(|e| e.name())
    );
    println!(
        "fd_close bad fd: {:?}",
        unsafe { wasi::fd_close(99) }.map_err(|e| e.name())
    );
    println!(
        "fd_tell bad fd: {:?}",
        unsafe { wasi::fd_tell(99) }.map_err(|e| e.name())
    );

    println!("== exit");
    io::stdout().flush().unwrap();
    eprintln!("exiting with status 9");
    std::process::exit(9);
}
