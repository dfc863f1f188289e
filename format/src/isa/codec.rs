//! Code streams: operand layout, lengths, decoding, encoding (word form to units) and the
//! disassembler.

use super::*;

/// One decoded operand, as the disassembler and verifier see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Word(Operand, u32),
    Imm64(u64),
    Targets(Vec<u32>),
}

/// Why a code stream cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadOpcode { at: usize, word: u32 },
    Truncated { at: usize },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadOpcode { at, word } => write!(f, "unknown opcode {word} at unit {at}"),
            DecodeError::Truncated { at } => {
                write!(f, "instruction at unit {at} runs past the end")
            }
        }
    }
}

impl OpInfo {
    /// Words of the instruction in word form, its opcode included, when they are fixed (`None`
    /// when an operand is `Targets`).
    pub const fn fixed_words(&self) -> Option<usize> {
        let mut words = 1;
        let mut i = 0;
        while i < self.operands.len() {
            match self.operands[i].words() {
                Some(n) => words += n,
                None => return None,
            }
            i += 1;
        }
        Some(words)
    }

    /// Units of the instruction in an image, its opcode included, when they are fixed (`None`
    /// when an operand is `Targets`). Allocation-free, and usable in constants: the verifier and
    /// the executor derive their per-op tables from this and `operands` at compile time.
    pub const fn fixed_units(&self) -> Option<usize> {
        let mut units = 1;
        let mut i = 0;
        while i < self.operands.len() {
            match self.operands[i].units() {
                Some(n) => units += n,
                None => return None,
            }
            i += 1;
        }
        Some(units)
    }

    /// The unit offset, from the opcode, of operand `k` (`k` before any `Targets` operand).
    pub const fn unit_offset(&self, k: usize) -> usize {
        let mut at = 1;
        let mut i = 0;
        while i < k {
            match self.operands[i].units() {
                Some(n) => at += n,
                None => panic!("no fixed offset after a Targets operand"),
            }
            i += 1;
        }
        at
    }
}

/// Calls `f` on each operand word of the word-form instruction at `at`, with its kind, and
/// returns where the next instruction starts; `instr_len`'s errors. Each target of a `Targets`
/// operand is visited as a `Target` (its count is not visited); an `Imm64` is visited once, at
/// its first word. For the translator's passes that rewrite operands in place: slots, jump
/// targets.
pub fn visit_operands(
    code: &mut [u32],
    at: usize,
    mut f: impl FnMut(Operand, &mut u32),
) -> Result<usize, DecodeError> {
    let next = at + instr_words(code, at)?;
    let op = Op::from_word(code[at]).ok_or(DecodeError::BadOpcode { at, word: code[at] })?;
    let mut pos = at + 1;
    for &kind in op.info().operands {
        match kind {
            Operand::Targets => {
                let n = code[pos] as usize;
                for word in &mut code[pos + 1..pos + 1 + n] {
                    f(Operand::Target, word);
                }
                pos += 1 + n;
            }
            kind => {
                f(kind, &mut code[pos]);
                pos += kind.words().unwrap_or(1);
            }
        }
    }
    debug_assert_eq!(pos, next);
    Ok(next)
}

/// Every op's length in words and in units (0: it varies), for the walks that need only that.
static LENGTHS: [(u8, u8); OPS.len()] = {
    let mut out = [(0u8, 0u8); OPS.len()];
    let mut op = 0;
    while op < OPS.len() {
        let words = match OPS[op].fixed_words() {
            Some(n) => n as u8,
            None => 0,
        };
        let units = match OPS[op].fixed_units() {
            Some(n) => n as u8,
            None => 0,
        };
        out[op] = (words, units);
        op += 1;
    }
    out
};

/// The length in words of the word-form instruction at `at`.
fn instr_words(code: &[u32], at: usize) -> Result<usize, DecodeError> {
    let word = *code.get(at).ok_or(DecodeError::Truncated { at })?;
    let op = Op::from_word(word).ok_or(DecodeError::BadOpcode { at, word })?;
    let count = |pos: usize| code.get(pos).map(|&n| n as usize);
    length(
        op,
        at,
        code.len(),
        LENGTHS[op as usize].0,
        Operand::words,
        count,
        1,
    )
}

/// The length of the instruction of `op` at `at` in a stream of `len` elements, in either form:
/// `fixed` is the op's length when it does not vary (0 when it does), `size` an operand's size,
/// `count` reads a `Targets` count at a position (`None` past the end), and `per` is the size of
/// the count and of each target.
fn length(
    op: Op,
    at: usize,
    len: usize,
    fixed: u8,
    size: fn(Operand) -> Option<usize>,
    count: impl Fn(usize) -> Option<usize>,
    per: usize,
) -> Result<usize, DecodeError> {
    let n = if fixed != 0 {
        fixed as usize
    } else {
        // Only a `Targets` operand varies: walk the operands before it, then its count.
        let mut pos = at + 1;
        for &kind in op.info().operands {
            match size(kind) {
                Some(n) => pos += n,
                None => {
                    let n = count(pos).ok_or(DecodeError::Truncated { at })?;
                    if n == 0 || n > (len.saturating_sub(pos + per)) / per {
                        return Err(DecodeError::Truncated { at });
                    }
                    pos += per + per * n;
                }
            }
        }
        pos - at
    };
    if n > len - at {
        return Err(DecodeError::Truncated { at });
    }
    Ok(n)
}

/// The 32-bit value of the two units at `pos` (low half first); `pos + 1` must be in `code`.
#[inline(always)]
pub fn unit_pair<U: Copy + Into<u16>>(code: &[U], pos: usize) -> u32 {
    let lo: u16 = code[pos].into();
    let hi: u16 = code[pos + 1].into();
    lo as u32 | (hi as u32) << 16
}

/// The length in units of the instruction at `at` (opcode and operands), without decoding its
/// operands or allocating; `decode`'s errors for an unknown opcode or a truncated instruction.
/// Units are `u16` or anything that converts to one (an archived image's `u16_le`).
pub fn instr_len<U: Copy + Into<u16>>(code: &[U], at: usize) -> Result<usize, DecodeError> {
    let unit: u16 = (*code.get(at).ok_or(DecodeError::Truncated { at })?).into();
    let op = Op::from_word(unit as u32).ok_or(DecodeError::BadOpcode {
        at,
        word: unit as u32,
    })?;
    let count = |pos: usize| (pos + 2 <= code.len()).then(|| unit_pair(code, pos) as usize);
    length(
        op,
        at,
        code.len(),
        LENGTHS[op as usize].1,
        Operand::units,
        count,
        2,
    )
}

/// Decodes the instruction at unit `at`; returns it, its operands and the offset of the next
/// one.
pub fn decode(code: &[u16], at: usize) -> Result<(Op, Vec<Arg>, usize), DecodeError> {
    let next = at + instr_len(code, at)?;
    let op = Op::from_word(code[at] as u32).expect("instr_len checked the opcode");
    // `instr_len` proved every operand below lies inside `code`.
    let mut pos = at + 1;
    let mut args = Vec::with_capacity(op.info().operands.len());
    for &kind in op.info().operands {
        match kind {
            Operand::Slot => {
                args.push(Arg::Word(kind, code[pos] as u32));
                pos += 1;
            }
            Operand::Imm64 => {
                let lo = unit_pair(code, pos) as u64;
                let hi = unit_pair(code, pos + 2) as u64;
                args.push(Arg::Imm64(lo | (hi << 32)));
                pos += 4;
            }
            Operand::Targets => {
                let n = unit_pair(code, pos) as usize;
                let targets = (0..n).map(|i| unit_pair(code, pos + 2 + 2 * i)).collect();
                args.push(Arg::Targets(targets));
                pos += 2 + 2 * n;
            }
            _ => {
                args.push(Arg::Word(kind, unit_pair(code, pos)));
                pos += 2;
            }
        }
    }
    debug_assert_eq!(pos, next);
    Ok((op, args, next))
}

/// Why word-form code cannot be packed into units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    Decode(DecodeError),
    /// A slot operand at or above [`MAX_FRAME`].
    Slot {
        at: usize,
        slot: u32,
    },
    /// A jump target that is not the start of an instruction.
    Target {
        at: usize,
        target: u32,
    },
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Decode(e) => e.fmt(f),
            EncodeError::Slot { at, slot } => write!(
                f,
                "slot {slot} at word {at} is past the {MAX_FRAME} slots a frame may have"
            ),
            EncodeError::Target { at, target } => {
                write!(f, "jump at word {at} to word {target}, not an instruction")
            }
        }
    }
}

/// Packs word-form code into units, into `out` (cleared first): the image's code. Jump targets
/// are renumbered from words to units; `starts` is scratch space, kept for the next call.
pub fn encode_into(
    words: &[u32],
    out: &mut Vec<u16>,
    starts: &mut Vec<(u32, u32)>,
) -> Result<(), EncodeError> {
    // First the unit offset of every instruction, by its word offset.
    starts.clear();
    let mut at = 0;
    let mut units = 0usize;
    while at < words.len() {
        let len = instr_words(words, at).map_err(EncodeError::Decode)?;
        starts.push((at as u32, units as u32));
        let op = Op::from_word(words[at]).expect("instr_words checked the opcode");
        units += match LENGTHS[op as usize].1 {
            n @ 1.. => n as usize,
            0 => {
                let mut n = 1;
                let mut pos = at + 1;
                for &kind in op.info().operands {
                    match kind {
                        Operand::Targets => {
                            n += 2 + 2 * words[pos] as usize;
                            pos += 1 + words[pos] as usize;
                        }
                        kind => {
                            n += kind.units().unwrap_or(0);
                            pos += kind.words().unwrap_or(0);
                        }
                    }
                }
                n
            }
        };
        at += len;
    }
    let unit_of = |at: usize, target: u32| -> Result<u32, EncodeError> {
        starts
            .binary_search_by_key(&target, |&(w, _)| w)
            .map(|i| starts[i].1)
            .map_err(|_| EncodeError::Target { at, target })
    };
    out.clear();
    out.reserve(units);
    let pair = |out: &mut Vec<u16>, v: u32| {
        out.push(v as u16);
        out.push((v >> 16) as u16);
    };
    let mut at = 0;
    while at < words.len() {
        let op = Op::from_word(words[at]).expect("walked above");
        out.push(op as u16);
        let mut pos = at + 1;
        for &kind in op.info().operands {
            match kind {
                Operand::Slot => {
                    let slot = words[pos];
                    if slot >= MAX_FRAME {
                        return Err(EncodeError::Slot { at: pos, slot });
                    }
                    out.push(slot as u16);
                    pos += 1;
                }
                Operand::Imm64 => {
                    pair(out, words[pos]);
                    pair(out, words[pos + 1]);
                    pos += 2;
                }
                Operand::Target => {
                    pair(out, unit_of(pos, words[pos])?);
                    pos += 1;
                }
                Operand::Targets => {
                    let n = words[pos] as usize;
                    pair(out, n as u32);
                    for i in 0..n {
                        pair(out, unit_of(pos + 1 + i, words[pos + 1 + i])?);
                    }
                    pos += 1 + n;
                }
                _ => {
                    pair(out, words[pos]);
                    pos += 1;
                }
            }
        }
        at = pos;
    }
    debug_assert_eq!(out.len(), units);
    Ok(())
}

/// [`encode_into`] with fresh buffers.
pub fn encode(words: &[u32]) -> Result<Vec<u16>, EncodeError> {
    let mut out = Vec::new();
    encode_into(words, &mut out, &mut Vec::new())?;
    Ok(out)
}

/// Renders a function's code as text, one instruction a line, each at its unit offset.
pub fn disassemble(code: &[u16]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut at = 0;
    while at < code.len() {
        match decode(code, at) {
            Ok((op, args, next)) => {
                let _ = write!(out, "{at:5}: {}", op.name());
                for (name, arg) in op.info().operand_names.iter().zip(&args) {
                    let _ = match arg {
                        Arg::Word(Operand::Slot, v) => write!(out, " {name}=s{v}"),
                        Arg::Word(Operand::Target, v) => write!(out, " {name}=@{v}"),
                        Arg::Word(_, v) => write!(out, " {name}={v}"),
                        Arg::Imm64(v) => write!(out, " {name}={v:#x}"),
                        Arg::Targets(t) => write!(out, " {name}={t:?}"),
                    };
                }
                out.push('\n');
                at = next;
            }
            Err(e) => {
                let _ = writeln!(out, "{at:5}: <{e}>");
                break;
            }
        }
    }
    out
}
