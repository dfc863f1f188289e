//! The chiwawa image format and register instruction set, shared by the translator and runtime.

pub mod component;
pub mod image;
pub mod isa;
pub mod snapshot;

pub use image::*;
pub use isa::{
    decode, disassemble, encode, encode_into, instr_len, pair_of, unit_pair, visit_operands, Arg,
    DecodeError, EncodeError, Flow, Op, OpInfo, Operand, ISA_FINGERPRINT, MAX_FRAME, OPS, PAIRS,
};
/// The archived little-endian unit type of code streams.
pub use rkyv::rend::u16_le as CodeUnit;
/// The archived little-endian type of a function's constants.
pub use rkyv::rend::u64_le as ConstWord;

/// The translator version recorded in image headers and in cache keys, packed as
/// [`pack_version`] does. Every workspace crate shares one version (`version.workspace`), so the
/// format crate's `CARGO_PKG_VERSION` is the translator's; it lives here so that the runtime and
/// the cache, which must not depend on the translator, compute the same cache keys.
pub const TRANSLATOR_VERSION: u32 = pack_version_const(env!("CARGO_PKG_VERSION"));

/// [`pack_version`] at compile time: a part that is not a decimal number counts as 0.
const fn pack_version_const(version: &str) -> u32 {
    let bytes = version.as_bytes();
    let mut parts = [0u32; 3];
    let mut bad = [false; 3];
    let (mut part, mut i) = (0, 0);
    while i < bytes.len() && part < 3 {
        let b = bytes[i];
        if b == b'.' || b == b'-' {
            part += 1;
        } else if b.is_ascii_digit() {
            parts[part] = parts[part]
                .saturating_mul(10)
                .saturating_add((b - b'0') as u32);
        } else {
            bad[part] = true;
        }
        i += 1;
    }
    let mut packed = 0;
    let mut k = 0;
    while k < 3 {
        let max = if k == 0 { 0xffff } else { 0xff };
        let v = if bad[k] {
            0
        } else if parts[k] > max {
            max
        } else {
            parts[k]
        };
        packed = (packed << if k == 0 { 0 } else { 8 }) | v;
        k += 1;
    }
    packed
}

#[cfg(test)]
mod version_tests {
    #[test]
    fn translator_version_is_the_packed_crate_version() {
        assert_eq!(
            super::TRANSLATOR_VERSION,
            super::pack_version(env!("CARGO_PKG_VERSION"))
        );
        for v in [
            "0.1.0",
            "1.2.3",
            "12.0.255",
            "1.2.3-beta.1",
            "70000.300.1",
            "1.x.3",
            "",
        ] {
            assert_eq!(super::pack_version_const(v), super::pack_version(v), "{v}");
        }
    }
}
