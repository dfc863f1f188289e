//! Embedders' hooks (`chiwawa_runtime::hooks`): every guest activation entered and exited in
//! order, with instruction counts that add up to the meter's; host calls with what WASI says
//! about them; none of it when no hooks are set.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use chiwawa_runtime::hooks::{self, Hooks};
use chiwawa_runtime::wasi::{self, WasiCtx};
use chiwawa_runtime::{meter, Engine, HostNote, Linker, Module, Store};

/// `_start` calls `$a` twice; `$a` calls `$b` and writes "hi\n" to stdout once; `$b` recurses
/// once into itself.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (global $once (mut i32) (i32.const 0))
  (func $b (param $n i32)
    (if (local.get $n) (then (call $b (i32.sub (local.get $n) (i32.const 1))))))
  (func $a
    (call $b (i32.const 1))
    (if (i32.eqz (global.get $once))
      (then
        (global.set $once (i32.const 1))
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))))
  (func $_start (export "_start") (call $a) (call $a)))"#;

/// What the hooks saw, one line per event.
#[derive(Default)]
struct Seen {
    events: Vec<String>,
    /// (func, instructions at enter) of the open activations.
    open: Vec<(u32, u64)>,
    /// Instructions between enter and exit of each activation, by function, summed.
    inclusive: std::collections::BTreeMap<u32, u64>,
    notes: bool,
}

struct Recorder(Rc<RefCell<Seen>>);

impl Hooks for Recorder {
    fn enter(&mut self, func: u32, instructions: u64) {
        let mut seen = self.0.borrow_mut();
        seen.events.push(format!("enter {func}"));
        seen.open.push((func, instructions));
    }

    fn exit(&mut self, func: u32, instructions: u64) {
        let mut seen = self.0.borrow_mut();
        seen.events.push(format!("exit {func}"));
        let (open, at) = seen.open.pop().expect("an exit has its enter");
        assert_eq!(open, func, "exits in the reverse order of enters");
        *seen.inclusive.entry(func).or_default() += instructions - at;
    }

    fn host_call(&mut self, func: u32, _: u64, note: Option<&HostNote>) {
        let text = note.map_or("no note".to_string(), |n| {
            format!("{} = {:?}: {}", n.name, n.errno, n.call)
        });
        self.0
            .borrow_mut()
            .events
            .push(format!("host {func} {text}"));
    }

    fn wants_notes(&self) -> bool {
        self.0.borrow().notes
    }
}

/// Runs `GUEST`'s `_start` with WASI and `hooks`; returns the store and the meter's count.
fn run_hooked(hooks: Box<dyn Hooks>) -> (Store<()>, u64) {
    let bytes =
        chiwawa_translator::translate(&common::wat(GUEST), &Default::default()).expect("translate");
    let engine = Engine::default();
    let module = Module::new(&engine, &bytes).expect("module");
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new();
    let ctx = Rc::new(RefCell::new(WasiCtx::new(vec!["guest".into()])));
    wasi::add_to_linker(&mut linker, &ctx);
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    hooks::set_store_hooks(&mut store, hooks);
    let start = instance
        .get_typed_func::<(), (), ()>(&store, "_start")
        .expect("_start");
    start.call(&mut store, ()).expect("runs");
    let total = meter::store_instructions(&store).expect("a meter");
    (store, total)
}

/// Runs `GUEST` with hooks (asking for notes or not); returns what they saw, with function
/// names for addresses, the inclusive counts by name and the meter's count.
fn run(notes: bool) -> (Vec<String>, std::collections::BTreeMap<String, u64>, u64) {
    let seen = Rc::new(RefCell::new(Seen {
        notes,
        ..Seen::default()
    }));
    let (mut store, total) = run_hooked(Box::new(Recorder(Rc::clone(&seen))));
    assert!(hooks::take_store_hooks(&mut store).is_some());
    let seen = Rc::try_unwrap(seen).ok().expect("hooks taken").into_inner();
    let name = |f: u32| hooks::store_func_name(&store, f);
    let events = seen
        .events
        .iter()
        .map(|e| {
            let (kind, rest) = e.split_once(' ').unwrap();
            let (func, more) = rest.split_once(' ').unwrap_or((rest, ""));
            let func = name(func.parse().unwrap());
            format!(
                "{kind} {func}{}{more}",
                if more.is_empty() { "" } else { " " }
            )
        })
        .collect();
    let inclusive = seen.inclusive.iter().map(|(&f, &n)| (name(f), n)).collect();
    (events, inclusive, total)
}

#[test]
fn hooks_see_every_activation_in_order_with_counts_that_add_up() {
    let (events, inclusive, total) = run(true);
    let mut want: Vec<String> = vec!["enter _start".into()];
    for first in [true, false] {
        want.extend(["enter a", "enter b", "enter b", "exit b", "exit b"].map(String::from));
        if first {
            want.push(
                "host fd_write fd_write = Some(0): fd_write(1, \"hi\\n\", 1 iovecs, 8) = 0 (3 bytes)"
                    .into(),
            );
        }
        want.push("exit a".into());
    }
    want.push("exit _start".into());
    assert_eq!(events, want);
    // `_start` spans the whole run: its enter-to-exit count is the meter's.
    assert_eq!(inclusive["_start"], total);
    assert!(inclusive["a"] < total && inclusive["b"] < inclusive["a"]);
}

#[test]
fn host_calls_are_not_described_unless_asked() {
    let (events, _, _) = run(false);
    let hosts: Vec<&String> = events.iter().filter(|e| e.starts_with("host")).collect();
    assert_eq!(hosts.len(), 1);
    assert!(hosts[0].ends_with("no note"), "{hosts:?}");
}

/// With the `step-hooks` feature: a callback before every instruction, as many as the meter
/// counts, each in the function the enter and exit callbacks say is running.
#[cfg(feature = "step-hooks")]
#[test]
fn instruction_hooks_see_every_executed_instruction() {
    #[derive(Default)]
    struct Steps {
        stack: Vec<u32>,
        count: u64,
        ops: std::collections::BTreeMap<&'static str, u64>,
        elsewhere: u64,
    }
    struct Stepper(Rc<RefCell<Steps>>);
    impl Hooks for Stepper {
        fn enter(&mut self, func: u32, _: u64) {
            self.0.borrow_mut().stack.push(func);
        }
        fn exit(&mut self, _: u32, _: u64) {
            self.0.borrow_mut().stack.pop();
        }
        fn instruction(&mut self, func: u32, _: u32, op: &'static str) {
            let mut s = self.0.borrow_mut();
            s.count += 1;
            *s.ops.entry(op).or_default() += 1;
            // Every instruction runs in the function on top of the hooks' stack.
            if s.stack.last() != Some(&func) {
                s.elsewhere += 1;
            }
        }
        fn wants_instructions(&self) -> bool {
            true
        }
    }
    let steps = Rc::new(RefCell::new(Steps::default()));
    let (_, total) = run_hooked(Box::new(Stepper(Rc::clone(&steps))));
    let steps = steps.borrow();
    assert_eq!(steps.count, total);
    assert_eq!(steps.elsewhere, 0);
    assert!(
        steps.ops.keys().any(|op| op.starts_with("call")),
        "{:?}",
        steps.ops
    );
}
