//! The real programs of the suite: CoreMark, the SQLite shell and Lua, run as WASI commands on
//! the four engines (`commands.rs`). They are the programs `make programs` builds from crates'
//! sources into `$CARGO_TARGET_DIR/programs/` (tests/programs/build.sh); their bench inputs are
//! in `benches/programs/`. Every engine must give the same stdout (for CoreMark, its
//! deterministic lines), stderr and exit status.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::commands::{
    CommandRunner, Invocation, NativeCommand, Outcome, RtWasmCommand, WasmiCommand, WasmtimeCommand,
};
use crate::rt_wasm::{RtModule, RtSession};
use crate::{Answer, Options, Size, Stat, WorkloadResult, ENGINES};

/// Which part of stdout must be equal across engines.
#[derive(Clone, Copy)]
pub enum Compare {
    /// All of stdout.
    All,
    /// CoreMark's deterministic lines (sizes, iterations, CRCs); the others report timing.
    CoreMark,
}

/// One real program and how the bench runs it.
pub struct Program {
    pub name: &'static str,
    pub what: &'static str,
    /// The module in the programs directory.
    pub file: &'static str,
    /// The size of the work (CoreMark iterations, SQLite rows, Lua work units), full and quick.
    pub size: u32,
    pub quick_size: u32,
    /// The guest's arguments after `argv[0]` for a size.
    pub args: fn(u32) -> Vec<String>,
    /// Input files copied from `benches/programs/` into the preopened directory.
    pub inputs: &'static [&'static str],
    pub compare: Compare,
}

pub const PROGRAMS: &[Program] = &[
    Program {
        name: "coremark",
        what: "CoreMark 1.0 (Rust port): lists, matrices, state machines, CRC",
        file: "coremark.wasm",
        size: 1000,
        quick_size: 1,
        // Seeds 0 0 0 select CoreMark's performance run; the fourth argument is the iterations.
        args: |n| {
            ["0", "0", "0"]
                .map(String::from)
                .into_iter()
                .chain([n.to_string()])
                .collect()
        },
        inputs: &[],
        compare: Compare::CoreMark,
    },
    Program {
        name: "sqlite",
        what: "SQLite 3.49 shell: insert, index, join and aggregate queries in memory",
        file: "sqlite3.wasm",
        size: 8000,
        quick_size: 50,
        args: |n| {
            vec![
                ":memory:".into(),
                format!(".parameter set @n {n}"),
                ".read bench.sql".into(),
            ]
        },
        inputs: &["bench.sql"],
        compare: Compare::All,
    },
    Program {
        name: "lua",
        what: "Lua 5.4 interpreter: tables, strings, closures, metatables",
        file: "lua.wasm",
        size: 3500,
        quick_size: 20,
        args: |n| vec!["bench.lua".into(), n.to_string()],
        inputs: &["bench.lua"],
        compare: Compare::All,
    },
];

/// `$CHIWAWA_PROGRAMS`, else `$CARGO_TARGET_DIR/programs` (where `make programs` puts them).
pub fn programs_dir() -> PathBuf {
    std::env::var_os("CHIWAWA_PROGRAMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::target_dir().join("programs"))
}

fn inputs_dir() -> PathBuf {
    crate::workspace().join("benches/programs")
}

/// One-time costs of preparing a program on each engine, and the load of its image alone
/// (which the timed runs of (b) and (c) include).
pub struct ProgramSetup {
    pub args: String,
    pub wasm_bytes: usize,
    pub code_bytes: usize,
    pub image_bytes: usize,
    pub translate: Duration,
    pub wasmtime_compile: Duration,
    /// `cw_load` (checks + verify) of the image in chiwawa-rt.wasm on wasmtime.
    pub rt_load: Duration,
    /// `load_image` (checks + verify) in the native runtime.
    pub native_load: Duration,
    pub wasmi_compile: Duration,
}

/// The lines of stdout that must agree.
fn compared(compare: Compare, stdout: &[u8]) -> Vec<u8> {
    match compare {
        Compare::All => stdout.to_vec(),
        Compare::CoreMark => {
            let text = String::from_utf8_lossy(stdout);
            let mut out = String::new();
            for line in text.lines() {
                let keep = ["CoreMark Size", "Iterations  ", "seedcrc", "["]
                    .iter()
                    .any(|p| line.starts_with(p));
                if keep {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.into_bytes()
        }
    }
}

/// What differs between two outcomes, or nothing.
fn difference(compare: Compare, a: &Outcome, b: &Outcome) -> Option<String> {
    let mut parts = Vec::new();
    if a.status != b.status {
        parts.push(format!("exit {} vs {}", a.status, b.status));
    }
    let (sa, sb) = (compared(compare, &a.stdout), compared(compare, &b.stdout));
    if sa != sb {
        parts.push(format!(
            "stdout differs ({} vs {} bytes compared; first at byte {})",
            sa.len(),
            sb.len(),
            sa.iter().zip(&sb).take_while(|(x, y)| x == y).count()
        ));
    }
    if a.stderr != b.stderr {
        parts.push(format!(
            "stderr differs: {:?} vs {:?}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A scratch directory for one program, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(name: &str) -> Result<WorkDir, String> {
        let path =
            std::env::temp_dir().join(format!("chiwawa-bench-{}-{name}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(WorkDir(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read(path: &Path, hint: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}{hint}", path.display()))
}

/// Whether `name` is a program of the suite.
pub fn is_program(name: &str) -> bool {
    PROGRAMS.iter().any(|p| p.name == name)
}

/// Runs every selected program on the four engines.
pub fn run_programs(options: &Options, rt: &RtModule) -> Result<Vec<WorkloadResult>, String> {
    let selected: Vec<&Program> = PROGRAMS
        .iter()
        .filter(|p| {
            options
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| o == p.name))
        })
        .collect();
    let mut results = Vec::new();
    if selected.is_empty() {
        return Ok(results);
    }
    // On a thread of its own with a large stack: wasmi's default dispatch chains its handlers
    // by sibling calls, which unoptimized or debug-assertion builds (the test profile) do not
    // turn into jumps, so there a run's stack grows with the instructions it executes.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("programs".into())
            .stack_size(PROGRAM_STACK)
            .spawn_scoped(scope, || {
                let engine = wasmtime::Engine::default();
                let mut b = RtWasmCommand::new(rt)?;
                for program in selected {
                    results.push(run_program(options, rt, &engine, &mut b, program)?);
                }
                Ok(results)
            })
            .map_err(|e| format!("cannot start the programs' thread: {e}"))?
            .join()
            .map_err(|_| "the programs' thread panicked".to_string())?
    })
}

/// The programs' thread's stack (reserved, not committed until used).
const PROGRAM_STACK: usize = 1 << 30;

fn run_program(
    options: &Options,
    rt: &RtModule,
    engine: &wasmtime::Engine,
    b: &mut RtWasmCommand,
    program: &Program,
) -> Result<WorkloadResult, String> {
    let path = programs_dir().join(program.file);
    let wasm = read(&path, " (build it: `make programs`)")?;
    let code_bytes = crate::stub::code_section_size(&wasm)?;
    let start = Instant::now();
    let image = crate::translate(&wasm).map_err(|e| format!("{}: {e}", program.file))?;
    let translate = start.elapsed();

    let work = WorkDir::new(program.name)?;
    for input in program.inputs {
        let from = inputs_dir().join(input);
        std::fs::copy(&from, work.0.join(input)).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    let image_name = format!("{}.cwi", program.file.trim_end_matches(".wasm"));
    std::fs::write(work.0.join(&image_name), &image)
        .map_err(|e| format!("{}: {e}", work.0.display()))?;

    let size = if options.quick {
        program.quick_size
    } else {
        program.size
    };
    let args = (program.args)(size);
    let mut argv = vec![program.file.to_string()];
    argv.extend(args.iter().cloned());
    let inv = Invocation {
        argv,
        dir: work.0.clone(),
        image_name,
    };

    // The image's load alone, in chiwawa-rt.wasm and natively (included in (b) and (c) runs).
    let mut session = RtSession::new(rt)?;
    session.put_image(&image)?;
    let (_, rt_load) = session.load()?;
    drop(session);
    let start = Instant::now();
    chiwawa_runtime::load_image(&image, chiwawa_runtime::VerifyMode::default())
        .map_err(|e| format!("chiwawa: load: {e}"))?;
    let native_load = start.elapsed();

    let (mut a, wasmtime_compile) = WasmtimeCommand::new(engine, &wasm)?;
    let mut c = NativeCommand::new(image.clone());
    let (mut d, wasmi_compile) = WasmiCommand::new(&wasm)?;
    let setup = ProgramSetup {
        args: args.join(" "),
        wasm_bytes: wasm.len(),
        code_bytes,
        image_bytes: image.len(),
        translate,
        wasmtime_compile,
        rt_load,
        native_load,
        wasmi_compile,
    };

    let runners: [&mut dyn CommandRunner; 4] = [&mut a, b, &mut c, &mut d];
    let mut reference: Option<Outcome> = None;
    let mut mismatches = Vec::new();
    let mut stats = Vec::new();
    for (runner, (letter, _)) in runners.into_iter().zip(ENGINES) {
        // One untimed warm-up run, except in a quick run.
        let runs = options.runs + usize::from(!options.quick);
        let mut times = Vec::new();
        for i in 0..runs {
            let (outcome, time) = runner
                .run(&inv)
                .map_err(|e| format!("{} ({letter}): {e}", program.name))?;
            if i + options.runs >= runs {
                times.push(time);
            }
            match &reference {
                None => reference = Some(outcome),
                Some(first) => {
                    if let Some(diff) = difference(program.compare, first, &outcome) {
                        if mismatches.len() < 4 {
                            mismatches.push(format!("({letter}) vs (a): {diff}"));
                        }
                    }
                }
            }
        }
        stats.push(Stat::of(&times));
        eprint!(".");
    }
    let reference = reference.ok_or("no run")?;
    let mismatch = (!mismatches.is_empty()).then(|| {
        format!(
            "{}: outputs differ: {}",
            program.name,
            mismatches.join("; ")
        )
    });
    Ok(WorkloadResult {
        name: program.name,
        what: program.what,
        size: Size::Args(size),
        answer: Answer::Exit {
            status: reference.status,
            stdout_bytes: reference.stdout.len(),
        },
        mismatch,
        stats: stats.try_into().map_err(|_| "four engines")?,
        setup: Some(setup),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coremark_comparison_keeps_only_deterministic_lines() {
        let out = b"CoreMark Size    : 666\nTotal ticks      : 18\nIterations       : 1\n\
                    seedcrc          : 0xe9f5\n[0]crclist       : 0xe714\nIterations/Sec   : 5.0\n";
        let kept = compared(Compare::CoreMark, out);
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            "CoreMark Size    : 666\nIterations       : 1\nseedcrc          : 0xe9f5\n\
             [0]crclist       : 0xe714\n"
        );
    }

    #[test]
    fn outcomes_compare_status_stdout_and_stderr() {
        let a = Outcome {
            status: 0,
            stdout: b"x\n".to_vec(),
            stderr: Vec::new(),
        };
        assert!(difference(Compare::All, &a, &a.clone()).is_none());
        let mut b = a.clone();
        b.status = 1;
        assert!(difference(Compare::All, &a, &b)
            .unwrap()
            .contains("exit 0 vs 1"));
        let mut b = a.clone();
        b.stdout.push(b'y');
        assert!(difference(Compare::All, &a, &b).is_some());
    }
}
