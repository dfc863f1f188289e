//! Component-level values, as the canonical ABI lifts them from and lowers them into core
//! values and linear memory.

/// A value of a component type ([`chiwawa_format::component::ValType`]); the cases are the
/// type's, named alike.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    S32(i32),
    U32(u32),
    S64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Char(char),
    String(String),
    /// A `list<T>` for any `T` but `u8`.
    List(Vec<Value>),
    /// A `list<u8>`: lifted and lowered as bytes, not one value each.
    Bytes(Vec<u8>),
    /// A record's fields, in the type's order.
    Record(Vec<Value>),
    Tuple(Vec<Value>),
    /// A variant's case index and its payload, if the case has one.
    Variant(u32, Option<Box<Value>>),
    /// An enum's case index.
    Enum(u32),
    Option(Option<Box<Value>>),
    /// A result: `Ok`/`Err` with the payload if that side has a type.
    Result(Result<Option<Box<Value>>, Option<Box<Value>>>),
    /// Flags: bit `i` set when the type's flag `i` is.
    Flags(u64),
    /// An owned resource handle, as the guest numbers it.
    Own(u32),
    /// A borrowed resource handle, as the guest numbers it.
    Borrow(u32),
}
