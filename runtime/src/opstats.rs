//! Dynamic instruction and instruction-pair counts (feature `op-stats`).
//!
//! The counts feed the choice of superinstructions: a pair executed often, whose second
//! instruction is not a jump target, is a candidate for fusion in the translator.

use std::cell::RefCell;
use std::collections::BTreeMap;

use chiwawa_format::OPS;

/// Executions per opcode, per (previous, next) opcode pair, and per function (store address).
type Counts = (Vec<u64>, BTreeMap<(u32, u32), u64>, Vec<u64>);

thread_local! {
    static COUNTS: RefCell<Counts> =
        RefCell::new((vec![0; OPS.len()], BTreeMap::new(), Vec::new()));
}

/// Records that `op` executed after `prev` (`u32::MAX`: first of an activation), in function
/// `func` (a store address).
pub(crate) fn record(prev: u32, op: u32, func: u32) {
    COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        c.0[op as usize] += 1;
        if prev != u32::MAX {
            *c.1.entry((prev, op)).or_insert(0) += 1;
        }
        let f = func as usize;
        if f >= c.2.len() {
            c.2.resize(f + 1, 0);
        }
        c.2[f] += 1;
    });
}

/// Writes the counts so far to `$CHIWAWA_OP_STATS`, if set: `op COUNT NAME` lines, then
/// `pair COUNT FIRST SECOND` lines, then `func COUNT ADDRESS NAME` lines (instructions executed
/// in each function; `name` gives a store address's name), most frequent first.
pub(crate) fn dump(name: impl Fn(u32) -> String) {
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
        let mut funcs: Vec<(u64, u32)> = (c.2.iter().enumerate())
            .filter(|(_, &n)| n > 0)
            .map(|(f, &n)| (n, f as u32))
            .collect();
        funcs.sort_by(|a, b| b.cmp(a));
        for (n, f) in funcs {
            out += &format!("func {n} {f} {}\n", name(f));
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
