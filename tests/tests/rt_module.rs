//! What `dist/chiwawa-rt.wasm` asks of a host: the exact set of Wasm features it uses and the
//! WASI functions it imports. Both are kept to what engines of the Wasm 1.0 era and hosts of the
//! first preview1 release have (wasm3 0.4.7, WAMR, wasi-js, bun), so that one runtime module
//! starts on every host; `docs/hosts.md` lists them for users.

use std::path::PathBuf;

use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

/// The features chiwawa-rt.wasm needs, each of them: MVP Wasm (`FLOATS` is MVP's float
/// instructions, a flag of its own in wasmparser) and two features of Wasm 2.0 that engines of
/// the 1.0 era took early (wasm3 0.4.7 has both). The Rust toolchain enables more by default, but
/// chiwawa-rt.wasm does not use multi-value, mutable globals across the boundary or reference
/// types, and `tools/wasm-canon` lowers bulk memory (memory.copy and memory.fill become calls).
const FEATURES: &[(&str, WasmFeatures)] = &[
    ("floats", WasmFeatures::FLOATS),
    ("sign-extension", WasmFeatures::SIGN_EXTENSION),
    (
        "nontrapping-float-to-int",
        WasmFeatures::SATURATING_FLOAT_TO_INT,
    ),
];

/// Every function of `wasi_snapshot_preview1` as first released, less `sock_accept` (added
/// later, so missing on older hosts; the runtime answers it itself). chiwawa-rt.wasm may import
/// any of these and nothing else.
const PREVIEW1: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// dist/chiwawa-rt.wasm (as `make dist` writes it), or `None` outside `make test` when missing.
fn runtime_module() -> Option<Vec<u8>> {
    let dist = std::env::var_os("CHIWAWA_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    let path = dist.join("chiwawa-rt.wasm");
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            // Under `make test` a missing artifact is a failure, never a silent pass.
            assert!(
                std::env::var_os("CHIWAWA_REQUIRE_ARTIFACTS").is_none(),
                "{}: {e} (make dist builds it)",
                path.display()
            );
            None
        }
    }
}

fn features(set: &[(&str, WasmFeatures)]) -> WasmFeatures {
    set.iter()
        .fold(WasmFeatures::empty(), |all, (_, f)| all | *f)
}

#[test]
fn runtime_needs_exactly_its_documented_features() {
    let Some(wasm) = runtime_module() else { return };
    if let Err(e) = Validator::new_with_features(features(FEATURES)).validate_all(&wasm) {
        panic!("chiwawa-rt.wasm needs more than {FEATURES:?}: {e}");
    }
    // Each one is used: the set is exact, so the list users read is too.
    for (i, (name, _)) in FEATURES.iter().enumerate() {
        let mut fewer = FEATURES.to_vec();
        fewer.remove(i);
        assert!(
            Validator::new_with_features(features(&fewer))
                .validate_all(&wasm)
                .is_err(),
            "chiwawa-rt.wasm no longer uses {name}: drop it from FEATURES and docs/hosts.md"
        );
    }
}

#[test]
fn runtime_imports_only_first_release_preview1_functions() {
    let Some(wasm) = runtime_module() else { return };
    let mut imports = Vec::new();
    for payload in Parser::new(0).parse_all(&wasm) {
        if let Payload::ImportSection(section) = payload.unwrap() {
            for import in section.into_imports() {
                let import = import.unwrap();
                assert!(
                    matches!(import.ty, TypeRef::Func(_)),
                    "chiwawa-rt.wasm imports a non-function {}.{}",
                    import.module,
                    import.name
                );
                assert_eq!(import.module, "wasi_snapshot_preview1", "{}", import.name);
                imports.push(import.name.to_string());
            }
        }
    }
    let extra: Vec<_> = imports
        .iter()
        .filter(|name| !PREVIEW1.contains(&name.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "imports beyond first-release preview1: {extra:?}"
    );
    assert!(imports.contains(&"fd_write".to_string()), "{imports:?}");
}
