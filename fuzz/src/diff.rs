//! The differential oracle: a module in the translator's feature set is run in chiwawa and in
//! wasmi, each export called in order with the same arguments, then exported globals, memories
//! and tables compared. wasmi is fast in process but has wrong-result bugs of its own, so a
//! divergence is decided by wasmtime: chiwawa == wasmtime is a wasmi bug
//! ([`Class::ReferenceBug`]), anything else a chiwawa bug ([`Class::Divergence`]).
//!
//! Results compare NaN-canonically (any NaN equals any NaN); traps compare by category; a
//! reference compares by being null or not.

use std::cell::RefCell;

use chiwawa_runtime::store::{Extern, Store};
use chiwawa_runtime::{load_image, InstantiateError, TrapKind, Val, VerifyMode};
use chiwawa_translator::TranslateError;
use wasmparser::{ExternalKind, Parser, Payload, Validator};

use crate::rng::Rng;
use crate::{catch, Class, Outcome};

/// A value as compared: floats by bits with every NaN made one, references by nullness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    Ref { null: bool },
}

fn f32v(bits: u32) -> V {
    V::F32(if f32::from_bits(bits).is_nan() {
        0x7fc0_0000
    } else {
        bits
    })
}

fn f64v(bits: u64) -> V {
    V::F64(if f64::from_bits(bits).is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        bits
    })
}

/// Trap categories that every engine can name (engines disagree on finer kinds, e.g. a
/// `call_indirect` past the table end or onto null).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapCat {
    Unreachable,
    DivideByZero,
    IntegerOverflow,
    BadConversion,
    MemoryOutOfBounds,
    Table,
    Signature,
    StackExhausted,
    Other,
}

/// Sorts an engine's trap message (or `Debug` of its trap code) into a category.
fn categorize(text: &str) -> TrapCat {
    let t = text.to_ascii_lowercase().replace(['_', ' '], "");
    if t.contains("unreachable") {
        TrapCat::Unreachable
    } else if t.contains("dividebyzero") || t.contains("divisionbyzero") {
        TrapCat::DivideByZero
    } else if t.contains("conversion") {
        TrapCat::BadConversion
    } else if t.contains("overflow") && !t.contains("stack") {
        TrapCat::IntegerOverflow
    } else if t.contains("memory")
        && (t.contains("bounds") || t.contains("outof"))
        && !t.contains("outofmemory")
    {
        TrapCat::MemoryOutOfBounds
    } else if t.contains("table")
        || t.contains("null")
        || t.contains("uninitialized")
        || t.contains("undefinedelement")
    {
        TrapCat::Table
    } else if t.contains("signature") || t.contains("typemismatch") {
        TrapCat::Signature
    } else if t.contains("stack") {
        TrapCat::StackExhausted
    } else {
        TrapCat::Other
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Instantiate(Result<(), TrapCat>),
    Call(String, Result<Vec<V>, TrapCat>),
    Global(String, V),
    Memory { name: String, len: usize, hash: u64 },
    Table { name: String, len: u64, nulls: u64 },
}

/// The parameter types the plan gives arguments for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum T {
    I32,
    I64,
    F32,
    F64,
    Ref,
}

/// The arguments of call number `k`: the same in every engine.
fn args(seed: u64, k: usize, params: &[T]) -> Vec<V> {
    let mut rng = Rng::new(Rng::derive(seed, k as u64));
    let zeros = rng.chance(1, 4);
    params
        .iter()
        .map(|t| match t {
            T::I32 => V::I32(if zeros {
                0
            } else {
                rng.interesting_u32() as i32
            }),
            T::I64 => V::I64(if zeros {
                0
            } else {
                match rng.below(4) {
                    0 => rng.interesting_u32() as i32 as i64,
                    1 => i64::MIN,
                    _ => rng.next_u64() as i64 >> rng.below(64),
                }
            }),
            T::F32 => V::F32(if zeros {
                0
            } else {
                {
                    let any = rng.next_u32();
                    *rng.pick(&[
                        0,
                        0x8000_0000,
                        0x3fc0_0000,
                        0x7f80_0000,
                        0xcf00_0000,
                        0x4f80_0000,
                        any,
                    ])
                }
            }),
            T::F64 => V::F64(if zeros {
                0
            } else {
                {
                    let any = rng.next_u64();
                    *rng.pick(&[
                        0,
                        1 << 63,
                        0x3ff8_0000_0000_0000,
                        0x7ff0_0000_0000_0000,
                        0xc3e0_0000_0000_0000,
                        any,
                    ])
                }
            }),
            T::Ref => V::Ref { null: true },
        })
        .collect()
}

/// The module's exports in order.
fn exports(wasm: &[u8]) -> Vec<(String, ExternalKind)> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm).flatten() {
        if let Payload::ExportSection(reader) = payload {
            for e in reader.into_iter().flatten() {
                out.push((e.name.to_string(), e.kind));
            }
        }
    }
    out
}

/// Runs the differential oracle on `wasm`; `seed` chooses the arguments.
pub fn run(wasm: &[u8], seed: u64) -> Outcome {
    if let Err(e) =
        Validator::new_with_features(chiwawa_translator::wasm_features()).validate_all(wasm)
    {
        return Outcome::new(
            Class::Skipped,
            format!("outside the supported feature set: {e}"),
        );
    }
    let plan = exports(wasm);
    let chi = match catch(|| run_chiwawa(wasm, &plan, seed)) {
        Err(panic) => return Outcome::new(Class::Panic, panic),
        Ok(Err(outcome)) => return outcome,
        Ok(Ok(events)) => events,
    };
    let wasmi = catch(|| run_wasmi(wasm, &plan, seed)).and_then(|r| r);
    if wasmi.as_ref() == Ok(&chi) {
        let calls = chi.iter().filter(|e| matches!(e, Event::Call(..))).count();
        let traps = chi
            .iter()
            .filter(|e| matches!(e, Event::Call(_, Err(_)) | Event::Instantiate(Err(_))))
            .count();
        return Outcome::new(
            Class::Agreed,
            format!("{} events, {calls} calls, {traps} traps", chi.len()),
        );
    }
    let wasmi_text = match &wasmi {
        Ok(events) => first_difference("chiwawa", &chi, "wasmi", events),
        Err(e) => format!("wasmi failed: {e}"),
    };
    match catch(|| run_wasmtime(wasm, &plan, seed)).and_then(|r| r) {
        Ok(wt) if wt == chi => Outcome::new(
            Class::ReferenceBug,
            format!("wasmtime agrees with chiwawa; {wasmi_text}"),
        ),
        Ok(wt) => Outcome::new(
            Class::Divergence,
            format!(
                "{}\n(wasmi: {})",
                first_difference("chiwawa", &chi, "wasmtime", &wt),
                if wasmi.as_ref() == Ok(&wt) {
                    "agrees with wasmtime".to_string()
                } else {
                    wasmi_text
                }
            ),
        ),
        // Undecided: a divergence nobody confirmed is reported, not dropped.
        Err(e) => Outcome::new(
            Class::Divergence,
            format!("undecided, wasmtime failed: {e}; {wasmi_text}"),
        ),
    }
}

/// The engines of the differential oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Chiwawa,
    Wasmi,
    Wasmtime,
}

/// What `engine` observes running `wasm` (the oracle's plan: instantiate, call each exported
/// function with the arguments of `seed`, read exported state).
pub fn events(engine: Engine, wasm: &[u8], seed: u64) -> Result<Vec<Event>, String> {
    let plan = exports(wasm);
    match engine {
        Engine::Chiwawa => {
            run_chiwawa(wasm, &plan, seed).map_err(|o| format!("{}: {}", o.class, o.detail))
        }
        Engine::Wasmi => run_wasmi(wasm, &plan, seed),
        Engine::Wasmtime => run_wasmtime(wasm, &plan, seed),
    }
}

fn first_difference(a_name: &str, a: &[Event], b_name: &str, b: &[Event]) -> String {
    for i in 0..a.len().max(b.len()) {
        if a.get(i) != b.get(i) {
            return format!(
                "event {i}: {a_name} {:?} / {b_name} {:?}",
                a.get(i),
                b.get(i)
            );
        }
    }
    "no difference".into()
}

fn chiwawa_trap(kind: &TrapKind) -> TrapCat {
    match kind {
        TrapKind::Unreachable => TrapCat::Unreachable,
        TrapKind::IntegerDivideByZero => TrapCat::DivideByZero,
        TrapKind::IntegerOverflow => TrapCat::IntegerOverflow,
        TrapKind::InvalidConversion => TrapCat::BadConversion,
        TrapKind::MemoryOutOfBounds => TrapCat::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds | TrapKind::UninitializedElement => TrapCat::Table,
        TrapKind::IndirectCallTypeMismatch => TrapCat::Signature,
        TrapKind::CallStackExhausted => TrapCat::StackExhausted,
        _ => TrapCat::Other,
    }
}

fn run_chiwawa(
    wasm: &[u8],
    plan: &[(String, ExternalKind)],
    seed: u64,
) -> Result<Vec<Event>, Outcome> {
    let image = match chiwawa_translator::translate(wasm, &Default::default()) {
        Ok(image) => image,
        Err(e @ TranslateError::Invalid(_)) => {
            return Err(Outcome::new(
                Class::Rejected,
                format!("a valid module: {e}"),
            ))
        }
        Err(e) => return Err(Outcome::new(Class::Skipped, e.to_string())),
    };
    let checked = load_image(&image, VerifyMode::Eager).map_err(|e| {
        Outcome::new(
            Class::Rejected,
            format!("the translated image is refused: {e}"),
        )
    })?;
    let mut store = Store::new();
    let mut events = Vec::new();
    let inst = match store.instantiate(&checked, &mut |_, _, _| None) {
        Ok(inst) => inst,
        Err(InstantiateError::Trap(t)) => {
            events.push(Event::Instantiate(Err(chiwawa_trap(&t.kind))));
            return Ok(events);
        }
        Err(InstantiateError::Link(e)) => {
            return Err(Outcome::new(Class::Skipped, format!("link: {e}")))
        }
    };
    events.push(Event::Instantiate(Ok(())));
    for (k, (name, kind)) in plan.iter().enumerate() {
        if *kind != ExternalKind::Func {
            continue;
        }
        let Some(Extern::Func(f)) = store.export(inst, name) else {
            continue;
        };
        let ty = store.func_type(f).clone();
        let params: Vec<T> = ty.params.iter().map(|&t| chi_t(t)).collect();
        let vals: Vec<Val> = args(seed, k, &params)
            .into_iter()
            .zip(&ty.params)
            .map(|(v, &t)| to_chi(v, t))
            .collect();
        let result = store
            .invoke(f, &vals)
            .map(|r| r.into_iter().map(from_chi).collect())
            .map_err(|t| chiwawa_trap(&t.kind));
        events.push(Event::Call(name.clone(), result));
    }
    for (name, _) in plan {
        match store.export(inst, name) {
            Some(Extern::Global(g)) => {
                events.push(Event::Global(name.clone(), from_chi(store.global_value(g))))
            }
            Some(Extern::Memory(a)) => {
                let bytes = store.memory(a).expect("an exported memory").bytes();
                events.push(Event::Memory {
                    name: name.clone(),
                    len: bytes.len(),
                    hash: xxhash_rust::xxh3::xxh3_64(bytes),
                });
            }
            Some(Extern::Table(a)) => {
                let elems = store.table(a).expect("an exported table").elems();
                events.push(Event::Table {
                    name: name.clone(),
                    len: elems.len() as u64,
                    nulls: nulls(elems.iter().map(|&e| e == 0)),
                });
            }
            _ => {}
        }
    }
    Ok(events)
}

/// A hash of which entries of a table are null.
fn nulls(entries: impl Iterator<Item = bool>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for null in entries {
        h = (h ^ null as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn chi_t(t: u8) -> T {
    use chiwawa_format::valtype;
    match t {
        valtype::I32 => T::I32,
        valtype::I64 => T::I64,
        valtype::F32 => T::F32,
        valtype::F64 => T::F64,
        _ => T::Ref,
    }
}

fn to_chi(v: V, t: u8) -> Val {
    match v {
        V::I32(x) => Val::I32(x),
        V::I64(x) => Val::I64(x),
        V::F32(x) => Val::F32(x),
        V::F64(x) => Val::F64(x),
        // Only null references are passed in, of the parameter's type.
        V::Ref { .. } if t == chiwawa_format::valtype::FUNCREF => Val::FuncRef(None),
        V::Ref { .. } => Val::ExternRef(None),
    }
}

fn from_chi(v: Val) -> V {
    match v {
        Val::I32(x) => V::I32(x),
        Val::I64(x) => V::I64(x),
        Val::F32(x) => f32v(x),
        Val::F64(x) => f64v(x),
        Val::FuncRef(r) | Val::ExternRef(r) => V::Ref { null: r.is_none() },
    }
}

thread_local! {
    static WASMI: RefCell<Option<wasmi::Engine>> = const { RefCell::new(None) };
    static WASMTIME: RefCell<Option<wasmtime::Engine>> = const { RefCell::new(None) };
}

fn wasmi_engine() -> wasmi::Engine {
    WASMI.with(|e| {
        e.borrow_mut()
            .get_or_insert_with(|| {
                let mut config = wasmi::Config::default();
                config
                    .consume_fuel(true)
                    .wasm_tail_call(true)
                    .wasm_extended_const(true)
                    .set_max_recursion_depth(100_000)
                    .set_max_stack_height(64 << 20);
                wasmi::Engine::new(&config)
            })
            .clone()
    })
}

fn wasmi_t(t: &wasmi::ValType) -> T {
    match t {
        wasmi::ValType::I32 => T::I32,
        wasmi::ValType::I64 => T::I64,
        wasmi::ValType::F32 => T::F32,
        wasmi::ValType::F64 => T::F64,
        _ => T::Ref,
    }
}

fn from_wasmi(v: &wasmi::Val) -> V {
    match v {
        wasmi::Val::I32(x) => V::I32(*x),
        wasmi::Val::I64(x) => V::I64(*x),
        wasmi::Val::F32(x) => f32v(x.to_bits()),
        wasmi::Val::F64(x) => f64v(x.to_bits()),
        wasmi::Val::FuncRef(r) => V::Ref { null: r.is_null() },
        wasmi::Val::ExternRef(r) => V::Ref { null: r.is_null() },
        _ => V::Ref { null: false },
    }
}

fn wasmi_trap(e: &wasmi::Error) -> TrapCat {
    match e.as_trap_code() {
        Some(code) => categorize(&format!("{code:?}")),
        None => categorize(&e.to_string()),
    }
}

fn run_wasmi(
    wasm: &[u8],
    plan: &[(String, ExternalKind)],
    seed: u64,
) -> Result<Vec<Event>, String> {
    let engine = wasmi_engine();
    let module = wasmi::Module::new(&engine, wasm).map_err(|e| format!("compile: {e}"))?;
    let mut store = wasmi::Store::new(&engine, ());
    store.set_fuel(1 << 40).map_err(|e| e.to_string())?;
    let linker = wasmi::Linker::<()>::new(&engine);
    let mut events = Vec::new();
    let instance = match linker.instantiate_and_start(&mut store, &module) {
        Ok(i) => i,
        Err(e) => {
            events.push(Event::Instantiate(Err(wasmi_trap(&e))));
            return Ok(events);
        }
    };
    events.push(Event::Instantiate(Ok(())));
    for (k, (name, kind)) in plan.iter().enumerate() {
        if *kind != ExternalKind::Func {
            continue;
        }
        let Some(func) = instance.get_func(&store, name) else {
            continue;
        };
        let ty = func.ty(&store);
        let params: Vec<T> = ty.params().iter().map(wasmi_t).collect();
        let vals: Vec<wasmi::Val> = args(seed, k, &params)
            .into_iter()
            .zip(ty.params())
            .map(|(v, t)| match v {
                V::I32(x) => wasmi::Val::I32(x),
                V::I64(x) => wasmi::Val::I64(x),
                V::F32(x) => wasmi::Val::F32(wasmi::F32::from_bits(x)),
                V::F64(x) => wasmi::Val::F64(wasmi::F64::from_bits(x)),
                V::Ref { .. } => wasmi::Val::default_for_ty(*t),
            })
            .collect();
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        let result = match func.call(&mut store, &vals, &mut results) {
            Ok(()) => Ok(results.iter().map(from_wasmi).collect()),
            Err(e) => Err(wasmi_trap(&e)),
        };
        events.push(Event::Call(name.clone(), result));
    }
    for (name, kind) in plan {
        match kind {
            ExternalKind::Global => {
                if let Some(g) = instance.get_global(&store, name) {
                    events.push(Event::Global(name.clone(), from_wasmi(&g.get(&store))));
                }
            }
            ExternalKind::Memory => {
                if let Some(m) = instance.get_memory(&store, name) {
                    let bytes = m.data(&store);
                    events.push(Event::Memory {
                        name: name.clone(),
                        len: bytes.len(),
                        hash: xxhash_rust::xxh3::xxh3_64(bytes),
                    });
                }
            }
            ExternalKind::Table => {
                if let Some(t) = instance.get_table(&store, name) {
                    let len = t.size(&store);
                    let entries = (0..len).map(|i| t.get(&store, i).is_none_or(|r| r.is_null()));
                    events.push(Event::Table {
                        name: name.clone(),
                        len,
                        nulls: nulls(entries),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(events)
}

fn wasmtime_engine() -> Result<wasmtime::Engine, String> {
    WASMTIME.with(|e| {
        let mut e = e.borrow_mut();
        if e.is_none() {
            let mut config = wasmtime::Config::new();
            config
                .consume_fuel(true)
                .wasm_tail_call(true)
                .wasm_extended_const(true)
                .cranelift_nan_canonicalization(true)
                .max_wasm_stack(4 << 20)
                // Not used (no async), but wasmtime checks that the stack fits it.
                .async_stack_size(8 << 20);
            *e = Some(wasmtime::Engine::new(&config).map_err(|e| e.to_string())?);
        }
        Ok(e.clone().expect("set above"))
    })
}

fn wasmtime_t(t: &wasmtime::ValType) -> T {
    match t {
        wasmtime::ValType::I32 => T::I32,
        wasmtime::ValType::I64 => T::I64,
        wasmtime::ValType::F32 => T::F32,
        wasmtime::ValType::F64 => T::F64,
        _ => T::Ref,
    }
}

fn from_wasmtime(v: &wasmtime::Val) -> V {
    match v {
        wasmtime::Val::I32(x) => V::I32(*x),
        wasmtime::Val::I64(x) => V::I64(*x),
        wasmtime::Val::F32(x) => f32v(*x),
        wasmtime::Val::F64(x) => f64v(*x),
        wasmtime::Val::FuncRef(r) => V::Ref { null: r.is_none() },
        wasmtime::Val::ExternRef(r) => V::Ref { null: r.is_none() },
        _ => V::Ref { null: false },
    }
}

fn wasmtime_trap(e: &wasmtime::Error) -> TrapCat {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => categorize(&format!("{trap:?}")),
        None => categorize(&format!("{e:#}")),
    }
}

fn run_wasmtime(
    wasm: &[u8],
    plan: &[(String, ExternalKind)],
    seed: u64,
) -> Result<Vec<Event>, String> {
    let engine = wasmtime_engine()?;
    let module = wasmtime::Module::new(&engine, wasm).map_err(|e| format!("compile: {e:#}"))?;
    let mut store = wasmtime::Store::new(&engine, ());
    store.set_fuel(1 << 40).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    let instance = match wasmtime::Instance::new(&mut store, &module, &[]) {
        Ok(i) => i,
        Err(e) => {
            events.push(Event::Instantiate(Err(wasmtime_trap(&e))));
            return Ok(events);
        }
    };
    events.push(Event::Instantiate(Ok(())));
    for (k, (name, kind)) in plan.iter().enumerate() {
        if *kind != ExternalKind::Func {
            continue;
        }
        let Some(func) = instance.get_func(&mut store, name) else {
            continue;
        };
        let ty = func.ty(&store);
        let params: Vec<T> = ty.params().map(|t| wasmtime_t(&t)).collect();
        let vals: Vec<wasmtime::Val> = args(seed, k, &params)
            .into_iter()
            .zip(ty.params())
            .map(|(v, t)| match v {
                V::I32(x) => wasmtime::Val::I32(x),
                V::I64(x) => wasmtime::Val::I64(x),
                V::F32(x) => wasmtime::Val::F32(x),
                V::F64(x) => wasmtime::Val::F64(x),
                V::Ref { .. } => match t {
                    wasmtime::ValType::Ref(r) if r.heap_type().is_extern() => {
                        wasmtime::Val::ExternRef(None)
                    }
                    _ => wasmtime::Val::FuncRef(None),
                },
            })
            .collect();
        let mut results: Vec<wasmtime::Val> = ty.results().map(|_| wasmtime::Val::I32(0)).collect();
        let result = match func.call(&mut store, &vals, &mut results) {
            Ok(()) => Ok(results.iter().map(from_wasmtime).collect()),
            Err(e) => Err(wasmtime_trap(&e)),
        };
        events.push(Event::Call(name.clone(), result));
    }
    for (name, kind) in plan {
        match kind {
            ExternalKind::Global => {
                if let Some(g) = instance.get_global(&mut store, name) {
                    let v = g.get(&mut store);
                    events.push(Event::Global(name.clone(), from_wasmtime(&v)));
                }
            }
            ExternalKind::Memory => {
                if let Some(m) = instance.get_memory(&mut store, name) {
                    let bytes = m.data(&store);
                    events.push(Event::Memory {
                        name: name.clone(),
                        len: bytes.len(),
                        hash: xxhash_rust::xxh3::xxh3_64(bytes),
                    });
                }
            }
            ExternalKind::Table => {
                if let Some(t) = instance.get_table(&mut store, name) {
                    let len = t.size(&store);
                    let entries: Vec<bool> = (0..len)
                        .map(|i| t.get(&mut store, i).is_none_or(|r| r.is_null()))
                        .collect();
                    events.push(Event::Table {
                        name: name.clone(),
                        len,
                        nulls: nulls(entries.into_iter()),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(events)
}
