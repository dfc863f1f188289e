//! Arguments, environment, standard streams and the exit status, through WASI preview 2.
use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("args: {}", args[1..].join(" "));
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    for (k, v) in &env {
        println!("env {k}={v}");
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    println!(
        "stdin: {} bytes, {} lines",
        input.len(),
        input.lines().count()
    );
    eprintln!("to stderr");
    std::io::stdout().flush().expect("flush");
    let code = args.get(1).and_then(|a| a.parse::<i32>().ok()).unwrap_or(0);
    std::process::exit(code);
}
