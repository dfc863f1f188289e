//! The verifier: the runtime's defence against crafted images.
//!
//! The checksum only catches damage: anyone can edit an image and recompute it, and bytecheck only
//! proves the archive is well-formed rkyv. Before the runtime executes anything, this module proves,
//! in one linear pass over the module and its code, every invariant the instantiator and executor
//! rely on without re-checking: every index is inside its index space, every slot inside its frame,
//! every jump lands on an instruction start, calls and returns fit the frame and match the types,
//! and code never runs off its end. A crafted image then fails here with a message that says what
//! is wrong and where, instead of panicking, reading out of bounds or computing a wrong result.
//!
//! It is not a type checker: the translator validated the Wasm. Slots are untyped 64-bit cells, so
//! the executor must still treat every value it reads (e.g. a table entry) as arbitrary bits.
//!
//! Sums are computed in `u64` from `u32` fields, so no crafted value can overflow them.
//!
//! The work is split in two, so that function code can be verified lazily: [`verify_structure`]
//! checks the module (types, imports, exports, segments, globals, every function's type and frame)
//! and returns the index [`Spaces`]; [`verify_code`] checks one function's code against them.
//! [`verify_module`] does both for every function. The code pass is one linear walk over the code
//! units with no allocation per instruction: each op's shape (length, which units are slots and
//! targets, whether it needs more checks) comes from a table derived at compile time from the ISA
//! table (`chiwawa_format::OPS`), so a new op needs no change here unless it needs a new check.

use std::collections::BTreeSet;

use chiwawa_format::{
    extern_kind, instr_len, unit_pair, valtype, ArchivedConstExpr, ArchivedConstOp,
    ArchivedDataMode, ArchivedElemMode, ArchivedFuncType, ArchivedImportKind, ArchivedMemoryType,
    ArchivedModule, ArchivedTableType, CodeUnit, DecodeError, LoadedImage, Op, OpInfo, Operand,
    OPS,
};

/// Why the verifier refused an image: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError(pub String);

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for VerifyError {}

impl From<String> for VerifyError {
    fn from(msg: String) -> Self {
        VerifyError(msg)
    }
}

/// The bound on a frame, in slots: a slot operand is one code unit.
pub const MAX_FRAME_SIZE: u32 = chiwawa_format::MAX_FRAME;
/// Wasm32 memories hold at most 65536 pages.
const MAX_PAGES: u32 = 65536;

type Check = Result<(), String>;

/// Returns `Err(format!(..))` from the enclosing function.
macro_rules! bail {
    ($($fmt:tt)*) => { return Err(format!($($fmt)*).into()) };
}

/// Prefixes an error with where it happened.
fn at<T>(result: Result<T, String>, place: impl FnOnce() -> String) -> Result<T, VerifyError> {
    result.map_err(|msg| VerifyError(format!("{}: {msg}", place())))
}

/// The module's index spaces (imports first), as the code sees them: what [`verify_structure`]
/// learnt, kept (e.g. by an instance) to verify function code later with [`verify_code`].
#[derive(Debug, Clone, Default)]
pub struct Spaces {
    funcs: u64,
    num_imported: u64,
    memories: u64,
    /// Element type of every table.
    tables: Vec<u8>,
    /// Type and mutability of every global.
    globals: Vec<GlobalSpace>,
}

/// What the checks need of one global.
#[derive(Debug, Clone, Copy)]
struct GlobalSpace {
    ty: u8,
    mutable: bool,
}

impl Spaces {
    /// The type of function `func`; only after `func_types` was checked.
    fn func_type<'m>(&self, m: &'m ArchivedModule, func: u64) -> &'m ArchivedFuncType {
        let ty = m.func_types[func as usize].to_native();
        &m.types[ty as usize]
    }
}

/// Checks everything the runtime relies on; only a module that passes may be instantiated.
pub fn verify_module(image: &LoadedImage) -> Result<(), VerifyError> {
    let spaces = verify_structure(image.module())?;
    let mut scratch = Scratch::default();
    (0..image.module().funcs.len())
        .try_for_each(|i| verify_code_with(image, &spaces, i, &mut scratch))
}

/// Checks everything but function code: after it passes, the module may be instantiated, and a
/// function may run once [`verify_code`] passed for it with the returned spaces.
pub fn verify_structure(module: &ArchivedModule) -> Result<Spaces, VerifyError> {
    let m = module;
    let num_types = m.types.len() as u64;
    for (i, ty) in m.types.iter().enumerate() {
        let mut bytes = ty.params.iter().chain(ty.results.iter());
        at(bytes.try_for_each(|&b| check_valtype(b)), || {
            format!("type {i}")
        })?;
    }
    for (i, ty) in m.func_types.iter().enumerate() {
        if ty.to_native() as u64 >= num_types {
            bail!("function {i}: type index {ty} out of range ({num_types} types)");
        }
    }
    let funcs = m.func_types.len() as u64;
    if m.funcs.len() as u64 > funcs {
        bail!(
            "{} defined functions but only {funcs} function types",
            m.funcs.len()
        );
    }
    let num_imported = funcs - m.funcs.len() as u64;

    let mut spaces = Spaces {
        funcs,
        num_imported,
        memories: 0,
        tables: Vec::new(),
        globals: Vec::new(),
    };
    let mut imported_funcs = 0u64;
    for import in m.imports.iter() {
        let place = || format!("import \"{}\".\"{}\"", import.module, import.name);
        match &import.kind {
            ArchivedImportKind::Func(ty) => {
                let check = if imported_funcs >= num_imported {
                    Err(format!(
                        "more function imports than func_types implies ({num_imported})"
                    ))
                } else {
                    let expected = m.func_types[imported_funcs as usize].to_native();
                    match ty.to_native() {
                        ty if ty != expected => Err(format!(
                            "type {ty} differs from func_types[{imported_funcs}] = {expected}"
                        )),
                        _ => Ok(()),
                    }
                };
                at(check, place)?;
                imported_funcs += 1;
            }
            ArchivedImportKind::Table(t) => {
                at(check_table(t), place)?;
                spaces.tables.push(t.elem);
            }
            ArchivedImportKind::Memory(mem) => {
                at(check_memory(mem), place)?;
                spaces.memories += 1;
            }
            ArchivedImportKind::Global(g) => {
                at(check_valtype(g.ty), place)?;
                spaces.globals.push(GlobalSpace {
                    ty: g.ty,
                    mutable: g.mutable,
                });
            }
        }
    }
    if imported_funcs != num_imported {
        bail!("{imported_funcs} function imports, but func_types and funcs imply {num_imported}");
    }
    for t in m.tables.iter() {
        at(check_table(t), || format!("table {}", spaces.tables.len()))?;
        spaces.tables.push(t.elem);
    }
    for (i, mem) in m.memories.iter().enumerate() {
        at(check_memory(mem), || {
            format!("memory {}", spaces.memories + i as u64)
        })?;
    }
    spaces.memories += m.memories.len() as u64;
    if spaces.memories > 1 {
        bail!("{} memories, at most 1 is supported", spaces.memories);
    }
    for g in m.globals.iter() {
        let index = spaces.globals.len() as u64;
        // An initializer may only read globals before it (Wasm: the imported ones), which the
        // instantiator has already evaluated.
        let checks = check_valtype(g.ty.ty).and_then(|()| check_const(&g.init, g.ty.ty, &spaces));
        at(checks, || format!("global {index}"))?;
        spaces.globals.push(GlobalSpace {
            ty: g.ty.ty,
            mutable: g.ty.mutable,
        });
    }
    let globals = spaces.globals.len() as u64;
    let tables = spaces.tables.len() as u64;

    let mut names = BTreeSet::new();
    for e in m.exports.iter() {
        let index = e.index.to_native() as u64;
        let (count, what, noun) = match e.kind {
            extern_kind::FUNC => (funcs, "function", "functions"),
            extern_kind::TABLE => (tables, "table", "tables"),
            extern_kind::MEMORY => (spaces.memories, "memory", "memories"),
            extern_kind::GLOBAL => (globals, "global", "globals"),
            kind => bail!("export \"{}\": unknown kind {kind}", e.name),
        };
        if index >= count {
            bail!(
                "export \"{}\": {what} index {index} out of range ({count} {noun})",
                e.name
            );
        }
        if !names.insert(e.name.as_str()) {
            bail!("export \"{}\": duplicate name", e.name);
        }
    }
    if let Some(start) = m.start.as_ref() {
        let start = start.to_native() as u64;
        if start >= funcs {
            bail!("start function {start} out of range ({funcs} functions)");
        }
        let ty = spaces.func_type(m, start);
        if !ty.params.is_empty() || !ty.results.is_empty() {
            bail!("start function {start} has parameters or results");
        }
    }
    for (i, elem) in m.elems.iter().enumerate() {
        let checks = || -> Check {
            if !matches!(elem.ty, valtype::FUNCREF | valtype::EXTERNREF) {
                bail!("invalid element type {:#04x}", elem.ty);
            }
            if let ArchivedElemMode::Active { table, offset } = &elem.mode {
                let table = table.to_native() as u64;
                match spaces.tables.get(table as usize) {
                    None => bail!("table index {table} out of range ({tables} tables)"),
                    Some(&t) if t != elem.ty => bail!("element type differs from table {table}'s"),
                    _ => check_const(offset, valtype::I32, &spaces)?,
                }
            }
            elem.items
                .iter()
                .try_for_each(|item| check_const(item, elem.ty, &spaces))
        };
        at(checks(), || format!("element segment {i}"))?;
    }
    for (i, data) in m.datas.iter().enumerate() {
        if let ArchivedDataMode::Active { memory, offset } = &data.mode {
            let checks = if memory.to_native() as u64 >= spaces.memories {
                Err(format!(
                    "memory index {memory} out of range ({} memories)",
                    spaces.memories
                ))
            } else {
                check_const(offset, valtype::I32, &spaces)
            };
            at(checks, || format!("data segment {i}"))?;
        }
    }
    let mut previous = None;
    for name in m.func_names.iter() {
        let index = name.index.to_native();
        if index as u64 >= funcs || previous.is_some_and(|p| p >= index) {
            bail!("function name for index {index} out of range or out of order");
        }
        previous = Some(index);
    }
    for i in 0..m.funcs.len() {
        at(check_func_header(m, num_imported + i as u64, i), || {
            func_place(num_imported, i)
        })?;
    }
    Ok(spaces)
}

/// How errors name a defined function.
fn func_place(num_imported: u64, defined: usize) -> String {
    format!(
        "function {} (defined {defined})",
        num_imported + defined as u64
    )
}

fn check_valtype(ty: u8) -> Check {
    use valtype::*;
    match ty {
        I32 | I64 | F32 | F64 | FUNCREF | EXTERNREF => Ok(()),
        _ => bail!("invalid value type {ty:#04x}"),
    }
}

fn check_limits(min: u32, max: Option<u32>, limit: u32) -> Check {
    match max {
        _ if min > limit => bail!("minimum {min} above the limit {limit}"),
        Some(max) if max > limit => bail!("maximum {max} above the limit {limit}"),
        Some(max) if min > max => bail!("minimum {min} above maximum {max}"),
        _ => Ok(()),
    }
}

fn check_table(t: &ArchivedTableType) -> Check {
    if !matches!(t.elem, valtype::FUNCREF | valtype::EXTERNREF) {
        bail!("invalid table element type {:#04x}", t.elem);
    }
    check_limits(
        t.min.to_native(),
        t.max.as_ref().map(|m| m.to_native()),
        u32::MAX,
    )
}

fn check_memory(mem: &ArchivedMemoryType) -> Check {
    check_limits(
        mem.min.to_native(),
        mem.max.as_ref().map(|m| m.to_native()),
        MAX_PAGES,
    )
    .map_err(|e| format!("{e} pages"))
}

/// Type-checks a constant expression against the index spaces known so far (a global's
/// initializer sees only the globals before it): every index in range, every operand of the
/// type its operator takes, and exactly one value of type `want` left. Types matter here,
/// unlike in function code: a value that is not a function reference must never reach a
/// funcref table or global, where `call_indirect` would take it for a function.
fn check_const(expr: &ArchivedConstExpr, want: u8, spaces: &Spaces) -> Check {
    use valtype::{EXTERNREF, FUNCREF};
    /// `ref.null` fits either reference type (the image does not record which).
    const NULL: u8 = 0;
    let name = |ty: u8| match ty {
        NULL => "ref.null".to_string(),
        ty => valtype_name(ty),
    };
    let mut stack: Vec<u8> = Vec::with_capacity(4);
    for op in expr.ops.iter() {
        use ArchivedConstOp::*;
        let ty = match op {
            I32(_) => valtype::I32,
            I64(_) => valtype::I64,
            F32(_) => valtype::F32,
            F64(_) => valtype::F64,
            RefNull => NULL,
            RefFunc(f) if f.to_native() as u64 >= spaces.funcs => {
                bail!("ref.func {f} out of range ({} functions)", spaces.funcs)
            }
            RefFunc(_) => FUNCREF,
            GlobalGet(g) => match spaces.globals.get(g.to_native() as usize) {
                Some(global) => global.ty,
                None => bail!(
                    "global.get {g} out of range ({} globals visible)",
                    spaces.globals.len()
                ),
            },
            I32Add | I32Sub | I32Mul | I64Add | I64Sub | I64Mul => {
                let operand = if matches!(op, I32Add | I32Sub | I32Mul) {
                    valtype::I32
                } else {
                    valtype::I64
                };
                let (b, a) = (stack.pop(), stack.pop());
                match (a, b) {
                    (Some(a), Some(b)) if a == operand && b == operand => operand,
                    (Some(_), Some(_)) => bail!(
                        "constant expression applies {} arithmetic to {} and {}",
                        name(operand),
                        name(a.unwrap_or(NULL)),
                        name(b.unwrap_or(NULL))
                    ),
                    _ => bail!("constant expression pops an empty stack"),
                }
            }
        };
        stack.push(ty);
    }
    match stack[..] {
        [ty] if ty == want || (ty == NULL && matches!(want, FUNCREF | EXTERNREF)) => Ok(()),
        [ty] => bail!(
            "constant expression gives {} where {} is expected",
            name(ty),
            name(want)
        ),
        _ => bail!(
            "constant expression leaves {} values instead of 1",
            stack.len()
        ),
    }
}

/// A value type's name in the text format.
fn valtype_name(ty: u8) -> String {
    match ty {
        valtype::I32 => "i32".into(),
        valtype::I64 => "i64".into(),
        valtype::F32 => "f32".into(),
        valtype::F64 => "f64".into(),
        valtype::FUNCREF => "funcref".into(),
        valtype::EXTERNREF => "externref".into(),
        other => format!("type {other:#04x}"),
    }
}

/// Checks a defined function's type and frame (`index` in the function index space).
fn check_func_header(m: &ArchivedModule, index: u64, defined: usize) -> Check {
    let f = &m.funcs[defined];
    let ty_index = f.ty.to_native();
    let expected = m.func_types[index as usize].to_native();
    if ty_index != expected {
        bail!("type {ty_index} differs from its func_types entry {expected}");
    }
    let ty = &m.types[ty_index as usize];
    let (params, results) = (ty.params.len() as u64, ty.results.len() as u64);
    let (locals, frame) = (
        f.num_locals.to_native() as u64,
        f.frame_size.to_native() as u64,
    );
    let consts = f.consts.len() as u64;
    if locals < params
        || frame < locals + consts
        || frame < results
        || frame > MAX_FRAME_SIZE as u64
    {
        bail!(
            "bad frame: {params} params, {results} results, {locals} locals, {consts} constants, \
             frame size {frame} (limit {MAX_FRAME_SIZE})"
        );
    }
    Ok(())
}

/// What the code pass needs to know of one op, derived from its row of the ISA table.
#[derive(Clone, Copy)]
struct Shape {
    op: Op,
    /// Units of the instruction, opcode included; 0 when it varies (a `Targets` operand).
    units: u32,
    /// Bit `i` set: unit `pc + i` is a `Slot` operand.
    slots: u32,
    /// Bit `i` set: units `pc + i` and `pc + i + 1` are a `Target` operand.
    targets: u32,
    flags: u8,
}

/// The op's operands are checked one by one ([`check_operands`]): variable length, or an index.
const GENERIC: u8 = 1;
/// The op needs a check beyond its operands' ranges ([`check_special`]).
const SPECIAL: u8 = 2;
/// The op addresses memory 0 implicitly (a load or store: `Op::accesses_memory`).
const MEMORY: u8 = 4;

const fn shape_of(op: usize) -> Shape {
    let info = &OPS[op];
    let mut shape = Shape {
        op: info.op,
        units: 0,
        slots: 0,
        targets: 0,
        flags: 0,
    };
    let mut pos = 1;
    let mut k = 0;
    while k < info.operands.len() {
        match info.operands[k] {
            Operand::Slot => shape.slots |= 1 << pos,
            Operand::Target => shape.targets |= 1 << pos,
            Operand::Imm32 | Operand::Imm64 => {}
            Operand::Targets => {
                shape.flags |= GENERIC;
                break;
            }
            Operand::Func
            | Operand::Type
            | Operand::Table
            | Operand::Global
            | Operand::Memory
            | Operand::Data
            | Operand::Elem => shape.flags |= GENERIC,
        }
        pos += match info.operands[k].units() {
            Some(n) => n,
            None => 1,
        };
        k += 1;
    }
    assert!(
        pos <= 32,
        "an instruction longer than 32 units needs wider masks"
    );
    shape.units = match info.fixed_units() {
        Some(n) => n as u32,
        None => 0,
    };
    // A pair's special checks are its second part's (its first part is never special: the
    // format's tests keep calls, returns and global writes out of first parts).
    let checked = match info.op.parts() {
        Some((first, second)) => {
            assert!(
                !is_special(first),
                "a pair's first part needs no special check"
            );
            second
        }
        None => info.op,
    };
    if is_special(checked) {
        shape.flags |= SPECIAL;
    }
    if info.op.accesses_memory() {
        shape.flags |= MEMORY;
    }
    shape
}

/// Whether `op` needs [`check_special`].
const fn is_special(op: Op) -> bool {
    matches!(
        op,
        Op::Return
            | Op::Call
            | Op::ReturnCall
            | Op::CallIndirect
            | Op::ReturnCallIndirect
            | Op::GlobalSet
            | Op::TableInit
            | Op::TableCopy
    )
}

/// Every op's shape, indexed by opcode.
static SHAPES: [Shape; OPS.len()] = {
    let mut table = [Shape {
        op: Op::Unreachable,
        units: 0,
        slots: 0,
        targets: 0,
        flags: 0,
    }; OPS.len()];
    let mut op = 0;
    while op < OPS.len() {
        table[op] = shape_of(op);
        op += 1;
    }
    table
};

/// Buffers the code pass reuses from one function to the next.
#[derive(Default)]
pub struct Scratch {
    /// Bit `pc` set: an instruction starts at unit `pc`.
    starts: Vec<u64>,
    /// `(pc, target)` of every jump, in code order.
    jumps: Vec<(u32, u32)>,
}

/// Checks the code of defined function `defined` against `spaces`, which [`verify_structure`]
/// returned for the same image's module. The code's group is read from the image file and its
/// hash checked first, if that has not happened yet.
pub fn verify_code(
    image: &LoadedImage,
    spaces: &Spaces,
    defined: usize,
) -> Result<(), VerifyError> {
    verify_code_with(image, spaces, defined, &mut Scratch::default())
}

/// [`verify_code`] with buffers kept across calls.
pub fn verify_code_with(
    image: &LoadedImage,
    spaces: &Spaces,
    defined: usize,
    scratch: &mut Scratch,
) -> Result<(), VerifyError> {
    let module = image.module();
    let Some(f) = module.funcs.get(defined) else {
        return Err(VerifyError(format!(
            "no defined function {defined} ({} defined)",
            module.funcs.len()
        )));
    };
    let place = || func_place(spaces.num_imported, defined);
    let loaded = image.ensure_group(f.group.to_native() as usize);
    at(loaded.map_err(|e| e.to_string()), place)?;
    let code = image.func_code(defined).expect("its group is checked");
    at(check_code(module, spaces, defined, code, scratch), place)
}

/// Prefixes a problem of one instruction with where it is.
#[cold]
fn in_instr(pc: usize, op: Op, problem: String) -> String {
    format!("unit {pc}: {problem} in {}", op.name())
}

fn check_code(
    m: &ArchivedModule,
    s: &Spaces,
    defined: usize,
    code: &[CodeUnit],
    scratch: &mut Scratch,
) -> Check {
    let f = &m.funcs[defined];
    let results = m.types[f.ty.to_native() as usize].results.len() as u64;
    let frame = f.frame_size.to_native();
    let len = code.len();
    let Scratch { starts, jumps } = scratch;
    starts.clear();
    starts.resize(len.div_ceil(64), 0);
    jumps.clear();
    // Loads and stores need memory 0; with one, they need no check at all.
    let extra = SPECIAL | if s.memories == 0 { MEMORY } else { 0 };
    let mut pc = 0;
    let mut last = None;
    while pc < len {
        let unit = code[pc].to_native();
        let Some(&shape) = SHAPES.get(unit as usize) else {
            bail!(
                "{}",
                DecodeError::BadOpcode {
                    at: pc,
                    word: unit as u32
                }
            );
        };
        let op = shape.op;
        starts[pc / 64] |= 1 << (pc % 64);
        let next = if shape.flags & GENERIC == 0 {
            let n = shape.units as usize;
            if n > len - pc {
                bail!("{}", DecodeError::Truncated { at: pc });
            }
            let mut slots = shape.slots;
            while slots != 0 {
                let v = code[pc + slots.trailing_zeros() as usize].to_native() as u32;
                if v >= frame {
                    let problem = format!("slot {v} out of frame (size {frame})");
                    return Err(in_instr(pc, op, problem));
                }
                slots &= slots - 1;
            }
            let mut targets = shape.targets;
            while targets != 0 {
                let t = unit_pair(code, pc + targets.trailing_zeros() as usize);
                jumps.push((pc as u32, t));
                targets &= targets - 1;
            }
            pc + n
        } else {
            let n = instr_len(code, pc).map_err(|e| e.to_string())?;
            check_operands(m, s, code, pc, op, frame as u64, jumps)
                .map_err(|e| in_instr(pc, op, e))?;
            pc + n
        };
        if shape.flags & extra != 0 {
            let info = op.info();
            // A pair is checked as its second part, whose operands follow the first's.
            let (checked, skip) = match op.parts() {
                Some((first, second)) => (second, first.info().operands.len()),
                None => (op, 0),
            };
            let value = |k: usize| operand(code, pc, info, skip + k);
            check_special(m, s, checked, value, shape.flags, frame as u64, results)
                .map_err(|e| in_instr(pc, op, e))?;
        }
        last = Some(op);
        pc = next;
    }
    let is_start = |t: u32| {
        let t = t as usize;
        t < len && starts[t / 64] & (1 << (t % 64)) != 0
    };
    if let Some(&(pc, target)) = jumps.iter().find(|&&(_, t)| !is_start(t)) {
        let problem = if target as usize >= len {
            format!("past the end ({len} units)")
        } else {
            "inside an instruction".to_string()
        };
        let op = OPS[code[pc as usize].to_native() as usize].op;
        bail!(
            "unit {pc}: jump target {target} is {problem} in {}",
            op.name()
        );
    }
    match last {
        None => bail!("empty code"),
        Some(op) if !op.flow().falls_through() => Ok(()),
        Some(_) => bail!(
            "code ends with {}, which falls through past the end",
            last.map_or("", Op::name)
        ),
    }
}

/// The value of operand `k` (not `Imm64` or `Targets`, and before any `Targets`) of the
/// instruction at `pc`, whose units `instr_len` or the shape proved inside `code`.
fn operand(code: &[CodeUnit], pc: usize, info: &OpInfo, k: usize) -> u64 {
    let at = pc + info.unit_offset(k);
    match info.operands[k] {
        Operand::Slot => code[at].to_native() as u64,
        _ => unit_pair(code, at) as u64,
    }
}

/// Checks one instruction's operands one by one against the index spaces and the frame and
/// records its jumps; `instr_len` has proved its units lie inside `code`.
fn check_operands(
    m: &ArchivedModule,
    s: &Spaces,
    code: &[CodeUnit],
    pc: usize,
    op: Op,
    frame: u64,
    jumps: &mut Vec<(u32, u32)>,
) -> Check {
    let mut pos = pc + 1;
    for &kind in op.info().operands {
        let (count, what, noun) = match kind {
            Operand::Slot => {
                let v = code[pos].to_native() as u64;
                if v >= frame {
                    bail!("slot {v} out of frame (size {frame})");
                }
                pos += 1;
                continue;
            }
            Operand::Target => {
                jumps.push((pc as u32, unit_pair(code, pos)));
                pos += 2;
                continue;
            }
            Operand::Targets => {
                let n = unit_pair(code, pos) as usize;
                jumps.extend((0..n).map(|i| (pc as u32, unit_pair(code, pos + 2 + 2 * i))));
                pos += 2 + 2 * n;
                continue;
            }
            Operand::Imm64 => {
                pos += 4;
                continue;
            }
            Operand::Imm32 => {
                pos += 2;
                continue;
            }
            Operand::Func => (s.funcs, "function", "functions"),
            Operand::Type => (m.types.len() as u64, "type", "types"),
            Operand::Table => (s.tables.len() as u64, "table", "tables"),
            Operand::Global => (s.globals.len() as u64, "global", "globals"),
            Operand::Memory => (s.memories, "memory", "memories"),
            Operand::Data => (m.datas.len() as u64, "data segment", "data segments"),
            Operand::Elem => (m.elems.len() as u64, "element segment", "element segments"),
        };
        let v = unit_pair(code, pos) as u64;
        if v >= count {
            bail!("{what} index {v} out of range ({count} {noun})");
        }
        pos += 2;
    }
    Ok(())
}

/// The checks beyond operand ranges, after those passed; `word(i)` is the value of operand `i`.
fn check_special(
    m: &ArchivedModule,
    s: &Spaces,
    op: Op,
    word: impl Fn(usize) -> u64,
    flags: u8,
    frame: u64,
    results: u64,
) -> Check {
    // The callee's frame starts at `base` inside this one: arguments and results must fit.
    let call = |ty: &ArchivedFuncType, base: u64| -> Check {
        let (p, r) = (ty.params.len() as u64, ty.results.len() as u64);
        if base + p.max(r) > frame {
            bail!(
                "call at slot {base} with {p} params, {r} results overflows the frame \
                 (size {frame})"
            );
        }
        if matches!(op, Op::ReturnCall | Op::ReturnCallIndirect) && r != results {
            bail!("tail callee has {r} results, this function {results}");
        }
        Ok(())
    };
    use Op::*;
    match op {
        Return if word(0) + word(1) > frame => {
            bail!(
                "{} values from slot {} overflow the frame (size {frame})",
                word(1),
                word(0)
            )
        }
        Return if word(1) != results => bail!("returns {} values, the type has {results}", word(1)),
        Call | ReturnCall => call(s.func_type(m, word(0)), word(1))?,
        CallIndirect | ReturnCallIndirect => {
            if s.tables[word(1) as usize] != valtype::FUNCREF {
                bail!("table {} does not hold funcref", word(1));
            }
            call(&m.types[word(0) as usize], word(3))?
        }
        GlobalSet if !s.globals[word(0) as usize].mutable => {
            bail!("global {} is immutable", word(0))
        }
        TableInit if s.tables[word(0) as usize] != m.elems[word(1) as usize].ty => {
            bail!(
                "element segment {} type differs from table {}'s",
                word(1),
                word(0)
            )
        }
        TableCopy if s.tables[word(0) as usize] != s.tables[word(1) as usize] => {
            bail!("tables {} and {} differ in element type", word(0), word(1))
        }
        _ => {}
    }
    // Loads and stores (by the table's naming) address memory 0 implicitly.
    if flags & MEMORY != 0 && s.memories == 0 {
        bail!("memory access without a memory");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
