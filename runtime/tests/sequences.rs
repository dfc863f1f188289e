//! The sequence instructions (pairs with a pair for a part, `chiwawa_format::PAIRS`), run: each
//! function below is translated into one sequence, checked first, and its results are checked
//! against plain Rust on edge values. (`pair_parts.rs` runs every sequence against its parts on
//! generated operands; this checks that the translator forms them from real Wasm.)

mod common;

use chiwawa_format::{Op, PAIRS};
use common::{call, f64s, i32s, i64s, mem, mix, ops_of, session};

const MODULE: &str = r#"(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  ;; f64.convert_i32_u; f64.div; f64.add (a Leibniz term)
  (func (export "term") (param i32 f64 f64) (result f64)
    (f64.add (local.get 2) (f64.div (local.get 1) (f64.convert_i32_u (local.get 0)))))
  ;; i32.add_imm; i32.add_imm; br_if_nez: two counters, one counting down to zero
  (func (export "two_counters") (param i32 i32) (result i32)
    (loop
      (local.set 1 (i32.add (local.get 1) (i32.const 3)))
      (br_if 0 (local.tee 0 (i32.add (local.get 0) (i32.const -1)))))
    (local.get 1))
  ;; i32.add; i32.store8; i32.add; br_if_i32.le_u: mark every step-th byte up to a bound
  (func (export "mark") (param i32 i32 i32 i32) (result i32)
    (loop
      (i32.store8 (i32.add (local.get 0) (local.get 1)) (i32.const 0xab))
      (br_if 0 (i32.le_u (local.tee 1 (i32.add (local.get 1) (local.get 2))) (local.get 3))))
    (i32.add (local.get 1)
      (i32.load (i32.add (local.get 0) (i32.const 6)))))
  ;; i32.lt_u; i32.add; br_if_i32.le_u: count up by a comparison while at or below a bound
  (func (export "count_by_lt") (param i32 i32 i32 i32) (result i32)
    (loop
      (br_if 0 (i32.le_u
        (local.tee 0 (i32.add (local.get 0) (i32.lt_u (local.get 1) (local.get 2))))
        (local.get 3))))
    (local.get 0))
  ;; i32.xor; i32.and_imm; i32.load_shl (a table step)
  (func (export "table") (param i32 i32 i32) (result i32)
    (i32.load offset=1 (i32.add (local.get 2)
      (i32.shl (i32.and (i32.xor (local.get 0) (local.get 1)) (i32.const 3)) (i32.const 2)))))
  ;; i64.shr_u_imm; i64.xor; i64.mul (a mixing step)
  (func (export "mix") (param i64 i64) (result i64)
    (i64.mul (i64.xor (local.get 0) (i64.shr_u (local.get 0) (i64.const 33))) (local.get 1)))
  ;; i32.add; i32.add_imm; br_if_i32.ne: sum x while counting up to n, wrapping
  (func (export "sum_to") (param i32 i32 i32) (result i32) (local i32)
    (loop
      (local.set 3 (i32.add (local.get 3) (local.get 0)))
      (br_if 0 (i32.ne (local.tee 2 (i32.add (local.get 2) (i32.const 1))) (local.get 1))))
    (local.get 3))
  ;; i32.add; i64.load; i64.load (two operands of a product)
  (func (export "two_loads") (param i32 i32 i32) (result i64)
    (i64.xor
      (i64.load (local.tee 0 (i32.add (local.get 0) (local.get 1))))
      (i64.load (local.get 2))))
  ;; i32.add_shl_imm; i32.load; i32.store (an element moved)
  (func (export "move_elem") (param i32 i32 i32) (result i32)
    (i32.store offset=32 (local.get 2)
      (i32.load (local.tee 0 (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 2))))))
    (i32.add (local.get 0) (i32.load offset=32 (local.get 2))))
  ;; copy; i32.add_imm; i32.add_imm
  (func (export "copy_steps") (param i32 i32) (result i32) (local i32)
    (local.set 2 (local.get 0))
    (local.set 0 (i32.add (local.get 0) (i32.const 5)))
    (local.set 1 (i32.add (local.get 1) (i32.const -2)))
    (i32.xor (i32.mul (local.get 2) (local.get 1)) (local.get 0)))
  ;; f64.mul; f64.mul; f64.sub
  (func (export "cross") (param f64 f64 f64 f64) (result f64)
    (f64.sub (f64.mul (local.get 0) (local.get 1)) (f64.mul (local.get 2) (local.get 3))))
  ;; i32.store; copy; br_if_i32.ne_imm
  (func (export "store_test") (param i32 i32 i32 i32) (result i32)
    (block
      (i32.store offset=40 (local.get 0) (local.get 1))
      (local.set 2 (local.get 3))
      (br_if 0 (i32.ne (local.get 2) (i32.const 7)))
      (local.set 1 (i32.const 99)))
    (i32.add (i32.load offset=40 (local.get 0)) (i32.add (local.get 1) (local.get 2))))
  ;; copy; i32.add_shl_imm; i32.load; copy
  (func (export "fetch") (param i32 i32 i32 i32) (result i32) (local i32 i32 i32)
    (local.set 4 (local.get 0))
    (local.set 5 (i32.load
      (local.tee 1 (i32.add (local.get 1) (i32.shl (local.get 2) (i32.const 3))))))
    (local.set 6 (local.get 3))
    (i32.xor (i32.xor (local.get 4) (local.get 5))
      (i32.add (local.get 1) (i32.rotl (local.get 6) (i32.const 8)))))
  ;; i32.load; i32.add; i32.store (a counter in memory)
  (func (export "bump") (param i32 i32 i32) (result i32)
    (i32.store offset=48 (local.get 0) (i32.add (i32.load (local.get 1)) (local.get 2)))
    (i32.load offset=48 (local.get 0)))
  ;; i32.add_imm; i32.load8_u; i32.add_imm; i32.load8_u (two byte cursors)
  (func (export "two_bytes") (param i32 i32) (result i32) (local i32 i32)
    (local.set 2 (i32.load8_u (local.tee 0 (i32.add (local.get 0) (i32.const 1)))))
    (local.set 3 (i32.load8_u offset=1 (local.tee 1 (i32.add (local.get 1) (i32.const 2)))))
    (i32.add (i32.shl (local.get 2) (i32.const 8))
      (i32.add (local.get 3) (i32.shl (i32.add (local.get 0) (local.get 1)) (i32.const 16)))))
  ;; copy; i32.load; i32.and_imm; i32.shl_imm (an instruction fetched, its opcode scaled)
  (func (export "fetch_op") (param i32 i32) (result i32) (local i32 i32)
    (local.set 3 (local.get 0))
    (local.set 2 (i32.shl (i32.and (i32.load (local.get 1)) (i32.const 0x7f)) (i32.const 2)))
    (i32.add (local.get 2) (local.get 3)))
  ;; i32.add_imm; i32.load; i32.add_imm; br_table (a switch on a word read through a cursor)
  (func (export "dispatch") (param i32 i32) (result i32)
    (i32.store offset=4 (local.get 0) (local.get 1))
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d (i32.add
        (i32.load (local.tee 0 (i32.add (local.get 0) (i32.const 4))))
        (i32.const -1))))
      (return (i32.add (local.get 0) (i32.const 100))))
      (return (i32.add (local.get 0) (i32.const 200))))
      (return (i32.add (local.get 0) (i32.const 300))))
    (i32.add (local.get 0) (i32.const 400)))
  ;; i32.xor_imm; i32.shr_u_imm; i32.xor (a CRC step)
  (func (export "crc_step") (param i32 i32) (result i32)
    (i32.xor (i32.shr_u (i32.xor (local.get 0) (i32.const 0xa001)) (i32.const 1)) (local.get 1)))
  ;; i64.load; f64.add; i64.store (a field updated in memory)
  (func (export "fadd_in_place") (param i32 f64) (result f64)
    (f64.store (local.get 0) (f64.add (f64.load (local.get 0)) (local.get 1)))
    (f64.load (local.get 0)))
  ;; i32.add_imm; f64.mul; f64.mul
  (func (export "squares") (param i32 f64 f64) (result f64) (local f64 f64)
    (local.set 0 (i32.add (local.get 0) (i32.const 8)))
    (local.set 3 (f64.mul (local.get 1) (local.get 1)))
    (local.set 4 (f64.mul (local.get 2) (local.get 2)))
    (f64.add (f64.add (local.get 3) (local.get 4)) (f64.convert_i32_u (local.get 0))))
  ;; i32.store; i32.lt_u; i32.add (a store, then a count of comparisons)
  (func (export "store_count") (param i32 i32 i32 i32) (result i32)
    (i32.store (local.get 0) (local.get 1))
    (local.set 2 (i32.add (local.get 2) (i32.lt_u (local.get 3) (local.get 1))))
    (i32.add (local.get 2) (i32.load (local.get 0))))
  ;; f64.mul; f64.mul; f64.sub; i64.store
  (func (export "cross_store") (param i32 f64 f64 f64 f64) (result f64)
    (f64.store (local.get 0)
      (f64.sub (f64.mul (local.get 1) (local.get 2)) (f64.mul (local.get 3) (local.get 4))))
    (f64.load (local.get 0)))
  ;; i32.add_imm; i64.load; f64.sub (the next field, subtracted)
  (func (export "next_sub") (param i32 f64) (result f64)
    (f64.sub (local.get 1) (f64.load (local.tee 0 (i32.add (local.get 0) (i32.const 8))))))
  ;; i64.load; f64.mul_add; i64.store (a field advanced by a product)
  (func (export "muladd_in_place") (param i32 f64 f64) (result f64)
    (f64.store (local.get 0)
      (f64.add (f64.load (local.get 0)) (f64.mul (local.get 1) (local.get 2))))
    (f64.load (local.get 0)))
  ;; i32.load; i32.store; i32.lt_u; i32.add
  (func (export "move_count") (param i32 i32 i32 i32 i32) (result i32)
    (i32.store offset=4 (local.get 0) (i32.load (local.get 1)))
    (local.set 2 (i32.add (local.get 2) (i32.lt_u (local.get 3) (local.get 4))))
    (i32.add (local.get 2) (i32.load offset=4 (local.get 0))))
  ;; i64.mul_imm; i64.add_imm; i64.add
  (func (export "mix_add") (param i64 i64) (result i64)
    (i64.add (i64.add (i64.mul (local.get 0) (i64.const 0x3779b9)) (i64.const 12345))
      (local.get 1)))
  ;; i32.and_imm; select; i32.shr_u_and_imm
  (func (export "pick_bits") (param i32 i32 i32) (result i32)
    (i32.and
      (i32.shr_u (select (local.get 0) (local.get 1) (i32.and (local.get 2) (i32.const 1)))
        (i32.const 3))
      (i32.const 0xff)))
  ;; copy; copy; call and i32.add_imm; copy; call: the arguments moved, then the call
  (func $mix (param i32 i32) (result i32) (i32.sub (i32.mul (local.get 0) (i32.const 3)) (local.get 1)))
  (table 4 funcref)
  (elem (i32.const 1) $mix)
  (type $mix_t (func (param i32 i32) (result i32)))
  (func (export "mix_self") (param i32) (result i32)
    (call $mix (local.get 0) (local.get 0)))
  (func (export "mix_bumped") (param i32 i32) (result i32)
    (call $mix (i32.add (local.get 0) (i32.const 5)) (local.get 1)))
  ;; i32.load; copy; call_indirect: a loaded argument, a moved one, an index from a local
  (func (export "mix_loaded") (param i32 i32) (result i32)
    (call_indirect (type $mix_t) (i32.load (local.get 0)) (local.get 1) (local.get 1)))
  ;; const32; i32.add_imm; br_if_i32.ne (a reset before the loop's test)
  (func (export "reset_count") (param i32 i32) (result i32) (local i32 i32)
    (loop
      (local.set 2 (i32.add (local.get 2) (local.get 0)))
      (local.set 3 (i32.const 7))
      (br_if 0 (i32.ne (local.tee 0 (i32.add (local.get 0) (i32.const 1))) (local.get 1))))
    (i32.add (local.get 2) (local.get 3)))
  ;; i64.extend_i32_s; i64.add; return (a sum returned straight away)
  (func (export "sum_ext") (param i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
)"#;

fn is_pair(op: Op) -> bool {
    PAIRS.iter().any(|&(_, _, p)| p == op)
}

/// The sequences: pairs one of whose parts is a pair.
fn sequences() -> impl Iterator<Item = Op> {
    PAIRS
        .iter()
        .filter(|&&(a, b, _)| is_pair(a) || is_pair(b))
        .map(|&(_, _, s)| s)
}

#[test]
fn every_sequence_is_emitted() {
    let seen = ops_of(MODULE);
    assert!(sequences().count() > 0);
    for s in sequences() {
        assert!(seen.contains(&s), "{} not emitted", s.name());
    }
}

#[test]
fn sequences_compute_what_their_parts_do() {
    let (mut s, i) = session(MODULE);
    for (n, x, acc) in [
        (1u32, 1.0f64, 0.5f64),
        (3, -4.0, 1e300),
        (0, 1.0, 0.0),
        (u32::MAX, 2.0, 0.0),
    ] {
        let want = acc + x / n as f64;
        let got = call(&mut s, i, "term", &[i32s(n), f64s(x), f64s(acc)]);
        assert_eq!(got, f64s(want), "term {n} {x} {acc}");
    }
    for (n, b) in [(1u32, 0u32), (5, 10), (1000, u32::MAX - 7)] {
        let want = b.wrapping_add(3u32.wrapping_mul(n));
        assert_eq!(
            call(&mut s, i, "two_counters", &[i32s(n), i32s(b)]),
            i32s(want),
            "two_counters {n}"
        );
    }
    // Bytes 100.. are zero until marked; the result adds the word at base + 6 to the final
    // index, so the marks show.
    for (base, from, step, bound) in [(100u32, 0u32, 3u32, 30u32), (200, 5, 1, 5), (300, 0, 7, 6)] {
        let mut bytes = vec![0u8; 4];
        let mut j = from;
        loop {
            let at = base + j;
            if (base + 6..base + 10).contains(&at) {
                bytes[(at - base - 6) as usize] = 0xab;
            }
            j = j.wrapping_add(step);
            if j > bound {
                break;
            }
        }
        let want = j.wrapping_add(u32::from_le_bytes(bytes.try_into().unwrap()));
        let got = call(
            &mut s,
            i,
            "mark",
            &[i32s(base), i32s(from), i32s(step), i32s(bound)],
        );
        assert_eq!(got, i32s(want), "mark {base} {from} {step} {bound}");
    }
    // Either the comparison holds and the count climbs past the bound, or it stays put.
    for (from, a, b, bound) in [
        (0u32, 1u32, 5u32, 10u32),
        (20, 9, 5, 10),
        (u32::MAX - 1, 0, 1, 3),
    ] {
        let want = if a < b && from <= bound {
            bound + 1
        } else if a < b {
            from + 1
        } else {
            from
        };
        let got = call(
            &mut s,
            i,
            "count_by_lt",
            &[i32s(from), i32s(a), i32s(b), i32s(bound)],
        );
        assert_eq!(got, i32s(want), "count_by_lt {from} {a} {b} {bound}");
    }
    for (x, y, base) in [
        (0u32, 0u32, 0u32),
        (5, 3, 1),
        (0xff, 0x0f, 4),
        (7, 0, 0xffff_fff0),
    ] {
        let index = (x ^ y) & 3;
        let at = base.wrapping_add(index << 2);
        let got = s.invoke(i, "table", &[i32s(x), i32s(y), i32s(base)]);
        if at as u64 + 1 + 4 > 65536 {
            assert!(got.is_err(), "table {x} {y} {base}: out of bounds");
        } else {
            assert_eq!(
                got.unwrap()[0],
                i32s(mem(at + 1, 4) as u32),
                "table {x} {y} {base}"
            );
        }
    }
    for (x, k) in [
        (0u64, 1u64),
        (u64::MAX, 3),
        (0x1234_5678_9abc_def0, 0xff51_afd7_ed55_8ccd),
    ] {
        let want = (x ^ (x >> 33)).wrapping_mul(k);
        assert_eq!(call(&mut s, i, "mix", &[i64s(x), i64s(k)]), i64s(want));
    }
    for (x, n, from) in [(3u32, 5u32, 0u32), (u32::MAX, 2, u32::MAX - 1), (7, 1, 0)] {
        let (mut acc, mut c) = (0u32, from);
        loop {
            acc = acc.wrapping_add(x);
            c = c.wrapping_add(1);
            if c == n {
                break;
            }
        }
        assert_eq!(
            call(&mut s, i, "sum_to", &[i32s(x), i32s(n), i32s(from)]),
            i32s(acc),
            "sum_to {x} {n} {from}"
        );
    }
    for (a, b, c) in [(0u32, 0u32, 8u32), (1, 2, 5), (u32::MAX, 1, 0)] {
        let want = mem(a.wrapping_add(b), 8) ^ mem(c, 8);
        assert_eq!(
            call(&mut s, i, "two_loads", &[i32s(a), i32s(b), i32s(c)]),
            i64s(want)
        );
    }
    for (base, index, to) in [(0u32, 1u32, 1000u32), (2, 2, 2000), (u32::MAX - 3, 1, 3000)] {
        let at = base.wrapping_add(index << 2);
        let want = at.wrapping_add(mem(at, 4) as u32);
        assert_eq!(
            call(&mut s, i, "move_elem", &[i32s(base), i32s(index), i32s(to)]),
            i32s(want)
        );
    }
    for (a, b) in [(0u32, 0u32), (u32::MAX, 1), (12345, 0x8000_0001)] {
        let want = a.wrapping_mul(b.wrapping_sub(2)) ^ a.wrapping_add(5);
        assert_eq!(
            call(&mut s, i, "copy_steps", &[i32s(a), i32s(b)]),
            i32s(want),
            "copy_steps {a} {b}"
        );
    }
    for (a, b, c, d) in [
        (1.5f64, 2.0f64, 0.5f64, 3.0f64),
        (1e308, 10.0, 1.0, 1.0),
        (-0.0, 1.0, 0.0, 1.0),
    ] {
        let want = a * b - c * d;
        let got = call(&mut s, i, "cross", &[f64s(a), f64s(b), f64s(c), f64s(d)]);
        assert_eq!(got, f64s(want), "cross {a} {b} {c} {d}");
    }
    for (at, v, x, y) in [
        (2000u32, 5u32, 0u32, 7u32),
        (3000, 6, 1, 8),
        (4000, u32::MAX, 2, 7),
    ] {
        let (v2, y2) = if y != 7 { (v, y) } else { (99, y) };
        let want = v.wrapping_add(v2.wrapping_add(y2));
        let _ = x;
        assert_eq!(
            call(
                &mut s,
                i,
                "store_test",
                &[i32s(at), i32s(v), i32s(x), i32s(y)]
            ),
            i32s(want),
            "store_test {y}"
        );
    }
    for (a, base, index, d) in [(1u32, 0u32, 1u32, 0x11u32), (u32::MAX, 4, 0, 0x8000_0000)] {
        let at = base.wrapping_add(index << 3);
        let want = (a ^ mem(at, 4) as u32) ^ at.wrapping_add(d.rotate_left(8));
        assert_eq!(
            call(
                &mut s,
                i,
                "fetch",
                &[i32s(a), i32s(base), i32s(index), i32s(d)]
            ),
            i32s(want)
        );
    }
    for (to, from, k) in [(5000u32, 0u32, 1u32), (6000, 3, u32::MAX)] {
        let want = (mem(from, 4) as u32).wrapping_add(k);
        assert_eq!(
            call(&mut s, i, "bump", &[i32s(to), i32s(from), i32s(k)]),
            i32s(want)
        );
    }
    for (a, b) in [(0u32, 0u32), (3, 5), (13, 1)] {
        let (a1, b1) = (a + 1, b + 2);
        let want = ((mem(a1, 1) as u32) << 8) + (mem(b1 + 1, 1) as u32 + ((a1 + b1) << 16));
        assert_eq!(
            call(&mut s, i, "two_bytes", &[i32s(a), i32s(b)]),
            i32s(want),
            "two_bytes {a} {b}"
        );
    }
    for (a, at) in [(5u32, 0u32), (u32::MAX, 3), (0, 12)] {
        let want = (((mem(at, 4) as u32) & 0x7f) << 2).wrapping_add(a);
        assert_eq!(
            call(&mut s, i, "fetch_op", &[i32s(a), i32s(at)]),
            i32s(want),
            "fetch_op"
        );
    }
    for v in [0u32, 1, 2, 3, 4, 5, u32::MAX] {
        let at = 8000u32;
        let case = v.wrapping_sub(1).min(3);
        let want = at + 4 + 100 * (case + 1);
        assert_eq!(
            call(&mut s, i, "dispatch", &[i32s(at), i32s(v)]),
            i32s(want),
            "dispatch {v}"
        );
    }
    for (x, y) in [(0u32, 0u32), (1, 0xffff), (u32::MAX, 7), (0xa001, 1)] {
        let want = ((x ^ 0xa001) >> 1) ^ y;
        assert_eq!(
            call(&mut s, i, "crc_step", &[i32s(x), i32s(y)]),
            i32s(want),
            "crc_step {x}"
        );
    }
    for (at, x) in [(7000u32, 1.5f64), (7008, -0.25)] {
        assert_eq!(
            call(&mut s, i, "fadd_in_place", &[i32s(at), f64s(x)]),
            f64s(x),
            "fadd {at}"
        );
        assert_eq!(
            call(&mut s, i, "fadd_in_place", &[i32s(at), f64s(x)]),
            f64s(x + x),
            "fadd {at}"
        );
    }
    for (a, x, y) in [
        (0u32, 1.5f64, 2.0f64),
        (u32::MAX, -3.0, 0.5),
        (100, 1e200, 1e200),
    ] {
        let want = (x * x + y * y) + a.wrapping_add(8) as f64;
        assert_eq!(
            call(&mut s, i, "squares", &[i32s(a), f64s(x), f64s(y)]),
            f64s(want),
            "squares {a}"
        );
    }
    for (at, v, acc, k) in [
        (7100u32, 5u32, 1u32, 4u32),
        (7104, 5, u32::MAX, 9),
        (7108, 0, 0, 0),
    ] {
        let want = acc.wrapping_add((k < v) as u32).wrapping_add(v);
        let got = call(
            &mut s,
            i,
            "store_count",
            &[i32s(at), i32s(v), i32s(acc), i32s(k)],
        );
        assert_eq!(got, i32s(want), "store_count {v} {k}");
    }
    for (a, b, c, d) in [(1.5f64, 2.0f64, 0.5f64, 3.0f64), (1e300, 1e10, 0.0, 1.0)] {
        let got = call(
            &mut s,
            i,
            "cross_store",
            &[i32s(7200), f64s(a), f64s(b), f64s(c), f64s(d)],
        );
        assert_eq!(got, f64s(a * b - c * d), "cross_store {a}");
    }
    for (at, x) in [(0u32, 1.0f64), (u32::MAX - 7, -2.0)] {
        let want = x - f64::from_bits(mem(at.wrapping_add(8), 8));
        assert_eq!(
            call(&mut s, i, "next_sub", &[i32s(at), f64s(x)]),
            f64s(want),
            "next_sub {at}"
        );
    }
    for (at, x, y) in [(7300u32, 2.0f64, 3.0f64), (7308, -0.5, 1e-300)] {
        assert_eq!(
            call(&mut s, i, "muladd_in_place", &[i32s(at), f64s(x), f64s(y)]),
            f64s(x * y)
        );
        let twice = x * y + x * y;
        assert_eq!(
            call(&mut s, i, "muladd_in_place", &[i32s(at), f64s(x), f64s(y)]),
            f64s(twice)
        );
    }
    for (to, from, acc, a, b) in [(7400u32, 0u32, 1u32, 2u32, 3u32), (7410, 4, u32::MAX, 3, 2)] {
        let moved = mem(from, 4) as u32;
        let want = acc.wrapping_add((a < b) as u32).wrapping_add(moved);
        let args = [i32s(to), i32s(from), i32s(acc), i32s(a), i32s(b)];
        assert_eq!(
            call(&mut s, i, "move_count", &args),
            i32s(want),
            "move_count {from}"
        );
    }
    for (x, y) in [(0u64, 0u64), (u64::MAX, 1), (1 << 40, 77)] {
        let want = x.wrapping_mul(0x3779b9).wrapping_add(12345).wrapping_add(y);
        assert_eq!(call(&mut s, i, "mix_add", &[i64s(x), i64s(y)]), i64s(want));
    }
    for (a, b, c) in [
        (0x1234u32, 0x5678u32, 1u32),
        (0x1234, 0x5678, 2),
        (u32::MAX, 0, 3),
    ] {
        let v = if c & 1 != 0 { a } else { b };
        let want = (v >> 3) & 0xff;
        assert_eq!(
            call(&mut s, i, "pick_bits", &[i32s(a), i32s(b), i32s(c)]),
            i32s(want),
            "pick_bits {c}"
        );
    }
    for (from, to) in [(0u32, 5u32), (u32::MAX, 1), (9, 10)] {
        let (mut x, mut acc) = (from, 0u32);
        loop {
            acc = acc.wrapping_add(x);
            x = x.wrapping_add(1);
            if x == to {
                break;
            }
        }
        assert_eq!(
            call(&mut s, i, "reset_count", &[i32s(from), i32s(to)]),
            i32s(acc.wrapping_add(7)),
            "reset_count {from}"
        );
    }
    for (a, b) in [
        (0u32, 0u32),
        (7, 30),
        (u32::MAX, 1),
        (0x8000_0000, u32::MAX),
    ] {
        let got = call(&mut s, i, "mix_self", &[i32s(a)]);
        assert_eq!(got, i32s(mix(a, a)), "mix_self {a}");
        let got = call(&mut s, i, "mix_bumped", &[i32s(a), i32s(b)]);
        assert_eq!(got, i32s(mix(a.wrapping_add(5), b)), "mix_bumped {a} {b}");
    }
    for at in [0u32, 3, 12] {
        let got = call(&mut s, i, "mix_loaded", &[i32s(at), i32s(1)]);
        assert_eq!(got, i32s(mix(mem(at, 4) as u32, 1)), "mix_loaded {at}");
        // Entry 2 is null; a load out of bounds traps before the call.
        let err = s
            .invoke(i, "mix_loaded", &[i32s(at), i32s(2)])
            .expect_err("null entry");
        assert!(
            err.message().contains("uninitialized element"),
            "{}",
            err.message()
        );
    }
    let err = s
        .invoke(i, "mix_loaded", &[i32s(65534), i32s(1)])
        .expect_err("load out of bounds");
    assert!(
        err.message().contains("out of bounds memory access"),
        "{}",
        err.message()
    );
    for (a, b) in [
        (0u32, 0u64),
        (u32::MAX, 1),
        (0x8000_0000, u64::MAX),
        (5, 1 << 63),
    ] {
        let want = (a as i32 as i64 as u64).wrapping_add(b);
        let got = call(&mut s, i, "sum_ext", &[i32s(a), i64s(b)]);
        assert_eq!(got, i64s(want), "sum_ext {a} {b}");
    }
}
