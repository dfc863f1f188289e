//! Counting executed instructions, and acting at a chosen count: the base of checkpoints by
//! instruction count (`--checkpoint-after`, `--checkpoint-every`), of polled triggers
//! (`--checkpoint-trigger`) and of instruction budgets.
//!
//! The unit is the executed instruction of chiwawa's register code: every instruction the
//! executor runs counts one, a fused instruction (a superinstruction or a pair) once, host
//! functions nothing. For one image and one run it is deterministic: the same on every host,
//! native or Wasm.
//!
//! A store without a meter runs the default interpreter loop, which counts nothing and has no
//! checks for it. With one, the executor runs the metered copy of the loop (the same code with
//! a counter, compiled separately): it counts each instruction and, once the count reaches the
//! meter's next event, stops at the next safe point (a taken branch, a call or a return, so a
//! tight loop, a deep recursion or call-heavy code all reach one within a basic block) and calls
//! the meter's hook with the count so far. The count at the hook is therefore at least the
//! event's and deterministic too.

use crate::trap::Trap;

/// What the executor does at a meter event ([`Hook`]'s answer).
#[derive(Debug)]
pub enum Action {
    /// Go on; the next event at this count (`u64::MAX`: never).
    Continue(u64),
    /// Take a checkpoint here, hand it to the store's checkpoint sink
    /// ([`crate::checkpoint::set_sink`]), then go on with the next event at the given count,
    /// or stop the run (`None`: the run ends with [`crate::TrapKind::Checkpoint`], unless the
    /// sink ended it with its own error first).
    Checkpoint(Option<u64>),
    /// Stop the run with this trap.
    Stop(Trap),
}

/// Called at a meter event with the instructions executed so far.
pub type Hook = Box<dyn FnMut(u64) -> Action>;

/// A store's instruction counter and its event hook.
pub struct Meter {
    /// Instructions executed before the current run, or up to the last event.
    pub(crate) executed: u64,
    /// The count at which `hook` is called next.
    pub(crate) next: u64,
    pub(crate) hook: Hook,
    /// The count at which the executor's counter reaches zero ([`Meter::fuel`]).
    zero_at: u64,
    /// Executions per opcode, if counted ([`Meter::count_opcodes`]).
    pub(crate) opcodes: Option<Vec<u64>>,
}

impl Meter {
    /// A meter that has counted `executed` instructions (0, or a snapshot's count) and calls
    /// `hook` once the count reaches `next`.
    pub fn new(executed: u64, next: u64, hook: Hook) -> Meter {
        Meter {
            executed,
            next,
            hook,
            zero_at: executed,
            opcodes: None,
        }
    }

    /// Also counts executions per opcode (a third copy of the interpreter loop, which adds
    /// one to the instruction's counter as it dispatches it).
    pub fn count_opcodes(&mut self) {
        self.opcodes = Some(vec![0; chiwawa_format::OPS.len()]);
    }

    /// The instructions executed per opcode, if counted: the register-code instruction's name
    /// (a pair's is its parts' names joined by `+`), its count, and whether it is a pair;
    /// most executed first (then by name), executed ones only. The counts add up to the
    /// instructions counted since [`Meter::count_opcodes`].
    pub fn opcodes(&self) -> Option<Vec<(&'static str, u64, bool)>> {
        let counts = self.opcodes.as_ref()?;
        let mut out: Vec<(&'static str, u64, bool)> = counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(word, &n)| {
                let op = chiwawa_format::Op::from_word(word as u32).expect("one counter per op");
                (op.name(), n, op.parts().is_some())
            })
            .collect();
        out.sort_by_key(|&(name, n, _)| (std::cmp::Reverse(n), name));
        Some(out)
    }

    /// The instructions executed so far (as of the end of the last run, or the last event).
    pub fn executed(&self) -> u64 {
        self.executed
    }

    /// The instructions the executor may run before the next event, as its counter holds them
    /// (at most `i64::MAX`; [`Meter::executed_at`] counts from the count where it would reach
    /// zero).
    pub(crate) fn fuel(&mut self) -> i64 {
        let fuel = i64::try_from(self.next.saturating_sub(self.executed)).unwrap_or(i64::MAX);
        self.zero_at = self.executed.saturating_add(fuel as u64);
        fuel
    }

    /// The count when the executor's counter, last set by [`Meter::fuel`], holds `fuel` (which
    /// may be below zero: it runs on to a safe point).
    pub(crate) fn executed_at(&self, fuel: i64) -> u64 {
        (i128::from(self.zero_at) - i128::from(fuel)).clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// Gives `store` a meter: from now on its runs count instructions and call the meter's hook at
/// its events (see the module's documentation).
pub fn set_meter(store: &mut crate::store::Store, meter: Meter) {
    store.meter = Some(meter);
}

/// The same for an embedding store.
pub fn set_store_meter<T>(store: &mut crate::Store<T>, meter: Meter) {
    set_meter(&mut store.raw, meter);
}

/// An embedding store's instructions per opcode, if its meter counts them
/// ([`Meter::opcodes`]).
pub fn store_opcodes<T>(store: &crate::Store<T>) -> Option<Vec<(&'static str, u64, bool)>> {
    store.raw.meter.as_ref()?.opcodes()
}

/// The instructions an embedding store's runs have executed, if it has a meter.
pub fn store_instructions<T>(store: &crate::Store<T>) -> Option<u64> {
    store.raw.meter.as_ref().map(Meter::executed)
}
