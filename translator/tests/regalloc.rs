//! Register allocation on small hand-written modules: the shape of the code, not just that it runs.

use chiwawa_format::{disassemble, Op};
use chiwawa_translator::{translate, translate_module, Options};

fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lex");
    let mut module = wast::parser::parse::<wast::Wat>(&buf).expect("parse");
    module.encode().expect("encode")
}

/// The ops of defined function `i`, in order.
fn func_ops(text: &str, i: usize) -> (Vec<Op>, String) {
    let module = translate_module(&wat(text)).expect("translate");
    let code = &module.funcs[i].code;
    let mut out = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let (op, _, next) = chiwawa_format::decode(code, at).expect("decode");
        out.push(op);
        at = next;
    }
    (out, disassemble(code))
}

#[test]
fn locals_and_constants_are_operands_not_copies() {
    // local.get and i32.const cost no instruction: the add reads the local's slot directly.
    let (ops, text) = func_ops(
        "(module (func (param i32) (result i32) local.get 0 i32.const 7 i32.add))",
        0,
    );
    assert_eq!(ops, [Op::I32AddImm, Op::Return], "{text}");
    assert!(text.contains("i32.add_imm dst=s1 a=s0 imm=7"), "{text}");
}

#[test]
fn result_goes_straight_into_local_set_target() {
    let (ops, text) = func_ops(
        "(module (func (param i32 i32) (local i32)
            local.get 0 local.get 1 i32.mul local.set 2))",
        0,
    );
    assert_eq!(ops, [Op::I32Mul, Op::Return], "{text}");
    assert!(text.contains("i32.mul dst=s2 a=s0 b=s1"), "{text}");
}

#[test]
fn pending_local_read_survives_a_write_to_that_local() {
    // The old value of local 0 is on the stack when local 0 is overwritten: it must be copied out.
    let (ops, text) = func_ops(
        "(module (func (param i32) (result i32)
            local.get 0 i32.const 1 local.set 0 local.get 0 i32.add))",
        0,
    );
    assert_eq!(
        ops,
        [Op::Copy, Op::Const32, Op::I32Add, Op::Return],
        "{text}"
    );
    assert!(text.contains("copy dst=s1 src=s0"), "{text}");
    assert!(text.contains("i32.add dst=s1 a=s1 b=s0"), "{text}");
}

#[test]
fn call_arguments_sit_in_consecutive_slots_and_results_replace_them() {
    let (ops, text) = func_ops(
        "(module
            (func $f (param i32 i32) (result i32) local.get 0)
            (func (param i32) (result i32) local.get 0 local.get 0 call $f))",
        1,
    );
    // The two argument copies and the call, joined into one sequence.
    assert_eq!(ops, [Op::Copy2Call, Op::Return], "{text}");
    assert!(
        text.contains("copy+copy+call dst=s1 src=s0 dst2=s2 src2=s0 func=0 base=s1"),
        "{text}"
    );
    assert!(text.contains("return src=s1 count=1"), "{text}");
}

#[test]
fn branch_to_a_block_with_a_result_copies_into_the_label_slot() {
    let (_, text) = func_ops(
        "(module (func (param i32) (result i32)
            (block (result i32) i32.const 5 local.get 0 br_if 0 drop i32.const 6)))",
        0,
    );
    // br_if with a value not in place: skip over a copy + jump when the condition is false.
    assert!(text.contains("br_if_eqz cond=s0"), "{text}");
    // (The constant and the return after it are one pair.)
    assert!(text.contains("const32+return dst=s1 value=5"), "{text}");
}

#[test]
fn translation_is_deterministic_and_validated() {
    let module = wat("(module (func (export \"f\") (result f64) f64.const nan:0x1234))");
    assert_eq!(
        translate(&module, &Options::default()),
        translate(&module, &Options::default())
    );
    let invalid = wat("(module (func (result i32) i64.const 1))");
    assert!(translate(&invalid, &Options::default()).is_err());
    assert!(translate(b"\0asm\x01\0\0\0\xff", &Options::default()).is_err());
}

#[test]
fn subtracting_a_constant_adds_its_negation() {
    let (ops, text) = func_ops(
        "(module (func (param i32 i64) (result i64)
            local.get 1 i64.const 5 i64.sub
            local.get 0 i32.const 3 i32.sub i64.extend_i32_u i64.add))",
        0,
    );
    assert_eq!(ops[..2], [Op::I64AddImm, Op::I32AddImm], "{text}");
    assert!(text.contains("imm=4294967291"), "{text}");
    assert!(text.contains("imm=4294967293"), "{text}");
}

#[test]
fn compare_and_branch_fuse() {
    // A loop back-edge on `i < 10`: one fused branch with an immediate.
    let (ops, text) = func_ops(
        "(module (func (param i32)
            (loop
              (local.set 0 (i32.add (local.get 0) (i32.const 1)))
              (br_if 0 (i32.lt_u (local.get 0) (i32.const 10))))))",
        0,
    );
    assert_eq!(ops, [Op::I32AddImm, Op::BrI32LtUImm, Op::Return], "{text}");
    // `if` branches over the then-arm when the condition fails: the comparison inverts.
    let (ops, text) = func_ops(
        "(module (func (param i32 i32) (result i32)
            (if (result i32) (i32.lt_s (local.get 0) (local.get 1))
              (then (i32.const 1)) (else (i32.const 2)))))",
        0,
    );
    assert_eq!(ops[0], Op::BrI32GeS, "{text}");
    // `i32.eqz; br_if` is a branch on zero.
    let (ops, text) = func_ops(
        "(module (func (param i32) (block (br_if 0 (i32.eqz (local.get 0))))))",
        0,
    );
    assert_eq!(ops[0], Op::BrIfEqz, "{text}");
}

#[test]
fn a_comparison_before_a_label_is_not_fused() {
    // The block's result may come from the branch inside it, so the compare must stay.
    let (ops, text) = func_ops(
        "(module (func (param i32) (result i32)
            (block (result i32)
              (drop (br_if 0 (i32.const 0) (local.get 0)))
              (i32.lt_s (local.get 0) (i32.const 5)))
            (if (result i32) (then (i32.const 1)) (else (i32.const 2)))))",
        0,
    );
    assert!(ops.contains(&Op::I32LtSImm), "{text}");
    assert!(ops.contains(&Op::BrIfEqz), "{text}");
}

#[test]
fn a_local_is_returned_from_its_own_slot() {
    // `local.get; end` and `return` of a local: no copy into a result slot first.
    for body in ["local.get 1", "local.get 1 return"] {
        let (ops, text) = func_ops(
            &format!("(module (func (param i32 i32) (result i32) {body}))"),
            0,
        );
        assert_eq!(ops, [Op::Return], "{body}: {text}");
        assert!(text.contains("return src=s1 count=1"), "{body}: {text}");
    }
}

#[test]
fn a_branch_to_the_function_label_returns() {
    // `br 1` out of a block to the function's label: a return, not a jump to one.
    let (ops, text) = func_ops(
        "(module (func (param i32) (result i32)
            (block (br 1 (local.get 0))) i32.const 7))",
        0,
    );
    assert_eq!(ops, [Op::Return, Op::Const32Return], "{text}");
    assert!(text.starts_with("    0: return src=s0 count=1"), "{text}");
    // A conditional one skips over its return; the fallthrough still sees its values.
    let (ops, text) = func_ops(
        "(module (func (param i32 i32) (result i32)
            local.get 1 local.get 0 br_if 0 i32.const 3 i32.add))",
        0,
    );
    assert_eq!(
        ops,
        [Op::BrIfEqz, Op::Return, Op::I32AddImm, Op::Return],
        "{text}"
    );
    assert!(text.contains("return src=s1 count=1"), "{text}");
    assert!(text.contains("i32.add_imm dst=s2 a=s1 imm=3"), "{text}");
}

#[test]
fn shifting_left_then_right_by_the_same_amount_is_one_instruction() {
    let cases = [
        ("i32", "i32.shr_s", 24, Op::I32Extend8S),
        ("i32", "i32.shr_s", 16, Op::I32Extend16S),
        ("i32", "i32.shr_u", 20, Op::I32AndImm),
        ("i64", "i64.shr_s", 56, Op::I64Extend8S),
        ("i64", "i64.shr_s", 48, Op::I64Extend16S),
        ("i64", "i64.shr_s", 32, Op::I64Extend32S),
    ];
    for (ty, shr, k, fused) in cases {
        let (ops, text) = func_ops(
            &format!(
                "(module (func (param {ty}) (result {ty})
                    local.get 0 {ty}.const {k} {ty}.shl {ty}.const {k} {shr}))"
            ),
            0,
        );
        assert_eq!(ops, [fused, Op::Return], "{shr} {k}: {text}");
    }
    assert!(func_ops(
        "(module (func (param i32) (result i32)
            local.get 0 i32.const 20 i32.shl i32.const 20 i32.shr_u))",
        0
    )
    .1
    .contains("imm=4095"));
    // Different amounts, or a left shift kept in a local, stay two shifts.
    for body in [
        "local.get 0 i32.const 24 i32.shl i32.const 16 i32.shr_s",
        "local.get 0 i32.const 24 i32.shl local.tee 0 i32.const 24 i32.shr_s local.get 0 i32.add",
    ] {
        let (ops, text) = func_ops(
            &format!("(module (func (param i32) (result i32) {body}))"),
            0,
        );
        assert!(ops.contains(&Op::I32ShlImm), "{body}: {text}");
    }
}

#[test]
fn a_frame_past_the_slot_limit_is_unsupported_not_wrong() {
    // 50,000 locals (wasmparser's limit) and 16,000 values on the operand stack: more slots
    // than a one-unit slot operand can name. The translator must say so, not wrap an index.
    let locals = "i32 ".repeat(50_000);
    let pushes = "i32.const 1 ".repeat(16_000);
    let drops = "drop ".repeat(16_000);
    let text = format!("(module (func (local {locals}) {pushes} {drops}))");
    let err = translate(&wat(&text), &Options::default()).expect_err("frame too large");
    let msg = err.to_string();
    assert!(msg.contains("function frame too large"), "{msg}");
    assert!(msg.contains("65536"), "{msg}");
    // Just under the limit translates.
    let pushes = "i32.const 1 ".repeat(15_000);
    let drops = "drop ".repeat(15_000);
    let text = format!("(module (func (local {locals}) {pushes} {drops}))");
    translate(&wat(&text), &Options::default()).expect("frame fits");
}
