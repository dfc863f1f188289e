//! Values at the embedding boundary. Inside the interpreter every value is a `u64` slot:
//! i32/f32 zero-extended bits, i64/f64 bits, references as `0` (null) or `address + 1`.

use chiwawa_format::valtype;

/// A Wasm value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// An i32.
    I32(i32),
    /// An i64.
    I64(i64),
    /// Bits of an f32 (NaN payloads are kept).
    F32(u32),
    /// Bits of an f64.
    F64(u64),
    /// A function reference: the store's function address, or null.
    FuncRef(Option<u32>),
    /// A host reference, or null.
    ExternRef(Option<u32>),
}

impl Val {
    /// The value as the interpreter holds it in a frame slot.
    pub fn to_slot(self) -> u64 {
        match self {
            Val::I32(v) => v as u32 as u64,
            Val::I64(v) => v as u64,
            Val::F32(v) => v as u64,
            Val::F64(v) => v,
            Val::FuncRef(r) | Val::ExternRef(r) => r.map_or(0, |a| a as u64 + 1),
        }
    }

    /// The value of type `ty` (a value type byte) held in `slot`.
    pub fn from_slot(ty: u8, slot: u64) -> Val {
        let reference = if slot == 0 {
            None
        } else {
            Some((slot - 1) as u32)
        };
        match ty {
            valtype::I32 => Val::I32(slot as u32 as i32),
            valtype::I64 => Val::I64(slot as i64),
            valtype::F32 => Val::F32(slot as u32),
            valtype::F64 => Val::F64(slot),
            valtype::FUNCREF => Val::FuncRef(reference),
            _ => Val::ExternRef(reference),
        }
    }

    /// Its value type byte.
    pub fn ty(&self) -> u8 {
        match self {
            Val::I32(_) => valtype::I32,
            Val::I64(_) => valtype::I64,
            Val::F32(_) => valtype::F32,
            Val::F64(_) => valtype::F64,
            Val::FuncRef(_) => valtype::FUNCREF,
            Val::ExternRef(_) => valtype::EXTERNREF,
        }
    }
}

impl std::fmt::Display for Val {
    /// As `wasmtime run --invoke` prints results.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::I32(v) => write!(f, "{v}"),
            Val::I64(v) => write!(f, "{v}"),
            Val::F32(v) => write!(f, "{}", f32::from_bits(*v)),
            Val::F64(v) => write!(f, "{}", f64::from_bits(*v)),
            Val::FuncRef(None) | Val::ExternRef(None) => write!(f, "null"),
            Val::FuncRef(Some(a)) => write!(f, "funcref({a})"),
            Val::ExternRef(Some(a)) => write!(f, "externref({a})"),
        }
    }
}
