//! Campaigns: many inputs of one oracle from one seed, counted per outcome class and per kind
//! of input (mutation kind, generator), failures saved as artifacts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::mutate::{self, Presentation, Seed};
use crate::rng::Rng;
use crate::rt_wasm::RtWasm;
use crate::worker::Executor;
use crate::{components, images, seeds, translate, Class, Job, Oracle, Outcome};

pub struct Settings {
    pub count: u64,
    pub seed: u64,
    /// Where failing inputs go (`<dir>/<oracle>/`); `None`: not saved.
    pub artifacts: Option<PathBuf>,
    /// Print a progress line every few seconds (on stderr).
    pub progress: bool,
    /// Images: write every `write_every`-th mutant here as a `.cwi` file.
    pub write_dir: Option<PathBuf>,
    pub write_every: u64,
    /// Also keep (up to 20) inputs of this class whose kinds include `keep_kind` (if given),
    /// under `<artifacts>/<oracle>/keep/`: to look at what some mutation does.
    pub keep: Option<(Class, Option<String>)>,
}

impl Settings {
    pub fn new(count: u64, seed: u64) -> Settings {
        Settings {
            count,
            seed,
            artifacts: None,
            progress: false,
            write_dir: None,
            write_every: 50,
            keep: None,
        }
    }
}

/// The default artifacts directory: `fuzz/artifacts`.
pub fn default_artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

/// A failing input.
#[derive(Clone, Debug)]
pub struct Failure {
    pub class: Class,
    /// What the input was (mutation kinds, generator).
    pub kinds: String,
    /// The input's index in the campaign.
    pub index: u64,
    pub detail: String,
    pub artifact: Option<PathBuf>,
}

#[derive(Default)]
pub struct Stats {
    pub oracle: String,
    pub execs: u64,
    pub elapsed: Duration,
    pub by_class: BTreeMap<Class, u64>,
    pub by_kind: BTreeMap<String, BTreeMap<Class, u64>>,
    pub failures: Vec<Failure>,
    /// A few details of each non-failure class (what was refused, which wasmi bugs...).
    pub samples: BTreeMap<Class, Vec<String>>,
    keep: Option<(Class, Option<String>)>,
    kept: u64,
    /// Failures by signature (their first line without numbers): how many of each.
    pub signatures: BTreeMap<String, u64>,
}

impl Stats {
    fn new(oracle: &str) -> Stats {
        Stats {
            oracle: oracle.to_string(),
            ..Stats::default()
        }
    }

    pub fn count(&self, class: Class) -> u64 {
        self.by_class.get(&class).copied().unwrap_or(0)
    }

    pub fn failure_count(&self) -> u64 {
        self.by_class
            .iter()
            .filter(|(c, _)| c.is_failure())
            .map(|(_, n)| n)
            .sum()
    }

    pub fn execs_per_sec(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Counts an outcome; saves a failing input (at most two per signature).
    fn record(
        &mut self,
        index: u64,
        kinds: &[&str],
        outcome: &Outcome,
        input: &[u8],
        ext: &str,
        artifacts: Option<&Path>,
    ) {
        self.execs += 1;
        *self.by_class.entry(outcome.class).or_default() += 1;
        for kind in kinds {
            *self
                .by_kind
                .entry(kind.to_string())
                .or_default()
                .entry(outcome.class)
                .or_default() += 1;
        }
        if let (Some((class, kind)), Some(dir)) = (&self.keep, artifacts) {
            let kind_matches = kind.as_ref().is_none_or(|k| kinds.contains(&k.as_str()));
            if *class == outcome.class && kind_matches && self.kept < 20 {
                self.kept += 1;
                save(
                    &dir.join(&self.oracle),
                    "keep",
                    index,
                    outcome,
                    kinds,
                    input,
                    ext,
                );
            }
        }
        if !outcome.class.is_failure() {
            let samples = self.samples.entry(outcome.class).or_default();
            if samples.len() < 5 && !outcome.detail.is_empty() {
                samples.push(format!(
                    "[{}] {}",
                    kinds.join(","),
                    outcome.detail.lines().next().unwrap_or("")
                ));
            }
            return;
        }
        let sig = signature(outcome);
        let seen = self.signatures.entry(sig.clone()).or_default();
        *seen += 1;
        let artifact = match artifacts {
            Some(dir) if *seen <= 2 => save(dir, &self.oracle, index, outcome, kinds, input, ext),
            _ => None,
        };
        if self.failures.len() < 200 {
            self.failures.push(Failure {
                class: outcome.class,
                kinds: kinds.join(","),
                index,
                detail: outcome.detail.clone(),
                artifact,
            });
        }
    }

    /// The report: counts per class, per kind, samples and failures.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "== {}: {} inputs in {:.1}s ({:.0} execs/s)",
            self.oracle,
            self.execs,
            self.elapsed.as_secs_f64(),
            self.execs_per_sec()
        );
        for (class, n) in &self.by_class {
            let _ = writeln!(s, "  {:<14} {n}", class.name());
        }
        let _ = writeln!(s, "  by kind:");
        for (kind, classes) in &self.by_kind {
            let parts: Vec<String> = classes
                .iter()
                .map(|(c, n)| format!("{} {n}", c.name()))
                .collect();
            let _ = writeln!(s, "    {kind:<34} {}", parts.join(", "));
        }
        for (class, samples) in &self.samples {
            let _ = writeln!(s, "  samples of {}:", class.name());
            for sample in samples {
                let _ = writeln!(s, "    {}", truncate(sample, 200));
            }
        }
        if !self.signatures.is_empty() {
            let _ = writeln!(s, "  FAILURES by signature:");
            for (sig, n) in &self.signatures {
                let _ = writeln!(s, "    {n:>6}  {sig}");
            }
            for f in self.failures.iter().take(10) {
                let _ = writeln!(
                    s,
                    "  failure #{} {} [{}]{}:\n{}",
                    f.index,
                    f.class.name(),
                    f.kinds,
                    f.artifact
                        .as_ref()
                        .map(|p| format!(" saved as {}", p.display()))
                        .unwrap_or_default(),
                    indent(&truncate(&f.detail, 3000))
                );
            }
        }
        s
    }

    fn progress(&self, done: u64, total: u64) -> String {
        let parts: Vec<String> = self
            .by_class
            .iter()
            .map(|(c, n)| format!("{} {n}", c.name()))
            .collect();
        format!(
            "[{}] {done}/{total} {:.0}/s: {}",
            self.oracle,
            done as f64 / self.elapsed.as_secs_f64().max(1e-9),
            parts.join(", ")
        )
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &s[..cut])
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("      {l}\n")).collect()
}

/// A failure's signature: its class and first line, numbers blanked (so that one bug found
/// with many values counts as one).
fn signature(outcome: &Outcome) -> String {
    let line = outcome.detail.lines().next().unwrap_or("");
    let blanked: String = line
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    format!("{}: {}", outcome.class.name(), truncate(&blanked, 160))
}

fn save(
    dir: &Path,
    oracle: &str,
    index: u64,
    outcome: &Outcome,
    kinds: &[&str],
    input: &[u8],
    ext: &str,
) -> Option<PathBuf> {
    let dir = dir.join(oracle);
    std::fs::create_dir_all(&dir).ok()?;
    let sig = xxhash_rust::xxh3::xxh3_64(signature(outcome).as_bytes());
    let stem = format!(
        "{}-{:08x}-{index}",
        outcome.class.name().to_lowercase(),
        sig as u32
    );
    let path = dir.join(format!("{stem}.{ext}"));
    std::fs::write(&path, input).ok()?;
    let note = format!(
        "class: {}\ninput: {}\n\n{}\n",
        outcome.class.name(),
        kinds.join(", "),
        outcome.detail
    );
    std::fs::write(dir.join(format!("{stem}.txt")), note).ok()?;
    Some(path)
}

/// Calls `f(i)` for each input, with progress lines and the clock.
fn drive(stats: &mut Stats, settings: &Settings, mut f: impl FnMut(u64, &mut Stats)) {
    stats.keep = settings.keep.clone();
    let start = Instant::now();
    let mut last = Instant::now();
    for i in 0..settings.count {
        f(i, stats);
        stats.elapsed = start.elapsed();
        if settings.progress && last.elapsed() >= Duration::from_secs(5) {
            eprintln!("{}", stats.progress(i + 1, settings.count));
            last = Instant::now();
        }
    }
    stats.elapsed = start.elapsed();
}

/// The seeds of an image campaign: hand-written and wasm-smith modules, and `extra` modules.
pub fn image_seeds(seed: u64, extra: &[(String, Vec<u8>)]) -> Vec<Seed> {
    seeds::seed_images(24, seed, extra)
        .iter()
        .filter_map(|(name, image)| Seed::from_image(name, image))
        .collect()
}

/// Input `i` of an image campaign: a seed and its mutant (and the mutation kinds), or `None`
/// after recording it as skipped when `write_image` refused the mutated module.
fn next_mutant<'s>(
    i: u64,
    seeds: &'s [Seed],
    rng: &mut Rng,
    stats: &mut Stats,
) -> Option<(&'s Seed, mutate::Mutant, Vec<&'static str>)> {
    let seed = rng.pick(seeds);
    let mutant = mutate::mutate(seed, rng);
    let kinds = mutant.kinds.clone();
    if mutant.bytes.is_empty() {
        let skipped = Outcome::new(Class::Skipped, "write_image refused the module");
        stats.record(i, &kinds, &skipped, &[], "cwi", None);
        return None;
    }
    Some((seed, mutant, kinds))
}

/// The image-mutation campaign, each mutant run by `exec`.
pub fn images(settings: &Settings, seeds: &[Seed], exec: &mut Executor) -> Stats {
    let mut stats = Stats::new("images");
    if seeds.is_empty() {
        return stats;
    }
    if let Some(dir) = &settings.write_dir {
        let _ = std::fs::create_dir_all(dir);
    }
    drive(&mut stats, settings, |i, stats| {
        let mut rng = Rng::new(Rng::derive(settings.seed, i));
        let Some((_, mutant, kinds)) = next_mutant(i, seeds, &mut rng, stats) else {
            return;
        };
        if let Some(dir) = &settings.write_dir {
            if i % settings.write_every.max(1) == 0 {
                let _ = std::fs::write(dir.join(format!("mutant-{i}.cwi")), &mutant.bytes);
            }
        }
        let mode = match mutant.presentation {
            Presentation::InMemory => images::Mode::Bytes,
            Presentation::SparseFile => images::Mode::SparseFile,
        };
        let job = Job {
            oracle: Oracle::Images,
            mode: mode.to_byte(),
            seed: rng.next_u64(),
            bytes: mutant.bytes,
        };
        run_mutant(settings, stats, exec, i, kinds, &job, |outcome| {
            if outcome.class == Class::Timeout {
                save_timeout(settings, "images", i, &job.bytes);
            }
            outcome
        });
    });
    stats
}

/// Runs mutant `job` (input `i`, of mutation `kinds`) by `exec`; `judge` may reclassify the
/// outcome before it is counted (under `kinds` and `all`) and a failure saved.
fn run_mutant(
    settings: &Settings,
    stats: &mut Stats,
    exec: &mut Executor,
    i: u64,
    mut kinds: Vec<&'static str>,
    job: &Job,
    judge: impl FnOnce(Outcome) -> Outcome,
) {
    let outcome = judge(exec.run(job));
    kinds.push("all");
    stats.record(
        i,
        &kinds,
        &outcome,
        &job.bytes,
        "cwi",
        settings.artifacts.as_deref(),
    );
}

/// Keeps a few mutants that ran out of time (`<artifacts>/<oracle>/timeout/`), to look at:
/// most loop forever (a mutated jump or loop counter), which is not a failure.
fn save_timeout(settings: &Settings, oracle: &str, index: u64, bytes: &[u8]) {
    if let Some(dir) = &settings.artifacts {
        let dir = dir.join(oracle).join("timeout");
        let _ = std::fs::create_dir_all(&dir);
        if std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) < 20 {
            let _ = std::fs::write(dir.join(format!("timeout-{index}.cwi")), bytes);
        }
    }
}

/// The image-mutation campaign inside chiwawa-rt.wasm on an embedded wasmtime.
pub fn images_wasm(settings: &Settings, seeds: &[Seed], rt: &RtWasm) -> Stats {
    let mut stats = Stats::new("images-wasm");
    if seeds.is_empty() {
        return stats;
    }
    // Each input's number and mutations before it runs, to find one that hangs the host.
    let trace = std::env::var_os("CHIWAWA_FUZZ_TRACE").is_some();
    // CHIWAWA_FUZZ_ONLY=N runs input N alone and writes it to images-wasm-N.cwi.
    let only: Option<u64> = std::env::var("CHIWAWA_FUZZ_ONLY")
        .ok()
        .and_then(|n| n.parse().ok());
    drive(&mut stats, settings, |i, stats| {
        let mut rng = Rng::new(Rng::derive(settings.seed, i));
        let Some((seed, mutant, mut kinds)) = next_mutant(i, seeds, &mut rng, stats) else {
            return;
        };
        let args = invocation(seed, &mut rng);
        if only.is_some_and(|n| n != i) {
            return;
        }
        if trace || only.is_some() {
            eprintln!("input {i}: {kinds:?} {:?} {args:?}", mutant.presentation);
        }
        if only.is_some() {
            let _ = std::fs::write(format!("images-wasm-{i}.cwi"), &mutant.bytes);
        }
        let outcome = rt.run(&mutant.bytes, mutant.presentation, &args);
        kinds.push("all");
        stats.record(
            i,
            &kinds,
            &outcome,
            &mutant.bytes,
            "cwi",
            settings.artifacts.as_deref(),
        );
    });
    stats
}

/// chiwawa-rt's command line for a mutant of `seed`: a verification mode and one exported
/// function of the seed with numeric parameters, called with small numbers.
fn invocation(seed: &Seed, rng: &mut Rng) -> Vec<String> {
    use chiwawa_format::{extern_kind, valtype};
    let m = &seed.module;
    let numeric = |t: &u8| {
        matches!(
            *t,
            valtype::I32 | valtype::I64 | valtype::F32 | valtype::F64
        )
    };
    let funcs: Vec<(&str, usize)> = m
        .exports
        .iter()
        .filter(|e| e.kind == extern_kind::FUNC)
        .filter_map(|e| {
            let ty = m.types.get(*m.func_types.get(e.index as usize)? as usize)?;
            ty.params
                .iter()
                .all(numeric)
                .then_some((e.name.as_str(), ty.params.len()))
        })
        .collect();
    let mut args = vec![if rng.chance(1, 2) {
        "--verify=eager"
    } else {
        "--verify=lazy"
    }
    .to_string()];
    if funcs.is_empty() {
        args.push("m.cwi".into());
        return args;
    }
    let (name, nparams) = *rng.pick(&funcs);
    args.extend([
        "--invoke".to_string(),
        name.to_string(),
        "m.cwi".to_string(),
    ]);
    for _ in 0..nparams {
        args.push(rng.pick(&["0", "1", "7", "-1", "100"]).to_string());
    }
    args
}

/// The differential campaign.
pub fn diff(settings: &Settings, exec: &mut Executor) -> Stats {
    let mut stats = Stats::new("diff");
    drive(&mut stats, settings, |i, stats| {
        let seed = Rng::derive(settings.seed, i);
        // Every other module without reference types: wasmtime can decide all of its
        // divergences (it cannot compile externref, see `seeds::supported_module_with`).
        let Some(wasm) = seeds::supported_module_with(seed, i % 2 == 1) else {
            stats.record(
                i,
                &["smith"],
                &Outcome::new(Class::Skipped, "wasm-smith gave up"),
                &[],
                "wasm",
                None,
            );
            return;
        };
        let job = Job {
            oracle: Oracle::Diff,
            mode: 0,
            seed,
            bytes: wasm,
        };
        let mut outcome = exec.run(&job);
        if outcome.class == Class::Timeout {
            // The module terminates by construction (wasm-smith's fuel): chiwawa hung.
            outcome.class = Class::Hang;
        }
        stats.record(
            i,
            &["smith-supported"],
            &outcome,
            &job.bytes,
            "wasm",
            settings.artifacts.as_deref(),
        );
        if outcome.class == Class::ReferenceBug {
            if let Some(dir) = &settings.artifacts {
                let dir = dir.join("diff").join("reference");
                let _ = std::fs::create_dir_all(&dir);
                if std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) < 40 {
                    let _ = std::fs::write(dir.join(format!("wasmi-{i}.wasm")), &job.bytes);
                    let _ = std::fs::write(dir.join(format!("wasmi-{i}.txt")), &outcome.detail);
                }
            }
        }
    });
    stats
}

/// The translator campaign: inputs cycle through [`translate::KINDS`].
pub fn translate(settings: &Settings, exec: &mut Executor) -> Stats {
    let mut stats = Stats::new("translate");
    drive(&mut stats, settings, |i, stats| {
        let mode = (i % translate::KINDS.len() as u64) as u8;
        let seed = Rng::derive(settings.seed, i);
        let bytes = translate::generate(mode, seed);
        let job = Job {
            oracle: Oracle::Translate,
            mode,
            seed,
            bytes,
        };
        let outcome = exec.run(&job);
        stats.record(
            i,
            &[translate::KINDS[mode as usize]],
            &outcome,
            &job.bytes,
            "wasm",
            settings.artifacts.as_deref(),
        );
    });
    stats
}

/// The component-mutation campaign: mutants of `seeds` (translated components), each run by
/// `exec`.
pub fn components(
    settings: &Settings,
    seeds: &[components::ComponentSeed],
    exec: &mut Executor,
) -> Stats {
    let mut stats = Stats::new("components");
    if seeds.is_empty() {
        return stats;
    }
    drive(&mut stats, settings, |i, stats| {
        let mut rng = Rng::new(Rng::derive(settings.seed, i));
        let seed = rng.pick(seeds);
        let (bytes, kinds) = components::mutate(seed, &mut rng);
        if bytes.is_empty() {
            let skipped = Outcome::new(Class::Skipped, "the mutant could not be serialized");
            stats.record(i, &kinds, &skipped, &[], "cwi", None);
            return;
        }
        let job = Job {
            oracle: Oracle::Components,
            mode: 0,
            seed: 0,
            bytes,
        };
        run_mutant(settings, stats, exec, i, kinds, &job, |outcome| {
            if outcome.class != Class::Timeout {
                return outcome;
            }
            // Runs are bounded by instructions and sleeps are virtual: only the host or the
            // canonical ABI can hold a run up.
            Outcome::new(
                Class::Hang,
                format!("no answer in time: {}", outcome.detail),
            )
        });
    });
    stats
}
