//! Which register instruction a Wasm operator becomes: the numeric operators, and the fused
//! forms of an operation with an immediate operand or followed by a branch on its result.

use chiwawa_format::Op;
use wasmparser::Operator;

/// The register op and arity (1 or 2) of a numeric Wasm operator.
pub(crate) fn numeric(op: &Operator<'_>) -> Option<(Op, u8)> {
    use Operator as O;
    macro_rules! map {
        ($($wasm:ident => $op:ident / $n:literal,)*) => {
            match op {
                $(O::$wasm => Some((Op::$op, $n)),)*
                _ => None,
            }
        };
    }
    map! {
        I32Eqz => I32Eqz / 1, I32Eq => I32Eq / 2, I32Ne => I32Ne / 2,
        I32LtS => I32LtS / 2, I32LtU => I32LtU / 2, I32GtS => I32GtS / 2, I32GtU => I32GtU / 2,
        I32LeS => I32LeS / 2, I32LeU => I32LeU / 2, I32GeS => I32GeS / 2, I32GeU => I32GeU / 2,
        I32Clz => I32Clz / 1, I32Ctz => I32Ctz / 1, I32Popcnt => I32Popcnt / 1,
        I32Add => I32Add / 2, I32Sub => I32Sub / 2, I32Mul => I32Mul / 2,
        I32DivS => I32DivS / 2, I32DivU => I32DivU / 2, I32RemS => I32RemS / 2,
        I32RemU => I32RemU / 2, I32And => I32And / 2, I32Or => I32Or / 2, I32Xor => I32Xor / 2,
        I32Shl => I32Shl / 2, I32ShrS => I32ShrS / 2, I32ShrU => I32ShrU / 2,
        I32Rotl => I32Rotl / 2, I32Rotr => I32Rotr / 2,
        I64Eqz => I64Eqz / 1, I64Eq => I64Eq / 2, I64Ne => I64Ne / 2,
        I64LtS => I64LtS / 2, I64LtU => I64LtU / 2, I64GtS => I64GtS / 2, I64GtU => I64GtU / 2,
        I64LeS => I64LeS / 2, I64LeU => I64LeU / 2, I64GeS => I64GeS / 2, I64GeU => I64GeU / 2,
        I64Clz => I64Clz / 1, I64Ctz => I64Ctz / 1, I64Popcnt => I64Popcnt / 1,
        I64Add => I64Add / 2, I64Sub => I64Sub / 2, I64Mul => I64Mul / 2,
        I64DivS => I64DivS / 2, I64DivU => I64DivU / 2, I64RemS => I64RemS / 2,
        I64RemU => I64RemU / 2, I64And => I64And / 2, I64Or => I64Or / 2, I64Xor => I64Xor / 2,
        I64Shl => I64Shl / 2, I64ShrS => I64ShrS / 2, I64ShrU => I64ShrU / 2,
        I64Rotl => I64Rotl / 2, I64Rotr => I64Rotr / 2,
        F32Eq => F32Eq / 2, F32Ne => F32Ne / 2, F32Lt => F32Lt / 2, F32Gt => F32Gt / 2,
        F32Le => F32Le / 2, F32Ge => F32Ge / 2,
        F32Abs => F32Abs / 1, F32Neg => F32Neg / 1, F32Ceil => F32Ceil / 1,
        F32Floor => F32Floor / 1, F32Trunc => F32Trunc / 1, F32Nearest => F32Nearest / 1,
        F32Sqrt => F32Sqrt / 1, F32Add => F32Add / 2, F32Sub => F32Sub / 2, F32Mul => F32Mul / 2,
        F32Div => F32Div / 2, F32Min => F32Min / 2, F32Max => F32Max / 2,
        F32Copysign => F32Copysign / 2,
        F64Eq => F64Eq / 2, F64Ne => F64Ne / 2, F64Lt => F64Lt / 2, F64Gt => F64Gt / 2,
        F64Le => F64Le / 2, F64Ge => F64Ge / 2,
        F64Abs => F64Abs / 1, F64Neg => F64Neg / 1, F64Ceil => F64Ceil / 1,
        F64Floor => F64Floor / 1, F64Trunc => F64Trunc / 1, F64Nearest => F64Nearest / 1,
        F64Sqrt => F64Sqrt / 1, F64Add => F64Add / 2, F64Sub => F64Sub / 2, F64Mul => F64Mul / 2,
        F64Div => F64Div / 2, F64Min => F64Min / 2, F64Max => F64Max / 2,
        F64Copysign => F64Copysign / 2,
        I32WrapI64 => I32WrapI64 / 1,
        I32TruncF32S => I32TruncF32S / 1, I32TruncF32U => I32TruncF32U / 1,
        I32TruncF64S => I32TruncF64S / 1, I32TruncF64U => I32TruncF64U / 1,
        I64ExtendI32S => I64ExtendI32S / 1, I64ExtendI32U => I64ExtendI32U / 1,
        I64TruncF32S => I64TruncF32S / 1, I64TruncF32U => I64TruncF32U / 1,
        I64TruncF64S => I64TruncF64S / 1, I64TruncF64U => I64TruncF64U / 1,
        F32ConvertI32S => F32ConvertI32S / 1, F32ConvertI32U => F32ConvertI32U / 1,
        F32ConvertI64S => F32ConvertI64S / 1, F32ConvertI64U => F32ConvertI64U / 1,
        F32DemoteF64 => F32DemoteF64 / 1,
        F64ConvertI32S => F64ConvertI32S / 1, F64ConvertI32U => F64ConvertI32U / 1,
        F64ConvertI64S => F64ConvertI64S / 1, F64ConvertI64U => F64ConvertI64U / 1,
        F64PromoteF32 => F64PromoteF32 / 1,
        I32Extend8S => I32Extend8S / 1, I32Extend16S => I32Extend16S / 1,
        I64Extend8S => I64Extend8S / 1, I64Extend16S => I64Extend16S / 1,
        I64Extend32S => I64Extend32S / 1,
        I32TruncSatF32S => I32TruncSatF32S / 1, I32TruncSatF32U => I32TruncSatF32U / 1,
        I32TruncSatF64S => I32TruncSatF64S / 1, I32TruncSatF64U => I32TruncSatF64U / 1,
        I64TruncSatF32S => I64TruncSatF32S / 1, I64TruncSatF32U => I64TruncSatF32U / 1,
        I64TruncSatF64S => I64TruncSatF64S / 1, I64TruncSatF64U => I64TruncSatF64U / 1,
    }
}

/// A branch condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cond {
    /// Slot is nonzero.
    Nez(u32),
    /// Slot is zero (`i32.eqz` fused away).
    Eqz(u32),
    /// A fused comparison: the branch op and its two operands (slot, slot or immediate).
    Cmp { op: Op, a: u32, b: u32 },
}

/// The immediate form of a binary op whose right operand is the constant `c`.
pub(crate) fn immediate_form(op: Op, c: u64) -> Option<(Op, u32)> {
    let c32 = c as u32;
    let imm = match op {
        Op::I32Add => Op::I32AddImm,
        Op::I32Sub => return Some((Op::I32AddImm, c32.wrapping_neg())),
        Op::I32Mul => Op::I32MulImm,
        Op::I32And => Op::I32AndImm,
        Op::I32Or => Op::I32OrImm,
        Op::I32Xor => Op::I32XorImm,
        Op::I32Shl => Op::I32ShlImm,
        Op::I32ShrS => Op::I32ShrSImm,
        Op::I32ShrU => Op::I32ShrUImm,
        Op::I32Eq => Op::I32EqImm,
        Op::I32Ne => Op::I32NeImm,
        Op::I32LtS => Op::I32LtSImm,
        Op::I32LtU => Op::I32LtUImm,
        Op::I32GtS => Op::I32GtSImm,
        Op::I32GtU => Op::I32GtUImm,
        Op::I32LeS => Op::I32LeSImm,
        Op::I32LeU => Op::I32LeUImm,
        Op::I32GeS => Op::I32GeSImm,
        Op::I32GeU => Op::I32GeUImm,
        Op::I32Rotl => Op::I32RotlImm,
        Op::I32Rotr => return Some((Op::I32RotlImm, 32u32.wrapping_sub(c32) & 31)),
        Op::I64Rotr => return Some((Op::I64RotlImm, 64u32.wrapping_sub(c32) & 63)),
        // 64-bit immediates are 32 bits, sign-extended.
        Op::I64Add
        | Op::I64Sub
        | Op::I64And
        | Op::I64Shl
        | Op::I64ShrU
        | Op::I64Mul
        | Op::I64Or
        | Op::I64Xor
        | Op::I64ShrS
        | Op::I64Rotl => {
            let v = if op == Op::I64Sub {
                (c as i64).wrapping_neg()
            } else {
                c as i64
            };
            if v != v as i32 as i64 {
                return None;
            }
            let imm = match op {
                Op::I64Add | Op::I64Sub => Op::I64AddImm,
                Op::I64And => Op::I64AndImm,
                Op::I64Shl => Op::I64ShlImm,
                Op::I64Mul => Op::I64MulImm,
                Op::I64Or => Op::I64OrImm,
                Op::I64Xor => Op::I64XorImm,
                Op::I64ShrS => Op::I64ShrSImm,
                Op::I64Rotl => Op::I64RotlImm,
                _ => Op::I64ShrUImm,
            };
            return Some((imm, v as i32 as u32));
        }
        _ => return None,
    };
    Some((imm, c32))
}

/// For an i32 comparison: the fused branch with a slot operand and with an immediate.
pub(crate) fn branch_form(op: Op) -> Option<(Op, Op)> {
    Some(match op {
        Op::I32Eq | Op::I32EqImm => (Op::BrI32Eq, Op::BrI32EqImm),
        Op::I32Ne | Op::I32NeImm => (Op::BrI32Ne, Op::BrI32NeImm),
        Op::I32LtS | Op::I32LtSImm => (Op::BrI32LtS, Op::BrI32LtSImm),
        Op::I32LtU | Op::I32LtUImm => (Op::BrI32LtU, Op::BrI32LtUImm),
        Op::I32GtS | Op::I32GtSImm => (Op::BrI32GtS, Op::BrI32GtSImm),
        Op::I32GtU | Op::I32GtUImm => (Op::BrI32GtU, Op::BrI32GtUImm),
        Op::I32LeS | Op::I32LeSImm => (Op::BrI32LeS, Op::BrI32LeSImm),
        Op::I32LeU | Op::I32LeUImm => (Op::BrI32LeU, Op::BrI32LeUImm),
        Op::I32GeS | Op::I32GeSImm => (Op::BrI32GeS, Op::BrI32GeSImm),
        Op::I32GeU | Op::I32GeUImm => (Op::BrI32GeU, Op::BrI32GeUImm),
        // No i64 comparison has an immediate form, so the second is never used.
        Op::I64Eq => (Op::BrI64Eq, Op::BrI64Eq),
        Op::I64Ne => (Op::BrI64Ne, Op::BrI64Ne),
        Op::I64LtS => (Op::BrI64LtS, Op::BrI64LtS),
        Op::I64LtU => (Op::BrI64LtU, Op::BrI64LtU),
        Op::I64GtS => (Op::BrI64GtS, Op::BrI64GtS),
        Op::I64GtU => (Op::BrI64GtU, Op::BrI64GtU),
        Op::I64LeS => (Op::BrI64LeS, Op::BrI64LeS),
        Op::I64LeU => (Op::BrI64LeU, Op::BrI64LeU),
        Op::I64GeS => (Op::BrI64GeS, Op::BrI64GeS),
        Op::I64GeU => (Op::BrI64GeU, Op::BrI64GeU),
        _ => return None,
    })
}

/// The branch taken exactly when `op`'s is not (integer comparisons invert exactly).
pub(crate) fn inverse_branch(op: Op) -> Op {
    match op {
        Op::BrI32Eq => Op::BrI32Ne,
        Op::BrI32Ne => Op::BrI32Eq,
        Op::BrI32LtS => Op::BrI32GeS,
        Op::BrI32GeS => Op::BrI32LtS,
        Op::BrI32LtU => Op::BrI32GeU,
        Op::BrI32GeU => Op::BrI32LtU,
        Op::BrI32GtS => Op::BrI32LeS,
        Op::BrI32LeS => Op::BrI32GtS,
        Op::BrI32GtU => Op::BrI32LeU,
        Op::BrI32LeU => Op::BrI32GtU,
        Op::BrI32EqImm => Op::BrI32NeImm,
        Op::BrI32NeImm => Op::BrI32EqImm,
        Op::BrI32LtSImm => Op::BrI32GeSImm,
        Op::BrI32GeSImm => Op::BrI32LtSImm,
        Op::BrI32LtUImm => Op::BrI32GeUImm,
        Op::BrI32GeUImm => Op::BrI32LtUImm,
        Op::BrI32GtSImm => Op::BrI32LeSImm,
        Op::BrI32LeSImm => Op::BrI32GtSImm,
        Op::BrI32GtUImm => Op::BrI32LeUImm,
        Op::BrI32LeUImm => Op::BrI32GtUImm,
        Op::BrI64Eq => Op::BrI64Ne,
        Op::BrI64Ne => Op::BrI64Eq,
        Op::BrI64LtS => Op::BrI64GeS,
        Op::BrI64GeS => Op::BrI64LtS,
        Op::BrI64LtU => Op::BrI64GeU,
        Op::BrI64GeU => Op::BrI64LtU,
        Op::BrI64GtS => Op::BrI64LeS,
        Op::BrI64LeS => Op::BrI64GtS,
        Op::BrI64GtU => Op::BrI64LeU,
        Op::BrI64LeU => Op::BrI64GtU,
        Op::BrI32AndImmNez => Op::BrI32AndImmEqz,
        Op::BrI32AndImmEqz => Op::BrI32AndImmNez,
        other => unreachable!("{other:?} is not a fused comparison branch"),
    }
}
