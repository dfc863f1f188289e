//! A short campaign of each oracle (seconds each): no failure, and every outcome class an
//! oracle should reach is reached (a campaign whose mutants are all refused, or whose modules
//! never run, tests nothing).

use std::path::PathBuf;
use std::time::Duration;

use chiwawa_fuzz::campaign::{self, Settings, Stats};
use chiwawa_fuzz::worker::{Executor, Worker};
use chiwawa_fuzz::Class;

fn worker(timeout_ms: u64, limit_kib: Option<u64>) -> Executor {
    Executor::Worker(Worker::new(
        PathBuf::from(env!("CARGO_BIN_EXE_chiwawa-fuzz")),
        Duration::from_millis(timeout_ms),
        limit_kib,
    ))
}

fn settings(count: u64, seed: u64) -> Settings {
    let mut s = Settings::new(count, seed);
    s.artifacts =
        Some(std::env::temp_dir().join(format!("chiwawa-fuzz-smoke-{}", std::process::id())));
    s
}

fn check(stats: &Stats, reached: &[Class]) {
    eprintln!("{}", stats.report());
    assert_eq!(stats.failure_count(), 0, "{}", stats.report());
    for &class in reached {
        assert!(
            stats.count(class) > 0,
            "no input was {class}:\n{}",
            stats.report()
        );
    }
}

#[test]
fn image_mutants_are_refused_run_or_trap_and_never_crash() {
    let seeds = campaign::image_seeds(7, &[]);
    assert!(seeds.len() >= 20, "only {} seed images", seeds.len());
    let mut exec = worker(1000, Some(4 << 20));
    let stats = campaign::images(&settings(300, 7), &seeds, &mut exec);
    check(&stats, &[Class::Refused, Class::Ran, Class::Trapped]);
    assert_eq!(stats.execs, 300);
    // Mutations reach every field class.
    for prefix in [
        "code.", "func.", "types.", "elems.", "globals.", "layout.", "header.",
    ] {
        assert!(
            stats.by_kind.keys().any(|k| k.starts_with(prefix)),
            "no {prefix}* mutation:\n{}",
            stats.report()
        );
    }
}

#[test]
fn generated_modules_run_alike_in_chiwawa_and_the_reference_engines() {
    let mut exec = worker(30_000, None);
    let stats = campaign::diff(&settings(200, 7), &mut exec);
    check(&stats, &[Class::Agreed]);
    assert!(stats.count(Class::Agreed) >= 150, "{}", stats.report());
}

#[test]
fn the_translator_never_panics_and_refuses_only_what_is_invalid() {
    let mut exec = worker(30_000, None);
    let stats = campaign::translate(&settings(300, 7), &mut exec);
    check(&stats, &[Class::Refused, Class::Ran]);
}

#[test]
fn a_panic_is_a_failure_of_the_oracle() {
    // The harness itself: what a campaign counts as a failure must be able to happen.
    let outcome = chiwawa_fuzz::guarded(|| panic!("deliberate"));
    assert_eq!(outcome.class, Class::Panic);
    assert!(outcome.detail.contains("deliberate"), "{}", outcome.detail);
    assert!(
        Class::Panic.is_failure() && Class::Crash.is_failure() && Class::Divergence.is_failure()
    );
    assert!(
        !Class::Refused.is_failure()
            && !Class::Trapped.is_failure()
            && !Class::Timeout.is_failure()
    );
}

#[test]
fn the_three_engines_run_and_agree_on_generated_modules() {
    // The differential oracle is only as good as its engines: each must really run modules
    // (a misconfigured wasmtime would leave every divergence undecided).
    use chiwawa_fuzz::diff::{events, Engine, Event};
    let (mut calls, mut by_wasmtime) = (0, 0);
    for i in 0..20 {
        let Some(wasm) = chiwawa_fuzz::seeds::supported_module_with(1000 + i, i % 4 != 0) else {
            continue;
        };
        let chi = events(Engine::Chiwawa, &wasm, i).expect("chiwawa runs it");
        assert_eq!(
            events(Engine::Wasmi, &wasm, i).as_ref(),
            Ok(&chi),
            "wasmi, module {i}"
        );
        match events(Engine::Wasmtime, &wasm, i) {
            // The workspace's wasmtime is built without its `gc` feature, which externref needs.
            Err(e) if e.contains("requires gc") => {}
            other => {
                assert_eq!(other.as_ref(), Ok(&chi), "wasmtime, module {i}");
                by_wasmtime += 1;
            }
        }
        calls += chi.iter().filter(|e| matches!(e, Event::Call(..))).count();
    }
    assert!(calls >= 20, "only {calls} calls in 20 modules");
    assert!(
        by_wasmtime >= 5,
        "wasmtime ran only {by_wasmtime} of 20 modules"
    );
}

#[test]
fn image_mutants_inside_chiwawa_rt_wasm_never_crash() {
    // The 32-bit build, where offsets once wrapped: a sample of mutants through the runtime
    // module itself, on embedded wasmtime.
    let path = chiwawa_fuzz::rt_wasm::default_path();
    if !path.is_file() {
        assert!(
            std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
            "no {} (make dist builds it)",
            path.display()
        );
        eprintln!("skipped: no {} (make dist)", path.display());
        return;
    }
    let rt = chiwawa_fuzz::rt_wasm::RtWasm::new(&path).expect("chiwawa-rt.wasm compiles");
    let seeds = campaign::image_seeds(11, &[]);
    let stats = campaign::images_wasm(&settings(80, 11), &seeds, &rt);
    check(&stats, &[Class::Refused, Class::Ran]);
    assert_eq!(stats.execs, 80);
}

#[test]
fn component_mutants_are_refused_run_or_trap_and_never_crash() {
    let paths = match chiwawa_fuzz::components::default_seed_paths() {
        Ok(paths) => paths,
        Err(e) => {
            assert!(
                std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
                "{e}"
            );
            eprintln!("skipped: {e}");
            return;
        }
    };
    let components: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read(p).unwrap()))
        .collect();
    let seeds = chiwawa_fuzz::components::seeds(&components).expect("the seeds translate");
    assert!(seeds.len() >= 5, "only {} seed components", seeds.len());
    // A generous limit: a timeout counts as a hang here, and the machine may be busy.
    let mut exec = worker(30_000, None);
    let stats = campaign::components(&settings(400, 3), &seeds, &mut exec);
    check(&stats, &[Class::Refused, Class::Ran, Class::Trapped]);
    assert_eq!(stats.execs, 400);
    // Every kind of mutation changed some mutant (a kind is counted only when it did).
    for kind in chiwawa_fuzz::components::KINDS {
        assert!(
            stats.by_kind.contains_key(kind),
            "no {kind} mutation:\n{}",
            stats.report()
        );
    }
}
