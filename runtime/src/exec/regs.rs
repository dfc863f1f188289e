//! The interpreter's registers ([`Hot`]) and where they live during a run ([`HotHome`]).

use super::*;

/// The interpreter's registers, handed to [`hot`] and back.
///
/// Invariant while `hot` runs: `ip`, `sp` and `code` are those of the executing function as
/// `run_inner` describes them (its SAFETY comment), `mem_base` points to `mem_len` bytes of
/// memory 0, `globals` to the store's `globals_len` globals and `inst_globals` to the instance's
/// global index space (`inst_globals_len` entries), and nothing else reads or writes any of them.
pub(super) struct Hot {
    pub(super) ip: *const CodeUnit,
    pub(super) sp: *mut u64,
    pub(super) code: *const CodeUnit,
    pub(super) mem_base: *mut u8,
    pub(super) mem_len: usize,
    pub(super) globals: *mut GlobalInst,
    pub(super) globals_len: usize,
    pub(super) inst_globals: *const u32,
    pub(super) inst_globals_len: usize,
    /// For `call_indirect`: the store's tables and functions, the instance's table and type
    /// index spaces, and the instance's store address.
    pub(super) tables: *const crate::store::Table,
    pub(super) tables_len: usize,
    pub(super) funcs: *const FuncInst,
    pub(super) funcs_len: usize,
    pub(super) inst_tables: *const u32,
    pub(super) inst_tables_len: usize,
    pub(super) inst_types: *const u32,
    pub(super) inst_types_len: usize,
    pub(super) inst_id: u32,
    /// For debug assertions: the code's length and the slots from `sp`.
    pub(super) code_len: usize,
    pub(super) frame_len: usize,
    /// The executing function (a store address) and its frame's first slot.
    pub(super) cur: u32,
    pub(super) base: usize,
    /// For calls and returns inside the instance: the value stack, the suspended callers, the
    /// store's functions, the instance's function index space, and which of its functions are
    /// verified.
    pub(super) stack: *mut u64,
    pub(super) stack_len: usize,
    pub(super) frames: *mut Vec<Frame>,
    /// The instance's defined functions (`Instance::entries`, `verified`, `first_func` and
    /// `num_imported_funcs`).
    pub(super) entries: *const crate::store::WasmEntry,
    pub(super) verified: *const std::cell::Cell<bool>,
    pub(super) defined: usize,
    pub(super) first_func: u32,
    pub(super) num_imported: u32,
    /// Set by `hot` when it stops at a trap (`run_inner` clears it).
    pub(super) fault: Option<Fault>,
    /// Set by `hot` when it leaves a call to `run_inner`: the call's instruction, which `ip`
    /// (at the call's part of a pair) may not name (`run_inner` clears it).
    pub(super) cold_op: Option<Op>,
    /// For the metered loops (`hot::<Counted>`, `hot::<CountedOps>`): the instructions left before it stops at a safe
    /// point (it counts below zero until it reaches one), and whether it stopped there
    /// (`run_inner` clears it).
    pub(super) fuel: i64,
    pub(super) meter_stop: bool,
    /// The store's profile, or null: the metered loop reports its calls and returns to it.
    pub(super) profile: *mut crate::profile::Profile,
    /// The meter's per-opcode counters (one per opcode word), or null: the opcode-counting
    /// loop adds one to an instruction's counter as it dispatches it.
    pub(super) op_counts: *mut u64,
    #[cfg(feature = "op-stats")]
    pub(super) prev_word: u32,
}

/// The memory of one run's [`Hot`].
///
/// In a single-threaded Wasm build it is one static, so that `hot` (and `enter` and `back`,
/// inlined into it) find the registers at a constant address: LLVM propagates the one pointer
/// `run_inner` passes into `hot`, and no host register holds it. That leaves the host's five
/// callee-saved registers to the instruction pointer, the frame, the code, the memory base and
/// the instance context, and nothing of the loop is moved to and from the host's stack.
/// (With a pointer, one of them was spilled and most handlers loaded or stored it.)
///
/// A run inside a run (a host function that runs another store) finds the static claimed; it
/// saves what is there and puts it back when it ends, so each run sees only its own contents.
/// Elsewhere (natively, or with threads) each run has its own, inside the claim.
pub(super) struct HotHome {
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    saved: Option<Box<std::mem::MaybeUninit<Hot>>>,
    #[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
    own: Box<std::mem::MaybeUninit<Hot>>,
}

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
pub(super) struct HotStatic {
    busy: std::cell::Cell<bool>,
    hot: std::cell::UnsafeCell<std::mem::MaybeUninit<Hot>>,
}

// SAFETY: without the atomics feature a Wasm module runs on one thread.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl Sync for HotStatic {}

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
static HOT: HotStatic = HotStatic {
    busy: std::cell::Cell::new(false),
    hot: std::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()),
};

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
impl HotHome {
    pub(super) fn claim() -> HotHome {
        // SAFETY: one thread; the outer run reads `HOT.hot` only through its raw pointer, and
        // not while this one lives.
        let saved = HOT
            .busy
            .replace(true)
            .then(|| Box::new(unsafe { std::ptr::read(HOT.hot.get()) }));
        HotHome { saved }
    }

    pub(super) fn hot(&mut self) -> *mut Hot {
        HOT.hot.get().cast()
    }
}

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
impl Drop for HotHome {
    fn drop(&mut self) {
        match self.saved.take() {
            // SAFETY: as in `claim`.
            Some(saved) => unsafe { HOT.hot.get().write(*saved) },
            None => HOT.busy.set(false),
        }
    }
}

#[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
impl HotHome {
    pub(super) fn claim() -> HotHome {
        HotHome {
            own: Box::new(std::mem::MaybeUninit::uninit()),
        }
    }

    pub(super) fn hot(&mut self) -> *mut Hot {
        self.own.as_mut_ptr()
    }
}
