//! The report: tables on stdout, `report.json` and a hand-written SVG bar chart.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::startup::StartupRow;
use crate::{Answer, Options, Prepare, Size, Stat, WorkloadResult, ENGINES};

/// Ratios shown per workload: (numerator, denominator) engine indices.
const RATIOS: [(&str, usize, usize); 3] = [("b/a", 1, 0), ("c/d", 2, 3), ("b/c", 1, 2)];

fn geomean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut log_sum, mut count) = (0.0, 0);
    for v in values {
        log_sum += v.ln();
        count += 1;
    }
    if count == 0 {
        f64::NAN
    } else {
        (log_sum / count as f64).exp()
    }
}

fn ratio(r: &WorkloadResult, num: usize, den: usize) -> f64 {
    r.stats[num].median / r.stats[den].median
}

fn geomeans(results: &[WorkloadResult]) -> [f64; 3] {
    RATIOS.map(|(_, num, den)| geomean(results.iter().map(|r| ratio(r, num, den))))
}

/// The geometric means over the kernels and over the programs, when both kinds ran.
fn geomeans_by_kind(results: &[WorkloadResult]) -> Option<[(&'static str, [f64; 3]); 2]> {
    let (programs, kernels): (Vec<&WorkloadResult>, Vec<&WorkloadResult>) =
        results.iter().partition(|r| r.setup.is_some());
    if programs.is_empty() || kernels.is_empty() {
        return None;
    }
    let of = |set: &[&WorkloadResult]| {
        RATIOS.map(|(_, num, den)| geomean(set.iter().map(|r| ratio(r, num, den))))
    };
    Some([("kernels", of(&kernels)), ("programs", of(&programs))])
}

fn size_text(size: Size) -> String {
    match size {
        Size::N(n) => n.to_string(),
        Size::Args(n) => n.to_string(),
    }
}

fn answer_text(answer: Answer) -> String {
    match answer {
        Answer::Value(v) => v.to_string(),
        Answer::Exit {
            status,
            stdout_bytes,
        } => format!("exit {status}, {stdout_bytes} B"),
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn cell(s: &Stat) -> String {
    // Three significant-ish digits for sub-millisecond cells (quick runs, start-up).
    if s.median < 1.0 {
        format!("{:.3} ({:.3})", s.median, s.min)
    } else {
        format!("{:.2} ({:.2})", s.median, s.min)
    }
}

pub fn print_workloads(p: Option<&Prepare>, results: &[WorkloadResult]) {
    if let Some(p) = p {
        println!();
        println!(
            "workload module: {} bytes, code section {} bytes; image {} bytes ({:.2}x code)",
            p.wasm_bytes,
            p.code_bytes,
            p.image_bytes,
            p.image_bytes as f64 / p.code_bytes as f64
        );
        println!(
            "one-time costs: (a) wasmtime compile {:.2} ms | translate {:.2} ms (min {:.2}) | \
             (b) load+instantiate in chiwawa-rt.wasm {:.2} ms (chiwawa-rt.wasm, {} bytes, \
             compiled by wasmtime in {:.0} ms) | (c) native load+instantiate {:.2} ms | (d) wasmi \
             eager compile {:.2} ms",
            ms(p.wasmtime_compile),
            p.translate.median,
            p.translate.min,
            ms(p.rt_load_instantiate),
            p.rt_bytes,
            ms(p.rt_compile),
            ms(p.native_load_instantiate),
            ms(p.wasmi_compile),
        );
    }
    let programs: Vec<&WorkloadResult> = results.iter().filter(|r| r.setup.is_some()).collect();
    if !programs.is_empty() {
        println!();
        println!(
            "programs, run as WASI commands (_start) with stdout and stderr captured; a run of (a) \
             and (d) instantiates the precompiled module and runs it; a run of (b) is \
             `chiwawa-rt.wasm IMAGE ARGS` (read, check, verify, instantiate, run) and of (c) the \
             same natively after the read, so (b) and (c) include the image's load shown here:"
        );
        for r in &programs {
            let Some(s) = &r.setup else { continue };
            println!(
                "  {:<9} {} {}: {} bytes, code {} bytes, image {} bytes ({:.2}x code); \
                 (a) wasmtime compile {:.1} ms | translate {:.1} ms | load (check + verify) \
                 (b) {:.1} ms, (c) {:.1} ms | (d) wasmi eager compile {:.1} ms",
                r.name,
                r.what,
                format_args!("[{}]", s.args),
                s.wasm_bytes,
                s.code_bytes,
                s.image_bytes,
                s.image_bytes as f64 / s.code_bytes as f64,
                ms(s.wasmtime_compile),
                ms(s.translate),
                ms(s.rt_load),
                ms(s.native_load),
                ms(s.wasmi_compile),
            );
        }
    }
    println!();
    println!("execution, ms: median (min) of the runs; ratios of medians");
    print!("{:<8} {:>10} {:>20}", "workload", "n", "result");
    for (letter, name) in ENGINES {
        let head = format!("({letter}) {name}");
        print!(" {:>20}", truncate(&head, 20));
    }
    for (name, _, _) in RATIOS {
        print!(" {name:>7}");
    }
    println!();
    for r in results {
        print!(
            "{:<8} {:>10} {:>20}",
            r.name,
            size_text(r.size),
            answer_text(r.answer)
        );
        for s in &r.stats {
            print!(" {:>20}", cell(s));
        }
        for (_, num, den) in RATIOS {
            print!(" {:>7.2}", ratio(r, num, den));
        }
        if r.mismatch.is_some() {
            print!("  MISMATCH");
        }
        println!();
    }
    print!("{:<8} {:>10} {:>20}", "geomean", "", "");
    for _ in ENGINES {
        print!(" {:>20}", "");
    }
    for g in geomeans(results) {
        print!(" {g:>7.2}");
    }
    println!();
    for (kind, means) in geomeans_by_kind(results).into_iter().flatten() {
        print!("{:<8} {:>10} {:>20}", "", "", kind);
        for _ in ENGINES {
            print!(" {:>20}", "");
        }
        for g in means {
            print!(" {g:>7.2}");
        }
        println!();
    }
}

fn truncate(s: &str, n: usize) -> &str {
    &s[..s.len().min(n)]
}

pub fn print_startup(rows: &[StartupRow]) {
    println!();
    println!(
        "start-up, ms: median (min). chiwawa: measured inside chiwawa-rt.wasm on wasmtime (the \
         guest's monotonic clock from the runtime's main to the guest's first instruction: read \
         file, check = header + checksum + bytecheck, verify, instantiate), eager = all code \
         verified at load, lazy = each function on first entry (the default)"
    );
    println!(
        "{:<24} {:>8} {:>8} {:>17} {:>17} {:>17} {:>17} {:>8} {:>8}",
        "module",
        "code MB",
        "image MB",
        "translate",
        "wasmtime compile",
        "rt.wasm eager",
        "rt.wasm lazy",
        "eager/MB",
        "lazy/MB",
    );
    for r in rows {
        println!(
            "{:<24} {:>8.3} {:>8.3} {:>17} {:>17} {:>17} {:>17} {:>8.2} {:>8.2}",
            r.name,
            r.code_mb(),
            r.image_bytes as f64 / 1e6,
            cell(&r.translate),
            cell(&r.wasmtime_compile),
            cell(&r.eager.total),
            cell(&r.lazy.total),
            r.per_mb(&r.eager.total),
            r.per_mb(&r.lazy.total),
        );
    }
    println!();
    println!("inside chiwawa-rt.wasm, ms per MB of code section (medians): read + check + verify + instantiate [+ entry verify] = total");
    for r in rows {
        for (mode, p) in [("eager", &r.eager), ("lazy", &r.lazy)] {
            println!(
                "  {:<24} {mode:<5} {:>6.2} + {:>6.2} + {:>6.2} + {:>6.2} [+ {:>5.2}] = {:>6.2} ms/MB",
                r.name,
                r.per_mb(&p.read),
                r.per_mb(&p.check),
                r.per_mb(&p.verify),
                r.per_mb(&p.instantiate),
                r.per_mb(&p.verify_entry),
                r.per_mb(&p.total),
            );
        }
        println!(
            "  {:<24} translate {:>8.1} ms/MB ({:.1} MB/s), wasmtime compile {:>8.1} ms/MB, \
             cw_load+cw_instantiate (host-timed) {:>6.2} ms/MB, native chiwawa load+inst {:>6.2} \
             ms/MB",
            r.name,
            r.per_mb(&r.translate),
            r.code_mb() / (r.translate.median / 1e3),
            r.per_mb(&r.wasmtime_compile),
            r.per_mb(&r.cw_total),
            r.per_mb(&r.native_total),
        );
    }
}

fn stat_json(s: &Stat) -> Value {
    json!({ "median_ms": s.median, "min_ms": s.min, "runs_ms": s.runs })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    json!({ "cpu": cpu, "cores": cores, "os": std::env::consts::OS, "arch": std::env::consts::ARCH })
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock (days-to-civil conversion).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn setup_json(r: &WorkloadResult) -> Value {
    match &r.setup {
        None => Value::Null,
        Some(s) => json!({
            "args": s.args, "wasm_bytes": s.wasm_bytes, "code_bytes": s.code_bytes,
            "image_bytes": s.image_bytes,
            "wasmtime_compile_ms": ms(s.wasmtime_compile),
            "translate_ms": ms(s.translate),
            "rt_wasm_load_ms": ms(s.rt_load),
            "native_load_ms": ms(s.native_load),
            "wasmi_compile_ms": ms(s.wasmi_compile),
        }),
    }
}

pub fn to_json(
    options: &Options,
    p: Option<&Prepare>,
    results: &[WorkloadResult],
    startup: &[StartupRow],
) -> Value {
    let engines: Value = ENGINES
        .iter()
        .map(|(letter, name)| json!({ "id": letter, "name": name }))
        .collect();
    let workloads: Value = results
        .iter()
        .map(|r| {
            let mut times = serde_json::Map::new();
            for ((letter, _), s) in ENGINES.iter().zip(&r.stats) {
                times.insert(letter.to_string(), stat_json(s));
            }
            let mut ratios = serde_json::Map::new();
            for (name, num, den) in RATIOS {
                ratios.insert(name.to_string(), json!(ratio(r, num, den)));
            }
            let (kind, size, result) = match (r.size, r.answer) {
                (Size::N(n), Answer::Value(v)) => ("kernel", json!(n), json!(v)),
                (size, answer) => (
                    "program",
                    json!(size_text(size)),
                    match answer {
                        Answer::Value(v) => json!(v),
                        Answer::Exit {
                            status,
                            stdout_bytes,
                        } => json!({ "exit": status, "stdout_bytes": stdout_bytes }),
                    },
                ),
            };
            json!({
                "name": r.name, "kind": kind, "what": r.what, "n": size, "result": result,
                "mismatch": r.mismatch, "times": times, "ratios": ratios,
                "program": setup_json(r),
            })
        })
        .collect();
    let mut geo = serde_json::Map::new();
    for ((name, _, _), g) in RATIOS.iter().zip(geomeans(results)) {
        geo.insert(name.to_string(), json!(g));
    }
    let mut geo_by_kind = serde_json::Map::new();
    for (kind, means) in geomeans_by_kind(results).into_iter().flatten() {
        let mut m = serde_json::Map::new();
        for ((name, _, _), g) in RATIOS.iter().zip(means) {
            m.insert(name.to_string(), json!(g));
        }
        geo_by_kind.insert(kind.to_string(), Value::Object(m));
    }
    let workload_module = match p {
        None => Value::Null,
        Some(p) => json!({
            "wasm_bytes": p.wasm_bytes, "code_bytes": p.code_bytes, "image_bytes": p.image_bytes,
            "wasmtime_compile_ms": ms(p.wasmtime_compile),
            "translate": stat_json(&p.translate),
            "rt_wasm_load_instantiate_ms": ms(p.rt_load_instantiate),
            "native_load_instantiate_ms": ms(p.native_load_instantiate),
            "wasmi_compile_ms": ms(p.wasmi_compile),
            "chiwawa_rt_wasm_bytes": p.rt_bytes,
            "chiwawa_rt_wasm_compile_ms": ms(p.rt_compile),
        }),
    };
    let phases = |r: &StartupRow, p: &crate::startup::GuestPhases| {
        json!({
            "read": stat_json(&p.read),
            "check": stat_json(&p.check),
            "verify": stat_json(&p.verify),
            "instantiate": stat_json(&p.instantiate),
            "verify_entry": stat_json(&p.verify_entry),
            "total": stat_json(&p.total),
            "total_ms_per_mb": r.per_mb(&p.total),
        })
    };
    let startup: Value = startup
        .iter()
        .map(|r| {
            json!({
                "module": r.name, "wasm_bytes": r.wasm_bytes, "code_bytes": r.code_bytes,
                "image_bytes": r.image_bytes,
                "image_per_code": r.image_bytes as f64 / r.code_bytes as f64,
                "translate": stat_json(&r.translate),
                "translate_mb_per_s": r.code_mb() / (r.translate.median / 1e3),
                "wasmtime_compile": stat_json(&r.wasmtime_compile),
                "wasmtime_compile_ms_per_mb": r.per_mb(&r.wasmtime_compile),
                "rt_wasm_in_guest_eager": phases(r, &r.eager),
                "rt_wasm_in_guest_lazy": phases(r, &r.lazy),
                "rt_wasm_cw_load_instantiate": stat_json(&r.cw_total),
                "native_load_instantiate": stat_json(&r.native_total),
            })
        })
        .collect();
    json!({
        "date": today(),
        "machine": machine(),
        "runs": options.runs,
        "quick": options.quick,
        "engines": engines,
        "workload_module": workload_module,
        "workloads": workloads,
        "geomean": geo,
        "geomean_by_kind": geo_by_kind,
        "startup": startup,
    })
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A grouped bar chart: per workload, each engine's median time relative to (a) wasmtime, on a
/// log scale, plus the geometric means.
pub fn to_svg(results: &[WorkloadResult], date: &str) -> String {
    const COLORS: [&str; 4] = ["#4e79a7", "#e15759", "#f28e2b", "#59a14f"];
    let mut groups: Vec<(String, [f64; 4])> = results
        .iter()
        .map(|r| {
            let base = r.stats[0].median;
            (
                r.name.to_string(),
                [0, 1, 2, 3].map(|i| r.stats[i].median / base),
            )
        })
        .collect();
    let geo = [0, 1, 2, 3].map(|i| {
        geomean(
            results
                .iter()
                .map(|r| r.stats[i].median / r.stats[0].median),
        )
    });
    groups.push(("geomean".to_string(), geo));

    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let decades = max.log10().ceil().max(1.0) as i32;
    let (left, top, plot_h, group_w, bar_w) = (60.0, 50.0, 300.0, 110.0, 20.0);
    let width = left + group_w * groups.len() as f64 + 20.0;
    let height = top + plot_h + 90.0;
    let y = |v: f64| top + plot_h - (v.max(1e-3).log10() / decades as f64).max(0.0) * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="20" font-size="15">chiwawa benchmarks: time relative to wasmtime (a), median, log scale ({date})</text>"#
    );
    for d in 0..=decades {
        let v = 10f64.powi(d);
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" text-anchor="end">{v}x</text>"##,
            width - 20.0,
            left - 6.0,
            yy + 4.0
        );
    }
    for (g, (name, values)) in groups.iter().enumerate() {
        let x0 = left + g as f64 * group_w + 10.0;
        for (i, v) in values.iter().enumerate() {
            let x = x0 + i as f64 * (bar_w + 2.0);
            let (yy, base) = (y(*v), y(1.0));
            let (top_y, h) = if yy <= base {
                (yy, base - yy)
            } else {
                (base, yy - base)
            };
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{top_y:.1}" width="{bar_w}" height="{:.1}" fill="{}"><title>{} {}: {v:.2}x</title></rect>"#,
                h.max(1.0),
                COLORS[i],
                esc(name),
                esc(ENGINES[i].1)
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                top_y - 3.0,
                if *v >= 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + 2.0 * (bar_w + 2.0),
            top + plot_h + 18.0,
            esc(name)
        );
    }
    for (i, (letter, name)) in ENGINES.iter().enumerate() {
        let x = left + i as f64 * 200.0;
        let yy = top + plot_h + 45.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{yy}">({letter}) {}</text>"#,
            yy - 10.0,
            COLORS[i],
            x + 16.0,
            esc(name)
        );
    }
    let [ba, cd, bc] = geomeans(results);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="{}">geometric means: b/a {ba:.2}x, c/d {cd:.2}x, b/c {bc:.2}x</text>"#,
        top + plot_h + 70.0
    );
    s.push_str("</svg>\n");
    s
}

pub fn write(
    options: &Options,
    p: Option<&Prepare>,
    results: &[WorkloadResult],
    startup: &[StartupRow],
) -> Result<(), String> {
    let dir = &options.out;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = to_json(options, p, results, startup);
    let date = json["date"].as_str().unwrap_or_default().to_string();
    let json_path = dir.join("report.json");
    let text = serde_json::to_string_pretty(&json).expect("json");
    std::fs::write(&json_path, text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let svg_path = dir.join("report.svg");
    std::fs::write(&svg_path, to_svg(results, &date))
        .map_err(|e| format!("{}: {e}", svg_path.display()))?;
    println!();
    println!("wrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}
