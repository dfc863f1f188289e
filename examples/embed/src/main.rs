//! Embedding chiwawa: a host program runs a Wasm plugin through the runtime's API.
//!
//! The plugin (below, in the text format) exports `shout(ptr, len)`, which upper-cases text in
//! its memory and reports each word through the host function `host.word`, and `fact(n)`. The
//! host keeps what the plugin reported in its store's data, passes text through the plugin's
//! memory, calls with typed signatures, and shows a guest trap as an error value.
//!
//! `cargo run -p chiwawa-example-embed -- [TEXT]`; `IMAGE.cwi` (from `chiwawa-translate`) or
//! `MODULE.wasm` as `--plugin FILE` replaces the built-in plugin.

use chiwawa_runtime::{Caller, Engine, Error, ErrorKind, Linker, Module, Store};

const PLUGIN: &str = r#"(module
    (import "host" "word" (func $word (param i32 i32)))
    (memory (export "memory") 1)
    (global $calls (export "calls") (mut i32) (i32.const 0))
    ;; Upper-cases the ASCII letters of memory[ptr..ptr+len], reports each space-separated word
    ;; to the host, and returns how many letters changed.
    (func (export "shout") (param $ptr i32) (param $len i32) (result i32)
        (local $i i32) (local $c i32) (local $changed i32) (local $start i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (local.set $start (local.get $ptr))
        (block $done
            (loop $next
                (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
                (local.set $c (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
                (if (i32.and (i32.ge_u (local.get $c) (i32.const 97))
                             (i32.le_u (local.get $c) (i32.const 122)))
                    (then
                        (i32.store8 (i32.add (local.get $ptr) (local.get $i))
                                    (i32.sub (local.get $c) (i32.const 32)))
                        (local.set $changed (i32.add (local.get $changed) (i32.const 1)))))
                (if (i32.eq (local.get $c) (i32.const 32))
                    (then
                        (call $word (local.get $start)
                            (i32.sub (i32.add (local.get $ptr) (local.get $i)) (local.get $start)))
                        (local.set $start (i32.add (i32.add (local.get $ptr) (local.get $i))
                                                   (i32.const 1)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $next)))
        (call $word (local.get $start)
            (i32.sub (i32.add (local.get $ptr) (local.get $len)) (local.get $start)))
        (local.get $changed))
    ;; n! for 0 <= n <= 20; a negative n is a bug of the caller: the plugin traps.
    (func $fact (export "fact") (param $n i64) (result i64)
        (if (i64.lt_s (local.get $n) (i64.const 0)) (then unreachable))
        (if (result i64) (i64.le_s (local.get $n) (i64.const 1))
            (then (i64.const 1))
            (else (i64.mul (local.get $n) (call $fact (i64.sub (local.get $n) (i64.const 1))))))))
"#;

/// What the host keeps per store: the words the plugin reported.
#[derive(Default)]
struct Host {
    words: Vec<String>,
}

fn plugin(engine: &Engine, path: Option<&str>) -> Result<Module, Error> {
    match path {
        Some(path) if path.ends_with(".wasm") => {
            let wasm = std::fs::read(path)
                .map_err(|e| Error::new(ErrorKind::Io, format!("{path}: {e}")))?;
            Module::from_wasm(engine, &wasm)
        }
        Some(path) => Module::from_file(engine, path),
        None => {
            let buf = wast::parser::ParseBuffer::new(PLUGIN).expect("the plugin's text lexes");
            let mut wat = wast::parser::parse::<wast::Wat>(&buf).expect("the plugin parses");
            Module::from_wasm(engine, &wat.encode().expect("the plugin encodes"))
        }
    }
}

fn run(text: &str, plugin_path: Option<&str>) -> Result<(), Error> {
    let engine = Engine::default();
    let module = plugin(&engine, plugin_path)?;
    let mut store = Store::new(&engine, Host::default());

    let mut linker = Linker::new();
    linker.func_wrap(
        "host",
        "word",
        |mut caller: Caller<'_, Host>, ptr: u32, len: u32| -> Result<(), Error> {
            let memory = caller.memory().ok_or_else(|| Error::host("no memory"))?;
            let word = memory
                .get(ptr as usize..ptr as usize + len as usize)
                .ok_or_else(|| {
                    Error::host(format!("word at {ptr} of {len} bytes: out of bounds"))
                })?;
            let word = String::from_utf8_lossy(word).into_owned();
            caller.data_mut().words.push(word);
            Ok(())
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;

    // Text in, through the plugin's memory.
    let memory = instance.get_memory(&store, "memory")?;
    let at = 1024;
    memory.write(&mut store, at, text.as_bytes())?;
    let shout = instance.get_typed_func::<(u32, u32), u32, _>(&store, "shout")?;
    let changed = shout.call(&mut store, (at as u32, text.len() as u32))?;
    let mut out = vec![0; text.len()];
    memory.read(&store, at, &mut out)?;
    println!(
        "shout: {} ({changed} letters changed)",
        String::from_utf8_lossy(&out)
    );
    println!("words: {:?}", store.data().words);

    let fact = instance.get_typed_func::<i64, i64, _>(&store, "fact")?;
    println!("fact(20) = {}", fact.call(&mut store, 20)?);
    // A trap is an error value; the store stays usable.
    match fact.call(&mut store, -1) {
        Err(e) if e.kind() == ErrorKind::Trap => println!("fact(-1): {e}"),
        other => println!("fact(-1): unexpected {other:?}"),
    }
    let calls = instance.get_global(&store, "calls")?.get(&store)?;
    println!("calls of shout: {calls}");
    Ok(())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let plugin_path = match args.iter().position(|a| a == "--plugin") {
        Some(i) if i + 1 < args.len() => {
            let path = args.remove(i + 1);
            args.remove(i);
            Some(path)
        }
        Some(_) => {
            eprintln!("embed: --plugin needs a file");
            std::process::exit(2);
        }
        None => None,
    };
    let text = if args.is_empty() {
        "hello from the host".to_string()
    } else {
        args.join(" ")
    };
    if let Err(e) = run(&text, plugin_path.as_deref()) {
        eprintln!("embed: {e}");
        std::process::exit(1);
    }
}
