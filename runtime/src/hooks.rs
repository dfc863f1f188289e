//! Hooks for embedders: callbacks at every guest call and return and every host call, with
//! the instructions executed so far, the same on every host.
//!
//! They ride on the machinery of `--profile` and `--trace-out`: a store with hooks runs the
//! counting copy of the interpreter loop, which reports its calls and returns to the store's
//! profile ([`crate::profile`]); the profile follows the executor's stack and calls
//! [`Hooks::enter`] and [`Hooks::exit`] as activations begin and end, and [`Hooks::host_call`]
//! after each host call. A store without hooks, profile or meter runs the default loop, which
//! has none of these checks compiled in. Callbacks at chosen instruction counts (budgets,
//! sampling) are the meter's ([`crate::meter::Meter`]); the count is also in every host
//! call's [`crate::Caller::instructions`]. A callback before every instruction is there with the
//! `step-hooks` feature (`Hooks::instruction`), which compiles in one more copy of the loop.

use crate::store::HostNote;

/// What an embedder is told about a run. Every method has an empty default: implement those
/// you need. `instructions` is the count of executed instructions since the hooks were set
/// (the unit of [`crate::meter`]: deterministic, a fused instruction counting once).
pub trait Hooks {
    /// An activation of guest function `func` (a store address, see
    /// [`crate::store::Store::func_name`]) began.
    fn enter(&mut self, func: u32, instructions: u64) {
        let _ = (func, instructions);
    }

    /// The activation of `func` on top ended (by a return, a tail call, a trap or the end of
    /// the run: every `enter` has its `exit`).
    fn exit(&mut self, func: u32, instructions: u64) {
        let _ = (func, instructions);
    }

    /// Host function `func` was called and returned (or trapped). `note` is what it said about
    /// the call when [`Hooks::wants_notes`] asked for it (WASI functions give their call as
    /// `--strace` shows it and the errno).
    fn host_call(&mut self, func: u32, instructions: u64, note: Option<&HostNote>) {
        let _ = (func, instructions, note);
    }

    /// Whether host functions should describe their calls (the WASI layer then formats each
    /// call; off by default).
    fn wants_notes(&self) -> bool {
        false
    }

    /// Instruction `op` (its name, a fused one's parts joined by `+`) at code unit `pc` of
    /// function `func` is about to run. Only with the `step-hooks` feature, and only for hooks
    /// whose [`Hooks::wants_instructions`] says so: such a store runs a fourth copy of the
    /// interpreter loop, which calls back before every instruction.
    #[cfg(feature = "step-hooks")]
    fn instruction(&mut self, func: u32, pc: u32, op: &'static str) {
        let _ = (func, pc, op);
    }

    /// Whether [`Hooks::instruction`] should be called (off by default).
    #[cfg(feature = "step-hooks")]
    fn wants_instructions(&self) -> bool {
        false
    }
}

/// Gives `store` hooks (replacing any it had). The store counts instructions from now on (a
/// meter that never stops the run is added if it has none) and follows its calls (a profile
/// is added if it has none).
pub fn set_hooks(store: &mut crate::store::Store, hooks: Box<dyn Hooks>) {
    if store.meter.is_none() {
        let never = Box::new(|_| crate::meter::Action::Continue(u64::MAX));
        store.meter = Some(crate::meter::Meter::new(0, u64::MAX, never));
    }
    store
        .profile
        .get_or_insert_with(Box::default)
        .set_hooks(Some(hooks));
}

/// The same for an embedding store.
pub fn set_store_hooks<T>(store: &mut crate::Store<T>, hooks: Box<dyn Hooks>) {
    set_hooks(&mut store.raw, hooks);
}

/// Takes an embedding store's hooks back (with what they gathered), if it has any.
pub fn take_store_hooks<T>(store: &mut crate::Store<T>) -> Option<Box<dyn Hooks>> {
    store.raw.profile.as_mut()?.set_hooks(None)
}

/// The name of function `func` (a store address, as the hooks are given): from the name
/// section (Rust names demangled), else its export name, else `func[N]`.
pub fn store_func_name<T>(store: &crate::Store<T>, func: u32) -> String {
    store.raw.func_name(func)
}
