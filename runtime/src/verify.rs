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

use std::collections::HashSet;

use chiwawa_format::{
    extern_kind, instr_len, unit_pair, valtype, ArchivedConstExpr, ArchivedConstOp,
    ArchivedDataMode, ArchivedElemMode, ArchivedFuncType, ArchivedImportKind, ArchivedMemoryType,
    ArchivedModule, ArchivedTableType, CodeUnit, DecodeError, LoadedImage, Op, OpInfo, Operand,
    OPS,
};

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

    let mut names = HashSet::new();
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
/// The op addresses memory 0 implicitly (a load or store, by the table's naming).
const MEMORY: u8 = 4;

/// Whether `name` contains `part` (`str::contains` is not `const`).
const fn name_contains(name: &str, part: &str) -> bool {
    let (name, part) = (name.as_bytes(), part.as_bytes());
    let mut i = 0;
    while i + part.len() <= name.len() {
        let mut k = 0;
        while k < part.len() && name[i + k] == part[k] {
            k += 1;
        }
        if k == part.len() {
            return true;
        }
        i += 1;
    }
    false
}

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
    if name_contains(info.name, ".load") || name_contains(info.name, ".store") {
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
mod tests {
    use super::*;
    use chiwawa_format::{
        decode, features, write_image, Arg, ConstExpr, ConstOp, Data, DataMode, Elem, ElemMode,
        Export, FuncName, FuncType, Global, GlobalType, Import, ImportKind, LoadedImage,
        MemoryType, Module, TableType,
    };
    use valtype::{EXTERNREF, FUNCREF, I32};

    /// Code from word-form instructions (targets in words), packed into units.
    fn asm(instrs: &[(Op, &[u32])]) -> Vec<u16> {
        let words: Vec<u32> = instrs
            .iter()
            .flat_map(|(op, args)| std::iter::once(*op as u32).chain(args.iter().copied()))
            .collect();
        chiwawa_format::encode(&words).expect("test code encodes")
    }

    fn konst(ops: &[ConstOp]) -> ConstExpr {
        ConstExpr { ops: ops.to_vec() }
    }

    fn func(ty: u32, num_locals: u32, frame_size: u32, code: Vec<u16>) -> chiwawa_format::Func {
        chiwawa_format::Func {
            ty,
            num_locals,
            frame_size,
            consts: vec![],
            code,
            ..chiwawa_format::Func::default()
        }
    }

    /// Function 0 is imported, 1 is `main` (words, then units, noted below), 2 is `add`;
    /// global 0 is imported and immutable, global 1 defined and mutable.
    fn sample() -> Module {
        use Op::*;
        let main = asm(&[
            (Const32, &[0, 1]),            // 0, units 0: slot 1, imm 2-3
            (Const32, &[1, 2]),            // 3, units 4
            (Call, &[2, 0]),               // 6, units 8: func 9-10, base 11
            (BrIfEqz, &[0, 32]),           // 9, units 12: slot 13, target 14-15
            (GlobalSet, &[1, 0]),          // 12, units 16: global 17-18, src 19
            (I32Load, &[1, 1, 4]),         // 15, units 20
            (Const32, &[2, 0]),            // 19, units 25
            (CallIndirect, &[1, 0, 2, 0]), // 22, units 29: type 30-31, table 32-33, 34, base 35
            (BrTable, &[0, 2, 32, 32]),    // 27, units 36: slot 37, count 38-39, 40-41, 42-43
            (Return, &[0, 1]),             // 32, units 44: src 45, count 46-47; ends at 48
        ]);
        let add = asm(&[(I32Add, &[2, 0, 1]), (Return, &[2, 1])]);
        let import = |name: &str, kind| Import {
            module: "env".into(),
            name: name.into(),
            kind,
        };
        let export = |name: &str, kind, index| Export {
            name: name.into(),
            kind,
            index,
        };
        let name = |index, name: &str| FuncName {
            index,
            name: name.into(),
        };
        Module {
            types: vec![
                FuncType {
                    params: vec![],
                    results: vec![I32],
                },
                FuncType {
                    params: vec![I32, I32],
                    results: vec![I32],
                },
                FuncType {
                    params: vec![],
                    results: vec![],
                },
            ],
            imports: vec![
                import("h", ImportKind::Func(1)),
                import(
                    "g",
                    ImportKind::Global(GlobalType {
                        ty: I32,
                        mutable: false,
                    }),
                ),
            ],
            func_types: vec![1, 0, 1],
            funcs: vec![func(0, 0, 4, main), func(1, 2, 3, add)],
            tables: vec![TableType {
                elem: FUNCREF,
                min: 1,
                max: Some(1),
            }],
            memories: vec![MemoryType {
                min: 1,
                max: Some(2),
            }],
            globals: vec![Global {
                ty: GlobalType {
                    ty: I32,
                    mutable: true,
                },
                init: konst(&[ConstOp::GlobalGet(0)]),
            }],
            exports: vec![
                export("main", extern_kind::FUNC, 1),
                export("mem", extern_kind::MEMORY, 0),
                export("table", extern_kind::TABLE, 0),
                export("counter", extern_kind::GLOBAL, 1),
            ],
            start: None,
            elems: vec![Elem {
                ty: FUNCREF,
                mode: ElemMode::Active {
                    table: 0,
                    offset: konst(&[ConstOp::I32(0)]),
                },
                items: vec![konst(&[ConstOp::RefFunc(2)])],
            }],
            datas: vec![Data {
                mode: DataMode::Active {
                    memory: 0,
                    offset: konst(&[ConstOp::I32(1), ConstOp::I32(2), ConstOp::I32Add]),
                },
                bytes: b"hi".to_vec(),
            }],
            func_names: vec![name(0, "h"), name(1, "main"), name(2, "add")],
            code_groups: vec![],
        }
    }

    fn verify(module: &Module) -> Result<(), VerifyError> {
        let bytes = write_image(&mut module.clone(), 1, features::WASM2, 0, 0).unwrap();
        let image = LoadedImage::from_bytes(&bytes).unwrap();
        verify_module(&image)
    }

    /// The sample with `craft` applied must be rejected with a message containing `fragment`.
    fn rejects(craft: impl FnOnce(&mut Module), fragment: &str) {
        let mut module = sample();
        craft(&mut module);
        match verify(&module) {
            Ok(()) => panic!("crafted module accepted; expected \"{fragment}\""),
            Err(e) => assert!(
                e.0.contains(fragment),
                "\"{e}\" does not contain \"{fragment}\""
            ),
        }
    }

    fn main_code(m: &mut Module) -> &mut Vec<u16> {
        &mut m.funcs[0].code
    }

    /// Sets the two units at `at` of `main` to `v`.
    fn set_pair(m: &mut Module, at: usize, v: u32) {
        main_code(m)[at] = v as u16;
        main_code(m)[at + 1] = (v >> 16) as u16;
    }

    #[test]
    fn well_formed_module_passes() {
        assert_eq!(verify(&sample()), Ok(()));
        assert_eq!(verify(&Module::default()), Ok(()));
    }

    #[test]
    fn slot_outside_frame() {
        let mut module = sample();
        main_code(&mut module)[1] = 4;
        let msg = "function 1 (defined 0): unit 0: slot 4 out of frame (size 4) in const32";
        assert_eq!(verify(&module), Err(VerifyError(msg.into())));
        rejects(
            |m| main_code(m)[45] = u16::MAX,
            "unit 44: slot 65535 out of frame",
        );
    }

    #[test]
    fn jump_into_an_instruction() {
        let msg = "unit 12: jump target 45 is inside an instruction in br_if_eqz";
        rejects(|m| set_pair(m, 14, 45), msg);
    }

    #[test]
    fn jump_past_the_end() {
        rejects(
            |m| set_pair(m, 42, 48),
            "unit 36: jump target 48 is past the end (48 units)",
        );
        rejects(
            |m| set_pair(m, 40, u32::MAX),
            "jump target 4294967295 is past the end",
        );
    }

    #[test]
    fn function_index_out_of_range() {
        let msg = "unit 8: function index 3 out of range (3 functions) in call";
        rejects(|m| set_pair(m, 9, 3), msg);
        rejects(
            |m| set_pair(m, 9, 1 << 16),
            "function index 65536 out of range",
        );
    }

    #[test]
    fn type_and_other_indices_out_of_range() {
        let msg = "unit 29: type index 3 out of range (3 types) in call_indirect";
        rejects(|m| set_pair(m, 30, 3), msg);
        rejects(
            |m| set_pair(m, 32, 1),
            "table index 1 out of range (1 tables)",
        );
        rejects(
            |m| set_pair(m, 17, 2),
            "global index 2 out of range (2 globals)",
        );
        rejects(
            |m| m.funcs[1].code = asm(&[(Op::DataDrop, &[1]), (Op::Unreachable, &[])]),
            "data segment index 1",
        );
        rejects(
            |m| m.funcs[1].code = asm(&[(Op::MemorySize, &[0, 1]), (Op::Unreachable, &[])]),
            "memory index 1",
        );
    }

    #[test]
    fn call_arguments_overflow_the_frame() {
        // `add` takes 2 params: at base 3 they would need slots 3 and 4 of a 4-slot frame.
        let msg = "call at slot 3 with 2 params, 1 results overflows the frame (size 4) in call";
        rejects(|m| main_code(m)[11] = 3, msg);
        rejects(
            |m| main_code(m)[35] = 3,
            "overflows the frame (size 4) in call_indirect",
        );
    }

    #[test]
    fn return_count_must_match_and_fit() {
        rejects(
            |m| set_pair(m, 46, 0),
            "unit 44: returns 0 values, the type has 1 in return",
        );
        rejects(
            |m| set_pair(m, 46, u32::MAX),
            "4294967295 values from slot 0 overflow the frame",
        );
        // A tail call from a function without results to one with a result.
        rejects(
            |m| {
                m.func_types.push(2);
                m.funcs
                    .push(func(2, 0, 2, asm(&[(Op::ReturnCall, &[2, 0])])));
            },
            "function 3 (defined 2): unit 0: tail callee has 1 results, this function 0",
        );
    }

    #[test]
    fn immutable_global_cannot_be_set() {
        rejects(
            |m| set_pair(m, 17, 0),
            "unit 16: global 0 is immutable in global.set",
        );
        // Nor through a pair whose second part sets it.
        let pair = |global: u32| {
            asm(&[
                (Op::I32AddImmGlobalSet, &[0, 0, 5, global, 0]),
                (Op::Return, &[0, 1]),
            ])
        };
        rejects(
            |m| m.funcs[0].code = pair(0),
            "unit 0: global 0 is immutable in i32.add_imm+global.set",
        );
        let mut module = sample();
        module.funcs[0].code = pair(1);
        assert_eq!(verify(&module), Ok(()));
    }

    #[test]
    fn code_must_not_fall_off_the_end() {
        let msg =
            "function 2 (defined 1): code ends with i32.add, which falls through past the end";
        rejects(|m| m.funcs[1].code.truncate(4), msg);
        rejects(
            |m| m.funcs[1].code.clear(),
            "function 2 (defined 1): empty code",
        );
    }

    #[test]
    fn unknown_opcode() {
        rejects(
            |m| m.funcs[1].code[4] = 9999,
            "function 2 (defined 1): unknown opcode 9999 at unit 4",
        );
    }

    #[test]
    fn truncated_instruction() {
        rejects(
            |m| m.funcs[1].code.truncate(6),
            "instruction at unit 4 runs past the end",
        );
        rejects(
            |m| main_code(m)[38] = 7,
            "instruction at unit 36 runs past the end",
        );
    }

    #[test]
    fn bad_frames() {
        rejects(
            |m| m.funcs[1].num_locals = 1,
            "function 2 (defined 1): bad frame: 2 params",
        );
        rejects(|m| m.funcs[1].frame_size = 1, "bad frame");
        rejects(
            |m| m.funcs[0].frame_size = u32::MAX,
            "frame size 4294967295 (limit 65536)",
        );
        rejects(
            |m| m.funcs[1].ty = 0,
            "type 0 differs from its func_types entry 1",
        );
    }

    #[test]
    fn export_out_of_range() {
        rejects(
            |m| m.exports[0].index = 9,
            "export \"main\": function index 9 out of range (3 functions)",
        );
        rejects(
            |m| m.exports[3].index = 2,
            "export \"counter\": global index 2 out of range (2 globals)",
        );
        rejects(|m| m.exports[1].kind = 4, "export \"mem\": unknown kind 4");
        rejects(
            |m| m.exports[1].name = "main".into(),
            "export \"main\": duplicate name",
        );
    }

    /// Issue 14: a funcref table must only ever hold function references, or `call_indirect`
    /// would take an integer for a function.
    #[test]
    fn constant_expressions_have_the_type_of_their_place() {
        rejects(
            |m| m.elems[0].items[0] = konst(&[ConstOp::I32(1000)]),
            "element segment 0: constant expression gives i32 where funcref is expected",
        );
        rejects(
            |m| m.elems[0].items[0] = konst(&[ConstOp::GlobalGet(0)]),
            "element segment 0: constant expression gives i32 where funcref is expected",
        );
        rejects(
            |m| {
                m.elems[0].ty = EXTERNREF;
                m.tables[0].elem = EXTERNREF;
            },
            "element segment 0: constant expression gives funcref where externref is expected",
        );
        rejects(
            |m| m.globals[0].init = konst(&[ConstOp::RefFunc(0)]),
            "global 1: constant expression gives funcref where i32 is expected",
        );
        rejects(
            |m| m.globals[0].init = konst(&[ConstOp::I64(1)]),
            "global 1: constant expression gives i64 where i32 is expected",
        );
        rejects(
            |m| {
                m.datas[0].mode = DataMode::Active {
                    memory: 0,
                    offset: konst(&[ConstOp::I64(1), ConstOp::I32(2), ConstOp::I32Add]),
                }
            },
            "data segment 0: constant expression applies i32 arithmetic to i64 and i32",
        );
        rejects(
            |m| {
                m.elems[0].mode = ElemMode::Active {
                    table: 0,
                    offset: konst(&[ConstOp::F32(0)]),
                }
            },
            "element segment 0: constant expression gives f32 where i32 is expected",
        );
        // `ref.null` fits either reference type, and arithmetic of the right type passes.
        let mut module = sample();
        module.elems[0].items[0] = konst(&[ConstOp::RefNull]);
        module.globals[0].init = konst(&[ConstOp::I32(1), ConstOp::GlobalGet(0), ConstOp::I32Mul]);
        assert_eq!(verify(&module), Ok(()));
    }

    #[test]
    fn constant_expressions_stay_in_range() {
        let msg = "element segment 0: ref.func 3 out of range (3 functions)";
        rejects(|m| m.elems[0].items[0] = konst(&[ConstOp::RefFunc(3)]), msg);
        rejects(
            |m| m.globals[0].init = konst(&[ConstOp::GlobalGet(1)]),
            "global 1: global.get 1 out of range (1 globals visible)",
        );
        rejects(
            |m| {
                m.datas[0].mode = DataMode::Active {
                    memory: 0,
                    offset: konst(&[ConstOp::I32Add]),
                }
            },
            "data segment 0: constant expression pops an empty stack",
        );
        rejects(
            |m| m.elems[0].items[0] = konst(&[]),
            "leaves 0 values instead of 1",
        );
        rejects(
            |m| {
                m.elems[0].mode = ElemMode::Active {
                    table: 1,
                    offset: konst(&[ConstOp::I32(0)]),
                }
            },
            "element segment 0: table index 1 out of range",
        );
    }

    #[test]
    fn too_many_memories_and_bad_limits() {
        let memory = |min, max| ImportKind::Memory(MemoryType { min, max });
        let import = |kind| Import {
            module: "env".into(),
            name: "m".into(),
            kind,
        };
        rejects(
            |m| m.imports.push(import(memory(1, None))),
            "2 memories, at most 1 is supported",
        );
        rejects(
            |m| m.memories[0].max = Some(65537),
            "memory 0: maximum 65537 above the limit 65536 pages",
        );
        rejects(
            |m| m.memories[0].min = 3,
            "memory 0: minimum 3 above maximum 2 pages",
        );
        rejects(
            |m| m.tables[0].min = 2,
            "table 0: minimum 2 above maximum 1",
        );
        rejects(
            |m| m.tables[0].elem = I32,
            "table 0: invalid table element type 0x7f",
        );
        // Loads and stores need memory 0.
        rejects(
            |m| {
                m.memories.clear();
                m.datas.clear();
                m.exports.remove(1);
            },
            "unit 20: memory access without a memory in i32.load",
        );
    }

    #[test]
    fn module_tables_are_consistent() {
        rejects(
            |m| m.func_types[0] = 5,
            "function 0: type index 5 out of range (3 types)",
        );
        rejects(
            |m| m.types[2].params.push(0x40),
            "type 2: invalid value type 0x40",
        );
        rejects(
            |m| m.func_types[0] = 0,
            "import \"env\".\"h\": type 1 differs from func_types[0] = 0",
        );
        rejects(
            |m| drop(m.imports.remove(0)),
            "0 function imports, but func_types and funcs imply 1",
        );
        rejects(
            |m| m.funcs.push(m.funcs[1].clone()),
            "more function imports than func_types implies (0)",
        );
        rejects(
            |m| m.start = Some(3),
            "start function 3 out of range (3 functions)",
        );
        rejects(
            |m| m.start = Some(1),
            "start function 1 has parameters or results",
        );
        rejects(
            |m| m.func_names.swap(0, 1),
            "function name for index 0 out of range or out of order",
        );
        rejects(
            |m| m.tables[0].elem = valtype::EXTERNREF,
            "element type differs from table 0's",
        );
        rejects(
            |m| {
                m.tables[0].elem = valtype::EXTERNREF;
                m.elems[0].ty = valtype::EXTERNREF;
                m.elems[0].items[0] = konst(&[ConstOp::RefNull]);
            },
            "unit 29: table 0 does not hold funcref in call_indirect",
        );
    }

    #[test]
    fn shapes_follow_the_isa_table() {
        for (i, info) in OPS.iter().enumerate() {
            let shape = SHAPES[i];
            assert_eq!(shape.op, info.op);
            assert_eq!(
                shape.units as usize,
                info.fixed_units().unwrap_or(0),
                "{}",
                info.name
            );
            let (mut pos, mut slots, mut targets, mut index) = (1, 0u32, 0u32, false);
            for &kind in info.operands {
                match kind {
                    Operand::Slot => slots |= 1 << pos,
                    Operand::Target => targets |= 1 << pos,
                    Operand::Imm32 | Operand::Imm64 | Operand::Targets => {}
                    _ => index = true,
                }
                pos += kind.units().unwrap_or(1);
            }
            assert_eq!(shape.slots, slots, "{}", info.name);
            assert_eq!(shape.targets, targets, "{}", info.name);
            let generic = index || info.fixed_units().is_none();
            assert_eq!(shape.flags & GENERIC != 0, generic, "{}", info.name);
            let memory = info.name.contains(".load") || info.name.contains(".store");
            assert_eq!(shape.flags & MEMORY != 0, memory, "{}", info.name);
        }
    }

    #[test]
    fn code_is_verified_one_function_at_a_time() {
        let mut module = sample();
        module.funcs[1].code[1] = 7; // slot 7 in `add`'s 3-slot frame
        let bytes = write_image(&mut module, 1, features::WASM2, 0, 0).unwrap();
        let image = LoadedImage::from_bytes(&bytes).unwrap();
        let spaces = verify_structure(image.module()).expect("the structure is fine");
        assert_eq!(verify_code(&image, &spaces, 0), Ok(()));
        let msg = "function 2 (defined 1): unit 0: slot 7 out of frame (size 3) in i32.add";
        assert_eq!(
            verify_code(&image, &spaces, 1),
            Err(VerifyError(msg.into()))
        );
        assert!(
            verify_code(&image, &spaces, 2).is_err(),
            "no function 2 defined"
        );
        assert_eq!(verify_module(&image), Err(VerifyError(msg.into())));
    }

    #[test]
    fn variable_length_ops_check_their_operands() {
        rejects(
            |m| main_code(m)[37] = 9,
            "unit 36: slot 9 out of frame (size 4) in br_table",
        );
        rejects(
            |m| set_pair(m, 38, 0),
            "instruction at unit 36 runs past the end",
        );
    }

    /// Whatever single unit of `main` is changed, the verifier must not panic, and code it accepts
    /// must have the properties the interpreter's unchecked accesses rely on, checked here
    /// independently with `decode`.
    #[test]
    fn accepted_code_satisfies_the_executor_invariants() {
        let base = sample();
        let len = base.funcs[0].code.len();
        let frame = base.funcs[0].frame_size;
        let mut values: Vec<u16> = (0..50).collect();
        values.extend([u16::MAX, u16::MAX - 1, 1 << 15, OPS.len() as u16]);
        values.extend(OPS.iter().map(|info| info.op as u16));
        let mut accepted = 0;
        for i in 0..len {
            for &v in &values {
                let mut module = base.clone();
                main_code(&mut module)[i] = v;
                if verify(&module).is_err() {
                    continue;
                }
                accepted += 1;
                let code = &module.funcs[0].code;
                let (mut pc, mut starts, mut jumps, mut last) = (0, vec![false; len], vec![], None);
                while pc < len {
                    let (op, args, next) = decode(code, pc).expect("accepted code decodes");
                    starts[pc] = true;
                    for arg in &args {
                        match arg {
                            Arg::Word(Operand::Slot, s) => assert!(*s < frame, "{i}={v}"),
                            Arg::Word(Operand::Target, t) => jumps.push(*t),
                            Arg::Targets(t) => jumps.extend(t),
                            _ => {}
                        }
                    }
                    last = Some(op);
                    pc = next;
                }
                for t in jumps {
                    assert!(starts.get(t as usize) == Some(&true), "{i}={v}: target {t}");
                }
                use Op::*;
                let last = last.expect("accepted code is not empty");
                assert!(
                    matches!(
                        last,
                        Unreachable | Br | BrTable | Return | ReturnCall | ReturnCallIndirect
                    ),
                    "{i}={v}: ends with {}",
                    last.name()
                );
            }
        }
        assert!(accepted > len, "the mutations exercise accepted code too");
    }
}
