//! The types of values, functions and externals as the embedding API shows them.

use std::fmt;

use chiwawa_format::valtype;

/// The type of a Wasm value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// A function reference (or null).
    FuncRef,
    /// A host reference (or null).
    ExternRef,
}

impl ValType {
    /// The type of the binary format's byte `code` (`0x7f` is `i32`, ...), if it is one.
    pub fn from_code(code: u8) -> Option<ValType> {
        Some(match code {
            valtype::I32 => ValType::I32,
            valtype::I64 => ValType::I64,
            valtype::F32 => ValType::F32,
            valtype::F64 => ValType::F64,
            valtype::FUNCREF => ValType::FuncRef,
            valtype::EXTERNREF => ValType::ExternRef,
            _ => return None,
        })
    }

    /// The binary format's byte for this type.
    pub fn code(self) -> u8 {
        match self {
            ValType::I32 => valtype::I32,
            ValType::I64 => valtype::I64,
            ValType::F32 => valtype::F32,
            ValType::F64 => valtype::F64,
            ValType::FuncRef => valtype::FUNCREF,
            ValType::ExternRef => valtype::EXTERNREF,
        }
    }

    /// Types of the archived or raw layer; bytes the verifier let through are always types,
    /// anything else shows as `externref`, as [`crate::Val::from_slot`] reads it.
    pub(crate) fn from_raw(code: u8) -> ValType {
        ValType::from_code(code).unwrap_or(ValType::ExternRef)
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// A function type: parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Vec<ValType>,
    results: Vec<ValType>,
}

impl FuncType {
    /// The type taking `params` and returning `results`.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// Parameter types, in order.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// Result types, in order.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    pub(crate) fn from_raw(ty: &chiwawa_format::FuncType) -> FuncType {
        FuncType::from_codes(&ty.params, &ty.results)
    }

    pub(crate) fn from_codes(params: &[u8], results: &[u8]) -> FuncType {
        FuncType::new(
            params.iter().map(|&t| ValType::from_raw(t)),
            results.iter().map(|&t| ValType::from_raw(t)),
        )
    }

    pub(crate) fn to_raw(&self) -> chiwawa_format::FuncType {
        chiwawa_format::FuncType {
            params: self.params.iter().map(|t| t.code()).collect(),
            results: self.results.iter().map(|t| t.code()).collect(),
        }
    }
}

impl fmt::Display for FuncType {
    /// As the text format writes it: `(func (param i32 i32) (result i64))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        for (word, types) in [("param", &self.params), ("result", &self.results)] {
            if !types.is_empty() {
                write!(f, " ({word}")?;
                for t in types {
                    write!(f, " {t}")?;
                }
                f.write_str(")")?;
            }
        }
        f.write_str(")")
    }
}

/// Size limits of a memory (in 64 KiB pages) or a table (in elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The least size (for a live memory or table: its size now).
    pub min: u32,
    /// The greatest size it may grow to, if bounded.
    pub max: Option<u32>,
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternType {
    /// A function of this type.
    Func(FuncType),
    /// A table of references of type `elem`.
    Table {
        /// The element type (`funcref` or `externref`).
        elem: ValType,
        /// Size limits in elements.
        limits: Limits,
    },
    /// A memory, with limits in 64 KiB pages.
    Memory(Limits),
    /// A global of value type `ty`.
    Global {
        /// Its value's type.
        ty: ValType,
        /// Whether `global.set` (and [`Global::set`](super::Global::set)) may change it.
        mutable: bool,
    },
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limits = |f: &mut fmt::Formatter<'_>, l: &Limits| match l.max {
            Some(max) => write!(f, "{} {max}", l.min),
            None => write!(f, "{}", l.min),
        };
        match self {
            ExternType::Func(ty) => write!(f, "{ty}"),
            ExternType::Table { elem, limits: l } => {
                f.write_str("(table ")?;
                limits(f, l)?;
                write!(f, " {elem})")
            }
            ExternType::Memory(l) => {
                f.write_str("(memory ")?;
                limits(f, l)?;
                f.write_str(")")
            }
            ExternType::Global { ty, mutable: true } => write!(f, "(global (mut {ty}))"),
            ExternType::Global { ty, mutable: false } => write!(f, "(global {ty})"),
        }
    }
}

/// An import of a module: where it comes from and what it must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportType {
    /// The first name (`"env"`, `"wasi_snapshot_preview1"`, ...).
    pub module: String,
    /// The second name.
    pub name: String,
    /// What the import must be.
    pub ty: ExternType,
}

/// An export of a module: its name and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportType {
    /// The export's name.
    pub name: String,
    /// What it is.
    pub ty: ExternType,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_the_text_format() {
        let ty = FuncType::new([ValType::I32, ValType::F64], [ValType::I64]);
        assert_eq!(ty.to_string(), "(func (param i32 f64) (result i64))");
        assert_eq!(FuncType::new([], []).to_string(), "(func)");
        let mem = ExternType::Memory(Limits {
            min: 1,
            max: Some(2),
        });
        assert_eq!(mem.to_string(), "(memory 1 2)");
        let global = ExternType::Global {
            ty: ValType::I32,
            mutable: true,
        };
        assert_eq!(global.to_string(), "(global (mut i32))");
    }

    #[test]
    fn value_type_codes_round_trip() {
        for code in 0..=255u8 {
            if let Some(t) = ValType::from_code(code) {
                assert_eq!(t.code(), code);
            }
        }
        assert_eq!(ValType::from_code(0x7f), Some(ValType::I32));
        assert_eq!(ValType::from_code(0x40), None);
    }
}
