//! The store: every memory, table, global and function of all instances, owned as plain data.
//! Instances refer to store entries by address (index), so modules linked to each other share
//! them, and the whole guest state stays serialisable.

use std::cell::Cell;
use std::rc::Rc;

use chiwawa_format::{CodeWord, ConstWord};
use chiwawa_format::{FuncType, GlobalType, LoadedImage, TableType};

use crate::trap::{Trap, TrapKind};
use crate::value::Val;

pub const PAGE_SIZE: usize = 65536;
/// Wasm32 memories hold at most 65536 pages (4 GiB).
pub const MAX_PAGES: u32 = 65536;

/// A 16-byte aligned chunk, so guest memory starts 16-byte aligned inside the runtime's memory
/// (the host checks WASI pointer alignment against runtime addresses).
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Chunk([u8; 16]);

/// A linear memory.
pub struct Memory {
    chunks: Vec<Chunk>,
    pub max_pages: Option<u32>,
}

impl Memory {
    pub fn new(min_pages: u32, max_pages: Option<u32>) -> Result<Memory, TrapKind> {
        let mut memory = Memory {
            chunks: Vec::new(),
            max_pages,
        };
        if memory.grow(min_pages).is_none() {
            return Err(TrapKind::OutOfMemory);
        }
        Ok(memory)
    }

    pub fn pages(&self) -> u32 {
        (self.chunks.len() * 16 / PAGE_SIZE) as u32
    }

    pub fn len(&self) -> usize {
        self.chunks.len() * 16
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` (memory.grow's -1).
    pub fn grow(&mut self, delta: u32) -> Option<u32> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
            return None;
        }
        let chunks = new as usize * (PAGE_SIZE / 16);
        let extra = chunks - self.chunks.len();
        self.chunks.try_reserve_exact(extra).ok()?;
        self.chunks.resize(chunks, Chunk([0; 16]));
        Some(old)
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `Chunk` is a plain 16-byte array with no padding, so the vector's storage is
        // `len() * 16` initialised bytes; `u8` has alignment 1.
        unsafe { std::slice::from_raw_parts(self.chunks.as_ptr().cast::<u8>(), self.len()) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and the borrow of `self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.chunks.as_mut_ptr().cast::<u8>(), self.len()) }
    }
}

/// A table of references (slots: 0 = null, else address + 1).
pub struct Table {
    pub elems: Vec<u64>,
    pub ty: TableType,
}

impl Table {
    /// Grows by `delta` entries set to `init`; returns the old size, or `None` (table.grow's -1).
    pub fn grow(&mut self, delta: u32, init: u64) -> Option<u32> {
        let old = self.elems.len() as u32;
        let new = old.checked_add(delta)?;
        if new > self.ty.max.unwrap_or(u32::MAX) {
            return None;
        }
        self.elems.try_reserve_exact(delta as usize).ok()?;
        self.elems.resize(new as usize, init);
        Some(old)
    }
}

pub struct GlobalInst {
    pub value: u64,
    pub ty: GlobalType,
}

/// A host function: reads its parameters, writes its results. `caller` gives the calling
/// instance's memory 0, which WASI needs.
pub type HostFn = Rc<dyn Fn(&mut Caller<'_>, &[u64], &mut [u64]) -> Result<(), Trap>>;

/// What a host function may touch of its caller.
pub struct Caller<'a> {
    pub memory: Option<&'a mut Memory>,
}

pub enum FuncInst {
    Wasm {
        instance: u32,
        /// Index among the module's defined functions.
        defined: u32,
        type_id: u32,
        /// What the interpreter needs on every call, taken from the image once at instantiation.
        entry: WasmEntry,
    },
    Host {
        type_id: u32,
        func: HostFn,
    },
}

impl FuncInst {
    pub fn type_id(&self) -> u32 {
        match self {
            FuncInst::Wasm { type_id, .. } | FuncInst::Host { type_id, .. } => *type_id,
        }
    }
}

/// The register code and frame shape of a defined function, resolved once at instantiation so
/// that a call is a few loads, not a walk through the archived module.
#[derive(Clone, Copy)]
pub struct WasmEntry {
    /// The function's code words, inside the instance's image. Valid for the life of the store:
    /// the image is held by an `Rc` in the instance, the store never drops an instance, and the
    /// image buffer is never mutated or moved after loading (`LoadedImage`'s invariant).
    pub(crate) code: *const CodeWord,
    pub(crate) code_len: u32,
    /// The function's constants, in the same image (same validity).
    pub(crate) consts: *const ConstWord,
    pub(crate) num_consts: u32,
    pub(crate) nparams: u32,
    pub(crate) num_locals: u32,
    pub(crate) frame_size: u32,
}

/// An external value: what an import is bound to and what an export names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
}

/// A module instance: the image and the store addresses of everything in its index spaces.
pub struct Instance {
    pub image: Rc<LoadedImage>,
    pub funcs: Vec<u32>,
    pub tables: Vec<u32>,
    pub memories: Vec<u32>,
    pub globals: Vec<u32>,
    /// Canonical store type id of each of the module's types.
    pub types: Vec<u32>,
    /// Dropped segments (`elem.drop`, `data.drop`, and active segments after instantiation).
    pub dropped_elems: Vec<Cell<bool>>,
    pub dropped_datas: Vec<Cell<bool>>,
    /// The module's index spaces, for verifying function code on first entry.
    pub(crate) spaces: Rc<crate::verify::Spaces>,
    /// Per defined function: its code has passed the verifier (all set in eager mode).
    pub(crate) verified: Vec<Cell<bool>>,
}

impl Instance {
    /// Makes sure defined function `defined` passed the verifier, verifying its code now if this
    /// is its first entry; a function that fails is the trap `InvalidCode` (naming the function
    /// and the problem) and must not run. The interpreter's unchecked accesses rely on this
    /// having returned `Ok` before a function's first instruction.
    #[inline]
    pub(crate) fn ensure_verified(&self, defined: usize) -> Result<(), Trap> {
        match self.verified.get(defined) {
            Some(done) if done.get() => Ok(()),
            _ => self.verify_now(defined),
        }
    }

    #[cold]
    #[inline(never)]
    fn verify_now(&self, defined: usize) -> Result<(), Trap> {
        let result = crate::verify::verify_code(self.image.module(), &self.spaces, defined);
        match (result, self.verified.get(defined)) {
            (Ok(()), Some(done)) => {
                done.set(true);
                Ok(())
            }
            (Ok(()), None) => Err(Trap::new(TrapKind::InvalidCode(format!(
                "no defined function {defined}"
            )))),
            (Err(e), _) => Err(Trap::new(TrapKind::InvalidCode(e.0))),
        }
    }

    /// How many defined functions have passed the verifier so far.
    pub fn verified_functions(&self) -> usize {
        self.verified.iter().filter(|v| v.get()).count()
    }
}

/// Everything the guest can touch, across all instances.
#[derive(Default)]
pub struct Store {
    pub types: Vec<FuncType>,
    pub funcs: Vec<FuncInst>,
    pub tables: Vec<Table>,
    pub memories: Vec<Memory>,
    pub globals: Vec<GlobalInst>,
    pub instances: Vec<Instance>,
    /// Bound on the interpreter's value stack in bytes (frames of all active calls).
    pub max_stack_bytes: usize,
}

impl Store {
    pub fn new() -> Store {
        Store {
            max_stack_bytes: crate::exec::DEFAULT_MAX_STACK_BYTES,
            ..Store::default()
        }
    }

    /// The canonical id of a function type: equal types get equal ids, across modules.
    pub fn intern_type(&mut self, ty: FuncType) -> u32 {
        if let Some(i) = self.types.iter().position(|t| *t == ty) {
            return i as u32;
        }
        self.types.push(ty);
        (self.types.len() - 1) as u32
    }

    pub fn func_type(&self, func: u32) -> &FuncType {
        &self.types[self.funcs[func as usize].type_id() as usize]
    }

    pub fn add_host_func(&mut self, ty: FuncType, func: HostFn) -> u32 {
        let type_id = self.intern_type(ty);
        self.funcs.push(FuncInst::Host { type_id, func });
        (self.funcs.len() - 1) as u32
    }

    pub fn add_memory(&mut self, memory: Memory) -> u32 {
        self.memories.push(memory);
        (self.memories.len() - 1) as u32
    }

    pub fn add_table(&mut self, table: Table) -> u32 {
        self.tables.push(table);
        (self.tables.len() - 1) as u32
    }

    pub fn add_global(&mut self, value: Val, mutable: bool) -> u32 {
        self.globals.push(GlobalInst {
            value: value.to_slot(),
            ty: GlobalType {
                ty: value.ty(),
                mutable,
            },
        });
        (self.globals.len() - 1) as u32
    }

    pub fn global_value(&self, global: u32) -> Val {
        let g = &self.globals[global as usize];
        Val::from_slot(g.ty.ty, g.value)
    }

    /// The export `name` of `instance`.
    pub fn export(&self, instance: u32, name: &str) -> Option<Extern> {
        let inst = &self.instances[instance as usize];
        let module = inst.image.module();
        let export = module.exports.iter().find(|e| e.name.as_str() == name)?;
        let i = export.index.to_native() as usize;
        Some(match export.kind {
            chiwawa_format::extern_kind::FUNC => Extern::Func(inst.funcs[i]),
            chiwawa_format::extern_kind::TABLE => Extern::Table(inst.tables[i]),
            chiwawa_format::extern_kind::MEMORY => Extern::Memory(inst.memories[i]),
            _ => Extern::Global(inst.globals[i]),
        })
    }

    /// Makes sure function `func` (a store address) passed the verifier, as the interpreter
    /// does on entering it (see [`Instance::ensure_verified`]); host functions always have.
    pub fn ensure_verified(&self, func: u32) -> Result<(), Trap> {
        match self.funcs.get(func as usize) {
            Some(FuncInst::Wasm {
                instance, defined, ..
            }) => self.instances[*instance as usize].ensure_verified(*defined as usize),
            _ => Ok(()),
        }
    }

    /// A name for function `func` in trap messages: its name-section name or `func[N]`.
    pub fn func_name(&self, func: u32) -> String {
        func_name(&self.instances, &self.funcs, func)
    }
}

/// `Store::func_name` on the store's fields, for code that holds them borrowed apart.
pub(crate) fn func_name(instances: &[Instance], funcs: &[FuncInst], func: u32) -> String {
    match &funcs[func as usize] {
        FuncInst::Host { .. } => format!("host function {func}"),
        FuncInst::Wasm {
            instance, defined, ..
        } => {
            let module = instances[*instance as usize].image.module();
            let index = module.num_imported_funcs() + defined;
            let names = &module.func_names;
            match names.binary_search_by_key(&index, |n| n.index.to_native()) {
                Ok(i) => names[i].name.to_string(),
                Err(_) => format!("func[{index}]"),
            }
        }
    }
}
