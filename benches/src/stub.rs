//! Stub modules for a module's function imports.
//!
//! The embedding session of chiwawa links nothing but the spec testsuite's `spectest`, so a
//! module that imports WASI functions (the workloads' std panic path; the real modules used for
//! start-up) cannot be instantiated there as it is. For each import module this writes a tiny
//! Wasm module exporting, under the imported names, functions of the imported types whose bodies
//! trap. Registering its instance under the import module's name lets the real module link.

use std::collections::BTreeMap;

use wasmparser::{Parser, Payload, TypeRef, ValType};

/// The imported functions, grouped by import module: `(name, params, results)`.
type Imports = BTreeMap<String, Vec<(String, Vec<u8>, Vec<u8>)>>;

fn valtype_byte(ty: ValType) -> Result<u8, String> {
    Ok(match ty {
        ValType::I32 => 0x7f,
        ValType::I64 => 0x7e,
        ValType::F32 => 0x7d,
        ValType::F64 => 0x7c,
        other => return Err(format!("stub imports: unsupported value type {other:?}")),
    })
}

fn function_imports(wasm: &[u8]) -> Result<Imports, String> {
    let mut types: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut imports = Imports::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.map_err(|e| e.to_string())?;
                    let params = ty.params().iter().map(|t| valtype_byte(*t));
                    let results = ty.results().iter().map(|t| valtype_byte(*t));
                    types.push((
                        params.collect::<Result<_, _>>()?,
                        results.collect::<Result<_, _>>()?,
                    ));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    let TypeRef::Func(index) = import.ty else {
                        return Err(format!(
                            "stub imports: {}.{} is not a function",
                            import.module, import.name
                        ));
                    };
                    let (params, results) = types
                        .get(index as usize)
                        .cloned()
                        .ok_or("stub imports: type index out of range")?;
                    imports.entry(import.module.to_string()).or_default().push((
                        import.name.to_string(),
                        params,
                        results,
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(imports)
}

fn leb(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, count: usize, body: &[u8], out: &mut Vec<u8>) {
    let mut content = Vec::new();
    leb(count as u32, &mut content);
    content.extend_from_slice(body);
    out.push(id);
    leb(content.len() as u32, out);
    out.extend_from_slice(&content);
}

/// For each import module of `wasm`: its name and a module that exports trapping functions
/// of the right types under the imported names.
pub fn stub_modules(wasm: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut stubs = Vec::new();
    for (module, funcs) in function_imports(wasm)? {
        let (mut types, mut functions, mut exports, mut code) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (index, (name, params, results)) in funcs.iter().enumerate() {
            types.push(0x60);
            leb(params.len() as u32, &mut types);
            types.extend_from_slice(params);
            leb(results.len() as u32, &mut types);
            types.extend_from_slice(results);
            leb(index as u32, &mut functions);
            leb(name.len() as u32, &mut exports);
            exports.extend_from_slice(name.as_bytes());
            exports.push(0x00);
            leb(index as u32, &mut exports);
            // Body: no locals, `unreachable`, `end`.
            code.extend_from_slice(&[3, 0x00, 0x00, 0x0b]);
        }
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        section(1, funcs.len(), &types, &mut out);
        section(3, funcs.len(), &functions, &mut out);
        section(7, funcs.len(), &exports, &mut out);
        section(10, funcs.len(), &code, &mut out);
        stubs.push((module, out));
    }
    Ok(stubs)
}

/// The size in bytes of the code section of `wasm` (0 if it has none).
pub fn code_section_size(wasm: &[u8]) -> Result<usize, String> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionStart { size, .. } = payload.map_err(|e| e.to_string())? {
            return Ok(size as usize);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_are_valid_and_export_the_imports() {
        // (import "env" "f" (func (param i32 i64) (result f64))) with one local function.
        let wasm = [
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
            0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7c, // type
            0x02, 0x09, 0x01, 0x03, b'e', b'n', b'v', 0x01, b'f', 0x00, 0x00, // import
        ];
        let stubs = stub_modules(&wasm).unwrap();
        assert_eq!(stubs.len(), 1);
        assert_eq!(stubs[0].0, "env");
        let image = chiwawa_translator::translate(&stubs[0].1, &Default::default()).unwrap();
        let mut session = chiwawa_runtime::driver::Session::new();
        let module = session.load(&image).unwrap();
        let instance = session.instantiate(module).unwrap();
        let args = [chiwawa_runtime::Val::I32(1), chiwawa_runtime::Val::I64(2)];
        assert!(session.invoke(instance, "f", &args).is_err());
    }
}
