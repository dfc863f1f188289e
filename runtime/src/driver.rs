//! A session that an embedder drives step by step: load images, instantiate them against each
//! other and the spec testsuite's `spectest` module, call exports, read globals.
//!
//! The spec runner uses it twice: linked natively, and inside `chiwawa-rt.wasm` through the
//! `cw_*` exports of the runtime binary, so the self-hosted runs go through the very module
//! users run.

use std::collections::BTreeMap;
use std::rc::Rc;

use chiwawa_format::{valtype, FuncType, TableType};

use crate::store::{Caller, Extern, Memory, Store, Table};
use crate::trap::TrapKind;
use crate::value::Val;
use crate::{CheckedImage, InstantiateError, VerifyMode};

/// Why a session step failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The image did not load (header, checksum, archive or verifier).
    Load(String),
    /// An import is missing or has the wrong type.
    Link(String),
    /// A trap (in a call, or in instantiation: segments and start function).
    Trap(String),
    /// The call stack was exhausted.
    Exhausted(String),
    /// Anything else: no such export, wrong argument types.
    Other(String),
}

impl Failure {
    /// A stable number for the failure kind, for the wasm ABI.
    pub fn code(&self) -> i32 {
        match self {
            Failure::Load(_) => 1,
            Failure::Link(_) => 2,
            Failure::Trap(_) => 3,
            Failure::Exhausted(_) => 4,
            Failure::Other(_) => 5,
        }
    }

    /// The failure's message, without its kind.
    pub fn message(&self) -> &str {
        match self {
            Failure::Load(m)
            | Failure::Link(m)
            | Failure::Trap(m)
            | Failure::Exhausted(m)
            | Failure::Other(m) => m,
        }
    }

    /// The failure of kind `code` ([`Failure::code`]) with `message`, as it crossed the Wasm ABI.
    pub fn from_code(code: i32, message: String) -> Failure {
        match code {
            1 => Failure::Load(message),
            2 => Failure::Link(message),
            3 => Failure::Trap(message),
            4 => Failure::Exhausted(message),
            _ => Failure::Other(message),
        }
    }
}

/// One store's worth of modules and instances.
pub struct Session {
    /// The store every module of the session is instantiated in.
    pub store: Store,
    /// When loaded images have their function code verified (default: lazily, on first entry).
    pub verify_mode: VerifyMode,
    modules: Vec<Rc<CheckedImage>>,
    registered: BTreeMap<String, u32>,
    spectest: BTreeMap<&'static str, Extern>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A fresh store holding the `spectest` module.
    pub fn new() -> Session {
        let mut store = Store::new();
        let mut spectest = BTreeMap::new();
        use valtype::{F32, F64, FUNCREF, I32, I64};
        let funcs: [(&'static str, &[u8]); 7] = [
            ("print", &[]),
            ("print_i32", &[I32]),
            ("print_i64", &[I64]),
            ("print_f32", &[F32]),
            ("print_f64", &[F64]),
            ("print_i32_f32", &[I32, F32]),
            ("print_f64_f64", &[F64, F64]),
        ];
        for (name, params) in funcs {
            // The reference interpreter prints its arguments; here stdout belongs to the
            // embedder, so these do nothing.
            let ty = FuncType {
                params: params.to_vec(),
                results: Vec::new(),
            };
            let func = store.add_host_func(
                ty,
                Rc::new(|_: &mut Caller<'_>, _: &[u64], _: &mut [u64]| Ok(())),
            );
            spectest.insert(name, Extern::Func(func));
        }
        let globals = [
            ("global_i32", Val::I32(666)),
            ("global_i64", Val::I64(666)),
            ("global_f32", Val::F32(666.6f32.to_bits())),
            ("global_f64", Val::F64(666.6f64.to_bits())),
        ];
        for (name, value) in globals {
            spectest.insert(name, Extern::Global(store.add_global(value, false)));
        }
        let table = Table {
            elems: vec![0; 10],
            ty: TableType {
                elem: FUNCREF,
                min: 10,
                max: Some(20),
            },
        };
        spectest.insert("table", Extern::Table(store.add_table(table)));
        let memory = Memory::new(1, Some(2)).expect("one page");
        spectest.insert("memory", Extern::Memory(store.add_memory(memory)));
        Session {
            store,
            verify_mode: VerifyMode::default(),
            modules: Vec::new(),
            registered: BTreeMap::new(),
            spectest,
        }
    }

    /// Loads (checks and verifies) an image; returns its module id.
    pub fn load(&mut self, image: &[u8]) -> Result<u32, Failure> {
        let image =
            crate::load_image(image, self.verify_mode).map_err(|e| Failure::Load(e.to_string()))?;
        self.modules.push(Rc::new(image));
        Ok((self.modules.len() - 1) as u32)
    }

    /// Instantiates module `module`; imports resolve against registered instances and
    /// `spectest`.
    pub fn instantiate(&mut self, module: u32) -> Result<u32, Failure> {
        let image = self
            .modules
            .get(module as usize)
            .cloned()
            .ok_or_else(|| Failure::Other(format!("no module {module}")))?;
        let registered = &self.registered;
        let spectest = &self.spectest;
        let mut resolve = |store: &mut Store, module: &str, name: &str| -> Option<Extern> {
            if let Some(&instance) = registered.get(module) {
                return store.export(instance, name);
            }
            if module == "spectest" {
                return spectest.get(name).copied();
            }
            None
        };
        self.store
            .instantiate(&image, &mut resolve)
            .map_err(|e| match e {
                InstantiateError::Link(msg) => Failure::Link(msg),
                // Lazy verification refused a function the start function entered.
                InstantiateError::Trap(trap) if matches!(trap.kind, TrapKind::InvalidCode(_)) => {
                    Failure::Load(trap.to_string())
                }
                InstantiateError::Trap(trap) => Failure::Trap(trap.to_string()),
            })
    }

    /// Makes `instance`'s exports importable under `name`.
    pub fn register(&mut self, name: &str, instance: u32) -> Result<(), Failure> {
        if instance as usize >= self.store.instances.len() {
            return Err(Failure::Other(format!("no instance {instance}")));
        }
        self.registered.insert(name.to_string(), instance);
        Ok(())
    }

    fn export(&self, instance: u32, name: &str) -> Result<Extern, Failure> {
        if instance as usize >= self.store.instances.len() {
            return Err(Failure::Other(format!("no instance {instance}")));
        }
        self.store
            .export(instance, name)
            .ok_or_else(|| Failure::Other(format!("no export {name:?}")))
    }

    /// Calls the exported function `name` of `instance`.
    pub fn invoke(&mut self, instance: u32, name: &str, args: &[Val]) -> Result<Vec<Val>, Failure> {
        let Extern::Func(func) = self.export(instance, name)? else {
            return Err(Failure::Other(format!("export {name:?} is not a function")));
        };
        let params = &self.store.func_type(func).params;
        if args.len() != params.len() || args.iter().zip(params).any(|(a, t)| a.ty() != *t) {
            return Err(Failure::Other(format!(
                "arguments {args:?} do not match parameter types {params:02x?}"
            )));
        }
        self.store
            .invoke(func, args)
            .map_err(|trap| match trap.kind {
                TrapKind::CallStackExhausted => Failure::Exhausted(trap.to_string()),
                TrapKind::InvalidCode(_) => Failure::Load(trap.to_string()),
                _ => Failure::Trap(trap.to_string()),
            })
    }

    /// Reads the exported global `name` of `instance`.
    pub fn global(&self, instance: u32, name: &str) -> Result<Val, Failure> {
        match self.export(instance, name)? {
            Extern::Global(addr) => Ok(self.store.global_value(addr)),
            _ => Err(Failure::Other(format!("export {name:?} is not a global"))),
        }
    }
}

/// Values cross the wasm ABI as pairs of u64 words: the value type byte, then the slot bits.
pub fn encode_vals(vals: &[Val]) -> Vec<u64> {
    vals.iter()
        .flat_map(|v| [v.ty() as u64, v.to_slot()])
        .collect()
}

/// The values [`encode_vals`] encoded.
pub fn decode_vals(words: &[u64]) -> Vec<Val> {
    words
        .chunks_exact(2)
        .map(|p| Val::from_slot(p[0] as u8, p[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vals_round_trip_through_the_abi_encoding() {
        let vals = [
            Val::I32(-1),
            Val::I64(i64::MIN),
            Val::F32(0x7fa0_0000),
            Val::F64(0xfff4_0000_0000_0000),
            Val::FuncRef(None),
            Val::FuncRef(Some(3)),
            Val::ExternRef(Some(0)),
        ];
        assert_eq!(decode_vals(&encode_vals(&vals)), vals);
    }

    #[test]
    fn spectest_is_importable_and_failures_are_classified() {
        let mut session = Session::new();
        assert!(matches!(
            session.load(b"not an image"),
            Err(Failure::Load(_))
        ));
        assert!(matches!(session.instantiate(9), Err(Failure::Other(_))));
        assert!(matches!(
            session.invoke(0, "f", &[]),
            Err(Failure::Other(_))
        ));
    }
}
