//! A content-addressed cache of chiwawa images, shared by `chiwawa-translate --cache-dir`,
//! `chiwawa-rt --cache` and the `chiwawa-cache` command.
//!
//! Layout: `DIR/ab/abcdef....cwi`, the file name being the 32 hex digits of the entry's [`Key`]
//! and the subdirectory its first two. The metadata a reader needs (source hash, translator
//! version, options) is in the image header, so one rename publishes an entry.
//!
//! - The key is xxh3-128 over length-prefixed fields: the module bytes, the translator version,
//!   the format version and the translation options. It identifies an entry; it does not
//!   authenticate it (xxh3 is not collision-resistant): whoever can write the directory decides
//!   what the tools load from it.
//! - An insert writes a uniquely named temporary file in the entry's directory, fsyncs it and
//!   renames it into place, so a reader never sees a partial entry and concurrent inserters of one
//!   key (translation is deterministic) leave one valid entry.
//! - Every read checks the entry (header, checksum, archive structure) and that its header
//!   matches the key's inputs; a damaged entry is removed and reported, never returned.
//! - A hit sets the entry's mtime to now, and [`Cache::gc`] removes the oldest mtimes first.
//!
//! This library is built into `chiwawa-rt.wasm` and `chiwawa-translate.wasm` as well: std only
//! (no process ids, which wasm32-wasip1 lacks), so it behaves the same in a Wasm host.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chiwawa_format::{header_at, LoadedImage, FORMAT_VERSION, HEADER_LEN, ISA_FINGERPRINT, MAGIC};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3Default};

/// The translation options the translator uses when none are given
/// (`chiwawa_translator::Options::default().bits`; a translator test keeps the two equal).
pub const DEFAULT_OPTIONS: u32 = 0;

/// File name extension of an entry.
const EXT: &str = "cwi";
/// Temporary files start with this (and are never taken for entries).
const TMP_PREFIX: &str = ".tmp-";
/// A temporary file older than this belongs to a writer that died; `gc` removes it.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// The identity of a cache entry: xxh3-128 of what the image was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub u128);

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl std::str::FromStr for Key {
    type Err = String;

    /// Exactly 32 hex digits.
    fn from_str(s: &str) -> Result<Key, String> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{s:?} is not a cache key (32 hex digits)"));
        }
        u128::from_str_radix(s, 16)
            .map(Key)
            .map_err(|e| format!("{s:?} is not a cache key: {e}"))
    }
}

/// What an image is built from: everything that goes into its key.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The Wasm module's bytes.
    pub wasm: &'a [u8],
    /// The packed translator version (`chiwawa_format::TRANSLATOR_VERSION`).
    pub translator_version: u32,
    /// The translation option bits.
    pub options: u32,
}

impl<'a> Inputs<'a> {
    /// The inputs of the translator this crate was built with (all workspace crates share one
    /// version), with the default options.
    pub fn new(wasm: &'a [u8]) -> Inputs<'a> {
        Inputs {
            wasm,
            translator_version: chiwawa_format::TRANSLATOR_VERSION,
            options: DEFAULT_OPTIONS,
        }
    }

    pub fn key(&self) -> Key {
        key(
            self.wasm,
            self.translator_version,
            FORMAT_VERSION,
            ISA_FINGERPRINT,
            self.options,
        )
    }
}

/// xxh3-128 over length-prefixed fields, so that no two different inputs hash the same bytes.
/// The ISA fingerprint is in it because the version numbers do not follow every change of the
/// instruction set: an entry of another build must miss, not decode as other instructions.
pub fn key(
    wasm: &[u8],
    translator_version: u32,
    format_version: u32,
    isa: u64,
    options: u32,
) -> Key {
    let mut hasher = Xxh3Default::new();
    let fields: [&[u8]; 6] = [
        b"chiwawa-cache-key",
        wasm,
        &translator_version.to_le_bytes(),
        &format_version.to_le_bytes(),
        &isa.to_le_bytes(),
        &options.to_le_bytes(),
    ];
    for field in fields {
        hasher.update(&(field.len() as u64).to_le_bytes());
        hasher.update(field);
    }
    Key(hasher.digest128())
}

/// A failed cache operation: the path it concerns and what went wrong (one line).
#[derive(Debug)]
pub struct CacheError {
    pub path: PathBuf,
    pub problem: String,
}

impl CacheError {
    fn io(path: &Path, what: &str, e: &io::Error) -> CacheError {
        CacheError {
            path: path.to_path_buf(),
            problem: format!("{what}: {e}"),
        }
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for CacheError {}

/// The answer to a lookup.
#[derive(Debug)]
pub enum Lookup {
    /// A checked image built from the inputs.
    Hit(Vec<u8>),
    Miss,
    /// The entry existed but failed its checks; it was removed (unless `removed` says otherwise).
    Damaged {
        path: PathBuf,
        problem: String,
        removed: Result<(), String>,
    },
}

/// What happened to a damaged entry, for messages: "removed it" or why not.
pub fn removal_note(removed: &Result<(), String>) -> String {
    match removed {
        Ok(()) => "removed it".to_string(),
        Err(e) => format!("cannot remove it: {e}"),
    }
}

/// One entry on disk.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: Key,
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
}

impl Entry {
    /// The translator version in the entry's header, if the header is readable (not checked).
    pub fn translator_version(&self) -> Option<u32> {
        let mut header = [0u8; HEADER_LEN];
        let mut file = File::open(&self.path).ok()?;
        io::Read::read_exact(&mut file, &mut header).ok()?;
        let at = header_at::TRANSLATOR_VERSION;
        // A component image keeps its translator version at the same place.
        (header[..8] == MAGIC || chiwawa_format::component::is_component_image(&header))
            .then(|| u32::from_le_bytes(header[at..at + 4].try_into().unwrap()))
    }
}

/// What [`Cache::gc`] did.
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed: Vec<Entry>,
    /// Temporary files of writers that died, removed.
    pub stale_temps: Vec<PathBuf>,
    /// Entries and bytes left.
    pub entries: usize,
    pub bytes: u64,
}

/// A cache directory.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens an existing cache directory (it is not created: a mistyped path should be an error,
    /// not a new empty cache that every lookup misses).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        let dir = dir.into();
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(Cache { dir }),
            Ok(_) => Err(CacheError {
                path: dir,
                problem: "cache directory is not a directory".into(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(CacheError {
                path: dir,
                problem: "cache directory does not exist".into(),
            }),
            Err(e) => Err(CacheError::io(&dir, "cannot open cache directory", &e)),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fails unless a file can be created in the cache directory (creates and removes one).
    pub fn check_writable(&self) -> Result<(), CacheError> {
        let (path, file) = create_temp(&self.dir, 0)
            .map_err(|e| CacheError::io(&self.dir, "cache directory is not writable", &e))?;
        drop(file);
        let _ = fs::remove_file(path);
        Ok(())
    }

    /// Where the entry of `key` lives (whether or not it exists).
    pub fn entry_path(&self, key: Key) -> PathBuf {
        let name = key.to_string();
        self.dir.join(&name[..2]).join(format!("{name}.{EXT}"))
    }

    /// Looks up the image built from `inputs`. A found entry is checked (header, checksum,
    /// archive) and must record the same source hash, translator version and options; one that
    /// fails is removed and reported as [`Lookup::Damaged`]. A hit sets the entry's mtime to now
    /// (best effort: a read-only cache still serves hits). Every file is closed on return.
    pub fn get(&self, inputs: &Inputs) -> Result<Lookup, CacheError> {
        let path = self.entry_path(inputs.key());
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Lookup::Miss),
            Err(e) => return Err(CacheError::io(&path, "cannot read cache entry", &e)),
        };
        match check_entry(&bytes, Some(inputs)) {
            Ok(()) => {
                touch(&path);
                Ok(Lookup::Hit(bytes))
            }
            Err(problem) => {
                let removed = match fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(e.to_string()),
                };
                Ok(Lookup::Damaged {
                    path,
                    problem,
                    removed,
                })
            }
        }
    }

    /// Publishes `image` as the entry of `key`: a temporary file in the entry's directory,
    /// written, fsynced and renamed over the entry. Returns the entry's path.
    pub fn insert(&self, key: Key, image: &[u8]) -> Result<PathBuf, CacheError> {
        let path = self.entry_path(key);
        let sub = path.parent().expect("an entry is inside a subdirectory");
        // `create_dir_all` tolerates another inserter creating it at the same moment.
        fs::create_dir_all(sub)
            .map_err(|e| CacheError::io(sub, "cannot create cache subdirectory", &e))?;
        let (tmp, mut file) = create_temp(sub, key.0)
            .map_err(|e| CacheError::io(sub, "cannot create a file in the cache", &e))?;
        let written = file
            .write_all(image)
            .and_then(|()| file.sync_all())
            .and_then(|()| {
                drop(file);
                fs::rename(&tmp, &path)
            });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(CacheError::io(&path, "cannot write cache entry", &e));
        }
        Ok(path)
    }

    /// Every entry, sorted by key. Temporary files and foreign files are skipped.
    pub fn entries(&self) -> Result<Vec<Entry>, CacheError> {
        let mut entries = Vec::new();
        self.walk(|path, name, meta| {
            if let Some(key) = entry_key(name) {
                entries.push(Entry {
                    key,
                    path: path.to_path_buf(),
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(UNIX_EPOCH),
                });
            }
        })?;
        entries.sort_by_key(|e| e.key);
        Ok(entries)
    }

    /// Checks one entry completely (header, checksum, archive); the problem, if any.
    pub fn verify(&self, entry: &Entry) -> Result<(), String> {
        let bytes = fs::read(&entry.path).map_err(|e| format!("cannot read: {e}"))?;
        check_entry(&bytes, None)
    }

    /// Removes entries, least recently used (oldest mtime) first, until their total size is at
    /// most `max_bytes`; also removes temporary files left by writers that died.
    pub fn gc(&self, max_bytes: u64) -> Result<GcReport, CacheError> {
        let mut report = GcReport::default();
        let now = SystemTime::now();
        let mut temps = Vec::new();
        self.walk(|path, name, meta| {
            let old = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_TMP);
            if name.starts_with(TMP_PREFIX) && old {
                temps.push(path.to_path_buf());
            }
        })?;
        for tmp in temps {
            if fs::remove_file(&tmp).is_ok() {
                report.stale_temps.push(tmp);
            }
        }
        let mut entries = self.entries()?;
        entries.sort_by_key(|e| (e.modified, e.key));
        let mut total: u64 = entries.iter().map(|e| e.size).sum();
        let mut kept = entries.len();
        for entry in entries {
            if total <= max_bytes {
                break;
            }
            match fs::remove_file(&entry.path) {
                // Someone else (another gc) removed it first: it is gone all the same.
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(CacheError::io(&entry.path, "cannot remove cache entry", &e));
                }
                _ => {}
            }
            total -= entry.size;
            kept -= 1;
            report.removed.push(entry);
        }
        report.entries = kept;
        report.bytes = total;
        Ok(report)
    }

    /// Calls `f(path, file name, metadata)` for every file in the two-hex-digit subdirectories.
    fn walk(&self, mut f: impl FnMut(&Path, &str, &fs::Metadata)) -> Result<(), CacheError> {
        let read_dir = |dir: &Path| {
            fs::read_dir(dir).map_err(|e| CacheError::io(dir, "cannot list cache directory", &e))
        };
        for sub in read_dir(&self.dir)? {
            let sub = sub.map_err(|e| CacheError::io(&self.dir, "cannot list", &e))?;
            let name = sub.file_name();
            let is_shard =
                name.len() == 2 && name.to_str().is_some_and(|n| n.bytes().all(is_lower_hex));
            if !is_shard || !sub.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let sub = sub.path();
            for file in read_dir(&sub)? {
                let file = file.map_err(|e| CacheError::io(&sub, "cannot list", &e))?;
                let path = file.path();
                // Gone in between (another gc): skip it.
                let Ok(meta) = fs::metadata(&path) else {
                    continue;
                };
                if let (true, Some(name)) = (meta.is_file(), file.file_name().to_str()) {
                    if name.starts_with(TMP_PREFIX) || entry_key(name).is_some() {
                        f(&path, name, &meta);
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// The key of an entry's file name (`<32 lowercase hex>.cwi`), if it is one.
fn entry_key(name: &str) -> Option<Key> {
    let stem = name.strip_suffix(".cwi")?;
    if stem.len() != 32 || !stem.bytes().all(is_lower_hex) {
        return None;
    }
    stem.parse().ok()
}

/// Checks an entry's bytes: a complete image (header, checksum, archive, every code group's
/// hash) and, given the inputs, one built from them.
fn check_entry(bytes: &[u8], inputs: Option<&Inputs>) -> Result<(), String> {
    use chiwawa_format::component;
    let (translator_version, source_hash, options) = if component::is_component_image(bytes) {
        // A component image: its archive, then each module image in it as any image.
        let c = component::read_component_image(bytes).map_err(|e| e.to_string())?;
        for m in &c.modules {
            let image = LoadedImage::from_bytes(m).map_err(|e| e.to_string())?;
            image.ensure_all_code().map_err(|e| e.to_string())?;
        }
        let (version, hash) = component::component_header(bytes).ok_or("no component header")?;
        (version, hash, 0)
    } else {
        let image = LoadedImage::from_bytes(bytes).map_err(|e| e.to_string())?;
        image.ensure_all_code().map_err(|e| e.to_string())?;
        let h = image.header();
        (h.translator_version, h.source_hash, h.options)
    };
    let Some(inputs) = inputs else {
        return Ok(());
    };
    if source_hash != xxh3_128(inputs.wasm) {
        return Err("the entry was built from a different module".into());
    }
    if translator_version != inputs.translator_version {
        return Err(format!(
            "the entry was written by translator {}, not {}",
            chiwawa_format::version_string(translator_version),
            chiwawa_format::version_string(inputs.translator_version)
        ));
    }
    if options != inputs.options {
        return Err(format!(
            "the entry was translated with options {options:#x}, not {:#x}",
            inputs.options
        ));
    }
    Ok(())
}

/// Sets the mtime of a hit entry to now, for least-recently-used gc. Best effort: a cache that
/// the reader may not write still serves hits.
fn touch(path: &Path) {
    if let Ok(file) = OpenOptions::new().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Creates a new file `.tmp-<random>` in `dir`. The name mixes the clock, a per-process
/// counter, std's randomly keyed hasher and `salt`; `create_new` makes a collision an
/// `AlreadyExists` error, and then another name is tried.
fn create_temp(dir: &Path, salt: u128) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut attempt = 0;
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let mut seed = Vec::with_capacity(56);
        seed.extend_from_slice(&nanos.to_le_bytes());
        seed.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        seed.extend_from_slice(&random.to_le_bytes());
        seed.extend_from_slice(&salt.to_le_bytes());
        let path = dir.join(format!("{TMP_PREFIX}{:016x}", xxh3_64(&seed)));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Parses a size: a number of bytes with an optional K, M, G or T suffix (powers of 1024),
/// optionally followed by `B` or `iB`, in any case: `500`, `64K`, `1.5G` is not accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a size (a number of bytes, optionally with K, M or G)");
    let upper = text.trim().to_ascii_uppercase();
    let unit = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match unit.as_bytes().last() {
        Some(b'K') => (&unit[..unit.len() - 1], 10),
        Some(b'M') => (&unit[..unit.len() - 1], 20),
        Some(b'G') => (&unit[..unit.len() - 1], 30),
        Some(b'T') => (&unit[..unit.len() - 1], 40),
        _ => (unit, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_changed_input_changes_the_key() {
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let isa = ISA_FINGERPRINT;
        let base = key(&wasm, 0x100, FORMAT_VERSION, isa, 0);
        assert_eq!(
            base,
            key(&wasm, 0x100, FORMAT_VERSION, isa, 0),
            "deterministic"
        );
        let mut one_byte = wasm.clone();
        one_byte[7] ^= 1;
        let mut longer = wasm.clone();
        longer.push(0);
        let others = [
            key(&one_byte, 0x100, FORMAT_VERSION, isa, 0),
            key(&longer, 0x100, FORMAT_VERSION, isa, 0),
            key(&wasm, 0x101, FORMAT_VERSION, isa, 0),
            key(&wasm, 0x100, FORMAT_VERSION + 1, isa, 0),
            key(&wasm, 0x100, FORMAT_VERSION, isa ^ 1, 0),
            key(&wasm, 0x100, FORMAT_VERSION, isa, 1),
            key(&wasm, 0x100, FORMAT_VERSION, isa, 1 << 31),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(base, *other, "change {i} kept the key");
        }
        let inputs = Inputs {
            wasm: &wasm,
            translator_version: 0x100,
            options: 0,
        };
        assert_eq!(inputs.key(), base);
        let with_option = Inputs {
            options: 2,
            ..inputs
        };
        assert_ne!(with_option.key(), base);
    }

    #[test]
    fn keys_print_and_parse_as_32_hex_digits() {
        let k = Key(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(k.to_string(), "0123456789abcdef0011223344556677");
        assert_eq!(k.to_string().parse::<Key>(), Ok(k));
        assert_eq!(Key(1).to_string().len(), 32);
        for bad in [
            "",
            "123",
            "0123456789abcdef001122334455667g",
            "+123456789abcdef0011223344556677",
        ] {
            assert!(bad.parse::<Key>().is_err(), "{bad:?}");
        }
        assert_eq!(entry_key("0123456789abcdef0011223344556677.cwi"), Some(k));
        assert_eq!(entry_key("0123456789ABCDEF0011223344556677.cwi"), None);
        assert_eq!(entry_key(".tmp-0123456789abcdef"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("500"), Ok(500));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("10MB"), Ok(10 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in [
            "",
            "K",
            "-1",
            "1.5G",
            "12X",
            "99999999999999999999",
            "16777216T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
