//! libFuzzer's bytes seed a wasm-smith module in the supported feature set; chiwawa must run
//! it as wasmtime does (wasmi divergences are decided by wasmtime).
#![no_main]

use chiwawa_fuzz::{diff, seeds};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut word = [0u8; 8];
    let n = data.len().min(8);
    word[..n].copy_from_slice(&data[..n]);
    let seed = u64::from_le_bytes(word);
    let Some(wasm) = seeds::supported_module(seed) else {
        return;
    };
    let outcome = chiwawa_fuzz::guarded(|| diff::run(&wasm, seed));
    assert!(!outcome.class.is_failure(), "{}: {}", outcome.class, outcome.detail);
});
