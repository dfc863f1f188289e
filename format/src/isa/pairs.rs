//! Finding the pair of two instructions ([`PAIRS`] by first part).

use super::*;

/// `PAIRS` sorted by first op, and where each op's pairs are in it (start, count): the
/// translator asks for a pair at every instruction, so the lookup scans only the few pairs
/// that start with the instruction's op.
static PAIRS_BY_FIRST: [(Op, Op, Op); PAIRS.len()] = {
    let mut out = [(Op::Unreachable, Op::Unreachable, Op::Unreachable); PAIRS.len()];
    let (mut n, mut op) = (0, 0);
    while op < OPS.len() {
        let mut i = 0;
        while i < PAIRS.len() {
            if PAIRS[i].0 as usize == op {
                out[n] = PAIRS[i];
                n += 1;
            }
            i += 1;
        }
        op += 1;
    }
    out
};

static PAIR_RANGES: [(u16, u16); OPS.len()] = {
    let mut out = [(0u16, 0u16); OPS.len()];
    let mut i = 0;
    while i < PAIRS_BY_FIRST.len() {
        let first = PAIRS_BY_FIRST[i].0 as usize;
        if out[first].1 == 0 {
            out[first].0 = i as u16;
        }
        out[first].1 += 1;
        i += 1;
    }
    out
};

/// The pair instruction that does `first` then `second`, if there is one.
pub fn pair_of(first: Op, second: Op) -> Option<Op> {
    let (start, count) = PAIR_RANGES[first as usize];
    PAIRS_BY_FIRST[start as usize..(start + count) as usize]
        .iter()
        .find(|&&(_, s, _)| s == second)
        .map(|&(_, _, pair)| pair)
}
