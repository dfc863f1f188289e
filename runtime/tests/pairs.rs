//! The pair instructions (`chiwawa_format::PAIRS`), run: one function per pair, each checked
//! against results computed here in plain Rust, on edge values (sums that wrap past 2^32,
//! addresses that wrap, loops that count through zero). A test first checks that every pair
//! really is in the translated code, so none of these passes by running the unpaired forms.

mod common;

use chiwawa_runtime::Val;
use common::{call, f64s, i32s, i64s, mem, mix, ops_of, session};

const MODULE: &str = r#"(module
  (memory 1)
  (global $sp (mut i32) (i32.const 4096))
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  ;; i32.add_imm; i32.add_imm
  (func (export "add2") (param i32 i32) (result i32)
    (local.set 0 (i32.add (local.get 0) (i32.const 5)))
    (local.set 1 (i32.add (local.get 1) (i32.const -9)))
    (i32.xor (local.get 0) (i32.rotl (local.get 1) (i32.const 16))))
  ;; i32.add_imm; br_if_nez: count down through the loop
  (func (export "countdown") (param i32) (result i32) (local i32)
    (local.set 1 (i32.mul (local.get 0) (i32.const 3)))
    (loop
      (br_if 0 (local.tee 0 (i32.add (local.get 0) (i32.const -1)))))
    (i32.add (local.get 0) (local.get 1)))
  ;; i32.add_imm; br_if_i32.ne: count up to a bound, wrapping past 2^32
  (func (export "count_to") (param i32 i32) (result i32) (local i32)
    (loop
      (local.set 2 (i32.xor (local.get 2) (local.get 0)))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if 0 (i32.ne (local.get 0) (local.get 1))))
    (local.get 2))
  ;; i32.add; br_if_i32.le_u: step by a variable amount while at or below a bound
  (func (export "step_to") (param i32 i32 i32) (result i32) (local i32)
    (loop
      (local.set 3 (i32.add (local.get 3) (i32.const 1)))
      (local.set 0 (i32.add (local.get 0) (local.get 2)))
      (br_if 0 (i32.le_u (local.get 0) (local.get 1))))
    (i32.add (i32.shl (local.get 3) (i32.const 16)) (local.get 0)))
  ;; i32.add_imm; loads: the sum wraps before the offset is added
  (func (export "load_imm") (param i32) (result i32)
    (i32.load offset=1 (i32.add (local.get 0) (i32.const 6))))
  (func (export "load8_imm") (param i32) (result i32)
    (i32.load8_u offset=2 (local.tee 0 (i32.add (local.get 0) (i32.const -3)))))
  (func (export "load64_imm") (param i32) (result i64)
    (i64.load (i32.add (local.get 0) (i32.const 4))))
  ;; i32.load; i32.store: a word moved, then read back from where it went
  (func (export "move") (param i32 i32) (result i32)
    (i32.store offset=32 (local.get 1) (i32.load offset=1 (local.get 0)))
    (i32.load offset=32 (local.get 1)))
  ;; copy; copy: two locals set from one
  (func (export "copy2") (param i32) (result i32) (local i32 i32)
    (local.set 1 (local.get 0))
    (local.set 2 (local.get 0))
    (i32.mul (i32.add (local.get 1) (i32.const 1)) (local.get 2)))
  ;; copy; call and const32; call: the last argument moved, then the call
  (func $mix (param i32 i32) (result i32) (i32.sub (i32.mul (local.get 0) (i32.const 3)) (local.get 1)))
  (table 4 funcref)
  (elem (i32.const 1) $mix)
  (type $mix_t (func (param i32 i32) (result i32)))
  (func (export "copy_call") (param i32 i32) (result i32)
    (call $mix (i32.add (local.get 0) (local.get 1)) (local.get 0)))
  (func (export "const_call") (param i32) (result i32)
    (call $mix (local.get 0) (i32.const 7)))
  ;; copy; call_indirect (table entry 1 is $mix; 0 is null, 4 is out of bounds)
  (func (export "copy_call_indirect") (param i32 i32) (result i32)
    (call_indirect (type $mix_t) (i32.add (local.get 0) (local.get 1)) (local.get 0)
      (local.get 1)))
  ;; copy; i32.add_imm
  (func (export "copy_add") (param i32 i32) (result i32) (local i32)
    (local.set 2 (local.get 0))
    (local.set 1 (i32.add (local.get 1) (i32.const 7)))
    (i32.sub (i32.mul (local.get 2) (local.get 1)) (local.get 0)))
  ;; i32.load; i32.load and i64.load; i64.load
  (func (export "load_load") (param i32 i32) (result i32)
    (i32.sub (i32.load offset=1 (local.get 0)) (i32.load offset=5 (local.get 1))))
  (func (export "load64_load64") (param i32 i32) (result i64)
    (i64.xor (i64.load (local.get 0)) (i64.load offset=3 (local.get 1))))
  ;; i32.load; i32.add
  (func (export "load_then_add") (param i32 i32) (result i32)
    (i32.add (local.get 1) (i32.load offset=2 (local.get 0))))
  ;; i32.add_imm; i32.store, then read back
  (func (export "add_store") (param i32 i32) (result i32)
    (i32.store offset=200 (local.get 1) (i32.add (local.get 0) (i32.const 77)))
    (i32.load offset=200 (local.get 1)))
  ;; i32.add; i32.store8, then read back
  (func (export "add_store8") (param i32 i32 i32) (result i32)
    (i32.store8 offset=300 (local.get 1) (i32.add (local.get 0) (local.get 2)))
    (i32.load8_u offset=300 (local.get 1)))
  ;; i32.add_shl_imm (kept in a local); i32.load
  (func (export "shl_load") (param i32 i32) (result i32) (local i32)
    (i32.load offset=1 (local.tee 2 (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 2)))))
    (i32.shl (local.get 2) (i32.const 8))
    i32.add)
  ;; copy; i32.add_shl_imm
  (func (export "copy_shl") (param i32 i32) (result i32) (local i32 i32)
    (local.set 2 (local.get 0))
    (local.set 3 (i32.add (local.get 1) (i32.shl (local.get 2) (i32.const 3))))
    (i32.xor (local.get 3) (i32.rotl (local.get 2) (i32.const 5))))
  ;; i32.shr_u_imm; i32.xor and i64.shr_u_imm; i64.xor
  (func (export "shr_xor") (param i32 i32) (result i32)
    (i32.xor (local.get 1) (i32.shr_u (local.get 0) (i32.const 7))))
  (func (export "shr_xor64") (param i64) (result i64)
    (i64.xor (local.get 0) (i64.shr_u (local.get 0) (i64.const 33))))
  ;; f64.convert_i32_u; f64.div
  (func (export "recip") (param i32 f64) (result f64)
    (f64.div (local.get 1) (f64.convert_i32_u (local.get 0))))
  ;; i32.add_imm; global.set: a stack frame taken and given back, as C compilers emit
  (func (export "frame") (param i32) (result i32) (local i32 i32)
    (global.set $sp (local.tee 1 (i32.sub (global.get $sp) (local.get 0))))
    (local.set 2 (global.get $sp))
    (global.set $sp (i32.add (local.get 1) (i32.const 16)))
    (i32.sub (local.get 2) (global.get $sp)))
  ;; i32.add_imm; br_table: a switch on a value minus its lowest case
  (func (export "switch") (param i32) (result i32)
    (block (block (block (block
      (br_table 0 1 2 3 (i32.add (local.get 0) (i32.const -2))))
      (return (i32.const 10)))
      (return (i32.const 11)))
      (return (i32.const 12)))
    (i32.const 13))
  ;; Pairs only checked for being emitted here; runtime/tests/pair_parts.rs runs every pair
  ;; against its parts.
  (func (param i32 i32 i32 i32) (result i32) (local i32 i32)
    (block
      (drop (i32.and (i32.load8_u (local.get 0)) (i32.const 15)))
      (local.set 1 (i32.and (local.get 0) (i32.const 6)))
      (br_if 0 (i32.eqz (local.get 1))))
    (local.get 1))
  (func (param i32 i32 i32 i32)
    (local.set 2 (i32.load (local.get 0)))
    (local.set 3 (local.get 1))
    (block (local.set 1 (local.get 0)) (br_if 0 (i32.ne (local.get 2) (i32.const 5))))
    (local.set 1 (local.get 0))
    (i32.store (local.get 2) (local.get 3))
    (drop (i32.popcnt (local.get 0)))
    (i32.store (local.get 2) (local.get 3))
    (local.set 1 (local.get 0)))
  (func (param i32 i32 i32 i32) (result i32)
    (drop (i32.load8_u (local.tee 1 (i32.add (local.get 0) (local.get 2)))))
    (block
      (local.set 1 (i32.load (local.get 0)))
      (br_if 0 (i32.ne (local.get 1) (i32.const 7)))
      (local.set 1 (i32.and (local.get 0) (i32.const 12)))
      (br_if 0 (i32.eq (local.get 1) (i32.const 4))))
    (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const 12))))
  (func (param i32 i32 i32)
    (block
      (local.set 2 (i32.load8_u (i32.add (local.get 0) (local.get 1))))
      (br_if 0 (i32.eqz (local.get 2)))
      (local.set 2 (i32.load8_u (i32.add (local.get 0) (local.get 1))))
      (br_if 0 (local.get 2))))
  (func (param i32 i32 i32 i32) (result i32)
    (local.set 1 (local.get 0))
    (local.set 2 (i32.load (local.get 3)))
    (drop (i32.add (local.get 1) (i32.and (i32.shr_u (local.get 0) (i32.const 3)) (i32.const 0xff0))))
    (local.set 1 (i32.add (local.get 0) (i32.const 3)))
    (local.set 2 (local.get 0))
    (i32.and (i32.load (local.get 0)) (i32.const 0xff00)))
  (func (param i32 i32)
    (i64.store offset=64 (local.get 1) (i64.load (local.get 0)))
    (i32.store8 offset=64 (local.get 1) (i32.load8_u (local.get 0))))
  (func (param i32 i32) (result i32)
    (drop (i32.and (i32.xor (local.get 0) (local.get 1)) (i32.const 0xff)))
    (i32.load (i32.add (local.get 1)
      (i32.shl (i32.and (local.get 0) (i32.const 0xff)) (i32.const 2)))))
  (func (param i32 i32 i32 i32) (result i32)
    (block
      (local.set 2 (i32.add (local.get 0) (local.get 1)))
      (br_if 0 (i32.ge_u (local.get 2) (local.get 3))))
    (local.set 2 (i32.add (local.get 0) (i32.const 5)))
    (local.set 3 (i32.add (local.get 1) (local.get 2)))
    (drop (i32.add (local.get 2) (i32.lt_u (local.get 0) (local.get 1))))
    (local.set 2 (i32.add (local.get 0) (local.get 1)))
    (local.set 3 (i32.add (local.get 2) (i32.const 9)))
    (local.get 3))
  (func (param f64 f64 f64 f64 i32) (result f64)
    (local.set 3 (f64.add (local.get 0) (f64.mul (local.get 1) (local.get 2))))
    (local.set 4 (i32.add (local.get 4) (i32.const 1)))
    (f64.mul (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
  (func (param i32 i64) (result i64)
    (i64.mul (i64.add (local.get 1) (i64.extend_i32_s (local.get 0))) (local.get 1)))
  (func (param i32 i32 i32) (result i32)
    (loop
      (local.set 0 (i32.add (local.get 0) (local.get 2)))
      (br_if 0 (i32.le_u (local.get 0) (local.get 1))))
    (local.get 0))
  ;; i32.and_imm; i32.shl_imm (an opcode field scaled to a table index)
  (func (export "and_shl") (param i32) (result i32)
    (i32.shl (i32.and (local.get 0) (i32.const 0x7f)) (i32.const 3)))
  ;; const32; br_if_eqz (a constant result, then an early exit)
  (func (export "const_eqz") (param i32 i32) (result i32)
    (block
      (local.set 1 (i32.const 7))
      (br_if 0 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0))))
    (local.get 1))
  ;; const32; br_if_i32.lt_s_imm
  (func (export "const_lt") (param i32 i32) (result i32)
    (block
      (local.set 1 (i32.const 5))
      (br_if 0 (i32.lt_s (local.get 0) (i32.const 2)))
      (local.set 1 (i32.add (local.get 1) (local.get 0))))
    (local.get 1))
  ;; i64.add; br_if_i32.gt_u_imm (an accumulator and a counter)
  (func (export "acc_down") (param i32 i64 i64) (result i64)
    (loop
      (local.set 0 (i32.add (local.get 0) (i32.const -1)))
      (local.set 1 (i64.add (local.get 1) (local.get 2)))
      (br_if 0 (i32.gt_u (local.get 0) (i32.const 3))))
    (local.get 1))
  ;; i32.add_imm; br_if_i32.lt_u (a counter below a bound, wrapping)
  (func (export "step_below") (param i32 i32) (result i32) (local i32)
    (loop
      (local.set 2 (i32.xor (local.get 2) (local.get 0)))
      (br_if 0 (i32.lt_u (local.tee 0 (i32.add (local.get 0) (i32.const 3))) (local.get 1))))
    (local.get 2))
  ;; i64.load; f64.add
  (func (export "load_fadd") (param i32 f64) (result f64)
    (f64.add (f64.load (local.get 0)) (local.get 1)))
  ;; i64.add_imm; br_if_i64.ne
  (func (export "count64") (param i64 i64) (result i64) (local i64)
    (loop
      (local.set 2 (i64.xor (local.get 2) (local.get 0)))
      (br_if 0 (i64.ne (local.tee 0 (i64.add (local.get 0) (i64.const 1))) (local.get 1))))
    (local.get 2))
  ;; i64.xor; i64.rotl_imm
  (func (export "xor_rotl") (param i64 i64) (result i64)
    (i64.rotl (i64.xor (local.get 0) (local.get 1)) (i64.const 27)))
  ;; i64.mul_imm; i64.add_imm
  (func (export "mul_add64") (param i64) (result i64)
    (i64.add (i64.mul (local.get 0) (i64.const 0x3779b9)) (i64.const 12345)))
  ;; i64.load; f64.mul_add
  (func (export "load_muladd") (param i32 f64 f64) (result f64)
    (f64.add (f64.load (local.get 0)) (f64.mul (local.get 1) (local.get 2))))
  ;; i32.load16_s; i32.mul
  (func (export "load16s_mul") (param i32 i32) (result i32)
    (i32.mul (i32.load16_s (local.get 0)) (local.get 1)))
  ;; i32.and_imm; br_if_i32.ge_u_imm (a field tested against a bound)
  (func (export "and_ge_u") (param i32 i32) (result i32)
    (block
      (br_if 0 (i32.ge_u (local.tee 1 (i32.and (local.get 0) (i32.const 0xff))) (i32.const 10)))
      (local.set 1 (i32.add (local.get 1) (i32.const 99))))
    (i32.mul (local.get 1) (i32.add (local.get 1) (local.get 0))))
  ;; i32.and_imm; select (a flag picks one of two values)
  (func (export "and_select") (param i32 i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (i32.and (local.get 2) (i32.const 4))))
  ;; the fifth batch: SQLite's and Lua's most frequent neighbours
  (func (export "load16_and") (param i32 i32) (result i32)
    (i32.and (i32.load16_u offset=1 (local.get 0)) (local.get 1)))
  (func (export "load8_switch") (param i32) (result i32)
    (block (block (block
      (br_table 0 1 2 (i32.load8_u offset=2 (local.get 0))))
      (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30))
  (func (export "load8_sext") (param i32) (result i32)
    (i32.extend8_s (i32.load8_u (local.get 0))))
  (func (export "load_if") (param i32 i32) (result i32)
    (if (i32.load offset=3 (local.get 0)) (then (local.set 1 (i32.add (local.get 1) (i32.const 9)))))
    (local.get 1))
  (func (export "store16_const") (param i32) (result i32)
    (i32.store16 offset=40 (local.get 0) (i32.const 0xabcd))
    (i32.load offset=40 (local.get 0)))
  (func (export "load8s_lt") (param i32 i32) (result i32)
    (block (br_if 0 (i32.lt_s (i32.load8_s (local.get 0)) (i32.const 5)))
      (local.set 1 (i32.mul (local.get 1) (i32.const 3))))
    (local.get 1))
  (func (export "load8_ne") (param i32 i32) (result i32)
    (block (br_if 0 (i32.ne (i32.load8_u offset=1 (local.get 0)) (i32.const 3)))
      (local.set 1 (i32.xor (local.get 1) (i32.const 0x55))))
    (local.get 1))
  (func (export "const_load") (param i32) (result i32)
    (i32.sub (i32.load (i32.const 5)) (local.get 0)))
  (func (export "field_index") (param i32 i32) (result i32)
    (i32.add (local.get 1) (i32.shl (i32.and (i32.shr_u (local.get 0) (i32.const 7)) (i32.const 0x1ff)) (i32.const 3))))
  (func (export "bit") (param i32) (result i32)
    (i32.shl (i32.const 1) (local.get 0)))
  (func (export "copy_loop") (param i32 i32) (result i32) (local i32)
    (block (loop
      (local.set 2 (i32.add (local.get 2) (i32.mul (local.get 1) (i32.const 3))))
      (local.set 2 (i32.xor (local.get 2) (i32.shr_u (local.get 2) (i32.const 5))))
      (local.set 2 (i32.sub (local.get 2) (i32.rotl (local.get 1) (local.get 0))))
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 0 (i32.shr_u (local.get 0) (i32.const 1)))
      (local.set 1 (local.get 2))
      (br 0)))
    (local.get 2))
  (func (export "store64_then_const") (param i32 i64) (result i64) (local i32)
    (i64.store offset=48 (local.get 0) (local.get 1))
    (local.set 2 (i32.const 7))
    (i64.add (i64.load offset=48 (local.get 0)) (i64.extend_i32_u (local.get 2))))
  (func (export "copy_add64") (param i64 i64) (result i64) (local i64)
    (local.set 2 (local.get 0))
    (local.set 1 (i64.add (local.get 1) (i64.const 5)))
    (i64.sub (i64.mul (local.get 2) (local.get 1)) (local.get 0)))
  (func (export "index_load8") (param i32 i32) (result i32)
    (i32.load8_u offset=1 (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 2)))))
  (func (export "load8_if") (param i32 i32) (result i32)
    (if (i32.load8_u offset=4 (local.get 0)) (then (local.set 1 (i32.sub (local.get 1) (i32.const 2)))))
    (local.get 1))
  (func (export "load64_ge") (param i32 i64) (result i64)
    (block (br_if 0 (i64.ge_s (i64.load (local.get 0)) (local.get 1)))
      (local.set 1 (i64.add (local.get 1) (i64.const 100))))
    (local.get 1))
  ;; const32; return: a constant result
  (func (export "seven") (param i32) (result i32)
    (if (local.get 0) (then (return (i32.const 7))))
    (i32.mul (local.get 0) (local.get 0)))
)"#;

#[test]
fn every_pair_is_emitted() {
    let seen = ops_of(MODULE);
    let pairs = chiwawa_format::PAIRS;
    let is_pair = |op| pairs.iter().any(|&(_, _, p)| p == op);
    // (Sequences, whose parts are pairs, are tests/sequences.rs's.)
    for &(_, _, pair) in pairs
        .iter()
        .filter(|&&(a, b, _)| !is_pair(a) && !is_pair(b))
    {
        assert!(seen.contains(&pair), "{} not emitted", pair.name());
    }
}

#[test]
fn pairs_compute_what_the_two_instructions_do() {
    let (mut s, i) = session(MODULE);
    for (a, b) in [
        (0u32, 0u32),
        (u32::MAX - 2, 3),
        (7, 1),
        (0x8000_0000, 0x7fff_ffff),
    ] {
        let x = a.wrapping_add(5);
        let y = b.wrapping_add(-9i32 as u32);
        assert_eq!(
            call(&mut s, i, "add2", &[i32s(a), i32s(b)]),
            i32s(x ^ y.rotate_left(16)),
            "add2 {a} {b}"
        );
    }
    for n in [1u32, 2, 100] {
        assert_eq!(
            call(&mut s, i, "countdown", &[i32s(n)]),
            i32s(n.wrapping_mul(3)),
            "countdown {n}"
        );
    }
    for (from, to) in [(0u32, 5u32), (u32::MAX - 1, 2), (10, 11)] {
        let mut x = from;
        let mut acc = 0u32;
        loop {
            acc ^= x;
            x = x.wrapping_add(1);
            if x == to {
                break;
            }
        }
        assert_eq!(
            call(&mut s, i, "count_to", &[i32s(from), i32s(to)]),
            i32s(acc),
            "count_to {from} {to}"
        );
    }
    for (from, bound, step) in [
        (0u32, 10u32, 3u32),
        (5, 5, 1),
        (u32::MAX - 4, 100, 2),
        (0, 0, 0x8000_0000),
    ] {
        let (mut x, mut n) = (from, 0u32);
        loop {
            n += 1;
            x = x.wrapping_add(step);
            if x > bound {
                break;
            }
        }
        assert_eq!(
            call(&mut s, i, "step_to", &[i32s(from), i32s(bound), i32s(step)]),
            i32s((n << 16).wrapping_add(x)),
            "step_to {from} {bound} {step}"
        );
    }
    // Addresses: (a + imm) mod 2^32, then + offset.
    for a in [0u32, 3, u32::MAX - 5, u32::MAX - 1] {
        let at = a.wrapping_add(6) + 1;
        assert_eq!(
            call(&mut s, i, "load_imm", &[i32s(a)]),
            i32s(mem(at, 4) as u32),
            "load_imm {a}"
        );
    }
    for a in [0u32, 5, u32::MAX - 3, u32::MAX] {
        let at = a.wrapping_add(4);
        assert_eq!(
            call(&mut s, i, "load64_imm", &[i32s(a)]),
            i64s(mem(at, 8)),
            "load64_imm {a}"
        );
    }
    for a in [3u32, 10, 1, 0] {
        let at = a.wrapping_add(-3i32 as u32);
        let result = s.invoke(i, "load8_imm", &[i32s(a)]);
        if at.checked_add(2).is_some_and(|e| e < 65536) {
            assert_eq!(
                result.expect("in bounds")[0],
                i32s(mem(at + 2, 1) as u32),
                "load8_imm {a}"
            );
        } else {
            // The sum wrapped high: out of bounds even though a + offset alone would not be.
            assert!(result.is_err(), "load8_imm {a} must trap");
        }
    }
    for (from, to) in [(0u32, 0u32), (2, 100), (12, 64)] {
        assert_eq!(
            call(&mut s, i, "move", &[i32s(from), i32s(to)]),
            i32s(mem(from + 1, 4) as u32),
            "move {from} {to}"
        );
    }
    for a in [0u32, 9, u32::MAX] {
        let want = a.wrapping_add(1).wrapping_mul(a);
        assert_eq!(
            call(&mut s, i, "copy2", &[i32s(a)]),
            i32s(want),
            "copy2 {a}"
        );
    }
    for (a, b) in [
        (0u32, 0u32),
        (5, 9),
        (u32::MAX, 2),
        (0x8000_0000, 0x8000_0000),
    ] {
        let want = mix(a.wrapping_add(b), a);
        let got = call(&mut s, i, "copy_call", &[i32s(a), i32s(b)]);
        assert_eq!(got, i32s(want), "copy_call {a} {b}");
        let got = call(&mut s, i, "const_call", &[i32s(a)]);
        assert_eq!(got, i32s(mix(a, 7)), "const_call {a}");
    }
    for a in [0u32, 6, u32::MAX] {
        let got = call(&mut s, i, "copy_call_indirect", &[i32s(a), i32s(1)]);
        assert_eq!(
            got,
            i32s(mix(a.wrapping_add(1), a)),
            "copy_call_indirect {a}"
        );
        for (index, trap) in [
            (0u32, "uninitialized element"),
            (4, "out of bounds table access"),
        ] {
            let err = s
                .invoke(i, "copy_call_indirect", &[i32s(a), i32s(index)])
                .expect_err("traps");
            assert!(err.message().contains(trap), "{index}: {}", err.message());
        }
    }
    for (a, b) in [(2u32, 3u32), (u32::MAX, 9), (0, u32::MAX - 6)] {
        let b7 = b.wrapping_add(7);
        assert_eq!(
            call(&mut s, i, "copy_add", &[i32s(a), i32s(b)]),
            i32s(a.wrapping_mul(b7).wrapping_sub(a)),
            "copy_add {a} {b}"
        );
    }

    for (a, b) in [(0u32, 3u32), (7, 0), (11, 11)] {
        let want = (mem(a + 1, 4) as u32).wrapping_sub(mem(b + 5, 4) as u32);
        assert_eq!(
            call(&mut s, i, "load_load", &[i32s(a), i32s(b)]),
            i32s(want),
            "load_load"
        );
        let want = mem(a, 8) ^ mem(b + 3, 8);
        assert_eq!(
            call(&mut s, i, "load64_load64", &[i32s(a), i32s(b)]),
            i64s(want),
            "load64_load64"
        );
        let want = b.wrapping_add(mem(a + 2, 4) as u32);
        assert_eq!(
            call(&mut s, i, "load_then_add", &[i32s(a), i32s(b)]),
            i32s(want)
        );
    }
    for (v, at) in [(0u32, 0u32), (u32::MAX - 10, 4), (5, 1000)] {
        assert_eq!(
            call(&mut s, i, "add_store", &[i32s(v), i32s(at)]),
            i32s(v.wrapping_add(77)),
            "add_store {v}"
        );
        assert_eq!(
            call(&mut s, i, "add_store8", &[i32s(v), i32s(at), i32s(0x1ff)]),
            i32s(v.wrapping_add(0x1ff) & 0xff),
            "add_store8 {v}"
        );
    }
    for (a, k) in [(0u32, 1u32), (2, 2), (u32::MAX - 3, 1)] {
        let at = a.wrapping_add(k << 2);
        let want = (mem(at + 1, 4) as u32).wrapping_add(at << 8);
        assert_eq!(
            call(&mut s, i, "shl_load", &[i32s(a), i32s(k)]),
            i32s(want),
            "shl_load {a}"
        );
    }
    for (a, b) in [(1u32, 2u32), (u32::MAX, 7), (0x2000_0001, u32::MAX)] {
        let want = b.wrapping_add(a << 3) ^ a.rotate_left(5);
        assert_eq!(
            call(&mut s, i, "copy_shl", &[i32s(a), i32s(b)]),
            i32s(want),
            "copy_shl"
        );
        assert_eq!(
            call(&mut s, i, "shr_xor", &[i32s(a), i32s(b)]),
            i32s(b ^ (a >> 7)),
            "shr_xor"
        );
    }
    for x in [0u64, u64::MAX, 0x8000_0000_0000_0001, 0x1234_5678_9abc_def0] {
        assert_eq!(
            call(&mut s, i, "shr_xor64", &[i64s(x)]),
            i64s(x ^ (x >> 33)),
            "shr_xor64 {x:#x}"
        );
    }
    for n in [0u32, 16, 1, u32::MAX] {
        // After the frame: sp = 4096 - n + 16; the result is (4096 - n) - sp = -16.
        assert_eq!(
            call(&mut s, i, "frame", &[i32s(n)]),
            i32s(-16i32 as u32),
            "frame {n}"
        );
    }
    for v in [0u32, 1, 2, 3, 4, 5, 6, u32::MAX, 0x8000_0001] {
        let want = match v.wrapping_sub(2) {
            0 => 10,
            1 => 11,
            2 => 12,
            _ => 13,
        };
        assert_eq!(
            call(&mut s, i, "switch", &[i32s(v)]),
            i32s(want),
            "switch {v}"
        );
    }
    for (n, x) in [(3u32, 1.0f64), (0, -2.5), (u32::MAX, 1e300), (7, f64::NAN)] {
        let got = call(&mut s, i, "recip", &[i32s(n), f64s(x)]);
        let want = x / n as f64;
        match got {
            Val::F64(bits) if want.is_nan() => assert!(f64::from_bits(bits).is_nan(), "recip"),
            Val::F64(bits) => assert_eq!(bits, want.to_bits(), "recip {n} {x}"),
            other => panic!("recip returned {other:?}"),
        }
    }
    for x in [0u32, 0x7f, 0x80, u32::MAX, 0x1234_5678] {
        let want = (x & 0x7f) << 3;
        assert_eq!(
            call(&mut s, i, "and_shl", &[i32s(x)]),
            i32s(want),
            "and_shl {x}"
        );
    }
    for flags in [0u32, 4, 3, u32::MAX, 0xffff_fffb] {
        let want = if flags & 4 != 0 { 11 } else { 22 };
        let got = call(&mut s, i, "and_select", &[i32s(11), i32s(22), i32s(flags)]);
        assert_eq!(got, i32s(want), "and_select {flags}");
    }
    for (x, y) in [(0u32, 9u32), (1, 9), (u32::MAX, 3)] {
        let want = if x == 0 { 7 } else { 7u32.wrapping_add(x) };
        assert_eq!(
            call(&mut s, i, "const_eqz", &[i32s(x), i32s(y)]),
            i32s(want),
            "const_eqz {x}"
        );
    }
    for (x, y) in [
        (0u32, 9u32),
        (2, 9),
        (u32::MAX, 3),
        (0x8000_0000, 4),
        (1, 6),
    ] {
        let want = if (x as i32) < 2 {
            5
        } else {
            5u32.wrapping_add(x)
        };
        assert_eq!(
            call(&mut s, i, "const_lt", &[i32s(x), i32s(y)]),
            i32s(want),
            "const_lt {x}"
        );
    }
    for (n, x) in [(10u32, 3u64), (1, 7), (4, u64::MAX), (100, 1 << 40)] {
        let (mut c, mut a) = (n, 0u64);
        loop {
            c = c.wrapping_sub(1);
            a = a.wrapping_add(x);
            if c <= 3 {
                break;
            }
        }
        let got = call(&mut s, i, "acc_down", &[i32s(n), i64s(0), i64s(x)]);
        assert_eq!(got, i64s(a), "acc_down {n} {x}");
    }
    for (from, bound) in [(0u32, 10u32), (5, 5), (u32::MAX - 1, 2)] {
        let (mut x, mut acc) = (from, 0u32);
        loop {
            acc ^= x;
            x = x.wrapping_add(3);
            if x >= bound {
                break;
            }
        }
        let got = call(&mut s, i, "step_below", &[i32s(from), i32s(bound)]);
        assert_eq!(got, i32s(acc), "step_below {from} {bound}");
    }
    for (at, y) in [(0u32, 1.5f64), (8, -2.0), (3, 0.0)] {
        let want = f64::from_bits(mem(at, 8)) + y;
        let got = call(&mut s, i, "load_fadd", &[i32s(at), f64s(y)]);
        assert_eq!(got, f64s(want), "load_fadd {at}");
    }
    for (from, to) in [(0u64, 5u64), (u64::MAX - 1, 1), (7, 8)] {
        let (mut x, mut acc) = (from, 0u64);
        loop {
            acc ^= x;
            x = x.wrapping_add(1);
            if x == to {
                break;
            }
        }
        let got = call(&mut s, i, "count64", &[i64s(from), i64s(to)]);
        assert_eq!(got, i64s(acc), "count64 {from} {to}");
    }
    for (x, y) in [
        (0u64, 0u64),
        (u64::MAX, 1),
        (0x0123_4567_89ab_cdef, 0xfedc_ba98),
    ] {
        let want = (x ^ y).rotate_left(27);
        assert_eq!(call(&mut s, i, "xor_rotl", &[i64s(x), i64s(y)]), i64s(want));
    }
    for x in [0u64, 1, u64::MAX, 0x8000_0000_0000_0000] {
        let want = x.wrapping_mul(0x3779b9).wrapping_add(12345);
        assert_eq!(call(&mut s, i, "mul_add64", &[i64s(x)]), i64s(want));
    }
    for (at, x, y) in [(0u32, 2.0f64, 3.0f64), (8, -1.5, 1e10), (5, 0.0, -0.0)] {
        let want = f64::from_bits(mem(at, 8)) + x * y;
        let got = call(&mut s, i, "load_muladd", &[i32s(at), f64s(x), f64s(y)]);
        assert_eq!(got, f64s(want), "load_muladd {at}");
    }
    for (at, k) in [(0u32, 3u32), (15, u32::MAX), (16, 7)] {
        let want = (mem(at, 2) as u16 as i16 as i32 as u32).wrapping_mul(k);
        assert_eq!(
            call(&mut s, i, "load16s_mul", &[i32s(at), i32s(k)]),
            i32s(want),
            "load16s_mul {at}"
        );
    }
    for x in [0u32, 9, 10, 0x1ff, 0xffff_ff05] {
        let f = x & 0xff;
        let v = if f >= 10 { f } else { f + 99 };
        let want = v.wrapping_mul(v.wrapping_add(x));
        assert_eq!(
            call(&mut s, i, "and_ge_u", &[i32s(x), i32s(0)]),
            i32s(want),
            "and_ge_u {x}"
        );
    }
    // The fifth batch.
    let m8 = |at: u32| mem(at, 1) as u32;
    for (a, b) in [(0u32, u32::MAX), (3, 0xff0f), (14, 0xffff), (70_000, 1)] {
        if a < 65_000 {
            let want = mem(a + 1, 2) as u32 & b;
            assert_eq!(
                call(&mut s, i, "load16_and", &[i32s(a), i32s(b)]),
                i32s(want)
            );
        } else {
            let err = s
                .invoke(i, "load16_and", &[i32s(a), i32s(b)])
                .expect_err("traps");
            assert!(err.message().contains("out of bounds memory access"));
        }
    }
    for at in [0u32, 1, 2, 20] {
        let want = [10, 20, 30][m8(at + 2).min(2) as usize];
        assert_eq!(
            call(&mut s, i, "load8_switch", &[i32s(at)]),
            i32s(want),
            "switch {at}"
        );
    }
    for at in [0u32, 15, 16] {
        let want = m8(at) as i8 as i32 as u32;
        assert_eq!(call(&mut s, i, "load8_sext", &[i32s(at)]), i32s(want));
    }
    for (at, v) in [(0u32, 4u32), (13, 1), (40, u32::MAX)] {
        let want = if mem(at + 3, 4) != 0 {
            v.wrapping_add(9)
        } else {
            v
        };
        assert_eq!(call(&mut s, i, "load_if", &[i32s(at), i32s(v)]), i32s(want));
        let want = if m8(at) as i8 >= 5 {
            v.wrapping_mul(3)
        } else {
            v
        };
        assert_eq!(
            call(&mut s, i, "load8s_lt", &[i32s(at), i32s(v)]),
            i32s(want)
        );
        let want = if m8(at + 1) == 3 { v ^ 0x55 } else { v };
        assert_eq!(
            call(&mut s, i, "load8_ne", &[i32s(at), i32s(v)]),
            i32s(want)
        );
        let want = if m8(at + 4) != 0 {
            v.wrapping_sub(2)
        } else {
            v
        };
        assert_eq!(
            call(&mut s, i, "load8_if", &[i32s(at), i32s(v)]),
            i32s(want)
        );
    }
    for at in [0u32, 100, 1000] {
        let want = 0xabcd | (mem(at + 42, 2) as u32) << 16;
        assert_eq!(
            call(&mut s, i, "store16_const", &[i32s(at)]),
            i32s(want),
            "{at}"
        );
    }
    for a in [0u32, 7, u32::MAX] {
        let want = (mem(5, 4) as u32).wrapping_sub(a);
        assert_eq!(call(&mut s, i, "const_load", &[i32s(a)]), i32s(want));
        let want = 1u32.wrapping_shl(a);
        assert_eq!(call(&mut s, i, "bit", &[i32s(a)]), i32s(want));
        let b = 0x1234u32;
        let want = b.wrapping_add(((a >> 7) & 0x1ff) << 3);
        assert_eq!(
            call(&mut s, i, "field_index", &[i32s(a), i32s(b)]),
            i32s(want)
        );
    }
    for (n, x) in [(0u32, 5u32), (1, 9), (1000, u32::MAX)] {
        let (mut a, mut b, mut acc) = (n, x, 0u32);
        loop {
            acc = acc.wrapping_add(b.wrapping_mul(3));
            acc ^= acc >> 5;
            acc = acc.wrapping_sub(b.rotate_left(a));
            if a == 0 {
                break;
            }
            a >>= 1;
            b = acc;
        }
        assert_eq!(call(&mut s, i, "copy_loop", &[i32s(n), i32s(x)]), i32s(acc));
    }
    for (at, v) in [(0u32, 0u64), (8, u64::MAX), (64, 0x8000_0000_0000_0000)] {
        let got = call(&mut s, i, "store64_then_const", &[i32s(at), i64s(v)]);
        assert_eq!(got, i64s(v.wrapping_add(7)));
        let (a, b) = (v, v ^ 0x55);
        let want = a.wrapping_mul(b.wrapping_add(5)).wrapping_sub(a);
        assert_eq!(
            call(&mut s, i, "copy_add64", &[i64s(a), i64s(b)]),
            i64s(want)
        );
        let want = if (mem(at, 8) as i64) >= v as i64 {
            v
        } else {
            v.wrapping_add(100)
        };
        assert_eq!(
            call(&mut s, i, "load64_ge", &[i32s(at), i64s(v)]),
            i64s(want)
        );
    }
    for (a, k) in [(0u32, 0u32), (1, 3), (2, 100)] {
        let want = m8(a.wrapping_add(k << 2).wrapping_add(1));
        assert_eq!(
            call(&mut s, i, "index_load8", &[i32s(a), i32s(k)]),
            i32s(want)
        );
    }
    for a in [0u32, 1, 0x1_0000, u32::MAX] {
        let want = if a != 0 { 7 } else { 0 };
        assert_eq!(
            call(&mut s, i, "seven", &[i32s(a)]),
            i32s(want),
            "seven {a}"
        );
    }
}
