//! libFuzzer's bytes choose a seed image and its mutations (the first 8 bytes seed the
//! mutator); the mutant must be refused, run or trap cleanly. Mutated code can loop forever:
//! run with `-timeout=2` and treat timeouts as such.
#![no_main]

use std::sync::OnceLock;

use chiwawa_fuzz::mutate::{self, Presentation, Seed};
use chiwawa_fuzz::rng::Rng;
use chiwawa_fuzz::images;
use libfuzzer_sys::fuzz_target;

fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| chiwawa_fuzz::campaign::image_seeds(1, &[]))
}

fuzz_target!(|data: &[u8]| {
    let mut word = [0u8; 8];
    let n = data.len().min(8);
    word[..n].copy_from_slice(&data[..n]);
    let mut rng = Rng::new(u64::from_le_bytes(word));
    let mutant = mutate::mutate(rng.pick(seeds()), &mut rng);
    if mutant.bytes.is_empty() || mutant.presentation == Presentation::SparseFile {
        return;
    }
    let outcome = chiwawa_fuzz::guarded(|| images::run(&mutant.bytes, images::Mode::Bytes, 1));
    assert!(
        !outcome.class.is_failure(),
        "{:?}: {}: {}",
        mutant.kinds,
        outcome.class,
        outcome.detail
    );
});
