//! What the fused-instruction and pair tests share: a module from text, translated and
//! instantiated; calls by export name; the data segment's bytes; the ops the translator emitted.
// Each test crate that includes this uses only part of it.
#![allow(dead_code)]

use chiwawa_format::Op;
use chiwawa_runtime::driver::Session;
use chiwawa_runtime::Val;
use chiwawa_translator::{translate, translate_module, Options};

pub fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lex");
    let mut module = wast::parser::parse::<wast::Wat>(&buf).expect("parse");
    module.encode().expect("encode")
}

/// A session with the module `text` translated (default options), loaded and instantiated.
pub fn session(text: &str) -> (Session, u32) {
    let image = translate(&wat(text), &Options::default()).expect("translate");
    let mut s = Session::new();
    let module = s.load(&image).expect("load");
    let instance = s.instantiate(module).expect("instantiate");
    (s, instance)
}

/// Calls the export `name`, which must return one value.
pub fn call(s: &mut Session, i: u32, name: &str, args: &[Val]) -> Val {
    let out = s
        .invoke(i, name, args)
        .unwrap_or_else(|e| panic!("{name}: {}", e.message()));
    assert_eq!(out.len(), 1, "{name}");
    out[0]
}

/// Arguments and results from their bits, as the tests write them: an i32 from a `u32`, an
/// i64 from a `u64`.
pub fn i32s(v: u32) -> Val {
    Val::I32(v as i32)
}

pub fn i64s(v: u64) -> Val {
    Val::I64(v as i64)
}

pub fn f64s(v: f64) -> Val {
    Val::F64(v.to_bits())
}

/// `n` bytes of memory from `at`, little-endian, for modules whose data segment at 0 holds
/// bytes 1 to 16 (byte k is k + 1; zero past 16).
pub fn mem(at: u32, n: usize) -> u64 {
    (0..n).fold(0u64, |acc, k| {
        let b = at as u64 + k as u64;
        acc | (if b < 16 { b + 1 } else { 0 }) << (8 * k)
    })
}

/// Every instruction of every function of the module `text`, as translated.
pub fn ops_of(text: &str) -> Vec<Op> {
    let module = translate_module(&wat(text)).expect("translate");
    let mut ops = Vec::new();
    for f in module.funcs.iter() {
        let mut at = 0;
        while at < f.code.len() {
            let (op, _, next) = chiwawa_format::decode(&f.code, at).expect("decode");
            ops.push(op);
            at = next;
        }
    }
    ops
}

/// What the callee `$mix` of the call tests computes: `a * 3 - b`, wrapping (the arguments'
/// order shows).
pub fn mix(a: u32, b: u32) -> u32 {
    a.wrapping_mul(3).wrapping_sub(b)
}

/// `text` translated and loaded, functions verified on first entry.
pub fn image(text: &str) -> chiwawa_runtime::CheckedImage {
    let bytes = translate(&wat(text), &Options::default()).expect("translate");
    chiwawa_runtime::load_image(&bytes, chiwawa_runtime::VerifyMode::Lazy).expect("load")
}

/// A raw store with `image` instantiated (`for_restore`: without its start function, for a
/// restore) and its imports: `env.log` (an i64) appending to `log`, and, with `checkpoint`,
/// `chiwawa.checkpoint` asking for one.
pub fn store_with_log(
    image: &chiwawa_runtime::CheckedImage,
    log: &std::rc::Rc<std::cell::RefCell<Vec<i64>>>,
    checkpoint: bool,
    for_restore: bool,
) -> (chiwawa_runtime::store::Store, u32) {
    use chiwawa_runtime::store::{Extern, HostFn, Store};
    let mut store = Store::new();
    let log = std::rc::Rc::clone(log);
    let log_fn: HostFn = std::rc::Rc::new(move |_, params: &[u64], _: &mut [u64]| {
        log.borrow_mut().push(params[0] as i64);
        Ok(())
    });
    let log_addr = store.add_host_func(
        chiwawa_format::FuncType {
            params: vec![0x7e],
            results: vec![],
        },
        log_fn,
    );
    let cp: HostFn = std::rc::Rc::new(chiwawa_runtime::checkpoint::request);
    let cp_addr = store.add_host_func(
        chiwawa_format::FuncType {
            params: vec![],
            results: vec![0x7f],
        },
        cp,
    );
    let mut imports = |_: &mut Store, module: &str, name: &str| match (module, name) {
        ("env", "log") => Some(Extern::Func(log_addr)),
        ("chiwawa", "checkpoint") if checkpoint => Some(Extern::Func(cp_addr)),
        _ => None,
    };
    let inst = if for_restore {
        store.instantiate_for_restore(image, &mut imports)
    } else {
        store.instantiate(image, &mut imports)
    }
    .expect("instantiate");
    (store, inst)
}
