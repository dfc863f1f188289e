//! Stack code to register code, one function at a time.
//!
//! Every operand stack position `p` owns frame slot `num_locals + p`. The translator keeps a
//! model of the stack whose entries are either *materialized* (the value is in the position's
//! own slot) or *lazy* (a local or a constant not yet copied anywhere). Instructions read lazy
//! locals straight from the local's slot, so `local.get` costs nothing; an instruction that
//! produces a value writes its position's slot, and `op; local.set` writes the local directly.
//!
//! Invariants that keep this correct:
//! - before a local is written, every lazy copy of it on the stack is materialized;
//! - at every block, loop and if, the whole stack is materialized, so code that joins from
//!   several paths sees each value in its own slot;
//! - a branch copies its values into the target label's slots (ascending: sources sit at or
//!   above their destinations, so the copies never clobber a value still to be read).

use std::collections::BTreeMap;

use chiwawa_format::{Func, FuncType, Op, Operand, MAX_FRAME, OPS};
use wasmparser::{BlockType, FunctionBody, Operator};

use crate::forms::{branch_form, immediate_form, inverse_branch, numeric, Cond};
use crate::TranslateError;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    /// In the position's own slot.
    Temp,
    /// Still in local slot `n`.
    Local(u32),
    /// A constant not yet written anywhere (64-bit pattern of the slot).
    Const(u64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Block,
    Loop,
    If,
    Else,
    Function,
}

struct Ctrl {
    kind: Kind,
    /// Stack height below the block's parameters.
    height: usize,
    params: usize,
    results: usize,
    /// For loops: the start (branch target).
    start: usize,
    /// Target words to patch with the end position.
    fixups: Vec<usize>,
    /// For `if`: the condition branch to patch at `else` or `end`.
    else_fixup: Option<usize>,
}

impl Ctrl {
    /// Values a branch to this label carries.
    fn label_arity(&self) -> usize {
        if self.kind == Kind::Loop {
            self.params
        } else {
            self.results
        }
    }
}

/// A function's constants, each to its index in the function's constant pool.
type ConstIndex = BTreeMap<u64, u32>;

/// The buffers a function's translation works in, kept from one function to the next so that
/// translating a module allocates per function only the code and constants it keeps.
#[derive(Default)]
pub(crate) struct Scratch {
    stack: Vec<Entry>,
    ctrl: Vec<Ctrl>,
    code: Vec<u32>,
    consts: Vec<u64>,
    const_index: ConstIndex,
    /// Emptied fixup lists of closed blocks, for the next blocks.
    fixup_pool: Vec<Vec<usize>>,
    depths: Vec<u32>,
    trampolines: Vec<(u32, u32)>,
    pairs: crate::peephole::Scratch,
    tails: crate::tails::Scratch,
    /// The code in units, and `encode_into`'s instruction starts.
    units: Vec<u16>,
    starts: Vec<(u32, u32)>,
}

pub(crate) struct FuncTranslator<'a> {
    types: &'a [FuncType],
    func_types: &'a [u32],
    num_locals: u32,
    stack: Vec<Entry>,
    max_height: usize,
    ctrl: Vec<Ctrl>,
    code: Vec<u32>,
    /// Word index of the destination operand of the last instruction, when that instruction
    /// produced the top of the stack and nothing (label, other instruction) came after it.
    last_dst: Option<usize>,
    /// The last instruction, when it is a comparison whose result a branch may fuse with:
    /// its start, and the branch that replaces it.
    last_cmp: Option<(usize, Cond)>,
    /// Nesting depth of blocks inside unreachable code (skipped entirely).
    pub(crate) dead: Option<usize>,
    /// The `else` or `end` being translated closes unreachable code: nothing falls through.
    dead_end: bool,
    /// Loops enclosing the current instruction.
    loops: usize,
    /// Constants read as slots (see `pop`), and where each value is.
    consts: Vec<u64>,
    const_index: ConstIndex,
    fixup_pool: Vec<Vec<usize>>,
    depths: Vec<u32>,
    trampolines: Vec<(u32, u32)>,
}

/// Slot operands at or above this mark name constant `slot - CONST_MARK` until `relocate`
/// gives the constants their place in the frame (real slots are far below it).
const CONST_MARK: u32 = 1 << 31;

/// Parameters plus declared locals of a body.
pub(crate) fn count_locals(
    func_type: &FuncType,
    body: &FunctionBody<'_>,
) -> Result<u32, TranslateError> {
    let mut num_locals = func_type.params.len() as u64;
    for local in body.get_locals_reader()? {
        let (count, _) = local?;
        num_locals += count as u64;
    }
    // Validation bounds locals at 50,000 per function.
    u32::try_from(num_locals).map_err(|_| crate::unsupported("too many locals"))
}

/// Translates one function body into register code (the body must be valid).
pub fn translate_body(
    types: &[FuncType],
    func_types: &[u32],
    ty: u32,
    body: &FunctionBody<'_>,
) -> Result<Func, TranslateError> {
    let mut scratch = Scratch::default();
    let num_locals = count_locals(&types[ty as usize], body)?;
    let mut t = FuncTranslator::new(types, func_types, ty, num_locals, &mut scratch);
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let op = reader.read()?;
        t.operator(&op)?;
    }
    t.finish(ty, &mut scratch)
}

/// Per opcode: its length in words (0 when it has a `Targets` operand) and a mask of the
/// operand words (bit `i` for word `1 + i`) that are slots.
const SLOT_LAYOUT: [(u8, u32); OPS.len()] = slot_layout();

const fn slot_layout() -> [(u8, u32); OPS.len()] {
    let mut table = [(0u8, 0u32); OPS.len()];
    let mut op = 0;
    while op < OPS.len() {
        let operands = OPS[op].operands;
        let mut mask = 0u32;
        let mut word = 0;
        let mut i = 0;
        let mut fixed = true;
        while i < operands.len() {
            match operands[i] {
                Operand::Slot => {
                    mask |= 1 << word;
                    word += 1;
                }
                Operand::Imm64 => word += 2,
                Operand::Targets => fixed = false,
                _ => word += 1,
            }
            i += 1;
        }
        assert!(word < 32);
        table[op] = (if fixed { 1 + word as u8 } else { 0 }, mask);
        op += 1;
    }
    table
}

/// Places the constants between the locals and the stack: constant `k` (operand
/// `CONST_MARK + k`) becomes slot `num_locals + k`, and every stack slot moves up by `count`.
fn relocate(code: &mut [u32], num_locals: u32, count: u32) {
    let fix = |s: u32| {
        if s >= CONST_MARK {
            num_locals + (s - CONST_MARK)
        } else if s >= num_locals {
            s + count
        } else {
            s
        }
    };
    let mut at = 0;
    while at < code.len() {
        let word = code[at] as usize;
        debug_assert!(word < OPS.len(), "the translator emits only valid opcodes");
        let (len, mut mask) = SLOT_LAYOUT[word];
        if len == 0 {
            // Variable length: walk the operands.
            at = chiwawa_format::visit_operands(code, at, |kind, word| {
                if kind == Operand::Slot {
                    *word = fix(*word);
                }
            })
            .expect("the translator emits whole instructions");
            continue;
        }
        while mask != 0 {
            let i = at + 1 + mask.trailing_zeros() as usize;
            code[i] = fix(code[i]);
            mask &= mask - 1;
        }
        at += len as usize;
    }
}

impl<'a> FuncTranslator<'a> {
    /// A translator for a function of type `ty`, working in `scratch`'s buffers.
    pub(crate) fn new(
        types: &'a [FuncType],
        func_types: &'a [u32],
        ty: u32,
        num_locals: u32,
        scratch: &mut Scratch,
    ) -> Self {
        let mut ctrl = std::mem::take(&mut scratch.ctrl);
        ctrl.clear();
        let mut fixup_pool = std::mem::take(&mut scratch.fixup_pool);
        let mut fixups = fixup_pool.pop().unwrap_or_default();
        fixups.clear();
        ctrl.push(Ctrl {
            kind: Kind::Function,
            height: 0,
            params: 0,
            results: types[ty as usize].results.len(),
            start: 0,
            fixups,
            else_fixup: None,
        });
        let mut t = FuncTranslator {
            types,
            func_types,
            num_locals,
            stack: std::mem::take(&mut scratch.stack),
            max_height: 0,
            ctrl,
            code: std::mem::take(&mut scratch.code),
            last_dst: None,
            last_cmp: None,
            dead: None,
            dead_end: false,
            loops: 0,
            consts: std::mem::take(&mut scratch.consts),
            const_index: std::mem::take(&mut scratch.const_index),
            fixup_pool,
            depths: std::mem::take(&mut scratch.depths),
            trampolines: std::mem::take(&mut scratch.trampolines),
        };
        t.stack.clear();
        t.code.clear();
        t.consts.clear();
        t.const_index.clear();
        t
    }

    /// The finished function (the body has been translated to its end); the buffers go back
    /// to `scratch`.
    pub(crate) fn finish(mut self, ty: u32, scratch: &mut Scratch) -> Result<Func, TranslateError> {
        let num_locals = self.num_locals;
        let results = self.types[ty as usize].results.len();
        // One slot of headroom: a call or return with no values names the slot just past the
        // stack top as its base, and every slot operand must be inside the frame.
        let frame_size = num_locals as usize + self.consts.len() + self.max_height.max(results) + 1;
        let func = if frame_size > MAX_FRAME as usize {
            Err(crate::unsupported(&format!(
                "function frame too large ({frame_size} slots for locals, constants and operand \
                 stack; images allow {MAX_FRAME})"
            )))
        } else {
            if !self.consts.is_empty() {
                relocate(&mut self.code, num_locals, self.consts.len() as u32);
            }
            crate::tails::duplicate_tails(&mut self.code, &mut scratch.tails);
            crate::peephole::join_pairs(&mut self.code, &mut scratch.pairs);
            chiwawa_format::encode_into(&self.code, &mut scratch.units, &mut scratch.starts)
                .map_err(|e| crate::unsupported(&format!("encoding its code: {e}")))
                .map(|()| Func {
                    ty,
                    num_locals,
                    frame_size: frame_size as u32,
                    consts: self.consts.to_vec(),
                    code: scratch.units.to_vec(),
                    ..Func::default()
                })
        };
        self.recycle(scratch);
        func
    }

    /// Gives the buffers back to `scratch`.
    pub(crate) fn recycle(self, scratch: &mut Scratch) {
        scratch.stack = self.stack;
        scratch.ctrl = self.ctrl;
        scratch.code = self.code;
        scratch.consts = self.consts;
        scratch.const_index = self.const_index;
        scratch.fixup_pool = self.fixup_pool;
        scratch.depths = self.depths;
        scratch.trampolines = self.trampolines;
    }
}

impl FuncTranslator<'_> {
    fn slot(&self, pos: usize) -> u32 {
        self.num_locals + pos as u32
    }

    fn emit(&mut self, op: Op, operands: &[u32]) {
        debug_assert!(
            op == Op::BrTable || op.info().fixed_words() == Some(1 + operands.len()),
            "{op:?}"
        );
        self.code.push(op as u32);
        self.code.extend_from_slice(operands);
        self.last_dst = None;
        self.last_cmp = None;
    }

    /// Emits an instruction whose first operand is the destination of a new stack value.
    fn emit_result(&mut self, op: Op, operands: &[u32]) {
        self.emit(op, operands);
        self.last_dst = Some(self.code.len() - operands.len());
    }

    fn push_temp(&mut self) -> u32 {
        self.stack.push(Entry::Temp);
        self.max_height = self.max_height.max(self.stack.len());
        self.slot(self.stack.len() - 1)
    }

    fn emit_const(&mut self, dst: u32, value: u64) {
        if value >> 32 == 0 {
            self.emit_result(Op::Const32, &[dst, value as u32]);
        } else {
            self.emit_result(Op::Const64, &[dst, value as u32, (value >> 32) as u32]);
        }
    }

    /// Writes the entry at `pos` into its own slot.
    fn materialize(&mut self, pos: usize) {
        let dst = self.slot(pos);
        match self.stack[pos] {
            Entry::Temp => return,
            Entry::Local(l) => self.emit(Op::Copy, &[dst, l]),
            Entry::Const(v) => self.emit_const(dst, v),
        }
        self.stack[pos] = Entry::Temp;
    }

    fn materialize_all(&mut self) {
        for pos in 0..self.stack.len() {
            self.materialize(pos);
        }
    }

    /// Pops the top value and returns a slot holding it (a local's slot for a lazy local).
    fn pop(&mut self) -> u32 {
        let pos = self.stack.len() - 1;
        let slot = match self.stack[pos] {
            Entry::Temp => self.slot(pos),
            Entry::Local(l) => l,
            // Inside a loop, a constant operand is read from a slot the function's entry fills,
            // instead of being written again on every iteration.
            Entry::Const(v) if self.loops > 0 => {
                let next = self.consts.len() as u32;
                let k = *self.const_index.entry(v).or_insert(next);
                if k == next {
                    self.consts.push(v);
                }
                CONST_MARK + k
            }
            Entry::Const(v) => {
                let dst = self.slot(pos);
                self.emit_const(dst, v);
                dst
            }
        };
        self.stack.pop();
        slot
    }

    /// Copies the top `n` values to the slots of positions `dst_pos..dst_pos + n`.
    fn copy_top_to(&mut self, n: usize, dst_pos: usize) {
        let src_pos = self.stack.len() - n;
        for i in 0..n {
            let dst = self.slot(dst_pos + i);
            match self.stack[src_pos + i] {
                Entry::Temp if src_pos == dst_pos => {}
                Entry::Temp => {
                    let src = self.slot(src_pos + i);
                    self.emit(Op::Copy, &[dst, src]);
                }
                Entry::Local(l) => self.emit(Op::Copy, &[dst, l]),
                Entry::Const(v) => self.emit_const(dst, v),
            }
        }
    }

    /// Whether a branch carrying `n` values to position `dst_pos` needs no copies.
    fn in_place(&self, n: usize, dst_pos: usize) -> bool {
        let src_pos = self.stack.len() - n;
        src_pos == dst_pos && self.stack[src_pos..].iter().all(|e| *e == Entry::Temp)
    }

    fn block_arity(&self, ty: BlockType) -> (usize, usize) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(i) => {
                let t = &self.types[i as usize];
                (t.params.len(), t.results.len())
            }
        }
    }

    fn call_arity(&self, func: u32) -> (usize, usize) {
        let t = &self.types[self.func_types[func as usize] as usize];
        (t.params.len(), t.results.len())
    }

    fn type_arity(&self, ty: u32) -> (usize, usize) {
        let t = &self.types[ty as usize];
        (t.params.len(), t.results.len())
    }

    pub(crate) fn push_ctrl(&mut self, kind: Kind, ty: BlockType) {
        let (params, results) = self.block_arity(ty);
        self.materialize_all();
        if kind == Kind::Loop {
            self.loops += 1;
        }
        self.last_dst = None;
        let mut fixups = self.fixup_pool.pop().unwrap_or_default();
        fixups.clear();
        self.ctrl.push(Ctrl {
            kind,
            height: self.stack.len() - params,
            params,
            results,
            start: self.code.len(),
            fixups,
            else_fixup: None,
        });
    }

    /// Marks the rest of the current block unreachable.
    pub(crate) fn set_dead(&mut self) {
        let height = self.ctrl.last().expect("control frame").height;
        self.stack.truncate(height);
        self.dead = Some(0);
        self.last_dst = None;
    }

    /// Emits a jump to the label `depth` levels out (its values already in place).
    fn jump_word(&mut self, depth: u32, word: usize) {
        let label = self.ctrl.len() - 1 - depth as usize;
        if self.ctrl[label].kind == Kind::Loop {
            self.code[word] = self.ctrl[label].start as u32;
        } else {
            self.ctrl[label].fixups.push(word);
        }
    }

    fn label(&self, depth: u32) -> (usize, usize) {
        let c = &self.ctrl[self.ctrl.len() - 1 - depth as usize];
        (c.label_arity(), c.height)
    }

    /// Copies the branch values and jumps to label `depth` (unconditionally). A branch to the
    /// function's own label is a return.
    pub(crate) fn branch(&mut self, depth: u32) {
        if depth as usize == self.ctrl.len() - 1 {
            return self.return_top();
        }
        let (arity, height) = self.label(depth);
        self.copy_top_to(arity, height);
        self.emit(Op::Br, &[0]);
        let word = self.code.len() - 1;
        self.jump_word(depth, word);
    }

    /// Resolves forward branches of the closing block to here.
    fn patch_fixups(&mut self, fixups: &[usize]) {
        let here = self.code.len() as u32;
        for &word in fixups {
            self.code[word] = here;
        }
    }

    /// Returns the function's results, the top values of the stack, without changing the
    /// stack model (a conditional return leaves it to the code after it): from where they are
    /// when that is one slot or consecutive slots, else copied to the result slots first.
    fn return_top(&mut self) {
        let n = self.ctrl[0].results;
        let first = self.stack.len() - n;
        let src = match &self.stack[first..] {
            [Entry::Local(l)] => *l,
            top if top.iter().all(|e| *e == Entry::Temp) => self.slot(first),
            _ => {
                self.copy_top_to(n, 0);
                self.slot(0)
            }
        };
        self.emit(Op::Return, &[src, n as u32]);
    }

    pub(crate) fn end(&mut self) {
        let ctrl = self.ctrl.pop().expect("control frame");
        let dead = std::mem::take(&mut self.dead_end);
        if ctrl.kind == Kind::Loop {
            self.loops -= 1;
        }
        if ctrl.kind == Kind::Function {
            // The fallthrough returns its results from where they are; branches that left
            // theirs in the result slots come to one shared return after it.
            self.ctrl.push(ctrl);
            if !dead {
                self.return_top();
            }
            let ctrl = self.ctrl.pop().expect("pushed above");
            if !ctrl.fixups.is_empty() || self.code.is_empty() {
                self.patch_fixups(&ctrl.fixups);
                let src = self.slot(0);
                self.emit(Op::Return, &[src, ctrl.results as u32]);
            }
            self.fixup_pool.push(ctrl.fixups);
            return;
        }
        for pos in ctrl.height..self.stack.len() {
            self.materialize(pos);
        }
        if let Some(word) = ctrl.else_fixup {
            // An `if` without `else`: the false path passes the parameters through.
            self.code[word] = self.code.len() as u32;
        }
        self.patch_fixups(&ctrl.fixups);
        self.fixup_pool.push(ctrl.fixups);
        self.stack.truncate(ctrl.height);
        for _ in 0..ctrl.results {
            self.push_temp();
        }
        self.last_dst = None;
    }

    pub(crate) fn unary(&mut self, op: Op) {
        let a = self.pop();
        let dst = self.push_temp();
        let start = self.code.len();
        self.emit_result(op, &[dst, a]);
        if op == Op::I32Eqz {
            self.last_cmp = Some((start, Cond::Eqz(a)));
        }
    }

    /// When stack position `pos` is a temporary written by the last instruction, and nothing
    /// (no label, no other instruction) came after it, and that instruction is `op`: its start.
    /// Its value is read only by whoever pops `pos`, so a fused instruction may replace it.
    fn last_producer(&self, pos: usize, op: Op) -> Option<usize> {
        let word = self.last_dst?;
        let start = word.checked_sub(1)?;
        let fits = self.stack[pos] == Entry::Temp
            && self.code[word] == self.slot(pos)
            && self.code[start] == op as u32
            && Some(self.code.len() - start) == op.info().fixed_words();
        fits.then_some(start)
    }

    /// For a commutative binary op whose operand (either one) was just computed by `first`
    /// (`first dst, x, y`): emits `fused dst, other, x, y` instead of both, and says so.
    fn fuse_commutative(&mut self, first: Op, fused: Op) -> bool {
        let n = self.stack.len();
        // The computed value on top: the other operand is popped normally.
        if let Some(start) = self.last_producer(n - 1, first) {
            let (x, y) = (self.code[start + 2], self.code[start + 3]);
            self.code.truncate(start);
            self.stack.pop();
            let other = self.pop();
            let dst = self.push_temp();
            self.emit_result(fused, &[dst, other, x, y]);
            return true;
        }
        // The computed value below a local, which popping does not emit anything for.
        if let Entry::Local(other) = self.stack[n - 1] {
            if let Some(start) = self.last_producer(n - 2, first) {
                let (x, y) = (self.code[start + 2], self.code[start + 3]);
                self.code.truncate(start);
                self.stack.truncate(n - 2);
                let dst = self.push_temp();
                self.emit_result(fused, &[dst, other, x, y]);
                return true;
            }
        }
        false
    }

    /// `x << k` then `>> k` by the same constant, when the left shift was just computed:
    /// a sign extension (`shr_s` by 24 or 16, i64 by 56, 48 or 32) or a mask (`i32.shr_u`),
    /// one instruction instead of two. C compilers without the sign-extension feature emit
    /// these for every narrowing cast.
    fn fuse_shift_pair(&mut self, shr: Op, amount: u32) -> bool {
        let (shl, bits) = match shr {
            Op::I32ShrSImm | Op::I32ShrUImm => (Op::I32ShlImm, 32),
            Op::I64ShrSImm => (Op::I64ShlImm, 64),
            _ => return false,
        };
        let n = self.stack.len();
        let Some(start) = self.last_producer(n - 2, shl) else {
            return false;
        };
        let k = amount & (bits - 1);
        if self.code[start + 3] & (bits - 1) != k {
            return false;
        }
        let (fused, mask) = match (shr, k) {
            (Op::I32ShrSImm, 24) => (Op::I32Extend8S, None),
            (Op::I32ShrSImm, 16) => (Op::I32Extend16S, None),
            (Op::I32ShrUImm, 1..) => (Op::I32AndImm, Some(u32::MAX >> k)),
            (Op::I64ShrSImm, 56) => (Op::I64Extend8S, None),
            (Op::I64ShrSImm, 48) => (Op::I64Extend16S, None),
            (Op::I64ShrSImm, 32) => (Op::I64Extend32S, None),
            _ => return false,
        };
        let src = self.code[start + 2];
        self.code.truncate(start);
        self.stack.truncate(n - 2);
        let dst = self.push_temp();
        match mask {
            Some(mask) => {
                self.emit_result(fused, &[dst, src, mask]);
                // A flag test, as for any `i32.and_imm`.
                let cond = Cond::Cmp {
                    op: Op::BrI32AndImmNez,
                    a: src,
                    b: mask,
                };
                self.last_cmp = Some((start, cond));
            }
            None => self.emit_result(fused, &[dst, src]),
        }
        true
    }

    pub(crate) fn binary(&mut self, op: Op) {
        let n = self.stack.len();
        // A constant right operand becomes an immediate (`x - c` is `x + -c`).
        if let Entry::Const(c) = self.stack[n - 1] {
            if let Some((imm_op, imm)) = immediate_form(op, c) {
                if self.fuse_shift_pair(imm_op, imm) {
                    return;
                }
                if imm_op == Op::I32AndImm {
                    // `i32.shr_u_imm; i32.and_imm`: one bit-field extract.
                    if let Some(start) = self.last_producer(n - 2, Op::I32ShrUImm) {
                        let (src, shift) = (self.code[start + 2], self.code[start + 3]);
                        self.code.truncate(start);
                        self.stack.truncate(n - 2);
                        let dst = self.push_temp();
                        self.emit_result(Op::I32ShrUAndImm, &[dst, src, shift, imm]);
                        return;
                    }
                }
                self.stack.pop();
                let a = self.pop();
                let dst = self.push_temp();
                let start = self.code.len();
                self.emit_result(imm_op, &[dst, a, imm]);
                let branch = match branch_form(op) {
                    Some(branch) => Some(branch.1),
                    None if imm_op == Op::I32AndImm => Some(Op::BrI32AndImmNez),
                    None => None,
                };
                if let Some(branch) = branch {
                    let cond = Cond::Cmp {
                        op: branch,
                        a,
                        b: imm,
                    };
                    self.last_cmp = Some((start, cond));
                }
                return;
            }
        }
        // Commutative pairs whose first instruction feeds the second, on either side.
        // `f64.mul; f64.add`: f64.add commutes (only NaN payloads could tell, and Wasm leaves
        // those nondeterministic). `i32.shl_imm; i32.add`: an indexed address.
        let pair = match op {
            Op::F64Add => Some((Op::F64Mul, Op::F64MulAdd)),
            Op::I32Add => Some((Op::I32ShlImm, Op::I32AddShlImm)),
            _ => None,
        };
        if let Some((first, fused)) = pair {
            if self.fuse_commutative(first, fused) {
                return;
            }
        }
        let b = self.pop();
        let a = self.pop();
        let dst = self.push_temp();
        let start = self.code.len();
        self.emit_result(op, &[dst, a, b]);
        if let Some(branch) = branch_form(op) {
            self.last_cmp = Some((start, Cond::Cmp { op: branch.0, a, b }));
        }
    }

    /// Pops a branch condition. When it is the result of the comparison just emitted, that
    /// comparison is taken back and returned, to be fused into the branch.
    fn pop_cond(&mut self) -> Cond {
        let top = self.stack.len() - 1;
        if let (Some((start, cond)), Some(word), Entry::Temp) =
            (self.last_cmp, self.last_dst, self.stack[top])
        {
            // The comparison is the last instruction (nothing, not even a label, came after
            // it) and wrote the condition's slot, which nothing else reads.
            if self.code[word] == self.slot(top) && word == start + 1 {
                self.code.truncate(start);
                self.stack.pop();
                self.last_dst = None;
                self.last_cmp = None;
                return cond;
            }
        }
        Cond::Nez(self.pop())
    }

    /// Emits a conditional branch taken when `cond` is `when`; returns its target word.
    fn emit_branch(&mut self, cond: Cond, when: bool) -> usize {
        let (op, operands) = match (cond, when) {
            (Cond::Nez(c), true) | (Cond::Eqz(c), false) => (Op::BrIfNez, [c, 0, 0]),
            (Cond::Nez(c), false) | (Cond::Eqz(c), true) => (Op::BrIfEqz, [c, 0, 0]),
            (Cond::Cmp { op, a, b }, true) => (op, [a, b, 0]),
            (Cond::Cmp { op, a, b }, false) => (inverse_branch(op), [a, b, 0]),
        };
        let n = if matches!(op, Op::BrIfNez | Op::BrIfEqz) {
            2
        } else {
            3
        };
        self.emit(op, &operands[..n]);
        self.code.len() - 1
    }

    pub(crate) fn load(&mut self, op: Op, offset: u64) {
        let fused = match op {
            Op::I32Load => Some(Op::I32LoadAdd),
            Op::I32Load8U => Some(Op::I32Load8UAdd),
            Op::I64Load => Some(Op::I64LoadAdd),
            _ => None,
        };
        let scaled = match op {
            Op::I32Load => Some(Op::I32LoadShl),
            Op::I64Load => Some(Op::I64LoadShl),
            _ => None,
        };
        if let Some(scaled) = scaled {
            // `i32.add_shl_imm; load`: the load computes the element's address itself.
            if let Some(start) = self.last_producer(self.stack.len() - 1, Op::I32AddShlImm) {
                let (a, b, shift) = (
                    self.code[start + 2],
                    self.code[start + 3],
                    self.code[start + 4],
                );
                self.code.truncate(start);
                self.stack.pop();
                let dst = self.push_temp();
                self.emit_result(scaled, &[dst, a, b, shift, offset as u32]);
                return;
            }
        }
        if let Some(fused) = fused {
            // `i32.add; load`: the load adds the two address parts itself.
            if let Some(start) = self.last_producer(self.stack.len() - 1, Op::I32Add) {
                let (a, b) = (self.code[start + 2], self.code[start + 3]);
                self.code.truncate(start);
                self.stack.pop();
                let dst = self.push_temp();
                self.emit_result(fused, &[dst, a, b, offset as u32]);
                return;
            }
        }
        let addr = self.pop();
        let dst = self.push_temp();
        self.emit_result(op, &[dst, addr, offset as u32]);
    }

    pub(crate) fn store(&mut self, op: Op, offset: u64) {
        let value = self.pop();
        let addr = self.pop();
        self.emit(op, &[addr, value, offset as u32]);
    }

    /// Materializes the top `n` values (call arguments) and returns the slot of the first.
    fn args(&mut self, n: usize) -> u32 {
        let first = self.stack.len() - n;
        for pos in first..self.stack.len() {
            self.materialize(pos);
        }
        self.slot(first)
    }

    /// [`args`](Self::args) for a tail call. Its results are not pushed, but a call's slots
    /// (its base and the `max(params, results)` slots from there) must lie inside the frame,
    /// as for any call: the callee may return more values than it takes.
    fn tail_args(&mut self, params: usize, results: usize) -> u32 {
        let base = self.args(params);
        let base_height = self.stack.len() - params;
        self.max_height = self.max_height.max(base_height + results);
        base
    }

    fn call_results(&mut self, params: usize, results: usize) {
        let len = self.stack.len() - params;
        self.stack.truncate(len);
        for _ in 0..results {
            self.push_temp();
        }
    }

    pub(crate) fn set_local(&mut self, local: u32, tee: bool) {
        let top = self.stack.len() - 1;
        for pos in 0..top {
            if self.stack[pos] == Entry::Local(local) {
                self.materialize(pos);
            }
        }
        match self.stack[top] {
            Entry::Temp => match self.last_dst {
                // The value was just computed: make its instruction write the local directly.
                Some(word) if self.code[word] == self.slot(top) => self.code[word] = local,
                _ => {
                    let src = self.slot(top);
                    self.emit(Op::Copy, &[local, src]);
                }
            },
            Entry::Local(l) if l == local => {}
            Entry::Local(l) => self.emit(Op::Copy, &[local, l]),
            Entry::Const(v) => self.emit_const(local, v),
        }
        self.last_dst = None;
        if tee {
            self.stack[top] = Entry::Local(local);
        } else {
            self.stack.pop();
        }
    }

    pub(crate) fn operator(&mut self, op: &Operator<'_>) -> Result<(), TranslateError> {
        if let Some(depth) = self.dead {
            match *op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.dead = Some(depth + 1);
                    return Ok(());
                }
                Operator::Else if depth > 0 => return Ok(()),
                Operator::End if depth > 0 => {
                    self.dead = Some(depth - 1);
                    return Ok(());
                }
                Operator::Else => self.dead = None,
                Operator::End => {
                    self.dead = None;
                    self.dead_end = true;
                }
                _ => return Ok(()),
            }
        }
        use Operator as O;
        match *op {
            O::Nop => {}
            O::Unreachable => {
                self.emit(Op::Unreachable, &[]);
                self.set_dead();
            }
            O::Block { blockty } => self.push_ctrl(Kind::Block, blockty),
            O::Loop { blockty } => self.push_ctrl(Kind::Loop, blockty),
            O::If { blockty } => {
                // Materializing the stack for the block may emit copies after the comparison;
                // they write only positions below the popped operands, never locals, so the
                // fused branch may read the comparison's operands after them.
                let cond = self.pop_cond();
                self.push_ctrl(Kind::If, blockty);
                let word = self.emit_branch(cond, false);
                self.ctrl.last_mut().expect("if").else_fixup = Some(word);
            }
            O::Else => {
                let top = self.ctrl.len() - 1;
                let (height, params) = (self.ctrl[top].height, self.ctrl[top].params);
                if self.stack.len() >= height {
                    // The then-branch may be dead here; its results are only needed if not.
                    for pos in height..self.stack.len() {
                        self.materialize(pos);
                    }
                }
                self.emit(Op::Br, &[0]);
                let br = self.code.len() - 1;
                self.ctrl[top].fixups.push(br);
                let word = self.ctrl[top].else_fixup.take().expect("if before else");
                self.code[word] = self.code.len() as u32;
                self.ctrl[top].kind = Kind::Else;
                self.stack.truncate(height);
                for _ in 0..params {
                    self.push_temp();
                }
                self.last_dst = None;
            }
            O::End => self.end(),
            O::Br { relative_depth } => {
                self.branch(relative_depth);
                self.set_dead();
            }
            O::BrIf { relative_depth } => self.br_if(relative_depth),
            O::BrTable { ref targets } => {
                let index = self.pop();
                let mut depths = std::mem::take(&mut self.depths);
                depths.clear();
                for t in targets.targets() {
                    depths.push(t?);
                }
                depths.push(targets.default());
                self.emit(Op::BrTable, &[index, depths.len() as u32]);
                let first = self.code.len();
                self.code.resize(first + depths.len(), 0);
                // Targets whose values are in place jump straight to the label; the others go
                // through a trampoline that copies the values first (one per distinct label).
                let mut trampolines = std::mem::take(&mut self.trampolines);
                trampolines.clear();
                for (i, &depth) in depths.iter().enumerate() {
                    let (arity, height) = self.label(depth);
                    if self.in_place(arity, height) {
                        self.jump_word(depth, first + i);
                    } else if let Some(&(_, at)) = trampolines.iter().find(|(d, _)| *d == depth) {
                        self.code[first + i] = at;
                    } else {
                        let at = self.code.len() as u32;
                        trampolines.push((depth, at));
                        self.code[first + i] = at;
                        self.branch(depth);
                    }
                }
                self.depths = depths;
                self.trampolines = trampolines;
                self.set_dead();
            }
            O::Return => {
                self.return_top();
                self.set_dead();
            }
            O::Call { function_index } => self.call(function_index),
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let index = self.pop();
                let (params, results) = self.type_arity(type_index);
                let base = self.args(params);
                self.emit(Op::CallIndirect, &[type_index, table_index, index, base]);
                self.call_results(params, results);
            }
            O::ReturnCall { function_index } => {
                let (params, results) = self.call_arity(function_index);
                let base = self.tail_args(params, results);
                self.emit(Op::ReturnCall, &[function_index, base]);
                self.set_dead();
            }
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let index = self.pop();
                let (params, results) = self.type_arity(type_index);
                let base = self.tail_args(params, results);
                self.emit(
                    Op::ReturnCallIndirect,
                    &[type_index, table_index, index, base],
                );
                self.set_dead();
            }
            O::Drop => {
                self.stack.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop();
                let b = self.pop();
                let a = self.pop();
                let dst = self.push_temp();
                self.emit_result(Op::Select, &[dst, a, b, cond]);
            }
            O::LocalGet { local_index } => self.local_get(local_index),
            O::LocalSet { local_index } => self.set_local(local_index, false),
            O::LocalTee { local_index } => self.set_local(local_index, true),
            O::GlobalGet { global_index } => {
                let dst = self.push_temp();
                self.emit_result(Op::GlobalGet, &[dst, global_index]);
            }
            O::GlobalSet { global_index } => {
                let src = self.pop();
                self.emit(Op::GlobalSet, &[global_index, src]);
            }
            O::I32Const { value } => self.push_const(value as u32 as u64),
            O::I64Const { value } => self.push_const(value as u64),
            O::F32Const { value } => self.push_const(value.bits() as u64),
            O::F64Const { value } => self.push_const(value.bits()),
            O::RefNull { .. } => self.push_const(0),
            O::RefIsNull => self.unary(Op::I64Eqz),
            O::RefFunc { function_index } => {
                let dst = self.push_temp();
                self.emit_result(Op::RefFunc, &[dst, function_index]);
            }
            // Reinterpretations keep the slot's bits as they are, and so does the zero
            // extension of an i32: 32-bit values are kept zero-extended in their slots.
            O::I32ReinterpretF32
            | O::F32ReinterpretI32
            | O::I64ReinterpretF64
            | O::F64ReinterpretI64
            | O::I64ExtendI32U => {}
            O::I32Load { memarg } | O::F32Load { memarg } => self.load(Op::I32Load, memarg.offset),
            O::I64Load { memarg } | O::F64Load { memarg } => self.load(Op::I64Load, memarg.offset),
            O::I32Load8S { memarg } => self.load(Op::I32Load8S, memarg.offset),
            O::I32Load8U { memarg } => self.load(Op::I32Load8U, memarg.offset),
            O::I32Load16S { memarg } => self.load(Op::I32Load16S, memarg.offset),
            O::I32Load16U { memarg } => self.load(Op::I32Load16U, memarg.offset),
            O::I64Load8S { memarg } => self.load(Op::I64Load8S, memarg.offset),
            O::I64Load8U { memarg } => self.load(Op::I64Load8U, memarg.offset),
            O::I64Load16S { memarg } => self.load(Op::I64Load16S, memarg.offset),
            O::I64Load16U { memarg } => self.load(Op::I64Load16U, memarg.offset),
            O::I64Load32S { memarg } => self.load(Op::I64Load32S, memarg.offset),
            O::I64Load32U { memarg } => self.load(Op::I64Load32U, memarg.offset),
            O::I32Store { memarg } | O::F32Store { memarg } => {
                self.store(Op::I32Store, memarg.offset)
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                self.store(Op::I64Store, memarg.offset)
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(Op::I32Store8, memarg.offset)
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(Op::I32Store16, memarg.offset)
            }
            O::I64Store32 { memarg } => self.store(Op::I64Store32, memarg.offset),
            O::MemorySize { mem } => {
                let dst = self.push_temp();
                self.emit_result(Op::MemorySize, &[dst, mem]);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let dst = self.push_temp();
                self.emit_result(Op::MemoryGrow, &[dst, mem, delta]);
            }
            O::MemoryFill { mem } => {
                let [d, v, n] = self.pop3();
                self.emit(Op::MemoryFill, &[mem, d, v, n]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let [d, s, n] = self.pop3();
                self.emit(Op::MemoryCopy, &[dst_mem, src_mem, d, s, n]);
            }
            O::MemoryInit { data_index, mem } => {
                let [d, s, n] = self.pop3();
                self.emit(Op::MemoryInit, &[mem, data_index, d, s, n]);
            }
            O::DataDrop { data_index } => self.emit(Op::DataDrop, &[data_index]),
            O::TableGet { table } => {
                let index = self.pop();
                let dst = self.push_temp();
                self.emit_result(Op::TableGet, &[dst, table, index]);
            }
            O::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                self.emit(Op::TableSet, &[table, index, value]);
            }
            O::TableSize { table } => {
                let dst = self.push_temp();
                self.emit_result(Op::TableSize, &[dst, table]);
            }
            O::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let dst = self.push_temp();
                self.emit_result(Op::TableGrow, &[dst, table, init, delta]);
            }
            O::TableFill { table } => {
                let [d, v, n] = self.pop3();
                self.emit(Op::TableFill, &[table, d, v, n]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let [d, s, n] = self.pop3();
                self.emit(Op::TableCopy, &[dst_table, src_table, d, s, n]);
            }
            O::TableInit { elem_index, table } => {
                let [d, s, n] = self.pop3();
                self.emit(Op::TableInit, &[table, elem_index, d, s, n]);
            }
            O::ElemDrop { elem_index } => self.emit(Op::ElemDrop, &[elem_index]),
            _ => match numeric(op) {
                Some((op, 1)) => self.unary(op),
                Some((op, _)) => self.binary(op),
                None => {
                    return Err(crate::unsupported(&format!("operator {op:?}")));
                }
            },
        }
        Ok(())
    }

    pub(crate) fn local_get(&mut self, local: u32) {
        self.stack.push(Entry::Local(local));
        self.max_height = self.max_height.max(self.stack.len());
    }

    pub(crate) fn br_if(&mut self, relative_depth: u32) {
        let cond = self.pop_cond();
        let (arity, height) = self.label(relative_depth);
        if self.in_place(arity, height) {
            let word = self.emit_branch(cond, true);
            self.jump_word(relative_depth, word);
        } else {
            let skip = self.emit_branch(cond, false);
            self.branch(relative_depth);
            self.code[skip] = self.code.len() as u32;
        }
        self.last_dst = None;
    }

    pub(crate) fn call(&mut self, function_index: u32) {
        let (params, results) = self.call_arity(function_index);
        let base = self.args(params);
        self.emit(Op::Call, &[function_index, base]);
        self.call_results(params, results);
    }

    pub(crate) fn push_const(&mut self, value: u64) {
        self.stack.push(Entry::Const(value));
        self.max_height = self.max_height.max(self.stack.len());
    }

    /// Pops three operands, returning them in push order.
    fn pop3(&mut self) -> [u32; 3] {
        let c = self.pop();
        let b = self.pop();
        let a = self.pop();
        [a, b, c]
    }
}
