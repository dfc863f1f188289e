//! Dynamic instruction and instruction-pair counts (feature `op-stats`).
//!
//! The counts feed the choice of superinstructions: a pair executed often, whose second
//! instruction is not a jump target, is a candidate for fusion in the translator.

use std::cell::RefCell;
use std::collections::HashMap;

use chiwawa_format::OPS;

/// Executions per opcode, and per (previous, next) opcode pair.
type Counts = (Vec<u64>, HashMap<(u32, u32), u64>);

thread_local! {
    static COUNTS: RefCell<Counts> = RefCell::new((vec![0; OPS.len()], HashMap::new()));
}

/// Records that `op` executed after `prev` (`u32::MAX`: first of an activation).
pub(crate) fn record(prev: u32, op: u32) {
    COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        c.0[op as usize] += 1;
        if prev != u32::MAX {
            *c.1.entry((prev, op)).or_insert(0) += 1;
        }
    });
}

/// Writes the counts so far to `$CHIWAWA_OP_STATS`, if set: `op COUNT NAME` lines, then
/// `pair COUNT FIRST SECOND` lines, most frequent first.
pub(crate) fn dump() {
    let Some(path) = std::env::var_os("CHIWAWA_OP_STATS") else {
        return;
    };
    let text = COUNTS.with(|c| {
        let c = c.borrow();
        let mut ops: Vec<(u64, &str)> =
            c.0.iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(i, &n)| (n, OPS[i].name))
                .collect();
        ops.sort_by(|a, b| b.cmp(a));
        let mut pairs: Vec<(u64, &str, &str)> =
            c.1.iter()
                .map(|(&(a, b), &n)| (n, OPS[a as usize].name, OPS[b as usize].name))
                .collect();
        pairs.sort_by(|a, b| b.cmp(a));
        let mut out = String::new();
        for (n, name) in ops {
            out += &format!("op {n} {name}\n");
        }
        for (n, a, b) in pairs {
            out += &format!("pair {n} {a} {b}\n");
        }
        out
    });
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!(
            "chiwawa: cannot write op stats to {}: {e}",
            path.to_string_lossy()
        );
    }
}
