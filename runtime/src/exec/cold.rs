//! The cold loop around [`hot`]: host calls, calls across instances, memory and table
//! management, first calls of unverified functions, growing the stacks, and traps.

use super::*;

pub(super) fn run_inner(store: &mut Store, start: Start<'_>) -> Result<Vec<u64>, Trap> {
    // The metered loop's counter (see `hot`), kept here between its runs; the count goes back
    // into the meter however the run ends.
    let mut fuel = store.meter.as_mut().map_or(0, crate::meter::Meter::fuel);
    if let Some(profile) = &mut store.profile {
        profile.last_fuel = fuel;
    }
    let result = run_body(store, start, &mut fuel);
    if let Some(meter) = &mut store.meter {
        meter.executed = meter.executed_at(fuel);
    }
    // The instructions since the last event, to the stack as it was.
    if let Some(profile) = &mut store.profile {
        profile.flush(fuel);
    }
    result
}

fn run_body(store: &mut Store, start: Start<'_>, fuel: &mut i64) -> Result<Vec<u64>, Trap> {
    let max_bytes = store.max_stack_bytes;
    let Store {
        types,
        funcs,
        tables,
        memories,
        globals,
        instances,
        data,
        checkpoint_sink,
        meter,
        max_memory_bytes,
        profile,
        ..
    } = store;
    // Profiled only when counted.
    let profile: *mut crate::profile::Profile = match (meter.is_some(), profile) {
        (true, Some(p)) => &mut **p,
        _ => std::ptr::null_mut(),
    };
    // Counted per opcode only when counted at all.
    let op_counts: *mut u64 = match meter.as_mut().and_then(|m| m.opcodes.as_mut()) {
        Some(counts) => counts.as_mut_ptr(),
        None => std::ptr::null_mut(),
    };
    let max_pages = max_memory_bytes.map(|b| b / 65_536);
    let metered = meter.is_some();
    let (mut stack, mut frames, mut cur, mut base, mut pc, mut entering) = match start {
        Start::Call { func, args } => {
            let nresults = types[funcs[func as usize].type_id() as usize].results.len();
            // The entry may itself be a host function.
            if let FuncInst::Host { func: host, .. } = &funcs[func as usize] {
                let mut results = vec![0u64; nresults];
                host(
                    &mut Caller {
                        memory: None,
                        data: &mut **data,
                        note: None,
                        instructions: meter.as_ref().map(|m| m.executed_at(*fuel)),
                    },
                    args,
                    &mut results,
                )?;
                return Ok(results);
            }
            let mut stack: Vec<u64> = vec![0; args.len().max(nresults)];
            stack[..args.len()].copy_from_slice(args);
            (stack, Vec::new(), func, 0, 0, true)
        }
        // A restored run (`crate::checkpoint`): checked against the image, its functions
        // verified, every frame's slots inside `stack`.
        Start::Resume(Suspended { stack, frames, top }) => (
            stack,
            frames,
            top.func,
            top.base as usize,
            top.pc as usize,
            false,
        ),
    };
    // Ends the run with trap `$t`, named after the current function unless it names one.
    macro_rules! fail_here {
        ($t:expr) => {{
            let mut t: Trap = $t;
            if t.func.is_none() {
                t.func = Some(store_name(instances, funcs, cur));
            }
            return Err(t);
        }};
    }
    // Takes a checkpoint with the current activation resuming at `$pc` and `$instructions`
    // executed, and hands it to the store's sink; a failure (or no sink) ends the run.
    macro_rules! checkpoint {
        ($pc:expr, $instructions:expr) => {{
            let top = Frame {
                func: cur,
                pc: $pc as u32,
                base: base as u32,
            };
            let state = crate::checkpoint::capture(
                instances, funcs, globals, memories, tables, &stack, &frames, top,
            )
            .and_then(|mut snapshot| {
                snapshot.instructions = $instructions;
                match checkpoint_sink {
                    Some(sink) => sink(snapshot),
                    None => Err(TrapKind::Checkpoint.into()),
                }
            });
            if let Err(t) = state {
                fail_here!(t);
            }
        }};
    }
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
            // SAFETY: the frame's slots are inside the stack (resized above), and the function
            // passed the verifier (`ensure_verified` above).
            unsafe { init_frame(stack.as_mut_ptr().add(base), entry) };
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
                // SAFETY: `ip` is at an instruction start and the verifier proved that its operands
                // lie inside the code.
                unsafe { unit_at(ip, $i) }
            }};
        }
        // The two-unit operand at `$i` (an immediate, target or index), low half first.
        macro_rules! w32 {
            ($i:expr) => {{
                debug_assert!(pc_now!() + $i + 1 < code.len());
                // SAFETY: as for `w!`.
                unsafe { pair_at(ip, $i) }
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
                fuel: *fuel,
                meter_stop: false,
                profile,
                op_counts,
                #[cfg(feature = "op-stats")]
                prev_word: u32::MAX,
            })
        };
        loop {
            // The profile's event (a call or return made here may have changed the stack).
            if !profile.is_null() {
                // SAFETY: the store's profile, which nothing else touches during the run.
                unsafe { (*profile).event(&frames, cur, *fuel) };
            }
            // A meter event (`crate::meter`), at the instruction about to run: after the safe
            // point where the metered loop stopped, or after an instruction run here.
            if metered && *fuel <= 0 {
                let m = meter.as_mut().expect("a metered run has a meter");
                let executed = m.executed_at(*fuel);
                m.executed = executed;
                let then = match (m.hook)(executed) {
                    crate::meter::Action::Continue(next) => Some(next),
                    crate::meter::Action::Stop(t) => fail_here!(t),
                    crate::meter::Action::Checkpoint(then) => {
                        checkpoint!(pc_now!(), executed);
                        match then {
                            Some(next) => Some(next),
                            None => trap!(TrapKind::Checkpoint),
                        }
                    }
                };
                if let Some(next) = then {
                    m.next = next;
                    *fuel = m.fuel();
                    if !profile.is_null() {
                        // SAFETY: as above; the counter starts again from here.
                        unsafe { (*profile).last_fuel = *fuel };
                    }
                }
            }
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
            #[cfg(feature = "step-hooks")]
            let stepped = !profile.is_null() && unsafe { (*profile).steps() };
            #[cfg(not(feature = "step-hooks"))]
            let stepped = false;
            if stepped {
                hr.fuel = *fuel;
                #[cfg(feature = "step-hooks")]
                unsafe {
                    hot::<Stepped>(h)
                };
            } else if !op_counts.is_null() {
                hr.fuel = *fuel;
                unsafe { hot::<CountedOps>(h) };
            } else if metered {
                hr.fuel = *fuel;
                unsafe { hot::<Counted>(h) };
            } else {
                unsafe { hot::<Plain>(h) };
            }
            // SAFETY: as above (`hot` has returned).
            let hr = unsafe { &mut *h };
            if metered {
                *fuel = hr.fuel;
            }
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
            if hr.meter_stop {
                // Stopped at a safe point for the event above.
                hr.meter_stop = false;
                continue;
            }
            let op = match hr.cold_op.take() {
                Some(op) => op,
                None => {
                    let word = w!(0);
                    // SAFETY: as in `hot`: `ip` is at an instruction start.
                    unsafe { Op::from_word_unchecked(word) }
                }
            };
            match Cold::of(op) {
                Some(Cold::Return) => {
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
                Some(Cold::Call)
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
                Some(
                    Cold::Call | Cold::CallIndirect | Cold::ReturnCall | Cold::ReturnCallIndirect,
                ) => {
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
                            // A traced host call: its slice, with what the host notes.
                            // SAFETY: the store's profile, which nothing else touches here.
                            let traced =
                                !profile.is_null() && unsafe { (*profile).observes_host() };
                            let notes = traced && unsafe { (*profile).wants_notes() };
                            let began = if traced {
                                unsafe { (*profile).host_start(*fuel) }
                            } else {
                                0
                            };
                            let mut note = None;
                            let mut caller = Caller {
                                memory: mem_addr.map(|m| &mut memories[m]),
                                data: &mut **data,
                                note: notes.then_some(&mut note),
                                instructions: meter.as_ref().map(|m| m.executed_at(*fuel)),
                            };
                            // The guest asked for a checkpoint (`chiwawa.checkpoint`): taken
                            // below, once the call has returned (results zero).
                            let mut checkpoint = false;
                            let outcome = host(&mut caller, &params, &mut results);
                            if traced {
                                // SAFETY: as above.
                                unsafe { (*profile).host_end(callee, began, note) };
                            }
                            if let Err(t) = outcome {
                                if t.kind == TrapKind::Checkpoint && !tail {
                                    checkpoint = true;
                                } else {
                                    fail_here!(t);
                                }
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
                            if checkpoint {
                                // The state at the instruction after the call: the callers,
                                // this activation resuming at `next`, its frame's slots.
                                let executed = meter.as_ref().map_or(0, |m| m.executed_at(*fuel));
                                checkpoint!(next, executed);
                            }
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
                Some(Cold::RefFunc) => {
                    s!(1) = inst.funcs[w32!(2) as usize] as u64 + 1;
                    adv!(4);
                }
                Some(Cold::MemorySize) => {
                    s!(1) = mem!().pages() as u64;
                    adv!(4);
                }
                Some(Cold::MemoryGrow) => {
                    let delta = s!(4) as u32;
                    let memory = mem!();
                    let old = match max_pages {
                        Some(max) if u64::from(memory.pages()) + u64::from(delta) > max => None,
                        _ => memory.grow(delta),
                    };
                    refresh_mem!();
                    s!(1) = old.unwrap_or(u32::MAX) as u64;
                    adv!(5);
                }
                Some(Cold::MemoryFill) => {
                    let (d, v, n) = (s!(3) as u32 as u64, s!(4) as u8, s!(5) as u32 as u64);
                    let bytes = mem!().bytes_mut();
                    let Some(r) = range(d, n, bytes.len()) else {
                        trap!(TrapKind::MemoryOutOfBounds)
                    };
                    bytes[r].fill(v);
                    refresh_mem!();
                    adv!(6);
                }
                Some(Cold::MemoryCopy) => {
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
                Some(Cold::MemoryInit) => {
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
                Some(Cold::DataDrop) => {
                    inst.dropped_datas[w32!(1) as usize].set(true);
                    adv!(3);
                }
                Some(Cold::TableGet) => {
                    let table = &tables[inst.tables[w32!(2) as usize] as usize];
                    match table.elems.get(s!(4) as u32 as usize) {
                        Some(&v) => s!(1) = v,
                        None => trap!(TrapKind::TableOutOfBounds),
                    }
                    adv!(5);
                }
                Some(Cold::TableSet) => {
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
                Some(Cold::TableSize) => {
                    s!(1) = tables[inst.tables[w32!(2) as usize] as usize].elems.len() as u64;
                    adv!(4);
                }
                Some(Cold::TableGrow) => {
                    let (init, delta) = (s!(4), s!(5) as u32);
                    let table = &mut tables[inst.tables[w32!(2) as usize] as usize];
                    if let Err(kind) = check_ref(table, init, funcs.len()) {
                        trap!(kind);
                    }
                    s!(1) = table.grow(delta, init).unwrap_or(u32::MAX) as u64;
                    adv!(6);
                }
                Some(Cold::TableFill) => {
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
                Some(Cold::TableCopy) => {
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
                Some(Cold::TableInit) => {
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
                Some(Cold::ElemDrop) => {
                    inst.dropped_elems[w32!(1) as usize].set(true);
                    adv!(3);
                }
                None => unreachable!("hot runs every other instruction"),
            }
        }
    }
}
