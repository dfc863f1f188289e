//! Handles to what a store holds: instances, memories, globals and tables. Each knows its store;
//! using it with another is [`ErrorKind::WrongStore`].

use super::error::{Error, ErrorKind};
use super::func::Func;
use super::store::{Store, StoreId};
use super::types::{ExternType, FuncType, Limits, ValType};
use crate::store::Extern as RawExtern;
use crate::value::Val;

/// Something a module imports or exports: a function, table, memory or global of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
}

impl Extern {
    pub(crate) fn from_raw(store: StoreId, raw: RawExtern) -> Extern {
        match raw {
            RawExtern::Func(addr) => Extern::Func(Func { store, addr }),
            RawExtern::Table(addr) => Extern::Table(Table { store, addr }),
            RawExtern::Memory(addr) => Extern::Memory(Memory { store, addr }),
            RawExtern::Global(addr) => Extern::Global(Global { store, addr }),
        }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        match self {
            Extern::Func(Func { store, .. })
            | Extern::Table(Table { store, .. })
            | Extern::Memory(Memory { store, .. })
            | Extern::Global(Global { store, .. }) => *store,
        }
    }

    pub(crate) fn to_raw(self) -> RawExtern {
        match self {
            Extern::Func(f) => RawExtern::Func(f.addr),
            Extern::Table(t) => RawExtern::Table(t.addr),
            Extern::Memory(m) => RawExtern::Memory(m.addr),
            Extern::Global(g) => RawExtern::Global(g.addr),
        }
    }

    /// Its type, read from `store`.
    pub fn ty<T: 'static>(&self, store: &Store<T>) -> Result<ExternType, Error> {
        Ok(match self {
            Extern::Func(f) => ExternType::Func(f.ty(store)?),
            Extern::Table(t) => t.ty(store)?,
            Extern::Memory(m) => ExternType::Memory(m.limits(store)?),
            Extern::Global(g) => g.ty(store)?,
        })
    }
}

/// An instance of a module in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) id: u32,
}

impl Instance {
    /// The export `name`, if the instance has one.
    pub fn get_export<T: 'static>(&self, store: &Store<T>, name: &str) -> Option<Extern> {
        store.check(self.store, "instance").ok()?;
        let raw = store.raw.export(self.id, name)?;
        Some(Extern::from_raw(self.store, raw))
    }

    /// Every export of the instance, in the module's order.
    pub fn exports<T: 'static>(&self, store: &Store<T>) -> Result<Vec<(String, Extern)>, Error> {
        store.check(self.store, "instance")?;
        let inst = &store.raw.instances[self.id as usize];
        Ok(inst
            .image
            .module()
            .exports
            .iter()
            .map(|e| {
                let item = Extern::from_raw(self.store, inst.extern_of(e));
                (e.name.to_string(), item)
            })
            .collect())
    }

    fn export_of<T: 'static, X>(
        &self,
        store: &Store<T>,
        name: &str,
        kind: &str,
        pick: impl FnOnce(Extern) -> Option<X>,
    ) -> Result<X, Error> {
        store.check(self.store, "instance")?;
        match self.get_export(store, name) {
            Some(export) => pick(export).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("export `{name}` is not a {kind}"),
                )
            }),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("no export named `{name}`"),
            )),
        }
    }

    /// The exported function `name`.
    pub fn get_func<T: 'static>(&self, store: &Store<T>, name: &str) -> Result<Func, Error> {
        self.export_of(store, name, "function", |e| match e {
            Extern::Func(f) => Some(f),
            _ => None,
        })
    }

    /// The exported function `name` with its signature checked against `Params -> Results`.
    pub fn get_typed_func<Params, Results, T: 'static>(
        &self,
        store: &Store<T>,
        name: &str,
    ) -> Result<super::TypedFunc<Params, Results>, Error>
    where
        Params: super::WasmParams,
        Results: super::WasmResults,
    {
        self.get_func(store, name)?.typed(store)
    }

    /// The exported memory `name`.
    pub fn get_memory<T: 'static>(&self, store: &Store<T>, name: &str) -> Result<Memory, Error> {
        self.export_of(store, name, "memory", |e| match e {
            Extern::Memory(m) => Some(m),
            _ => None,
        })
    }

    /// The exported global `name`.
    pub fn get_global<T: 'static>(&self, store: &Store<T>, name: &str) -> Result<Global, Error> {
        self.export_of(store, name, "global", |e| match e {
            Extern::Global(g) => Some(g),
            _ => None,
        })
    }

    /// The exported table `name`.
    pub fn get_table<T: 'static>(&self, store: &Store<T>, name: &str) -> Result<Table, Error> {
        self.export_of(store, name, "table", |e| match e {
            Extern::Table(t) => Some(t),
            _ => None,
        })
    }
}

/// A linear memory of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) addr: u32,
}

fn out_of_bounds(offset: usize, len: usize, size: usize) -> Error {
    Error::new(
        ErrorKind::Trap,
        format!("out of bounds memory access: {len} bytes at {offset} of a {size}-byte memory"),
    )
}

impl Memory {
    fn raw<'s, T: 'static>(&self, store: &'s Store<T>) -> Result<&'s crate::store::Memory, Error> {
        store.check(self.store, "memory")?;
        Ok(&store.raw.memories[self.addr as usize])
    }

    fn raw_mut<'s, T: 'static>(
        &self,
        store: &'s mut Store<T>,
    ) -> Result<&'s mut crate::store::Memory, Error> {
        store.check(self.store, "memory")?;
        Ok(&mut store.raw.memories[self.addr as usize])
    }

    /// The memory's bytes.
    pub fn data<'s, T: 'static>(&self, store: &'s Store<T>) -> Result<&'s [u8], Error> {
        Ok(self.raw(store)?.bytes())
    }

    /// The memory's bytes, to write.
    pub fn data_mut<'s, T: 'static>(&self, store: &'s mut Store<T>) -> Result<&'s mut [u8], Error> {
        Ok(self.raw_mut(store)?.bytes_mut())
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`.
    pub fn read<T: 'static>(
        &self,
        store: &Store<T>,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        let bytes = self.data(store)?;
        let src = offset
            .checked_add(buf.len())
            .and_then(|end| bytes.get(offset..end))
            .ok_or_else(|| out_of_bounds(offset, buf.len(), bytes.len()))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copies `buf` into the memory at `offset`.
    pub fn write<T: 'static>(
        &self,
        store: &mut Store<T>,
        offset: usize,
        buf: &[u8],
    ) -> Result<(), Error> {
        let bytes = self.data_mut(store)?;
        let size = bytes.len();
        let dst = offset
            .checked_add(buf.len())
            .and_then(|end| bytes.get_mut(offset..end))
            .ok_or_else(|| out_of_bounds(offset, buf.len(), size))?;
        dst.copy_from_slice(buf);
        Ok(())
    }

    /// Size in 64 KiB pages.
    pub fn size<T: 'static>(&self, store: &Store<T>) -> Result<u32, Error> {
        Ok(self.raw(store)?.pages())
    }

    /// Grows the memory by `delta` pages (zeroed); returns the old size in pages. Growing past
    /// the maximum, or when the host has no memory to give, is an error and changes nothing.
    pub fn grow<T: 'static>(&self, store: &mut Store<T>, delta: u32) -> Result<u32, Error> {
        self.raw_mut(store)?.grow(delta).ok_or_else(|| {
            Error::new(
                ErrorKind::Trap,
                format!("cannot grow the memory by {delta} pages"),
            )
        })
    }

    /// Its limits: the current size in pages as the minimum, and the maximum.
    pub fn limits<T: 'static>(&self, store: &Store<T>) -> Result<Limits, Error> {
        let memory = self.raw(store)?;
        Ok(Limits {
            min: memory.pages(),
            max: memory.max_pages,
        })
    }
}

/// A global variable of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) addr: u32,
}

impl Global {
    /// Its value.
    pub fn get<T: 'static>(&self, store: &Store<T>) -> Result<Val, Error> {
        store.check(self.store, "global")?;
        Ok(store.raw.global_value(self.addr))
    }

    /// Sets its value; the global must be mutable and `value` of its type (a function
    /// reference must be one of this store's functions).
    pub fn set<T: 'static>(&self, store: &mut Store<T>, value: Val) -> Result<(), Error> {
        store.check(self.store, "global")?;
        super::func::check_ref(store, &value)?;
        let global = &mut store.raw.globals[self.addr as usize];
        if !global.ty.mutable {
            return Err(Error::new(
                ErrorKind::Type,
                "the global is immutable".to_string(),
            ));
        }
        if value.ty() != global.ty.ty {
            return Err(Error::new(
                ErrorKind::Type,
                format!(
                    "a {} value for a global of type {}",
                    ValType::from_raw(value.ty()),
                    ValType::from_raw(global.ty.ty)
                ),
            ));
        }
        global.value = value.to_slot();
        Ok(())
    }

    /// Its type.
    pub fn ty<T: 'static>(&self, store: &Store<T>) -> Result<ExternType, Error> {
        store.check(self.store, "global")?;
        let ty = store.raw.globals[self.addr as usize].ty;
        Ok(ExternType::Global {
            ty: ValType::from_raw(ty.ty),
            mutable: ty.mutable,
        })
    }
}

/// A table of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) addr: u32,
}

impl Table {
    fn raw<'s, T: 'static>(&self, store: &'s Store<T>) -> Result<&'s crate::store::Table, Error> {
        store.check(self.store, "table")?;
        Ok(&store.raw.tables[self.addr as usize])
    }

    /// Number of elements.
    pub fn size<T: 'static>(&self, store: &Store<T>) -> Result<u32, Error> {
        Ok(self.raw(store)?.elems().len() as u32)
    }

    /// Element `index`, if it is inside the table.
    pub fn get<T: 'static>(&self, store: &Store<T>, index: u32) -> Result<Option<Val>, Error> {
        let table = self.raw(store)?;
        Ok(table
            .elems()
            .get(index as usize)
            .map(|&slot| Val::from_slot(table.ty().elem, slot)))
    }

    /// Its type (the current size as the minimum).
    pub fn ty<T: 'static>(&self, store: &Store<T>) -> Result<ExternType, Error> {
        let table = self.raw(store)?;
        Ok(ExternType::Table {
            elem: ValType::from_raw(table.ty().elem),
            limits: Limits {
                min: table.elems().len() as u32,
                max: table.ty().max,
            },
        })
    }
}

impl Func {
    /// Its type.
    pub fn ty<T: 'static>(&self, store: &Store<T>) -> Result<FuncType, Error> {
        store.check(self.store, "function")?;
        Ok(FuncType::from_raw(store.raw.func_type(self.addr)))
    }
}
