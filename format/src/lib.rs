//! The chiwawa image format and register instruction set, shared by the translator and runtime.

pub mod image;
pub mod isa;

pub use image::*;
pub use isa::{decode, disassemble, Arg, DecodeError, Op, OpInfo, Operand, OPS};
