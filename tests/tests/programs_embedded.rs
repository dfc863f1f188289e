//! The programs matrix (tests/programs/) on one more host: wasmtime embedded in this test, with
//! wasmtime-wasi's preview1. Each case of `tests/programs/matrix.sh` runs twice in the same
//! engine: the program directly, and its image (written by `$CHIWAWA_DIST/chiwawa-translate`)
//! run by `$CHIWAWA_DIST/chiwawa-rt.wasm`. As in matrix.sh, stdout (for CoreMark only its
//! deterministic lines), stderr, the exit status and the directory tree afterwards (names, types,
//! file contents, link targets) must be byte-identical; for a program that traps (`trap:N`), of
//! stderr only the N lines the program wrote before the trap, the direct run must exit 134 (this
//! host's trap status), and chiwawa's stderr must go on with `error: trap: unreachable in `.
//!
//! The case list, the environment and the compare rules are read from matrix.sh itself (its
//! `CASES=(...)` and `ENV=(...)` arrays), so both runners always run the same cases;
//! `expected-differences.txt` applies with the host name `wasmtime-embedded`. Results land
//! next to matrix.sh's, in `$CARGO_TARGET_DIR/programs/matrix/CASE/wasmtime-embedded/`.
//!
//! Skipped (with a note, not a failure) when the programs (`make programs`) or dist/
//! (`make dist`) are missing; `make test` builds both before `cargo test`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

const HOST: &str = "wasmtime-embedded";
/// This host's exit status for a trap (as the wasmtime CLI's), and the line chiwawa-rt.wasm
/// writes before it traps the host in turn (matrix.sh's TRAP_STATUS and TRAP_MESSAGE).
const TRAP_STATUS: i32 = 134;
const TRAP_MESSAGE: &str = "error: trap: unreachable in ";
/// Seconds one run may take (matrix.sh's TIMEOUT), enforced through epoch interruption.
const TIMEOUT_SECS: u64 = 600;
/// The most stdout or stderr one run may write.
const OUTPUT_CAPACITY: usize = 256 << 20;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// `$VAR`, else `<workspace>/DEFAULT`; a relative path is taken from the workspace (tests run in
/// tests/, and `make` passes absolute paths anyway).
fn env_dir(var: &str, default: &str) -> PathBuf {
    let dir = std::env::var_os(var)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    workspace().join(dir)
}

/// tests/programs/: matrix.sh, expected-differences.txt and the fixtures.
fn programs_src() -> PathBuf {
    workspace().join("tests/programs")
}

// ---------------------------------------------------------------------------------------------
// The cases, from matrix.sh

#[derive(Debug)]
struct Case {
    name: String,
    program: String,
    args: Vec<String>,
    /// Relative to tests/programs/; `None` for /dev/null.
    stdin: Option<String>,
    /// Relative to tests/programs/; copied into the preopened directory.
    fixtures: Vec<String>,
    /// `all`, or `coremark`: of stdout only the size, iteration and CRC lines, or `trap:N`: a
    /// program that traps after writing N lines to stderr.
    compare: String,
}

/// The double-quoted words of `text` (matrix.sh's array elements hold no escaped quotes).
fn quoted_words(text: &str) -> Vec<String> {
    text.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, w)| w.to_string())
        .collect()
}

/// The text between `NAME=(` and its closing `)` in matrix.sh.
fn bash_array<'a>(script: &'a str, name: &str) -> &'a str {
    let open = format!("\n{name}=(");
    let start = script
        .find(&open)
        .unwrap_or_else(|| panic!("matrix.sh has no {name}=( array"))
        + open.len();
    let mut in_quotes = false;
    for (i, c) in script[start..].char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ')' if !in_quotes => return &script[start..start + i],
            _ => {}
        }
    }
    panic!("matrix.sh: {name}=( is not closed")
}

/// matrix.sh's CASES (`name|program|args|stdin|fixtures|compare`) and ENV (`NAME=VALUE`).
fn matrix_cases() -> (Vec<Case>, Vec<(String, String)>) {
    let path = programs_src().join("matrix.sh");
    let script = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<Case> = quoted_words(bash_array(&script, "CASES"))
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            assert_eq!(f.len(), 6, "matrix.sh: bad case {line:?}");
            let words = |s: &str| s.split_whitespace().map(String::from).collect();
            Case {
                name: f[0].to_string(),
                program: f[1].to_string(),
                args: words(f[2]),
                stdin: (f[3] != "/dev/null").then(|| f[3].to_string()),
                fixtures: words(f[4]),
                compare: f[5].to_string(),
            }
        })
        .collect();
    assert!(!cases.is_empty(), "matrix.sh: no cases");
    let env = quoted_words(bash_array(&script, "ENV"))
        .iter()
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("matrix.sh: bad ENV entry {pair:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    (cases, env)
}

/// The reason expected-differences.txt gives for `KIND CASE wasmtime-embedded`, if any.
fn expectation(kind: &str, case: &str) -> Option<String> {
    let text = fs::read_to_string(programs_src().join("expected-differences.txt")).ok()?;
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let matches =
            words.next() == Some(kind) && words.next() == Some(case) && words.next() == Some(HOST);
        matches.then(|| words.collect::<Vec<_>>().join(" "))
    })
}

// ---------------------------------------------------------------------------------------------
// The host

/// One engine for the whole process; a thread ticks its epoch once a second, so a run's epoch
/// deadline is its timeout in seconds.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("wasmtime engine");
        let ticker = engine.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            ticker.increment_epoch();
        });
        engine
    })
}

/// Each module compiled once per test process.
struct Modules(HashMap<PathBuf, Module>);

impl Modules {
    fn get(&mut self, path: &Path) -> Module {
        self.0
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let start = Instant::now();
                let module = Module::from_file(engine(), path)
                    .unwrap_or_else(|e| panic!("compile {}: {e:#}", path.display()));
                eprintln!(
                    "compiled {} in {:.1}s",
                    path.display(),
                    start.elapsed().as_secs_f64()
                );
                module
            })
            .clone()
    }
}

struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: i32,
    tree: Vec<(String, Entry)>,
}

/// Runs `module` with `argv` and `env`, `dir` preopened as `.`, `stdin` as stdin.
fn run(
    module: &Module,
    argv: &[String],
    env: &[(String, String)],
    dir: &Path,
    stdin: Vec<u8>,
) -> Outcome {
    let stdout = MemoryOutputPipe::new(OUTPUT_CAPACITY);
    let stderr = MemoryOutputPipe::new(OUTPUT_CAPACITY);
    let wasi = WasiCtxBuilder::new()
        .args(argv)
        .envs(env)
        .preopened_dir(dir, ".", FsPerms::ReadWrite)
        .expect("preopen")
        .stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build_p1();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine());
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).expect("link wasi");
    let mut store = Store::new(engine(), wasi);
    store.set_epoch_deadline(TIMEOUT_SECS);
    let result = linker
        .instantiate(&mut store, module)
        .and_then(|instance| instance.get_typed_func::<(), ()>(&mut store, "_start"))
        .and_then(|start| start.call(&mut store, ()));
    drop(store);
    let mut stderr = stderr.contents().to_vec();
    let status = match result {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => exit.0,
            // A trap (or a failed instantiation): 134 with the error on stderr, as the
            // wasmtime CLI does.
            None => {
                stderr.extend_from_slice(format!("Error: {e:?}\n").as_bytes());
                134
            }
        },
    };
    Outcome {
        stdout: stdout.contents().to_vec(),
        stderr,
        status,
        tree: tree_of(dir),
    }
}

/// One entry of a directory tree: what matrix.sh's `tree_of` records (no modes or times).
#[derive(PartialEq)]
enum Entry {
    File(Vec<u8>),
    Dir,
    Link(PathBuf),
    Other,
}

/// Every entry under `dir`, sorted by path (`./a`, `./a/b`, ...).
fn tree_of(dir: &Path) -> Vec<(String, Entry)> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Entry)>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("dir entry");
            let path = format!("{rel}/{}", entry.file_name().to_string_lossy());
            let t = fs::symlink_metadata(entry.path())
                .expect("lstat")
                .file_type();
            let what = if t.is_symlink() {
                Entry::Link(fs::read_link(entry.path()).expect("readlink"))
            } else if t.is_dir() {
                walk(&entry.path(), &path, out);
                Entry::Dir
            } else if t.is_file() {
                Entry::File(fs::read(entry.path()).expect("read"))
            } else {
                Entry::Other
            };
            out.push((path, what));
        }
    }
    let mut entries = Vec::new();
    walk(dir, ".", &mut entries);
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// A tree as text, one entry a line: type, path, and a file's size and hash or a link's target.
fn listing(tree: &[(String, Entry)]) -> String {
    tree.iter()
        .map(|(path, entry)| match entry {
            Entry::File(bytes) => format!("f {path} {} {:016x}\n", bytes.len(), fnv1a(bytes)),
            Entry::Dir => format!("d {path}\n"),
            Entry::Link(target) => format!("l {path} {}\n", target.display()),
            Entry::Other => format!("? {path}\n"),
        })
        .collect()
}

/// 64-bit FNV-1a: enough to tell two file contents apart in a listing.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Of CoreMark's stdout, the lines matrix.sh compares (`grep -E '^(CoreMark Size|Iterations
/// |seedcrc|\[[0-9]+\]crc)'`); the rest is timing.
fn coremark_lines(stdout: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(stdout);
    let keep = |line: &str| {
        ["CoreMark Size", "Iterations  ", "seedcrc"]
            .iter()
            .any(|p| line.starts_with(p))
            || line
                .strip_prefix('[')
                .and_then(|rest| rest.split_once("]crc"))
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    text.lines()
        .filter(|l| keep(l))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The matrix

struct Paths {
    programs: PathBuf,
    runtime: PathBuf,
    translate: PathBuf,
}

fn paths() -> Result<Paths, String> {
    let programs = env_dir("CARGO_TARGET_DIR", "target").join("programs");
    let dist = env_dir("CHIWAWA_DIST", "dist");
    let (runtime, translate) = (dist.join("chiwawa-rt.wasm"), dist.join("chiwawa-translate"));
    if !programs.is_dir() {
        return Err(format!("no {} (run `make programs`)", programs.display()));
    }
    for file in [&runtime, &translate] {
        if !file.is_file() {
            return Err(format!("no {} (run `make dist`)", file.display()));
        }
    }
    Ok(Paths {
        programs,
        runtime,
        translate,
    })
}

fn write_results(out: &Path, outcome: &Outcome) {
    fs::write(out.join("stdout"), &outcome.stdout).unwrap();
    fs::write(out.join("stderr"), &outcome.stderr).unwrap();
    fs::write(out.join("status"), format!("{}\n", outcome.status)).unwrap();
    fs::write(out.join("tree"), listing(&outcome.tree)).unwrap();
}

/// The first `n` lines of `text`, line ends included (`head -n N`).
fn first_lines(text: &[u8], n: usize) -> &[u8] {
    let mut end = 0;
    for _ in 0..n {
        match text[end..].iter().position(|&b| b == b'\n') {
            Some(i) => end += i + 1,
            None => return text,
        }
    }
    &text[..end]
}

/// Line `n` (from 1) of `text`, without its end.
fn line(text: &[u8], n: usize) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .nth(n - 1)
        .unwrap_or("")
        .to_string()
}

/// The first line where two outputs differ, for the report.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "same lines, different line ends".into(),
            (x, y) => return format!("line {n}: direct {x:?}, chiwawa {y:?}"),
        }
    }
    unreachable!()
}

#[test]
fn programs_run_identically_directly_and_through_chiwawa_in_embedded_wasmtime() {
    let paths = match paths() {
        Ok(p) => p,
        Err(why) => {
            // Under `make test` a missing artifact is a failure, never a silent pass.
            assert!(
                std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
                "{why}"
            );
            eprintln!("skipped: {why}");
            return;
        }
    };
    let (cases, env) = matrix_cases();
    let only = std::env::var("MATRIX_ONLY").ok().filter(|s| !s.is_empty());
    let work = paths.programs.join("matrix");
    let images = work.join(format!("images-{HOST}"));
    fs::create_dir_all(&images).unwrap();
    let mut modules = Modules(HashMap::new());
    let mut translated: HashMap<String, PathBuf> = HashMap::new();
    let mut table = Vec::new();
    let mut failures = Vec::new();

    for case in &cases {
        // MATRIX_ONLY: as in matrix.sh, but a plain substring or `a|b` alternatives.
        if let Some(only) = &only {
            if !only.split('|').any(|o| case.name.contains(o)) {
                continue;
            }
        }
        if let Some(why) = expectation("skip", &case.name) {
            table.push((case.name.clone(), format!("not supported: {why}")));
            continue;
        }
        let wasm = paths.programs.join(&case.program);
        assert!(
            wasm.is_file(),
            "no {} (run `make programs`)",
            wasm.display()
        );
        let stem = case.program.trim_end_matches(".wasm");
        let image_name = format!("{stem}.cwi");
        let image = translated
            .entry(case.program.clone())
            .or_insert_with(|| {
                let image = images.join(&image_name);
                let status = Command::new(&paths.translate)
                    .arg(&wasm)
                    .arg("-o")
                    .arg(&image)
                    .status()
                    .expect("run chiwawa-translate");
                assert!(
                    status.success(),
                    "chiwawa-translate failed on {}",
                    wasm.display()
                );
                image
            })
            .clone();
        let stdin = match &case.stdin {
            Some(file) => fs::read(programs_src().join(file)).unwrap(),
            None => Vec::new(),
        };

        let mut outcomes = Vec::new();
        let mut times = Vec::new();
        for mode in ["direct", "chiwawa"] {
            // A fresh copy of the same directory for both runs: program, image, fixtures.
            let out = work.join(&case.name).join(HOST).join(mode);
            let _ = fs::remove_dir_all(&out);
            let dir = out.join("dir");
            fs::create_dir_all(&dir).unwrap();
            fs::copy(&wasm, dir.join(&case.program)).unwrap();
            fs::copy(&image, dir.join(&image_name)).unwrap();
            for fixture in &case.fixtures {
                let src = programs_src().join(fixture);
                let name = src.file_name().expect("fixture file name");
                fs::copy(&src, dir.join(name)).unwrap();
            }
            let (module, argv) = if mode == "direct" {
                let argv = std::iter::once(case.program.clone())
                    .chain(case.args.iter().cloned())
                    .collect::<Vec<_>>();
                (modules.get(&wasm), argv)
            } else {
                let argv = ["chiwawa-rt.wasm", "--argv0", &case.program, &image_name]
                    .iter()
                    .map(|s| s.to_string())
                    .chain(case.args.iter().cloned())
                    .collect::<Vec<_>>();
                (modules.get(&paths.runtime), argv)
            };
            let start = Instant::now();
            let mut outcome = run(&module, &argv, &env, &dir, stdin.clone());
            times.push(start.elapsed().as_secs_f64());
            write_results(&out, &outcome);
            if case.compare == "coremark" {
                outcome.stdout = coremark_lines(&outcome.stdout);
            }
            outcomes.push(outcome);
        }

        let (direct, chiwawa) = (&outcomes[0], &outcomes[1]);
        let timing = format!("{:.1}s / {:.1}s", times[0], times[1]);
        let mut diffs = Vec::new();
        if direct.stdout != chiwawa.stdout {
            diffs.push(format!(
                "stdout ({})",
                first_difference(&direct.stdout, &chiwawa.stdout)
            ));
        }
        // A program that traps: of stderr only its own first N lines; the rest is the host's
        // report of the trap (of the program, or of chiwawa-rt.wasm), which differs by nature.
        let trap_lines = case.compare.strip_prefix("trap:").map(|n| {
            n.parse::<usize>()
                .expect("matrix.sh: trap:N wants a number")
        });
        let (direct_err, chiwawa_err) = match trap_lines {
            Some(n) => (
                first_lines(&direct.stderr, n),
                first_lines(&chiwawa.stderr, n),
            ),
            None => (&direct.stderr[..], &chiwawa.stderr[..]),
        };
        if direct_err != chiwawa_err {
            diffs.push(format!(
                "stderr ({})",
                first_difference(direct_err, chiwawa_err)
            ));
        }
        if let Some(n) = trap_lines {
            if direct.status != TRAP_STATUS {
                diffs.push(format!(
                    "trap-status (direct {}, want {TRAP_STATUS})",
                    direct.status
                ));
            }
            let message = line(&chiwawa.stderr, n + 1);
            if !message.starts_with(TRAP_MESSAGE) {
                diffs.push(format!(
                    "trap-message (chiwawa's stderr line {}: {message:?})",
                    n + 1
                ));
            }
        }
        if direct.status != chiwawa.status {
            diffs.push(format!(
                "status (direct {}, chiwawa {})",
                direct.status, chiwawa.status
            ));
        }
        if direct.tree != chiwawa.tree {
            diffs.push(format!(
                "tree ({})",
                first_difference(
                    listing(&direct.tree).as_bytes(),
                    listing(&chiwawa.tree).as_bytes(),
                )
            ));
        }
        let result = if diffs.is_empty() {
            format!("identical (exit {}; {timing})", direct.status)
        } else {
            let dir = work.join(&case.name).join(HOST);
            eprintln!(
                "---- {} on {HOST}: chiwawa differs (results in {}):\n  {}",
                case.name,
                dir.display(),
                diffs.join("\n  ")
            );
            match expectation("differs", &case.name) {
                Some(why) => format!("differs (expected: {why})"),
                None => {
                    failures.push(case.name.clone());
                    let parts: Vec<&str> = diffs
                        .iter()
                        .map(|d| d.split(' ').next().unwrap_or(""))
                        .collect();
                    format!("DIFFERS in {}", parts.join(" "))
                }
            }
        };
        table.push((case.name.clone(), result));
    }

    eprintln!("\n== programs on {HOST}: run directly vs. through chiwawa-rt.wasm");
    eprintln!("   (times: direct / through chiwawa)");
    for (name, result) in &table {
        eprintln!("{name:<16} {HOST} {result}");
    }
    assert!(
        failures.is_empty(),
        "chiwawa differs from the direct run on {HOST} in: {}",
        failures.join(", ")
    );
}
