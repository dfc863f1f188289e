//! Traps are values: every way a guest can stop is a `Trap`, never a panic.

use std::fmt;

/// How a guest stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable` was executed.
    Unreachable,
    /// An integer division or remainder by zero.
    IntegerDivideByZero,
    /// A signed division overflowed (`MIN / -1`).
    IntegerOverflow,
    /// A float-to-integer conversion of NaN or of a value out of range.
    InvalidConversion,
    /// A memory access, copy, fill or init outside the memory.
    MemoryOutOfBounds,
    /// A table access, copy, fill or init outside the table.
    TableOutOfBounds,
    /// `call_indirect` through a null table entry.
    UninitializedElement,
    /// `call_indirect` to a function of another type.
    IndirectCallTypeMismatch,
    /// The value and call stacks reached their bound (deep recursion).
    CallStackExhausted,
    /// A memory or table could not be allocated.
    OutOfMemory,
    /// The guest called `proc_exit(code)`.
    Exit(u32),
    /// A host function failed (message).
    Host(String),
    /// The verifier refused the code of a function about to be entered (lazy verification);
    /// the message names the function and the problem. Nothing of that function ran.
    InvalidCode(String),
    /// The guest asked for a checkpoint (`chiwawa.checkpoint`, [`crate::checkpoint`]) and the
    /// store has nowhere to write one. (With a checkpoint sink set, the request is taken and
    /// the guest goes on; this is never seen.)
    Checkpoint,
    /// A limit the embedder set was reached (fuel, time); the message names it.
    Limit(String),
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapKind::Unreachable => write!(f, "unreachable"),
            TrapKind::IntegerDivideByZero => write!(f, "integer divide by zero"),
            TrapKind::IntegerOverflow => write!(f, "integer overflow"),
            TrapKind::InvalidConversion => write!(f, "invalid conversion to integer"),
            TrapKind::MemoryOutOfBounds => write!(f, "out of bounds memory access"),
            TrapKind::TableOutOfBounds => write!(f, "out of bounds table access"),
            TrapKind::UninitializedElement => write!(f, "uninitialized element"),
            TrapKind::IndirectCallTypeMismatch => write!(f, "indirect call type mismatch"),
            TrapKind::CallStackExhausted => write!(f, "call stack exhausted"),
            TrapKind::OutOfMemory => write!(f, "out of memory"),
            TrapKind::Exit(code) => write!(f, "exit with status {code}"),
            TrapKind::Host(msg) => write!(f, "{msg}"),
            TrapKind::InvalidCode(msg) => write!(f, "invalid image code: {msg}"),
            TrapKind::Checkpoint => write!(f, "checkpoint asked for, with no checkpoint set up"),
            TrapKind::Limit(msg) => write!(f, "{msg}"),
        }
    }
}

/// A trap and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// What happened.
    pub kind: TrapKind,
    /// The guest function that trapped, by name or `func[N]`, when known.
    pub func: Option<String>,
}

impl Trap {
    /// A trap of `kind`, where unknown.
    pub fn new(kind: TrapKind) -> Self {
        Trap { kind, func: None }
    }
}

impl From<TrapKind> for Trap {
    fn from(kind: TrapKind) -> Self {
        Trap::new(kind)
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.func {
            Some(func) => write!(f, "{} in {func}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for Trap {}
