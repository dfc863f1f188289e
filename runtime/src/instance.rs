//! Instantiation: resolve and type-check imports, allocate what the module defines, run the
//! active segments and the start function (in the spec's order, keeping partial effects when
//! a segment traps), and calls into an instance from outside.

use std::cell::Cell;
use std::rc::Rc;

use chiwawa_format::{
    ArchivedDataMode, ArchivedElemMode, ArchivedImportKind, FuncType, LoadedImage, TableType,
};

use crate::exec;
use crate::store::{Extern, FuncInst, GlobalInst, Instance, Memory, Store, Table, WasmEntry};
use crate::trap::{Trap, TrapKind};
use crate::value::Val;
use crate::CheckedImage;

/// Why instantiation failed.
#[derive(Debug)]
pub enum InstantiateError {
    /// An import is missing or has the wrong type (spec: "unlinkable").
    Link(String),
    /// A segment or the start function trapped (spec: "uninstantiable"); effects so far stay.
    Trap(Trap),
}

impl std::fmt::Display for InstantiateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstantiateError::Link(m) => write!(f, "{m}"),
            InstantiateError::Trap(t) => write!(f, "trap during instantiation: {t}"),
        }
    }
}

impl std::error::Error for InstantiateError {}

fn limits_match(min: u64, max: Option<u64>, want_min: u64, want_max: Option<u64>) -> bool {
    min >= want_min
        && match want_max {
            None => true,
            Some(wm) => max.is_some_and(|m| m <= wm),
        }
}

fn func_type_of(ty: &chiwawa_format::ArchivedFuncType) -> FuncType {
    FuncType {
        params: ty.params.to_vec(),
        results: ty.results.to_vec(),
    }
}

impl Store {
    /// Instantiates a verified image, resolving each import `(module, name)` through `imports`,
    /// then runs active segments and the start function. Returns the instance id.
    pub fn instantiate(
        &mut self,
        checked: &CheckedImage,
        imports: &mut dyn FnMut(&mut Store, &str, &str) -> Option<Extern>,
    ) -> Result<u32, InstantiateError> {
        self.instantiate_with(checked, imports, true)
    }

    /// Instantiates as [`Store::instantiate`] does but without running the start function:
    /// for a restore ([`crate::checkpoint::restore`]), where the start function ran before the
    /// checkpoint and the snapshot's state replaces what instantiation wrote.
    pub fn instantiate_for_restore(
        &mut self,
        checked: &CheckedImage,
        imports: &mut dyn FnMut(&mut Store, &str, &str) -> Option<Extern>,
    ) -> Result<u32, InstantiateError> {
        self.instantiate_with(checked, imports, false)
    }

    fn instantiate_with(
        &mut self,
        checked: &CheckedImage,
        imports: &mut dyn FnMut(&mut Store, &str, &str) -> Option<Extern>,
        run_start: bool,
    ) -> Result<u32, InstantiateError> {
        let image: &Rc<LoadedImage> = checked.image();
        let module = image.module();
        let inst_id = self.instances.len() as u32;
        let types: Vec<u32> = module
            .types
            .iter()
            .map(|t| self.intern_type(func_type_of(t)))
            .collect();
        let mut inst = Instance {
            image: image.clone(),
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            types,
            dropped_elems: (0..module.elems.len()).map(|_| Cell::new(false)).collect(),
            dropped_datas: (0..module.datas.len()).map(|_| Cell::new(false)).collect(),
            spaces: checked.spaces.clone(),
            verified: (0..module.funcs.len())
                .map(|_| Cell::new(checked.code_verified))
                .collect(),
            entries: Vec::with_capacity(module.funcs.len()),
            first_func: 0,
            num_imported_funcs: 0,
        };

        for import in module.imports.iter() {
            let (m, n) = (import.module.as_str(), import.name.as_str());
            let Some(ext) = imports(self, m, n) else {
                return Err(InstantiateError::Link(format!(
                    "unknown import: `{m}::{n}`"
                )));
            };
            let incompatible =
                || InstantiateError::Link(format!("incompatible import type for `{m}::{n}`"));
            match (&import.kind, ext) {
                (ArchivedImportKind::Func(ty), Extern::Func(f)) => {
                    let want = inst.types[ty.to_native() as usize];
                    if self.funcs[f as usize].type_id() != want {
                        return Err(incompatible());
                    }
                    inst.funcs.push(f);
                }
                (ArchivedImportKind::Table(t), Extern::Table(a)) => {
                    let table = &self.tables[a as usize];
                    let ok = table.ty.elem == t.elem
                        && limits_match(
                            table.elems.len() as u64,
                            table.ty.max.map(u64::from),
                            t.min.to_native() as u64,
                            t.max.as_ref().map(|m| m.to_native() as u64),
                        );
                    if !ok {
                        return Err(incompatible());
                    }
                    inst.tables.push(a);
                }
                (ArchivedImportKind::Memory(t), Extern::Memory(a)) => {
                    let memory = &self.memories[a as usize];
                    let ok = limits_match(
                        memory.pages() as u64,
                        memory.max_pages.map(u64::from),
                        t.min.to_native() as u64,
                        t.max.as_ref().map(|m| m.to_native() as u64),
                    );
                    if !ok {
                        return Err(incompatible());
                    }
                    inst.memories.push(a);
                }
                (ArchivedImportKind::Global(t), Extern::Global(a)) => {
                    let g = &self.globals[a as usize].ty;
                    if g.ty != t.ty || g.mutable != t.mutable {
                        return Err(incompatible());
                    }
                    inst.globals.push(a);
                }
                _ => return Err(incompatible()),
            }
        }

        self.funcs.reserve(module.funcs.len());
        inst.funcs.reserve(module.funcs.len());
        inst.first_func = self.funcs.len() as u32;
        inst.num_imported_funcs = inst.funcs.len() as u32;
        for (i, f) in module.funcs.iter().enumerate() {
            let type_id = inst.types[f.ty.to_native() as usize];
            let entry = WasmEntry {
                code: image.func_code_ptr(i),
                code_len: f.code_len.to_native(),
                consts: f.consts.as_ptr(),
                num_consts: f.consts.len() as u32,
                nparams: self.types[type_id as usize].params.len() as u32,
                num_locals: f.num_locals.to_native(),
                frame_size: f.frame_size.to_native(),
            };
            inst.entries.push(entry);
            self.funcs.push(FuncInst::Wasm {
                instance: inst_id,
                defined: i as u32,
                type_id,
                entry,
            });
            inst.funcs.push((self.funcs.len() - 1) as u32);
        }
        for t in module.tables.iter() {
            let ty = TableType {
                elem: t.elem,
                min: t.min.to_native(),
                max: t.max.as_ref().map(|m| m.to_native()),
            };
            let mut elems = Vec::new();
            if elems.try_reserve_exact(ty.min as usize).is_err() {
                return Err(InstantiateError::Trap(Trap::new(TrapKind::OutOfMemory)));
            }
            elems.resize(ty.min as usize, 0);
            inst.tables.push(self.add_table(Table { elems, ty }));
        }
        for m in module.memories.iter() {
            let max = m.max.as_ref().map(|m| m.to_native());
            let memory = Memory::new(m.min.to_native(), max)
                .map_err(|k| InstantiateError::Trap(Trap::new(k)))?;
            inst.memories.push(self.add_memory(memory));
        }
        for g in module.globals.iter() {
            let value = exec::eval_const(&g.init, &inst, &self.globals);
            self.globals.push(GlobalInst {
                value,
                ty: chiwawa_format::GlobalType {
                    ty: g.ty.ty,
                    mutable: g.ty.mutable,
                },
            });
            inst.globals.push((self.globals.len() - 1) as u32);
        }
        self.instances.push(inst);
        self.initialize(inst_id, run_start)
            .map_err(InstantiateError::Trap)?;
        Ok(inst_id)
    }

    /// Active element and data segments, in order, then (with `run_start`) the start function.
    fn initialize(&mut self, inst_id: u32, run_start: bool) -> Result<(), Trap> {
        let inst = &self.instances[inst_id as usize];
        let image = inst.image.clone();
        let module = image.module();
        for (i, elem) in module.elems.iter().enumerate() {
            let inst = &self.instances[inst_id as usize];
            match &elem.mode {
                ArchivedElemMode::Active { table, offset } => {
                    let offset = exec::eval_const(offset, inst, &self.globals) as u32 as usize;
                    let values: Vec<u64> = elem
                        .items
                        .iter()
                        .map(|item| exec::eval_const(item, inst, &self.globals))
                        .collect();
                    let t = inst.tables[table.to_native() as usize] as usize;
                    let elems = &mut self.tables[t].elems;
                    match offset.checked_add(values.len()) {
                        Some(end) if end <= elems.len() => {
                            elems[offset..end].copy_from_slice(&values)
                        }
                        _ => return Err(Trap::new(TrapKind::TableOutOfBounds)),
                    }
                    inst.dropped_elems[i].set(true);
                }
                ArchivedElemMode::Declarative => inst.dropped_elems[i].set(true),
                ArchivedElemMode::Passive => {}
            }
        }
        for (i, data) in module.datas.iter().enumerate() {
            let inst = &self.instances[inst_id as usize];
            if let ArchivedDataMode::Active { memory, offset } = &data.mode {
                let offset = exec::eval_const(offset, inst, &self.globals) as u32 as usize;
                let m = inst.memories[memory.to_native() as usize] as usize;
                let bytes = self.memories[m].bytes_mut();
                match offset.checked_add(data.bytes.len()) {
                    Some(end) if end <= bytes.len() => {
                        bytes[offset..end].copy_from_slice(&data.bytes)
                    }
                    _ => return Err(Trap::new(TrapKind::MemoryOutOfBounds)),
                }
                inst.dropped_datas[i].set(true);
            }
        }
        if let Some(start) = module.start.as_ref().filter(|_| run_start) {
            let func = self.instances[inst_id as usize].funcs[start.to_native() as usize];
            self.ensure_verified(func)?;
            exec::run(self, func, &[])?;
        }
        Ok(())
    }

    /// Calls function `func` (a store address) on argument slots of the right number and types;
    /// returns the result slots. Unverified code is verified first, as on any entry.
    pub(crate) fn call_slots(&mut self, func: u32, args: &[u64]) -> Result<Vec<u64>, Trap> {
        self.ensure_verified(func)?;
        exec::run(self, func, args)
    }

    /// Calls function `func` (a store address) with `args`; returns its results or the trap.
    /// Arguments of the wrong number or type are a host error, not a guest trap.
    pub fn invoke(&mut self, func: u32, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let ty = self.func_type(func).clone();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| a.ty() != *t) {
            return Err(Trap::new(TrapKind::Host(format!(
                "wrong arguments: the function takes {:?}",
                ty.params
            ))));
        }
        let slots: Vec<u64> = args.iter().map(|a| a.to_slot()).collect();
        let results = self.call_slots(func, &slots)?;
        Ok(ty
            .results
            .iter()
            .zip(results)
            .map(|(t, v)| Val::from_slot(*t, v))
            .collect())
    }
}
