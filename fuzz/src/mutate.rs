//! Structured mutation of valid images.
//!
//! A seed image is read back into a [`Module`] (the archive deserialized; each function's code,
//! which the archive does not hold, from the code region), then one to three fields of any
//! class are changed, to plausible values (in range, so the mutant often passes the checks and
//! runs) or hostile ones (edges, out of range), and the image is rebuilt through
//! [`chiwawa_format::write_image`], so every group hash and the checksum are right again: only
//! the verifier and the executor's checks stand between the mutant and the runtime. Layout
//! fields (which `write_image` computes) and header fields are changed after it, with hashes
//! and checksum recomputed by hand.

use chiwawa_format::{
    self as format, header_at, ConstExpr, ConstOp, DataMode, ElemMode, Header, ImportKind,
    LoadedImage, Module, Op, Operand, HEADER_LEN, MAX_FRAME, OPS,
};
use rkyv::rancor::BoxedError;

use crate::rng::Rng;

/// A seed: its module with code, and the header fields it was written with.
#[derive(Clone)]
pub struct Seed {
    pub name: String,
    pub module: Module,
    pub header: Header,
}

impl Seed {
    /// Reads an image back into a module (`None` if it does not load).
    pub fn from_image(name: &str, bytes: &[u8]) -> Option<Seed> {
        let image = LoadedImage::from_bytes(bytes).ok()?;
        image.ensure_all_code().ok()?;
        let mut module: Module = rkyv::deserialize::<Module, BoxedError>(image.module()).ok()?;
        for (i, f) in module.funcs.iter_mut().enumerate() {
            f.code = image.func_code(i)?.iter().map(|u| u.to_native()).collect();
        }
        Some(Seed {
            name: name.to_string(),
            module,
            header: *image.header(),
        })
    }
}

/// How a mutant must be presented to the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presentation {
    /// As bytes in memory (a whole image).
    InMemory,
    /// As a file, extended (sparse) to the length its header claims, read group by group: the
    /// way to reach huge `code_units` without a 4 GiB buffer.
    SparseFile,
}

pub struct Mutant {
    pub bytes: Vec<u8>,
    /// The mutations applied, in order.
    pub kinds: Vec<&'static str>,
    pub presentation: Presentation,
}

/// Applies 1-3 mutations to a copy of `seed`.
pub fn mutate(seed: &Seed, rng: &mut Rng) -> Mutant {
    let mut m = seed.module.clone();
    let n = match rng.below(10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let mut kinds = Vec::new();
    let mut post: Vec<Post> = Vec::new();
    for _ in 0..n {
        match rng.below(100) {
            0..=3 => post.push(Post::Layout),
            4..=6 => post.push(Post::Header),
            7..=8 => post.push(Post::Archive),
            _ => kinds.push(mutate_module(&mut m, rng)),
        }
    }
    let h = seed.header;
    let mut bytes = match format::write_image(
        &mut m,
        h.translator_version,
        h.features,
        h.options,
        h.source_hash,
    ) {
        Ok(bytes) => bytes,
        Err(_) => {
            kinds.push("write-image-refused");
            return Mutant {
                bytes: Vec::new(),
                kinds,
                presentation: Presentation::InMemory,
            };
        }
    };
    let mut presentation = Presentation::InMemory;
    // The layout is changed on a well-formed image, before any header or archive damage.
    post.sort_by_key(|p| !matches!(p, Post::Layout));
    for p in post {
        match p {
            Post::Layout => {
                let (kind, rebuilt, sparse) = mutate_layout(&mut m, &bytes, rng);
                kinds.push(kind);
                bytes = rebuilt;
                if sparse {
                    presentation = Presentation::SparseFile;
                }
            }
            Post::Header => {
                let (kind, sparse) = mutate_header(&mut bytes, rng);
                kinds.push(kind);
                if sparse {
                    presentation = Presentation::SparseFile;
                }
            }
            Post::Archive => {
                kinds.push("archive.byte-flip");
                let payload = payload_len(&bytes).min(bytes.len().saturating_sub(HEADER_LEN));
                if payload > 0 {
                    let at = HEADER_LEN + rng.index(payload);
                    bytes[at] ^= 1 << rng.below(8);
                    fix_checksum(&mut bytes);
                }
            }
        }
    }
    Mutant {
        bytes,
        kinds,
        presentation,
    }
}

enum Post {
    Layout,
    Header,
    Archive,
}

/// A little-endian header field of a (possibly malformed) image of at least [`HEADER_LEN`] bytes.
pub fn field_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

pub fn field_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn set_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn payload_len(bytes: &[u8]) -> usize {
    field_u64(bytes, header_at::PAYLOAD_LEN) as usize
}

/// The file length the header of `bytes` claims (saturating, as a crafted header may claim
/// anything), or the length of `bytes` if it has no whole header.
pub fn claimed_len(bytes: &[u8]) -> u64 {
    if bytes.len() < HEADER_LEN {
        return bytes.len() as u64;
    }
    let code_units = u64::from(field_u32(bytes, header_at::CODE_UNITS));
    (HEADER_LEN as u64)
        .saturating_add(field_u64(bytes, header_at::PAYLOAD_LEN))
        .div_ceil(16)
        .saturating_mul(16)
        .saturating_add(2 * code_units)
}

/// Recomputes the header checksum, when the claimed archive lies inside `bytes` (a checksum is
/// not authentication: an attacker recomputes it too).
pub fn fix_checksum(bytes: &mut [u8]) {
    let _ = chiwawa_format::reseal(bytes);
}

/// Header fields: the length of the code region in units or of the archive, or the features,
/// with the checksum recomputed. Returns the kind and whether the file must be extended to the
/// length the header now claims.
fn mutate_header(bytes: &mut [u8], rng: &mut Rng) -> (&'static str, bool) {
    match rng.below(5) {
        0..=2 => {
            let old = field_u32(bytes, header_at::CODE_UNITS);
            let new = match rng.below(8) {
                0 => old.wrapping_add(1),
                1 => old.wrapping_sub(1),
                2 => 1 << 31,
                3 => old.wrapping_add(1 << 31),
                4 => u32::MAX,
                5 => u32::MAX - rng.below(64) as u32,
                6 => old.wrapping_mul(2),
                _ => rng.next_u32(),
            };
            set_u32(bytes, header_at::CODE_UNITS, new);
            fix_checksum(bytes);
            ("header.code_units", true)
        }
        3 => {
            let old = payload_len(bytes) as u64;
            let new = match rng.below(7) {
                0 => old.wrapping_add(1),
                1 => old.wrapping_sub(1),
                2 => old.wrapping_add(16),
                3 => old.wrapping_sub(16),
                4 => u64::MAX - rng.below(64),
                5 => 1 << 32,
                _ => rng.below(old.saturating_add(64)),
            };
            set_u64(bytes, header_at::PAYLOAD_LEN, new);
            fix_checksum(bytes);
            ("header.payload_len", false)
        }
        _ => {
            // One bit of a field no mutation above sets: features, the ISA fingerprint (an
            // image of another build), the reserved word.
            let (at, kind) = match rng.below(3) {
                0 => (header_at::FEATURES, "header.features"),
                1 => (header_at::ISA, "header.isa"),
                _ => (header_at::RESERVED, "header.reserved"),
            };
            let bit = 1u64 << rng.below(64);
            set_u64(bytes, at, field_u64(bytes, at) ^ bit);
            fix_checksum(bytes);
            (kind, false)
        }
    }
}

/// The code layout (group of a function, its start and length, the groups themselves), which
/// `write_image` computes: changed after it, the archive serialized again, group hashes
/// recomputed over the (unchanged) code region where the new bounds lie inside it.
///
/// One variant is the crafted image of issue 14.2: the region claims 2^31 more units than the
/// file holds (a sparse file makes the length check pass), the last group covers them, and a
/// function's code may start past 2^31 units: on a 32-bit runtime `2 * units` wraps, so the
/// group's byte length is what it was (its hash unchanged) and the code pointer wraps.
/// Returns the kind, the image and whether it must be presented as a sparse file.
fn mutate_layout(m: &mut Module, image: &[u8], rng: &mut Rng) -> (&'static str, Vec<u8>, bool) {
    // The header's own fields (an earlier layout mutation may claim more code than there is).
    let old_units = field_u32(image, header_at::CODE_UNITS);
    let code_offset = (HEADER_LEN + payload_len(image)).div_ceil(16) * 16;
    let region = image.get(code_offset..).unwrap_or_default();
    let groups = m.code_groups.len();
    let mut code_units = old_units;
    let kind = if groups > 0 && rng.chance(1, 4) {
        let delta = if rng.chance(3, 4) {
            1u32 << 31
        } else {
            (1u32 << 31) + 2 * rng.below(1 << 12) as u32
        };
        let last = groups - 1;
        m.code_groups[last].len = m.code_groups[last].len.wrapping_add(delta);
        code_units = code_units.wrapping_add(delta);
        let in_last: Vec<usize> = (0..m.funcs.len())
            .filter(|&f| m.funcs[f].group as usize == last)
            .collect();
        if !in_last.is_empty() && rng.chance(1, 2) {
            let f = *rng.pick(&in_last);
            m.funcs[f].code_start = m.funcs[f].code_start.wrapping_add(delta);
            "layout.region_wraps_code_moved"
        } else {
            "layout.region_wraps"
        }
    } else if !m.funcs.is_empty() && rng.chance(2, 3) {
        let f = rng.index(m.funcs.len());
        let func = &mut m.funcs[f];
        match rng.below(3) {
            0 => {
                func.group = small_or_hostile(rng, groups);
                "layout.func_group"
            }
            1 => {
                func.code_start = nudge(rng, func.code_start);
                "layout.code_start"
            }
            _ => {
                func.code_len = nudge(rng, func.code_len);
                "layout.code_len"
            }
        }
    } else if groups > 0 {
        let g = rng.index(groups);
        match rng.below(4) {
            0 => {
                m.code_groups[g].start = nudge(rng, m.code_groups[g].start);
                "layout.group_start"
            }
            1 => {
                m.code_groups[g].len = nudge(rng, m.code_groups[g].len);
                "layout.group_len"
            }
            2 => {
                m.code_groups.remove(g);
                "layout.group_removed"
            }
            _ => {
                let copy = m.code_groups[g];
                m.code_groups.insert(g, copy);
                "layout.group_duplicated"
            }
        }
    } else {
        m.code_groups.push(Default::default());
        "layout.group_added"
    };
    for g in &mut m.code_groups {
        let (start, len) = (2 * g.start as usize, 2 * g.len as usize);
        if let Some(bytes) = start
            .checked_add(len)
            .and_then(|end| region.get(start..end))
        {
            g.hash = xxhash_rust::xxh3::xxh3_64(bytes);
        }
    }
    let archive = rkyv::to_bytes::<BoxedError>(&*m).expect("a module serializes");
    let mut out = image[..HEADER_LEN].to_vec();
    set_u32(&mut out, header_at::CODE_UNITS, code_units);
    out.extend_from_slice(&archive);
    set_u64(&mut out, header_at::PAYLOAD_LEN, archive.len() as u64);
    out.resize(out.len().div_ceil(16) * 16, 0);
    out.extend_from_slice(region);
    fix_checksum(&mut out);
    (kind, out, code_units != old_units)
}

fn nudge(rng: &mut Rng, v: u32) -> u32 {
    match rng.below(6) {
        0 => v.wrapping_add(1),
        1 => v.wrapping_sub(1),
        2 => v.wrapping_add(1 << 31),
        3 => u32::MAX,
        4 => v.wrapping_add(rng.below(64) as u32),
        _ => rng.interesting_u32(),
    }
}

/// An index into a space of `len`: usually in range, otherwise at or past its end.
fn small_or_hostile(rng: &mut Rng, len: usize) -> u32 {
    if len > 0 && rng.chance(2, 3) {
        rng.index(len) as u32
    } else {
        match rng.below(4) {
            0 => len as u32,
            1 => len as u32 + 1,
            2 => u32::MAX,
            _ => rng.interesting_u32(),
        }
    }
}

fn valtype(rng: &mut Rng) -> u8 {
    use format::valtype::*;
    if rng.chance(5, 6) {
        *rng.pick(&[I32, I64, F32, F64, FUNCREF, EXTERNREF])
    } else {
        let any = rng.next_u32() as u8;
        *rng.pick(&[0x7b, 0x40, 0x00, 0xff, any])
    }
}

fn limits(rng: &mut Rng, min: &mut u32, max: &mut Option<u32>, big: u32) {
    match rng.below(6) {
        0 => *min = min.wrapping_add(1),
        1 => *min = rng.below(big as u64 + 2) as u32,
        2 => *max = None,
        3 => *max = Some(min.saturating_sub(1)),
        4 => *max = Some(rng.interesting_u32()),
        _ => *min = rng.interesting_u32(),
    }
}

struct Spaces {
    funcs: usize,
    tables: usize,
    memories: usize,
    globals: usize,
}

fn spaces(m: &Module) -> Spaces {
    let count = |f: fn(&ImportKind) -> bool| m.imports.iter().filter(|i| f(&i.kind)).count();
    Spaces {
        funcs: m.func_types.len(),
        tables: count(|k| matches!(k, ImportKind::Table(_))) + m.tables.len(),
        memories: count(|k| matches!(k, ImportKind::Memory(_))) + m.memories.len(),
        globals: count(|k| matches!(k, ImportKind::Global(_))) + m.globals.len(),
    }
}

fn const_op(rng: &mut Rng, s: &Spaces) -> ConstOp {
    match rng.below(13) {
        0 => ConstOp::I32(rng.interesting_u32() as i32),
        1 => ConstOp::I64(rng.next_u64() as i64),
        2 => ConstOp::F32(rng.next_u32()),
        3 => ConstOp::F64(rng.next_u64()),
        4 => ConstOp::RefNull,
        5 | 6 => ConstOp::RefFunc(small_or_hostile(rng, s.funcs)),
        7 => ConstOp::GlobalGet(small_or_hostile(rng, s.globals)),
        8 => ConstOp::I32Add,
        9 => ConstOp::I32Sub,
        10 => ConstOp::I64Mul,
        11 => ConstOp::I32(1000),
        _ => ConstOp::I64Add,
    }
}

fn mutate_const(rng: &mut Rng, e: &mut ConstExpr, s: &Spaces) {
    let len = e.ops.len();
    match rng.below(5) {
        0 | 1 if len > 0 => {
            let at = rng.index(len);
            e.ops[at] = const_op(rng, s);
        }
        2 => {
            let at = rng.index(len + 1);
            e.ops.insert(at, const_op(rng, s));
        }
        3 if len > 0 => {
            e.ops.remove(rng.index(len));
        }
        _ => e.ops = vec![const_op(rng, s)],
    }
}

/// One mutation of a module field (not the layout); returns its kind.
fn mutate_module(m: &mut Module, rng: &mut Rng) -> &'static str {
    let s = spaces(m);
    // Code first and most: it is what the verifier guards.
    let class = rng.below(100);
    if class < 40 && !m.funcs.is_empty() {
        return mutate_code(m, rng);
    }
    match rng.below(13) {
        0 => {
            if m.types.is_empty() || rng.chance(1, 8) {
                m.types.push(format::FuncType {
                    params: vec![valtype(rng)],
                    results: vec![],
                });
                return "types.added";
            }
            let t = rng.index(m.types.len());
            let ty = &mut m.types[t];
            let list = if rng.chance(1, 2) {
                &mut ty.params
            } else {
                &mut ty.results
            };
            match rng.below(3) {
                0 if !list.is_empty() => {
                    let at = rng.index(list.len());
                    list[at] = valtype(rng);
                    "types.valtype"
                }
                1 if !list.is_empty() => {
                    list.pop();
                    "types.arity_down"
                }
                _ => {
                    let n = if rng.chance(1, 10) { 300 } else { 1 };
                    for _ in 0..n {
                        list.push(valtype(rng));
                    }
                    "types.arity_up"
                }
            }
        }
        1 => {
            if m.imports.is_empty() {
                return mutate_code_or(m, rng);
            }
            let i = rng.index(m.imports.len());
            match rng.below(4) {
                0 => {
                    m.imports.remove(i);
                    "imports.removed"
                }
                1 => {
                    m.imports[i].name.push('x');
                    "imports.name"
                }
                _ => {
                    match &mut m.imports[i].kind {
                        ImportKind::Func(ty) => *ty = small_or_hostile(rng, m.types.len()),
                        ImportKind::Table(t) => {
                            if rng.chance(1, 3) {
                                t.elem = valtype(rng);
                            } else {
                                limits(rng, &mut t.min, &mut t.max, 100);
                            }
                        }
                        ImportKind::Memory(mt) => limits(rng, &mut mt.min, &mut mt.max, 70000),
                        ImportKind::Global(g) => {
                            if rng.chance(1, 2) {
                                g.ty = valtype(rng);
                            } else {
                                g.mutable = !g.mutable;
                            }
                        }
                    }
                    "imports.type"
                }
            }
        }
        2 => {
            if m.func_types.is_empty() || rng.chance(1, 4) {
                if rng.chance(1, 2) {
                    m.func_types.pop();
                } else {
                    m.func_types.push(small_or_hostile(rng, m.types.len()));
                }
                return "func_types.count";
            }
            let i = rng.index(m.func_types.len());
            m.func_types[i] = small_or_hostile(rng, m.types.len());
            "func_types.entry"
        }
        3 | 4 => {
            if m.funcs.is_empty() {
                return "funcs.none";
            }
            let f = rng.index(m.funcs.len());
            let ntypes = m.types.len();
            let func = &mut m.funcs[f];
            match rng.below(7) {
                0 => {
                    func.ty = small_or_hostile(rng, ntypes);
                    "func.ty"
                }
                1 => {
                    func.num_locals = match rng.below(5) {
                        0 => func.num_locals.wrapping_add(1),
                        1 => func.num_locals.saturating_sub(1),
                        2 => func.frame_size,
                        3 => func.frame_size + 1,
                        _ => rng.interesting_u32(),
                    };
                    "func.num_locals"
                }
                2 => {
                    func.frame_size = match rng.below(6) {
                        0 => func.frame_size.wrapping_add(1),
                        1 => func.frame_size.saturating_sub(1),
                        2 => func.num_locals,
                        3 => MAX_FRAME,
                        4 => MAX_FRAME + 1,
                        _ => rng.interesting_u32(),
                    };
                    "func.frame_size"
                }
                3 | 4 => {
                    match rng.below(3) {
                        0 if !func.consts.is_empty() => {
                            let at = rng.index(func.consts.len());
                            func.consts[at] = rng.next_u64();
                        }
                        1 => {
                            func.consts.pop();
                        }
                        _ => func.consts.push(rng.next_u64()),
                    }
                    "func.consts"
                }
                5 => {
                    m.funcs.remove(f);
                    "funcs.removed"
                }
                _ => {
                    let copy = m.funcs[f].clone();
                    m.funcs.push(copy);
                    if rng.chance(1, 2) {
                        m.func_types.push(m.funcs[f].ty);
                    }
                    "funcs.duplicated"
                }
            }
        }
        5 => {
            if m.tables.is_empty() || rng.chance(1, 6) {
                m.tables.push(format::TableType {
                    elem: valtype(rng),
                    min: rng.below(20) as u32,
                    max: None,
                });
                return "tables.added";
            }
            let t = rng.index(m.tables.len());
            let table = &mut m.tables[t];
            if rng.chance(1, 4) {
                table.elem = valtype(rng);
                "tables.elem"
            } else {
                limits(rng, &mut table.min, &mut table.max, 100);
                "tables.limits"
            }
        }
        6 => {
            if m.memories.is_empty() || rng.chance(1, 6) {
                m.memories.push(format::MemoryType { min: 1, max: None });
                return "memories.added";
            }
            let i = rng.index(m.memories.len());
            let mem = &mut m.memories[i];
            limits(rng, &mut mem.min, &mut mem.max, 70000);
            "memories.limits"
        }
        7 => {
            if m.globals.is_empty() {
                return mutate_code_or(m, rng);
            }
            let g = rng.index(m.globals.len());
            match rng.below(4) {
                0 => {
                    m.globals[g].ty.ty = valtype(rng);
                    "globals.type"
                }
                1 => {
                    m.globals[g].ty.mutable = !m.globals[g].ty.mutable;
                    "globals.mutable"
                }
                _ => {
                    mutate_const(rng, &mut m.globals[g].init, &s);
                    "globals.init"
                }
            }
        }
        8 => {
            if m.exports.is_empty() {
                return mutate_code_or(m, rng);
            }
            let e = rng.index(m.exports.len());
            match rng.below(4) {
                0 => {
                    m.exports[e].kind = rng.below(5) as u8;
                    "exports.kind"
                }
                1 => {
                    let copy = m.exports[e].clone();
                    m.exports.push(copy);
                    "exports.duplicate_name"
                }
                _ => {
                    m.exports[e].index = small_or_hostile(rng, s.funcs);
                    "exports.index"
                }
            }
        }
        9 => {
            m.start = if m.start.is_some() && rng.chance(1, 3) {
                None
            } else {
                Some(small_or_hostile(rng, s.funcs))
            };
            "start"
        }
        10 => {
            if m.elems.is_empty() {
                return mutate_code_or(m, rng);
            }
            let e = rng.index(m.elems.len());
            let elem = &mut m.elems[e];
            match rng.below(8) {
                0 => {
                    elem.mode = match rng.below(3) {
                        0 => ElemMode::Passive,
                        1 => ElemMode::Declarative,
                        _ => ElemMode::Active {
                            table: small_or_hostile(rng, s.tables),
                            offset: ConstExpr {
                                ops: vec![ConstOp::I32(rng.below(8) as i32)],
                            },
                        },
                    };
                    "elems.mode"
                }
                1 => match &mut elem.mode {
                    ElemMode::Active { table, .. } => {
                        *table = small_or_hostile(rng, s.tables);
                        "elems.table"
                    }
                    _ => "elems.table_of_passive",
                },
                2 => match &mut elem.mode {
                    ElemMode::Active { offset, .. } => {
                        mutate_const(rng, offset, &s);
                        "elems.offset"
                    }
                    _ => "elems.offset_of_passive",
                },
                3 => {
                    elem.ty = valtype(rng);
                    "elems.ty"
                }
                _ if elem.items.is_empty() => {
                    elem.items.push(ConstExpr {
                        ops: vec![ConstOp::RefNull],
                    });
                    "elems.item_added"
                }
                4 | 5 => {
                    // The crafted image of issue 14: a number where a function reference goes.
                    let i = rng.index(elem.items.len());
                    let v = *rng.pick(&[1000, 0, 1, -1, s.funcs as i32]);
                    elem.items[i] = ConstExpr {
                        ops: vec![if rng.chance(3, 4) {
                            ConstOp::I32(v)
                        } else {
                            ConstOp::I64(v as i64)
                        }],
                    };
                    "elems.item_not_a_reference"
                }
                _ => {
                    let i = rng.index(elem.items.len());
                    mutate_const(rng, &mut elem.items[i], &s);
                    "elems.item"
                }
            }
        }
        11 => {
            if m.datas.is_empty() {
                return mutate_code_or(m, rng);
            }
            let d = rng.index(m.datas.len());
            let data = &mut m.datas[d];
            match rng.below(5) {
                0 => {
                    data.mode = if rng.chance(1, 2) {
                        DataMode::Passive
                    } else {
                        DataMode::Active {
                            memory: small_or_hostile(rng, s.memories),
                            offset: ConstExpr {
                                ops: vec![ConstOp::I32(rng.interesting_u32() as i32)],
                            },
                        }
                    };
                    "datas.mode"
                }
                1 => match &mut data.mode {
                    DataMode::Active { memory, .. } => {
                        *memory = small_or_hostile(rng, s.memories);
                        "datas.memory"
                    }
                    _ => "datas.memory_of_passive",
                },
                2 => match &mut data.mode {
                    DataMode::Active { offset, .. } => {
                        mutate_const(rng, offset, &s);
                        "datas.offset"
                    }
                    _ => "datas.offset_of_passive",
                },
                _ => {
                    let len = match rng.below(3) {
                        0 => 0,
                        1 => data.bytes.len() + 1,
                        _ => rng.index(70_000),
                    };
                    data.bytes.resize(len, 0xa5);
                    "datas.bytes"
                }
            }
        }
        _ => {
            if m.func_names.is_empty() || rng.chance(1, 4) {
                m.func_names.push(format::FuncName {
                    index: small_or_hostile(rng, s.funcs),
                    name: "x".repeat(rng.index(300)),
                });
                return "func_names.added";
            }
            let n = rng.index(m.func_names.len());
            match rng.below(3) {
                0 => {
                    m.func_names[n].index = small_or_hostile(rng, s.funcs);
                    "func_names.index"
                }
                1 => {
                    m.func_names.reverse();
                    "func_names.order"
                }
                _ => {
                    m.func_names[n].name = String::new();
                    "func_names.name"
                }
            }
        }
    }
}

fn mutate_code_or(m: &mut Module, rng: &mut Rng) -> &'static str {
    if m.funcs.is_empty() {
        "none"
    } else {
        mutate_code(m, rng)
    }
}

/// Instruction starts of `code` (up to the first undecodable unit).
fn starts(code: &[u16]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < code.len() {
        out.push(at);
        match format::instr_len(code, at) {
            Ok(n) => at += n,
            Err(_) => break,
        }
    }
    out
}

/// Operands of the instruction at `at`: (kind, unit position). A `Targets` operand gives its
/// count as `Targets` and each target as `Target`.
fn operands(code: &[u16], at: usize) -> Vec<(Operand, usize)> {
    let Some(op) = Op::from_word(code[at] as u32) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pos = at + 1;
    for &kind in op.info().operands {
        match kind {
            Operand::Targets => {
                if pos + 2 > code.len() {
                    break;
                }
                // A mutated count may claim up to 2^32 targets: only those in the code exist.
                let n = (format::unit_pair(code, pos) as usize).min((code.len() - pos - 2) / 2);
                out.push((Operand::Targets, pos));
                for i in 0..n {
                    out.push((Operand::Target, pos + 2 + 2 * i));
                }
                pos += 2 + 2 * n;
            }
            kind => {
                out.push((kind, pos));
                pos += kind.units().unwrap_or(1);
            }
        }
    }
    out.retain(|&(kind, pos)| pos + kind.units().unwrap_or(2) <= code.len());
    out
}

fn put_pair(code: &mut [u16], pos: usize, v: u32) {
    code[pos] = v as u16;
    code[pos + 1] = (v >> 16) as u16;
}

/// One mutation of a function's code: opcodes, slot operands, jump targets, indices,
/// immediates, or the instruction stream itself.
fn mutate_code(m: &mut Module, rng: &mut Rng) -> &'static str {
    let s = spaces(m);
    let ntypes = m.types.len();
    let (ndatas, nelems) = (m.datas.len(), m.elems.len());
    let f = rng.index(m.funcs.len());
    if rng.chance(1, 40) && m.funcs.len() > 1 {
        let g = rng.index(m.funcs.len());
        let code = std::mem::take(&mut m.funcs[g].code);
        m.funcs[g].code = std::mem::replace(&mut m.funcs[f].code, code);
        return "code.swapped_between_functions";
    }
    let func = &mut m.funcs[f];
    let frame = func.frame_size;
    let code = &mut func.code;
    let st = starts(code);
    if st.is_empty() {
        code.push(Op::Unreachable as u16);
        return "code.unreachable_into_empty";
    }
    let pick_target = |rng: &mut Rng, code_len: usize| -> u32 {
        if rng.chance(2, 3) {
            *rng.pick(&st) as u32
        } else {
            match rng.below(4) {
                0 => (*rng.pick(&st) + 1) as u32,
                1 => code_len as u32,
                2 => u32::MAX,
                _ => rng.next_u32(),
            }
        }
    };
    // An instruction with an operand of the wanted kind, searched from a random start.
    let find = |rng: &mut Rng, code: &[u16], want: &dyn Fn(Operand) -> bool| {
        let from = rng.index(st.len());
        (0..st.len())
            .map(|i| st[(from + i) % st.len()])
            .find_map(|at| {
                let ops: Vec<_> = operands(code, at)
                    .into_iter()
                    .filter(|(k, _)| want(*k))
                    .collect();
                (!ops.is_empty()).then(|| ops[rng.index(ops.len())])
            })
    };
    match rng.below(14) {
        0 | 1 => {
            // An op with the same operand kinds: the stream still decodes, often verifies.
            let at = *rng.pick(&st);
            let Some(op) = Op::from_word(code[at] as u32) else {
                return "code.none";
            };
            let same: Vec<&format::OpInfo> = OPS
                .iter()
                .filter(|i| i.operands == op.info().operands)
                .collect();
            code[at] = rng.pick(&same).op as u16;
            "code.opcode_same_shape"
        }
        2 => {
            let at = *rng.pick(&st);
            code[at] = if rng.chance(1, 2) {
                rng.index(OPS.len()) as u16
            } else {
                rng.next_u32() as u16
            };
            "code.opcode_any"
        }
        3..=5 => match find(rng, code, &|k| k == Operand::Slot) {
            Some((_, pos)) => {
                code[pos] = if rng.chance(2, 3) {
                    rng.below(frame.max(1) as u64) as u16
                } else {
                    {
                        let any = rng.next_u32() as u16;
                        *rng.pick(&[frame as u16, frame.wrapping_add(1) as u16, 0xffff, any])
                    }
                };
                "code.slot"
            }
            None => "code.none",
        },
        6 | 7 => match find(rng, code, &|k| k == Operand::Target) {
            Some((_, pos)) => {
                let t = pick_target(rng, code.len());
                put_pair(code, pos, t);
                "code.target"
            }
            None => "code.none",
        },
        8 => match find(rng, code, &|k| k == Operand::Targets) {
            Some((_, pos)) => {
                let n = format::unit_pair(code, pos);
                let new = match rng.below(4) {
                    0 => n + 1,
                    1 => n.saturating_sub(1),
                    2 => 0,
                    _ => rng.interesting_u32(),
                };
                put_pair(code, pos, new);
                "code.targets_count"
            }
            None => "code.none",
        },
        9 => match find(rng, code, &Operand::is_index) {
            Some((kind, pos)) => {
                let len = match kind {
                    Operand::Func => s.funcs,
                    Operand::Type => ntypes,
                    Operand::Table => s.tables,
                    Operand::Global => s.globals,
                    Operand::Memory => s.memories,
                    Operand::Data => ndatas,
                    _ => nelems,
                };
                put_pair(code, pos, small_or_hostile(rng, len));
                "code.index"
            }
            None => "code.none",
        },
        10 => match find(rng, code, &|k| matches!(k, Operand::Imm32 | Operand::Imm64)) {
            Some((_, pos)) => {
                put_pair(code, pos, rng.interesting_u32());
                "code.immediate"
            }
            None => "code.none",
        },
        11 => {
            let cut = if rng.chance(1, 2) {
                *rng.pick(&st)
            } else {
                rng.index(code.len())
            };
            code.truncate(cut);
            "code.truncated"
        }
        12 => {
            let at = *rng.pick(&st);
            let from = *rng.pick(&st);
            let len = format::instr_len(code, from).unwrap_or(1);
            let copy: Vec<u16> = code[from..from + len].to_vec();
            code.splice(at..at, copy);
            "code.instruction_duplicated"
        }
        _ => {
            let i = rng.index(st.len());
            let end = st.get(i + 1).copied().unwrap_or(code.len());
            code.drain(st[i]..end);
            "code.instruction_removed"
        }
    }
}
