//! The register instruction set, defined once.
//!
//! An image holds a function's code as a dense stream of little-endian `u16` *units*. An
//! instruction is one opcode unit followed by its operands, in the order the table below lists
//! them. Operand kinds, and the units each takes:
//!
//! - `Slot` (1): an index into the current frame (locals first, then temporaries); below the
//!   frame size, which is at most [`MAX_FRAME`].
//! - `Imm32` (2): a 32-bit immediate (memory offsets, i32/f32 bits, counts), low half first.
//! - `Imm64` (4): a 64-bit immediate, low half first.
//! - `Target` (2): an absolute unit offset inside the same function; must start an instruction.
//! - `Func`, `Type`, `Table`, `Global`, `Memory`, `Data`, `Elem` (2): module index spaces.
//! - `Targets`: a count `n` (2 units, n >= 1) followed by `n` targets (`br_table`: cases, then
//!   default).
//!
//! Halving the slot operands (two thirds of all operands) keeps images about half the size of a
//! `u32` stream, which matters because start-up is dominated by reading the image into fresh
//! memory; reading a unit costs the interpreter the same as reading a word.
//!
//! The translator builds code in *word form* first: one `u32` word per operand (an `Imm64` two,
//! low first; `Targets` a count word then one word per target, targets counted in words), which
//! is easy to patch and rewrite; [`encode`] then packs it into units.
//!
//! The translator's encoder, the runtime's executor and verifier, and the disassembler all take
//! their view of an instruction from this one table, so a new instruction is one row here plus
//! one handler in the executor.

/// Frames have at most this many slots, so that a slot operand fits one unit.
pub const MAX_FRAME: u32 = 1 << 16;

/// The kind of one operand word (or word group) of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Slot,
    Imm32,
    Imm64,
    Target,
    Func,
    Type,
    Table,
    Global,
    Memory,
    Data,
    Elem,
    Targets,
}

impl Operand {
    /// Words this operand takes in word form, when fixed (`Targets` is variable).
    pub const fn words(self) -> Option<usize> {
        match self {
            Operand::Imm64 => Some(2),
            Operand::Targets => None,
            _ => Some(1),
        }
    }

    /// Whether the operand is an index into one of the module's index spaces (functions,
    /// types, tables, globals, memories, data or element segments).
    pub const fn is_index(self) -> bool {
        match self {
            Operand::Func
            | Operand::Type
            | Operand::Table
            | Operand::Global
            | Operand::Memory
            | Operand::Data
            | Operand::Elem => true,
            Operand::Slot
            | Operand::Imm32
            | Operand::Imm64
            | Operand::Target
            | Operand::Targets => false,
        }
    }

    /// Units this operand takes in an image, when fixed (`Targets` is variable).
    pub const fn units(self) -> Option<usize> {
        match self {
            Operand::Slot => Some(1),
            Operand::Imm64 => Some(4),
            Operand::Targets => None,
            _ => Some(2),
        }
    }
}

/// Calls `$m!` with every instruction as `Name "text" (operand: Kind, ...);`, a pair as
/// `Name "text" = First + Second (operand: Kind, ...);` (see [`PAIRS`]), after any tokens
/// given after `$m` (`for_each_op!(m a b)` calls `m! { a b rows... }`).
///
/// Semantics, where the name does not say it all:
/// - every numeric op `dst = op(a[, b])` reads its operands as the Wasm type in its name; 32-bit
///   results are stored zero-extended into the 64-bit slot;
/// - `Return(src, count)` copies `count` slots from `src` upwards to slot 0 upwards (ascending,
///   `src >= 0`, so overlap is safe) and returns to the caller;
/// - `Call(func, base)`: the callee's frame starts at slot `base` of the caller's frame: the
///   arguments are there, and the results are left there;
/// - `ReturnCall(func, base)` moves the arguments at `base` to slot 0 and replaces the frame;
/// - `Select(dst, a, b, cond)`: `dst = if cond != 0 { a } else { b }`;
/// - `RefFunc(dst, func)` writes the function reference of `func` (a nonzero value).
#[macro_export]
macro_rules! for_each_op {
    ($m:ident $($extra:tt)*) => {
        $m! {
            $($extra)*
            // control
            Unreachable "unreachable" ();
            Br "br" (target: Target);
            BrIfNez "br_if_nez" (cond: Slot, target: Target);
            BrIfEqz "br_if_eqz" (cond: Slot, target: Target);
            BrTable "br_table" (index: Slot, targets: Targets);
            Return "return" (src: Slot, count: Imm32);
            Call "call" (func: Func, base: Slot);
            CallIndirect "call_indirect" (ty: Type, table: Table, index: Slot, base: Slot);
            ReturnCall "return_call" (func: Func, base: Slot);
            ReturnCallIndirect "return_call_indirect" (ty: Type, table: Table, index: Slot, base: Slot);
            Select "select" (dst: Slot, a: Slot, b: Slot, cond: Slot);
            // data movement
            Copy "copy" (dst: Slot, src: Slot);
            Const32 "const32" (dst: Slot, value: Imm32);
            Const64 "const64" (dst: Slot, value: Imm64);
            GlobalGet "global.get" (dst: Slot, global: Global);
            GlobalSet "global.set" (global: Global, src: Slot);
            RefFunc "ref.func" (dst: Slot, func: Func);
            // memory (loads: dst, address, offset; stores: address, value, offset)
            I32Load "i32.load" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load "i64.load" (dst: Slot, addr: Slot, offset: Imm32);
            I32Load8S "i32.load8_s" (dst: Slot, addr: Slot, offset: Imm32);
            I32Load8U "i32.load8_u" (dst: Slot, addr: Slot, offset: Imm32);
            I32Load16S "i32.load16_s" (dst: Slot, addr: Slot, offset: Imm32);
            I32Load16U "i32.load16_u" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load8S "i64.load8_s" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load8U "i64.load8_u" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load16S "i64.load16_s" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load16U "i64.load16_u" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load32S "i64.load32_s" (dst: Slot, addr: Slot, offset: Imm32);
            I64Load32U "i64.load32_u" (dst: Slot, addr: Slot, offset: Imm32);
            I32Store "i32.store" (addr: Slot, src: Slot, offset: Imm32);
            I64Store "i64.store" (addr: Slot, src: Slot, offset: Imm32);
            // narrow stores take the low bits of any integer slot (i64.store8 uses i32.store8)
            I32Store8 "i32.store8" (addr: Slot, src: Slot, offset: Imm32);
            I32Store16 "i32.store16" (addr: Slot, src: Slot, offset: Imm32);
            I64Store32 "i64.store32" (addr: Slot, src: Slot, offset: Imm32);
            MemorySize "memory.size" (dst: Slot, memory: Memory);
            MemoryGrow "memory.grow" (dst: Slot, memory: Memory, delta: Slot);
            MemoryFill "memory.fill" (memory: Memory, dst: Slot, value: Slot, len: Slot);
            MemoryCopy "memory.copy" (dst_memory: Memory, src_memory: Memory, dst: Slot, src: Slot, len: Slot);
            MemoryInit "memory.init" (memory: Memory, data: Data, dst: Slot, src: Slot, len: Slot);
            DataDrop "data.drop" (data: Data);
            // tables
            TableGet "table.get" (dst: Slot, table: Table, index: Slot);
            TableSet "table.set" (table: Table, index: Slot, value: Slot);
            TableSize "table.size" (dst: Slot, table: Table);
            TableGrow "table.grow" (dst: Slot, table: Table, init: Slot, delta: Slot);
            TableFill "table.fill" (table: Table, dst: Slot, value: Slot, len: Slot);
            TableCopy "table.copy" (dst_table: Table, src_table: Table, dst: Slot, src: Slot, len: Slot);
            TableInit "table.init" (table: Table, elem: Elem, dst: Slot, src: Slot, len: Slot);
            ElemDrop "elem.drop" (elem: Elem);
            // i32
            I32Eqz "i32.eqz" (dst: Slot, a: Slot);
            I32Eq "i32.eq" (dst: Slot, a: Slot, b: Slot);
            I32Ne "i32.ne" (dst: Slot, a: Slot, b: Slot);
            I32LtS "i32.lt_s" (dst: Slot, a: Slot, b: Slot);
            I32LtU "i32.lt_u" (dst: Slot, a: Slot, b: Slot);
            I32GtS "i32.gt_s" (dst: Slot, a: Slot, b: Slot);
            I32GtU "i32.gt_u" (dst: Slot, a: Slot, b: Slot);
            I32LeS "i32.le_s" (dst: Slot, a: Slot, b: Slot);
            I32LeU "i32.le_u" (dst: Slot, a: Slot, b: Slot);
            I32GeS "i32.ge_s" (dst: Slot, a: Slot, b: Slot);
            I32GeU "i32.ge_u" (dst: Slot, a: Slot, b: Slot);
            I32Clz "i32.clz" (dst: Slot, a: Slot);
            I32Ctz "i32.ctz" (dst: Slot, a: Slot);
            I32Popcnt "i32.popcnt" (dst: Slot, a: Slot);
            I32Add "i32.add" (dst: Slot, a: Slot, b: Slot);
            I32Sub "i32.sub" (dst: Slot, a: Slot, b: Slot);
            I32Mul "i32.mul" (dst: Slot, a: Slot, b: Slot);
            I32DivS "i32.div_s" (dst: Slot, a: Slot, b: Slot);
            I32DivU "i32.div_u" (dst: Slot, a: Slot, b: Slot);
            I32RemS "i32.rem_s" (dst: Slot, a: Slot, b: Slot);
            I32RemU "i32.rem_u" (dst: Slot, a: Slot, b: Slot);
            I32And "i32.and" (dst: Slot, a: Slot, b: Slot);
            I32Or "i32.or" (dst: Slot, a: Slot, b: Slot);
            I32Xor "i32.xor" (dst: Slot, a: Slot, b: Slot);
            I32Shl "i32.shl" (dst: Slot, a: Slot, b: Slot);
            I32ShrS "i32.shr_s" (dst: Slot, a: Slot, b: Slot);
            I32ShrU "i32.shr_u" (dst: Slot, a: Slot, b: Slot);
            I32Rotl "i32.rotl" (dst: Slot, a: Slot, b: Slot);
            I32Rotr "i32.rotr" (dst: Slot, a: Slot, b: Slot);
            // i64
            I64Eqz "i64.eqz" (dst: Slot, a: Slot);
            I64Eq "i64.eq" (dst: Slot, a: Slot, b: Slot);
            I64Ne "i64.ne" (dst: Slot, a: Slot, b: Slot);
            I64LtS "i64.lt_s" (dst: Slot, a: Slot, b: Slot);
            I64LtU "i64.lt_u" (dst: Slot, a: Slot, b: Slot);
            I64GtS "i64.gt_s" (dst: Slot, a: Slot, b: Slot);
            I64GtU "i64.gt_u" (dst: Slot, a: Slot, b: Slot);
            I64LeS "i64.le_s" (dst: Slot, a: Slot, b: Slot);
            I64LeU "i64.le_u" (dst: Slot, a: Slot, b: Slot);
            I64GeS "i64.ge_s" (dst: Slot, a: Slot, b: Slot);
            I64GeU "i64.ge_u" (dst: Slot, a: Slot, b: Slot);
            I64Clz "i64.clz" (dst: Slot, a: Slot);
            I64Ctz "i64.ctz" (dst: Slot, a: Slot);
            I64Popcnt "i64.popcnt" (dst: Slot, a: Slot);
            I64Add "i64.add" (dst: Slot, a: Slot, b: Slot);
            I64Sub "i64.sub" (dst: Slot, a: Slot, b: Slot);
            I64Mul "i64.mul" (dst: Slot, a: Slot, b: Slot);
            I64DivS "i64.div_s" (dst: Slot, a: Slot, b: Slot);
            I64DivU "i64.div_u" (dst: Slot, a: Slot, b: Slot);
            I64RemS "i64.rem_s" (dst: Slot, a: Slot, b: Slot);
            I64RemU "i64.rem_u" (dst: Slot, a: Slot, b: Slot);
            I64And "i64.and" (dst: Slot, a: Slot, b: Slot);
            I64Or "i64.or" (dst: Slot, a: Slot, b: Slot);
            I64Xor "i64.xor" (dst: Slot, a: Slot, b: Slot);
            I64Shl "i64.shl" (dst: Slot, a: Slot, b: Slot);
            I64ShrS "i64.shr_s" (dst: Slot, a: Slot, b: Slot);
            I64ShrU "i64.shr_u" (dst: Slot, a: Slot, b: Slot);
            I64Rotl "i64.rotl" (dst: Slot, a: Slot, b: Slot);
            I64Rotr "i64.rotr" (dst: Slot, a: Slot, b: Slot);
            // f32
            F32Eq "f32.eq" (dst: Slot, a: Slot, b: Slot);
            F32Ne "f32.ne" (dst: Slot, a: Slot, b: Slot);
            F32Lt "f32.lt" (dst: Slot, a: Slot, b: Slot);
            F32Gt "f32.gt" (dst: Slot, a: Slot, b: Slot);
            F32Le "f32.le" (dst: Slot, a: Slot, b: Slot);
            F32Ge "f32.ge" (dst: Slot, a: Slot, b: Slot);
            F32Abs "f32.abs" (dst: Slot, a: Slot);
            F32Neg "f32.neg" (dst: Slot, a: Slot);
            F32Ceil "f32.ceil" (dst: Slot, a: Slot);
            F32Floor "f32.floor" (dst: Slot, a: Slot);
            F32Trunc "f32.trunc" (dst: Slot, a: Slot);
            F32Nearest "f32.nearest" (dst: Slot, a: Slot);
            F32Sqrt "f32.sqrt" (dst: Slot, a: Slot);
            F32Add "f32.add" (dst: Slot, a: Slot, b: Slot);
            F32Sub "f32.sub" (dst: Slot, a: Slot, b: Slot);
            F32Mul "f32.mul" (dst: Slot, a: Slot, b: Slot);
            F32Div "f32.div" (dst: Slot, a: Slot, b: Slot);
            F32Min "f32.min" (dst: Slot, a: Slot, b: Slot);
            F32Max "f32.max" (dst: Slot, a: Slot, b: Slot);
            F32Copysign "f32.copysign" (dst: Slot, a: Slot, b: Slot);
            // f64
            F64Eq "f64.eq" (dst: Slot, a: Slot, b: Slot);
            F64Ne "f64.ne" (dst: Slot, a: Slot, b: Slot);
            F64Lt "f64.lt" (dst: Slot, a: Slot, b: Slot);
            F64Gt "f64.gt" (dst: Slot, a: Slot, b: Slot);
            F64Le "f64.le" (dst: Slot, a: Slot, b: Slot);
            F64Ge "f64.ge" (dst: Slot, a: Slot, b: Slot);
            F64Abs "f64.abs" (dst: Slot, a: Slot);
            F64Neg "f64.neg" (dst: Slot, a: Slot);
            F64Ceil "f64.ceil" (dst: Slot, a: Slot);
            F64Floor "f64.floor" (dst: Slot, a: Slot);
            F64Trunc "f64.trunc" (dst: Slot, a: Slot);
            F64Nearest "f64.nearest" (dst: Slot, a: Slot);
            F64Sqrt "f64.sqrt" (dst: Slot, a: Slot);
            F64Add "f64.add" (dst: Slot, a: Slot, b: Slot);
            F64Sub "f64.sub" (dst: Slot, a: Slot, b: Slot);
            F64Mul "f64.mul" (dst: Slot, a: Slot, b: Slot);
            F64Div "f64.div" (dst: Slot, a: Slot, b: Slot);
            F64Min "f64.min" (dst: Slot, a: Slot, b: Slot);
            F64Max "f64.max" (dst: Slot, a: Slot, b: Slot);
            F64Copysign "f64.copysign" (dst: Slot, a: Slot, b: Slot);
            // conversions
            I32WrapI64 "i32.wrap_i64" (dst: Slot, a: Slot);
            I32TruncF32S "i32.trunc_f32_s" (dst: Slot, a: Slot);
            I32TruncF32U "i32.trunc_f32_u" (dst: Slot, a: Slot);
            I32TruncF64S "i32.trunc_f64_s" (dst: Slot, a: Slot);
            I32TruncF64U "i32.trunc_f64_u" (dst: Slot, a: Slot);
            I64ExtendI32S "i64.extend_i32_s" (dst: Slot, a: Slot);
            I64ExtendI32U "i64.extend_i32_u" (dst: Slot, a: Slot);
            I64TruncF32S "i64.trunc_f32_s" (dst: Slot, a: Slot);
            I64TruncF32U "i64.trunc_f32_u" (dst: Slot, a: Slot);
            I64TruncF64S "i64.trunc_f64_s" (dst: Slot, a: Slot);
            I64TruncF64U "i64.trunc_f64_u" (dst: Slot, a: Slot);
            F32ConvertI32S "f32.convert_i32_s" (dst: Slot, a: Slot);
            F32ConvertI32U "f32.convert_i32_u" (dst: Slot, a: Slot);
            F32ConvertI64S "f32.convert_i64_s" (dst: Slot, a: Slot);
            F32ConvertI64U "f32.convert_i64_u" (dst: Slot, a: Slot);
            F32DemoteF64 "f32.demote_f64" (dst: Slot, a: Slot);
            F64ConvertI32S "f64.convert_i32_s" (dst: Slot, a: Slot);
            F64ConvertI32U "f64.convert_i32_u" (dst: Slot, a: Slot);
            F64ConvertI64S "f64.convert_i64_s" (dst: Slot, a: Slot);
            F64ConvertI64U "f64.convert_i64_u" (dst: Slot, a: Slot);
            F64PromoteF32 "f64.promote_f32" (dst: Slot, a: Slot);
            I32Extend8S "i32.extend8_s" (dst: Slot, a: Slot);
            I32Extend16S "i32.extend16_s" (dst: Slot, a: Slot);
            I64Extend8S "i64.extend8_s" (dst: Slot, a: Slot);
            I64Extend16S "i64.extend16_s" (dst: Slot, a: Slot);
            I64Extend32S "i64.extend32_s" (dst: Slot, a: Slot);
            I32TruncSatF32S "i32.trunc_sat_f32_s" (dst: Slot, a: Slot);
            I32TruncSatF32U "i32.trunc_sat_f32_u" (dst: Slot, a: Slot);
            I32TruncSatF64S "i32.trunc_sat_f64_s" (dst: Slot, a: Slot);
            I32TruncSatF64U "i32.trunc_sat_f64_u" (dst: Slot, a: Slot);
            I64TruncSatF32S "i64.trunc_sat_f32_s" (dst: Slot, a: Slot);
            I64TruncSatF32U "i64.trunc_sat_f32_u" (dst: Slot, a: Slot);
            I64TruncSatF64S "i64.trunc_sat_f64_s" (dst: Slot, a: Slot);
            I64TruncSatF64U "i64.trunc_sat_f64_u" (dst: Slot, a: Slot);
            // superinstructions: the right operand is an immediate (i64: sign-extended)
            I32AddImm "i32.add_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32MulImm "i32.mul_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32AndImm "i32.and_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32OrImm "i32.or_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32XorImm "i32.xor_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32ShlImm "i32.shl_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32ShrSImm "i32.shr_s_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32ShrUImm "i32.shr_u_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32EqImm "i32.eq_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32NeImm "i32.ne_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32LtSImm "i32.lt_s_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32LtUImm "i32.lt_u_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32GtSImm "i32.gt_s_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32GtUImm "i32.gt_u_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32LeSImm "i32.le_s_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32LeUImm "i32.le_u_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32GeSImm "i32.ge_s_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32GeUImm "i32.ge_u_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64AddImm "i64.add_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64AndImm "i64.and_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64ShlImm "i64.shl_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64ShrUImm "i64.shr_u_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64MulImm "i64.mul_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64OrImm "i64.or_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64XorImm "i64.xor_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64ShrSImm "i64.shr_s_imm" (dst: Slot, a: Slot, imm: Imm32);
            I64RotlImm "i64.rotl_imm" (dst: Slot, a: Slot, imm: Imm32);
            I32RotlImm "i32.rotl_imm" (dst: Slot, a: Slot, imm: Imm32);
            // fused pairs, chosen from measured pair frequencies (README, Benchmarks):
            // `i32.shl_imm; i32.add` (address of an array element): dst = a + (b << shift)
            I32AddShlImm "i32.add_shl_imm" (dst: Slot, a: Slot, b: Slot, shift: Imm32);
            // `i32.shr_u_imm; i32.and_imm` (bit-field extract): dst = (a >> shift) & mask
            I32ShrUAndImm "i32.shr_u_and_imm" (dst: Slot, a: Slot, shift: Imm32, mask: Imm32);
            // `i32.add; load` (base + index): the address is (a + b) mod 2^32, then + offset
            I32LoadAdd "i32.load_add" (dst: Slot, a: Slot, b: Slot, offset: Imm32);
            I32Load8UAdd "i32.load8_u_add" (dst: Slot, a: Slot, b: Slot, offset: Imm32);
            I64LoadAdd "i64.load_add" (dst: Slot, a: Slot, b: Slot, offset: Imm32);
            // `i32.add_shl_imm; load` (an array element): the address is (a + (b << shift))
            // mod 2^32, then + offset
            I32LoadShl "i32.load_shl" (dst: Slot, a: Slot, b: Slot, shift: Imm32, offset: Imm32);
            I64LoadShl "i64.load_shl" (dst: Slot, a: Slot, b: Slot, shift: Imm32, offset: Imm32);
            // `f64.mul; f64.add` (a dot product's step): dst = a + x * y, rounded twice as the
            // pair is (never a fused multiply-add)
            F64MulAdd "f64.mul_add" (dst: Slot, a: Slot, x: Slot, y: Slot);
            // fused compare and branch: jump to target when the comparison holds
            BrI32Eq "br_if_i32.eq" (a: Slot, b: Slot, target: Target);
            BrI32Ne "br_if_i32.ne" (a: Slot, b: Slot, target: Target);
            BrI32LtS "br_if_i32.lt_s" (a: Slot, b: Slot, target: Target);
            BrI32LtU "br_if_i32.lt_u" (a: Slot, b: Slot, target: Target);
            BrI32GtS "br_if_i32.gt_s" (a: Slot, b: Slot, target: Target);
            BrI32GtU "br_if_i32.gt_u" (a: Slot, b: Slot, target: Target);
            BrI32LeS "br_if_i32.le_s" (a: Slot, b: Slot, target: Target);
            BrI32LeU "br_if_i32.le_u" (a: Slot, b: Slot, target: Target);
            BrI32GeS "br_if_i32.ge_s" (a: Slot, b: Slot, target: Target);
            BrI32GeU "br_if_i32.ge_u" (a: Slot, b: Slot, target: Target);
            BrI32EqImm "br_if_i32.eq_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32NeImm "br_if_i32.ne_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32LtSImm "br_if_i32.lt_s_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32LtUImm "br_if_i32.lt_u_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32GtSImm "br_if_i32.gt_s_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32GtUImm "br_if_i32.gt_u_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32LeSImm "br_if_i32.le_s_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32LeUImm "br_if_i32.le_u_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32GeSImm "br_if_i32.ge_s_imm" (a: Slot, imm: Imm32, target: Target);
            BrI32GeUImm "br_if_i32.ge_u_imm" (a: Slot, imm: Imm32, target: Target);
            BrI64Eq "br_if_i64.eq" (a: Slot, b: Slot, target: Target);
            BrI64Ne "br_if_i64.ne" (a: Slot, b: Slot, target: Target);
            BrI64LtS "br_if_i64.lt_s" (a: Slot, b: Slot, target: Target);
            BrI64LtU "br_if_i64.lt_u" (a: Slot, b: Slot, target: Target);
            BrI64GtS "br_if_i64.gt_s" (a: Slot, b: Slot, target: Target);
            BrI64GtU "br_if_i64.gt_u" (a: Slot, b: Slot, target: Target);
            BrI64LeS "br_if_i64.le_s" (a: Slot, b: Slot, target: Target);
            BrI64LeU "br_if_i64.le_u" (a: Slot, b: Slot, target: Target);
            BrI64GeS "br_if_i64.ge_s" (a: Slot, b: Slot, target: Target);
            BrI64GeU "br_if_i64.ge_u" (a: Slot, b: Slot, target: Target);
            // `i32.and_imm; br_if` (a flag test): jump when (a & mask) is nonzero / zero
            BrI32AndImmNez "br_if_i32.and_imm_nez" (a: Slot, mask: Imm32, target: Target);
            BrI32AndImmEqz "br_if_i32.and_imm_eqz" (a: Slot, mask: Imm32, target: Target);
            // Pairs: two instructions in a row, run one after the other by one dispatch. The
            // operands are the first's then the second's (see `PAIRS`); the translator joins
            // them after translation when no jump lands on the second. Chosen from measured
            // pair frequencies (README, Benchmarks).
            I32AddImm2 "i32.add_imm+i32.add_imm" = I32AddImm + I32AddImm (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, imm2: Imm32);
            I32AddImmBrIfNez "i32.add_imm+br_if_nez" = I32AddImm + BrIfNez (dst: Slot, a: Slot, imm: Imm32, cond: Slot, target: Target);
            I32AddImmBrI32Ne "i32.add_imm+br_if_i32.ne" = I32AddImm + BrI32Ne (dst: Slot, a: Slot, imm: Imm32, x: Slot, y: Slot, target: Target);
            I32AddBrI32LeU "i32.add+br_if_i32.le_u" = I32Add + BrI32LeU (dst: Slot, a: Slot, b: Slot, x: Slot, y: Slot, target: Target);
            I32AddImmI32Load "i32.add_imm+i32.load" = I32AddImm + I32Load (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, addr: Slot, offset: Imm32);
            I32AddImmI32Load8U "i32.add_imm+i32.load8_u" = I32AddImm + I32Load8U (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, addr: Slot, offset: Imm32);
            I32AddImmI64Load "i32.add_imm+i64.load" = I32AddImm + I64Load (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, addr: Slot, offset: Imm32);
            I32LoadI32Store "i32.load+i32.store" = I32Load + I32Store (dst: Slot, addr: Slot, offset: Imm32, addr2: Slot, src: Slot, offset2: Imm32);
            Copy2 "copy+copy" = Copy + Copy (dst: Slot, src: Slot, dst2: Slot, src2: Slot);
            CopyI32AddImm "copy+i32.add_imm" = Copy + I32AddImm (dst: Slot, src: Slot, dst2: Slot, a: Slot, imm: Imm32);
            I32LoadI32Load "i32.load+i32.load" = I32Load + I32Load (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, addr2: Slot, offset2: Imm32);
            I64LoadI64Load "i64.load+i64.load" = I64Load + I64Load (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, addr2: Slot, offset2: Imm32);
            I32LoadI32Add "i32.load+i32.add" = I32Load + I32Add (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, b: Slot);
            I32AddImmI32Store "i32.add_imm+i32.store" = I32AddImm + I32Store (dst: Slot, a: Slot, imm: Imm32, addr: Slot, src: Slot, offset: Imm32);
            I32AddI32Store8 "i32.add+i32.store8" = I32Add + I32Store8 (dst: Slot, a: Slot, b: Slot, addr: Slot, src: Slot, offset: Imm32);
            I32AddShlImmI32Load "i32.add_shl_imm+i32.load" = I32AddShlImm + I32Load (dst: Slot, a: Slot, b: Slot, shift: Imm32, dst2: Slot, addr: Slot, offset: Imm32);
            CopyI32AddShlImm "copy+i32.add_shl_imm" = Copy + I32AddShlImm (dst: Slot, src: Slot, dst2: Slot, a: Slot, b: Slot, shift: Imm32);
            I32ShrUImmI32Xor "i32.shr_u_imm+i32.xor" = I32ShrUImm + I32Xor (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, x: Slot, y: Slot);
            I64ShrUImmI64Xor "i64.shr_u_imm+i64.xor" = I64ShrUImm + I64Xor (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, x: Slot, y: Slot);
            F64ConvertI32UF64Div "f64.convert_i32_u+f64.div" = F64ConvertI32U + F64Div (dst: Slot, a: Slot, dst2: Slot, x: Slot, y: Slot);
            I32AddImmGlobalSet "i32.add_imm+global.set" = I32AddImm + GlobalSet (dst: Slot, a: Slot, imm: Imm32, global: Global, src: Slot);
            I32AddImmBrTable "i32.add_imm+br_table" = I32AddImm + BrTable (dst: Slot, a: Slot, imm: Imm32, index: Slot, targets: Targets);
            I32Load8UI32AndImm "i32.load8_u+i32.and_imm" = I32Load8U + I32AndImm (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, imm: Imm32);
            I32AndImmBrIfEqz "i32.and_imm+br_if_eqz" = I32AndImm + BrIfEqz (dst: Slot, a: Slot, imm: Imm32, cond: Slot, target: Target);
            I32LoadCopy "i32.load+copy" = I32Load + Copy (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, src: Slot);
            CopyBrI32NeImm "copy+br_if_i32.ne_imm" = Copy + BrI32NeImm (dst: Slot, src: Slot, a: Slot, imm: Imm32, target: Target);
            CopyI32Store "copy+i32.store" = Copy + I32Store (dst: Slot, src: Slot, addr: Slot, src2: Slot, offset: Imm32);
            I32StoreCopy "i32.store+copy" = I32Store + Copy (addr: Slot, src: Slot, offset: Imm32, dst: Slot, src2: Slot);
            I32AddI32Load8U "i32.add+i32.load8_u" = I32Add + I32Load8U (dst: Slot, a: Slot, b: Slot, dst2: Slot, addr: Slot, offset: Imm32);
            I32LoadBrI32NeImm "i32.load+br_if_i32.ne_imm" = I32Load + BrI32NeImm (dst: Slot, addr: Slot, offset: Imm32, a: Slot, imm: Imm32, target: Target);
            I32AndImmBrI32EqImm "i32.and_imm+br_if_i32.eq_imm" = I32AndImm + BrI32EqImm (dst: Slot, a: Slot, imm: Imm32, a2: Slot, imm2: Imm32, target: Target);
            I32MulImmI32Add "i32.mul_imm+i32.add" = I32MulImm + I32Add (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, b: Slot);
            I32Load8UAddBrIfEqz "i32.load8_u_add+br_if_eqz" = I32Load8UAdd + BrIfEqz (dst: Slot, a: Slot, b: Slot, offset: Imm32, cond: Slot, target: Target);
            I32Load8UAddBrIfNez "i32.load8_u_add+br_if_nez" = I32Load8UAdd + BrIfNez (dst: Slot, a: Slot, b: Slot, offset: Imm32, cond: Slot, target: Target);
            CopyI32Load "copy+i32.load" = Copy + I32Load (dst: Slot, src: Slot, dst2: Slot, addr: Slot, offset: Imm32);
            I32ShrUAndImmI32Add "i32.shr_u_and_imm+i32.add" = I32ShrUAndImm + I32Add (dst: Slot, a: Slot, shift: Imm32, mask: Imm32, dst2: Slot, a2: Slot, b: Slot);
            I32AddImmCopy "i32.add_imm+copy" = I32AddImm + Copy (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, src: Slot);
            I32LoadI32AndImm "i32.load+i32.and_imm" = I32Load + I32AndImm (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, imm: Imm32);
            I64LoadI64Store "i64.load+i64.store" = I64Load + I64Store (dst: Slot, addr: Slot, offset: Imm32, addr2: Slot, src: Slot, offset2: Imm32);
            I32Load8UI32Store8 "i32.load8_u+i32.store8" = I32Load8U + I32Store8 (dst: Slot, addr: Slot, offset: Imm32, addr2: Slot, src: Slot, offset2: Imm32);
            I32XorI32AndImm "i32.xor+i32.and_imm" = I32Xor + I32AndImm (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, imm: Imm32);
            I32AndImmI32LoadShl "i32.and_imm+i32.load_shl" = I32AndImm + I32LoadShl (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, b: Slot, shift: Imm32, offset: Imm32);
            I32AddBrI32GeU "i32.add+br_if_i32.ge_u" = I32Add + BrI32GeU (dst: Slot, a: Slot, b: Slot, a2: Slot, b2: Slot, target: Target);
            I32AddImmI32Add "i32.add_imm+i32.add" = I32AddImm + I32Add (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, b: Slot);
            F64MulAddI32AddImm "f64.mul_add+i32.add_imm" = F64MulAdd + I32AddImm (dst: Slot, a: Slot, x: Slot, y: Slot, dst2: Slot, a2: Slot, imm: Imm32);
            F64MulF64Mul "f64.mul+f64.mul" = F64Mul + F64Mul (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, b2: Slot);
            I32LtUI32Add "i32.lt_u+i32.add" = I32LtU + I32Add (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, b2: Slot);
            I64ExtendI32SI64Add "i64.extend_i32_s+i64.add" = I64ExtendI32S + I64Add (dst: Slot, a: Slot, dst2: Slot, a2: Slot, b: Slot);
            I32AddI32AddImm "i32.add+i32.add_imm" = I32Add + I32AddImm (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, imm: Imm32);
            // Sequences: a pair joined with one more instruction or pair (three or four parts),
            // by the same rule: the first part falls through, its operands come first. Chosen
            // from the consecutive-dispatch counts of the suite after the pairs: mostly the
            // kernels' inner loops, which the pairs leave at three to seven dispatches.
            F64ConvertI32UF64DivF64Add "f64.convert_i32_u+f64.div+f64.add" = F64ConvertI32UF64Div + F64Add (dst: Slot, a: Slot, dst2: Slot, x: Slot, y: Slot, dst3: Slot, a3: Slot, b3: Slot);
            I32AddImm2BrIfNez "i32.add_imm+i32.add_imm+br_if_nez" = I32AddImm2 + BrIfNez (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, imm2: Imm32, cond: Slot, target: Target);
            I32AddI32Store8I32AddBrI32LeU "i32.add+i32.store8+i32.add+br_if_i32.le_u" = I32AddI32Store8 + I32AddBrI32LeU (dst: Slot, a: Slot, b: Slot, addr: Slot, src: Slot, offset: Imm32, dst3: Slot, a3: Slot, b3: Slot, x: Slot, y: Slot, target: Target);
            I32LtUI32AddBrI32LeU "i32.lt_u+i32.add+br_if_i32.le_u" = I32LtUI32Add + BrI32LeU (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, b2: Slot, x: Slot, y: Slot, target: Target);
            I32XorI32AndImmI32LoadShl "i32.xor+i32.and_imm+i32.load_shl" = I32XorI32AndImm + I32LoadShl (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, imm: Imm32, dst3: Slot, a3: Slot, b3: Slot, shift: Imm32, offset: Imm32);
            I64ShrUImmI64XorI64Mul "i64.shr_u_imm+i64.xor+i64.mul" = I64ShrUImmI64Xor + I64Mul (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, x: Slot, y: Slot, dst3: Slot, a3: Slot, b3: Slot);
            I32AddI32AddImmBrI32Ne "i32.add+i32.add_imm+br_if_i32.ne" = I32AddI32AddImm + BrI32Ne (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, imm: Imm32, x: Slot, y: Slot, target: Target);
            I32AddI64LoadI64Load "i32.add+i64.load+i64.load" = I32Add + I64LoadI64Load (dst: Slot, a: Slot, b: Slot, dst2: Slot, addr: Slot, offset: Imm32, dst3: Slot, addr3: Slot, offset3: Imm32);
            I32AddShlImmI32LoadI32Store "i32.add_shl_imm+i32.load+i32.store" = I32AddShlImmI32Load + I32Store (dst: Slot, a: Slot, b: Slot, shift: Imm32, dst2: Slot, addr: Slot, offset: Imm32, addr3: Slot, src: Slot, offset3: Imm32);
            CopyI32AddImmI32AddImm "copy+i32.add_imm+i32.add_imm" = CopyI32AddImm + I32AddImm (dst: Slot, src: Slot, dst2: Slot, a: Slot, imm: Imm32, dst3: Slot, a3: Slot, imm3: Imm32);
            F64MulF64MulF64Sub "f64.mul+f64.mul+f64.sub" = F64MulF64Mul + F64Sub (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, b2: Slot, dst3: Slot, a3: Slot, b3: Slot);
            I32StoreCopyBrI32NeImm "i32.store+copy+br_if_i32.ne_imm" = I32StoreCopy + BrI32NeImm (addr: Slot, src: Slot, offset: Imm32, dst: Slot, src2: Slot, a: Slot, imm: Imm32, target: Target);
            CopyI32AddShlImmI32LoadCopy "copy+i32.add_shl_imm+i32.load+copy" = CopyI32AddShlImm + I32LoadCopy (dst: Slot, src: Slot, dst2: Slot, a: Slot, b: Slot, shift: Imm32, dst3: Slot, addr: Slot, offset: Imm32, dst4: Slot, src4: Slot);
            I32LoadI32AddI32Store "i32.load+i32.add+i32.store" = I32LoadI32Add + I32Store (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, b: Slot, addr3: Slot, src: Slot, offset3: Imm32);
            I32AddImmI32Load8U2 "i32.add_imm+i32.load8_u+i32.add_imm+i32.load8_u" = I32AddImmI32Load8U + I32AddImmI32Load8U (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, addr: Slot, offset: Imm32, dst3: Slot, a3: Slot, imm3: Imm32, dst4: Slot, addr4: Slot, offset4: Imm32);
            // Lua's instruction fetch and opcode dispatch, and CoreMark's CRC step.
            I32AndImmI32ShlImm "i32.and_imm+i32.shl_imm" = I32AndImm + I32ShlImm (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, imm2: Imm32);
            I32AndImmSelect "i32.and_imm+select" = I32AndImm + Select (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, x: Slot, y: Slot, cond: Slot);
            CopyI32LoadI32AndImmI32ShlImm "copy+i32.load+i32.and_imm+i32.shl_imm" = CopyI32Load + I32AndImmI32ShlImm (dst: Slot, src: Slot, dst2: Slot, addr: Slot, offset: Imm32, dst3: Slot, a3: Slot, imm3: Imm32, dst4: Slot, a4: Slot, imm4: Imm32);
            I32AddImmI32LoadI32AddImmBrTable "i32.add_imm+i32.load+i32.add_imm+br_table" = I32AddImmI32Load + I32AddImmBrTable (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, addr: Slot, offset: Imm32, dst3: Slot, a3: Slot, imm3: Imm32, index: Slot, targets: Targets);
            I32XorImmI32ShrUImmI32Xor "i32.xor_imm+i32.shr_u_imm+i32.xor" = I32XorImm + I32ShrUImmI32Xor (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, imm2: Imm32, dst3: Slot, x: Slot, y: Slot);
            // Loop ends, constant results before a branch, memory updates.
            Const32BrIfEqz "const32+br_if_eqz" = Const32 + BrIfEqz (dst: Slot, value: Imm32, cond: Slot, target: Target);
            Const32BrI32LtSImm "const32+br_if_i32.lt_s_imm" = Const32 + BrI32LtSImm (dst: Slot, value: Imm32, a: Slot, imm: Imm32, target: Target);
            I64AddBrI32GtUImm "i64.add+br_if_i32.gt_u_imm" = I64Add + BrI32GtUImm (dst: Slot, a: Slot, b: Slot, a2: Slot, imm: Imm32, target: Target);
            I32AddImmBrI32LtU "i32.add_imm+br_if_i32.lt_u" = I32AddImm + BrI32LtU (dst: Slot, a: Slot, imm: Imm32, a2: Slot, b: Slot, target: Target);
            I64LoadF64Add "i64.load+f64.add" = I64Load + F64Add (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, b: Slot);
            I64AddImmBrI64Ne "i64.add_imm+br_if_i64.ne" = I64AddImm + BrI64Ne (dst: Slot, a: Slot, imm: Imm32, a2: Slot, b: Slot, target: Target);
            I64XorI64RotlImm "i64.xor+i64.rotl_imm" = I64Xor + I64RotlImm (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, imm: Imm32);
            I64MulImmI64AddImm "i64.mul_imm+i64.add_imm" = I64MulImm + I64AddImm (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, imm2: Imm32);
            I64LoadF64AddI64Store "i64.load+f64.add+i64.store" = I64LoadF64Add + I64Store (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, b: Slot, addr2: Slot, src: Slot, offset2: Imm32);
            I32AddImmF64MulF64Mul "i32.add_imm+f64.mul+f64.mul" = I32AddImm + F64MulF64Mul (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, b: Slot, dst3: Slot, a3: Slot, b2: Slot);
            I32StoreI32LtUI32Add "i32.store+i32.lt_u+i32.add" = I32Store + I32LtUI32Add (addr: Slot, src: Slot, offset: Imm32, dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, b2: Slot);
            // The kernels' loop bodies and CoreMark's state machine, after the above.
            F64MulF64MulF64SubI64Store "f64.mul+f64.mul+f64.sub+i64.store" = F64MulF64MulF64Sub + I64Store (dst: Slot, a: Slot, b: Slot, dst2: Slot, a2: Slot, b2: Slot, dst3: Slot, a3: Slot, b3: Slot, addr: Slot, src: Slot, offset: Imm32);
            I32AddImmI64LoadF64Sub "i32.add_imm+i64.load+f64.sub" = I32AddImmI64Load + F64Sub (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, addr: Slot, offset: Imm32, dst3: Slot, a2: Slot, b: Slot);
            I64LoadF64MulAdd "i64.load+f64.mul_add" = I64Load + F64MulAdd (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, x: Slot, y: Slot);
            I64LoadF64MulAddI64Store "i64.load+f64.mul_add+i64.store" = I64LoadF64MulAdd + I64Store (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, x: Slot, y: Slot, addr2: Slot, src: Slot, offset2: Imm32);
            I32LoadI32StoreI32LtUI32Add "i32.load+i32.store+i32.lt_u+i32.add" = I32LoadI32Store + I32LtUI32Add (dst: Slot, addr: Slot, offset: Imm32, addr2: Slot, src: Slot, offset2: Imm32, dst2: Slot, a: Slot, b: Slot, dst3: Slot, a2: Slot, b2: Slot);
            I64MulImmI64AddImmI64Add "i64.mul_imm+i64.add_imm+i64.add" = I64MulImmI64AddImm + I64Add (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, a2: Slot, imm2: Imm32, dst3: Slot, a3: Slot, b: Slot);
            I32AndImmSelectI32ShrUAndImm "i32.and_imm+select+i32.shr_u_and_imm" = I32AndImmSelect + I32ShrUAndImm (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, x: Slot, y: Slot, cond: Slot, dst3: Slot, a2: Slot, shift: Imm32, mask: Imm32);
            I32Load16SI32Mul "i32.load16_s+i32.mul" = I32Load16S + I32Mul (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, b: Slot);
            I32AndImmBrI32GeUImm "i32.and_imm+br_if_i32.ge_u_imm" = I32AndImm + BrI32GeUImm (dst: Slot, a: Slot, imm: Imm32, a2: Slot, imm2: Imm32, target: Target);
            Const32I32AddImmBrI32Ne "const32+i32.add_imm+br_if_i32.ne" = Const32 + I32AddImmBrI32Ne (dst: Slot, value: Imm32, dst2: Slot, a: Slot, imm: Imm32, x: Slot, y: Slot, target: Target);
            // calls after the arguments' last move (a call is only ever a last part)
            CopyCall "copy+call" = Copy + Call (dst: Slot, src: Slot, func: Func, base: Slot);
            Copy2Call "copy+copy+call" = Copy2 + Call (dst: Slot, src: Slot, dst2: Slot, src2: Slot, func: Func, base: Slot);
            Const32Call "const32+call" = Const32 + Call (dst: Slot, value: Imm32, func: Func, base: Slot);
            I32AddImmCopyCall "i32.add_imm+copy+call" = I32AddImmCopy + Call (dst: Slot, a: Slot, imm: Imm32, dst2: Slot, src: Slot, func: Func, base: Slot);
            CopyCallIndirect "copy+call_indirect" = Copy + CallIndirect (dst: Slot, src: Slot, ty: Type, table: Table, index: Slot, base: Slot);
            I32LoadCopyCallIndirect "i32.load+copy+call_indirect" = I32LoadCopy + CallIndirect (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, src: Slot, ty: Type, table: Table, index: Slot, base: Slot);
            I32Load16UI32And "i32.load16_u+i32.and" = I32Load16U + I32And (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot, b: Slot);
            I32Load8UBrTable "i32.load8_u+br_table" = I32Load8U + BrTable (dst: Slot, addr: Slot, offset: Imm32, index: Slot, targets: Targets);
            I32Load8UI32Extend8S "i32.load8_u+i32.extend8_s" = I32Load8U + I32Extend8S (dst: Slot, addr: Slot, offset: Imm32, dst2: Slot, a: Slot);
            I32LoadBrIfEqz "i32.load+br_if_eqz" = I32Load + BrIfEqz (dst: Slot, addr: Slot, offset: Imm32, cond: Slot, target: Target);
            Const32I32Store16 "const32+i32.store16" = Const32 + I32Store16 (dst: Slot, value: Imm32, addr: Slot, src: Slot, offset: Imm32);
            I32Load8SBrI32LtSImm "i32.load8_s+br_if_i32.lt_s_imm" = I32Load8S + BrI32LtSImm (dst: Slot, addr: Slot, offset: Imm32, a: Slot, imm: Imm32, target: Target);
            I32Load8UBrI32NeImm "i32.load8_u+br_if_i32.ne_imm" = I32Load8U + BrI32NeImm (dst: Slot, addr: Slot, offset: Imm32, a: Slot, imm: Imm32, target: Target);
            Const32I32Load "const32+i32.load" = Const32 + I32Load (dst: Slot, value: Imm32, dst2: Slot, addr: Slot, offset: Imm32);
            I32ShrUAndImmI32AddShlImm "i32.shr_u_and_imm+i32.add_shl_imm" = I32ShrUAndImm + I32AddShlImm (dst: Slot, a: Slot, shift: Imm32, mask: Imm32, dst2: Slot, a2: Slot, b: Slot, shift2: Imm32);
            Const32I32Shl "const32+i32.shl" = Const32 + I32Shl (dst: Slot, value: Imm32, dst2: Slot, a: Slot, b: Slot);
            CopyBr "copy+br" = Copy + Br (dst: Slot, src: Slot, target: Target);
            I64StoreConst32 "i64.store+const32" = I64Store + Const32 (addr: Slot, src: Slot, offset: Imm32, dst: Slot, value: Imm32);
            CopyI64AddImm "copy+i64.add_imm" = Copy + I64AddImm (dst: Slot, src: Slot, dst2: Slot, a: Slot, imm: Imm32);
            I32AddShlImmI32Load8U "i32.add_shl_imm+i32.load8_u" = I32AddShlImm + I32Load8U (dst: Slot, a: Slot, b: Slot, shift: Imm32, dst2: Slot, addr: Slot, offset: Imm32);
            I32Load8UBrIfEqz "i32.load8_u+br_if_eqz" = I32Load8U + BrIfEqz (dst: Slot, addr: Slot, offset: Imm32, cond: Slot, target: Target);
            I64LoadBrI64GeS "i64.load+br_if_i64.ge_s" = I64Load + BrI64GeS (dst: Slot, addr: Slot, offset: Imm32, a: Slot, b: Slot, target: Target);
            // returns after the result's last step (a return is only ever a last part)
            Const32Return "const32+return" = Const32 + Return (dst: Slot, value: Imm32, src: Slot, count: Imm32);
            I64ExtendI32SI64AddReturn "i64.extend_i32_s+i64.add+return" = I64ExtendI32SI64Add + Return (dst: Slot, a: Slot, dst2: Slot, a2: Slot, b: Slot, src: Slot, count: Imm32);
        }
    };
}

/// Calls `$m!` with the instructions the executor's cold loop runs and its hot loop leaves to
/// it: tail calls, function references, and management of memories, tables and segments. (The
/// cold loop also finishes the calls and returns the hot loop cannot: `Call`, `CallIndirect`
/// and `Return` are hot and cold.) The executor's loops match exhaustively over this list and
/// the hot loop's handlers, so an instruction without a handler does not compile.
#[macro_export]
macro_rules! for_each_cold_op {
    ($m:ident) => {
        $m! {
            ReturnCall ReturnCallIndirect RefFunc
            MemorySize MemoryGrow MemoryFill MemoryCopy MemoryInit DataDrop
            TableGet TableSet TableSize TableGrow TableFill TableCopy TableInit ElemDrop
        }
    };
}

macro_rules! define_ops {
    ($($name:ident $text:literal $(= $first:ident + $second:ident)? ($($arg:ident: $kind:ident),*);)*) => {
        /// Every instruction's opcode; the discriminant is the opcode unit.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        pub enum Op {
            $($name,)*
        }

        /// Name and operand layout of one instruction.
        #[derive(Clone, Copy, Debug)]
        pub struct OpInfo {
            pub op: Op,
            pub name: &'static str,
            pub operands: &'static [Operand],
            pub operand_names: &'static [&'static str],
        }

        /// The table, indexed by opcode.
        pub const OPS: &[OpInfo] = &[
            $(OpInfo {
                op: Op::$name,
                name: $text,
                operands: &[$(Operand::$kind),*],
                operand_names: &[$(stringify!($arg)),*],
            },)*
        ];

        /// The pair instructions: `(first, second, pair)`. A pair's operands are `first`'s followed by
        /// `second`'s, and it does exactly what the two do in turn. `first` never jumps, calls or
        /// returns, so only `second` may leave the straight line. A part may itself be a pair (a
        /// *sequence*, of at most four plain instructions); the translator joins again after joining
        /// pairs, and a sequence's parts never call, return or set a global (only a plain pair's second
        /// part may, which the verifier checks as that part).
        ///
        /// Generated from the rows of [`for_each_op!`] that name their parts (`Pair "text" =
        /// First + Second (operands)`), in table order.
        pub const PAIRS: &[(Op, Op, Op)] = &[
            $($((Op::$first, Op::$second, Op::$name),)?)*
        ];
    };
}

for_each_op!(define_ops);

impl Op {
    /// The op with this opcode word, if there is one.
    #[inline]
    pub fn from_word(word: u32) -> Option<Op> {
        if (word as usize) < OPS.len() {
            // SAFETY: `Op` is `repr(u32)` and its variants carry no explicit discriminants, so
            // they are exactly `0..OPS.len()` (`OPS` lists them in the same order; the test
            // `opcodes_round_trip_through_the_table` checks both).
            Some(unsafe { std::mem::transmute::<u32, Op>(word) })
        } else {
            None
        }
    }

    /// The op with opcode `word`, without the range check.
    ///
    /// # Safety
    /// `word` must be below `OPS.len()` (the runtime's verifier proves this for every opcode
    /// word of an image before it is executed).
    #[inline(always)]
    pub unsafe fn from_word_unchecked(word: u32) -> Op {
        debug_assert!((word as usize) < OPS.len());
        // SAFETY: the caller guarantees the range; see `from_word` for the layout argument.
        unsafe { std::mem::transmute::<u32, Op>(word) }
    }

    pub const fn info(self) -> &'static OpInfo {
        &OPS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The two parts of a pair instruction ([`PAIRS`]), if this is one.
    pub const fn parts(self) -> Option<(Op, Op)> {
        PARTS[self as usize]
    }

    /// Whether the instruction reads or writes memory 0 through an address operand (the loads
    /// and stores, fused ones included; a pair when a part does). The verifier requires a
    /// memory for these; `memory.*` instructions name theirs with a `Memory` operand.
    pub const fn accesses_memory(self) -> bool {
        if let Some((first, second)) = self.parts() {
            return first.accesses_memory() || second.accesses_memory();
        }
        matches!(
            self,
            Op::I32Load
                | Op::I64Load
                | Op::I32Load8S
                | Op::I32Load8U
                | Op::I32Load16S
                | Op::I32Load16U
                | Op::I64Load8S
                | Op::I64Load8U
                | Op::I64Load16S
                | Op::I64Load16U
                | Op::I64Load32S
                | Op::I64Load32U
                | Op::I32Store
                | Op::I64Store
                | Op::I32Store8
                | Op::I32Store16
                | Op::I64Store32
                | Op::I32LoadAdd
                | Op::I32Load8UAdd
                | Op::I64LoadAdd
                | Op::I32LoadShl
                | Op::I64LoadShl
        )
    }

    /// How control leaves this instruction: the one statement of it that the verifier, the
    /// executor's checks and the translator's passes use. A pair leaves as its second part
    /// (its first part always goes on to the second, see [`PAIRS`]).
    pub const fn flow(self) -> Flow {
        FLOWS[self as usize]
    }
}

/// Each opcode's parts ([`Op::parts`]), worked out from [`PAIRS`] at compile time.
const PARTS: [Option<(Op, Op)>; OPS.len()] = {
    let mut table = [None; OPS.len()];
    let mut i = 0;
    while i < PAIRS.len() {
        let (first, second, pair) = PAIRS[i];
        table[pair as usize] = Some((first, second));
        i += 1;
    }
    table
};

/// Each opcode's [`Flow`], worked out at compile time (the translator asks at every
/// instruction).
const FLOWS: [Flow; OPS.len()] = {
    let mut table = [Flow::Next; OPS.len()];
    let mut i = 0;
    while i < OPS.len() {
        table[i] = flow_of(OPS[i].op);
        i += 1;
    }
    table
};

/// How control leaves `op`: the few control instructions by name, a pair as its second part,
/// and anything else with a `Target` operand branches.
const fn flow_of(op: Op) -> Flow {
    match op {
        Op::Unreachable => Flow::Trap,
        Op::Br | Op::BrTable => Flow::Jump,
        Op::Return => Flow::Return,
        Op::Call | Op::CallIndirect => Flow::Call,
        Op::ReturnCall | Op::ReturnCallIndirect => Flow::TailCall,
        _ => {
            if let Some((_, second)) = op.parts() {
                return flow_of(second);
            }
            let operands = op.info().operands;
            let mut i = 0;
            while i < operands.len() {
                if matches!(operands[i], Operand::Target) {
                    return Flow::Branch;
                }
                i += 1;
            }
            Flow::Next
        }
    }
}

/// How control leaves an instruction ([`Op::flow`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Goes on to the next instruction.
    Next,
    /// Jumps to its target or goes on (`br_if` and the fused compare-and-branch instructions).
    Branch,
    /// Always jumps (`br`, `br_table`).
    Jump,
    /// Calls, and goes on after the callee returns.
    Call,
    /// Returns to the caller.
    Return,
    /// Replaces the frame with the callee's (`return_call`, `return_call_indirect`).
    TailCall,
    /// Traps (`unreachable`).
    Trap,
}

impl Flow {
    /// Whether control can go on to the next instruction (for a call: after it returns).
    pub const fn falls_through(self) -> bool {
        matches!(self, Flow::Next | Flow::Branch | Flow::Call)
    }
}

/// A fingerprint of the instruction set: a hash, computed at compile time, of every row of the
/// table (opcode order, name, operand kinds and names) and of [`PAIRS`]. Every image records the
/// fingerprint of the translator that wrote it, and the image cache keys entries by it, so an
/// image of another build whose opcodes mean other instructions is refused by name instead of
/// being decoded as something else, whatever the version numbers say.
pub const ISA_FINGERPRINT: u64 = fingerprint(OPS, PAIRS);

/// FNV-1a (64-bit) over the table's facts; `const`, so no build script is needed. Each field is
/// ended by a byte that no name contains, so that moving a byte between fields changes the hash.
const fn fingerprint(ops: &[OpInfo], pairs: &[(Op, Op, Op)]) -> u64 {
    const fn mix(mut h: u64, bytes: &[u8]) -> u64 {
        let mut i = 0;
        while i < bytes.len() {
            h ^= bytes[i] as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        h
    }
    let mut h = mix(0xcbf2_9ce4_8422_2325, b"chiwawa-isa");
    let mut i = 0;
    while i < ops.len() {
        let info = &ops[i];
        h = mix(h, &(info.op as u32).to_le_bytes());
        h = mix(h, info.name.as_bytes());
        h = mix(h, &[0xff]);
        let mut k = 0;
        while k < info.operands.len() {
            h = mix(h, &[info.operands[k] as u8]);
            h = mix(h, info.operand_names[k].as_bytes());
            h = mix(h, &[0xfe]);
            k += 1;
        }
        h = mix(h, &[0xfd]);
        i += 1;
    }
    let mut p = 0;
    while p < pairs.len() {
        let (first, second, pair) = pairs[p];
        h = mix(h, &(first as u32).to_le_bytes());
        h = mix(h, &(second as u32).to_le_bytes());
        h = mix(h, &(pair as u32).to_le_bytes());
        p += 1;
    }
    h
}

mod codec;
mod pairs;
#[cfg(test)]
mod tests;

pub use codec::*;
pub use pairs::pair_of;
