//! The `.cwi` image: a fixed 64-byte header followed by an rkyv archive of [`Module`].
//!
//! Header (all little-endian):
//!
//! | bytes  | field                                                    |
//! |--------|----------------------------------------------------------|
//! | 0..8   | magic `CHIWAWA\0`                                        |
//! | 8..12  | format version                                           |
//! | 12..16 | translator version (major << 16 \| minor << 8 \| patch)  |
//! | 16..24 | Wasm feature set the module was validated with          |
//! | 24..28 | translation options                                      |
//! | 28..32 | reserved, zero                                           |
//! | 32..48 | xxh3-128 of the source module                            |
//! | 48..56 | payload length in bytes                                  |
//! | 56..64 | xxh3-64 over bytes 0..56 and the payload                 |
//!
//! The payload starts at byte 64, so a file read into a 16-aligned buffer gives the archive the
//! alignment rkyv needs.

use rkyv::rancor::BoxedError;
use rkyv::{Archive, Deserialize, Serialize};

pub const MAGIC: [u8; 8] = *b"CHIWAWA\0";
pub const FORMAT_VERSION: u32 = 4;
pub const HEADER_LEN: usize = 64;

/// Wasm feature bits an image can claim (the translator validates with exactly these).
pub mod features {
    pub const WASM2: u64 = 1 << 0;
    pub const TAIL_CALL: u64 = 1 << 1;
    pub const EXTENDED_CONST: u64 = 1 << 2;
    /// Everything this format version can execute.
    pub const SUPPORTED: u64 = WASM2 | TAIL_CALL | EXTENDED_CONST;
}

/// Value types, stored as their Wasm binary encoding.
pub mod valtype {
    pub const I32: u8 = 0x7f;
    pub const I64: u8 = 0x7e;
    pub const F32: u8 = 0x7d;
    pub const F64: u8 = 0x7c;
    pub const FUNCREF: u8 = 0x70;
    pub const EXTERNREF: u8 = 0x6f;
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    pub params: Vec<u8>,
    pub results: Vec<u8>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableType {
    pub elem: u8,
    pub min: u32,
    pub max: Option<u32>,
}

/// Limits in 64 KiB pages.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryType {
    pub min: u32,
    pub max: Option<u32>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalType {
    pub ty: u8,
    pub mutable: bool,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum ImportKind {
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

/// One step of a constant expression, evaluated on a small value stack.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConstExpr {
    pub ops: Vec<ConstOp>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Global {
    pub ty: GlobalType,
    pub init: ConstExpr,
}

/// A function defined by the module, in register code.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Func {
    /// Index into `Module::types`.
    pub ty: u32,
    /// Parameters plus declared locals: slots `0..num_locals`, zeroed on entry past the params.
    pub num_locals: u32,
    /// Slots the frame needs (locals, constants and temporaries).
    pub frame_size: u32,
    /// Constants the code reads as slots: written to slots `num_locals..num_locals + len` on
    /// entry, after the locals are zeroed, and never written by the code.
    pub consts: Vec<u64>,
    /// The code in units (see `isa`).
    pub code: Vec<u16>,
}

pub mod extern_kind {
    pub const FUNC: u8 = 0;
    pub const TABLE: u8 = 1;
    pub const MEMORY: u8 = 2;
    pub const GLOBAL: u8 = 3;
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Export {
    pub name: String,
    /// One of [`extern_kind`].
    pub kind: u8,
    pub index: u32,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum ElemMode {
    Passive,
    Active { table: u32, offset: ConstExpr },
    Declarative,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Elem {
    pub ty: u8,
    pub mode: ElemMode,
    pub items: Vec<ConstExpr>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum DataMode {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Data {
    pub mode: DataMode,
    pub bytes: Vec<u8>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FuncName {
    pub index: u32,
    pub name: String,
}

/// A translated module. Index spaces follow Wasm: imports first, then definitions.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Module {
    pub types: Vec<FuncType>,
    pub imports: Vec<Import>,
    /// Type index of every function, imported ones first.
    pub func_types: Vec<u32>,
    /// Defined functions (index `func_types.len() - funcs.len() + i`).
    pub funcs: Vec<Func>,
    pub tables: Vec<TableType>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<Global>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elems: Vec<Elem>,
    pub datas: Vec<Data>,
    /// Function names from the name section, sorted by index.
    pub func_names: Vec<FuncName>,
}

impl Module {
    pub fn num_imported_funcs(&self) -> u32 {
        (self.func_types.len() - self.funcs.len()) as u32
    }
}

impl ArchivedModule {
    /// Imported functions come first in the function index space. A verified module has
    /// `funcs.len() <= func_types.len()`; saturating keeps an unverified one from panicking.
    pub fn num_imported_funcs(&self) -> u32 {
        self.func_types.len().saturating_sub(self.funcs.len()) as u32
    }
}

/// The header fields a translator records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub format_version: u32,
    pub translator_version: u32,
    pub features: u64,
    pub options: u32,
    pub source_hash: u128,
    pub payload_len: u64,
    pub checksum: u64,
}

/// Packs a `major.minor.patch` version string (as from `CARGO_PKG_VERSION`).
pub fn pack_version(version: &str) -> u32 {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a.min(0xffff) << 16) | (b.min(0xff) << 8) | c.min(0xff)
}

pub fn version_string(packed: u32) -> String {
    format!(
        "{}.{}.{}",
        packed >> 16,
        (packed >> 8) & 0xff,
        packed & 0xff
    )
}

/// Why an image cannot be used.
#[derive(Debug)]
pub enum ImageError {
    Truncated { len: usize },
    BadMagic,
    FormatVersion(u32),
    Features(u64),
    LengthMismatch { header: u64, actual: usize },
    Checksum,
    Archive(String),
    Serialize(String),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Truncated { len } => {
                write!(f, "truncated image: {len} bytes, shorter than the {HEADER_LEN}-byte header")
            }
            ImageError::BadMagic => write!(f, "not a chiwawa image (bad magic)"),
            ImageError::FormatVersion(v) => write!(
                f,
                "image format version {v} is not supported (this runtime reads version {FORMAT_VERSION})"
            ),
            ImageError::Features(bits) => write!(f, "image needs unsupported features {bits:#x}"),
            ImageError::LengthMismatch { header, actual } => write!(
                f,
                "truncated or padded image: header says {header} payload bytes, file has {actual}"
            ),
            ImageError::Checksum => write!(f, "image checksum mismatch (the file is damaged)"),
            ImageError::Archive(msg) => write!(f, "malformed image archive: {msg}"),
            ImageError::Serialize(msg) => write!(f, "cannot serialize image: {msg}"),
        }
    }
}

impl std::error::Error for ImageError {}

fn checksum(header: &[u8], payload: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    hasher.update(&header[..56]);
    hasher.update(payload);
    hasher.digest()
}

/// Serializes `module` into a complete image (header + archive).
pub fn write_image(
    module: &Module,
    translator_version: u32,
    features: u64,
    options: u32,
    source_hash: u128,
) -> Result<Vec<u8>, ImageError> {
    // The archive is serialized straight into the image, after room for the header: every
    // position in it moves by HEADER_LEN, a multiple of every alignment the archive uses, and
    // its pointers are relative, so its bytes are the ones it has on its own. One buffer, of
    // about the right size from the start, instead of a growing archive and a copy of it.
    let mut out = Vec::with_capacity(HEADER_LEN + payload_len_estimate(module));
    out.resize(HEADER_LEN, 0);
    let mut out = rkyv::api::high::to_bytes_in::<_, BoxedError>(module, out)
        .map_err(|e| ImageError::Serialize(e.to_string()))?;
    let payload_len = (out.len() - HEADER_LEN) as u64;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&translator_version.to_le_bytes());
    header.extend_from_slice(&features.to_le_bytes());
    header.extend_from_slice(&options.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&source_hash.to_le_bytes());
    header.extend_from_slice(&payload_len.to_le_bytes());
    debug_assert_eq!(header.len(), 56);
    // The checksum covers header bytes 0..56 and then the payload: with those 56 bytes put
    // just before the payload (over the checksum's own place), the one-shot hash reads them
    // as one slice, which is faster than feeding the streaming hasher twice. Same value as
    // `checksum(&header, payload)`.
    out[8..HEADER_LEN].copy_from_slice(&header);
    let sum = xxhash_rust::xxh3::xxh3_64(&out[8..]);
    debug_assert_eq!(sum, checksum(&header, &out[HEADER_LEN..]));
    header.extend_from_slice(&sum.to_le_bytes());
    out[..HEADER_LEN].copy_from_slice(&header);
    Ok(out)
}

/// About the archive's length for `module`, a little more rather than less (a short estimate
/// only costs the buffer a reallocation): the bytes of its arrays and strings, and a generous
/// allowance for every record and its alignment padding.
fn payload_len_estimate(module: &Module) -> usize {
    const PER_ITEM: usize = 64;
    let funcs: usize = module
        .funcs
        .iter()
        .map(|f| f.code.len() * 2 + f.consts.len() * 8 + PER_ITEM)
        .sum();
    let types: usize = (module.types.iter())
        .map(|t| t.params.len() + t.results.len() + PER_ITEM)
        .sum();
    let imports: usize = (module.imports.iter())
        .map(|i| i.module.len() + i.name.len() + PER_ITEM)
        .sum();
    let exports: usize = (module.exports.iter())
        .map(|e| e.name.len() + PER_ITEM)
        .sum();
    let names: usize = (module.func_names.iter())
        .map(|n| n.name.len() + PER_ITEM)
        .sum();
    let const_expr = |c: &ConstExpr| c.ops.len() * 16 + PER_ITEM;
    let globals: usize = module.globals.iter().map(|g| const_expr(&g.init)).sum();
    let elems: usize = (module.elems.iter())
        .map(|e| e.items.iter().map(const_expr).sum::<usize>() + 2 * PER_ITEM)
        .sum();
    let datas: usize = module
        .datas
        .iter()
        .map(|d| d.bytes.len() + 2 * PER_ITEM)
        .sum();
    let rest = (module.func_types.len() * 4)
        + (module.tables.len() + module.memories.len()) * PER_ITEM
        + 4096;
    funcs + types + imports + exports + names + globals + elems + datas + rest
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads and checks the header: magic, version, features, length and checksum.
pub fn read_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let header = read_fields(bytes)?;
    if checksum(bytes, &bytes[HEADER_LEN..]) != header.checksum {
        return Err(ImageError::Checksum);
    }
    Ok(header)
}

/// [`read_header`] without the checksum: magic, version, features and length.
fn read_fields(bytes: &[u8]) -> Result<Header, ImageError> {
    if bytes.len() < HEADER_LEN {
        return Err(ImageError::Truncated { len: bytes.len() });
    }
    if bytes[..8] != MAGIC {
        return Err(ImageError::BadMagic);
    }
    let header = Header {
        format_version: le_u32(bytes, 8),
        translator_version: le_u32(bytes, 12),
        features: le_u64(bytes, 16),
        options: le_u32(bytes, 24),
        source_hash: u128::from_le_bytes(bytes[32..48].try_into().expect("16 bytes")),
        payload_len: le_u64(bytes, 48),
        checksum: le_u64(bytes, 56),
    };
    if header.format_version != FORMAT_VERSION {
        return Err(ImageError::FormatVersion(header.format_version));
    }
    if header.features & !features::SUPPORTED != 0 {
        return Err(ImageError::Features(header.features & !features::SUPPORTED));
    }
    let actual = bytes.len() - HEADER_LEN;
    if header.payload_len != actual as u64 {
        return Err(ImageError::LengthMismatch {
            header: header.payload_len,
            actual,
        });
    }
    Ok(header)
}

/// The checksum of a whole image (at least [`HEADER_LEN`] bytes), the same value as
/// [`checksum`]`(image, &image[HEADER_LEN..])`, computed in one pass of the one-shot hash, which
/// is faster than the streaming hasher: the 56 hashed header bytes are moved up over the
/// checksum field, so that they and the payload are one contiguous slice, and put back after.
/// `image` is unchanged on return.
fn checksum_in_place(image: &mut [u8]) -> u64 {
    let saved: [u8; HEADER_LEN] = image[..HEADER_LEN].try_into().expect("a whole header");
    image.copy_within(..56, 8);
    let sum = xxhash_rust::xxh3::xxh3_64(&image[8..]);
    image[..HEADER_LEN].copy_from_slice(&saved);
    sum
}

/// An image's bytes in memory, starting at a 16-aligned address (the alignment the archive
/// needs, as the payload starts at byte 64), read without zero-filling the buffer first.
///
/// A plain `Vec<u8>` whose first `start` bytes are padding: `Read::read_to_end` fills a `Vec`'s
/// spare capacity without zeroing it (for a file, the host writes straight into fresh pages), a
/// reader-agnostic way of avoiding the zero-fill that touches every page of a large image twice.
pub struct ImageBuf {
    bytes: Vec<u8>,
    /// Padding before the image: `bytes[start..]` starts 16-aligned.
    start: usize,
}

/// The alignment an image buffer starts at.
const IMAGE_ALIGN: usize = 16;

impl ImageBuf {
    /// An empty buffer with room for `len` bytes of image, the padding already pushed.
    fn with_capacity(len: usize) -> ImageBuf {
        let mut bytes: Vec<u8> = Vec::with_capacity(len.saturating_add(IMAGE_ALIGN));
        // The allocation is at least IMAGE_ALIGN bytes long, so the padding fits without moving it.
        let start = bytes
            .as_ptr()
            .align_offset(IMAGE_ALIGN)
            .min(IMAGE_ALIGN - 1);
        bytes.resize(start, 0);
        ImageBuf { bytes, start }
    }

    /// A copy of `image` in a new aligned buffer.
    pub fn copy_of(image: &[u8]) -> ImageBuf {
        let mut buf = ImageBuf::with_capacity(image.len());
        buf.bytes.extend_from_slice(image);
        buf.realign()
    }

    /// Makes sure the image starts aligned: a `Vec` that grew past its first allocation may have
    /// moved to an address with another alignment, then the image is copied once more.
    fn realign(self) -> ImageBuf {
        if self.is_aligned() {
            return self;
        }
        let image = &self.bytes[self.start..];
        let mut buf = ImageBuf::with_capacity(image.len());
        buf.bytes.extend_from_slice(image);
        debug_assert!(buf.is_aligned());
        buf
    }

    fn is_aligned(&self) -> bool {
        self.bytes[self.start..].as_ptr().align_offset(IMAGE_ALIGN) == 0
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..]
    }
}

impl std::ops::Deref for ImageBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Reads a whole image from `reader` straight into an aligned buffer, for
/// [`LoadedImage::from_aligned`]; `size_hint` is the file's length if known (0 if not).
///
/// This saves [`LoadedImage::from_bytes`]' copy, and writes every byte of the buffer once: the
/// buffer is not zero-filled before the read (see [`ImageBuf`]). In a Wasm host, where the first
/// touch of a fresh page of linear memory is what a large read mostly costs, that halves the
/// pages touched.
pub fn read_aligned(reader: &mut impl std::io::Read, size_hint: u64) -> std::io::Result<ImageBuf> {
    // One allocation of the right size (a wrong hint only costs a reallocation and a copy).
    let hint = usize::try_from(size_hint.min(u32::MAX as u64)).unwrap_or(0);
    let mut buf = ImageBuf::with_capacity(hint);
    reader.read_to_end(&mut buf.bytes)?;
    Ok(buf.realign())
}

/// An image held in one aligned buffer, its header and archive checked.
///
/// Invariant: `buf[HEADER_LEN..]` passed rkyv's bytecheck as an `ArchivedModule` when the
/// `LoadedImage` was built, and `buf` is never mutated afterwards, so `module()` may skip the check.
pub struct LoadedImage {
    buf: ImageBuf,
    header: Header,
}

impl LoadedImage {
    /// Copies `bytes` into an aligned buffer and checks it (header, checksum, bytecheck).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ImageError> {
        Self::from_aligned(ImageBuf::copy_of(bytes))
    }

    /// Checks an image that is already in an aligned buffer.
    pub fn from_aligned(mut buf: ImageBuf) -> Result<Self, ImageError> {
        let header = read_fields(&buf)?;
        if checksum_in_place(buf.as_mut_slice()) != header.checksum {
            return Err(ImageError::Checksum);
        }
        rkyv::access::<ArchivedModule, BoxedError>(&buf[HEADER_LEN..])
            .map_err(|e| ImageError::Archive(e.to_string()))?;
        Ok(LoadedImage { buf, header })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn module(&self) -> &ArchivedModule {
        // SAFETY: the payload passed `rkyv::access` (bytecheck) in `from_aligned`, and `buf` is
        // private and never mutated after that (see the type's invariant).
        unsafe { rkyv::access_unchecked::<ArchivedModule>(&self.buf[HEADER_LEN..]) }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Module {
        Module {
            types: vec![FuncType {
                params: vec![valtype::I32],
                results: vec![valtype::I64],
            }],
            func_types: vec![0],
            funcs: vec![Func {
                ty: 0,
                num_locals: 1,
                frame_size: 2,
                consts: vec![],
                code: vec![1, 2, 3],
            }],
            exports: vec![Export {
                name: "f".into(),
                kind: extern_kind::FUNC,
                index: 0,
            }],
            ..Module::default()
        }
    }

    #[test]
    fn image_round_trips() {
        let bytes = write_image(&sample(), pack_version("0.1.0"), features::WASM2, 0, 7).unwrap();
        let image = LoadedImage::from_bytes(&bytes).unwrap();
        assert_eq!(image.header().source_hash, 7);
        assert_eq!(image.module().funcs[0].code.len(), 3);
        assert_eq!(image.module().exports[0].name.as_str(), "f");
    }

    #[test]
    fn read_aligned_reads_everything_whatever_the_hint() {
        let bytes = write_image(&sample(), 1, features::WASM2, 0, 7).unwrap();
        for hint in [
            0,
            1,
            bytes.len() as u64,
            bytes.len() as u64 + 100,
            u64::MAX >> 40,
        ] {
            let buf = read_aligned(&mut bytes.as_slice(), hint).unwrap();
            assert_eq!(&buf[..], &bytes[..], "hint {hint}");
            let image = LoadedImage::from_aligned(buf).unwrap();
            assert_eq!(image.module().funcs[0].code.len(), 3);
        }
    }

    #[test]
    fn the_one_pass_checksum_is_the_header_checksum() {
        let mut module = sample();
        for n in [0, 1, 40, 300, 5000] {
            module.funcs[0].code = (0..n).collect();
            let mut bytes = write_image(&module, 1, features::WASM2, 0, 7).unwrap();
            let before = bytes.clone();
            let header = read_header(&bytes).unwrap();
            assert_eq!(checksum_in_place(&mut bytes), header.checksum, "{n} units");
            assert_eq!(bytes, before, "the image is put back");
        }
    }

    #[test]
    fn image_buffers_start_aligned_and_hold_the_image() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for len in [0, 1, 15, 16, 17, 999, 1000] {
            let buf = ImageBuf::copy_of(&bytes[..len]);
            assert_eq!(&buf[..], &bytes[..len]);
            assert!(buf.is_aligned());
        }
        // A buffer whose image starts misaligned (as after a reallocation) is copied aligned.
        let mut moved = ImageBuf::with_capacity(100);
        moved.start = if moved.start == 0 { 1 } else { moved.start - 1 };
        moved.bytes.resize(moved.start, 0);
        moved.bytes.extend_from_slice(&bytes[..100]);
        assert!(!moved.is_aligned());
        let buf = moved.realign();
        assert!(buf.is_aligned());
        assert_eq!(&buf[..], &bytes[..100]);
    }

    #[test]
    fn damage_is_detected() {
        let bytes = write_image(&sample(), 1, features::WASM2, 0, 7).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(
                LoadedImage::from_bytes(&bad).is_err(),
                "flip at {i} accepted"
            );
        }
        assert!(matches!(
            LoadedImage::from_bytes(&bytes[..bytes.len() - 1]),
            Err(ImageError::LengthMismatch { .. })
        ));
        assert!(matches!(
            LoadedImage::from_bytes(&bytes[..10]),
            Err(ImageError::Truncated { .. })
        ));
    }
}
