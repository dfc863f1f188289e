//! Components: a WebAssembly component (a WASI preview 2 command, as toolchains build them) is
//! evaluated statically, as a linker would, into its core modules, the order and arguments of
//! their instances, the host functions its core code calls (each `canon lower` with the
//! component type of the imported function, each `canon resource.drop`) and its `run`
//! export. Each core module is translated as any module is; a lowered function that needs a
//! memory gets a small generated adapter module (see [`adapter`]) so the host reads and writes
//! the memory its options name. What this evaluation does not cover is refused with one line
//! naming it.

use std::collections::BTreeMap;

use chiwawa_format::component::{
    Arg, CanonPart, Case, Component, CoreInstance, Field, FuncSig, HostFunc, HostKind, Item,
    Resource, Run, ValType,
};
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentDefinedType, ComponentEntityType, ComponentValType,
};
use wasmparser::types::Types;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentInstance,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Instance, Parser, Payload,
    PrimitiveValType, Validator, WasmFeatures,
};

use crate::TranslateError;

/// What component `wasm` is refused for, in one line.
fn unsupported(what: impl std::fmt::Display) -> TranslateError {
    TranslateError::Unsupported(format!("component: {what}"))
}

/// A component-level function.
#[derive(Clone, Debug)]
enum CFunc {
    /// A function of an imported (host) instance: its interface and name, and its index in
    /// the top-level function space (for its type).
    Host {
        interface: String,
        name: String,
        index: u32,
    },
    /// A core function lifted (`canon lift`), with its post-return function.
    Lifted {
        core: Item,
        post_return: Option<Item>,
        type_index: u32,
    },
}

/// A component instance.
#[derive(Clone, Debug)]
enum CInst {
    /// An imported interface.
    Host(String),
    /// Named exports (`FromExports`, or a nested component's instance).
    Exports(BTreeMap<String, CItem>),
}

/// What a component-level name may stand for.
#[derive(Clone, Debug)]
enum CItem {
    Func(CFunc),
    Instance(CInst),
    /// A type (nothing to carry: types come from the validator).
    Type,
}

/// A core instance: made by the image (its index there), or a bag of items.
#[derive(Clone, Debug)]
enum CoreInst {
    Made(u32),
    Bag(BTreeMap<String, Item>),
}

/// The state of the evaluation of one component (the top level or a nested one).
#[derive(Default)]
struct Scope<'a> {
    funcs: Vec<CFunc>,
    instances: Vec<CInst>,
    types: u32,
    components: Vec<&'a [u8]>,
    modules: Vec<&'a [u8]>,
    core_instances: Vec<CoreInst>,
    core_funcs: Vec<Item>,
    core_memories: Vec<Item>,
    core_tables: Vec<Item>,
    core_globals: Vec<Item>,
    exports: BTreeMap<String, CItem>,
}

/// The image being built, and the top level's types.
struct Builder<'t> {
    types: &'t Types,
    out: Component,
    /// The image index of each of the component's core modules, once translated.
    module_images: BTreeMap<usize, u32>,
    /// Resource ids of the imported instances, with the interface and name that define them.
    resources: BTreeMap<wasmparser::component_types::ResourceId, (String, String)>,
    resource_index: BTreeMap<(String, String), u32>,
    primitive_index: BTreeMap<u8, u32>,
    defined_index: BTreeMap<wasmparser::component_types::ComponentDefinedTypeId, u32>,
}

/// Translates component `wasm` into a component image.
pub fn translate_component(wasm: &[u8]) -> Result<Component, TranslateError> {
    let features = WasmFeatures::default() | WasmFeatures::COMPONENT_MODEL;
    let types = Validator::new_with_features(features)
        .validate_all(wasm)
        .map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
    let mut b = Builder {
        types: &types,
        out: Component::default(),
        module_images: BTreeMap::new(),
        resources: BTreeMap::new(),
        resource_index: BTreeMap::new(),
        primitive_index: BTreeMap::new(),
        defined_index: BTreeMap::new(),
    };
    let scope = b.evaluate(wasm, None)?;
    let (run, type_index) = find_run(&scope)?;
    let runs_a_command = match types.as_ref().component_any_type_at(type_index) {
        ComponentAnyTypeId::Func(id) => {
            let f = &types[id];
            f.params.is_empty()
                && matches!(f.result, Some(ComponentValType::Type(r))
                    if matches!(types[r], ComponentDefinedType::Result { ok: None, err: None, .. }))
        }
        _ => false,
    };
    if !runs_a_command {
        return Err(unsupported("its `run` is not `func() -> result`"));
    }
    b.out.run = Some(run);
    Ok(b.out)
}

/// The command's `wasi:cli/run@0.2.x` export's `run`, a lifted `func() -> result`.
fn find_run(scope: &Scope<'_>) -> Result<(Run, u32), TranslateError> {
    let (_, run) = scope
        .exports
        .iter()
        .find(|(name, _)| name.starts_with("wasi:cli/run@0.2."))
        .ok_or_else(|| {
            let mut names: Vec<&str> = scope.exports.keys().map(String::as_str).collect();
            names.sort();
            unsupported(format!(
                "it exports {} and not wasi:cli/run@0.2 (only commands run)",
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })?;
    let func = match run {
        CItem::Instance(CInst::Exports(e)) => e.get("run"),
        _ => None,
    };
    let Some(CItem::Func(CFunc::Lifted {
        core,
        post_return,
        type_index,
    })) = func
    else {
        return Err(unsupported(
            "its wasi:cli/run export has no lifted `run` function",
        ));
    };
    let (Item::Export { instance, name }, post) = (core, post_return) else {
        return Err(unsupported("its `run` is not a core export"));
    };
    let post_return = match post {
        None => None,
        Some(Item::Export { instance: i, name }) if i == instance => Some(name.clone()),
        Some(_) => {
            return Err(unsupported(
                "its `run` has a post-return of another instance",
            ))
        }
    };
    Ok((
        Run {
            instance: *instance,
            name: name.clone(),
            post_return,
        },
        *type_index,
    ))
}

impl<'t> Builder<'t> {
    /// Evaluates a component's sections: the top level (`args` None: imports are the host's)
    /// or a nested component instantiated with `args`.
    fn evaluate<'a>(
        &mut self,
        wasm: &'a [u8],
        args: Option<&BTreeMap<String, CItem>>,
    ) -> Result<Scope<'a>, TranslateError> {
        let top = args.is_none();
        let mut s = Scope::default();
        let mut depth = 0u32;
        let nested = |what: &str| unsupported(format!("a nested component with {what}"));
        for payload in Parser::new(0).parse_all(wasm) {
            let payload = payload.map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
            match payload {
                Payload::Version { .. } => {
                    depth += 1;
                    continue;
                }
                Payload::End(_) => {
                    depth -= 1;
                    continue;
                }
                _ if depth != 1 => continue,
                _ => {}
            }
            match payload {
                Payload::ModuleSection {
                    unchecked_range, ..
                } => {
                    if !top {
                        return Err(nested("core modules"));
                    }
                    s.modules
                        .push(&wasm[unchecked_range.start as usize..unchecked_range.end as usize]);
                }
                Payload::ComponentSection {
                    unchecked_range, ..
                } => s
                    .components
                    .push(&wasm[unchecked_range.start as usize..unchecked_range.end as usize]),
                Payload::ComponentTypeSection(r) => s.types += r.count(),
                Payload::CoreTypeSection(_) | Payload::CustomSection(_) => {}
                Payload::ComponentImportSection(r) => {
                    for import in r {
                        let import =
                            import.map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
                        let name = import.name.name.to_string();
                        let item = match args {
                            Some(args) => args.get(&name).cloned().ok_or_else(|| {
                                nested(&format!("an import `{name}` it is not given"))
                            })?,
                            None => match import.ty {
                                ComponentTypeRef::Instance(_) => {
                                    self.note_resources(&name, s.instances.len() as u32);
                                    CItem::Instance(CInst::Host(name))
                                }
                                ComponentTypeRef::Type(_) => CItem::Type,
                                _ => {
                                    return Err(unsupported(format!(
                                        "it imports `{name}`, which is not an interface"
                                    )))
                                }
                            },
                        };
                        s.push(item);
                    }
                }
                Payload::ComponentAliasSection(r) => {
                    for alias in r {
                        let alias =
                            alias.map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
                        self.alias(&mut s, alias)?;
                    }
                }
                Payload::ComponentCanonicalSection(r) => {
                    if !top {
                        return Err(nested("canonical functions"));
                    }
                    for canon in r {
                        let canon =
                            canon.map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
                        self.canon(&mut s, canon)?;
                    }
                }
                Payload::InstanceSection(r) => {
                    for instance in r {
                        let instance = instance
                            .map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
                        self.core_instance(&mut s, instance)?;
                    }
                }
                Payload::ComponentInstanceSection(r) => {
                    for instance in r {
                        let instance = instance
                            .map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
                        self.component_instance(&mut s, instance)?;
                    }
                }
                Payload::ComponentExportSection(r) => {
                    for export in r {
                        let export =
                            export.map_err(|e| TranslateError::InvalidComponent(e.to_string()))?;
                        let item = s.item(export.kind, export.index)?;
                        s.exports.insert(export.name.name.to_string(), item.clone());
                        // An export adds to its kind's index space.
                        s.push(item);
                    }
                }
                Payload::ComponentStartSection { .. } => {
                    return Err(unsupported("a start function"))
                }
                other => return Err(unsupported(format!("a section it uses ({other:?})"))),
            }
        }
        Ok(s)
    }

    /// Records the resources an imported instance (`interface`) exports.
    fn note_resources(&mut self, interface: &str, index: u32) {
        let id = self.types.component_instance_at(index);
        for (name, item) in self.types[id].exports.iter() {
            if let ComponentEntityType::Type {
                referenced: ComponentAnyTypeId::Resource(r),
                created,
            } = &item.ty
            {
                for id in [Some(r.resource()), created_resource(created)]
                    .into_iter()
                    .flatten()
                {
                    self.resources
                        .entry(id)
                        .or_insert_with(|| (interface.to_string(), name.clone()));
                }
            }
        }
    }

    fn alias<'a>(
        &mut self,
        s: &mut Scope<'a>,
        alias: ComponentAlias<'_>,
    ) -> Result<(), TranslateError> {
        match alias {
            ComponentAlias::InstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let instance = s.instance(instance_index)?.clone();
                let item = match (&instance, kind) {
                    (_, ComponentExternalKind::Type) => CItem::Type,
                    (CInst::Host(interface), ComponentExternalKind::Func) => {
                        CItem::Func(CFunc::Host {
                            interface: interface.clone(),
                            name: name.to_string(),
                            index: s.funcs.len() as u32,
                        })
                    }
                    (CInst::Exports(e), _) => e.get(name).cloned().ok_or_else(|| {
                        unsupported(format!("an alias of a missing export `{name}`"))
                    })?,
                    (CInst::Host(interface), kind) => {
                        return Err(unsupported(format!(
                            "an alias of {kind:?} `{name}` of the host's `{interface}`"
                        )))
                    }
                };
                s.push(item);
            }
            ComponentAlias::CoreInstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let item = match s.core_instances.get(instance_index as usize) {
                    Some(CoreInst::Made(i)) => Item::Export {
                        instance: *i,
                        name: name.to_string(),
                    },
                    Some(CoreInst::Bag(bag)) => bag.get(name).cloned().ok_or_else(|| {
                        unsupported(format!("an alias of a missing core export `{name}`"))
                    })?,
                    None => return Err(unsupported("an alias of a missing core instance")),
                };
                match kind {
                    ExternalKind::Func | ExternalKind::FuncExact => s.core_funcs.push(item),
                    ExternalKind::Memory => s.core_memories.push(item),
                    ExternalKind::Table => s.core_tables.push(item),
                    ExternalKind::Global => s.core_globals.push(item),
                    ExternalKind::Tag => return Err(unsupported("exception tags")),
                }
            }
            ComponentAlias::Outer { kind, .. } => match kind {
                ComponentOuterAliasKind::Type => s.types += 1,
                ComponentOuterAliasKind::CoreType => {}
                other => return Err(unsupported(format!("an outer alias of a {other:?}"))),
            },
        }
        Ok(())
    }

    fn canon(&mut self, s: &mut Scope<'_>, canon: CanonicalFunction) -> Result<(), TranslateError> {
        match canon {
            CanonicalFunction::Lift {
                core_func_index,
                type_index,
                options,
            } => {
                let core = s.core_func(core_func_index)?;
                let mut post_return = None;
                for option in options.iter() {
                    match option {
                        CanonicalOption::PostReturn(f) => post_return = Some(s.core_func(*f)?),
                        CanonicalOption::UTF8
                        | CanonicalOption::Memory(_)
                        | CanonicalOption::Realloc(_) => {}
                        other => {
                            return Err(unsupported(format!(
                                "a lifted function with option {other:?}"
                            )))
                        }
                    }
                }
                s.funcs.push(CFunc::Lifted {
                    core,
                    post_return,
                    type_index,
                });
            }
            CanonicalFunction::Lower {
                func_index,
                options,
            } => {
                let core_index = s.core_funcs.len() as u32;
                let item = self.lower(s, func_index, &options, core_index)?;
                s.core_funcs.push(item);
            }
            CanonicalFunction::ResourceDrop { resource } => {
                let ComponentAnyTypeId::Resource(r) = self.types.component_any_type_at(resource)
                else {
                    return Err(unsupported(
                        "resource.drop of a type that is not a resource",
                    ));
                };
                let resource = self.resource(r.resource())?;
                let (interface, name) = {
                    let r = &self.out.resources[resource as usize];
                    (r.interface.clone(), format!("[resource-drop]{}", r.name))
                };
                let func = self.out.imports.len() as u32;
                self.out.imports.push(HostFunc {
                    interface,
                    name,
                    kind: HostKind::ResourceDrop { resource },
                });
                s.core_funcs.push(Item::Host { func });
            }
            other => {
                let name = format!("{other:?}");
                let name = name.split([' ', '{', '(']).next().unwrap_or("").to_string();
                return Err(unsupported(format!(
                    "canonical function `{name}` (resources it defines, async, threads) is not \
                     supported yet"
                )));
            }
        }
        Ok(())
    }

    /// `canon lower` of component function `func_index`: a host function, called directly or,
    /// with a memory, through a new adapter instance.
    fn lower(
        &mut self,
        s: &mut Scope<'_>,
        func_index: u32,
        options: &[CanonicalOption],
        core_index: u32,
    ) -> Result<Item, TranslateError> {
        let Some(CFunc::Host {
            interface,
            name,
            index,
        }) = s.funcs.get(func_index as usize).cloned()
        else {
            return Err(unsupported(
                "a lowered function that is not the host's (component-to-component calls)",
            ));
        };
        let (mut memory, mut realloc) = (None, None);
        for option in options {
            match option {
                CanonicalOption::UTF8 => {}
                CanonicalOption::Memory(m) => {
                    memory = Some(
                        s.core_memories
                            .get(*m as usize)
                            .cloned()
                            .ok_or_else(|| unsupported("a missing memory"))?,
                    )
                }
                CanonicalOption::Realloc(f) => realloc = Some(s.core_func(*f)?),
                other => {
                    return Err(unsupported(format!(
                        "`{interface}` `{name}` lowered with option {other:?}"
                    )))
                }
            }
        }
        let ty = &self.types[self.types.component_function_at(index)];
        if ty.async_ {
            return Err(unsupported(format!("async function `{name}`")));
        }
        let params = ty.params.clone();
        let result = ty.result;
        let sig = FuncSig {
            params: params
                .iter()
                .map(|(_, t)| self.val(*t))
                .collect::<Result<_, _>>()?,
            result: result.map(|t| self.val(t)).transpose()?,
        };
        let func = self.out.imports.len() as u32;
        self.out.imports.push(HostFunc {
            interface,
            name,
            kind: HostKind::Lower {
                sig,
                adapter: memory.is_some(),
                realloc: realloc.is_some(),
            },
        });
        let Some(memory) = memory else {
            return Ok(Item::Host { func });
        };
        // The core type the validator gives the lowered function is the adapter's export's.
        let core_ty = self.types[self.types.as_ref().core_function_at(core_index)]
            .unwrap_func()
            .clone();
        let wasm = adapter(&core_ty, realloc.is_some());
        let module = self.out.modules.len() as u32;
        self.out.modules.push(translate_image(&wasm)?);
        let mut args = vec![
            arg("env", "memory", memory),
            arg(
                "chiwawa:canon",
                "call",
                Item::Canon {
                    func,
                    part: CanonPart::Call,
                },
            ),
            arg(
                "chiwawa:canon",
                "finish",
                Item::Canon {
                    func,
                    part: CanonPart::Finish,
                },
            ),
        ];
        if let Some(realloc) = realloc {
            args.push(arg("env", "realloc", realloc));
            args.push(arg(
                "chiwawa:canon",
                "need",
                Item::Canon {
                    func,
                    part: CanonPart::Need,
                },
            ));
            args.push(arg(
                "chiwawa:canon",
                "give",
                Item::Canon {
                    func,
                    part: CanonPart::Give,
                },
            ));
        }
        let instance = self.out.instances.len() as u32;
        self.out.instances.push(CoreInstance { module, args });
        Ok(Item::Export {
            instance,
            name: "f".to_string(),
        })
    }

    fn core_instance(
        &mut self,
        s: &mut Scope<'_>,
        instance: Instance<'_>,
    ) -> Result<(), TranslateError> {
        match instance {
            Instance::Instantiate { module_index, args } => {
                let bytes = *s
                    .modules
                    .get(module_index as usize)
                    .ok_or_else(|| unsupported("a missing core module"))?;
                let module = match self.module_images.get(&(module_index as usize)) {
                    Some(&m) => m,
                    None => {
                        let m = self.out.modules.len() as u32;
                        self.out.modules.push(translate_image(bytes)?);
                        self.module_images.insert(module_index as usize, m);
                        m
                    }
                };
                let mut given = BTreeMap::new();
                for a in args.iter() {
                    let inst = s
                        .core_instances
                        .get(a.index as usize)
                        .ok_or_else(|| unsupported("a missing core instance argument"))?;
                    given.insert(a.name, inst.clone());
                }
                let mut bound = Vec::new();
                for import in Parser::new(0).parse_all(bytes) {
                    let Ok(Payload::ImportSection(r)) = import else {
                        continue;
                    };
                    for import in r.into_imports() {
                        let import = import.map_err(|e| TranslateError::Invalid(e.to_string()))?;
                        let item = match given.get(import.module) {
                            Some(CoreInst::Made(i)) => Some(Item::Export {
                                instance: *i,
                                name: import.name.to_string(),
                            }),
                            Some(CoreInst::Bag(bag)) => bag.get(import.name).cloned(),
                            None => None,
                        }
                        .ok_or_else(|| {
                            unsupported(format!(
                                "core module {module_index} imports `{}::{}`, which its \
                                 instantiation does not give",
                                import.module, import.name
                            ))
                        })?;
                        bound.push(arg(import.module, import.name, item));
                    }
                }
                let made = self.out.instances.len() as u32;
                self.out.instances.push(CoreInstance {
                    module,
                    args: bound,
                });
                s.core_instances.push(CoreInst::Made(made));
            }
            Instance::FromExports(exports) => {
                let mut bag = BTreeMap::new();
                for e in exports.iter() {
                    let list = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => &s.core_funcs,
                        ExternalKind::Memory => &s.core_memories,
                        ExternalKind::Table => &s.core_tables,
                        ExternalKind::Global => &s.core_globals,
                        ExternalKind::Tag => return Err(unsupported("exception tags")),
                    };
                    let item = list
                        .get(e.index as usize)
                        .cloned()
                        .ok_or_else(|| unsupported("a missing core item"))?;
                    bag.insert(e.name.to_string(), item);
                }
                s.core_instances.push(CoreInst::Bag(bag));
            }
        }
        Ok(())
    }

    fn component_instance(
        &mut self,
        s: &mut Scope<'_>,
        instance: ComponentInstance<'_>,
    ) -> Result<(), TranslateError> {
        let inst = match instance {
            ComponentInstance::Instantiate {
                component_index,
                args,
            } => {
                let bytes = *s
                    .components
                    .get(component_index as usize)
                    .ok_or_else(|| unsupported("a missing nested component"))?;
                let mut given = BTreeMap::new();
                for a in args.iter() {
                    given.insert(a.name.to_string(), s.item(a.kind, a.index)?);
                }
                let inner = self.evaluate(bytes, Some(&given))?;
                CInst::Exports(inner.exports)
            }
            ComponentInstance::FromExports(exports) => {
                let mut map = BTreeMap::new();
                for e in exports.iter() {
                    map.insert(e.name.name.to_string(), s.item(e.kind, e.index)?);
                }
                CInst::Exports(map)
            }
        };
        s.instances.push(inst);
        Ok(())
    }

    /// The index of resource `id` in the image's resources.
    fn resource(
        &mut self,
        id: wasmparser::component_types::ResourceId,
    ) -> Result<u32, TranslateError> {
        let (interface, name) = self
            .resources
            .get(&id)
            .cloned()
            .ok_or_else(|| unsupported("a resource that no imported interface defines"))?;
        let key = (interface.clone(), name.clone());
        if let Some(&i) = self.resource_index.get(&key) {
            return Ok(i);
        }
        let i = self.out.resources.len() as u32;
        self.out.resources.push(Resource { interface, name });
        self.resource_index.insert(key, i);
        Ok(i)
    }

    fn push_type(&mut self, ty: ValType) -> u32 {
        self.out.types.push(ty);
        self.out.types.len() as u32 - 1
    }

    /// The index of component value type `t` in the image's type table (children first).
    fn val(&mut self, t: ComponentValType) -> Result<u32, TranslateError> {
        match t {
            ComponentValType::Primitive(p) => {
                let (code, ty) = primitive(p)?;
                if let Some(&i) = self.primitive_index.get(&code) {
                    return Ok(i);
                }
                let i = self.push_type(ty);
                self.primitive_index.insert(code, i);
                Ok(i)
            }
            ComponentValType::Type(id) => {
                if let Some(&i) = self.defined_index.get(&id) {
                    return Ok(i);
                }
                let ty = match &self.types[id] {
                    ComponentDefinedType::Primitive(p) => primitive(*p)?.1,
                    ComponentDefinedType::Record(r) => {
                        let fields: Vec<_> =
                            r.fields.iter().map(|(n, t)| (n.to_string(), *t)).collect();
                        ValType::Record(
                            fields
                                .into_iter()
                                .map(|(name, t)| {
                                    Ok(Field {
                                        name,
                                        ty: self.val(t)?,
                                    })
                                })
                                .collect::<Result<_, TranslateError>>()?,
                        )
                    }
                    ComponentDefinedType::Variant(v) => {
                        let cases: Vec<_> =
                            v.cases.iter().map(|(n, c)| (n.to_string(), c.ty)).collect();
                        ValType::Variant(
                            cases
                                .into_iter()
                                .map(|(name, t)| {
                                    Ok(Case {
                                        name,
                                        ty: t.map(|t| self.val(t)).transpose()?,
                                    })
                                })
                                .collect::<Result<_, TranslateError>>()?,
                        )
                    }
                    ComponentDefinedType::List { element, .. } => {
                        let e = *element;
                        ValType::List(self.val(e)?)
                    }
                    ComponentDefinedType::Tuple(t) => {
                        let ts = t.types.clone();
                        ValType::Tuple(ts.iter().map(|t| self.val(*t)).collect::<Result<_, _>>()?)
                    }
                    ComponentDefinedType::Flags(f) => {
                        if f.len() > 32 {
                            return Err(unsupported("flags of more than 32 names"));
                        }
                        ValType::Flags(f.iter().map(|n| n.to_string()).collect())
                    }
                    ComponentDefinedType::Enum(e) => {
                        ValType::Enum(e.iter().map(|n| n.to_string()).collect())
                    }
                    ComponentDefinedType::Option { ty, .. } => {
                        let t = *ty;
                        ValType::Option(self.val(t)?)
                    }
                    ComponentDefinedType::Result { ok, err, .. } => {
                        let (ok, err) = (*ok, *err);
                        ValType::Result {
                            ok: ok.map(|t| self.val(t)).transpose()?,
                            err: err.map(|t| self.val(t)).transpose()?,
                        }
                    }
                    ComponentDefinedType::Own(r) => {
                        let r = r.resource();
                        ValType::Own(self.resource(r)?)
                    }
                    ComponentDefinedType::Borrow(r) => {
                        let r = r.resource();
                        ValType::Borrow(self.resource(r)?)
                    }
                    other => {
                        let name = format!("{other:?}");
                        let name = name.split([' ', '{', '(']).next().unwrap_or("").to_string();
                        return Err(unsupported(format!("values of type `{name}`")));
                    }
                };
                let i = self.push_type(ty);
                self.defined_index.insert(id, i);
                Ok(i)
            }
        }
    }
}

/// The resource a `created` type id stands for, if it is one.
fn created_resource(
    created: &ComponentAnyTypeId,
) -> Option<wasmparser::component_types::ResourceId> {
    match created {
        ComponentAnyTypeId::Resource(r) => Some(r.resource()),
        _ => None,
    }
}

fn primitive(p: PrimitiveValType) -> Result<(u8, ValType), TranslateError> {
    Ok(match p {
        PrimitiveValType::Bool => (0, ValType::Bool),
        PrimitiveValType::S8 => (1, ValType::S8),
        PrimitiveValType::U8 => (2, ValType::U8),
        PrimitiveValType::S16 => (3, ValType::S16),
        PrimitiveValType::U16 => (4, ValType::U16),
        PrimitiveValType::S32 => (5, ValType::S32),
        PrimitiveValType::U32 => (6, ValType::U32),
        PrimitiveValType::S64 => (7, ValType::S64),
        PrimitiveValType::U64 => (8, ValType::U64),
        PrimitiveValType::F32 => (9, ValType::F32),
        PrimitiveValType::F64 => (10, ValType::F64),
        PrimitiveValType::Char => (11, ValType::Char),
        PrimitiveValType::String => (12, ValType::String),
        PrimitiveValType::ErrorContext => {
            return Err(unsupported("values of type `error-context`"))
        }
    })
}

impl<'a> Scope<'a> {
    /// Adds `item` to its kind's index space.
    fn push(&mut self, item: CItem) {
        match item {
            CItem::Func(f) => self.funcs.push(f),
            CItem::Instance(i) => self.instances.push(i),
            CItem::Type => self.types += 1,
        }
    }

    fn instance(&self, index: u32) -> Result<&CInst, TranslateError> {
        self.instances
            .get(index as usize)
            .ok_or_else(|| unsupported("a missing component instance"))
    }

    fn core_func(&self, index: u32) -> Result<Item, TranslateError> {
        self.core_funcs
            .get(index as usize)
            .cloned()
            .ok_or_else(|| unsupported("a missing core function"))
    }

    /// The item of `kind` at `index`.
    fn item(&self, kind: ComponentExternalKind, index: u32) -> Result<CItem, TranslateError> {
        match kind {
            ComponentExternalKind::Func => self
                .funcs
                .get(index as usize)
                .cloned()
                .map(CItem::Func)
                .ok_or_else(|| unsupported("a missing function")),
            ComponentExternalKind::Instance => self.instance(index).cloned().map(CItem::Instance),
            ComponentExternalKind::Type => Ok(CItem::Type),
            other => Err(unsupported(format!("passing or exporting a {other:?}"))),
        }
    }
}

fn arg(module: &str, name: &str, item: Item) -> Arg {
    Arg {
        module: module.to_string(),
        name: name.to_string(),
        item,
    }
}

/// A core module translated into a module image.
fn translate_image(wasm: &[u8]) -> Result<Vec<u8>, TranslateError> {
    crate::translate_core(wasm, &crate::Options::default())
}

/// The adapter module of a lowered function whose options name a memory: it imports that
/// memory as its memory 0 (so the host function it calls reads and writes it as the caller's
/// memory), the host's steps and `cabi_realloc`, and exports `f` of the lowered core type:
///
/// ```text
/// f(params) = call(params);
///             loop { r = need(); if r == -1 break; give(realloc(0, 0, r >> 32, r as i32)) }
///             return finish()
/// ```
pub fn adapter(ty: &wasmparser::FuncType, realloc: bool) -> Vec<u8> {
    use wasm_encoder::{
        BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
        ImportSection, Instruction as I, MemoryType, Module, TypeSection, ValType as V,
    };
    let vt = |t: &wasmparser::ValType| match t {
        wasmparser::ValType::I32 => V::I32,
        wasmparser::ValType::I64 => V::I64,
        wasmparser::ValType::F32 => V::F32,
        wasmparser::ValType::F64 => V::F64,
        // The canonical ABI flattens to numbers only.
        _ => V::I32,
    };
    let params: Vec<V> = ty.params().iter().map(vt).collect();
    let results: Vec<V> = ty.results().iter().map(vt).collect();
    let mut types = TypeSection::new();
    types.ty().function(params.clone(), results.clone()); // 0: f
    types.ty().function(params.clone(), []); // 1: call
    types.ty().function([], [V::I64]); // 2: need
    types.ty().function([V::I32], []); // 3: give
    types.ty().function([], results.clone()); // 4: finish
    types.ty().function([V::I32; 4], [V::I32]); // 5: realloc
    let mut imports = ImportSection::new();
    imports.import(
        "env",
        "memory",
        EntityType::Memory(MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        }),
    );
    imports.import("chiwawa:canon", "call", EntityType::Function(1));
    imports.import("chiwawa:canon", "finish", EntityType::Function(4));
    // Imported functions first in the index space: call 0, finish 1, then (with realloc)
    // realloc 2, need 3, give 4; the adapter's own function after them.
    let (call, finish, realloc_f, need, give) = (0, 1, 2, 3, 4);
    if realloc {
        imports.import("env", "realloc", EntityType::Function(5));
        imports.import("chiwawa:canon", "need", EntityType::Function(2));
        imports.import("chiwawa:canon", "give", EntityType::Function(3));
    }
    let defined = if realloc { 5 } else { 2 };
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    let mut exports = ExportSection::new();
    exports.export("f", ExportKind::Func, defined);
    let req = params.len() as u32;
    let mut f = Function::new([(1, V::I64)]);
    for i in 0..params.len() as u32 {
        f.instruction(&I::LocalGet(i));
    }
    f.instruction(&I::Call(call));
    if realloc {
        f.instruction(&I::Block(BlockType::Empty));
        f.instruction(&I::Loop(BlockType::Empty));
        f.instruction(&I::Call(need));
        f.instruction(&I::LocalTee(req));
        f.instruction(&I::I64Const(-1));
        f.instruction(&I::I64Eq);
        f.instruction(&I::BrIf(1));
        f.instruction(&I::I32Const(0));
        f.instruction(&I::I32Const(0));
        f.instruction(&I::LocalGet(req));
        f.instruction(&I::I64Const(32));
        f.instruction(&I::I64ShrU);
        f.instruction(&I::I32WrapI64);
        f.instruction(&I::LocalGet(req));
        f.instruction(&I::I32WrapI64);
        f.instruction(&I::Call(realloc_f));
        f.instruction(&I::Call(give));
        f.instruction(&I::Br(0));
        f.instruction(&I::End);
        f.instruction(&I::End);
    }
    f.instruction(&I::Call(finish));
    f.instruction(&I::End);
    let mut code = CodeSection::new();
    code.function(&f);
    let mut m = Module::new();
    m.section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&exports)
        .section(&code);
    m.finish()
}
