//! The report: tables on stdout, `report.json` and a hand-written SVG bar chart.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::startup::StartupRow;
use crate::{Options, Prepare, Stat, WorkloadResult, ENGINES};

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

pub fn print_workloads(p: &Prepare, results: &[WorkloadResult]) {
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
         (b) load+instantiate in chiwawa-rt.wasm {:.2} ms (chiwawa-rt.wasm, {} bytes, compiled \
         by wasmtime in {:.0} ms) | (c) native load+instantiate {:.2} ms | (d) wasmi eager \
         compile {:.2} ms",
        ms(p.wasmtime_compile),
        p.translate.median,
        p.translate.min,
        ms(p.rt_load_instantiate),
        p.rt_bytes,
        ms(p.rt_compile),
        ms(p.native_load_instantiate),
        ms(p.wasmi_compile),
    );
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
        print!("{:<8} {:>10} {:>20}", r.name, r.n, r.result);
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
}

fn truncate(s: &str, n: usize) -> &str {
    &s[..s.len().min(n)]
}

pub fn print_startup(rows: &[StartupRow]) {
    println!();
    println!(
        "start-up, ms: median (min). In chiwawa-rt.wasm on wasmtime, timed by the host around \
         cw_load (checks + verify) and cw_instantiate; copy-in is writing the image into the \
         runtime's memory"
    );
    println!(
        "{:<24} {:>9} {:>9} {:>6} {:>18} {:>18} {:>14} {:>18} {:>9} {:>18} {:>18}",
        "module",
        "code MB",
        "image MB",
        "img/c",
        "translate",
        "wasmtime compile",
        "copy-in",
        "rt.wasm load+inst",
        "ms/MB",
        "  (load, inst)",
        "native load+inst"
    );
    for r in rows {
        println!(
            "{:<24} {:>9.3} {:>9.3} {:>6.2} {:>18} {:>18} {:>14} {:>18} {:>9.2} {:>18} {:>18}",
            r.name,
            r.code_mb(),
            r.image_bytes as f64 / 1e6,
            r.image_bytes as f64 / r.code_bytes as f64,
            cell(&r.translate),
            cell(&r.wasmtime_compile),
            cell(&r.copy_in),
            cell(&r.rt_total),
            r.rt_total.median / r.code_mb(),
            format!("{:.2}, {:.2}", r.rt_load.median, r.rt_instantiate.median),
            cell(&r.native_total),
        );
    }
    println!();
    println!("per MB of code section (medians):");
    for r in rows {
        let mb = r.code_mb();
        println!(
            "  {:<24} translate {:>8.1} ms/MB ({:.1} MB/s)  wasmtime compile {:>8.1} ms/MB  \
             rt.wasm load+inst {:>6.2} ms/MB  native load+inst {:>6.2} ms/MB",
            r.name,
            r.translate.median / mb,
            mb / (r.translate.median / 1e3),
            r.wasmtime_compile.median / mb,
            r.rt_total.median / mb,
            r.native_total.median / mb,
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

pub fn to_json(
    options: &Options,
    p: &Prepare,
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
            json!({
                "name": r.name, "what": r.what, "n": r.n, "result": r.result,
                "mismatch": r.mismatch, "times": times, "ratios": ratios,
            })
        })
        .collect();
    let mut geo = serde_json::Map::new();
    for ((name, _, _), g) in RATIOS.iter().zip(geomeans(results)) {
        geo.insert(name.to_string(), json!(g));
    }
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
                "rt_wasm_copy_in": stat_json(&r.copy_in),
                "rt_wasm_load": stat_json(&r.rt_load),
                "rt_wasm_instantiate": stat_json(&r.rt_instantiate),
                "rt_wasm_load_instantiate": stat_json(&r.rt_total),
                "rt_wasm_ms_per_mb": r.rt_total.median / r.code_mb(),
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
        "workload_module": {
            "wasm_bytes": p.wasm_bytes, "code_bytes": p.code_bytes, "image_bytes": p.image_bytes,
            "wasmtime_compile_ms": ms(p.wasmtime_compile),
            "translate": stat_json(&p.translate),
            "rt_wasm_load_instantiate_ms": ms(p.rt_load_instantiate),
            "native_load_instantiate_ms": ms(p.native_load_instantiate),
            "wasmi_compile_ms": ms(p.wasmi_compile),
            "chiwawa_rt_wasm_bytes": p.rt_bytes,
            "chiwawa_rt_wasm_compile_ms": ms(p.rt_compile),
        },
        "workloads": workloads,
        "geomean": geo,
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
    p: &Prepare,
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
