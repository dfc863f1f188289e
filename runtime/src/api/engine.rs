//! The engine: settings shared by the modules and stores made with it.

use crate::VerifyMode;

/// Settings for an [`Engine`].
#[derive(Clone, Debug)]
pub struct Config {
    verify: VerifyMode,
    max_stack_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            verify: VerifyMode::default(),
            max_stack_bytes: crate::store::DEFAULT_MAX_STACK_BYTES,
        }
    }
}

impl Config {
    /// The default settings: lazy verification, the runtime's default stack bound.
    pub fn new() -> Config {
        Config::default()
    }

    /// When function code is verified: every function when a module is made
    /// ([`VerifyMode::Eager`]), or each on its first call (the default, [`VerifyMode::Lazy`]:
    /// start-up does not pay for code that never runs). Either way no unverified code runs.
    pub fn verify(&mut self, mode: VerifyMode) -> &mut Config {
        self.verify = mode;
        self
    }

    /// Bound on the interpreter's value stack in bytes, for each store made afterwards (the
    /// frames of all active calls); deeper recursion is the trap "call stack exhausted".
    pub fn max_stack_bytes(&mut self, bytes: usize) -> &mut Config {
        self.max_stack_bytes = bytes;
        self
    }
}

/// The engine: how modules are checked and how stores run them. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    config: Config,
}

impl Engine {
    /// An engine with `config`'s settings.
    pub fn new(config: &Config) -> Engine {
        Engine {
            config: config.clone(),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn verify_mode(&self) -> VerifyMode {
        self.config.verify
    }

    pub(crate) fn max_stack_bytes(&self) -> usize {
        self.config.max_stack_bytes
    }
}
