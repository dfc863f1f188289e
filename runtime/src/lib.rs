//! The chiwawa runtime: loads a `.cwi` image, checks it, and executes its register code in place.
#![warn(missing_docs)]

pub mod api;
pub mod checkpoint;
pub mod component;
pub mod driver;
pub mod exec;
pub mod flamegraph;
pub mod hooks;
pub mod instance;
pub mod meter;
#[cfg(feature = "op-stats")]
mod opstats;
pub mod profile;
pub mod store;
pub mod trap;
pub mod value;
pub mod verify;
pub mod wasi;

use std::rc::Rc;

use chiwawa_format::{ArchivedModule, ImageError, LoadedImage};

pub use api::{
    Caller, Config, Engine, Error, ErrorKind, ExportType, Extern, ExternType, Func, FuncType,
    Global, ImportType, Instance, Limits, Linker, Memory, Module, Store, Table, TypedFunc, ValType,
};
pub use instance::InstantiateError;
pub use store::HostNote;
pub use trap::{Trap, TrapKind};
pub use value::Val;
pub use verify::VerifyError;

/// Why an image cannot be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The header, checksum or archive is wrong.
    Image(ImageError),
    /// The verifier refused the module or a function's code.
    Verify(VerifyError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Image(e) => write!(f, "{e}"),
            LoadError::Verify(e) => write!(f, "invalid image code: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// When the verifier checks function code (the module's structure is always checked at load).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerifyMode {
    /// Every function's code at load, before anything is instantiated.
    Eager,
    /// Each function's code the first time it is entered (`Instance::ensure_verified`), so
    /// start-up does not pay for code that never runs. A function that fails is never run:
    /// entering it is the trap [`TrapKind::InvalidCode`].
    #[default]
    Lazy,
}

/// An image that passed the load-time checks: header, checksum, bytecheck and the verifier's
/// module checks, plus (eager mode) every function's code. Only a `CheckedImage` can be
/// instantiated; in lazy mode the instance verifies each function before its first instruction.
pub struct CheckedImage {
    image: Rc<LoadedImage>,
    pub(crate) spaces: Rc<verify::Spaces>,
    /// Whether every function's code has passed the verifier already.
    pub(crate) code_verified: bool,
}

impl CheckedImage {
    /// The loaded image.
    pub fn image(&self) -> &Rc<LoadedImage> {
        &self.image
    }

    /// The image's module (its archive, read in place).
    pub fn module(&self) -> &ArchivedModule {
        self.image.module()
    }

    /// Whether function code was verified at load (eager) or is verified on first entry.
    pub fn mode(&self) -> VerifyMode {
        if self.code_verified {
            VerifyMode::Eager
        } else {
            VerifyMode::Lazy
        }
    }
}

/// An image file as the source of its code ([`LoadedImage::from_head`]): code groups are read
/// from it at their offsets, with no shared file position.
pub struct FileCode(pub std::fs::File);

impl chiwawa_format::CodeSource for FileCode {
    unsafe fn read_exact_at(&self, dst: *mut u8, len: usize, offset: u64) -> std::io::Result<()> {
        #[cfg(target_os = "wasi")]
        {
            use std::os::fd::AsRawFd;
            let fd = self.0.as_raw_fd() as ::wasi::Fd;
            let mut done = 0;
            while done < len {
                let iov = [::wasi::Iovec {
                    buf: dst.wrapping_add(done),
                    buf_len: len - done,
                }];
                // SAFETY: the iovec covers the rest of `dst`, which the caller made valid for
                // writes; the host writes only there.
                match unsafe { ::wasi::fd_pread(fd, &iov, offset + done as u64) } {
                    Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => done += n,
                    Err(::wasi::ERRNO_INTR) => {}
                    Err(e) => return Err(std::io::Error::from_raw_os_error(e.raw() as i32)),
                }
            }
            Ok(())
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            // SAFETY: natively `LoadedImage` hands out zeroed (initialized) memory here, valid
            // for `len` bytes (the caller's guarantee).
            let buf = unsafe { std::slice::from_raw_parts_mut(dst, len) };
            self.0.read_exact_at(buf, offset)
        }
        #[cfg(not(any(unix, target_os = "wasi")))]
        {
            use std::io::{Read, Seek};
            // SAFETY: as for unix.
            let buf = unsafe { std::slice::from_raw_parts_mut(dst, len) };
            let mut file = &self.0;
            file.seek(std::io::SeekFrom::Start(offset))?;
            file.read_exact(buf)
        }
    }
}

/// Checks an image: header, checksum, archive structure, then the verifier (function code now
/// or at first entry, by `mode`). Only a checked image may be instantiated.
pub fn load_image(bytes: &[u8], mode: VerifyMode) -> Result<CheckedImage, LoadError> {
    verify_image(check_image(bytes)?, mode)
}

/// The first half of [`load_image`]: header, checksum and bytecheck, not the verifier.
pub fn check_image(bytes: &[u8]) -> Result<LoadedImage, LoadError> {
    LoadedImage::from_bytes(bytes).map_err(LoadError::Image)
}

/// The second half of [`load_image`]: the verifier.
pub fn verify_image(image: LoadedImage, mode: VerifyMode) -> Result<CheckedImage, LoadError> {
    let module = image.module();
    let spaces = verify::verify_structure(module).map_err(LoadError::Verify)?;
    if mode == VerifyMode::Eager {
        // All the code at once: one read of the whole code region for a file-backed image.
        image.ensure_all_code().map_err(LoadError::Image)?;
        let mut scratch = verify::Scratch::default();
        for defined in 0..module.funcs.len() {
            verify::verify_code_with(&image, &spaces, defined, &mut scratch)
                .map_err(LoadError::Verify)?;
        }
    }
    Ok(CheckedImage {
        image: Rc::new(image),
        spaces: Rc::new(spaces),
        code_verified: mode == VerifyMode::Eager,
    })
}

#[cfg(test)]
mod lazy_tests {
    use super::*;
    use crate::store::{Extern, Store};
    use chiwawa_format::{extern_kind, features, write_image, Export, Func, FuncType, Module, Op};

    /// A module of functions of type `[] -> []` with frames of one slot, `codes` their code.
    fn module(codes: Vec<Vec<u32>>, exports: Vec<Export>) -> Module {
        Module {
            types: vec![FuncType {
                params: vec![],
                results: vec![],
            }],
            func_types: vec![0; codes.len()],
            funcs: codes
                .into_iter()
                .map(|code| Func {
                    ty: 0,
                    num_locals: 0,
                    frame_size: 1,
                    consts: Vec::new(),
                    code: chiwawa_format::encode(&code).expect("test code encodes"),
                    ..Func::default()
                })
                .collect(),
            exports,
            ..Module::default()
        }
    }

    /// `good` calls `bad`, whose code writes slot 1000 of a 1-slot frame; `never` is as bad and
    /// never called; `leaf` is fine.
    fn image() -> Vec<u8> {
        let ret = [Op::Return as u32, 0, 0];
        let bad = [&[Op::Copy as u32, 1000, 0][..], &ret].concat();
        let export = |name: &str, index| Export {
            name: name.into(),
            kind: extern_kind::FUNC,
            index,
        };
        let mut module = module(
            vec![
                [&[Op::Call as u32, 1, 0][..], &ret].concat(),
                bad.clone(),
                bad,
                ret.to_vec(),
                [&[Op::Call as u32, 3, 0][..], &ret].concat(),
            ],
            vec![
                export("good", 0),
                export("never", 2),
                export("leaf", 3),
                export("calls_leaf", 4),
            ],
        );
        write_image(&mut module, 1, features::WASM2, 0, 0).unwrap()
    }

    fn call(store: &mut Store, name: &str) -> Result<Vec<Val>, Trap> {
        match store.export(0, name) {
            Some(Extern::Func(f)) => store.invoke(f, &[]),
            _ => panic!("no export {name}"),
        }
    }

    #[test]
    fn eager_mode_refuses_the_image_at_load() {
        match load_image(&image(), VerifyMode::Eager) {
            Err(LoadError::Verify(e)) => assert!(
                e.0.starts_with("function 1 (defined 1): unit 0: slot 1000 out of frame"),
                "{e}"
            ),
            other => panic!("expected a verify error, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn lazy_mode_verifies_each_function_on_first_entry() {
        let image = load_image(&image(), VerifyMode::Lazy).expect("the structure is fine");
        assert_eq!(image.mode(), VerifyMode::Lazy);
        let mut store = Store::new();
        store.instantiate(&image, &mut |_, _, _| None).unwrap();
        assert_eq!(store.instances[0].verified_functions(), 0);

        assert_eq!(call(&mut store, "calls_leaf"), Ok(vec![]));
        assert_eq!(store.instances[0].verified_functions(), 2);
        assert_eq!(call(&mut store, "calls_leaf"), Ok(vec![]));

        // Entering `bad` from `good` (inside the interpreter) is refused before it runs.
        let trap = call(&mut store, "good").unwrap_err();
        let TrapKind::InvalidCode(msg) = &trap.kind else {
            panic!("expected InvalidCode, got {trap}")
        };
        assert!(
            msg.starts_with("function 1 (defined 1): unit 0: slot 1000 out of frame (size 1)"),
            "{msg}"
        );
        let text = trap.to_string();
        assert!(text.starts_with("invalid image code: function 1"), "{text}");
        // Refused every time, not only the first.
        assert!(matches!(
            call(&mut store, "good").unwrap_err().kind,
            TrapKind::InvalidCode(_)
        ));
        // Entering a bad function from outside is refused too.
        assert!(matches!(
            call(&mut store, "never").unwrap_err().kind,
            TrapKind::InvalidCode(_)
        ));
        assert_eq!(store.instances[0].verified_functions(), 3);
    }

    #[test]
    fn eager_images_need_no_verification_on_entry() {
        let image = load_image(&image(), VerifyMode::Lazy).unwrap();
        assert_eq!(image.module().funcs.len(), 5);
        // Only the fine functions: `leaf` and `calls_leaf` become functions 0 and 1.
        let mut module = module(
            vec![
                vec![Op::Return as u32, 0, 0],
                vec![Op::Call as u32, 0, 0, Op::Return as u32, 0, 0],
            ],
            vec![],
        );
        let bytes = write_image(&mut module, 1, features::WASM2, 0, 0).unwrap();
        let image = load_image(&bytes, VerifyMode::Eager).unwrap();
        assert_eq!(image.mode(), VerifyMode::Eager);
        let mut store = Store::new();
        store.instantiate(&image, &mut |_, _, _| None).unwrap();
        assert_eq!(store.instances[0].verified_functions(), 2);
    }
}
