//! Functions: calling them (untyped with [`Val`]s, or typed with Rust values) and defining host
//! functions from Rust closures.

use std::marker::PhantomData;
use std::rc::Rc;

use super::error::{Error, ErrorKind};
use super::store::{Store, StoreId};
use super::types::{FuncType, ValType};
use crate::store::{Caller as RawCaller, HostFn, HostNote};
use crate::trap::Trap;
use crate::value::Val;

/// A function of a store: exported by an instance, or a host function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) addr: u32,
}

/// What a host function may touch while it runs: the store's data and the calling instance's
/// memory 0 (as WASI needs it).
pub struct Caller<'a, T> {
    data: &'a mut T,
    memory: Option<&'a mut crate::store::Memory>,
    note: Option<&'a mut Option<HostNote>>,
    instructions: Option<u64>,
}

impl<T> Caller<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        self.data
    }

    /// The store's data, to change.
    pub fn data_mut(&mut self) -> &mut T {
        self.data
    }

    /// The calling instance's memory 0, if it has one.
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        Some(self.memory.as_deref_mut()?.bytes_mut())
    }

    /// The instructions the store has executed so far, if it counts them (it has a meter,
    /// [`crate::meter::set_store_meter`]).
    pub fn instructions(&self) -> Option<u64> {
        self.instructions
    }

    /// Whether calls are being traced: then [`Caller::note`] is worth calling.
    pub fn traced(&self) -> bool {
        self.note.is_some()
    }

    /// Describes this call for the trace (the slice's name, arguments and errno); nothing
    /// happens unless calls are traced.
    pub fn note(&mut self, note: HostNote) {
        if let Some(slot) = self.note.as_deref_mut() {
            *slot = Some(note);
        }
    }
}

/// A function reference in `value` must name a function of `store` (one from another store, or
/// made up, would call something else or nothing).
pub(crate) fn check_ref<T: 'static>(store: &Store<T>, value: &Val) -> Result<(), Error> {
    match value {
        Val::FuncRef(Some(addr)) if *addr as usize >= store.raw.funcs.len() => Err(Error::new(
            ErrorKind::Type,
            format!("funcref({addr}) is not a function of this store"),
        )),
        _ => Ok(()),
    }
}

impl Func {
    /// A host function of `store` from a closure; its type comes from the closure's.
    pub fn wrap<T: 'static, Params, Results>(
        store: &mut Store<T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, host) = func.into_func();
        Func::from_host(store, ty, host)
    }

    /// A host function of `store` of type `ty` that takes and gives [`Val`]s.
    pub fn new<T: 'static>(
        store: &mut Store<T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Error> + 'static,
    ) -> Func {
        let host = dynamic(&ty, func);
        Func::from_host(store, ty, host)
    }

    pub(crate) fn from_host<T: 'static>(store: &mut Store<T>, ty: FuncType, host: Host<T>) -> Func {
        let addr = store.raw.add_host_func(ty.to_raw(), erase(host));
        Func {
            store: store.id,
            addr,
        }
    }

    /// Calls the function with `params`; writes its results into `results`. Arguments must
    /// match its parameter types and `results` must have one place per result.
    pub fn call<T: 'static>(
        &self,
        store: &mut Store<T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), Error> {
        store.check(self.store, "function")?;
        let ty = self.ty(store)?;
        let types_match = params.len() == ty.params().len()
            && params
                .iter()
                .zip(ty.params())
                .all(|(v, t)| v.ty() == t.code());
        if !types_match || results.len() != ty.results().len() {
            let given: Vec<String> = params
                .iter()
                .map(|v| ValType::from_raw(v.ty()).to_string())
                .collect();
            return Err(Error::new(
                ErrorKind::Type,
                format!(
                    "a function of type {ty} called with ({}) and {} result places",
                    given.join(" "),
                    results.len()
                ),
            ));
        }
        for value in params {
            check_ref(store, value)?;
        }
        let args: Vec<u64> = params.iter().map(|v| v.to_slot()).collect();
        let out = store.raw.call_slots(self.addr, &args)?;
        for ((place, slot), t) in results.iter_mut().zip(out).zip(ty.results()) {
            *place = Val::from_slot(t.code(), slot);
        }
        Ok(())
    }

    /// Verifies the function's code now, if the engine verifies lazily and it has not run yet
    /// (an image's invalid code is then reported before anything runs); host functions and
    /// verified code pass at once.
    pub fn verify<T: 'static>(&self, store: &Store<T>) -> Result<(), Error> {
        store.check(self.store, "function")?;
        Ok(store.raw.ensure_verified(self.addr)?)
    }

    /// The function as a [`TypedFunc`], if its type is `Params -> Results`.
    pub fn typed<Params, Results, T: 'static>(
        &self,
        store: &Store<T>,
    ) -> Result<TypedFunc<Params, Results>, Error>
    where
        Params: WasmParams,
        Results: WasmResults,
    {
        let ty = self.ty(store)?;
        let want = FuncType::new(Params::types(), Results::types());
        if ty != want {
            return Err(Error::new(
                ErrorKind::Type,
                format!("the function has type {ty}, not {want}"),
            ));
        }
        Ok(TypedFunc {
            func: *self,
            _types: PhantomData,
        })
    }
}

/// A function whose signature was checked once, called with Rust values:
/// `TypedFunc<(i32, i64), f64>` takes `(i32, i64)` and returns `f64`.
pub struct TypedFunc<Params, Results> {
    func: Func,
    _types: PhantomData<fn(Params) -> Results>,
}

impl<Params, Results> Clone for TypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Params, Results> Copy for TypedFunc<Params, Results> {}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    /// The function, untyped.
    pub fn func(&self) -> Func {
        self.func
    }

    /// Calls the function in `store` (its own: another store's is
    /// [`ErrorKind::WrongStore`]); a trap is the error [`ErrorKind::Trap`].
    pub fn call<T: 'static>(&self, store: &mut Store<T>, params: Params) -> Result<Results, Error> {
        store.check(self.func.store, "function")?;
        let mut args = [0u64; 16];
        let n = Params::types().len();
        let mut args_vec;
        let args: &mut [u64] = if n <= args.len() {
            &mut args[..n]
        } else {
            args_vec = vec![0u64; n];
            &mut args_vec
        };
        params.store(args);
        let out = store.raw.call_slots(self.func.addr, args)?;
        Ok(Results::load(&out))
    }
}

/// A Rust type that is one Wasm value: `i32`, `u32` (as i32), `i64`, `u64` (as i64), `f32` and
/// `f64`.
pub trait WasmTy: Sized + 'static {
    /// The Wasm type of the Rust type.
    const TYPE: ValType;
    #[doc(hidden)]
    fn to_slot(self) -> u64;
    #[doc(hidden)]
    fn from_slot(slot: u64) -> Self;
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, |$v:ident| $to:expr, |$s:ident| $from:expr;)*) => {$(
        impl WasmTy for $t {
            const TYPE: ValType = ValType::$vt;
            fn to_slot(self) -> u64 {
                let $v = self;
                $to
            }
            fn from_slot($s: u64) -> Self {
                $from
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, |v| v as u32 as u64, |s| s as u32 as i32;
    u32 => I32, |v| v as u64, |s| s as u32;
    i64 => I64, |v| v as u64, |s| s as i64;
    u64 => I64, |v| v, |s| s;
    f32 => F32, |v| v.to_bits() as u64, |s| f32::from_bits(s as u32);
    f64 => F64, |v| v.to_bits(), |s| f64::from_bits(s);
}

/// Parameters of a typed call or host function: `()`, one [`WasmTy`], or a tuple of them.
pub trait WasmParams: Sized + 'static {
    #[doc(hidden)]
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn store(self, slots: &mut [u64]);
    #[doc(hidden)]
    fn load(slots: &[u64]) -> Self;
}

/// Results of a typed call or host function: `()`, one [`WasmTy`], or a tuple of them.
pub trait WasmResults: WasmParams {}

impl<P: WasmParams> WasmResults for P {}

impl<A: WasmTy> WasmParams for A {
    fn types() -> Vec<ValType> {
        vec![A::TYPE]
    }
    fn store(self, slots: &mut [u64]) {
        slots[0] = self.to_slot();
    }
    fn load(slots: &[u64]) -> Self {
        A::from_slot(slots[0])
    }
}

macro_rules! wasm_params {
    ($($n:tt $t:ident),*) => {
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[allow(unused_variables)]
            fn store(self, slots: &mut [u64]) {
                $(slots[$n] = self.$n.to_slot();)*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn load(slots: &[u64]) -> Self {
                ($($t::from_slot(slots[$n]),)*)
            }
        }
    };
}

wasm_params!();
wasm_params!(0 A);
wasm_params!(0 A, 1 B);
wasm_params!(0 A, 1 B, 2 C);
wasm_params!(0 A, 1 B, 2 C, 3 D);
wasm_params!(0 A, 1 B, 2 C, 3 D, 4 E);
wasm_params!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
wasm_params!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
wasm_params!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// What a host closure returns: its results, or `Result` of them with [`Error`] (an error
/// stops the guest with a trap; see [`Error::host`]).
pub trait HostResult: 'static {
    #[doc(hidden)]
    type Results: WasmResults;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Results, Error>;
}

impl<R: WasmResults> HostResult for R {
    type Results = R;
    fn into_result(self) -> Result<R, Error> {
        Ok(self)
    }
}

impl<R: WasmResults> HostResult for Result<R, Error> {
    type Results = R;
    fn into_result(self) -> Result<R, Error> {
        self
    }
}

/// A host function before it is bound to a store: it gets the store's data as `T`.
pub(crate) type Host<T> = Rc<dyn Fn(Caller<'_, T>, &[u64], &mut [u64]) -> Result<(), Trap>>;

/// A Rust closure usable as a host function: `Fn(Caller<'_, T>, A, B, ...) -> R` where each
/// parameter is a [`WasmTy`] and `R` a [`HostResult`].
pub trait IntoFunc<T, Params, Results>: 'static {
    #[doc(hidden)]
    fn into_func(self) -> (FuncType, Host<T>);
}

macro_rules! into_func {
    ($($t:ident),*) => {
        impl<T: 'static, Fun, Ret, $($t: WasmTy),*> IntoFunc<T, ($($t,)*), Ret> for Fun
        where
            Fun: Fn(Caller<'_, T>, $($t),*) -> Ret + 'static,
            Ret: HostResult,
        {
            #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments)]
            fn into_func(self) -> (FuncType, Host<T>) {
                let ty = FuncType::new(<($($t,)*) as WasmParams>::types(), Ret::Results::types());
                let host: Host<T> = Rc::new(move |caller, params, results| {
                    let mut i = 0;
                    $(let $t = $t::from_slot(params[i]); i += 1;)*
                    let out = self(caller, $($t),*).into_result().map_err(Error::into_guest_trap)?;
                    out.store(results);
                    Ok(())
                });
                (ty, host)
            }
        }
    };
}

into_func!();
into_func!(A);
into_func!(A, B);
into_func!(A, B, C);
into_func!(A, B, C, D);
into_func!(A, B, C, D, E);
into_func!(A, B, C, D, E, F);
into_func!(A, B, C, D, E, F, G);
into_func!(A, B, C, D, E, F, G, H);

/// A host function of type `ty` over [`Val`]s.
pub(crate) fn dynamic<T: 'static>(
    ty: &FuncType,
    func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Error> + 'static,
) -> Host<T> {
    let ty = ty.clone();
    Rc::new(move |caller, params, results| {
        let args: Vec<Val> = params
            .iter()
            .zip(ty.params())
            .map(|(&slot, t)| Val::from_slot(t.code(), slot))
            .collect();
        let mut out: Vec<Val> = ty.results().iter().map(|t| zero(*t)).collect();
        func(caller, &args, &mut out).map_err(Error::into_guest_trap)?;
        for ((slot, value), t) in results.iter_mut().zip(&out).zip(ty.results()) {
            if value.ty() != t.code() {
                return Err(Trap::new(crate::TrapKind::Host(format!(
                    "a host function of type {ty} returned a {} value for a {t} result",
                    ValType::from_raw(value.ty())
                ))));
            }
            *slot = value.to_slot();
        }
        Ok(())
    })
}

/// The zero value of type `t` (null for references).
fn zero(t: ValType) -> Val {
    match t {
        ValType::I32 => Val::I32(0),
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        ValType::FuncRef => Val::FuncRef(None),
        ValType::ExternRef => Val::ExternRef(None),
    }
}

/// The raw layer's host function for `host`: finds the store's data as `T`.
pub(crate) fn erase<T: 'static>(host: Host<T>) -> HostFn {
    Rc::new(
        move |raw: &mut RawCaller<'_>, params: &[u64], results: &mut [u64]| {
            // A host function of a `Store<T>` always finds a `T` there (see `Store::new`); a raw
            // function copied to a store of other data fails cleanly instead.
            let Some(data) = raw.data.downcast_mut::<T>() else {
                return Err(Trap::new(crate::TrapKind::Host(
                    "host function called from a store of another data type".into(),
                )));
            };
            let caller = Caller {
                data,
                memory: raw.memory.as_deref_mut(),
                note: raw.note.as_deref_mut(),
                instructions: raw.instructions,
            };
            host(caller, params, results)
        },
    )
}
