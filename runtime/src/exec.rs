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

use std::mem::size_of;

use chiwawa_format::{valtype, ArchivedConstExpr, ArchivedConstOp, CodeUnit, Op};

use crate::store::{Caller, FuncInst, GlobalInst, Instance, Store};
use crate::trap::{Trap, TrapKind};

/// Default bound on the value and call stacks together, in bytes.
pub const DEFAULT_MAX_STACK_BYTES: usize = 16 << 20;

/// A suspended caller.
#[derive(Clone, Copy, Debug)]
struct Frame {
    func: u32,
    pc: u32,
    base: u32,
}

/// Checks a value about to be written into `table`: in a funcref table it must be null or a
/// function of the store (`address + 1`, with `funcs` functions), since `call_indirect` takes
/// an entry for a function. Code slots are untyped, so only a crafted image can get here with
/// other bits, and it is refused as invalid code, not run.
fn check_ref(table: &crate::store::Table, value: u64, funcs: usize) -> Result<(), TrapKind> {
    if table.ty.elem == valtype::FUNCREF && value > funcs as u64 {
        return Err(bad_ref(value));
    }
    Ok(())
}

/// The refusal of a funcref value that is no function.
#[cold]
fn bad_ref(value: u64) -> TrapKind {
    TrapKind::InvalidCode(format!(
        "{value:#x} is not a function reference, but is used as one in a funcref table"
    ))
}

/// Evaluates a constant expression in the context of an instance.
pub(crate) fn eval_const(
    expr: &ArchivedConstExpr,
    inst: &Instance,
    globals: &[crate::store::GlobalInst],
) -> u64 {
    let mut stack: Vec<u64> = Vec::with_capacity(4);
    for op in expr.ops.iter() {
        let v = match op {
            ArchivedConstOp::I32(v) => v.to_native() as u32 as u64,
            ArchivedConstOp::I64(v) => v.to_native() as u64,
            ArchivedConstOp::F32(v) => v.to_native() as u64,
            ArchivedConstOp::F64(v) => v.to_native(),
            ArchivedConstOp::RefNull => 0,
            ArchivedConstOp::RefFunc(f) => inst.funcs[f.to_native() as usize] as u64 + 1,
            ArchivedConstOp::GlobalGet(g) => {
                globals[inst.globals[g.to_native() as usize] as usize].value
            }
            binary => {
                let b = stack.pop().unwrap_or(0);
                let a = stack.pop().unwrap_or(0);
                match binary {
                    ArchivedConstOp::I32Add => (a as u32).wrapping_add(b as u32) as u64,
                    ArchivedConstOp::I32Sub => (a as u32).wrapping_sub(b as u32) as u64,
                    ArchivedConstOp::I32Mul => (a as u32).wrapping_mul(b as u32) as u64,
                    ArchivedConstOp::I64Add => a.wrapping_add(b),
                    ArchivedConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
        };
        stack.push(v);
    }
    stack.pop().unwrap_or(0)
}

#[inline(always)]
fn f32v(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

#[inline(always)]
fn f64v(v: u64) -> f64 {
    f64::from_bits(v)
}

#[inline(always)]
fn i32v(v: u64) -> u32 {
    v as u32
}

/// Rounding passes a signalling NaN through unchanged on some hosts; Wasm wants it quieted.
#[inline(always)]
fn quiet32(x: f32) -> u64 {
    let bits = x.to_bits();
    (if x.is_nan() { bits | 0x0040_0000 } else { bits }) as u64
}

#[inline(always)]
fn quiet64(x: f64) -> u64 {
    let bits = x.to_bits();
    if x.is_nan() {
        bits | 0x0008_0000_0000_0000
    } else {
        bits
    }
}

#[inline(always)]
fn b(c: bool) -> u64 {
    c as u64
}

fn trunc_check(x: f64, lo: f64, hi: f64) -> Result<f64, Fault> {
    if x.is_nan() {
        Err(Fault::InvalidConversion)
    } else if x > lo && x < hi {
        Ok(x)
    } else {
        Err(Fault::IntegerOverflow)
    }
}

macro_rules! float_minmax {
    ($name:ident, $f:ty, $min:expr) => {
        fn $name(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a == b {
                // Equal up to the sign of zero: min prefers -0, max prefers +0.
                if $min {
                    <$f>::from_bits(a.to_bits() | b.to_bits())
                } else {
                    <$f>::from_bits(a.to_bits() & b.to_bits())
                }
            } else if (a < b) == $min {
                a
            } else {
                b
            }
        }
    };
}
float_minmax!(f32_min, f32, true);
float_minmax!(f32_max, f32, false);
float_minmax!(f64_min, f64, true);
float_minmax!(f64_max, f64, false);

#[inline]
fn effective(addr: u64, offset: u32, len: usize, size: usize) -> Result<usize, Fault> {
    let ea = (addr as u32 as u64) + offset as u64;
    if ea + size as u64 > len as u64 {
        Err(Fault::MemoryOutOfBounds)
    } else {
        Ok(ea as usize)
    }
}

/// Bounds-checks `[start, start + len)` against `size`.
#[inline]
fn range(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    if end > size as u64 {
        None
    } else {
        Some(start as usize..end as usize)
    }
}

/// Runs `func` (a store address) with `args` as slot values; returns the result slots.
pub(crate) fn run(store: &mut Store, func: u32, args: &[u64]) -> Result<Vec<u64>, Trap> {
    let result = run_inner(store, func, args);
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

/// The interpreter's registers, handed to [`hot`] and back.
///
/// Invariant while `hot` runs: `ip`, `sp` and `code` are those of the executing function as
/// `run_inner` describes them (its SAFETY comment), `mem_base` points to `mem_len` bytes of
/// memory 0, `globals` to the store's `globals_len` globals and `inst_globals` to the instance's
/// global index space (`inst_globals_len` entries), and nothing else reads or writes any of them.
struct Hot {
    ip: *const CodeUnit,
    sp: *mut u64,
    code: *const CodeUnit,
    mem_base: *mut u8,
    mem_len: usize,
    globals: *mut GlobalInst,
    globals_len: usize,
    inst_globals: *const u32,
    inst_globals_len: usize,
    /// For `call_indirect`: the store's tables and functions, the instance's table and type
    /// index spaces, and the instance's store address.
    tables: *const crate::store::Table,
    tables_len: usize,
    funcs: *const FuncInst,
    funcs_len: usize,
    inst_tables: *const u32,
    inst_tables_len: usize,
    inst_types: *const u32,
    inst_types_len: usize,
    inst_id: u32,
    /// For debug assertions: the code's length and the slots from `sp`.
    code_len: usize,
    frame_len: usize,
    /// The executing function (a store address) and its frame's first slot.
    cur: u32,
    base: usize,
    /// For calls and returns inside the instance: the value stack, the suspended callers, the
    /// store's functions, the instance's function index space, and which of its functions are
    /// verified.
    stack: *mut u64,
    stack_len: usize,
    frames: *mut Vec<Frame>,
    /// The instance's defined functions (`Instance::entries`, `verified`, `first_func` and
    /// `num_imported_funcs`).
    entries: *const crate::store::WasmEntry,
    verified: *const std::cell::Cell<bool>,
    defined: usize,
    first_func: u32,
    num_imported: u32,
    /// Set by `hot` when it stops at a trap (`run_inner` clears it).
    fault: Option<Fault>,
    /// Set by `hot` when it leaves a call to `run_inner`: the call's instruction, which `ip`
    /// (at the call's part of a pair) may not name (`run_inner` clears it).
    cold_op: Option<Op>,
    #[cfg(feature = "op-stats")]
    prev_word: u32,
}

/// The memory of one run's [`Hot`].
///
/// In a single-threaded Wasm build it is one static, so that `hot` (and `enter` and `back`,
/// inlined into it) find the registers at a constant address: LLVM propagates the one pointer
/// `run_inner` passes into `hot`, and no host register holds it. That leaves the host's five
/// callee-saved registers to the instruction pointer, the frame, the code, the memory base and
/// the instance context, and nothing of the loop is moved to and from the host's stack.
/// (With a pointer, one of them was spilled and most handlers loaded or stored it.)
///
/// A run inside a run (a host function that runs another store) finds the static claimed; it
/// saves what is there and puts it back when it ends, so each run sees only its own contents.
/// Elsewhere (natively, or with threads) each run has its own, inside the claim.
struct HotHome {
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    saved: Option<Box<std::mem::MaybeUninit<Hot>>>,
    #[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
    own: Box<std::mem::MaybeUninit<Hot>>,
}

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
struct HotStatic {
    busy: std::cell::Cell<bool>,
    hot: std::cell::UnsafeCell<std::mem::MaybeUninit<Hot>>,
}

// SAFETY: without the atomics feature a Wasm module runs on one thread.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl Sync for HotStatic {}

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
static HOT: HotStatic = HotStatic {
    busy: std::cell::Cell::new(false),
    hot: std::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()),
};

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
impl HotHome {
    fn claim() -> HotHome {
        // SAFETY: one thread; the outer run reads `HOT.hot` only through its raw pointer, and
        // not while this one lives.
        let saved = HOT
            .busy
            .replace(true)
            .then(|| Box::new(unsafe { std::ptr::read(HOT.hot.get()) }));
        HotHome { saved }
    }

    fn hot(&mut self) -> *mut Hot {
        HOT.hot.get().cast()
    }
}

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
impl Drop for HotHome {
    fn drop(&mut self) {
        match self.saved.take() {
            // SAFETY: as in `claim`.
            Some(saved) => unsafe { HOT.hot.get().write(*saved) },
            None => HOT.busy.set(false),
        }
    }
}

#[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
impl HotHome {
    fn claim() -> HotHome {
        HotHome {
            own: Box::new(std::mem::MaybeUninit::uninit()),
        }
    }

    fn hot(&mut self) -> *mut Hot {
        self.own.as_mut_ptr()
    }
}

/// Runs instructions from `ip` until one it leaves to [`run_inner`] (calls, returns, memory and
/// table management: `ip` at it, and [`Hot::cold_op`] set for a call or return) or a trap (`ip`
/// at the trapping instruction, [`Hot::fault`] set).
///
/// Everything it runs is arithmetic on the frame, memory access and jumps, with no calls: so
/// that in a Wasm build the host compiler keeps `ip`, `sp` and the memory in registers instead
/// of spilling them around the calls of the rare instructions. State it does not need in
/// registers is read through `h` (a raw pointer, so that those reads are not hoisted into
/// registers either).
///
/// # Safety
/// `h` is valid and `Hot`'s invariant holds.
#[inline(never)]
// Each handler states its arithmetic as a closure that the handler macros call in place.
#[allow(clippy::redundant_closure_call)]
unsafe fn hot(h: *mut Hot) {
    // SAFETY: the caller's guarantee.
    let (mut ip, mut sp, mut code) = unsafe { ((*h).ip, (*h).sp, (*h).code) };
    // In a Wasm build the memory is read through `h` at each access, not kept in locals: as
    // locals, LLVM derives `len - 8`, `len - 4`, ... for the bounds checks and keeps them all
    // live through the loop, which costs the host registers for `ip` and `sp`. Natively there
    // are registers enough, and locals are faster (docs/performance.md has the measurements).
    #[cfg(not(target_family = "wasm"))]
    let (mem_base, mem_len) = unsafe { ((*h).mem_base, (*h).mem_len) };
    macro_rules! mem_len {
        () => {{
            #[cfg(target_family = "wasm")]
            // SAFETY: `Hot`'s invariant.
            let len = unsafe { (*h).mem_len };
            #[cfg(not(target_family = "wasm"))]
            let len = mem_len;
            len
        }};
    }
    macro_rules! mem_base {
        () => {{
            // (Used only inside the accesses' own `unsafe` blocks.)
            #[cfg(target_family = "wasm")]
            let base = (*h).mem_base;
            #[cfg(not(target_family = "wasm"))]
            let base = mem_base;
            base
        }};
    }
    // Only debug assertions read these (calls and returns update them there).
    #[cfg_attr(not(debug_assertions), allow(unused_mut))]
    let (mut code_len, mut frame_len) = unsafe { ((*h).code_len, (*h).frame_len) };
    macro_rules! pc_now {
        () => {
            (ip as usize - code as usize) / size_of::<CodeUnit>()
        };
    }
    // The one-unit operand at `$i` (a slot).
    macro_rules! w {
        ($i:expr) => {{
            debug_assert!(pc_now!() + $i < code_len);
            unsafe { *ip.add($i) }.to_native() as u32
        }};
    }
    // The two-unit operand at `$i` (an immediate, target or index), low half first.
    macro_rules! w32 {
        ($i:expr) => {{
            debug_assert!(pc_now!() + $i + 1 < code_len);
            // SAFETY: as for `w!`; the read is unaligned because units are 2-aligned.
            u32::from_le(unsafe { ip.add($i).cast::<u32>().read_unaligned() })
        }};
    }
    // Moves `ip` on by `n` units, to the next instruction.
    macro_rules! adv {
        ($n:expr) => {
            // SAFETY: the verifier proved that every straight-line instruction ends inside the
            // code (or at its end), so `ip + n` stays in the code slice.
            ip = unsafe { ip.add($n) }
        };
    }
    // Inside a pair: back one unit, from the end of the first part, so that the second
    // part's operands start at `ip + 1`.
    macro_rules! then {
        () => {
            // SAFETY: the first part has at least two units, so `ip - 1` is inside it.
            ip = unsafe { ip.sub(1) }
        };
    }
    // Moves `ip` to the instruction at unit `target` of this function's code.
    macro_rules! goto {
        ($target:expr) => {{
            let target: usize = $target;
            // SAFETY: the verifier proved that every target is an instruction start in
            // the code.
            ip = unsafe { code.add(target) }
        }};
    }
    macro_rules! s {
        ($i:expr) => {
            *{
                let slot = w!($i) as usize;
                debug_assert!(slot < frame_len);
                unsafe { &mut *sp.add(slot) }
            }
        };
    }
    // Hands the registers back to `run_inner` and returns.
    macro_rules! leave {
        () => {{
            // (The code's length is not handed back: `run_inner` finds it from `cur`, so that
            // in release builds it is not a live value here.)
            unsafe {
                (*h).ip = ip;
                (*h).sp = sp;
                (*h).code = code;
            }
            return;
        }};
    }
    // Stops at the current instruction with a trap.
    macro_rules! trap {
        ($kind:expr) => {{
            // SAFETY: `Hot`'s invariant.
            unsafe { (*h).fault = Some($kind) };
            leave!()
        }};
    }
    // Global `$g` of the instance's index space.
    macro_rules! global {
        ($g:expr) => {
            (*{
                // SAFETY: `Hot`'s invariant: the store's globals and the instance's global
                // index space, which nothing else touches while `hot` runs.
                let (globals, index) = unsafe {
                    (
                        std::slice::from_raw_parts_mut((*h).globals, (*h).globals_len),
                        std::slice::from_raw_parts((*h).inst_globals, (*h).inst_globals_len),
                    )
                };
                &mut globals[index[$g as usize] as usize]
            })
            .value
        };
    }
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(kind) => trap!(kind),
            }
        };
    }
    macro_rules! un {
        ($t:ty, $conv:expr, $f:expr) => {{
            let a = $conv(s!(2));
            let f: fn($t) -> u64 = $f;
            s!(1) = f(a);
            adv!(3);
        }};
    }
    macro_rules! bin {
        ($t:ty, $conv:expr, $f:expr) => {{
            let a = $conv(s!(2));
            let b = $conv(s!(3));
            let f: fn($t, $t) -> u64 = $f;
            s!(1) = f(a, b);
            adv!(4);
        }};
    }
    macro_rules! bin_trap {
        ($t:ty, $conv:expr, $f:expr) => {{
            let a = $conv(s!(2));
            let b = $conv(s!(3));
            let f: fn($t, $t) -> Result<u64, Fault> = $f;
            s!(1) = tri!(f(a, b));
            adv!(4);
        }};
    }
    macro_rules! un_trap {
        ($t:ty, $conv:expr, $f:expr) => {{
            let a = $conv(s!(2));
            let f: fn($t) -> Result<u64, Fault> = $f;
            s!(1) = tri!(f(a));
            adv!(3);
        }};
    }
    macro_rules! imm32 {
        ($f:expr) => {{
            let a = s!(2) as u32;
            let y = w32!(3);
            let f: fn(u32, u32) -> u64 = $f;
            s!(1) = f(a, y);
            adv!(5);
        }};
    }
    macro_rules! imm64 {
        ($f:expr) => {{
            let a = s!(2);
            let y = w32!(3) as i32 as i64 as u64;
            let f: fn(u64, u64) -> u64 = $f;
            s!(1) = f(a, y);
            adv!(5);
        }};
    }
    // Compare two slots as `$t` (u32 or u64) and branch.
    macro_rules! br_cmp {
        ($t:ty, $f:expr) => {{
            let a = s!(1) as $t;
            let b = s!(2) as $t;
            let f: fn($t, $t) -> bool = $f;
            if f(a, b) {
                goto!(w32!(3) as usize)
            } else {
                adv!(5)
            }
        }};
    }
    macro_rules! br_cmp_imm {
        ($f:expr) => {{
            let a = s!(1) as u32;
            let b = w32!(2);
            let f: fn(u32, u32) -> bool = $f;
            if f(a, b) {
                goto!(w32!(4) as usize)
            } else {
                adv!(6)
            }
        }};
    }
    // Loads `$n` bytes at `$addr + offset` (the operand at unit `$offset`) into slot 1, converted
    // by `$conv`, and moves on `$len` units: the body of every load form.
    macro_rules! load_at {
        ($n:literal, $conv:expr, $addr:expr, $offset:literal, $len:literal) => {{
            let at = tri!(effective($addr, w32!($offset), mem_len!(), $n));
            // SAFETY: `effective` proved `at + $n <= mem_len`, and `mem_base` points to
            // `mem_len` bytes of memory 0 (see `refresh_mem!`).
            let raw: [u8; $n] = unsafe { mem_base!().add(at).cast::<[u8; $n]>().read_unaligned() };
            let f: fn([u8; $n]) -> u64 = $conv;
            s!(1) = f(raw);
            adv!($len);
        }};
    }
    macro_rules! load {
        ($n:literal, $conv:expr) => {
            load_at!($n, $conv, s!(2), 3, 5)
        };
    }
    macro_rules! load_add {
        ($n:literal, $conv:expr) => {
            load_at!(
                $n,
                $conv,
                (s!(2) as u32).wrapping_add(s!(3) as u32) as u64,
                4,
                6
            )
        };
    }
    macro_rules! load_shl {
        ($n:literal, $conv:expr) => {
            load_at!(
                $n,
                $conv,
                {
                    let index = (s!(3) as u32).wrapping_shl(w32!(4));
                    (s!(2) as u32).wrapping_add(index) as u64
                },
                6,
                8
            )
        };
    }
    macro_rules! store {
        ($n:literal) => {{
            let value = s!(2).to_le_bytes();
            let at = tri!(effective(s!(1), w32!(3), mem_len!(), $n));
            // SAFETY: as in `load!`.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), mem_base!().add(at), $n) };
            adv!(5);
        }};
    }
    // Takes up the registers `enter` or `back` left in `h`: those of the function called or
    // returned to.
    macro_rules! resume {
        () => {{
            // SAFETY: `Hot`'s invariant, which `enter` and `back` keep.
            (ip, sp, code) = unsafe { ((*h).ip, (*h).sp, (*h).code) };
            #[cfg(debug_assertions)]
            {
                (code_len, frame_len) = unsafe { ((*h).code_len, (*h).frame_len) };
            }
        }};
    }
    // Leaves for `run_inner` to run `$op` at `ip` (a call or return that `hot` does not make
    // itself, perhaps the last part of a pair, where `ip` is not at an opcode).
    macro_rules! cold_call {
        ($op:expr) => {{
            // SAFETY: `Hot`'s invariant.
            unsafe { (*h).cold_op = Some($op) };
            leave!()
        }};
    }
    // The handlers of the instructions that are part of a pair, written once: each one's own
    // arm and the pair arms (`pair!`) expand the same code.
    macro_rules! op {
        (BrI64GeS) => {{
            br_cmp!(u64, |x, y| (x as i64) >= (y as i64))
        }};
        (Br) => {{
            goto!(w32!(1) as usize)
        }};
        (I32Shl) => {{
            bin!(u32, i32v, |x, y| x.wrapping_shl(y) as u64)
        }};
        (I32Load8S) => {{
            load!(1, |r| r[0] as i8 as i32 as u32 as u64)
        }};
        (I32Store16) => {{
            store!(2)
        }};
        (I32Extend8S) => {{
            un!(u32, i32v, |a| a as i8 as i32 as u32 as u64)
        }};
        (I32And) => {{
            bin!(u32, i32v, |x, y| (x & y) as u64)
        }};
        (I32Load16U) => {{
            load!(2, |r| u16::from_le_bytes(r) as u64)
        }};
        // A direct call of a verified function of this instance whose frame fits the stack as
        // it is, with room for the caller's frame: entered here (`enter`). Anything else
        // (other instances, host functions, first calls, growing the stacks) goes to
        // `run_inner`.
        (Call) => {{
            // SAFETY: `Hot`'s invariant holds; `ip` is at this call.
            unsafe { (*h).ip = ip };
            let (func, arg_base) = (w32!(1), w!(3) as usize);
            if !unsafe { enter(h, func, arg_base) } {
                cold_call!(Op::Call)
            }
            resume!();
        }};
        // The same for an indirect call that finds such a function of the right type in the
        // table (`enter_indirect`); traps and the rest go to `run_inner`.
        (CallIndirect) => {{
            // SAFETY: as for calls.
            unsafe { (*h).ip = ip };
            let (ty, table, index, arg_base) = (w32!(1), w32!(3), s!(5) as u32, w!(6) as usize);
            if !unsafe { enter_indirect(h, ty, table, index, arg_base) } {
                cold_call!(Op::CallIndirect)
            }
            resume!();
        }};
        // A return into a caller of this instance: done here (`back`); the last return, and
        // returns into other instances, go to `run_inner`.
        (Return) => {{
            // SAFETY: as for calls.
            let (src, count) = (w!(1) as usize, w32!(2) as usize);
            if !unsafe { back(h, sp, src, count) } {
                cold_call!(Op::Return)
            }
            resume!();
        }};
        (I64ExtendI32SI64Add) => {{
            pair!(I64ExtendI32S, I64Add)
        }};
        (Copy) => {{
            s!(1) = s!(2);
            adv!(3);
        }};
        (BrIfNez) => {{
            if s!(1) as u32 != 0 {
                goto!(w32!(2) as usize)
            } else {
                adv!(4)
            }
        }};
        (BrI32Ne) => {{
            br_cmp!(u32, |x, y| x != y)
        }};
        (BrI32LeU) => {{
            br_cmp!(u32, |x, y| x <= y)
        }};
        (I32Load) => {{
            load!(4, |r| u32::from_le_bytes(r) as u64)
        }};
        (I32Load8U) => {{
            load!(1, |r| r[0] as u64)
        }};
        (I64Load) => {{
            load!(8, u64::from_le_bytes)
        }};
        (I32Store) => {{
            store!(4)
        }};
        (I32Store8) => {{
            store!(1)
        }};
        (I32Add) => {{
            bin!(u32, i32v, |x, y| x.wrapping_add(y) as u64)
        }};
        (I32AddImm) => {{
            imm32!(|x, y| x.wrapping_add(y) as u64)
        }};
        (I32AddShlImm) => {{
            let a = s!(2) as u32;
            let b = s!(3) as u32;
            s!(1) = a.wrapping_add(b.wrapping_shl(w32!(4))) as u64;
            adv!(6);
        }};
        (I32ShrUImm) => {{
            imm32!(|x, y| x.wrapping_shr(y) as u64)
        }};
        (I32Xor) => {{
            bin!(u32, i32v, |x, y| (x ^ y) as u64)
        }};
        (I64ShrUImm) => {{
            imm64!(|x, y| x.wrapping_shr(y as u32))
        }};
        (I64Xor) => {{
            bin!(u64, u64::from, |x, y| x ^ y)
        }};
        (F64ConvertI32U) => {{
            un!(u32, i32v, |a| (a as f64).to_bits())
        }};
        (F64Div) => {{
            bin!(f64, f64v, |x, y| (x / y).to_bits())
        }};
        (GlobalSet) => {{
            global!(w32!(1)) = s!(3);
            adv!(4);
        }};
        (BrTable) => {{
            let index = s!(1) as u32 as usize;
            let n = w32!(2) as usize;
            let i = index.min(n - 1);
            goto!(w32!(4 + 2 * i) as usize);
        }};
        (I32AndImm) => {{
            imm32!(|x, y| (x & y) as u64)
        }};
        (BrIfEqz) => {{
            if s!(1) as u32 == 0 {
                goto!(w32!(2) as usize)
            } else {
                adv!(4)
            }
        }};
        (BrI32NeImm) => {{
            br_cmp_imm!(|x, y| x != y)
        }};
        (BrI32EqImm) => {{
            br_cmp_imm!(|x, y| x == y)
        }};
        (I32MulImm) => {{
            imm32!(|x, y| x.wrapping_mul(y) as u64)
        }};
        (I32Load8UAdd) => {{
            load_add!(1, |r| r[0] as u64)
        }};
        (I32ShrUAndImm) => {{
            let a = s!(2) as u32;
            s!(1) = (a.wrapping_shr(w32!(3)) & w32!(5)) as u64;
            adv!(7);
        }};
        (I64Store) => {{
            store!(8)
        }};
        (I32LoadShl) => {{
            load_shl!(4, |r| u32::from_le_bytes(r) as u64)
        }};
        (BrI32GeU) => {{
            br_cmp!(u32, |x, y| x >= y)
        }};
        (F64MulAdd) => {{
            let (a, x, y) = (f64v(s!(2)), f64v(s!(3)), f64v(s!(4)));
            let product = x * y;
            s!(1) = (a + product).to_bits();
            adv!(5);
        }};
        (F64Mul) => {{
            bin!(f64, f64v, |x, y| (x * y).to_bits())
        }};
        (I32LtU) => {{
            bin!(u32, i32v, |x, y| b(x < y))
        }};
        (I64ExtendI32S) => {{
            un!(u32, i32v, |a| a as i32 as i64 as u64)
        }};
        (I64Add) => {{
            bin!(u64, u64::from, |x, y| x.wrapping_add(y))
        }};
        (Select) => {{
            let v = if s!(4) as u32 != 0 { s!(2) } else { s!(3) };
            s!(1) = v;
            adv!(5);
        }};
        (I32XorImm) => {{
            imm32!(|x, y| (x ^ y) as u64)
        }};
        (I32ShlImm) => {{
            imm32!(|x, y| x.wrapping_shl(y) as u64)
        }};
        (CopyI32Load) => {{
            pair!(Copy, I32Load)
        }};
        (I32AndImmI32ShlImm) => {{
            pair!(I32AndImm, I32ShlImm)
        }};
        (I32AddImmI32Load) => {{
            pair!(I32AddImm, I32Load)
        }};
        (I32AddImmBrTable) => {{
            pair!(I32AddImm, BrTable)
        }};
        (I32ShrUImmI32Xor) => {{
            pair!(I32ShrUImm, I32Xor)
        }};
        (Const32) => {{
            s!(1) = w32!(2) as u64;
            adv!(4);
        }};
        (BrI32LtSImm) => {{
            br_cmp_imm!(|x, y| (x as i32) < (y as i32))
        }};
        (BrI32GtUImm) => {{
            br_cmp_imm!(|x, y| x > y)
        }};
        (BrI32LtU) => {{
            br_cmp!(u32, |x, y| x < y)
        }};
        (I64AddImm) => {{
            imm64!(|x, y| x.wrapping_add(y))
        }};
        (BrI64Ne) => {{
            br_cmp!(u64, |x, y| x != y)
        }};
        (I64RotlImm) => {{
            imm64!(|x, y| x.rotate_left((y & 63) as u32))
        }};
        (I64MulImm) => {{
            imm64!(|x, y| x.wrapping_mul(y))
        }};
        (I64LoadF64Add) => {{
            pair!(I64Load, F64Add)
        }};
        (I32Load16S) => {{
            load!(2, |r| i16::from_le_bytes(r) as i32 as u32 as u64)
        }};
        (I32Mul) => {{
            bin!(u32, i32v, |x, y| x.wrapping_mul(y) as u64)
        }};
        (BrI32GeUImm) => {{
            br_cmp_imm!(|x, y| x >= y)
        }};
        (F64MulF64MulF64Sub) => {{
            pair!(F64MulF64Mul, F64Sub)
        }};
        (I32AddImmI64Load) => {{
            pair!(I32AddImm, I64Load)
        }};
        (I64LoadF64MulAdd) => {{
            pair!(I64Load, F64MulAdd)
        }};
        (I32LoadI32Store) => {{
            pair!(I32Load, I32Store)
        }};
        (I64MulImmI64AddImm) => {{
            pair!(I64MulImm, I64AddImm)
        }};
        (I32AndImmSelect) => {{
            pair!(I32AndImm, Select)
        }};
        (I32AddImmBrI32Ne) => {{
            pair!(I32AddImm, BrI32Ne)
        }};
        // Pairs and sequences that are parts of sequences: each composition is stated here
        // once, for its own arm and the arms of the sequences it is part of.
        (I32AddImm2) => {{
            pair!(I32AddImm, I32AddImm)
        }};
        (F64ConvertI32UF64Div) => {{
            pair!(F64ConvertI32U, F64Div)
        }};
        (I32AddI32Store8) => {{
            pair!(I32Add, I32Store8)
        }};
        (I32AddBrI32LeU) => {{
            pair!(I32Add, BrI32LeU)
        }};
        (I32LtUI32Add) => {{
            pair!(I32LtU, I32Add)
        }};
        (I32XorI32AndImm) => {{
            pair!(I32Xor, I32AndImm)
        }};
        (I64ShrUImmI64Xor) => {{
            pair!(I64ShrUImm, I64Xor)
        }};
        (I32AddI32AddImm) => {{
            pair!(I32Add, I32AddImm)
        }};
        (I64LoadI64Load) => {{
            pair!(I64Load, I64Load)
        }};
        (I32AddShlImmI32Load) => {{
            pair!(I32AddShlImm, I32Load)
        }};
        (CopyI32AddImm) => {{
            pair!(Copy, I32AddImm)
        }};
        (F64MulF64Mul) => {{
            pair!(F64Mul, F64Mul)
        }};
        (I32StoreCopy) => {{
            pair!(I32Store, Copy)
        }};
        (CopyI32AddShlImm) => {{
            pair!(Copy, I32AddShlImm)
        }};
        (Copy2) => {{
            pair!(Copy, Copy)
        }};
        (I32AddImmCopy) => {{
            pair!(I32AddImm, Copy)
        }};
        (I32LoadCopy) => {{
            pair!(I32Load, Copy)
        }};
        (I32LoadI32Add) => {{
            pair!(I32Load, I32Add)
        }};
        (I32AddImmI32Load8U) => {{
            pair!(I32AddImm, I32Load8U)
        }};
        (I64Mul) => {{
            bin!(u64, u64::from, |x, y| x.wrapping_mul(y))
        }};
        (F64Sub) => {{
            bin!(f64, f64v, |x, y| (x - y).to_bits())
        }};
        (F64Add) => {{
            bin!(f64, f64v, |x, y| (x + y).to_bits())
        }};
    }
    // A pair (`chiwawa_format::PAIRS`): the first instruction's handler, then `ip` steps
    // back one word so that the second's operands sit where its own handler reads them;
    // that handler then moves `ip` past the pair (or jumps).
    macro_rules! pair {
        ($first:ident, $second:ident) => {{
            op!($first);
            then!();
            op!($second);
        }};
    }

    // Debug builds check each handler's advance against the ISA table: a straight-line
    // instruction must end exactly where the next one starts.
    #[cfg(debug_assertions)]
    let mut expected: Option<(*const CodeUnit, Op)> = None;
    loop {
        #[cfg(debug_assertions)]
        if let Some((next, prev)) = expected.take() {
            assert!(ip == next, "{} moved ip to the wrong unit", prev.name());
        }
        // SAFETY: the verifier decoded every instruction start with `Op::from_word`, and
        // control only reaches instruction starts.
        let word = w!(0);
        #[cfg(feature = "op-stats")]
        unsafe {
            crate::opstats::record((*h).prev_word, word, (*h).cur);
            (*h).prev_word = word;
        }
        let op = unsafe { Op::from_word_unchecked(word) };
        #[cfg(debug_assertions)]
        {
            expected = straight_len(op).map(|n| (ip.wrapping_add(n), op));
        }
        match op {
            Op::Unreachable => {
                // SAFETY: `Hot`'s invariant.
                unsafe { raise_unreachable(h) };
                leave!()
            }
            Op::Br => op!(Br),
            Op::BrIfNez => op!(BrIfNez),
            Op::BrIfEqz => op!(BrIfEqz),
            Op::BrTable => op!(BrTable),
            Op::Select => op!(Select),
            Op::Copy => op!(Copy),
            Op::Const32 => op!(Const32),
            Op::Const64 => {
                s!(1) = w32!(2) as u64 | ((w32!(4) as u64) << 32);
                adv!(6);
            }
            Op::GlobalGet => {
                s!(1) = global!(w32!(2));
                adv!(4);
            }
            Op::GlobalSet => op!(GlobalSet),
            Op::I32Load => op!(I32Load),
            Op::I64Load => op!(I64Load),
            Op::I32Load8S => op!(I32Load8S),
            Op::I32Load8U => op!(I32Load8U),
            Op::I32Load16S => op!(I32Load16S),
            Op::I32Load16U => op!(I32Load16U),
            Op::I64Load8S => load!(1, |r| r[0] as i8 as i64 as u64),
            Op::I64Load8U => load!(1, |r| r[0] as u64),
            Op::I64Load16S => load!(2, |r| i16::from_le_bytes(r) as i64 as u64),
            Op::I64Load16U => load!(2, |r| u16::from_le_bytes(r) as u64),
            Op::I64Load32S => load!(4, |r| i32::from_le_bytes(r) as i64 as u64),
            Op::I64Load32U => load!(4, |r| u32::from_le_bytes(r) as u64),
            Op::I32Store => op!(I32Store),
            Op::I64Store => op!(I64Store),
            Op::I32Store8 => op!(I32Store8),
            Op::I32Store16 => op!(I32Store16),
            Op::I64Store32 => store!(4),
            Op::I32Eqz => un!(u32, i32v, |a| b(a == 0)),
            Op::I32Eq => bin!(u32, i32v, |x, y| b(x == y)),
            Op::I32Ne => bin!(u32, i32v, |x, y| b(x != y)),
            Op::I32LtS => bin!(u32, i32v, |x, y| b((x as i32) < (y as i32))),
            Op::I32LtU => op!(I32LtU),
            Op::I32GtS => bin!(u32, i32v, |x, y| b((x as i32) > (y as i32))),
            Op::I32GtU => bin!(u32, i32v, |x, y| b(x > y)),
            Op::I32LeS => bin!(u32, i32v, |x, y| b((x as i32) <= (y as i32))),
            Op::I32LeU => bin!(u32, i32v, |x, y| b(x <= y)),
            Op::I32GeS => bin!(u32, i32v, |x, y| b((x as i32) >= (y as i32))),
            Op::I32GeU => bin!(u32, i32v, |x, y| b(x >= y)),
            Op::I32Clz => un!(u32, i32v, |a| a.leading_zeros() as u64),
            Op::I32Ctz => un!(u32, i32v, |a| a.trailing_zeros() as u64),
            Op::I32Popcnt => un!(u32, i32v, |a| a.count_ones() as u64),
            Op::I32Add => op!(I32Add),
            Op::I32Sub => bin!(u32, i32v, |x, y| x.wrapping_sub(y) as u64),
            Op::I32Mul => op!(I32Mul),
            Op::I32DivS => bin_trap!(u32, i32v, |x, y| {
                let (x, y) = (x as i32, y as i32);
                if y == 0 {
                    Err(Fault::IntegerDivideByZero)
                } else if x == i32::MIN && y == -1 {
                    Err(Fault::IntegerOverflow)
                } else {
                    Ok((x / y) as u32 as u64)
                }
            }),
            Op::I32DivU => bin_trap!(u32, i32v, |x, y| {
                x.checked_div(y)
                    .map(|v| v as u64)
                    .ok_or(Fault::IntegerDivideByZero)
            }),
            Op::I32RemS => bin_trap!(u32, i32v, |x, y| {
                if y == 0 {
                    Err(Fault::IntegerDivideByZero)
                } else {
                    Ok((x as i32).wrapping_rem(y as i32) as u32 as u64)
                }
            }),
            Op::I32RemU => bin_trap!(u32, i32v, |x, y| {
                x.checked_rem(y)
                    .map(|v| v as u64)
                    .ok_or(Fault::IntegerDivideByZero)
            }),
            Op::I32And => op!(I32And),
            Op::I32Or => bin!(u32, i32v, |x, y| (x | y) as u64),
            Op::I32Xor => op!(I32Xor),
            Op::I32Shl => op!(I32Shl),
            Op::I32ShrS => bin!(u32, i32v, |x, y| (x as i32).wrapping_shr(y) as u32 as u64),
            Op::I32ShrU => bin!(u32, i32v, |x, y| x.wrapping_shr(y) as u64),
            Op::I32Rotl => bin!(u32, i32v, |x, y| x.rotate_left(y) as u64),
            Op::I32Rotr => bin!(u32, i32v, |x, y| x.rotate_right(y) as u64),
            // i64
            Op::I64Eqz => un!(u64, u64::from, |a| b(a == 0)),
            Op::I64Eq => bin!(u64, u64::from, |x, y| b(x == y)),
            Op::I64Ne => bin!(u64, u64::from, |x, y| b(x != y)),
            Op::I64LtS => bin!(u64, u64::from, |x, y| b((x as i64) < (y as i64))),
            Op::I64LtU => bin!(u64, u64::from, |x, y| b(x < y)),
            Op::I64GtS => bin!(u64, u64::from, |x, y| b((x as i64) > (y as i64))),
            Op::I64GtU => bin!(u64, u64::from, |x, y| b(x > y)),
            Op::I64LeS => bin!(u64, u64::from, |x, y| b((x as i64) <= (y as i64))),
            Op::I64LeU => bin!(u64, u64::from, |x, y| b(x <= y)),
            Op::I64GeS => bin!(u64, u64::from, |x, y| b((x as i64) >= (y as i64))),
            Op::I64GeU => bin!(u64, u64::from, |x, y| b(x >= y)),
            Op::I64Clz => un!(u64, u64::from, |a| a.leading_zeros() as u64),
            Op::I64Ctz => un!(u64, u64::from, |a| a.trailing_zeros() as u64),
            Op::I64Popcnt => un!(u64, u64::from, |a| a.count_ones() as u64),
            Op::I64Add => op!(I64Add),
            Op::I64Sub => bin!(u64, u64::from, |x, y| x.wrapping_sub(y)),
            Op::I64Mul => op!(I64Mul),
            Op::I64DivS => bin_trap!(u64, u64::from, |x, y| {
                let (x, y) = (x as i64, y as i64);
                if y == 0 {
                    Err(Fault::IntegerDivideByZero)
                } else if x == i64::MIN && y == -1 {
                    Err(Fault::IntegerOverflow)
                } else {
                    Ok((x / y) as u64)
                }
            }),
            Op::I64DivU => bin_trap!(u64, u64::from, |x, y| {
                x.checked_div(y).ok_or(Fault::IntegerDivideByZero)
            }),
            Op::I64RemS => bin_trap!(u64, u64::from, |x, y| {
                if y == 0 {
                    Err(Fault::IntegerDivideByZero)
                } else {
                    Ok((x as i64).wrapping_rem(y as i64) as u64)
                }
            }),
            Op::I64RemU => bin_trap!(u64, u64::from, |x, y| {
                x.checked_rem(y).ok_or(Fault::IntegerDivideByZero)
            }),
            Op::I64And => bin!(u64, u64::from, |x, y| x & y),
            Op::I64Or => bin!(u64, u64::from, |x, y| x | y),
            Op::I64Xor => op!(I64Xor),
            Op::I64Shl => bin!(u64, u64::from, |x, y| x.wrapping_shl(y as u32)),
            Op::I64ShrS => bin!(u64, u64::from, |x, y| (x as i64).wrapping_shr(y as u32)
                as u64),
            Op::I64ShrU => bin!(u64, u64::from, |x, y| x.wrapping_shr(y as u32)),
            Op::I64Rotl => bin!(u64, u64::from, |x, y| x.rotate_left((y & 63) as u32)),
            Op::I64Rotr => bin!(u64, u64::from, |x, y| x.rotate_right((y & 63) as u32)),
            // f32
            Op::F32Eq => bin!(f32, f32v, |x, y| b(x == y)),
            Op::F32Ne => bin!(f32, f32v, |x, y| b(x != y)),
            Op::F32Lt => bin!(f32, f32v, |x, y| b(x < y)),
            Op::F32Gt => bin!(f32, f32v, |x, y| b(x > y)),
            Op::F32Le => bin!(f32, f32v, |x, y| b(x <= y)),
            Op::F32Ge => bin!(f32, f32v, |x, y| b(x >= y)),
            Op::F32Abs => un!(u32, i32v, |a| (a & 0x7fff_ffff) as u64),
            Op::F32Neg => un!(u32, i32v, |a| (a ^ 0x8000_0000) as u64),
            Op::F32Ceil => un!(f32, f32v, |a| quiet32(a.ceil())),
            Op::F32Floor => un!(f32, f32v, |a| quiet32(a.floor())),
            Op::F32Trunc => un!(f32, f32v, |a| quiet32(a.trunc())),
            Op::F32Nearest => un!(f32, f32v, |a| quiet32(a.round_ties_even())),
            Op::F32Sqrt => un!(f32, f32v, |a| a.sqrt().to_bits() as u64),
            Op::F32Add => bin!(f32, f32v, |x, y| (x + y).to_bits() as u64),
            Op::F32Sub => bin!(f32, f32v, |x, y| (x - y).to_bits() as u64),
            Op::F32Mul => bin!(f32, f32v, |x, y| (x * y).to_bits() as u64),
            Op::F32Div => bin!(f32, f32v, |x, y| (x / y).to_bits() as u64),
            Op::F32Min => bin!(f32, f32v, |x, y| f32_min(x, y).to_bits() as u64),
            Op::F32Max => bin!(f32, f32v, |x, y| f32_max(x, y).to_bits() as u64),
            Op::F32Copysign => {
                bin!(u32, i32v, |x, y| ((x & 0x7fff_ffff) | (y & 0x8000_0000))
                    as u64)
            }
            // f64
            Op::F64Eq => bin!(f64, f64v, |x, y| b(x == y)),
            Op::F64Ne => bin!(f64, f64v, |x, y| b(x != y)),
            Op::F64Lt => bin!(f64, f64v, |x, y| b(x < y)),
            Op::F64Gt => bin!(f64, f64v, |x, y| b(x > y)),
            Op::F64Le => bin!(f64, f64v, |x, y| b(x <= y)),
            Op::F64Ge => bin!(f64, f64v, |x, y| b(x >= y)),
            Op::F64Abs => un!(u64, u64::from, |a| a & 0x7fff_ffff_ffff_ffff),
            Op::F64Neg => un!(u64, u64::from, |a| a ^ 0x8000_0000_0000_0000),
            Op::F64Ceil => un!(f64, f64v, |a| quiet64(a.ceil())),
            Op::F64Floor => un!(f64, f64v, |a| quiet64(a.floor())),
            Op::F64Trunc => un!(f64, f64v, |a| quiet64(a.trunc())),
            Op::F64Nearest => un!(f64, f64v, |a| quiet64(a.round_ties_even())),
            Op::F64Sqrt => un!(f64, f64v, |a| a.sqrt().to_bits()),
            Op::F64Add => op!(F64Add),
            Op::F64Sub => op!(F64Sub),
            Op::F64Mul => op!(F64Mul),
            Op::F64Div => op!(F64Div),
            Op::F64Min => bin!(f64, f64v, |x, y| f64_min(x, y).to_bits()),
            Op::F64Max => bin!(f64, f64v, |x, y| f64_max(x, y).to_bits()),
            Op::F64Copysign => bin!(u64, u64::from, |x, y| {
                (x & 0x7fff_ffff_ffff_ffff) | (y & 0x8000_0000_0000_0000)
            }),
            // conversions
            Op::I32WrapI64 => un!(u64, u64::from, |a| a as u32 as u64),
            Op::I32TruncF32S => un_trap!(f32, f32v, |a| {
                trunc_check(a as f64, -2147483649.0, 2147483648.0).map(|x| x as i32 as u32 as u64)
            }),
            Op::I32TruncF32U => un_trap!(f32, f32v, |a| {
                trunc_check(a as f64, -1.0, 4294967296.0).map(|x| x as u32 as u64)
            }),
            Op::I32TruncF64S => un_trap!(f64, f64v, |a| {
                trunc_check(a, -2147483649.0, 2147483648.0).map(|x| x as i32 as u32 as u64)
            }),
            Op::I32TruncF64U => un_trap!(f64, f64v, |a| {
                trunc_check(a, -1.0, 4294967296.0).map(|x| x as u32 as u64)
            }),
            Op::I64ExtendI32S => op!(I64ExtendI32S),
            Op::I64ExtendI32U => un!(u32, i32v, |a| a as u64),
            Op::I64TruncF32S => un_trap!(f32, f32v, |a| {
                trunc_check(a as f64, -9223373136366403584.0, 9223372036854775808.0)
                    .map(|x| x as i64 as u64)
            }),
            Op::I64TruncF32U => un_trap!(f32, f32v, |a| {
                trunc_check(a as f64, -1.0, 18446744073709551616.0).map(|x| x as u64)
            }),
            Op::I64TruncF64S => un_trap!(f64, f64v, |a| {
                trunc_check(a, -9223372036854777856.0, 9223372036854775808.0)
                    .map(|x| x as i64 as u64)
            }),
            Op::I64TruncF64U => un_trap!(f64, f64v, |a| {
                trunc_check(a, -1.0, 18446744073709551616.0).map(|x| x as u64)
            }),
            Op::F32ConvertI32S => un!(u32, i32v, |a| (a as i32 as f32).to_bits() as u64),
            Op::F32ConvertI32U => un!(u32, i32v, |a| (a as f32).to_bits() as u64),
            Op::F32ConvertI64S => un!(u64, u64::from, |a| (a as i64 as f32).to_bits() as u64),
            Op::F32ConvertI64U => un!(u64, u64::from, |a| (a as f32).to_bits() as u64),
            Op::F32DemoteF64 => un!(f64, f64v, |a| (a as f32).to_bits() as u64),
            Op::F64ConvertI32S => un!(u32, i32v, |a| (a as i32 as f64).to_bits()),
            Op::F64ConvertI32U => op!(F64ConvertI32U),
            Op::F64ConvertI64S => un!(u64, u64::from, |a| (a as i64 as f64).to_bits()),
            Op::F64ConvertI64U => un!(u64, u64::from, |a| (a as f64).to_bits()),
            Op::F64PromoteF32 => un!(f32, f32v, |a| (a as f64).to_bits()),
            Op::I32Extend8S => op!(I32Extend8S),
            Op::I32Extend16S => un!(u32, i32v, |a| a as i16 as i32 as u32 as u64),
            Op::I64Extend8S => un!(u64, u64::from, |a| a as i8 as i64 as u64),
            Op::I64Extend16S => un!(u64, u64::from, |a| a as i16 as i64 as u64),
            Op::I64Extend32S => un!(u64, u64::from, |a| a as i32 as i64 as u64),
            Op::I32TruncSatF32S => un!(f32, f32v, |a| a as i32 as u32 as u64),
            Op::I32TruncSatF32U => un!(f32, f32v, |a| a as u32 as u64),
            Op::I32TruncSatF64S => un!(f64, f64v, |a| a as i32 as u32 as u64),
            Op::I32TruncSatF64U => un!(f64, f64v, |a| a as u32 as u64),
            Op::I64TruncSatF32S => un!(f32, f32v, |a| a as i64 as u64),
            Op::I64TruncSatF32U => un!(f32, f32v, |a| a as u64),
            Op::I64TruncSatF64S => un!(f64, f64v, |a| a as i64 as u64),
            Op::I64TruncSatF64U => un!(f64, f64v, |a| a as u64),
            // superinstructions
            Op::I32AddImm => op!(I32AddImm),
            Op::I32MulImm => op!(I32MulImm),
            Op::I32AndImm => op!(I32AndImm),
            Op::I32OrImm => imm32!(|x, y| (x | y) as u64),
            Op::I32XorImm => op!(I32XorImm),
            Op::I32ShlImm => op!(I32ShlImm),
            Op::I32ShrSImm => imm32!(|x, y| (x as i32).wrapping_shr(y) as u32 as u64),
            Op::I32ShrUImm => op!(I32ShrUImm),
            Op::I32EqImm => imm32!(|x, y| b(x == y)),
            Op::I32NeImm => imm32!(|x, y| b(x != y)),
            Op::I32LtSImm => imm32!(|x, y| b((x as i32) < (y as i32))),
            Op::I32LtUImm => imm32!(|x, y| b(x < y)),
            Op::I32GtSImm => imm32!(|x, y| b((x as i32) > (y as i32))),
            Op::I32GtUImm => imm32!(|x, y| b(x > y)),
            Op::I32LeSImm => imm32!(|x, y| b((x as i32) <= (y as i32))),
            Op::I32LeUImm => imm32!(|x, y| b(x <= y)),
            Op::I32GeSImm => imm32!(|x, y| b((x as i32) >= (y as i32))),
            Op::I32GeUImm => imm32!(|x, y| b(x >= y)),
            Op::I64AddImm => op!(I64AddImm),
            Op::I64AndImm => imm64!(|x, y| x & y),
            Op::I64ShlImm => imm64!(|x, y| x.wrapping_shl(y as u32)),
            Op::I64ShrUImm => op!(I64ShrUImm),
            Op::I64MulImm => op!(I64MulImm),
            Op::I64OrImm => imm64!(|x, y| x | y),
            Op::I64XorImm => imm64!(|x, y| x ^ y),
            Op::I64ShrSImm => imm64!(|x, y| (x as i64).wrapping_shr(y as u32) as u64),
            Op::I64RotlImm => op!(I64RotlImm),
            Op::I32RotlImm => imm32!(|x, y| x.rotate_left(y) as u64),
            Op::I32AddShlImm => op!(I32AddShlImm),
            Op::I32ShrUAndImm => op!(I32ShrUAndImm),
            Op::F64MulAdd => op!(F64MulAdd),
            Op::I32LoadShl => op!(I32LoadShl),
            Op::I64LoadShl => load_shl!(8, u64::from_le_bytes),
            Op::I32LoadAdd => load_add!(4, |r| u32::from_le_bytes(r) as u64),
            Op::I32Load8UAdd => op!(I32Load8UAdd),
            Op::I64LoadAdd => load_add!(8, u64::from_le_bytes),
            Op::BrI32Eq => br_cmp!(u32, |x, y| x == y),
            Op::BrI32Ne => op!(BrI32Ne),
            Op::BrI32LtS => br_cmp!(u32, |x, y| (x as i32) < (y as i32)),
            Op::BrI32LtU => op!(BrI32LtU),
            Op::BrI32GtS => br_cmp!(u32, |x, y| (x as i32) > (y as i32)),
            Op::BrI32GtU => br_cmp!(u32, |x, y| x > y),
            Op::BrI32LeS => br_cmp!(u32, |x, y| (x as i32) <= (y as i32)),
            Op::BrI32LeU => op!(BrI32LeU),
            Op::BrI32GeS => br_cmp!(u32, |x, y| (x as i32) >= (y as i32)),
            Op::BrI32GeU => op!(BrI32GeU),
            Op::BrI32EqImm => op!(BrI32EqImm),
            Op::BrI32NeImm => op!(BrI32NeImm),
            Op::BrI32LtSImm => op!(BrI32LtSImm),
            Op::BrI32LtUImm => br_cmp_imm!(|x, y| x < y),
            Op::BrI32GtSImm => br_cmp_imm!(|x, y| (x as i32) > (y as i32)),
            Op::BrI32GtUImm => op!(BrI32GtUImm),
            Op::BrI32LeSImm => br_cmp_imm!(|x, y| (x as i32) <= (y as i32)),
            Op::BrI32LeUImm => br_cmp_imm!(|x, y| x <= y),
            Op::BrI32GeSImm => br_cmp_imm!(|x, y| (x as i32) >= (y as i32)),
            Op::BrI32GeUImm => op!(BrI32GeUImm),
            Op::BrI64Eq => br_cmp!(u64, |x, y| x == y),
            Op::BrI64Ne => op!(BrI64Ne),
            Op::BrI64LtS => br_cmp!(u64, |x, y| (x as i64) < (y as i64)),
            Op::BrI64LtU => br_cmp!(u64, |x, y| x < y),
            Op::BrI64GtS => br_cmp!(u64, |x, y| (x as i64) > (y as i64)),
            Op::BrI64GtU => br_cmp!(u64, |x, y| x > y),
            Op::BrI64LeS => br_cmp!(u64, |x, y| (x as i64) <= (y as i64)),
            Op::BrI64LeU => br_cmp!(u64, |x, y| x <= y),
            Op::BrI64GeS => op!(BrI64GeS),
            Op::BrI64GeU => br_cmp!(u64, |x, y| x >= y),
            Op::BrI32AndImmNez => br_cmp_imm!(|x, y| x & y != 0),
            Op::BrI32AndImmEqz => br_cmp_imm!(|x, y| x & y == 0),
            // Pairs: see `pair!`.
            Op::I32AddImm2 => op!(I32AddImm2),
            Op::I32AddImmBrIfNez => pair!(I32AddImm, BrIfNez),
            Op::I32AddImmBrI32Ne => op!(I32AddImmBrI32Ne),
            Op::I32AddBrI32LeU => op!(I32AddBrI32LeU),
            Op::I32AddImmI32Load => op!(I32AddImmI32Load),
            Op::I32AddImmI32Load8U => op!(I32AddImmI32Load8U),
            Op::I32AddImmI64Load => op!(I32AddImmI64Load),
            Op::I32LoadI32Store => op!(I32LoadI32Store),
            Op::Copy2 => op!(Copy2),
            Op::CopyI32AddImm => op!(CopyI32AddImm),
            Op::I32LoadI32Load => pair!(I32Load, I32Load),
            Op::I64LoadI64Load => op!(I64LoadI64Load),
            Op::I32LoadI32Add => op!(I32LoadI32Add),
            Op::I32AddImmI32Store => pair!(I32AddImm, I32Store),
            Op::I32AddI32Store8 => op!(I32AddI32Store8),
            Op::I32AddShlImmI32Load => op!(I32AddShlImmI32Load),
            Op::CopyI32AddShlImm => op!(CopyI32AddShlImm),
            Op::I32ShrUImmI32Xor => op!(I32ShrUImmI32Xor),
            Op::I64ShrUImmI64Xor => op!(I64ShrUImmI64Xor),
            Op::F64ConvertI32UF64Div => op!(F64ConvertI32UF64Div),
            Op::I32AddImmGlobalSet => pair!(I32AddImm, GlobalSet),
            Op::I32AddImmBrTable => op!(I32AddImmBrTable),
            Op::I32Load8UI32AndImm => pair!(I32Load8U, I32AndImm),
            Op::I32AndImmBrIfEqz => pair!(I32AndImm, BrIfEqz),
            Op::I32LoadCopy => op!(I32LoadCopy),
            Op::CopyBrI32NeImm => pair!(Copy, BrI32NeImm),
            Op::CopyI32Store => pair!(Copy, I32Store),
            Op::I32StoreCopy => op!(I32StoreCopy),
            Op::I32AddI32Load8U => pair!(I32Add, I32Load8U),
            Op::I32LoadBrI32NeImm => pair!(I32Load, BrI32NeImm),
            Op::I32AndImmBrI32EqImm => pair!(I32AndImm, BrI32EqImm),
            Op::I32MulImmI32Add => pair!(I32MulImm, I32Add),
            Op::I32Load8UAddBrIfEqz => pair!(I32Load8UAdd, BrIfEqz),
            Op::I32Load8UAddBrIfNez => pair!(I32Load8UAdd, BrIfNez),
            Op::CopyI32Load => op!(CopyI32Load),
            Op::I32ShrUAndImmI32Add => pair!(I32ShrUAndImm, I32Add),
            Op::I32AddImmCopy => op!(I32AddImmCopy),
            Op::I32LoadI32AndImm => pair!(I32Load, I32AndImm),
            Op::I64LoadI64Store => pair!(I64Load, I64Store),
            Op::I32Load8UI32Store8 => pair!(I32Load8U, I32Store8),
            Op::I32XorI32AndImm => op!(I32XorI32AndImm),
            Op::I32AndImmI32LoadShl => pair!(I32AndImm, I32LoadShl),
            Op::I32AddBrI32GeU => pair!(I32Add, BrI32GeU),
            Op::I32AddImmI32Add => pair!(I32AddImm, I32Add),
            Op::F64MulAddI32AddImm => pair!(F64MulAdd, I32AddImm),
            Op::F64MulF64Mul => op!(F64MulF64Mul),
            Op::I32LtUI32Add => op!(I32LtUI32Add),
            Op::I64ExtendI32SI64Add => op!(I64ExtendI32SI64Add),
            Op::I32AddI32AddImm => op!(I32AddI32AddImm),
            Op::F64ConvertI32UF64DivF64Add => pair!(F64ConvertI32UF64Div, F64Add),
            Op::I32AddImm2BrIfNez => pair!(I32AddImm2, BrIfNez),
            Op::I32AddI32Store8I32AddBrI32LeU => pair!(I32AddI32Store8, I32AddBrI32LeU),
            Op::I32LtUI32AddBrI32LeU => pair!(I32LtUI32Add, BrI32LeU),
            Op::I32XorI32AndImmI32LoadShl => pair!(I32XorI32AndImm, I32LoadShl),
            Op::I64ShrUImmI64XorI64Mul => pair!(I64ShrUImmI64Xor, I64Mul),
            Op::I32AddI32AddImmBrI32Ne => pair!(I32AddI32AddImm, BrI32Ne),
            Op::I32AddI64LoadI64Load => pair!(I32Add, I64LoadI64Load),
            Op::I32AddShlImmI32LoadI32Store => pair!(I32AddShlImmI32Load, I32Store),
            Op::CopyI32AddImmI32AddImm => pair!(CopyI32AddImm, I32AddImm),
            Op::F64MulF64MulF64Sub => op!(F64MulF64MulF64Sub),
            Op::I32StoreCopyBrI32NeImm => pair!(I32StoreCopy, BrI32NeImm),
            Op::CopyI32AddShlImmI32LoadCopy => pair!(CopyI32AddShlImm, I32LoadCopy),
            Op::I32LoadI32AddI32Store => pair!(I32LoadI32Add, I32Store),
            Op::I32AddImmI32Load8U2 => pair!(I32AddImmI32Load8U, I32AddImmI32Load8U),
            Op::I32AndImmI32ShlImm => op!(I32AndImmI32ShlImm),
            Op::I32AndImmSelect => op!(I32AndImmSelect),
            Op::CopyI32LoadI32AndImmI32ShlImm => pair!(CopyI32Load, I32AndImmI32ShlImm),
            Op::I32AddImmI32LoadI32AddImmBrTable => pair!(I32AddImmI32Load, I32AddImmBrTable),
            Op::I32XorImmI32ShrUImmI32Xor => pair!(I32XorImm, I32ShrUImmI32Xor),
            Op::Const32BrIfEqz => pair!(Const32, BrIfEqz),
            Op::Const32BrI32LtSImm => pair!(Const32, BrI32LtSImm),
            Op::I64AddBrI32GtUImm => pair!(I64Add, BrI32GtUImm),
            Op::I32AddImmBrI32LtU => pair!(I32AddImm, BrI32LtU),
            Op::I64LoadF64Add => op!(I64LoadF64Add),
            Op::I64AddImmBrI64Ne => pair!(I64AddImm, BrI64Ne),
            Op::I64XorI64RotlImm => pair!(I64Xor, I64RotlImm),
            Op::I64MulImmI64AddImm => op!(I64MulImmI64AddImm),
            Op::I64LoadF64AddI64Store => pair!(I64LoadF64Add, I64Store),
            Op::I32AddImmF64MulF64Mul => pair!(I32AddImm, F64MulF64Mul),
            Op::I32StoreI32LtUI32Add => pair!(I32Store, I32LtUI32Add),
            Op::F64MulF64MulF64SubI64Store => pair!(F64MulF64MulF64Sub, I64Store),
            Op::I32AddImmI64LoadF64Sub => pair!(I32AddImmI64Load, F64Sub),
            Op::I64LoadF64MulAdd => op!(I64LoadF64MulAdd),
            Op::I64LoadF64MulAddI64Store => pair!(I64LoadF64MulAdd, I64Store),
            Op::I32LoadI32StoreI32LtUI32Add => pair!(I32LoadI32Store, I32LtUI32Add),
            Op::I64MulImmI64AddImmI64Add => pair!(I64MulImmI64AddImm, I64Add),
            Op::I32AndImmSelectI32ShrUAndImm => pair!(I32AndImmSelect, I32ShrUAndImm),
            Op::I32Load16SI32Mul => pair!(I32Load16S, I32Mul),
            Op::I32AndImmBrI32GeUImm => pair!(I32AndImm, BrI32GeUImm),
            Op::Const32I32AddImmBrI32Ne => pair!(Const32, I32AddImmBrI32Ne),
            Op::CopyCall => pair!(Copy, Call),
            Op::Copy2Call => pair!(Copy2, Call),
            Op::Const32Call => pair!(Const32, Call),
            Op::I32AddImmCopyCall => pair!(I32AddImmCopy, Call),
            Op::CopyCallIndirect => pair!(Copy, CallIndirect),
            Op::I32LoadCopyCallIndirect => pair!(I32LoadCopy, CallIndirect),
            Op::I32Load16UI32And => pair!(I32Load16U, I32And),
            Op::I32Load8UBrTable => pair!(I32Load8U, BrTable),
            Op::I32Load8UI32Extend8S => pair!(I32Load8U, I32Extend8S),
            Op::I32LoadBrIfEqz => pair!(I32Load, BrIfEqz),
            Op::Const32I32Store16 => pair!(Const32, I32Store16),
            Op::I32Load8SBrI32LtSImm => pair!(I32Load8S, BrI32LtSImm),
            Op::I32Load8UBrI32NeImm => pair!(I32Load8U, BrI32NeImm),
            Op::Const32I32Load => pair!(Const32, I32Load),
            Op::I32ShrUAndImmI32AddShlImm => pair!(I32ShrUAndImm, I32AddShlImm),
            Op::Const32I32Shl => pair!(Const32, I32Shl),
            Op::CopyBr => pair!(Copy, Br),
            Op::I64StoreConst32 => pair!(I64Store, Const32),
            Op::CopyI64AddImm => pair!(Copy, I64AddImm),
            Op::I32AddShlImmI32Load8U => pair!(I32AddShlImm, I32Load8U),
            Op::I32Load8UBrIfEqz => pair!(I32Load8U, BrIfEqz),
            Op::I64LoadBrI64GeS => pair!(I64Load, BrI64GeS),
            Op::Const32Return => pair!(Const32, Return),
            Op::I64ExtendI32SI64AddReturn => pair!(I64ExtendI32SI64Add, Return),
            // Calls and returns (`op!(Call)`, `op!(CallIndirect)`, `op!(Return)`), alone or as
            // the last part of a pair.
            Op::Call => op!(Call),
            Op::CallIndirect => op!(CallIndirect),
            Op::Return => op!(Return),
            _ => leave!(),
        }
    }
}

/// For [`hot`]: the trap of `unreachable`, out of line. With `trap!` in place, the trap's kind
/// (a constant with no operand to compute) was set by LLVM before the dispatch of every
/// instruction.
///
/// # Safety
/// As for `hot`.
#[inline(never)]
#[cold]
unsafe fn raise_unreachable(h: *mut Hot) {
    // SAFETY: the caller's guarantee.
    unsafe { (*h).fault = Some(Fault::Unreachable) };
}

/// For [`hot`]: enters function `func` (an index of the instance's function space) with its
/// frame at slot `arg_base` of the current one, when it is a verified Wasm function of this
/// instance and neither stack needs to grow; then `h` holds the callee's registers (`ip` at its
/// first instruction). Otherwise changes nothing and returns false.
///
/// Inlined into `hot` in a Wasm build: a call there keeps the host's instance context live
/// across the loop, and with `h` at a constant address ([`HotHome`]) the inlined work crowds
/// no register the handlers need. Natively it stays out of line.
///
/// # Safety
/// As for `hot`; `h.ip` is at the call.
#[cfg_attr(target_family = "wasm", inline(always))]
#[cfg_attr(not(target_family = "wasm"), inline(never))]
unsafe fn enter(h: *mut Hot, func: u32, arg_base: usize) -> bool {
    // SAFETY: the caller's guarantee.
    let d = func.wrapping_sub(unsafe { (*h).num_imported }) as usize;
    // (The call is 4 units: opcode, function, base.)
    unsafe { enter_defined(h, d, arg_base, 4) }
}

/// For [`hot`]: `call_indirect` as [`enter`] does `call`, when the table entry is a function
/// of this instance of the expected type; anything else (traps included) is left to
/// `run_inner`, and changes nothing.
///
/// # Safety
/// As for `enter`.
#[cfg_attr(target_family = "wasm", inline(always))]
#[cfg_attr(not(target_family = "wasm"), inline(never))]
unsafe fn enter_indirect(h: *mut Hot, ty: u32, table: u32, index: u32, arg_base: usize) -> bool {
    // SAFETY: the caller's guarantee: `Hot`'s invariant for the store's tables and functions
    // and the instance's index spaces, which nothing else touches while `hot` runs.
    let h = unsafe { &mut *h };
    let (tables, funcs, inst_tables, inst_types) = unsafe {
        (
            std::slice::from_raw_parts(h.tables, h.tables_len),
            std::slice::from_raw_parts(h.funcs, h.funcs_len),
            std::slice::from_raw_parts(h.inst_tables, h.inst_tables_len),
            std::slice::from_raw_parts(h.inst_types, h.inst_types_len),
        )
    };
    let (Some(&ty), Some(&table)) = (inst_types.get(ty as usize), inst_tables.get(table as usize))
    else {
        return false;
    };
    let Some(&elem) = tables
        .get(table as usize)
        .and_then(|t| t.elems.get(index as usize))
    else {
        return false;
    };
    // (0 is the null reference.)
    match funcs.get((elem as usize).wrapping_sub(1)) {
        Some(FuncInst::Wasm {
            instance,
            defined,
            type_id,
            ..
        }) if *instance == h.inst_id && *type_id == ty => {
            // (The call is 7 units: opcode, type, table, index, base.)
            unsafe { enter_defined(h, *defined as usize, arg_base, 7) }
        }
        _ => false,
    }
}

/// For [`enter`] and [`enter_indirect`]: enters the instance's defined function `d` as a call
/// of `len` units at `h.ip` would.
///
/// # Safety
/// As for `enter`.
#[cfg_attr(target_family = "wasm", inline(always))]
#[cfg_attr(not(target_family = "wasm"), inline(never))]
unsafe fn enter_defined(h: *mut Hot, d: usize, arg_base: usize, len: usize) -> bool {
    // SAFETY: the caller's guarantee: `entries` and `verified` hold `defined` elements each.
    let h = unsafe { &mut *h };
    if d >= h.defined || !unsafe { (*h.verified.add(d)).get() } {
        return false;
    }
    let entry = unsafe { &*h.entries.add(d) };
    let new_base = h.base + arg_base;
    let frames = unsafe { &mut *h.frames };
    if new_base + entry.frame_size as usize > h.stack_len || frames.len() == frames.capacity() {
        return false;
    }
    let callee = h.first_func + d as u32;
    // The return address: the unit after the call.
    let pc = (h.ip as usize - h.code as usize) / size_of::<CodeUnit>() + len;
    frames.push(Frame {
        func: h.cur,
        pc: pc as u32,
        base: h.base as u32,
    });
    // The activation, as `run_inner`'s `activate!` makes it: locals past the parameters
    // zeroed, constants filled.
    // SAFETY: `new_base + frame_size <= stack_len` (checked above), and the verifier proved
    // `nparams <= num_locals` and `num_locals + consts <= frame_size`.
    unsafe {
        let frame = h.stack.add(new_base);
        zero_slots(frame, entry.nparams as usize, entry.num_locals as usize);
        let locals = frame.add(entry.num_locals as usize);
        for i in 0..entry.num_consts as usize {
            *locals.add(i) = (*entry.consts.add(i)).to_native();
        }
        h.sp = frame;
    }
    h.cur = callee;
    h.base = new_base;
    h.code = entry.code;
    h.ip = entry.code;
    // (Only debug assertions read these.)
    #[cfg(debug_assertions)]
    {
        h.code_len = entry.code_len as usize;
        h.frame_len = h.stack_len - new_base;
    }
    true
}

/// Zeroes slots `from..to` of `frame`. A few slots (most functions have a handful of locals) are
/// written one by one: as a loop, LLVM makes them a `memory.fill`, which wasmtime runs as a call
/// into the host, ten times the cost of the stores.
///
/// # Safety
/// The slots are inside the stack.
#[inline(always)]
unsafe fn zero_slots(frame: *mut u64, from: usize, to: usize) {
    if to - from > 16 {
        // SAFETY: the caller's guarantee.
        unsafe { std::slice::from_raw_parts_mut(frame.add(from), to - from).fill(0) };
        return;
    }
    for i in from..to {
        // SAFETY: the caller's guarantee; volatile only to keep the loop a loop.
        unsafe { std::ptr::write_volatile(frame.add(i), 0) };
    }
}

/// For [`hot`]: returns `count` values from slot `src` of the frame at `sp` into the caller,
/// when there is one and it is of this instance; then `h` holds the caller's registers.
/// Otherwise changes nothing and returns false.
///
/// Inlined into `hot` in a Wasm build, as `enter` is.
///
/// # Safety
/// As for `hot`; `sp` is the current frame, and `src + count` inside it.
#[cfg_attr(target_family = "wasm", inline(always))]
#[cfg_attr(not(target_family = "wasm"), inline(never))]
unsafe fn back(h: *mut Hot, sp: *mut u64, src: usize, count: usize) -> bool {
    // SAFETY: the caller's guarantee.
    let h = unsafe { &mut *h };
    let frames = unsafe { &mut *h.frames };
    let Some(&Frame { func, pc, base }) = frames.last() else {
        return false;
    };
    let d = func.wrapping_sub(h.first_func) as usize;
    if d >= h.defined {
        return false;
    }
    let entry = unsafe { &*h.entries.add(d) };
    // Ascending copy: `src >= 0`, so no source is overwritten before it is read. In bounds:
    // the verifier proved `src + count <= frame_size`.
    for i in 0..count {
        unsafe { *sp.add(i) = *sp.add(src + i) };
    }
    frames.pop();
    h.cur = func;
    h.base = base as usize;
    h.code = entry.code;
    h.ip = entry.code.wrapping_add(pc as usize);
    #[cfg(debug_assertions)]
    {
        h.code_len = entry.code_len as usize;
        h.frame_len = h.stack_len - base as usize;
    }
    // SAFETY: the caller's frame lies inside the stack.
    h.sp = unsafe { h.stack.add(base as usize) };
    true
}

fn run_inner(store: &mut Store, func: u32, args: &[u64]) -> Result<Vec<u64>, Trap> {
    let max_bytes = store.max_stack_bytes;
    let Store {
        types,
        funcs,
        tables,
        memories,
        globals,
        instances,
        data,
        ..
    } = store;
    let nresults = types[funcs[func as usize].type_id() as usize].results.len();
    let mut stack: Vec<u64> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    stack.resize(args.len().max(nresults), 0);
    stack[..args.len()].copy_from_slice(args);

    // The entry may itself be a host function.
    if let FuncInst::Host { func: host, .. } = &funcs[func as usize] {
        let mut results = vec![0u64; nresults];
        host(
            &mut Caller {
                memory: None,
                data: &mut **data,
            },
            args,
            &mut results,
        )?;
        return Ok(results);
    }

    let mut cur = func;
    let mut base: usize = 0;
    let mut pc: usize = 0;
    let mut entering = true;
    // Where `hot`'s registers live while this run lasts (rewritten for each function entered
    // here). Used only through `h`, a raw pointer, and only by this run.
    let mut home = HotHome::claim();
    let h: *mut Hot = home.hot();

    // Makes the activation of `cur` ready at `base`: verifies its code on first use, makes room
    // for its frame, zeroes its declared locals and fills its constant slots. Every activation
    // goes through here, from the `'call` loop and from the direct-call fast path alike.
    macro_rules! activate {
        ($inst_id:expr, $defined:expr, $entry:expr) => {{
            let entry: &crate::store::WasmEntry = $entry;
            // Lazy verification: a function's code is verified before its first instruction
            // runs (one load and a branch once it has been).
            instances[$inst_id].ensure_verified($defined)?;
            let frame_end = base + entry.frame_size as usize;
            if frame_end > stack.len() {
                if frame_end * size_of::<u64>() + frames.len() * size_of::<Frame>() > max_bytes {
                    return Err(trap_in(
                        TrapKind::CallStackExhausted,
                        store_name(instances, funcs, cur),
                    ));
                }
                let extra = frame_end - stack.len();
                stack
                    .try_reserve(extra)
                    .map_err(|_| Trap::new(TrapKind::CallStackExhausted))?;
                stack.resize(frame_end, 0);
            }
            let locals = base + entry.num_locals as usize;
            for slot in &mut stack[base + entry.nparams as usize..locals] {
                *slot = 0;
            }
            if entry.num_consts > 0 {
                // SAFETY: `WasmEntry`'s invariant.
                let consts =
                    unsafe { std::slice::from_raw_parts(entry.consts, entry.num_consts as usize) };
                // In bounds: the verifier proved `num_locals + consts <= frame_size`.
                for (slot, c) in stack[locals..locals + consts.len()].iter_mut().zip(consts) {
                    *slot = c.to_native();
                }
            }
        }};
    }
    // Suspends the current activation, to resume at `next`.
    macro_rules! push_frame {
        ($next:expr) => {{
            if frames.len() == frames.capacity() {
                let bytes = (frames.len() * 2) * size_of::<Frame>() + stack.len() * 8;
                if bytes > max_bytes || frames.try_reserve(frames.len().max(64)).is_err() {
                    return Err(trap_in(
                        TrapKind::CallStackExhausted,
                        store_name(instances, funcs, cur),
                    ));
                }
            }
            frames.push(Frame {
                func: cur,
                pc: $next as u32,
                base: base as u32,
            });
        }};
    }
    // The code units of a Wasm function.
    macro_rules! code_of {
        ($entry:expr) => {{
            let entry: &crate::store::WasmEntry = $entry;
            // SAFETY: `WasmEntry`'s invariant: the units live in the instance's image, which the
            // store keeps alive, and are in place and never written again once the function is
            // verified, which every use here follows.
            unsafe { std::slice::from_raw_parts(entry.code, entry.code_len as usize) }
        }};
    }

    'call: loop {
        let (inst_id, defined, entry) = match &funcs[cur as usize] {
            FuncInst::Wasm {
                instance,
                defined,
                entry,
                ..
            } => (*instance as usize, *defined as usize, *entry),
            FuncInst::Host { .. } => unreachable!("host functions are called directly"),
        };
        let inst = &instances[inst_id];
        if entering {
            activate!(inst_id, defined, &entry);
            entering = false;
        }
        // After `activate!`: a function's code may be read (and so sliced) only once verified,
        // which also makes sure it is in memory (see `WasmEntry::code`).
        let mut code: &[CodeUnit] = code_of!(&entry);
        let mem_addr = inst.memories.first().map(|&m| m as usize);
        // Memory 0's bytes, cached for loads and stores. Re-read (`refresh_mem!`) after anything
        // that may move the memory or borrow it mutably: memory.grow, every other memory
        // instruction, and host calls. With no memory the length is 0, so every access traps.
        let mut mem_base: *mut u8 = std::ptr::null_mut();
        let mut mem_len: usize = 0;
        macro_rules! refresh_mem {
            () => {
                if let Some(m) = mem_addr {
                    let bytes = memories[m].bytes_mut();
                    mem_len = bytes.len();
                    mem_base = bytes.as_mut_ptr();
                }
            };
        }
        refresh_mem!();

        // SAFETY of the unchecked accesses below. The verifier proved, for this function's
        // code: every instruction's operand units lie inside `code`, control only reaches
        // instruction starts (jump targets checked, the last instruction never falls through),
        // and every `Slot` operand is below `frame_size`. On entry `stack.len()` was made at
        // least `base + frame_size`, and the stack never shrinks while the frame is live. `sp`
        // is re-derived (`refresh!`) after anything that may reallocate or re-borrow `stack`.
        //
        // Inside the loop the position is a pointer, `ip`, to the current instruction's first
        // unit: operand reads need no index arithmetic (in a Wasm build each is one load with a
        // constant offset). It only moves by `wrapping_add`, and is dereferenced only where the
        // invariant above puts a unit of `code`. `pc` is written back where a frame is saved.
        //
        // Operand positions below are unit offsets from the opcode: a `Slot` takes one unit
        // (`s!`, `w!`), every other operand two (`w32!`), an `Imm64` four (see `chiwawa_format`).
        let mut ip: *const CodeUnit = code.as_ptr().wrapping_add(pc);
        macro_rules! pc_now {
            () => {
                (ip as usize - code.as_ptr() as usize) / size_of::<CodeUnit>()
            };
        }
        // The one-unit operand at `$i` (a slot).
        macro_rules! w {
            ($i:expr) => {{
                debug_assert!(pc_now!() + $i < code.len());
                unsafe { *ip.add($i) }.to_native() as u32
            }};
        }
        // The two-unit operand at `$i` (an immediate, target or index), low half first.
        macro_rules! w32 {
            ($i:expr) => {{
                debug_assert!(pc_now!() + $i + 1 < code.len());
                // SAFETY: as for `w!`; the read is unaligned because units are 2-aligned.
                u32::from_le(unsafe { ip.add($i).cast::<u32>().read_unaligned() })
            }};
        }
        // Moves `ip` on by `n` units, to the next instruction.
        macro_rules! adv {
            ($n:expr) => {
                ip = ip.wrapping_add($n)
            };
        }
        // Moves `ip` to the instruction at unit `target` of this function's code.
        macro_rules! goto {
            ($target:expr) => {
                ip = code.as_ptr().wrapping_add($target)
            };
        }
        let mut sp: *mut u64 = unsafe { stack.as_mut_ptr().add(base) };
        macro_rules! refresh {
            () => {
                sp = unsafe { stack.as_mut_ptr().add(base) }
            };
        }
        macro_rules! s {
            ($i:expr) => {
                *{
                    let slot = w!($i) as usize;
                    debug_assert!(base + slot < stack.len());
                    unsafe { &mut *sp.add(slot) }
                }
            };
        }
        macro_rules! trap {
            ($kind:expr) => {
                return Err(trap_in($kind, store_name(instances, funcs, cur)))
            };
        }
        macro_rules! mem {
            () => {
                match mem_addr {
                    Some(m) => &mut memories[m],
                    None => trap!(TrapKind::MemoryOutOfBounds),
                }
            };
        }

        // SAFETY: `h` is `home`'s, which nothing else reads or writes while it lives.
        unsafe {
            h.write(Hot {
                ip,
                sp,
                code: code.as_ptr(),
                mem_base,
                mem_len,
                globals: globals.as_mut_ptr(),
                globals_len: globals.len(),
                inst_globals: inst.globals.as_ptr(),
                inst_globals_len: inst.globals.len(),
                tables: tables.as_ptr(),
                tables_len: tables.len(),
                funcs: funcs.as_ptr(),
                funcs_len: funcs.len(),
                inst_tables: inst.tables.as_ptr(),
                inst_tables_len: inst.tables.len(),
                inst_types: inst.types.as_ptr(),
                inst_types_len: inst.types.len(),
                inst_id: inst_id as u32,
                code_len: code.len(),
                frame_len: 0,
                cur,
                base,
                stack: stack.as_mut_ptr(),
                stack_len: stack.len(),
                frames: &mut frames,
                entries: inst.entries.as_ptr(),
                verified: inst.verified.as_ptr(),
                defined: inst.entries.len().min(inst.verified.len()),
                first_func: inst.first_func,
                num_imported: inst.num_imported_funcs,
                fault: None,
                cold_op: None,
                #[cfg(feature = "op-stats")]
                prev_word: u32::MAX,
            })
        };
        loop {
            // SAFETY: as above.
            let hr = unsafe { &mut *h };
            hr.ip = ip;
            hr.sp = sp;
            hr.code = code.as_ptr();
            hr.code_len = code.len();
            hr.mem_base = mem_base;
            hr.mem_len = mem_len;
            hr.frame_len = stack.len() - base;
            hr.cur = cur;
            hr.base = base;
            hr.stack = stack.as_mut_ptr();
            hr.stack_len = stack.len();
            hr.frames = &mut frames;
            // SAFETY: `Hot`'s invariant: the registers are this activation's (see above), the
            // memory pointers were refreshed after anything that could move the memory, and
            // nothing else touches the stacks, `globals` or `inst` while `hot` runs.
            unsafe { hot(h) };
            // SAFETY: as above (`hot` has returned).
            let hr = unsafe { &mut *h };
            // Calls and returns inside `hot` may have moved to another function.
            ip = hr.ip;
            sp = hr.sp;
            cur = hr.cur;
            base = hr.base;
            if let FuncInst::Wasm { entry, .. } = &funcs[cur as usize] {
                code = code_of!(entry);
                debug_assert_eq!(code.as_ptr(), hr.code);
            }
            if let Some(fault) = hr.fault.take() {
                trap!(TrapKind::from(fault));
            }
            let op = match hr.cold_op.take() {
                Some(op) => op,
                None => {
                    let word = w!(0);
                    // SAFETY: as in `hot`: `ip` is at an instruction start.
                    unsafe { Op::from_word_unchecked(word) }
                }
            };
            match op {
                Op::Return => {
                    let src = w!(1) as usize;
                    let count = w32!(2) as usize;
                    // Ascending copy: `src >= 0`, so no source is overwritten before it is read.
                    // In bounds: the verifier proved `src + count <= frame_size`.
                    for i in 0..count {
                        unsafe { *sp.add(i) = *sp.add(src + i) };
                    }
                    match frames.pop() {
                        Some(frame) => {
                            cur = frame.func;
                            pc = frame.pc as usize;
                            base = frame.base as usize;
                            // Back into the same instance (the common case): only the code and
                            // the frame change; memory and instance stay.
                            if let FuncInst::Wasm {
                                instance, entry, ..
                            } = &funcs[cur as usize]
                            {
                                if *instance as usize == inst_id {
                                    code = code_of!(entry);
                                    goto!(pc);
                                    refresh!();
                                    continue;
                                }
                            }
                            continue 'call;
                        }
                        None => return Ok(stack[base..base + count].to_vec()),
                    }
                }
                Op::Call
                    if matches!(
                        funcs[inst.funcs[w32!(1) as usize] as usize],
                        FuncInst::Wasm { instance, .. } if instance as usize == inst_id
                    ) =>
                {
                    // The common case, a direct call of a Wasm function of the same instance:
                    // push the caller and enter the callee, whose frame starts at the argument
                    // slots. Memory and instance stay, so the inner loop goes on.
                    let callee = inst.funcs[w32!(1) as usize];
                    let FuncInst::Wasm { defined, entry, .. } = &funcs[callee as usize] else {
                        unreachable!("the guard matched a Wasm function")
                    };
                    push_frame!(pc_now!() + 4);
                    cur = callee;
                    base += w!(3) as usize;
                    activate!(inst_id, *defined as usize, entry);
                    code = code_of!(entry);
                    goto!(0);
                    refresh!();
                }
                Op::Call | Op::CallIndirect | Op::ReturnCall | Op::ReturnCallIndirect => {
                    let (callee, arg_base, next) = match op {
                        Op::Call | Op::ReturnCall => {
                            (inst.funcs[w32!(1) as usize], w!(3) as usize, pc_now!() + 4)
                        }
                        _ => {
                            let ty = inst.types[w32!(1) as usize];
                            let table = &tables[inst.tables[w32!(3) as usize] as usize];
                            let index = s!(5) as u32 as usize;
                            let entry = match table.elems.get(index) {
                                Some(&e) => e,
                                None => trap!(TrapKind::TableOutOfBounds),
                            };
                            if entry == 0 {
                                trap!(TrapKind::UninitializedElement);
                            }
                            let callee = (entry - 1) as u32;
                            // Every funcref table entry is null or a function of the store
                            // (`check_ref`); an entry that is not is refused, never indexed.
                            let Some(callee_inst) = funcs.get(callee as usize) else {
                                trap!(bad_ref(entry))
                            };
                            if callee_inst.type_id() != ty {
                                trap!(TrapKind::IndirectCallTypeMismatch);
                            }
                            (callee, w!(6) as usize, pc_now!() + 7)
                        }
                    };
                    let tail = matches!(op, Op::ReturnCall | Op::ReturnCallIndirect);
                    let callee_ty = &types[funcs[callee as usize].type_id() as usize];
                    let (np, nr) = (callee_ty.params.len(), callee_ty.results.len());
                    let new_base = if tail {
                        // Reuse the frame: move the arguments down to slot 0.
                        let src = base + arg_base;
                        stack.copy_within(src..src + np, base);
                        base
                    } else {
                        base + arg_base
                    };
                    match &funcs[callee as usize] {
                        FuncInst::Host { func: host, .. } => {
                            let params = stack[new_base..new_base + np].to_vec();
                            let mut results = vec![0u64; nr];
                            let mut caller = Caller {
                                memory: mem_addr.map(|m| &mut memories[m]),
                                data: &mut **data,
                            };
                            if let Err(mut t) = host(&mut caller, &params, &mut results) {
                                if t.func.is_none() {
                                    t.func = Some(store_name(instances, funcs, cur));
                                }
                                return Err(t);
                            }
                            if new_base + nr > stack.len() {
                                stack.resize(new_base + nr, 0);
                            }
                            // A 32-bit value is zero-extended in its slot, whatever the host
                            // left in the upper half (the translator relies on it).
                            let slots = &mut stack[new_base..new_base + nr];
                            for ((slot, &v), &ty) in
                                slots.iter_mut().zip(&results).zip(&callee_ty.results)
                            {
                                *slot = if matches!(ty, valtype::I32 | valtype::F32) {
                                    v as u32 as u64
                                } else {
                                    v
                                };
                            }
                            refresh!();
                            refresh_mem!();
                            if tail {
                                match frames.pop() {
                                    Some(frame) => {
                                        cur = frame.func;
                                        pc = frame.pc as usize;
                                        base = frame.base as usize;
                                        continue 'call;
                                    }
                                    None => return Ok(stack[base..base + nr].to_vec()),
                                }
                            }
                            goto!(next);
                        }
                        FuncInst::Wasm { .. } => {
                            if !tail {
                                push_frame!(next);
                            }
                            cur = callee;
                            base = new_base;
                            pc = 0;
                            entering = true;
                            continue 'call;
                        }
                    }
                }
                Op::RefFunc => {
                    s!(1) = inst.funcs[w32!(2) as usize] as u64 + 1;
                    adv!(4);
                }
                Op::MemorySize => {
                    s!(1) = mem!().pages() as u64;
                    adv!(4);
                }
                Op::MemoryGrow => {
                    let delta = s!(4) as u32;
                    let old = mem!().grow(delta);
                    refresh_mem!();
                    s!(1) = old.unwrap_or(u32::MAX) as u64;
                    adv!(5);
                }
                Op::MemoryFill => {
                    let (d, v, n) = (s!(3) as u32 as u64, s!(4) as u8, s!(5) as u32 as u64);
                    let bytes = mem!().bytes_mut();
                    let Some(r) = range(d, n, bytes.len()) else {
                        trap!(TrapKind::MemoryOutOfBounds)
                    };
                    bytes[r].fill(v);
                    refresh_mem!();
                    adv!(6);
                }
                Op::MemoryCopy => {
                    let (d, s, n) = (
                        s!(5) as u32 as u64,
                        s!(6) as u32 as u64,
                        s!(7) as u32 as u64,
                    );
                    let bytes = mem!().bytes_mut();
                    let (Some(dr), Some(sr)) = (range(d, n, bytes.len()), range(s, n, bytes.len()))
                    else {
                        trap!(TrapKind::MemoryOutOfBounds)
                    };
                    bytes.copy_within(sr, dr.start);
                    refresh_mem!();
                    adv!(8);
                }
                Op::MemoryInit => {
                    let data = w32!(3) as usize;
                    let (d, s, n) = (
                        s!(5) as u32 as u64,
                        s!(6) as u32 as u64,
                        s!(7) as u32 as u64,
                    );
                    let seg: &[u8] = if inst.dropped_datas[data].get() {
                        &[]
                    } else {
                        inst.image.module().datas[data].bytes.as_slice()
                    };
                    let bytes = mem!().bytes_mut();
                    let (Some(dr), Some(sr)) = (range(d, n, bytes.len()), range(s, n, seg.len()))
                    else {
                        trap!(TrapKind::MemoryOutOfBounds)
                    };
                    bytes[dr].copy_from_slice(&seg[sr]);
                    refresh_mem!();
                    adv!(8);
                }
                Op::DataDrop => {
                    inst.dropped_datas[w32!(1) as usize].set(true);
                    adv!(3);
                }
                Op::TableGet => {
                    let table = &tables[inst.tables[w32!(2) as usize] as usize];
                    match table.elems.get(s!(4) as u32 as usize) {
                        Some(&v) => s!(1) = v,
                        None => trap!(TrapKind::TableOutOfBounds),
                    }
                    adv!(5);
                }
                Op::TableSet => {
                    let value = s!(4);
                    let index = s!(3) as u32 as usize;
                    let table = &mut tables[inst.tables[w32!(1) as usize] as usize];
                    if let Err(kind) = check_ref(table, value, funcs.len()) {
                        trap!(kind);
                    }
                    match table.elems.get_mut(index) {
                        Some(e) => *e = value,
                        None => trap!(TrapKind::TableOutOfBounds),
                    }
                    adv!(5);
                }
                Op::TableSize => {
                    s!(1) = tables[inst.tables[w32!(2) as usize] as usize].elems.len() as u64;
                    adv!(4);
                }
                Op::TableGrow => {
                    let (init, delta) = (s!(4), s!(5) as u32);
                    let table = &mut tables[inst.tables[w32!(2) as usize] as usize];
                    if let Err(kind) = check_ref(table, init, funcs.len()) {
                        trap!(kind);
                    }
                    s!(1) = table.grow(delta, init).unwrap_or(u32::MAX) as u64;
                    adv!(6);
                }
                Op::TableFill => {
                    let (d, v, n) = (s!(3) as u32 as u64, s!(4), s!(5) as u32 as u64);
                    let table = &mut tables[inst.tables[w32!(1) as usize] as usize];
                    if let Err(kind) = check_ref(table, v, funcs.len()) {
                        trap!(kind);
                    }
                    let Some(r) = range(d, n, table.elems.len()) else {
                        trap!(TrapKind::TableOutOfBounds)
                    };
                    table.elems[r].fill(v);
                    adv!(6);
                }
                Op::TableCopy => {
                    let (dt, st) = (inst.tables[w32!(1) as usize], inst.tables[w32!(3) as usize]);
                    let (d, s, n) = (
                        s!(5) as u32 as u64,
                        s!(6) as u32 as u64,
                        s!(7) as u32 as u64,
                    );
                    let (Some(dr), Some(sr)) = (
                        range(d, n, tables[dt as usize].elems.len()),
                        range(s, n, tables[st as usize].elems.len()),
                    ) else {
                        trap!(TrapKind::TableOutOfBounds)
                    };
                    if dt == st {
                        tables[dt as usize].elems.copy_within(sr, dr.start);
                    } else {
                        let src = tables[st as usize].elems[sr].to_vec();
                        tables[dt as usize].elems[dr].copy_from_slice(&src);
                    }
                    adv!(8);
                }
                Op::TableInit => {
                    let elem = w32!(3) as usize;
                    let (d, s, n) = (
                        s!(5) as u32 as u64,
                        s!(6) as u32 as u64,
                        s!(7) as u32 as u64,
                    );
                    let module = inst.image.module();
                    let items = if inst.dropped_elems[elem].get() {
                        0
                    } else {
                        module.elems[elem].items.len()
                    };
                    let t = inst.tables[w32!(1) as usize] as usize;
                    let (Some(dr), Some(sr)) =
                        (range(d, n, tables[t].elems.len()), range(s, n, items))
                    else {
                        trap!(TrapKind::TableOutOfBounds)
                    };
                    for (di, si) in dr.zip(sr) {
                        let v = eval_const(&module.elems[elem].items[si], inst, globals);
                        tables[t].elems[di] = v;
                    }
                    adv!(8);
                }
                Op::ElemDrop => {
                    inst.dropped_elems[w32!(1) as usize].set(true);
                    adv!(3);
                }
                // i32
                _ => unreachable!("hot runs every other instruction"),
            }
        }
    }
}

/// The length in units of `op` when it always goes on to the next instruction (no jump, call
/// or return), for the debug check of each handler's advance. Worked out once per opcode: the
/// check runs on every executed instruction of a debug build.
#[cfg(debug_assertions)]
fn straight_len(op: Op) -> Option<usize> {
    static LENS: std::sync::OnceLock<Vec<Option<usize>>> = std::sync::OnceLock::new();
    LENS.get_or_init(|| {
        chiwawa_format::OPS
            .iter()
            .map(|i| straight_len_of(i.op))
            .collect()
    })[op as usize]
}

#[cfg(debug_assertions)]
fn straight_len_of(op: Op) -> Option<usize> {
    use chiwawa_format::Operand;
    let info = op.info();
    // A pair leaves where its last part does.
    let mut last = op;
    while let Some(&(_, second, _)) = chiwawa_format::PAIRS.iter().find(|p| p.2 == last) {
        last = second;
    }
    let leaves = matches!(
        last,
        Op::Unreachable
            | Op::Return
            | Op::Call
            | Op::CallIndirect
            | Op::ReturnCall
            | Op::ReturnCallIndirect
    ) || info
        .operands
        .iter()
        .any(|k| matches!(k, Operand::Target | Operand::Targets));
    if leaves {
        None
    } else {
        info.fixed_units()
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
