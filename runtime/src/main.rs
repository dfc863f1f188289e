//! `chiwawa-rt [--invoke NAME] [--argv0 NAME] [--dir HOST[::GUEST]] IMAGE [ARGS...]`
//! `chiwawa-rt --cache DIR [OPTIONS] MODULE.wasm [ARGS...]`
//! `chiwawa-rt --restore SNAPSHOT [OPTIONS] IMAGE`
//!
//! Loads a chiwawa image (or, with `--cache`, the cached image of a Wasm module, found by the
//! module's cache key), checks it, links it to WASI and runs it: its `_start`, or with
//! `--invoke` one exported function whose results are printed as `wasmtime run --invoke` prints
//! them. Everything after IMAGE belongs to the guest, even arguments that look like options.
//!
//! Exit status: the guest's `proc_exit` code; 0 when it returns; 1 when the runtime cannot start
//! the guest (one line on stderr naming the image); 2 for a bad command line; 70 for an internal
//! error of the runtime (a bug: `chiwawa-rt: internal error: ...` on stderr). A guest trap prints
//! `error: trap: <kind> in <function>` and then ends the process as a trap ends it on this
//! host: in a Wasm host chiwawa-rt.wasm itself traps, so every host reports and exits exactly as
//! it does when a module it runs directly traps; natively the status is 134, as wasmtime's.
//!
//! `--startup-report` prints one line on stderr just before the guest's first instruction:
//! `chiwawa-rt: startup-report {JSON}` with the phases of start-up in microseconds, read from the
//! monotonic clock (in a Wasm host, WASI's `clock_time_get(monotonic)`) from the start of `main`:
//! `read_us` (command line and reading the file), `check_us` (copy into an aligned buffer, header,
//! checksum, bytecheck), `verify_us` (the verifier), `instantiate_us` (WASI linking, memories,
//! segments, start function), `total_us`; then `image_bytes`, `code_bytes` (register code),
//! `functions` (defined ones), `code_groups` and how many were read so far
//! (`code_groups_checked`, `code_read_bytes`). When `_start` returns or exits, a second line
//! `chiwawa-rt: code-report {JSON}` gives the same code counts for the whole run.

mod abi;

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use chiwawa_cache::{Cache, Inputs, Lookup};
use chiwawa_format::snapshot::{self, Snapshot};
use chiwawa_format::{ImageBuf, LoadedImage};
use chiwawa_runtime::profile::TraceOptions;
use chiwawa_runtime::wasi::{self, WasiCtx};
use chiwawa_runtime::{checkpoint, component, meter};
use chiwawa_runtime::{
    CheckedImage, Engine, Error, ErrorKind, Extern, FileCode, Func, Instance, Linker, LoadError,
    Module, Store, Trap, TrapKind, Val, ValType, VerifyMode,
};

const NAME: &str = "chiwawa-rt";
const USAGE: &str = "usage: chiwawa-rt [--invoke NAME] [--argv0 NAME] [--dir HOST[::GUEST]] \
                     [--cache DIR] [--verify=eager|lazy] [--startup-report] \
                     [--checkpoint PATH [--checkpoint-after N] [--checkpoint-every N] \
                     [--checkpoint-trigger FILE]] IMAGE [ARGS...]\n       \
                     chiwawa-rt --restore PATH [--checkpoint PATH ...] [OPTIONS] IMAGE";
const HELP: &str = "\
Runs a chiwawa image (.cwi, written by chiwawa-translate): of a module, or of a WASI preview 2
component (a wasm32-wasip2 command, its preview-2 calls served over the host's preview 1;
--invoke, --checkpoint and --restore do not apply to components yet).

Options (before IMAGE; everything after IMAGE goes to the guest unchanged):
  --invoke NAME        call the exported function NAME with ARGS as its parameters and print its
                       results, one a line (after running _initialize if the module exports it)
  --argv0 NAME         the guest's argv[0] (default: IMAGE as given)
  --dir HOST[::GUEST]  give the guest the host directory HOST, named GUEST (native runtime only;
                       in a Wasm host the guest sees the directories the host gave the runtime)
  --verify=eager|lazy  when to verify function code: all of it at load (eager), or each
                       function on its first entry (lazy, the default; a function that fails
                       is never run and the image is refused then, exit status 1)
  --startup-report     print one line on stderr before the guest's first instruction: the
                       start-up phases in microseconds (JSON after \"chiwawa-rt: startup-report \");
                       with --restore, the snapshot's size and the time to restore it
                       (\"restore-report\"); for each checkpoint written, its count, size and
                       the time from the safe point to the file written (\"checkpoint-report\")
  --cache DIR          IMAGE is a WebAssembly module: run its image from the cache DIR (filled by
                       chiwawa-translate --cache-dir DIR MODULE.wasm), after the same checks as any
                       image; a missing or damaged entry is an error (the runtime never translates)
  --checkpoint PATH    when the guest calls the import chiwawa.checkpoint (() -> i32), write
                       its whole state to PATH (a .cws snapshot, atomically: a temporary file,
                       then a rename) and stop, exit status 75; --restore goes on from there,
                       the call returning 0. Without --checkpoint the call returns 1
  --checkpoint-after N checkpoint to PATH and stop once the guest has executed N instructions
                       (chiwawa's instructions, counted exactly: the snapshot is taken at the
                       first taken branch, call or return from there, the same on every host;
                       counts go on across --restore, so N is the total since the run began)
  --checkpoint-every N checkpoint to PATH, replacing it, at every multiple of N instructions, and
                       go on
  --checkpoint-trigger FILE
                       checkpoint to PATH and stop once FILE exists (looked for every 2^22
                       instructions; FILE is removed once the snapshot is written)
  --restore PATH       resume the run saved in the snapshot PATH, of this IMAGE, on any host:
                       argv and environment come from the snapshot, the host must give the same
                       directories again, in which the guest's open files are opened again at
                       their offsets; a snapshot of another image, damaged or crafted, is an
                       error naming PATH
  --stats              once the guest stops (however it stops), print the run's statistics on
                       stderr as JSON: instructions executed (the unit of --checkpoint-after and
                       --fuel; a restored run counts on from its snapshot's count), calls, the
                       20 functions that executed most, every opcode executed with its count,
                       the memories' size, WASI calls by function and the bytes they read and
                       wrote, the image's sizes (docs/design.md)
  --stats-out FILE     the same statistics written to FILE
  --deterministic      the guest's clocks read the executed instructions as nanoseconds (plus
                       the time it slept), random_get gives a stream seeded by that count, and
                       files have device 0, inodes hashed from their paths and times 0: one
                       input runs the same on every host (give it again with --restore)
  --fuel N             stop the guest once it has executed N instructions (the unit of
                       --checkpoint-after, counted in this run), as a trap naming the limit
  --timeout DURATION   stop the guest once DURATION (500ms, 2s, 5m, 1h) of wall-clock time has
                       passed, as a trap naming the limit (the clock is looked at every 2^20
                       instructions; a guest blocked in a host call is stopped after it returns)
  --max-memory BYTES   memory.grow beyond BYTES (K, M, G: KiB, MiB, GiB) returns -1, as
                       wasmtime's memory limit does
  --max-stack BYTES    the interpreter's value and call stacks together (default 16M): a deeper
                       recursion traps with \"call stack exhausted\"
  --strace[=FILE]      a line for every WASI call of the guest on stderr (or FILE): the
                       function, its arguments (paths and up to 32 bytes of a read or write
                       shown), the errno and what it returned (bytes, descriptor, offset)
  --trace-out FILE     once the guest stops, write its calls to FILE as Chrome trace-event JSON
                       (Perfetto, chrome://tracing): a slice per call, named from the name
                       section, and a slice per WASI call with its arguments and errno (as
                       --strace shows them); at most 1,000,000 slices (a note says how many more)
  --trace KINDS        what is traced: calls, wasi, or calls,wasi (the default)
  --trace-clock CLOCK  the trace's clock: instructions (the default: executed instructions, shown
                       as microseconds, the same on every host; WASI calls take none) or wall
                       (real time since the run began)
  --trace-depth N      trace calls down to N deep only
  --profile FILE       once the guest stops, write the instructions it executed by call stack
                       to FILE as folded stacks (\"main;foo;bar 123\", what flame graph tools
                       read): exact counts, adding up to the run's instructions; a FILE
                       ending in .svg gets a flame graph of them instead
  -h, --help           print this help
  -V, --version        print the version

Exit status: the guest's proc_exit status, 0 if it returns, 1 if the image cannot be run (or a
checkpoint cannot be written, or a snapshot not restored), 2 for a bad command line, 70 for an
internal error of the runtime, 75 when the run stopped at a checkpoint it wrote. If the guest traps, the
runtime prints the trap and then traps itself, so the host ends it as it ends any trapping
module (the native runtime exits with status 134).";

/// Exit status of a guest that trapped, natively (as `wasmtime run`: 128 + SIGABRT).
#[cfg(not(target_family = "wasm"))]
const TRAP_STATUS: i32 = 134;

/// Exit status of an internal error (a panic: a bug of the runtime, never the guest's doing),
/// `EX_SOFTWARE` of sysexits.h; below 126, so every WASI host passes it on.
const INTERNAL_ERROR_STATUS: i32 = 70;

/// The command line.
struct Cli {
    invoke: Option<String>,
    argv0: Option<String>,
    /// `(host, guest)` directory pairs.
    dirs: Vec<(String, String)>,
    /// `--cache DIR`: `image` is a Wasm module whose cached image runs.
    cache: Option<String>,
    /// `--startup-report`.
    startup_report: bool,
    /// `--verify=eager|lazy`.
    verify: VerifyMode,
    /// `--checkpoint PATH`: where the guest's checkpoints go.
    checkpoint: Option<String>,
    /// `--checkpoint-after N`, `--checkpoint-every N`, `--checkpoint-trigger FILE`.
    triggers: Triggers,
    /// `--stats-out FILE`.
    stats_out: Option<String>,
    /// `--stats`: the statistics on stderr.
    stats: bool,
    /// `--deterministic`: clocks, random bytes and file identities from the run itself.
    deterministic: bool,
    /// `--fuel`, `--timeout`, `--max-memory`, `--max-stack`.
    limits: Limits,
    /// `--strace` (`Some(None)`: on stderr) or `--strace=FILE`.
    strace: Option<Option<String>>,
    /// `--profile FILE`: folded stacks.
    profile: Option<String>,
    /// `--trace-out FILE`: the calls as Chrome trace-event JSON; `--trace-depth N`.
    trace_out: Option<String>,
    trace_depth: u32,
    /// `--trace KINDS`: guest calls, WASI calls; `--trace-clock wall`.
    trace_calls: bool,
    trace_wasi: bool,
    trace_wall: bool,
    /// `--restore PATH`: the snapshot to resume.
    restore: Option<String>,
    image: String,
    /// The guest's arguments after `argv[0]`, or the values for `--invoke`.
    args: Vec<String>,
}

/// Why the runtime stops before the guest has finished normally.
enum Stop {
    /// Help or version was printed.
    Done,
    /// A bad command line: message, exit 2.
    Usage(String),
    /// The runtime cannot go on: one line naming `file`, exit 1.
    Error { file: String, problem: String },
    /// The guest trapped: ends the process as a trap (`end_with_trap`).
    Trap(Trap),
    /// The guest called `proc_exit`.
    Exit(u32),
    /// The run stopped at a checkpoint it wrote (`--checkpoint`).
    Checkpointed,
}

/// How often `--checkpoint-trigger` looks for its file, in executed instructions.
const TRIGGER_POLL: u64 = 1 << 22;

/// The checkpoints taken at instruction counts (`--checkpoint-after`, `--checkpoint-every`) or
/// when a file appears (`--checkpoint-trigger`).
#[derive(Default)]
struct Triggers {
    after: Option<u64>,
    every: Option<u64>,
    file: Option<String>,
}

impl Triggers {
    fn any(&self) -> bool {
        self.after.is_some() || self.every.is_some() || self.file.is_some()
    }

    /// The meter that takes these checkpoints and enforces `limits`' fuel and timeout,
    /// counting on from `executed` instructions; `stop_after` tells the sink whether a
    /// checkpoint stops the run, `fired` gets the time of each checkpoint asked for.
    fn meter(
        &self,
        limits: &Limits,
        executed: u64,
        stop_after: Rc<Cell<bool>>,
        fired: Rc<Cell<Option<Instant>>>,
    ) -> meter::Meter {
        let (after, every, file) = (self.after, self.every, self.file.clone());
        // Fuel counts this run's instructions; the clock is looked at every TIMEOUT_POLL.
        let start = executed;
        let fuel_end = limits.fuel.map(|f| executed.saturating_add(f));
        let fuel = limits.fuel;
        let timeout = limits.timeout.clone();
        let deadline = timeout.as_ref().map(|(d, _)| Instant::now() + *d);
        let mut next_clock = if deadline.is_some() {
            executed
        } else {
            u64::MAX
        };
        // The next multiple of `every` above `n`.
        let every_after =
            move |n: u64| every.map_or(u64::MAX, |e| (n / e).saturating_add(1).saturating_mul(e));
        let mut next_every = every_after(executed);
        let mut next_poll = if file.is_some() { executed } else { u64::MAX };
        let next = move |next_every: u64, next_poll: u64, next_clock: u64| {
            after
                .unwrap_or(u64::MAX)
                .min(next_every)
                .min(next_poll)
                .min(next_clock)
                .min(fuel_end.unwrap_or(u64::MAX))
        };
        let first = next(next_every, next_poll, next_clock);
        let at = fired;
        let hook = move |executed: u64| {
            if let (Some(end), Some(fuel)) = (fuel_end, fuel) {
                if executed >= end {
                    return meter::Action::Stop(Trap::new(TrapKind::Limit(format!(
                        "fuel exhausted: {} instructions executed (--fuel {fuel})",
                        executed - start
                    ))));
                }
            }
            if next_clock <= executed {
                next_clock = executed.saturating_add(TIMEOUT_POLL);
                if let (Some(deadline), Some((_, given))) = (deadline, &timeout) {
                    if Instant::now() >= deadline {
                        return meter::Action::Stop(Trap::new(TrapKind::Limit(format!(
                            "timeout: {given} elapsed (--timeout {given})"
                        ))));
                    }
                }
            }
            let mut fired = after.is_some_and(|a| executed >= a);
            if next_poll <= executed {
                next_poll = executed.saturating_add(TRIGGER_POLL);
                if let Some(file) = file.as_deref().filter(|f| std::path::Path::new(f).exists()) {
                    // Gone once acted on, so that touching it again asks for the next one.
                    let _ = std::fs::remove_file(file);
                    fired = true;
                }
            }
            if fired {
                stop_after.set(true);
                at.set(Some(Instant::now()));
                return meter::Action::Checkpoint(None);
            }
            if next_every <= executed {
                next_every = every_after(executed);
                stop_after.set(false);
                at.set(Some(Instant::now()));
                return meter::Action::Checkpoint(Some(next(next_every, next_poll, next_clock)));
            }
            meter::Action::Continue(next(next_every, next_poll, next_clock))
        };
        meter::Meter::new(executed, first, Box::new(hook))
    }
}

/// The most calls `--trace-out` records.
const MAX_SLICES: usize = 1_000_000;

/// How often `--timeout` looks at the clock, in executed instructions.
const TIMEOUT_POLL: u64 = 1 << 20;

/// The guest's limits: `--fuel N`, `--timeout DURATION` (the duration and its text),
/// `--max-memory BYTES`, `--max-stack BYTES`.
#[derive(Default)]
struct Limits {
    fuel: Option<u64>,
    timeout: Option<(Duration, String)>,
    max_memory: Option<u64>,
    max_stack: Option<usize>,
}

impl Cli {
    /// Whether the run's statistics are asked for (`--stats`, `--stats-out`).
    fn wants_stats(&self) -> bool {
        self.stats || self.stats_out.is_some()
    }
}

impl Limits {
    /// Whether a limit needs instructions counted.
    fn counted(&self) -> bool {
        self.fuel.is_some() || self.timeout.is_some()
    }
}

/// A duration given to `opt`: a number and a unit, `ms`, `s`, `m` or `h` (`500ms`, `2s`).
fn duration(opt: &str, value: &str) -> Result<(Duration, String), Stop> {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let n: Option<u64> = number.parse().ok().filter(|&n| n > 0);
    let ms = match (n, unit) {
        (Some(n), "ms") => Some(n),
        (Some(n), "s") => n.checked_mul(1_000),
        (Some(n), "m") => n.checked_mul(60_000),
        (Some(n), "h") => n.checked_mul(3_600_000),
        _ => None,
    };
    match ms {
        Some(ms) => Ok((Duration::from_millis(ms), value.to_string())),
        None => Err(Stop::Usage(format!(
            "{opt} {value}: expected a duration above 0 such as 500ms, 2s, 5m or 1h"
        ))),
    }
}

/// A size in bytes given to `opt`: a number, optionally with K, M or G (powers of 1024).
fn bytes(opt: &str, value: &str) -> Result<u64, Stop> {
    let (number, shift) = match value.strip_suffix(['K', 'k']) {
        Some(n) => (n, 10),
        None => match value.strip_suffix(['M', 'm']) {
            Some(n) => (n, 20),
            None => match value.strip_suffix(['G', 'g']) {
                Some(n) => (n, 30),
                None => (value, 0),
            },
        },
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| {
            Stop::Usage(format!(
                "{opt} {value}: expected a number of bytes, with K, M or G for KiB, MiB, GiB"
            ))
        })
}

/// An instruction count given to `opt`.
fn count(opt: &str, value: &str) -> Result<u64, Stop> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Stop::Usage(format!(
            "{opt} {value}: expected a count of instructions above 0"
        ))),
    }
}

/// Exit status of a run that stopped at a checkpoint: `EX_TEMPFAIL` of sysexits.h ("try again
/// later": resume it with --restore); below 126, so every WASI host passes it on.
const CHECKPOINTED_STATUS: i32 = 75;

fn fail(file: &str, problem: impl std::fmt::Display) -> Stop {
    Stop::Error {
        file: file.to_string(),
        problem: problem.to_string(),
    }
}

impl From<Trap> for Stop {
    fn from(trap: Trap) -> Stop {
        match trap.kind {
            TrapKind::Exit(code) => Stop::Exit(code),
            _ => Stop::Trap(trap),
        }
    }
}

/// An error of a call into the guest: its trap or exit, or a failure naming the image.
fn stop(image: &str, error: Error) -> Stop {
    let message = error.to_string();
    match error.into_trap() {
        Some(trap) => Stop::from(trap),
        None => fail(image, message),
    }
}

fn main() {
    // The first thing the runtime does, so that `--startup-report` covers all of start-up.
    let started = Instant::now();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{NAME}: internal error: {info} (a bug of chiwawa; please report it)");
        std::process::exit(INTERNAL_ERROR_STATUS);
    }));
    // A deliberate internal error, for the test that checks how one ends the process.
    if std::env::var_os("CHIWAWA_TEST_INTERNAL_ERROR").is_some() {
        panic!("CHIWAWA_TEST_INTERNAL_ERROR is set");
    }
    let status = match run(started) {
        Ok(()) | Err(Stop::Done) => 0,
        Err(Stop::Usage(msg)) => {
            eprintln!("{NAME}: error: {msg}\n{USAGE}");
            2
        }
        Err(Stop::Error { file, problem }) => {
            eprintln!("{NAME}: error: {file}: {problem}");
            1
        }
        Err(Stop::Trap(trap)) => {
            eprintln!("error: trap: {trap}");
            end_with_trap()
        }
        // Statuses above 255 wrap, as they do for a native process and under wasmtime.
        Err(Stop::Exit(code)) => code as i32,
        Err(Stop::Checkpointed) => CHECKPOINTED_STATUS,
    };
    // `exit` flushes stdout; everything the guest owned was dropped when `run` returned.
    std::process::exit(status);
}

/// Ends the process as a trap in a directly run module ends it on this host (principle 10): in a
/// Wasm host by trapping, after the guest's output is flushed; natively with exit status 134.
fn end_with_trap() -> ! {
    let _ = io::stdout().flush();
    #[cfg(target_family = "wasm")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_family = "wasm"))]
    std::process::exit(TRAP_STATUS);
}

/// The clock stamps of start-up, for `--startup-report`.
struct Startup {
    started: Instant,
    last: Instant,
    phases: Vec<(&'static str, Duration)>,
}

impl Startup {
    fn new(started: Instant) -> Startup {
        Startup {
            started,
            last: started,
            phases: Vec::new(),
        }
    }

    /// Ends the phase `name` now.
    fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases.push((name, now - self.last));
        self.last = now;
    }

    /// The report line (without the prefix): the phases, the total and the image's sizes.
    fn report(&self, image: &CheckedImage) -> String {
        let module = image.module();
        let mode = match image.mode() {
            VerifyMode::Eager => "eager",
            VerifyMode::Lazy => "lazy",
        };
        let mut line = format!("{{\"verify\":\"{mode}\",");
        for (name, time) in &self.phases {
            line.push_str(&format!("\"{name}_us\":{},", time.as_micros()));
        }
        line.push_str(&format!(
            "\"total_us\":{},\"image_bytes\":{},\"code_bytes\":{},\"functions\":{},{}}}",
            (self.last - self.started).as_micros(),
            image.image().len(),
            code_bytes(image),
            module.funcs.len(),
            code_read(image),
        ));
        line
    }

    /// The statistics' `startup` object: the image's sizes and, with the wall clock
    /// (`--trace-clock wall`), the phases so far in microseconds (without it the statistics
    /// hold nothing that depends on the host's clock); empty when no statistics are asked for.
    fn stats(&self, image: &CheckedImage, cli: &Cli) -> String {
        if !cli.wants_stats() {
            return String::new();
        }
        let mut out = format!(
            "{{\"image_bytes\": {}, \"code_bytes\": {}, \"functions\": {}",
            image.image().len(),
            code_bytes(image),
            image.module().funcs.len()
        );
        if cli.trace_wall {
            for (name, time) in &self.phases {
                out.push_str(&format!(", \"{name}_us\": {}", time.as_micros()));
            }
        }
        out.push('}');
        out
    }
}

/// The image's register code in bytes.
fn code_bytes(image: &CheckedImage) -> u64 {
    2 * u64::from(image.image().header().code_units)
}

/// The code groups and how many of them were read so far, as JSON fields.
fn code_read(image: &CheckedImage) -> String {
    let (groups_read, bytes_read) = image.image().code_loaded();
    format!(
        "\"code_groups\":{},\"code_groups_checked\":{groups_read},\"code_read_bytes\":{bytes_read}",
        image.module().code_groups.len()
    )
}

fn run(started: Instant) -> Result<(), Stop> {
    let cli = parse_args(std::env::args_os().skip(1))?;
    run_image(&cli, Startup::new(started)).map_err(|stop| match stop {
        // Lazy verification refused a function about to run: the image is invalid, as if the
        // verifier had refused it at load.
        Stop::Trap(trap) if matches!(trap.kind, TrapKind::InvalidCode(_)) => fail(&cli.image, trap),
        stop => stop,
    })
}

fn run_image(cli: &Cli, mut startup: Startup) -> Result<(), Stop> {
    // The image file stays open for reading code on demand; under a Wasm host its descriptor is
    // hidden from the guest (`hidden_fd`).
    let (image, path, hidden_fd) = match &cli.cache {
        Some(dir) => {
            let (bytes, path) = read_from_cache(dir, &cli.image)?;
            startup.mark("read");
            if component::is_component_image(&bytes) {
                return run_component(cli, startup, &bytes, &path);
            }
            (chiwawa_runtime::check_image(&bytes), path, None)
        }
        None => {
            let (head, file) = match read_file(&cli.image)? {
                ImageFile::Module(head, file) => (head, file),
                ImageFile::Component(bytes) => {
                    startup.mark("read");
                    return run_component(cli, startup, &bytes, &cli.image);
                }
            };
            startup.mark("read");
            let hidden = fd_to_hide(&file);
            let image = LoadedImage::from_head(head, Box::new(FileCode(file)));
            (image.map_err(LoadError::Image), cli.image.clone(), hidden)
        }
    };
    let image = image.map_err(|e| fail(&path, e))?;
    startup.mark("check");
    let image = chiwawa_runtime::verify_image(image, cli.verify).map_err(|e| fail(&path, e))?;
    startup.mark("verify");

    let snapshot = match &cli.restore {
        Some(path) => Some((Instant::now(), read_snapshot(path)?)),
        None => None,
    };
    let snapshot_read = snapshot.as_ref().map(|(at, (_, bytes))| (*at, *bytes));
    let snapshot = snapshot.map(|(_, (snap, _))| snap);
    let guest_args = match &snapshot {
        Some(snap) => snap.args.clone(),
        None => {
            let mut args = Vec::with_capacity(cli.args.len() + 1);
            args.push(cli.argv0.clone().unwrap_or_else(|| cli.image.clone()));
            if cli.invoke.is_none() {
                args.extend(cli.args.iter().cloned());
            }
            args
        }
    };
    let env = snapshot.as_ref().map(|snap| snap.env.clone());
    let ctx = guest_ctx(cli, guest_args, env, hidden_fd)?;

    let module = Module::from_checked(image);
    let image = module.image();
    let mut store = Store::new(&Engine::default(), ());
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &ctx);
    // What the checkpoint sink did (it stops the run either way): wrote the snapshot, or failed
    // (the error names the file).
    let checkpoint_done: Rc<RefCell<Option<Result<(), String>>>> = Rc::default();
    // Whether the next checkpoint stops the run (all do, but --checkpoint-every's).
    let stop_after = Rc::new(Cell::new(true));
    // When the meter asked for the checkpoint being written (`--startup-report`).
    let fired: Rc<Cell<Option<Instant>>> = Rc::default();
    match &cli.checkpoint {
        Some(path) => {
            checkpoint::add_to_linker(&mut linker).map_err(|e| fail(&cli.image, e))?;
            let sink = checkpoint_sink(
                path.clone(),
                Rc::clone(&ctx),
                Rc::clone(&checkpoint_done),
                Rc::clone(&stop_after),
                cli.startup_report.then(|| Rc::clone(&fired)),
            );
            checkpoint::set_store_sink(&mut store, sink);
        }
        None => {
            // Without --checkpoint a guest's request is answered "not taken" and it goes on.
            let (module, name) = checkpoint::IMPORT;
            linker
                .func_wrap(module, name, |_: chiwawa_runtime::Caller<'_, ()>| 1i32)
                .map_err(|e| fail(&cli.image, e))?;
        }
    }
    let executed = snapshot.as_ref().map_or(0, |snap| snap.instructions);
    configure_store(cli, &mut store, &ctx, executed, stop_after, fired);
    let failed = |stop: Stop| match checkpoint_done.borrow_mut().take() {
        Some(Ok(())) => Stop::Checkpointed,
        Some(Err(problem)) => fail(cli.checkpoint.as_deref().unwrap_or_default(), problem),
        None => stop,
    };
    if let (Some(snap), Some(path)) = (&snapshot, &cli.restore) {
        let read = snapshot_read.filter(|_| cli.startup_report);
        let result = restore_and_run(cli, path, snap, read, &ctx, &linker, &mut store, &module)
            .map_err(failed);
        let facts = startup.stats(image, cli);
        return write_outputs(cli, &store, &ctx, &facts, result);
    }
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| stop(&cli.image, e))?;
    startup.mark("instantiate");
    // Printed once, just before the first guest instruction of the entry function, after
    // verifying the entry functions' code in lazy mode (the phase `verify_entry`).
    let mut report = |store: &Store<()>, entries: &[Option<Func>]| -> Result<(), Stop> {
        for func in entries.iter().flatten() {
            func.verify(store).map_err(|e| stop(&cli.image, e))?;
        }
        startup.mark("verify_entry");
        if cli.startup_report {
            eprintln!("{NAME}: startup-report {}", startup.report(image));
        }
        Ok(())
    };

    match &cli.invoke {
        None => {
            let start = exported_func(&store, instance, "_start");
            report(&store, &[start])?;
            let facts = startup.stats(image, cli);
            let result = match start {
                Some(start) => call_no_args(&mut store, start, &cli.image, "_start"),
                None => Ok(()),
            }
            .map_err(failed);
            let result = write_outputs(cli, &store, &ctx, &facts, result);
            if cli.startup_report {
                // How much of the code the whole run read (lazy mode reads it as it is entered).
                let _ = io::stdout().flush();
                eprintln!(
                    "{NAME}: code-report {{{},\"code_bytes\":{}}}",
                    code_read(image),
                    code_bytes(image)
                );
            }
            result
        }
        Some(name) => {
            let init = exported_func(&store, instance, "_initialize");
            let func = exported_func(&store, instance, name);
            report(&store, &[init, func])?;
            let facts = startup.stats(image, cli);
            if let Some(init) = init {
                call_no_args(&mut store, init, &cli.image, "_initialize")?;
            }
            let func =
                func.ok_or_else(|| fail(&cli.image, format!("no exported function named {name}")))?;
            let ty = func.ty(&store).map_err(|e| fail(&cli.image, e))?;
            let args =
                parse_values(name, ty.params(), &cli.args).map_err(|e| fail(&cli.image, e))?;
            let mut results = vec![Val::I32(0); ty.results().len()];
            let result = func
                .call(&mut store, &args, &mut results)
                .map_err(|e| stop(&cli.image, e));
            write_outputs(cli, &store, &ctx, &facts, result)?;
            print_results(&results)
        }
    }
}

/// Runs a component image (`bytes`, read from `path`): a WASI preview 2 command, its imports
/// served over preview 1 ([`component::wasip2`]). The options that act on the store (limits,
/// counting, --strace, --deterministic, statistics, profiles, traces) apply as to a module;
/// checkpoints and --invoke do not yet.
fn run_component(cli: &Cli, mut startup: Startup, bytes: &[u8], path: &str) -> Result<(), Stop> {
    let refused = if cli.checkpoint.is_some() || cli.restore.is_some() {
        Some("--checkpoint and --restore")
    } else if cli.invoke.is_some() {
        Some("--invoke")
    } else {
        None
    };
    if let Some(options) = refused {
        return Err(fail(
            path,
            format!("{options} are not supported for components yet (docs/components.md)"),
        ));
    }
    let image = component::ComponentImage::load(bytes, cli.verify).map_err(|e| fail(path, e))?;
    startup.mark("check");
    let mut guest_args = vec![cli.argv0.clone().unwrap_or_else(|| cli.image.clone())];
    guest_args.extend(cli.args.iter().cloned());
    let ctx = guest_ctx(cli, guest_args, None, None)?;
    let host = Rc::new(RefCell::new(component::wasip2::Host::new(Rc::clone(&ctx))));
    let mut store = Store::new(&Engine::default(), ());
    configure_store(cli, &mut store, &ctx, 0, Rc::default(), Rc::default());
    let (run, post_return) = image
        .instantiate(&mut store, &host)
        .map_err(|e| stop(path, e))?;
    startup.mark("instantiate");
    run.verify(&store).map_err(|e| stop(path, e))?;
    let main = &image.modules()[image.main_module()];
    if cli.startup_report {
        eprintln!("{NAME}: startup-report {}", startup.report(main.image()));
    }
    let facts = startup.stats(main.image(), cli);
    let result = run
        .typed::<(), i32, _>(&store)
        .map_err(|e| fail(path, e))
        .and_then(|run| run.call(&mut store, ()).map_err(|e| stop(path, e)));
    // The post-return function takes what `run` returned, once the caller has read it.
    let result = match (result, post_return) {
        (Ok(returned), Some(post)) => post
            .call(&mut store, &[Val::I32(returned)], &mut [])
            .map(|()| returned)
            .map_err(|e| stop(path, e)),
        (result, _) => result,
    };
    let result = match result {
        // `run` returned `result::ok`, or `err` (exit status 1, as the wasmtime CLI ends).
        Ok(0) => Ok(()),
        Ok(_) => Err(Stop::Exit(1)),
        Err(stop) => Err(stop),
    };
    write_outputs(cli, &store, &ctx, &facts, result)
}

/// The guest's WASI context: its argv, the environment (a snapshot's, else the host's), the
/// runtime's own descriptor hidden, `--strace`, `--dir`.
fn guest_ctx(
    cli: &Cli,
    guest_args: Vec<String>,
    env: Option<Vec<String>>,
    hidden_fd: Option<u32>,
) -> Result<Rc<RefCell<WasiCtx>>, Stop> {
    let ctx = Rc::new(RefCell::new(WasiCtx::new(guest_args)));
    if let Some(env) = env {
        ctx.borrow_mut().set_env(env);
    }
    if let Some(fd) = hidden_fd {
        ctx.borrow_mut().hide_fd(fd);
    }
    match &cli.strace {
        Some(None) => ctx.borrow_mut().set_strace(Box::new(io::stderr())),
        Some(Some(path)) => {
            let file = std::fs::File::create(path)
                .map_err(|e| fail(path, format!("cannot write the trace: {e}")))?;
            // Under a Wasm host the file is a host descriptor: not the guest's to see.
            if let Some(fd) = fd_to_hide(&file) {
                ctx.borrow_mut().hide_fd(fd);
            }
            ctx.borrow_mut()
                .set_strace(Box::new(io::LineWriter::new(file)));
        }
        None => {}
    }
    preopen_dirs(&ctx, &cli.dirs)?;
    Ok(ctx)
}

/// Sets up what the options ask of the store: the meter (counting from `executed`, a restored
/// run's count), the profile or trace, WASI call counts, deterministic WASI, the limits.
fn configure_store(
    cli: &Cli,
    store: &mut Store<()>,
    ctx: &Rc<RefCell<WasiCtx>>,
    executed: u64,
    stop_after: Rc<Cell<bool>>,
    fired: Rc<Cell<Option<Instant>>>,
) {
    // Counting instructions only when something needs the count.
    if cli.deterministic {
        ctx.borrow_mut().set_deterministic();
    }
    if cli.triggers.any()
        || cli.limits.counted()
        || cli.deterministic
        || cli.wants_stats()
        || cli.profile.is_some()
        || cli.trace_out.is_some()
    {
        let mut meter = cli.triggers.meter(&cli.limits, executed, stop_after, fired);
        if cli.wants_stats() {
            meter.count_opcodes();
        }
        meter::set_store_meter(store, meter);
    }
    if cli.trace_out.is_some() {
        let traced = chiwawa_runtime::profile::Profile::traced(TraceOptions {
            calls: cli.trace_calls,
            host: cli.trace_wasi,
            wall: cli.trace_wall,
            max_depth: cli.trace_depth,
            max_slices: MAX_SLICES,
        });
        chiwawa_runtime::profile::set_store_profile(store, traced);
    } else if cli.profile.is_some() || cli.wants_stats() {
        let profile = chiwawa_runtime::profile::Profile::new();
        chiwawa_runtime::profile::set_store_profile(store, profile);
    }
    if cli.wants_stats() {
        ctx.borrow_mut().count_calls();
    }
    if let Some(bytes) = cli.limits.max_stack {
        store.set_max_stack_bytes(bytes);
    }
    if let Some(bytes) = cli.limits.max_memory {
        store.set_max_memory_bytes(Some(bytes));
    }
}

/// `--profile FILE`, `--trace-out FILE` and `--stats-out FILE`: once the guest has stopped,
/// however it stopped, writes the run's profile, trace and statistics (atomically; `startup`
/// is the statistics' start-up object) and passes `result` on; a file that cannot be written
/// is the error then.
fn write_outputs(
    cli: &Cli,
    store: &Store<()>,
    ctx: &Rc<RefCell<WasiCtx>>,
    startup: &str,
    result: Result<(), Stop>,
) -> Result<(), Stop> {
    if let (Some(path), Some((mut folded, _))) =
        (&cli.profile, chiwawa_runtime::profile::store_folded(store))
    {
        if path.ends_with(".svg") {
            let title = format!("{} (executed instructions)", cli.image);
            folded = chiwawa_runtime::flamegraph::svg(&folded, &title);
        }
        write_atomically(path, folded.as_bytes())
            .map_err(|e| fail(path, format!("cannot write the profile: {e}")))?;
    }
    if let (Some(path), Some((json, dropped))) =
        (&cli.trace_out, chiwawa_runtime::profile::store_trace(store))
    {
        write_atomically(path, json.as_bytes())
            .map_err(|e| fail(path, format!("cannot write the trace: {e}")))?;
        if dropped > 0 {
            eprintln!(
                "{NAME}: note: {path} holds the first {MAX_SLICES} slices to end; {dropped} more \
                 were left out (--trace-depth or --trace keep it smaller)"
            );
        }
    }
    if !cli.wants_stats() {
        return result;
    }
    let json = stats_json(store, &ctx.borrow(), startup);
    if let Some(path) = &cli.stats_out {
        write_atomically(path, json.as_bytes())
            .map_err(|e| fail(path, format!("cannot write the statistics: {e}")))?;
    }
    if cli.stats {
        let _ = io::stdout().flush();
        eprint!("{json}");
    }
    result
}

/// How many functions the statistics list.
const STATS_FUNCTIONS: usize = 20;

/// The statistics as JSON (docs/design.md has the schema): the counts first, every list in a
/// fixed order, nothing that depends on the host's clock unless `startup` (the start-up
/// object) has the wall clock's phases.
fn stats_json(store: &Store<()>, ctx: &WasiCtx, startup: &str) -> String {
    let text = chiwawa_runtime::profile::json_string;
    let instructions = meter::store_instructions(store).unwrap_or(0);
    let functions = chiwawa_runtime::profile::store_functions(store).unwrap_or_default();
    let calls: u64 = functions.iter().map(|f| f.1).sum();
    let listed: Vec<String> = functions
        .iter()
        .take(STATS_FUNCTIONS)
        .map(|(name, calls, n)| {
            format!(
                "    {{\"name\": {}, \"calls\": {calls}, \"instructions\": {n}}}",
                text(name)
            )
        })
        .collect();
    let opcodes = meter::store_opcodes(store).unwrap_or_default();
    let pairs: u64 = opcodes.iter().filter(|o| o.2).map(|o| o.1).sum();
    let opcodes: Vec<String> = opcodes
        .iter()
        .map(|(name, n, pair)| {
            format!("    {{\"name\": \"{name}\", \"count\": {n}, \"pair\": {pair}}}")
        })
        .collect();
    let counts = ctx.counts().cloned().unwrap_or_default();
    let wasi: Vec<String> = counts
        .calls
        .iter()
        .map(|(name, n)| format!("    \"{name}\": {n}"))
        .collect();
    let list = |items: &[String]| {
        if items.is_empty() {
            String::new()
        } else {
            format!("\n{}\n  ", items.join(",\n"))
        }
    };
    format!(
        "{{\n  \"instructions\": {instructions},\n  \"calls\": {calls},\n  \"functions\": [{}],\n  \
         \"pair_instructions\": {pairs},\n  \"opcodes\": [{}],\n  \
         \"memory_bytes\": {},\n  \"wasi_calls\": {{{}}},\n  \"wasi_bytes_read\": {},\n  \
         \"wasi_bytes_written\": {},\n  \"startup\": {startup}\n}}\n",
        list(&listed),
        list(&opcodes),
        store.memory_bytes(),
        list(&wasi),
        counts.bytes_read,
        counts.bytes_written
    )
}

/// Reads and checks the snapshot at `path` (everything but what needs the image); returns it
/// and the file's size.
fn read_snapshot(path: &str) -> Result<(Snapshot, usize), Stop> {
    let bytes = std::fs::read(path).map_err(|e| cannot_read(path, &e))?;
    Ok((
        snapshot::decode(&bytes).map_err(|e| fail(path, e))?,
        bytes.len(),
    ))
}

/// The CLI's checkpoint sink: completes the runtime's part of the snapshot with what the WASI
/// context knows (argv, environment, monotonic clock, descriptors), writes it to `path`
/// atomically, and stops the guest (`done` says how it went), unless `stop_after` is false:
/// then the guest goes on, once the snapshot is written.
fn checkpoint_sink(
    path: String,
    ctx: Rc<RefCell<WasiCtx>>,
    done: Rc<RefCell<Option<Result<(), String>>>>,
    stop_after: Rc<Cell<bool>>,
    report: Option<Rc<Cell<Option<Instant>>>>,
) -> checkpoint::Sink {
    Box::new(move |mut snap: Snapshot| {
        let started = report
            .as_ref()
            .map(|fired| fired.take().unwrap_or_else(Instant::now));
        let result = (|| -> Result<(), String> {
            let mut ctx = ctx.borrow_mut();
            snap.args = ctx.args.clone();
            snap.env = ctx.guest_env()?;
            snap.monotonic_ns = ctx.monotonic_seen();
            snap.fds = ctx.guest_fds()?;
            let bytes = snapshot::encode(&snap);
            write_atomically(&path, &bytes)?;
            if let Some(started) = started {
                // From the safe point (or, for a guest's request, from the sink) to the file
                // written: capture, encode, write.
                eprintln!(
                    "{NAME}: checkpoint-report {{\"instructions\":{},\"snapshot_bytes\":{},\"write_us\":{}}}",
                    snap.instructions,
                    bytes.len(),
                    started.elapsed().as_micros()
                );
            }
            Ok(())
        })();
        if !stop_after.replace(true) && result.is_ok() {
            return Ok(());
        }
        *done.borrow_mut() =
            Some(result.map_err(|problem| format!("cannot write the checkpoint: {problem}")));
        Err(Trap::new(TrapKind::Host("stopped at a checkpoint".into())))
    })
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so that `path` is
/// either its old self or the whole new file.
fn write_atomically(path: &str, bytes: &[u8]) -> Result<(), String> {
    let tmp = format!("{path}.partial");
    let write = || -> io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// `--restore`: instantiates the image without its start function, restores the snapshot into
/// it after checking that it is of this image, opens the guest's files again (the host must give
/// the same directories), and goes on until the guest ends.
#[allow(clippy::too_many_arguments)] // the run's parts, as run_image holds them
fn restore_and_run(
    cli: &Cli,
    path: &str,
    snap: &Snapshot,
    report: Option<(Instant, usize)>,
    ctx: &Rc<RefCell<WasiCtx>>,
    linker: &Linker<()>,
    store: &mut Store<()>,
    module: &Module,
) -> Result<(), Stop> {
    let this = checkpoint::image_id(module.image().image());
    if snap.image != this {
        return Err(fail(
            path,
            format!(
                "the snapshot is of {}, not of {} ({this})",
                snap.image, cli.image
            ),
        ));
    }
    // The guest's files opened again at their numbers and offsets, its directories given again.
    ctx.borrow_mut()
        .reopen(&snap.fds)
        .map_err(|e| fail(path, e))?;
    let restored =
        checkpoint::restore_instance(linker, store, module, snap).map_err(|e| match e.kind() {
            ErrorKind::Snapshot => fail(path, e),
            _ => stop(&cli.image, e),
        })?;
    if cli.deterministic {
        ctx.borrow_mut()
            .continue_virtual_clock(snap.monotonic_ns, snap.instructions);
    } else {
        ctx.borrow_mut()
            .continue_monotonic_from(snap.monotonic_ns)
            .map_err(|e| fail(path, e))?;
    }
    if let Some((started, bytes)) = report {
        // From reading the snapshot to the first instruction: read, decode and check it,
        // instantiate, restore, open the guest's files again.
        eprintln!(
            "{NAME}: restore-report {{\"snapshot_bytes\":{bytes},\"restore_us\":{}}}",
            started.elapsed().as_micros()
        );
    }
    checkpoint::resume_store(store, restored)
        .map(drop)
        .map_err(|e| stop(&cli.image, e))
}

/// Opens the image file and reads its header and archive into an aligned buffer, ready to be
/// checked in place; the file stays open for reading code (see `LoadedImage::from_head`).
/// An image file as read: a module image's head, its file kept open to read code on demand;
/// or a whole component image (its file closed).
enum ImageFile {
    Module(ImageBuf, std::fs::File),
    Component(Vec<u8>),
}

fn read_file(path: &str) -> Result<ImageFile, Stop> {
    let mut file = std::fs::File::open(path).map_err(|e| cannot_read(path, &e))?;
    let len = file
        .metadata()
        .map(|m| m.len())
        .map_err(|e| cannot_read(path, &e))?;
    // The magic first, read in sequence (no seek: some hosts' WASI, wasm3's, cannot): a
    // component image is read whole; a module image's head is read on from there. The file is
    // opened once only: some hosts (wasmi) never hand out a closed descriptor's number again,
    // and the guest's descriptor numbers must not depend on the runtime's files.
    let mut magic = Vec::with_capacity(8);
    io::Read::read_to_end(&mut io::Read::take(&mut file, 8), &mut magic)
        .map_err(|e| cannot_read(path, &e))?;
    if component::is_component_image(&magic) {
        // Through `take`: `File::read_to_end` asks for the position with a seek, which moves
        // wasm3's descriptor to the end.
        io::Read::read_to_end(&mut io::Read::take(&mut file, len), &mut magic)
            .map_err(|e| cannot_read(path, &e))?;
        return Ok(ImageFile::Component(magic));
    }
    match chiwawa_format::read_head(&mut io::Read::chain(&magic[..], &mut file), len) {
        Ok(head) => Ok(ImageFile::Module(head, file)),
        Err(chiwawa_format::ImageError::BadMagic) if is_wasm(&mut file) => Err(fail(
            path,
            format!(
                "this is a WebAssembly module, not a chiwawa image; translate it first: \
                 chiwawa-translate {path} -o IMAGE.cwi, or run it from a cache with --cache DIR"
            ),
        )),
        Err(e) => Err(fail(path, LoadError::Image(e))),
    }
}

/// The descriptor of the runtime's own `file` as the guest would see it, to be hidden from the
/// guest: under a Wasm host the guest's descriptors are the host's; natively the guest has a
/// table of its own, which never holds the runtime's files.
fn fd_to_hide(file: &std::fs::File) -> Option<u32> {
    #[cfg(target_os = "wasi")]
    {
        Some(std::os::fd::AsRawFd::as_raw_fd(file) as u32)
    }
    #[cfg(not(target_os = "wasi"))]
    {
        let _ = file;
        None
    }
}

/// Whether `file` starts with the Wasm magic.
fn is_wasm(file: &mut std::fs::File) -> bool {
    use io::{Read, Seek};
    let mut magic = [0u8; 4];
    file.seek(io::SeekFrom::Start(0)).is_ok()
        && file.read_exact(&mut magic).is_ok()
        && magic == *b"\0asm"
}

/// Finds the image of the Wasm module at `module` in the cache `dir` by the module's key
/// (default translation options, this build's translator version); returns its bytes and the
/// entry's path, to be checked like any image. The cache checks the entry and its header; a
/// damaged entry is removed and is an error. Every file is closed on return.
fn read_from_cache(dir: &str, module: &str) -> Result<(Vec<u8>, String), Stop> {
    let wasm = std::fs::read(module).map_err(|e| cannot_read(module, &e))?;
    if wasm.starts_with(&chiwawa_format::MAGIC) {
        return Err(fail(
            module,
            "this is a chiwawa image, not a WebAssembly module; run it without --cache",
        ));
    }
    let fill = format!("chiwawa-translate --cache-dir {dir} {module}");
    let cache = Cache::open(dir).map_err(|e| {
        let grant = if cfg!(target_os = "wasi") {
            " (in a Wasm host the host must grant it, e.g. wasmtime run --dir DIR ...)"
        } else {
            ""
        };
        fail(dir, format!("{}{grant}", e.problem))
    })?;
    let inputs = Inputs::new(&wasm);
    match cache.get(&inputs) {
        Ok(Lookup::Hit(bytes)) => {
            let path = cache.entry_path(inputs.key());
            Ok((bytes, path.display().to_string()))
        }
        Ok(Lookup::Miss) => Err(fail(
            module,
            format!(
                "not in the cache {dir} (key {}); fill it with: {fill}",
                inputs.key()
            ),
        )),
        Ok(Lookup::Damaged {
            path,
            problem,
            removed,
        }) => {
            let removed = chiwawa_cache::removal_note(&removed);
            Err(fail(
                &path.display().to_string(),
                format!(
                    "damaged cache entry, not run: {problem}; {removed}; rebuild it with: {fill}"
                ),
            ))
        }
        Err(e) => Err(fail(&e.path.display().to_string(), e.problem)),
    }
}

/// Parses the runtime's options up to IMAGE; the rest belongs to the guest.
fn parse_args(mut argv: impl Iterator<Item = std::ffi::OsString>) -> Result<Cli, Stop> {
    let mut next = || {
        argv.next().map(|a| {
            a.into_string().map_err(|a| {
                Stop::Usage(format!(
                    "argument {} is not valid UTF-8",
                    a.to_string_lossy()
                ))
            })
        })
    };
    let mut cli = Cli {
        invoke: None,
        argv0: None,
        dirs: Vec::new(),
        cache: None,
        startup_report: false,
        verify: VerifyMode::default(),
        checkpoint: None,
        triggers: Triggers::default(),
        stats_out: None,
        stats: false,
        deterministic: false,
        limits: Limits::default(),
        strace: None,
        profile: None,
        trace_out: None,
        trace_depth: u32::MAX,
        trace_calls: true,
        trace_wasi: true,
        trace_wall: false,
        restore: None,
        image: String::new(),
        args: Vec::new(),
    };
    loop {
        let Some(arg) = next().transpose()? else {
            return Err(Stop::Usage("no image given".into()));
        };
        // `--opt=value` or `--opt value`.
        let (opt, inline) = match arg.split_once('=') {
            Some((opt, value)) if opt.starts_with("--") => {
                (opt.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |opt: &str| match inline.clone() {
            Some(v) => Ok(v),
            None => next()
                .transpose()?
                .ok_or_else(|| Stop::Usage(format!("{opt} needs a value"))),
        };
        match opt.as_str() {
            "-h" | "--help" => {
                // A reader that stops early (`--help | head`) is not an error of the run.
                let _ = writeln!(io::stdout(), "{USAGE}\n\n{HELP}");
                return Err(Stop::Done);
            }
            "-V" | "--version" => {
                let _ = writeln!(io::stdout(), "{NAME} {}", env!("CARGO_PKG_VERSION"));
                return Err(Stop::Done);
            }
            "--invoke" => cli.invoke = Some(value("--invoke")?),
            "--argv0" => cli.argv0 = Some(value("--argv0")?),
            "--cache" => cli.cache = Some(value("--cache")?),
            "--checkpoint" => cli.checkpoint = Some(value("--checkpoint")?),
            "--checkpoint-after" => {
                cli.triggers.after =
                    Some(count("--checkpoint-after", &value("--checkpoint-after")?)?)
            }
            "--checkpoint-every" => {
                cli.triggers.every =
                    Some(count("--checkpoint-every", &value("--checkpoint-every")?)?)
            }
            "--checkpoint-trigger" => cli.triggers.file = Some(value("--checkpoint-trigger")?),
            "--stats-out" => cli.stats_out = Some(value("--stats-out")?),
            "--stats" if inline.is_none() => cli.stats = true,
            "--deterministic" if inline.is_none() => cli.deterministic = true,
            "--strace" => cli.strace = Some(inline.clone()),
            "--trace-out" => cli.trace_out = Some(value("--trace-out")?),
            "--trace" => {
                let what = value("--trace")?;
                (cli.trace_calls, cli.trace_wasi) = (false, false);
                for kind in what.split(',') {
                    match kind {
                        "calls" => cli.trace_calls = true,
                        "wasi" => cli.trace_wasi = true,
                        _ => {
                            return Err(Stop::Usage(format!(
                                "--trace {what}: {kind:?} is not a kind of trace (calls, wasi)"
                            )))
                        }
                    }
                }
            }
            "--trace-clock" => match value("--trace-clock")?.as_str() {
                "instructions" => cli.trace_wall = false,
                "wall" => cli.trace_wall = true,
                clock => {
                    return Err(Stop::Usage(format!(
                        "--trace-clock {clock}: the clocks are instructions and wall"
                    )))
                }
            },
            "--trace-depth" => {
                let n = count("--trace-depth", &value("--trace-depth")?)?;
                cli.trace_depth = u32::try_from(n).unwrap_or(u32::MAX);
            }
            "--profile" => {
                cli.profile = Some(value("--profile")?);
            }
            "--fuel" => cli.limits.fuel = Some(count("--fuel", &value("--fuel")?)?),
            "--timeout" => cli.limits.timeout = Some(duration("--timeout", &value("--timeout")?)?),
            "--max-memory" => {
                cli.limits.max_memory = Some(bytes("--max-memory", &value("--max-memory")?)?)
            }
            "--max-stack" => {
                let n = bytes("--max-stack", &value("--max-stack")?)?;
                cli.limits.max_stack = Some(usize::try_from(n).unwrap_or(usize::MAX));
            }
            "--restore" => cli.restore = Some(value("--restore")?),
            "--startup-report" if inline.is_none() => cli.startup_report = true,
            "--verify" => {
                cli.verify = match value("--verify")?.as_str() {
                    "eager" => VerifyMode::Eager,
                    "lazy" => VerifyMode::Lazy,
                    other => {
                        return Err(Stop::Usage(format!(
                            "--verify {other}: expected eager or lazy"
                        )))
                    }
                }
            }
            "--dir" => {
                let spec = value("--dir")?;
                if cfg!(target_os = "wasi") {
                    return Err(Stop::Usage(
                        "--dir is for the native runtime; in a Wasm host the guest sees the \
                         directories the host gave the runtime (wasmtime run --dir HOST ...)"
                            .into(),
                    ));
                }
                let (host, guest) = match spec.split_once("::") {
                    Some((host, guest)) => (host.to_string(), guest.to_string()),
                    None => (spec.clone(), spec.clone()),
                };
                if host.is_empty() || guest.is_empty() {
                    return Err(Stop::Usage(format!(
                        "--dir {spec}: expected HOST or HOST::GUEST"
                    )));
                }
                cli.dirs.push((host, guest));
            }
            "--" => {
                cli.image = next()
                    .transpose()?
                    .ok_or_else(|| Stop::Usage("no image given".into()))?;
                break;
            }
            _ if arg.starts_with('-') && arg != "-" => {
                return Err(Stop::Usage(format!("unknown option {arg}")));
            }
            _ => {
                cli.image = arg;
                break;
            }
        }
    }
    cli.args = std::iter::from_fn(next).collect::<Result<_, _>>()?;
    if cli.restore.is_some() {
        if !cli.args.is_empty() {
            return Err(Stop::Usage(
                "--restore: the restored run takes its arguments from the snapshot".into(),
            ));
        }
        if cli.invoke.is_some() || cli.argv0.is_some() {
            return Err(Stop::Usage(
                "--restore resumes the snapshot's run: no --invoke or --argv0".into(),
            ));
        }
    }
    if cli.triggers.any() && cli.checkpoint.is_none() {
        return Err(Stop::Usage(
            "--checkpoint-after, --checkpoint-every and --checkpoint-trigger need --checkpoint PATH"
                .into(),
        ));
    }
    if cli.invoke.is_some() && cli.checkpoint.is_some() {
        return Err(Stop::Usage(
            "--checkpoint is for runs of _start, not --invoke".into(),
        ));
    }
    Ok(cli)
}

fn cannot_read(image: &str, e: &io::Error) -> Stop {
    if cfg!(target_os = "wasi") && !host_granted_a_directory() {
        // Without a preopened directory every path is "not found" (or not permitted): the
        // problem is how the runtime was started, so say how to start it.
        let denied = matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
        ) || e.raw_os_error() == Some(ENOTCAPABLE);
        if denied {
            return fail(
                image,
                format!(
                    "cannot open: {e} (the host gave the runtime no directory; run it with \
                     --dir ., e.g. wasmtime run --dir . chiwawa-rt.wasm {image})"
                ),
            );
        }
    }
    fail(image, format!("cannot read: {e}"))
}

/// wasi-libc's ENOTCAPABLE.
const ENOTCAPABLE: i32 = 76;

/// Whether the host preopened any directory: preopens are numbered from descriptor 3.
#[cfg(target_os = "wasi")]
fn host_granted_a_directory() -> bool {
    // SAFETY: `fd_prestat_get` only queries a descriptor and returns the answer by value; any
    // descriptor number is allowed (an unknown one gives EBADF).
    unsafe { ::wasi::fd_prestat_get(3).is_ok() }
}

#[cfg(not(target_os = "wasi"))]
fn host_granted_a_directory() -> bool {
    true
}

#[cfg(not(target_os = "wasi"))]
fn preopen_dirs(ctx: &Rc<RefCell<WasiCtx>>, dirs: &[(String, String)]) -> Result<(), Stop> {
    for (host, guest) in dirs {
        ctx.borrow_mut()
            .preopen_dir(std::path::Path::new(host), guest)
            .map_err(|e| fail(host, format!("cannot open directory: {e}")))?;
    }
    Ok(())
}

/// In a Wasm host the guest gets the runtime's preopens; `--dir` was refused while parsing.
#[cfg(target_os = "wasi")]
fn preopen_dirs(_ctx: &Rc<RefCell<WasiCtx>>, _dirs: &[(String, String)]) -> Result<(), Stop> {
    Ok(())
}

fn exported_func(store: &Store<()>, instance: Instance, name: &str) -> Option<Func> {
    match instance.get_export(store, name)? {
        Extern::Func(func) => Some(func),
        _ => None,
    }
}

/// Calls `_start` or `_initialize`, which must take and return nothing.
fn call_no_args(store: &mut Store<()>, func: Func, image: &str, name: &str) -> Result<(), Stop> {
    let typed = func.typed::<(), (), _>(store).map_err(|e| match e.kind() {
        ErrorKind::Type => fail(
            image,
            format!("exported function {name} must take no parameters and return nothing"),
        ),
        _ => fail(image, e),
    })?;
    typed.call(store, ()).map_err(|e| stop(image, e))
}

/// Parses `--invoke` values by the function's parameter types, as `wasmtime run --invoke` does
/// (Rust's `str::parse`: decimal integers, negative allowed, no hex).
fn parse_values(name: &str, params: &[ValType], values: &[String]) -> Result<Vec<Val>, String> {
    if params.len() != values.len() {
        let types = params
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let plural = if params.len() == 1 { "" } else { "s" };
        return Err(format!(
            "function {name} takes {} argument{plural} ({types}), {} given",
            params.len(),
            values.len()
        ));
    }
    params
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (&ty, text))| {
            let val = match ty {
                ValType::I32 => text.parse().ok().map(Val::I32),
                ValType::I64 => text.parse().ok().map(Val::I64),
                ValType::F32 => text.parse::<f32>().ok().map(|v| Val::F32(v.to_bits())),
                ValType::F64 => text.parse::<f64>().ok().map(|v| Val::F64(v.to_bits())),
                ValType::FuncRef | ValType::ExternRef => {
                    let n = i + 1;
                    return Err(format!(
                        "argument {n} of {name} is a {ty}, which cannot be given on the command \
                         line"
                    ));
                }
            };
            val.ok_or_else(|| format!("argument {} of {name}: {text:?} is not a valid {ty}", i + 1))
        })
        .collect()
}

/// One result a line, as `wasmtime run --invoke` prints them.
fn print_results(results: &[Val]) -> Result<(), Stop> {
    let mut out = io::stdout().lock();
    results
        .iter()
        .try_for_each(|v| writeln!(out, "{v}"))
        .and_then(|()| out.flush())
        .map_err(|e| fail("stdout", format!("cannot write results: {e}")))
}
