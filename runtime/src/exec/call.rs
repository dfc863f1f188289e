//! Calls and returns inside the hot loop: entering a function of the instance (directly or
//! through a table) and going back to the caller.

use super::*;

/// For [`hot`]: the trap of `unreachable`, out of line. With `trap!` in place, the trap's kind
/// (a constant with no operand to compute) was set by LLVM before the dispatch of every
/// instruction.
///
/// # Safety
/// As for `hot`.
#[inline(never)]
#[cold]
pub(super) unsafe fn raise_unreachable(h: *mut Hot) {
    // SAFETY: the caller's guarantee.
    unsafe { (*h).fault = Some(Fault::Unreachable) };
}

/// For the metered [`hot`] of a profiled store: a call or return it made (see
/// [`crate::profile`]).
///
/// # Safety
/// As for `hot`, and `h.profile` is the store's live profile.
#[inline(never)]
pub(super) unsafe fn profile_event(h: *mut Hot, fuel: i64) {
    // SAFETY: the caller's guarantee; `frames` is the run's, which nothing else touches while
    // `hot` runs.
    unsafe {
        let h = &mut *h;
        (*h.profile).event(&*h.frames, h.cur, fuel);
    }
}

/// For the stepping [`hot`]: instruction `op` at `ip` is about to run (see
/// [`crate::hooks::Hooks::instruction`]).
///
/// # Safety
/// As for `hot`, `h.profile` is the store's live profile and `ip` is in the current code.
#[cfg(feature = "step-hooks")]
#[inline(never)]
pub(super) unsafe fn step_event(h: *mut Hot, ip: *const CodeUnit, op: Op) {
    // SAFETY: the caller's guarantee.
    unsafe {
        let h = &mut *h;
        let pc = (ip as usize - h.code as usize) / size_of::<CodeUnit>();
        (*h.profile).step(h.cur, pc as u32, op.name());
    }
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
pub(super) unsafe fn enter(h: *mut Hot, func: u32, arg_base: usize) -> bool {
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
pub(super) unsafe fn enter_indirect(
    h: *mut Hot,
    ty: u32,
    table: u32,
    index: u32,
    arg_base: usize,
) -> bool {
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
pub(super) unsafe fn enter_defined(h: *mut Hot, d: usize, arg_base: usize, len: usize) -> bool {
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
    // SAFETY: `new_base + frame_size <= stack_len` (checked above); the entry is a verified
    // function's.
    unsafe {
        let frame = h.stack.add(new_base);
        init_frame(frame, entry);
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
pub(super) unsafe fn zero_slots(frame: *mut u64, from: usize, to: usize) {
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
pub(super) unsafe fn back(h: *mut Hot, sp: *mut u64, src: usize, count: usize) -> bool {
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
