use super::*;
use chiwawa_format::{
    decode, features, write_image, Arg, ConstExpr, ConstOp, Data, DataMode, Elem, ElemMode, Export,
    FuncName, FuncType, Global, GlobalType, Import, ImportKind, LoadedImage, MemoryType, Module,
    TableType,
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
    let msg = "function 2 (defined 1): code ends with i32.add, which falls through past the end";
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
