//! Validating and translating a function body in one pass over its operators.

use chiwawa_format::{Func, FuncType, Op};
use wasmparser::{
    BinaryReaderError, FrameKind, FrameStack, FuncValidator, FunctionBody, Operator, VisitOperator,
    VisitSimdOperator, WasmModuleResources,
};

use crate::func::{count_locals, FuncTranslator, Kind, Scratch};
use crate::TranslateError;

/// Validates one function body with `validator` and translates it in the same pass: every
/// operator is decoded once, validated, and then translated, so the translator only ever sees
/// operators the validator accepted.
///
/// The outer error is the validator's (the body is invalid), found and reported exactly as
/// [`FuncValidator::validate`] does: the same reads of the same bytes, with the validator's
/// control stack deciding what a byte means. The inner one says that a valid body cannot be
/// translated; the body is still validated to its end first.
pub(crate) fn validate_and_translate<R: WasmModuleResources>(
    types: &[FuncType],
    func_types: &[u32],
    ty: u32,
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<R>,
    scratch: &mut Scratch,
) -> Result<Result<Func, TranslateError>, BinaryReaderError> {
    let mut reader = body.get_binary_reader();
    validator.read_locals(&mut reader)?;
    reader.set_features(*validator.features());
    let mut failed = None;
    let num_locals = count_locals(&types[ty as usize], body).unwrap_or_else(|e| {
        failed = Some(e);
        0
    });
    let mut t = FuncTranslator::new(types, func_types, ty, num_locals, scratch);
    while !reader.eof() {
        let mut both = ValidateAndTranslate {
            validator: validator.visitor(reader.original_position()),
            translator: &mut t,
            failed: &mut failed,
        };
        reader.visit_operator(&mut both)??;
    }
    reader.finish_expression(&validator.visitor(reader.original_position()))?;
    Ok(match failed {
        None => t.finish(ty, scratch),
        Some(e) => {
            t.recycle(scratch);
            Err(e)
        }
    })
}

/// The visitor of [`validate_and_translate`]: it hands each operator to the validator and,
/// once the validator accepted it, to the translator (until the translator fails). The
/// validator's control stack is the decoder's, as in [`FuncValidator::validate`].
struct ValidateAndTranslate<'t, 'f, V> {
    validator: V,
    translator: &'t mut FuncTranslator<'f>,
    failed: &'t mut Option<TranslateError>,
}

impl<V> ValidateAndTranslate<'_, '_, V> {
    /// Translates `op`. Inlined into each visitor method, where `op` is one known operator:
    /// the most frequent ones go straight to their translation (what `operator` does for them
    /// in reachable code), the others through `operator`.
    #[inline(always)]
    fn translate(&mut self, op: Operator<'_>) {
        if self.failed.is_some() {
            return;
        }
        // Dropped only on the way through `operator` below: the operators translated straight
        // away own nothing, and the drop glue of `Operator` is a call that does not inline.
        let op = std::mem::ManuallyDrop::new(op);
        let t = &mut *self.translator;
        if t.dead.is_none() {
            use Operator as O;
            match *op {
                O::LocalGet { local_index } => return t.local_get(local_index),
                O::LocalSet { local_index } => return t.set_local(local_index, false),
                O::LocalTee { local_index } => return t.set_local(local_index, true),
                O::I32Const { value } => return t.push_const(value as u32 as u64),
                O::I32Load { memarg } => return t.load(Op::I32Load, memarg.offset),
                O::I32Store { memarg } => return t.store(Op::I32Store, memarg.offset),
                O::I32Add => return t.binary(Op::I32Add),
                O::I32Sub => return t.binary(Op::I32Sub),
                O::I32And => return t.binary(Op::I32And),
                O::I32Eq => return t.binary(Op::I32Eq),
                O::I32Ne => return t.binary(Op::I32Ne),
                O::I32Eqz => return t.unary(Op::I32Eqz),
                O::Call { function_index } => return t.call(function_index),
                O::BrIf { relative_depth } => return t.br_if(relative_depth),
                O::End => return t.end(),
                O::Block { blockty } => return t.push_ctrl(Kind::Block, blockty),
                O::Loop { blockty } => return t.push_ctrl(Kind::Loop, blockty),
                O::Br { relative_depth } => {
                    t.branch(relative_depth);
                    return t.set_dead();
                }
                O::I32Load8U { memarg } => return t.load(Op::I32Load8U, memarg.offset),
                O::I32Store8 { memarg } => return t.store(Op::I32Store8, memarg.offset),
                O::I64Load { memarg } => return t.load(Op::I64Load, memarg.offset),
                O::I64Store { memarg } => return t.store(Op::I64Store, memarg.offset),
                O::I64Const { value } => return t.push_const(value as u64),
                O::I32Or => return t.binary(Op::I32Or),
                O::I32Xor => return t.binary(Op::I32Xor),
                O::I32Shl => return t.binary(Op::I32Shl),
                O::I32ShrU => return t.binary(Op::I32ShrU),
                O::I32Mul => return t.binary(Op::I32Mul),
                O::I32LtU => return t.binary(Op::I32LtU),
                O::I32LtS => return t.binary(Op::I32LtS),
                O::I32GtU => return t.binary(Op::I32GtU),
                O::I32GtS => return t.binary(Op::I32GtS),
                O::I32GeU => return t.binary(Op::I32GeU),
                O::I32LeU => return t.binary(Op::I32LeU),
                O::I64Add => return t.binary(Op::I64Add),
                _ => {}
            }
        }
        let result = t.operator(&op);
        drop(std::mem::ManuallyDrop::into_inner(op));
        if let Err(e) = result {
            *self.failed = Some(e);
        }
    }
}

impl<V: FrameStack> FrameStack for ValidateAndTranslate<'_, '_, V> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.validator.current_frame()
    }
}

macro_rules! validate_and_translate_ops {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.validator.$visit($($($arg.clone()),*)?)?;
                self.translate(Operator::$op $({ $($arg),* })?);
                Ok(())
            }
        )*
    };
}

macro_rules! validate_and_translate_simd_ops {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                // The validator decodes SIMD operators too (and rejects them: SIMD is not
                // among the features), so a SIMD body fails as in `FuncValidator::validate`.
                match self.validator.simd_visitor() {
                    Some(v) => v.$visit($($($arg.clone()),*)?)?,
                    None => unreachable!("the validator visits SIMD operators"),
                }
                self.translate(Operator::$op $({ $($arg),* })?);
                Ok(())
            }
        )*
    };
}

impl<'a, V> VisitOperator<'a> for ValidateAndTranslate<'_, '_, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    type Output = wasmparser::Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(validate_and_translate_ops);
}

impl<'a, V> VisitSimdOperator<'a> for ValidateAndTranslate<'_, '_, V>
where
    V: VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    wasmparser::for_each_visit_simd_operator!(validate_and_translate_simd_ops);
}
