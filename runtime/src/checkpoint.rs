//! Checkpoint and restore: the whole state of a running guest as a [`Snapshot`] (the `.cws`
//! format of `chiwawa_format::snapshot`), and a fresh instance of the same image brought back
//! to that state to go on.
//!
//! A checkpoint is taken between two instructions, at a safe point of the executor: when the
//! guest calls the import `chiwawa.checkpoint` (type `() -> i32`; it returns 0, and a run
//! restored from that snapshot goes on from the same return, with the same 0), or when a meter
//! event asks for one ([`crate::meter::Action::Checkpoint`]: after a taken branch, a call or a
//! return, at the executed-instruction count the snapshot records). The executor
//! hands the state to the store's sink ([`set_sink`]), which adds what the embedder owns (argv,
//! environment, clocks, descriptors) and writes it; the guest then goes on.
//!
//! A snapshot covers a store with one Wasm instance. Functions are recorded as indices of the
//! module's function space and program counters as code-unit offsets in a function, so a
//! snapshot means the same thing in every store of the same image, native or in any Wasm host.
//!
//! Restoring ([`restore`]) instantiates the image without its start function, checks every
//! part of the snapshot against the module before writing any of it (counts, value types,
//! limits, function indices, each frame's function verified, each caller's program counter just
//! after a call instruction of that function and the running one's at an instruction of its
//! function, each callee frame where that call put it, every frame's slots inside the value
//! stack), then [`resume`] goes on.

use chiwawa_format::snapshot::{FrameState, ImageId, MemoryState, Snapshot, NULL_REF};
use chiwawa_format::{valtype, Flow, Op, Operand};

use crate::exec::{Frame, Suspended};
use crate::store::{FuncInst, GlobalInst, Instance, Memory, Store, Table};
use crate::trap::{Trap, TrapKind};

/// The import module and name a guest calls for a checkpoint.
pub const IMPORT: (&str, &str) = ("chiwawa", "checkpoint");

/// Where a store's checkpoints go: the runtime's part of a snapshot (image, globals, memories,
/// tables, segments, stacks); the sink adds the rest and writes it. An error stops the guest.
pub type Sink = Box<dyn FnMut(Snapshot) -> Result<(), Trap>>;

fn fail(message: impl Into<String>) -> Trap {
    Trap::new(TrapKind::Host(format!("checkpoint: {}", message.into())))
}

/// The image identity recorded in (and checked against) snapshots.
pub fn image_id(image: &chiwawa_format::LoadedImage) -> ImageId {
    let header = image.header();
    ImageId {
        checksum: header.checksum,
        source_hash: header.source_hash.to_le_bytes(),
    }
}

/// The store's one Wasm instance, or why a checkpoint cannot be taken.
fn only_instance(instances: &[Instance]) -> Result<&Instance, Trap> {
    match instances {
        [one] => Ok(one),
        _ => Err(fail(format!(
            "the store holds {} instances; a snapshot covers one",
            instances.len()
        ))),
    }
}

/// The module function index of store function `addr` in `inst`.
fn module_index(inst: &Instance, addr: u32) -> Result<u32, Trap> {
    inst.funcs
        .iter()
        .position(|&f| f == addr)
        .map(|i| i as u32)
        .ok_or_else(|| fail("a reference to a function of another instance cannot move"))
}

/// A reference slot (0 null, else a store function's address + 1) as a snapshot element.
fn ref_out(inst: &Instance, slot: u64) -> Result<u32, Trap> {
    if slot == 0 {
        return Ok(NULL_REF);
    }
    module_index(inst, (slot - 1) as u32)
}

/// Takes the runtime's part of a snapshot: called by the executor with its value stack, the
/// suspended callers and the activation that resumes (`top`). The snapshot keeps the stack up to
/// the end of the highest frame (a caller's frame may reach past its callee's).
#[allow(clippy::too_many_arguments)] // the store's parts, borrowed apart by the executor
pub(crate) fn capture(
    instances: &[Instance],
    funcs: &[FuncInst],
    globals: &[GlobalInst],
    memories: &[Memory],
    tables: &[Table],
    stack: &[u64],
    frames: &[Frame],
    top: Frame,
) -> Result<Snapshot, Trap> {
    let inst = only_instance(instances)?;
    let mut global_values = Vec::with_capacity(inst.globals.len());
    for &g in &inst.globals {
        let g = &globals[g as usize];
        global_values.push(match g.ty.ty {
            valtype::FUNCREF => match ref_out(inst, g.value)? {
                NULL_REF => 0,
                index => u64::from(index) + 1,
            },
            valtype::EXTERNREF if g.value != 0 => {
                return Err(fail("a non-null externref global cannot move"))
            }
            _ => g.value,
        });
    }
    let mut table_states = Vec::with_capacity(inst.tables.len());
    for &t in &inst.tables {
        let table = &tables[t as usize];
        if table.ty.elem != valtype::FUNCREF && table.elems.iter().any(|&e| e != 0) {
            return Err(fail("a table of non-null externrefs cannot move"));
        }
        let elems = table
            .elems
            .iter()
            .map(|&e| ref_out(inst, e))
            .collect::<Result<Vec<_>, _>>()?;
        table_states.push(elems);
    }
    let frame_out = |f: &Frame| -> Result<FrameState, Trap> {
        Ok(FrameState {
            func: module_index(inst, f.func)?,
            pc: f.pc,
            base: f.base,
        })
    };
    let mut frame_states = frames
        .iter()
        .map(frame_out)
        .collect::<Result<Vec<_>, _>>()?;
    frame_states.push(frame_out(&top)?);
    let live = frames
        .iter()
        .chain([&top])
        .map(|f| match &funcs[f.func as usize] {
            FuncInst::Wasm { entry, .. } => f.base as usize + entry.frame_size as usize,
            FuncInst::Host { .. } => 0,
        })
        .max()
        .unwrap_or(0);
    let stack = &stack[..live.min(stack.len())];
    Ok(Snapshot {
        image: image_id(&inst.image),
        instructions: 0,
        monotonic_ns: 0,
        args: Vec::new(),
        env: Vec::new(),
        globals: global_values,
        memories: inst
            .memories
            .iter()
            .map(|&m| MemoryState::capture(memories[m as usize].bytes()))
            .collect(),
        tables: table_states,
        dropped_data: inst.dropped_datas.iter().map(|d| d.get()).collect(),
        dropped_elems: inst.dropped_elems.iter().map(|d| d.get()).collect(),
        stack: stack.to_vec(),
        frames: frame_states,
        fds: Vec::new(),
    })
}

/// Why a snapshot cannot be restored into an instance: what does not fit the module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreError(pub String);

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RestoreError {}

fn bad(message: impl Into<String>) -> RestoreError {
    RestoreError(message.into())
}

/// A run restored from a snapshot, ready to go on ([`resume`]).
pub struct Restored {
    state: Suspended,
}

/// Checks `snapshot` against instance `inst_id` of `store` (instantiated from the snapshot's
/// image without its start function, and not run since) and writes it in: globals, memories,
/// tables, dropped segments; returns the run to [`resume`]. Nothing is written unless all of
/// the snapshot fits the module.
pub fn restore(
    store: &mut Store,
    inst_id: u32,
    snapshot: &Snapshot,
) -> Result<Restored, RestoreError> {
    if store.instances.len() != 1 || inst_id != 0 {
        return Err(bad("a snapshot is restored into a store with one instance"));
    }
    let inst = &store.instances[0];
    if image_id(&inst.image) != snapshot.image {
        return Err(bad(format!(
            "the snapshot is of {}, not of this {}",
            snapshot.image,
            image_id(&inst.image)
        )));
    }
    let count = |what: &str, have: usize, want: usize| {
        if have == want {
            Ok(())
        } else {
            Err(bad(format!("{have} {what}, the module has {want}")))
        }
    };
    count("globals", snapshot.globals.len(), inst.globals.len())?;
    count("memories", snapshot.memories.len(), inst.memories.len())?;
    count("tables", snapshot.tables.len(), inst.tables.len())?;
    count(
        "data segments",
        snapshot.dropped_data.len(),
        inst.dropped_datas.len(),
    )?;
    count(
        "element segments",
        snapshot.dropped_elems.len(),
        inst.dropped_elems.len(),
    )?;
    let nfuncs = inst.funcs.len() as u64;
    let ref_in = |index: u32| -> Result<u64, RestoreError> {
        match index {
            NULL_REF => Ok(0),
            i if u64::from(i) < nfuncs => Ok(u64::from(inst.funcs[i as usize]) + 1),
            i => Err(bad(format!(
                "function reference {i} beyond the module's {nfuncs}"
            ))),
        }
    };

    // Globals: values of their types; an immutable one as instantiated.
    let mut global_values = Vec::with_capacity(inst.globals.len());
    for (i, (&g, &value)) in inst.globals.iter().zip(&snapshot.globals).enumerate() {
        let global = &store.globals[g as usize];
        let slot = match global.ty.ty {
            valtype::I32 | valtype::F32 if value > u64::from(u32::MAX) => {
                return Err(bad(format!("global {i}: {value:#x} is not a 32-bit value")))
            }
            valtype::FUNCREF => match value {
                0 => 0,
                v if v - 1 < nfuncs => ref_in((v - 1) as u32)?,
                v => {
                    return Err(bad(format!(
                        "global {i}: function reference {v} out of range"
                    )))
                }
            },
            valtype::EXTERNREF if value != 0 => {
                return Err(bad(format!("global {i}: an externref cannot be restored")))
            }
            _ => value,
        };
        if !global.ty.mutable && slot != global.value {
            return Err(bad(format!(
                "global {i} is immutable and differs from the module's"
            )));
        }
        global_values.push(slot);
    }
    // Memories: within the module's limits.
    for (i, (&m, state)) in inst.memories.iter().zip(&snapshot.memories).enumerate() {
        let memory = &store.memories[m as usize];
        let max = memory.max_pages.unwrap_or(crate::store::MAX_PAGES);
        if state.pages < memory.pages() || state.pages > max {
            return Err(bad(format!(
                "memory {i}: {} pages, outside the module's {} to {max}",
                state.pages,
                memory.pages()
            )));
        }
    }
    // Tables: within limits, every element a function of the module, of a funcref table.
    let mut table_values = Vec::with_capacity(inst.tables.len());
    for (i, (&t, elems)) in inst.tables.iter().zip(&snapshot.tables).enumerate() {
        let table = &store.tables[t as usize];
        let len = elems.len() as u32;
        if len < table.ty.min || table.ty.max.is_some_and(|max| len > max) {
            return Err(bad(format!(
                "table {i}: {len} elements, outside the module's limits"
            )));
        }
        if table.ty.elem != valtype::FUNCREF && elems.iter().any(|&e| e != NULL_REF) {
            return Err(bad(format!("table {i}: an externref cannot be restored")));
        }
        table_values.push(
            elems
                .iter()
                .map(|&e| ref_in(e))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let state = check_stack(store, snapshot)?;

    // All of it fits: write it in.
    let inst = &store.instances[0];
    for (&g, value) in inst.globals.iter().zip(global_values) {
        store.globals[g as usize].value = value;
    }
    for (&t, elems) in inst.tables.iter().zip(table_values) {
        store.tables[t as usize].elems = elems;
    }
    for (flag, &dropped) in inst.dropped_datas.iter().zip(&snapshot.dropped_data) {
        flag.set(dropped);
    }
    for (flag, &dropped) in inst.dropped_elems.iter().zip(&snapshot.dropped_elems) {
        flag.set(dropped);
    }
    let memories: Vec<u32> = inst.memories.clone();
    for (&m, state) in memories.iter().zip(&snapshot.memories) {
        let memory = &mut store.memories[m as usize];
        let grow = state.pages - memory.pages();
        if memory.grow(grow).is_none() {
            return Err(bad(format!(
                "memory {m}: cannot grow to {} pages",
                state.pages
            )));
        }
        let bytes = memory.bytes_mut();
        bytes.fill(0);
        state.restore_into(bytes).map_err(|e| bad(e.to_string()))?;
    }
    Ok(Restored { state })
}

/// The frames: each a verified function of the module, resuming right after one of its call
/// instructions, the callee's frame where that call put it, every frame's slots in the stack.
fn check_stack(store: &Store, snapshot: &Snapshot) -> Result<Suspended, RestoreError> {
    let inst = &store.instances[0];
    let num_imported = inst.num_imported_funcs as usize;
    let mut frames = Vec::with_capacity(snapshot.frames.len());
    for (k, f) in snapshot.frames.iter().enumerate() {
        let here = |what: String| bad(format!("frame {k} (function {}): {what}", f.func));
        let index = f.func as usize;
        let defined = index
            .checked_sub(num_imported)
            .filter(|&d| d < inst.entries.len())
            .ok_or_else(|| here("not a function defined by the module".into()))?;
        inst.ensure_verified(defined)
            .map_err(|t| here(format!("its code does not verify: {t}")))?;
        let entry = &inst.entries[defined];
        // SAFETY: `WasmEntry`'s invariant; the function is verified (above), so its code is
        // in place and never written again.
        let code = unsafe { std::slice::from_raw_parts(entry.code, entry.code_len as usize) };
        let last = k + 1 == snapshot.frames.len();
        // A caller resumes just after its call; the activation that runs next at any
        // instruction (a safe point of the metered loop, or just after a call).
        let call_base = if last {
            if !at_instruction(code, f.pc as usize) {
                return Err(here(format!("{} is not the start of an instruction", f.pc)));
            }
            0
        } else {
            call_before(code, f.pc as usize)
                .ok_or_else(|| here(format!("{} is not just after a call instruction", f.pc)))?
        };
        let end = f.base as usize + entry.frame_size as usize;
        if end > snapshot.stack.len() {
            return Err(here(format!(
                "its frame ends at slot {end}, beyond the {} stack slots",
                snapshot.stack.len()
            )));
        }
        if let Some(next) = snapshot.frames.get(k + 1) {
            if u64::from(next.base) != u64::from(f.base) + u64::from(call_base) {
                return Err(here(format!(
                    "its call puts the callee's frame at slot {}, not {}",
                    u64::from(f.base) + u64::from(call_base),
                    next.base
                )));
            }
        }
        frames.push(Frame {
            func: inst.funcs[index],
            pc: f.pc,
            base: f.base,
        });
    }
    let top = frames.pop().ok_or_else(|| bad("no frames"))?;
    Ok(Suspended {
        stack: snapshot.stack.clone(),
        frames,
        top,
    })
}

/// If the instructions of `code` from its start reach `pc` exactly: the start of the one that
/// ends there (`None` for `pc` 0).
fn walk_to(code: &[chiwawa_format::CodeUnit], pc: usize) -> Option<Option<usize>> {
    let mut at = 0;
    let mut last = None;
    while at < pc {
        let len = chiwawa_format::instr_len(code, at).ok()?;
        last = Some(at);
        at += len;
    }
    (at == pc).then_some(last)
}

/// Whether `pc` is the start of an instruction of `code`.
fn at_instruction(code: &[chiwawa_format::CodeUnit], pc: usize) -> bool {
    pc < code.len() && walk_to(code, pc).is_some()
}

/// If the instructions of `code` from its start reach `pc` exactly and the one ending there
/// is a call (a plain call or a pair ending in one), the call's `base` operand: where it puts
/// the callee's frame, relative to the caller's.
fn call_before(code: &[chiwawa_format::CodeUnit], pc: usize) -> Option<u32> {
    let start = walk_to(code, pc)??;
    let op = Op::from_word(u32::from(code[start].to_native()))?;
    if op.flow() != Flow::Call {
        return None;
    }
    let info = op.info();
    let which = info.operand_names.iter().rposition(|&n| n == "base")?;
    let offset: usize = 1 + info.operands[..which]
        .iter()
        .map(|o| o.units())
        .sum::<Option<usize>>()?;
    debug_assert_eq!(info.operands[which], Operand::Slot);
    code.get(start + offset).map(|u| u32::from(u.to_native()))
}

/// Goes on with a restored run until the guest's outermost function returns (its results) or
/// stops (a trap, `proc_exit`).
pub fn resume(store: &mut Store, restored: Restored) -> Result<Vec<u64>, Trap> {
    crate::exec::resume(store, restored.state)
}

/// Sets where the store's checkpoints go (see [`Sink`]).
pub fn set_sink(store: &mut Store, sink: Sink) {
    store.checkpoint_sink = Some(sink);
}

/// The host function of `chiwawa.checkpoint`: asks the executor for a checkpoint once it
/// returns.
pub fn request(_: &mut crate::store::Caller<'_>, _: &[u64], _: &mut [u64]) -> Result<(), Trap> {
    Err(TrapKind::Checkpoint.into())
}

/// Defines the import `chiwawa.checkpoint` (`() -> i32`) in `linker`: the guest's request for a
/// checkpoint, taken by the store's sink ([`set_store_sink`]).
pub fn add_to_linker<T: 'static>(linker: &mut crate::Linker<T>) -> Result<(), crate::Error> {
    linker.func_wrap(
        IMPORT.0,
        IMPORT.1,
        |_: crate::Caller<'_, T>| -> Result<i32, crate::Error> {
            Err(crate::Error::from(Trap::from(TrapKind::Checkpoint)))
        },
    )?;
    Ok(())
}

/// Sets where an embedding store's checkpoints go (see [`Sink`]).
pub fn set_store_sink<T>(store: &mut crate::Store<T>, sink: Sink) {
    set_sink(&mut store.raw, sink);
}

/// Instantiates `module` through `linker` for a restore (without its start function) and
/// restores `snapshot` into it ([`restore`]); the store must hold nothing else. Go on with
/// [`resume_store`].
pub fn restore_instance<T: 'static>(
    linker: &crate::Linker<T>,
    store: &mut crate::Store<T>,
    module: &crate::Module,
    snapshot: &Snapshot,
) -> Result<Restored, crate::Error> {
    let instance = linker.instantiate_with(store, module, false)?;
    restore(&mut store.raw, instance.id, snapshot)
        .map_err(|e| crate::Error::new(crate::ErrorKind::Snapshot, e.0))
}

/// Goes on with a restored run of an embedding store until the guest's outermost function
/// returns (its result slots) or stops (the error; `proc_exit` is one, with its status).
pub fn resume_store<T>(
    store: &mut crate::Store<T>,
    restored: Restored,
) -> Result<Vec<u64>, crate::Error> {
    resume(&mut store.raw, restored).map_err(crate::Error::from)
}
