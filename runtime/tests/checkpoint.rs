//! Checkpoint and restore in the raw store: a guest that recurses, writes memory, a mutable
//! global, a table and drops a segment, then asks for a checkpoint deep in the recursion
//! (`chiwawa.checkpoint`); restored into a fresh store, it goes on to exactly the result and the
//! host calls of the uninterrupted run. Damaged or crafted states are refused by restore.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use chiwawa_format::snapshot::{self, Snapshot};
use chiwawa_runtime::checkpoint;
use chiwawa_runtime::store::{Extern, Store};
use chiwawa_runtime::{CheckedImage, Trap, Val};

const GUEST: &str = r#"(module
  (import "chiwawa" "checkpoint" (func $checkpoint (result i32)))
  (import "env" "log" (func $log (param i64)))
  (memory 1 8)
  (table $t 4 funcref)
  (global $g (mut i64) (i64.const 7))
  (data $d "seed")
  (elem (i32.const 0) $sq $inc)
  (type $un (func (param i64) (result i64)))
  (func $sq (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
  (func $inc (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  ;; Recursion `n` deep: each level keeps locals live across the call; at the bottom the
  ;; checkpoint, then memory grows and the table changes, so state after it differs from before.
  (func $down (param $n i32) (param $acc i64) (result i64)
    (local $mine i64)
    (local.set $mine (i64.add (local.get $acc) (i64.extend_i32_u (local.get $n))))
    (if (i32.eqz (local.get $n))
      (then
        (call $log (i64.extend_i32_u (call $checkpoint)))
        (drop (memory.grow (i32.const 2)))
        (i64.store (i32.const 131072) (i64.const 99))
        (table.set $t (i32.const 2) (ref.func $sq))
        (return (local.get $mine))))
    (i64.add
      (i64.mul (local.get $mine) (i64.const 3))
      (call $down (i32.sub (local.get $n) (i32.const 1))
                  (call_indirect $t (type $un) (local.get $mine) (i32.and (local.get $n) (i32.const 1))))))
  (func (export "run") (result i64)
    (local $i i32) (local $sum i64)
    (memory.init $d (i32.const 100) (i32.const 0) (i32.const 4))
    (data.drop $d)
    (loop $l
      (i64.store (i32.mul (local.get $i) (i32.const 8)) (i64.extend_i32_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
    (global.set $g (i64.add (global.get $g) (i64.const 1000)))
    (local.set $sum (call $down (i32.const 12) (i64.const 5)))
    (call $log (local.get $sum))
    (local.set $i (i32.const 0))
    (loop $l2
      (local.set $sum (i64.add (local.get $sum) (i64.load (i32.mul (local.get $i) (i32.const 8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l2 (i32.lt_u (local.get $i) (i32.const 50))))
    (call $log (i64.load (i32.const 131072)))
    (call $log (i64.load32_u (i32.const 100)))
    (call $log (global.get $g))
    (call $log (call_indirect $t (type $un) (i64.const 9) (i32.const 2)))
    (i64.add (local.get $sum) (global.get $g))))"#;

fn image() -> CheckedImage {
    common::image(GUEST)
}

/// A store with the guest's imports (`env.log` appending to `log`, `chiwawa.checkpoint` asking).
fn instantiate(
    image: &CheckedImage,
    log: &Rc<RefCell<Vec<i64>>>,
    for_restore: bool,
) -> (Store, u32) {
    common::store_with_log(image, log, true, for_restore)
}

fn run_export(store: &mut Store, inst: u32) -> Result<Vec<Val>, Trap> {
    let Some(Extern::Func(run)) = store.export(inst, "run") else {
        panic!("no run")
    };
    store.invoke(run, &[])
}

/// The uninterrupted run with its checkpoint taken: result, log, and the snapshot's bytes.
fn original() -> (Vec<Val>, Vec<i64>, Vec<u8>) {
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, false);
    let taken = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&taken);
    checkpoint::set_sink(
        &mut store,
        Box::new(move |s: Snapshot| {
            sink.borrow_mut().push(snapshot::encode(&s));
            Ok(())
        }),
    );
    let result = run_export(&mut store, inst).expect("run");
    let mut taken = taken.borrow_mut();
    assert_eq!(taken.len(), 1, "one checkpoint");
    let log = log.borrow().clone();
    (result, log, taken.pop().unwrap())
}

/// Restores `bytes` into a fresh store and runs on: the result and the log after the restore.
fn restored(bytes: &[u8]) -> Result<(Vec<Val>, Vec<i64>), String> {
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, true);
    let snap = snapshot::decode(bytes).map_err(|e| e.to_string())?;
    let run = checkpoint::restore(&mut store, inst, &snap).map_err(|e| e.to_string())?;
    let slots = checkpoint::resume(&mut store, run).map_err(|e| e.to_string())?;
    let log = log.borrow().clone();
    Ok((vec![Val::I64(slots[0] as i64)], log))
}

#[test]
fn a_restored_run_ends_exactly_as_the_uninterrupted_one() {
    let (result, log, bytes) = original();
    // Taken 13 calls deep (run, then down from 12 to 0), before the memory grew.
    let snap = snapshot::decode(&bytes).unwrap();
    assert_eq!(snap.frames.len(), 14);
    assert_eq!(snap.memories[0].pages, 1);
    // Everything the run logs comes after the checkpoint, the checkpoint call's 0 first.
    assert_eq!(log.len(), 6);
    assert_eq!(log[0], 0);
    let (again, after) = restored(&bytes).expect("restore");
    assert_eq!(again, result);
    assert_eq!(after, log, "the host calls after the checkpoint");
    // A second restore of the same snapshot is the same run again; a second checkpoint of the
    // same run is the same bytes.
    assert_eq!(restored(&bytes).unwrap().0, result);
    assert_eq!(original().2, bytes, "deterministic snapshot bytes");
}

#[test]
fn without_a_sink_the_request_is_a_trap() {
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, false);
    let err = run_export(&mut store, inst).unwrap_err();
    assert_eq!(err.kind, chiwawa_runtime::TrapKind::Checkpoint);
}

/// `snap` changed by `edit`, encoded again (checksums right): restore must refuse it.
fn refused(snap: &Snapshot, edit: impl FnOnce(&mut Snapshot)) -> String {
    let mut bad = snap.clone();
    edit(&mut bad);
    match restored(&snapshot::encode(&bad)) {
        Err(e) => e,
        Ok(_) => panic!("accepted a crafted snapshot"),
    }
}

#[test]
fn crafted_states_are_refused_by_restore() {
    let (_, _, bytes) = original();
    let snap = snapshot::decode(&bytes).unwrap();
    let last = snap.frames.len() - 1;
    let mut messages = vec![
        refused(&snap, |s| s.image.checksum ^= 1),
        refused(&snap, |s| s.globals.pop().map(drop).unwrap()),
        refused(&snap, |s| s.memories[0].pages = 9),
        refused(&snap, |s| s.tables[0] = vec![snapshot::NULL_REF; 2]),
        refused(&snap, |s| s.tables[0][1] = 77),
        refused(&snap, |s| s.dropped_data.push(true)),
        refused(&snap, |s| s.frames[last].func = 0), // an import
        refused(&snap, |s| s.frames[last].func = 99),
        refused(&snap, |s| s.frames[last].pc += 1), // not after a call
        refused(&snap, |s| s.frames[last - 1].pc = 0), // a caller not after a call
        refused(&snap, |s| s.frames[last].base += 1), // not where the call put it
        refused(&snap, |s| s.stack.truncate(s.stack.len() - 1)),
    ];
    // An i32 or f32 global must hold a 32-bit value: none here is one, so a crafted i64 global
    // with any value is accepted as data; the module's only global is i64.
    messages.retain(|m| !m.is_empty());
    assert_eq!(messages.len(), 12, "{messages:#?}");
}

#[test]
fn random_edits_of_a_snapshot_never_crash_restore() {
    // Edits of every part of a decoded snapshot (as a crafted file with right checksums would
    // carry): restore must accept or refuse each, never panic, and what it accepts must run to
    // an end, a result or a trap (stack slots and globals are data any value may hold; the
    // guest's loops here are bounded whatever the values).
    let (_, _, good) = original();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut refused, mut restored_ok) = (0, 0);
    for _ in 0..2_000 {
        let mut snap = snapshot::decode(&good).unwrap();
        match next() % 6 {
            0 => {
                let i = (next() as usize) % snap.stack.len();
                snap.stack[i] = next();
            }
            1 => {
                let i = (next() as usize) % snap.frames.len();
                let f = &mut snap.frames[i];
                match next() % 3 {
                    0 => f.func = (next() % 8) as u32,
                    1 => f.pc = (next() % 64) as u32,
                    _ => f.base = (next() % 80) as u32,
                }
            }
            2 => {
                let i = (next() as usize) % snap.globals.len();
                snap.globals[i] = next();
            }
            3 => {
                let t = &mut snap.tables[0];
                let i = (next() as usize) % t.len();
                t[i] = (next() % 8) as u32;
            }
            4 => snap.memories[0].pages = (next() % 10) as u32,
            _ => {
                let n = snap.stack.len();
                snap.stack.truncate(n - (next() as usize) % n.min(8));
            }
        }
        let image = image();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (mut store, inst) = instantiate(&image, &log, true);
        match checkpoint::restore(&mut store, inst, &snap) {
            Ok(run) => {
                restored_ok += 1;
                // Every accepted state runs to an end: a result or a trap, never a crash.
                let _ = checkpoint::resume(&mut store, run);
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!("random edits: refused {refused}, restored and run {restored_ok}");
    assert!(
        refused > 300 && restored_ok > 300,
        "refused {refused}, restored {restored_ok}"
    );
}
