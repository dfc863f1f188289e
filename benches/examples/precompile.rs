fn main() {
    let a: Vec<String> = std::env::args().collect();
    let engine = wasmtime::Engine::default();
    let bytes = std::fs::read(&a[1]).unwrap();
    let out = engine.precompile_module(&bytes).unwrap();
    std::fs::write(&a[2], out).unwrap();
}
