//! Any bytes into the translator: never a panic; what it accepts the runtime accepts.
#![no_main]

use chiwawa_fuzz::translate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let outcome = chiwawa_fuzz::guarded(|| translate::run(data, 0));
    assert!(!outcome.class.is_failure(), "{}: {}", outcome.class, outcome.detail);
});
