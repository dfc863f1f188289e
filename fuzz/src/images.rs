//! The image oracle: an image (a mutant) is checked, verified eagerly and lazily, instantiated
//! with stub imports and every exported function called (with zero arguments, then arbitrary
//! ones). It must be refused, run, or trap cleanly; and where the eager verifier accepts it,
//! the lazily verified run must do exactly the same.

use std::rc::Rc;

use chiwawa_format::{valtype, ArchivedImportKind, FuncType, LoadedImage};
use chiwawa_runtime::store::{Extern, HostFn, Memory, Store, Table};
use chiwawa_runtime::{
    check_image, verify_image, CheckedImage, FileCode, InstantiateError, TrapKind, Val, VerifyMode,
};

use crate::rng::Rng;
use crate::{Class, Outcome};

/// How the image is given to the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The whole image in memory.
    Bytes,
    /// A file extended (sparse) to the length its header claims, read group by group.
    SparseFile,
}

impl Mode {
    pub fn from_byte(b: u8) -> Mode {
        if b == 1 {
            Mode::SparseFile
        } else {
            Mode::Bytes
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            Mode::Bytes => 0,
            Mode::SparseFile => 1,
        }
    }
}

/// Runs the image oracle on `bytes`; `seed` chooses the arbitrary arguments.
pub fn run(bytes: &[u8], mode: Mode, seed: u64) -> Outcome {
    let load = || -> Result<LoadedImage, String> {
        match mode {
            Mode::Bytes => check_image(bytes).map_err(|e| e.to_string()),
            Mode::SparseFile => load_sparse(bytes),
        }
    };
    let lazy =
        match load().and_then(|i| verify_image(i, VerifyMode::Lazy).map_err(|e| e.to_string())) {
            Ok(image) => image,
            Err(e) => return Outcome::new(Class::Refused, format!("load: {e}")),
        };
    let eager = load().and_then(|i| verify_image(i, VerifyMode::Eager).map_err(|e| e.to_string()));
    let lazy_run = run_checked(&lazy, seed);
    match eager {
        Err(e) => {
            // Lazily, the functions that fail are refused on entry: never run.
            Outcome::new(
                Class::Refused,
                format!("eager: {e}; lazy run: {}", lazy_run.summary()),
            )
        }
        Ok(eager) => {
            let eager_run = run_checked(&eager, seed);
            if eager_run.events != lazy_run.events {
                return Outcome::new(
                    Class::Inconsistent,
                    format!(
                        "eager run: {:?}\nlazy run: {:?}",
                        eager_run.events, lazy_run.events
                    ),
                );
            }
            // The verifier's refusal on entry names the function as `function N (defined D)`
            // (other InvalidCode traps are the executor's own checks, clean errors).
            if let Some(e) = eager_run
                .events
                .iter()
                .find(|e| e.contains("invalid image code: function ") && e.contains("(defined "))
            {
                return Outcome::new(
                    Class::Inconsistent,
                    format!("eager-verified code refused on entry: {e}"),
                );
            }
            let class = if eager_run.refused {
                Class::Refused
            } else if eager_run.trapped {
                Class::Trapped
            } else {
                Class::Ran
            };
            Outcome::new(class, eager_run.summary())
        }
    }
}

/// An image from a file extended to the length its header claims (a sparse file), read as
/// chiwawa-rt reads image files: the head at once, code groups on first use.
fn load_sparse(bytes: &[u8]) -> Result<LoadedImage, String> {
    use std::io::{Seek, Write};
    let claimed = crate::mutate::claimed_len(bytes);
    let mut file = tempfile()?;
    file.write_all(bytes).map_err(|e| e.to_string())?;
    if claimed > bytes.len() as u64 && claimed <= 1 << 36 {
        file.set_len(claimed).map_err(|e| e.to_string())?;
    }
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    file.rewind().map_err(|e| e.to_string())?;
    let head = chiwawa_format::read_head(&mut file, len).map_err(|e| e.to_string())?;
    LoadedImage::from_head(head, Box::new(FileCode(file))).map_err(|e| e.to_string())
}

/// A fresh temporary file, deleted once opened (so a killed worker leaves nothing behind).
fn tempfile() -> Result<std::fs::File, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "chiwawa-fuzz-{}-{}.cwi",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// What one run of a checked image did: an event per step, comparable between runs.
struct Run {
    events: Vec<String>,
    trapped: bool,
    refused: bool,
}

impl Run {
    fn summary(&self) -> String {
        let mut s = self.events.join("; ");
        if s.len() > 400 {
            let mut cut = 400;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        s
    }
}

/// Largest table or memory the stubs create for an import (the runtime is not under test there).
const STUB_LIMIT: u32 = 1 << 16;

/// Instantiates `image` with stub imports and calls every exported function twice.
fn run_checked(image: &CheckedImage, seed: u64) -> Run {
    let mut run = Run {
        events: Vec::new(),
        trapped: false,
        refused: false,
    };
    let module = image.module();
    let types: Vec<FuncType> = module
        .types
        .iter()
        .map(|t| FuncType {
            params: t.params.to_vec(),
            results: t.results.to_vec(),
        })
        .collect();
    let kinds: Vec<ArchivedImportKindOwned> =
        module.imports.iter().map(|i| owned(&i.kind)).collect();
    let mut store = Store::new();
    // Small, so that runaway recursion ends in "call stack exhausted" quickly.
    store.set_max_stack_bytes(256 << 10);
    let mut next = 0usize;
    let mut resolve = |store: &mut Store, _: &str, _: &str| -> Option<Extern> {
        let kind = kinds.get(next)?;
        next += 1;
        stub(store, kind, &types)
    };
    let inst = match store.instantiate(image, &mut resolve) {
        Ok(inst) => inst,
        Err(InstantiateError::Link(e)) => {
            run.refused = true;
            run.events.push(format!("link: {e}"));
            return run;
        }
        Err(InstantiateError::Trap(t)) => {
            if matches!(t.kind, TrapKind::InvalidCode(_)) {
                run.refused = true;
            }
            run.trapped = true;
            run.events.push(format!("instantiate: trap {t}"));
            return run;
        }
    };
    let names: Vec<String> = module.exports.iter().map(|e| e.name.to_string()).collect();
    let mut rng = Rng::new(seed);
    for round in 0..2 {
        for name in &names {
            let Some(Extern::Func(f)) = store.export(inst, name) else {
                continue;
            };
            let params = store.func_type(f).params.clone();
            let args: Vec<Val> = params
                .iter()
                .map(|&t| {
                    if round == 0 {
                        zero(t)
                    } else {
                        arbitrary(&mut rng, t)
                    }
                })
                .collect();
            match store.invoke(f, &args) {
                Ok(results) => run.events.push(format!("{name}: {results:?}")),
                Err(t) => {
                    if matches!(t.kind, TrapKind::InvalidCode(_)) {
                        run.refused = true;
                    }
                    run.trapped = true;
                    run.events.push(format!("{name}: trap {t}"));
                }
            }
        }
    }
    // Exported state after the calls, so that eager and lazy runs compare on it too.
    for name in &names {
        match store.export(inst, name) {
            Some(Extern::Global(g)) => run
                .events
                .push(format!("{name} = {:?}", store.global_value(g))),
            Some(Extern::Memory(a)) => {
                let bytes = store.memory(a).expect("an exported memory").bytes();
                run.events.push(format!(
                    "{name}: {} bytes, hash {:x}",
                    bytes.len(),
                    xxhash_rust::xxh3::xxh3_64(bytes)
                ));
            }
            _ => {}
        }
    }
    run
}

/// An import's kind, copied out of the archive (the resolver runs while the store is borrowed).
enum ArchivedImportKindOwned {
    Func(u32),
    Table(u8, u32, Option<u32>),
    Memory(u32, Option<u32>),
    Global(u8, bool),
}

fn owned(kind: &ArchivedImportKind) -> ArchivedImportKindOwned {
    match kind {
        ArchivedImportKind::Func(t) => ArchivedImportKindOwned::Func(t.to_native()),
        ArchivedImportKind::Table(t) => ArchivedImportKindOwned::Table(
            t.elem,
            t.min.to_native(),
            t.max.as_ref().map(|m| m.to_native()),
        ),
        ArchivedImportKind::Memory(m) => ArchivedImportKindOwned::Memory(
            m.min.to_native(),
            m.max.as_ref().map(|m| m.to_native()),
        ),
        ArchivedImportKind::Global(g) => ArchivedImportKindOwned::Global(g.ty, g.mutable),
    }
}

/// A stub for an import: a function returning zeros, a fresh table, memory or zero global of
/// the declared type. `None` (unlinkable) when the declared type cannot be made.
fn stub(store: &mut Store, kind: &ArchivedImportKindOwned, types: &[FuncType]) -> Option<Extern> {
    Some(match *kind {
        ArchivedImportKindOwned::Func(ty) => {
            let ty = types.get(ty as usize)?.clone();
            let func: HostFn = Rc::new(|_, _, results: &mut [u64]| {
                results.iter_mut().for_each(|r| *r = 0);
                Ok(())
            });
            Extern::Func(store.add_host_func(ty, func))
        }
        ArchivedImportKindOwned::Table(elem, min, max) => {
            if min > STUB_LIMIT {
                return None;
            }
            Extern::Table(store.add_table(Table::new(chiwawa_format::TableType { elem, min, max })))
        }
        ArchivedImportKindOwned::Memory(min, max) => {
            if min > STUB_LIMIT {
                return None;
            }
            Extern::Memory(store.add_memory(Memory::new(min, max).ok()?))
        }
        ArchivedImportKindOwned::Global(ty, mutable) => {
            Extern::Global(store.add_global(zero(ty), mutable))
        }
    })
}

fn zero(t: u8) -> Val {
    match t {
        valtype::I32 => Val::I32(0),
        valtype::I64 => Val::I64(0),
        valtype::F32 => Val::F32(0),
        valtype::F64 => Val::F64(0),
        valtype::FUNCREF => Val::FuncRef(None),
        _ => Val::ExternRef(None),
    }
}

fn arbitrary(rng: &mut Rng, t: u8) -> Val {
    match t {
        valtype::I32 => Val::I32(rng.interesting_u32() as i32),
        valtype::I64 => Val::I64(rng.next_u64() as i64 >> rng.below(64)),
        valtype::F32 => Val::F32(rng.next_u32()),
        valtype::F64 => Val::F64(rng.next_u64()),
        valtype::FUNCREF => Val::FuncRef(None),
        _ => Val::ExternRef(if rng.chance(1, 2) {
            None
        } else {
            Some(rng.below(4) as u32)
        }),
    }
}
