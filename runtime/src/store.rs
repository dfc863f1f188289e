//! The store: every memory, table, global and function of all instances, owned as plain data.
//! Instances refer to store entries by address (index), so modules linked to each other share
//! them, and the whole guest state stays serialisable.
//!
//! This is the layer under the embedding API ([`crate::Store`], [`crate::Linker`], ...), whose
//! handles know their store; addresses here are plain indices. It stays public for the
//! project's own harnesses (benchmarks, fuzzers) that wrap host functions at this level;
//! embedders use the API.

use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

use chiwawa_format::{CodeUnit, ConstWord};
use chiwawa_format::{FuncType, GlobalType, LoadedImage, TableType};

use crate::trap::{Trap, TrapKind};
use crate::value::Val;

/// A Wasm page: 64 KiB.
pub const PAGE_SIZE: usize = 65536;
/// Wasm32 memories hold at most 65536 pages (4 GiB).
pub const MAX_PAGES: u32 = 65536;
/// Default bound on the interpreter's value and call stacks together, in bytes.
pub const DEFAULT_MAX_STACK_BYTES: usize = 16 << 20;

/// A 16-byte aligned chunk, so guest memory starts 16-byte aligned inside the runtime's memory
/// (the host checks WASI pointer alignment against runtime addresses).
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Chunk([u8; 16]);

/// A linear memory.
///
/// Its pages are zero without being written: instantiating a module must not touch every page of
/// its memory (in a Wasm host the first touch of a fresh page of the runtime's own memory is the
/// expensive part of zero-filling it, and a guest rarely uses all of its initial memory at once).
/// Natively `alloc_zeroed` gives fresh zero pages from the system for a large memory. In a Wasm
/// host the allocator zero-fills (wasi-libc's `calloc` cannot tell fresh pages), so the pages
/// come straight from `memory.grow`, which the Wasm spec defines as zero (see `fresh`).
pub struct Memory {
    /// The memory's bytes, cached from `storage` (see [`Memory::sync`]) so that `bytes` and
    /// `bytes_mut` are two loads: `len` initialised bytes at `base`, owned by `storage`.
    base: *mut u8,
    len: usize,
    storage: Storage,
    /// The most pages the memory may grow to, if bounded.
    pub max_pages: Option<u32>,
}

enum Storage {
    /// Chunks from the global allocator.
    Heap(Vec<Chunk>),
    /// Pages the runtime grew its own linear memory by for this memory alone.
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    Grown(fresh::Pages),
}

impl Memory {
    /// A memory of `min_pages` zero pages that may grow to `max_pages`; `OutOfMemory` if the
    /// minimum is above the maximum or the host cannot give the pages.
    pub fn new(min_pages: u32, max_pages: Option<u32>) -> Result<Memory, TrapKind> {
        if min_pages > max_pages.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
            return Err(TrapKind::OutOfMemory);
        }
        let storage = Memory::initial_storage(min_pages).ok_or(TrapKind::OutOfMemory)?;
        let mut memory = Memory {
            base: std::ptr::null_mut(),
            len: 0,
            storage,
            max_pages,
        };
        memory.sync();
        Ok(memory)
    }

    /// `pages` zero pages: fresh pages of the runtime's memory in a Wasm host (see [`fresh`]).
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    fn initial_storage(pages: u32) -> Option<Storage> {
        if pages == 0 {
            return Some(Storage::Heap(Vec::new()));
        }
        fresh::Pages::take(pages).map(Storage::Grown)
    }

    /// `pages` zero pages from `alloc_zeroed`.
    #[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
    fn initial_storage(pages: u32) -> Option<Storage> {
        zeroed_chunks(pages as usize * (PAGE_SIZE / 16)).map(Storage::Heap)
    }

    /// Re-reads `base` and `len` from `storage`, after every change to it.
    fn sync(&mut self) {
        (self.base, self.len) = match &mut self.storage {
            // `as_mut_ptr` creates no reference to the elements, and stays valid until the
            // vector reallocates, which only `grow` does, and it calls `sync` after.
            Storage::Heap(chunks) => (chunks.as_mut_ptr().cast::<u8>(), chunks.len() * 16),
            #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
            Storage::Grown(pages) => (pages.as_mut_ptr(), pages.len()),
        };
    }

    /// Size in 64 KiB pages.
    pub fn pages(&self) -> u32 {
        (self.len / PAGE_SIZE) as u32
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the memory has no pages.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` (memory.grow's -1).
    pub fn grow(&mut self, delta: u32) -> Option<u32> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
            return None;
        }
        if delta == 0 {
            return Some(old);
        }
        let chunks = new as usize * (PAGE_SIZE / 16);
        match &mut self.storage {
            Storage::Heap(v) => {
                v.try_reserve_exact(chunks - v.len()).ok()?;
                v.resize(chunks, Chunk([0; 16]));
            }
            #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
            Storage::Grown(pages) => {
                let moved = !pages.grow_in_place(delta);
                if moved {
                    // Something was allocated after these pages: from now on the memory lives on
                    // the heap, as a natively allocated one does (its old pages stay unused).
                    let mut v = Vec::new();
                    v.try_reserve_exact(chunks).ok()?;
                    v.extend(
                        self.bytes()
                            .chunks_exact(16)
                            .map(|c| Chunk(c.try_into().expect("16 bytes"))),
                    );
                    v.resize(chunks, Chunk([0; 16]));
                    self.storage = Storage::Heap(v);
                }
            }
        }
        self.sync();
        Some(old)
    }

    /// The memory's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `base` points to `len` initialised bytes owned by `storage` (`sync`'s
        // invariant: a `Chunk` is a plain 16-byte array with no padding; fresh pages are zero),
        // which nothing else borrows while `self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    /// The memory's bytes, to write.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and the borrow of `self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }
}

/// `n` zero chunks, from `alloc_zeroed` (fresh pages need no zero-fill); `None` when out of memory.
#[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
fn zeroed_chunks(n: usize) -> Option<Vec<Chunk>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<Chunk>(n).ok()?;
    // SAFETY: `layout` has a non-zero size (n > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Chunk>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[Chunk; n]` (the
    // layout `Vec<Chunk>` uses for capacity `n`), and its `n` chunks are initialised: all-zero
    // bytes are a valid `Chunk`.
    Some(unsafe { Vec::from_raw_parts(ptr, n, n) })
}

/// Pages of the runtime's own linear memory taken with `memory.grow`, for a guest memory.
///
/// Invariant of [`Pages`]: the `len` bytes at `start` are pages that `memory.grow` added to the
/// runtime's linear memory for this `Pages` alone. Nothing else uses them: the global allocator
/// only ever uses memory it grew itself (wasi-libc's `sbrk` and the `dlmalloc` crate hand out
/// exactly the range their own `memory.grow` returned, and cope with memory grown by others, as
/// an `sbrk` shared with other users must); and a `Pages` is never copied or given back (linear
/// memory cannot shrink: a dropped `Pages` leaks its range, which is why only a memory's
/// *initial* pages are taken so, and a memory that cannot grow in place moves to the heap).
/// Single-threaded only (no `atomics`): nothing else grows the memory between our calls.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
mod fresh {
    use super::PAGE_SIZE;
    use core::arch::wasm32;

    pub struct Pages {
        /// Address of the first byte (a page boundary).
        start: usize,
        /// Length in bytes (whole pages).
        len: usize,
    }

    /// The end of the runtime's linear memory, in bytes (a 4 GiB memory does not fit `usize`).
    fn memory_end() -> u64 {
        wasm32::memory_size(0) as u64 * PAGE_SIZE as u64
    }

    impl Pages {
        /// Grows the runtime's memory by `pages` pages (zero, by the Wasm spec) and takes them.
        pub fn take(pages: u32) -> Option<Pages> {
            let len = (pages as usize).checked_mul(PAGE_SIZE)?;
            let old = wasm32::memory_grow(0, pages as usize);
            if old == usize::MAX {
                return None;
            }
            Some(Pages {
                start: old * PAGE_SIZE,
                len,
            })
        }

        pub fn len(&self) -> usize {
            self.len
        }

        /// Grows these pages by `delta` pages if they end the runtime's memory: nothing was
        /// allocated after them, so `memory.grow` appends right after them. `false` otherwise,
        /// or when the runtime's memory cannot grow.
        pub fn grow_in_place(&mut self, delta: u32) -> bool {
            let Some(extra) = (delta as usize).checked_mul(PAGE_SIZE) else {
                return false;
            };
            let Some(new_len) = self.len.checked_add(extra) else {
                return false;
            };
            if self.start as u64 + self.len as u64 != memory_end() {
                return false;
            }
            let old = wasm32::memory_grow(0, delta as usize);
            if old == usize::MAX {
                return false;
            }
            debug_assert_eq!(
                old as u64 * PAGE_SIZE as u64,
                self.start as u64 + self.len as u64
            );
            self.len = new_len;
            true
        }

        /// The first byte: by the invariant, `len` bytes at it are ours alone, inside linear
        /// memory and initialised (zero when grown, then written only through this pointer). The
        /// address is exposed memory outside every Rust allocation, as an allocator's own pages
        /// are.
        pub fn as_mut_ptr(&mut self) -> *mut u8 {
            std::ptr::with_exposed_provenance_mut(self.start)
        }
    }
}

/// A table of references (slots: 0 = null, else address + 1).
pub struct Table {
    pub(crate) elems: Vec<u64>,
    pub(crate) ty: TableType,
}

impl Table {
    /// A table of type `ty` holding `ty.min` null entries.
    pub fn new(ty: TableType) -> Table {
        Table {
            elems: vec![0; ty.min as usize],
            ty,
        }
    }

    /// The entries: 0 is the null reference, any other value a store function's address + 1.
    pub fn elems(&self) -> &[u64] {
        &self.elems
    }

    /// The table's type (element type and limits).
    pub fn ty(&self) -> &TableType {
        &self.ty
    }

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

/// A global of the store: its value as a slot, and its type.
pub struct GlobalInst {
    /// The value, in slot form (see [`Val::to_slot`]).
    pub value: u64,
    /// Its value type and mutability.
    pub ty: GlobalType,
}

/// A host function: reads its parameters, writes its results. `caller` gives the calling
/// instance's memory 0, which WASI needs, and the store's user data.
pub type HostFn = Rc<dyn Fn(&mut Caller<'_>, &[u64], &mut [u64]) -> Result<(), Trap>>;

/// What a host function may touch of its caller.
pub struct Caller<'a> {
    /// The calling instance's memory 0, if it has one.
    pub memory: Option<&'a mut Memory>,
    /// The store's user data (`()` unless the store was made by [`crate::Store::new`] with
    /// data of the embedder's type).
    pub data: &'a mut dyn Any,
    /// Where the host function may describe this call for a trace (`--trace wasi`): `Some`
    /// only while calls are traced, so that an untraced run decodes nothing.
    pub note: Option<&'a mut Option<HostNote>>,
    /// The instructions the store has executed so far, if it counts them (it has a meter).
    pub instructions: Option<u64>,
}

/// A host function's description of one call of it, for a trace: the slice's name, what it
/// was called with and returned (as `--strace` shows it), and its errno if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostNote {
    /// The slice's name (e.g. `fd_write`).
    pub name: String,
    /// The call as `--strace` shows it.
    pub call: String,
    /// The errno it returned (`None`: none, or it trapped).
    pub errno: Option<u32>,
}

/// A function of the store.
pub enum FuncInst {
    /// A function defined by an instance's module.
    Wasm {
        /// The instance (its index in the store).
        instance: u32,
        /// Index among the module's defined functions.
        defined: u32,
        /// Its canonical type id ([`Store::intern_type`]).
        type_id: u32,
        /// What the interpreter needs on every call, taken from the image once at instantiation.
        entry: WasmEntry,
    },
    /// A host function.
    Host {
        /// Its canonical type id ([`Store::intern_type`]).
        type_id: u32,
        /// The function.
        func: HostFn,
    },
}

impl FuncInst {
    /// The function's canonical type id.
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
    /// The function's code units, inside the instance's image. Valid for the life of the store:
    /// the image is held by an `Rc` in the instance, the store never drops an instance, and the
    /// image's code never moves and is written at most once, before its function is verified
    /// (`LoadedImage`'s invariant); it is read only after the function passed the verifier.
    pub(crate) code: *const CodeUnit,
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
    /// A function, by store address.
    Func(u32),
    /// A table, by store address.
    Table(u32),
    /// A memory, by store address.
    Memory(u32),
    /// A global, by store address.
    Global(u32),
}

/// A module instance: the image and the store addresses of everything in its index spaces.
///
/// Its fields are private to the crate: the interpreter's function entries point into the
/// image's code, so replacing the image (or the store's instances) from outside would leave them
/// dangling. Read it through [`Store::instance`]. Safe code cannot reach them:
///
/// ```compile_fail
/// let mut store = chiwawa_runtime::store::Store::new();
/// store.instances.clear(); // private: would drop images that function entries point into
/// ```
///
/// ```compile_fail
/// fn image_rc(instance: &chiwawa_runtime::store::Instance) {
///     let _keep = instance.image.clone(); // private: read it through `Instance::image`
/// }
/// ```
pub struct Instance {
    pub(crate) image: Rc<LoadedImage>,
    pub(crate) funcs: Vec<u32>,
    pub(crate) tables: Vec<u32>,
    pub(crate) memories: Vec<u32>,
    pub(crate) globals: Vec<u32>,
    /// Canonical store type id of each of the module's types.
    pub(crate) types: Vec<u32>,
    /// Dropped segments (`elem.drop`, `data.drop`, and active segments after instantiation).
    pub(crate) dropped_elems: Vec<Cell<bool>>,
    pub(crate) dropped_datas: Vec<Cell<bool>>,
    /// The module's index spaces, for verifying function code on first entry.
    pub(crate) spaces: Rc<crate::verify::Spaces>,
    /// Per defined function: its code has passed the verifier (all set in eager mode).
    pub(crate) verified: Vec<Cell<bool>>,
    /// Per defined function, its entry, for calls within the instance: defined function `d` is
    /// store function `first_func + d` and function `num_imported_funcs + d` of the instance's
    /// index space.
    pub(crate) entries: Vec<WasmEntry>,
    pub(crate) first_func: u32,
    pub(crate) num_imported_funcs: u32,
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
        let result = crate::verify::verify_code(&self.image, &self.spaces, defined);
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

    /// The image this instance runs.
    pub fn image(&self) -> &LoadedImage {
        &self.image
    }

    /// The store address of what `export` (one of this instance's module's exports) names.
    pub(crate) fn extern_of(&self, export: &chiwawa_format::ArchivedExport) -> Extern {
        let i = export.index.to_native() as usize;
        match export.kind {
            chiwawa_format::extern_kind::FUNC => Extern::Func(self.funcs[i]),
            chiwawa_format::extern_kind::TABLE => Extern::Table(self.tables[i]),
            chiwawa_format::extern_kind::MEMORY => Extern::Memory(self.memories[i]),
            _ => Extern::Global(self.globals[i]),
        }
    }
}

/// Everything the guest can touch, across all instances.
///
/// Its fields are private to the crate (the interpreter relies on what they hold: see
/// [`Instance`]); embedders use the methods, which take the addresses the store handed out.
pub struct Store {
    pub(crate) types: Vec<FuncType>,
    pub(crate) funcs: Vec<FuncInst>,
    pub(crate) tables: Vec<Table>,
    pub(crate) memories: Vec<Memory>,
    pub(crate) globals: Vec<GlobalInst>,
    pub(crate) instances: Vec<Instance>,
    /// Bound on the interpreter's value stack in bytes (frames of all active calls).
    pub(crate) max_stack_bytes: usize,
    /// The embedder's data, handed to host functions (see [`Caller::data`]).
    pub(crate) data: Box<dyn Any>,
    /// Where checkpoints go ([`crate::checkpoint`]); none: a guest's request is a trap.
    pub(crate) checkpoint_sink: Option<crate::checkpoint::Sink>,
    /// The instruction counter ([`crate::meter`]); none: runs count nothing.
    pub(crate) meter: Option<crate::meter::Meter>,
    /// Bound on a memory's size that `memory.grow` respects (it returns -1 beyond it).
    pub(crate) max_memory_bytes: Option<u64>,
    /// The instructions by call stack ([`crate::profile`]); none: not profiled.
    pub(crate) profile: Option<Box<crate::profile::Profile>>,
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

impl Store {
    /// An empty store with the default stack bound and no user data.
    pub fn new() -> Store {
        Store {
            types: Vec::new(),
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            instances: Vec::new(),
            max_stack_bytes: DEFAULT_MAX_STACK_BYTES,
            data: Box::new(()),
            checkpoint_sink: None,
            meter: None,
            max_memory_bytes: None,
            profile: None,
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

    /// The type of function `func` (a store address).
    pub fn func_type(&self, func: u32) -> &FuncType {
        &self.types[self.funcs[func as usize].type_id() as usize]
    }

    /// Adds a host function of type `ty`; returns its address.
    pub fn add_host_func(&mut self, ty: FuncType, func: HostFn) -> u32 {
        let type_id = self.intern_type(ty);
        self.funcs.push(FuncInst::Host { type_id, func });
        (self.funcs.len() - 1) as u32
    }

    /// Adds a memory; returns its address.
    pub fn add_memory(&mut self, memory: Memory) -> u32 {
        self.memories.push(memory);
        (self.memories.len() - 1) as u32
    }

    /// Adds a table; returns its address.
    pub fn add_table(&mut self, table: Table) -> u32 {
        self.tables.push(table);
        (self.tables.len() - 1) as u32
    }

    /// Adds a global holding `value`; returns its address.
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

    /// The memory at `addr`, if there is one.
    pub fn memory(&self, addr: u32) -> Option<&Memory> {
        self.memories.get(addr as usize)
    }

    /// The memory at `addr`, to change, if there is one.
    pub fn memory_mut(&mut self, addr: u32) -> Option<&mut Memory> {
        self.memories.get_mut(addr as usize)
    }

    /// The table at `addr`, if there is one.
    pub fn table(&self, addr: u32) -> Option<&Table> {
        self.tables.get(addr as usize)
    }

    /// The instance `id` (as `instantiate` returned it), if there is one.
    pub fn instance(&self, id: u32) -> Option<&Instance> {
        self.instances.get(id as usize)
    }

    /// The host function at `addr`, if `addr` is one (for wrapping it in another).
    pub fn host_func(&self, addr: u32) -> Option<HostFn> {
        match self.funcs.get(addr as usize)? {
            FuncInst::Host { func, .. } => Some(Rc::clone(func)),
            FuncInst::Wasm { .. } => None,
        }
    }

    /// Bound on the interpreter's value stack in bytes (the frames of all active calls); deep
    /// recursion past it is the trap "call stack exhausted".
    pub fn max_stack_bytes(&self) -> usize {
        self.max_stack_bytes
    }

    /// Makes the guest's `memory.grow` return -1 (failure, as the module sees it) for a size
    /// beyond `bytes`; `None`: only the module's own limits.
    pub fn set_max_memory_bytes(&mut self, bytes: Option<u64>) {
        self.max_memory_bytes = bytes;
    }

    /// The store's profile, if it has one ([`crate::profile::set_profile`]).
    pub fn profile(&self) -> Option<&crate::profile::Profile> {
        self.profile.as_deref()
    }

    /// The store's instruction meter, if it has one ([`crate::meter::set_meter`]).
    pub fn meter(&self) -> Option<&crate::meter::Meter> {
        self.meter.as_ref()
    }

    /// Sets the bound [`Store::max_stack_bytes`] returns.
    pub fn set_max_stack_bytes(&mut self, bytes: usize) {
        self.max_stack_bytes = bytes;
    }

    /// The value of global `global` (a store address).
    pub fn global_value(&self, global: u32) -> Val {
        let g = &self.globals[global as usize];
        Val::from_slot(g.ty.ty, g.value)
    }

    /// The export `name` of `instance`.
    pub fn export(&self, instance: u32, name: &str) -> Option<Extern> {
        let inst = &self.instances[instance as usize];
        let module = inst.image.module();
        let export = module.exports.iter().find(|e| e.name.as_str() == name)?;
        Some(inst.extern_of(export))
    }

    /// Makes sure function `func` (a store address) passed the verifier, as the interpreter
    /// does on entering it (see `Instance::ensure_verified`); host functions always have.
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

/// A name-section name as people read it: Rust's mangled names demangled (with their hash, as
/// wasmtime shows them), any other name as it is.
fn demangle(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(demangled) => demangled.to_string(),
        Err(_) => name.to_string(),
    }
}

/// `Store::func_name` on the store's fields, for code that holds them borrowed apart.
pub(crate) fn func_name(instances: &[Instance], funcs: &[FuncInst], func: u32) -> String {
    match &funcs[func as usize] {
        // A host function: the name it is imported by (the first instance that imports it).
        FuncInst::Host { .. } => instances
            .iter()
            .find_map(|inst| {
                let module = inst.image.module();
                let imported = module
                    .imports
                    .iter()
                    .filter(|i| matches!(i.kind, chiwawa_format::ArchivedImportKind::Func(_)));
                imported
                    .zip(&inst.funcs)
                    .find(|&(_, &addr)| addr == func)
                    .map(|(import, _)| import.name.to_string())
            })
            .unwrap_or_else(|| format!("host function {func}")),
        FuncInst::Wasm {
            instance, defined, ..
        } => {
            let module = instances[*instance as usize].image.module();
            let index = module.num_imported_funcs() + defined;
            let names = &module.func_names;
            match names.binary_search_by_key(&index, |n| n.index.to_native()) {
                Ok(i) => demangle(&names[i].name),
                // No name in the name section: the name it is exported under, if any.
                Err(_) => module
                    .exports
                    .iter()
                    .find(|e| {
                        e.kind == chiwawa_format::extern_kind::FUNC && e.index.to_native() == index
                    })
                    .map_or_else(|| format!("func[{index}]"), |e| e.name.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_start_zero_and_grow_zero_keeping_their_bytes() {
        let mut memory = Memory::new(2, Some(5)).unwrap();
        assert_eq!((memory.pages(), memory.len()), (2, 2 * PAGE_SIZE));
        assert!(memory.bytes().iter().all(|&b| b == 0));
        assert_eq!(memory.bytes().as_ptr().align_offset(16), 0);
        memory.bytes_mut()[7] = 1;
        memory.bytes_mut()[2 * PAGE_SIZE - 1] = 2;
        assert_eq!(memory.grow(0), Some(2));
        assert_eq!(memory.grow(2), Some(2));
        assert_eq!(memory.pages(), 4);
        let bytes = memory.bytes();
        assert_eq!((bytes[7], bytes[2 * PAGE_SIZE - 1]), (1, 2));
        assert_eq!(bytes.iter().filter(|&&b| b != 0).count(), 2);
        assert_eq!(memory.grow(2), None, "past the maximum");
        assert_eq!(memory.grow(1), Some(4));
        assert_eq!(memory.grow(u32::MAX), None);
        assert_eq!(memory.pages(), 5);
    }

    #[test]
    fn empty_and_impossible_memories() {
        let mut memory = Memory::new(0, None).unwrap();
        assert!(memory.is_empty() && memory.bytes().is_empty());
        assert_eq!(memory.grow(1), Some(0));
        assert!(memory.bytes().iter().all(|&b| b == 0));
        assert!(Memory::new(3, Some(2)).is_err());
        assert!(Memory::new(MAX_PAGES + 1, None).is_err());
    }
}
