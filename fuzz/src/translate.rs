//! The translator oracle: any bytes in, never a panic; an invalid module is an error, a valid
//! one an image (or a reasoned `Unsupported`), and every image it writes passes the runtime's
//! eager verifier.

use chiwawa_runtime::{load_image, VerifyMode};
use chiwawa_translator::{translate, TranslateError};
use wasmparser::Validator;

use crate::rng::Rng;
use crate::{seeds, Class, Outcome};

/// Kinds of translator input, by how they are made (the job's `mode`).
pub const KINDS: [&str; 4] = [
    "random-bytes",
    "smith-any-features",
    "smith-supported",
    "smith-flipped",
];

/// Makes the translator input number `mode` of [`KINDS`] from `seed`.
pub fn generate(mode: u8, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    match mode {
        0 => {
            let len = rng.index(512);
            let mut bytes = rng.bytes(len);
            if rng.chance(1, 2) && bytes.len() >= 8 {
                bytes[..8].copy_from_slice(b"\0asm\x01\0\0\0");
            }
            bytes
        }
        1 => seeds::any_module(seed).unwrap_or_default(),
        2 => seeds::supported_module(seed).unwrap_or_default(),
        _ => {
            let mut bytes = seeds::supported_module(seed).unwrap_or_default();
            for _ in 0..1 + rng.below(4) {
                if bytes.len() > 8 {
                    let at = 8 + rng.index(bytes.len() - 8);
                    match rng.below(3) {
                        0 => bytes[at] ^= 1 << rng.below(8),
                        1 => bytes[at] = rng.next_u32() as u8,
                        _ => {
                            bytes.remove(at);
                        }
                    }
                }
            }
            bytes
        }
    }
}

/// Runs the translator oracle on `wasm`.
pub fn run(wasm: &[u8], _mode: u8) -> Outcome {
    let valid = Validator::new_with_features(chiwawa_translator::wasm_features())
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| e.to_string());
    match (translate(wasm, &Default::default()), valid) {
        (Ok(image), Ok(())) => match load_image(&image, VerifyMode::Eager) {
            Ok(_) => Outcome::new(Class::Ran, "translated and verified"),
            Err(e) => Outcome::new(
                Class::Rejected,
                format!("the translator's image is refused by the runtime: {e}"),
            ),
        },
        (Ok(_), Err(e)) => Outcome::new(
            Class::Rejected,
            format!("the translator accepted a module wasmparser calls invalid: {e}"),
        ),
        (Err(TranslateError::Invalid(t) | TranslateError::InvalidComponent(t)), Ok(())) => {
            Outcome::new(
                Class::Rejected,
                format!("the translator called a valid module invalid: {t}"),
            )
        }
        (Err(e @ TranslateError::Unsupported(_)), Ok(())) => {
            Outcome::new(Class::Refused, format!("valid but {e}"))
        }
        (Err(e), Err(_)) => Outcome::new(Class::Refused, e.to_string()),
    }
}
