//! A small deterministic WASI program: the same output under chiwawa-rt.wasm as
//! run directly. argv[0] is not printed, as it differs between the two runs.

use std::collections::BTreeMap;

fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

fn count_primes_below(limit: usize) -> usize {
    let mut composite = vec![false; limit];
    let mut count = 0;
    for i in 2..limit {
        if !composite[i] {
            count += 1;
            for j in (i * i..limit).step_by(i) {
                composite[j] = true;
            }
        }
    }
    count
}

/// FNV-1a, 64-bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A linear congruential generator, so the "random" input is the same every run.
fn lcg_values(count: usize, mut seed: u32) -> Vec<u32> {
    (0..count)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        })
        .collect()
}

fn leibniz_pi(terms: u32) -> f64 {
    (0..terms)
        .map(|k| {
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            sign / f64::from(2 * k + 1)
        })
        .sum::<f64>()
        * 4.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let greeting = std::env::var("HELLO_GREETING").unwrap_or_else(|_| "Hello".to_string());
    let who = if args.is_empty() {
        "world".to_string()
    } else {
        args.join(" ")
    };
    println!("{greeting}, {who}! ({} args)", args.len());

    println!("fib(50) = {}", fib(50));
    println!("fib(100) mod 2^64 = {}", fib(100));
    println!("primes below 100000 = {}", count_primes_below(100_000));

    let mut values = lcg_values(10_000, 42);
    values.sort_unstable();
    let median = values[values.len() / 2];
    let checksum = values.iter().enumerate().fold(0u64, |acc, (i, &v)| {
        acc.wrapping_mul(31).wrapping_add(u64::from(v) ^ i as u64)
    });
    println!(
        "sorted 10000 values: min {} median {median} max {} checksum {checksum:#018x}",
        values[0],
        values[values.len() - 1]
    );

    let text = "the quick brown fox jumps over the lazy dog the fox the dog";
    println!("fnv1a(text) = {:#018x}", fnv1a(text.as_bytes()));
    let mut words: BTreeMap<&str, u32> = BTreeMap::new();
    for word in text.split_whitespace() {
        *words.entry(word).or_insert(0) += 1;
    }
    let counts: Vec<String> = words.iter().map(|(w, n)| format!("{w}:{n}")).collect();
    println!("word counts: {}", counts.join(" "));

    let pi = leibniz_pi(1_000_000);
    println!("leibniz pi (1e6 terms) = {pi}");
    println!(
        "sqrt(2) = {}, e = {}, sin(1) = {}, ln(10) = {}",
        2f64.sqrt(),
        1f64.exp(),
        1f64.sin(),
        10f64.ln()
    );
    println!("f32: 1/3 = {}, 0.1 + 0.2 = {}", 1f32 / 3.0, 0.1f32 + 0.2);
    println!(
        "i64 edge: {} {} {}",
        i64::MIN.wrapping_div(-1),
        (-7i64).rem_euclid(3),
        u64::MAX.leading_zeros()
    );
}
