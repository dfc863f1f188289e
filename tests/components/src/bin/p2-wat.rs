//! A bigger real program: prints the WebAssembly text of the module or component named by its
//! argument with the crate wasmprinter (which parses it with wasmparser), as `wasm-tools
//! print` does; through WASI preview 2 files and stdout.
fn main() {
    let path = std::env::args().nth(1).expect("usage: p2-wat FILE.wasm");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("p2-wat: {path}: {e}");
        std::process::exit(2)
    });
    match wasmprinter::print_bytes(&bytes) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("p2-wat: {path}: {e}");
            std::process::exit(1)
        }
    }
}
