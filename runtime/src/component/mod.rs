//! WebAssembly components (WASI preview 2 command components) over preview 1: loading a
//! component image, linking its core instances, the canonical ABI and the preview-2 host.
//!
//! A component image ([`chiwawa_format::component`]) holds the component's core modules as
//! module images and a link table. [`ComponentImage::load`] checks the table ([`verify`]) and
//! every module image as any image is checked; [`ComponentImage::instantiate`] makes the core
//! instances in table order in one store, binding each import to an earlier instance's export
//! or to a host function of [`wasip2::Host`], whose types it checks against the component's
//! first; the `run` export is then an ordinary function of the store.

pub mod abi;
pub mod value;
pub mod wasip2;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use chiwawa_format::component::{
    read_component_image, CanonPart, Component, FuncSig, HostKind, Item, ValType,
};
use chiwawa_format::valtype;

use crate::api::{Error, ErrorKind, Extern, Func, Linker, Module, Store};
use crate::trap::{Trap, TrapKind};
use crate::{HostNote, LoadError, VerifyMode};
use value::Value;

pub use chiwawa_format::component::is_component_image;

/// A checked component image: its link table and its modules, each checked as an image.
pub struct ComponentImage {
    component: Rc<Component>,
    modules: Vec<Module>,
}

/// Why a component image's link table is refused.
fn bad(message: impl Into<String>) -> LoadError {
    LoadError::Image(chiwawa_format::ImageError::Archive(format!(
        "component link table: {}",
        message.into()
    )))
}

/// Checks the link table: every index in range and pointing back (types to smaller types,
/// instances to earlier instances), every binding of the kind its place needs.
pub fn verify(c: &Component) -> Result<(), LoadError> {
    let ntypes = c.types.len() as u32;
    let nres = c.resources.len() as u32;
    for (i, t) in c.types.iter().enumerate() {
        let i = i as u32;
        let child = |t: u32| {
            if t < i {
                Ok(())
            } else {
                Err(bad(format!(
                    "type {i} refers to type {t}, not an earlier one"
                )))
            }
        };
        match t {
            ValType::List(t) | ValType::Option(t) => child(*t)?,
            ValType::Record(fields) => fields.iter().try_for_each(|f| child(f.ty))?,
            ValType::Tuple(ts) => ts.iter().try_for_each(|t| child(*t))?,
            ValType::Variant(cases) => cases.iter().filter_map(|c| c.ty).try_for_each(child)?,
            ValType::Result { ok, err } => ok.iter().chain(err).try_for_each(|t| child(*t))?,
            ValType::Flags(names) if names.len() > 32 => {
                return Err(bad(format!(
                    "type {i} has {} flags (at most 32)",
                    names.len()
                )))
            }
            ValType::Own(r) | ValType::Borrow(r) if *r >= nres => {
                return Err(bad(format!(
                    "type {i} is a handle of resource {r}, of {nres}"
                )))
            }
            _ => {}
        }
    }
    for (i, f) in c.imports.iter().enumerate() {
        match &f.kind {
            HostKind::Lower { sig, .. } => {
                for t in sig.params.iter().chain(&sig.result) {
                    if *t >= ntypes {
                        return Err(bad(format!("import {i} has type {t}, of {ntypes}")));
                    }
                }
            }
            HostKind::ResourceDrop { resource } if *resource >= nres => {
                return Err(bad(format!(
                    "import {i} drops resource {resource}, of {nres}"
                )))
            }
            HostKind::ResourceDrop { .. } => {}
        }
    }
    for (i, inst) in c.instances.iter().enumerate() {
        if inst.module as usize >= c.modules.len() {
            return Err(bad(format!("instance {i} is of module {}", inst.module)));
        }
        for arg in &inst.args {
            let ok = match &arg.item {
                Item::Export { instance, .. } => (*instance as usize) < i,
                Item::Host { func } => matches!(
                    c.imports.get(*func as usize).map(|f| &f.kind),
                    Some(HostKind::Lower { adapter: false, .. } | HostKind::ResourceDrop { .. })
                ),
                Item::Canon { func, part } => {
                    match c.imports.get(*func as usize).map(|f| &f.kind) {
                        Some(HostKind::Lower {
                            adapter: true,
                            realloc,
                            ..
                        }) => *realloc || matches!(part, CanonPart::Call | CanonPart::Finish),
                        _ => false,
                    }
                }
            };
            if !ok {
                return Err(bad(format!(
                    "instance {i}'s import `{}::{}` is bound to {:?}, which it cannot be",
                    arg.module, arg.name, arg.item
                )));
            }
        }
    }
    match &c.run {
        Some(run) if (run.instance as usize) < c.instances.len() => Ok(()),
        Some(run) => Err(bad(format!("run is in instance {}", run.instance))),
        None => Err(bad("no run function")),
    }
}

/// `wasi:io/streams@0.2.6` without its version (`wasi:io/streams`), if the version is a 0.2
/// one; the interface as given when it has none.
fn unversioned(interface: &str) -> Result<&str, String> {
    match interface.split_once('@') {
        None => Ok(interface),
        Some((name, version)) if version.starts_with("0.2.") => Ok(name),
        Some((_, version)) => Err(format!(
            "`{interface}`: version {version} (chiwawa implements WASI 0.2.x)"
        )),
    }
}

/// The state of an adapter's call between its steps ([`CanonPart`]).
#[derive(Default)]
struct Pending {
    func: u32,
    result: Option<Value>,
    retptr: Option<u32>,
    plan: Vec<(u32, u32)>,
    next: usize,
    ptrs: Vec<u32>,
}

fn host_trap(message: impl Into<String>) -> Trap {
    Trap::new(TrapKind::Host(message.into()))
}

impl ComponentImage {
    /// Checks component image `bytes`: header, checksum, archive, link table, then each module
    /// image (function code now or on first entry, by `mode`).
    pub fn load(bytes: &[u8], mode: VerifyMode) -> Result<ComponentImage, LoadError> {
        let component = read_component_image(bytes).map_err(LoadError::Image)?;
        verify(&component)?;
        let modules = component
            .modules
            .iter()
            .map(|m| crate::load_image(m, mode).map(Module::from_checked))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ComponentImage {
            component: Rc::new(component),
            modules,
        })
    }

    /// The component's link table.
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// The index in [`ComponentImage::modules`] of the module whose instance exports `run`
    /// (the program).
    pub fn main_module(&self) -> usize {
        let c = &*self.component;
        let run = c
            .run
            .as_ref()
            .expect("verified: the image has a run function");
        c.instances[run.instance as usize].module as usize
    }

    /// The modules' checked images.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Checks that `host` implements every function and resource the component imports, with
    /// the component's types: the first that is missing or differs is the error.
    pub fn check_imports(&self) -> Result<(), Error> {
        let c = &*self.component;
        let link = |m: String| Error::new(ErrorKind::Link, m);
        for f in &c.imports {
            let interface = unversioned(&f.interface).map_err(link)?;
            match &f.kind {
                HostKind::Lower { sig, .. } => {
                    let theirs = abi::render_sig(&c.types, &c.resources, sig);
                    match wasip2::Host::signature(interface, &f.name) {
                        None => {
                            return Err(link(format!(
                                "the component imports `{}` from `{}`, which chiwawa does not \
                                 implement (wasi:sockets and wasi:http are not supported yet)",
                                f.name, f.interface
                            )))
                        }
                        Some(ours) if ours != theirs => {
                            return Err(link(format!(
                                "the component imports `{}` from `{}` as `{theirs}`; chiwawa \
                                 implements `{ours}`",
                                f.name, f.interface
                            )))
                        }
                        Some(_) => {}
                    }
                }
                HostKind::ResourceDrop { resource } => {
                    let r = &c.resources[*resource as usize];
                    let ri = unversioned(&r.interface).map_err(link)?;
                    if !wasip2::Host::has_resource(ri, &r.name) {
                        return Err(link(format!(
                            "the component uses resource `{}` of `{}`, which chiwawa does not \
                             implement",
                            r.name, r.interface
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Makes the component's core instances in `store`, their host imports served by `host`;
    /// returns the `run` function and its post-return function, if any.
    pub fn instantiate<T: 'static>(
        &self,
        store: &mut Store<T>,
        host: &Rc<RefCell<wasip2::Host>>,
    ) -> Result<(Func, Option<Func>), Error> {
        self.check_imports()?;
        let c = &self.component;
        let pending: Rc<RefCell<Pending>> = Rc::default();
        let mut direct: BTreeMap<u32, Func> = BTreeMap::new();
        let mut canon: BTreeMap<(u32, u8), Func> = BTreeMap::new();
        let mut instances = Vec::with_capacity(c.instances.len());
        for inst in &c.instances {
            let mut linker: Linker<T> = Linker::new();
            for arg in &inst.args {
                let item = match &arg.item {
                    Item::Export { instance, name } => {
                        let from: &crate::api::Instance = &instances[*instance as usize];
                        from.get_export(store, name).ok_or_else(|| {
                            Error::new(
                                ErrorKind::Link,
                                format!(
                                    "core instance {instance} has no export `{name}` for \
                                     `{}::{}`",
                                    arg.module, arg.name
                                ),
                            )
                        })?
                    }
                    Item::Host { func } => {
                        let f = match direct.get(func) {
                            Some(f) => *f,
                            None => {
                                let f = self.direct_func(store, host, *func);
                                direct.insert(*func, f);
                                f
                            }
                        };
                        Extern::Func(f)
                    }
                    Item::Canon { func, part } => {
                        let key = (*func, *part as u8);
                        let f = match canon.get(&key) {
                            Some(f) => *f,
                            None => {
                                let f = self.canon_func(store, host, &pending, *func, *part);
                                canon.insert(key, f);
                                f
                            }
                        };
                        Extern::Func(f)
                    }
                };
                linker.define(&arg.module, &arg.name, item)?;
            }
            let made = linker.instantiate(store, &self.modules[inst.module as usize])?;
            instances.push(made);
        }
        let run = c
            .run
            .as_ref()
            .expect("verified: the image has a run function");
        let inst = &instances[run.instance as usize];
        let func = inst.get_func(store, &run.name)?;
        let post = match &run.post_return {
            Some(name) => Some(inst.get_func(store, name)?),
            None => None,
        };
        Ok((func, post))
    }

    /// A host function called directly from core code: a lowered function without memory, or
    /// a resource drop.
    fn direct_func<T: 'static>(
        &self,
        store: &mut Store<T>,
        host: &Rc<RefCell<wasip2::Host>>,
        func: u32,
    ) -> Func {
        let c = Rc::clone(&self.component);
        let host = Rc::clone(host);
        let f = &self.component.imports[func as usize];
        let ty = match &f.kind {
            HostKind::Lower { sig, .. } => abi::lower_signature(&c.types, sig),
            HostKind::ResourceDrop { .. } => chiwawa_format::FuncType {
                params: vec![valtype::I32],
                results: vec![],
            },
        };
        let interface = host_interface(f);
        let body: crate::api::Host<T> = Rc::new(
            move |mut caller: crate::Caller<'_, T>, params: &[u64], results: &mut [u64]| {
                let f = &c.imports[func as usize];
                match &f.kind {
                    HostKind::Lower { sig, .. } => {
                        let (result, retptr, note) = call_lowered(
                            &c,
                            &host,
                            &interface,
                            func,
                            params,
                            &[],
                            caller.instructions(),
                            caller.traced(),
                        )?;
                        if let Some(note) = note {
                            caller.note(note);
                        }
                        let flat = abi::lower_result(
                            &c.types,
                            sig,
                            result.as_ref(),
                            &[],
                            retptr,
                            &mut [],
                        )?;
                        results.copy_from_slice(&flat);
                        Ok(())
                    }
                    HostKind::ResourceDrop { resource } => {
                        let r = &c.resources[*resource as usize];
                        if caller.traced() {
                            let handle = [Value::Own(params[0] as u32)];
                            caller.note(HostNote {
                                name: f.name.clone(),
                                call: wasip2::call_line(&interface, &f.name, &handle),
                                errno: None,
                            });
                        }
                        host.borrow_mut().drop_resource(
                            &interface,
                            &r.name,
                            params[0] as u32,
                            caller.instructions(),
                        )
                    }
                }
            },
        );
        Func::from_host(store, crate::api::FuncType::from_raw(&ty), body)
    }

    /// Step `part` of the adapter's call of lowered function `func`.
    fn canon_func<T: 'static>(
        &self,
        store: &mut Store<T>,
        host: &Rc<RefCell<wasip2::Host>>,
        pending: &Rc<RefCell<Pending>>,
        func: u32,
        part: CanonPart,
    ) -> Func {
        let c = Rc::clone(&self.component);
        let host = Rc::clone(host);
        let pending = Rc::clone(pending);
        let HostKind::Lower { sig, realloc, .. } = &c.imports[func as usize].kind else {
            unreachable!("verified: an adapter's function is a lowered one")
        };
        let (sig, realloc) = (sig.clone(), *realloc);
        let flat = abi::lower_signature(&c.types, &sig);
        let ty = match part {
            CanonPart::Call => chiwawa_format::FuncType {
                params: flat.params.clone(),
                results: vec![],
            },
            CanonPart::Need => chiwawa_format::FuncType {
                params: vec![],
                results: vec![valtype::I64],
            },
            CanonPart::Give => chiwawa_format::FuncType {
                params: vec![valtype::I32],
                results: vec![],
            },
            CanonPart::Finish => chiwawa_format::FuncType {
                params: vec![],
                results: flat.results.clone(),
            },
        };
        let interface = host_interface(&c.imports[func as usize]);
        let body: crate::api::Host<T> = Rc::new(
            move |mut caller: crate::Caller<'_, T>, params: &[u64], results: &mut [u64]| {
                let f = &c.imports[func as usize];
                let mut p = pending.borrow_mut();
                match part {
                    CanonPart::Call => {
                        let (instructions, traced) = (caller.instructions(), caller.traced());
                        let memory = caller.memory().ok_or_else(|| host_trap("no memory"))?;
                        let (result, retptr, note) = call_lowered(
                            &c,
                            &host,
                            &interface,
                            func,
                            params,
                            memory,
                            instructions,
                            traced,
                        )?;
                        if let Some(note) = note {
                            caller.note(note);
                        }
                        let plan = match (&result, sig.result) {
                            (Some(v), Some(ty)) => abi::plan_allocations(&c.types, ty, v)?,
                            _ => Vec::new(),
                        };
                        if !plan.is_empty() && !realloc {
                            return Err(host_trap(format!(
                                "canonical ABI: `{}`'s result needs memory allocated, and it \
                                 was lowered without `realloc`",
                                f.name
                            )));
                        }
                        *p = Pending {
                            func,
                            result,
                            retptr,
                            plan,
                            next: 0,
                            ptrs: Vec::new(),
                        };
                    }
                    CanonPart::Need => {
                        results[0] = match p.plan.get(p.next) {
                            Some(&(align, size)) => {
                                p.next += 1;
                                (u64::from(align) << 32) | u64::from(size)
                            }
                            None => u64::MAX,
                        };
                    }
                    CanonPart::Give => {
                        if p.ptrs.len() >= p.plan.len() {
                            return Err(host_trap("canonical ABI: an allocation not asked for"));
                        }
                        p.ptrs.push(params[0] as u32);
                    }
                    CanonPart::Finish => {
                        if p.func != func || p.ptrs.len() != p.plan.len() {
                            return Err(host_trap("canonical ABI: adapter steps out of order"));
                        }
                        let memory = caller.memory().ok_or_else(|| host_trap("no memory"))?;
                        let pending = std::mem::take(&mut *p);
                        let flat = abi::lower_result(
                            &c.types,
                            &sig,
                            pending.result.as_ref(),
                            &pending.ptrs,
                            pending.retptr,
                            memory,
                        )?;
                        results.copy_from_slice(&flat);
                    }
                }
                Ok(())
            },
        );
        Func::from_host(store, crate::api::FuncType::from_raw(&ty), body)
    }
}

/// The interface the host serves import `f` from: a lowered function's, or for a resource drop
/// the interface that defines the resource; without its version (checked by
/// [`ComponentImage::check_imports`] before any host function is made).
fn host_interface(f: &chiwawa_format::component::HostFunc) -> String {
    unversioned(&f.interface)
        .unwrap_or(&f.interface)
        .to_string()
}

/// What [`call_lowered`] gives: the host's result, the return pointer, the trace's note.
type Lowered = (Option<Value>, Option<u32>, Option<HostNote>);

/// Calls lowered import `func` (of `interface`) with the core `params` it was given, its
/// arguments lifted from `memory`: the host's result, checked against the function's type,
/// the return pointer the result goes to, if any, and the call described for the trace when
/// `traced`.
#[allow(clippy::too_many_arguments)] // the call's parts, taken apart from the caller
fn call_lowered(
    c: &Component,
    host: &RefCell<wasip2::Host>,
    interface: &str,
    func: u32,
    params: &[u64],
    memory: &[u8],
    instructions: Option<u64>,
    traced: bool,
) -> Result<Lowered, Trap> {
    let f = &c.imports[func as usize];
    let HostKind::Lower { sig, .. } = &f.kind else {
        return Err(host_trap(
            "canonical ABI: a resource drop called as a lowered function",
        ));
    };
    let (args, retptr) = abi::lift_args(&c.types, sig, params, memory)?;
    // The trace's description of the call, made before the call consumes the arguments.
    let note = traced.then(|| HostNote {
        name: f.name.clone(),
        call: wasip2::call_line(interface, &f.name, &args),
        errno: None,
    });
    let result = host
        .borrow_mut()
        .call(interface, &f.name, args, instructions)?;
    check_result(&c.types, sig, &f.name, result.as_ref())?;
    Ok((result, retptr, note))
}

/// The host's result must be of the function's result type (a host bug otherwise, refused as
/// a trap rather than lowered wrongly).
fn check_result(
    types: &[ValType],
    sig: &FuncSig,
    name: &str,
    result: Option<&Value>,
) -> Result<(), Trap> {
    match (sig.result, result) {
        (None, None) => Ok(()),
        (Some(ty), Some(v)) => abi::check_value(types, ty, v)
            .map_err(|e| host_trap(format!("chiwawa's `{name}` returned a wrong value: {e}"))),
        _ => Err(host_trap(format!(
            "chiwawa's `{name}` returned a result its type does not have, or none"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chiwawa_format::component::{Arg, CoreInstance, Field, HostFunc, Resource, Run};

    /// A well-formed table: two modules, an instance of each, the second bound to the first's
    /// export, a direct host function and an adapter's steps.
    fn good() -> Component {
        Component {
            modules: vec![Vec::new(), Vec::new()],
            types: vec![
                ValType::U8,
                ValType::List(0),
                ValType::Record(vec![Field {
                    name: "a".into(),
                    ty: 1,
                }]),
                ValType::Own(0),
            ],
            resources: vec![Resource {
                interface: "wasi:io/streams@0.2.6".into(),
                name: "output-stream".into(),
            }],
            imports: vec![
                HostFunc {
                    interface: "wasi:cli/stdout@0.2.6".into(),
                    name: "get-stdout".into(),
                    kind: HostKind::Lower {
                        sig: FuncSig {
                            params: vec![],
                            result: Some(3),
                        },
                        adapter: false,
                        realloc: false,
                    },
                },
                HostFunc {
                    interface: "x".into(),
                    name: "y".into(),
                    kind: HostKind::Lower {
                        sig: FuncSig {
                            params: vec![2],
                            result: None,
                        },
                        adapter: true,
                        realloc: false,
                    },
                },
            ],
            instances: vec![
                CoreInstance {
                    module: 0,
                    args: vec![Arg {
                        module: "m".into(),
                        name: "f".into(),
                        item: Item::Host { func: 0 },
                    }],
                },
                CoreInstance {
                    module: 1,
                    args: vec![
                        Arg {
                            module: "env".into(),
                            name: "memory".into(),
                            item: Item::Export {
                                instance: 0,
                                name: "memory".into(),
                            },
                        },
                        Arg {
                            module: "chiwawa:canon".into(),
                            name: "call".into(),
                            item: Item::Canon {
                                func: 1,
                                part: CanonPart::Call,
                            },
                        },
                    ],
                },
            ],
            run: Some(Run {
                instance: 1,
                name: "run".into(),
                post_return: None,
            }),
        }
    }

    fn refused(c: &Component, what: &str) {
        match verify(c) {
            Err(e) => assert!(e.to_string().contains(what), "{e} does not say {what}"),
            Ok(()) => panic!("a table with {what} passed"),
        }
    }

    #[test]
    fn the_link_table_is_checked() {
        verify(&good()).unwrap();
        let mut c = good();
        c.types[1] = ValType::List(1);
        refused(&c, "not an earlier one");
        let mut c = good();
        c.types[3] = ValType::Borrow(1);
        refused(&c, "handle of resource 1");
        let mut c = good();
        c.types[0] = ValType::Flags((0..33).map(|i| i.to_string()).collect());
        refused(&c, "33 flags");
        let mut c = good();
        if let HostKind::Lower { sig, .. } = &mut c.imports[0].kind {
            sig.result = Some(9);
        }
        refused(&c, "has type 9");
        let mut c = good();
        c.instances[0].module = 2;
        refused(&c, "is of module 2");
        // An instance bound to itself or a later one.
        let mut c = good();
        c.instances[1].args[0].item = Item::Export {
            instance: 1,
            name: "memory".into(),
        };
        refused(&c, "cannot be");
        // A direct binding of an adapter's function, an adapter step of a direct one, a
        // realloc step of a function lowered without realloc.
        for item in [
            Item::Host { func: 1 },
            Item::Canon {
                func: 0,
                part: CanonPart::Call,
            },
            Item::Canon {
                func: 1,
                part: CanonPart::Need,
            },
            Item::Host { func: 7 },
        ] {
            let mut c = good();
            c.instances[1].args[1].item = item.clone();
            refused(&c, "cannot be");
        }
        let mut c = good();
        c.run = None;
        refused(&c, "no run function");
        let mut c = good();
        c.run.as_mut().unwrap().instance = 2;
        refused(&c, "run is in instance 2");
    }

    #[test]
    fn interface_versions() {
        assert_eq!(unversioned("wasi:io/streams@0.2.6"), Ok("wasi:io/streams"));
        assert_eq!(unversioned("wasi:io/streams"), Ok("wasi:io/streams"));
        assert!(unversioned("wasi:io/streams@0.3.0")
            .unwrap_err()
            .contains("0.3.0"));
    }
}
