//! The `.cws` snapshot: the whole state of a running guest at a safe point between two
//! instructions, to be resumed by any chiwawa runtime, native or `chiwawa-rt.wasm` on any host.
//!
//! Header (64 bytes, little-endian):
//!
//! | bytes  | field                                                              |
//! |--------|--------------------------------------------------------------------|
//! | 0..8   | magic `CWSNAPSH`                                                   |
//! | 8..12  | format version ([`SNAPSHOT_VERSION`])                              |
//! | 12..16 | reserved, zero                                                     |
//! | 16..24 | the image's checksum (its header's: header and archive, so all of it) |
//! | 24..40 | the image's source hash (xxh3-128 of the Wasm module)              |
//! | 40..48 | body length in bytes                                               |
//! | 48..56 | xxh3-64 of the body                                                |
//! | 56..64 | xxh3-64 of bytes 0..56                                             |
//!
//! The body is a fixed sequence of sections, each `tag: u32, length: u64, payload`, every one
//! present once and in [`Section`] order, nothing after the last. Integers are little-endian;
//! a list is a `u32` count and its items; a string is a `u32` length and UTF-8 bytes.
//!
//! A memory is its size in 64 KiB pages and its non-zero pages only, each compressed on its own
//! (an LZ4 block, `lz4_flex`), in increasing page order: the same memory always gives the same
//! bytes. Nothing in the body depends on the host, so the same checkpoint of the same run is the
//! same file on every host, but for the values the host gave the guest (clocks, random bytes).
//!
//! [`decode`] checks everything that can be checked without the image: checksums, section
//! order and lengths, counts against the bytes left (so a damaged count cannot allocate much),
//! pages in range and increasing, each page decompressing to exactly 64 KiB, the frames inside
//! the value stack. The runtime checks the rest against the image before it uses any of it
//! (functions, program counters, value types, memory and table limits).

mod lz4;
#[cfg(test)]
mod tests;

use std::fmt;

/// The first bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"CWSNAPSH";
/// The snapshot format this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 2;
/// Length of the fixed header.
pub const SNAPSHOT_HEADER_LEN: usize = 64;
/// Bytes in a Wasm page.
pub const PAGE: usize = 65536;
/// The most pages a 32-bit memory has.
pub const MAX_PAGES: u32 = 65536;
/// A null reference in a table.
pub const NULL_REF: u32 = u32::MAX;

/// Which image a snapshot belongs to: restoring it with another image is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageId {
    /// The image header's checksum (over header and archive, which holds every code group's
    /// hash: it identifies the whole image).
    pub checksum: u64,
    /// xxh3-128 of the Wasm module the image was translated from.
    pub source_hash: [u8; 16],
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "image {:016x} (module ", self.checksum)?;
        for b in self.source_hash {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A suspended activation: the function (a module function index), where it resumes (a code
/// unit offset in that function's code) and its frame's first slot in the value stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameState {
    /// Module function index.
    pub func: u32,
    /// The code unit where execution resumes.
    pub pc: u32,
    /// The frame's first slot in [`Snapshot::stack`].
    pub base: u32,
}

/// One memory: its size and its non-zero pages, each an LZ4 block, kept compressed until the
/// runtime has checked the size against the module ([`MemoryState::restore_into`]): so reading
/// a snapshot never needs more memory than the file's size and one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryState {
    /// Size in pages.
    pub pages: u32,
    /// The non-zero pages in increasing order: index and compressed bytes.
    pub nonzero: Vec<(u32, Vec<u8>)>,
}

impl MemoryState {
    /// The state of a memory whose contents are `bytes` (a whole number of pages).
    pub fn capture(bytes: &[u8]) -> MemoryState {
        debug_assert_eq!(bytes.len() % PAGE, 0);
        let nonzero = bytes
            .chunks(PAGE)
            .enumerate()
            .filter(|(_, page)| page.iter().any(|&b| b != 0))
            .map(|(index, page)| (index as u32, lz4::compress(page)))
            .collect();
        MemoryState {
            pages: (bytes.len() / PAGE) as u32,
            nonzero,
        }
    }

    /// Writes the contents into `dst`, which is `pages * 64 KiB` bytes and zero. The pages were
    /// checked when the snapshot was read (in range, each exactly 64 KiB), so this fails only
    /// if `dst` has the wrong size.
    pub fn restore_into(&self, dst: &mut [u8]) -> Result<(), SnapshotError> {
        if dst.len() != self.pages as usize * PAGE {
            return Err(malformed(
                "memories",
                "memory size differs from the snapshot's",
            ));
        }
        for (index, packed) in &self.nonzero {
            let page = &mut dst[*index as usize * PAGE..(*index as usize + 1) * PAGE];
            match lz4_flex::block::decompress_into(packed, page) {
                Ok(PAGE) => {}
                _ => return Err(malformed("memories", format!("page {index} is damaged"))),
            }
        }
        Ok(())
    }
}

/// What a guest descriptor is, for re-opening it on restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// Standard input, output or error: inherited from the new host.
    Stdio,
    /// A preopened directory, matched by its guest name on restore.
    Preopen {
        /// The guest's name of the directory.
        name: String,
    },
    /// A file or directory the guest opened: opened again under a preopen, at `offset`.
    Opened {
        /// How to open it again.
        file: OpenedFile,
        /// The file offset to seek to.
        offset: u64,
    },
}

/// How a file or directory the guest opened is opened again: `path_open`'s arguments, the
/// directory being a preopen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedFile {
    /// The guest descriptor of the preopen it is under.
    pub dir: u32,
    /// Its path relative to that preopen.
    pub path: String,
    /// `path_open`'s lookup flags.
    pub lookup: u32,
    /// `path_open`'s open flags to open it again with: without create, exclusive and truncate,
    /// which must not happen twice.
    pub oflags: u16,
    /// Base rights.
    pub rights_base: u64,
    /// Inheriting rights.
    pub rights_inheriting: u64,
    /// Descriptor flags (append, sync, ...).
    pub fdflags: u16,
}

/// One descriptor of the guest's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdState {
    /// The number the guest knows it by.
    pub fd: u32,
    /// What it is.
    pub kind: FdKind,
    /// The rights the guest narrowed it to with `fd_fdstat_set_rights` (base, inheriting), set
    /// again on restore; `None` if it did not.
    pub rights: Option<(u64, u64)>,
}

/// The whole state of a guest at a safe point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The image it belongs to.
    pub image: ImageId,
    /// Instructions executed when it was taken (the unit of `--checkpoint-after`).
    pub instructions: u64,
    /// The latest monotonic clock reading the guest was given, in nanoseconds (0 if none): the
    /// restored clock goes on from there.
    pub monotonic_ns: u64,
    /// The guest's argv.
    pub args: Vec<String>,
    /// The guest's environment, `NAME=VALUE` each.
    pub env: Vec<String>,
    /// Every global's value bits, module order (imports first).
    pub globals: Vec<u64>,
    /// Every memory.
    pub memories: Vec<MemoryState>,
    /// Every table, its elements as module function indices or [`NULL_REF`].
    pub tables: Vec<Vec<u32>>,
    /// For each data segment, whether it was dropped.
    pub dropped_data: Vec<bool>,
    /// For each element segment, whether it was dropped.
    pub dropped_elems: Vec<bool>,
    /// The value stack's slots in use.
    pub stack: Vec<u64>,
    /// The call stack, outermost first; the last is the running activation.
    pub frames: Vec<FrameState>,
    /// The guest's descriptors, in increasing `fd` order.
    pub fds: Vec<FdState>,
}

/// The body's sections, in the order they appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Section {
    /// Instruction count and monotonic clock.
    Meta = 1,
    /// argv and environment.
    Process = 2,
    /// Globals.
    Globals = 3,
    /// Memories.
    Memories = 4,
    /// Tables.
    Tables = 5,
    /// Dropped segments.
    Segments = 6,
    /// Value stack and frames.
    Stack = 7,
    /// Descriptors.
    Fds = 8,
}

const SECTIONS: [Section; 8] = [
    Section::Meta,
    Section::Process,
    Section::Globals,
    Section::Memories,
    Section::Tables,
    Section::Segments,
    Section::Stack,
    Section::Fds,
];

/// Why a snapshot cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// Shorter than its header or than the header says.
    Truncated,
    /// Not a snapshot.
    BadMagic,
    /// Written by a format version this build does not read.
    Version(u32),
    /// The header's own checksum does not match.
    HeaderChecksum,
    /// The body's checksum does not match: the file is damaged.
    BodyChecksum,
    /// The body's structure is wrong, at a section, for a reason.
    Malformed {
        /// Where.
        section: &'static str,
        /// What.
        what: String,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Truncated => write!(f, "snapshot is truncated"),
            SnapshotError::BadMagic => write!(f, "not a chiwawa snapshot (bad magic)"),
            SnapshotError::Version(v) => write!(
                f,
                "snapshot format version {v}, this build reads version {SNAPSHOT_VERSION}"
            ),
            SnapshotError::HeaderChecksum => {
                write!(f, "snapshot header checksum mismatch (the file is damaged)")
            }
            SnapshotError::BodyChecksum => {
                write!(f, "snapshot checksum mismatch (the file is damaged)")
            }
            SnapshotError::Malformed { section, what } => {
                write!(f, "malformed snapshot, {section} section: {what}")
            }
        }
    }
}

impl std::error::Error for SnapshotError {}

fn section_name(section: Section) -> &'static str {
    match section {
        Section::Meta => "meta",
        Section::Process => "process",
        Section::Globals => "globals",
        Section::Memories => "memories",
        Section::Tables => "tables",
        Section::Segments => "segments",
        Section::Stack => "stack",
        Section::Fds => "descriptors",
    }
}

/// Writes `snapshot` as the bytes of a `.cws` file.
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let mut body = Vec::new();
    for section in SECTIONS {
        let mut w = Vec::new();
        encode_section(snapshot, section, &mut w);
        body.extend_from_slice(&(section as u32).to_le_bytes());
        body.extend_from_slice(&(w.len() as u64).to_le_bytes());
        body.extend_from_slice(&w);
    }
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + body.len());
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&snapshot.image.checksum.to_le_bytes());
    out.extend_from_slice(&snapshot.image.source_hash);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
    let header_sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&header_sum.to_le_bytes());
    debug_assert_eq!(out.len(), SNAPSHOT_HEADER_LEN);
    out.extend_from_slice(&body);
    out
}

fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_u32(w, s.len() as u32);
    w.extend_from_slice(s.as_bytes());
}

fn put_bools(w: &mut Vec<u8>, bits: &[bool]) {
    put_u32(w, bits.len() as u32);
    w.extend(bits.iter().map(|&b| b as u8));
}

fn encode_section(s: &Snapshot, section: Section, w: &mut Vec<u8>) {
    match section {
        Section::Meta => {
            put_u64(w, s.instructions);
            put_u64(w, s.monotonic_ns);
        }
        Section::Process => {
            for list in [&s.args, &s.env] {
                put_u32(w, list.len() as u32);
                for item in list {
                    put_str(w, item);
                }
            }
        }
        Section::Globals => {
            put_u32(w, s.globals.len() as u32);
            for &g in &s.globals {
                put_u64(w, g);
            }
        }
        Section::Memories => {
            put_u32(w, s.memories.len() as u32);
            for memory in &s.memories {
                put_u32(w, memory.pages);
                put_u32(w, memory.nonzero.len() as u32);
                for (index, packed) in &memory.nonzero {
                    put_u32(w, *index);
                    put_u32(w, packed.len() as u32);
                    w.extend_from_slice(packed);
                }
            }
        }
        Section::Tables => {
            put_u32(w, s.tables.len() as u32);
            for table in &s.tables {
                put_u32(w, table.len() as u32);
                for &e in table {
                    put_u32(w, e);
                }
            }
        }
        Section::Segments => {
            put_bools(w, &s.dropped_data);
            put_bools(w, &s.dropped_elems);
        }
        Section::Stack => {
            put_u32(w, s.stack.len() as u32);
            for &slot in &s.stack {
                put_u64(w, slot);
            }
            put_u32(w, s.frames.len() as u32);
            for f in &s.frames {
                put_u32(w, f.func);
                put_u32(w, f.pc);
                put_u32(w, f.base);
            }
        }
        Section::Fds => {
            put_u32(w, s.fds.len() as u32);
            for fd in &s.fds {
                put_u32(w, fd.fd);
                match &fd.kind {
                    FdKind::Stdio => w.push(0),
                    FdKind::Preopen { name } => {
                        w.push(1);
                        put_str(w, name);
                    }
                    FdKind::Opened { file, offset } => {
                        w.push(2);
                        put_u32(w, file.dir);
                        put_str(w, &file.path);
                        put_u32(w, file.lookup);
                        w.extend_from_slice(&file.oflags.to_le_bytes());
                        put_u64(w, file.rights_base);
                        put_u64(w, file.rights_inheriting);
                        w.extend_from_slice(&file.fdflags.to_le_bytes());
                        put_u64(w, *offset);
                    }
                }
                match fd.rights {
                    None => w.push(0),
                    Some((base, inheriting)) => {
                        w.push(1);
                        put_u64(w, base);
                        put_u64(w, inheriting);
                    }
                }
            }
        }
    }
}

/// Reads a snapshot's header: the image it belongs to, without checking the body. For a
/// message that names both images before anything else is read.
pub fn image_of(bytes: &[u8]) -> Result<ImageId, SnapshotError> {
    // The magic first: a short file that is not a snapshot is said to be none.
    if bytes.get(..8).is_some_and(|m| m != SNAPSHOT_MAGIC) {
        return Err(SnapshotError::BadMagic);
    }
    let header = bytes
        .get(..SNAPSHOT_HEADER_LEN)
        .ok_or(SnapshotError::Truncated)?;
    let version = u32::from_le_bytes(header[8..12].try_into().unwrap());
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version(version));
    }
    let sum = u64::from_le_bytes(header[56..64].try_into().unwrap());
    if xxhash_rust::xxh3::xxh3_64(&header[..56]) != sum {
        return Err(SnapshotError::HeaderChecksum);
    }
    Ok(ImageId {
        checksum: u64::from_le_bytes(header[16..24].try_into().unwrap()),
        source_hash: header[24..40].try_into().unwrap(),
    })
}

/// Reads and checks a `.cws` file (see the module documentation for what is checked here).
pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let image = image_of(bytes)?;
    let header = &bytes[..SNAPSHOT_HEADER_LEN];
    if header[12..16] != [0; 4] {
        return Err(malformed("header", "reserved bytes are not zero"));
    }
    let body_len = u64::from_le_bytes(header[40..48].try_into().unwrap());
    let body = &bytes[SNAPSHOT_HEADER_LEN..];
    if (body.len() as u64) < body_len {
        return Err(SnapshotError::Truncated);
    }
    if body.len() as u64 != body_len {
        return Err(malformed("header", "bytes after the body"));
    }
    let sum = u64::from_le_bytes(header[48..56].try_into().unwrap());
    if xxhash_rust::xxh3::xxh3_64(body) != sum {
        return Err(SnapshotError::BodyChecksum);
    }
    let mut snapshot = Snapshot {
        image,
        instructions: 0,
        monotonic_ns: 0,
        args: Vec::new(),
        env: Vec::new(),
        globals: Vec::new(),
        memories: Vec::new(),
        tables: Vec::new(),
        dropped_data: Vec::new(),
        dropped_elems: Vec::new(),
        stack: Vec::new(),
        frames: Vec::new(),
        fds: Vec::new(),
    };
    let mut r = Reader::new(body, "body");
    for section in SECTIONS {
        let name = section_name(section);
        r.section = name;
        let tag = r.u32()?;
        if tag != section as u32 {
            return Err(malformed(name, format!("found section tag {tag}")));
        }
        let len = r.u64()?;
        let payload = r.take(len)?;
        let mut p = Reader::new(payload, name);
        decode_section(&mut snapshot, section, &mut p)?;
        if !p.rest.is_empty() {
            return Err(malformed(name, format!("{} bytes left over", p.rest.len())));
        }
    }
    if !r.rest.is_empty() {
        return Err(malformed("body", "bytes after the last section"));
    }
    Ok(snapshot)
}

fn malformed(section: &'static str, what: impl Into<String>) -> SnapshotError {
    SnapshotError::Malformed {
        section,
        what: what.into(),
    }
}

/// Checked reads from a byte slice.
struct Reader<'a> {
    rest: &'a [u8],
    section: &'static str,
}

impl<'a> Reader<'a> {
    fn new(rest: &'a [u8], section: &'static str) -> Self {
        Reader { rest, section }
    }

    fn err(&self, what: impl Into<String>) -> SnapshotError {
        malformed(self.section, what)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], SnapshotError> {
        if n > self.rest.len() as u64 {
            return Err(self.err(format!("{n} bytes wanted, {} left", self.rest.len())));
        }
        let (head, rest) = self.rest.split_at(n as usize);
        self.rest = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, SnapshotError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// A count of items of at least `min_size` bytes each: refused if they cannot fit in what
    /// is left, so a damaged count never allocates more than the file's size.
    fn count(&mut self, min_size: u64, what: &str) -> Result<usize, SnapshotError> {
        let n = self.u32()?;
        if u64::from(n) * min_size > self.rest.len() as u64 {
            return Err(self.err(format!(
                "{n} {what} cannot fit in {} bytes",
                self.rest.len()
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<String, SnapshotError> {
        let n = self.u32()?;
        let bytes = self.take(u64::from(n))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.err("a string is not UTF-8"))
    }

    fn bools(&mut self, what: &str) -> Result<Vec<bool>, SnapshotError> {
        let n = self.count(1, what)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(match self.u8()? {
                0 => false,
                1 => true,
                b => return Err(self.err(format!("{what}: flag {b} is neither 0 nor 1"))),
            });
        }
        Ok(out)
    }
}

fn decode_section(
    s: &mut Snapshot,
    section: Section,
    r: &mut Reader<'_>,
) -> Result<(), SnapshotError> {
    match section {
        Section::Meta => {
            s.instructions = r.u64()?;
            s.monotonic_ns = r.u64()?;
        }
        Section::Process => {
            for list in [&mut s.args, &mut s.env] {
                let n = r.count(4, "strings")?;
                for _ in 0..n {
                    list.push(r.string()?);
                }
            }
        }
        Section::Globals => {
            let n = r.count(8, "globals")?;
            for _ in 0..n {
                s.globals.push(r.u64()?);
            }
        }
        Section::Memories => {
            let mut scratch = vec![0u8; PAGE];
            let n = r.count(8, "memories")?;
            for _ in 0..n {
                let pages = r.u32()?;
                if pages > MAX_PAGES {
                    return Err(r.err(format!("{pages} pages, more than a memory has")));
                }
                let count = r.count(8, "pages")?;
                let mut nonzero = Vec::with_capacity(count);
                for _ in 0..count {
                    let index = r.u32()?;
                    let next = nonzero.last().map_or(0, |(i, _): &(u32, _)| i + 1);
                    if index < next || index >= pages {
                        return Err(r.err(format!(
                            "page {index} out of order or beyond the memory's {pages} pages"
                        )));
                    }
                    let len = r.u32()?;
                    let packed = r.take(u64::from(len))?;
                    // Decompressed once here, into one page of scratch, to check it.
                    match lz4_flex::block::decompress_into(packed, &mut scratch[..]) {
                        Ok(PAGE) => {}
                        Ok(n) => {
                            return Err(r.err(format!("page {index} holds {n} bytes, not 65536")))
                        }
                        Err(e) => return Err(r.err(format!("page {index}: {e}"))),
                    }
                    nonzero.push((index, packed.to_vec()));
                }
                s.memories.push(MemoryState { pages, nonzero });
            }
        }
        Section::Tables => {
            let n = r.count(4, "tables")?;
            for _ in 0..n {
                let len = r.count(4, "table elements")?;
                let mut table = Vec::with_capacity(len);
                for _ in 0..len {
                    table.push(r.u32()?);
                }
                s.tables.push(table);
            }
        }
        Section::Segments => {
            s.dropped_data = r.bools("data segments")?;
            s.dropped_elems = r.bools("element segments")?;
        }
        Section::Stack => {
            let n = r.count(8, "stack slots")?;
            for _ in 0..n {
                s.stack.push(r.u64()?);
            }
            let n = r.count(12, "frames")?;
            if n == 0 {
                return Err(r.err("no frames: a snapshot is taken while the guest runs"));
            }
            let mut last_base = 0;
            for _ in 0..n {
                let frame = FrameState {
                    func: r.u32()?,
                    pc: r.u32()?,
                    base: r.u32()?,
                };
                if frame.base < last_base || frame.base as usize > s.stack.len() {
                    return Err(r.err(format!(
                        "a frame's base {} is below its caller's or beyond the {} stack slots",
                        frame.base,
                        s.stack.len()
                    )));
                }
                last_base = frame.base;
                s.frames.push(frame);
            }
        }
        Section::Fds => {
            let n = r.count(5, "descriptors")?;
            let mut last: Option<u32> = None;
            for _ in 0..n {
                let fd = r.u32()?;
                if last.is_some_and(|l| fd <= l) {
                    return Err(r.err(format!("descriptor {fd} out of order")));
                }
                last = Some(fd);
                let kind = match r.u8()? {
                    0 => FdKind::Stdio,
                    1 => FdKind::Preopen { name: r.string()? },
                    2 => {
                        let dir = r.u32()?;
                        let path = r.string()?;
                        let file = OpenedFile {
                            dir,
                            path,
                            lookup: r.u32()?,
                            oflags: r.u16()?,
                            rights_base: r.u64()?,
                            rights_inheriting: r.u64()?,
                            fdflags: r.u16()?,
                        };
                        FdKind::Opened {
                            file,
                            offset: r.u64()?,
                        }
                    }
                    k => return Err(r.err(format!("descriptor {fd} of unknown kind {k}"))),
                };
                let rights = match r.u8()? {
                    0 => None,
                    1 => Some((r.u64()?, r.u64()?)),
                    k => return Err(r.err(format!("descriptor {fd}: rights marker {k}"))),
                };
                s.fds.push(FdState { fd, kind, rights });
            }
        }
    }
    Ok(())
}
