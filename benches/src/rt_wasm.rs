//! `chiwawa-rt.wasm` on an embedded wasmtime, driven through its `cw_*` exports
//! (runtime/src/abi.rs), as the spec runner's wasmtime host drives it.

use std::path::Path;
use std::time::{Duration, Instant};

use chiwawa_runtime::driver::{decode_vals, encode_vals};
use chiwawa_runtime::Val;
use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;

fn err(e: impl std::fmt::Display) -> String {
    format!("wasmtime: {e:#}")
}

/// `chiwawa-rt.wasm` compiled by wasmtime once.
pub struct RtModule {
    pub engine: Engine,
    pub module: Module,
    /// How long wasmtime took to compile chiwawa-rt.wasm (a one-time host cost).
    pub compile: Duration,
    pub size: usize,
}

impl RtModule {
    pub fn new(path: &Path) -> Result<RtModule, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{}: {e} (run `make dist` first)", path.display()))?;
        let engine = Engine::default();
        let start = Instant::now();
        let module = Module::new(&engine, &bytes).map_err(err)?;
        Ok(RtModule {
            engine,
            module,
            compile: start.elapsed(),
            size: bytes.len(),
        })
    }
}

/// One instance of chiwawa-rt.wasm, that is one chiwawa session.
pub struct RtSession {
    store: Store<WasiP1Ctx>,
    memory: wasmtime::Memory,
    input: TypedFunc<u32, u32>,
    output_ptr: TypedFunc<(), u32>,
    output_len: TypedFunc<(), u32>,
    reset: TypedFunc<(), ()>,
    load: TypedFunc<(), i64>,
    instantiate: TypedFunc<u32, i64>,
    register: TypedFunc<u32, i64>,
    invoke: TypedFunc<u32, i64>,
}

impl RtSession {
    pub fn new(rt: &RtModule) -> Result<RtSession, String> {
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&rt.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
        let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(&rt.engine, wasi);
        let instance: Instance = linker.instantiate(&mut store, &rt.module).map_err(err)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or("chiwawa-rt.wasm exports no memory")?;
        macro_rules! typed {
            ($name:literal) => {
                instance
                    .get_typed_func(&mut store, $name)
                    .map_err(|e| format!("chiwawa-rt.wasm export {}: {e:#}", $name))?
            };
        }
        Ok(RtSession {
            input: typed!("cw_input"),
            output_ptr: typed!("cw_output_ptr"),
            output_len: typed!("cw_output_len"),
            reset: typed!("cw_reset"),
            load: typed!("cw_load"),
            instantiate: typed!("cw_instantiate"),
            register: typed!("cw_register"),
            invoke: typed!("cw_invoke"),
            memory,
            store,
        })
    }

    /// Starts over with an empty chiwawa session (same wasmtime instance).
    pub fn reset(&mut self) -> Result<(), String> {
        self.reset.call(&mut self.store, ()).map_err(err)
    }

    fn write_input(&mut self, bytes: &[u8]) -> Result<(), String> {
        let ptr = self
            .input
            .call(&mut self.store, bytes.len() as u32)
            .map_err(err)?;
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .map_err(err)
    }

    fn read_output(&mut self) -> Result<Vec<u8>, String> {
        let ptr = self.output_ptr.call(&mut self.store, ()).map_err(err)?;
        let len = self.output_len.call(&mut self.store, ()).map_err(err)?;
        let mut out = vec![0; len as usize];
        self.memory
            .read(&self.store, ptr as usize, &mut out)
            .map_err(err)?;
        Ok(out)
    }

    fn check(&mut self, what: &str, ret: i64) -> Result<u32, String> {
        if ret >= 0 {
            return Ok(ret as u32);
        }
        let message = String::from_utf8_lossy(&self.read_output()?).into_owned();
        Err(format!("chiwawa-rt.wasm {what}: {message}"))
    }

    fn named(name: &str, rest: &[u8]) -> Vec<u8> {
        let mut input = (name.len() as u32).to_le_bytes().to_vec();
        input.extend_from_slice(name.as_bytes());
        input.extend_from_slice(rest);
        input
    }

    /// Copies `image` into the runtime's input buffer (the stand-in for reading the file).
    pub fn put_image(&mut self, image: &[u8]) -> Result<(), String> {
        self.write_input(image)
    }

    /// `cw_load` of the image last put in; the module id and the time of the call.
    pub fn load(&mut self) -> Result<(u32, Duration), String> {
        let start = Instant::now();
        let ret = self.load.call(&mut self.store, ()).map_err(err)?;
        let time = start.elapsed();
        Ok((self.check("load", ret)?, time))
    }

    /// `cw_instantiate`; the instance id and the time of the call.
    pub fn instantiate(&mut self, module: u32) -> Result<(u32, Duration), String> {
        let start = Instant::now();
        let ret = self
            .instantiate
            .call(&mut self.store, module)
            .map_err(err)?;
        let time = start.elapsed();
        Ok((self.check("instantiate", ret)?, time))
    }

    pub fn register(&mut self, name: &str, instance: u32) -> Result<(), String> {
        self.write_input(&Self::named(name, &[]))?;
        let ret = self.register.call(&mut self.store, instance).map_err(err)?;
        self.check("register", ret).map(|_| ())
    }

    /// Loads, instantiates and registers the stubs for `wasm`'s imports.
    pub fn link_stubs(&mut self, wasm: &[u8]) -> Result<(), String> {
        for (name, stub) in crate::stub::stub_modules(wasm)? {
            let image = crate::translate(&stub)?;
            self.put_image(&image)?;
            let (module, _) = self.load()?;
            let (instance, _) = self.instantiate(module)?;
            self.register(&name, instance)?;
        }
        Ok(())
    }

    /// Prepares a call of `func(args)` on `instance`: the request goes into the input buffer,
    /// so that [`RtSession::invoke`] times the call alone.
    pub fn prepare_invoke(&mut self, func: &str, args: &[Val]) -> Result<(), String> {
        let words: Vec<u8> = encode_vals(args)
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        self.write_input(&Self::named(func, &words))
    }

    /// `cw_invoke` of the request prepared last; its results and the time of the call.
    pub fn invoke(&mut self, instance: u32) -> Result<(Vec<Val>, Duration), String> {
        let start = Instant::now();
        let ret = self.invoke.call(&mut self.store, instance).map_err(err)?;
        let time = start.elapsed();
        self.check("invoke", ret)?;
        let bytes = self.read_output()?;
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        Ok((decode_vals(&words), time))
    }
}
