//! `wasm-canon [--lower-bulk-memory] IN.wasm OUT.wasm`: writes IN re-encoded in canonical form.
//!
//! rustc's LLVM writes some indices as padded 5-byte LEB128s (relocatable fields, such as
//! `call_indirect`'s table index), which engines of the Wasm 1.0 era read as one byte and refuse
//! (wasm3 0.4.7: "LEB encoded value overflow"). Re-encoding every section through wasmparser and
//! wasm-encoder writes each number in its shortest form and changes nothing else: same sections,
//! same functions in the same order, same instructions, custom sections kept. The output is
//! validated before it is written (to a temporary file, then renamed over OUT).
//!
//! `--lower-bulk-memory` also replaces `memory.copy` and `memory.fill` with calls of Wasm
//! functions it appends (`lower.rs`).

mod lower;

use std::path::Path;
use std::process::ExitCode;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

fn reencode(wasm: &[u8], lower_bulk_memory: bool) -> Result<Vec<u8>, String> {
    let mut module = wasm_encoder::Module::new();
    let parser = wasmparser::Parser::new(0);
    let done = if lower_bulk_memory {
        lower::LowerBulkMemory::new(wasm)?
            .parse_core_module(&mut module, parser, wasm)
            .map_err(|e| e.to_string())
    } else {
        RoundtripReencoder
            .parse_core_module(&mut module, parser, wasm)
            .map_err(|e| e.to_string())
    };
    done.map_err(|e| format!("cannot re-encode: {e}"))?;
    let out = module.finish();
    wasmparser::Validator::new()
        .validate_all(&out)
        .map_err(|e| format!("the re-encoded module does not validate: {e}"))?;
    Ok(out)
}

fn run(input: &Path, output: &Path, lower: bool) -> Result<(usize, usize), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    wasmparser::Validator::new()
        .validate_all(&wasm)
        .map_err(|e| format!("{}: not a valid module: {e}", input.display()))?;
    let out = reencode(&wasm, lower).map_err(|e| format!("{}: {e}", input.display()))?;
    let tmp = output.with_extension("wasm.tmp");
    std::fs::write(&tmp, &out).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, output).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok((wasm.len(), out.len()))
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let lower = args.first().is_some_and(|a| a == "--lower-bulk-memory");
    if lower {
        args.remove(0);
    }
    let [input, output] = args.as_slice() else {
        eprintln!("usage: wasm-canon [--lower-bulk-memory] IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    match run(Path::new(input), Path::new(output), lower) {
        Ok((before, after)) => {
            eprintln!("wasm-canon: {input}: {before} -> {after} bytes ({output})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-canon: error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(wasm: &[u8]) -> Result<Vec<u8>, String> {
        reencode(wasm, false)
    }

    /// A module whose `call_indirect` names its table with a padded LEB128 (`80 80 80 80 00`),
    /// as LLVM writes it.
    fn padded() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 4, 1, 0x60, 0, 0]); // type 0: [] -> []
        m.extend([3, 2, 1, 0]); // one function of type 0
        m.extend([4, 4, 1, 0x70, 0, 1]); // a funcref table of 1
        let body = [0, 0x41, 0, 0x11, 0, 0x80, 0x80, 0x80, 0x80, 0, 0x0b];
        m.extend([10, body.len() as u8 + 2, 1, body.len() as u8]);
        m.extend(body);
        m
    }

    #[test]
    fn padded_numbers_become_shortest_and_the_rest_stays() {
        let wasm = padded();
        wasmparser::Validator::new().validate_all(&wasm).unwrap();
        let out = canonical(&wasm).unwrap();
        assert_eq!(
            out.len(),
            wasm.len() - 4,
            "the table index shrinks from 5 bytes to 1"
        );
        // The body is now `i32.const 0; call_indirect type 0 table 0; end`.
        let body = [0, 0x41, 0, 0x11, 0, 0, 0x0b];
        assert!(out.windows(body.len()).any(|w| w == body), "{out:x?}");
        // Canonical already: a second pass changes nothing.
        assert_eq!(canonical(&out).unwrap(), out);
    }

    /// `make dist` ships canonical modules: re-encoding them changes nothing. (Under `make test`,
    /// which sets `CHIWAWA_REQUIRE_ARTIFACTS`, a missing `dist/` fails the test.)
    #[test]
    fn the_dist_modules_are_canonical() {
        let dist = std::env::var_os("CHIWAWA_DIST")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist"));
        for name in ["chiwawa-rt.wasm", "chiwawa-translate.wasm"] {
            let path = dist.join(name);
            let wasm = match std::fs::read(&path) {
                Ok(wasm) => wasm,
                Err(e) if std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none() => {
                    eprintln!("skipped: {}: {e} (make dist)", path.display());
                    continue;
                }
                Err(e) => panic!("{}: {e} (make dist builds it)", path.display()),
            };
            assert!(
                canonical(&wasm).unwrap() == wasm,
                "{} is not canonical",
                path.display()
            );
        }
    }

    /// `memory.copy` and `memory.fill` against the lowered helpers, in wasmi: the same memory
    /// after every call, and a trap exactly where the instruction traps (before any write).
    #[test]
    fn lowered_bulk_memory_does_what_the_instructions_do() {
        let text = r#"(module
            (memory (export "m") 1)
            (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
            (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#;
        let buf = wast::parser::ParseBuffer::new(text).unwrap();
        let wasm = wast::parser::parse::<wast::Wat>(&buf)
            .unwrap()
            .encode()
            .unwrap();
        let lowered = reencode(&wasm, true).unwrap();
        let ops = |wasm: &[u8]| -> Vec<String> {
            let mut names = Vec::new();
            for payload in wasmparser::Parser::new(0).parse_all(wasm) {
                if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                    let mut reader = body.get_operators_reader().unwrap();
                    while !reader.eof() {
                        names.push(format!("{:?}", reader.read().unwrap()));
                    }
                }
            }
            names
        };
        assert!(ops(&wasm).iter().any(|o| o.starts_with("MemoryCopy")));
        assert!(!ops(&lowered)
            .iter()
            .any(|o| o.starts_with("Memory") && !o.starts_with("MemorySize")));

        let engine = wasmi::Engine::default();
        let instance = |wasm: &[u8]| {
            let module = wasmi::Module::new(&engine, wasm).unwrap();
            let mut store = wasmi::Store::new(&engine, ());
            let instance = wasmi::Linker::new(&engine)
                .instantiate_and_start(&mut store, &module)
                .unwrap();
            (store, instance)
        };
        let (mut a, ia) = instance(&wasm);
        let (mut b, ib) = instance(&lowered);
        // A fixed pseudo-random pattern in both memories.
        for (store, inst) in [(&mut a, ia), (&mut b, ib)] {
            let memory = inst.get_memory(&*store, "m").unwrap();
            for (i, byte) in memory.data_mut(&mut *store).iter_mut().enumerate() {
                *byte = (i as u32).wrapping_mul(2654435761).rotate_left(7) as u8;
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |below: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(below)) as u32
        };
        let edge = [0u32, 1, 7, 8, 9, 65535, 65536, 65537, u32::MAX];
        for round in 0..4000 {
            let name = if round % 2 == 0 { "copy" } else { "fill" };
            let mut arg = |k: u32| {
                if next(8) == 0 {
                    edge[next(edge.len() as u32) as usize]
                } else {
                    next(k)
                }
            };
            let mut args = [arg(65600), arg(65600), arg(300)];
            // Half the copies overlap: the source a few bytes either side of the destination.
            if name == "copy" && next(2) == 0 {
                args[1] = args[0].wrapping_add(next(33)).wrapping_sub(16);
            }
            let call = |store: &mut wasmi::Store<()>, inst: wasmi::Instance| {
                let f = inst
                    .get_typed_func::<(u32, u32, u32), ()>(&*store, name)
                    .unwrap();
                f.call(store, (args[0], args[1], args[2])).is_ok()
            };
            let (ok_a, ok_b) = (call(&mut a, ia), call(&mut b, ib));
            assert_eq!(ok_a, ok_b, "{name}{args:?}: trap in one only");
            let (ma, mb) = (
                ia.get_memory(&a, "m").unwrap(),
                ib.get_memory(&b, "m").unwrap(),
            );
            assert!(
                ma.data(&a) == mb.data(&b),
                "{name}{args:?}: memories differ"
            );
        }
    }

    #[test]
    fn errors_name_the_file_and_leave_no_output() {
        let dir = std::env::temp_dir().join(format!("wasm-canon-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.wasm");
        std::fs::write(&bad, b"\0asm\x01\0\0\0\x01").unwrap();
        let out = dir.join("out.wasm");
        let err = run(&bad, &out, false).unwrap_err();
        assert!(
            err.starts_with(&format!("{}: not a valid module", bad.display())),
            "{err}"
        );
        assert!(!out.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
