//! Pairs: after a function is translated, two instructions in a row that form one of the ISA's
//! pairs (`chiwawa_format::PAIRS`) become that pair instruction, so the interpreter dispatches
//! once for both. Nothing else changes: the pair's operands are the two instructions' operands,
//! in order. A pair is only made where no jump lands on its second instruction; jumps into the
//! code that moves are renumbered. Sequences (pairs with a pair for a part) are joined in the
//! same walk, by the same rule.

use chiwawa_format::{pair_of, visit_operands, Op, Operand};

/// Joins the pairs in `code` (a function's finished register code), and the sequences (pairs
/// with a pair for a part): each instruction or pair placed joins the one placed before it when
/// the two make a sequence and no jump lands between them. Returns whether it changed.
pub(crate) fn join_pairs(code: &mut Vec<u32>, scratch: &mut Scratch) -> bool {
    let Scratch {
        starts,
        targets,
        moved,
        jumps,
    } = scratch;
    starts.clear();
    targets.clear();
    jumps.clear();
    // One walk: where instructions start, where jumps land, and whether any pair is there.
    let mut any = false;
    let mut prev: Option<Op> = None;
    let mut at = 0;
    while at < code.len() {
        let op = Op::from_word(code[at]).expect("the translator emits only valid opcodes");
        starts.push(at as u32);
        if let Some(first) = prev {
            any |= pair_of(first, op).is_some();
        }
        prev = Some(op);
        let i = starts.len() as u32 - 1;
        at = visit_operands(code, at, |kind, word| {
            if kind == Operand::Target {
                targets.push(*word);
                if jumps.last() != Some(&i) {
                    jumps.push(i);
                }
            }
        })
        .expect("the translator emits whole instructions");
    }
    if !any {
        return false;
    }
    targets.sort_unstable();
    targets.dedup();
    let is_target = |word: u32| targets.binary_search(&word).is_ok();

    // Join in place (the code only shrinks): `moved[i]` is where instruction `i` now starts.
    moved.clear();
    let mut out = 0;
    let mut i = 0;
    // The last instruction placed, and where.
    let mut last: Option<(Op, usize)> = None;
    while i < starts.len() {
        let start = starts[i] as usize;
        let end = starts.get(i + 1).map_or(code.len(), |&s| s as usize);
        let op = Op::from_word(code[start]).expect("decoded above");
        let pair = starts.get(i + 1).and_then(|&second| {
            let second_op = Op::from_word(code[second as usize]).expect("decoded above");
            pair_of(op, second_op).filter(|_| !is_target(second))
        });
        let (placed_at, slot) = (out, moved.len());
        moved.push(out as u32);
        match pair {
            Some(pair) => {
                // The pair's word, then both instructions' operands, contiguous already.
                let second_end = starts.get(i + 2).map_or(code.len(), |&s| s as usize);
                code[out] = pair as u32;
                out += 1;
                code.copy_within(start + 1..end, out);
                out += end - start - 1;
                code.copy_within(end + 1..second_end, out);
                out += second_end - end - 1;
                // The second instruction is no jump target: it needs no new place, but keeps
                // `moved` indexed by instruction.
                moved.push(u32::MAX);
                i += 2;
            }
            None => {
                code.copy_within(start..end, out);
                out += end - start;
                i += 1;
            }
        }
        let placed = pair.unwrap_or(op);
        // A sequence: the previous instruction falls through into this one (only
        // straight-line instructions are first parts), which no jump lands on.
        let sequence = last.and_then(|(prev, prev_at)| {
            let seq = pair_of(prev, placed).filter(|_| !is_target(start as u32))?;
            Some((seq, prev_at))
        });
        last = Some(match sequence {
            Some((seq, prev_at)) => {
                // The sequence's word, the previous part's operands (in place), this one's.
                code[prev_at] = seq as u32;
                code.copy_within(placed_at + 1..out, placed_at);
                out -= 1;
                moved[slot] = u32::MAX;
                (seq, prev_at)
            }
            None => (placed, placed_at),
        });
    }
    code.truncate(out);
    // Only the instructions that jump have targets to renumber: they are where the jumping
    // instructions went (the start of the pair or sequence each joined, where `moved` says
    // `u32::MAX`). (A second walk over all the code cost a tenth of the translation.)
    let new_place = |old: u32| -> u32 {
        let index = starts
            .binary_search(&old)
            .expect("jump targets are instruction starts");
        moved[index]
    };
    let mut last = None;
    for &i in jumps.iter() {
        let home = moved[..=i as usize]
            .iter()
            .rev()
            .copied()
            .find(|&m| m != u32::MAX)
            .expect("the first instruction always has a place");
        if last == Some(home) {
            continue;
        }
        last = Some(home);
        visit_operands(code, home as usize, |kind, word| {
            if kind == Operand::Target {
                *word = new_place(*word);
            }
        })
        .expect("whole instructions");
    }
    true
}

/// Rewrites every jump target of `code` (word form): a target is the start of instruction `i`
/// of the code before a rewrite, `starts[i]` (sorted), and becomes `moved[i]`.
pub(crate) fn renumber_targets(code: &mut [u32], starts: &[u32], moved: &[u32]) {
    let new_place = |old: u32| -> u32 {
        let index = starts
            .binary_search(&old)
            .expect("jump targets are instruction starts");
        moved[index]
    };
    let mut at = 0;
    while at < code.len() {
        at = visit_operands(code, at, |kind, word| {
            if kind == Operand::Target {
                *word = new_place(*word);
            }
        })
        .expect("whole instructions");
    }
}

/// Buffers `join_pairs` keeps from one function to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    starts: Vec<u32>,
    targets: Vec<u32>,
    moved: Vec<u32>,
    /// The instructions (by index) with a jump target among their operands.
    jumps: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Word-form code as text, for assertion messages.
    fn disassemble(words: &[u32]) -> String {
        match chiwawa_format::encode(words) {
            Ok(units) => chiwawa_format::disassemble(&units),
            Err(e) => format!("<{e}>"),
        }
    }

    fn join(code: &[u32]) -> (Vec<u32>, bool) {
        let mut code = code.to_vec();
        let changed = join_pairs(&mut code, &mut Scratch::default());
        (code, changed)
    }

    #[test]
    fn joins_a_pair_and_renumbers_jumps() {
        let add = Op::I32AddImm as u32;
        let code = [
            add,
            1,
            1,
            5, // 0
            add,
            2,
            2,
            7, // 4: joined with the first
            Op::Copy as u32,
            3,
            1, // 8
            Op::BrIfNez as u32,
            3,
            0, // 11: back to the start
            Op::Br as u32,
            17, // 14: to the return
            Op::Return as u32,
            0,
            1, // 16 (target 17 is off by one on purpose below)
        ];
        // Make the br target the return's start.
        let mut code = code.to_vec();
        code[15] = 16;
        let (joined, changed) = join(&code);
        assert!(changed);
        let expected = [
            Op::I32AddImm2 as u32,
            1,
            1,
            5,
            2,
            2,
            7, // 0
            Op::Copy as u32,
            3,
            1, // 7
            Op::BrIfNez as u32,
            3,
            0, // 10
            Op::Br as u32,
            15, // 13
            Op::Return as u32,
            0,
            1, // 15
        ];
        assert_eq!(joined, expected, "{}", disassemble(&joined));
    }

    #[test]
    fn sequences_join_what_was_placed_before_but_not_over_a_jump_target() {
        let (add, load8) = (Op::I32AddImm as u32, Op::I32Load8U as u32);
        let code = [
            Op::Br as u32,
            2, // 0: to the loop head
            add,
            1,
            1,
            5, // 2: loop head
            load8,
            2,
            1,
            0, // 6
            add,
            3,
            3,
            1, // 10
            load8,
            4,
            3,
            1, // 14: the two pairs make one sequence
            add,
            1,
            1,
            1, // 18
            add,
            5,
            5,
            2, // 22
            Op::BrIfNez as u32,
            1,
            2, // 26: a pair, then a sequence with it
            add,
            6,
            6,
            1, // 29
            add,
            6,
            6,
            1, // 33
            Op::BrIfNez as u32,
            6,
            37, // 37: lands on itself: the pair before it stays a pair
            Op::Return as u32,
            0,
            1, // 40
        ];
        let (joined, changed) = join(&code);
        assert!(changed);
        let expected = [
            Op::Br as u32,
            2, // 0
            Op::I32AddImmI32Load8U2 as u32,
            1,
            1,
            5,
            2,
            1,
            0,
            3,
            3,
            1,
            4,
            3,
            1, // 2
            Op::I32AddImm2BrIfNez as u32,
            1,
            1,
            1,
            5,
            5,
            2,
            1,
            2, // 15
            Op::I32AddImm2 as u32,
            6,
            6,
            1,
            6,
            6,
            1, // 24
            Op::BrIfNez as u32,
            6,
            31, // 31
            Op::Return as u32,
            0,
            1, // 34
        ];
        assert_eq!(joined, expected, "{}", disassemble(&joined));
    }

    #[test]
    fn no_pair_where_a_jump_lands_on_the_second() {
        let add = Op::I32AddImm as u32;
        let code = [
            add,
            1,
            1,
            5, // 0
            add,
            2,
            2,
            7, // 4: a loop head
            Op::BrIfNez as u32,
            2,
            4, // 8: joins with nothing (the add before it is a target)
            Op::Return as u32,
            0,
            1, // 11
        ];
        let (joined, _) = join(&code);
        // The second add is a jump target, so it stays; it and the branch form a pair.
        let expected = [
            add,
            1,
            1,
            5, // 0
            Op::I32AddImmBrIfNez as u32,
            2,
            2,
            7,
            2,
            4, // 4
            Op::Return as u32,
            0,
            1, // 10
        ];
        assert_eq!(joined, expected, "{}", disassemble(&joined));
    }

    #[test]
    fn br_table_targets_are_renumbered_and_unpaired_code_is_untouched() {
        let code = [
            Op::Copy as u32,
            1,
            0, // 0
            Op::Copy as u32,
            2,
            0, // 3: joined
            Op::BrTable as u32,
            1,
            2,
            9,
            12, // 6
            Op::Return as u32,
            0,
            1, // 11 (the table's 12 is wrong: fixed below)
        ];
        let mut code = code.to_vec();
        code[9] = 11;
        code[10] = 0;
        let (joined, changed) = join(&code);
        assert!(changed);
        let expected = [
            Op::Copy2 as u32,
            1,
            0,
            2,
            0, // 0
            Op::BrTable as u32,
            1,
            2,
            10,
            0, // 5
            Op::Return as u32,
            0,
            1, // 10
        ];
        assert_eq!(joined, expected, "{}", disassemble(&joined));

        let plain = [Op::Copy as u32, 1, 0, Op::Return as u32, 0, 1];
        assert_eq!(join(&plain), (plain.to_vec(), false));
    }
}
