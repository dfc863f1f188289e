//! Component images: a WebAssembly component translated into its core modules (each a module
//! image) and the table that links their instances, with the component-level types of what it
//! imports (for the canonical ABI's lifting and lowering in the runtime).
//!
//! File layout: [`COMPONENT_MAGIC`], the format version (u32 LE), the translator version (u32
//! LE), the xxh3-128 hash of the component's Wasm (u128 LE, for the cache), the archive's length
//! (u64 LE), the xxh3 checksum of the archive (u64 LE), then the rkyv archive of a
//! [`Component`]. Read once at start-up: the runtime checks it (bytecheck), deserializes it, and
//! checks each module image inside as any image.

use rkyv::{Archive, Deserialize, Serialize};

/// The first 8 bytes of a component image (a module image starts with [`crate::MAGIC`]).
pub const COMPONENT_MAGIC: [u8; 8] = *b"CHIWACMP";
/// The component image layout this crate writes and reads.
pub const COMPONENT_FORMAT_VERSION: u32 = 1;
/// The header's length: magic, format version, translator version, source hash, archive
/// length, checksum.
pub const COMPONENT_HEADER_LEN: usize = 48;

/// A component value type of the canonical ABI. Types refer to others by index into
/// [`Component::types`], always to a smaller index (so the table has no cycles).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ValType {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    List(u32),
    Record(Vec<Field>),
    Tuple(Vec<u32>),
    Variant(Vec<Case>),
    Enum(Vec<String>),
    Option(u32),
    Result {
        ok: Option<u32>,
        err: Option<u32>,
    },
    Flags(Vec<String>),
    /// An owned handle of a resource (index into [`Component::resources`]).
    Own(u32),
    /// A borrowed handle of a resource (index into [`Component::resources`]).
    Borrow(u32),
}

/// A record's field.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: u32,
}

/// A variant's case, with its payload type if it has one.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub ty: Option<u32>,
}

/// A resource type the component imports: the interface that defines it and its name there
/// (`wasi:io/streams@0.2.6`, `output-stream`).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub interface: String,
    pub name: String,
}

/// A component function type: its parameters' and result's types (indices into
/// [`Component::types`]).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<u32>,
    pub result: Option<u32>,
}

/// A function the component imports from its host, as its core modules call it.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HostFunc {
    /// The import's interface, as the component names it (`wasi:cli/stdout@0.2.6`).
    pub interface: String,
    /// The function's name in the interface (`get-stdout`, `[method]output-stream.write`).
    pub name: String,
    pub kind: HostKind,
}

/// How a host function is called from core code.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// `canon lower` of an imported function. With a memory (`adapter: true`) it is called
    /// through a generated adapter module that imports that memory (and `cabi_realloc` when
    /// `realloc`), so the host reads and writes the right memory; without, directly.
    Lower {
        sig: FuncSig,
        adapter: bool,
        realloc: bool,
    },
    /// `canon resource.drop` of an imported resource (index into [`Component::resources`]).
    ResourceDrop { resource: u32 },
}

/// One core instance, made in table order.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CoreInstance {
    /// The module (index into [`Component::modules`]).
    pub module: u32,
    /// What each of the module's imports is bound to, by `(module, name)`.
    pub args: Vec<Arg>,
}

/// One import of a core instance and what it is bound to.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    pub module: String,
    pub name: String,
    pub item: Item,
}

/// What a core import is bound to.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// An export of an instance made before this one.
    Export { instance: u32, name: String },
    /// A host function (index into [`Component::imports`]) called directly.
    Host { func: u32 },
    /// A step of an adapter's call of host function `func` (which has `adapter: true`).
    Canon { func: u32, part: CanonPart },
}

/// The steps of an adapter's call (see [`HostKind::Lower`]): `call` lifts the arguments and
/// runs the host function; while `need` returns an allocation (align << 32 | size, or -1 when
/// none is left) the adapter calls `cabi_realloc` and hands the pointer to `give`; `finish`
/// lowers the result into those allocations and returns the flat result.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanonPart {
    Call,
    Need,
    Give,
    Finish,
}

/// The command's entry point: `wasi:cli/run#run`, a core function lifted as
/// `func() -> result`.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub instance: u32,
    pub name: String,
    /// The core function to call after `run` returned (`post-return`), if any.
    pub post_return: Option<String>,
}

/// A translated component.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Component {
    /// Each core module as a complete module image (the component's own and the adapters).
    pub modules: Vec<Vec<u8>>,
    pub types: Vec<ValType>,
    pub resources: Vec<Resource>,
    pub imports: Vec<HostFunc>,
    pub instances: Vec<CoreInstance>,
    pub run: Option<Run>,
}

/// Whether `bytes` start like a component image (rather than a module image).
pub fn is_component_image(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..8] == COMPONENT_MAGIC
}

/// Serializes `component` into a component image.
pub fn write_component_image(
    component: &Component,
    translator_version: u32,
    source_hash: u128,
) -> Result<Vec<u8>, crate::ImageError> {
    let archive = rkyv::to_bytes::<rkyv::rancor::Error>(component)
        .map_err(|e| crate::ImageError::Serialize(e.to_string()))?;
    let mut out = Vec::with_capacity(COMPONENT_HEADER_LEN + archive.len());
    out.extend_from_slice(&COMPONENT_MAGIC);
    out.extend_from_slice(&COMPONENT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&translator_version.to_le_bytes());
    out.extend_from_slice(&source_hash.to_le_bytes());
    out.extend_from_slice(&(archive.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&archive).to_le_bytes());
    out.extend_from_slice(&archive);
    Ok(out)
}

/// The translator version and source hash in a component image's header (not checked).
pub fn component_header(bytes: &[u8]) -> Option<(u32, u128)> {
    if bytes.len() < COMPONENT_HEADER_LEN || !is_component_image(bytes) {
        return None;
    }
    let version = u32::from_le_bytes(bytes[12..16].try_into().ok()?);
    let hash = u128::from_le_bytes(bytes[16..32].try_into().ok()?);
    Some((version, hash))
}

/// Reads a component image: header, checksum, archive (bytecheck), then deserializes it. The
/// link table's indices are not checked here (the runtime's verifier does that), nor are the
/// module images inside (each is checked as a module image when loaded).
pub fn read_component_image(bytes: &[u8]) -> Result<Component, crate::ImageError> {
    use crate::ImageError;
    if bytes.len() < COMPONENT_HEADER_LEN {
        return Err(ImageError::Truncated { len: bytes.len() });
    }
    if !is_component_image(bytes) {
        return Err(ImageError::BadMagic);
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u32_at(8);
    if version != COMPONENT_FORMAT_VERSION {
        return Err(ImageError::Header(format!(
            "component image format version {version} is not supported (this runtime reads \
             version {COMPONENT_FORMAT_VERSION})"
        )));
    }
    let len = u64_at(32);
    let actual = (bytes.len() - COMPONENT_HEADER_LEN) as u64;
    if len != actual {
        return Err(ImageError::LengthMismatch {
            header: COMPONENT_HEADER_LEN as u64 + len,
            actual: bytes.len() as u64,
        });
    }
    let archive = &bytes[COMPONENT_HEADER_LEN..];
    if xxhash_rust::xxh3::xxh3_64(archive) != u64_at(40) {
        return Err(ImageError::Checksum);
    }
    // The archive needs its alignment: copied into an aligned buffer.
    let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(archive.len());
    aligned.extend_from_slice(archive);
    rkyv::from_bytes::<Component, rkyv::rancor::Error>(&aligned)
        .map_err(|e| ImageError::Archive(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageError;

    fn sample() -> Component {
        Component {
            modules: vec![vec![1, 2, 3]],
            types: vec![ValType::U8, ValType::List(0)],
            resources: vec![Resource {
                interface: "wasi:io/streams@0.2.6".into(),
                name: "input-stream".into(),
            }],
            imports: vec![],
            instances: vec![CoreInstance {
                module: 0,
                args: vec![],
            }],
            run: Some(Run {
                instance: 0,
                name: "run".into(),
                post_return: None,
            }),
        }
    }

    #[test]
    fn round_trip_and_header() {
        let bytes = write_component_image(&sample(), 0x0001_0203, 77).unwrap();
        assert!(is_component_image(&bytes));
        assert_eq!(component_header(&bytes), Some((0x0001_0203, 77)));
        assert_eq!(read_component_image(&bytes).unwrap(), sample());
    }

    #[test]
    fn damage_is_refused() {
        let bytes = write_component_image(&sample(), 1, 2).unwrap();
        assert!(matches!(
            read_component_image(&bytes[..10]),
            Err(ImageError::Truncated { len: 10 })
        ));
        assert!(matches!(
            read_component_image(&bytes[..bytes.len() - 1]),
            Err(ImageError::LengthMismatch { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(
            read_component_image(&bad),
            Err(ImageError::BadMagic)
        ));
        let mut bad = bytes.clone();
        bad[8] = 9;
        assert!(
            matches!(read_component_image(&bad), Err(ImageError::Header(m)) if m.contains("version 9"))
        );
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            read_component_image(&bad),
            Err(ImageError::Checksum)
        ));
        // An archive that is not a component, with a checksum that matches it: bytecheck.
        let mut bad = bytes[..COMPONENT_HEADER_LEN].to_vec();
        let junk = vec![0xffu8; 64];
        bad[32..40].copy_from_slice(&(junk.len() as u64).to_le_bytes());
        bad[40..48].copy_from_slice(&xxhash_rust::xxh3::xxh3_64(&junk).to_le_bytes());
        bad.extend_from_slice(&junk);
        assert!(matches!(
            read_component_image(&bad),
            Err(ImageError::Archive(_))
        ));
    }
}
