//! The component oracle: structured mutations of valid component images (the link table: which
//! host function or export each core import gets, the adapters' steps, the value types, the
//! host functions' names and signatures, the `run` function; and byte flips of the archive with
//! its checksum made good), each loaded, instantiated against chiwawa's preview-2 host and run
//! under an instruction and a memory limit, with virtual clocks. It must be refused, run, or
//! trap cleanly: a mutant that links differently makes the guest call host functions with what
//! they do not expect, and the canonical ABI and the host must answer with a trap, never a
//! panic nor a hang (the campaign counts a timeout as a hang).
//!
//! The seeds are components translated in process (`make components` builds them).

use std::cell::RefCell;
use std::rc::Rc;

use chiwawa_format::component::{
    read_component_image, write_component_image, CanonPart, Component, HostKind, Item, ValType,
    COMPONENT_HEADER_LEN,
};
use chiwawa_runtime::component::{wasip2, ComponentImage};
use chiwawa_runtime::meter::{self, Action, Meter};
use chiwawa_runtime::wasi::WasiCtx;
use chiwawa_runtime::{Engine, ErrorKind, Store, Trap, TrapKind, VerifyMode};

use crate::rng::Rng;
use crate::{Class, Outcome};

/// Instructions a mutant may execute before it is stopped (as a trap): ten times what the
/// unmutated seeds need, and little enough that a run ends well within the worker's time
/// limit, so that a timeout can only be a hang of the host or the canonical ABI.
const FUEL: u64 = 1_000_000;

/// The memory a mutant may grow to.
const MEMORY: u64 = 64 << 20;

/// The mutation kinds, by name (a mutant's kinds are counted per class in the report).
pub const KINDS: [&str; 10] = [
    "arg.swap",
    "arg.host",
    "arg.canon",
    "arg.export",
    "import.names",
    "import.sig",
    "types",
    "run",
    "instance.module",
    "archive.flip",
];

/// A seed: a component image and its link table.
pub struct ComponentSeed {
    pub name: String,
    pub image: Vec<u8>,
    pub component: Component,
}

/// The components of `$CHIWAWA_COMPONENTS` (`make components`) under 1 MB, by name.
pub fn default_seed_paths() -> Result<Vec<std::path::PathBuf>, String> {
    let dir = std::env::var_os("CHIWAWA_COMPONENTS")
        .ok_or("CHIWAWA_COMPONENTS is not set (the directory of `make components`)")?;
    let dir = std::path::PathBuf::from(dir);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() < 1 << 20))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "{}: no components (make components)",
            dir.display()
        ));
    }
    Ok(paths)
}

/// Translates each component `(name, wasm)` into a seed; those the translator refuses are
/// reported by name.
pub fn seeds(components: &[(String, Vec<u8>)]) -> Result<Vec<ComponentSeed>, String> {
    components
        .iter()
        .map(|(name, wasm)| {
            let image =
                chiwawa_translator::translate(wasm, &chiwawa_translator::Options::default())
                    .map_err(|e| format!("{name}: {e}"))?;
            let component = read_component_image(&image).map_err(|e| format!("{name}: {e}"))?;
            Ok(ComponentSeed {
                name: name.clone(),
                image,
                component,
            })
        })
        .collect()
}

/// A mutant of `seed`: its bytes and the kinds of mutation applied (mostly one: most single
/// mutations are refused already, and a second rarely gets further).
pub fn mutate(seed: &ComponentSeed, rng: &mut Rng) -> (Vec<u8>, Vec<&'static str>) {
    let mut c = seed.component.clone();
    let mut kinds = Vec::new();
    let mut flip = false;
    let count = if rng.chance(3, 4) {
        1
    } else {
        2 + rng.below(2)
    };
    // A kind that finds nothing to change (no such item in this seed) is drawn again.
    for _ in 0..count * 20 {
        if kinds.len() as u64 == count {
            break;
        }
        let kind = *rng.pick(&KINDS);
        let changed = if kind == "archive.flip" {
            flip = true;
            true
        } else {
            mutate_table(&mut c, kind, rng)
        };
        if changed {
            kinds.push(kind);
        }
    }
    let Ok(mut bytes) = write_component_image(&c, chiwawa_format::TRANSLATOR_VERSION, 0) else {
        return (Vec::new(), kinds);
    };
    if flip && bytes.len() > COMPONENT_HEADER_LEN {
        for _ in 0..1 + rng.below(4) {
            let at = COMPONENT_HEADER_LEN + rng.index(bytes.len() - COMPONENT_HEADER_LEN);
            bytes[at] ^= 1 << rng.below(8);
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[COMPONENT_HEADER_LEN..]);
        bytes[40..48].copy_from_slice(&sum.to_le_bytes());
    }
    (bytes, kinds)
}

/// An index near `len`: mostly in range, sometimes just past it or far out.
fn index_near(rng: &mut Rng, len: usize) -> u32 {
    match rng.below(10) {
        0 => len as u32,
        1 => rng.interesting_u32(),
        _ => rng.below(len.max(1) as u64) as u32,
    }
}

/// Applies mutation `kind` to `c`: whether it changed anything.
fn mutate_table(c: &mut Component, kind: &str, rng: &mut Rng) -> bool {
    let before = c.clone();
    let arg_count: usize = c.instances.iter().map(|i| i.args.len()).sum();
    let arg_at = |c: &Component, rng: &mut Rng| -> Option<(usize, usize)> {
        if arg_count == 0 {
            return None;
        }
        let mut n = rng.index(arg_count);
        for (i, inst) in c.instances.iter().enumerate() {
            if n < inst.args.len() {
                return Some((i, n));
            }
            n -= inst.args.len();
        }
        None
    };
    let (imports, instances, types) = (c.imports.len(), c.instances.len(), c.types.len());
    match kind {
        "arg.swap" => {
            if let (Some((i, a)), Some((j, b))) = (arg_at(c, rng), arg_at(c, rng)) {
                let x = c.instances[i].args[a].item.clone();
                let y = std::mem::replace(&mut c.instances[j].args[b].item, x);
                c.instances[i].args[a].item = y;
            }
        }
        "arg.host" => {
            if let Some((i, a)) = arg_at(c, rng) {
                c.instances[i].args[a].item = Item::Host {
                    func: index_near(rng, imports),
                };
            }
        }
        "arg.canon" => {
            if let Some((i, a)) = arg_at(c, rng) {
                let part = *rng.pick(&[
                    CanonPart::Call,
                    CanonPart::Need,
                    CanonPart::Give,
                    CanonPart::Finish,
                ]);
                c.instances[i].args[a].item = Item::Canon {
                    func: index_near(rng, imports),
                    part,
                };
            }
        }
        "arg.export" => {
            let names: Vec<String> = c
                .instances
                .iter()
                .flat_map(|i| &i.args)
                .filter_map(|a| match &a.item {
                    Item::Export { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect();
            if let (Some((i, a)), false) = (arg_at(c, rng), names.is_empty()) {
                c.instances[i].args[a].item = Item::Export {
                    instance: index_near(rng, i),
                    name: rng.pick(&names).clone(),
                };
            }
        }
        "import.names" if imports > 1 => {
            // Two functions of one interface trade names: the types may still match (an output
            // stream's `write` and `blocking-write-and-flush`), so the guest runs wired to the
            // other one.
            let a = rng.index(imports);
            let same: Vec<usize> = (0..imports)
                .filter(|&b| c.imports[b].interface == c.imports[a].interface)
                .collect();
            let b = *rng.pick(&same);
            let name = c.imports[a].name.clone();
            c.imports[a].name = std::mem::replace(&mut c.imports[b].name, name);
        }
        "import.sig" if imports > 0 => {
            let f = rng.index(imports);
            match &mut c.imports[f].kind {
                HostKind::Lower { sig, realloc, .. } => match rng.below(3) {
                    0 => *realloc = !*realloc,
                    1 if !sig.params.is_empty() => {
                        let p = rng.index(sig.params.len());
                        sig.params[p] = index_near(rng, types);
                    }
                    _ => sig.result = Some(index_near(rng, types)),
                },
                HostKind::ResourceDrop { resource } => {
                    *resource = index_near(rng, c.resources.len())
                }
            }
        }
        "types" if types > 0 => {
            let t = rng.index(types);
            let to = index_near(rng, t);
            c.types[t] = match rng.below(6) {
                0 => ValType::List(to),
                1 => ValType::Option(to),
                2 => ValType::String,
                3 => ValType::U64,
                4 => ValType::Own(index_near(rng, c.resources.len())),
                _ => ValType::Tuple(vec![to, to]),
            };
        }
        "run" => {
            if let Some(run) = &mut c.run {
                match rng.below(3) {
                    0 => run.instance = index_near(rng, instances),
                    1 => run.post_return = Some(run.name.clone()),
                    _ => run.name = "memory".into(),
                }
            }
        }
        "instance.module" if instances > 0 => {
            let i = rng.index(instances);
            c.instances[i].module = index_near(rng, c.modules.len());
        }
        _ => {}
    }
    *c != before
}

/// Loads, instantiates and runs component image `bytes` against the preview-2 host, with no
/// standard streams (the worker's stdout is its channel to the campaign) and no directories.
pub fn run(bytes: &[u8]) -> Outcome {
    let image = match ComponentImage::load(bytes, VerifyMode::Lazy) {
        Ok(image) => image,
        Err(e) => return Outcome::new(Class::Refused, format!("load: {e}")),
    };
    let mut ctx = WasiCtx::new(vec!["component".into(), "arg".into()]);
    for fd in 0..3 {
        ctx.hide_fd(fd);
    }
    // Virtual clocks: a sleep does not wait, and a replay runs the same.
    ctx.set_deterministic();
    let host = Rc::new(RefCell::new(wasip2::Host::new(Rc::new(RefCell::new(ctx)))));
    let mut store = Store::new(&Engine::default(), ());
    store.set_max_memory_bytes(Some(MEMORY));
    let hook = Box::new(|_| Action::Stop(Trap::new(TrapKind::Limit("fuel".into()))));
    meter::set_store_meter(&mut store, Meter::new(0, FUEL, hook));
    let (run, post_return) = match image.instantiate(&mut store, &host) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::Trap => {
            return Outcome::new(Class::Trapped, format!("instantiate: {e}"))
        }
        Err(e) => return Outcome::new(Class::Refused, format!("link: {e}")),
    };
    let typed = match run.typed::<(), i32, _>(&store) {
        Ok(t) => t,
        Err(e) => return Outcome::new(Class::Refused, format!("run: {e}")),
    };
    let result = typed.call(&mut store, ()).and_then(|r| match post_return {
        Some(post) => post
            .call(&mut store, &[chiwawa_runtime::Val::I32(r)], &mut [])
            .map(|()| r),
        None => Ok(r),
    });
    match result {
        Ok(r) => Outcome::new(Class::Ran, format!("run returned {r}")),
        Err(e) if e.exit_status().is_some() => Outcome::new(Class::Ran, format!("{e}")),
        Err(e) if e.kind() == ErrorKind::Trap => Outcome::new(Class::Trapped, format!("{e}")),
        Err(e) => Outcome::new(Class::Refused, format!("run: {e}")),
    }
}
