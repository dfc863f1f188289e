//! The interpreter: a `loop { match }` over register code, executed in place from the image.
//!
//! Two loops. `hot` runs everything that is arithmetic, memory access, jumps, and calls and
//! returns within an instance, and calls nothing (in a Wasm build `enter` and `back` are
//! inlined into it; natively they are not); `run_inner` around it runs the rest (host calls,
//! calls across instances, memory and table management, first calls of unverified functions,
//! growing the stacks). In a Wasm build this keeps the instruction pointer, the frame pointer
//! and the memory base in the host's registers: with the rare instructions in the same loop, the
//! host compiler spilled them all to its stack, and every instruction paid loads and stores for
//! them (and became sensitive to where the host's stack lies: stores to the guest's frame that
//! alias the spill slots in the low 12 address bits stall the loads that follow).
//!
//! All guest state is plain data: the value stack (`Vec<u64>` of frame slots) and the call
//! stack (`Vec<Frame>`) are owned here, never the host's call stack, so a deep guest recursion
//! becomes the trap "call stack exhausted" and the whole state could be written out.
//!
//! The verifier has proved, before any instance exists, that every slot operand is below the
//! frame size, every jump lands on an instruction, every index is in range and every function
//! ends without falling through (and, with lazy verification, it has done so for a function
//! before its first instruction runs). The executor leans on exactly that: code units and frame
//! slots are read without bounds checks. Guest memory is read through a cached base pointer,
//! each access after its own bounds check against the cached length. Everything else (tables,
//! globals, segments, index spaces) is checked indexing, where a bug is a panic, not undefined
//! behaviour.
//!
//! `.cargo/config.toml` lets LLVM duplicate the dispatch jump into every handler; that and the
//! fused instructions of the translator are most of the interpreter's speed.

/// The pattern of the instructions only the cold loop runs, for the hot loop's match
/// (`for_each_cold_op!(cold_only)`).
macro_rules! cold_only {
    ($($name:ident)*) => {
        $(Op::$name)|*
    };
}

// One interpreter split by concern: each part sees the others' items through `use super::*`.
mod call;
mod cold;
mod consts;
mod hot;
mod numeric;
mod regs;

use call::*;
use cold::*;
use hot::*;
use numeric::*;
use regs::*;

pub(crate) use consts::eval_const;
use consts::*;

use std::mem::size_of;

use chiwawa_format::{valtype, ArchivedConstExpr, ArchivedConstOp, CodeUnit, Op};

use crate::store::{Caller, FuncInst, GlobalInst, Instance, Store};
use crate::trap::{Trap, TrapKind};

macro_rules! define_cold {
    ($($name:ident)*) => {
        /// An instruction the cold loop runs: one only it runs (`for_each_cold_op!`), or a call
        /// or return the hot loop left to it. Its match over these has no catch-all, so a cold
        /// instruction without a handler does not compile.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Cold {
            Call,
            CallIndirect,
            Return,
            $($name,)*
        }

        impl Cold {
            /// `op` as a cold instruction, if it is one.
            #[inline]
            fn of(op: Op) -> Option<Cold> {
                match op {
                    Op::Call => Some(Cold::Call),
                    Op::CallIndirect => Some(Cold::CallIndirect),
                    Op::Return => Some(Cold::Return),
                    $(Op::$name => Some(Cold::$name),)*
                    _ => None,
                }
            }
        }
    };
}

chiwawa_format::for_each_cold_op!(define_cold);

/// The one-unit operand at unit `i` from `ip` (a slot), as both loops' `w!` read it.
///
/// # Safety
/// `ip + i` is inside the function's code (the verifier proved every operand is).
#[inline(always)]
unsafe fn unit_at(ip: *const CodeUnit, i: usize) -> u32 {
    // SAFETY: the caller's guarantee.
    unsafe { *ip.add(i) }.to_native() as u32
}

/// The two-unit operand at units `i, i + 1` from `ip` (an immediate, target or index), low
/// half first, as both loops' `w32!` read it.
///
/// # Safety
/// `ip + i + 1` is inside the function's code.
#[inline(always)]
unsafe fn pair_at(ip: *const CodeUnit, i: usize) -> u32 {
    // SAFETY: the caller's guarantee; the read is unaligned because units are 2-aligned.
    u32::from_le(unsafe { ip.add(i).cast::<u32>().read_unaligned() })
}

/// Makes a new activation's frame: the declared locals past the parameters zeroed, the
/// constants in the slots after the locals. Both the hot loop's calls and the cold loop's
/// `activate!` set frames up through here.
///
/// # Safety
/// `frame` points to `entry.frame_size` slots of the stack, and the verifier proved
/// `nparams <= num_locals` and `num_locals + num_consts <= frame_size` for `entry`'s function.
#[inline(always)]
unsafe fn init_frame(frame: *mut u64, entry: &crate::store::WasmEntry) {
    // SAFETY: the caller's guarantee; `entry.consts` holds `num_consts` words (`WasmEntry`).
    unsafe {
        zero_slots(frame, entry.nparams as usize, entry.num_locals as usize);
        let locals = frame.add(entry.num_locals as usize);
        for i in 0..entry.num_consts as usize {
            *locals.add(i) = (*entry.consts.add(i)).to_native();
        }
    }
}

/// A suspended activation: its function (a store address), where it resumes and its frame's
/// first slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) func: u32,
    pub(crate) pc: u32,
    pub(crate) base: u32,
}

/// A run stopped between two instructions, to go on with [`resume`]: the value stack's live
/// slots, the suspended callers (outermost first) and the activation that resumes.
pub(crate) struct Suspended {
    pub(crate) stack: Vec<u64>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) top: Frame,
}

/// How [`run_inner`] starts: a call, or a suspended run.
enum Start<'a> {
    Call { func: u32, args: &'a [u64] },
    Resume(Suspended),
}

/// Runs `func` (a store address) with `args` as slot values; returns the result slots.
pub(crate) fn run(store: &mut Store, func: u32, args: &[u64]) -> Result<Vec<u64>, Trap> {
    let result = run_inner(store, Start::Call { func, args });
    #[cfg(feature = "op-stats")]
    crate::opstats::dump(|f| crate::store::func_name(&store.instances, &store.funcs, f));
    result
}

/// Goes on with a suspended run until its outermost function returns; returns that function's
/// result slots.
///
/// The caller has checked `state` as [`crate::checkpoint`] does: every frame's function is a
/// verified Wasm function of the store, its `pc` the start of an instruction of that function
/// (for a caller, the one after a call) and its frame's slots inside `state.stack`; the
/// executor's unchecked
/// accesses rely on exactly what a run it suspended itself would hold.
pub(crate) fn resume(store: &mut Store, state: Suspended) -> Result<Vec<u64>, Trap> {
    let result = run_inner(store, Start::Resume(state));
    #[cfg(feature = "op-stats")]
    crate::opstats::dump(|f| crate::store::func_name(&store.instances, &store.funcs, f));
    result
}

/// The traps [`hot`] raises, written into [`Hot::fault`]. None carries data: when `hot`
/// returned its exit with a `TrapKind` (which has strings), it returned through memory, and in
/// a Wasm build the payload became a value carried around the whole loop, moved to and from
/// the host's stack in most handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Unreachable,
    IntegerDivideByZero,
    IntegerOverflow,
    InvalidConversion,
    MemoryOutOfBounds,
}

impl From<Fault> for TrapKind {
    fn from(fault: Fault) -> TrapKind {
        match fault {
            Fault::Unreachable => TrapKind::Unreachable,
            Fault::IntegerDivideByZero => TrapKind::IntegerDivideByZero,
            Fault::IntegerOverflow => TrapKind::IntegerOverflow,
            Fault::InvalidConversion => TrapKind::InvalidConversion,
            Fault::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        }
    }
}

/// The length in units of `op` when it always goes on to the next instruction (no jump, call
/// or return), for the debug check of each handler's advance.
#[cfg(debug_assertions)]
fn straight_len(op: Op) -> Option<usize> {
    match op.flow() {
        chiwawa_format::Flow::Next => op.info().fixed_units(),
        _ => None,
    }
}

fn trap_in(kind: TrapKind, func: String) -> Trap {
    Trap {
        kind,
        func: Some(func),
    }
}

fn store_name(instances: &[Instance], funcs: &[FuncInst], func: u32) -> String {
    crate::store::func_name(instances, funcs, func)
}
