//! `wasm-canon IN.wasm OUT.wasm`: writes IN re-encoded in canonical form.
//!
//! rustc's LLVM writes some indices as padded 5-byte LEB128s (relocatable fields, such as
//! `call_indirect`'s table index), which engines of the Wasm 1.0 era read as one byte and refuse
//! (wasm3 0.4.7: "LEB encoded value overflow"). Re-encoding every section through wasmparser and
//! wasm-encoder writes each number in its shortest form and changes nothing else: same sections,
//! same functions in the same order, same instructions, custom sections kept. The output is
//! validated before it is written (to a temporary file, then renamed over OUT).

use std::path::Path;
use std::process::ExitCode;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

fn canonical(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let mut module = wasm_encoder::Module::new();
    RoundtripReencoder
        .parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("cannot re-encode: {e}"))?;
    let out = module.finish();
    wasmparser::Validator::new()
        .validate_all(&out)
        .map_err(|e| format!("the re-encoded module does not validate: {e}"))?;
    Ok(out)
}

fn run(input: &Path, output: &Path) -> Result<(usize, usize), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    wasmparser::Validator::new()
        .validate_all(&wasm)
        .map_err(|e| format!("{}: not a valid module: {e}", input.display()))?;
    let out = canonical(&wasm).map_err(|e| format!("{}: {e}", input.display()))?;
    let tmp = output.with_extension("wasm.tmp");
    std::fs::write(&tmp, &out).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, output).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok((wasm.len(), out.len()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: wasm-canon IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    match run(Path::new(input), Path::new(output)) {
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

    #[test]
    fn errors_name_the_file_and_leave_no_output() {
        let dir = std::env::temp_dir().join(format!("wasm-canon-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.wasm");
        std::fs::write(&bad, b"\0asm\x01\0\0\0\x01").unwrap();
        let out = dir.join("out.wasm");
        let err = run(&bad, &out).unwrap_err();
        assert!(
            err.starts_with(&format!("{}: not a valid module", bad.display())),
            "{err}"
        );
        assert!(!out.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
