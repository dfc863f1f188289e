//! The embedding API (`chiwawa_runtime::{Engine, Module, Store, Linker, ...}`) as an embedder
//! uses it: typed and untyped calls, host functions with user data, handles of other stores,
//! and errors with their kinds.

use chiwawa_runtime::{
    Caller, Config, Engine, Error, ErrorKind, ExternType, Func, FuncType, Limits, Linker, Module,
    Store, TrapKind, Val, ValType, VerifyMode,
};

fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lex");
    let mut module = wast::parser::parse::<wast::Wat>(&buf).expect("parse");
    module.encode().expect("encode")
}

fn module(engine: &Engine, text: &str) -> Module {
    let image = chiwawa_translator::translate(&wat(text), &Default::default()).expect("translate");
    Module::new(engine, &image).expect("load")
}

/// Counts host calls and keeps what the guest logged.
#[derive(Default)]
struct Log {
    calls: u32,
    lines: Vec<String>,
}

const GUEST: &str = r#"(module
    (import "env" "log" (func $log (param i32 i32)))
    (import "env" "add" (func $add (param i64 i64) (result i64)))
    (memory (export "memory") 1 4)
    (global $count (export "count") (mut i32) (i32.const 0))
    (global (export "limit") i64 (i64.const 100))
    (table (export "table") 2 funcref)
    (elem (i32.const 1) func $fib)
    (data (i32.const 16) "hello")
    (func (export "greet")
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (call $log (i32.const 16) (i32.const 5)))
    (func $fib (export "fib") (param i64) (result i64)
        (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
            (then (local.get 0))
            (else (call $add
                (call $fib (i64.sub (local.get 0) (i64.const 1)))
                (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
    (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "mix") (param i32 f32 i64 f64) (result f64 i32)
        (f64.add (f64.convert_i32_s (local.get 0))
                 (f64.add (f64.promote_f32 (local.get 1))
                          (f64.add (f64.convert_i64_s (local.get 2)) (local.get 3))))
        (i32.const 7)))
"#;

fn linker() -> Linker<Log> {
    let mut linker = Linker::new();
    linker
        .func_wrap(
            "env",
            "log",
            |mut caller: Caller<'_, Log>, ptr: i32, len: i32| -> Result<(), Error> {
                let memory = caller.memory().ok_or_else(|| Error::host("no memory"))?;
                let bytes = memory
                    .get(ptr as usize..(ptr as usize).saturating_add(len as usize))
                    .ok_or_else(|| Error::host("log: out of bounds"))?;
                let line = String::from_utf8_lossy(bytes).into_owned();
                caller.data_mut().lines.push(line);
                caller.data_mut().calls += 1;
                Ok(())
            },
        )
        .unwrap()
        .func_wrap(
            "env",
            "add",
            |mut caller: Caller<'_, Log>, a: i64, b: i64| {
                caller.data_mut().calls += 1;
                a + b
            },
        )
        .unwrap();
    linker
}

fn instance(engine: &Engine) -> (Store<Log>, chiwawa_runtime::Instance) {
    let module = module(engine, GUEST);
    let mut store = Store::new(engine, Log::default());
    let instance = linker()
        .instantiate(&mut store, &module)
        .expect("instantiate");
    (store, instance)
}

#[test]
fn typed_calls_host_functions_and_user_data() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine);
    let fib = instance
        .get_typed_func::<i64, i64, _>(&store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    // fib(20) makes 21891 calls; the 10945 with n >= 2 add through the host.
    assert_eq!(store.data().calls, 10945);

    let greet = instance
        .get_typed_func::<(), (), _>(&store, "greet")
        .unwrap();
    greet.call(&mut store, ()).unwrap();
    greet.call(&mut store, ()).unwrap();
    assert_eq!(store.data().lines, ["hello", "hello"]);
    let count = instance.get_global(&store, "count").unwrap();
    assert_eq!(count.get(&store).unwrap(), Val::I32(2));

    let mix = instance
        .get_typed_func::<(i32, f32, i64, f64), (f64, i32), _>(&store, "mix")
        .unwrap();
    assert_eq!(mix.call(&mut store, (1, 2.5, 3, 0.25)).unwrap(), (6.75, 7));
    let log = store.into_data();
    assert_eq!(log.lines.len(), 2);
}

#[test]
fn untyped_calls_check_their_arguments() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine);
    let div = instance.get_func(&store, "div").unwrap();
    assert_eq!(
        div.ty(&store).unwrap(),
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32])
    );
    let mut out = [Val::I32(0)];
    div.call(&mut store, &[Val::I32(-9), Val::I32(2)], &mut out)
        .unwrap();
    assert_eq!(out, [Val::I32(-4)]);

    let err = div
        .call(&mut store, &[Val::I32(1), Val::I64(2)], &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Type, "{err}");
    assert_eq!(
        err.to_string(),
        "a function of type (func (param i32 i32) (result i32)) called with (i32 i64) and 1 \
         result places"
    );
    let err = div
        .call(&mut store, &[Val::I32(1), Val::I32(2)], &mut [])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Type);
    // A function reference the store never handed out is refused, not called.
    let table = instance.get_table(&store, "table").unwrap();
    assert_eq!(table.size(&store).unwrap(), 2);
    assert_eq!(table.get(&store, 0).unwrap(), Some(Val::FuncRef(None)));
    assert!(matches!(
        table.get(&store, 1).unwrap(),
        Some(Val::FuncRef(Some(_)))
    ));
    assert_eq!(table.get(&store, 2).unwrap(), None);
    let global = instance.get_global(&store, "count").unwrap();
    let err = global
        .set(&mut store, Val::FuncRef(Some(1 << 30)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Type);
}

#[test]
fn typed_functions_of_the_wrong_signature_are_refused() {
    let engine = Engine::default();
    let (store, instance) = instance(&engine);
    let err = instance
        .get_typed_func::<i32, i64, _>(&store, "fib")
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Type);
    assert_eq!(
        err.to_string(),
        "the function has type (func (param i64) (result i64)), not (func (param i32) (result \
         i64))"
    );
    let err = instance.get_func(&store, "nothing").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), "no export named `nothing`");
    let err = instance.get_memory(&store, "fib").unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string()),
        (ErrorKind::NotFound, "export `fib` is not a memory".into())
    );
}

#[test]
fn traps_are_errors_with_their_kind() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine);
    let div = instance
        .get_typed_func::<(i32, i32), i32, _>(&store, "div")
        .unwrap();
    let err = div.call(&mut store, (1, 0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert_eq!(
        err.trap().map(|t| &t.kind),
        Some(&TrapKind::IntegerDivideByZero)
    );
    assert_eq!(err.exit_status(), None);
    assert!(
        err.to_string().starts_with("trap: integer divide by zero"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    // The store is usable after a trap.
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);

    // A host function's error stops the guest with its message.
    let module = module(
        &engine,
        r#"(module (import "env" "fail" (func $fail (param i32)))
            (func (export "run") (call $fail (i32.const 3))))"#,
    );
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new();
    linker
        .func_wrap(
            "env",
            "fail",
            |_: Caller<'_, ()>, n: i32| -> Result<(), Error> {
                Err(Error::host(format!("refused {n}")))
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<(), (), _>(&store, "run").unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert_eq!(
        err.trap().map(|t| &t.kind),
        Some(&TrapKind::Host("refused 3".into()))
    );
}

#[test]
fn handles_of_another_store_are_errors() {
    let engine = Engine::default();
    let (mut a, instance_a) = instance(&engine);
    let (mut b, _) = instance(&engine);
    let fib = instance_a.get_typed_func::<i64, i64, _>(&a, "fib").unwrap();
    let memory = instance_a.get_memory(&a, "memory").unwrap();
    let global = instance_a.get_global(&a, "count").unwrap();
    let table = instance_a.get_table(&a, "table").unwrap();
    let func = instance_a.get_func(&a, "div").unwrap();
    let wrong = |e: Error| {
        assert_eq!(e.kind(), ErrorKind::WrongStore, "{e}");
        e.to_string()
    };
    assert_eq!(
        wrong(fib.call(&mut b, 3).unwrap_err()),
        "the function belongs to another store"
    );
    wrong(
        func.call(&mut b, &[Val::I32(1), Val::I32(1)], &mut [Val::I32(0)])
            .unwrap_err(),
    );
    wrong(memory.data(&b).unwrap_err());
    wrong(memory.grow(&mut b, 1).unwrap_err());
    wrong(memory.write(&mut b, 0, b"x").unwrap_err());
    wrong(global.get(&b).unwrap_err());
    wrong(global.set(&mut b, Val::I32(1)).unwrap_err());
    wrong(table.get(&b, 0).unwrap_err());
    wrong(instance_a.get_func(&b, "fib").unwrap_err());
    assert!(instance_a.get_export(&b, "fib").is_none());

    // A linker definition from store `a` cannot satisfy an import in store `b`.
    let importer = module(
        &engine,
        r#"(module (import "a" "memory" (memory 1)) (func (export "f")))"#,
    );
    let mut linker = Linker::<Log>::new();
    linker.instance(&a, "a", instance_a).unwrap();
    wrong(linker.instantiate(&mut b, &importer).unwrap_err());
    // In store `a` it links, and shares the memory.
    linker.instantiate(&mut a, &importer).unwrap();
    assert_eq!(fib.call(&mut a, 10).unwrap(), 55);
}

#[test]
fn memories_and_globals_through_handles() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine);
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(memory.size(&store).unwrap(), 1);
    assert_eq!(
        memory.limits(&store).unwrap(),
        Limits {
            min: 1,
            max: Some(4)
        }
    );
    let mut buf = [0u8; 5];
    memory.read(&store, 16, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    memory.write(&mut store, 16, b"HELLO").unwrap();
    instance
        .get_typed_func::<(), (), _>(&store, "greet")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    assert_eq!(store.data().lines, ["HELLO"]);

    let err = memory.read(&store, 65534, &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert!(memory.write(&mut store, usize::MAX, b"x").is_err());
    assert_eq!(memory.grow(&mut store, 3).unwrap(), 1);
    assert_eq!(memory.data(&store).unwrap().len(), 4 * 65536);
    assert!(memory.grow(&mut store, 1).is_err(), "past the maximum");

    let limit = instance.get_global(&store, "limit").unwrap();
    assert_eq!(limit.get(&store).unwrap(), Val::I64(100));
    let err = limit.set(&mut store, Val::I64(1)).unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string()),
        (ErrorKind::Type, "the global is immutable".into())
    );
    let count = instance.get_global(&store, "count").unwrap();
    let err = count.set(&mut store, Val::I64(1)).unwrap_err();
    assert_eq!(err.to_string(), "a i64 value for a global of type i32");
    count.set(&mut store, Val::I32(41)).unwrap();
    assert_eq!(count.get(&store).unwrap(), Val::I32(41));
}

#[test]
fn modules_list_their_imports_and_exports() {
    let engine = Engine::default();
    let module = module(&engine, GUEST);
    let imports: Vec<String> = module
        .imports()
        .iter()
        .map(|i| format!("{}::{} {}", i.module, i.name, i.ty))
        .collect();
    assert_eq!(
        imports,
        [
            "env::log (func (param i32 i32))",
            "env::add (func (param i64 i64) (result i64))"
        ]
    );
    let exports: Vec<String> = module
        .exports()
        .iter()
        .map(|e| format!("{} {}", e.name, e.ty))
        .collect();
    assert_eq!(
        exports,
        [
            "memory (memory 1 4)",
            "count (global (mut i32))",
            "limit (global i64)",
            "table (table 2 funcref)",
            "greet (func)",
            "fib (func (param i64) (result i64))",
            "div (func (param i32 i32) (result i32))",
            "mix (func (param i32 f32 i64 f64) (result f64 i32))",
        ]
    );
    let (store, instance) = {
        let (s, i) = instance(&engine);
        (s, i)
    };
    let names: Vec<String> = instance
        .exports(&store)
        .unwrap()
        .into_iter()
        .map(|(name, item)| format!("{name} {}", item.ty(&store).unwrap()))
        .collect();
    assert_eq!(names, exports);
    assert!(matches!(
        module.exports()[0].ty,
        ExternType::Memory(Limits { min: 1, .. })
    ));
}

#[test]
fn link_errors_name_the_import() {
    let engine = Engine::default();
    let module = module(&engine, GUEST);
    let mut store = Store::new(&engine, Log::default());
    let err = Linker::new().instantiate(&mut store, &module).unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string()),
        (ErrorKind::Link, "unknown import: `env::log`".into())
    );
    let mut linker = Linker::new();
    linker
        .func_wrap("env", "log", |_: Caller<'_, Log>, _: i32| {})
        .unwrap();
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string()),
        (
            ErrorKind::Link,
            "incompatible import type for `env::log`".into()
        )
    );
    let err = linker
        .func_wrap("env", "log", |_: Caller<'_, Log>| {})
        .err()
        .unwrap();
    assert_eq!(
        (err.kind(), err.to_string()),
        (ErrorKind::Link, "`env::log` is defined twice".into())
    );
}

#[test]
fn dynamic_host_functions_and_their_result_types() {
    let engine = Engine::default();
    let module = module(
        &engine,
        r#"(module (import "env" "pair" (func $pair (param i32) (result i64 f64)))
            (func (export "run") (param i32) (result f64) (local $d f64)
                (call $pair (local.get 0)) (local.set $d)
                (f64.convert_i64_s) (local.get $d) (f64.add)))"#,
    );
    let ty = FuncType::new([ValType::I32], [ValType::I64, ValType::F64]);
    let mut linker = Linker::new();
    linker
        .func_new(
            "env",
            "pair",
            ty,
            |caller: Caller<'_, bool>, args, results| {
                let Val::I32(n) = args[0] else {
                    unreachable!("typed by the linker")
                };
                results[0] = Val::I64(n as i64 * 2);
                results[1] = if *caller.data() {
                    Val::I32(0) // the wrong type, on purpose
                } else {
                    Val::F64(0.5f64.to_bits())
                };
                Ok(())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, false);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, f64, _>(&store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 20).unwrap(), 40.5);
    *store.data_mut() = true;
    let err = run.call(&mut store, 20).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trap);
    assert!(
        err.to_string()
            .contains("returned a i32 value for a f64 result"),
        "{err}"
    );
}

#[test]
fn host_functions_made_in_a_store() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 10i64);
    let add = Func::wrap(&mut store, |caller: Caller<'_, i64>, x: i64| {
        x + *caller.data()
    });
    let mut out = [Val::I64(0)];
    add.call(&mut store, &[Val::I64(5)], &mut out).unwrap();
    assert_eq!(out, [Val::I64(15)]);
    let typed = add.typed::<i64, i64, _>(&store).unwrap();
    *store.data_mut() = 100;
    assert_eq!(typed.call(&mut store, 1).unwrap(), 101);
    // ... and imported by a module.
    let module = module(
        &engine,
        r#"(module (import "m" "add" (func $add (param i64) (result i64)))
            (func (export "twice") (param i64) (result i64)
                (call $add (call $add (local.get 0)))))"#,
    );
    let mut linker = Linker::new();
    linker
        .define("m", "add", chiwawa_runtime::Extern::Func(add))
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let twice = instance
        .get_typed_func::<i64, i64, _>(&store, "twice")
        .unwrap();
    assert_eq!(twice.call(&mut store, 1).unwrap(), 201);
}

#[test]
fn bad_images_are_load_errors_and_settings_apply() {
    let engine = Engine::default();
    let err = Module::new(&engine, b"not an image").err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Load);
    let err = Module::from_file(&engine, "/nonexistent/app.cwi")
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string().starts_with("/nonexistent/app.cwi: "),
        "{err}"
    );

    // A small value stack: deep recursion is "call stack exhausted", the store stays usable.
    let mut config = Config::new();
    config.verify(VerifyMode::Eager).max_stack_bytes(64 * 1024);
    let engine = Engine::new(&config);
    let module = module(
        &engine,
        r#"(module (func $down (export "down") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#,
    );
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let down = instance
        .get_typed_func::<i32, i32, _>(&store, "down")
        .unwrap();
    assert_eq!(down.call(&mut store, 100).unwrap(), 100);
    let err = down.call(&mut store, 1_000_000).unwrap_err();
    assert_eq!(
        err.trap().map(|t| &t.kind),
        Some(&TrapKind::CallStackExhausted)
    );
    assert_eq!(down.call(&mut store, 10).unwrap(), 10);
}
