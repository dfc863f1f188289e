//! The canonical ABI of the component model: flattening function types into core signatures,
//! lifting component values from core values and linear memory, and lowering them back
//! (UTF-8 strings, one 32-bit memory, synchronous calls).
//!
//! Follows `design/mvp/CanonicalABI.md` of the component-model repository:
//!
//! - Layout: `alignment` and `elem_size` per the spec (variant discriminants of 1, 2 or 4
//!   bytes by case count, flags of 1, 2 or 4 bytes, strings and lists as `(ptr, len)` pairs).
//! - Flattening: `MAX_FLAT_PARAMS` = 16 (beyond, one `i32` pointer to the parameters as a tuple
//!   in memory), `MAX_FLAT_RESULTS` = 1 (beyond, a return pointer: an extra trailing parameter
//!   for `canon lower`, an `i32` result for `canon lift`); variants join their payloads' core
//!   types (`i32`/`f32` give `i32`, any other mix `i64`).
//! - Lifting traps on: misaligned or out-of-bounds pointers, strings longer than
//!   `MAX_STRING_BYTE_LENGTH` or not UTF-8, lists longer than `MAX_LIST_BYTE_LENGTH` bytes,
//!   discriminants out of range, chars that are surrogates or above `0x10FFFF`. Booleans are
//!   true when nonzero; narrow integers take the low bits of their `i32`; flags ignore the bits
//!   beyond their labels; NaNs are canonicalized (lifting and lowering, the deterministic
//!   profile). Own and borrow handles are passed through as raw `u32`s.
//! - Lowering a value with strings or lists takes two passes around the guest's `cabi_realloc`:
//!   [`plan_allocations`] lists the `(align, size)` of each `realloc(0, 0, align, size)` the
//!   spec makes, in its order (a string's or list's buffer, then its elements' buffers, in
//!   element order). Like the spec, it asks for zero-length strings and lists too (a
//!   `realloc(0, 0, align, 0)` call each). [`lower_result`] then writes the value with the
//!   pointers the guest returned, checking each one's alignment and bounds as the spec does
//!   after each `realloc`.
//!
//! Deviations, all of them traps where the spec would run on (or run out of host memory):
//! the type table must be well formed (every child index smaller than its parent's, no empty
//! records, tuples, variants, enums or flags, at most 32 flags, no type of `2^28` bytes or more,
//! nesting at most [`MAX_TYPE_DEPTH`] deep), and one call may lift in total at most as many
//! string and list bytes as the memory holds (so aliasing lists in guest memory cannot make the
//! host copy the memory many times over). Host values being lowered obey the same string and
//! list length limits as lifted ones.

use std::fmt::Write as _;

use chiwawa_format::component::{FuncSig, Resource, ValType};
use chiwawa_format::valtype::{F32, F64, I32, I64};
use chiwawa_format::FuncType;

use super::value::Value;
use crate::trap::{Trap, TrapKind};

/// At most this many flat core parameters; beyond, they go through memory.
const MAX_FLAT_PARAMS: usize = 16;
/// At most this many flat core results; beyond, they go through memory.
const MAX_FLAT_RESULTS: usize = 1;
/// The longest string, in bytes, lifted or lowered.
const MAX_STRING_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// The longest list, in bytes, lifted or lowered.
const MAX_LIST_BYTE_LENGTH: u64 = (1 << 28) - 1;
/// Every type's `elem_size` is below this (a validation rule of the spec).
const MAX_ELEM_SIZE: u64 = 1 << 28;
/// How deeply types may nest (bounds the recursion of lifting and lowering).
pub const MAX_TYPE_DEPTH: u32 = 100;
/// [`render_type`] stops growing its output beyond this many bytes.
const MAX_RENDER_LEN: usize = 1 << 16;
const CANONICAL_F32_NAN: u32 = 0x7fc0_0000;
const CANONICAL_F64_NAN: u64 = 0x7ff8_0000_0000_0000;

fn abi_trap(msg: impl std::fmt::Display) -> Trap {
    Trap::new(TrapKind::Host(format!("canonical ABI: {msg}")))
}

fn oob() -> Trap {
    Trap::new(TrapKind::MemoryOutOfBounds)
}

fn align_to(x: u64, align: u32) -> u64 {
    let a = u64::from(align.max(1));
    x.div_ceil(a) * a
}

/// `ptr + off` as a pointer, or out of bounds.
fn offset(ptr: u32, off: u64) -> Result<u32, Trap> {
    u32::try_from(u64::from(ptr) + off).map_err(|_| oob())
}

/// The core types of a flattened type, when there are at most [`MAX_FLAT_PARAMS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Flat {
    len: u8,
    tys: [u8; MAX_FLAT_PARAMS],
}

impl Flat {
    const EMPTY: Flat = Flat {
        len: 0,
        tys: [0; MAX_FLAT_PARAMS],
    };

    fn of(tys: &[u8]) -> Option<Flat> {
        tys.iter().try_fold(Flat::EMPTY, |f, &t| f.push(t))
    }

    fn push(mut self, t: u8) -> Option<Flat> {
        let slot = self.tys.get_mut(usize::from(self.len))?;
        *slot = t;
        self.len += 1;
        Some(self)
    }

    fn as_slice(&self) -> &[u8] {
        self.tys.get(..usize::from(self.len)).unwrap_or(&[])
    }

    fn len(&self) -> usize {
        usize::from(self.len)
    }
}

/// `a` then `b`; `None` (more than [`MAX_FLAT_PARAMS`]) if either is or the sum is.
fn concat(a: Option<Flat>, b: Option<Flat>) -> Option<Flat> {
    b?.as_slice().iter().try_fold(a?, |f, &t| f.push(t))
}

fn join(a: u8, b: u8) -> u8 {
    if a == b {
        a
    } else if (a == I32 && b == F32) || (a == F32 && b == I32) {
        I32
    } else {
        I64
    }
}

/// Two variant payloads' flat types, joined position by position.
fn join_flat(a: Option<Flat>, b: Option<Flat>) -> Option<Flat> {
    let (a, b) = (a?, b?);
    let (long, short) = if a.len >= b.len { (a, b) } else { (b, a) };
    let mut out = long;
    for (slot, &t) in out.tys.iter_mut().zip(short.as_slice()) {
        *slot = join(*slot, t);
    }
    Some(out)
}

/// A type's layout, computed once per call for the types it involves.
#[derive(Clone, Copy, Debug)]
struct Info {
    size: u32,
    align: u32,
    /// `None` when the type flattens to more than [`MAX_FLAT_PARAMS`] core values.
    flat: Option<Flat>,
    depth: u32,
    /// Variants: the discriminant's size and the payload's offset.
    disc_size: u32,
    payload_off: u32,
}

impl Info {
    fn scalar(size: u32, core: u8) -> Info {
        Info {
            size,
            align: size,
            flat: Flat::of(&[core]),
            depth: 1,
            disc_size: 0,
            payload_off: 0,
        }
    }
}

type InfoResult = Result<Info, &'static str>;

/// The layouts of a type table's entries `0..=max` (the largest type a call involves).
struct Layout<'a> {
    types: &'a [ValType],
    infos: Vec<InfoResult>,
}

impl<'a> Layout<'a> {
    fn new(types: &'a [ValType], roots: impl IntoIterator<Item = u32>) -> Layout<'a> {
        let n = roots
            .into_iter()
            .map(|r| r as usize)
            .filter(|&r| r < types.len())
            .max()
            .map_or(0, |m| m + 1);
        let mut infos = Vec::with_capacity(n);
        for (i, vt) in types.iter().take(n).enumerate() {
            let info = compute_info(vt, i, &infos).and_then(|info| {
                if info.depth > MAX_TYPE_DEPTH {
                    Err("nested too deeply")
                } else {
                    Ok(info)
                }
            });
            infos.push(info);
        }
        Layout { types, infos }
    }

    fn for_sig(types: &'a [ValType], sig: &FuncSig) -> Layout<'a> {
        Layout::new(types, sig.params.iter().copied().chain(sig.result))
    }

    fn info(&self, ty: u32) -> Result<(&'a ValType, Info), String> {
        let i = ty as usize;
        match (self.types.get(i), self.infos.get(i)) {
            (Some(vt), Some(Ok(info))) => Ok((vt, *info)),
            (Some(_), Some(Err(why))) => Err(format!("invalid type {ty}: {why}")),
            _ => Err(format!("type index {ty} out of range")),
        }
    }

    fn get(&self, ty: u32) -> Result<(&'a ValType, Info), Trap> {
        self.info(ty).map_err(abi_trap)
    }

    /// A type's flat core types for signatures: invalid types flatten to nothing (the calls
    /// with them trap), `None` when more than [`MAX_FLAT_PARAMS`].
    fn sig_flat(&self, ty: u32) -> Option<Flat> {
        self.info(ty)
            .map_or(Some(Flat::EMPTY), |(_, info)| info.flat)
    }

    fn params_flat(&self, sig: &FuncSig) -> Option<Flat> {
        sig.params
            .iter()
            .try_fold(Flat::EMPTY, |f, &p| concat(Some(f), self.sig_flat(p)))
    }

    /// Whether the result goes through memory (flattens to more than [`MAX_FLAT_RESULTS`]).
    fn result_in_memory(&self, sig: &FuncSig) -> bool {
        sig.result
            .is_some_and(|r| self.sig_flat(r).is_none_or(|f| f.len() > MAX_FLAT_RESULTS))
    }

    /// The offsets, size and alignment of a tuple of `tys`.
    fn tuple(&self, tys: &[u32]) -> Result<(Vec<u64>, u64, u32), Trap> {
        let mut offsets = Vec::with_capacity(tys.len());
        let (mut size, mut align) = (0u64, 1u32);
        for &t in tys {
            let (_, info) = self.get(t)?;
            let at = align_to(size, info.align);
            offsets.push(at);
            size = at + u64::from(info.size);
            align = align.max(info.align);
        }
        Ok((offsets, align_to(size, align), align))
    }
}

fn child_info(infos: &[InfoResult], parent: usize, child: u32) -> InfoResult {
    if child as usize >= parent {
        return Err("refers to a type not before it");
    }
    match infos.get(child as usize) {
        Some(Ok(info)) => Ok(*info),
        _ => Err("contains an invalid type"),
    }
}

fn compute_info(vt: &ValType, i: usize, infos: &[InfoResult]) -> InfoResult {
    match vt {
        ValType::Bool | ValType::S8 | ValType::U8 => Ok(Info::scalar(1, I32)),
        ValType::S16 | ValType::U16 => Ok(Info::scalar(2, I32)),
        ValType::S32 | ValType::U32 | ValType::Char | ValType::Own(_) | ValType::Borrow(_) => {
            Ok(Info::scalar(4, I32))
        }
        ValType::F32 => Ok(Info::scalar(4, F32)),
        ValType::S64 | ValType::U64 => Ok(Info::scalar(8, I64)),
        ValType::F64 => Ok(Info::scalar(8, F64)),
        ValType::String | ValType::List(_) => {
            let depth = match vt {
                ValType::List(e) => child_info(infos, i, *e)?.depth + 1,
                _ => 1,
            };
            Ok(Info {
                size: 8,
                align: 4,
                flat: Flat::of(&[I32, I32]),
                depth,
                disc_size: 0,
                payload_off: 0,
            })
        }
        ValType::Record(fields) => record_info(infos, i, fields.iter().map(|f| f.ty)),
        ValType::Tuple(tys) => record_info(infos, i, tys.iter().copied()),
        ValType::Variant(cases) => variant_info(infos, i, cases.len(), cases.iter().map(|c| c.ty)),
        ValType::Enum(names) => variant_info(infos, i, names.len(), names.iter().map(|_| None)),
        ValType::Option(t) => variant_info(infos, i, 2, [None, Some(*t)].into_iter()),
        ValType::Result { ok, err } => variant_info(infos, i, 2, [*ok, *err].into_iter()),
        ValType::Flags(names) => {
            let size = match names.len() {
                0 => return Err("flags without labels"),
                1..=8 => 1,
                9..=16 => 2,
                17..=32 => 4,
                _ => return Err("more than 32 flags"),
            };
            Ok(Info::scalar(size, I32))
        }
    }
}

fn record_info(infos: &[InfoResult], i: usize, fields: impl Iterator<Item = u32>) -> InfoResult {
    let (mut size, mut align, mut depth) = (0u64, 1u32, 0u32);
    let mut flat = Some(Flat::EMPTY);
    let mut any = false;
    for f in fields {
        any = true;
        let c = child_info(infos, i, f)?;
        size = align_to(size, c.align) + u64::from(c.size);
        if size >= MAX_ELEM_SIZE {
            return Err("too large");
        }
        align = align.max(c.align);
        depth = depth.max(c.depth);
        flat = concat(flat, c.flat);
    }
    if !any {
        return Err("record or tuple without fields");
    }
    let size = align_to(size, align);
    if size >= MAX_ELEM_SIZE {
        return Err("too large");
    }
    Ok(Info {
        size: size as u32,
        align,
        flat,
        depth: depth + 1,
        disc_size: 0,
        payload_off: 0,
    })
}

fn variant_info(
    infos: &[InfoResult],
    i: usize,
    n: usize,
    cases: impl Iterator<Item = Option<u32>>,
) -> InfoResult {
    let disc_size: u32 = match n {
        0 => return Err("variant or enum without cases"),
        1..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        _ if (n as u64) < (1 << 32) => 4,
        _ => return Err("too many cases"),
    };
    let (mut max_align, mut max_size, mut depth) = (1u32, 0u32, 0u32);
    let mut payload = Some(Flat::EMPTY);
    for t in cases.flatten() {
        let c = child_info(infos, i, t)?;
        max_align = max_align.max(c.align);
        max_size = max_size.max(c.size);
        depth = depth.max(c.depth);
        payload = join_flat(payload, c.flat);
    }
    let payload_off = align_to(u64::from(disc_size), max_align);
    let align = disc_size.max(max_align);
    let size = align_to(payload_off + u64::from(max_size), align);
    if size >= MAX_ELEM_SIZE {
        return Err("too large");
    }
    Ok(Info {
        size: size as u32,
        align,
        flat: concat(Flat::of(&[I32]), payload),
        depth: depth + 1,
        disc_size,
        payload_off: payload_off as u32,
    })
}

/// The payload type of case `i` of a variant-like type (`Some(None)`: a case without payload),
/// `None` when out of range or not a variant-like type.
fn case_type(vt: &ValType, i: u32) -> Option<Option<u32>> {
    match vt {
        ValType::Variant(cases) => cases.get(i as usize).map(|c| c.ty),
        ValType::Enum(names) => ((i as usize) < names.len()).then_some(None),
        ValType::Option(t) => match i {
            0 => Some(None),
            1 => Some(Some(*t)),
            _ => None,
        },
        ValType::Result { ok, err } => match i {
            0 => Some(*ok),
            1 => Some(*err),
            _ => None,
        },
        _ => None,
    }
}

/// The value of case `i` of variant-like type `vt`.
fn make_case(vt: &ValType, i: u32, payload: Option<Value>) -> Value {
    let payload = payload.map(Box::new);
    match vt {
        ValType::Enum(_) => Value::Enum(i),
        ValType::Option(_) => Value::Option(payload),
        ValType::Result { .. } if i == 0 => Value::Result(Ok(payload)),
        ValType::Result { .. } => Value::Result(Err(payload)),
        _ => Value::Variant(i, payload),
    }
}

/// A variant-like value's case index, payload and the case's payload type, checked against
/// the type.
fn split_case<'v>(
    vt: &ValType,
    v: &'v Value,
) -> Result<(u32, Option<&'v Value>, Option<u32>), String> {
    let (i, payload) = match (vt, v) {
        (ValType::Variant(_), Value::Variant(i, p)) => (*i, p.as_deref()),
        (ValType::Enum(_), Value::Enum(i)) => (*i, None),
        (ValType::Option(_), Value::Option(p)) => (u32::from(p.is_some()), p.as_deref()),
        (ValType::Result { .. }, Value::Result(Ok(p))) => (0, p.as_deref()),
        (ValType::Result { .. }, Value::Result(Err(p))) => (1, p.as_deref()),
        _ => return Err(mismatch(vt, v)),
    };
    let case_ty = case_type(vt, i).ok_or_else(|| format!("case {i} out of range"))?;
    match (payload, case_ty) {
        (Some(_), None) => Err(format!("case {i} has no payload, but one was given")),
        (None, Some(_)) => Err(format!("case {i} needs a payload")),
        _ => Ok((i, payload, case_ty)),
    }
}

fn type_kind(vt: &ValType) -> &'static str {
    match vt {
        ValType::Bool => "bool",
        ValType::S8 => "s8",
        ValType::U8 => "u8",
        ValType::S16 => "s16",
        ValType::U16 => "u16",
        ValType::S32 => "s32",
        ValType::U32 => "u32",
        ValType::S64 => "s64",
        ValType::U64 => "u64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::Char => "char",
        ValType::String => "string",
        ValType::List(_) => "list",
        ValType::Record(_) => "record",
        ValType::Tuple(_) => "tuple",
        ValType::Variant(_) => "variant",
        ValType::Enum(_) => "enum",
        ValType::Option(_) => "option",
        ValType::Result { .. } => "result",
        ValType::Flags(_) => "flags",
        ValType::Own(_) => "own",
        ValType::Borrow(_) => "borrow",
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::S8(_) => "s8",
        Value::U8(_) => "u8",
        Value::S16(_) => "s16",
        Value::U16(_) => "u16",
        Value::S32(_) => "s32",
        Value::U32(_) => "u32",
        Value::S64(_) => "s64",
        Value::U64(_) => "u64",
        Value::F32(_) => "f32",
        Value::F64(_) => "f64",
        Value::Char(_) => "char",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Bytes(_) => "bytes",
        Value::Record(_) => "record",
        Value::Tuple(_) => "tuple",
        Value::Variant(..) => "variant",
        Value::Enum(_) => "enum",
        Value::Option(_) => "option",
        Value::Result(_) => "result",
        Value::Flags(_) => "flags",
        Value::Own(_) => "own",
        Value::Borrow(_) => "borrow",
    }
}

fn mismatch(vt: &ValType, v: &Value) -> String {
    format!("expected a {} value, got {}", type_kind(vt), value_kind(v))
}

fn is_u8(layout: &Layout, ty: u32) -> bool {
    matches!(layout.types.get(ty as usize), Some(ValType::U8))
}

/// A list value's elements: bytes (a `list<u8>` given as [`Value::Bytes`]) or values.
enum Items<'v> {
    Bytes(&'v [u8]),
    Values(&'v [Value]),
}

impl Items<'_> {
    fn len(&self) -> usize {
        match self {
            Items::Bytes(b) => b.len(),
            Items::Values(v) => v.len(),
        }
    }
}

fn list_items<'v>(layout: &Layout, elem: u32, v: &'v Value) -> Result<Items<'v>, Trap> {
    match v {
        Value::Bytes(b) if is_u8(layout, elem) => Ok(Items::Bytes(b)),
        Value::List(items) => Ok(Items::Values(items)),
        _ => Err(abi_trap(format!(
            "expected a list value, got {}",
            value_kind(v)
        ))),
    }
}

fn check(layout: &Layout, ty: u32, v: &Value) -> Result<(), String> {
    let (vt, _) = layout.info(ty)?;
    match (vt, v) {
        (ValType::Bool, Value::Bool(_))
        | (ValType::S8, Value::S8(_))
        | (ValType::U8, Value::U8(_))
        | (ValType::S16, Value::S16(_))
        | (ValType::U16, Value::U16(_))
        | (ValType::S32, Value::S32(_))
        | (ValType::U32, Value::U32(_))
        | (ValType::S64, Value::S64(_))
        | (ValType::U64, Value::U64(_))
        | (ValType::F32, Value::F32(_))
        | (ValType::F64, Value::F64(_))
        | (ValType::Char, Value::Char(_))
        | (ValType::String, Value::String(_))
        | (ValType::Own(_), Value::Own(_))
        | (ValType::Borrow(_), Value::Borrow(_)) => Ok(()),
        (ValType::List(e), Value::Bytes(_)) if is_u8(layout, *e) => Ok(()),
        (ValType::List(e), Value::List(items)) => {
            items.iter().try_for_each(|x| check(layout, *e, x))
        }
        (ValType::Record(fields), Value::Record(vs)) => {
            if fields.len() != vs.len() {
                return Err(format!(
                    "a record of {} fields, got {} values",
                    fields.len(),
                    vs.len()
                ));
            }
            fields
                .iter()
                .zip(vs)
                .try_for_each(|(f, x)| check(layout, f.ty, x))
        }
        (ValType::Tuple(tys), Value::Tuple(vs)) => {
            if tys.len() != vs.len() {
                return Err(format!("a tuple of {} values, got {}", tys.len(), vs.len()));
            }
            tys.iter()
                .zip(vs)
                .try_for_each(|(t, x)| check(layout, *t, x))
        }
        (
            ValType::Variant(_) | ValType::Enum(_) | ValType::Option(_) | ValType::Result { .. },
            _,
        ) => match split_case(vt, v)? {
            (_, Some(p), Some(t)) => check(layout, t, p),
            _ => Ok(()),
        },
        (ValType::Flags(names), Value::Flags(bits)) => {
            if names.len() < 64 && bits >> names.len() != 0 {
                Err(format!("flags {bits:#x} beyond the {} labels", names.len()))
            } else {
                Ok(())
            }
        }
        _ => Err(mismatch(vt, v)),
    }
}

// ---------------------------------------------------------------------------------------------
// Lifting

fn region(memory: &[u8], ptr: u32, len: u64) -> Result<&[u8], Trap> {
    let start = ptr as usize;
    let end = usize::try_from(u64::from(ptr) + len).map_err(|_| oob())?;
    memory.get(start..end).ok_or_else(oob)
}

fn read<const N: usize>(memory: &[u8], ptr: u32) -> Result<[u8; N], Trap> {
    let bytes = region(memory, ptr, N as u64)?;
    <[u8; N]>::try_from(bytes).map_err(|_| oob())
}

fn read_u32(memory: &[u8], ptr: u32) -> Result<u32, Trap> {
    read::<4>(memory, ptr).map(u32::from_le_bytes)
}

fn lift_f32(bits: u32) -> f32 {
    let f = f32::from_bits(bits);
    if f.is_nan() {
        f32::from_bits(CANONICAL_F32_NAN)
    } else {
        f
    }
}

fn lift_f64(bits: u64) -> f64 {
    let f = f64::from_bits(bits);
    if f.is_nan() {
        f64::from_bits(CANONICAL_F64_NAN)
    } else {
        f
    }
}

fn lift_char(i: u32) -> Result<char, Trap> {
    char::from_u32(i).ok_or_else(|| abi_trap(format!("invalid char {i:#x}")))
}

fn flags_mask(n: usize) -> u32 {
    if n >= 32 {
        u32::MAX
    } else {
        (1u32 << n) - 1
    }
}

/// Core values being lifted: each read takes the next slot, as the core type `want` (the low
/// 32 bits for `i32` and `f32`, which also does the spec's coercions of joined variant slots).
struct FlatReader<'v> {
    slots: &'v [u64],
    pos: usize,
}

impl FlatReader<'_> {
    fn next(&mut self, want: u8) -> Result<u64, Trap> {
        let v = *self
            .slots
            .get(self.pos)
            .ok_or_else(|| abi_trap("too few core values"))?;
        self.pos += 1;
        Ok(if want == I64 || want == F64 {
            v
        } else {
            v & 0xffff_ffff
        })
    }

    fn next_u32(&mut self) -> Result<u32, Trap> {
        self.next(I32).map(|v| v as u32)
    }

    fn skip(&mut self, n: usize) -> Result<(), Trap> {
        for _ in 0..n {
            self.next(I64)?;
        }
        Ok(())
    }
}

struct Lifter<'a> {
    layout: &'a Layout<'a>,
    memory: &'a [u8],
    /// String and list bytes this call may still lift.
    budget: u64,
}

impl<'a> Lifter<'a> {
    fn new(layout: &'a Layout<'a>, memory: &'a [u8]) -> Self {
        Lifter {
            layout,
            memory,
            budget: memory.len() as u64,
        }
    }

    fn charge(&mut self, bytes: u64) -> Result<(), Trap> {
        self.budget = self.budget.checked_sub(bytes).ok_or_else(|| {
            abi_trap("the strings and lists lifted by one call exceed the memory's size")
        })?;
        Ok(())
    }

    /// Loads a value of type `ty` at `ptr` (checked: aligned and in bounds).
    fn load_checked(&mut self, ty: u32, ptr: u32) -> Result<Value, Trap> {
        let (_, info) = self.layout.get(ty)?;
        if !ptr.is_multiple_of(info.align) {
            return Err(abi_trap(format!(
                "pointer {ptr:#x} not aligned to {}",
                info.align
            )));
        }
        region(self.memory, ptr, u64::from(info.size))?;
        self.load(ty, ptr)
    }

    fn load(&mut self, ty: u32, ptr: u32) -> Result<Value, Trap> {
        let (vt, info) = self.layout.get(ty)?;
        let mem = self.memory;
        Ok(match vt {
            ValType::Bool => Value::Bool(read::<1>(mem, ptr)?[0] != 0),
            ValType::S8 => Value::S8(i8::from_le_bytes(read(mem, ptr)?)),
            ValType::U8 => Value::U8(u8::from_le_bytes(read(mem, ptr)?)),
            ValType::S16 => Value::S16(i16::from_le_bytes(read(mem, ptr)?)),
            ValType::U16 => Value::U16(u16::from_le_bytes(read(mem, ptr)?)),
            ValType::S32 => Value::S32(i32::from_le_bytes(read(mem, ptr)?)),
            ValType::U32 => Value::U32(u32::from_le_bytes(read(mem, ptr)?)),
            ValType::S64 => Value::S64(i64::from_le_bytes(read(mem, ptr)?)),
            ValType::U64 => Value::U64(u64::from_le_bytes(read(mem, ptr)?)),
            ValType::F32 => Value::F32(lift_f32(u32::from_le_bytes(read(mem, ptr)?))),
            ValType::F64 => Value::F64(lift_f64(u64::from_le_bytes(read(mem, ptr)?))),
            ValType::Char => Value::Char(lift_char(read_u32(mem, ptr)?)?),
            ValType::String => {
                let begin = read_u32(mem, ptr)?;
                let len = read_u32(mem, offset(ptr, 4)?)?;
                self.load_string(begin, len)?
            }
            ValType::List(e) => {
                let begin = read_u32(mem, ptr)?;
                let len = read_u32(mem, offset(ptr, 4)?)?;
                self.load_list(*e, begin, len)?
            }
            ValType::Record(fields) => {
                Value::Record(self.load_fields(fields.iter().map(|f| f.ty), ptr)?)
            }
            ValType::Tuple(tys) => Value::Tuple(self.load_fields(tys.iter().copied(), ptr)?),
            ValType::Variant(_)
            | ValType::Enum(_)
            | ValType::Option(_)
            | ValType::Result { .. } => {
                let disc = match info.disc_size {
                    1 => u32::from(read::<1>(mem, ptr)?[0]),
                    2 => u32::from(u16::from_le_bytes(read(mem, ptr)?)),
                    _ => read_u32(mem, ptr)?,
                };
                let case_ty = case_type(vt, disc)
                    .ok_or_else(|| abi_trap(format!("discriminant {disc} out of range")))?;
                let payload = match case_ty {
                    Some(t) => Some(self.load(t, offset(ptr, u64::from(info.payload_off))?)?),
                    None => None,
                };
                make_case(vt, disc, payload)
            }
            ValType::Flags(names) => {
                let bits = match info.size {
                    1 => u32::from(read::<1>(mem, ptr)?[0]),
                    2 => u32::from(u16::from_le_bytes(read(mem, ptr)?)),
                    _ => read_u32(mem, ptr)?,
                };
                Value::Flags(u64::from(bits & flags_mask(names.len())))
            }
            ValType::Own(_) => Value::Own(read_u32(mem, ptr)?),
            ValType::Borrow(_) => Value::Borrow(read_u32(mem, ptr)?),
        })
    }

    fn load_fields(
        &mut self,
        tys: impl Iterator<Item = u32>,
        ptr: u32,
    ) -> Result<Vec<Value>, Trap> {
        let mut off = 0u64;
        let mut out = Vec::new();
        for t in tys {
            let (_, info) = self.layout.get(t)?;
            off = align_to(off, info.align);
            out.push(self.load(t, offset(ptr, off)?)?);
            off += u64::from(info.size);
        }
        Ok(out)
    }

    fn load_string(&mut self, begin: u32, len: u32) -> Result<Value, Trap> {
        let len = u64::from(len);
        if len > MAX_STRING_BYTE_LENGTH {
            return Err(abi_trap(format!("string of {len} bytes is too long")));
        }
        let bytes = region(self.memory, begin, len)?;
        self.charge(len)?;
        let s = std::str::from_utf8(bytes).map_err(|_| abi_trap("string is not valid UTF-8"))?;
        Ok(Value::String(s.to_owned()))
    }

    fn load_list(&mut self, elem: u32, begin: u32, len: u32) -> Result<Value, Trap> {
        let (_, info) = self.layout.get(elem)?;
        let bytes = u64::from(len) * u64::from(info.size);
        if bytes > MAX_LIST_BYTE_LENGTH {
            return Err(abi_trap(format!("list of {len} elements is too long")));
        }
        if !begin.is_multiple_of(info.align) {
            return Err(abi_trap(format!(
                "list pointer {begin:#x} not aligned to {}",
                info.align
            )));
        }
        let data = region(self.memory, begin, bytes)?;
        self.charge(bytes)?;
        if is_u8(self.layout, elem) {
            return Ok(Value::Bytes(data.to_vec()));
        }
        let mut items = Vec::new();
        items
            .try_reserve_exact(len as usize)
            .map_err(|_| Trap::new(TrapKind::OutOfMemory))?;
        for k in 0..u64::from(len) {
            items.push(self.load(elem, offset(begin, k * u64::from(info.size))?)?);
        }
        Ok(Value::List(items))
    }

    fn lift_flat(&mut self, ty: u32, r: &mut FlatReader) -> Result<Value, Trap> {
        let (vt, info) = self.layout.get(ty)?;
        Ok(match vt {
            ValType::Bool => Value::Bool(r.next(I32)? != 0),
            ValType::S8 => Value::S8(r.next(I32)? as u8 as i8),
            ValType::U8 => Value::U8(r.next(I32)? as u8),
            ValType::S16 => Value::S16(r.next(I32)? as u16 as i16),
            ValType::U16 => Value::U16(r.next(I32)? as u16),
            ValType::S32 => Value::S32(r.next(I32)? as u32 as i32),
            ValType::U32 => Value::U32(r.next_u32()?),
            ValType::S64 => Value::S64(r.next(I64)? as i64),
            ValType::U64 => Value::U64(r.next(I64)?),
            ValType::F32 => Value::F32(lift_f32(r.next(F32)? as u32)),
            ValType::F64 => Value::F64(lift_f64(r.next(F64)?)),
            ValType::Char => Value::Char(lift_char(r.next_u32()?)?),
            ValType::String => {
                let begin = r.next_u32()?;
                let len = r.next_u32()?;
                self.load_string(begin, len)?
            }
            ValType::List(e) => {
                let begin = r.next_u32()?;
                let len = r.next_u32()?;
                self.load_list(*e, begin, len)?
            }
            ValType::Record(fields) => Value::Record(
                fields
                    .iter()
                    .map(|f| self.lift_flat(f.ty, r))
                    .collect::<Result<_, _>>()?,
            ),
            ValType::Tuple(tys) => Value::Tuple(
                tys.iter()
                    .map(|t| self.lift_flat(*t, r))
                    .collect::<Result<_, _>>()?,
            ),
            ValType::Variant(_)
            | ValType::Enum(_)
            | ValType::Option(_)
            | ValType::Result { .. } => {
                let payload_len = info
                    .flat
                    .ok_or_else(|| abi_trap("type too large to lift from core values"))?
                    .len()
                    .saturating_sub(1);
                let disc = r.next_u32()?;
                let case_ty = case_type(vt, disc)
                    .ok_or_else(|| abi_trap(format!("discriminant {disc} out of range")))?;
                let (payload, used) = match case_ty {
                    Some(t) => {
                        let used = self.layout.get(t)?.1.flat.map_or(0, |f| f.len());
                        (Some(self.lift_flat(t, r)?), used)
                    }
                    None => (None, 0),
                };
                r.skip(payload_len.saturating_sub(used))?;
                make_case(vt, disc, payload)
            }
            ValType::Flags(names) => {
                Value::Flags(u64::from(r.next_u32()? & flags_mask(names.len())))
            }
            ValType::Own(_) => Value::Own(r.next_u32()?),
            ValType::Borrow(_) => Value::Borrow(r.next_u32()?),
        })
    }

    /// Lifts values of `tys` from `slots`, flat (exactly as many slots as they flatten to).
    fn lift_flat_all(&mut self, tys: &[u32], slots: &[u64]) -> Result<Vec<Value>, Trap> {
        let mut r = FlatReader { slots, pos: 0 };
        let values = tys
            .iter()
            .map(|t| self.lift_flat(*t, &mut r))
            .collect::<Result<Vec<_>, _>>()?;
        if r.pos != slots.len() {
            return Err(abi_trap("too many core values"));
        }
        Ok(values)
    }

    /// Loads a tuple of `tys` at `ptr`, checked (spilled parameters).
    fn load_tuple(&mut self, tys: &[u32], ptr: u32) -> Result<Vec<Value>, Trap> {
        let (offsets, size, align) = self.layout.tuple(tys)?;
        if !ptr.is_multiple_of(align) {
            return Err(abi_trap(format!(
                "parameter pointer {ptr:#x} not aligned to {align}"
            )));
        }
        region(self.memory, ptr, size)?;
        tys.iter()
            .zip(offsets)
            .map(|(t, off)| self.load(*t, offset(ptr, off)?))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Lowering

fn lower_f32(f: f32) -> u32 {
    if f.is_nan() {
        CANONICAL_F32_NAN
    } else {
        f.to_bits()
    }
}

fn lower_f64(f: f64) -> u64 {
    if f.is_nan() {
        CANONICAL_F64_NAN
    } else {
        f.to_bits()
    }
}

/// The buffer a list value needs: `(align, byte length)`, with the spec's length limit.
fn list_buffer(layout: &Layout, elem: u32, items: &Items) -> Result<(u32, u32), Trap> {
    let (_, info) = layout.get(elem)?;
    let bytes = (items.len() as u64).saturating_mul(u64::from(info.size));
    if bytes > MAX_LIST_BYTE_LENGTH {
        return Err(abi_trap(format!(
            "list of {} elements is too long",
            items.len()
        )));
    }
    Ok((info.align, bytes as u32))
}

fn string_buffer(s: &str) -> Result<u32, Trap> {
    let len = s.len() as u64;
    if len > MAX_STRING_BYTE_LENGTH {
        return Err(abi_trap(format!("string of {len} bytes is too long")));
    }
    Ok(len as u32)
}

/// The allocations of lowering `v` (type-checked), in the spec's order.
fn plan(layout: &Layout, ty: u32, v: &Value, out: &mut Vec<(u32, u32)>) -> Result<(), Trap> {
    let (vt, _) = layout.get(ty)?;
    match (vt, v) {
        (ValType::String, Value::String(s)) => out.push((1, string_buffer(s)?)),
        (ValType::List(e), _) => {
            let items = list_items(layout, *e, v)?;
            out.push(list_buffer(layout, *e, &items)?);
            if let Items::Values(vs) = items {
                for x in vs {
                    plan(layout, *e, x, out)?;
                }
            }
        }
        (ValType::Record(fields), Value::Record(vs)) => {
            for (f, x) in fields.iter().zip(vs) {
                plan(layout, f.ty, x, out)?;
            }
        }
        (ValType::Tuple(tys), Value::Tuple(vs)) => {
            for (t, x) in tys.iter().zip(vs) {
                plan(layout, *t, x, out)?;
            }
        }
        (
            ValType::Variant(_) | ValType::Enum(_) | ValType::Option(_) | ValType::Result { .. },
            _,
        ) => {
            if let (_, Some(p), Some(t)) = split_case(vt, v).map_err(abi_trap)? {
                plan(layout, t, p, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

struct Storer<'a, 'm> {
    layout: &'a Layout<'a>,
    memory: &'m mut [u8],
    ptrs: &'a [u32],
    next: usize,
}

impl Storer<'_, '_> {
    /// The guest's pointer for the next planned allocation, checked as the spec checks what
    /// `realloc` returns.
    fn alloc(&mut self, align: u32, size: u32) -> Result<u32, Trap> {
        let ptr = *self
            .ptrs
            .get(self.next)
            .ok_or_else(|| abi_trap("fewer allocations than the value needs"))?;
        self.next += 1;
        if !ptr.is_multiple_of(align.max(1)) {
            return Err(abi_trap(format!(
                "realloc returned {ptr:#x}, not aligned to {align}"
            )));
        }
        region(self.memory, ptr, u64::from(size))?;
        Ok(ptr)
    }

    fn finish(&self) -> Result<(), Trap> {
        if self.next != self.ptrs.len() {
            return Err(abi_trap("more allocations than the value needs"));
        }
        Ok(())
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Trap> {
        let start = ptr as usize;
        let end = start.checked_add(bytes.len()).ok_or_else(oob)?;
        self.memory
            .get_mut(start..end)
            .ok_or_else(oob)?
            .copy_from_slice(bytes);
        Ok(())
    }

    fn store_string(&mut self, s: &str) -> Result<(u32, u32), Trap> {
        let len = string_buffer(s)?;
        let ptr = self.alloc(1, len)?;
        self.write(ptr, s.as_bytes())?;
        Ok((ptr, len))
    }

    fn store_list(&mut self, elem: u32, v: &Value) -> Result<(u32, u32), Trap> {
        let items = list_items(self.layout, elem, v)?;
        let (align, bytes) = list_buffer(self.layout, elem, &items)?;
        let ptr = self.alloc(align, bytes)?;
        let len = u32::try_from(items.len()).map_err(|_| abi_trap("list too long"))?;
        match items {
            Items::Bytes(b) => self.write(ptr, b)?,
            Items::Values(vs) => {
                let size = u64::from(self.layout.get(elem)?.1.size);
                for (k, x) in vs.iter().enumerate() {
                    self.store(elem, x, offset(ptr, k as u64 * size)?)?;
                }
            }
        }
        Ok((ptr, len))
    }

    fn store_fields<'v>(
        &mut self,
        pairs: impl Iterator<Item = (u32, &'v Value)>,
        ptr: u32,
    ) -> Result<(), Trap> {
        let mut off = 0u64;
        for (t, x) in pairs {
            let (_, info) = self.layout.get(t)?;
            off = align_to(off, info.align);
            self.store(t, x, offset(ptr, off)?)?;
            off += u64::from(info.size);
        }
        Ok(())
    }

    fn store(&mut self, ty: u32, v: &Value, ptr: u32) -> Result<(), Trap> {
        let (vt, info) = self.layout.get(ty)?;
        match (vt, v) {
            (ValType::Bool, Value::Bool(b)) => self.write(ptr, &[u8::from(*b)]),
            (ValType::S8, Value::S8(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::U8, Value::U8(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::S16, Value::S16(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::U16, Value::U16(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::S32, Value::S32(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::U32, Value::U32(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::S64, Value::S64(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::U64, Value::U64(x)) => self.write(ptr, &x.to_le_bytes()),
            (ValType::F32, Value::F32(x)) => self.write(ptr, &lower_f32(*x).to_le_bytes()),
            (ValType::F64, Value::F64(x)) => self.write(ptr, &lower_f64(*x).to_le_bytes()),
            (ValType::Char, Value::Char(c)) => self.write(ptr, &u32::from(*c).to_le_bytes()),
            (ValType::Own(_), Value::Own(h)) | (ValType::Borrow(_), Value::Borrow(h)) => {
                self.write(ptr, &h.to_le_bytes())
            }
            (ValType::String, Value::String(s)) => {
                let (p, l) = self.store_string(s)?;
                self.write(ptr, &p.to_le_bytes())?;
                self.write(offset(ptr, 4)?, &l.to_le_bytes())
            }
            (ValType::List(e), _) => {
                let (p, l) = self.store_list(*e, v)?;
                self.write(ptr, &p.to_le_bytes())?;
                self.write(offset(ptr, 4)?, &l.to_le_bytes())
            }
            (ValType::Record(fields), Value::Record(vs)) if fields.len() == vs.len() => {
                self.store_fields(fields.iter().map(|f| f.ty).zip(vs), ptr)
            }
            (ValType::Tuple(tys), Value::Tuple(vs)) if tys.len() == vs.len() => {
                self.store_fields(tys.iter().copied().zip(vs), ptr)
            }
            (
                ValType::Variant(_)
                | ValType::Enum(_)
                | ValType::Option(_)
                | ValType::Result { .. },
                _,
            ) => {
                let (disc, payload, case_ty) = split_case(vt, v).map_err(abi_trap)?;
                let bytes = disc.to_le_bytes();
                self.write(ptr, bytes.get(..info.disc_size as usize).unwrap_or(&bytes))?;
                if let (Some(p), Some(t)) = (payload, case_ty) {
                    self.store(t, p, offset(ptr, u64::from(info.payload_off))?)?;
                }
                Ok(())
            }
            (ValType::Flags(names), Value::Flags(bits)) => {
                let bits = (*bits as u32) & flags_mask(names.len());
                let bytes = bits.to_le_bytes();
                self.write(ptr, bytes.get(..info.size as usize).unwrap_or(&bytes))
            }
            _ => Err(abi_trap(mismatch(vt, v))),
        }
    }

    fn lower_flat(&mut self, ty: u32, v: &Value, out: &mut Vec<u64>) -> Result<(), Trap> {
        let (vt, info) = self.layout.get(ty)?;
        match (vt, v) {
            (ValType::Bool, Value::Bool(b)) => out.push(u64::from(*b)),
            (ValType::S8, Value::S8(x)) => out.push(u64::from(i32::from(*x) as u32)),
            (ValType::U8, Value::U8(x)) => out.push(u64::from(*x)),
            (ValType::S16, Value::S16(x)) => out.push(u64::from(i32::from(*x) as u32)),
            (ValType::U16, Value::U16(x)) => out.push(u64::from(*x)),
            (ValType::S32, Value::S32(x)) => out.push(u64::from(*x as u32)),
            (ValType::U32, Value::U32(x)) => out.push(u64::from(*x)),
            (ValType::S64, Value::S64(x)) => out.push(*x as u64),
            (ValType::U64, Value::U64(x)) => out.push(*x),
            (ValType::F32, Value::F32(x)) => out.push(u64::from(lower_f32(*x))),
            (ValType::F64, Value::F64(x)) => out.push(lower_f64(*x)),
            (ValType::Char, Value::Char(c)) => out.push(u64::from(u32::from(*c))),
            (ValType::Own(_), Value::Own(h)) | (ValType::Borrow(_), Value::Borrow(h)) => {
                out.push(u64::from(*h))
            }
            (ValType::String, Value::String(s)) => {
                let (p, l) = self.store_string(s)?;
                out.extend([u64::from(p), u64::from(l)]);
            }
            (ValType::List(e), _) => {
                let (p, l) = self.store_list(*e, v)?;
                out.extend([u64::from(p), u64::from(l)]);
            }
            (ValType::Record(fields), Value::Record(vs)) if fields.len() == vs.len() => {
                for (f, x) in fields.iter().zip(vs) {
                    self.lower_flat(f.ty, x, out)?;
                }
            }
            (ValType::Tuple(tys), Value::Tuple(vs)) if tys.len() == vs.len() => {
                for (t, x) in tys.iter().zip(vs) {
                    self.lower_flat(*t, x, out)?;
                }
            }
            (
                ValType::Variant(_)
                | ValType::Enum(_)
                | ValType::Option(_)
                | ValType::Result { .. },
                _,
            ) => {
                let payload_len = info
                    .flat
                    .ok_or_else(|| abi_trap("type too large to lower to core values"))?
                    .len()
                    .saturating_sub(1);
                let (disc, payload, case_ty) = split_case(vt, v).map_err(abi_trap)?;
                out.push(u64::from(disc));
                let end = out.len() + payload_len;
                if let (Some(p), Some(t)) = (payload, case_ty) {
                    self.lower_flat(t, p, out)?;
                }
                if out.len() > end {
                    return Err(abi_trap("variant payload larger than its type"));
                }
                out.resize(end, 0);
            }
            (ValType::Flags(names), Value::Flags(bits)) => {
                out.push(u64::from((*bits as u32) & flags_mask(names.len())))
            }
            _ => return Err(abi_trap(mismatch(vt, v))),
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Public API

/// The core signature of `canon lower` of a function of type `sig` (the guest calls the host):
/// flat params; if more than 16, one i32 pointer to them in memory; results: flat if at most 1,
/// otherwise no results and an extra trailing i32 param (the return pointer).
///
/// Never panics: an invalid type (see the module's documentation) flattens to nothing here,
/// and [`lift_args`] and [`lower_result`] trap on it.
pub fn lower_signature(types: &[ValType], sig: &FuncSig) -> FuncType {
    let layout = Layout::for_sig(types, sig);
    let mut params = match layout.params_flat(sig) {
        Some(f) => f.as_slice().to_vec(),
        None => vec![I32],
    };
    let results = if layout.result_in_memory(sig) {
        params.push(I32);
        Vec::new()
    } else {
        result_flat(&layout, sig)
    };
    FuncType { params, results }
}

/// The core signature of `canon lift` (the host calls the guest): params flat (spilled to one
/// i32 ptr beyond 16); results flat if at most 1, else one i32 result (a pointer to them).
pub fn lift_signature(types: &[ValType], sig: &FuncSig) -> FuncType {
    let layout = Layout::for_sig(types, sig);
    let params = match layout.params_flat(sig) {
        Some(f) => f.as_slice().to_vec(),
        None => vec![I32],
    };
    let results = if layout.result_in_memory(sig) {
        vec![I32]
    } else {
        result_flat(&layout, sig)
    };
    FuncType { params, results }
}

fn result_flat(layout: &Layout, sig: &FuncSig) -> Vec<u8> {
    sig.result
        .and_then(|r| layout.sig_flat(r))
        .map_or_else(Vec::new, |f| f.as_slice().to_vec())
}

/// Checks that every type of `sig` is valid.
fn check_sig(layout: &Layout, sig: &FuncSig) -> Result<(), Trap> {
    for &t in sig.params.iter().chain(&sig.result) {
        layout.get(t)?;
    }
    Ok(())
}

/// Lifts the arguments of a lowered call from the core params it received (reading `memory`
/// for spilled params, strings and lists). Returns the values and the return pointer (Some
/// when the result goes to memory, i.e. flat results > 1).
///
/// `params` must be exactly the core parameters of [`lower_signature`]; each `i32` is taken
/// from its slot's low 32 bits. The return pointer is checked by [`lower_result`], as the spec
/// checks it when storing the result.
pub fn lift_args(
    types: &[ValType],
    sig: &FuncSig,
    params: &[u64],
    memory: &[u8],
) -> Result<(Vec<Value>, Option<u32>), Trap> {
    let layout = Layout::for_sig(types, sig);
    check_sig(&layout, sig)?;
    let flat = layout.params_flat(sig);
    let with_ret = layout.result_in_memory(sig);
    let expected = flat.map_or(1, |f| f.len()) + usize::from(with_ret);
    if params.len() != expected {
        return Err(abi_trap(format!(
            "expected {expected} core parameters, got {}",
            params.len()
        )));
    }
    let (args, retptr) = if with_ret {
        let (last, rest) = params
            .split_last()
            .ok_or_else(|| abi_trap("no return pointer"))?;
        (rest, Some(*last as u32))
    } else {
        (params, None)
    };
    let mut lifter = Lifter::new(&layout, memory);
    let values = match flat {
        Some(_) => lifter.lift_flat_all(&sig.params, args)?,
        None => {
            let ptr = args
                .first()
                .ok_or_else(|| abi_trap("no parameter pointer"))?;
            lifter.load_tuple(&sig.params, *ptr as u32)?
        }
    };
    Ok((values, retptr))
}

/// Lifts the result of a lifted function (`canon lift`: the host called the guest) from the
/// core results of [`lift_signature`]: flat, or loaded from the one pointer result.
pub fn lift_result(
    types: &[ValType],
    sig: &FuncSig,
    results: &[u64],
    memory: &[u8],
) -> Result<Option<Value>, Trap> {
    let layout = Layout::for_sig(types, sig);
    check_sig(&layout, sig)?;
    let Some(ty) = sig.result else {
        if !results.is_empty() {
            return Err(abi_trap("results from a function without result"));
        }
        return Ok(None);
    };
    let mut lifter = Lifter::new(&layout, memory);
    if layout.result_in_memory(sig) {
        match results {
            [ptr] => lifter.load_checked(ty, *ptr as u32).map(Some),
            _ => Err(abi_trap(format!(
                "expected 1 core result, got {}",
                results.len()
            ))),
        }
    } else {
        let mut values = lifter.lift_flat_all(&[ty], results)?;
        Ok(values.pop())
    }
}

/// Lowering a result takes two passes with the same walk, because allocation (`cabi_realloc`
/// in the guest) happens between them, outside this module: the allocations (align, size) the
/// canonical ABI makes to lower `value` of type `ty`, in the order it makes them (for each
/// string/list: its buffer, then, walking its elements in order, theirs).
///
/// As in the spec (`store_string_copy` and `store_list_into_range` call `realloc`
/// unconditionally), zero-length strings and lists are planned too, as `(align, 0)` (`1` for
/// strings, the element type's alignment for lists). Traps if `value` does not match `ty` or
/// a string or list is longer than the spec's limit (`2^28 - 1` bytes).
pub fn plan_allocations(
    types: &[ValType],
    ty: u32,
    value: &Value,
) -> Result<Vec<(u32, u32)>, Trap> {
    let layout = Layout::new(types, [ty]);
    check(&layout, ty, value).map_err(abi_trap)?;
    let mut out = Vec::new();
    plan(&layout, ty, value, &mut out)?;
    Ok(out)
}

/// Writes the result: if `retptr` is Some, stores `value` at retptr (checking alignment/bounds)
/// and returns no flat values; else returns the flat values (at most 1). `ptrs` are the guest
/// pointers returned for the planned allocations, in plan order; strings/lists are written
/// into them. `value` None = function without result.
///
/// Traps when `value` does not match the signature, when the result needs a return pointer
/// and `retptr` is None, when `ptrs` are not exactly as many as [`plan_allocations`] planned,
/// and when a pointer is misaligned or out of bounds.
pub fn lower_result(
    types: &[ValType],
    sig: &FuncSig,
    value: Option<&Value>,
    ptrs: &[u32],
    retptr: Option<u32>,
    memory: &mut [u8],
) -> Result<Vec<u64>, Trap> {
    let layout = Layout::for_sig(types, sig);
    let (ty, value) = match (sig.result, value) {
        (None, None) => {
            if !ptrs.is_empty() {
                return Err(abi_trap("more allocations than the value needs"));
            }
            return Ok(Vec::new());
        }
        (None, Some(_)) => return Err(abi_trap("a result for a function without result")),
        (Some(_), None) => return Err(abi_trap("no result for a function with a result")),
        (Some(ty), Some(v)) => (ty, v),
    };
    check(&layout, ty, value).map_err(abi_trap)?;
    let (_, info) = layout.get(ty)?;
    let mut st = Storer {
        layout: &layout,
        memory,
        ptrs,
        next: 0,
    };
    let out = match retptr {
        Some(rp) => {
            if !rp.is_multiple_of(info.align) {
                return Err(abi_trap(format!(
                    "return pointer {rp:#x} not aligned to {}",
                    info.align
                )));
            }
            region(st.memory, rp, u64::from(info.size))?;
            st.store(ty, value, rp)?;
            Vec::new()
        }
        None => {
            if layout.result_in_memory(sig) {
                return Err(abi_trap("the result needs a return pointer"));
            }
            let mut out = Vec::new();
            st.lower_flat(ty, value, &mut out)?;
            out
        }
    };
    st.finish()?;
    Ok(out)
}

/// Loads a value of type `ty` from `memory` at `ptr` (trapping if `ptr` is misaligned or the
/// value out of bounds).
pub fn load(types: &[ValType], ty: u32, memory: &[u8], ptr: u32) -> Result<Value, Trap> {
    let layout = Layout::new(types, [ty]);
    Lifter::new(&layout, memory).load_checked(ty, ptr)
}

/// Stores `value` of type `ty` into `memory` at `ptr` (checked), its strings and lists into
/// `ptrs`, the allocations [`plan_allocations`] planned for it.
pub fn store(
    types: &[ValType],
    ty: u32,
    value: &Value,
    ptrs: &[u32],
    memory: &mut [u8],
    ptr: u32,
) -> Result<(), Trap> {
    let layout = Layout::new(types, [ty]);
    check(&layout, ty, value).map_err(abi_trap)?;
    let (_, info) = layout.get(ty)?;
    if !ptr.is_multiple_of(info.align) {
        return Err(abi_trap(format!(
            "pointer {ptr:#x} not aligned to {}",
            info.align
        )));
    }
    region(memory, ptr, u64::from(info.size))?;
    let mut st = Storer {
        layout: &layout,
        memory,
        ptrs,
        next: 0,
    };
    st.store(ty, value, ptr)?;
    st.finish()
}

/// Lifts a value of type `ty` from its flat core values (exactly as many as it flattens to;
/// at most 16).
pub fn lift_flat(types: &[ValType], ty: u32, flat: &[u64], memory: &[u8]) -> Result<Value, Trap> {
    let layout = Layout::new(types, [ty]);
    let mut values = Lifter::new(&layout, memory).lift_flat_all(&[ty], flat)?;
    values.pop().ok_or_else(|| abi_trap("no value"))
}

/// Lowers `value` of type `ty` to its flat core values, its strings and lists into `ptrs`, the
/// allocations [`plan_allocations`] planned for it.
pub fn lower_flat(
    types: &[ValType],
    ty: u32,
    value: &Value,
    ptrs: &[u32],
    memory: &mut [u8],
) -> Result<Vec<u64>, Trap> {
    let layout = Layout::new(types, [ty]);
    check(&layout, ty, value).map_err(abi_trap)?;
    let mut st = Storer {
        layout: &layout,
        memory,
        ptrs,
        next: 0,
    };
    let mut out = Vec::new();
    st.lower_flat(ty, value, &mut out)?;
    st.finish()?;
    Ok(out)
}

/// Type-checks a value against a type (shape, case indices in range, flags in range) — used by
/// the host to check its own results before lowering; returns a message on mismatch.
pub fn check_value(types: &[ValType], ty: u32, value: &Value) -> Result<(), String> {
    let layout = Layout::new(types, [ty]);
    check(&layout, ty, value)
}

/// Renders a type in this grammar (used to compare a component's import types with what the
/// host implements): `bool s8 u8 s16 u16 s32 u32 s64 u64 f32 f64 char string`, `list<T>`,
/// `tuple<A, B>`, `option<T>`, `result`, `result<T>`, `result<_, E>`, `result<T, E>`,
/// `record{name: T, other: U}`, `variant{a(T), b}`, `enum{a, b}`, `flags{a, b}`, `own<NAME>`,
/// `borrow<NAME>` where NAME is `resources[i].name` (no interface).
///
/// Invalid references render as `<invalid type N>` / `<invalid resource N>`; the output stops
/// growing past 64 KiB.
pub fn render_type(types: &[ValType], resources: &[Resource], ty: u32) -> String {
    let mut out = String::new();
    render(types, resources, ty, 0, &mut out);
    out
}

/// `func(T1, T2) -> R` or `func(T1)` (no result) or `func()`.
pub fn render_sig(types: &[ValType], resources: &[Resource], sig: &FuncSig) -> String {
    let mut out = String::from("func(");
    for (k, &p) in sig.params.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        render(types, resources, p, 0, &mut out);
    }
    out.push(')');
    if let Some(r) = sig.result {
        out.push_str(" -> ");
        render(types, resources, r, 0, &mut out);
    }
    out
}

fn render_child(
    types: &[ValType],
    resources: &[Resource],
    parent: u32,
    child: u32,
    depth: u32,
    out: &mut String,
) {
    if child < parent {
        render(types, resources, child, depth + 1, out);
    } else {
        let _ = write!(out, "<invalid type {child}>");
    }
}

fn render(types: &[ValType], resources: &[Resource], ty: u32, depth: u32, out: &mut String) {
    if out.len() > MAX_RENDER_LEN {
        return;
    }
    let Some(vt) = types.get(ty as usize) else {
        let _ = write!(out, "<invalid type {ty}>");
        return;
    };
    if depth > MAX_TYPE_DEPTH {
        out.push_str("<too deep>");
        return;
    }
    let child = |c: u32, out: &mut String| render_child(types, resources, ty, c, depth, out);
    let resource = |r: u32, out: &mut String| match resources.get(r as usize) {
        Some(res) => out.push_str(&res.name),
        None => {
            let _ = write!(out, "<invalid resource {r}>");
        }
    };
    let names = |kind: &str, names: &[String], out: &mut String| {
        out.push_str(kind);
        out.push('{');
        out.push_str(&names.join(", "));
        out.push('}');
    };
    match vt {
        ValType::Bool
        | ValType::S8
        | ValType::U8
        | ValType::S16
        | ValType::U16
        | ValType::S32
        | ValType::U32
        | ValType::S64
        | ValType::U64
        | ValType::F32
        | ValType::F64
        | ValType::Char
        | ValType::String => out.push_str(type_kind(vt)),
        ValType::List(t) | ValType::Option(t) => {
            let list = matches!(vt, ValType::List(_));
            out.push_str(if list { "list<" } else { "option<" });
            child(*t, out);
            out.push('>');
        }
        ValType::Tuple(tys) => {
            out.push_str("tuple<");
            for (k, t) in tys.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                child(*t, out);
            }
            out.push('>');
        }
        ValType::Record(fields) => {
            out.push_str("record{");
            for (k, f) in fields.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(&f.name);
                out.push_str(": ");
                child(f.ty, out);
            }
            out.push('}');
        }
        ValType::Variant(cases) => {
            out.push_str("variant{");
            for (k, c) in cases.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(&c.name);
                if let Some(t) = c.ty {
                    out.push('(');
                    child(t, out);
                    out.push(')');
                }
            }
            out.push('}');
        }
        ValType::Enum(cases) => names("enum", cases, out),
        ValType::Flags(flags) => names("flags", flags, out),
        ValType::Result { ok, err } => {
            out.push_str("result");
            match (ok, err) {
                (None, None) => {}
                (Some(t), None) => {
                    out.push('<');
                    child(*t, out);
                    out.push('>');
                }
                (ok, Some(e)) => {
                    out.push('<');
                    match ok {
                        Some(t) => child(*t, out),
                        None => out.push('_'),
                    }
                    out.push_str(", ");
                    child(*e, out);
                    out.push('>');
                }
            }
        }
        ValType::Own(r) | ValType::Borrow(r) => {
            let own = matches!(vt, ValType::Own(_));
            out.push_str(if own { "own<" } else { "borrow<" });
            resource(*r, out);
            out.push('>');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chiwawa_format::component::{Case, Field};

    #[derive(Default)]
    struct Tys(Vec<ValType>);

    impl Tys {
        fn add(&mut self, vt: ValType) -> u32 {
            self.0.push(vt);
            (self.0.len() - 1) as u32
        }
    }

    fn sig(params: &[u32], result: Option<u32>) -> FuncSig {
        FuncSig {
            params: params.to_vec(),
            result,
        }
    }

    fn case(name: &str, ty: Option<u32>) -> Case {
        Case {
            name: name.to_string(),
            ty,
        }
    }

    fn field(name: &str, ty: u32) -> Field {
        Field {
            name: name.to_string(),
            ty,
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn resources() -> Vec<Resource> {
        ["output-stream", "error"]
            .iter()
            .map(|n| Resource {
                interface: "wasi:io/streams@0.2.6".to_string(),
                name: n.to_string(),
            })
            .collect()
    }

    fn ft(params: &[u8], results: &[u8]) -> FuncType {
        FuncType {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }

    /// A bump allocator standing in for the guest's `cabi_realloc`.
    fn bump(plan: &[(u32, u32)], mut at: u32) -> Vec<u32> {
        plan.iter()
            .map(|&(align, size)| {
                at = at.div_ceil(align) * align;
                let p = at;
                at += size;
                p
            })
            .collect()
    }

    fn host_msg(t: Trap) -> String {
        match t.kind {
            TrapKind::Host(m) => {
                assert!(m.starts_with("canonical ABI: "), "{m}");
                m
            }
            other => panic!("expected a host trap, got {other:?}"),
        }
    }

    fn boxed(v: Value) -> Option<Box<Value>> {
        Some(Box::new(v))
    }

    /// The types of a few WASI preview-2 functions.
    struct Wasi {
        t: Tys,
        borrow_stream: u32,
        bytes: u32,
        stream_error: u32,
        write_result: u32,
        check_result: u32,
        string: u32,
        strings: u32,
        env: u32,
        unit_result: u32,
        own_stream: u32,
        u32_: u32,
    }

    fn wasi() -> Wasi {
        let mut t = Tys::default();
        let borrow_stream = t.add(ValType::Borrow(0));
        let u8_ = t.add(ValType::U8);
        let bytes = t.add(ValType::List(u8_));
        let own_error = t.add(ValType::Own(1));
        let stream_error = t.add(ValType::Variant(vec![
            case("last-operation-failed", Some(own_error)),
            case("closed", None),
        ]));
        let write_result = t.add(ValType::Result {
            ok: None,
            err: Some(stream_error),
        });
        let u64_ = t.add(ValType::U64);
        let check_result = t.add(ValType::Result {
            ok: Some(u64_),
            err: Some(stream_error),
        });
        let string = t.add(ValType::String);
        let strings = t.add(ValType::List(string));
        let pair = t.add(ValType::Tuple(vec![string, string]));
        let env = t.add(ValType::List(pair));
        let unit_result = t.add(ValType::Result {
            ok: None,
            err: None,
        });
        let own_stream = t.add(ValType::Own(0));
        let u32_ = t.add(ValType::U32);
        Wasi {
            t,
            borrow_stream,
            bytes,
            stream_error,
            write_result,
            check_result,
            string,
            strings,
            env,
            unit_result,
            own_stream,
            u32_,
        }
    }

    #[test]
    fn wasi_lower_signatures() {
        let w = wasi();
        let ty = &w.t.0;
        let write = sig(&[w.borrow_stream, w.bytes], Some(w.write_result));
        assert_eq!(lower_signature(ty, &write), ft(&[I32, I32, I32, I32], &[]));
        let get_arguments = sig(&[], Some(w.strings));
        assert_eq!(lower_signature(ty, &get_arguments), ft(&[I32], &[]));
        let check_write = sig(&[w.borrow_stream], Some(w.check_result));
        assert_eq!(lower_signature(ty, &check_write), ft(&[I32, I32], &[]));
        let exit = sig(&[w.unit_result], None);
        assert_eq!(lower_signature(ty, &exit), ft(&[I32], &[]));
        let get_stdout = sig(&[], Some(w.own_stream));
        assert_eq!(lower_signature(ty, &get_stdout), ft(&[], &[I32]));
        let get_environment = sig(&[], Some(w.env));
        assert_eq!(lower_signature(ty, &get_environment), ft(&[I32], &[]));
        let nothing = sig(&[], None);
        assert_eq!(lower_signature(ty, &nothing), ft(&[], &[]));
    }

    #[test]
    fn lift_signatures() {
        let w = wasi();
        let ty = &w.t.0;
        assert_eq!(
            lift_signature(ty, &sig(&[], Some(w.unit_result))),
            ft(&[], &[I32])
        );
        assert_eq!(
            lift_signature(ty, &sig(&[], Some(w.strings))),
            ft(&[], &[I32])
        );
        assert_eq!(
            lift_signature(ty, &sig(&[w.string], Some(w.string))),
            ft(&[I32, I32], &[I32])
        );
        assert_eq!(
            lift_signature(ty, &sig(&[w.u32_], Some(w.u32_))),
            ft(&[I32], &[I32])
        );
    }

    #[test]
    fn spilled_signatures() {
        let w = wasi();
        let ty = &w.t.0;
        let p16 = vec![w.u32_; 16];
        let p17 = vec![w.u32_; 17];
        assert_eq!(lower_signature(ty, &sig(&p16, None)), ft(&[I32; 16], &[]));
        assert_eq!(lower_signature(ty, &sig(&p17, None)), ft(&[I32], &[]));
        assert_eq!(
            lower_signature(ty, &sig(&p17, Some(w.strings))),
            ft(&[I32, I32], &[])
        );
        assert_eq!(
            lift_signature(ty, &sig(&p17, Some(w.strings))),
            ft(&[I32], &[I32])
        );
        // 8 strings flatten to exactly 16 core values, 9 to 18.
        let s8 = vec![w.string; 8];
        let s9 = vec![w.string; 9];
        assert_eq!(lower_signature(ty, &sig(&s8, None)).params.len(), 16);
        assert_eq!(lower_signature(ty, &sig(&s9, None)), ft(&[I32], &[]));
    }

    #[test]
    fn layouts() {
        let mut t = Tys::default();
        let u8_ = t.add(ValType::U8);
        let u64_ = t.add(ValType::U64);
        let opt = t.add(ValType::Option(u8_));
        let rec = t.add(ValType::Record(vec![
            field("a", u8_),
            field("b", u64_),
            field("c", opt),
        ]));
        let e256 = t.add(ValType::Enum((0..256).map(|i| format!("c{i}")).collect()));
        let e257 = t.add(ValType::Enum((0..257).map(|i| format!("c{i}")).collect()));
        let e65537 = t.add(ValType::Enum((0..65537).map(|i| format!("c{i}")).collect()));
        let f8 = t.add(ValType::Flags((0..8).map(|i| format!("f{i}")).collect()));
        let f9 = t.add(ValType::Flags((0..9).map(|i| format!("f{i}")).collect()));
        let f17 = t.add(ValType::Flags((0..17).map(|i| format!("f{i}")).collect()));
        let f33 = t.add(ValType::Flags((0..33).map(|i| format!("f{i}")).collect()));
        let w = wasi();
        let layout = Layout::new(&t.0, [f33]);
        let info = |ty| layout.get(ty).unwrap().1;
        assert_eq!((info(opt).size, info(opt).align), (2, 1));
        assert_eq!((info(rec).size, info(rec).align), (24, 8));
        assert_eq!(info(rec).flat.unwrap().as_slice(), &[I32, I64, I32, I32]);
        assert_eq!((info(e256).size, info(e256).disc_size), (1, 1));
        assert_eq!((info(e257).size, info(e257).align), (2, 2));
        assert_eq!((info(e65537).size, info(e65537).align), (4, 4));
        assert_eq!(info(f8).size, 1);
        assert_eq!(info(f9).size, 2);
        assert_eq!(info(f17).size, 4);
        assert!(host_msg(layout.get(f33).unwrap_err()).contains("more than 32 flags"));
        let wl = Layout::new(&w.t.0, [w.check_result]);
        let se = wl.get(w.stream_error).unwrap().1;
        assert_eq!((se.size, se.align, se.payload_off), (8, 4, 4));
        let cr = wl.get(w.check_result).unwrap().1;
        assert_eq!((cr.size, cr.align, cr.payload_off), (16, 8, 8));
        assert_eq!(cr.flat.unwrap().as_slice(), &[I32, I64, I32]);
        let wr = wl.get(w.write_result).unwrap().1;
        assert_eq!((wr.size, wr.align, wr.payload_off), (12, 4, 4));
    }

    #[test]
    fn variant_flattening_joins() {
        let mut t = Tys::default();
        let f32_ = t.add(ValType::F32);
        let u32_ = t.add(ValType::U32);
        let u64_ = t.add(ValType::U64);
        let f64_ = t.add(ValType::F64);
        let pair = t.add(ValType::Tuple(vec![u32_, f32_]));
        let v1 = t.add(ValType::Variant(vec![
            case("a", Some(f32_)),
            case("b", Some(u32_)),
        ]));
        let v2 = t.add(ValType::Variant(vec![
            case("a", Some(f32_)),
            case("b", Some(u64_)),
            case("c", Some(f64_)),
        ]));
        let v3 = t.add(ValType::Option(f32_));
        let v4 = t.add(ValType::Variant(vec![
            case("a", Some(pair)),
            case("b", Some(f64_)),
        ]));
        let v5 = t.add(ValType::Result {
            ok: Some(f64_),
            err: Some(f32_),
        });
        let v6 = t.add(ValType::Enum(names(&["x", "y"])));
        let layout = Layout::new(&t.0, [v6]);
        let flat = |ty| layout.get(ty).unwrap().1.flat.unwrap().as_slice().to_vec();
        assert_eq!(flat(v1), [I32, I32]);
        assert_eq!(flat(v2), [I32, I64]);
        assert_eq!(flat(v3), [I32, F32]);
        assert_eq!(flat(v4), [I32, I64, F32]);
        assert_eq!(flat(v5), [I32, I64]);
        assert_eq!(flat(v6), [I32]);
    }

    #[test]
    fn joined_variant_flat_round_trip() {
        let mut t = Tys::default();
        let f32_ = t.add(ValType::F32);
        let u64_ = t.add(ValType::U64);
        let u8_ = t.add(ValType::U8);
        let pair = t.add(ValType::Tuple(vec![u8_, f32_]));
        let v = t.add(ValType::Variant(vec![
            case("a", Some(f32_)),
            case("b", Some(u64_)),
            case("c", Some(pair)),
            case("d", None),
        ]));
        let ty = &t.0;
        let mut mem = [0u8; 0];
        let cases = [
            (
                Value::Variant(0, boxed(Value::F32(1.5))),
                vec![0, u64::from(1.5f32.to_bits()), 0],
            ),
            (
                Value::Variant(1, boxed(Value::U64(u64::MAX))),
                vec![1, u64::MAX, 0],
            ),
            (
                Value::Variant(2, boxed(Value::Tuple(vec![Value::U8(7), Value::F32(-2.0)]))),
                vec![2, 7, u64::from((-2.0f32).to_bits())],
            ),
            (Value::Variant(3, None), vec![3, 0, 0]),
        ];
        for (value, flat) in cases {
            assert_eq!(lower_flat(ty, v, &value, &[], &mut mem).unwrap(), flat);
            assert_eq!(lift_flat(ty, v, &flat, &mem).unwrap(), value);
        }
        // An f32 in a joined i64 slot takes the low 32 bits.
        let junk = 0xdead_beef_0000_0000 | u64::from(1.5f32.to_bits());
        assert_eq!(
            lift_flat(ty, v, &[0, junk, 0], &mem).unwrap(),
            Value::Variant(0, boxed(Value::F32(1.5)))
        );
        assert!(host_msg(lift_flat(ty, v, &[4, 0, 0], &mem).unwrap_err()).contains("discriminant"));
        assert!(lift_flat(ty, v, &[0, 0], &mem).is_err());
        assert!(lift_flat(ty, v, &[3, 0, 0, 0], &mem).is_err());
    }

    #[test]
    fn flat_scalars_wrap_and_validate() {
        let mut t = Tys::default();
        let ids = [
            ValType::Bool,
            ValType::U8,
            ValType::S8,
            ValType::S16,
            ValType::U32,
            ValType::Char,
            ValType::Flags(names(&["a", "b", "c"])),
            ValType::F32,
            ValType::S64,
        ]
        .map(|vt| t.add(vt));
        let [b, u8_, s8, s16, u32_, ch, fl, f32_, s64] = ids;
        let ty = &t.0;
        let lf = |ty_: u32, v: u64| lift_flat(ty, ty_, &[v], &[]);
        assert_eq!(lf(b, 2).unwrap(), Value::Bool(true));
        assert_eq!(lf(b, 0).unwrap(), Value::Bool(false));
        assert_eq!(lf(u8_, 0x1ff).unwrap(), Value::U8(0xff));
        assert_eq!(lf(s8, 0x80).unwrap(), Value::S8(-128));
        assert_eq!(lf(s16, 0xffff_8000).unwrap(), Value::S16(-32768));
        assert_eq!(lf(u32_, 0xffff_ffff_0000_0005).unwrap(), Value::U32(5));
        assert_eq!(lf(ch, 0x41).unwrap(), Value::Char('A'));
        assert!(host_msg(lf(ch, 0xd800).unwrap_err()).contains("invalid char"));
        assert!(lf(ch, 0x11_0000).is_err());
        assert_eq!(lf(fl, 0xff).unwrap(), Value::Flags(0b111));
        assert_eq!(lf(s64, u64::MAX).unwrap(), Value::S64(-1));
        match lf(f32_, 0x7fc0_0001).unwrap() {
            Value::F32(f) => assert_eq!(f.to_bits(), CANONICAL_F32_NAN),
            other => panic!("{other:?}"),
        }
        let mut mem = [];
        assert_eq!(
            lower_flat(ty, s8, &Value::S8(-1), &[], &mut mem).unwrap(),
            [0xffff_ffff]
        );
        assert_eq!(
            lower_flat(ty, s64, &Value::S64(-2), &[], &mut mem).unwrap(),
            [u64::MAX - 1]
        );
        assert_eq!(
            lower_flat(
                ty,
                f32_,
                &Value::F32(f32::from_bits(0xffc0_1234)),
                &[],
                &mut mem
            )
            .unwrap(),
            [u64::from(CANONICAL_F32_NAN)]
        );
        assert!(lower_flat(ty, fl, &Value::Flags(0b1000), &[], &mut mem).is_err());
    }

    #[test]
    fn lift_args_of_write() {
        let w = wasi();
        let ty = &w.t.0;
        let write = sig(&[w.borrow_stream, w.bytes], Some(w.write_result));
        let mut mem = vec![0u8; 256];
        mem[100..105].copy_from_slice(b"hello");
        let (args, retptr) = lift_args(ty, &write, &[3, 100, 5, 200], &mem).unwrap();
        assert_eq!(args, [Value::Borrow(3), Value::Bytes(b"hello".to_vec())]);
        assert_eq!(retptr, Some(200));
        // Zero-length list at the very end of memory is fine, one byte past is not.
        let (args, _) = lift_args(ty, &write, &[3, 256, 0, 200], &mem).unwrap();
        assert_eq!(args[1], Value::Bytes(vec![]));
        let e = lift_args(ty, &write, &[3, 257, 0, 200], &mem).unwrap_err();
        assert_eq!(e.kind, TrapKind::MemoryOutOfBounds);
        let e = lift_args(ty, &write, &[3, 250, 10, 200], &mem).unwrap_err();
        assert_eq!(e.kind, TrapKind::MemoryOutOfBounds);
        // Wrong number of core values.
        assert!(
            host_msg(lift_args(ty, &write, &[3, 100, 5], &mem).unwrap_err())
                .contains("expected 4 core parameters")
        );

        let exit = sig(&[w.unit_result], None);
        assert_eq!(
            lift_args(ty, &exit, &[1], &[]).unwrap(),
            (vec![Value::Result(Err(None))], None)
        );
        assert_eq!(
            lift_args(ty, &exit, &[0], &[]).unwrap().0,
            [Value::Result(Ok(None))]
        );
        assert!(host_msg(lift_args(ty, &exit, &[2], &[]).unwrap_err()).contains("discriminant"));
        let get_stdout = sig(&[], Some(w.own_stream));
        assert_eq!(
            lift_args(ty, &get_stdout, &[], &[]).unwrap(),
            (vec![], None)
        );
    }

    #[test]
    fn lift_args_traps_on_bad_strings_and_lists() {
        let mut t = Tys::default();
        let s = t.add(ValType::String);
        let u64_ = t.add(ValType::U64);
        let l64 = t.add(ValType::List(u64_));
        let u8_ = t.add(ValType::U8);
        let l8 = t.add(ValType::List(u8_));
        let ty = &t.0;
        let mem = [0xffu8, 0xfe, b'o', b'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let fs = sig(&[s], None);
        assert_eq!(
            lift_args(ty, &fs, &[2, 2], &mem).unwrap().0,
            [Value::String("ok".into())]
        );
        assert!(host_msg(lift_args(ty, &fs, &[0, 2], &mem).unwrap_err()).contains("UTF-8"));
        assert!(
            host_msg(lift_args(ty, &fs, &[0, 0xffff_ffff], &mem).unwrap_err()).contains("too long")
        );
        let fl = sig(&[l64], None);
        assert!(
            host_msg(lift_args(ty, &fl, &[0, 0xffff_ffff], &mem).unwrap_err()).contains("too long")
        );
        assert!(host_msg(lift_args(ty, &fl, &[4, 1], &mem).unwrap_err()).contains("aligned"));
        assert_eq!(
            lift_args(ty, &fl, &[16, 1], &mem).unwrap_err().kind,
            TrapKind::MemoryOutOfBounds
        );
        assert_eq!(
            lift_args(ty, &fl, &[0, 2], &mem).unwrap().0,
            [Value::List(vec![
                Value::U64(0x0000_0000_6b6f_feff),
                Value::U64(0)
            ])]
        );
        let fb = sig(&[l8], None);
        assert!(
            host_msg(lift_args(ty, &fb, &[0, 1 << 28], &mem).unwrap_err()).contains("too long")
        );
        assert_eq!(
            lift_args(ty, &fb, &[0xffff_fff0, 0x20], &mem)
                .unwrap_err()
                .kind,
            TrapKind::MemoryOutOfBounds
        );
    }

    #[test]
    fn aliasing_lists_exhaust_the_budget() {
        let mut t = Tys::default();
        let u8_ = t.add(ValType::U8);
        let l8 = t.add(ValType::List(u8_));
        let ll = t.add(ValType::List(l8));
        let ty = &t.0;
        let mut mem = vec![0u8; 4096];
        // 300 lists all pointing at the same 1000 bytes.
        for k in 0..300 {
            mem[k * 8..k * 8 + 4].copy_from_slice(&3000u32.to_le_bytes());
            mem[k * 8 + 4..k * 8 + 8].copy_from_slice(&1000u32.to_le_bytes());
        }
        let f = sig(&[ll], None);
        assert!(host_msg(lift_args(ty, &f, &[0, 300], &mem).unwrap_err()).contains("exceed"));
        // A couple of them are fine.
        let (args, _) = lift_args(ty, &f, &[0, 2], &mem).unwrap();
        assert_eq!(
            args,
            [Value::List(vec![
                Value::Bytes(vec![0; 1000]),
                Value::Bytes(vec![0; 1000])
            ])]
        );
    }

    #[test]
    fn spilled_params() {
        let mut t = Tys::default();
        let s = t.add(ValType::String);
        let u32_ = t.add(ValType::U32);
        let mut params = vec![s];
        params.extend([u32_; 16]);
        let ty = &t.0;
        let f = sig(&params, None);
        assert_eq!(lower_signature(ty, &f), ft(&[I32], &[]));
        let mut mem = vec![0u8; 128];
        mem[8..12].copy_from_slice(&100u32.to_le_bytes());
        mem[12..16].copy_from_slice(&2u32.to_le_bytes());
        for k in 0..16u32 {
            let at = 16 + 4 * k as usize;
            mem[at..at + 4].copy_from_slice(&(k * 10).to_le_bytes());
        }
        mem[100..102].copy_from_slice(b"hi");
        let (args, retptr) = lift_args(ty, &f, &[8], &mem).unwrap();
        assert_eq!(retptr, None);
        assert_eq!(args.len(), 17);
        assert_eq!(args[0], Value::String("hi".into()));
        assert_eq!(args[1], Value::U32(0));
        assert_eq!(args[16], Value::U32(150));
        assert!(host_msg(lift_args(ty, &f, &[6], &mem).unwrap_err()).contains("aligned"));
        assert_eq!(
            lift_args(ty, &f, &[64], &mem).unwrap_err().kind,
            TrapKind::MemoryOutOfBounds
        );
        // With a result through memory: the pointer to the params, then the return pointer.
        let l = t.add(ValType::List(s));
        let g = sig(&params, Some(l));
        let (args, retptr) = lift_args(&t.0, &g, &[8, 120], &mem).unwrap();
        assert_eq!((args.len(), retptr), (17, Some(120)));
    }

    #[test]
    fn plan_order_for_list_of_strings() {
        let w = wasi();
        let ty = &w.t.0;
        let v = Value::List(vec![
            Value::String("ab".into()),
            Value::String(String::new()),
            Value::String("xyz".into()),
        ]);
        assert_eq!(
            plan_allocations(ty, w.strings, &v).unwrap(),
            [(4, 24), (1, 2), (1, 0), (1, 3)]
        );
        // Zero-length lists still allocate, as the spec's realloc call does.
        assert_eq!(
            plan_allocations(ty, w.strings, &Value::List(vec![])).unwrap(),
            [(4, 0)]
        );
        assert_eq!(
            plan_allocations(ty, w.bytes, &Value::Bytes(vec![])).unwrap(),
            [(1, 0)]
        );
        // No allocations for scalars; type errors trap.
        assert_eq!(plan_allocations(ty, w.u32_, &Value::U32(1)).unwrap(), []);
        assert!(plan_allocations(ty, w.strings, &Value::U32(1)).is_err());
    }

    #[test]
    fn get_environment_round_trip() {
        let w = wasi();
        let ty = &w.t.0;
        let pair =
            |a: &str, b: &str| Value::Tuple(vec![Value::String(a.into()), Value::String(b.into())]);
        let value = Value::List(vec![pair("HOME", "/root"), pair("", "x=y")]);
        let plan = plan_allocations(ty, w.env, &value).unwrap();
        assert_eq!(plan, [(4, 32), (1, 4), (1, 5), (1, 0), (1, 3)]);
        let ptrs = bump(&plan, 64);
        assert_eq!(ptrs, [64, 96, 100, 105, 105]);
        let mut mem = vec![0u8; 256];
        let f = sig(&[], Some(w.env));
        let flat = lower_result(ty, &f, Some(&value), &ptrs, Some(8), &mut mem).unwrap();
        assert!(flat.is_empty());
        assert_eq!(&mem[8..16], &[64, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&mem[64..72], &[96, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(&mem[96..108], b"HOME/rootx=y");
        assert_eq!(load(ty, w.env, &mem, 8).unwrap(), value);
        assert_eq!(lift_result(ty, &f, &[8], &mem).unwrap(), Some(value));
    }

    #[test]
    fn record_store_layout_and_round_trip() {
        let mut t = Tys::default();
        let u8_ = t.add(ValType::U8);
        let u64_ = t.add(ValType::U64);
        let opt = t.add(ValType::Option(u8_));
        let rec = t.add(ValType::Record(vec![
            field("a", u8_),
            field("b", u64_),
            field("c", opt),
        ]));
        let ty = &t.0;
        let value = Value::Record(vec![
            Value::U8(0xab),
            Value::U64(0x0102_0304_0506_0708),
            Value::Option(boxed(Value::U8(9))),
        ]);
        let mut mem = vec![0xeeu8; 64];
        store(ty, rec, &value, &[], &mut mem, 16).unwrap();
        assert_eq!(mem[16], 0xab);
        assert_eq!(&mem[17..24], &[0xee; 7]); // padding untouched
        assert_eq!(&mem[24..32], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&mem[32..34], &[1, 9]);
        assert_eq!(load(ty, rec, &mem, 16).unwrap(), value);
        let none = Value::Record(vec![Value::U8(1), Value::U64(2), Value::Option(None)]);
        store(ty, rec, &none, &[], &mut mem, 16).unwrap();
        assert_eq!(mem[32], 0);
        assert_eq!(load(ty, rec, &mem, 16).unwrap(), none);
        // Misaligned and out-of-bounds.
        assert!(host_msg(load(ty, rec, &mem, 12).unwrap_err()).contains("aligned"));
        assert_eq!(
            load(ty, rec, &mem, 48).unwrap_err().kind,
            TrapKind::MemoryOutOfBounds
        );
        assert!(store(ty, rec, &none, &[], &mut mem, 12).is_err());
        // A bad discriminant in memory.
        mem[32] = 2;
        assert!(host_msg(load(ty, rec, &mem, 16).unwrap_err()).contains("discriminant"));
        // Record flattening.
        let flat = lower_flat(ty, rec, &value, &[], &mut mem).unwrap();
        assert_eq!(flat, [0xab, 0x0102_0304_0506_0708, 1, 9]);
        assert_eq!(lift_flat(ty, rec, &flat, &mem).unwrap(), value);
    }

    #[test]
    fn check_write_result_layout() {
        let w = wasi();
        let ty = &w.t.0;
        let f = sig(&[w.borrow_stream], Some(w.check_result));
        let mut mem = vec![0xffu8; 64];
        let ok = Value::Result(Ok(boxed(Value::U64(0x1122_3344_5566_7788))));
        assert!(lower_result(ty, &f, Some(&ok), &[], Some(16), &mut mem)
            .unwrap()
            .is_empty());
        assert_eq!(mem[16], 0);
        assert_eq!(&mem[17..24], &[0xff; 7]);
        assert_eq!(
            &mem[24..32],
            &[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
        );
        let failed = Value::Result(Err(boxed(Value::Variant(0, boxed(Value::Own(7))))));
        lower_result(ty, &f, Some(&failed), &[], Some(16), &mut mem).unwrap();
        assert_eq!(mem[16], 1);
        assert_eq!(mem[24], 0);
        assert_eq!(&mem[28..32], &[7, 0, 0, 0]);
        assert_eq!(load(ty, w.check_result, &mem, 16).unwrap(), failed);
        let closed = Value::Result(Err(boxed(Value::Variant(1, None))));
        lower_result(ty, &f, Some(&closed), &[], Some(16), &mut mem).unwrap();
        assert_eq!((mem[16], mem[24]), (1, 1));
        assert_eq!(load(ty, w.check_result, &mem, 16).unwrap(), closed);
        // Misaligned, out of bounds, missing return pointer.
        assert!(
            host_msg(lower_result(ty, &f, Some(&ok), &[], Some(20), &mut mem).unwrap_err())
                .contains("not aligned")
        );
        assert_eq!(
            lower_result(ty, &f, Some(&ok), &[], Some(56), &mut mem)
                .unwrap_err()
                .kind,
            TrapKind::MemoryOutOfBounds
        );
        assert!(
            host_msg(lower_result(ty, &f, Some(&ok), &[], None, &mut mem).unwrap_err())
                .contains("return pointer")
        );
        // Values that do not fit the type.
        let bad_case = Value::Result(Err(boxed(Value::Variant(2, None))));
        assert!(lower_result(ty, &f, Some(&bad_case), &[], Some(16), &mut mem).is_err());
        let wrong = Value::Result(Ok(boxed(Value::U32(1))));
        assert!(lower_result(ty, &f, Some(&wrong), &[], Some(16), &mut mem).is_err());
        assert!(lower_result(ty, &f, None, &[], Some(16), &mut mem).is_err());
    }

    #[test]
    fn write_result_layout() {
        let w = wasi();
        let ty = &w.t.0;
        let f = sig(&[w.borrow_stream, w.bytes], Some(w.write_result));
        let mut mem = vec![0xffu8; 32];
        lower_result(
            ty,
            &f,
            Some(&Value::Result(Ok(None))),
            &[],
            Some(4),
            &mut mem,
        )
        .unwrap();
        assert_eq!(mem[4], 0);
        let err = Value::Result(Err(boxed(Value::Variant(0, boxed(Value::Own(3))))));
        lower_result(ty, &f, Some(&err), &[], Some(4), &mut mem).unwrap();
        assert_eq!(
            &mem[4..16],
            &[1, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 3, 0, 0, 0]
        );
    }

    #[test]
    fn flat_results() {
        let w = wasi();
        let ty = &w.t.0;
        let mut mem = [];
        let get_stdout = sig(&[], Some(w.own_stream));
        assert_eq!(
            lower_result(ty, &get_stdout, Some(&Value::Own(5)), &[], None, &mut mem).unwrap(),
            [5]
        );
        let exit = sig(&[w.unit_result], None);
        assert_eq!(
            lower_result(ty, &exit, None, &[], None, &mut mem).unwrap(),
            Vec::<u64>::new()
        );
        assert!(lower_result(ty, &exit, Some(&Value::U32(1)), &[], None, &mut mem).is_err());
        assert!(lower_result(
            ty,
            &get_stdout,
            Some(&Value::Borrow(5)),
            &[],
            None,
            &mut mem
        )
        .is_err());
        let run = sig(&[], Some(w.unit_result));
        assert_eq!(
            lift_result(ty, &run, &[1], &mem).unwrap(),
            Some(Value::Result(Err(None)))
        );
        assert!(lift_result(ty, &run, &[], &mem).is_err());
        assert_eq!(lift_result(ty, &exit, &[], &mem).unwrap(), None);
    }

    #[test]
    fn list_u8_bytes_or_values() {
        let w = wasi();
        let ty = &w.t.0;
        let f = sig(&[], Some(w.bytes));
        let as_bytes = Value::Bytes(vec![1, 2, 3]);
        let as_list = Value::List(vec![Value::U8(1), Value::U8(2), Value::U8(3)]);
        for v in [&as_bytes, &as_list] {
            let plan = plan_allocations(ty, w.bytes, v).unwrap();
            assert_eq!(plan, [(1, 3)]);
            let mut mem = vec![0u8; 32];
            lower_result(ty, &f, Some(v), &[20], Some(0), &mut mem).unwrap();
            assert_eq!(&mem[0..8], &[20, 0, 0, 0, 3, 0, 0, 0]);
            assert_eq!(&mem[20..23], &[1, 2, 3]);
            assert_eq!(load(ty, w.bytes, &mem, 0).unwrap(), as_bytes);
        }
        let mixed = Value::List(vec![Value::U8(1), Value::U32(2)]);
        assert!(check_value(ty, w.bytes, &mixed).is_err());
        // Bytes are only for list<u8>.
        assert!(check_value(ty, w.strings, &Value::Bytes(vec![])).is_err());
    }

    #[test]
    fn allocation_pointers_are_checked() {
        let mut t = Tys::default();
        let u32_ = t.add(ValType::U32);
        let l = t.add(ValType::List(u32_));
        let ty = &t.0;
        let f = sig(&[], Some(l));
        let v = Value::List(vec![Value::U32(1), Value::U32(2)]);
        assert_eq!(plan_allocations(ty, l, &v).unwrap(), [(4, 8)]);
        let mut mem = vec![0u8; 32];
        assert!(
            host_msg(lower_result(ty, &f, Some(&v), &[], Some(0), &mut mem).unwrap_err())
                .contains("fewer allocations")
        );
        assert!(host_msg(
            lower_result(ty, &f, Some(&v), &[16, 24], Some(0), &mut mem).unwrap_err()
        )
        .contains("more allocations"));
        assert!(
            host_msg(lower_result(ty, &f, Some(&v), &[18], Some(0), &mut mem).unwrap_err())
                .contains("not aligned")
        );
        assert_eq!(
            lower_result(ty, &f, Some(&v), &[28], Some(0), &mut mem)
                .unwrap_err()
                .kind,
            TrapKind::MemoryOutOfBounds
        );
        lower_result(ty, &f, Some(&v), &[16], Some(0), &mut mem).unwrap();
        assert_eq!(&mem[0..8], &[16, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&mem[16..24], &[1, 0, 0, 0, 2, 0, 0, 0]);
        // An empty list may sit at the end of memory.
        let empty = Value::List(vec![]);
        lower_result(ty, &f, Some(&empty), &[32], Some(0), &mut mem).unwrap();
        assert_eq!(&mem[0..8], &[32, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn check_value_messages() {
        let mut t = Tys::default();
        let u32_ = t.add(ValType::U32);
        let fl = t.add(ValType::Flags(names(&["read", "write"])));
        let en = t.add(ValType::Enum(names(&["a", "b"])));
        let rec = t.add(ValType::Record(vec![field("x", u32_)]));
        let var = t.add(ValType::Variant(vec![
            case("n", None),
            case("v", Some(u32_)),
        ]));
        let ty = &t.0;
        assert!(check_value(ty, fl, &Value::Flags(0b11)).is_ok());
        assert!(check_value(ty, fl, &Value::Flags(0b100))
            .unwrap_err()
            .contains("beyond"));
        assert!(check_value(ty, en, &Value::Enum(1)).is_ok());
        assert!(check_value(ty, en, &Value::Enum(2))
            .unwrap_err()
            .contains("out of range"));
        assert!(check_value(ty, rec, &Value::Record(vec![])).is_err());
        assert!(check_value(ty, rec, &Value::Tuple(vec![Value::U32(1)])).is_err());
        assert!(
            check_value(ty, var, &Value::Variant(0, boxed(Value::U32(1))))
                .unwrap_err()
                .contains("no payload")
        );
        assert!(check_value(ty, var, &Value::Variant(1, None))
            .unwrap_err()
            .contains("needs a payload"));
        assert!(check_value(ty, var, &Value::Variant(1, boxed(Value::U32(1)))).is_ok());
        assert_eq!(
            check_value(ty, u32_, &Value::S32(1)).unwrap_err(),
            "expected a u32 value, got s32"
        );
        assert!(check_value(ty, 99, &Value::U32(1))
            .unwrap_err()
            .contains("out of range"));
    }

    #[test]
    fn renders() {
        let w = wasi();
        let ty = &w.t.0;
        let res = resources();
        assert_eq!(
            render_sig(
                ty,
                &res,
                &sig(&[w.borrow_stream, w.bytes], Some(w.write_result))
            ),
            "func(borrow<output-stream>, list<u8>) -> \
             result<_, variant{last-operation-failed(own<error>), closed}>"
        );
        assert_eq!(
            render_type(ty, &res, w.check_result),
            "result<u64, variant{last-operation-failed(own<error>), closed}>"
        );
        assert_eq!(render_type(ty, &res, w.env), "list<tuple<string, string>>");
        assert_eq!(
            render_sig(ty, &res, &sig(&[w.unit_result], None)),
            "func(result)"
        );
        assert_eq!(render_sig(ty, &res, &sig(&[], None)), "func()");
        let mut t = Tys::default();
        let s = t.add(ValType::String);
        let u64_ = t.add(ValType::U64);
        let ch = t.add(ValType::Char);
        let ids = [
            ValType::Record(vec![field("name", s), field("size", u64_)]),
            ValType::Enum(names(&["a", "b"])),
            ValType::Flags(names(&["read", "write"])),
            ValType::Option(ch),
            ValType::Result {
                ok: Some(s),
                err: None,
            },
            ValType::Result {
                ok: Some(s),
                err: Some(u64_),
            },
            ValType::Own(7),
        ]
        .map(|vt| t.add(vt));
        let got: Vec<String> = ids.iter().map(|&i| render_type(&t.0, &res, i)).collect();
        assert_eq!(
            got,
            [
                "record{name: string, size: u64}",
                "enum{a, b}",
                "flags{read, write}",
                "option<char>",
                "result<string>",
                "result<string, u64>",
                "own<<invalid resource 7>>",
            ]
        );
    }

    #[test]
    fn hostile_type_tables_trap_without_panics() {
        // A type referring to itself.
        let cyclic = vec![ValType::Option(0)];
        let f = sig(&[0], None);
        let _ = lower_signature(&cyclic, &f);
        let _ = lift_signature(&cyclic, &f);
        assert!(
            host_msg(lift_args(&cyclic, &f, &[0, 0], &[]).unwrap_err()).contains("invalid type")
        );
        assert!(check_value(&cyclic, 0, &Value::Option(None)).is_err());
        assert_eq!(render_type(&cyclic, &[], 0), "option<<invalid type 0>>");
        // Out-of-range and forward references.
        let forward = vec![ValType::List(5)];
        assert!(lift_args(&forward, &sig(&[0], None), &[0, 0], &[]).is_err());
        assert!(lift_args(&forward, &sig(&[3], None), &[0], &[]).is_err());
        assert!(plan_allocations(&forward, 0, &Value::List(vec![])).is_err());
        // Empty aggregates.
        let empty = vec![
            ValType::Record(vec![]),
            ValType::Tuple(vec![]),
            ValType::Variant(vec![]),
            ValType::Enum(vec![]),
            ValType::Flags(vec![]),
        ];
        for i in 0..5 {
            assert!(load(&empty, i, &[0; 16], 0).is_err());
        }
        // Nesting beyond MAX_TYPE_DEPTH.
        let mut deep = vec![ValType::U8];
        for i in 0..200 {
            deep.push(ValType::Option(i));
        }
        assert!(host_msg(load(&deep, 100, &[0; 256], 0).unwrap_err()).contains("deeply"));
        assert!(host_msg(load(&deep, 199, &[0; 256], 0).unwrap_err()).contains("invalid type"));
        assert_eq!(load(&deep, 99, &[0; 256], 0).unwrap(), Value::Option(None));
        assert!(render_type(&deep, &[], 199).contains("<too deep>"));
        // A record doubling its size at each level: too large, quickly.
        let mut wide = vec![ValType::U64];
        for i in 0..64 {
            wide.push(ValType::Tuple(vec![i; 2]));
        }
        assert!(load(&wide, 64, &[0; 16], 0).is_err());
        let s = lower_signature(&wide, &sig(&[10], None));
        assert_eq!(s.params, [I32]);
        let r = render_type(&wide, &[], 64);
        assert!(r.len() <= MAX_RENDER_LEN + 1024, "{}", r.len());
    }
}
