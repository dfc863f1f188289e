//! Every pair instruction (`chiwawa_format::PAIRS`) against its two parts, on generated
//! operands: for each pair, many functions are built by hand twice, once with the pair and once
//! with its two parts in a row, and run on the same arguments. Results, traps, memory and the
//! global must agree. This checks the pair's composition (its operand layout in the table, the
//! executor's step from one part's operands to the next, the verifier's view of it) for every
//! pair, including those no hand-written test covers.

use chiwawa_format::{
    extern_kind, features, valtype, write_image, ConstExpr, ConstOp, Data, DataMode, Elem,
    ElemMode, Export, Func, FuncType, Global, GlobalType, MemoryType, Module, Op, Operand,
    TableType, PAIRS,
};
use chiwawa_runtime::store::{Extern, Store};
use chiwawa_runtime::{load_image, Val, VerifyMode};

/// Parameters (i64) of the generated functions, which return them all.
const PARAMS: u32 = 8;
/// Words of the `return` after the instructions under test, and of each jump target block
/// (`const64 s0, MARK; return`).
const RETURN_WORDS: u32 = 3;
const TARGET_WORDS: u32 = 7;
const TARGETS: u32 = 3;
/// Entries of the table that `call_indirect` goes through (all `g`): many small arguments are
/// in range.
const TABLE: u32 = 64;
/// Pages of the memory: two, so that addresses up to 128 KiB are in bounds (the generator's
/// small arguments and offsets reach past the first page) and each run instantiates and
/// compares little memory.
const PAGES: u32 = 2;

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn edge(&mut self) -> u32 {
        EDGES[self.below(EDGES.len() as u64) as usize]
    }

    fn imm32(&mut self) -> u32 {
        match self.below(4) {
            0 => self.next() as u32,
            _ => self.edge(),
        }
    }

    /// An argument: often a small value, so that some addresses are in bounds, often zero or
    /// an edge value, so that branches on it go both ways.
    fn arg(&mut self) -> u64 {
        match self.below(6) {
            0 => self.next(),
            1 => self.below(70_000),
            2 => self.below(64),
            3 => (self.below(16)).wrapping_sub(8),
            4 => 0,
            _ => self.edge() as u64,
        }
    }
}

/// Immediates worth trying: shift counts at and past the width, signs, wraps.
const EDGES: [u32; 15] = [
    0,
    1,
    2,
    3,
    5,
    16,
    24,
    31,
    32,
    63,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fff0,
    0xffff_ffff,
];

/// Operand words for `op`, in word form, jumps going to the target blocks after the code.
fn operands(op: Op, rng: &mut Rng, target_base: u32) -> Vec<u32> {
    let target = |i: u32| target_base + RETURN_WORDS + i * TARGET_WORDS;
    if op == Op::Return {
        // All the function's results (slots 0 or 1 on), the only count the verifier accepts.
        return vec![rng.below(2) as u32, PARAMS];
    }
    let mut out = Vec::new();
    for &kind in op.info().operands {
        match kind {
            Operand::Slot => out.push(rng.below(PARAMS as u64) as u32),
            Operand::Imm32 => out.push(rng.imm32()),
            Operand::Target => out.push(target(rng.below(TARGETS as u64) as u32)),
            Operand::Targets => {
                out.push(TARGETS);
                out.extend((0..TARGETS).map(target));
            }
            Operand::Global => out.push(0),
            // The callee `g` (function 1, of type 1), directly or through table 0.
            Operand::Func | Operand::Type => out.push(1),
            Operand::Table => out.push(0),
            other => panic!("{}: no generator for {other:?} operands", op.name()),
        }
    }
    out
}

/// A module with function `f`: `body` (word form), a return of all slots, and the target
/// blocks, each of which marks slot 0 and returns; and `g` (type `[] -> []`, every entry of
/// table 0, of `TABLE` entries), for the calls, which adds to the global and writes its own slot 0 (slot `base` of
/// the caller's frame).
fn module(body: Vec<u32>) -> Module {
    let mut code = body;
    code.extend([Op::Return as u32, 0, PARAMS]);
    for i in 0..TARGETS {
        let mark = 0x7a7a_0000 + i;
        code.extend([Op::Const64 as u32, 0, mark, 0xfeed]);
        code.extend([Op::Return as u32, 0, PARAMS]);
    }
    let code = chiwawa_format::encode(&code).expect("generated code encodes");
    let callee = [
        Op::GlobalGet as u32,
        0,
        0,
        Op::I64AddImm as u32,
        0,
        0,
        0x100,
        Op::GlobalSet as u32,
        0,
        0,
        Op::Const64 as u32,
        0,
        0xca11,
        0xca11,
        Op::Return as u32,
        0,
        0,
    ];
    let callee = chiwawa_format::encode(&callee).expect("callee encodes");
    let i64s = vec![valtype::I64; PARAMS as usize];
    Module {
        types: vec![
            FuncType {
                params: i64s.clone(),
                results: i64s,
            },
            FuncType {
                params: vec![],
                results: vec![],
            },
        ],
        func_types: vec![0, 1],
        funcs: vec![
            Func {
                ty: 0,
                num_locals: PARAMS,
                frame_size: PARAMS + 1,
                consts: vec![],
                code,
                ..Func::default()
            },
            Func {
                ty: 1,
                num_locals: 0,
                frame_size: 1,
                consts: vec![],
                code: callee,
                ..Func::default()
            },
        ],
        tables: vec![TableType {
            elem: valtype::FUNCREF,
            min: TABLE,
            max: Some(TABLE),
        }],
        elems: vec![Elem {
            ty: valtype::FUNCREF,
            mode: ElemMode::Active {
                table: 0,
                offset: ConstExpr {
                    ops: vec![ConstOp::I32(0)],
                },
            },
            items: vec![
                ConstExpr {
                    ops: vec![ConstOp::RefFunc(1)],
                };
                TABLE as usize
            ],
        }],
        memories: vec![MemoryType {
            min: PAGES,
            max: Some(PAGES),
        }],
        globals: vec![Global {
            ty: GlobalType {
                ty: valtype::I64,
                mutable: true,
            },
            init: ConstExpr {
                ops: vec![ConstOp::I64(0x1234)],
            },
        }],
        datas: vec![Data {
            mode: DataMode::Active {
                memory: 0,
                offset: ConstExpr {
                    ops: vec![ConstOp::I32(0)],
                },
            },
            bytes: (0..=255).collect(),
        }],
        exports: vec![
            Export {
                name: "f".into(),
                kind: extern_kind::FUNC,
                index: 0,
            },
            Export {
                name: "m".into(),
                kind: extern_kind::MEMORY,
                index: 0,
            },
            Export {
                name: "g".into(),
                kind: extern_kind::GLOBAL,
                index: 0,
            },
        ],
        ..Module::default()
    }
}

/// Everything a run can show: the result or trap, the memory, the global.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<Vec<Val>, String>,
    memory: Vec<u8>,
    global: Val,
}

fn run(module: &Module, args: &[Val]) -> Outcome {
    let bytes = write_image(&mut module.clone(), 1, features::WASM2, 0, 0).expect("write image");
    let image = load_image(&bytes, VerifyMode::Eager).expect("the verifier accepts it");
    let mut store = Store::new();
    let instance = store
        .instantiate(&image, &mut |_, _, _| None)
        .expect("instantiate");
    let export = |name| store.export(instance, name).expect("exported");
    let (Extern::Func(f), Extern::Memory(m), Extern::Global(g)) =
        (export("f"), export("m"), export("g"))
    else {
        panic!("export kinds")
    };
    let result = store.invoke(f, args).map_err(|t| t.kind.to_string());
    Outcome {
        result,
        memory: store.memory(m).expect("memory m").bytes().to_vec(),
        global: store.global_value(g),
    }
}

#[test]
fn every_pair_does_what_its_parts_do() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for &(first, second, pair) in PAIRS {
        let (mut taken, mut finished, mut called) = (0, 0, 0);
        for round in 0..60 {
            // The parts' operands; jumps go to the target blocks, which start one word later
            // in the two-instruction version (the pair has one opcode word fewer).
            let first_ops = operands(first, &mut rng, 0);
            let second_ops = operands(second, &mut rng, 0);
            let parts_len = 2 + (first_ops.len() + second_ops.len()) as u32;
            let fix = |ops: &[u32], op: Op, base: u32| -> Vec<u32> {
                // Re-generate targets for the real position of the blocks.
                let mut ops = ops.to_vec();
                let mut at = 0;
                for &kind in op.info().operands {
                    match kind {
                        Operand::Target => {
                            ops[at] += base;
                            at += 1;
                        }
                        Operand::Targets => {
                            let n = ops[at] as usize;
                            for t in &mut ops[at + 1..at + 1 + n] {
                                *t += base;
                            }
                            at += 1 + n;
                        }
                        _ => at += kind.words().unwrap_or(1),
                    }
                }
                ops
            };
            let mut parts = vec![first as u32];
            parts.extend(fix(&first_ops, first, parts_len));
            parts.push(second as u32);
            parts.extend(fix(&second_ops, second, parts_len));
            let mut joined = vec![pair as u32];
            joined.extend(fix(&first_ops, first, parts_len - 1));
            joined.extend(fix(&second_ops, second, parts_len - 1));

            let args: Vec<Val> = (0..PARAMS).map(|_| Val::I64(rng.arg() as i64)).collect();
            let want = run(&module(parts), &args);
            let got = run(&module(joined), &args);
            assert_eq!(got, want, "{} round {round}, args {args:?}", pair.name());
            // (`g` adds 0x100 to the global, which starts at 0x1234 and which nothing else in
            // a pair with a call sets.)
            called += (want.global == Val::I64(0x1334)) as u32;
            if let Ok(values) = &want.result {
                finished += 1;
                if let Val::I64(v) = values[0] {
                    taken += (v as u64 >> 32 == 0xfeed) as u32;
                }
            }
        }
        // A conditional branch must have been taken in some rounds and not in others (`br`
        // and `br_table` always jump, in every round that reaches them: a load before them
        // may trap).
        let kinds = second.info().operands;
        if second != Op::Br && kinds.contains(&Operand::Target) {
            assert!(taken > 0 && taken < 60, "{}: taken {taken}/60", pair.name());
        } else if second == Op::Br || kinds.contains(&Operand::Targets) {
            assert!(finished > 0, "{}: every round trapped", pair.name());
            assert_eq!(taken, finished, "{}", pair.name());
        }
        // A call must have been made in some rounds.
        if matches!(second, Op::Call | Op::CallIndirect) {
            assert!(called > 0, "{}: g was never called", pair.name());
        }
    }
}
