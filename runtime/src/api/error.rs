//! The embedding API's one error type, with a kind to match on.

use std::fmt;

use crate::trap::{Trap, TrapKind};

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An image that cannot be loaded: not an image, damaged, of another format or instruction
    /// set, or refused by the verifier.
    Load,
    /// A module that could not be translated from Wasm (it is invalid or needs a feature the
    /// translator does not support).
    Translate,
    /// An import that is missing or has the wrong type, or a definition given twice.
    Link,
    /// The guest trapped (or exited: [`Error::exit_status`]); [`Error::trap`] says how.
    Trap,
    /// A handle used with a store it does not belong to.
    WrongStore,
    /// Values or a signature of the wrong type: call arguments, a typed function's signature,
    /// a global's new value.
    Type,
    /// An export that does not exist or is not of the kind asked for.
    NotFound,
    /// Reading a file failed.
    Io,
    /// A snapshot that does not fit the image it is restored with
    /// ([`crate::checkpoint::restore_instance`]).
    Snapshot,
}

/// An error of the embedding API: its kind, a message for people, and the trap when the guest
/// trapped.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    trap: Option<Trap>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with `message` (for host code that reports its own failures).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            trap: None,
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            source: Some(Box::new(source)),
            ..Error::new(kind, message)
        }
    }

    /// The error a host function returns to stop the guest: the trap `TrapKind::Host(message)`.
    pub fn host(message: impl Into<String>) -> Error {
        Error::from(Trap::new(TrapKind::Host(message.into())))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The trap, if the guest trapped or exited.
    pub fn trap(&self) -> Option<&Trap> {
        self.trap.as_ref()
    }

    /// The status the guest exited with (WASI `proc_exit`), if it did.
    pub fn exit_status(&self) -> Option<u32> {
        match self.trap.as_ref()?.kind {
            TrapKind::Exit(code) => Some(code),
            _ => None,
        }
    }

    pub(crate) fn wrong_store(what: &str) -> Error {
        Error::new(
            ErrorKind::WrongStore,
            format!("the {what} belongs to another store"),
        )
    }

    /// The trap, if the guest trapped or exited, taken out of the error.
    pub fn into_trap(self) -> Option<Trap> {
        self.trap
    }

    /// The trap to stop the guest with, when a host function returns this error.
    pub(crate) fn into_guest_trap(self) -> Trap {
        match self.trap {
            Some(trap) => trap,
            None => Trap::new(TrapKind::Host(self.message)),
        }
    }
}

impl From<Trap> for Error {
    fn from(trap: Trap) -> Error {
        Error {
            kind: ErrorKind::Trap,
            message: trap.to_string(),
            trap: Some(trap),
            source: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Trap if self.exit_status().is_none() => write!(f, "trap: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match (&self.trap, &self.source) {
            (Some(trap), _) => Some(trap),
            (None, Some(source)) => Some(source.as_ref()),
            (None, None) => None,
        }
    }
}
