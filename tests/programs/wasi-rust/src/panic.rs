//! A Rust WASI command that panics (issue 14, principle 10): a line on stdout, then a panic,
//! whose message std writes to stderr before it aborts (wasm32-wasip1 panics abort, and abort
//! ends in an `unreachable` instruction). Run directly, each host reports the trap its own way and
//! exits as it does for a trap (wasmtime 134); through chiwawa-rt.wasm the host must end the
//! same way, after chiwawa's own `error: trap: unreachable in ...` line.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("{}: {} arguments, about to panic", args[0], args.len());
    panic!("deliberate panic after {} arguments", args.len());
}
