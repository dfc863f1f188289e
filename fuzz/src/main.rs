//! `chiwawa-fuzz`: bounded fuzzing campaigns for chiwawa (see the library's docs).
//!
//! ```text
//! chiwawa-fuzz images      --count N --seed S [--write-dir D] [seed.wasm...]
//! chiwawa-fuzz images-wasm --count N --seed S [--rt dist/chiwawa-rt.wasm] [seed.wasm...]
//! chiwawa-fuzz diff        --count N --seed S
//! chiwawa-fuzz translate   --count N --seed S
//! chiwawa-fuzz components  --count N --seed S [component.wasm...]
//! ```
//!
//! Prints the counts per outcome and exits 1 if any input failed (a panic, a crash, a
//! divergence from wasmtime, ...); failing inputs are saved under `fuzz/artifacts/<oracle>/`.
//! Build it with panic=unwind (the dev or test profile; not `--release`, which aborts).

use std::path::PathBuf;
use std::time::Duration;

use chiwawa_fuzz::campaign::{self, Settings, Stats};
use chiwawa_fuzz::rt_wasm::{self, RtWasm};
use chiwawa_fuzz::worker::{self, Executor, Worker};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "chiwawa-fuzz", about = "Fuzzing campaigns for chiwawa")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// How many inputs.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// The campaign's seed (same seed, same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where failing inputs are saved (default: fuzz/artifacts).
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// Run inputs in this process (no protection from aborts and hangs; for debugging).
    #[arg(long)]
    in_process: bool,
    /// Time limit of one input, in milliseconds (the worker is restarted after it).
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Also save (up to 20) inputs of this outcome class (e.g. `ran`), under
    /// `<artifacts>/<oracle>/keep/`.
    #[arg(long)]
    keep_class: Option<String>,
    /// With --keep-class: only inputs of this kind (e.g. `header.code_units`).
    #[arg(long)]
    keep_kind: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Structured mutations of valid images, run by the native runtime.
    Images {
        #[command(flatten)]
        common: Common,
        /// Also write every 50th mutant here as a .cwi file.
        #[arg(long)]
        write_dir: Option<PathBuf>,
        /// More seed modules (.wasm).
        seeds: Vec<PathBuf>,
    },
    /// Structured mutations of valid images, run inside chiwawa-rt.wasm on embedded wasmtime.
    ImagesWasm {
        #[command(flatten)]
        common: Common,
        /// The runtime module (default: $CHIWAWA_DIST or dist/chiwawa-rt.wasm).
        #[arg(long)]
        rt: Option<PathBuf>,
        seeds: Vec<PathBuf>,
    },
    /// wasm-smith modules run in chiwawa and wasmi, divergences decided by wasmtime.
    Diff {
        #[command(flatten)]
        common: Common,
    },
    /// Arbitrary bytes and modules into the translator.
    Translate {
        #[command(flatten)]
        common: Common,
    },
    /// Structured mutations of component images, loaded, instantiated against the preview-2
    /// host and run natively.
    Components {
        #[command(flatten)]
        common: Common,
        /// The components (.wasm) to translate into seeds (default: those of
        /// $CHIWAWA_COMPONENTS, `make components`, under 1 MB).
        seeds: Vec<PathBuf>,
    },
    /// Runs saved inputs again, in this process, and prints each one's outcome and time:
    /// `.cwi` files through the image oracle (component images through the component
    /// oracle), `.wasm` files through the translator and differential oracles, anything else
    /// through the translator oracle.
    Replay {
        /// Present `.cwi` files as sparse files extended to the length their header claims
        /// (also implied by `sparse` in the file name).
        #[arg(long)]
        sparse: bool,
        files: Vec<PathBuf>,
    },
    /// Writes the crafted inputs of issue 14 into DIR (the regression corpus).
    Craft { dir: PathBuf },
    /// (internal) answer jobs on stdin.
    #[command(hide = true)]
    Worker,
}

fn settings(c: &Common) -> Settings {
    let mut s = Settings::new(c.count, c.seed);
    s.keep = c.keep_class.as_ref().map(|name| {
        let class = chiwawa_fuzz::Class::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
            .unwrap_or_else(|| {
                eprintln!("chiwawa-fuzz: error: no outcome class {name}");
                std::process::exit(2)
            });
        (class, c.keep_kind.clone())
    });
    s.artifacts = Some(
        c.artifacts
            .clone()
            .unwrap_or_else(campaign::default_artifacts),
    );
    s.progress = true;
    s
}

/// Worker processes for `c`: address space limited for images (crafted sizes), not for the
/// oracles that embed wasmtime (it reserves large virtual regions).
fn executor(c: &Common, default_timeout: u64, limit_kib: Option<u64>) -> Executor {
    if c.in_process {
        return Executor::InProcess;
    }
    let exe = std::env::current_exe().expect("the path of this program");
    let timeout = Duration::from_millis(c.timeout_ms.unwrap_or(default_timeout));
    Executor::Worker(Worker::new(exe, timeout, limit_kib))
}

fn read_seeds(paths: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap_or_else(|e| {
                eprintln!("chiwawa-fuzz: error: {}: {e}", p.display());
                std::process::exit(2)
            });
            (p.display().to_string(), bytes)
        })
        .collect()
}

fn finish(stats: Stats) -> ! {
    println!("{}", stats.report());
    let failures = stats.failure_count();
    if failures > 0 {
        println!("{failures} FAILURES");
        std::process::exit(1);
    }
    std::process::exit(0);
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Worker => worker::worker_main(),
        Command::Craft { dir } => {
            std::fs::create_dir_all(&dir).expect("create the directory");
            for (name, bytes) in chiwawa_fuzz::crafted::files() {
                std::fs::write(dir.join(&name), bytes).expect("write a crafted file");
                println!("{}", dir.join(name).display());
            }
        }
        Command::Replay { sparse, files } => {
            let mut failed = false;
            for file in &files {
                let bytes = std::fs::read(file).unwrap_or_else(|e| {
                    eprintln!("chiwawa-fuzz: error: {}: {e}", file.display());
                    std::process::exit(2)
                });
                for job in chiwawa_fuzz::jobs_for_file(file, bytes, sparse) {
                    let start = std::time::Instant::now();
                    let outcome = Executor::InProcess.run(&job);
                    failed |= outcome.class.is_failure();
                    println!(
                        "{} [{}] {} in {:.1?}: {}",
                        file.display(),
                        job.oracle.name(),
                        outcome.class,
                        start.elapsed(),
                        outcome.detail
                    );
                }
            }
            std::process::exit(i32::from(failed))
        }
        Command::Images {
            common,
            write_dir,
            seeds,
        } => {
            let mut s = settings(&common);
            s.write_dir = write_dir;
            let seeds = campaign::image_seeds(common.seed, &read_seeds(&seeds));
            eprintln!("images: {} seed images", seeds.len());
            let mut exec = executor(&common, 150, Some(4 << 20));
            finish(campaign::images(&s, &seeds, &mut exec))
        }
        Command::ImagesWasm { common, rt, seeds } => {
            let s = settings(&common);
            let seeds = campaign::image_seeds(common.seed, &read_seeds(&seeds));
            let path = rt.unwrap_or_else(rt_wasm::default_path);
            eprintln!("images-wasm: compiling {}", path.display());
            let rt = RtWasm::new(&path).unwrap_or_else(|e| {
                eprintln!("chiwawa-fuzz: error: {e}");
                std::process::exit(2)
            });
            finish(campaign::images_wasm(&s, &seeds, &rt))
        }
        Command::Diff { common } => {
            let mut exec = executor(&common, 20_000, None);
            finish(campaign::diff(&settings(&common), &mut exec))
        }
        Command::Components { common, seeds } => {
            let paths = if seeds.is_empty() {
                chiwawa_fuzz::components::default_seed_paths().unwrap_or_else(|e| {
                    eprintln!("chiwawa-fuzz: error: {e}");
                    std::process::exit(2)
                })
            } else {
                seeds
            };
            let seeds = chiwawa_fuzz::components::seeds(&read_seeds(&paths)).unwrap_or_else(|e| {
                eprintln!("chiwawa-fuzz: error: {e}");
                std::process::exit(2)
            });
            eprintln!("components: {} seed components", seeds.len());
            let mut exec = executor(&common, 20_000, None);
            finish(campaign::components(&settings(&common), &seeds, &mut exec))
        }
        Command::Translate { common } => {
            let mut exec = executor(&common, 10_000, None);
            finish(campaign::translate(&settings(&common), &mut exec))
        }
    }
}
