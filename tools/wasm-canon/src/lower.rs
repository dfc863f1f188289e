//! `--lower-bulk-memory`: `memory.copy` and `memory.fill` on memory 0 become calls of two
//! functions appended to the module, for engines of the Wasm 1.0 era that lack bulk memory
//! (wasm3 0.4.7). The helpers check bounds first (trapping before any write, as the
//! instructions do), copy 8 bytes at a time and then bytes, and copy backwards when the
//! destination is above the source, so overlapping copies are right.

use wasm_encoder::reencode::{utils, Error, Reencode};
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, MemArgTarget, ValType};

/// The re-encoder that lowers; indices of the appended type and functions come from a first
/// pass over the module.
pub struct LowerBulkMemory {
    /// Index of the appended type `(i32, i32, i32) -> ()`.
    ty: u32,
    /// Function indices of the appended `copy(dst, src, n)` and `fill(dst, value, n)`.
    copy: u32,
    fill: u32,
}

impl LowerBulkMemory {
    /// Counts `wasm`'s types and functions (the appended ones come after them).
    pub fn new(wasm: &[u8]) -> Result<LowerBulkMemory, String> {
        let (mut types, mut imported, mut defined) = (None, 0u32, None);
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| e.to_string())? {
                wasmparser::Payload::TypeSection(r) => types = Some(r.count()),
                wasmparser::Payload::ImportSection(r) => {
                    for import in r.into_imports() {
                        let import = import.map_err(|e| e.to_string())?;
                        if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                            imported += 1;
                        }
                    }
                }
                wasmparser::Payload::FunctionSection(r) => defined = Some(r.count()),
                _ => {}
            }
        }
        let (Some(ty), Some(defined)) = (types, defined) else {
            return Err("lowering needs a type and a function section".into());
        };
        let first = imported + defined;
        Ok(LowerBulkMemory {
            ty,
            copy: first,
            fill: first + 1,
        })
    }
}

const BYTE: MemArg = MemArg {
    offset: 0,
    align: 0,
    target: MemArgTarget::Memory(0),
    ordering: None,
};

fn emit(f: &mut Function, instructions: &[I]) {
    for i in instructions {
        f.instruction(i);
    }
}

/// Sets local `limit` (i64) to memory 0's size in bytes. Read into a local first, before any
/// other value is live: wasm3 0.4.7 loses a live register value across `memory.size`.
fn read_limit(f: &mut Function, limit: u32) {
    emit(
        f,
        &[
            I::MemorySize(0),
            I::I64ExtendI32U,
            I::I64Const(16),
            I::I64Shl,
            I::LocalSet(limit),
        ],
    );
}

/// Traps unless `local(at) + local(len)` bytes fit below `local(limit)`.
fn check_bounds(f: &mut Function, at: u32, len: u32, limit: u32) {
    emit(
        f,
        &[
            I::LocalGet(at),
            I::I64ExtendI32U,
            I::LocalGet(len),
            I::I64ExtendI32U,
            I::I64Add,
            I::LocalGet(limit),
            I::I64GtU,
            I::If(BlockType::Empty),
            I::Unreachable,
            I::End,
        ],
    );
}

/// `local(x) += delta` (i32, wrapping).
fn bump(f: &mut Function, x: u32, delta: i32) {
    emit(
        f,
        &[
            I::LocalGet(x),
            I::I32Const(delta),
            I::I32Add,
            I::LocalSet(x),
        ],
    );
}

/// A loop that runs `body` while `local(n) >= step` (bytes), taking `step` off `n` each time.
fn chunks(f: &mut Function, n: u32, step: i32, body: &dyn Fn(&mut Function)) {
    emit(
        f,
        &[
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(n),
            I::I32Const(step),
            I::I32LtU,
            I::BrIf(1),
        ],
    );
    body(f);
    bump(f, n, -step);
    emit(f, &[I::Br(0), I::End, I::End]);
}

/// `copy(dst, src, n)`, as `memory.copy` on memory 0.
fn copy_body() -> Function {
    let (d, s, n, limit) = (0, 1, 2, 3);
    let mut f = Function::new([(1, ValType::I64)]);
    read_limit(&mut f, limit);
    check_bounds(&mut f, d, n, limit);
    check_bounds(&mut f, s, n, limit);
    let word = |f: &mut Function| {
        emit(
            f,
            &[
                I::LocalGet(d),
                I::LocalGet(s),
                I::I64Load(BYTE),
                I::I64Store(BYTE),
            ],
        );
    };
    let byte = |f: &mut Function| {
        emit(
            f,
            &[
                I::LocalGet(d),
                I::LocalGet(s),
                I::I32Load8U(BYTE),
                I::I32Store8(BYTE),
            ],
        );
    };
    emit(
        &mut f,
        &[
            I::LocalGet(d),
            I::LocalGet(s),
            I::I32LeU,
            I::If(BlockType::Empty),
        ],
    );
    // Forwards: every word is read before the write that could overlap it.
    chunks(&mut f, n, 8, &|f| {
        word(f);
        bump(f, d, 8);
        bump(f, s, 8);
    });
    chunks(&mut f, n, 1, &|f| {
        byte(f);
        bump(f, d, 1);
        bump(f, s, 1);
    });
    f.instruction(&I::Else);
    // Backwards, from the ends.
    for x in [d, s] {
        emit(
            &mut f,
            &[I::LocalGet(x), I::LocalGet(n), I::I32Add, I::LocalSet(x)],
        );
    }
    chunks(&mut f, n, 8, &|f| {
        bump(f, d, -8);
        bump(f, s, -8);
        word(f);
    });
    chunks(&mut f, n, 1, &|f| {
        bump(f, d, -1);
        bump(f, s, -1);
        byte(f);
    });
    emit(&mut f, &[I::End, I::End]);
    f
}

/// `fill(dst, value, n)`, as `memory.fill` on memory 0.
fn fill_body() -> Function {
    let (d, v, n, limit, w) = (0, 1, 2, 3, 4);
    let mut f = Function::new([(2, ValType::I64)]);
    read_limit(&mut f, limit);
    check_bounds(&mut f, d, n, limit);
    emit(
        &mut f,
        &[
            I::LocalGet(v),
            I::I32Const(0xff),
            I::I32And,
            I::I64ExtendI32U,
            I::I64Const(0x0101_0101_0101_0101),
            I::I64Mul,
            I::LocalSet(w),
        ],
    );
    chunks(&mut f, n, 8, &|f| {
        emit(f, &[I::LocalGet(d), I::LocalGet(w), I::I64Store(BYTE)]);
        bump(f, d, 8);
    });
    chunks(&mut f, n, 1, &|f| {
        emit(f, &[I::LocalGet(d), I::LocalGet(v), I::I32Store8(BYTE)]);
        bump(f, d, 1);
    });
    f.instruction(&I::End);
    f
}

impl Reencode for LowerBulkMemory {
    type Error = std::convert::Infallible;

    fn instruction<'a>(
        &mut self,
        arg: wasmparser::Operator<'a>,
    ) -> Result<I<'a>, Error<Self::Error>> {
        Ok(match arg {
            wasmparser::Operator::MemoryCopy {
                dst_mem: 0,
                src_mem: 0,
            } => I::Call(self.copy),
            wasmparser::Operator::MemoryFill { mem: 0 } => I::Call(self.fill),
            other => utils::instruction(self, other)?,
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32; 3], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_function_section(self, functions, section)?;
        functions.function(self.ty);
        functions.function(self.ty);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_code_section(self, code, section)?;
        code.function(&copy_body());
        code.function(&fill_body());
        Ok(())
    }
}
