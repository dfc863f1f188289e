//! Tail calls whose callee returns more values than the caller's frame holds above the call
//! (issue 14, fourth bug): the translator must size the frame for the callee's results, as the
//! verifier demands of every call. Expected values as wasmtime and wasmi return them.

mod common;

use chiwawa_runtime::Val;
use common::{call, session};

#[test]
fn return_call_to_a_callee_with_more_results_than_params() {
    // Two unrelated operands stay below the call, none is passed, two results come back.
    let (mut s, i) = session(
        r#"(module
          (func $two (result i32 i32) (i32.const 11) (i32.const 22))
          (func (export "f") (result i32 i32)
            (i32.const 1) (i32.const 2)
            (return_call $two)))"#,
    );
    let out = s.invoke(i, "f", &[]).unwrap();
    assert_eq!(out, vec![Val::I32(11), Val::I32(22)]);
}

#[test]
fn return_call_indirect_to_a_callee_with_three_results() {
    let (mut s, i) = session(
        r#"(module
          (type $t3 (func (result i32 i64 i32)))
          (table 1 funcref)
          (elem (i32.const 0) $three)
          (global $g (mut i32) (i32.const 40))
          (func $three (result i32 i64 i32)
            (global.get $g) (i64.const 5) (i32.add (global.get $g) (i32.const 1)))
          (func (export "g") (param i32) (result i32 i64 i32)
            (global.set $g (local.get 0))
            (local.get 0) (local.get 0)
            (return_call_indirect (type $t3) (i32.const 0))))"#,
    );
    let out = s.invoke(i, "g", &[Val::I32(40)]).unwrap();
    assert_eq!(out, vec![Val::I32(40), Val::I64(5), Val::I32(41)]);
}

#[test]
fn return_call_with_results_deep_in_a_recursion() {
    // The frame reuse still holds: a million tail calls, each returning two values at the end.
    let (mut s, i) = session(
        r#"(module
          (func $down (param i32 i32) (result i32 i32)
            (if (result i32 i32) (i32.eqz (local.get 0))
              (then (local.get 1) (i32.const 99))
              (else
                (return_call $down (i32.sub (local.get 0) (i32.const 1))
                                   (i32.add (local.get 1) (i32.const 2))))))
          (func (export "h") (param i32) (result i32)
            (i32.add (call $down (local.get 0) (i32.const 0)))))"#,
    );
    assert_eq!(
        call(&mut s, i, "h", &[Val::I32(1_000_000)]),
        Val::I32(2_000_099)
    );
}
