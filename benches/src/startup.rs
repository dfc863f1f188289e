//! Start-up: how long an image takes to become runnable inside `chiwawa-rt.wasm` on wasmtime,
//! against translating the `.wasm` at start and against wasmtime compiling it cold.
//!
//! First approximation: the time is taken by the host around `cw_load` (header, checksum,
//! bytecheck, verifier) and `cw_instantiate` (memory, data and element segments); copying the
//! image into the runtime's memory, the stand-in for reading the file, is reported on its own.
//! Imports are satisfied by trapping stubs, linked before the clock starts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chiwawa_runtime::driver::Session;

use crate::rt_wasm::{RtModule, RtSession};
use crate::{dist_dir, stub, translate, workloads_path, Options, Stat};

pub struct StartupRow {
    pub name: String,
    pub wasm_bytes: usize,
    pub code_bytes: usize,
    pub image_bytes: usize,
    pub translate: Stat,
    pub wasmtime_compile: Stat,
    pub copy_in: Stat,
    pub rt_load: Stat,
    pub rt_instantiate: Stat,
    /// load + instantiate inside chiwawa-rt.wasm.
    pub rt_total: Stat,
    pub native_total: Stat,
}

impl StartupRow {
    pub fn code_mb(&self) -> f64 {
        self.code_bytes as f64 / 1e6
    }
}

fn modules(options: &Options) -> Vec<(String, PathBuf)> {
    let mut list = vec![("workloads".to_string(), workloads_path())];
    if !options.quick {
        for name in ["chiwawa-rt.wasm", "chiwawa-translate.wasm"] {
            list.push((name.to_string(), dist_dir().join(name)));
        }
    }
    list
}

fn row(name: &str, wasm: &[u8], rt: &RtModule, runs: usize) -> Result<StartupRow, String> {
    let code_bytes = stub::code_section_size(wasm)?;
    let (mut translate_t, mut compile_t) = (Vec::new(), Vec::new());
    let mut image = Vec::new();
    let engine = wasmtime::Engine::default();
    for _ in 0..runs {
        let start = Instant::now();
        image = translate(wasm)?;
        translate_t.push(start.elapsed());
        let start = Instant::now();
        wasmtime::Module::new(&engine, wasm).map_err(|e| format!("wasmtime: {e:#}"))?;
        compile_t.push(start.elapsed());
    }

    let mut session = RtSession::new(rt)?;
    let (mut copy_t, mut load_t, mut inst_t, mut total_t, mut native_t) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::<Duration>::new(),
    );
    for _ in 0..runs {
        session.reset()?;
        session.link_stubs(wasm)?;
        let start = Instant::now();
        session.put_image(&image)?;
        copy_t.push(start.elapsed());
        let (module, load) = session.load()?;
        let (_, inst) = session.instantiate(module)?;
        load_t.push(load);
        inst_t.push(inst);
        total_t.push(load + inst);

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
        copy_in: Stat::of(&copy_t),
        rt_load: Stat::of(&load_t),
        rt_instantiate: Stat::of(&inst_t),
        rt_total: Stat::of(&total_t),
        native_total: Stat::of(&native_t),
    })
}

pub fn measure(options: &Options) -> Result<Vec<StartupRow>, String> {
    let rt = RtModule::new(&dist_dir().join("chiwawa-rt.wasm"))?;
    let mut rows = Vec::new();
    for (name, path) in modules(options) {
        let wasm = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("start-up: {name} ({} bytes)", wasm.len());
        rows.push(row(&name, &wasm, &rt, options.runs).map_err(|e| format!("{name}: {e}"))?);
    }
    Ok(rows)
}
