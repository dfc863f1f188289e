//! `chiwawa-cache [--dir DIR] COMMAND`: inspects and maintains a chiwawa image cache.
//!
//! Exit status: 0 on success, 1 when the command fails or `verify` finds damaged entries
//! (one line each on stderr), 2 for a bad command line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use chiwawa_cache::{parse_size, Cache, CacheError, Inputs, Key};
use clap::{Parser, Subcommand};

const NAME: &str = "chiwawa-cache";

/// Inspects and maintains a cache of chiwawa images (filled by `chiwawa-translate --cache-dir`).
#[derive(Parser)]
#[command(name = NAME, version)]
struct Args {
    /// The cache directory [default: $CHIWAWA_CACHE_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the entries, one a line: key, size in bytes, translator version.
    Ls,
    /// Prints the path of the entry KEY (exit 1 if there is none).
    Path {
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Prints the key of a Wasm module translated with the default options.
    Key {
        #[arg(value_name = "MODULE")]
        module: PathBuf,
    },
    /// Checks every entry (header, checksum, archive); names each damaged one and exits 1 if
    /// there is any. Nothing is removed: the next lookup of a damaged entry removes and rebuilds it.
    Verify,
    /// Removes least recently used entries until the total size is at most SIZE.
    Gc {
        /// The bound, in bytes, with an optional K, M or G suffix (powers of 1024).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: u64,
    },
    /// Prints the number of entries and their total size in bytes.
    Stats,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(dir) = args.dir.clone().or_else(|| {
        std::env::var_os("CHIWAWA_CACHE_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    }) else {
        eprintln!("{NAME}: error: no cache directory: pass --dir DIR or set CHIWAWA_CACHE_DIR");
        return ExitCode::from(2);
    };
    match Cache::open(dir).and_then(|cache| run(&cache, &args.command)) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("{NAME}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `println!` that lets a reader stop early (`chiwawa-cache ls | head`): output it no longer
/// reads is dropped instead of ending the tool with a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn run(cache: &Cache, command: &Command) -> Result<ExitCode, CacheError> {
    match command {
        Command::Ls => {
            let mut out = std::io::stdout().lock();
            for entry in cache.entries()? {
                let version = entry
                    .translator_version()
                    .map_or_else(|| "?".to_string(), chiwawa_format::version_string);
                // A reader that stops early (`ls | head`) ends the listing, as for any tool.
                if writeln!(out, "{} {} {version}", entry.key, entry.size).is_err() {
                    break;
                }
            }
        }
        Command::Path { key } => {
            let key: Key = key.parse().map_err(|problem| CacheError {
                path: cache.dir().to_path_buf(),
                problem,
            })?;
            let path = cache.entry_path(key);
            if !path.is_file() {
                return Err(CacheError {
                    path: cache.dir().to_path_buf(),
                    problem: format!("no entry {key}"),
                });
            }
            say!("{}", path.display());
        }
        Command::Key { module } => {
            let wasm = std::fs::read(module).map_err(|e| CacheError {
                path: module.clone(),
                problem: format!("cannot read: {e}"),
            })?;
            say!("{}", Inputs::new(&wasm).key());
        }
        Command::Verify => {
            let entries = cache.entries()?;
            let mut damaged = 0;
            for entry in &entries {
                if let Err(problem) = cache.verify(entry) {
                    eprintln!("{NAME}: damaged: {}: {problem}", entry.path.display());
                    damaged += 1;
                }
            }
            say!("{} entries checked, {damaged} damaged", entries.len());
            if damaged > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Gc { max_size } => {
            let report = cache.gc(*max_size)?;
            for entry in &report.removed {
                let age = SystemTime::now()
                    .duration_since(entry.modified)
                    .map_or(0, |d| d.as_secs());
                say!(
                    "removed {} {} (last used {age} s ago)",
                    entry.key,
                    entry.size
                );
            }
            for tmp in &report.stale_temps {
                say!("removed stale temporary file {}", tmp.display());
            }
            say!("entries {}", report.entries);
            say!("bytes {}", report.bytes);
        }
        Command::Stats => {
            let entries = cache.entries()?;
            say!("entries {}", entries.len());
            say!("bytes {}", entries.iter().map(|e| e.size).sum::<u64>());
        }
    }
    Ok(ExitCode::SUCCESS)
}
