//! `bench`: chiwawa's benchmark suite (issue 4). For each workload, in one run, side by side:
//! (a) the module directly on an embedded wasmtime, (b) its image in `chiwawa-rt.wasm` on that
//! wasmtime, (c) its image in the chiwawa runtime linked natively, (d) wasmi 2.0 natively.
//! The workloads are the kernels of `benches/workloads` (exports `fn(i32) -> i64`) and real
//! programs run as WASI commands: CoreMark, the SQLite shell and Lua (`programs.rs`).
//! Then start-up (load + verify + instantiate) against translation and wasmtime's cold compile.
//! Prints tables and writes `report.json` and `report.svg` to `$CARGO_TARGET_DIR/bench/`.
//!
//! `bench [--quick] [--runs N] [--only NAME[,NAME...]] [--no-startup] [--out DIR]`

mod commands;
mod engines;
mod programs;
mod report;
mod rt_wasm;
mod startup;
mod stub;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use engines::{Native, RtWasm, Runner, Wasmi, Wasmtime};

/// A kernel of `benches/workloads`: export name, what it stresses, full and quick sizes.
pub struct Workload {
    pub name: &'static str,
    pub what: &'static str,
    pub n: i32,
    pub quick_n: i32,
}

pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "fib",
        what: "recursive calls",
        n: 30,
        quick_n: 12,
    },
    Workload {
        name: "leibniz",
        what: "f64 arithmetic",
        n: 20_000_000,
        quick_n: 1_000,
    },
    Workload {
        name: "nbody",
        what: "f64, memory",
        n: 300_000,
        quick_n: 100,
    },
    Workload {
        name: "sieve",
        what: "byte loads/stores",
        n: 8_000_000,
        quick_n: 1_000,
    },
    Workload {
        name: "matmul",
        what: "f64 loads, mul-add",
        n: 160,
        quick_n: 8,
    },
    Workload {
        name: "hash",
        what: "i64 mixing",
        n: 10_000_000,
        quick_n: 1_000,
    },
    Workload {
        name: "sort",
        what: "compare, branch",
        n: 600_000,
        quick_n: 100,
    },
    Workload {
        name: "crc32",
        what: "table lookups",
        n: 8_000_000,
        quick_n: 1_000,
    },
];

/// The engines, in table order.
pub const ENGINES: [(&str, &str); 4] = [
    ("a", "wasmtime"),
    ("b", "chiwawa-rt.wasm on wasmtime"),
    ("c", "chiwawa native"),
    ("d", "wasmi 2.0 native"),
];

pub struct Options {
    pub quick: bool,
    pub runs: usize,
    pub only: Option<Vec<String>>,
    pub startup: bool,
    pub out: PathBuf,
}

/// Median and minimum of a set of timed runs, in milliseconds.
#[derive(Clone, Debug)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub runs: Vec<f64>,
}

impl Stat {
    pub fn of(times: &[Duration]) -> Stat {
        let mut runs: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        runs.shrink_to_fit();
        Stat {
            median,
            min: sorted[0],
            runs,
        }
    }
}

/// The size a workload ran at: a kernel's argument, or a program's size parameter (CoreMark
/// iterations, SQLite rows, Lua work units).
#[derive(Clone, Copy, Debug)]
pub enum Size {
    N(i32),
    Args(u32),
}

/// What a workload gave on the first engine (the others must agree): a kernel's result, or a
/// program's exit status and the size of its stdout.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    Value(i64),
    Exit { status: i32, stdout_bytes: usize },
}

/// What one workload measured: the result every engine agreed on (or the disagreement) and a
/// [`Stat`] per engine; for a program also its one-time costs.
pub struct WorkloadResult {
    pub name: &'static str,
    pub what: &'static str,
    pub size: Size,
    pub answer: Answer,
    pub mismatch: Option<String>,
    pub stats: [Stat; 4],
    pub setup: Option<programs::ProgramSetup>,
}

/// One-time costs of preparing the kernels' workload module on each engine.
pub struct Prepare {
    pub wasm_bytes: usize,
    pub code_bytes: usize,
    pub image_bytes: usize,
    pub translate: Stat,
    pub wasmtime_compile: Duration,
    pub rt_compile: Duration,
    pub rt_bytes: usize,
    pub rt_load_instantiate: Duration,
    pub native_load_instantiate: Duration,
    pub wasmi_compile: Duration,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench [--quick] [--runs N] [--only NAME[,NAME...]] [--no-startup] [--out DIR]"
    );
    std::process::exit(2)
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `$CHIWAWA_DIST`, else `<workspace>/dist`.
pub fn dist_dir() -> PathBuf {
    std::env::var_os("CHIWAWA_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("dist"))
}

/// `$CHIWAWA_WORKLOADS`, else the wasm32-wasip1 release build of benches/workloads.
pub fn workloads_path() -> PathBuf {
    std::env::var_os("CHIWAWA_WORKLOADS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wasm32-wasip1/release/chiwawa_bench_workloads.wasm"))
}

fn parse_args() -> Options {
    let mut options = Options {
        quick: false,
        runs: 5,
        only: None,
        startup: true,
        out: target_dir().join("bench"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--runs" => {
                options.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage())
            }
            "--only" => {
                let names = args.next().unwrap_or_else(|| usage());
                let names: Vec<String> = names.split(',').map(str::to_string).collect();
                for name in &names {
                    if !WORKLOADS.iter().any(|w| w.name == name) && !programs::is_program(name) {
                        let known: Vec<&str> = WORKLOADS
                            .iter()
                            .map(|w| w.name)
                            .chain(programs::PROGRAMS.iter().map(|p| p.name))
                            .collect();
                        eprintln!(
                            "bench: unknown workload {name}; the workloads are {}",
                            known.join(", ")
                        );
                        std::process::exit(2)
                    }
                }
                options.only = Some(names);
            }
            "--no-startup" => options.startup = false,
            "--out" => options.out = args.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "-h" | "--help" => {
                println!("usage: bench [--quick] [--runs N] [--only NAME[,NAME...]] [--no-startup] [--out DIR]");
                std::process::exit(0)
            }
            _ => usage(),
        }
    }
    if options.quick {
        options.runs = 1;
    }
    options
}

/// Translates with the default options.
pub fn translate(wasm: &[u8]) -> Result<Vec<u8>, String> {
    chiwawa_translator::translate(wasm, &chiwawa_translator::Options::default())
        .map_err(|e| format!("translate: {e}"))
}

/// Whether workload `name` was selected by `--only` (all are without it).
fn selected(options: &Options, name: &str) -> bool {
    options
        .only
        .as_ref()
        .is_none_or(|only| only.iter().any(|o| o == name))
}

/// The kernels; `None` for the one-time costs when `--only` selected none of them.
fn run_kernels(
    options: &Options,
    rt: &rt_wasm::RtModule,
) -> Result<(Option<Prepare>, Vec<WorkloadResult>), String> {
    if !WORKLOADS.iter().any(|w| selected(options, w.name)) {
        return Ok((None, Vec::new()));
    }
    let path = workloads_path();
    let wasm = std::fs::read(&path)
        .map_err(|e| format!("{}: {e} (build it: `make bench-workloads`)", path.display()))?;
    let code_bytes = stub::code_section_size(&wasm)?;

    let mut translate_times = Vec::new();
    let mut image = Vec::new();
    for _ in 0..options.runs {
        let start = Instant::now();
        image = translate(&wasm)?;
        translate_times.push(start.elapsed());
    }

    let engine = wasmtime::Engine::default();
    let (mut a, wasmtime_compile) = Wasmtime::new(&engine, &wasm)?;
    let (mut b, rt_load_instantiate) = RtWasm::new(rt, &wasm, &image)?;
    let (mut c, native_load_instantiate) = Native::new(&wasm, &image)?;
    let (mut d, wasmi_compile) = Wasmi::new(&wasm)?;
    let prepare = Prepare {
        wasm_bytes: wasm.len(),
        code_bytes,
        image_bytes: image.len(),
        translate: Stat::of(&translate_times),
        wasmtime_compile,
        rt_compile: rt.compile,
        rt_bytes: rt.size,
        rt_load_instantiate,
        native_load_instantiate,
        wasmi_compile,
    };

    let mut results = Vec::new();
    for w in WORKLOADS {
        if !selected(options, w.name) {
            continue;
        }
        let n = if options.quick { w.quick_n } else { w.n };
        let runners: [&mut dyn Runner; 4] = [&mut a, &mut b, &mut c, &mut d];
        let mut answers = Vec::new();
        let mut stats = Vec::new();
        for (runner, (letter, _)) in runners.into_iter().zip(ENGINES) {
            // One untimed warm-up call (caches, lazy state), except in a quick run.
            if !options.quick {
                runner.call(w.name, n)?;
            }
            let mut times = Vec::new();
            let mut answer = 0;
            for _ in 0..options.runs {
                let (value, time) = runner.call(w.name, n)?;
                answer = value;
                times.push(time);
            }
            answers.push((letter, answer));
            stats.push(Stat::of(&times));
            eprint!(".");
        }
        let mismatch = answers
            .iter()
            .any(|&(_, v)| v != answers[0].1)
            .then(|| format!("{}: results differ: {answers:?}", w.name));
        results.push(WorkloadResult {
            name: w.name,
            what: w.what,
            size: Size::N(n),
            answer: Answer::Value(answers[0].1),
            mismatch,
            stats: stats.try_into().expect("four engines"),
            setup: None,
        });
    }
    Ok((Some(prepare), results))
}

/// The kernels, then the programs.
fn run_workloads(options: &Options) -> Result<(Option<Prepare>, Vec<WorkloadResult>), String> {
    let rt = rt_wasm::RtModule::new(&dist_dir().join("chiwawa-rt.wasm"))?;
    let (prepare, mut results) = run_kernels(options, &rt)?;
    results.extend(programs::run_programs(options, &rt)?);
    eprintln!();
    Ok((prepare, results))
}

fn main() {
    let options = parse_args();
    eprintln!(
        "chiwawa bench: {} run(s) per cell{}",
        options.runs,
        if options.quick { ", quick sizes" } else { "" }
    );
    let (prepare, results) = match run_workloads(&options) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("bench: error: {e}");
            std::process::exit(1);
        }
    };
    report::print_workloads(prepare.as_ref(), &results);
    let startup = if options.startup {
        match startup::measure(&options) {
            Ok(rows) => {
                report::print_startup(&rows);
                rows
            }
            Err(e) => {
                eprintln!("bench: error: start-up: {e}");
                std::process::exit(1);
            }
        }
    } else {
        Vec::new()
    };
    if let Err(e) = report::write(&options, prepare.as_ref(), &results, &startup) {
        eprintln!("bench: error: {e}");
        std::process::exit(1);
    }
    let mismatches: Vec<_> = results.iter().filter_map(|r| r.mismatch.as_ref()).collect();
    if !mismatches.is_empty() {
        for m in mismatches {
            eprintln!("bench: error: {m}");
        }
        std::process::exit(1);
    }
}
