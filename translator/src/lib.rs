//! The chiwawa translator: validates a Wasm module and writes a register-code image.
//!
//! Validation runs first, with exactly the feature set the image claims, so nothing the spec
//! calls invalid or malformed ever becomes an image. Then each section is converted into the
//! image schema of `chiwawa-format`, and each function body into register code (`func.rs`).

pub mod component;
mod forms;
mod func;
mod peephole;
mod tails;
mod validate;

use std::fmt;
#[cfg(not(target_family = "wasm"))]
use std::sync::Mutex;

use chiwawa_format as format;
use format::Func;
use format::{ConstExpr, ConstOp, Module};
use wasmparser::{
    ExternalKind, FuncToValidate, FuncValidatorAllocations, FunctionBody, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

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
    /// wasmparser rejected the component (malformed or invalid), with its message.
    InvalidComponent(String),
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Invalid(msg) => write!(f, "invalid module: {msg}"),
            TranslateError::Unsupported(msg) => write!(f, "unsupported: {msg}"),
            TranslateError::InvalidComponent(msg) => write!(f, "invalid component: {msg}"),
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

/// Validates `wasm` and translates it into a complete image: a module image (header, archive,
/// code) for a core module, a component image ([`component`]) for a component.
pub fn translate(wasm: &[u8], options: &Options) -> Result<Vec<u8>, TranslateError> {
    if Parser::is_component(wasm) {
        let component = component::translate_component(wasm)?;
        let source_hash = xxhash_rust::xxh3::xxh3_128(wasm);
        return format::component::write_component_image(
            &component,
            translator_version(),
            source_hash,
        )
        .map_err(|e| TranslateError::Unsupported(e.to_string()));
    }
    translate_core(wasm, options)
}

/// [`translate`] of a core module.
fn translate_core(wasm: &[u8], options: &Options) -> Result<Vec<u8>, TranslateError> {
    let mut module = translate_module(wasm)?;
    let source_hash = xxhash_rust::xxh3::xxh3_128(wasm);
    format::write_image(
        &mut module,
        translator_version(),
        IMAGE_FEATURES,
        options.bits,
        source_hash,
    )
    .map_err(|e| TranslateError::Unsupported(e.to_string()))
}

/// Why component `wasm` is not translated: invalid (wasmparser's component validation, with
/// every standard feature, says why), or, when valid, a one-line summary of it (its core
/// modules, exports and imports) and that components are not supported yet.
fn refuse_component(wasm: &[u8]) -> TranslateError {
    let features = WasmFeatures::default() | WasmFeatures::COMPONENT_MODEL;
    if let Err(e) = Validator::new_with_features(features).validate_all(wasm) {
        return TranslateError::InvalidComponent(e.to_string());
    }
    let (mut modules, mut depth) = (0, 0u32);
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    for payload in Parser::new(0).parse_all(wasm).flatten() {
        match payload {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ModuleSection { .. } => modules += 1,
            wasmparser::Payload::ComponentImportSection(r) if depth == 1 => {
                imports.extend(r.into_iter().flatten().map(|i| i.name.name.to_string()))
            }
            wasmparser::Payload::ComponentExportSection(r) if depth == 1 => {
                exports.extend(r.into_iter().flatten().map(|e| e.name.name.to_string()))
            }
            _ => {}
        }
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        }
    };
    TranslateError::Unsupported(format!(
        "a WebAssembly component ({modules} core modules; exports {}; imports {}): components \
         are not supported yet (build the program for wasm32-wasip1, or see docs/components.md)",
        list(&exports),
        list(&imports)
    ))
}

/// Validates `wasm` and converts it into the image schema.
///
/// One pass over the module: each payload is validated, then converted. Function bodies are
/// set aside and handled after the last payload, as `Validator::validate_all` does, each in
/// one pass that validates and translates every operator. So the errors are the ones a full
/// validation followed by a translation would give: a malformed or invalid module is reported
/// as such (the first error `validate_all` finds), and only a valid one can be `Unsupported`
/// (the first thing, in module order, the image cannot express).
pub fn translate_module(wasm: &[u8]) -> Result<Module, TranslateError> {
    if Parser::is_component(wasm) {
        return Err(refuse_component(wasm));
    }
    let mut validator = Validator::new_with_features(wasm_features());
    let mut parser = Parser::new(0);
    parser.set_features(wasm_features());
    let mut m = Module::default();
    // The first payload the image cannot express: its index and why.
    let mut unsupported: Option<(usize, TranslateError)> = None;
    let mut bodies = Vec::new();
    for (index, payload) in parser.parse_all(wasm).enumerate() {
        let payload = payload?;
        match validator.payload(&payload)? {
            ValidPayload::Func(func, body) => bodies.push((index, func, body)),
            _ if unsupported.is_some() => {}
            _ => {
                if let Err(e) = convert(&mut m, payload) {
                    unsupported = Some((index, e));
                }
            }
        }
    }
    let unsupported_at = unsupported.as_ref().map_or(usize::MAX, |(at, _)| *at);
    let mut funcs = Vec::with_capacity(bodies.len());
    for chunk in translate_bodies(&m.types, &m.func_types, bodies, unsupported_at) {
        if let Some(e) = chunk.invalid {
            // The first invalid body: the chunks before this one had none.
            return Err(e.into());
        }
        if let Some((at, e)) = chunk.unsupported {
            if unsupported.as_ref().is_none_or(|(first, _)| at < *first) {
                unsupported = Some((at, e));
            }
        }
        funcs.extend(chunk.funcs);
    }
    if let Some((_, e)) = unsupported {
        return Err(e);
    }
    m.funcs = funcs;
    debug_assert_eq!(
        m.funcs.len() as u32 + m.num_imported_funcs(),
        m.func_types.len() as u32
    );
    Ok(m)
}

/// A function body set aside for [`translate_bodies`]: the index of its payload, its
/// validator and its bytes.
type Body<'a> = (usize, FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// What [`translate_chunk`] made of consecutive function bodies.
struct Chunk {
    /// The translated functions, in order, up to the first that failed.
    funcs: Vec<Func>,
    /// The first body that cannot be translated (its payload index and why).
    unsupported: Option<(usize, TranslateError)>,
    /// The first invalid body; the chunk's bodies after it were not looked at.
    invalid: Option<wasmparser::BinaryReaderError>,
}

/// Validates and translates consecutive function bodies in order; `func_types[i]` is the type
/// of `bodies[i]`. Bodies at or after payload `stop` (one the image cannot express, found
/// earlier) and after the first unsupported body are only validated: the translation fails
/// anyway, and only an invalid body could change which error it reports.
fn translate_chunk(
    types: &[format::FuncType],
    all_func_types: &[u32],
    func_types: &[u32],
    bodies: Vec<Body<'_>>,
    mut stop: usize,
) -> Chunk {
    let mut chunk = Chunk {
        funcs: Vec::with_capacity(bodies.len()),
        unsupported: None,
        invalid: None,
    };
    let mut scratch = func::Scratch::default();
    let mut allocs = FuncValidatorAllocations::default();
    for ((index, func, body), &ty) in bodies.into_iter().zip(func_types) {
        let mut validator = func.into_validator(allocs);
        let result = if index < stop {
            validate::validate_and_translate(
                types,
                all_func_types,
                ty,
                &body,
                &mut validator,
                &mut scratch,
            )
            .map(Some)
        } else {
            validator.validate(&body).map(|()| None)
        };
        allocs = validator.into_allocations();
        match result {
            Ok(Some(Ok(f))) => chunk.funcs.push(f),
            Ok(Some(Err(e))) => {
                chunk.unsupported = Some((index, e));
                stop = index;
            }
            Ok(None) => {}
            Err(e) => {
                chunk.invalid = Some(e);
                break;
            }
        }
    }
    chunk
}

/// Validates and translates all function bodies (`func_types` are their types), in
/// consecutive chunks whose results, in order, are as if one [`translate_chunk`] had done
/// them all. Natively, large modules are split between threads; the result does not depend
/// on how (each body is translated on its own, and the chunks are joined in order).
fn translate_bodies(
    types: &[format::FuncType],
    all_func_types: &[u32],
    bodies: Vec<Body<'_>>,
    stop: usize,
) -> Vec<Chunk> {
    // Validation checked that the function and code sections agree.
    let first_ty = all_func_types.len() - bodies.len();
    let func_types = &all_func_types[first_ty..];
    #[cfg(not(target_family = "wasm"))]
    {
        let total: usize = bodies.iter().map(|(_, _, b)| b.as_bytes().len()).sum();
        // The number of CPUs is asked only for a large module: finding it reads the cgroup's
        // CPU quota from /proc and /sys.
        let workers = match total >= PARALLEL_MIN_BYTES {
            true => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS)),
            false => 1,
        };
        if workers > 1 {
            return translate_in_parallel(
                types,
                all_func_types,
                func_types,
                bodies,
                stop,
                workers,
                total,
            );
        }
    }
    vec![translate_chunk(
        types,
        all_func_types,
        func_types,
        bodies,
        stop,
    )]
}

/// Threads that translate function bodies at most.
#[cfg(not(target_family = "wasm"))]
const MAX_WORKERS: usize = 4;

/// Below this many bytes of function bodies, starting threads costs more than it saves.
#[cfg(not(target_family = "wasm"))]
const PARALLEL_MIN_BYTES: usize = 16 * 1024;

/// [`translate_bodies`] on `workers` threads (the calling one included), each given
/// consecutive bodies of about the same total size.
#[cfg(not(target_family = "wasm"))]
fn translate_in_parallel(
    types: &[format::FuncType],
    all_func_types: &[u32],
    func_types: &[u32],
    bodies: Vec<Body<'_>>,
    stop: usize,
    workers: usize,
    total: usize,
) -> Vec<Chunk> {
    // Consecutive bodies, and the position of the first among all.
    type Part<'a> = (usize, Vec<Body<'a>>);
    // Split where the running size passes each multiple of total / workers.
    let mut parts: Vec<Part<'_>> = Vec::with_capacity(workers);
    let mut size = 0;
    let mut start = 0;
    let mut current = Vec::new();
    for body in bodies {
        size += body.2.as_bytes().len();
        current.push(body);
        if size * workers >= total * (parts.len() + 1) && parts.len() + 1 < workers {
            let done = std::mem::take(&mut current);
            let len = done.len();
            parts.push((start, done));
            start += len;
        }
    }
    parts.push((start, current));
    let mut parts = parts.into_iter();
    let (first_start, first) = parts.next().expect("one part at least");
    // The other parts, each taken by its thread, or by this one if the thread did not start.
    let others: Vec<Mutex<Option<Part<'_>>>> = parts.map(|part| Mutex::new(Some(part))).collect();
    let run = |slot: &Mutex<Option<Part<'_>>>| {
        let part = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        part.map(|(start, part)| {
            let tys = &func_types[start..start + part.len()];
            translate_chunk(types, all_func_types, tys, part, stop)
        })
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = others
            .iter()
            .map(|slot| std::thread::Builder::new().spawn_scoped(scope, move || run(slot)))
            .collect();
        let tys = &func_types[first_start..first_start + first.len()];
        let mut chunks = vec![translate_chunk(types, all_func_types, tys, first, stop)];
        for (slot, handle) in others.iter().zip(handles) {
            let chunk = match handle {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => run(slot),
            };
            chunks.extend(chunk);
        }
        chunks
    })
}

/// Converts one validated payload other than a function body into `m`.
fn convert(m: &mut Module, payload: Payload<'_>) -> Result<(), TranslateError> {
    match payload {
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
        Payload::CustomSection(reader) => {
            if let wasmparser::KnownCustom::Name(names) = reader.as_known() {
                // A damaged name section only loses names; it never fails translation.
                m.func_names = function_names(names).unwrap_or_default();
            }
        }
        _ => {}
    }
    Ok(())
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
