//! Start-up: how long an image takes to become runnable inside `chiwawa-rt.wasm` on wasmtime,
//! against translating the `.wasm` at start and against wasmtime compiling it cold.
//!
//! The chiwawa figures are measured inside the guest: each run instantiates `chiwawa-rt.wasm`
//! afresh as a WASI command (`chiwawa-rt --verify=MODE --startup-report IMAGE`) on the embedded
//! wasmtime, as `wasmtime run` would, and reads the report the runtime prints on stderr just
//! before the guest's first instruction. Its phases come from the guest's monotonic clock, from the
//! start of the runtime's `main`: reading the file, checking it (header, checksum, bytecheck),
//! verifying, instantiating, and (lazy mode) verifying the entry function. The guest then runs
//! with no arguments and an empty stdin (outside the timing). Modules: the benchmark workloads
//! (small), `dist/chiwawa-translate.wasm` (~1.3 MB of code) and, when `make programs` built it,
//! `$CARGO_TARGET_DIR/programs/sqlite3.wasm`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chiwawa_runtime::driver::Session;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::rt_wasm::{RtModule, RtSession};
use crate::{dist_dir, stub, target_dir, translate, workloads_path, Options, Stat};

/// The start-up phases inside chiwawa-rt.wasm, in ms, over the runs.
pub struct GuestPhases {
    pub read: Stat,
    pub check: Stat,
    pub verify: Stat,
    pub instantiate: Stat,
    pub verify_entry: Stat,
    pub total: Stat,
}

pub struct StartupRow {
    pub name: String,
    pub wasm_bytes: usize,
    pub code_bytes: usize,
    pub image_bytes: usize,
    pub translate: Stat,
    pub wasmtime_compile: Stat,
    /// `--verify=eager`: all code verified at load.
    pub eager: GuestPhases,
    /// `--verify=lazy` (the default): each function verified on first entry.
    pub lazy: GuestPhases,
    /// `cw_load` + `cw_instantiate` of chiwawa-rt.wasm (lazy), timed by the host: the embedding
    /// ABI's view, without reading a file.
    pub cw_total: Stat,
    /// The native runtime in-process, load + instantiate (lazy), for comparison.
    pub native_total: Stat,
}

impl StartupRow {
    pub fn code_mb(&self) -> f64 {
        self.code_bytes as f64 / 1e6
    }

    /// Milliseconds per MB of code section of a median.
    pub fn per_mb(&self, stat: &Stat) -> f64 {
        stat.median / self.code_mb()
    }
}

fn modules(options: &Options) -> Vec<(String, PathBuf)> {
    let mut list = vec![("workloads".to_string(), workloads_path())];
    if !options.quick {
        list.push((
            "chiwawa-translate.wasm".to_string(),
            dist_dir().join("chiwawa-translate.wasm"),
        ));
        let sqlite = target_dir().join("programs/sqlite3.wasm");
        if sqlite.exists() {
            list.push(("sqlite3.wasm".to_string(), sqlite));
        } else {
            eprintln!(
                "start-up: {} not built (make programs); skipped",
                sqlite.display()
            );
        }
    }
    list
}

/// One run of `chiwawa-rt.wasm --verify=MODE --startup-report IMAGE` in a fresh instance; the
/// report's fields.
fn guest_run(
    rt: &RtModule,
    dir: &Path,
    image: &str,
    mode: &str,
) -> Result<Vec<(String, f64)>, String> {
    let err = |e: wasmtime::Error| format!("wasmtime: {e:#}");
    let stderr = MemoryOutputPipe::new(1 << 20);
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder
        .args(&[
            "chiwawa-rt",
            &format!("--verify={mode}"),
            "--startup-report",
            image,
        ])
        .stderr(stderr.clone());
    builder
        .preopened_dir(dir, ".", wasmtime_wasi::FsPerms::ReadOnly)
        .map_err(err)?;
    let wasi: WasiP1Ctx = builder.build_p1();
    let mut linker = wasmtime::Linker::<WasiP1Ctx>::new(&rt.engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
    let mut store = wasmtime::Store::new(&rt.engine, wasi);
    let instance = linker.instantiate(&mut store, &rt.module).map_err(err)?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(err)?;
    // The guest's own exit status does not matter (the report comes before it runs).
    let _ = start.call(&mut store, ());
    let text = String::from_utf8_lossy(&stderr.contents()).into_owned();
    let json = text
        .lines()
        .find_map(|l| l.split_once("startup-report ").map(|(_, j)| j.to_string()))
        .ok_or_else(|| format!("no start-up report from chiwawa-rt.wasm; stderr: {text}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("start-up report {json}: {e}"))?;
    let fields = value
        .as_object()
        .ok_or_else(|| format!("start-up report {json}: not an object"))?;
    Ok(fields
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .collect())
}

fn guest_phases(
    rt: &RtModule,
    dir: &Path,
    image: &str,
    mode: &str,
    runs: usize,
) -> Result<GuestPhases, String> {
    const PHASES: [&str; 6] = [
        "read_us",
        "check_us",
        "verify_us",
        "instantiate_us",
        "verify_entry_us",
        "total_us",
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); PHASES.len()];
    for _ in 0..runs {
        let fields = guest_run(rt, dir, image, mode)?;
        for (i, phase) in PHASES.iter().enumerate() {
            let us = fields
                .iter()
                .find(|(k, _)| k == phase)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("start-up report without {phase}"))?;
            times[i].push(Duration::from_secs_f64(us / 1e6));
        }
    }
    let stat = |i: usize| Stat::of(&times[i]);
    Ok(GuestPhases {
        read: stat(0),
        check: stat(1),
        verify: stat(2),
        instantiate: stat(3),
        verify_entry: stat(4),
        total: stat(5),
    })
}

fn row(
    name: &str,
    wasm: &[u8],
    rt: &RtModule,
    dir: &Path,
    runs: usize,
) -> Result<StartupRow, String> {
    let code_bytes = stub::code_section_size(wasm)?;
    let (mut translate_t, mut compile_t) = (Vec::new(), Vec::new());
    let mut image = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        image = translate(wasm)?;
        translate_t.push(start.elapsed());
        // A new engine each time: cold, no compiled-code cache.
        let engine = wasmtime::Engine::default();
        let start = Instant::now();
        wasmtime::Module::new(&engine, wasm).map_err(|e| format!("wasmtime: {e:#}"))?;
        compile_t.push(start.elapsed());
    }
    let file = format!("{}.cwi", name.trim_end_matches(".wasm"));
    std::fs::write(dir.join(&file), &image).map_err(|e| format!("{}: {e}", dir.display()))?;
    let eager = guest_phases(rt, dir, &file, "eager", runs)?;
    let lazy = guest_phases(rt, dir, &file, "lazy", runs)?;

    let mut session = RtSession::new(rt)?;
    let (mut cw_t, mut native_t) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        session.reset()?;
        session.link_stubs(wasm)?;
        session.put_image(&image)?;
        let (module, load) = session.load()?;
        let (_, inst) = session.instantiate(module)?;
        cw_t.push(load + inst);

        let mut native = Session::new();
        crate::engines::link_native_stubs(&mut native, wasm)?;
        let start = Instant::now();
        let module = native.load(&image).map_err(|f| f.message().to_string())?;
        native
            .instantiate(module)
            .map_err(|f| f.message().to_string())?;
        native_t.push(start.elapsed());
    }
    Ok(StartupRow {
        name: name.to_string(),
        wasm_bytes: wasm.len(),
        code_bytes,
        image_bytes: image.len(),
        translate: Stat::of(&translate_t),
        wasmtime_compile: Stat::of(&compile_t),
        eager,
        lazy,
        cw_total: Stat::of(&cw_t),
        native_total: Stat::of(&native_t),
    })
}

pub fn measure(options: &Options) -> Result<Vec<StartupRow>, String> {
    let rt = RtModule::new(&dist_dir().join("chiwawa-rt.wasm"))?;
    let dir = target_dir().join("bench/startup");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut rows = Vec::new();
    for (name, path) in modules(options) {
        let wasm = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("start-up: {name} ({} bytes)", wasm.len());
        rows.push(row(&name, &wasm, &rt, &dir, options.runs).map_err(|e| format!("{name}: {e}"))?);
    }
    Ok(rows)
}
