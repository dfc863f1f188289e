//! `Store<T>`: the guest state of the instances made in it, and the embedder's data.

use std::sync::atomic::{AtomicU64, Ordering};

use super::engine::Engine;
use super::error::Error;

/// Identifies a store, so that a handle used with another store is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// All guest state (memories, tables, globals, functions, instances) and the embedder's data
/// `T`, which host functions reach through their [`Caller`](super::Caller).
///
/// Handles ([`Instance`](super::Instance), [`Func`](super::Func), [`Memory`](super::Memory),
/// ...) are small copyable values that name something in one store; using one with another
/// store is the error [`ErrorKind::WrongStore`](super::ErrorKind::WrongStore).
///
/// Its guest state is reached only through handles and methods:
///
/// ```compile_fail
/// let engine = chiwawa_runtime::Engine::default();
/// let mut store = chiwawa_runtime::Store::new(&engine, ());
/// let _raw = &mut store.raw; // private: function entries point into the instances' images
/// ```
pub struct Store<T> {
    pub(crate) raw: crate::store::Store,
    pub(crate) id: StoreId,
    engine: Engine,
    _data: std::marker::PhantomData<fn() -> T>,
}

impl<T: 'static> Store<T> {
    /// An empty store of `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let mut raw = crate::store::Store::new();
        raw.max_stack_bytes = engine.max_stack_bytes();
        raw.data = Box::new(data);
        Store {
            raw,
            id: StoreId::fresh(),
            engine: engine.clone(),
            _data: std::marker::PhantomData,
        }
    }

    /// Bounds the interpreter's value and call stacks, in bytes: a deeper recursion traps
    /// with "call stack exhausted".
    pub fn set_max_stack_bytes(&mut self, bytes: usize) {
        self.raw.set_max_stack_bytes(bytes);
    }

    /// Makes the guest's `memory.grow` return -1 beyond `bytes` (`None`: the module's limits
    /// only), as wasmtime's memory limiter does.
    pub fn set_max_memory_bytes(&mut self, bytes: Option<u64>) {
        self.raw.set_max_memory_bytes(bytes);
    }

    /// The bytes of all the store's memories now (a memory never shrinks, so at the end of a
    /// run this is their high-water mark).
    pub fn memory_bytes(&self) -> u64 {
        self.raw.memories.iter().map(|m| m.len() as u64).sum()
    }

    /// The engine the store was made with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        data_of(&*self.raw.data)
    }

    /// The embedder's data, to change.
    pub fn data_mut(&mut self) -> &mut T {
        data_of_mut(&mut *self.raw.data)
    }

    /// Ends the store (all its guest state) and gives back the data.
    pub fn into_data(self) -> T {
        match self.raw.data.downcast::<T>() {
            Ok(data) => *data,
            Err(_) => unreachable!("a Store<T> holds a T"),
        }
    }

    /// Checks that a handle of store `id` belongs here.
    pub(crate) fn check(&self, id: StoreId, what: &str) -> Result<(), Error> {
        if id == self.id {
            Ok(())
        } else {
            Err(Error::wrong_store(what))
        }
    }
}

// `Store::new` is the only place data enters `raw.data`, and it stores a `T` in a `Store<T>`;
// nothing replaces it, so these downcasts cannot fail.
fn data_of<T: 'static>(data: &dyn std::any::Any) -> &T {
    data.downcast_ref::<T>().expect("a Store<T> holds a T")
}

fn data_of_mut<T: 'static>(data: &mut dyn std::any::Any) -> &mut T {
    data.downcast_mut::<T>().expect("a Store<T> holds a T")
}
