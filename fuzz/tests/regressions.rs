//! Every file of the regression corpus (`fuzz/corpus/regressions/`) through its oracle: crafted
//! images (`.cwi`) must be refused, run or trap cleanly; modules (`.wasm`) must translate into
//! images the runtime accepts and run as wasmtime runs them (or be refused as invalid); other
//! files must not make the translator panic. The crafted images of `crafted.rs` are made and run
//! too (`chiwawa-fuzz craft DIR` writes them out to look at); add every input a campaign found
//! failing: a module as its file, an image as a recipe in `crafted.rs`.

use std::path::{Path, PathBuf};

use chiwawa_fuzz::worker::Executor;

#[test]
fn the_regression_corpus_passes_its_oracles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the corpus is missing)", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: the corpus is empty", dir.display());
    // The crafted images are made afresh from their recipes (crafted.rs), so that they are in
    // this build's format: stored image bytes would be refused by their header after the next
    // format or ISA change, and test nothing.
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = chiwawa_fuzz::crafted::files()
        .into_iter()
        .map(|(name, bytes)| (dir.join(name), bytes))
        .collect();
    for file in &files {
        inputs.push((
            file.clone(),
            std::fs::read(file).expect("read a corpus file"),
        ));
    }
    let mut failures = Vec::new();
    let mut jobs = 0;
    for (file, bytes) in inputs {
        let file = &file;
        for job in chiwawa_fuzz::jobs_for_file(file, bytes, false) {
            jobs += 1;
            let outcome = Executor::InProcess.run(&job);
            eprintln!(
                "{}: {} {}",
                file.display(),
                job.oracle.name(),
                outcome.class
            );
            if outcome.class.is_failure() {
                failures.push(format!(
                    "{} ({}): {}: {}",
                    file.display(),
                    job.oracle.name(),
                    outcome.class,
                    outcome.detail
                ));
            }
        }
    }
    assert!(jobs >= files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
