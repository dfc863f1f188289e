//! End-to-end tests of the two command-line tools, run as real processes: `chiwawa-translate`
//! and `chiwawa-rt` natively, and (when `make test` provides `WASMTIME` and `CHIWAWA_DIST`)
//! `chiwawa-translate.wasm` and `chiwawa-rt.wasm` inside wasmtime.
//!
//! Every error path must end in exit status 1 and exactly one stderr line that names the file,
//! and the translator must leave neither an output nor a temporary file behind.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use chiwawa_format::{
    extern_kind, features, header_at, write_image, Export, Func, FuncType, Module, Op,
};

// ---------------------------------------------------------------------------------------------
// Finding and running the binaries

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// `$CHIWAWA_DIST` (what `make dist` filled), if set.
fn dist() -> Option<PathBuf> {
    std::env::var_os("CHIWAWA_DIST")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// The native translator: `$CHIWAWA_DIST/chiwawa-translate`, else a dev build of this workspace.
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

/// The native runtime (dist/ holds only its wasm build): a dev build of this workspace.
fn runtime() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| cargo_build("chiwawa-runtime", "chiwawa-rt"));
    bin.as_deref().unwrap_or_else(|e| panic!("{e}"))
}

/// Builds one binary of the workspace (once per test process) and returns the path cargo reports,
/// so the target directory is found however it is configured.
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

/// The string value of `"field":"..."` in one line of cargo's JSON output.
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

/// What a finished process did.
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
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    Output {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn translate_in<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Output {
    run_in(dir, translator(), args)
}

fn rt_in<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Output {
    run_in(dir, runtime(), args)
}

/// Asserts a clean failure: status 1 and exactly one stderr line starting with `prefix`
/// (which names the file); returns that line.
#[track_caller]
fn assert_one_error(out: &Output, prefix: &str) -> String {
    assert_eq!(out.status, Some(1), "exit status; {out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one stderr line; {out:?}");
    assert!(out.stderr.ends_with('\n'), "{out:?}");
    let line = out.stderr.trim_end().to_string();
    assert!(line.starts_with(prefix), "expected {prefix:?}...; {out:?}");
    assert!(
        !line.contains("panicked") && !line.contains("internal error"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    line
}

#[track_caller]
fn assert_success(out: &Output) {
    assert_eq!(out.status, Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Scratch directories and inputs

/// A fresh directory under cargo's scratch space for integration tests, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cli-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch directory");
        // Canonical, because wasmtime's `--dir` maps the host path to the same guest path.
        TempDir(dir.canonicalize().expect("canonical scratch directory"))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).expect("write test input");
        path
    }

    /// The names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read scratch directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A binary module from WebAssembly text (not validated: invalid modules are wanted too).
fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lex wat");
    let mut module = wast::parser::parse::<wast::Wat>(&buf).expect("parse wat");
    module.encode().expect("encode wat")
}

const FIB: &str = r#"(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

/// `len` deterministic pseudo-random bytes (xorshift), never starting with the Wasm magic.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    bytes[0] = 0xff;
    bytes
}

/// An image built by hand: one function `_start` of type [] -> [] with `code` (word form).
fn hand_image(code: Vec<u32>, frame_size: u32) -> Vec<u8> {
    let code = chiwawa_format::encode(&code).expect("hand code encodes");
    let mut module = Module {
        types: vec![FuncType {
            params: vec![],
            results: vec![],
        }],
        func_types: vec![0],
        funcs: vec![Func {
            ty: 0,
            num_locals: 0,
            frame_size,
            consts: vec![],
            code,
            ..Func::default()
        }],
        exports: vec![Export {
            name: "_start".into(),
            kind: extern_kind::FUNC,
            index: 0,
        }],
        ..Module::default()
    };
    write_image(&mut module, 1, features::WASM2, 0, 0).expect("serialize image")
}

/// A well-formed image whose `_start` just returns.
fn good_hand_image() -> Vec<u8> {
    hand_image(vec![Op::Return as u32, 0, 0], 1)
}

/// Translates `text` with the native translator into `dir/name`.
fn translate_wat(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let wasm = dir.write(&format!("{name}.wasm"), &wat(text));
    let image = dir.path().join(format!("{name}.cwi"));
    let out = translate_in(
        dir.path(),
        &[wasm.as_os_str(), "-o".as_ref(), image.as_os_str()],
    );
    assert_success(&out);
    image
}

// ---------------------------------------------------------------------------------------------
// chiwawa-translate: errors

#[test]
fn translate_missing_input() {
    let dir = TempDir::new("missing-input");
    let out = translate_in(dir.path(), &["app.wasm", "-o", "app.cwi"]);
    let line = assert_one_error(&out, "chiwawa-translate: error: app.wasm: cannot read: ");
    assert!(line.contains("No such file or directory"), "{line}");
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn translate_header_then_garbage() {
    let dir = TempDir::new("garbage");
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend(random_bytes(64));
    dir.write("bad.wasm", &bytes);
    let out = translate_in(dir.path(), &["bad.wasm", "-o", "bad.cwi"]);
    assert_one_error(&out, "chiwawa-translate: error: bad.wasm: invalid module: ");
    assert_eq!(dir.names(), ["bad.wasm"]);
}

#[test]
fn translate_random_bytes() {
    let dir = TempDir::new("random");
    dir.write("noise.wasm", &random_bytes(1000));
    let out = translate_in(dir.path(), &["noise.wasm", "--output", "noise.cwi"]);
    assert_one_error(
        &out,
        "chiwawa-translate: error: noise.wasm: invalid module: ",
    );
    assert_eq!(dir.names(), ["noise.wasm"]);
}

#[test]
fn translate_empty_file() {
    let dir = TempDir::new("empty");
    dir.write("empty.wasm", b"");
    let out = translate_in(dir.path(), &["empty.wasm", "-o", "empty.cwi"]);
    assert_one_error(
        &out,
        "chiwawa-translate: error: empty.wasm: invalid module: ",
    );
    assert_eq!(dir.names(), ["empty.wasm"]);
}

#[test]
fn translate_type_error() {
    let dir = TempDir::new("type-error");
    dir.write(
        "typed.wasm",
        &wat("(module (func (result i32) i64.const 1))"),
    );
    let out = translate_in(dir.path(), &["typed.wasm", "-o", "typed.cwi"]);
    let line = assert_one_error(
        &out,
        "chiwawa-translate: error: typed.wasm: invalid module: ",
    );
    assert!(line.contains("type mismatch"), "{line}");
    assert_eq!(dir.names(), ["typed.wasm"]);
}

#[test]
fn translate_into_missing_directory() {
    let dir = TempDir::new("no-dir");
    dir.write("fib.wasm", &wat(FIB));
    let out = translate_in(dir.path(), &["fib.wasm", "-o", "nowhere/fib.cwi"]);
    assert_one_error(
        &out,
        "chiwawa-translate: error: nowhere/fib.cwi: cannot write: ",
    );
    assert_eq!(dir.names(), ["fib.wasm"]);
}

#[test]
fn translate_onto_a_directory() {
    // The temporary file can be written, the rename cannot: the temporary must go too.
    let dir = TempDir::new("onto-dir");
    dir.write("fib.wasm", &wat(FIB));
    fs::create_dir(dir.path().join("fib.cwi")).unwrap();
    fs::write(dir.path().join("fib.cwi/keep"), b"x").unwrap();
    let out = translate_in(dir.path(), &["fib.wasm", "-o", "fib.cwi"]);
    assert_one_error(&out, "chiwawa-translate: error: fib.cwi: cannot write: ");
    assert_eq!(dir.names(), ["fib.cwi", "fib.wasm"]);
    assert_eq!(fs::read(dir.path().join("fib.cwi/keep")).unwrap(), b"x");
}

#[test]
fn translate_failure_leaves_an_existing_output_alone() {
    // The output is replaced atomically or not at all.
    let dir = TempDir::new("keep-old");
    dir.write("bad.wasm", b"\0asm\x01\0\0\0\x01");
    dir.write("bad.cwi", b"previous image");
    let out = translate_in(dir.path(), &["bad.wasm", "-o", "bad.cwi"]);
    assert_one_error(&out, "chiwawa-translate: error: bad.wasm: invalid module: ");
    assert_eq!(dir.names(), ["bad.cwi", "bad.wasm"]);
    assert_eq!(
        fs::read(dir.path().join("bad.cwi")).unwrap(),
        b"previous image"
    );
}

#[test]
fn translate_usage_errors() {
    let dir = TempDir::new("usage");
    dir.write("fib.wasm", &wat(FIB));
    // No -o: clap's usage error (status 2), and nothing written.
    let out = translate_in(dir.path(), &["fib.wasm"]);
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(out.stderr.contains("--output"), "{out:?}");
    assert_eq!(dir.names(), ["fib.wasm"]);

    let out = translate_in(dir.path(), &["--version"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        format!("chiwawa-translate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------------------------
// chiwawa-translate: success (needs the translator library)

#[test]
fn translate_writes_the_image() {
    let dir = TempDir::new("translate");
    dir.write("fib.wasm", &wat(FIB));
    let out = translate_in(dir.path(), &["fib.wasm", "-o", "fib.cwi"]);
    assert_success(&out);
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(dir.names(), ["fib.cwi", "fib.wasm"]);
    let image = fs::read(dir.path().join("fib.cwi")).unwrap();
    assert!(image.starts_with(&chiwawa_format::MAGIC), "not an image");
    chiwawa_format::LoadedImage::from_bytes(&image).expect("the written image loads");

    // Translating again replaces the output with identical bytes.
    let out = translate_in(dir.path(), &["-v", "fib.wasm", "-o", "fib.cwi"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    assert_eq!(
        fs::read(dir.path().join("fib.cwi")).unwrap(),
        image,
        "not deterministic"
    );
    assert_eq!(dir.names(), ["fib.cwi", "fib.wasm"]);

    // -v: one line on stderr with both sizes.
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let wasm_len = fs::metadata(dir.path().join("fib.wasm")).unwrap().len();
    assert!(out.stderr.contains(&format!("{wasm_len} bytes")), "{out:?}");
    assert!(
        out.stderr.contains(&format!("{} bytes", image.len())),
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// chiwawa-rt: errors before the guest runs

#[test]
fn rt_missing_image() {
    let dir = TempDir::new("rt-missing");
    let out = rt_in(dir.path(), &["app.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: app.cwi: cannot read: ");
    assert!(line.contains("No such file or directory"), "{line}");
}

#[test]
fn rt_not_an_image() {
    let dir = TempDir::new("rt-magic");
    dir.write("noise.cwi", &random_bytes(200));
    let out = rt_in(dir.path(), &["noise.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: noise.cwi: ");
    assert!(line.contains("not a chiwawa image"), "{line}");
}

#[test]
fn rt_given_a_wasm_module() {
    // The likely mistake: running the module instead of its image. Say how to make the image.
    let dir = TempDir::new("rt-wasm");
    dir.write("fib.wasm", &wat(FIB));
    let out = rt_in(dir.path(), &["fib.wasm"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: fib.wasm: ");
    assert!(line.contains("chiwawa-translate fib.wasm -o"), "{line}");
}

#[test]
fn rt_truncated_image() {
    let dir = TempDir::new("rt-truncated");
    let image = good_hand_image();
    dir.write("short.cwi", &image[..40]);
    let out = rt_in(dir.path(), &["short.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: short.cwi: ");
    assert!(line.contains("truncated"), "{line}");

    dir.write("cut.cwi", &image[..image.len() - 1]);
    let out = rt_in(dir.path(), &["cut.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: cut.cwi: ");
    assert!(line.contains("truncated"), "{line}");
}

#[test]
fn rt_corrupted_image() {
    let dir = TempDir::new("rt-corrupt");
    let mut image = good_hand_image();
    let at = chiwawa_format::HEADER_LEN + (image.len() - chiwawa_format::HEADER_LEN) / 2;
    image[at] ^= 0x10;
    dir.write("flipped.cwi", &image);
    let out = rt_in(dir.path(), &["flipped.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: flipped.cwi: ");
    assert!(line.contains("checksum"), "{line}");

    // The code region ends the image: damage there is found when the function is first
    // entered (before any of it runs), or at load with --verify=eager.
    let mut image = good_hand_image();
    let last = image.len() - 1;
    image[last] ^= 0x10;
    dir.write("code.cwi", &image);
    for args in [&["code.cwi"][..], &["--verify=eager", "code.cwi"]] {
        let out = rt_in(dir.path(), args);
        let line = assert_one_error(&out, "chiwawa-rt: error: code.cwi: ");
        assert!(line.contains("code checksum mismatch"), "{args:?}: {line}");
    }
}

#[test]
fn rt_newer_format_version() {
    let dir = TempDir::new("rt-version");
    let mut image = good_hand_image();
    let future = chiwawa_format::FORMAT_VERSION + 1;
    let at = header_at::FORMAT_VERSION;
    image[at..at + 4].copy_from_slice(&future.to_le_bytes());
    dir.write("future.cwi", &image);
    let out = rt_in(dir.path(), &["future.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: future.cwi: ");
    assert!(line.contains(&format!("format version {future}")), "{line}");
}

#[test]
fn rt_image_of_another_instruction_set() {
    // An image of another build, whose opcodes may mean other instructions: refused by name
    // even though its versions and checksum are right.
    let dir = TempDir::new("rt-isa");
    let mut image = good_hand_image();
    let other = chiwawa_format::ISA_FINGERPRINT.rotate_left(1);
    image[header_at::ISA..header_at::ISA + 8].copy_from_slice(&other.to_le_bytes());
    chiwawa_format::reseal(&mut image).unwrap();
    dir.write("other.cwi", &image);
    let out = rt_in(dir.path(), &["other.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: other.cwi: ");
    assert!(line.contains("another instruction set"), "{line}");
    assert!(line.contains(&format!("{other:016x}")), "{line}");
}

#[test]
fn rt_crafted_image_fails_verification() {
    // A valid checksum cannot stop a crafted image: the verifier must (slot 1000, frame of 1).
    let dir = TempDir::new("rt-crafted");
    let image = hand_image(vec![Op::Copy as u32, 1000, 0, Op::Return as u32, 0, 0], 1);
    dir.write("crafted.cwi", &image);
    let out = rt_in(dir.path(), &["crafted.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: crafted.cwi: ");
    assert!(line.contains("invalid image code"), "{line}");
}

#[test]
fn rt_crafted_image_fails_in_both_verify_modes() {
    // Eager: refused at load. Lazy (the default): refused when the bad function is entered,
    // before any of it runs, with the same one-line error and status.
    let dir = TempDir::new("rt-crafted-modes");
    let image = hand_image(vec![Op::Copy as u32, 1000, 0, Op::Return as u32, 0, 0], 1);
    dir.write("crafted.cwi", &image);
    for mode in ["--verify=eager", "--verify=lazy", "--verify", "lazy"] {
        let args: Vec<&str> = match mode {
            "--verify" => vec!["--verify", "eager", "crafted.cwi"],
            "lazy" => vec!["crafted.cwi"],
            _ => vec![mode, "crafted.cwi"],
        };
        let out = rt_in(dir.path(), &args);
        let line = assert_one_error(&out, "chiwawa-rt: error: crafted.cwi: ");
        assert!(
            line.contains("invalid image code: function 0 (defined 0): unit 0: slot 1000"),
            "{mode}: {line}"
        );
    }
    let out = rt_in(dir.path(), &["--verify=sometimes", "crafted.cwi"]);
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(out.stderr.contains("expected eager or lazy"), "{out:?}");
}

#[test]
fn rt_startup_report_is_one_json_line_before_the_guest_runs() {
    let dir = TempDir::new("rt-startup-report");
    dir.write("app.cwi", &good_hand_image());
    for mode in ["eager", "lazy"] {
        let verify = format!("--verify={mode}");
        let out = rt_in(
            dir.path(),
            &[verify.as_str(), "--startup-report", "app.cwi"],
        );
        assert_eq!(out.status, Some(0), "{out:?}");
        // The start-up line, then (when `_start` is done) the code read by the whole run.
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{out:?}");
        assert_eq!(
            lines[1],
            "chiwawa-rt: code-report {\"code_groups\":1,\"code_groups_checked\":1,\
             \"code_read_bytes\":8,\"code_bytes\":8}"
        );
        let json = lines[0]
            .strip_prefix("chiwawa-rt: startup-report ")
            .unwrap_or_else(|| panic!("{out:?}"));
        assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
        assert!(json.contains(&format!("\"verify\":\"{mode}\"")), "{json}");
        for field in [
            "read_us",
            "check_us",
            "verify_us",
            "instantiate_us",
            "verify_entry_us",
            "total_us",
            "image_bytes",
            "functions\":1",
            // `return s0, 0`: four units.
            "code_bytes\":8",
            // In one group, read before the first instruction (the entry function's).
            "code_groups\":1,\"code_groups_checked\":1,\"code_read_bytes\":8",
        ] {
            assert!(json.contains(field), "{field} in {json}");
        }
    }
    // Without the flag, nothing is printed.
    assert_success(&rt_in(dir.path(), &["app.cwi"]));
}

#[test]
fn rt_usage_errors() {
    let dir = TempDir::new("rt-usage");
    let out = rt_in::<&str>(dir.path(), &[]);
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(out.stderr.contains("usage: chiwawa-rt"), "{out:?}");

    let out = rt_in(dir.path(), &["--bogus", "app.cwi"]);
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(out.stderr.contains("unknown option --bogus"), "{out:?}");

    let out = rt_in(dir.path(), &["--invoke"]);
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(out.stderr.contains("--invoke needs a value"), "{out:?}");

    let out = rt_in(dir.path(), &["--version"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        format!("chiwawa-rt {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn rt_dir_that_does_not_exist() {
    let dir = TempDir::new("rt-bad-dir");
    dir.write("app.cwi", &good_hand_image());
    let out = rt_in(dir.path(), &["--dir", "nowhere::/data", "app.cwi"]);
    assert_one_error(&out, "chiwawa-rt: error: nowhere: cannot open directory: ");
}

// ---------------------------------------------------------------------------------------------
// chiwawa-rt: running guests (needs the interpreter and WASI)

#[test]
fn rt_runs_a_hand_built_image() {
    let dir = TempDir::new("rt-hand");
    dir.write("app.cwi", &good_hand_image());
    let out = rt_in(dir.path(), &["app.cwi"]);
    assert_success(&out);
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn rt_invoke_fib() {
    let dir = TempDir::new("rt-fib");
    translate_wat(&dir, "fib", FIB);
    let out = rt_in(dir.path(), &["--invoke", "fib", "fib.cwi", "20"]);
    assert_success(&out);
    assert_eq!(out.stdout, "6765\n");
}

#[test]
fn rt_invoke_prints_values_like_wasmtime() {
    let dir = TempDir::new("rt-values");
    translate_wat(
        &dir,
        "values",
        r#"(module
          (func (export "id") (param i32) (result i32) local.get 0)
          (func (export "swap") (param i64 f64) (result f64 i64) local.get 1 local.get 0)
          (func (export "half") (param f32) (result f32) local.get 0 f32.const 0.5 f32.mul)
          (func (export "nothing")))"#,
    );
    let cases: &[(&[&str], &str)] = &[
        (&["--invoke", "id", "values.cwi", "-5"], "-5\n"),
        (
            &["--invoke", "id", "values.cwi", "2147483647"],
            "2147483647\n",
        ),
        (
            &["--invoke=swap", "values.cwi", "-7", "3.1415916535897743"],
            "3.1415916535897743\n-7\n",
        ),
        (&["--invoke", "half", "values.cwi", "3"], "1.5\n"),
        (&["--invoke", "nothing", "values.cwi"], ""),
    ];
    for (args, expected) in cases {
        let out = rt_in(dir.path(), args);
        assert_success(&out);
        assert_eq!(out.stdout, *expected, "{args:?}");
    }
}

#[test]
fn rt_invoke_errors() {
    let dir = TempDir::new("rt-invoke-errors");
    translate_wat(&dir, "fib", FIB);
    let out = rt_in(dir.path(), &["--invoke", "nope", "fib.cwi"]);
    assert_one_error(
        &out,
        "chiwawa-rt: error: fib.cwi: no exported function named nope",
    );
    for args in [
        &["fib.cwi"][..],
        &["fib.cwi", "1", "2"],
        &["fib.cwi", "ten"],
        &["fib.cwi", "0xff"],
    ] {
        let mut argv = vec!["--invoke", "fib"];
        argv.extend(args);
        let out = rt_in(dir.path(), &argv);
        let line = assert_one_error(&out, "chiwawa-rt: error: fib.cwi: ");
        assert!(line.contains("fib") && line.contains("i32"), "{line}");
    }
}

#[test]
fn rt_trap_exits_134() {
    let dir = TempDir::new("rt-trap");
    translate_wat(
        &dir,
        "boom",
        r#"(module
          (func $boom (export "boom") unreachable)
          (func (export "_start") call $boom))"#,
    );
    for args in [&["--invoke", "boom", "boom.cwi"][..], &["boom.cwi"]] {
        let out = rt_in(dir.path(), args);
        assert_eq!(out.status, Some(134), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(
            out.stderr.starts_with("error: trap: unreachable in "),
            "{out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
    }
}

#[test]
fn rt_start_function_trap_exits_134() {
    let dir = TempDir::new("rt-start-trap");
    translate_wat(&dir, "start", "(module (func $s unreachable) (start $s))");
    let out = rt_in(dir.path(), &["start.cwi"]);
    assert_eq!(out.status, Some(134), "{out:?}");
    assert!(out.stderr.contains("unreachable"), "{out:?}");
}

#[test]
fn rt_proc_exit_status() {
    let dir = TempDir::new("rt-exit");
    translate_wat(
        &dir,
        "exit",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start") (call $exit (i32.const 7)) unreachable))"#,
    );
    let out = rt_in(dir.path(), &["exit.cwi"]);
    assert_eq!(out.status, Some(7), "{out:?}");
    assert!(out.stderr.is_empty() && out.stdout.is_empty(), "{out:?}");
}

#[test]
fn rt_passes_arguments_after_the_image_to_the_guest() {
    // The guest exits with its argc; options after the image are the guest's, not the runtime's.
    let dir = TempDir::new("rt-args");
    translate_wat(
        &dir,
        "argc",
        r#"(module
          (import "wasi_snapshot_preview1" "args_sizes_get"
            (func $sizes (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (drop (call $sizes (i32.const 0) (i32.const 4)))
            (call $exit (i32.load (i32.const 0)))))"#,
    );
    let out = rt_in(dir.path(), &["argc.cwi"]);
    assert_eq!(out.status, Some(1), "{out:?}");
    let out = rt_in(
        dir.path(),
        &[
            "--argv0", "x", "argc.cwi", "--invoke", "f", "-v", "--", "--dir",
        ],
    );
    assert_eq!(out.status, Some(6), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn rt_missing_import_names_it() {
    let dir = TempDir::new("rt-link");
    translate_wat(
        &dir,
        "link",
        r#"(module (import "env" "nope" (func)) (func (export "_start")))"#,
    );
    let out = rt_in(dir.path(), &["link.cwi"]);
    let line = assert_one_error(&out, "chiwawa-rt: error: link.cwi: ");
    assert!(line.contains("env") && line.contains("nope"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// The wasm builds inside wasmtime (run by `make test`, which sets WASMTIME and CHIWAWA_DIST)

/// `(wasmtime, dist)` when both are given, else a note and `None`.
fn wasmtime_and_dist(test: &str) -> Option<(PathBuf, PathBuf)> {
    let wasmtime = std::env::var_os("WASMTIME")
        .filter(|w| !w.is_empty())
        .map(PathBuf::from);
    required(test, "WASMTIME and CHIWAWA_DIST", wasmtime.zip(dist()))
}

/// `value`; when it is missing, a failure under `make test` (a missing artifact is never a
/// silent pass there), else a note that `test` is skipped for want of `what`.
fn required<T>(test: &str, what: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        assert!(
            std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
            "{test}: {what} missing"
        );
        eprintln!("note: {test} skipped: set {what} (make test does)");
    }
    value
}

#[test]
fn wasm_rt_without_a_directory_says_to_pass_dir() {
    let Some((wasmtime, dist)) = wasmtime_and_dist("wasm_rt_without_a_directory_says_to_pass_dir")
    else {
        return;
    };
    let dir = TempDir::new("wasm-rt-nodir");
    dir.write("x.cwi", &good_hand_image());
    let rt = dist.join("chiwawa-rt.wasm");
    let out = run_in(
        dir.path(),
        &wasmtime,
        &["run".as_ref(), rt.as_os_str(), "x.cwi".as_ref()],
    );
    let line = assert_one_error(&out, "chiwawa-rt: error: x.cwi: ");
    assert!(line.contains("--dir"), "{line}");
}

#[test]
fn wasm_translator_without_a_directory_says_to_pass_dir() {
    let Some((wasmtime, dist)) =
        wasmtime_and_dist("wasm_translator_without_a_directory_says_to_pass_dir")
    else {
        return;
    };
    let dir = TempDir::new("wasm-tr-nodir");
    dir.write("fib.wasm", &wat(FIB));
    let tr = dist.join("chiwawa-translate.wasm");
    let args = [
        "run".as_ref(),
        tr.as_os_str(),
        "fib.wasm".as_ref(),
        "-o".as_ref(),
        "f.cwi".as_ref(),
    ];
    let out = run_in(dir.path(), &wasmtime, &args);
    let line = assert_one_error(&out, "chiwawa-translate: error: fib.wasm: ");
    assert!(line.contains("--dir"), "{line}");
    assert_eq!(dir.names(), ["fib.wasm"]);
}

#[test]
fn wasm_translator_writes_the_same_bytes_as_the_native_one() {
    let Some((wasmtime, dist)) =
        wasmtime_and_dist("wasm_translator_writes_the_same_bytes_as_the_native_one")
    else {
        return;
    };
    let dir = TempDir::new("wasm-tr-same");
    let native = translate_wat(&dir, "fib", FIB);
    let wasm_out = dir.path().join("fib-wasm.cwi");
    let out = run_in(
        dir.path(),
        &wasmtime,
        &[
            "run".as_ref(),
            "--dir".as_ref(),
            dir.path().as_os_str(),
            dist.join("chiwawa-translate.wasm").as_os_str(),
            dir.path().join("fib.wasm").as_os_str(),
            "-o".as_ref(),
            wasm_out.as_os_str(),
        ],
    );
    assert_success(&out);
    assert!(
        fs::read(&native).unwrap() == fs::read(&wasm_out).unwrap(),
        "images differ"
    );
    assert_eq!(
        dir.names(),
        ["fib-wasm.cwi", "fib.cwi", "fib.wasm"],
        "temporary file left"
    );
}

#[test]
fn wasm_rt_runs_a_native_image() {
    let Some((wasmtime, dist)) = wasmtime_and_dist("wasm_rt_runs_a_native_image") else {
        return;
    };
    let dir = TempDir::new("wasm-rt-fib");
    translate_wat(&dir, "fib", FIB);
    let rt = dist.join("chiwawa-rt.wasm");
    let args = [
        "run",
        "--dir",
        ".",
        rt.to_str().unwrap(),
        "--invoke",
        "fib",
        "fib.cwi",
        "20",
    ];
    let out = run_in(dir.path(), &wasmtime, &args);
    assert_success(&out);
    assert_eq!(out.stdout, "6765\n");
}

// ---------------------------------------------------------------------------------------------
// Traps and internal errors end the process as the host ends a trap (issue 14)

/// A module that divides by its arguments, and one whose `_start` traps in a function with a
/// mangled Rust name.
const DIV: &str = r#"(module
  (func (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))"#;
const MANGLED: &str = r#"(module
  (func $_ZN4core9panicking9panic_fmt17h05af221e174051e9E unreachable)
  (func (export "_start") call $_ZN4core9panicking9panic_fmt17h05af221e174051e9E))"#;

#[test]
fn rt_trap_names_the_demangled_function() {
    let dir = TempDir::new("rt-demangle");
    translate_wat(&dir, "m", MANGLED);
    let out = rt_in(dir.path(), &["m.cwi"]);
    assert_eq!(out.status, Some(134), "{out:?}");
    assert_eq!(
        out.stderr,
        "error: trap: unreachable in core::panicking::panic_fmt::h05af221e174051e9\n"
    );
}

#[test]
fn rt_internal_error_is_not_a_trap() {
    let dir = TempDir::new("rt-internal");
    translate_wat(&dir, "div", DIV);
    let out = Command::new(runtime())
        .args(["--invoke", "div", "div.cwi", "6", "3"])
        .current_dir(dir.path())
        .env("CHIWAWA_TEST_INTERNAL_ERROR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.starts_with("chiwawa-rt: internal error: "),
        "{stderr}"
    );
    assert!(!stderr.contains("trap"), "{stderr}");
}

/// `wasmtime run` of `args` in `dir` (the directory preopened as `.`).
fn wasmtime_in(wasmtime: &Path, dir: &Path, args: &[&OsStr]) -> Output {
    let mut argv: Vec<&OsStr> = vec!["run".as_ref(), "--dir".as_ref(), ".".as_ref()];
    argv.extend_from_slice(args);
    run_in(dir, wasmtime, &argv)
}

#[test]
fn wasm_rt_trap_ends_the_host_as_a_direct_trap_does() {
    let Some((wasmtime, dist)) =
        wasmtime_and_dist("wasm_rt_trap_ends_the_host_as_a_direct_trap_does")
    else {
        return;
    };
    let dir = TempDir::new("wasm-rt-trap");
    translate_wat(&dir, "div", DIV);
    translate_wat(&dir, "m", MANGLED);
    let rt = dist.join("chiwawa-rt.wasm");
    let invoke = |module: &str, a: &str, b: &str| -> [String; 5] {
        ["--invoke", "div", module, a, b].map(String::from)
    };
    // An integer division by zero, by `--invoke`, and a trap in `_start`.
    let cases: [(Vec<String>, Vec<String>, &str); 2] = [
        (
            invoke("div.wasm", "1", "0").to_vec(),
            invoke("div.cwi", "1", "0").to_vec(),
            "error: trap: integer divide by zero in div\n",
        ),
        (
            vec!["m.wasm".into()],
            vec!["m.cwi".into()],
            "error: trap: unreachable in core::panicking::panic_fmt::h05af221e174051e9\n",
        ),
    ];
    for (direct_args, chiwawa_args, message) in cases {
        let direct: Vec<&OsStr> = direct_args.iter().map(OsStr::new).collect();
        let direct = wasmtime_in(&wasmtime, dir.path(), &direct);
        let mut through: Vec<&OsStr> = vec![rt.as_os_str()];
        through.extend(chiwawa_args.iter().map(OsStr::new));
        let through = wasmtime_in(&wasmtime, dir.path(), &through);
        assert_eq!(direct.status, Some(134), "direct: {direct:?}");
        assert_eq!(
            through.status, direct.status,
            "through chiwawa: {through:?}"
        );
        assert_eq!(through.stdout, direct.stdout);
        // chiwawa's own line first, then the host's report of the trap.
        assert!(through.stderr.starts_with(message), "{through:?}");
        assert!(through.stderr.contains("wasm trap"), "{through:?}");
    }
}

#[test]
fn wasm_rt_internal_error_exits_70() {
    let Some((wasmtime, dist)) = wasmtime_and_dist("wasm_rt_internal_error_exits_70") else {
        return;
    };
    let dir = TempDir::new("wasm-rt-internal");
    translate_wat(&dir, "div", DIV);
    let rt = dist.join("chiwawa-rt.wasm");
    let args: [&OsStr; 9] = [
        "run".as_ref(),
        "--dir".as_ref(),
        ".".as_ref(),
        "--env".as_ref(),
        "CHIWAWA_TEST_INTERNAL_ERROR=1".as_ref(),
        rt.as_os_str(),
        "--invoke".as_ref(),
        "div".as_ref(),
        "div.cwi".as_ref(),
    ];
    let out = run_in(dir.path(), &wasmtime, &args);
    assert_eq!(out.status, Some(70), "{out:?}");
    assert!(
        out.stderr.starts_with("chiwawa-rt: internal error: "),
        "{out:?}"
    );
}

/// Issue 14, second bug: an image whose code region is 2^31 units or more. Its byte length
/// wrapped to a small number in the 32-bit runtime, so a code group of 2^31 units had the hash
/// of nothing and a function's code pointer could point anywhere. The file is sparse: its length
/// agrees with the header, as an attacker's would. chiwawa-rt.wasm must refuse it as too large
/// for its address space, before reading any code.
#[test]
fn wasm_rt_refuses_an_image_larger_than_its_address_space() {
    let Some((wasmtime, dist)) =
        wasmtime_and_dist("wasm_rt_refuses_an_image_larger_than_its_address_space")
    else {
        return;
    };
    let dir = TempDir::new("wasm-rt-huge");
    let image = translate_wat(&dir, "s", r#"(module (func (export "_start")))"#);
    let bytes = fs::read(&image).unwrap();
    let header = chiwawa_format::read_header(&bytes).unwrap();
    let head_len = header.head_len() as usize;
    let mut archive = rkyv::util::AlignedVec::<16>::new();
    archive.extend_from_slice(&bytes[chiwawa_format::HEADER_LEN..head_len]);
    let mut module: Module = rkyv::from_bytes::<Module, rkyv::rancor::Error>(&archive).unwrap();
    // One group of 2^31 units (2^32 bytes: 0 in 32 bits), holding the function at its end.
    const UNITS: u32 = 1 << 31;
    module.code_groups[0].len = UNITS;
    module.code_groups[0].hash = xxhash_rust::xxh3::xxh3_64(&[]);
    module.funcs[0].code_start = UNITS - module.funcs[0].code_len;
    let archive = rkyv::to_bytes::<rkyv::rancor::Error>(&module).unwrap();
    let mut crafted = bytes[..chiwawa_format::HEADER_LEN].to_vec();
    let (units_at, payload_at) = (header_at::CODE_UNITS, header_at::PAYLOAD_LEN);
    crafted[units_at..units_at + 4].copy_from_slice(&UNITS.to_le_bytes());
    crafted[payload_at..payload_at + 8].copy_from_slice(&(archive.len() as u64).to_le_bytes());
    crafted.extend_from_slice(&archive);
    chiwawa_format::reseal(&mut crafted).unwrap();
    crafted.resize(crafted.len().div_ceil(16) * 16, 0);
    let file_len = crafted.len() as u64 + 2 * u64::from(UNITS);
    let path = dir.write("huge.cwi", &crafted);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(file_len)
        .unwrap();
    // The header, checksum and archive are all right: only the size is refused.
    let head = chiwawa_format::read_head(&mut fs::File::open(&path).unwrap(), file_len).unwrap();
    assert_eq!(head.len(), chiwawa_format::HEADER_LEN + archive.len());
    let rt = dist.join("chiwawa-rt.wasm");
    let out = wasmtime_in(
        &wasmtime,
        dir.path(),
        &[rt.as_os_str(), "huge.cwi".as_ref()],
    );
    let line = assert_one_error(&out, "chiwawa-rt: error: huge.cwi: ");
    assert!(
        line.ends_with(&format!(
            "image of {file_len} bytes is larger than this runtime can address (32 bits)"
        )),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------------
// chiwawa-rt: checkpoint and restore (issue 16)

/// A guest that prints, asks for a checkpoint, prints again and exits 3.
const CHECKPOINTED_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "chiwawa" "checkpoint" (func $cp (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "before\nafter\n")
  (func $say (param i32 i32)
    (i32.store (i32.const 0) (local.get 0)) (i32.store (i32.const 4) (local.get 1))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $say (i32.const 16) (i32.const 7))
    (drop (call $cp))
    (call $say (i32.const 23) (i32.const 6))
    (call $exit (i32.const 3))))"#;

#[test]
fn rt_checkpoint_then_restore_natively() {
    let dir = TempDir::new("rt-checkpoint");
    let image = translate_wat(&dir, "app", CHECKPOINTED_GUEST);
    // Without --checkpoint the request is answered "not taken" and the run goes on.
    let out = rt_in(dir.path(), &[image.as_os_str()]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(3), "before\nafter\n"),
        "{out:?}"
    );
    // With it: the state is written, the run stops with 75, and --restore goes on from there.
    let out = rt_in(
        dir.path(),
        &[
            "--checkpoint".as_ref(),
            "snap.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(75), "before\n"),
        "{out:?}"
    );
    assert!(
        !dir.path().join("snap.cws.partial").exists(),
        "written through a rename"
    );
    let out = rt_in(
        dir.path(),
        &["--restore".as_ref(), "snap.cws".as_ref(), image.as_os_str()],
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(3), "after\n"),
        "{out:?}"
    );
}

#[test]
fn rt_restore_errors_name_the_snapshot() {
    let dir = TempDir::new("rt-restore-errors");
    let image = translate_wat(&dir, "app", CHECKPOINTED_GUEST);
    let out = rt_in(
        dir.path(),
        &[
            "--checkpoint".as_ref(),
            "snap.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_eq!(out.status, Some(75), "{out:?}");
    let snap = std::fs::read(dir.path().join("snap.cws")).unwrap();

    // Damaged: a flipped byte anywhere.
    let mut damaged = snap.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    dir.write("damaged.cws", &damaged);
    let out = rt_in(
        dir.path(),
        &[
            "--restore".as_ref(),
            "damaged.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_one_error(
        &out,
        "chiwawa-rt: error: damaged.cws: snapshot checksum mismatch",
    );
    // Not a snapshot, and missing.
    dir.write(
        "garbage.cws",
        b"not a snapshot at all, not even close to 64 bytes long......!",
    );
    let out = rt_in(
        dir.path(),
        &[
            "--restore".as_ref(),
            "garbage.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_one_error(
        &out,
        "chiwawa-rt: error: garbage.cws: not a chiwawa snapshot",
    );
    let out = rt_in(
        dir.path(),
        &["--restore".as_ref(), "none.cws".as_ref(), image.as_os_str()],
    );
    assert_one_error(&out, "chiwawa-rt: error: none.cws: cannot read");
    // Of another image: both named.
    let other = translate_wat(
        &dir,
        "other",
        &CHECKPOINTED_GUEST.replace("before", "BEFORE"),
    );
    let out = rt_in(
        dir.path(),
        &["--restore".as_ref(), "snap.cws".as_ref(), other.as_os_str()],
    );
    let line = assert_one_error(
        &out,
        "chiwawa-rt: error: snap.cws: the snapshot is of image ",
    );
    assert!(line.contains("other.cwi"), "{line}");
    // Other directories than the checkpointed run had.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let out = rt_in(
        dir.path(),
        &[
            "--dir".as_ref(),
            "sub".as_ref(),
            "--restore".as_ref(),
            "snap.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_one_error(
        &out,
        "chiwawa-rt: error: snap.cws: the snapshot's run had the descriptors",
    );
    // Arguments belong to the snapshot.
    let out = rt_in(
        dir.path(),
        &[
            "--restore".as_ref(),
            "snap.cws".as_ref(),
            image.as_os_str(),
            "x".as_ref(),
        ],
    );
    assert_eq!(out.status, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("takes its arguments from the snapshot"),
        "{out:?}"
    );
}

#[test]
fn rt_checkpoint_into_a_missing_directory_is_an_error() {
    let dir = TempDir::new("rt-checkpoint-nowhere");
    let image = translate_wat(&dir, "app", CHECKPOINTED_GUEST);
    let out = rt_in(
        dir.path(),
        &[
            "--checkpoint".as_ref(),
            "no/such/dir/snap.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    // The guest's first line, then one error line naming the snapshot; exit 1.
    assert_eq!(out.status, Some(1), "{out:?}");
    assert_eq!(out.stdout, "before\n");
    assert!(
        out.stderr
            .starts_with("chiwawa-rt: error: no/such/dir/snap.cws: cannot write the checkpoint"),
        "{out:?}"
    );
}

/// A guest that prints ten lines, "0" to "9", with a busy loop before each, and returns.
const COUNTING_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $sink (mut i32) (i32.const 0))
  (func (export "_start")
    (local $i i32) (local $j i32)
    (loop $line
      (local.set $j (i32.const 0))
      (loop $busy
        (global.set $sink (i32.add (global.get $sink) (i32.mul (local.get $j) (local.get $i))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $busy (i32.lt_u (local.get $j) (i32.const 500))))
      (i32.store8 (i32.const 32) (i32.add (i32.const 48) (local.get $i)))
      (i32.store8 (i32.const 33) (i32.const 10))
      (i32.store (i32.const 0) (i32.const 32)) (i32.store (i32.const 4) (i32.const 2))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $line (i32.lt_u (local.get $i) (i32.const 10))))))"#;

/// `--stats-out`'s instruction count of a run in `dir` with `args` (the run must succeed).
fn stats_instructions(dir: &TempDir, args: &[&OsStr]) -> (Output, u64) {
    let mut all: Vec<&OsStr> = vec!["--stats-out".as_ref(), "stats.json".as_ref()];
    all.extend_from_slice(args);
    let out = rt_in(dir.path(), &all);
    let json = std::fs::read_to_string(dir.path().join("stats.json")).expect("stats.json");
    let stats: serde_json::Value = serde_json::from_str(&json).expect("stats JSON");
    let n = stats["instructions"]
        .as_u64()
        .unwrap_or_else(|| panic!("no instruction count: {json}"));
    (out, n)
}

#[test]
fn rt_checkpoint_after_counts_resume_across_a_chain() {
    let dir = TempDir::new("rt-checkpoint-after");
    let image = translate_wat(&dir, "count", COUNTING_GUEST);
    let (whole, total) = stats_instructions(&dir, &[image.as_os_str()]);
    assert_eq!(
        (whole.status, whole.stdout.as_str()),
        (Some(0), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n")
    );
    assert!(total > 10 * 500, "{total} instructions");
    // Stopped at 1/7, 2/7, ... of the count, each leg restoring the last one's snapshot.
    let mut stdout = String::new();
    let mut legs = 0;
    for k in 1..=7u64 {
        let at = (total * k / 8).to_string();
        let args: Vec<&OsStr> = if k == 1 {
            vec![
                "--checkpoint".as_ref(),
                "snap.cws".as_ref(),
                "--checkpoint-after".as_ref(),
                at.as_ref(),
                image.as_os_str(),
            ]
        } else {
            vec![
                "--restore".as_ref(),
                "snap.cws".as_ref(),
                "--checkpoint".as_ref(),
                "snap.cws".as_ref(),
                "--checkpoint-after".as_ref(),
                at.as_ref(),
                image.as_os_str(),
            ]
        };
        let out = rt_in(dir.path(), &args);
        assert_eq!(out.status, Some(75), "leg {k}: {out:?}");
        stdout += &out.stdout;
        legs += 1;
    }
    let (last, count) = stats_instructions(
        &dir,
        &["--restore".as_ref(), "snap.cws".as_ref(), image.as_os_str()],
    );
    assert_eq!(last.status, Some(0), "{last:?}");
    stdout += &last.stdout;
    assert_eq!(stdout, whole.stdout, "{legs} legs");
    assert_eq!(count, total, "the count goes on across restores");
}

#[test]
fn rt_checkpoint_every_keeps_the_latest_and_goes_on() {
    let dir = TempDir::new("rt-checkpoint-every");
    let image = translate_wat(&dir, "count", COUNTING_GUEST);
    let (whole, total) = stats_instructions(&dir, &[image.as_os_str()]);
    // Snapshots at 2/7, 4/7 and 6/7 of the run.
    let every = (total * 2 / 7).to_string();
    let out = rt_in(
        dir.path(),
        &[
            "--checkpoint".as_ref(),
            "snap.cws".as_ref(),
            "--checkpoint-every".as_ref(),
            every.as_ref(),
            image.as_os_str(),
        ],
    );
    assert_eq!(
        (out.status, &out.stdout),
        (Some(0), &whole.stdout),
        "{out:?}"
    );
    // The latest snapshot is the one at 6/7 of the run: its restore prints the last line(s).
    let out = rt_in(
        dir.path(),
        &["--restore".as_ref(), "snap.cws".as_ref(), image.as_os_str()],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    assert!(
        !out.stdout.is_empty() && whole.stdout.ends_with(&out.stdout) && out.stdout.len() < 10,
        "{out:?}"
    );
}

#[test]
fn rt_checkpoint_trigger_file_stops_the_run_and_is_removed() {
    let dir = TempDir::new("rt-checkpoint-trigger");
    let image = translate_wat(&dir, "count", COUNTING_GUEST);
    dir.write("stop", b"");
    let out = rt_in(
        dir.path(),
        &[
            "--checkpoint".as_ref(),
            "snap.cws".as_ref(),
            "--checkpoint-trigger".as_ref(),
            "stop".as_ref(),
            image.as_os_str(),
        ],
    );
    // The file is looked for from the start: the run stops before its first line.
    assert_eq!((out.status, out.stdout.as_str()), (Some(75), ""), "{out:?}");
    assert!(!dir.path().join("stop").exists(), "the trigger is removed");
    // Without the file the trigger never fires.
    let out = rt_in(
        dir.path(),
        &[
            "--restore".as_ref(),
            "snap.cws".as_ref(),
            "--checkpoint".as_ref(),
            "again.cws".as_ref(),
            "--checkpoint-trigger".as_ref(),
            "stop".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(0), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n"),
        "{out:?}"
    );
    assert!(!dir.path().join("again.cws").exists());
}

#[test]
fn rt_checkpoint_trigger_usage_errors() {
    let dir = TempDir::new("rt-checkpoint-usage");
    let image = translate_wat(&dir, "count", COUNTING_GUEST);
    for (args, message) in [
        (vec!["--checkpoint-after", "100"], "need --checkpoint PATH"),
        (
            vec!["--checkpoint", "s.cws", "--checkpoint-after", "0"],
            "expected a count of instructions above 0",
        ),
        (
            vec!["--checkpoint", "s.cws", "--checkpoint-every", "lots"],
            "expected a count of instructions above 0",
        ),
        (
            vec!["--checkpoint-trigger", "stop"],
            "need --checkpoint PATH",
        ),
    ] {
        let mut all: Vec<&OsStr> = args.iter().map(|a| a.as_ref()).collect();
        all.push(image.as_os_str());
        let out = rt_in(dir.path(), &all);
        assert_eq!(out.status, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {out:?}");
    }
}

#[test]
fn rt_checkpoint_and_restore_reports_give_sizes_and_times() {
    let dir = TempDir::new("rt-checkpoint-report");
    let image = translate_wat(&dir, "count", COUNTING_GUEST);
    let out = rt_in(
        dir.path(),
        &[
            "--startup-report".as_ref(),
            "--checkpoint".as_ref(),
            "snap.cws".as_ref(),
            "--checkpoint-after".as_ref(),
            "2000".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_eq!(out.status, Some(75), "{out:?}");
    let size = std::fs::metadata(dir.path().join("snap.cws"))
        .unwrap()
        .len();
    let line = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("chiwawa-rt: checkpoint-report "))
        .unwrap_or_else(|| panic!("no checkpoint report: {out:?}"));
    assert!(line.starts_with("{\"instructions\":20"), "{line}");
    assert!(
        line.contains(&format!("\"snapshot_bytes\":{size},\"write_us\":")),
        "{line}"
    );
    let out = rt_in(
        dir.path(),
        &[
            "--startup-report".as_ref(),
            "--restore".as_ref(),
            "snap.cws".as_ref(),
            image.as_os_str(),
        ],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    let line = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("chiwawa-rt: restore-report "))
        .unwrap_or_else(|| panic!("no restore report: {out:?}"));
    assert!(
        line.starts_with(&format!("{{\"snapshot_bytes\":{size},\"restore_us\":")),
        "{line}"
    );
}

// ---------------------------------------------------------------------------------------------
// chiwawa-rt: limits (issue 17)

/// Prints "start", then loops forever.
const RUNAWAY_LOOP: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "start\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $l (br $l))))"#;

/// Recurses without end.
const RUNAWAY_RECURSION: &str = r#"(module
  (func $f (param i64) (result i64) (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "_start") (drop (call $f (i64.const 0)))))"#;

/// Grows its memory a page at a time until memory.grow fails; exits with the pages it has.
const RUNAWAY_GROWTH: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1 100)
  (func (export "_start")
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (call $exit (memory.size))))"#;

#[test]
fn rt_limits_stop_runaway_guests() {
    let dir = TempDir::new("rt-limits");
    let looping = translate_wat(&dir, "loop", RUNAWAY_LOOP);
    let out = rt_in(
        dir.path(),
        &["--fuel".as_ref(), "100000".as_ref(), looping.as_os_str()],
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(134), "start\n"),
        "{out:?}"
    );
    assert!(
        out.stderr.starts_with("error: trap: fuel exhausted: 1000")
            && out.stderr.contains("instructions executed (--fuel 100000)"),
        "{out:?}"
    );
    let out = rt_in(
        dir.path(),
        &["--timeout".as_ref(), "200ms".as_ref(), looping.as_os_str()],
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(134), "start\n"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("error: trap: timeout: 200ms elapsed (--timeout 200ms)"),
        "{out:?}"
    );
    let recursing = translate_wat(&dir, "recurse", RUNAWAY_RECURSION);
    let out = rt_in(
        dir.path(),
        &[
            "--max-stack".as_ref(),
            "64K".as_ref(),
            recursing.as_os_str(),
        ],
    );
    assert_eq!(out.status, Some(134), "{out:?}");
    assert!(out.stderr.contains("call stack exhausted"), "{out:?}");
    let growing = translate_wat(&dir, "grow", RUNAWAY_GROWTH);
    let out = rt_in(dir.path(), &[growing.as_os_str()]);
    assert_eq!(out.status, Some(100), "the module's own maximum; {out:?}");
    let out = rt_in(
        dir.path(),
        &["--max-memory".as_ref(), "1M".as_ref(), growing.as_os_str()],
    );
    assert_eq!(out.status, Some(16), "1 MiB is 16 pages; {out:?}");
    // Fuel is exact: the same budget stops at the same count.
    let count = |fuel: &str| {
        let out = rt_in(
            dir.path(),
            &["--fuel".as_ref(), fuel.as_ref(), looping.as_os_str()],
        );
        out.stderr.clone()
    };
    assert_eq!(count("5000"), count("5000"));
    for (args, message) in [
        (
            vec!["--fuel", "0"],
            "expected a count of instructions above 0",
        ),
        (vec!["--timeout", "5"], "expected a duration above 0"),
        (vec!["--timeout", "2days"], "expected a duration above 0"),
        (vec!["--max-memory", "lots"], "expected a number of bytes"),
    ] {
        let mut all: Vec<&OsStr> = args.iter().map(|a| a.as_ref()).collect();
        all.push(looping.as_os_str());
        let out = rt_in(dir.path(), &all);
        assert_eq!(out.status, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {out:?}");
    }
}

#[test]
fn wasm_rt_limits_stop_runaway_guests_on_wasmtime() {
    let Some((wasmtime, dist)) =
        wasmtime_and_dist("wasm_rt_limits_stop_runaway_guests_on_wasmtime")
    else {
        return;
    };
    let dir = TempDir::new("wasm-rt-limits");
    translate_wat(&dir, "loop", RUNAWAY_LOOP);
    translate_wat(&dir, "grow", RUNAWAY_GROWTH);
    std::fs::copy(
        dist.join("chiwawa-rt.wasm"),
        dir.path().join("chiwawa-rt.wasm"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut all: Vec<&OsStr> = vec!["chiwawa-rt.wasm".as_ref()];
        all.extend(args.iter().map(|a| OsStr::new(*a)));
        wasmtime_in(&wasmtime, dir.path(), &all)
    };
    let native = rt_in(dir.path(), &["--fuel", "100000", "loop.cwi"]);
    let out = run(&["--fuel", "100000", "loop.cwi"]);
    // Ended as wasmtime ends a trapping module, after the same output and the same count.
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (Some(134), "start\n"),
        "{out:?}"
    );
    let first = |s: &str| s.lines().next().unwrap_or_default().to_string();
    assert_eq!(first(&out.stderr), first(&native.stderr), "{out:?}");
    let out = run(&["--timeout", "300ms", "loop.cwi"]);
    assert_eq!(out.status, Some(134), "{out:?}");
    assert!(out.stderr.contains("timeout: 300ms elapsed"), "{out:?}");
    let out = run(&["--max-memory", "1M", "grow.cwi"]);
    assert_eq!(out.status, Some(16), "{out:?}");
}

#[test]
fn hosts_limits_stop_runaway_guests_at_the_same_count_on_node_and_wasmi() {
    let Some((_, dist)) =
        wasmtime_and_dist("hosts_limits_stop_runaway_guests_at_the_same_count_on_node_and_wasmi")
    else {
        return;
    };
    let wasmi = std::env::var_os("WASMI").filter(|w| !w.is_empty());
    if wasmi.is_none() {
        assert!(
            std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
            "WASMI (the wasmi CLI) is missing"
        );
        eprintln!("note: skipped: set WASMI (make test does)");
        return;
    }
    let dir = TempDir::new("hosts-limits");
    translate_wat(&dir, "loop", RUNAWAY_LOOP);
    translate_wat(&dir, "recurse", RUNAWAY_RECURSION);
    translate_wat(&dir, "grow", RUNAWAY_GROWTH);
    std::fs::copy(
        dist.join("chiwawa-rt.wasm"),
        dir.path().join("chiwawa-rt.wasm"),
    )
    .unwrap();
    let hosts = workspace().join("hosts/bin");
    let native = rt_in(dir.path(), &["--fuel", "100000", "loop.cwi"]);
    let fuel_line = native.stderr.lines().next().unwrap_or_default().to_string();
    assert!(fuel_line.contains("fuel exhausted"), "{native:?}");
    for host in ["node", "wasmi"] {
        let run = |args: &[&str]| {
            let mut all: Vec<&OsStr> = vec![
                "run".as_ref(),
                "--dir".as_ref(),
                ".".as_ref(),
                "chiwawa-rt.wasm".as_ref(),
            ];
            all.extend(args.iter().map(|a| OsStr::new(*a)));
            run_in(dir.path(), &hosts.join(host), &all)
        };
        // Each stops the guest as a trap (the host's own status), its output intact; fuel at
        // exactly the native count.
        let out = run(&["--fuel", "100000", "loop.cwi"]);
        assert!(
            out.status != Some(0) && out.stdout == "start\n",
            "{host}: {out:?}"
        );
        assert_eq!(
            out.stderr.lines().next(),
            Some(fuel_line.as_str()),
            "{host}: {out:?}"
        );
        let out = run(&["--timeout", "300ms", "loop.cwi"]);
        assert!(out.status != Some(0), "{host}: {out:?}");
        assert!(
            out.stderr.contains("timeout: 300ms elapsed"),
            "{host}: {out:?}"
        );
        let out = run(&["--max-stack", "64K", "recurse.cwi"]);
        assert!(
            out.stderr.contains("call stack exhausted"),
            "{host}: {out:?}"
        );
        let out = run(&["--max-memory", "1M", "grow.cwi"]);
        assert_eq!(out.status, Some(16), "{host}: {out:?}");
    }
}

/// Writes "hello", opens a file that is not there, exits 3.
const STRACED_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (data (i32.const 64) "missing.txt")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 11) (i32.const 0)
      (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 40)))
    (call $exit (i32.const 3))))"#;

#[test]
fn rt_strace_decodes_every_call_the_same_on_every_host() {
    let dir = TempDir::new("rt-strace");
    translate_wat(&dir, "app", STRACED_GUEST);
    let want = "[strace] fd_write(1, \"hello\\n\", 1 iovecs, 8) = 0 (6 bytes)\n\
                [strace] path_open(3, 0, \"missing.txt\", 0, 2, 0, 0, 40) = ENOENT\n\
                [strace] proc_exit(3)\n";
    let out = rt_in(dir.path(), &["--dir", ".", "--strace", "app.cwi"]);
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(3), "hello\n", want)
    );
    let out = rt_in(dir.path(), &["--dir", ".", "--strace=trace.txt", "app.cwi"]);
    assert_eq!((out.status, out.stderr.as_str()), (Some(3), ""), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("trace.txt")).unwrap(),
        want
    );
    // chiwawa-rt.wasm on wasmtime, node and wasmi: the same lines.
    let Some((wasmtime, dist)) =
        wasmtime_and_dist("rt_strace_decodes_every_call_the_same_on_every_host")
    else {
        return;
    };
    std::fs::copy(
        dist.join("chiwawa-rt.wasm"),
        dir.path().join("chiwawa-rt.wasm"),
    )
    .unwrap();
    for host in wasm_hosts() {
        let out = rt_wasm_on(host, &wasmtime, dir.path(), &["--strace", "app.cwi"]);
        assert_eq!(
            (out.status, out.stderr.as_str()),
            (Some(3), want),
            "{host}: {out:?}"
        );
    }
}

/// `_start` calls `$a` three times, `$a` calls `$b` twice; each does a little arithmetic.
const PROFILED_GUEST: &str = r#"(module
  (global $g (mut i32) (i32.const 0))
  (func $b (global.set $g (i32.add (global.get $g) (i32.const 2))))
  (func $a (global.set $g (i32.mul (global.get $g) (i32.const 3))) (call $b) (call $b))
  (func $_start (export "_start")
    (local $i i32)
    (loop $l
      (call $a)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))))"#;

#[test]
fn rt_profile_counts_every_instruction_by_stack_the_same_on_every_host() {
    let dir = TempDir::new("rt-profile");
    translate_wat(&dir, "app", PROFILED_GUEST);
    let (out, total) = stats_instructions(
        &dir,
        &[
            "--profile".as_ref(),
            "p.folded".as_ref(),
            "app.cwi".as_ref(),
        ],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    let folded = std::fs::read_to_string(dir.path().join("p.folded")).unwrap();
    let lines: Vec<(&str, u64)> = folded
        .lines()
        .map(|l| {
            let (stack, n) = l.rsplit_once(' ').expect("stack count");
            (stack, n.parse().expect("a count"))
        })
        .collect();
    let stacks: Vec<&str> = lines.iter().map(|l| l.0).collect();
    assert_eq!(stacks, ["_start", "_start;a", "_start;a;b"], "{folded}");
    // Every instruction in exactly one stack; each of the 3 calls of a, 6 of b, the same.
    assert_eq!(lines.iter().map(|l| l.1).sum::<u64>(), total, "{folded}");
    assert_eq!(lines[1].1 % 3, 0, "{folded}");
    assert_eq!(lines[2].1 % 6, 0, "{folded}");
    // The same counts drawn as a flame graph: one frame per stack, `all` at the bottom as
    // wide as the picture allows, each stack's width in proportion to its instructions.
    let out = rt_in(dir.path(), &["--profile", "p.svg", "app.cwi"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let svg = std::fs::read_to_string(dir.path().join("p.svg")).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.ends_with("</svg>\n"),
        "{svg}"
    );
    let tooltips: Vec<&str> = svg
        .split("<title>")
        .skip(1)
        .map(|t| &t[..t.find("</title>").unwrap()])
        .collect();
    let totals = [total, total, total - lines[0].1, lines[2].1];
    let want: Vec<String> = ["all", "_start", "a", "b"]
        .iter()
        .zip(totals)
        .map(|(name, n)| {
            let share = 100.0 * n as f64 / total as f64;
            format!("{name} ({n} instructions, {share:.2}%)")
        })
        .collect();
    assert_eq!(tooltips, want, "{svg}");
    // chiwawa-rt.wasm on wasmtime, node and wasmi: the same file.
    same_file_on_wasm_hosts(
        "rt_profile_counts_every_instruction_by_stack_the_same_on_every_host",
        &dir,
        &["--profile", "h.folded", "app.cwi"],
        0,
        "h.folded",
        &folded,
    );
}

#[test]
fn rt_trace_out_is_chrome_trace_json_whose_slices_nest_the_same_on_every_host() {
    let dir = TempDir::new("rt-trace");
    translate_wat(&dir, "app", PROFILED_GUEST);
    let (out, total) = stats_instructions(
        &dir,
        &[
            "--trace-out".as_ref(),
            "t.json".as_ref(),
            "app.cwi".as_ref(),
        ],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    let text = std::fs::read_to_string(dir.path().join("t.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let events = json["traceEvents"].as_array().expect("traceEvents");
    // Process and thread names, then one complete slice per call.
    let meta: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(meta, ["process_name", "thread_name"]);
    let mut slices: Vec<(String, u64, u64)> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            assert_eq!((e["pid"].as_u64(), e["tid"].as_u64()), (Some(1), Some(1)));
            let name = e["name"].as_str().unwrap().to_string();
            (name, e["ts"].as_u64().unwrap(), e["dur"].as_u64().unwrap())
        })
        .collect();
    let count = |n: &str| slices.iter().filter(|s| s.0 == n).count();
    assert_eq!(
        (count("_start"), count("a"), count("b")),
        (1, 3, 6),
        "{text}"
    );
    // The outermost call spans the whole run: its duration is the instruction count.
    let start = slices.iter().find(|s| s.0 == "_start").unwrap();
    assert_eq!((start.1, start.2), (0, total));
    assert_eq!(json["otherData"]["instructions"].as_u64(), Some(total));
    assert_eq!(json["otherData"]["dropped"].as_u64(), Some(0));
    // Slices nest: sorted by start (and longest first), each ends inside the open one.
    slices.sort_by_key(|s| (s.1, std::cmp::Reverse(s.2)));
    let mut open: Vec<(u64, u64)> = Vec::new();
    for (name, ts, dur) in &slices {
        while open.last().is_some_and(|&(_, end)| end <= *ts) {
            open.pop();
        }
        if let Some(&(_, end)) = open.last() {
            assert!(
                ts + dur <= end,
                "{name} at {ts}+{dur} ends after its caller"
            );
        }
        open.push((*ts, ts + dur));
    }
    // A depth limit keeps the outer calls only.
    let out = rt_in(
        dir.path(),
        &["--trace-out", "d.json", "--trace-depth", "2", "app.cwi"],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    let shallow = std::fs::read_to_string(dir.path().join("d.json")).unwrap();
    assert!(
        shallow.contains("\"a\"") && !shallow.contains("\"b\""),
        "{shallow}"
    );
    for bad in [
        ["--trace", "syscalls"],
        ["--trace-clock", "cycles"],
        ["--trace-depth", "deep"],
    ] {
        let mut args = bad.to_vec();
        args.extend(["--trace-out", "x.json", "app.cwi"]);
        let out = rt_in(dir.path(), &args);
        assert_eq!(out.status, Some(2), "{bad:?}: {out:?}");
        assert!(out.stderr.contains(bad[1]), "{bad:?}: {out:?}");
        assert!(!dir.path().join("x.json").exists());
    }
    // chiwawa-rt.wasm on wasmtime, node and wasmi: the same file.
    same_file_on_wasm_hosts(
        "rt_trace_out_is_chrome_trace_json_whose_slices_nest_the_same_on_every_host",
        &dir,
        &["--trace-out", "h.json", "app.cwi"],
        0,
        "h.json",
        &text,
    );
}

/// The `"ph":"X"` events of a trace file: name, category, start, duration, args.
fn trace_slices(json: &serde_json::Value) -> Vec<(String, String, f64, f64, serde_json::Value)> {
    json["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["cat"].as_str().unwrap().to_string(),
                e["ts"].as_f64().unwrap(),
                e["dur"].as_f64().unwrap(),
                e["args"].clone(),
            )
        })
        .collect()
}

#[test]
fn rt_trace_shows_wasi_calls_as_slices_with_their_call_and_errno() {
    let dir = TempDir::new("rt-trace-wasi");
    translate_wat(&dir, "app", STRACED_GUEST);
    let read = |name: &str| -> (String, serde_json::Value) {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let json = serde_json::from_str(&text).expect("trace JSON");
        (text, json)
    };
    let out = rt_in(
        dir.path(),
        &["--dir", ".", "--trace-out", "t.json", "app.cwi"],
    );
    assert_eq!((out.status, out.stdout.as_str()), (Some(3), "hello\n"));
    let (text, json) = read("t.json");
    let slices = trace_slices(&json);
    let host: Vec<(&str, &str, Option<u64>)> = slices
        .iter()
        .filter(|s| s.1 == "host")
        .map(|s| {
            (
                s.0.as_str(),
                s.4["call"].as_str().unwrap(),
                s.4["errno"].as_u64(),
            )
        })
        .collect();
    // What --strace shows, with the errno (ENOENT is 44), in call order.
    assert_eq!(
        host,
        [
            (
                "fd_write",
                "fd_write(1, \"hello\\n\", 1 iovecs, 8) = 0 (6 bytes)",
                Some(0)
            ),
            (
                "path_open",
                "path_open(3, 0, \"missing.txt\", 0, 2, 0, 0, 40) = ENOENT",
                Some(44)
            ),
            ("proc_exit", "proc_exit(3)", None),
        ],
        "{text}"
    );
    // Each inside `_start`'s slice, one deeper, taking no instructions.
    let start = slices.iter().find(|s| s.0 == "_start").expect("_start");
    for s in slices.iter().filter(|s| s.1 == "host") {
        assert!(s.2 >= start.2 && s.2 + s.3 <= start.2 + start.3, "{text}");
        assert_eq!((s.3, s.4["depth"].as_u64()), (0.0, Some(1)), "{text}");
    }
    // Only one kind when asked for one.
    let out = rt_in(
        dir.path(),
        &[
            "--dir",
            ".",
            "--trace",
            "wasi",
            "--trace-out",
            "w.json",
            "app.cwi",
        ],
    );
    assert_eq!(out.status, Some(3), "{out:?}");
    let cats: Vec<String> = trace_slices(&read("w.json").1)
        .into_iter()
        .map(|s| s.1)
        .collect();
    assert_eq!(cats, ["host", "host", "host"]);
    let out = rt_in(
        dir.path(),
        &[
            "--dir",
            ".",
            "--trace",
            "calls",
            "--trace-out",
            "c.json",
            "app.cwi",
        ],
    );
    assert_eq!(out.status, Some(3), "{out:?}");
    let names: Vec<String> = trace_slices(&read("c.json").1)
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(names, ["_start"]);
    // The wall clock: microseconds since the run began, the same slices, still nested.
    let out = rt_in(
        dir.path(),
        &[
            "--dir",
            ".",
            "--trace-clock",
            "wall",
            "--trace-out",
            "r.json",
            "app.cwi",
        ],
    );
    assert_eq!(out.status, Some(3), "{out:?}");
    let (wall_text, wall) = read("r.json");
    assert_eq!(wall["otherData"]["clock"], "wall", "{wall_text}");
    let wall_slices = trace_slices(&wall);
    let order = |v: &[(String, String, f64, f64, serde_json::Value)]| -> Vec<String> {
        v.iter().map(|s| s.0.clone()).collect()
    };
    assert_eq!(order(&wall_slices), order(&slices));
    let start = wall_slices.iter().find(|s| s.0 == "_start").unwrap();
    for s in &wall_slices {
        assert!(
            s.2 >= start.2 && s.2 + s.3 <= start.2 + start.3 + 1e-3,
            "{wall_text}"
        );
    }
    // chiwawa-rt.wasm on wasmtime, node and wasmi: the same file (instruction clock).
    same_file_on_wasm_hosts(
        "rt_trace_shows_wasi_calls_as_slices_with_their_call_and_errno",
        &dir,
        &["--trace-out", "h.json", "app.cwi"],
        3,
        "h.json",
        &text,
    );
}

#[test]
fn rt_stats_count_instructions_calls_and_wasi_the_same_on_every_host() {
    let dir = TempDir::new("rt-stats");
    translate_wat(&dir, "calls", PROFILED_GUEST);
    translate_wat(&dir, "wasi", STRACED_GUEST);
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap()
    };
    let out = rt_in(dir.path(), &["--stats-out", "c.json", "calls.cwi"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let stats = read("c.json");
    // 1 + 3 + 6 activations, each function's own instructions adding up to the total.
    assert_eq!(stats["calls"].as_u64(), Some(10), "{stats}");
    let functions = stats["functions"].as_array().unwrap();
    let by_name = |n: &str| functions.iter().find(|f| f["name"] == n).expect(n).clone();
    assert_eq!(
        (
            by_name("_start")["calls"].as_u64(),
            by_name("a")["calls"].as_u64(),
            by_name("b")["calls"].as_u64()
        ),
        (Some(1), Some(3), Some(6))
    );
    let sum: u64 = functions
        .iter()
        .map(|f| f["instructions"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(sum), stats["instructions"].as_u64());
    assert_eq!(stats["memory_bytes"].as_u64(), Some(0));
    // Every instruction under its opcode; the pairs' share among them.
    let opcodes = stats["opcodes"].as_array().unwrap();
    let count = |pair: bool| -> u64 {
        opcodes
            .iter()
            .filter(|o| !pair || o["pair"] == true)
            .map(|o| o["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        Some(count(false)),
        stats["instructions"].as_u64(),
        "{stats}"
    );
    assert_eq!(
        Some(count(true)),
        stats["pair_instructions"].as_u64(),
        "{stats}"
    );
    assert!(opcodes.iter().any(|o| o["name"] == "call"), "{stats}");
    // Start-up: the image's sizes; times only with the wall clock.
    let startup = &stats["startup"];
    let image_len = std::fs::metadata(dir.path().join("calls.cwi"))
        .unwrap()
        .len();
    assert_eq!(startup["image_bytes"].as_u64(), Some(image_len), "{stats}");
    assert_eq!(startup["functions"].as_u64(), Some(3), "{stats}");
    assert!(startup.get("verify_us").is_none(), "{stats}");
    let out = rt_in(
        dir.path(),
        &[
            "--trace-clock",
            "wall",
            "--stats-out",
            "cw.json",
            "calls.cwi",
        ],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    let wall = read("cw.json");
    for phase in ["read_us", "check_us", "verify_us", "instantiate_us"] {
        assert!(wall["startup"][phase].is_u64(), "{phase}: {wall}");
    }
    // --stats: the same JSON on stderr.
    let out = rt_in(dir.path(), &["--stats", "calls.cwi"]);
    assert_eq!(
        out.stderr,
        std::fs::read_to_string(dir.path().join("c.json")).unwrap()
    );
    let out = rt_in(
        dir.path(),
        &["--dir", ".", "--stats-out", "w.json", "wasi.cwi"],
    );
    assert_eq!(out.status, Some(3), "{out:?}");
    let stats = read("w.json");
    let wasi = &stats["wasi_calls"];
    assert_eq!(
        (
            wasi["fd_write"].as_u64(),
            wasi["path_open"].as_u64(),
            wasi["proc_exit"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{stats}"
    );
    assert_eq!(stats["wasi_bytes_written"].as_u64(), Some(6));
    assert_eq!(stats["memory_bytes"].as_u64(), Some(65_536));
    let native_calls = std::fs::read_to_string(dir.path().join("c.json")).unwrap();
    let native_wasi = std::fs::read_to_string(dir.path().join("w.json")).unwrap();
    // chiwawa-rt.wasm on wasmtime, node and wasmi: the same files.
    let test = "rt_stats_count_instructions_calls_and_wasi_the_same_on_every_host";
    let calls = ["--stats-out", "hc.json", "calls.cwi"];
    same_file_on_wasm_hosts(test, &dir, &calls, 0, "hc.json", &native_calls);
    let wasi = ["--stats-out", "hw.json", "wasi.cwi"];
    same_file_on_wasm_hosts(test, &dir, &wasi, 3, "hw.json", &native_wasi);
}

/// Reads the monotonic clock, spins 1,000 times, reads it and the real-time clock, takes 16
/// random bytes, sleeps 1 ms with poll_oneoff and reads the clock again: each value printed as
/// 16 hex digits on a line.
const WORLD_READER: &str = r#"(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $rand (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "0123456789abcdef")
  (func $hex (param $v i64)
    (local $i i32)
    (loop $l
      (i32.store8 (i32.add (i32.const 600) (local.get $i))
        (i32.load8_u (i32.add (i32.const 512)
          (i32.wrap_i64 (i64.and
            (i64.shr_u (local.get $v)
              (i64.extend_i32_u (i32.sub (i32.const 60) (i32.shl (local.get $i) (i32.const 2)))))
            (i64.const 15))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 16))))
    (i32.store8 (i32.const 616) (i32.const 10))
    (i32.store (i32.const 700) (i32.const 600)) (i32.store (i32.const 704) (i32.const 17))
    (drop (call $w (i32.const 1) (i32.const 700) (i32.const 1) (i32.const 708))))
  (func $mono (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 0))) (i64.load (i32.const 0)))
  (func (export "_start")
    (local $i i32)
    (call $hex (call $mono))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $hex (call $mono))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 0)))
    (call $hex (i64.load (i32.const 0)))
    (drop (call $rand (i32.const 16) (i32.const 16)))
    (call $hex (i64.load (i32.const 16)))
    (call $hex (i64.load (i32.const 24)))
    (i64.store (i32.const 64) (i64.const 7))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 1000000))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160)))
    (call $hex (call $mono))))"#;

#[test]
fn rt_deterministic_clocks_random_and_sleep_are_the_runs_own_on_every_host() {
    let dir = TempDir::new("rt-deterministic");
    translate_wat(&dir, "app", WORLD_READER);
    let out = rt_in(dir.path(), &["--deterministic", "app.cwi"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let values: Vec<u64> = out
        .stdout
        .lines()
        .map(|l| u64::from_str_radix(l, 16).expect("hex"))
        .collect();
    let [t1, t2, real, r1, r2, slept] = values[..] else {
        panic!("six values: {out:?}")
    };
    // The monotonic clock counts executed instructions as nanoseconds: the loop's 1,000
    // rounds are a few thousand; the real-time clock is the same count from 2000-01-01.
    assert!(
        t1 < 100 && (2_000..10_000).contains(&(t2 - t1)),
        "{t1} {t2}"
    );
    let epoch = 946_684_800u64 * 1_000_000_000;
    assert!((t2..t2 + 1_000).contains(&(real - epoch)), "{t2} {real}");
    assert!(r1 != 0 && r1 != r2, "{r1:x} {r2:x}");
    // The 1 ms sleep moved the clock on by at least that.
    assert!(
        slept - t2 >= 1_000_000 && slept - t2 < 1_100_000,
        "{t2} {slept}"
    );
    // Again, natively and on wasmtime, node and wasmi: the same values.
    let again = rt_in(dir.path(), &["--deterministic", "app.cwi"]);
    assert_eq!(again.stdout, out.stdout);
    // Without it, the host's clock.
    let host = rt_in(dir.path(), &["app.cwi"]);
    assert_ne!(host.stdout, out.stdout);
    let Some((wasmtime, dist)) = wasmtime_and_dist(
        "rt_deterministic_clocks_random_and_sleep_are_the_runs_own_on_every_host",
    ) else {
        return;
    };
    std::fs::copy(
        dist.join("chiwawa-rt.wasm"),
        dir.path().join("chiwawa-rt.wasm"),
    )
    .unwrap();
    for host in wasm_hosts() {
        let got = rt_wasm_on(host, &wasmtime, dir.path(), &["--deterministic", "app.cwi"]);
        assert_eq!((got.status, &got.stdout), (Some(0), &out.stdout), "{host}");
    }
}

/// chiwawa-rt.wasm with `args` in `dir` on wasmtime, node and wasmi (see `wasm_hosts`): each
/// must exit with `status` and write `file` with exactly `want`. Skipped (as
/// `wasmtime_and_dist` says) when the artifacts are missing.
fn same_file_on_wasm_hosts(
    test: &str,
    dir: &TempDir,
    args: &[&str],
    status: i32,
    file: &str,
    want: &str,
) {
    let Some((wasmtime, dist)) = wasmtime_and_dist(test) else {
        return;
    };
    std::fs::copy(
        dist.join("chiwawa-rt.wasm"),
        dir.path().join("chiwawa-rt.wasm"),
    )
    .unwrap();
    for host in wasm_hosts() {
        let _ = std::fs::remove_file(dir.path().join(file));
        let out = rt_wasm_on(host, &wasmtime, dir.path(), args);
        assert_eq!(out.status, Some(status), "{host}: {out:?}");
        let got = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(got, want, "{host}");
    }
}

/// `$CHIWAWA_COMPONENTS`: the WASI preview 2 components `make components` built; `None` (a
/// failure under `make test`) when it is not set.
fn components(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CHIWAWA_COMPONENTS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    required(test, "CHIWAWA_COMPONENTS", dir)
}

/// A damaged component is refused by the translator as an invalid component, with exit status
/// 1 and no image; a component image with a damaged link table is refused by the runtime
/// naming the file.
#[test]
fn damaged_components_are_refused() {
    let test = "damaged_components_are_refused";
    let Some(built) = components(test) else {
        return;
    };
    let dir = TempDir::new("components-damaged");
    let hello = std::fs::read(built.join("p2-hello.wasm")).unwrap();
    dir.write("cut.wasm", &hello[..hello.len() / 2]);
    let out = translate_in(dir.path(), &["cut.wasm", "-o", "x.cwi"]);
    assert_one_error(
        &out,
        "chiwawa-translate: error: cut.wasm: invalid component: ",
    );
    assert!(!dir.path().join("x.cwi").exists());
    dir.write("hello.wasm", &hello);
    let out = translate_in(dir.path(), &["hello.wasm", "-o", "hello.cwi"]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let image = std::fs::read(dir.path().join("hello.cwi")).unwrap();
    // A flipped byte in the archive: the checksum says so.
    let mut bad = image.clone();
    let at = bad.len() - 100;
    bad[at] ^= 0x40;
    dir.write("bad.cwi", &bad);
    let line = assert_one_error(
        &rt_in(dir.path(), &["bad.cwi"]),
        "chiwawa-rt: error: bad.cwi: ",
    );
    assert!(line.contains("checksum"), "{line}");
    // Cut short.
    dir.write("short.cwi", &image[..image.len() - 1]);
    let line = assert_one_error(
        &rt_in(dir.path(), &["short.cwi"]),
        "chiwawa-rt: error: short.cwi: ",
    );
    assert!(line.contains("truncated"), "{line}");
}

/// Crafted component images: link tables with indices out of range or of the wrong kind,
/// re-serialized with a good checksum, are refused by the runtime's checks with one line naming
/// the file; byte flips anywhere in the archive (checksum recomputed, so bytecheck, the link
/// table's checks and the module images' checks all get their turn) never crash it.
#[test]
fn crafted_component_images_are_refused_cleanly() {
    use chiwawa_format::component::{
        read_component_image, write_component_image, CanonPart, HostKind, Item, ValType,
    };
    let test = "crafted_component_images_are_refused_cleanly";
    let Some(built) = components(test) else {
        return;
    };
    let dir = TempDir::new("components-crafted");
    let wasm = built.join("p2-hello.wasm");
    let out = translate_in(
        dir.path(),
        &[wasm.as_os_str(), "-o".as_ref(), "hello.cwi".as_ref()],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    let image = std::fs::read(dir.path().join("hello.cwi")).unwrap();
    let good = read_component_image(&image).unwrap();
    let write = |c: &chiwawa_format::component::Component| {
        let bytes = write_component_image(c, chiwawa_format::TRANSLATOR_VERSION, 0).unwrap();
        dir.write("x.cwi", &bytes);
    };
    let mut crafted: Vec<(&str, chiwawa_format::component::Component)> = Vec::new();
    let mut c = good.clone();
    c.instances[0].module = 99;
    crafted.push(("module", c));
    let mut c = good.clone();
    let last = c.instances.len() - 1;
    c.instances[0].args.push(chiwawa_format::component::Arg {
        module: "m".into(),
        name: "n".into(),
        item: Item::Export {
            instance: last as u32,
            name: "memory".into(),
        },
    });
    crafted.push(("later instance", c));
    let mut c = good.clone();
    let n = c.types.len() as u32;
    c.types.push(ValType::List(n));
    crafted.push(("cyclic type", c));
    let mut c = good.clone();
    if let Some(arg) = c
        .instances
        .iter_mut()
        .flat_map(|i| &mut i.args)
        .find(|a| matches!(a.item, Item::Host { .. }))
    {
        arg.item = Item::Canon {
            func: 0,
            part: CanonPart::Need,
        };
    }
    crafted.push(("adapter step", c));
    let mut c = good.clone();
    if let Some(f) = c
        .imports
        .iter_mut()
        .find(|f| matches!(f.kind, HostKind::ResourceDrop { .. }))
    {
        f.kind = HostKind::ResourceDrop { resource: 1000 };
    }
    crafted.push(("resource", c));
    let mut c = good.clone();
    c.run = None;
    crafted.push(("no run", c));
    let mut c = good.clone();
    c.modules[0].truncate(100);
    crafted.push(("module image", c));
    for (what, c) in &crafted {
        write(c);
        let out = rt_in(dir.path(), &["x.cwi"]);
        assert_one_error(&out, "chiwawa-rt: error: x.cwi: ");
        assert!(out.stdout.is_empty(), "{what}: {out:?}");
    }
    // Byte flips with the checksum made good again.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const HEADER: usize = chiwawa_format::component::COMPONENT_HEADER_LEN;
    for _ in 0..150 {
        let mut bytes = image.clone();
        for _ in 0..1 + next() % 3 {
            let at = HEADER + (next() as usize) % (bytes.len() - HEADER);
            bytes[at] ^= 1 << (next() % 8);
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[HEADER..]);
        bytes[40..48].copy_from_slice(&sum.to_le_bytes());
        dir.write("x.cwi", &bytes);
        let out = rt_in(dir.path(), &["x.cwi"]);
        // Refused (1), run (0, or its exit status 1), or a trap in the changed code (134): never
        // an internal error (70) or a signal.
        assert!(matches!(out.status, Some(0 | 1 | 134)), "{out:?}");
    }
}

/// How the tests run a component: its arguments, its standard input, its environment (given
/// to every host the same way) and the files it writes (a directory of its own).
struct ComponentCase {
    name: &'static str,
    args: &'static [&'static str],
    stdin: &'static str,
    env: &'static [&'static str],
    /// Files of the components directory the run reads (copied into its directory).
    inputs: &'static [&'static str],
    /// Compare stderr only up to this line: the run traps (a panic), and each host reports a
    /// trap its own way after it and ends with its own status for a trapping module (the
    /// wasmi CLI 1, the others 134, as when they run a module that traps).
    stderr_until: Option<&'static str>,
}

const COMPONENT_CASES: &[ComponentCase] = &[
    ComponentCase {
        name: "p2-hello",
        args: &["0", "a b", "c"],
        stdin: "one\ntwo\nthree\n",
        env: &["GREETING=hi there", "EQ=a=b"],
        inputs: &[],
        stderr_until: None,
    },
    ComponentCase {
        name: "p2-hello",
        args: &["3"],
        stdin: "",
        env: &[],
        inputs: &[],
        stderr_until: None,
    },
    ComponentCase {
        name: "p2-time",
        args: &[],
        stdin: "",
        env: &[],
        inputs: &[],
        stderr_until: None,
    },
    ComponentCase {
        name: "p2-files",
        args: &[],
        stdin: "",
        env: &[],
        inputs: &[],
        stderr_until: None,
    },
    ComponentCase {
        name: "c-hello",
        args: &["x", "y z"],
        stdin: "",
        env: &["GREETING=from the test"],
        inputs: &[],
        stderr_until: None,
    },
    ComponentCase {
        name: "p2-wat",
        args: &["p2-panic.wasm"],
        stdin: "",
        env: &[],
        inputs: &["p2-panic.wasm"],
        stderr_until: None,
    },
    ComponentCase {
        name: "p2-deflate",
        args: &["p2-hello.wasm"],
        stdin: "",
        env: &[],
        inputs: &["p2-hello.wasm"],
        stderr_until: None,
    },
    ComponentCase {
        name: "p2-panic",
        args: &[],
        stdin: "",
        env: &[],
        inputs: &[],
        stderr_until: Some("note: run with `RUST_BACKTRACE=1`"),
    },
];

/// `program args` in `dir` with `stdin` piped in and exactly the environment `env` (natively;
/// hosts get theirs with `--env`). Its output goes to files beside `dir` (a pipe left unread
/// would stall a program that writes more than the pipe holds).
fn run_piped(dir: &Path, program: &Path, args: &[&OsStr], stdin: &str, env: &[&str]) -> Output {
    use std::io::Write as _;
    let (out_path, err_path) = (dir.with_extension("stdout"), dir.with_extension("stderr"));
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    if program == runtime() {
        cmd.env_clear();
        for kv in env {
            let (k, v) = kv.split_once('=').unwrap();
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    // A run that hangs is killed (and fails the comparison) rather than holding up the tests.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Output {
        status: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Every file under `dir` but `skip`, by relative path, with its bytes.
fn files_under(dir: &Path, skip: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if skip.contains(&rel.as_str()) {
                continue;
            }
            if path.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                todo.push(path);
            } else {
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// WASI preview 2 components (wasm32-wasip2 Rust programs of `make components`) run through
/// chiwawa natively and through chiwawa-rt.wasm on wasmtime, node and wasmi (hosts that run
/// preview 1 modules) exactly as the wasmtime CLI runs each component directly: stdout, stderr,
/// exit status and the files written.
#[test]
fn components_run_as_the_wasmtime_cli_runs_them() {
    let test = "components_run_as_the_wasmtime_cli_runs_them";
    let Some(built) = components(test) else {
        return;
    };
    let Some((wasmtime, dist)) = wasmtime_and_dist(test) else {
        return;
    };
    let dir = TempDir::new("components-run");
    for (i, case) in COMPONENT_CASES.iter().enumerate() {
        let wasm = built.join(format!("{}.wasm", case.name));
        assert!(wasm.is_file(), "{}: make components", wasm.display());
        let image = dir.path().join(format!("{}.cwi", case.name));
        let out = translate_in(
            dir.path(),
            &[wasm.as_os_str(), "-o".as_ref(), image.as_os_str()],
        );
        assert_eq!(out.status, Some(0), "{}: {out:?}", case.name);
        let mut env_flags: Vec<&OsStr> = Vec::new();
        for kv in case.env {
            env_flags.extend([OsStr::new("--env"), OsStr::new(kv)]);
        }
        // A directory of its own for each run, holding what the run needs.
        let fresh = |host: &str, what: &Path| {
            let d = dir.path().join(format!("{i}-{host}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(what, d.join(what.file_name().unwrap())).unwrap();
            for input in case.inputs {
                std::fs::copy(built.join(input), d.join(input)).unwrap();
            }
            d
        };
        let run_dir = fresh("reference", &wasm);
        let file = format!("{}.wasm", case.name);
        let mut argv: Vec<&OsStr> = vec!["run".as_ref(), "--dir".as_ref(), ".".as_ref()];
        argv.extend(&env_flags);
        argv.push(file.as_ref());
        argv.extend(case.args.iter().map(OsStr::new));
        let want = run_piped(&run_dir, &wasmtime, &argv, case.stdin, &[]);
        let want_files = files_under(&run_dir, &[&file]);
        let cwi = format!("{}.cwi", case.name);
        let mut runs = Vec::new();
        let native_dir = fresh("native", &image);
        let mut argv: Vec<&OsStr> = vec!["--dir".as_ref(), ".".as_ref(), cwi.as_ref()];
        argv.extend(case.args.iter().map(OsStr::new));
        runs.push((
            "native",
            run_piped(&native_dir, runtime(), &argv, case.stdin, case.env),
            native_dir,
        ));
        for host in wasm_hosts() {
            let d = fresh(host, &image);
            std::fs::copy(dist.join("chiwawa-rt.wasm"), d.join("chiwawa-rt.wasm")).unwrap();
            let program = if host == "wasmtime" {
                wasmtime.clone()
            } else {
                workspace().join("hosts/bin").join(host)
            };
            let mut argv: Vec<&OsStr> = vec!["run".as_ref(), "--dir".as_ref(), ".".as_ref()];
            argv.extend(&env_flags);
            argv.extend([OsStr::new("chiwawa-rt.wasm"), OsStr::new(&cwi)]);
            argv.extend(case.args.iter().map(OsStr::new));
            runs.push((host, run_piped(&d, &program, &argv, case.stdin, &[]), d));
        }
        let cut = |stderr: &str| match case.stderr_until {
            Some(line) => stderr
                .lines()
                .take_while(|l| !l.starts_with(line))
                .collect::<Vec<_>>()
                .join("\n"),
            None => stderr.to_string(),
        };
        for (host, got, d) in runs {
            let what = format!("{} {:?} on {host}", case.name, case.args);
            let status = match (case.stderr_until, host) {
                (Some(_), "wasmi") => Some(1),
                _ => want.status,
            };
            assert_eq!(got.status, status, "{what}: {got:?}\nwant {want:?}");
            assert_eq!(got.stdout, want.stdout, "{what}");
            assert_eq!(cut(&got.stderr), cut(&want.stderr), "{what}");
            let skip = [cwi.as_str(), "chiwawa-rt.wasm"];
            assert_eq!(files_under(&d, &skip), want_files, "{what}: files");
        }
    }
}

/// Help and version text into a pipe whose reader has gone (`chiwawa-rt --help | head -1`,
/// the reader closing first): the run ends normally, without an internal error.
#[test]
fn help_into_a_closed_pipe_is_no_error() {
    for flag in ["--help", "--version"] {
        let mut child = Command::new(runtime())
            .arg(flag)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the runtime has started, so its first write finds no reader.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("internal error"), "{flag}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{flag}: {stderr}");
    }
}

/// What a test of one component needs: the wasmtime CLI, dist/, and a directory of its own
/// holding component `name` (of `make components`) as `name.wasm` and translated as `image`;
/// `None` when `test` is skipped for want of them.
fn component_test(test: &str, name: &str, image: &str) -> Option<(PathBuf, PathBuf, TempDir)> {
    let built = components(test)?;
    let (wasmtime, dist) = wasmtime_and_dist(test)?;
    let dir = TempDir::new(&format!("components-{name}"));
    let wasm = built.join(format!("{name}.wasm"));
    let out = translate_in(
        dir.path(),
        &[wasm.as_os_str(), "-o".as_ref(), image.as_ref()],
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    fs::copy(&wasm, dir.path().join(format!("{name}.wasm"))).unwrap();
    Some((wasmtime, dist, dir))
}

/// A component sees a terminal where the wasmtime CLI shows it one (`get-terminal-*`), stream
/// by stream: on a pseudo-terminal (made by util-linux's `script`), with stdout alone piped
/// on from it, and with all three streams redirected to files; natively and through
/// chiwawa-rt.wasm on each host.
#[test]
fn components_see_a_terminal_where_the_wasmtime_cli_shows_one() {
    let test = "components_see_a_terminal_where_the_wasmtime_cli_shows_one";
    let Some((wasmtime, dist, dir)) = component_test(test, "p2-tty", "tty.cwi") else {
        return;
    };
    fs::copy(
        dist.join("chiwawa-rt.wasm"),
        dir.path().join("chiwawa-rt.wasm"),
    )
    .unwrap();
    // Each way to run p2-tty, as a shell command run in `dir`.
    let mut runs = vec![
        (
            "wasmtime direct",
            format!("'{}' run p2-tty.wasm", wasmtime.display()),
        ),
        ("native", format!("'{}' tty.cwi", runtime().display())),
    ];
    for host in wasm_hosts() {
        let program = match host {
            "wasmtime" => wasmtime.clone(),
            _ => workspace().join("hosts/bin").join(host),
        };
        let command = format!(
            "'{}' run --dir . chiwawa-rt.wasm tty.cwi",
            program.display()
        );
        runs.push((host, command));
    }
    let on_terminal = |command: &str| {
        let out = Command::new("script")
            .args(["-qec", command, "/dev/null"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("util-linux's script runs");
        assert!(out.status.success(), "{command}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ways: [(&str, &str, &str); 3] = [
        (
            "on a terminal",
            "",
            "stdin true stdout true stderr true\r\n",
        ),
        (
            "stdout piped",
            " | cat",
            "stdin true stdout false stderr true\r\n",
        ),
        (
            "to files",
            " <tty.cwi >out 2>err; cat out",
            "stdin false stdout false stderr false\r\n",
        ),
    ];
    for (way, tail, want) in ways {
        for (who, command) in &runs {
            assert_eq!(
                on_terminal(&format!("{command}{tail}")),
                want,
                "{way}, {who}"
            );
        }
    }
}

/// `--strace` of a component shows each preview-2 call (arguments, result) with the
/// preview-1 calls made for it indented under it, and `--trace-out` has a slice for each,
/// named by the function, with the call; with `--deterministic` both are the same natively and
/// through chiwawa-rt.wasm on each host; clock readings and file metadata are not shown.
#[test]
fn component_straces_show_preview_2_calls_alike_on_every_host() {
    let test = "component_straces_show_preview_2_calls_alike_on_every_host";
    let Some((wasmtime, dist, dir)) = component_test(test, "p2-files", "files.cwi") else {
        return;
    };
    let flags = [
        "--deterministic",
        "--strace=trace.txt",
        "--trace-out=trace.json",
    ];
    let run_in = |name: &str| {
        let d = dir.path().join(name);
        fs::create_dir(&d).unwrap();
        fs::copy(dir.path().join("files.cwi"), d.join("files.cwi")).unwrap();
        fs::copy(dist.join("chiwawa-rt.wasm"), d.join("chiwawa-rt.wasm")).unwrap();
        d
    };
    let native = run_in("native");
    let mut args: Vec<&OsStr> = flags.iter().map(OsStr::new).collect();
    args.extend(["--dir", ".", "files.cwi"].map(OsStr::new));
    let out = run_piped(&native, runtime(), &args, "", &[]);
    assert_eq!(out.status, Some(0), "{out:?}");
    let want = fs::read_to_string(native.join("trace.txt")).unwrap();
    let want_json = fs::read_to_string(native.join("trace.json")).unwrap();
    let trace: serde_json::Value = serde_json::from_str(&want_json).unwrap();
    let host_slices: Vec<&serde_json::Value> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "host")
        .collect();
    let open = host_slices
        .iter()
        .find(|e| e["name"] == "[method]descriptor.open-at")
        .expect("a slice for open-at");
    let call = open["args"]["call"].as_str().unwrap();
    assert!(
        call.starts_with("wasi:filesystem/types#[method]descriptor.open-at(#1, "),
        "{call}"
    );
    // Every host slice is a preview-2 call, or a step of an adapter's call (allocations).
    for e in &host_slices {
        let named = e["args"]["call"]
            .as_str()
            .is_some_and(|c| c.starts_with("wasi:"));
        assert!(
            named || e["name"] == "need" || e["name"] == "give" || e["name"] == "finish",
            "{e}"
        );
    }
    for line in [
        "[strace] wasi:filesystem/types#[method]descriptor.open-at(#1, flags 0x1, \"p2-out/data.txt\", flags 0x9, flags 0x22)",
        "[strace]   path_open(3, 1, \"p2-out/data.txt\", 9, ",
        "[strace]   -> ok(#2)",
        "[strace] wasi:io/streams#[method]output-stream.write(#3, \"line one\\n\" (9 bytes))",
        "[strace] wasi:filesystem/types#[method]descriptor.stat(#2)",
        "[strace]   -> ok(...)",
        "[strace] wasi:io/streams#[resource-drop]output-stream(#3)",
    ] {
        assert!(
            want.lines().any(|l| l.starts_with(line)),
            "no line {line:?} in the trace:\n{want}"
        );
    }
    for host in wasm_hosts() {
        let d = run_in(host);
        let program = match host {
            "wasmtime" => wasmtime.clone(),
            _ => workspace().join("hosts/bin").join(host),
        };
        let mut args: Vec<&OsStr> = ["run", "--dir", ".", "chiwawa-rt.wasm"]
            .map(OsStr::new)
            .to_vec();
        args.extend(flags.iter().map(OsStr::new));
        args.push(OsStr::new("files.cwi"));
        let out = run_piped(&d, &program, &args, "", &[]);
        assert_eq!(out.status, Some(0), "{host}: {out:?}");
        let got = fs::read_to_string(d.join("trace.txt")).unwrap();
        assert_eq!(got, want, "the strace on {host}");
        let got = fs::read_to_string(d.join("trace.json")).unwrap();
        assert_eq!(got, want_json, "the trace on {host}");
    }
}

/// The hosts these tests run chiwawa-rt.wasm on: the wasmtime CLI, node, and the wasmi CLI when
/// `WASMI` is set (make test sets it).
fn wasm_hosts() -> Vec<&'static str> {
    let mut hosts = vec!["wasmtime", "node"];
    if std::env::var_os("WASMI").is_some_and(|w| !w.is_empty()) {
        hosts.push("wasmi");
    }
    hosts
}

/// chiwawa-rt.wasm (copied into `dir`) with `args` on `host` (of `wasm_hosts`), in `dir`,
/// preopened as `.`.
fn rt_wasm_on(host: &str, wasmtime: &Path, dir: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&OsStr> = vec!["chiwawa-rt.wasm".as_ref()];
    all.extend(args.iter().map(OsStr::new));
    if host == "wasmtime" {
        return wasmtime_in(wasmtime, dir, &all);
    }
    let mut argv: Vec<&OsStr> = vec!["run".as_ref(), "--dir".as_ref(), ".".as_ref()];
    argv.extend_from_slice(&all);
    run_in(dir, &workspace().join("hosts/bin").join(host), &argv)
}
