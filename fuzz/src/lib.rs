//! Fuzzing for chiwawa (issue 14): three oracles and the campaigns that drive them.
//!
//! - [`images`]: structured mutations of valid images, rebuilt through
//!   `chiwawa_format::write_image` (all hashes recomputed), must be refused, run or trap cleanly;
//! - [`diff`]: wasm-smith modules in the translator's feature set, run in chiwawa and wasmi, every
//!   divergence decided by wasmtime;
//! - [`translate`]: arbitrary bytes and modules never make the translator panic, and what it
//!   accepts the runtime's verifier accepts;
//! - [`components`]: structured mutations of component images' link tables, loaded,
//!   instantiated against the preview-2 host and run, must be refused, run or trap cleanly.
//!
//! Each oracle is a function from one input to an [`Outcome`]; [`campaign`] runs many of them,
//! in a worker process ([`worker`]) so that a crash, an abort or a hang of one input is counted
//! and the campaign goes on.

pub mod campaign;
pub mod components;
pub mod crafted;
pub mod diff;
pub mod images;
pub mod mutate;
pub mod rng;
pub mod rt_wasm;
pub mod seeds;
pub mod translate;
pub mod worker;

use std::cell::RefCell;
use std::fmt;

/// What one input did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// An image refused at load or by the verifier; a module the translator refused.
    Refused,
    /// Everything ran to completion (results, or a translated module).
    Ran,
    /// A clean guest trap (the image ran until then).
    Trapped,
    /// Differential: both engines agreed on everything.
    Agreed,
    /// Differential: wasmi diverged and wasmtime agrees with chiwawa (a wasmi bug).
    ReferenceBug,
    /// Not judged (e.g. the generated module is outside the feature set, or no engine ran it).
    Skipped,
    /// Stopped by the harness's time limit (images: mutated code may loop forever).
    Timeout,
    // Failures from here on.
    /// chiwawa (runtime or translator) panicked.
    Panic,
    /// The process running the input died (abort, fault, allocation failure).
    Crash,
    /// Differential: chiwawa disagrees with wasmtime.
    Divergence,
    /// A valid module the translator refused, or translated into an image the runtime refused;
    /// or an invalid module it accepted.
    Rejected,
    /// Eager and lazy verification ran the same image differently.
    Inconsistent,
    /// Differential: chiwawa did not finish a module that terminates by construction.
    Hang,
}

impl Class {
    pub const ALL: [Class; 13] = [
        Class::Refused,
        Class::Ran,
        Class::Trapped,
        Class::Agreed,
        Class::ReferenceBug,
        Class::Skipped,
        Class::Timeout,
        Class::Panic,
        Class::Crash,
        Class::Divergence,
        Class::Rejected,
        Class::Inconsistent,
        Class::Hang,
    ];

    pub fn is_failure(self) -> bool {
        self >= Class::Panic
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::Refused => "refused",
            Class::Ran => "ran",
            Class::Trapped => "trapped",
            Class::Agreed => "agreed",
            Class::ReferenceBug => "reference-bug",
            Class::Skipped => "skipped",
            Class::Timeout => "timeout",
            Class::Panic => "PANIC",
            Class::Crash => "CRASH",
            Class::Divergence => "DIVERGENCE",
            Class::Rejected => "REJECTED",
            Class::Inconsistent => "INCONSISTENT",
            Class::Hang => "HANG",
        }
    }

    pub fn to_byte(self) -> u8 {
        Class::ALL.iter().position(|&c| c == self).unwrap_or(0) as u8
    }

    pub fn from_byte(b: u8) -> Option<Class> {
        Class::ALL.get(b as usize).copied()
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One input's class and what happened, in words (a failure's message and backtrace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub class: Class,
    pub detail: String,
}

impl Outcome {
    pub fn new(class: Class, detail: impl Into<String>) -> Outcome {
        Outcome {
            class,
            detail: detail.into(),
        }
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records the message, location and backtrace of a panic for
/// [`guarded`] instead of printing them.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "(non-string payload)".to_string()
            };
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let backtrace = std::backtrace::Backtrace::force_capture().to_string();
            let text = format!(
                "panicked at {location}: {msg}\n{}",
                trim_backtrace(&backtrace)
            );
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

/// The frames of a backtrace that are chiwawa's (and a few around them), without the harness.
fn trim_backtrace(bt: &str) -> String {
    let lines: Vec<&str> = bt.lines().collect();
    let mut keep = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.contains("chiwawa") && !t.contains("chiwawa_fuzz") {
            keep.push(*line);
            if let Some(at) = lines
                .get(i + 1)
                .filter(|l| l.trim_start().starts_with("at "))
            {
                keep.push(at);
            }
        }
        if keep.len() >= 24 {
            break;
        }
    }
    keep.join("\n")
}

/// Runs `f`, turning a panic into `Class::Panic` with its message and backtrace.
pub fn guarded(f: impl FnOnce() -> Outcome) -> Outcome {
    install_panic_hook();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(outcome) => outcome,
        Err(_) => {
            let text = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "panic (no message)".into());
            Outcome::new(Class::Panic, text)
        }
    }
}

/// Runs `f` and returns `Err(message)` if it panicked (for a reference engine's own panics).
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".into())
    })
}

/// Which oracle an input is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oracle {
    Images,
    Diff,
    Translate,
    Components,
}

impl Oracle {
    pub fn name(self) -> &'static str {
        match self {
            Oracle::Images => "images",
            Oracle::Diff => "diff",
            Oracle::Translate => "translate",
            Oracle::Components => "components",
        }
    }
}

/// One input: the bytes, and how to read them (images: `mode`; diff: the seed of the arguments).
#[derive(Clone, Debug)]
pub struct Job {
    pub oracle: Oracle,
    pub mode: u8,
    pub seed: u64,
    pub bytes: Vec<u8>,
}

/// Runs one input in this process (no protection against hangs or aborts).
pub fn run_job(job: &Job) -> Outcome {
    match job.oracle {
        Oracle::Images => images::run(&job.bytes, images::Mode::from_byte(job.mode), job.seed),
        Oracle::Diff => diff::run(&job.bytes, job.seed),
        Oracle::Translate => translate::run(&job.bytes, job.mode),
        Oracle::Components => components::run(&job.bytes),
    }
}

/// The jobs that check a saved input, by its extension: `.cwi` an image (a component image
/// through the component oracle; `sparse`, or `sparse` in its name: presented as a sparse
/// file), `.wasm` a module (translator and differential
/// oracles), anything else raw bytes for the translator.
pub fn jobs_for_file(path: &std::path::Path, bytes: Vec<u8>, sparse: bool) -> Vec<Job> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let job = |oracle, mode| Job {
        oracle,
        mode,
        seed: 1,
        bytes: bytes.clone(),
    };
    match ext {
        "cwi" if chiwawa_format::component::is_component_image(&bytes) => {
            vec![job(Oracle::Components, 0)]
        }
        "cwi" => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let mode = if sparse || name.is_some_and(|n| n.contains("sparse")) {
                images::Mode::SparseFile
            } else {
                images::Mode::Bytes
            };
            vec![job(Oracle::Images, mode.to_byte())]
        }
        "wasm" => vec![job(Oracle::Translate, 0), job(Oracle::Diff, 0)],
        _ => vec![job(Oracle::Translate, 0)],
    }
}
