//! Crafted images that pass every checksum (they are rebuilt through `write_image`) but break
//! an invariant the executor relies on: each must be refused as invalid, never run into a panic
//! or a wrong result. Issue 14's first class of bugs: a funcref table holding a value that is
//! not a function reference.

mod common;

use chiwawa_format::{decode, features, write_image, ConstExpr, ConstOp, Module, Op};
use chiwawa_runtime::driver::{Failure, Session};
use chiwawa_runtime::Val;
use chiwawa_translator::translate_module;
use common::wat;

/// Writes `module` as an image (hashes and checksum recomputed, as an attacker would).
fn image_of(module: &mut Module) -> Vec<u8> {
    write_image(module, 1, features::WASM2, 0, 0).expect("write_image")
}

/// Loads and instantiates `image`, then calls `f` with no arguments.
fn run_f(image: &[u8]) -> Result<Vec<Val>, Failure> {
    let mut s = Session::new();
    let module = s.load(image)?;
    let instance = s.instantiate(module)?;
    s.invoke(instance, "f", &[])
}

/// A module that stores `ref.func $g` into a funcref table with code and calls it through
/// `call_indirect`, and also places `$g` there with an element segment.
const TABLE_CALLS: &str = r#"(module
  (type $v (func (result i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 1) func $g)
  (func $g (result i32) i32.const 7)
  (func (export "f") (result i32)
    (table.set $t (i32.const 0) (ref.func $g))
    (i32.add
      (call_indirect $t (type $v) (i32.const 0))
      (call_indirect $t (type $v) (i32.const 1)))))"#;

#[test]
fn the_untouched_module_calls_through_the_table() {
    let mut module = translate_module(&wat(TABLE_CALLS)).unwrap();
    assert_eq!(run_f(&image_of(&mut module)), Ok(vec![Val::I32(14)]));
}

#[test]
fn an_element_item_that_is_an_integer_is_refused_at_load() {
    let mut module = translate_module(&wat(TABLE_CALLS)).unwrap();
    module.elems[0].items[0] = ConstExpr {
        ops: vec![ConstOp::I32(1000)],
    };
    match run_f(&image_of(&mut module)) {
        Err(Failure::Load(msg)) => assert!(
            msg.contains("element segment 0: constant expression gives i32 where funcref"),
            "{msg}"
        ),
        other => panic!("crafted element segment not refused at load: {other:?}"),
    }
}

/// The code's `ref.func $g` becomes `const32 1000` (both are an opcode, a slot and a 32-bit
/// immediate), so `table.set` stores an integer into the funcref table.
#[test]
fn table_set_of_an_integer_into_a_funcref_table_is_refused() {
    let mut module = translate_module(&wat(TABLE_CALLS)).unwrap();
    let code = &mut module.funcs[1].code;
    let mut at = 0;
    let mut found = false;
    while at < code.len() {
        let (op, _, next) = decode(code, at).unwrap();
        if op == Op::RefFunc {
            assert_eq!(next - at, 4, "ref.func is opcode, slot, func (2 units)");
            code[at] = Op::Const32 as u16;
            code[at + 2] = 1000;
            code[at + 3] = 0;
            found = true;
        }
        at = next;
    }
    assert!(
        found,
        "no ref.func in {}",
        chiwawa_format::disassemble(code)
    );
    match run_f(&image_of(&mut module)) {
        Err(Failure::Load(msg)) => assert!(
            msg.contains("invalid image code: 0x3e8 is not a function reference"),
            "{msg}"
        ),
        other => panic!("integer stored into a funcref table: {other:?}"),
    }
}

/// `table.fill` and `table.grow` take their value from a slot too.
#[test]
fn table_fill_and_grow_of_an_integer_are_refused() {
    for (name, body) in [
        (
            "fill",
            "(table.fill $t (i32.const 0) (ref.func $g) (i32.const 2))",
        ),
        ("grow", "(drop (table.grow $t (ref.func $g) (i32.const 1)))"),
    ] {
        let text = format!(
            r#"(module
              (table $t 2 funcref)
              (func $g)
              (elem declare func $g)
              (func (export "f") {body}))"#
        );
        let mut module = translate_module(&wat(&text)).unwrap();
        assert_eq!(run_f(&image_of(&mut module.clone())), Ok(vec![]), "{name}");
        let code = &mut module.funcs[1].code;
        let mut at = 0;
        while at < code.len() {
            let (op, _, next) = decode(code, at).unwrap();
            if op == Op::RefFunc {
                code[at] = Op::Const32 as u16;
                code[at + 2] = 0x1234;
            }
            at = next;
        }
        match run_f(&image_of(&mut module)) {
            Err(Failure::Load(msg)) => {
                assert!(
                    msg.contains("0x1234 is not a function reference"),
                    "{name}: {msg}"
                )
            }
            other => panic!("{name}: integer stored into a funcref table: {other:?}"),
        }
    }
}
