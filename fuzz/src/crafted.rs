//! The crafted inputs of issue 14, made from the seeds, for the regression corpus
//! (`chiwawa-fuzz craft fuzz/corpus/regressions` writes them).

use chiwawa_format::{ConstExpr, ConstOp, ElemMode, Module};

use crate::mutate::Seed;
use crate::seeds;

/// Rebuilds `seed` with `change` applied (all hashes and the checksum recomputed).
fn rebuilt(seed: &Seed, change: impl FnOnce(&mut Module)) -> Vec<u8> {
    let mut m = seed.module.clone();
    change(&mut m);
    let h = seed.header;
    chiwawa_format::write_image(
        &mut m,
        h.translator_version,
        h.features,
        h.options,
        h.source_hash,
    )
    .expect("the crafted module serializes")
}

fn seed(name: &str) -> Seed {
    let (_, wasm) = seeds::wat_modules()
        .into_iter()
        .find(|(n, _)| n == name)
        .expect("a seed of that name");
    let image = chiwawa_translator::translate(&wasm, &Default::default()).expect("seed translates");
    Seed::from_image(name, &image).expect("seed image loads")
}

/// The first `RefFunc` item of an active segment becomes `op`.
fn number_in_active_elem(m: &mut Module, op: ConstOp) {
    let elem = m
        .elems
        .iter_mut()
        .find(|e| matches!(e.mode, ElemMode::Active { .. }))
        .expect("an active segment");
    elem.items[0] = ConstExpr { ops: vec![op] };
}

/// The crafted files, by name (the extension says which oracle runs them).
pub fn files() -> Vec<(String, Vec<u8>)> {
    let tables = seed("tables-and-indirect-calls");
    let globals = seed("globals-and-const-exprs");
    let mut out = vec![
        (
            "elem-active-item-i32-1000-in-funcref-table.cwi".to_string(),
            rebuilt(&tables, |m| number_in_active_elem(m, ConstOp::I32(1000))),
        ),
        (
            "elem-active-item-i64-in-funcref-table.cwi".to_string(),
            rebuilt(&tables, |m| number_in_active_elem(m, ConstOp::I64(1))),
        ),
        (
            "elem-passive-item-i32-then-table-init.cwi".to_string(),
            rebuilt(&tables, |m| {
                let elem = m
                    .elems
                    .iter_mut()
                    .find(|e| matches!(e.mode, ElemMode::Passive))
                    .expect("a passive segment");
                elem.items[0] = ConstExpr {
                    ops: vec![ConstOp::I32(1000)],
                };
            }),
        ),
        (
            "global-funcref-init-i32.cwi".to_string(),
            rebuilt(&globals, |m| {
                let g = m
                    .globals
                    .iter_mut()
                    .find(|g| g.ty.ty == chiwawa_format::valtype::FUNCREF)
                    .expect("a funcref global");
                g.init = ConstExpr {
                    ops: vec![ConstOp::I32(1000)],
                };
            }),
        ),
    ];
    for (name, text) in TAIL_CALLS {
        out.push((name.to_string(), seeds::wat(text)));
    }
    out
}

/// Issue 14.4: tail calls whose callee returns more values than the frame had room for above
/// the call site.
const TAIL_CALLS: &[(&str, &str)] = &[
    (
        "return-call-two-results-over-two-operands.wasm",
        r#"(module
  (func $two (result i32 i32) (i32.const 1) (i32.const 2))
  (func (export "f") (result i32 i32)
    (i32.const 7) (i32.const 8) (drop) (drop)
    (return_call $two))
  (func (export "g") (param i32 i32) (result i32 i32)
    (local.get 0) (local.get 1)
    (return_call $two)))"#,
    ),
    (
        "return-call-indirect-three-results.wasm",
        r#"(module
  (type $three (func (result i64 i64 i64)))
  (table 1 funcref)
  (elem (i32.const 0) $t)
  (func $t (type $three) (i64.const 1) (i64.const 2) (i64.const 3))
  (func (export "f") (param i32) (result i64 i64 i64)
    (i32.const 5) (i32.const 6)
    (return_call_indirect (type $three) (local.get 0))))"#,
    ),
];
