//! The instruction meter (`chiwawa_runtime::meter`): exact, deterministic counts; and
//! checkpoints at instruction counts, taken at every safe point of a guest with loops, deep
//! recursion, indirect calls, memory growth and host calls, each restored into a fresh store and
//! run to exactly the end of the uninterrupted run.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use chiwawa_format::snapshot::{self, Snapshot};
use chiwawa_runtime::meter::{self, Action, Meter};
use chiwawa_runtime::store::{Extern, Store};
use chiwawa_runtime::{checkpoint, CheckedImage, Trap, TrapKind};

const GUEST: &str = r#"(module
  (import "env" "log" (func $log (param i64)))
  (memory 1 8)
  (table $t 2 funcref)
  (global $g (mut i64) (i64.const 7))
  (elem (i32.const 0) $sq $inc)
  (type $un (func (param i64) (result i64)))
  (func $sq (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
  (func $inc (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  ;; A recursion `n` deep through an indirect call at each level.
  (func $down (param $n i32) (param $acc i64) (result i64)
    (if (result i64) (i32.eqz (local.get $n))
      (then (local.get $acc))
      (else
        (i64.add
          (i64.mul (local.get $acc) (i64.const 3))
          (call $down (i32.sub (local.get $n) (i32.const 1))
            (call_indirect $t (type $un) (local.get $acc)
              (i32.and (local.get $n) (i32.const 1))))))))
  ;; A tight loop summing memory, `n` times.
  (func $sum (param $n i32) (result i64)
    (local $i i32) (local $s i64)
    (loop $l
      (local.set $s (i64.add (local.get $s)
        (i64.load (i32.and (i32.mul (local.get $i) (i32.const 8)) (i32.const 0xfff8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  (func (export "run") (param $rounds i32) (result i64)
    (local $r i32) (local $acc i64)
    (loop $round
      (i64.store (i32.mul (local.get $r) (i32.const 8)) (local.get $acc))
      (local.set $acc (i64.add (local.get $acc) (call $down (i32.const 9) (i64.extend_i32_u (local.get $r)))))
      (local.set $acc (i64.xor (local.get $acc) (call $sum (i32.const 40))))
      (if (i32.eq (local.get $r) (i32.const 3))
        (then (drop (memory.grow (i32.const 1)))))
      (global.set $g (i64.add (global.get $g) (local.get $acc)))
      (call $log (local.get $acc))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (local.get $rounds))))
    (i64.add (local.get $acc) (global.get $g))))"#;

fn image() -> CheckedImage {
    common::image(GUEST)
}

/// A store with the guest's imports (`env.log` appending to `log`).
fn instantiate(
    image: &CheckedImage,
    log: &Rc<RefCell<Vec<i64>>>,
    for_restore: bool,
) -> (Store, u32) {
    common::store_with_log(image, log, false, for_restore)
}

fn run(store: &mut Store, inst: u32, rounds: i32) -> Result<u64, Trap> {
    let Some(Extern::Func(run)) = store.export(inst, "run") else {
        panic!("no run")
    };
    let results = store.invoke(run, &[chiwawa_runtime::Val::I32(rounds)])?;
    match results[..] {
        [chiwawa_runtime::Val::I64(v)] => Ok(v as u64),
        _ => panic!("one i64 result"),
    }
}

/// A meter that counts and never acts.
fn counter() -> Meter {
    Meter::new(0, u64::MAX, Box::new(|_| Action::Continue(u64::MAX)))
}

fn instructions(store: &Store) -> u64 {
    store.meter().expect("a meter").executed()
}

/// The run of `rounds` rounds, counted: result, log, instructions.
fn counted(rounds: i32) -> (u64, Vec<i64>, u64) {
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, false);
    meter::set_meter(&mut store, counter());
    let result = run(&mut store, inst, rounds).expect("run");
    let log = log.borrow().clone();
    (result, log, instructions(&store))
}

#[test]
fn counts_are_exact_and_deterministic() {
    let (result, log, n) = counted(6);
    // Not counted: the same result and host calls.
    let image = image();
    let plain_log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &plain_log, false);
    assert_eq!(run(&mut store, inst, 6).unwrap(), result);
    assert_eq!(*plain_log.borrow(), log);
    // The same run counts the same; each round past the fourth (the one that grows memory)
    // costs the same number of instructions, so the count grows by exactly that per round.
    assert_eq!(counted(6).2, n);
    let (c5, c6, c7, c8) = (counted(5).2, n, counted(7).2, counted(8).2);
    assert!(c6 > c5 && c5 > 100, "{c5} {c6}");
    assert_eq!(c7 - c6, c6 - c5);
    assert_eq!(c8 - c7, c6 - c5);
}

/// Runs `rounds` rounds with a checkpoint at `at` instructions: the snapshot's bytes and the
/// log up to it, or `None` if the run ended first (then with the uninterrupted result).
fn checkpoint_at(rounds: i32, at: u64) -> Option<(Vec<u8>, Vec<i64>)> {
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, false);
    let taken = Rc::new(RefCell::new(None));
    let sink = Rc::clone(&taken);
    checkpoint::set_sink(
        &mut store,
        Box::new(move |s: Snapshot| {
            *sink.borrow_mut() = Some(snapshot::encode(&s));
            Ok(())
        }),
    );
    let hook = move |_| Action::Checkpoint(None);
    meter::set_meter(&mut store, Meter::new(0, at, Box::new(hook)));
    match run(&mut store, inst, rounds) {
        Ok(_) => None,
        Err(t) => {
            assert_eq!(t.kind, TrapKind::Checkpoint);
            let bytes = taken.borrow_mut().take().expect("a snapshot");
            let log = log.borrow().clone();
            Some((bytes, log))
        }
    }
}

/// Restores `bytes` into a fresh, counting store and runs to the end: result, log after the
/// restore, instructions in all.
fn resume(bytes: &[u8]) -> (u64, Vec<i64>, u64) {
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, true);
    let snap = snapshot::decode(bytes).expect("decode");
    meter::set_meter(
        &mut store,
        Meter::new(
            snap.instructions,
            u64::MAX,
            Box::new(|_| Action::Continue(u64::MAX)),
        ),
    );
    let restored = checkpoint::restore(&mut store, inst, &snap).expect("restore");
    let slots = checkpoint::resume(&mut store, restored).expect("resume");
    let log = log.borrow().clone();
    (slots[0], log, instructions(&store))
}

#[test]
fn a_checkpoint_at_every_count_resumes_to_the_same_end() {
    let (result, log, total) = counted(6);
    let mut points = 0;
    let mut last_at = 0;
    for at in 1..=total {
        let Some((bytes, before)) = checkpoint_at(6, at) else {
            // Only past the last safe point does the run end before the count.
            assert!(at > total - 5, "the run ended before {at} of {total}");
            continue;
        };
        let snap = snapshot::decode(&bytes).unwrap();
        // At the first safe point from `at`: a little past it, never before.
        assert!(
            snap.instructions >= at && snap.instructions < at + 40,
            "{at}: {}",
            snap.instructions
        );
        assert!(snap.instructions >= last_at);
        last_at = snap.instructions;
        let (again, after, count) = resume(&bytes);
        assert_eq!(again, result, "checkpoint at {at}");
        let whole: Vec<i64> = before.iter().chain(&after).copied().collect();
        assert_eq!(whole, log, "checkpoint at {at}: the host calls");
        assert_eq!(count, total, "checkpoint at {at}: the count goes on");
        // The same count gives the same bytes.
        if at % 97 == 0 {
            assert_eq!(checkpoint_at(6, at).unwrap().0, bytes);
        }
        points += 1;
    }
    eprintln!("checkpoints at {points} of {total} counts, each resumed to the same end");
    assert!(points as u64 > total - 5, "{points} of {total}");
}

#[test]
fn checkpoints_that_go_on_leave_the_run_unchanged() {
    let (result, log, total) = counted(6);
    let image = image();
    let run_log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &run_log, false);
    let taken = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&taken);
    checkpoint::set_sink(
        &mut store,
        Box::new(move |s: Snapshot| {
            sink.borrow_mut().push(snapshot::encode(&s));
            Ok(())
        }),
    );
    let every = 50;
    let hook = move |n: u64| Action::Checkpoint(Some((n / every + 1) * every));
    meter::set_meter(&mut store, Meter::new(0, every, Box::new(hook)));
    assert_eq!(run(&mut store, inst, 6).unwrap(), result);
    assert_eq!(*run_log.borrow(), log);
    assert_eq!(instructions(&store), total);
    let taken = taken.borrow();
    assert!(
        taken.len() as u64 >= total / every - 2,
        "{} snapshots",
        taken.len()
    );
    // Each resumes to the same end.
    for bytes in taken.iter().step_by(7) {
        let (again, _, count) = resume(bytes);
        assert_eq!((again, count), (result, total));
    }
}

#[test]
fn a_hook_can_stop_the_run_at_a_count() {
    let (_, _, total) = counted(6);
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, false);
    let budget = total / 2;
    let hook = move |_| Action::Stop(Trap::new(TrapKind::Host("out of fuel".into())));
    meter::set_meter(&mut store, Meter::new(0, budget, Box::new(hook)));
    let err = run(&mut store, inst, 6).unwrap_err();
    assert_eq!(err.kind, TrapKind::Host("out of fuel".into()));
    let used = instructions(&store);
    assert!(
        used >= budget && used < budget + 40,
        "{used} for a budget of {budget}"
    );
    // Fewer rounds logged than the whole run's six.
    assert!(log.borrow().len() < 6);
}

#[test]
fn a_running_frame_must_resume_at_an_instruction() {
    let (_, _, total) = counted(6);
    let (bytes, _) = checkpoint_at(6, total / 3).unwrap();
    let snap = snapshot::decode(&bytes).unwrap();
    let last = snap.frames.len() - 1;
    let restore = |edit: &dyn Fn(&mut Snapshot)| {
        let mut bad = snap.clone();
        edit(&mut bad);
        let image = image();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (mut store, inst) = instantiate(&image, &log, true);
        checkpoint::restore(&mut store, inst, &bad).map(drop)
    };
    assert!(restore(&|_| ()).is_ok());
    // Inside an instruction, and past the end of the code: refused.
    let mut refused = 0;
    for pc in snap.frames[last].pc + 1..snap.frames[last].pc + 4 {
        if let Err(e) = restore(&|s| s.frames[last].pc = pc) {
            assert!(e.0.contains("instruction"), "{e}");
            refused += 1;
        }
    }
    assert!(refused >= 1);
    let e = restore(&|s| s.frames[last].pc = 1 << 20).unwrap_err();
    assert!(e.0.contains("instruction"), "{e}");
    // A caller must still resume just after a call.
    if last > 0 {
        let e = restore(&|s| s.frames[last - 1].pc = 0).unwrap_err();
        assert!(e.0.contains("after a call"), "{e}");
    }
}

#[test]
fn a_profile_counts_every_instruction_in_one_stack() {
    let (result, _, total) = counted(6);
    let image = image();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (mut store, inst) = instantiate(&image, &log, false);
    meter::set_meter(&mut store, counter());
    chiwawa_runtime::profile::set_profile(&mut store);
    assert_eq!(run(&mut store, inst, 6).unwrap(), result);
    let profile = store.profile().expect("a profile");
    assert_eq!(profile.total(), total);
    let folded = profile.folded(|f| store.func_name(f));
    let sum: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, total, "{folded}");
    // The recursion from 9 down to 0 (through call_indirect to $sq and $inc at each level) and the
    // loop's own function are stacks of their own.
    let deepest = folded
        .lines()
        .map(|l| l.matches(";down").count())
        .max()
        .unwrap();
    assert_eq!(deepest, 10, "{folded}");
    assert!(
        folded
            .lines()
            .any(|l| l.starts_with("run;") && l.contains(";sum ")),
        "{folded}"
    );
    assert!(
        folded.contains(";down;inc ") && folded.contains(";down;sq "),
        "{folded}"
    );
}
