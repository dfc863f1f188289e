//! The example runs and prints what its plugin computed.

use std::process::Command;

fn embed(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embed"))
        .args(args)
        .output()
        .expect("run the example");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_example_runs_its_plugin() {
    let (code, stdout, stderr) = embed(&["wasm", "is fun"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "shout: WASM IS FUN (9 letters changed)\n\
         words: [\"WASM\", \"IS\", \"FUN\"]\n\
         fact(20) = 2432902008176640000\n\
         fact(-1): trap: unreachable in fact\n\
         calls of shout: 1\n"
    );
}

#[test]
fn a_missing_plugin_is_an_error_naming_it() {
    let (code, stdout, stderr) = embed(&["--plugin", "/nonexistent/plugin.cwi"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("embed: /nonexistent/plugin.cwi: "),
        "{stderr}"
    );
}
