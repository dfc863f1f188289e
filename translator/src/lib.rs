//! The chiwawa translator: validates a Wasm module and writes a register-code image.
//!
//! Validation runs first, with exactly the feature set the image claims, so nothing the spec
//! calls invalid or malformed ever becomes an image. Then each section is converted into the
//! image schema of `chiwawa-format`, and each function body into register code (`func.rs`).

mod func;

use std::fmt;

use chiwawa_format as format;
use format::{ConstExpr, ConstOp, Module};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, Validator, WasmFeatures};

pub use func::translate_body;

/// Translation options recorded in the image header (bit set; none defined yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub bits: u32,
}

/// Why a module cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranslateError {
    /// wasmparser rejected the module (malformed or invalid), with its message.
    Invalid(String),
    /// A valid module uses something the image cannot express.
    Unsupported(String),
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Invalid(msg) => write!(f, "invalid module: {msg}"),
            TranslateError::Unsupported(msg) => write!(f, "unsupported: {msg}"),
        }
    }
}

impl std::error::Error for TranslateError {}

impl From<wasmparser::BinaryReaderError> for TranslateError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        TranslateError::Invalid(e.to_string())
    }
}

/// The Wasm features the translator accepts: Wasm 2.0 without SIMD, plus tail calls and
/// extended constant expressions. (Listing flags one by one would drop FLOATS.)
pub fn wasm_features() -> WasmFeatures {
    (WasmFeatures::WASM2 - WasmFeatures::SIMD)
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
}

/// The feature bits recorded in the header for [`wasm_features`].
pub const IMAGE_FEATURES: u64 =
    format::features::WASM2 | format::features::TAIL_CALL | format::features::EXTENDED_CONST;

/// The packed version recorded in every image. It is `chiwawa_format::TRANSLATOR_VERSION`
/// (all workspace crates share one version), so the runtime and the cache compute the same
/// cache keys without depending on the translator.
pub fn translator_version() -> u32 {
    format::TRANSLATOR_VERSION
}

/// Validates `wasm` and translates it into a complete image (header + archive).
pub fn translate(wasm: &[u8], options: &Options) -> Result<Vec<u8>, TranslateError> {
    let module = translate_module(wasm)?;
    let source_hash = xxhash_rust::xxh3::xxh3_128(wasm);
    format::write_image(
        &module,
        translator_version(),
        IMAGE_FEATURES,
        options.bits,
        source_hash,
    )
    .map_err(|e| TranslateError::Unsupported(e.to_string()))
}

/// Validates `wasm` and converts it into the image schema.
pub fn translate_module(wasm: &[u8]) -> Result<Module, TranslateError> {
    Validator::new_with_features(wasm_features()).validate_all(wasm)?;
    let mut m = Module::default();
    let mut num_imported_funcs = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader.into_iter_err_on_gc_types() {
                    let ty = group?;
                    m.types.push(format::FuncType {
                        params: ty.params().iter().map(|t| valtype(*t)).collect(),
                        results: ty.results().iter().map(|t| valtype(*t)).collect(),
                    });
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let kind = match import.ty {
                        TypeRef::Func(ty) => {
                            m.func_types.push(ty);
                            num_imported_funcs += 1;
                            format::ImportKind::Func(ty)
                        }
                        TypeRef::Table(t) => format::ImportKind::Table(table_type(&t)?),
                        TypeRef::Memory(t) => format::ImportKind::Memory(memory_type(&t)?),
                        TypeRef::Global(g) => format::ImportKind::Global(global_type(&g)),
                        TypeRef::Tag(_) => return Err(unsupported("exception tags")),
                        TypeRef::FuncExact(_) => return Err(unsupported("exact function imports")),
                    };
                    m.imports.push(format::Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    m.func_types.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    if !matches!(table.init, wasmparser::TableInit::RefNull) {
                        return Err(unsupported("table initializer expressions"));
                    }
                    m.tables.push(table_type(&table.ty)?);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    m.memories.push(memory_type(&memory?)?);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    m.globals.push(format::Global {
                        ty: global_type(&global.ty),
                        init: const_expr(&global.init_expr)?,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = match export.kind {
                        ExternalKind::Func => format::extern_kind::FUNC,
                        ExternalKind::Table => format::extern_kind::TABLE,
                        ExternalKind::Memory => format::extern_kind::MEMORY,
                        ExternalKind::Global => format::extern_kind::GLOBAL,
                        _ => return Err(unsupported("exported tags")),
                    };
                    m.exports.push(format::Export {
                        name: export.name.to_string(),
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => m.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    m.elems.push(element(elem?)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => format::DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => format::DataMode::Active {
                            memory: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    m.datas.push(format::Data {
                        mode,
                        bytes: data.data.to_vec(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = num_imported_funcs + m.funcs.len() as u32;
                let ty = *m
                    .func_types
                    .get(index as usize)
                    .ok_or_else(|| unsupported("code entry without a function"))?;
                let func = translate_body(&m.types, &m.func_types, ty, &body)?;
                m.funcs.push(func);
            }
            Payload::CustomSection(reader) => {
                if let wasmparser::KnownCustom::Name(names) = reader.as_known() {
                    // A damaged name section only loses names; it never fails translation.
                    m.func_names = function_names(names).unwrap_or_default();
                }
            }
            _ => {}
        }
    }
    // Function section entries past the code section (validated to match) would be a bug here.
    debug_assert_eq!(
        m.funcs.len() as u32 + m.num_imported_funcs(),
        m.func_types.len() as u32
    );
    Ok(m)
}

fn unsupported(what: &str) -> TranslateError {
    TranslateError::Unsupported(what.to_string())
}

pub(crate) fn valtype(t: wasmparser::ValType) -> u8 {
    use format::valtype as v;
    match t {
        wasmparser::ValType::I32 => v::I32,
        wasmparser::ValType::I64 => v::I64,
        wasmparser::ValType::F32 => v::F32,
        wasmparser::ValType::F64 => v::F64,
        wasmparser::ValType::V128 => 0x7b,
        wasmparser::ValType::Ref(r) => reftype(r),
    }
}

fn reftype(r: wasmparser::RefType) -> u8 {
    if r.is_func_ref() {
        format::valtype::FUNCREF
    } else {
        format::valtype::EXTERNREF
    }
}

fn table_type(t: &wasmparser::TableType) -> Result<format::TableType, TranslateError> {
    let max = match t.maximum {
        Some(m) => Some(u32::try_from(m).map_err(|_| unsupported("64-bit tables"))?),
        None => None,
    };
    Ok(format::TableType {
        elem: reftype(t.element_type),
        min: u32::try_from(t.initial).map_err(|_| unsupported("64-bit tables"))?,
        max,
    })
}

fn memory_type(t: &wasmparser::MemoryType) -> Result<format::MemoryType, TranslateError> {
    if t.memory64 || t.shared || t.page_size_log2.is_some() {
        return Err(unsupported("memory64, shared or custom-page-size memories"));
    }
    // Validation bounds wasm32 limits to 65536 pages.
    Ok(format::MemoryType {
        min: t.initial as u32,
        max: t.maximum.map(|m| m as u32),
    })
}

fn global_type(g: &wasmparser::GlobalType) -> format::GlobalType {
    format::GlobalType {
        ty: valtype(g.content_type),
        mutable: g.mutable,
    }
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, TranslateError> {
    use wasmparser::Operator as O;
    let mut ops = Vec::new();
    for op in expr.get_operators_reader() {
        ops.push(match op? {
            O::I32Const { value } => ConstOp::I32(value),
            O::I64Const { value } => ConstOp::I64(value),
            O::F32Const { value } => ConstOp::F32(value.bits()),
            O::F64Const { value } => ConstOp::F64(value.bits()),
            O::RefNull { .. } => ConstOp::RefNull,
            O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::End => continue,
            other => return Err(unsupported(&format!("constant expression {other:?}"))),
        });
    }
    Ok(ConstExpr { ops })
}

fn element(elem: wasmparser::Element<'_>) -> Result<format::Elem, TranslateError> {
    let mode = match elem.kind {
        wasmparser::ElementKind::Passive => format::ElemMode::Passive,
        wasmparser::ElementKind::Declared => format::ElemMode::Declarative,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => format::ElemMode::Active {
            table: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (ty, items) = match elem.items {
        wasmparser::ElementItems::Functions(reader) => {
            let mut items = Vec::new();
            for f in reader {
                items.push(ConstExpr {
                    ops: vec![ConstOp::RefFunc(f?)],
                });
            }
            (format::valtype::FUNCREF, items)
        }
        wasmparser::ElementItems::Expressions(ty, reader) => {
            let mut items = Vec::new();
            for e in reader {
                items.push(const_expr(&e?)?);
            }
            (reftype(ty), items)
        }
    };
    Ok(format::Elem { ty, mode, items })
}

fn function_names(
    reader: wasmparser::NameSectionReader<'_>,
) -> Result<Vec<format::FuncName>, wasmparser::BinaryReaderError> {
    let mut out = Vec::new();
    for name in reader {
        if let wasmparser::Name::Function(map) = name? {
            for naming in map {
                let naming = naming?;
                out.push(format::FuncName {
                    index: naming.index,
                    name: naming.name.to_string(),
                });
            }
        }
    }
    // Sorted and unique, as the runtime's binary search and the verifier expect.
    out.sort_by_key(|n| n.index);
    out.dedup_by_key(|n| n.index);
    Ok(out)
}

#[cfg(test)]
mod cache_key_tests {
    use super::*;

    /// The runtime and `chiwawa-cache key` compute keys with these constants, not with the
    /// translator's own functions: they must agree.
    #[test]
    fn cache_constants_match_the_translator() {
        assert_eq!(
            translator_version(),
            format::pack_version(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(Options::default().bits, chiwawa_cache::DEFAULT_OPTIONS);
        let inputs = chiwawa_cache::Inputs::new(b"\0asm\x01\0\0\0");
        assert_eq!(inputs.translator_version, translator_version());
        assert_eq!(inputs.options, Options::default().bits);
    }
}
