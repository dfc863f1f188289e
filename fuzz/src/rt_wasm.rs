//! Mutants inside `chiwawa-rt.wasm` (the 32-bit build, where sizes and offsets computed in
//! `usize` can wrap): the runtime module is compiled once by an embedded wasmtime and
//! instantiated per mutant, with the mutant in a preopened directory, run as a user runs it:
//! `chiwawa-rt [--verify=eager|lazy] --invoke NAME mutant.cwi ARGS...`.
//!
//! Classes: exit 0 is `Ran`; exit 1 with chiwawa's `error:` line `Refused`; chiwawa's own
//! `error: trap:` line followed by a trap of the runtime (or exit 134) `Trapped`; anything else —
//! a trap of the runtime not preceded by that line (a fault inside chiwawa), an internal error,
//! another status — is a failure (`Crash`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::mutate::Presentation;
use crate::{Class, Outcome};

/// Epoch ticks (of 100 ms) a run may take.
const DEADLINE_TICKS: u64 = 10;

/// The most linear memory chiwawa-rt.wasm may have. A mutant may claim a code region of up to
/// 2 GiB in a (sparse) file of that length, or memories of many pages: legitimate for a real
/// module of that size, and the runtime then allocates it. The limit keeps one input from taking
/// gigabytes of the campaign's memory; past it the runtime's allocation fails and it refuses the
/// image ("out of memory") or traps cleanly.
const MEMORY_LIMIT: usize = 256 << 20;

/// What a store of chiwawa-rt.wasm holds.
struct Host {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

pub struct RtWasm {
    engine: Engine,
    module: Module,
    linker: Linker<Host>,
    dir: PathBuf,
}

/// Where `chiwawa-rt.wasm` is: `$CHIWAWA_DIST/chiwawa-rt.wasm`, else the workspace's `dist/`.
pub fn default_path() -> PathBuf {
    match std::env::var_os("CHIWAWA_DIST") {
        Some(d) => PathBuf::from(d).join("chiwawa-rt.wasm"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/chiwawa-rt.wasm"),
    }
}

impl RtWasm {
    /// Compiles `chiwawa-rt.wasm` (seconds) and makes a scratch directory for mutants.
    pub fn new(path: &Path) -> Result<RtWasm, String> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let ticker = engine.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            ticker.increment_epoch();
        });
        let module = Module::from_file(&engine, path)
            .map_err(|e| format!("{}: {e:#} (run `make dist` first)", path.display()))?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)
            .map_err(|e| format!("{e:#}"))?;
        let dir = std::env::temp_dir().join(format!("chiwawa-fuzz-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        Ok(RtWasm {
            engine,
            module,
            linker,
            dir,
        })
    }

    /// Runs chiwawa-rt.wasm on `image` with `args` (the options and values around the image,
    /// which is `m.cwi` in the preopened directory).
    pub fn run(&self, image: &[u8], presentation: Presentation, args: &[String]) -> Outcome {
        let path = self.dir.join("m.cwi");
        if let Err(e) = write_image(&path, image, presentation) {
            return Outcome::new(Class::Skipped, format!("cannot write the mutant: {e}"));
        }
        let stdout = MemoryOutputPipe::new(1 << 16);
        let stderr = MemoryOutputPipe::new(1 << 16);
        let mut argv = vec!["chiwawa-rt".to_string()];
        argv.extend(args.iter().cloned());
        let wasi = match WasiCtxBuilder::new().args(&argv).preopened_dir(
            &self.dir,
            ".",
            FsPerms::ReadWrite,
        ) {
            Ok(b) => b.stdout(stdout.clone()).stderr(stderr.clone()).build_p1(),
            Err(e) => return Outcome::new(Class::Skipped, format!("preopen: {e:#}")),
        };
        let limits = StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build();
        let mut store = Store::new(&self.engine, Host { wasi, limits });
        store.limiter(|host| &mut host.limits);
        store.set_epoch_deadline(DEADLINE_TICKS);
        let result = self
            .linker
            .instantiate(&mut store, &self.module)
            .and_then(|i| i.get_typed_func::<(), ()>(&mut store, "_start"))
            .and_then(|start| start.call(&mut store, ()));
        drop(store);
        let err = String::from_utf8_lossy(&stderr.contents()).into_owned();
        let trap_line = err.contains("error: trap:");
        match result {
            Ok(()) => Outcome::new(Class::Ran, "exit 0"),
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                    return match exit.0 {
                        0 => Outcome::new(Class::Ran, "exit 0"),
                        1 if err.contains("error:") && !err.contains("internal error") => {
                            Outcome::new(Class::Refused, first_line(&err))
                        }
                        134 if trap_line => Outcome::new(Class::Trapped, first_line(&err)),
                        code => Outcome::new(Class::Crash, format!("exit {code}; stderr: {err}")),
                    };
                }
                let text = format!("{e:?}");
                match e.downcast_ref::<wasmtime::Trap>() {
                    Some(wasmtime::Trap::Interrupt) => {
                        Outcome::new(Class::Timeout, "deadline reached")
                    }
                    // Before issue 14.3 was fixed the runtime called proc_exit(134), which
                    // wasmtime refuses with an error: still chiwawa's clean trap.
                    _ if trap_line => Outcome::new(Class::Trapped, first_line(&err)),
                    _ => Outcome::new(
                        Class::Crash,
                        format!("chiwawa-rt.wasm stopped without reporting a trap: {text}\nstderr: {err}"),
                    ),
                }
            }
        }
    }
}

impl Drop for RtWasm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| l.contains("error"))
        .unwrap_or("")
        .to_string()
}

/// Writes the mutant; a sparse presentation extends the file to the length its header claims
/// (up to 64 GiB), as an attacker's sparse file would.
fn write_image(path: &Path, image: &[u8], presentation: Presentation) -> std::io::Result<()> {
    std::fs::write(path, image)?;
    if presentation == Presentation::SparseFile {
        let claimed = crate::mutate::claimed_len(image);
        if claimed > image.len() as u64 && claimed <= 1 << 36 {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)?
                .set_len(claimed)?;
        }
    }
    Ok(())
}
