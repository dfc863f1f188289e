//! The embedding API, in the shape of wasmi's and wasmtime's: an [`Engine`], [`Module`]s loaded
//! from images (or translated from Wasm with the `translate` feature), a [`Store<T>`] holding
//! guest state and the embedder's data, a [`Linker<T>`] naming imports (host functions from
//! Rust closures), and typed calls ([`TypedFunc`]).
//!
//! ```
//! use chiwawa_runtime::{Caller, Engine, Linker, Module, Store};
//! # fn wat(text: &str) -> Vec<u8> {
//! #     let buf = wast::parser::ParseBuffer::new(text).unwrap();
//! #     wast::parser::parse::<wast::Wat>(&buf).unwrap().encode().unwrap()
//! # }
//! # let wasm = wat(r#"(module
//! #     (import "host" "tick" (func $tick (param i32) (result i32)))
//! #     (func (export "run") (param i32) (result i32) (call $tick (local.get 0))))"#);
//! # let image = chiwawa_translator::translate(&wasm, &Default::default()).unwrap();
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, &image)?; // a .cwi image's bytes
//! let mut store = Store::new(&engine, 0u32); // user data: a counter
//! let mut linker = Linker::new();
//! linker.func_wrap("host", "tick", |mut caller: Caller<'_, u32>, n: i32| {
//!     *caller.data_mut() += 1;
//!     n + 1
//! })?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let run = instance.get_typed_func::<i32, i32, _>(&store, "run")?;
//! assert_eq!(run.call(&mut store, 41)?, 42);
//! assert_eq!(*store.data(), 1);
//! # Ok::<(), chiwawa_runtime::Error>(())
//! ```
//!
//! Handles ([`Instance`], [`Func`], [`Memory`], [`Global`], [`Table`]) are small `Copy` values
//! naming something in one store; used with another store they are the error
//! [`ErrorKind::WrongStore`]. A host function sees the store's data and the calling instance's
//! memory 0 through its [`Caller`]; it cannot call back into the guest.

mod engine;
mod error;
mod func;
mod handles;
mod linker;
mod module;
mod store;
mod types;

pub use engine::{Config, Engine};
pub use error::{Error, ErrorKind};
pub(crate) use func::Host;
pub use func::{Caller, Func, HostResult, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use handles::{Extern, Global, Instance, Memory, Table};
pub use linker::{Linker, Resolver};
pub use module::Module;
pub use store::Store;
pub use types::{ExportType, ExternType, FuncType, ImportType, Limits, ValType};
