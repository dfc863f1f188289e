//! The table's own consistency, the codec and the pair lookup.

#[test]
fn the_isa_fingerprint_changes_with_every_fact_of_the_table() {
    use super::{fingerprint, Operand, ISA_FINGERPRINT, OPS, PAIRS};
    assert_eq!(ISA_FINGERPRINT, fingerprint(OPS, PAIRS));
    let mut changed = Vec::new();
    // An inserted row renumbers every later opcode (the stale-image case).
    let mut ops = OPS.to_vec();
    ops.insert(3, ops[3]);
    changed.push(fingerprint(&ops, PAIRS));
    let mut ops = OPS.to_vec();
    ops.swap(10, 11);
    changed.push(fingerprint(&ops, PAIRS));
    let mut ops = OPS.to_vec();
    ops[5].name = "renamed";
    changed.push(fingerprint(&ops, PAIRS));
    let mut ops = OPS.to_vec();
    let i = ops.iter().position(|o| o.operands.len() >= 2).unwrap();
    ops[i].operands = &[Operand::Targets, Operand::Targets];
    changed.push(fingerprint(&ops, PAIRS));
    changed.push(fingerprint(OPS, &PAIRS[1..]));
    let mut pairs = PAIRS.to_vec();
    pairs.swap(0, 1);
    changed.push(fingerprint(OPS, &pairs));
    for (n, h) in changed.iter().enumerate() {
        assert_ne!(*h, ISA_FINGERPRINT, "change {n} kept the fingerprint");
    }
}

use super::*;

#[test]
fn opcodes_round_trip_through_the_table() {
    for (i, info) in OPS.iter().enumerate() {
        assert_eq!(info.op as usize, i);
        assert_eq!(Op::from_word(i as u32), Some(info.op));
        assert_eq!(info.operands.len(), info.operand_names.len());
    }
    assert_eq!(Op::from_word(OPS.len() as u32), None);
}

/// Word form: `const64 s3, 0x1_dead_beef` (words 0-3), `br_table s0 [@0, @4]` (4-8),
/// `return s0, 1` (9-11).
const WORDS: [u32; 12] = [
    Op::Const64 as u32,
    3,
    0xdead_beef,
    0x1,
    Op::BrTable as u32,
    0,
    2,
    0,
    4,
    Op::Return as u32,
    0,
    1,
];

#[test]
fn encode_packs_operands_and_renumbers_targets() {
    let code = encode(&WORDS).unwrap();
    // const64: 1 + 1 + 4 units; br_table: 1 + 1 + 2 + 2 * 2; return: 1 + 1 + 2.
    assert_eq!(code.len(), 6 + 8 + 4);
    assert_eq!(
        code[..6],
        [Op::Const64 as u16, 3, 0xbeef, 0xdead, 1, 0],
        "slot one unit, immediate four, low half first"
    );
    // Word targets 0 and 4 are units 0 and 6.
    assert_eq!(code[6..14], [Op::BrTable as u16, 0, 2, 0, 0, 0, 6, 0]);
    assert_eq!(code[14..], [Op::Return as u16, 0, 1, 0]);

    let mut bad = WORDS;
    bad[8] = 5;
    assert_eq!(encode(&bad), Err(EncodeError::Target { at: 8, target: 5 }));
    bad = WORDS;
    bad[1] = MAX_FRAME;
    assert_eq!(
        encode(&bad),
        Err(EncodeError::Slot {
            at: 1,
            slot: MAX_FRAME
        })
    );
    bad[1] = MAX_FRAME - 1;
    assert!(encode(&bad).is_ok());
    assert!(encode(&WORDS[..11]).is_err(), "truncated");
}

#[test]
fn decode_reads_operands_and_rejects_truncation() {
    let code = encode(&WORDS).unwrap();
    let (op, args, next) = decode(&code, 0).unwrap();
    assert_eq!(op, Op::Const64);
    assert_eq!(args[1], Arg::Imm64(0x1_dead_beef));
    assert_eq!(next, 6);
    let (op, args, next) = decode(&code, 6).unwrap();
    assert_eq!(op, Op::BrTable);
    assert_eq!(args[1], Arg::Targets(vec![0, 6]));
    assert_eq!(next, 14);
    assert!(decode(&code[..13], 6).is_err());
    assert!(decode(&[u16::MAX], 0).is_err());
    // A count that claims more targets than there are units.
    let mut huge = code.clone();
    huge[8] = 0xffff;
    assert!(decode(&huge, 6).is_err());
}

#[test]
fn instr_len_agrees_with_decode() {
    let code = encode(&WORDS).unwrap();
    let mut at = 0;
    while at < code.len() {
        let (_, _, next) = decode(&code, at).unwrap();
        assert_eq!(instr_len(&code, at), Ok(next - at));
        at = next;
    }
    for cut in 0..code.len() {
        let mut at = 0;
        while at < cut {
            assert_eq!(
                instr_len(&code[..cut], at).map(|len| at + len),
                decode(&code[..cut], at).map(|(_, _, next)| next),
                "cut {cut}, at {at}"
            );
            match decode(&code[..cut], at) {
                Ok((_, _, next)) => at = next,
                Err(_) => break,
            }
        }
    }
    assert_eq!(
        instr_len(&[9999u16], 0),
        Err(DecodeError::BadOpcode { at: 0, word: 9999 })
    );
    for info in OPS {
        let words = info
            .operands
            .iter()
            .map(|k| k.words())
            .sum::<Option<usize>>();
        assert_eq!(info.fixed_words(), words.map(|n| n + 1), "{}", info.name);
        let units = info
            .operands
            .iter()
            .map(|k| k.units())
            .sum::<Option<usize>>();
        assert_eq!(info.fixed_units(), units.map(|n| n + 1), "{}", info.name);
        if let Some(units) = info.fixed_units() {
            let last = info.operands.len();
            assert_eq!(info.unit_offset(last), units, "{}", info.name);
        }
    }
}

#[test]
fn pairs_concatenate_their_parts() {
    for &(first, second, pair) in PAIRS {
        let (f, s, p) = (first.info(), second.info(), pair.info());
        let joined: Vec<Operand> = f.operands.iter().chain(s.operands).copied().collect();
        assert_eq!(p.operands, &joined[..], "{}", p.name);
        assert_eq!(p.name, format!("{}+{}", f.name, s.name));
        // The first part falls through to the second: no jumps, calls or returns in it.
        assert!(
            !f.operands
                .iter()
                .any(|k| matches!(k, Operand::Target | Operand::Targets | Operand::Func)),
            "{}",
            p.name
        );
        assert_eq!(first.flow(), super::Flow::Next, "{}", p.name);
        assert_eq!(pair_of(first, second), Some(pair));
        // A pair made of pairs: at most four plain parts. None but the last is special (a
        // call, return or global write), and in a sequence only a call or return may be
        // last.
        let parts = plain_parts(pair);
        assert!(parts.len() <= 4, "{}", p.name);
        let special = |op: &Op| {
            matches!(
                op,
                Op::Call
                    | Op::CallIndirect
                    | Op::Return
                    | Op::ReturnCall
                    | Op::ReturnCallIndirect
                    | Op::GlobalSet
            )
        };
        let (last, rest) = parts.split_last().expect("a pair has parts");
        assert!(!rest.iter().any(special), "{}", p.name);
        if parts.len() > 2 {
            assert!(
                !special(last) || matches!(last, Op::Call | Op::CallIndirect | Op::Return),
                "{}",
                p.name
            );
        }
    }
}

/// The plain instructions a pair is made of, in order.
fn plain_parts(op: Op) -> Vec<Op> {
    match PAIRS.iter().find(|&&(_, _, p)| p == op) {
        Some(&(a, b, _)) => [plain_parts(a), plain_parts(b)].concat(),
        None => vec![op],
    }
}

#[test]
fn flow_kinds_follow_the_table() {
    use super::Flow;
    let cases = [
        (Op::I32Add, Flow::Next),
        (Op::Select, Flow::Next),
        (Op::BrIfNez, Flow::Branch),
        (Op::BrI32LtSImm, Flow::Branch),
        (Op::Br, Flow::Jump),
        (Op::BrTable, Flow::Jump),
        (Op::Call, Flow::Call),
        (Op::CallIndirect, Flow::Call),
        (Op::Return, Flow::Return),
        (Op::ReturnCallIndirect, Flow::TailCall),
        (Op::Unreachable, Flow::Trap),
        // Pairs leave as their second part.
        (Op::CopyBr, Flow::Jump),
        (Op::Const32Return, Flow::Return),
        (Op::I32AddImmBrIfNez, Flow::Branch),
        (Op::I32AddImmBrTable, Flow::Jump),
        (Op::Copy2, Flow::Next),
    ];
    for (op, flow) in cases {
        assert_eq!(op.flow(), flow, "{}", op.name());
    }
    for info in OPS {
        let flow = info.op.flow();
        // Only branches and jumps have targets; everything without one that is not a
        // call, return or trap goes on.
        let targets = info
            .operands
            .iter()
            .any(|k| matches!(k, Operand::Target | Operand::Targets));
        assert_eq!(
            targets,
            matches!(flow, Flow::Branch | Flow::Jump),
            "{}",
            info.name
        );
        assert_eq!(
            flow.falls_through(),
            !matches!(
                flow,
                Flow::Jump | Flow::Return | Flow::TailCall | Flow::Trap
            )
        );
    }
}

#[test]
fn memory_access_is_stated_for_every_load_and_store() {
    // The text names every access (`i32.load8_u`, `i32.add_imm+i32.store`, ...): the stated
    // fact and the names agree.
    for info in OPS {
        let named = info.name.contains(".load") || info.name.contains(".store");
        assert_eq!(info.op.accesses_memory(), named, "{}", info.name);
    }
}

#[test]
fn pair_of_finds_exactly_the_pairs() {
    for a in OPS {
        for b in OPS {
            let scan = PAIRS
                .iter()
                .find(|&&(f, s, _)| f == a.op && s == b.op)
                .map(|&(_, _, p)| p);
            assert_eq!(pair_of(a.op, b.op), scan, "{} {}", a.name, b.name);
        }
    }
}

#[test]
fn visit_operands_sees_every_operand_word() {
    let mut code = WORDS.to_vec();
    code[5] = 5;
    code[10] = 6;
    let mut seen = Vec::new();
    let mut at = 0;
    while at < code.len() {
        at = visit_operands(&mut code, at, |kind, word| {
            seen.push((kind, *word));
            *word += 100;
        })
        .unwrap();
    }
    assert_eq!(
        seen,
        [
            (Operand::Slot, 3),
            (Operand::Imm64, 0xdead_beef),
            (Operand::Slot, 5),
            (Operand::Target, 0),
            (Operand::Target, 4),
            (Operand::Slot, 6),
            (Operand::Imm32, 1),
        ]
    );
    assert_eq!(code[8], 104, "targets are rewritten in place");
    assert_eq!(code[6], 2, "the count is left alone");
    assert!(visit_operands(&mut code[..7], 4, |_, _| {}).is_err());
}
