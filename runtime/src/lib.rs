//! The chiwawa runtime: loads a `.cwi` image, checks it, and executes its register code in place.

pub mod driver;
pub mod exec;
pub mod instance;
pub mod store;
pub mod trap;
pub mod value;
pub mod verify;
pub mod wasi;

use chiwawa_format::{ImageError, LoadedImage};

pub use instance::InstantiateError;
pub use store::{Caller, Extern, HostFn, Memory, Store, Table};
pub use trap::{Trap, TrapKind};
pub use value::Val;
pub use verify::VerifyError;

/// Why an image cannot be loaded.
#[derive(Debug)]
pub enum LoadError {
    Image(ImageError),
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

/// Checks an image completely: header, checksum, archive structure, then the code verifier.
/// Only a verified image may be instantiated.
pub fn load_image(bytes: &[u8]) -> Result<LoadedImage, LoadError> {
    let image = LoadedImage::from_bytes(bytes).map_err(LoadError::Image)?;
    verify::verify_module(image.module()).map_err(LoadError::Verify)?;
    Ok(image)
}
