//! The `.cwi` image: a fixed 80-byte header, an rkyv archive of [`Module`], and the code region.
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
//! | 28..32 | length of the code region in 16-bit units                |
//! | 32..48 | xxh3-128 of the source module                            |
//! | 48..56 | archive length in bytes                                  |
//! | 56..64 | ISA fingerprint ([`ISA_FINGERPRINT`](crate::ISA_FINGERPRINT)) |
//! | 64..72 | reserved, zero                                           |
//! | 72..80 | xxh3-64 over bytes 0..72 and the archive                 |
//!
//! The offsets are [`header_at`]'s. The archive starts at byte 80, so a file read into a 16-aligned buffer gives it the
//! alignment rkyv needs. Zero padding to a multiple of 16 follows it, then the code region: the
//! register code of every defined function, in order, as little-endian 16-bit units. The archive
//! holds everything else, and where each function's code lies in the region.
//!
//! The region is cut into groups of consecutive functions (about [`GROUP_UNITS`] units each);
//! the archive holds each group's xxh3-64. A runtime can read the header and archive at start and
//! each group of code when one of its functions is first entered: start-up then reads and checks
//! only the metadata, and a run reads only the code it uses.

use rkyv::rancor::BoxedError;
use rkyv::{Archive, Deserialize, Serialize};

pub const MAGIC: [u8; 8] = *b"CHIWAWA\0";
pub const FORMAT_VERSION: u32 = 8;
pub const HEADER_LEN: usize = 80;

/// Where each header field starts (see the table above), for tools that inspect or craft images.
pub mod header_at {
    pub const FORMAT_VERSION: usize = 8;
    pub const TRANSLATOR_VERSION: usize = 12;
    pub const FEATURES: usize = 16;
    pub const OPTIONS: usize = 24;
    pub const CODE_UNITS: usize = 28;
    pub const SOURCE_HASH: usize = 32;
    pub const PAYLOAD_LEN: usize = 48;
    pub const ISA: usize = 56;
    pub const RESERVED: usize = 64;
    /// The checksum covers every byte before it, then the archive.
    pub const CHECKSUM: usize = 72;
}

/// The code region is cut into groups of consecutive functions of at most this many units
/// (16 KiB) each, or of one function if it is longer: the unit in which a runtime reads code from
/// the file and checks its hash. Small enough that a run reads little code it does not use, large
/// enough that a read's fixed cost (a host call) is small against its pages.
pub const GROUP_UNITS: usize = 8192;

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
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
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
    /// The code in units (see `isa`). Not part of the archive: [`write_image`] puts it in the code
    /// region and sets `group`, `code_start` and `code_len` (a loaded image reads it through
    /// [`LoadedImage::func_code`]).
    #[rkyv(with = rkyv::with::Skip)]
    pub code: Vec<u16>,
    /// The code group holding the code (index into `Module::code_groups`).
    pub group: u32,
    /// The code's first unit in the code region.
    pub code_start: u32,
    /// The code's length in units.
    pub code_len: u32,
}

/// Consecutive functions' code in the code region: units `start..start + len`, and the xxh3-64 of
/// those `2 * len` bytes.
#[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CodeGroup {
    pub start: u32,
    pub len: u32,
    pub hash: u64,
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
    /// The code region's groups, in order, covering it (set by [`write_image`]).
    pub code_groups: Vec<CodeGroup>,
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
    /// The archive's length in bytes.
    pub payload_len: u64,
    /// The instruction set the code is written in ([`ISA_FINGERPRINT`](crate::ISA_FINGERPRINT)
    /// of the translator that wrote it).
    pub isa: u64,
    pub checksum: u64,
    /// The code region's length in units.
    pub code_units: u32,
}

impl Header {
    /// Header and archive: the bytes the checksum covers, and all a runtime reads at start.
    pub fn head_len(&self) -> u64 {
        HEADER_LEN as u64 + self.payload_len
    }

    /// Where the code region starts in the file: after the archive, padded to 16 bytes.
    pub fn code_offset(&self) -> u64 {
        self.head_len().div_ceil(16) * 16
    }

    /// The image file's length.
    pub fn file_len(&self) -> u64 {
        self.code_offset() + code_bytes(self.code_units)
    }
}

/// The bytes of `units` code units, in `u64`: the region's length or an offset in it, before
/// `to_index` makes it an index.
pub fn code_bytes(units: u32) -> u64 {
    2 * u64::from(units)
}

/// A byte count or offset of the image as an index of this platform. [`read_fields`] refuses an
/// image whose length does not fit (`usize` is 32 bits in a Wasm build), so for every length and
/// offset inside a checked image this is exact; anything else is an error, never a wrapped value.
fn to_index(bytes: u64) -> Result<usize, ImageError> {
    usize::try_from(bytes)
        .ok()
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or(ImageError::TooLarge { len: bytes })
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
    Truncated {
        len: usize,
    },
    BadMagic,
    FormatVersion(u32),
    /// The code is in another build's instruction set (its fingerprint).
    Isa(u64),
    /// A header field that no version of the format writes.
    Header(String),
    Features(u64),
    LengthMismatch {
        header: u64,
        actual: u64,
    },
    Checksum,
    /// A group of the code region does not match its hash.
    CodeChecksum {
        group: usize,
    },
    Archive(String),
    /// The image is longer than this platform can address (a 32-bit Wasm build: 2 GiB).
    TooLarge {
        len: u64,
    },
    Serialize(String),
    /// Reading the file failed.
    Io(String),
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
            ImageError::Isa(found) => write!(
                f,
                "image was written for another instruction set (fingerprint {found:016x}; this \
                 runtime executes {:016x}): translate the module again with this release",
                crate::ISA_FINGERPRINT
            ),
            ImageError::Header(msg) => write!(f, "malformed image header: {msg}"),
            ImageError::Features(bits) => write!(f, "image needs unsupported features {bits:#x}"),
            ImageError::LengthMismatch { header, actual } => write!(
                f,
                "truncated or padded image: the header says {header} bytes, the file has {actual}"
            ),
            ImageError::Checksum => write!(f, "image checksum mismatch (the file is damaged)"),
            ImageError::CodeChecksum { group } => write!(
                f,
                "image code checksum mismatch in code group {group} (the file is damaged)"
            ),
            ImageError::Archive(msg) => write!(f, "malformed image archive: {msg}"),
            ImageError::TooLarge { len } => write!(
                f,
                "image of {len} bytes is larger than this runtime can address ({} bits)",
                usize::BITS
            ),
            ImageError::Serialize(msg) => write!(f, "cannot serialize image: {msg}"),
            ImageError::Io(msg) => write!(f, "cannot read image: {msg}"),
        }
    }
}

impl std::error::Error for ImageError {}

fn checksum(header: &[u8], payload: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    hasher.update(&header[..header_at::CHECKSUM]);
    hasher.update(payload);
    hasher.digest()
}

/// Cuts the code region into groups and sets every function's place in it (`group`,
/// `code_start`, `code_len`) and `module.code_groups` (hashes included); returns the region's
/// bytes.
fn lay_out_code(module: &mut Module) -> Result<Vec<u8>, ImageError> {
    let total: usize = module.funcs.iter().map(|f| f.code.len()).sum();
    if u32::try_from(total).is_err() {
        return Err(ImageError::Serialize(format!(
            "{total} code units, more than an image holds (2^32 - 1)"
        )));
    }
    let mut region: Vec<u8> = Vec::with_capacity(2 * total);
    let mut groups: Vec<CodeGroup> = Vec::new();
    let mut open = CodeGroup::default();
    for f in &mut module.funcs {
        let len = f.code.len();
        if len > 0 && open.len > 0 && open.len as usize + len > GROUP_UNITS {
            groups.push(open);
            open = CodeGroup {
                start: open.start + open.len,
                ..CodeGroup::default()
            };
        }
        f.group = groups.len() as u32;
        f.code_start = open.start + open.len;
        f.code_len = len as u32;
        open.len += len as u32;
        let at = region.len();
        region.resize(at + 2 * len, 0);
        for (bytes, unit) in region[at..].chunks_exact_mut(2).zip(&f.code) {
            bytes.copy_from_slice(&unit.to_le_bytes());
        }
    }
    // The open group, if it holds code or a function (one without code, which only a crafted
    // module has: the verifier refuses it, but its image must still be well formed).
    if open.len > 0
        || module
            .funcs
            .last()
            .is_some_and(|f| f.group as usize == groups.len())
    {
        groups.push(open);
    }
    for g in &mut groups {
        let (start, len) = (2 * g.start as usize, 2 * g.len as usize);
        g.hash = xxhash_rust::xxh3::xxh3_64(&region[start..start + len]);
    }
    module.code_groups = groups;
    Ok(region)
}

/// Serializes `module` into a complete image (header, archive, code region). Sets the code
/// layout fields of `module` (see [`Func::code`]) on the way.
pub fn write_image(
    module: &mut Module,
    translator_version: u32,
    features: u64,
    options: u32,
    source_hash: u128,
) -> Result<Vec<u8>, ImageError> {
    let region = lay_out_code(module)?;
    // The archive is serialized straight into the image, after room for the header: every
    // position in it moves by HEADER_LEN, a multiple of every alignment the archive uses, and
    // its pointers are relative, so its bytes are the ones it has on its own. One buffer, of
    // about the right size from the start, instead of a growing archive and a copy of it.
    let mut out = Vec::with_capacity(HEADER_LEN + payload_len_estimate(module) + region.len());
    out.resize(HEADER_LEN, 0);
    let mut out = rkyv::api::high::to_bytes_in::<_, BoxedError>(&*module, out)
        .map_err(|e| ImageError::Serialize(e.to_string()))?;
    let payload_len = (out.len() - HEADER_LEN) as u64;
    let code_units = (region.len() / 2) as u32;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&translator_version.to_le_bytes());
    header.extend_from_slice(&features.to_le_bytes());
    header.extend_from_slice(&options.to_le_bytes());
    header.extend_from_slice(&code_units.to_le_bytes());
    header.extend_from_slice(&source_hash.to_le_bytes());
    header.extend_from_slice(&payload_len.to_le_bytes());
    header.extend_from_slice(&crate::ISA_FINGERPRINT.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    debug_assert_eq!(header.len(), header_at::CHECKSUM);
    // The checksum covers the header's bytes before it and then the archive: with those bytes
    // put just before the archive (over the magic and the checksum's own place), the one-shot
    // hash reads them as one slice, which is faster than feeding the streaming hasher twice.
    // Same value as `checksum(&header, archive)`.
    const AT: usize = HEADER_LEN - header_at::CHECKSUM;
    out[AT..HEADER_LEN].copy_from_slice(&header);
    let sum = xxhash_rust::xxh3::xxh3_64(&out[AT..]);
    debug_assert_eq!(sum, checksum(&header, &out[HEADER_LEN..]));
    header.extend_from_slice(&sum.to_le_bytes());
    out[..HEADER_LEN].copy_from_slice(&header);
    out.resize(out.len().div_ceil(16) * 16, 0);
    out.extend_from_slice(&region);
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
        .map(|f| f.consts.len() * 8 + PER_ITEM)
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

/// Reads and checks the header of a whole image: magic, version, features, length and checksum.
pub fn read_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let header = read_fields(bytes)?;
    check_len(&header, bytes.len() as u64)?;
    let head = &bytes[..to_index(header.head_len())?];
    if checksum(head, &head[HEADER_LEN..]) != header.checksum {
        return Err(ImageError::Checksum);
    }
    Ok(header)
}

/// The header's fields, with magic, version and features checked (at least the first
/// [`HEADER_LEN`] bytes of an image).
fn read_fields(bytes: &[u8]) -> Result<Header, ImageError> {
    if bytes.len() < HEADER_LEN {
        return Err(ImageError::Truncated { len: bytes.len() });
    }
    if bytes[..8] != MAGIC {
        return Err(ImageError::BadMagic);
    }
    let header = Header {
        format_version: le_u32(bytes, header_at::FORMAT_VERSION),
        translator_version: le_u32(bytes, header_at::TRANSLATOR_VERSION),
        features: le_u64(bytes, header_at::FEATURES),
        options: le_u32(bytes, header_at::OPTIONS),
        code_units: le_u32(bytes, header_at::CODE_UNITS),
        source_hash: u128::from_le_bytes(
            bytes[header_at::SOURCE_HASH..header_at::SOURCE_HASH + 16]
                .try_into()
                .expect("16 bytes"),
        ),
        payload_len: le_u64(bytes, header_at::PAYLOAD_LEN),
        isa: le_u64(bytes, header_at::ISA),
        checksum: le_u64(bytes, header_at::CHECKSUM),
    };
    if header.format_version != FORMAT_VERSION {
        return Err(ImageError::FormatVersion(header.format_version));
    }
    if header.isa != crate::ISA_FINGERPRINT {
        return Err(ImageError::Isa(header.isa));
    }
    let reserved = le_u64(bytes, header_at::RESERVED);
    if reserved != 0 {
        return Err(ImageError::Header(format!(
            "reserved field is {reserved:#x}, not zero"
        )));
    }
    if header.features & !features::SUPPORTED != 0 {
        return Err(ImageError::Features(header.features & !features::SUPPORTED));
    }
    // Keeps `head_len`, `code_offset` and `file_len` from overflowing: no file is that long.
    if header.payload_len > u64::from(u32::MAX) * 4 {
        return Err(ImageError::Archive(format!(
            "archive length {} is implausible",
            header.payload_len
        )));
    }
    // Every length and offset of the image is then an index of this platform ([`to_index`]).
    to_index(header.file_len())?;
    Ok(header)
}

/// Checks that the image is exactly as long as its header says.
fn check_len(header: &Header, actual: u64) -> Result<(), ImageError> {
    if header.file_len() != actual {
        return Err(ImageError::LengthMismatch {
            header: header.file_len(),
            actual,
        });
    }
    Ok(())
}

/// The checksum of header and archive (`head`, exactly [`Header::head_len`] bytes), the same
/// value as [`checksum`]`(head, &head[HEADER_LEN..])`, computed in one pass of the one-shot hash,
/// which is faster than the streaming hasher: the hashed header bytes are moved up over the
/// checksum field, so that they and the archive are one contiguous slice, and put back after.
/// `head` is unchanged on return.
fn checksum_in_place(head: &mut [u8]) -> u64 {
    const AT: usize = HEADER_LEN - header_at::CHECKSUM;
    let saved: [u8; HEADER_LEN] = head[..HEADER_LEN].try_into().expect("a whole header");
    head.copy_within(..header_at::CHECKSUM, AT);
    let sum = xxhash_rust::xxh3::xxh3_64(&head[AT..]);
    head[..HEADER_LEN].copy_from_slice(&saved);
    sum
}

/// Writes the checksum that header and archive of `image` have now into its header: for tools
/// and tests that craft images by changing header fields or archive bytes (a checksum is not
/// authentication; the runtime's checks after it are the boundary). `image` must hold at least
/// the header and the archive its header claims.
pub fn reseal(image: &mut [u8]) -> Result<(), ImageError> {
    if image.len() < HEADER_LEN {
        return Err(ImageError::Truncated { len: image.len() });
    }
    // A crafted header may claim any archive length: saturate, the check below refuses it.
    let head_len = (HEADER_LEN as u64).saturating_add(le_u64(image, header_at::PAYLOAD_LEN));
    let head_len = to_index(head_len)
        .ok()
        .filter(|&n| n <= image.len())
        .ok_or(ImageError::LengthMismatch {
            header: head_len,
            actual: image.len() as u64,
        })?;
    let sum = checksum_in_place(&mut image[..head_len]);
    image[header_at::CHECKSUM..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// An image's bytes in memory, starting at a 16-aligned address (the alignment the archive
/// needs, as the payload starts at byte 80), read without zero-filling the buffer first.
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

/// Reads the header and archive of an image file (the first [`Header::head_len`] bytes) into an
/// aligned buffer, for [`LoadedImage::from_head`]; `file_len` is the file's length.
///
/// The first read asks for up to [`FIRST_READ`] bytes, which holds the whole head of most
/// images, so that start-up is usually one read (each is a host call, costly in some hosts);
/// bytes past the head are dropped.
pub fn read_head(reader: &mut impl std::io::Read, file_len: u64) -> Result<ImageBuf, ImageError> {
    let io = |e: std::io::Error| ImageError::Io(e.to_string());
    let want = file_len.min(FIRST_READ as u64) as usize;
    let mut buf = ImageBuf::with_capacity(want);
    let start = buf.start;
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut *reader, want as u64),
        &mut buf.bytes,
    )
    .map_err(io)?;
    let got = buf.bytes.len() - start;
    if got < HEADER_LEN {
        return Err(ImageError::Truncated { len: got });
    }
    let header = read_fields(&buf.bytes[start..])?;
    check_len(&header, file_len)?;
    let head_len = to_index(header.head_len())?;
    if head_len <= got {
        buf.bytes.truncate(start + head_len);
    } else {
        buf.bytes.reserve_exact(head_len - got);
        let rest = (head_len - got) as u64;
        std::io::Read::read_to_end(&mut std::io::Read::take(reader, rest), &mut buf.bytes)
            .map_err(io)?;
        if buf.bytes.len() - start != head_len {
            return Err(ImageError::LengthMismatch {
                header: header.head_len(),
                actual: (buf.bytes.len() - start) as u64,
            });
        }
    }
    Ok(buf.realign())
}

/// How many bytes [`read_head`] reads first.
pub const FIRST_READ: usize = 64 * 1024;

/// Where an image's code comes from when it is not in memory: the image file, read on demand.
pub trait CodeSource {
    /// Reads exactly `len` bytes at byte `offset` of the image file into `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for writes of `len` bytes (it may be uninitialized); the
    /// implementation writes only there.
    unsafe fn read_exact_at(&self, dst: *mut u8, len: usize, offset: u64) -> std::io::Result<()>;
}

/// The code region of a file-backed image: one allocation of the region's size, whose groups are
/// written by reads from the file. Until a group is read its bytes are never looked at (on a Wasm
/// host the allocation is not touched at all, so unread code costs no memory pages).
struct Region {
    ptr: std::ptr::NonNull<u8>,
    layout: std::alloc::Layout,
}

impl Region {
    fn new(len: usize) -> Result<Region, ImageError> {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 16)
            .map_err(|e| ImageError::Io(format!("code region of {len} bytes: {e}")))?;
        // Natively the allocation is zeroed, so that the reader can take it as a byte slice (the
        // kernel's zero pages: no cost until read); in a Wasm host zeroing would touch every
        // page, so it is left uninitialized and written through `CodeSource`'s raw pointer.
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe {
            if cfg!(target_family = "wasm") {
                std::alloc::alloc(layout)
            } else {
                std::alloc::alloc_zeroed(layout)
            }
        };
        let ptr = std::ptr::NonNull::new(ptr)
            .ok_or_else(|| ImageError::Io(format!("out of memory for {len} bytes of code")))?;
        Ok(Region { ptr, layout })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `Region::new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

enum Code {
    /// In the image buffer, from this byte offset.
    InBuf(usize),
    /// Read on demand from `source` into `region`.
    Lazy {
        region: Region,
        source: Box<dyn CodeSource>,
        file_offset: u64,
    },
}

/// An image, its header and archive checked; its code checked (and, for a file-backed image,
/// read) one group at a time, on demand.
///
/// Invariants: the archive passed rkyv's bytecheck as an `ArchivedModule` and the code layout
/// passed [`check_layout`] when the `LoadedImage` was built, and neither the buffer nor the
/// region moves or changes afterwards, except that a group of a file-backed region is written
/// once, before its `checked` flag is set; code is only handed out from checked groups.
pub struct LoadedImage {
    buf: ImageBuf,
    header: Header,
    code: Code,
    /// Per code group: its bytes are in place and match its hash.
    checked: Box<[std::cell::Cell<bool>]>,
    /// Bytes of code read from the file so far.
    read_bytes: std::cell::Cell<u64>,
}

impl LoadedImage {
    /// Copies `bytes` (a whole image) into an aligned buffer and checks it (header, checksum,
    /// bytecheck, code layout). The code's hashes are checked group by group on first use.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ImageError> {
        Self::from_aligned(ImageBuf::copy_of(bytes))
    }

    /// Checks a whole image that is already in an aligned buffer.
    pub fn from_aligned(mut buf: ImageBuf) -> Result<Self, ImageError> {
        let header = read_fields(&buf)?;
        check_len(&header, buf.len() as u64)?;
        let (head_len, code_offset) = (
            to_index(header.head_len())?,
            to_index(header.code_offset())?,
        );
        if buf[head_len..code_offset].iter().any(|&b| b != 0) {
            return Err(ImageError::Archive(
                "non-zero padding after the archive".into(),
            ));
        }
        Self::check(buf.as_mut_slice(), &header)?;
        let image = LoadedImage::new(buf, header, Code::InBuf(code_offset));
        Ok(image)
    }

    /// Checks an image's header and archive (`head`, from [`read_head`]); its code is read from
    /// `source` group by group, on first use.
    pub fn from_head(mut head: ImageBuf, source: Box<dyn CodeSource>) -> Result<Self, ImageError> {
        let header = read_fields(&head)?;
        if head.len() as u64 != header.head_len() {
            return Err(ImageError::LengthMismatch {
                header: header.head_len(),
                actual: head.len() as u64,
            });
        }
        Self::check(head.as_mut_slice(), &header)?;
        let code = Code::Lazy {
            region: Region::new(to_index(code_bytes(header.code_units))?)?,
            source,
            file_offset: header.code_offset(),
        };
        Ok(LoadedImage::new(head, header, code))
    }

    /// Checksum, bytecheck and code layout of header and archive (`bytes` starts with them).
    fn check(bytes: &mut [u8], header: &Header) -> Result<(), ImageError> {
        let head = &mut bytes[..to_index(header.head_len())?];
        if checksum_in_place(head) != header.checksum {
            return Err(ImageError::Checksum);
        }
        let module = rkyv::access::<ArchivedModule, BoxedError>(&head[HEADER_LEN..])
            .map_err(|e| ImageError::Archive(e.to_string()))?;
        check_layout(module, header.code_units)
    }

    fn new(buf: ImageBuf, header: Header, code: Code) -> LoadedImage {
        let mut image = LoadedImage {
            buf,
            header,
            code,
            checked: Box::new([]),
            read_bytes: std::cell::Cell::new(0),
        };
        let groups = image.module().code_groups.len();
        image.checked = (0..groups).map(|_| std::cell::Cell::new(false)).collect();
        image
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn module(&self) -> &ArchivedModule {
        // SAFETY: the archive passed `rkyv::access` (bytecheck) when the image was built, and
        // `buf` is private and never mutated after that (see the type's invariant).
        unsafe {
            rkyv::access_unchecked::<ArchivedModule>(
                &self.buf[HEADER_LEN..self.header.head_len() as usize],
            )
        }
    }

    /// The image's length in bytes (the file's).
    pub fn len(&self) -> u64 {
        self.header.file_len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The start of the code region.
    fn region(&self) -> *mut u8 {
        match &self.code {
            // Only ever read through, as `buf` is never mutated.
            Code::InBuf(offset) => self.buf[*offset..].as_ptr() as *mut u8,
            Code::Lazy { region, .. } => region.ptr.as_ptr(),
        }
    }

    /// Makes sure code group `group` is in place and matches its hash (reading it from the file
    /// on first use); `Ok` once it does.
    pub fn ensure_group(&self, group: usize) -> Result<(), ImageError> {
        match self.checked.get(group) {
            Some(done) if done.get() => Ok(()),
            Some(_) => self.ensure_groups(group, group + 1),
            None => Err(ImageError::Archive(format!("no code group {group}"))),
        }
    }

    /// [`ensure_group`](Self::ensure_group) for every group (one read for all that are missing).
    pub fn ensure_all_code(&self) -> Result<(), ImageError> {
        self.ensure_groups(0, self.checked.len())
    }

    #[cold]
    fn ensure_groups(&self, first: usize, end: usize) -> Result<(), ImageError> {
        let groups = &self.module().code_groups;
        let mut g = first;
        while g < end {
            if self.checked[g].get() {
                g += 1;
                continue;
            }
            // A run of groups not yet in place: one read for all of it.
            let run_end = (g..end).find(|&k| self.checked[k].get()).unwrap_or(end);
            let start = region_index(groups[g].start.to_native());
            let last = &groups[run_end - 1];
            let end = u64::from(last.start.to_native()) + u64::from(last.len.to_native());
            let len = region_index(end) - start;
            if let Code::Lazy {
                region,
                source,
                file_offset,
            } = &self.code
            {
                // SAFETY: `check_layout` made the groups cover the region exactly, so
                // `start..start + len` lies inside the region's allocation; none of it belongs to
                // a checked group, so nothing reads it meanwhile.
                unsafe {
                    source.read_exact_at(
                        region.ptr.as_ptr().add(start),
                        len,
                        file_offset + start as u64,
                    )
                }
                .map_err(|e| ImageError::Io(e.to_string()))?;
                self.read_bytes.set(self.read_bytes.get() + len as u64);
            }
            for k in g..run_end {
                let group = &groups[k];
                let (start, len) = (
                    region_index(group.start.to_native()),
                    region_index(group.len.to_native()),
                );
                // SAFETY: inside the region (as above), and written: by the read just made, or
                // as part of the image buffer.
                let bytes = unsafe { std::slice::from_raw_parts(self.region().add(start), len) };
                if xxhash_rust::xxh3::xxh3_64(bytes) != group.hash.to_native() {
                    return Err(ImageError::CodeChecksum { group: k });
                }
                self.checked[k].set(true);
            }
            g = run_end;
        }
        Ok(())
    }

    /// The code of defined function `defined`, if its group is checked ([`ensure_group`]).
    ///
    /// [`ensure_group`]: Self::ensure_group
    pub fn func_code(&self, defined: usize) -> Option<&[crate::CodeUnit]> {
        let f = self.module().funcs.get(defined)?;
        if !self.checked.get(f.group.to_native() as usize)?.get() {
            return None;
        }
        // SAFETY: `check_layout` put the code inside its group, the group is checked (in place,
        // never written again), and the region is 16-aligned with units at even offsets.
        Some(unsafe {
            std::slice::from_raw_parts(self.func_code_ptr(defined), f.code_len.to_native() as usize)
        })
    }

    /// Where the code of defined function `defined` is (or will be, once its group is read):
    /// stable for the life of the image. Not to be read before [`ensure_group`] of its group.
    ///
    /// [`ensure_group`]: Self::ensure_group
    pub fn func_code_ptr(&self, defined: usize) -> *const crate::CodeUnit {
        let start = region_index(self.module().funcs[defined].code_start.to_native());
        self.region().wrapping_add(start) as *const crate::CodeUnit
    }

    /// Code groups checked so far, and the bytes of code read from the file for them.
    pub fn code_loaded(&self) -> (usize, u64) {
        let groups = self.checked.iter().filter(|c| c.get()).count();
        (groups, self.read_bytes.get())
    }
}

/// The byte offset (or length) in the code region of `units` code units, where `units` is at
/// most the checked image's `code_units` ([`check_layout`] proves that of every group and
/// function): the region's length fits an index ([`read_fields`]), so this never wraps.
fn region_index(units: impl Into<u64>) -> usize {
    let bytes = 2 * units.into();
    debug_assert!(to_index(bytes).is_ok());
    bytes as usize
}

/// Checks that the code groups cover the code region (`code_units` long) in order and that every
/// function's code lies inside its group.
pub fn check_layout(module: &ArchivedModule, code_units: u32) -> Result<(), ImageError> {
    let bad = |msg: String| Err(ImageError::Archive(format!("code layout: {msg}")));
    let mut at = 0u64;
    for (i, g) in module.code_groups.iter().enumerate() {
        if u64::from(g.start.to_native()) != at {
            return bad(format!("group {i} starts at unit {}, not {at}", g.start));
        }
        at += u64::from(g.len.to_native());
    }
    if at != u64::from(code_units) {
        return bad(format!(
            "groups cover {at} units, the region has {code_units}"
        ));
    }
    for (i, f) in module.funcs.iter().enumerate() {
        let Some(g) = module.code_groups.get(f.group.to_native() as usize) else {
            return bad(format!(
                "function {i} is in group {}, which does not exist",
                f.group
            ));
        };
        let (start, end) = (
            u64::from(f.code_start.to_native()),
            u64::from(f.code_start.to_native()) + u64::from(f.code_len.to_native()),
        );
        let (g_start, g_end) = (
            u64::from(g.start.to_native()),
            u64::from(g.start.to_native()) + u64::from(g.len.to_native()),
        );
        if start < g_start || end > g_end {
            return bad(format!(
                "function {i}'s code (units {start}..{end}) is outside its group ({g_start}..{g_end})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
