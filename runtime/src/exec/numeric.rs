//! Numeric helpers of the handlers: float bits, NaN quieting, truncation bounds, min/max, and
//! address arithmetic of memory accesses.

use super::*;

#[inline(always)]
pub(super) fn f32v(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

#[inline(always)]
pub(super) fn f64v(v: u64) -> f64 {
    f64::from_bits(v)
}

#[inline(always)]
pub(super) fn i32v(v: u64) -> u32 {
    v as u32
}

/// Rounding passes a signalling NaN through unchanged on some hosts; Wasm wants it quieted.
#[inline(always)]
pub(super) fn quiet32(x: f32) -> u64 {
    let bits = x.to_bits();
    (if x.is_nan() { bits | 0x0040_0000 } else { bits }) as u64
}

#[inline(always)]
pub(super) fn quiet64(x: f64) -> u64 {
    let bits = x.to_bits();
    if x.is_nan() {
        bits | 0x0008_0000_0000_0000
    } else {
        bits
    }
}

#[inline(always)]
pub(super) fn b(c: bool) -> u64 {
    c as u64
}

pub(super) fn trunc_check(x: f64, lo: f64, hi: f64) -> Result<f64, Fault> {
    if x.is_nan() {
        Err(Fault::InvalidConversion)
    } else if x > lo && x < hi {
        Ok(x)
    } else {
        Err(Fault::IntegerOverflow)
    }
}

macro_rules! float_minmax {
    ($name:ident, $f:ty, $min:expr) => {
        pub(super) fn $name(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a == b {
                // Equal up to the sign of zero: min prefers -0, max prefers +0.
                if $min {
                    <$f>::from_bits(a.to_bits() | b.to_bits())
                } else {
                    <$f>::from_bits(a.to_bits() & b.to_bits())
                }
            } else if (a < b) == $min {
                a
            } else {
                b
            }
        }
    };
}
float_minmax!(f32_min, f32, true);
float_minmax!(f32_max, f32, false);
float_minmax!(f64_min, f64, true);
float_minmax!(f64_max, f64, false);

#[inline]
pub(super) fn effective(addr: u64, offset: u32, len: usize, size: usize) -> Result<usize, Fault> {
    let ea = (addr as u32 as u64) + offset as u64;
    if ea + size as u64 > len as u64 {
        Err(Fault::MemoryOutOfBounds)
    } else {
        Ok(ea as usize)
    }
}

/// Bounds-checks `[start, start + len)` against `size`.
#[inline]
pub(super) fn range(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    if end > size as u64 {
        None
    } else {
        Some(start as usize..end as usize)
    }
}
