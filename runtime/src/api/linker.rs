//! `Linker<T>`: names for imports, and instantiation of modules against them.

use std::collections::BTreeMap;

use super::error::{Error, ErrorKind};
use super::func::{dynamic, Caller, Func, Host, IntoFunc};
use super::handles::{Extern, Instance};
use super::module::Module;
use super::store::Store;
use super::types::FuncType;
use crate::instance::InstantiateError;
use crate::value::Val;

enum Definition<T> {
    /// A host function, made in each store that instantiates a module importing it.
    Host(FuncType, Host<T>),
    /// Something a store holds already (usable with that store only).
    Extern(Extern),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Host(ty, host) => Definition::Host(ty.clone(), host.clone()),
            Definition::Extern(e) => Definition::Extern(*e),
        }
    }
}

/// Definitions by `(module, name)`, which modules' imports resolve against when instantiated.
pub struct Linker<T> {
    defs: BTreeMap<(String, String), Definition<T>>,
    /// Resolves what no definition names (the WASI layer: any preview-1 function on demand).
    fallback: Option<Resolver<T>>,
}

/// Resolves an import `(module, name)` in a store, for imports no definition names.
pub type Resolver<T> = Box<dyn Fn(&mut Store<T>, &str, &str) -> Option<Extern>>;

impl<T: 'static> Default for Linker<T> {
    fn default() -> Self {
        Linker::new()
    }
}

impl<T: 'static> Linker<T> {
    /// A linker with no definitions.
    pub fn new() -> Linker<T> {
        Linker {
            defs: BTreeMap::new(),
            fallback: None,
        }
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<(), Error> {
        let key = (module.to_string(), name.to_string());
        if self.defs.contains_key(&key) {
            return Err(Error::new(
                ErrorKind::Link,
                format!("`{module}::{name}` is defined twice"),
            ));
        }
        self.defs.insert(key, def);
        Ok(())
    }

    /// Defines `module::name` as a host function from a Rust closure; its Wasm type comes from
    /// the closure's: `|caller: Caller<'_, T>, x: i32| -> i64 { ... }` is `(func (param i32)
    /// (result i64))`. Return `Result<_, Error>` to be able to trap.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self, Error> {
        let (ty, host) = func.into_func();
        self.insert(module, name, Definition::Host(ty, host))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function of type `ty` over [`Val`]s.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Error> + 'static,
    ) -> Result<&mut Self, Error> {
        let host = dynamic(&ty, func);
        self.insert(module, name, Definition::Host(ty, host))?;
        Ok(self)
    }

    /// Defines `module::name` as something a store holds (a memory, a global, an instance's
    /// export, ...); modules importing it must be instantiated in that store.
    pub fn define(&mut self, module: &str, name: &str, item: Extern) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::Extern(item))?;
        Ok(self)
    }

    /// Defines every export of `instance` under module name `module`.
    pub fn instance(
        &mut self,
        store: &Store<T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self, Error> {
        for (name, item) in instance.exports(store)? {
            self.define(module, &name, item)?;
        }
        Ok(self)
    }

    /// Resolves imports that no definition names through `resolver` (called once per import
    /// at each instantiation).
    pub fn fallback(
        &mut self,
        resolver: impl Fn(&mut Store<T>, &str, &str) -> Option<Extern> + 'static,
    ) -> &mut Self {
        self.fallback = Some(Box::new(resolver));
        self
    }

    /// What `module::name` resolves to in `store`, making a host function there if it is one.
    pub fn get(&self, store: &mut Store<T>, module: &str, name: &str) -> Option<Extern> {
        match self.defs.get(&(module.to_string(), name.to_string())) {
            Some(Definition::Host(ty, host)) => Some(Extern::Func(Func::from_host(
                store,
                ty.clone(),
                host.clone(),
            ))),
            Some(Definition::Extern(item)) => Some(*item),
            None => self.fallback.as_ref()?(store, module, name),
        }
    }

    /// Instantiates `module` in `store`: resolves its imports here (each must exist and have
    /// the right type), allocates what it defines, runs its active segments and its start
    /// function. A trap there is an error; what the segments wrote before it stays.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance, Error> {
        self.instantiate_with(store, module, true)
    }

    /// [`Linker::instantiate`], with or without running the start function (a restore runs
    /// none: `crate::checkpoint::restore_instance`).
    pub(crate) fn instantiate_with(
        &self,
        store: &mut Store<T>,
        module: &Module,
        run_start: bool,
    ) -> Result<Instance, Error> {
        // Resolve every import first, in the API's terms, so that a handle of another store
        // is refused before anything is allocated.
        let mut resolved = Vec::new();
        for import in module.image.module().imports.iter() {
            let item = self.get(store, import.module.as_str(), import.name.as_str());
            if let Some(item) = item {
                store.check(item.store_id(), "definition")?;
            }
            resolved.push(item.map(Extern::to_raw));
        }
        let mut next = resolved.into_iter();
        let mut imports = |_: &mut crate::store::Store, _: &str, _: &str| next.next().flatten();
        let id = if run_start {
            store.raw.instantiate(&module.image, &mut imports)
        } else {
            store
                .raw
                .instantiate_for_restore(&module.image, &mut imports)
        };
        match id {
            Ok(id) => Ok(Instance {
                store: store.id,
                id,
            }),
            Err(InstantiateError::Link(message)) => Err(Error::new(ErrorKind::Link, message)),
            Err(InstantiateError::Trap(trap)) => Err(Error::from(trap)),
        }
    }
}
