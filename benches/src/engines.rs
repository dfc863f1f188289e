//! The four ways a workload runs: (a) directly on wasmtime, (b) translated, in chiwawa-rt.wasm
//! on that wasmtime, (c) translated, in the chiwawa runtime linked natively, (d) on wasmi 2.0
//! (eager translation). Each prepares the module once, then times single calls of an export
//! `fn(i32) -> i64`.

use std::time::{Duration, Instant};

use chiwawa_runtime::driver::Session;
use chiwawa_runtime::Val;

use crate::rt_wasm::{RtModule, RtSession};

/// One engine with one workload module instantiated.
pub trait Runner {
    /// Calls `func(n)`; its result and the time of the call alone.
    fn call(&mut self, func: &str, n: i32) -> Result<(i64, Duration), String>;
}

fn one_i64(func: &str, vals: Vec<Val>) -> Result<i64, String> {
    match vals.as_slice() {
        [Val::I64(v)] => Ok(*v),
        other => Err(format!("{func}: expected one i64, got {other:?}")),
    }
}

/// (a) The module compiled by wasmtime (Cranelift, default settings, no cache).
pub struct Wasmtime {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
}

impl Wasmtime {
    /// Compiles and instantiates `wasm`; also returns the compile time.
    pub fn new(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<(Wasmtime, Duration), String> {
        let err = |e: wasmtime::Error| format!("wasmtime: {e:#}");
        let start = Instant::now();
        let module = wasmtime::Module::new(engine, wasm).map_err(err)?;
        let compile = start.elapsed();
        let mut linker = wasmtime::Linker::new(engine);
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(err)?;
        let mut store = wasmtime::Store::new(engine, ());
        let instance = linker.instantiate(&mut store, &module).map_err(err)?;
        Ok((Wasmtime { store, instance }, compile))
    }
}

impl Runner for Wasmtime {
    fn call(&mut self, func: &str, n: i32) -> Result<(i64, Duration), String> {
        let f = self
            .instance
            .get_typed_func::<i32, i64>(&mut self.store, func)
            .map_err(|e| format!("wasmtime: {func}: {e:#}"))?;
        let start = Instant::now();
        let result = f.call(&mut self.store, n);
        let time = start.elapsed();
        Ok((
            result.map_err(|e| format!("wasmtime: {func}: {e:#}"))?,
            time,
        ))
    }
}

/// (b) The image run by chiwawa-rt.wasm on wasmtime, called through `cw_invoke`.
pub struct RtWasm {
    session: RtSession,
    instance: u32,
}

impl RtWasm {
    /// Loads and instantiates `image` (of `wasm`) in a new runtime instance; also returns the
    /// time of `cw_load` + `cw_instantiate`.
    pub fn new(rt: &RtModule, wasm: &[u8], image: &[u8]) -> Result<(RtWasm, Duration), String> {
        let mut session = RtSession::new(rt)?;
        session.link_stubs(wasm)?;
        session.put_image(image)?;
        let (module, load) = session.load()?;
        let (instance, inst) = session.instantiate(module)?;
        Ok((RtWasm { session, instance }, load + inst))
    }
}

impl Runner for RtWasm {
    fn call(&mut self, func: &str, n: i32) -> Result<(i64, Duration), String> {
        self.session.prepare_invoke(func, &[Val::I32(n)])?;
        let (vals, time) = self.session.invoke(self.instance)?;
        Ok((one_i64(func, vals)?, time))
    }
}

/// Loads, instantiates and registers the stubs for `wasm`'s imports in a native session.
pub fn link_native_stubs(session: &mut Session, wasm: &[u8]) -> Result<(), String> {
    for (name, stub) in crate::stub::stub_modules(wasm)? {
        let image = crate::translate(&stub)?;
        let module = session.load(&image).map_err(|f| f.message().to_string())?;
        let instance = session
            .instantiate(module)
            .map_err(|f| f.message().to_string())?;
        session
            .register(&name, instance)
            .map_err(|f| f.message().to_string())?;
    }
    Ok(())
}

/// (c) The image run by the chiwawa runtime linked into this process.
pub struct Native {
    session: Session,
    instance: u32,
}

impl Native {
    /// Loads and instantiates `image`; also returns the time of load + instantiate.
    pub fn new(wasm: &[u8], image: &[u8]) -> Result<(Native, Duration), String> {
        let mut session = Session::new();
        link_native_stubs(&mut session, wasm)?;
        let start = Instant::now();
        let module = session
            .load(image)
            .map_err(|f| format!("chiwawa load: {}", f.message()))?;
        let instance = session
            .instantiate(module)
            .map_err(|f| format!("chiwawa instantiate: {}", f.message()))?;
        let time = start.elapsed();
        Ok((Native { session, instance }, time))
    }
}

impl Runner for Native {
    fn call(&mut self, func: &str, n: i32) -> Result<(i64, Duration), String> {
        let start = Instant::now();
        let result = self.session.invoke(self.instance, func, &[Val::I32(n)]);
        let time = start.elapsed();
        let vals = result.map_err(|f| format!("chiwawa: {func}: {}", f.message()))?;
        Ok((one_i64(func, vals)?, time))
    }
}

/// (d) wasmi 2.0, eager compilation (the whole module is translated before it runs).
pub struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

/// A wasmi engine set to eager translation, with `wasm` compiled by it; also the compile time.
pub fn wasmi_compile(wasm: &[u8]) -> Result<(wasmi::Engine, wasmi::Module, Duration), String> {
    let mut config = wasmi::Config::default();
    config.compilation_mode(wasmi::CompilationMode::Eager);
    let engine = wasmi::Engine::new(&config);
    let start = Instant::now();
    let module = wasmi::Module::new(&engine, wasm).map_err(|e| format!("wasmi: {e}"))?;
    Ok((engine, module, start.elapsed()))
}

impl Wasmi {
    /// Compiles and instantiates `wasm`; also returns the compile time.
    pub fn new(wasm: &[u8]) -> Result<(Wasmi, Duration), String> {
        let err = |e: wasmi::Error| format!("wasmi: {e}");
        let (engine, module, compile) = wasmi_compile(wasm)?;
        let mut linker = wasmi::Linker::<()>::new(&engine);
        for import in module.imports() {
            if let wasmi::ExternType::Func(ty) = import.ty() {
                let what = format!("{}.{}", import.module(), import.name());
                linker
                    .func_new(
                        import.module(),
                        import.name(),
                        ty.clone(),
                        move |_, _, _| Err(wasmi::Error::new(format!("stub import {what} called"))),
                    )
                    .map_err(|e| format!("wasmi: {e}"))?;
            }
        }
        let mut store = wasmi::Store::new(&engine, ());
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .map_err(err)?;
        Ok((Wasmi { store, instance }, compile))
    }
}

impl Runner for Wasmi {
    fn call(&mut self, func: &str, n: i32) -> Result<(i64, Duration), String> {
        let f = self
            .instance
            .get_typed_func::<i32, i64>(&self.store, func)
            .map_err(|e| format!("wasmi: {func}: {e}"))?;
        let start = Instant::now();
        let result = f.call(&mut self.store, n);
        let time = start.elapsed();
        Ok((result.map_err(|e| format!("wasmi: {func}: {e}"))?, time))
    }
}
