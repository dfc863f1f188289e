//! A module: a checked image, ready to be instantiated in any store of its engine.

use std::path::Path;
use std::rc::Rc;

use chiwawa_format::{extern_kind, ArchivedImportKind, ArchivedModule};

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
                    ArchivedImportKind::Table(t) => ExternType::Table {
                        elem: ValType::from_raw(t.elem),
                        limits: Limits {
                            min: t.min.to_native(),
                            max: t.max.as_ref().map(|m| m.to_native()),
                        },
                    },
                    ArchivedImportKind::Memory(m) => ExternType::Memory(Limits {
                        min: m.min.to_native(),
                        max: m.max.as_ref().map(|m| m.to_native()),
                    }),
                    ArchivedImportKind::Global(g) => ExternType::Global {
                        ty: ValType::from_raw(g.ty),
                        mutable: g.mutable,
                    },
                },
            })
            .collect()
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> Vec<ExportType> {
        let module = self.archived();
        let imports = self.imports();
        let imported = |pick: fn(&ExternType) -> bool| imports.iter().filter(move |i| pick(&i.ty));
        let nth_import = |pick: fn(&ExternType) -> bool, i: usize| imported(pick).nth(i);
        module
            .exports
            .iter()
            .filter_map(|export| {
                let i = export.index.to_native() as usize;
                let ty = match export.kind {
                    extern_kind::FUNC => {
                        let ty = module.func_types.get(i)?.to_native();
                        ExternType::Func(self.func_type(ty))
                    }
                    extern_kind::TABLE => {
                        let n = imported(|t| matches!(t, ExternType::Table { .. })).count();
                        match nth_import(|t| matches!(t, ExternType::Table { .. }), i) {
                            Some(import) => import.ty.clone(),
                            None => {
                                let t = module.tables.get(i - n)?;
                                ExternType::Table {
                                    elem: ValType::from_raw(t.elem),
                                    limits: Limits {
                                        min: t.min.to_native(),
                                        max: t.max.as_ref().map(|m| m.to_native()),
                                    },
                                }
                            }
                        }
                    }
                    extern_kind::MEMORY => {
                        let n = imported(|t| matches!(t, ExternType::Memory(_))).count();
                        match nth_import(|t| matches!(t, ExternType::Memory(_)), i) {
                            Some(import) => import.ty.clone(),
                            None => {
                                let m = module.memories.get(i - n)?;
                                ExternType::Memory(Limits {
                                    min: m.min.to_native(),
                                    max: m.max.as_ref().map(|m| m.to_native()),
                                })
                            }
                        }
                    }
                    _ => {
                        let n = imported(|t| matches!(t, ExternType::Global { .. })).count();
                        match nth_import(|t| matches!(t, ExternType::Global { .. }), i) {
                            Some(import) => import.ty.clone(),
                            None => {
                                let g = module.globals.get(i - n)?;
                                ExternType::Global {
                                    ty: ValType::from_raw(g.ty.ty),
                                    mutable: g.ty.mutable,
                                }
                            }
                        }
                    }
                };
                Some(ExportType {
                    name: export.name.to_string(),
                    ty,
                })
            })
            .collect()
    }
}
