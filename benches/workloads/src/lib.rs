//! Compute kernels for chiwawa's benchmarks. Every kernel is exported as
//! `extern "C" fn(n: i32) -> i64`: `n` sets the amount of work and the result is a checksum
//! (float results as their bits), so every engine's answer can be compared with the others'.
//!
//! A std cdylib (core has no stable `f64::sqrt`): its panic path imports a few WASI functions
//! (`fd_write`, `proc_exit`, ...) that no kernel calls when it works; the harness links them to
//! functions that trap.

use core::arch::wasm32;
use core::sync::atomic::{AtomicUsize, Ordering};

const PAGE: usize = 65536;

/// Where scratch memory starts: the end of the memory the module started with.
static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// `bytes` of scratch memory, 8-aligned, grown on demand and reused by every call (so repeated
/// runs do not grow memory without end). Its contents are whatever the last kernel left.
fn scratch(bytes: usize) -> *mut u8 {
    let mut base = SCRATCH.load(Ordering::Relaxed);
    if base == 0 {
        base = wasm32::memory_size(0) * PAGE;
        SCRATCH.store(base, Ordering::Relaxed);
    }
    let have = wasm32::memory_size(0) * PAGE;
    let end = base + bytes;
    if end > have && wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) == usize::MAX {
        wasm32::unreachable()
    }
    base as *mut u8
}

fn scratch_slice<T: Copy>(len: usize) -> &'static mut [T] {
    let ptr = scratch(len * core::mem::size_of::<T>()) as *mut T;
    // SAFETY: `scratch` made [ptr, ptr + len * size_of::<T>()) part of linear memory, above
    // everything the module itself uses; it is 8-aligned (a page boundary) and one kernel uses it
    // at a time. The values are plain numbers, valid for any bits.
    unsafe { core::slice::from_raw_parts_mut(ptr, len) }
}

#[inline(never)]
fn fib_rec(n: i32) -> i64 {
    if n < 2 {
        n as i64
    } else {
        fib_rec(n - 1) + fib_rec(n - 2)
    }
}

/// Calls: the n-th Fibonacci number, recursively.
#[no_mangle]
pub extern "C" fn fib(n: i32) -> i64 {
    fib_rec(n)
}

/// f64 arithmetic: pi by n terms of the Leibniz series.
#[no_mangle]
pub extern "C" fn leibniz(n: i32) -> i64 {
    let mut sum = 0.0f64;
    let mut sign = 1.0f64;
    for i in 0..n {
        sum += sign / (2 * i as i64 + 1) as f64;
        sign = -sign;
    }
    (4.0 * sum).to_bits() as i64
}

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

/// f64 and memory: n steps of the five-body simulation (the benchmarks game's); the energy.
#[no_mangle]
pub extern "C" fn nbody(n: i32) -> i64 {
    const PI: f64 = core::f64::consts::PI;
    const SOLAR_MASS: f64 = 4.0 * PI * PI;
    const DAYS: f64 = 365.24;
    let mut bodies = [
        Body {
            pos: [0.0; 3],
            vel: [0.0; 3],
            mass: SOLAR_MASS,
        },
        Body {
            pos: [
                4.841_431_442_464_72,
                -1.160_320_044_027_428_4,
                -0.103_622_044_471_123_1,
            ],
            vel: [
                1.660_076_642_744_037e-3 * DAYS,
                7.699_011_184_197_404e-3 * DAYS,
                -6.904_600_169_720_63e-5 * DAYS,
            ],
            mass: 9.547_919_384_243_266e-4 * SOLAR_MASS,
        },
        Body {
            pos: [
                8.343_366_718_244_58,
                4.124_798_564_124_305,
                -4.035_234_171_143_214e-1,
            ],
            vel: [
                -2.767_425_107_268_624e-3 * DAYS,
                4.998_528_012_349_172e-3 * DAYS,
                2.304_172_975_737_639_3e-5 * DAYS,
            ],
            mass: 2.858_859_806_661_308e-4 * SOLAR_MASS,
        },
        Body {
            pos: [
                1.289_436_956_213_913_1e1,
                -1.511_115_140_169_863_1e1,
                -2.233_075_788_926_557_3e-1,
            ],
            vel: [
                2.964_601_375_647_616e-3 * DAYS,
                2.378_471_739_594_809_5e-3 * DAYS,
                -2.965_895_685_402_375_6e-5 * DAYS,
            ],
            mass: 4.366_244_043_351_563e-5 * SOLAR_MASS,
        },
        Body {
            pos: [
                1.537_969_711_485_091_1e1,
                -2.591_931_460_998_796_4e1,
                1.792_587_729_503_711_8e-1,
            ],
            vel: [
                2.680_677_724_903_893_2e-3 * DAYS,
                1.628_241_700_382_423e-3 * DAYS,
                -9.515_922_545_197_159e-5 * DAYS,
            ],
            mass: 5.151_389_020_466_114_5e-5 * SOLAR_MASS,
        },
    ];
    let mut momentum = [0.0f64; 3];
    for b in &bodies {
        for k in 0..3 {
            momentum[k] += b.vel[k] * b.mass;
        }
    }
    for k in 0..3 {
        bodies[0].vel[k] = -momentum[k] / SOLAR_MASS;
    }
    let dt = 0.01;
    for _ in 0..n {
        for i in 0..bodies.len() {
            for j in i + 1..bodies.len() {
                let d = [
                    bodies[i].pos[0] - bodies[j].pos[0],
                    bodies[i].pos[1] - bodies[j].pos[1],
                    bodies[i].pos[2] - bodies[j].pos[2],
                ];
                let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                let mag = dt / (d2 * d2.sqrt());
                let (mi, mj) = (bodies[i].mass, bodies[j].mass);
                for k in 0..3 {
                    bodies[i].vel[k] -= d[k] * mj * mag;
                    bodies[j].vel[k] += d[k] * mi * mag;
                }
            }
        }
        for b in bodies.iter_mut() {
            for k in 0..3 {
                b.pos[k] += dt * b.vel[k];
            }
        }
    }
    let mut energy = 0.0;
    for i in 0..bodies.len() {
        let b = &bodies[i];
        energy += 0.5 * b.mass * (b.vel[0] * b.vel[0] + b.vel[1] * b.vel[1] + b.vel[2] * b.vel[2]);
        for c in &bodies[i + 1..] {
            let d = [
                b.pos[0] - c.pos[0],
                b.pos[1] - c.pos[1],
                b.pos[2] - c.pos[2],
            ];
            energy -= b.mass * c.mass / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        }
    }
    energy.to_bits() as i64
}

/// Byte loads and stores: the number of primes up to n (sieve of Eratosthenes).
#[no_mangle]
pub extern "C" fn sieve(n: i32) -> i64 {
    let n = n.max(2) as usize;
    let composite: &mut [u8] = scratch_slice(n + 1);
    composite.fill(0);
    let mut count = 0i64;
    for i in 2..=n {
        if composite[i] == 0 {
            count += 1;
            let mut j = i * i;
            while j <= n {
                composite[j] = 1;
                j += i;
            }
        }
    }
    count
}

/// f64 loads, stores and multiply-adds: C = A * B for n x n matrices; the sum of C.
#[no_mangle]
pub extern "C" fn matmul(n: i32) -> i64 {
    let n = n.max(1) as usize;
    let all: &mut [f64] = scratch_slice(3 * n * n);
    let (a, rest) = all.split_at_mut(n * n);
    let (b, c) = rest.split_at_mut(n * n);
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] = ((i * 7 + j * 3) % 11) as f64 - 5.0;
            b[i * n + j] = ((i * 5 + j * 13) % 17) as f64 * 0.5;
        }
    }
    for i in 0..n {
        for j in 0..n {
            let mut sum = 0.0;
            for k in 0..n {
                sum += a[i * n + k] * b[k * n + j];
            }
            c[i * n + j] = sum;
        }
    }
    c.iter().sum::<f64>().to_bits() as i64
}

/// i64 arithmetic: n rounds of splitmix64-style mixing folded into one hash.
#[no_mangle]
pub extern "C" fn hash(n: i32) -> i64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n as u64 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state ^ i;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        h = (h ^ z)
            .rotate_left(27)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
    }
    h as i64
}

/// Comparisons, branches and memory: sort n pseudo-random u32s (core's unstable sort);
/// a position-weighted checksum of the result.
#[no_mangle]
pub extern "C" fn sort(n: i32) -> i64 {
    let n = n.max(1) as usize;
    let values: &mut [u32] = scratch_slice(n);
    let mut x: u32 = 0x1234_5678;
    for v in values.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *v = x;
    }
    values.sort_unstable();
    let mut sum = 0u64;
    for (i, &v) in values.iter().enumerate() {
        sum = sum.wrapping_add((i as u64 + 1).wrapping_mul(v as u64));
    }
    sum as i64
}

/// Table lookups and byte loads: the CRC-32 of n pseudo-random bytes.
#[no_mangle]
pub extern "C" fn crc32(n: i32) -> i64 {
    let n = n.max(0) as usize;
    let table: &mut [u32] = scratch_slice(256 + n.div_ceil(4));
    let (table, data) = table.split_at_mut(256);
    for (i, entry) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    let mut x: u32 = 0x9e37_79b9;
    for word in data.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *word = x;
    }
    // SAFETY: `data` is n.div_ceil(4) initialised u32s, so its first n bytes are initialised.
    let bytes = unsafe { core::slice::from_raw_parts(data.as_ptr() as *const u8, n) };
    let mut crc = !0u32;
    for &b in bytes {
        crc = table[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    (!crc) as i64
}
