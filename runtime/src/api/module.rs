//! A module: a checked image, ready to be instantiated in any store of its engine.

use std::path::Path;
use std::rc::Rc;

use chiwawa_format::{
    extern_kind, ArchivedGlobalType, ArchivedImportKind, ArchivedMemoryType, ArchivedModule,
    ArchivedTableType,
};

use super::engine::Engine;
use super::error::{Error, ErrorKind};
use super::types::{ExportType, ExternType, FuncType, ImportType, Limits, ValType};
use crate::CheckedImage;

/// A loaded and verified chiwawa image (`.cwi`). Cheap to clone; instantiate it with a
/// [`Linker`](super::Linker).
#[derive(Clone)]
pub struct Module {
    pub(crate) image: Rc<CheckedImage>,
}

impl Module {
    /// Loads an image from its bytes: header, checksum, archive structure and the verifier
    /// (function code now or on first call, by the engine's [`Config::verify`]).
    ///
    /// [`Config::verify`]: super::Config::verify
    pub fn new(engine: &Engine, image: &[u8]) -> Result<Module, Error> {
        let checked = crate::load_image(image, engine.verify_mode())
            .map_err(|e| Error::with_source(ErrorKind::Load, e.to_string(), e))?;
        Ok(Module {
            image: Rc::new(checked),
        })
    }

    /// A module of an image checked already (see [`crate::load_image`]; an image whose code is
    /// read from its file on demand comes this way).
    pub fn from_checked(image: CheckedImage) -> Module {
        Module {
            image: Rc::new(image),
        }
    }

    /// The checked image.
    pub fn image(&self) -> &CheckedImage {
        &self.image
    }

    /// Loads the image file at `path`; errors name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::with_source(ErrorKind::Io, format!("{}: {e}", path.display()), e)
        })?;
        Module::new(engine, &bytes).map_err(|e| {
            let message = format!("{}: {e}", path.display());
            Error::new(e.kind(), message)
        })
    }

    /// Translates a WebAssembly module (binary) to an image and loads it: what
    /// `chiwawa-translate` and then [`Module::new`] do.
    #[cfg(feature = "translate")]
    pub fn from_wasm(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
        let image = chiwawa_translator::translate(wasm, &Default::default())
            .map_err(|e| Error::with_source(ErrorKind::Translate, e.to_string(), e))?;
        Module::new(engine, &image)
    }

    fn archived(&self) -> &ArchivedModule {
        self.image.module()
    }

    fn func_type(&self, ty: u32) -> FuncType {
        match self.archived().types.get(ty as usize) {
            Some(t) => FuncType::from_codes(&t.params, &t.results),
            // The verifier refuses images with a type index out of range.
            None => FuncType::new([], []),
        }
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> Vec<ImportType> {
        self.archived()
            .imports
            .iter()
            .map(|import| ImportType {
                module: import.module.to_string(),
                name: import.name.to_string(),
                ty: match &import.kind {
                    ArchivedImportKind::Func(ty) => {
                        ExternType::Func(self.func_type(ty.to_native()))
                    }
                    ArchivedImportKind::Table(t) => table_type(t),
                    ArchivedImportKind::Memory(m) => memory_type(m),
                    ArchivedImportKind::Global(g) => global_type(g),
                },
            })
            .collect()
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> Vec<ExportType> {
        let module = self.archived();
        // The table, memory and global index spaces: imports first, then the module's own.
        let imports = self.imports();
        let imported = |pick: fn(&ExternType) -> bool| -> Vec<ExternType> {
            imports
                .iter()
                .filter(|i| pick(&i.ty))
                .map(|i| i.ty.clone())
                .collect()
        };
        let mut tables = imported(|t| matches!(t, ExternType::Table { .. }));
        tables.extend(module.tables.iter().map(table_type));
        let mut memories = imported(|t| matches!(t, ExternType::Memory(_)));
        memories.extend(module.memories.iter().map(memory_type));
        let mut globals = imported(|t| matches!(t, ExternType::Global { .. }));
        globals.extend(module.globals.iter().map(|g| global_type(&g.ty)));
        module
            .exports
            .iter()
            .filter_map(|export| {
                let i = export.index.to_native() as usize;
                let ty = match export.kind {
                    extern_kind::FUNC => {
                        ExternType::Func(self.func_type(module.func_types.get(i)?.to_native()))
                    }
                    extern_kind::TABLE => tables.get(i)?.clone(),
                    extern_kind::MEMORY => memories.get(i)?.clone(),
                    _ => globals.get(i)?.clone(),
                };
                Some(ExportType {
                    name: export.name.to_string(),
                    ty,
                })
            })
            .collect()
    }
}

fn limits(min: u32, max: Option<u32>) -> Limits {
    Limits { min, max }
}

fn table_type(t: &ArchivedTableType) -> ExternType {
    ExternType::Table {
        elem: ValType::from_raw(t.elem),
        limits: limits(t.min.to_native(), t.max.as_ref().map(|m| m.to_native())),
    }
}

fn memory_type(m: &ArchivedMemoryType) -> ExternType {
    ExternType::Memory(limits(
        m.min.to_native(),
        m.max.as_ref().map(|m| m.to_native()),
    ))
}

fn global_type(g: &ArchivedGlobalType) -> ExternType {
    ExternType::Global {
        ty: ValType::from_raw(g.ty),
        mutable: g.mutable,
    }
}
