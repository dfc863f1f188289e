//! The hot loop: arithmetic, memory access, jumps, and calls and returns within an instance.

use super::*;

/// What a copy of [`hot`] counts: compiled in as constants, so that each copy carries only its
/// own checks.
pub(super) trait LoopMode {
    /// Counts instructions in [`Hot::fuel`] and stops at safe points (the meter).
    const COUNT: bool;
    /// Counts instructions per opcode (needs `COUNT`).
    const OPCODES: bool;
    /// Calls the hooks before every instruction (needs `COUNT`; `step-hooks` feature).
    #[cfg(feature = "step-hooks")]
    const STEP: bool = false;
}

/// The default loop: counts nothing.
pub(super) struct Plain;
/// The metered loop ([`crate::meter`]).
pub(super) struct Counted;
/// The metered loop that also counts per opcode ([`crate::meter::Meter::count_opcodes`]).
pub(super) struct CountedOps;

impl LoopMode for Plain {
    const COUNT: bool = false;
    const OPCODES: bool = false;
}
impl LoopMode for Counted {
    const COUNT: bool = true;
    const OPCODES: bool = false;
}
impl LoopMode for CountedOps {
    const COUNT: bool = true;
    const OPCODES: bool = true;
}
/// The metered loop that also calls the hooks before every instruction
/// ([`crate::hooks::Hooks::instruction`]).
#[cfg(feature = "step-hooks")]
pub(super) struct Stepped;
#[cfg(feature = "step-hooks")]
impl LoopMode for Stepped {
    const COUNT: bool = true;
    const OPCODES: bool = false;
    const STEP: bool = true;
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
/// With `M::COUNT`, it counts every instruction it dispatches in [`Hot::fuel`] (one for each,
/// a fused instruction once) and stops at a safe point once that reaches zero: just after a
/// taken branch, a call or a return that it made itself, with `ip` at the next instruction to
/// run and [`Hot::meter_stop`] set. With `M::OPCODES` it also counts each instruction in
/// [`Hot::op_counts`]. In the default loop ([`Plain`]) none of this is compiled in.
///
/// # Safety
/// `h` is valid and `Hot`'s invariant holds.
#[inline(never)]
// Each handler states its arithmetic as a closure that the handler macros call in place.
#[allow(clippy::redundant_closure_call)]
pub(super) unsafe fn hot<M: LoopMode>(h: *mut Hot) {
    // SAFETY: the caller's guarantee.
    let (mut ip, mut sp, mut code) = unsafe { ((*h).ip, (*h).sp, (*h).code) };
    // The instructions left before the next safe point stops (only with `M::COUNT`).
    let mut fuel: i64 = if M::COUNT { unsafe { (*h).fuel } } else { 0 };
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
            // SAFETY: `ip` is at an instruction start and the verifier proved that its operands
            // lie inside the code.
            unsafe { unit_at(ip, $i) }
        }};
    }
    // The two-unit operand at `$i` (an immediate, target or index), low half first.
    macro_rules! w32 {
        ($i:expr) => {{
            debug_assert!(pc_now!() + $i + 1 < code_len);
            // SAFETY: as for `w!`.
            unsafe { pair_at(ip, $i) }
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
            ip = unsafe { code.add(target) };
            safe_point!();
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
                if M::COUNT {
                    (*h).fuel = fuel;
                }
            }
            return;
        }};
    }
    // After a call or return made here: the profile's event, if the store is profiled.
    macro_rules! profile_event {
        () => {
            // SAFETY: `Hot`'s invariant; a non-null `profile` is the store's.
            if M::COUNT && unsafe { !(*h).profile.is_null() } {
                unsafe { profile_event(h, fuel) };
            }
        };
    }
    // A safe point: between two instructions, with every frame complete. With `M::COUNT`, stops
    // here once the fuel is spent.
    macro_rules! safe_point {
        () => {
            if M::COUNT && fuel <= 0 {
                // SAFETY: `Hot`'s invariant.
                unsafe { (*h).meter_stop = true };
                leave!()
            }
        };
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
            profile_event!();
            safe_point!();
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
            profile_event!();
            safe_point!();
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
            profile_event!();
            safe_point!();
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
        (I32Load16S) => {{
            load!(2, |r| i16::from_le_bytes(r) as i32 as u32 as u64)
        }};
        (I32Mul) => {{
            bin!(u32, i32v, |x, y| x.wrapping_mul(y) as u64)
        }};
        (BrI32GeUImm) => {{
            br_cmp_imm!(|x, y| x >= y)
        }};
        // Pairs and sequences that are parts of sequences: each composition is stated here
        // once, for its own arm and the arms of the sequences it is part of.
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
            part!($first);
            then!();
            part!($second);
        }};
    }

    // `part!(X)`: the handler of a pair's part X, a plain instruction (`op!`) or itself a pair
    // (a sequence), as the ISA table declares it (`X "text" = First + Second`).
    macro_rules! define_part {
        ($d:tt $($name:ident $text:literal $(= $first:ident + $second:ident)? ($($arg:ident: $kind:ident),*);)*) => {
            macro_rules! part {
                $($(($name) => {{ pair!($first, $second) }};)?)*
                ($d plain:ident) => {{ op!($d plain) }};
            }
        };
    }
    chiwawa_format::for_each_op!(define_part $);

    // The match over every instruction: the handlers below, and one arm per pair of the ISA
    // table (`pair!(First, Second)`), generated from its row.
    macro_rules! hot_match {
        ($op:ident { $($arms:tt)* } $($name:ident $text:literal $(= $first:ident + $second:ident)? ($($arg:ident: $kind:ident),*);)*) => {
            match $op {
                $($arms)*
                $($(Op::$name => pair!($first, $second),)?)*
            }
        };
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
        if M::COUNT {
            fuel -= 1;
        }
        #[cfg(feature = "step-hooks")]
        if M::STEP {
            // SAFETY: `Hot`'s invariant; the stepping loop runs only for a store whose profile
            // holds the hooks.
            unsafe { super::call::step_event(h, ip, op) };
        }
        if M::OPCODES {
            // SAFETY: `Hot`'s invariant: a non-null `op_counts` has a counter per opcode word,
            // and the verifier proved `word` is one (as for `from_word_unchecked` below).
            unsafe { *(*h).op_counts.add(word as usize) += 1 };
        }
        #[cfg(debug_assertions)]
        {
            expected = straight_len(op).map(|n| (ip.wrapping_add(n), op));
        }
        chiwawa_format::for_each_op!(hot_match op {
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
            // Calls and returns (`op!(Call)`, `op!(CallIndirect)`, `op!(Return)`), alone or as
            // the last part of a pair.
            Op::Call => op!(Call),
            Op::CallIndirect => op!(CallIndirect),
            Op::Return => op!(Return),
            chiwawa_format::for_each_cold_op!(cold_only) => leave!(),
        })
    }
}
