//! Constant expressions (global initialisers, segment offsets and items) and the check of
//! references written into tables.

use super::*;

/// Checks a value about to be written into `table`: in a funcref table it must be null or a
/// function of the store (`address + 1`, with `funcs` functions), since `call_indirect` takes
/// an entry for a function. Code slots are untyped, so only a crafted image can get here with
/// other bits, and it is refused as invalid code, not run.
pub(super) fn check_ref(
    table: &crate::store::Table,
    value: u64,
    funcs: usize,
) -> Result<(), TrapKind> {
    if table.ty.elem == valtype::FUNCREF && value > funcs as u64 {
        return Err(bad_ref(value));
    }
    Ok(())
}

/// The refusal of a funcref value that is no function.
#[cold]
pub(super) fn bad_ref(value: u64) -> TrapKind {
    TrapKind::InvalidCode(format!(
        "{value:#x} is not a function reference, but is used as one in a funcref table"
    ))
}

/// Evaluates a constant expression in the context of an instance.
pub(crate) fn eval_const(
    expr: &ArchivedConstExpr,
    inst: &Instance,
    globals: &[crate::store::GlobalInst],
) -> u64 {
    let mut stack: Vec<u64> = Vec::with_capacity(4);
    for op in expr.ops.iter() {
        let v = match op {
            ArchivedConstOp::I32(v) => v.to_native() as u32 as u64,
            ArchivedConstOp::I64(v) => v.to_native() as u64,
            ArchivedConstOp::F32(v) => v.to_native() as u64,
            ArchivedConstOp::F64(v) => v.to_native(),
            ArchivedConstOp::RefNull => 0,
            ArchivedConstOp::RefFunc(f) => inst.funcs[f.to_native() as usize] as u64 + 1,
            ArchivedConstOp::GlobalGet(g) => {
                globals[inst.globals[g.to_native() as usize] as usize].value
            }
            binary => {
                let b = stack.pop().unwrap_or(0);
                let a = stack.pop().unwrap_or(0);
                match binary {
                    ArchivedConstOp::I32Add => (a as u32).wrapping_add(b as u32) as u64,
                    ArchivedConstOp::I32Sub => (a as u32).wrapping_sub(b as u32) as u64,
                    ArchivedConstOp::I32Mul => (a as u32).wrapping_mul(b as u32) as u64,
                    ArchivedConstOp::I64Add => a.wrapping_add(b),
                    ArchivedConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
        };
        stack.push(v);
    }
    stack.pop().unwrap_or(0)
}
