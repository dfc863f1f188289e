//! End-to-end tests of the image cache, with real processes: `chiwawa-translate --cache-dir`,
//! `chiwawa-rt --cache`, `chiwawa-cache`, and (when `make test` provides `WASMTIME` and
//! `CHIWAWA_DIST`) `chiwawa-translate.wasm` and `chiwawa-rt.wasm` inside wasmtime.
//!
//! The binaries are found as in tests/tests/cli.rs: the translator from `$CHIWAWA_DIST` if set
//! (so `make dist` must have run), else a dev build; the runtime from a dev build.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

// ---------------------------------------------------------------------------------------------
// Finding and running the binaries

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cache/ is inside the workspace")
}

fn dist() -> Option<PathBuf> {
    std::env::var_os("CHIWAWA_DIST")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

fn translator() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| match dist() {
        Some(dir) => {
            let bin = dir.join("chiwawa-translate");
            match bin.is_file() {
                true => Ok(bin),
                false => Err(format!(
                    "CHIWAWA_DIST is set but {} is missing",
                    bin.display()
                )),
            }
        }
        None => cargo_build("chiwawa-translator", "chiwawa-translate"),
    });
    bin.as_deref().unwrap_or_else(|e| panic!("{e}"))
}

fn runtime() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| cargo_build("chiwawa-runtime", "chiwawa-rt"));
    bin.as_deref().unwrap_or_else(|e| panic!("{e}"))
}

fn cache_tool() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chiwawa-cache"))
}

/// Builds one binary of the workspace and returns the path cargo reports.
fn cargo_build(package: &str, bin: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "-p",
            package,
            "--bin",
            bin,
            "--message-format=json-render-diagnostics",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p {package} --bin {bin} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
        .filter_map(|line| json_string_field(line, "executable"))
        .map(PathBuf::from)
        .find(|path| path.file_stem() == Some(OsStr::new(bin)))
        .ok_or_else(|| format!("cargo build did not report the executable {bin}"))
}

fn json_string_field(line: &str, field: &str) -> Option<String> {
    let start = line.find(&format!(r#""{field}":""#))? + field.len() + 4;
    let mut value = String::new();
    let mut chars = line[start..].chars();
    loop {
        match chars.next()? {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
}

#[derive(Debug)]
struct Output {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run_in<S: AsRef<OsStr>>(dir: &Path, program: &Path, args: &[S]) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_remove("CHIWAWA_CACHE_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    Output {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn assert_success(out: &Output) {
    assert_eq!(out.status, Some(0), "{out:?}");
}

/// Status 1 and exactly one stderr line starting with `prefix`; returns that line.
#[track_caller]
fn assert_one_error(out: &Output, prefix: &str) -> String {
    assert_eq!(out.status, Some(1), "exit status; {out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one stderr line; {out:?}");
    let line = out.stderr.trim_end().to_string();
    assert!(line.starts_with(prefix), "expected {prefix:?}...; {out:?}");
    assert!(!line.contains("panicked"), "{out:?}");
    line
}

// ---------------------------------------------------------------------------------------------
// Scratch directories and inputs

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cache-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch directory");
        // Canonical, because wasmtime's `--dir` maps the host path to the same guest path.
        TempDir(dir.canonicalize().expect("canonical scratch directory"))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).expect("write test input");
        path
    }

    /// A new, empty directory inside this one.
    fn mkdir(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::create_dir(&path).expect("create directory");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lex wat");
    let mut module = wast::parser::parse::<wast::Wat>(&buf).expect("parse wat");
    module.encode().expect("encode wat")
}

/// A module exporting `fib` and `id` (which returns `tag`), so that different tags give
/// different modules of about the same size. `extra` more functions make translation take long
/// enough for concurrent translators to overlap.
fn module(tag: i32, extra: usize) -> Vec<u8> {
    let mut text = format!(
        r#"(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "id") (result i32) (i32.const {tag}))"#
    );
    for i in 0..extra {
        text.push_str(&format!(
            "\n  (func (param i32 i32) (result i32) (local i64)
    (local.set 2 (i64.extend_i32_u (i32.add (local.get 0) (i32.const {i}))))
    (if (result i32) (i32.gt_s (local.get 0) (local.get 1))
      (then (i32.wrap_i64 (i64.mul (local.get 2) (i64.const 3))))
      (else (i32.xor (local.get 1) (i32.const {i})))))"
        ));
    }
    text.push(')');
    wat(&text)
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("read directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn cache_cmd(cache: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&OsStr> = vec!["--dir".as_ref(), cache.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    run_in(Path::new(env!("CARGO_TARGET_TMPDIR")), cache_tool(), &all)
}

/// The key `chiwawa-cache key` gives `wasm`.
fn key_of(cache: &Path, wasm: &Path) -> String {
    let out = cache_cmd(cache, &["key", wasm.to_str().unwrap()]);
    assert_success(&out);
    let key = out.stdout.trim().to_string();
    assert_eq!(key.len(), 32, "{out:?}");
    key
}

/// The path `chiwawa-cache path` gives the entry `key`.
fn entry_path(cache: &Path, key: &str) -> PathBuf {
    let out = cache_cmd(cache, &["path", key]);
    assert_success(&out);
    PathBuf::from(out.stdout.trim())
}

/// `chiwawa-translate [-v] --cache-dir CACHE WASM [-o OUT]`, run in `dir`.
fn translate_cached(dir: &Path, cache: &Path, wasm: &Path, out: Option<&Path>) -> Output {
    let mut args: Vec<&OsStr> = vec![
        "-v".as_ref(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
        wasm.as_os_str(),
    ];
    if let Some(out) = out {
        args.extend(["-o".as_ref(), out.as_os_str()]);
    }
    run_in(dir, translator(), &args)
}

/// An uncached translation of `wasm`.
fn translate_plain(dir: &TempDir, wasm: &Path, name: &str) -> Vec<u8> {
    let out_path = dir.join(name);
    let out = run_in(
        dir.path(),
        translator(),
        &[wasm.as_os_str(), "-o".as_ref(), out_path.as_os_str()],
    );
    assert_success(&out);
    fs::read(out_path).unwrap()
}

/// Flips one bit in the middle of a file.
fn damage(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

fn set_mtime(path: &Path, time: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(time))
        .expect("set mtime");
}

fn stats(cache: &Path) -> (usize, u64) {
    let out = cache_cmd(cache, &["stats"]);
    assert_success(&out);
    let field = |name: &str| -> u64 {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out:?}"))
            .trim()
            .parse()
            .unwrap()
    };
    (field("entries ") as usize, field("bytes "))
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn concurrent_translators_leave_one_valid_entry() {
    let dir = TempDir::new("concurrent");
    let cache = dir.mkdir("cache");
    let wasm = dir.write("big.wasm", &module(7, 400));
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(translator())
                .current_dir(dir.path())
                .arg("--cache-dir")
                .arg(&cache)
                .arg(&wasm)
                .arg("-o")
                .arg(dir.join(&format!("out{i}.cwi")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn translator")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait for translator");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let plain = translate_plain(&dir, &wasm, "plain.cwi");
    for i in 0..8 {
        let image = fs::read(dir.join(&format!("out{i}.cwi"))).unwrap();
        assert!(
            image == plain,
            "output {i} differs from an uncached translation"
        );
    }
    let key = key_of(&cache, &wasm);
    assert_eq!(
        files(&cache),
        [format!("{}/{key}.cwi", &key[..2])],
        "exactly one entry and no temporary file"
    );
    assert!(fs::read(entry_path(&cache, &key)).unwrap() == plain);
    let out = cache_cmd(&cache, &["verify"]);
    assert_success(&out);
    assert_eq!(stats(&cache), (1, plain.len() as u64));
}

#[test]
fn hit_and_miss_are_reported_and_the_hit_is_a_copy() {
    let dir = TempDir::new("hit-miss");
    let cache = dir.mkdir("cache");
    let wasm = dir.write("m.wasm", &module(1, 2));
    let key = key_of(&cache, &wasm);
    let a = dir.join("a.cwi");
    let out = translate_cached(dir.path(), &cache, &wasm, Some(&a));
    assert_success(&out);
    assert!(out.stderr.contains(&format!("cache miss {key}")), "{out:?}");
    let b = dir.join("b.cwi");
    let out = translate_cached(dir.path(), &cache, &wasm, Some(&b));
    assert_success(&out);
    assert!(out.stderr.contains(&format!("cache hit {key}")), "{out:?}");
    assert!(fs::read(&a).unwrap() == fs::read(&b).unwrap());
    // A copy, not a link: writing the output leaves the entry alone.
    fs::write(&b, b"scribble").unwrap();
    assert_success(&cache_cmd(&cache, &["verify"]));
    // Without -o the cache is filled (or hit) and nothing else is written.
    let out = translate_cached(dir.path(), &cache, &wasm, None);
    assert_success(&out);
    assert!(out.stderr.contains(&format!("cache hit {key}")), "{out:?}");

    // ls: key, size, translator version.
    let out = cache_cmd(&cache, &["ls"]);
    assert_success(&out);
    let size = fs::metadata(&a).unwrap().len();
    assert_eq!(
        out.stdout,
        format!("{key} {size} {}\n", env!("CARGO_PKG_VERSION"))
    );
    // The runtime finds and runs it; the guest's argv[0] is the module path given.
    let out = run_in(
        dir.path(),
        runtime(),
        &[
            "--cache",
            cache.to_str().unwrap(),
            "--invoke",
            "fib",
            "m.wasm",
            "20",
        ],
    );
    assert_success(&out);
    assert_eq!(out.stdout, "6765\n");
}

#[test]
fn any_changed_byte_of_the_module_is_another_entry() {
    let dir = TempDir::new("one-byte");
    let cache = dir.mkdir("cache");
    let one = dir.write("one.wasm", &module(1, 0));
    let two = dir.write("two.wasm", &module(2, 0));
    let (k1, k2) = (key_of(&cache, &one), key_of(&cache, &two));
    assert_ne!(k1, k2);
    for wasm in [&one, &two] {
        assert_success(&translate_cached(dir.path(), &cache, wasm, None));
    }
    assert_eq!(stats(&cache).0, 2);
    for (wasm, tag) in [("one.wasm", "1\n"), ("two.wasm", "2\n")] {
        let out = run_in(
            dir.path(),
            runtime(),
            &["--cache", cache.to_str().unwrap(), "--invoke", "id", wasm],
        );
        assert_success(&out);
        assert_eq!(out.stdout, tag);
    }
}

#[test]
fn a_damaged_entry_is_named_rebuilt_and_never_run() {
    let dir = TempDir::new("damaged");
    let cache = dir.mkdir("cache");
    let wasm = dir.write("m.wasm", &module(3, 2));
    let cache_arg = cache.to_str().unwrap();
    assert_success(&translate_cached(dir.path(), &cache, &wasm, None));
    let key = key_of(&cache, &wasm);
    let entry = entry_path(&cache, &key);
    let good = fs::read(&entry).unwrap();

    // verify names it and fails.
    damage(&entry);
    let out = cache_cmd(&cache, &["verify"]);
    assert_eq!(out.status, Some(1), "{out:?}");
    assert!(out.stderr.contains(entry.to_str().unwrap()), "{out:?}");
    assert!(out.stderr.contains("damaged"), "{out:?}");

    // The translator reports it and builds it again.
    let out = translate_cached(dir.path(), &cache, &wasm, Some(&dir.join("a.cwi")));
    assert_success(&out);
    assert!(out.stderr.contains("damaged cache entry"), "{out:?}");
    assert!(out.stderr.contains(&format!("cache miss {key}")), "{out:?}");
    assert!(fs::read(&entry).unwrap() == good, "entry rebuilt");
    assert!(fs::read(dir.join("a.cwi")).unwrap() == good);
    assert_success(&cache_cmd(&cache, &["verify"]));

    // The runtime refuses it, says so, and does not run the guest.
    damage(&entry);
    let out = run_in(
        dir.path(),
        runtime(),
        &["--cache", cache_arg, "--invoke", "fib", "m.wasm", "10"],
    );
    let line = assert_one_error(&out, &format!("chiwawa-rt: error: {}: ", entry.display()));
    assert!(line.contains("damaged"), "{line}");
    assert!(out.stdout.is_empty(), "{out:?}");

    // The entry is gone; the runtime says how to fill the cache, and that command works.
    let out = run_in(
        dir.path(),
        runtime(),
        &["--cache", cache_arg, "--invoke", "fib", "m.wasm", "10"],
    );
    let line = assert_one_error(&out, "chiwawa-rt: error: m.wasm: ");
    let fill = line
        .split_once("fill it with: ")
        .unwrap_or_else(|| panic!("no fill command in {line}"))
        .1;
    let fill: Vec<&str> = fill.split(' ').collect();
    assert_eq!(fill[0], "chiwawa-translate");
    assert_success(&run_in(dir.path(), translator(), &fill[1..]));
    let out = run_in(
        dir.path(),
        runtime(),
        &["--cache", cache_arg, "--invoke", "fib", "m.wasm", "10"],
    );
    assert_success(&out);
    assert_eq!(out.stdout, "55\n");
}

#[test]
fn a_valid_image_of_another_module_under_a_key_is_not_served() {
    let dir = TempDir::new("misfiled");
    let cache = dir.mkdir("cache");
    let one = dir.write("one.wasm", &module(1, 0));
    let two = dir.write("two.wasm", &module(2, 0));
    assert_success(&translate_cached(dir.path(), &cache, &one, None));
    assert_success(&translate_cached(dir.path(), &cache, &two, None));
    // Put one's (valid) image where two's belongs.
    let e1 = entry_path(&cache, &key_of(&cache, &one));
    let e2 = entry_path(&cache, &key_of(&cache, &two));
    fs::copy(&e1, &e2).unwrap();
    // The translator takes it for damage, and rebuilds it.
    let out = translate_cached(dir.path(), &cache, &two, Some(&dir.join("two.cwi")));
    assert_success(&out);
    assert!(out.stderr.contains("different module"), "{out:?}");
    assert!(fs::read(dir.join("two.cwi")).unwrap() == translate_plain(&dir, &two, "p.cwi"));
    // The runtime refuses it.
    fs::copy(&e1, &e2).unwrap();
    let out = run_in(
        dir.path(),
        runtime(),
        &[
            "--cache",
            cache.to_str().unwrap(),
            "--invoke",
            "id",
            "two.wasm",
        ],
    );
    let line = assert_one_error(&out, "chiwawa-rt: error: ");
    assert!(line.contains("different module"), "{line}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_or_unusable_cache_directory_is_a_clear_error() {
    let dir = TempDir::new("no-cache");
    let wasm = dir.write("m.wasm", &module(4, 0));
    let plain = translate_plain(&dir, &wasm, "plain.cwi");
    let missing = dir.join("missing");
    let not_a_dir = dir.write("file", b"x");
    for cache in [&missing, &not_a_dir] {
        let out_path = dir.join("out.cwi");
        let args = [
            "--cache-dir".as_ref(),
            cache.as_os_str(),
            wasm.as_os_str(),
            "-o".as_ref(),
            out_path.as_os_str(),
        ];
        let out = run_in(dir.path(), translator(), &args);
        let line = assert_one_error(
            &out,
            &format!("chiwawa-translate: error: {}: ", cache.display()),
        );
        assert!(line.contains("--no-cache-on-error"), "{line}");
        assert!(!out_path.exists(), "no output on error");
        // Asked for, translation goes on without the cache, with a warning.
        let mut fallback = vec!["--no-cache-on-error".as_ref()];
        fallback.extend(args);
        let out = run_in(dir.path(), translator(), &fallback);
        assert_eq!(out.status, Some(0), "{out:?}");
        assert!(
            out.stderr.starts_with("chiwawa-translate: warning: "),
            "{out:?}"
        );
        assert!(fs::read(&out_path).unwrap() == plain);
        fs::remove_file(&out_path).unwrap();
        // The runtime names the directory too.
        let out = run_in(
            dir.path(),
            runtime(),
            &["--cache".as_ref(), cache.as_os_str(), wasm.as_os_str()],
        );
        assert_one_error(&out, &format!("chiwawa-rt: error: {}: ", cache.display()));
    }
    assert!(!missing.exists(), "the cache directory is not created");

    // Unwritable: a read-only directory, or for root (who may write anyway) Linux's /proc/self.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.mkdir("ro");
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        let unwritable = match fs::write(ro.join("probe"), b"") {
            Err(_) => Some(ro.clone()),
            Ok(()) if Path::new("/proc/self").is_dir() => Some(PathBuf::from("/proc/self")),
            Ok(()) => None,
        };
        match unwritable {
            Some(ro) => {
                let out_path = dir.join("o.cwi");
                let out = translate_cached(dir.path(), &ro, &wasm, Some(&out_path));
                let line = assert_one_error(
                    &out,
                    &format!("chiwawa-translate: error: {}: ", ro.display()),
                );
                assert!(line.contains("not writable"), "{line}");
                assert!(!out_path.exists());
                let args = [
                    "--no-cache-on-error".as_ref(),
                    "--cache-dir".as_ref(),
                    ro.as_os_str(),
                    wasm.as_os_str(),
                    "-o".as_ref(),
                    out_path.as_os_str(),
                ];
                let out = run_in(dir.path(), translator(), &args);
                assert_eq!(out.status, Some(0), "{out:?}");
                assert!(fs::read(&out_path).unwrap() == plain);
            }
            None => eprintln!("note: no unwritable directory to test with"),
        }
        fs::set_permissions(dir.join("ro"), fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn gc_removes_least_recently_used_first_and_keeps_under_the_bound() {
    let dir = TempDir::new("gc");
    let cache = dir.mkdir("cache");
    let now = SystemTime::now();
    let ago = |s: u64| now - Duration::from_secs(s);
    // Entries 0..4 last used 400, 100, 300 and 200 seconds ago.
    let ages = [400, 100, 300, 200];
    let mut entries = Vec::new();
    for (i, age) in ages.iter().enumerate() {
        let wasm = dir.write(&format!("m{i}.wasm"), &module(i as i32, 3));
        assert_success(&translate_cached(dir.path(), &cache, &wasm, None));
        let path = entry_path(&cache, &key_of(&cache, &wasm));
        set_mtime(&path, ago(*age));
        let size = fs::metadata(&path).unwrap().len();
        entries.push((wasm, path, size));
    }
    let total: u64 = entries.iter().map(|e| e.2).sum();
    assert_eq!(stats(&cache), (4, total));
    let present = || entries.iter().map(|e| e.1.exists()).collect::<Vec<_>>();

    // One byte over: only the oldest goes.
    let out = cache_cmd(&cache, &["gc", "--max-size", &(total - 1).to_string()]);
    assert_success(&out);
    assert_eq!(present(), [false, true, true, true], "{out:?}");

    // Room for two: the next oldest (300 s) goes.
    let bound = entries[1].2 + entries[3].2;
    assert_success(&cache_cmd(
        &cache,
        &["gc", "--max-size", &bound.to_string()],
    ));
    assert_eq!(present(), [false, true, false, true]);
    assert!(stats(&cache).1 <= bound);

    // A hit makes entry 3 the most recently used, so entry 1 goes next.
    let out = translate_cached(dir.path(), &cache, &entries[3].0, None);
    assert!(out.stderr.contains("cache hit"), "{out:?}");
    let bound = entries[3].2;
    assert_success(&cache_cmd(
        &cache,
        &["gc", "--max-size", &bound.to_string()],
    ));
    assert_eq!(present(), [false, false, false, true]);

    // Suffixes; a bound above the total removes nothing; 0 empties the cache.
    assert_success(&cache_cmd(&cache, &["gc", "--max-size", "1G"]));
    assert_eq!(stats(&cache).0, 1);
    assert_success(&cache_cmd(&cache, &["gc", "--max-size", "0"]));
    assert_eq!(stats(&cache), (0, 0));
    let out = cache_cmd(&cache, &["gc", "--max-size", "lots"]);
    assert_eq!(out.status, Some(2), "{out:?}");
}

#[test]
fn cache_command_errors() {
    let dir = TempDir::new("cmd");
    let cache = dir.mkdir("cache");
    // No directory given.
    let out = run_in(dir.path(), cache_tool(), &["stats"]);
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(out.stderr.contains("CHIWAWA_CACHE_DIR"), "{out:?}");
    // The environment variable.
    let out = Command::new(cache_tool())
        .arg("stats")
        .env("CHIWAWA_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "entries 0\nbytes 0\n");
    // Not a key, and no such entry.
    let out = cache_cmd(&cache, &["path", "xyz"]);
    assert_one_error(
        &out,
        &format!("chiwawa-cache: error: {}: ", cache.display()),
    );
    let out = cache_cmd(&cache, &["path", &"0".repeat(32)]);
    let line = assert_one_error(&out, "chiwawa-cache: error: ");
    assert!(line.contains("no entry"), "{line}");
    // A missing directory.
    let out = cache_cmd(&dir.join("missing"), &["ls"]);
    assert_one_error(&out, "chiwawa-cache: error: ");
    // Foreign files in the directory are not entries, and verify of an empty cache passes.
    dir.write("cache/README", b"hello");
    fs::create_dir(cache.join("zz")).unwrap();
    assert_eq!(stats(&cache), (0, 0));
    assert_success(&cache_cmd(&cache, &["verify"]));
}

// ---------------------------------------------------------------------------------------------
// The wasm builds inside wasmtime

fn wasmtime_and_dist(test: &str) -> Option<(PathBuf, PathBuf)> {
    let wasmtime = std::env::var_os("WASMTIME")
        .filter(|w| !w.is_empty())
        .map(PathBuf::from);
    match (wasmtime, dist()) {
        (Some(wasmtime), Some(dist)) => Some((wasmtime, dist)),
        _ => {
            // Under `make test` a missing artifact is a failure, never a silent pass.
            assert!(
                std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
                "{test}: WASMTIME or CHIWAWA_DIST (with chiwawa-rt.wasm) is missing"
            );
            eprintln!("note: {test} skipped: set WASMTIME and CHIWAWA_DIST (make test does)");
            None
        }
    }
}

#[test]
fn wasm_translator_and_runtime_use_the_cache() {
    let Some((wasmtime, dist)) = wasmtime_and_dist("wasm_translator_and_runtime_use_the_cache")
    else {
        return;
    };
    let dir = TempDir::new("wasm");
    dir.mkdir("cache");
    let wasm = dir.write("m.wasm", &module(5, 2));
    let key = key_of(&dir.join("cache"), &wasm);
    let tr = dist.join("chiwawa-translate.wasm");
    let run_tr = |out: &str| {
        run_in(
            dir.path(),
            &wasmtime,
            &[
                "run",
                "--dir",
                ".",
                tr.to_str().unwrap(),
                "-v",
                "--cache-dir",
                "cache",
                "m.wasm",
                "-o",
                out,
            ],
        )
    };
    let out = run_tr("a.cwi");
    assert_success(&out);
    assert!(out.stderr.contains(&format!("cache miss {key}")), "{out:?}");
    let out = run_tr("b.cwi");
    assert_success(&out);
    assert!(out.stderr.contains(&format!("cache hit {key}")), "{out:?}");
    let plain = translate_plain(&dir, &wasm, "plain.cwi");
    assert!(fs::read(dir.join("a.cwi")).unwrap() == plain);
    assert!(fs::read(dir.join("b.cwi")).unwrap() == plain);
    assert_eq!(
        files(&dir.join("cache")),
        [format!("{}/{key}.cwi", &key[..2])]
    );
    assert_success(&cache_cmd(&dir.join("cache"), &["verify"]));
    // The native translator hits the entry the wasm one wrote.
    let out = translate_cached(dir.path(), &dir.join("cache"), &wasm, None);
    assert!(out.stderr.contains(&format!("cache hit {key}")), "{out:?}");

    // chiwawa-rt.wasm computes the same key inside wasmtime and runs the entry.
    let rt = dist.join("chiwawa-rt.wasm");
    let run_rt = || {
        run_in(
            dir.path(),
            &wasmtime,
            &[
                "run",
                "--dir",
                ".",
                rt.to_str().unwrap(),
                "--cache",
                "cache",
                "--invoke",
                "fib",
                "m.wasm",
                "20",
            ],
        )
    };
    let out = run_rt();
    assert_success(&out);
    assert_eq!(out.stdout, "6765\n");
    damage(&entry_path(&dir.join("cache"), &key));
    let out = run_rt();
    let line = assert_one_error(&out, "chiwawa-rt: error: ");
    assert!(line.contains("damaged"), "{line}");
    assert!(out.stdout.is_empty());
}
