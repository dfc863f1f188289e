//! `chiwawa-translate [--cache-dir DIR] INPUT.wasm -o OUTPUT.cwi`: validates a Wasm module and
//! writes its image.
//!
//! With `--cache-dir`, the image is looked up in the content-addressed cache first (a hit is
//! copied to the output, never linked: a later write to the output must not change the entry), and
//! a translated image is added to it. `-o` may then be left out, to fill the cache only.
//!
//! The output appears atomically: the image is written to a temporary file next to the output and
//! renamed over it, so a reader never sees a partial image and a failed run leaves no file behind
//! (an existing output is left as it was). Every failure is one line on stderr naming the file,
//! and exit status 1.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use chiwawa_cache::{Cache, CacheError, Inputs, Lookup};
use chiwawa_translator::{translate, translator_version, Options};
use clap::Parser;

const NAME: &str = "chiwawa-translate";

/// Translates a WebAssembly module into a chiwawa image (.cwi).
#[derive(Parser)]
#[command(name = NAME, version)]
struct Args {
    /// The WebAssembly module to translate.
    input: PathBuf,
    /// Where to write the image (may be left out with --cache-dir, to fill the cache only).
    #[arg(
        short,
        long,
        value_name = "OUTPUT",
        required_unless_present = "cache_dir"
    )]
    output: Option<PathBuf>,
    /// Take the image from the cache in DIR if it holds one for this module, translator version
    /// and options; else translate and add the image to it. DIR must exist and be writable.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// If the cache directory is missing, unwritable or fails, warn and translate without it
    /// (by default that is an error).
    #[arg(long, requires = "cache_dir")]
    no_cache_on_error: bool,
    /// Print the input and output sizes, and with --cache-dir the cache hit or miss, to stderr.
    #[arg(short, long)]
    verbose: bool,
}

/// A failure: the file it concerns and what went wrong.
struct Failure {
    file: PathBuf,
    problem: String,
}

impl Failure {
    fn new(file: &Path, problem: impl std::fmt::Display) -> Failure {
        Failure {
            file: file.to_path_buf(),
            problem: problem.to_string(),
        }
    }
}

/// The temporary file of the run in progress, so the panic hook can remove it.
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);
/// The input, so the panic hook can name it.
static INPUT: OnceLock<PathBuf> = OnceLock::new();

fn main() -> ExitCode {
    // The translator must not panic on any input, but if it does, the user still gets one line
    // and no temporary file. A hook (not catch_unwind) because release builds abort on panic.
    std::panic::set_hook(Box::new(|info| {
        remove_pending();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let input = INPUT
            .get()
            .map(|p| format!("{}: ", p.display()))
            .unwrap_or_default();
        eprintln!(
            "{NAME}: error: {input}internal error: {}{at} (this is a bug)",
            one_line(&msg)
        );
        std::process::exit(1);
    }));

    let args = Args::parse();
    let _ = INPUT.set(args.input.clone());
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!(
                "{NAME}: error: {}: {}",
                f.file.display(),
                one_line(&f.problem)
            );
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let started = Instant::now();
    let wasm = fs::read(&args.input)
        .map_err(|e| Failure::new(&args.input, format!("cannot read: {e}{}", hint(&e))))?;
    let cache = match &args.cache_dir {
        Some(dir) => open_cache(dir, args)?,
        None => None,
    };
    // Claim the output location before translating, so a bad `-o` fails at once.
    let (tmp_path, tmp) = match &args.output {
        Some(output) => {
            let (path, file) = create_temp(output)?;
            (Some(path), Some(file))
        }
        None => (None, None),
    };
    let result = image(&wasm, cache.as_ref(), args).and_then(|image| {
        if let (Some(output), Some(tmp_path), Some(mut tmp)) = (&args.output, &tmp_path, tmp) {
            let written = tmp.write_all(&image).and_then(|()| tmp.flush());
            written.map_err(|e| Failure::new(output, format!("cannot write: {e}")))?;
            drop(tmp);
            fs::rename(tmp_path, output)
                .map_err(|e| Failure::new(output, format!("cannot write: {e}")))?;
        }
        Ok(image.len())
    });
    if let (true, Some(tmp_path)) = (result.is_err(), &tmp_path) {
        let _ = fs::remove_file(tmp_path);
    }
    *PENDING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let image_len = result?;
    if args.verbose {
        let output = match (&args.output, &args.cache_dir) {
            (Some(output), _) => output.display().to_string(),
            (None, Some(dir)) => format!("cache {}", dir.display()),
            (None, None) => unreachable!("clap requires -o or --cache-dir"),
        };
        eprintln!(
            "{NAME}: {}: {} bytes -> {output}: {} bytes in {:.1} ms",
            args.input.display(),
            wasm.len(),
            image_len,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// The image of `wasm`: from the cache if it holds a good one, else translated (and then
/// added to the cache).
fn image(wasm: &[u8], cache: Option<&Cache>, args: &Args) -> Result<Vec<u8>, Failure> {
    let options = Options::default();
    let translated = || translate(wasm, &options).map_err(|e| Failure::new(&args.input, e));
    let Some(cache) = cache else {
        return translated();
    };
    let inputs = Inputs {
        wasm,
        translator_version: translator_version(),
        options: options.bits,
    };
    let key = inputs.key();
    let mut use_cache = true;
    match cache.get(&inputs) {
        Ok(Lookup::Hit(image)) => {
            if args.verbose {
                eprintln!("{NAME}: cache hit {key}");
            }
            return Ok(image);
        }
        Ok(Lookup::Miss) => {}
        Ok(Lookup::Damaged {
            path,
            problem,
            removed,
        }) => {
            let removed = chiwawa_cache::removal_note(&removed);
            eprintln!(
                "{NAME}: warning: {}: damaged cache entry: {problem}; {removed}; translating again",
                path.display()
            );
        }
        Err(e) => use_cache = cache_failed(e, args)?,
    }
    if args.verbose {
        eprintln!("{NAME}: cache miss {key}");
    }
    let image = translated()?;
    if use_cache {
        if let Err(e) = cache.insert(key, &image) {
            cache_failed(e, args)?;
        }
    }
    Ok(image)
}

/// Opens the cache directory and checks that entries can be added to it. `None` when it
/// cannot be used and the user asked to go on without it.
fn open_cache(dir: &Path, args: &Args) -> Result<Option<Cache>, Failure> {
    match Cache::open(dir).and_then(|cache| cache.check_writable().map(|()| cache)) {
        Ok(cache) => Ok(Some(cache)),
        Err(e) => cache_failed(e, args).map(|_| None),
    }
}

/// A cache failure: an error, or with `--no-cache-on-error` a warning (returns `false`: go on
/// without the cache).
fn cache_failed(e: CacheError, args: &Args) -> Result<bool, Failure> {
    if args.no_cache_on_error {
        eprintln!(
            "{NAME}: warning: {}: {}; translating without the cache",
            e.path.display(),
            one_line(&e.problem)
        );
        Ok(false)
    } else {
        Err(Failure::new(
            &e.path,
            format!(
                "{} (pass --no-cache-on-error to translate without the cache)",
                e.problem
            ),
        ))
    }
}

/// Creates a new temporary file in the output's directory (a rename is atomic only within one
/// file system) and records it in `PENDING`.
fn create_temp(output: &Path) -> Result<(PathBuf, File), Failure> {
    let cannot = |e: io::Error| Failure::new(output, format!("cannot write: {e}{}", hint(&e)));
    let name = output
        .file_name()
        .ok_or_else(|| cannot(io::ErrorKind::InvalidInput.into()))?;
    let dir = output.parent().unwrap_or(Path::new(""));
    let mut attempt = 0u32;
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp.{}", unique(attempt)));
        let path = dir.join(tmp_name);
        // Record the path before creating the file, so a panic in between cannot leak it.
        *PENDING.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.clone());
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => {
                *PENDING.lock().unwrap_or_else(|e| e.into_inner()) = None;
                return Err(cannot(e));
            }
        }
    }
}

/// A suffix no other run is using: the process id where there is one, else a random number
/// (wasm32-wasip1 has no process ids); `attempt` resolves collisions with stale files.
fn unique(attempt: u32) -> String {
    #[cfg(not(target_os = "wasi"))]
    let id = u64::from(std::process::id());
    #[cfg(target_os = "wasi")]
    let id = {
        use std::hash::{BuildHasher, Hasher};
        // RandomState is keyed from the host's random source (`random_get`).
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            & 0xffff_ffff
    };
    if attempt == 0 {
        id.to_string()
    } else {
        format!("{id}.{attempt}")
    }
}

fn remove_pending() {
    if let Ok(mut pending) = PENDING.lock() {
        if let Some(path) = pending.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// In a Wasm host, a file is visible only inside a directory the host granted; when it granted
/// none, any path is "not found". Say how to grant one.
fn hint(e: &io::Error) -> &'static str {
    // wasi-libc's ENOTCAPABLE.
    const ENOTCAPABLE: i32 = 76;
    let denied = matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ) || e.raw_os_error() == Some(ENOTCAPABLE);
    if cfg!(target_os = "wasi") && denied && !host_granted_a_directory() {
        " (the host gave the translator no directory; run it with --dir ., \
         e.g. wasmtime run --dir . chiwawa-translate.wasm app.wasm -o app.cwi)"
    } else {
        ""
    }
}

/// Whether the host preopened any directory: preopens are numbered from descriptor 3.
#[cfg(target_os = "wasi")]
fn host_granted_a_directory() -> bool {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn fd_prestat_get(fd: u32, prestat: *mut u32) -> u16;
    }
    // A `prestat` is a tag byte and a u32 name length: 8 bytes, 4-aligned.
    let mut prestat = [0u32; 2];
    // SAFETY: `fd_prestat_get` writes at most 8 bytes to `prestat`, which is 8 bytes and
    // 4-aligned; it reads nothing else of ours, whatever the descriptor.
    unsafe { fd_prestat_get(3, prestat.as_mut_ptr()) == 0 }
}

#[cfg(not(target_os = "wasi"))]
fn host_granted_a_directory() -> bool {
    true
}

/// Keeps an error to one line, whatever a nested message contains.
fn one_line(s: &str) -> String {
    s.trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
