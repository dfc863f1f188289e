//! Translation throughput, in bytes of code section per second (criterion's
//! `Throughput::Bytes`), and image size against code section size, on a spec-sized module, the
//! benchmark workloads and the large real modules in dist/ (those missing are skipped).
//!
//! `cargo bench -p chiwawa-benches --bench translate`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn code_section_size(wasm: &[u8]) -> u64 {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionStart { size, .. }) = payload {
            return size as u64;
        }
    }
    0
}

/// A module the size of a spec-test module: a few dozen small functions over i32/i64/f64
/// arithmetic, locals, blocks, branches, calls and memory.
fn spec_sized() -> Vec<u8> {
    let mut text = String::from("(module (memory 1) (table 4 funcref)\n");
    for i in 0..40 {
        text.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32 i64 f64) (result i64) (local i32)
               (local.set 3 (i32.add (local.get 0) (i32.const {i})))
               (block (loop
                 (br_if 1 (i32.eqz (local.get 3)))
                 (i32.store (i32.and (local.get 3) (i32.const 0xfff)) (local.get 3))
                 (local.set 3 (i32.sub (local.get 3) (i32.const 1)))
                 (br 0)))
               (if (result i64) (f64.gt (local.get 2) (f64.const 1.5))
                 (then (i64.mul (local.get 1) (i64.extend_i32_u (local.get 0))))
                 (else (i64.add (local.get 1) (i64.const {i})))))\n"
        ));
    }
    text.push(')');
    wast::parser::parse::<wast::Wat>(&wast::parser::ParseBuffer::new(&text).expect("lex"))
        .expect("parse")
        .encode()
        .expect("encode")
}

fn modules() -> Vec<(String, Vec<u8>)> {
    let mut list = vec![("spec-sized".to_string(), spec_sized())];
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let dist = std::env::var_os("CHIWAWA_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("dist"));
    let files = [
        (
            "workloads",
            target.join("wasm32-wasip1/release/chiwawa_bench_workloads.wasm"),
        ),
        ("chiwawa-rt.wasm", dist.join("chiwawa-rt.wasm")),
        (
            "chiwawa-translate.wasm",
            dist.join("chiwawa-translate.wasm"),
        ),
    ];
    for (name, path) in files {
        match std::fs::read(&path) {
            Ok(wasm) => list.push((name.to_string(), wasm)),
            Err(e) => eprintln!("skipping {name}: {}: {e}", path.display()),
        }
    }
    list
}

fn translate(c: &mut Criterion) {
    let options = chiwawa_translator::Options::default();
    let mut group = c.benchmark_group("translate");
    for (name, wasm) in modules() {
        let code = code_section_size(&wasm);
        let image = chiwawa_translator::translate(&wasm, &options).expect("translates");
        println!(
            "{name}: code section {code} bytes, image {} bytes ({:.2}x code)",
            image.len(),
            image.len() as f64 / code as f64
        );
        group.throughput(Throughput::Bytes(code));
        group.bench_function(&name, |b| {
            b.iter(|| chiwawa_translator::translate(std::hint::black_box(&wasm), &options))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = translate
}
criterion_main!(benches);
