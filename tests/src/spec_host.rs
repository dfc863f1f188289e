//! The engines the spec runner drives. A [`Host`] starts one [`Session`] per `.wast` file; a
//! session holds one store with the `spectest` module, every module compiled and instantiated
//! so far, and the names registered with `register`.
//!
//! Two hosts: `native` (translator and runtime linked into this process) and `wasmtime` (the
//! very `chiwawa-rt.wasm` users run, driven inside an embedded wasmtime; `spec_wasmtime.rs`).
//! Both run the runtime's own `driver::Session`, so they differ only in where it runs.

use chiwawa_runtime::driver::{Failure, Session as DriverSession};

/// Values crossing the host boundary (`I32`..`F64` as bits, references as store addresses).
pub use chiwawa_runtime::Val;

/// A compiled module inside a session.
pub type ModuleId = usize;
/// An instance inside a session.
pub type InstanceId = u32;

/// Why a module did not compile.
#[derive(Debug)]
pub enum CompileError {
    /// The translator rejected the module as malformed or invalid (what `assert_malformed` and
    /// `assert_invalid` expect).
    Rejected(String),
    /// Anything else: an unsupported feature, an image the loader refused, a host failure.
    Other(String),
}

/// Why instantiation failed.
#[derive(Debug)]
pub enum InstantiateFailure {
    /// An import is missing or has the wrong type (`assert_unlinkable`).
    Link(String),
    /// A segment or the start function trapped (`assert_trap (module ...)`); the message is the
    /// trap's spec-style message.
    Trap(String),
    /// Anything else (a host failure).
    Other(String),
}

/// Why an invocation failed.
#[derive(Debug)]
pub enum CallFailure {
    /// A trap; the message starts with the spec-style text ("integer divide by zero", ...).
    Trap(String),
    /// The call stack was exhausted (`assert_exhaustion`).
    Exhausted(String),
    /// Anything else: no such export, wrong argument types, a host failure.
    Other(String),
}

/// An engine the runner can test.
pub trait Host: Send + Sync {
    /// The name used in summary lines, the report and the expected-failures file.
    fn name(&self) -> &'static str;
    /// A fresh store with the `spectest` module in it.
    fn new_session(&self) -> Result<Box<dyn Session>, String>;
}

/// One store's worth of state: everything one `.wast` file builds up.
pub trait Session {
    /// Translates (and so validates) a binary module and loads its image.
    fn compile(&mut self, wasm: &[u8]) -> Result<ModuleId, CompileError>;
    /// Instantiates a compiled module; imports resolve against `spectest` and the registered
    /// instances.
    fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, InstantiateFailure>;
    /// Makes `instance`'s exports importable under the module name `name`.
    fn register(&mut self, name: &str, instance: InstanceId) -> Result<(), String>;
    /// Calls the exported function `func` of `instance`.
    fn invoke(
        &mut self,
        instance: InstanceId,
        func: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallFailure>;
    /// Reads the exported global `global` of `instance`.
    fn get_global(&mut self, instance: InstanceId, global: &str) -> Result<Val, String>;
}

/// Every host this build knows, by name.
pub const HOSTS: &[&str] = &["native", "wasmtime"];

pub fn host_by_name(name: &str) -> Option<Box<dyn Host>> {
    match name {
        "native" => Some(Box::new(NativeHost)),
        "wasmtime" => Some(Box::new(crate::spec_wasmtime::WasmtimeHost)),
        _ => None,
    }
}

/// The translator and runtime linked into this process.
pub struct NativeHost;

impl Host for NativeHost {
    fn name(&self) -> &'static str {
        "native"
    }

    fn new_session(&self) -> Result<Box<dyn Session>, String> {
        Ok(Box::new(NativeSession(DriverSession::new())))
    }
}

/// Translates a module for either host: `Invalid` is what `assert_invalid` and
/// `assert_malformed` expect, anything else is a failure of ours.
pub fn translate(wasm: &[u8]) -> Result<Vec<u8>, CompileError> {
    use chiwawa_translator::{Options, TranslateError};
    chiwawa_translator::translate(wasm, &Options::default()).map_err(|e| match e {
        TranslateError::Invalid(msg) => CompileError::Rejected(msg),
        other => CompileError::Other(format!("translate: {other}")),
    })
}

impl From<Failure> for InstantiateFailure {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Link(m) => InstantiateFailure::Link(m),
            Failure::Trap(m) | Failure::Exhausted(m) => InstantiateFailure::Trap(m),
            other => InstantiateFailure::Other(other.message().to_string()),
        }
    }
}

impl From<Failure> for CallFailure {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Trap(m) => CallFailure::Trap(m),
            Failure::Exhausted(m) => CallFailure::Exhausted(m),
            other => CallFailure::Other(other.message().to_string()),
        }
    }
}

/// The runtime's own embedding session ([`chiwawa_runtime::driver`]), which `chiwawa-rt.wasm`
/// also runs for the `wasmtime` host.
struct NativeSession(DriverSession);

impl Session for NativeSession {
    fn compile(&mut self, wasm: &[u8]) -> Result<ModuleId, CompileError> {
        let image = translate(wasm)?;
        let module = self
            .0
            .load(&image)
            .map_err(|f| CompileError::Other(f.message().to_string()))?;
        Ok(module as ModuleId)
    }

    fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, InstantiateFailure> {
        Ok(self.0.instantiate(module as u32)?)
    }

    fn register(&mut self, name: &str, instance: InstanceId) -> Result<(), String> {
        self.0
            .register(name, instance)
            .map_err(|f| f.message().to_string())
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        func: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallFailure> {
        Ok(self.0.invoke(instance, func, args)?)
    }

    fn get_global(&mut self, instance: InstanceId, global: &str) -> Result<Val, String> {
        self.0
            .global(instance, global)
            .map_err(|f| f.message().to_string())
    }
}
