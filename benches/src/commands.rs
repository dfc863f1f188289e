//! The four ways a real program runs as a WASI command (`_start`), each with its stdout and
//! stderr captured so that the engines' outputs can be compared: (a) the module on wasmtime with
//! wasmtime-wasi, (b) `chiwawa-rt.wasm IMAGE ARGS` on that wasmtime (the runtime's own `_start`,
//! as users run it), (c) the image in the chiwawa runtime linked natively with its native WASI,
//! (d) the module on wasmi 2.0 with wasmi_wasi. Every run gets the same argv, an empty
//! environment, an empty stdin and one directory preopened as ".".
//!
//! What a run's time covers: (a) and (d) instantiate the module compiled beforehand, then run
//! `_start`; (b) instantiates `chiwawa-rt.wasm` (compiled beforehand) and runs its `_start`,
//! which reads, checks, verifies and instantiates the image before it runs the guest; (c) does
//! what the native CLI does after reading the file: check, verify (in the runtime's default
//! mode), instantiate, run. The one-time costs (wasmtime and wasmi compile, translation, the
//! image's load alone) are measured apart.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use chiwawa_runtime::store::{Caller, Extern, HostFn, Store};
use chiwawa_runtime::wasi::{self, GuestMemory, WasiCtx};
use chiwawa_runtime::{InstantiateError, Trap, TrapKind, VerifyMode};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::rt_wasm::RtModule;

/// What a run of a command gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// How a command is started: its argv (`argv[0]` included) and the host directory preopened
/// for it as ".", which holds its input files and its image.
pub struct Invocation {
    pub argv: Vec<String>,
    pub dir: PathBuf,
    /// The file name of the image in `dir` (for (b)).
    pub image_name: String,
}

/// One engine with one program prepared.
pub trait CommandRunner {
    /// Runs the command once; its outcome and the time of the run.
    fn run(&mut self, inv: &Invocation) -> Result<(Outcome, Duration), String>;
}

/// Room for a run's stdout or stderr (the benchmark programs print a few kB).
const PIPE_CAPACITY: usize = 64 << 20;

/// A WASI preview1 context for wasmtime: argv, stdout and stderr into memory, "." preopened.
fn wasmtime_ctx(
    argv: &[String],
    dir: &Path,
) -> Result<
    (
        WasiP1Ctx,
        wasmtime_wasi::p2::pipe::MemoryOutputPipe,
        wasmtime_wasi::p2::pipe::MemoryOutputPipe,
    ),
    String,
> {
    let stdout = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(PIPE_CAPACITY);
    let stderr = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(PIPE_CAPACITY);
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder
        .args(argv)
        .stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(Vec::new()))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .preopened_dir(dir, ".", wasmtime_wasi::FsPerms::ReadWrite)
        .map_err(|e| format!("wasmtime-wasi: preopen {}: {e:#}", dir.display()))?;
    Ok((builder.build_p1(), stdout, stderr))
}

/// Instantiates through `pre` and runs `_start`; the exit status and the time of both.
fn wasmtime_start(
    engine: &wasmtime::Engine,
    pre: &wasmtime::InstancePre<WasiP1Ctx>,
    ctx: WasiP1Ctx,
    what: &str,
) -> Result<(i32, Duration), String> {
    let err = |e: wasmtime::Error| format!("{what}: {e:#}");
    let start = Instant::now();
    let mut store = wasmtime::Store::new(engine, ctx);
    let instance = pre.instantiate(&mut store).map_err(err)?;
    let func = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(err)?;
    let result = func.call(&mut store, ());
    let time = start.elapsed();
    let status = match result {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => exit.0,
            None => return Err(err(e)),
        },
    };
    Ok((status, time))
}

/// (a) The program compiled by wasmtime (Cranelift, default settings, no cache).
pub struct WasmtimeCommand {
    engine: wasmtime::Engine,
    pre: wasmtime::InstancePre<WasiP1Ctx>,
}

impl WasmtimeCommand {
    /// Compiles `wasm` and links it to WASI; also returns the compile time.
    pub fn new(
        engine: &wasmtime::Engine,
        wasm: &[u8],
    ) -> Result<(WasmtimeCommand, Duration), String> {
        let err = |e: wasmtime::Error| format!("wasmtime: {e:#}");
        let start = Instant::now();
        let module = wasmtime::Module::new(engine, wasm).map_err(err)?;
        let compile = start.elapsed();
        let mut linker: wasmtime::Linker<WasiP1Ctx> = wasmtime::Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
        let pre = linker.instantiate_pre(&module).map_err(err)?;
        Ok((
            WasmtimeCommand {
                engine: engine.clone(),
                pre,
            },
            compile,
        ))
    }
}

impl CommandRunner for WasmtimeCommand {
    fn run(&mut self, inv: &Invocation) -> Result<(Outcome, Duration), String> {
        let (ctx, stdout, stderr) = wasmtime_ctx(&inv.argv, &inv.dir)?;
        let (status, time) = wasmtime_start(&self.engine, &self.pre, ctx, "wasmtime")?;
        let outcome = Outcome {
            status,
            stdout: stdout.contents().to_vec(),
            stderr: stderr.contents().to_vec(),
        };
        Ok((outcome, time))
    }
}

/// (b) `chiwawa-rt.wasm --argv0 ARGV0 IMAGE ARGS...` on wasmtime: the runtime's own `_start`.
pub struct RtWasmCommand {
    engine: wasmtime::Engine,
    pre: wasmtime::InstancePre<WasiP1Ctx>,
}

impl RtWasmCommand {
    pub fn new(rt: &RtModule) -> Result<RtWasmCommand, String> {
        let err = |e: wasmtime::Error| format!("wasmtime: chiwawa-rt.wasm: {e:#}");
        let mut linker: wasmtime::Linker<WasiP1Ctx> = wasmtime::Linker::new(&rt.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
        let pre = linker.instantiate_pre(&rt.module).map_err(err)?;
        Ok(RtWasmCommand {
            engine: rt.engine.clone(),
            pre,
        })
    }
}

impl CommandRunner for RtWasmCommand {
    fn run(&mut self, inv: &Invocation) -> Result<(Outcome, Duration), String> {
        let (argv0, args) = inv.argv.split_first().ok_or("empty argv")?;
        let mut argv = vec![
            "chiwawa-rt".to_string(),
            "--argv0".to_string(),
            argv0.clone(),
            inv.image_name.clone(),
        ];
        argv.extend(args.iter().cloned());
        let (ctx, stdout, stderr) = wasmtime_ctx(&argv, &inv.dir)?;
        let (status, time) =
            wasmtime_start(&self.engine, &self.pre, ctx, "wasmtime: chiwawa-rt.wasm")?;
        let outcome = Outcome {
            status,
            stdout: stdout.contents().to_vec(),
            stderr: stderr.contents().to_vec(),
        };
        Ok((outcome, time))
    }
}

/// Stdout and stderr of a native run.
#[derive(Default)]
struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn host_trap(message: String) -> Trap {
    Trap::new(TrapKind::Host(message))
}

fn guest_memory<'a>(caller: &'a mut Caller<'_>) -> GuestMemory<'a> {
    match caller.memory.as_deref_mut() {
        Some(memory) => GuestMemory::new(memory.bytes_mut()),
        None => GuestMemory::none(),
    }
}

fn arg32(params: &[u64], i: usize) -> u32 {
    params.get(i).copied().unwrap_or(0) as u32
}

/// `fd_write` on descriptor 1 or 2: appends the iovecs to `captured`; errno 0.
fn capture_write(
    captured: &RefCell<Captured>,
    caller: &mut Caller<'_>,
    params: &[u64],
) -> Result<u32, Trap> {
    let (fd, iovs, count, nwritten) = (
        arg32(params, 0),
        arg32(params, 1),
        arg32(params, 2),
        arg32(params, 3),
    );
    let mut memory = guest_memory(caller);
    memory.range(nwritten, 4, 4)?;
    let mut captured = captured
        .try_borrow_mut()
        .map_err(|_| host_trap("bench: output already in use".into()))?;
    let out = if fd == 1 {
        &mut captured.stdout
    } else {
        &mut captured.stderr
    };
    let mut written: u32 = 0;
    for (buf, len) in memory.iovecs(iovs, count, 1024)? {
        let Some(total) = written.checked_add(len) else {
            break;
        };
        out.extend_from_slice(memory.slice(buf, len)?);
        written = total;
    }
    memory.write_u32(nwritten, written)?;
    Ok(0)
}

/// Resolves one import for a native run: chiwawa's native WASI, except that stdout and stderr
/// go into `captured`, stdin is empty and the environment is empty (as on the other engines).
fn link_native(
    store: &mut Store,
    ctx: &Rc<RefCell<WasiCtx>>,
    captured: &Rc<RefCell<Captured>>,
    module: &str,
    name: &str,
) -> Option<Extern> {
    let linked = wasi::link(store, ctx, module, name)?;
    let Extern::Func(addr) = linked else {
        return Some(linked);
    };
    let Some(inner) = store.host_func(addr) else {
        return Some(linked);
    };
    let wrapped: HostFn = match name {
        "fd_write" => {
            let captured = Rc::clone(captured);
            Rc::new(move |caller, params, results| {
                if !matches!(arg32(params, 0), 1 | 2) {
                    return inner(caller, params, results);
                }
                let errno = capture_write(&captured, caller, params)?;
                if let Some(r) = results.first_mut() {
                    *r = u64::from(errno);
                }
                Ok(())
            })
        }
        // Descriptor 0 is at its end; the rest as natively. nread is the fourth parameter.
        "fd_read" => Rc::new(move |caller, params, results| {
            if arg32(params, 0) != 0 {
                return inner(caller, params, results);
            }
            guest_memory(caller).write_u32(arg32(params, 3), 0)?;
            if let Some(r) = results.first_mut() {
                *r = 0;
            }
            Ok(())
        }),
        // No variables: count 0, size 0.
        "environ_sizes_get" => Rc::new(move |caller, params, results| {
            let mut memory = guest_memory(caller);
            memory.range(arg32(params, 0), 4, 4)?;
            memory.range(arg32(params, 1), 4, 4)?;
            memory.write_u32(arg32(params, 0), 0)?;
            memory.write_u32(arg32(params, 1), 0)?;
            if let Some(r) = results.first_mut() {
                *r = 0;
            }
            Ok(())
        }),
        "environ_get" => Rc::new(move |_caller, _params, results| {
            if let Some(r) = results.first_mut() {
                *r = 0;
            }
            Ok(())
        }),
        _ => return Some(linked),
    };
    let ty = store.func_type(addr).clone();
    Some(Extern::Func(store.add_host_func(ty, wrapped)))
}

/// (c) The image in the chiwawa runtime linked into this process, with its native WASI.
pub struct NativeCommand {
    image: Vec<u8>,
}

impl NativeCommand {
    pub fn new(image: Vec<u8>) -> NativeCommand {
        NativeCommand { image }
    }
}

impl CommandRunner for NativeCommand {
    fn run(&mut self, inv: &Invocation) -> Result<(Outcome, Duration), String> {
        let ctx = Rc::new(RefCell::new(WasiCtx::new(inv.argv.clone())));
        ctx.borrow_mut()
            .preopen_dir(&inv.dir, ".")
            .map_err(|e| format!("chiwawa: preopen {}: {e}", inv.dir.display()))?;
        let captured = Rc::new(RefCell::new(Captured::default()));

        let start = Instant::now();
        // The verifier's default mode, as the CLI uses it.
        let image = chiwawa_runtime::load_image(&self.image, VerifyMode::default())
            .map_err(|e| format!("chiwawa: load: {e}"))?;
        let mut store = Store::new();
        let instantiated = store.instantiate(&image, &mut |store, module, name| {
            link_native(store, &ctx, &captured, module, name)
        });
        let result = match instantiated {
            Ok(instance) => match store.export(instance, "_start") {
                Some(Extern::Func(func)) => store.invoke(func, &[]).map(|_| ()),
                _ => return Err("chiwawa: no exported function _start".into()),
            },
            Err(InstantiateError::Trap(trap)) => Err(trap),
            Err(InstantiateError::Link(message)) => {
                return Err(format!("chiwawa: instantiate: {message}"))
            }
        };
        let time = start.elapsed();
        let status = match result {
            Ok(()) => 0,
            Err(trap) => match trap.kind {
                TrapKind::Exit(code) => code as i32,
                _ => return Err(format!("chiwawa: trap: {trap}")),
            },
        };
        drop(store);
        let captured = std::mem::take(&mut *captured.borrow_mut());
        let outcome = Outcome {
            status,
            stdout: captured.stdout,
            stderr: captured.stderr,
        };
        Ok((outcome, time))
    }
}

/// (d) wasmi 2.0, eager compilation, with wasmi_wasi (wasi-common).
pub struct WasmiCommand {
    engine: wasmi::Engine,
    module: wasmi::Module,
    linker: wasmi::Linker<wasmi_wasi::WasiCtx>,
}

impl WasmiCommand {
    /// Compiles `wasm` (eagerly) and links WASI; also returns the compile time.
    pub fn new(wasm: &[u8]) -> Result<(WasmiCommand, Duration), String> {
        let (engine, module, compile) = crate::engines::wasmi_compile(wasm)?;
        let mut linker = wasmi::Linker::new(&engine);
        wasmi_wasi::add_to_linker(&mut linker, |ctx| ctx)
            .map_err(|e| format!("wasmi_wasi: {e}"))?;
        Ok((
            WasmiCommand {
                engine,
                module,
                linker,
            },
            compile,
        ))
    }
}

impl CommandRunner for WasmiCommand {
    fn run(&mut self, inv: &Invocation) -> Result<(Outcome, Duration), String> {
        use wasmi_wasi::wasi_common::pipe::{ReadPipe, WritePipe};
        let wasi_err = |e: wasmi_wasi::Error| format!("wasmi_wasi: {e}");
        let stdout = WritePipe::new_in_memory();
        let stderr = WritePipe::new_in_memory();
        let dir = wasmi_wasi::Dir::open_ambient_dir(&inv.dir, wasmi_wasi::ambient_authority())
            .map_err(|e| format!("wasmi_wasi: preopen {}: {e}", inv.dir.display()))?;
        let mut builder = wasmi_wasi::WasiCtxBuilder::new();
        builder
            .args(&inv.argv)
            .map_err(|e| format!("wasmi_wasi: args: {e}"))?
            .stdin(Box::new(ReadPipe::from(Vec::new())))
            .stdout(Box::new(stdout.clone()))
            .stderr(Box::new(stderr.clone()))
            .preopened_dir(dir, ".")
            .map_err(wasi_err)?;
        let ctx = builder.build();

        let err = |e: wasmi::Error| format!("wasmi: {e}");
        let start = Instant::now();
        let mut store = wasmi::Store::new(&self.engine, ctx);
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(err)?;
        let func = instance
            .get_typed_func::<(), ()>(&store, "_start")
            .map_err(err)?;
        let result = func.call(&mut store, ());
        let time = start.elapsed();
        let status = match result {
            Ok(()) => 0,
            Err(e) => match e.i32_exit_status() {
                Some(status) => status,
                None => return Err(err(e)),
            },
        };
        drop(store);
        let take = |pipe: WritePipe<std::io::Cursor<Vec<u8>>>| {
            pipe.try_into_inner()
                .map(std::io::Cursor::into_inner)
                .map_err(|_| "wasmi_wasi: output still in use".to_string())
        };
        let outcome = Outcome {
            status,
            stdout: take(stdout)?,
            stderr: take(stderr)?,
        };
        Ok((outcome, time))
    }
}
