//! Tail duplication: an unconditional `br` to a short piece of code is replaced by a copy of
//! that code, so the interpreter does not dispatch the jump. Wasm's structured control flow
//! makes such jumps common: the end of every `if` arm jumps over the `else`, `continue` jumps
//! to the loop's latch, and the arms of a switch jump back to its head.
//!
//! The copied piece is at most [`MAX_INSTRS`] instructions and [`MAX_WORDS`] words and ends in
//! one of two ways:
//! - with an instruction that never falls through (a jump, return or `unreachable`): the copy
//!   is exactly what the jump would have run;
//! - with a conditional branch: the copy is followed by a `br` to the instruction after the
//!   piece, so when the branch is taken (a loop's back edge, typically) one dispatch is saved,
//!   and when it is not, the count is the same as before.
//!
//! Copies keep their jump targets (every target is an instruction start of the original code,
//! renumbered at the end), and a jump that landed on the replaced `br` lands on its copy, which
//! does the same. Runs on word-form code before pairs are joined.

use chiwawa_format::{visit_operands, Flow, Op};

/// Instructions copied in place of one `br`, at most.
const MAX_INSTRS: usize = 4;
/// Words copied in place of one `br`, at most.
const MAX_WORDS: usize = 24;

/// Buffers kept from one function to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Word offset of every instruction, in order, and one past the end.
    starts: Vec<u32>,
    /// Where each instruction of the old code starts in the new.
    moved: Vec<u32>,
    out: Vec<u32>,
}

/// How the piece of code at a `br`'s target may be copied.
enum Piece {
    /// Instructions `first..end` (indices into `starts`), ending in a terminator.
    Ends(usize, usize),
    /// Instructions `first..end`, ending in a conditional branch; then a `br` to `end`.
    Branches(usize, usize),
}

fn never_falls_through(op: Op) -> bool {
    !op.flow().falls_through()
}

fn branches(op: Op) -> bool {
    op.flow() == Flow::Branch
}

/// Replaces each `br` to short code by a copy of it; returns whether anything changed.
pub(crate) fn duplicate_tails(code: &mut Vec<u32>, scratch: &mut Scratch) -> bool {
    let Scratch { starts, moved, out } = scratch;
    starts.clear();
    let mut any_br = false;
    let mut at = 0;
    while at < code.len() {
        starts.push(at as u32);
        any_br |= code[at] == Op::Br as u32;
        at = visit_operands(code, at, |_, _| {}).expect("the translator emits whole instructions");
    }
    if !any_br {
        return false;
    }
    let count = starts.len();
    starts.push(code.len() as u32);
    let index_of = |word: u32| starts.binary_search(&word).ok();
    let op_at = |i: usize| Op::from_word(code[starts[i] as usize]).expect("decoded above");

    // The piece a `br` to instruction `first` may be replaced by.
    let piece = |first: usize| -> Option<Piece> {
        let mut words = 0;
        for i in first..(first + MAX_INSTRS).min(count) {
            words += (starts[i + 1] - starts[i]) as usize;
            if words > MAX_WORDS {
                return None;
            }
            let op = op_at(i);
            if never_falls_through(op) {
                return Some(Piece::Ends(first, i + 1));
            }
            if branches(op) {
                // The instruction after the branch must exist for the `br` back to it.
                return (i + 1 < count).then_some(Piece::Branches(first, i + 1));
            }
        }
        None
    };

    out.clear();
    moved.clear();
    let mut changed = false;
    for i in 0..count {
        moved.push(out.len() as u32);
        let (start, end) = (starts[i] as usize, starts[i + 1] as usize);
        let target = (op_at(i) == Op::Br)
            .then(|| index_of(code[start + 1]))
            .flatten();
        // A `br` to itself, or to code that copies it, stays.
        match target.filter(|&t| t != i).and_then(piece) {
            Some(Piece::Ends(first, last)) if !(first..last).contains(&i) => {
                out.extend_from_slice(&code[starts[first] as usize..starts[last] as usize]);
                changed = true;
            }
            Some(Piece::Branches(first, last)) if !(first..last).contains(&i) => {
                out.extend_from_slice(&code[starts[first] as usize..starts[last] as usize]);
                out.extend_from_slice(&[Op::Br as u32, starts[last]]);
                changed = true;
            }
            _ => out.extend_from_slice(&code[start..end]),
        }
    }
    if !changed {
        return false;
    }
    // Renumber every jump: targets are old instruction starts.
    crate::peephole::renumber_targets(out, &starts[..count], moved);
    std::mem::swap(code, out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(code: &[u32]) -> Vec<u32> {
        let mut code = code.to_vec();
        duplicate_tails(&mut code, &mut Scratch::default());
        code
    }

    const BR: u32 = Op::Br as u32;
    const RET: u32 = Op::Return as u32;
    const ADD: u32 = Op::I32AddImm as u32;
    const BRNZ: u32 = Op::BrIfNez as u32;
    const COPY: u32 = Op::Copy as u32;

    #[test]
    fn a_jump_to_a_return_becomes_the_return() {
        let code = [
            BRNZ, 0, 5, // 0: to the copy
            BR, 8, // 3: to the tail
            COPY, 1, 0, // 5
            COPY, 2, 1, // 8: the tail
            RET, 2, 1, // 11
        ];
        let expected = [
            BRNZ, 0, 9, // 0: the copy moved by 4 words
            COPY, 2, 1, RET, 2, 1, // 3: the tail, copied
            COPY, 1, 0, // 9
            COPY, 2, 1, // 12
            RET, 2, 1, // 15
        ];
        assert_eq!(dup(&code), expected);
    }

    #[test]
    fn a_jump_to_a_loop_latch_copies_it_and_jumps_past_it() {
        let code = [
            COPY, 1, 0, // 0: loop head
            BR, 9, // 3: `continue`
            ADD, 0, 0, 1, // 5
            ADD, 1, 1, 7, // 9: the latch
            BRNZ, 1, 0, // 13: back edge
            RET, 1, 1, // 16
        ];
        let expected = [
            COPY, 1, 0, // 0
            ADD, 1, 1, 7, BRNZ, 1, 0, BR, 23, // 3: the latch copied, then on to the return
            ADD, 0, 0, 1, // 12
            ADD, 1, 1, 7, // 16
            BRNZ, 1, 0, // 20
            RET, 1, 1, // 23
        ];
        assert_eq!(dup(&code), expected);
    }

    #[test]
    fn long_pieces_self_jumps_and_fallthrough_ends_stay() {
        // A jump to itself, and a jump to a piece that runs past MAX_INSTRS without an end.
        let mut code = vec![BR, 0];
        assert_eq!(dup(&code), code);
        code = vec![BR, 2];
        for _ in 0..MAX_INSTRS {
            code.extend([ADD, 0, 0, 1]);
        }
        code.extend([RET, 0, 1]);
        assert_eq!(dup(&code), code);
        // A piece that contains the jump itself is not copied into the jump.
        let code = [COPY, 1, 0, BR, 0];
        assert_eq!(dup(&code), code);
    }
}
