//! The translator's fused instructions and constant slots, run: each function is checked against
//! results computed here in plain Rust, on values chosen for the edges (wrap-around addresses,
//! shift counts past the width, i64 values that differ only in their upper half).

mod common;

use chiwawa_runtime::Val;
use chiwawa_translator::translate_module;
use common::{call, mem, session, wat};

const MODULE: &str = r#"(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  ;; i32.shl_imm; i32.add, the shifted value on either side
  (func (export "add_shl") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.const 2 i32.shl i32.add)
  (func (export "shl_add") (param i32 i32) (result i32)
    local.get 1 i32.const 35 i32.shl local.get 0 i32.add)
  ;; i32.shr_u_imm; i32.and_imm
  (func (export "field") (param i32) (result i32)
    local.get 0 i32.const 7 i32.shr_u i32.const 0x1f i32.and)
  ;; i32.add; load, the sum wrapping past 2^32
  (func (export "load_add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add i32.load offset=1)
  (func (export "load8_add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add i32.load8_u offset=3)
  (func (export "load64_add") (param i32 i32) (result i64)
    local.get 0 local.get 1 i32.add i64.load)
  ;; i32.shl_imm; i32.add; load: an element of an array
  (func (export "load_shl") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.const 2 i32.shl i32.add i32.load offset=2)
  (func (export "load64_shl") (param i32 i32) (result i64)
    local.get 0 local.get 1 i32.const 33 i32.shl i32.add i64.load)
  ;; i64 compare-and-branch on values equal in their low half
  (func (export "br_i64_ne") (param i64 i64) (result i32)
    (block (br_if 0 (i64.ne (local.get 0) (local.get 1))) (return (i32.const 10)))
    i32.const 20)
  (func (export "if_i64_lt_s") (param i64 i64) (result i32)
    (if (result i32) (i64.lt_s (local.get 0) (local.get 1))
      (then (i32.const 1)) (else (i32.const 2))))
  ;; i32.and_imm; br_if, both senses
  (func (export "flag") (param i32) (result i32)
    (block (br_if 0 (i32.and (local.get 0) (i32.const 0x100))) (return (i32.const 0)))
    i32.const 1)
  (func (export "flag_if") (param i32) (result i32)
    (if (result i32) (i32.and (local.get 0) (i32.const 6))
      (then (i32.const 7)) (else (i32.const 8))))
  ;; f64.mul; f64.add, the product on either side
  (func (export "mul_add") (param f64 f64 f64) (result f64)
    local.get 0 local.get 1 local.get 2 f64.mul f64.add)
  (func (export "add_mul") (param f64 f64 f64) (result f64)
    local.get 1 local.get 2 f64.mul local.get 0 f64.add)
  ;; immediate rotates and i64 immediates
  (func (export "rotr32") (param i32) (result i32) local.get 0 i32.const 12 i32.rotr)
  (func (export "rotr64") (param i64) (result i64) local.get 0 i64.const 12 i64.rotr)
  (func (export "mix64") (param i64) (result i64)
    local.get 0 i64.const -7 i64.mul i64.const 0x5555 i64.xor i64.const -3 i64.shr_s
    i64.const 9 i64.or i64.const 17 i64.rotl)
  ;; x << k >> k: sign extensions and a mask (the shifts by 56 and 40 are by 24 and 8 in i32)
  (func (export "sext8") (param i32) (result i32)
    local.get 0 i32.const 24 i32.shl i32.const 56 i32.shr_s)
  (func (export "sext16") (param i32) (result i32)
    local.get 0 i32.const 16 i32.shl i32.const 16 i32.shr_s)
  (func (export "zext24") (param i32) (result i32)
    local.get 0 i32.const 40 i32.shl i32.const 8 i32.shr_u)
  (func (export "sext64_8") (param i64) (result i64)
    local.get 0 i64.const 56 i64.shl i64.const 56 i64.shr_s)
  (func (export "sext64_16") (param i64) (result i64)
    local.get 0 i64.const 48 i64.shl i64.const 48 i64.shr_s)
  (func (export "sext64_32") (param i64) (result i64)
    local.get 0 i64.const 32 i64.shl i64.const 32 i64.shr_s)
  ;; constants read from slots inside a loop, in a recursive function: a callee's frame
  ;; starts above the caller's constants, so they survive every call
  (func $sum (export "sum") (param i32) (result i64) (local i64 i32)
    (if (i32.lt_s (local.get 0) (i32.const 1)) (then (return (i64.const 0))))
    (loop
      (local.set 1 (i64.add (local.get 1)
        (i64.mul (i64.extend_i32_u (local.get 2)) (i64.const 0x100000001))))
      (local.set 2 (i32.add (local.get 2) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 2) (i32.const 3))))
    (i64.add (local.get 1) (call $sum (i32.sub (local.get 0) (i32.const 1)))))
)"#;

#[test]
fn fused_instructions_are_emitted() {
    let module = translate_module(&wat(MODULE)).expect("translate");
    let names: Vec<&str> = module
        .funcs
        .iter()
        .flat_map(|f| {
            let mut at = 0;
            let mut ops = Vec::new();
            while at < f.code.len() {
                let (op, _, next) = chiwawa_format::decode(&f.code, at).expect("decode");
                ops.push(op.name());
                at = next;
            }
            ops
        })
        .collect();
    for op in [
        "i32.add_shl_imm",
        "i32.shr_u_and_imm",
        "i32.load_add",
        "i32.load8_u_add",
        "i64.load_add",
        "br_if_i64.ne",
        "br_if_i64.ge_s",
        "br_if_i32.and_imm_nez",
        "br_if_i32.and_imm_eqz",
        "i32.rotl_imm",
        "i64.rotl_imm",
        "i64.mul_imm",
        "i64.xor_imm",
        "i64.shr_s_imm",
        "i64.or_imm",
        "f64.mul_add",
        "i32.load_shl",
        "i64.load_shl",
        "i32.extend8_s",
        "i32.extend16_s",
        "i64.extend8_s",
        "i64.extend16_s",
        "i64.extend32_s",
    ] {
        assert!(names.contains(&op), "{op} not emitted: {names:?}");
    }
    let sum = module.funcs.last().expect("sum");
    assert_eq!(sum.consts, [0x1_0000_0001], "the loop's constant is a slot");
}

#[test]
fn fused_instructions_compute_what_the_pairs_do() {
    let (mut s, i) = session(MODULE);
    for (a, b) in [(5i32, 7i32), (-1, 3), (i32::MAX, i32::MIN), (0, -1)] {
        let (x, y) = (a as u32, b as u32);
        let want = x.wrapping_add(y.wrapping_shl(2)) as i32;
        assert_eq!(
            call(&mut s, i, "add_shl", &[Val::I32(a), Val::I32(b)]),
            Val::I32(want)
        );
        // shl by 35 is shl by 3
        let want = x.wrapping_add(y << 3) as i32;
        assert_eq!(
            call(&mut s, i, "shl_add", &[Val::I32(a), Val::I32(b)]),
            Val::I32(want)
        );
    }
    for a in [0u32, 0xffff_ffff, 0x1234_5678, 0x80] {
        let want = ((a >> 7) & 0x1f) as i32;
        assert_eq!(
            call(&mut s, i, "field", &[Val::I32(a as i32)]),
            Val::I32(want)
        );
    }
    // (a + b) wraps to a small address; the offset is added after the wrap.
    for (a, b) in [(2u32, 3u32), (0xffff_fff0, 0x12), (u32::MAX, 1)] {
        let at = a.wrapping_add(b);
        let args = [Val::I32(a as i32), Val::I32(b as i32)];
        assert_eq!(
            call(&mut s, i, "load_add", &args),
            Val::I32(mem(at + 1, 4) as u32 as i32)
        );
        assert_eq!(
            call(&mut s, i, "load8_add", &args),
            Val::I32(mem(at + 3, 1) as i32)
        );
        assert_eq!(
            call(&mut s, i, "load64_add", &args),
            Val::I64(mem(at, 8) as i64)
        );
    }
    for (a, b) in [
        (1u32, 2u32),
        (0xffff_fff8, 3),
        (4, 0x4000_0001),
        (0, 0x8000_0000),
    ] {
        let args = [Val::I32(a as i32), Val::I32(b as i32)];
        let at = a.wrapping_add(b << 2);
        assert_eq!(
            call(&mut s, i, "load_shl", &args),
            Val::I32(mem(at + 2, 4) as u32 as i32)
        );
    }
    for (a, b) in [(1u32, 2u32), (0xffff_fff8, 5), (4, 0x8000_0001)] {
        let args = [Val::I32(a as i32), Val::I32(b as i32)];
        // a shift count of 33 is 1
        let at = a.wrapping_add(b << 1);
        assert_eq!(
            call(&mut s, i, "load64_shl", &args),
            Val::I64(mem(at, 8) as i64)
        );
    }
    for a in [
        0u32,
        0x7f,
        0x80,
        0xff,
        0x7fff,
        0x8000,
        0xdead_beef,
        u32::MAX,
    ] {
        let arg = [Val::I32(a as i32)];
        assert_eq!(call(&mut s, i, "sext8", &arg), Val::I32(a as i8 as i32));
        assert_eq!(call(&mut s, i, "sext16", &arg), Val::I32(a as i16 as i32));
        assert_eq!(
            call(&mut s, i, "zext24", &arg),
            Val::I32((a & 0xff_ffff) as i32)
        );
    }
    for a in [
        0u64,
        0x80,
        0x8000,
        0x8000_0000,
        0x1234_5678_9abc_def0,
        u64::MAX,
    ] {
        let arg = [Val::I64(a as i64)];
        assert_eq!(call(&mut s, i, "sext64_8", &arg), Val::I64(a as i8 as i64));
        assert_eq!(
            call(&mut s, i, "sext64_16", &arg),
            Val::I64(a as i16 as i64)
        );
        assert_eq!(
            call(&mut s, i, "sext64_32", &arg),
            Val::I64(a as i32 as i64)
        );
    }
    // Out of bounds after the add: a trap, not a read elsewhere.
    let err = s
        .invoke(i, "load_add", &[Val::I32(65534), Val::I32(0)])
        .expect_err("out of bounds");
    assert!(err.message().contains("out of bounds"), "{}", err.message());

    let hi = 1i64 << 32;
    for (a, b) in [(1i64, 1i64), (1, 1 + hi), (-1, i64::MAX), (i64::MIN, 0)] {
        let want = if a != b { 20 } else { 10 };
        let args = [Val::I64(a), Val::I64(b)];
        assert_eq!(call(&mut s, i, "br_i64_ne", &args), Val::I32(want));
        let want = if a < b { 1 } else { 2 };
        assert_eq!(call(&mut s, i, "if_i64_lt_s", &args), Val::I32(want));
    }
    for a in [0i32, 0x100, 0xff, -1, 2, 4, 1] {
        let want = ((a & 0x100) != 0) as i32;
        assert_eq!(call(&mut s, i, "flag", &[Val::I32(a)]), Val::I32(want));
        let want = if a & 6 != 0 { 7 } else { 8 };
        assert_eq!(call(&mut s, i, "flag_if", &[Val::I32(a)]), Val::I32(want));
    }
    for a in [0x1234_5678u32, 1, 0x8000_0000] {
        let want = a.rotate_right(12) as i32;
        assert_eq!(
            call(&mut s, i, "rotr32", &[Val::I32(a as i32)]),
            Val::I32(want)
        );
    }
    for a in [0x1234_5678_9abc_def0u64, 1, 1 << 63] {
        let want = a.rotate_right(12) as i64;
        assert_eq!(
            call(&mut s, i, "rotr64", &[Val::I64(a as i64)]),
            Val::I64(want)
        );
        let v = (a as i64).wrapping_mul(-7) ^ 0x5555;
        // A shift count of -3 is 61 (counts are taken mod 64).
        let want = ((v >> 61) | 9).rotate_left(17);
        assert_eq!(
            call(&mut s, i, "mix64", &[Val::I64(a as i64)]),
            Val::I64(want)
        );
    }
    // Two roundings, as the pair: (1 + e)^2 - (1 + 2e) is 0 rounded twice, e^2 fused.
    let e = f64::EPSILON;
    for (a, x, y) in [
        (1.5, 2.0, -0.25),
        (-(1.0 + 2.0 * e), 1.0 + e, 1.0 + e),
        (-0.0, -0.0, 0.0),
        (f64::INFINITY, 1.0, 2.0),
    ] {
        let want = (a + x * y).to_bits();
        let args = [
            Val::F64(a.to_bits()),
            Val::F64(x.to_bits()),
            Val::F64(y.to_bits()),
        ];
        assert_eq!(
            call(&mut s, i, "mul_add", &args),
            Val::F64(want),
            "{a} {x} {y}"
        );
        assert_eq!(
            call(&mut s, i, "add_mul", &args),
            Val::F64(want),
            "{a} {x} {y}"
        );
    }
    assert_ne!(
        (1.0 + e) * (1.0 + e) - (1.0 + 2.0 * e),
        (1.0 + e).mul_add(1.0 + e, -(1.0 + 2.0 * e)),
        "the case above tells a fused multiply-add apart"
    );
    // sum(n) = n * (0 + 1 + 2) * 0x1_0000_0001
    for n in [0i32, 1, 5, 40] {
        let want = (n.max(0) as i64).wrapping_mul(3 * 0x1_0000_0001);
        assert_eq!(call(&mut s, i, "sum", &[Val::I32(n)]), Val::I64(want));
    }
}
