//! `cargo run -p chiwawa-translator --example disasm -- app.wasm [NAME]`: prints the register
//! code of every defined function (or of those whose name contains NAME).

use chiwawa_format::disassemble;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: disasm app.wasm [NAME]");
        std::process::exit(2);
    };
    let wasm = match std::fs::read(path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("disasm: {path}: {e}");
            std::process::exit(1);
        }
    };
    let module = match chiwawa_translator::translate_module(&wasm) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("disasm: {path}: {e}");
            std::process::exit(1);
        }
    };
    let imported = module.num_imported_funcs();
    for (i, f) in module.funcs.iter().enumerate() {
        let index = imported + i as u32;
        let name = module
            .func_names
            .iter()
            .find(|n| n.index == index)
            .map(|n| n.name.as_str())
            .unwrap_or("");
        if let Some(filter) = args.get(1) {
            if !name.contains(filter.as_str()) {
                continue;
            }
        }
        println!(
            "func {index} {name} (locals {}, frame {}):",
            f.num_locals, f.frame_size
        );
        print!("{}", disassemble(&f.code));
    }
}
