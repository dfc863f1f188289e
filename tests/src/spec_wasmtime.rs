//! The `wasmtime` host: each module is translated here, and the image is loaded, instantiated
//! and run by `chiwawa-rt.wasm` (the same file users run) inside an embedded wasmtime, through
//! the runtime's `cw_*` exports (runtime/src/abi.rs). One wasmtime instance per `.wast` file.

use std::path::PathBuf;
use std::sync::OnceLock;

use chiwawa_runtime::driver::{decode_vals, encode_vals, Failure};
use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::spec_host::{
    CallFailure, CompileError, Host, InstanceId, InstantiateFailure, ModuleId, Session, Val,
};

/// Where `chiwawa-rt.wasm` is: `$CHIWAWA_DIST/chiwawa-rt.wasm`, else `<workspace>/dist/`.
pub fn runtime_wasm_path() -> PathBuf {
    let dist = std::env::var_os("CHIWAWA_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    dist.join("chiwawa-rt.wasm")
}

/// The engine and the compiled runtime module, built once per process.
fn compiled() -> Result<&'static (Engine, Module), String> {
    static COMPILED: OnceLock<Result<(Engine, Module), String>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let path = runtime_wasm_path();
            let engine = Engine::default();
            let module = Module::from_file(&engine, &path)
                .map_err(|e| format!("{}: {e} (run `make dist` first)", path.display()))?;
            Ok((engine, module))
        })
        .as_ref()
        .map_err(Clone::clone)
}

pub struct WasmtimeHost;

impl Host for WasmtimeHost {
    fn name(&self) -> &'static str {
        "wasmtime"
    }

    fn new_session(&self) -> Result<Box<dyn Session>, String> {
        Ok(Box::new(WasmtimeSession::new()?))
    }
}

struct Exports {
    input: TypedFunc<u32, u32>,
    output_ptr: TypedFunc<(), u32>,
    output_len: TypedFunc<(), u32>,
    load: TypedFunc<(), i64>,
    instantiate: TypedFunc<u32, i64>,
    register: TypedFunc<u32, i64>,
    invoke: TypedFunc<u32, i64>,
    global: TypedFunc<u32, i64>,
}

struct WasmtimeSession {
    store: Store<WasiP1Ctx>,
    instance: Instance,
    exports: Exports,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("wasmtime: {e:#}")
}

impl WasmtimeSession {
    fn new() -> Result<WasmtimeSession, String> {
        let (engine, module) = compiled()?;
        let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
        let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(engine, wasi);
        let instance = linker.instantiate(&mut store, module).map_err(err)?;
        let mut get = |name: &str| {
            instance
                .get_func(&mut store, name)
                .ok_or_else(|| format!("chiwawa-rt.wasm has no export {name}"))
        };
        let (input, output_ptr, output_len) = (
            get("cw_input")?,
            get("cw_output_ptr")?,
            get("cw_output_len")?,
        );
        let (load, instantiate, register) =
            (get("cw_load")?, get("cw_instantiate")?, get("cw_register")?);
        let (invoke, global) = (get("cw_invoke")?, get("cw_global")?);
        let exports = Exports {
            input: input.typed(&store).map_err(err)?,
            output_ptr: output_ptr.typed(&store).map_err(err)?,
            output_len: output_len.typed(&store).map_err(err)?,
            load: load.typed(&store).map_err(err)?,
            instantiate: instantiate.typed(&store).map_err(err)?,
            register: register.typed(&store).map_err(err)?,
            invoke: invoke.typed(&store).map_err(err)?,
            global: global.typed(&store).map_err(err)?,
        };
        Ok(WasmtimeSession {
            store,
            instance,
            exports,
        })
    }

    fn memory(&mut self) -> Result<wasmtime::Memory, Failure> {
        self.instance
            .get_memory(&mut self.store, "memory")
            .ok_or_else(|| Failure::Other("chiwawa-rt.wasm exports no memory".into()))
    }

    fn write_input(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let ptr = self
            .exports
            .input
            .call(&mut self.store, bytes.len() as u32)
            .map_err(|e| Failure::Other(err(e)))?;
        let memory = self.memory()?;
        memory
            .write(&mut self.store, ptr as usize, bytes)
            .map_err(|e| Failure::Other(err(e)))
    }

    fn read_output(&mut self) -> Result<Vec<u8>, Failure> {
        let ptr = self
            .exports
            .output_ptr
            .call(&mut self.store, ())
            .map_err(|e| Failure::Other(err(e)))?;
        let len = self
            .exports
            .output_len
            .call(&mut self.store, ())
            .map_err(|e| Failure::Other(err(e)))?;
        let memory = self.memory()?;
        let mut out = vec![0; len as usize];
        memory
            .read(&self.store, ptr as usize, &mut out)
            .map_err(|e| Failure::Other(err(e)))?;
        Ok(out)
    }

    /// Calls an export and turns a negative answer into the failure the runtime described.
    fn call(
        &mut self,
        pick: fn(&Exports) -> &TypedFunc<u32, i64>,
        arg: u32,
    ) -> Result<i64, Failure> {
        let f = pick(&self.exports).clone();
        let ret = f
            .call(&mut self.store, arg)
            .map_err(|e| Failure::Other(err(e)))?;
        self.check(ret)
    }

    fn check(&mut self, ret: i64) -> Result<i64, Failure> {
        if ret >= 0 {
            return Ok(ret);
        }
        let message = String::from_utf8_lossy(&self.read_output()?).into_owned();
        Err(Failure::from_code((-ret) as i32, message))
    }

    fn named(name: &str, rest: &[u8]) -> Vec<u8> {
        let mut input = (name.len() as u32).to_le_bytes().to_vec();
        input.extend_from_slice(name.as_bytes());
        input.extend_from_slice(rest);
        input
    }

    fn output_vals(&mut self) -> Result<Vec<Val>, Failure> {
        let bytes = self.read_output()?;
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        Ok(decode_vals(&words))
    }
}

impl Session for WasmtimeSession {
    fn compile(&mut self, wasm: &[u8]) -> Result<ModuleId, CompileError> {
        let image = crate::spec_host::translate(wasm)?;
        let other = |f: Failure| CompileError::Other(f.message().to_string());
        self.write_input(&image).map_err(other)?;
        let ret = self
            .exports
            .load
            .call(&mut self.store, ())
            .map_err(|e| CompileError::Other(err(e)))?;
        Ok(self.check(ret).map_err(other)? as ModuleId)
    }

    fn instantiate(&mut self, module: ModuleId) -> Result<InstanceId, InstantiateFailure> {
        match self.call(|e| &e.instantiate, module as u32) {
            Ok(instance) => Ok(instance as InstanceId),
            Err(failure) => Err(failure.into()),
        }
    }

    fn register(&mut self, name: &str, instance: InstanceId) -> Result<(), String> {
        self.write_input(&Self::named(name, &[]))
            .map_err(|f| f.message().to_string())?;
        self.call(|e| &e.register, instance)
            .map(|_| ())
            .map_err(|f| f.message().to_string())
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        func: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallFailure> {
        let words: Vec<u8> = encode_vals(args)
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let result = self
            .write_input(&Self::named(func, &words))
            .and_then(|()| self.call(|e| &e.invoke, instance))
            .and_then(|_| self.output_vals());
        Ok(result?)
    }

    fn get_global(&mut self, instance: InstanceId, global: &str) -> Result<Val, String> {
        let result = self
            .write_input(&Self::named(global, &[]))
            .and_then(|()| self.call(|e| &e.global, instance))
            .and_then(|_| self.output_vals());
        match result {
            Ok(vals) if vals.len() == 1 => Ok(vals[0]),
            Ok(vals) => Err(format!("expected one value, got {vals:?}")),
            Err(f) => Err(f.message().to_string()),
        }
    }
}
