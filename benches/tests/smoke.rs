//! `bench --quick`: every workload once, at small sizes, on all four engines; the engines must
//! agree and the report files must be written. Needs `dist/chiwawa-rt.wasm` (`make dist`), the
//! workload module (`make bench-workloads`) and the real programs (`make programs`); `make test`
//! builds them first.

use std::process::Command;

#[test]
fn quick_bench_runs_and_writes_its_report() {
    let out = std::env::temp_dir().join(format!("chiwawa-bench-smoke-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--out"])
        .arg(&out)
        .status()
        .expect("runs bench");
    assert!(status.success(), "bench --quick failed: {status}");
    let json = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    let report: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let workloads = report["workloads"].as_array().expect("workloads");
    assert_eq!(workloads.len(), 11, "8 kernels and 3 programs");
    let programs: Vec<&str> = workloads
        .iter()
        .filter(|w| w["kind"] == "program")
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert_eq!(programs, ["coremark", "sqlite", "lua"]);
    assert!(workloads.iter().all(|w| w["mismatch"].is_null()));
    let svg = std::fs::read_to_string(out.join("report.svg")).expect("report.svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    std::fs::remove_dir_all(&out).ok();
}
