//! Clocks and random bytes, through WASI preview 2; prints only what is the same every run.
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let start = Instant::now();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    println!("after 2020: {}", now.as_secs() > 1_577_836_800);
    let mut sum = 0u64;
    for i in 0..100_000u64 {
        sum = sum.wrapping_add(i * i);
    }
    println!("sum {sum}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    println!("slept at least 5 ms: {}", start.elapsed().as_millis() >= 5);
    let mut map = std::collections::HashMap::new();
    map.insert("random", "seeded");
    println!("hash map: {}", map.len());
}
