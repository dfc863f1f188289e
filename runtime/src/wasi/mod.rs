//! WASI preview1 (`wasi_snapshot_preview1`) for guests.
//!
//! Inside a Wasm host (`target_os = "wasi"`) every call is passed through to the host's own
//! import of the same function (`passthrough.rs`): the runtime checks the guest's pointers and
//! rewrites nested ones, the host does the work. Natively (`native.rs`) a small WASI of its own
//! serves tests and debugging. Both implement the one table of functions below, so `link` binds
//! the same 46 names with the same signatures on either target.
//!
//! Only the guest's argv is the runtime's own business on both targets (the runtime's argv holds
//! the runtime's options), and `proc_exit` becomes a trap so the CLI can clean up before it exits.
//!
//! Descriptors of the runtime's own can be hidden from the guest ([`WasiCtx::hide_fd`]): the
//! image file, kept open to read code on demand, and the `--strace` file. The guest's
//! descriptor numbers then skip them: guest descriptor `g` is host descriptor `g` below the
//! first hidden one, `g + 1` from it on up to the next, and so on, in every argument that names
//! a descriptor, in the descriptors `path_open` and `sock_accept` return, and in
//! `poll_oneoff`'s subscriptions. So the guest sees exactly the table it would see
//! without the runtime, whatever numbers the host hands out.

mod deterministic;
mod memory;
mod strace;

#[cfg(not(target_os = "wasi"))]
mod native;
#[cfg(target_os = "wasi")]
mod passthrough;

#[cfg(all(test, not(target_os = "wasi")))]
pub(crate) mod tests;

#[cfg(not(target_os = "wasi"))]
use native as sys;
#[cfg(target_os = "wasi")]
use passthrough as sys;

use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;

use chiwawa_format::snapshot::{FdKind, FdState, OpenedFile};
use chiwawa_format::FuncType;

pub use memory::GuestMemory;
pub(crate) use strace::quoted;

use crate::store::{Caller, Extern, HostFn, HostNote, Store};
use crate::trap::{Trap, TrapKind};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// What the guest was given: its argv and, natively, its descriptor table.
pub struct WasiCtx {
    /// The guest's argv, `argv[0]` included.
    pub args: Vec<String>,
    /// The host descriptors hidden from the guest, in ascending order.
    hidden_fds: Vec<u32>,
    /// Guest descriptors placed at host descriptors of other numbers (a restored run's files,
    /// opened again where the host put them): guest number -> host number. Empty otherwise.
    placed: std::collections::BTreeMap<u32, u32>,
    /// Guest descriptors whose rights the guest narrowed (`fd_fdstat_set_rights`): base and
    /// inheriting rights, which a snapshot carries.
    pub(crate) narrowed: std::collections::BTreeMap<u32, (u64, u64)>,
    /// Where `--strace` lines go ([`WasiCtx::set_strace`]), if anywhere.
    strace: Option<Box<dyn std::io::Write>>,
    /// Inside a preview-2 call ([`WasiCtx::strace_call`]): its preview-1 lines are indented.
    strace_nested: bool,
    /// Calls by function and bytes moved, when counted ([`WasiCtx::count_calls`]).
    counts: Option<WasiCounts>,
    /// The guest's environment (`NAME=VALUE` each) when it is not the host's: a restored run
    /// sees the environment of the run it was checkpointed from.
    env: Option<Vec<String>>,
    /// Added to the host's monotonic clock: a restored run's clock goes on from the snapshot's.
    monotonic_offset: i64,
    /// The latest monotonic reading given to the guest ([`WasiCtx::monotonic_seen`]).
    monotonic_seen: std::cell::Cell<u64>,
    /// The files and directories the guest opened and has not closed, by guest descriptor: how
    /// to open each again (a preopen and a path under it, the flags), for a snapshot. `None`
    /// for one that cannot be described (opened under a directory that was not).
    opened: std::collections::BTreeMap<u32, Option<OpenedFile>>,
    /// Clocks, random bytes and file identities made deterministic (`deterministic.rs`).
    deterministic: bool,
    /// The time a deterministic run's guest has slept, added to its virtual clocks.
    slept_ns: u64,
    #[cfg(not(target_os = "wasi"))]
    pub(crate) native: native::State,
}

impl WasiCtx {
    /// Guest argv is exactly `args`; environment, stdio and preopened directories are the ones the
    /// host gave this process (under a Wasm host by pass-through; natively `std::env::vars`, this
    /// process's stdio and the directories added with `preopen_dir`).
    pub fn new(args: Vec<String>) -> WasiCtx {
        WasiCtx {
            args,
            hidden_fds: Vec::new(),
            placed: std::collections::BTreeMap::new(),
            narrowed: std::collections::BTreeMap::new(),
            strace: None,
            strace_nested: false,
            counts: None,
            env: None,
            monotonic_offset: 0,
            monotonic_seen: std::cell::Cell::new(0),
            opened: std::collections::BTreeMap::new(),
            deterministic: false,
            slept_ns: 0,
            #[cfg(not(target_os = "wasi"))]
            native: native::State::new(),
        }
    }

    /// Gives the guest the environment `env` (`NAME=VALUE` each) instead of the host's.
    pub fn set_env(&mut self, env: Vec<String>) {
        #[cfg(not(target_os = "wasi"))]
        {
            self.native.env = env.iter().map(|kv| kv.as_bytes().to_vec()).collect();
        }
        self.env = Some(env);
    }

    /// The environment the guest sees, `NAME=VALUE` each (for a snapshot); an entry that is not
    /// UTF-8 is an error naming it.
    pub fn guest_env(&self) -> Result<Vec<String>, String> {
        if let Some(env) = &self.env {
            return Ok(env.clone());
        }
        let mut out = Vec::new();
        for (k, v) in std::env::vars_os() {
            match (k.to_str(), v.to_str()) {
                (Some(k), Some(v)) => out.push(format!("{k}={v}")),
                _ => return Err(format!("the environment variable {k:?} is not UTF-8")),
            }
        }
        Ok(out)
    }

    /// The latest reading of the monotonic clock the guest has been given, in nanoseconds (0
    /// if none): what a snapshot records, so that the restored clock goes on from there. Not
    /// the clock now: a run that never reads the clock gives the same snapshot on every host.
    pub fn monotonic_seen(&self) -> u64 {
        self.monotonic_seen.get()
    }

    /// Makes the guest's monotonic clock read `now` at this moment and go on from there (a
    /// restored run's clock continues from the snapshot's, never backwards).
    pub fn continue_monotonic_from(&mut self, now: u64) -> Result<(), String> {
        let host = sys::host_monotonic(self).ok_or("the host has no monotonic clock")?;
        self.monotonic_offset = (i128::from(now) - i128::from(host))
            .clamp(i128::from(i64::MIN), i128::from(i64::MAX))
            as i64;
        self.monotonic_seen.set(now);
        Ok(())
    }

    /// The guest's monotonic clock from the host's reading `t`, as given to the guest.
    pub(crate) fn guest_monotonic(&self, t: u64) -> u64 {
        let now = t.saturating_add_signed(self.monotonic_offset);
        // (A deterministic run's readings are the virtual clock's, recorded there.)
        if !self.deterministic {
            self.monotonic_seen.set(self.monotonic_seen.get().max(now));
        }
        now
    }

    /// The guest's descriptors as a snapshot records them: standard streams, preopened
    /// directories (by guest name), and the files and directories it opened (how to open each
    /// again, and its offset). One that cannot be described is an error naming it.
    pub fn guest_fds(&mut self) -> Result<Vec<FdState>, String> {
        sys::guest_fds(self)
    }

    /// Counts the guest's preview1 calls by function, and the bytes its reads and writes
    /// moved ([`WasiCtx::counts`]).
    pub fn count_calls(&mut self) {
        self.counts = Some(WasiCounts::default());
    }

    /// What [`WasiCtx::count_calls`] counted so far.
    pub fn counts(&self) -> Option<&WasiCounts> {
        self.counts.as_ref()
    }

    /// Writes a line for every preview1 call the guest makes to `out` (see `strace.rs`: the
    /// function, its decoded arguments, the errno and what it returned).
    pub fn set_strace(&mut self, out: Box<dyn std::io::Write>) {
        self.strace = Some(out);
    }

    /// Hides host descriptor `fd`, a descriptor of the runtime's own, from the guest (see the
    /// module's documentation). Call it before the guest runs.
    pub fn hide_fd(&mut self, fd: u32) {
        if let Err(at) = self.hidden_fds.binary_search(&fd) {
            self.hidden_fds.insert(at, fd);
        }
    }

    /// Natively: preopens host directory `host` as guest directory `guest` (like
    /// `wasmtime --dir host::guest`); preopens get descriptors 3, 4, ... in call order.
    /// Under a Wasm host the guest sees the host's preopens, so this returns `Unsupported`:
    /// give the directory to the host instead (e.g. `wasmtime --dir`).
    pub fn preopen_dir(&mut self, host: &std::path::Path, guest: &str) -> std::io::Result<()> {
        #[cfg(not(target_os = "wasi"))]
        {
            self.native.preopen_dir(host, guest)
        }
        #[cfg(target_os = "wasi")]
        {
            let _ = (host, guest);
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "under a Wasm host the guest sees the host's preopened directories: \
                 give the directory to the host (e.g. `wasmtime --dir`)",
            ))
        }
    }
}

/// Makes `linker` resolve every `wasi_snapshot_preview1` import a module has (and no other
/// import it has no definition for) to a preview1 function bound to `ctx`: a host function of
/// the embedding API, which gets the calling instance's memory 0 through its `Caller`.
pub fn add_to_linker<T: 'static>(linker: &mut crate::Linker<T>, ctx: &Rc<RefCell<WasiCtx>>) {
    let ctx = Rc::clone(ctx);
    linker.fallback(move |store, module, name| {
        let (ty, call) = bind(&ctx, module, name)?;
        let ty = crate::FuncType::from_raw(&ty);
        let host: crate::api::Host<T> = Rc::new(
            move |mut caller: crate::Caller<'_, T>, params: &[u64], results: &mut [u64]| {
                let mut note = caller.traced().then_some(None);
                let instructions = caller.instructions();
                let result = call(
                    caller.memory(),
                    params,
                    results,
                    note.as_mut(),
                    instructions,
                );
                if let Some(Some(note)) = note {
                    caller.note(note);
                }
                result
            },
        );
        Some(crate::Extern::Func(crate::Func::from_host(store, ty, host)))
    });
}

/// Resolves one import in a raw store (as [`add_to_linker`] does in a `Store<T>`): `Some` for
/// every `wasi_snapshot_preview1` function (a new host function with the exact preview1
/// signature, bound to `ctx`), `None` for anything else.
pub fn link(
    store: &mut Store,
    ctx: &Rc<RefCell<WasiCtx>>,
    module: &str,
    name: &str,
) -> Option<Extern> {
    let (ty, call) = bind(ctx, module, name)?;
    let host: HostFn = Rc::new(
        move |caller: &mut Caller<'_>, params: &[u64], results: &mut [u64]| {
            call(
                caller.memory.as_deref_mut().map(|m| m.bytes_mut()),
                params,
                results,
                caller.note.as_deref_mut(),
                caller.instructions,
            )
        },
    );
    Some(Extern::Func(store.add_host_func(ty, host)))
}

/// A preview1 function bound to `ctx`, called with the caller's memory 0 (if it has one).
/// With a note slot (calls traced), it describes the call there; it is given the instructions
/// executed so far when they are counted (for a deterministic run's clocks).
pub(crate) type Bound = Box<
    dyn Fn(
        Option<&mut [u8]>,
        &[u64],
        &mut [u64],
        Option<&mut Option<HostNote>>,
        Option<u64>,
    ) -> Result<(), Trap>,
>;

/// The preview1 function `module::name`, if it is one: its type and its implementation bound
/// to `ctx` (the arity check, the hidden descriptors' renumbering, the errno result).
pub(crate) fn bind(
    ctx: &Rc<RefCell<WasiCtx>>,
    module: &str,
    name: &str,
) -> Option<(FuncType, Bound)> {
    if module != MODULE {
        return None;
    }
    let func = FUNCTIONS.iter().find(|f| f.name == name)?;
    let (imp, arity) = (func.imp, func.params.len());
    let (fds, fd_out, poll) = (fd_params(name), fd_result(name), name == "poll_oneoff");
    let track = matches!(
        name,
        "path_open" | "fd_close" | "fd_renumber" | "fd_fdstat_set_rights" | "fd_fdstat_set_flags"
    );
    let name = func.name;
    let types = func.params;
    let ctx = Rc::clone(ctx);
    let call: Bound = Box::new(move |memory, params, results, mut note, instructions| {
        if params.len() != arity {
            return Err(host_trap(format!(
                "wasi: {arity} arguments expected, got {}",
                params.len()
            )));
        }
        let mut ctx = ctx
            .try_borrow_mut()
            .map_err(|_| host_trap("wasi: context already in use".into()))?;
        let mut memory = match memory {
            Some(bytes) => GuestMemory::new(bytes),
            None => GuestMemory::none(),
        };
        if name == "proc_exit" {
            if ctx.strace.is_some() {
                ctx.strace_line(strace::line(name, &memory, params, types, None));
            }
            // (proc_exit ends the run through a trap: its slice is noted before.)
            if let Some(slot) = note.as_deref_mut() {
                *slot = Some(HostNote {
                    name: name.to_string(),
                    call: strace::line(name, &memory, params, types, None),
                    errno: None,
                });
            }
        }
        let answered = if ctx.deterministic {
            deterministic::before_call(&ctx, name, params)
        } else {
            None
        };
        let errno = match (answered, ctx.fd_map()) {
            (Some(e), _) => Ok(e),
            // A restored run's clock: absolute monotonic timeouts shifted to the host's.
            (None, None) if poll && ctx.monotonic_offset != 0 => {
                poll_hiding(&FdMap::default(), &mut ctx, &mut memory, params)
            }
            (None, None) => imp(&mut ctx, &mut memory, params),
            (None, Some(map)) if poll => poll_hiding(&map, &mut ctx, &mut memory, params),
            (None, Some(map)) => call_hiding(&map, fds, fd_out, imp, &mut ctx, &mut memory, params),
        };
        if let (true, Ok(errno::SUCCESS)) = (ctx.deterministic, &errno) {
            let count = instructions.unwrap_or(0);
            deterministic::after_call(&mut ctx, name, &mut memory, params, count);
        }
        if let Some(counts) = ctx.counts.as_mut() {
            *counts.calls.entry(name).or_default() += 1;
            if let (Ok(errno::SUCCESS), Some(out)) = (&errno, moved_out(name)) {
                let n = u64::from(memory.read_u32(arg32(params, out)).unwrap_or(0));
                if name.contains("read") {
                    counts.bytes_read += n;
                } else {
                    counts.bytes_written += n;
                }
            }
        }
        if (ctx.strace.is_some() || note.is_some()) && name != "proc_exit" {
            let line = match &errno {
                Ok(e) => strace::line(name, &memory, params, types, Some(*e)),
                Err(t) => format!(
                    "{} = trap: {t}",
                    strace::line(name, &memory, params, types, None)
                ),
            };
            if let Some(slot) = note {
                *slot = Some(HostNote {
                    name: name.to_string(),
                    call: line.clone(),
                    errno: errno.as_ref().ok().copied(),
                });
            }
            if ctx.strace.is_some() {
                ctx.strace_line(line);
            }
        }
        let errno = errno?;
        if errno == errno::SUCCESS && track {
            ctx.track(name, &memory, params);
        }
        if let Some(result) = results.first_mut() {
            *result = u64::from(errno);
        }
        Ok(())
    });
    let ty = FuncType {
        params: func.params.to_vec(),
        results: func.results.to_vec(),
    };
    Some((ty, call))
}

/// Rights to open a file again with: as recorded, as far as the directory passes them on. A
/// guest of a host that ignores rights (browser-wasi-shim, whose preopens pass on none) records
/// none, and had every right in effect: it gets all the directory passes on.
/// (For a directory, all but the rights to write a file's contents, which hosts refuse for
/// one.)
fn rights(recorded: u64, inheritable: u64, oflags: u16) -> u64 {
    const DIRECTORY: u16 = 1 << 1;
    // fd_datasync, fd_sync, fd_write, fd_allocate, fd_filestat_set_size.
    const FILE_WRITE: u64 = 1 | 1 << 4 | 1 << 6 | 1 << 8 | 1 << 22;
    match recorded {
        0 if oflags & DIRECTORY != 0 => inheritable & !FILE_WRITE,
        0 => inheritable,
        _ => recorded & inheritable,
    }
}

/// `path_open`'s open flags that must not act twice: create, exclusive, truncate.
const OFLAGS_ONCE: u16 = 0b1101;

impl WasiCtx {
    /// Follows the guest's descriptors after a successful `path_open`, `fd_close`,
    /// `fd_renumber` or `fd_fdstat_set_rights` (guest numbers in `params`), for
    /// [`WasiCtx::guest_fds`].
    fn track(&mut self, name: &str, memory: &GuestMemory<'_>, params: &[u64]) {
        match name {
            "fd_fdstat_set_rights" => {
                self.narrowed
                    .insert(arg32(params, 0), (arg64(params, 1), arg64(params, 2)));
            }
            "fd_fdstat_set_flags" => {
                if let Some(Some(file)) = self.opened.get_mut(&arg32(params, 0)) {
                    file.fdflags = arg32(params, 1) as u16;
                }
            }
            "path_open" => {
                let Ok(fd) = memory.read_u32(arg32(params, 8)) else {
                    return;
                };
                let dir = arg32(params, 0);
                let path = memory
                    .slice(arg32(params, 2), arg32(params, 3))
                    .ok()
                    .and_then(|p| std::str::from_utf8(p).ok());
                // Under a preopen directly, or under a directory opened under one (the paths
                // joined); anything else cannot be opened again.
                let base = match self.opened.get(&dir) {
                    Some(Some(parent)) => Some((parent.dir, format!("{}/", parent.path))),
                    Some(None) => None,
                    None => Some((dir, String::new())),
                };
                let opened = base.zip(path).map(|((dir, prefix), path)| OpenedFile {
                    dir,
                    path: format!("{prefix}{path}"),
                    lookup: arg32(params, 1),
                    oflags: arg32(params, 4) as u16 & !OFLAGS_ONCE,
                    rights_base: arg64(params, 5),
                    rights_inheriting: arg64(params, 6),
                    fdflags: arg32(params, 7) as u16,
                });
                self.opened.insert(fd, opened);
            }
            "fd_close" => {
                self.opened.remove(&arg32(params, 0));
                self.placed.remove(&arg32(params, 0));
                self.narrowed.remove(&arg32(params, 0));
            }
            _ => {
                // fd_renumber(from, to): `to` is closed, `from` takes its number (on the host,
                // `to`'s host descriptor, so `to`'s mapping stays).
                let (from, to) = (arg32(params, 0), arg32(params, 1));
                if from != to {
                    self.placed.remove(&from);
                }
                let moved = self.opened.remove(&from);
                self.opened.remove(&to);
                if let Some(moved) = moved {
                    self.opened.insert(to, moved);
                }
                let rights = self.narrowed.remove(&from);
                self.narrowed.remove(&to);
                if let Some(rights) = rights {
                    self.narrowed.insert(to, rights);
                }
            }
        }
    }

    /// What the guest opened itself, for a snapshot, with its offset now: `Ok(None)` for a
    /// descriptor it did not open, an error for one that cannot be opened again.
    fn opened_kind(&mut self, fd: u32) -> Result<Option<FdKind>, String> {
        let offset = match self.opened.get(&fd) {
            Some(Some(_)) => self.offset_of(fd),
            _ => 0,
        };
        match self.opened.get(&fd) {
            None => Ok(None),
            Some(None) => Err(opened_fd(fd)),
            Some(Some(file)) => Ok(Some(FdKind::Opened {
                file: file.clone(),
                offset,
            })),
        }
    }

    /// Opens again, at their numbers and offsets, the files and directories of a snapshot's
    /// descriptor table (`fds`) that its guest had opened; then the guest's table must be
    /// exactly the snapshot's. An error names what could not be opened or differs.
    pub fn reopen(&mut self, fds: &[FdState]) -> Result<(), String> {
        for fd in fds {
            if let FdKind::Opened { file, offset } = &fd.kind {
                let file = OpenedFile {
                    oflags: file.oflags & !OFLAGS_ONCE,
                    ..file.clone()
                };
                self.reopen_one(fd.fd, &file, *offset).map_err(|e| {
                    format!(
                        "cannot open {} again (descriptor {}): {e}",
                        file.path, fd.fd
                    )
                })?;
                self.opened.insert(fd.fd, Some(file));
            }
        }
        // Rights the guest narrowed, narrowed again (a host may give more now).
        for fd in fds {
            if let Some((base, inheriting)) = fd.rights {
                let mut none = GuestMemory::none();
                let params = [u64::from(fd.fd), base, inheriting];
                match self.call_as_guest("fd_fdstat_set_rights", &mut none, &params) {
                    Ok(errno::SUCCESS) => {
                        self.narrowed.insert(fd.fd, (base, inheriting));
                    }
                    _ => {
                        return Err(format!(
                            "cannot narrow the rights of descriptor {} again",
                            fd.fd
                        ))
                    }
                }
            }
        }
        let now = self.guest_fds()?;
        if now != fds {
            let show = |fds: &[FdState]| {
                fds.iter()
                    .map(|f| match &f.kind {
                        FdKind::Stdio => format!("{}=stdio", f.fd),
                        FdKind::Preopen { name } => format!("{}={name}", f.fd),
                        FdKind::Opened { file, .. } => format!("{}=file {}", f.fd, file.path),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "the snapshot's run had the descriptors [{}] and this one has [{}]: give the \
                 same directories again (e.g. wasmtime run --dir .)",
                show(fds),
                show(&now)
            ));
        }
        Ok(())
    }
}

impl WasiCtx {
    /// Calls preview1 function `name` as the guest would, with guest descriptor numbers and
    /// guest addresses in `memory` (here a scratch buffer of the runtime's).
    fn call_as_guest(
        &mut self,
        name: &str,
        memory: &mut GuestMemory<'_>,
        params: &[u64],
    ) -> Result<u32, Trap> {
        let func = FUNCTIONS
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| host_trap(format!("wasi: no function {name}")))?;
        match self.fd_map() {
            None => (func.imp)(self, memory, params),
            Some(map) => call_hiding(
                &map,
                fd_params(name),
                fd_result(name),
                func.imp,
                self,
                memory,
                params,
            ),
        }
    }

    /// The file offset of guest descriptor `fd` (0 where it has none, as a directory), by
    /// `fd_seek(fd, 0, CUR)`: some hosts (bun, wasi-js) answer `fd_tell` with 0.
    fn offset_of(&mut self, fd: u32) -> u64 {
        let mut scratch = [0u8; 8];
        let mut memory = GuestMemory::new(&mut scratch);
        let whence_cur = 1;
        match self.call_as_guest("fd_seek", &mut memory, &[u64::from(fd), 0, whence_cur, 0]) {
            Ok(errno::SUCCESS) => memory.read_u64(0).unwrap_or(0),
            _ => 0,
        }
    }

    /// Opens `opened` again as guest descriptor `fd` and seeks to `offset`. Hosts hand out the
    /// lowest free number, so lower free numbers are filled with copies of the file first (and
    /// closed after); a host that hands out a higher one gets `fd_renumber`.
    fn reopen_one(&mut self, fd: u32, opened: &OpenedFile, offset: u64) -> Result<(), String> {
        // Rights as the directory on this host passes them on (hosts differ in what they give
        // a preopen; asking for more is ENOTCAPABLE on some).
        let inheritable = {
            let mut stat = [0u8; 24];
            let mut memory = GuestMemory::new(&mut stat);
            match self.call_as_guest("fd_fdstat_get", &mut memory, &[u64::from(opened.dir), 0]) {
                Ok(errno::SUCCESS) => memory.read_u64(16).unwrap_or(u64::MAX),
                _ => u64::MAX,
            }
        };
        let path = opened.path.as_bytes();
        let mut scratch = vec![0u8; 8 + path.len()];
        scratch[8..].copy_from_slice(path);
        let params = [
            u64::from(opened.dir),
            u64::from(opened.lookup),
            8,
            path.len() as u64,
            u64::from(opened.oflags),
            rights(opened.rights_base, inheritable, opened.oflags),
            rights(opened.rights_inheriting, inheritable, 0),
            u64::from(opened.fdflags),
            0,
        ];
        let mut fillers = Vec::new();
        let result = loop {
            let mut memory = GuestMemory::new(&mut scratch);
            match self.call_as_guest("path_open", &mut memory, &params) {
                Ok(errno::SUCCESS) => {}
                Ok(e) => break Err(format!("errno {e}")),
                Err(t) => break Err(t.to_string()),
            }
            let got = memory.read_u32(0).map_err(|t| t.to_string())?;
            if got == fd {
                break Ok(());
            }
            // Under a Wasm host the guest's numbers are the runtime's to give: place it.
            if let Some(host) = self.fd_map().and_then(|m| m.to_host(got)) {
                self.placed.remove(&got);
                self.placed.insert(fd, host);
                break Ok(());
            }
            if got < fd && fillers.len() < 4096 {
                fillers.push(got);
                continue;
            }
            let mut none = GuestMemory::none();
            let renumbered =
                self.call_as_guest("fd_renumber", &mut none, &[u64::from(got), u64::from(fd)]);
            break match renumbered {
                Ok(errno::SUCCESS) => Ok(()),
                _ => Err(format!("the host gave descriptor {got}, not {fd}")),
            };
        };
        for filler in fillers {
            let mut none = GuestMemory::none();
            let _ = self.call_as_guest("fd_close", &mut none, &[u64::from(filler)]);
        }
        result?;
        if offset != 0 {
            let mut scratch = [0u8; 8];
            let mut memory = GuestMemory::new(&mut scratch);
            let whence_set = 0;
            match self.call_as_guest(
                "fd_seek",
                &mut memory,
                &[u64::from(fd), offset, whence_set, 0],
            ) {
                Ok(errno::SUCCESS) => {}
                _ => return Err(format!("cannot seek to {offset}")),
            }
        }
        Ok(())
    }
}

/// What the guest's preview1 calls were, by function, and the bytes they moved.
#[derive(Clone, Debug, Default)]
pub struct WasiCounts {
    /// Calls by function name.
    pub calls: std::collections::BTreeMap<&'static str, u64>,
    /// Bytes `fd_read` and `fd_pread` read.
    pub bytes_read: u64,
    /// Bytes `fd_write` and `fd_pwrite` wrote.
    pub bytes_written: u64,
}

/// The parameter through which a read or write returns the bytes it moved.
pub(super) fn moved_out(name: &str) -> Option<usize> {
    match name {
        "fd_read" | "fd_write" => Some(3),
        "fd_pread" | "fd_pwrite" => Some(4),
        _ => None,
    }
}

/// The most parameters a preview1 function takes (`path_open`).
const MAX_PARAMS: usize = 9;

/// The parameters of preview1 function `name` that are descriptors.
fn fd_params(name: &str) -> &'static [usize] {
    match name {
        "fd_renumber" => &[0, 1],
        "path_link" => &[0, 4],
        "path_rename" => &[0, 3],
        "path_symlink" => &[2],
        _ if ["fd_", "path_", "sock_"]
            .iter()
            .any(|p| name.starts_with(p)) =>
        {
            &[0]
        }
        _ => &[],
    }
}

/// The parameter of preview1 function `name` that points to a descriptor it returns.
fn fd_result(name: &str) -> Option<usize> {
    match name {
        "path_open" => Some(8),
        "sock_accept" => Some(2),
        _ => None,
    }
}

/// Guest descriptor `fd` as the host's, with the host descriptors `hidden` (ascending)
/// skipped; `None` if the host's number would not fit.
fn fd_to_host(hidden: &[u32], fd: u32) -> Option<u32> {
    let mut host = fd;
    for &h in hidden {
        if host >= h {
            host = host.checked_add(1)?;
        }
    }
    Some(host)
}

/// Host descriptor `fd` (not one of `hidden`) as the guest sees it.
fn fd_to_guest(hidden: &[u32], fd: u32) -> u32 {
    fd - hidden.iter().filter(|&&h| h < fd).count() as u32
}

/// How guest descriptor numbers map to the host's when they are not the same: the runtime's
/// hidden descriptors skipped, and a restored run's placed descriptors (see `WasiCtx::placed`).
#[derive(Clone, Debug, Default)]
pub(crate) struct FdMap {
    hidden: Vec<u32>,
    /// A deterministic run: a new descriptor takes the lowest free guest number, whatever
    /// number the host gave it (wasmi, for one, never reuses numbers).
    lowest_free: bool,
    placed: std::collections::BTreeMap<u32, u32>,
}

impl FdMap {
    fn default_host(&self, fd: u32) -> Option<u32> {
        fd_to_host(&self.hidden, fd)
    }

    /// Guest descriptor `fd` as the host's; `None` if the host can have no such descriptor. A
    /// host descriptor placed under another guest number is not this one's: `u32::MAX`, which
    /// the host has not.
    pub(crate) fn to_host(&self, fd: u32) -> Option<u32> {
        if let Some(&host) = self.placed.get(&fd) {
            return Some(host);
        }
        let host = self.default_host(fd)?;
        Some(if self.placed.values().any(|&p| p == host) {
            u32::MAX
        } else {
            host
        })
    }

    /// The guest number of a new host descriptor: its own, unless a placed descriptor has that
    /// number; then one above every number in use, placed. With `lowest_free`, the lowest
    /// guest number from 3 on that names no open descriptor (`exists` says whether a host
    /// descriptor is open), placed.
    fn guest_number(&mut self, fd: u32, exists: impl Fn(u32) -> bool) -> u32 {
        let guest = fd_to_guest(&self.hidden, fd);
        if self.lowest_free {
            for g in 3..guest {
                let in_use = self.placed.contains_key(&g)
                    || self.to_host(g).is_some_and(|h| h != u32::MAX && exists(h));
                if !in_use {
                    self.placed.insert(g, fd);
                    return g;
                }
            }
        }
        if !self.placed.contains_key(&guest) {
            return guest;
        }
        let above = self
            .placed
            .keys()
            .next_back()
            .map_or(guest, |&k| k.max(guest))
            + 1;
        self.placed.insert(above, fd);
        above
    }
}

impl WasiCtx {
    /// Writes one `--strace` line (a failure to write it is not the guest's: it is dropped).
    fn strace_line(&mut self, line: String) {
        let indent = if self.strace_nested { "  " } else { "" };
        if let Some(out) = self.strace.as_mut() {
            let _ = writeln!(out, "[strace] {indent}{line}");
        }
    }

    /// Whether `--strace` lines are written.
    pub fn strace_on(&self) -> bool {
        self.strace.is_some()
    }

    /// Opens a preview-2 call's `--strace` lines (`crate::component::wasip2`): `call` (the
    /// function and its arguments); the preview-1 calls made for it follow, indented.
    pub fn strace_enter(&mut self, call: String) {
        self.strace_nested = false;
        self.strace_line(call);
        self.strace_nested = true;
    }

    /// Closes a preview-2 call's `--strace` lines with its `result` (indented, after `-> `).
    pub fn strace_leave(&mut self, result: String) {
        self.strace_line(format!("-> {result}"));
        self.strace_nested = false;
    }

    /// The descriptor map when guest numbers are not the host's, else `None`.
    fn fd_map(&self) -> Option<FdMap> {
        let differ = !self.hidden_fds.is_empty() || !self.placed.is_empty();
        (differ || self.deterministic).then(|| FdMap {
            lowest_free: self.deterministic,
            hidden: self.hidden_fds.clone(),
            placed: self.placed.clone(),
        })
    }
}

/// A call with descriptor `hidden` hidden: the descriptor parameters `fds` are mapped to the
/// host's, and the descriptor the call writes through parameter `fd_out`, if any, back to the
/// guest's.
fn call_hiding(
    map: &FdMap,
    fds: &[usize],
    fd_out: Option<usize>,
    imp: Impl,
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    params: &[u64],
) -> Result<u32, Trap> {
    let mut host = [0u64; MAX_PARAMS];
    let host = &mut host[..params.len()];
    host.copy_from_slice(params);
    for &i in fds {
        match map.to_host(params[i] as u32) {
            Some(fd) => host[i] = u64::from(fd),
            // A guest descriptor past the last host one: the host has no such descriptor
            // either.
            None => return Ok(errno::BADF),
        }
    }
    let e = imp(ctx, memory, host)?;
    if let (errno::SUCCESS, Some(i)) = (e, fd_out) {
        let at = params[i] as u32;
        let fd = memory.read_u32(at)?;
        let mut map = map.clone();
        let guest = map.guest_number(fd, |h| sys::host_fd_exists(ctx, h));
        ctx.placed = map.placed;
        memory.write_u32(at, guest)?;
    }
    Ok(e)
}

/// `poll_oneoff` with descriptor `hidden` hidden: the call reads a copy of the guest's
/// subscriptions with their descriptors rewritten to the host's (and, in a restored run,
/// absolute monotonic timeouts to the host's clock), never the guest's memory, so the guest's
/// subscriptions are never changed (events carry no descriptors).
///
/// The event array may overlap the subscriptions (the guest may even pass the same buffer for
/// both). Every host measured (wasmtime 49, node 20, the wasmi CLI 2.0) reads all the
/// subscriptions before it writes any event, writes only the events it reports (and node only
/// some fields of a clock event) and then the count, and writes nothing when the call fails;
/// the guest then sees exactly the bytes it would see on that host directly, since the host
/// itself writes the events into the guest's memory.
fn poll_hiding(
    map: &FdMap,
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    params: &[u64],
) -> Result<u32, Trap> {
    const SIZE: u32 = 48;
    const TAG: usize = 8;
    const FD: usize = 16;
    // A clock subscription: clock id, timeout, flags (bit 0: absolute).
    const CLOCK_ID: usize = 16;
    const TIMEOUT: usize = 24;
    const FLAGS: usize = 40;
    const MONOTONIC: u32 = 1;
    let (subs, count) = (arg32(params, 0), arg32(params, 2));
    // Checked first, as the call itself checks it first.
    let range = memory.array(subs, count, SIZE, 8)?;
    let mut copy = memory.bytes_mut()?[range].to_vec();
    let offset = ctx.monotonic_offset;
    for sub in copy.chunks_exact_mut(SIZE as usize) {
        let u32_at = |sub: &[u8], at: usize| {
            u32::from_le_bytes(sub[at..at + 4].try_into().expect("4 bytes"))
        };
        if sub[TAG] == 0 && u32_at(sub, CLOCK_ID) == MONOTONIC && sub[FLAGS] & 1 != 0 && offset != 0
        {
            // An absolute time on the guest's monotonic clock, which runs `offset` from the
            // host's after a restore: the host's time for it.
            let at = u64::from_le_bytes(sub[TIMEOUT..TIMEOUT + 8].try_into().expect("8 bytes"));
            let host = at.saturating_add_signed(offset.saturating_neg());
            sub[TIMEOUT..TIMEOUT + 8].copy_from_slice(&host.to_le_bytes());
        } else if sub[TAG] == 1 || sub[TAG] == 2 {
            // fd_read, fd_write: a descriptor. One that cannot exist on the host becomes one
            // that does not (u32::MAX), so the host reports it as it would have.
            let fd_bytes = &mut sub[FD..FD + 4];
            let mut fd = [0; 4];
            fd.copy_from_slice(fd_bytes);
            let fd = map.to_host(u32::from_le_bytes(fd)).unwrap_or(u32::MAX);
            fd_bytes.copy_from_slice(&fd.to_le_bytes());
        }
    }
    sys::poll_with(ctx, memory, &copy, params)
}

/// One preview1 function: its name, its signature (value type bytes) and this target's
/// implementation, which returns the errno (ignored for `proc_exit`, which has no result).
pub struct WasiFunction {
    /// The function's name.
    pub name: &'static str,
    /// Its parameter types (value type bytes).
    pub params: &'static [u8],
    /// Its result types (`[i32]`, the errno, or none for `proc_exit`).
    pub results: &'static [u8],
    pub(crate) imp: Impl,
}

pub(crate) type Impl = fn(&mut WasiCtx, &mut GuestMemory<'_>, &[u64]) -> Result<u32, Trap>;

const I32: u8 = 0x7f;
const I64: u8 = 0x7e;

macro_rules! wasi_functions {
    ($($name:ident($($param:ident),*) $(-> $result:ident)?;)*) => {
        /// Every `wasi_snapshot_preview1` function with its signature.
        pub const FUNCTIONS: &[WasiFunction] = &[$(WasiFunction {
            name: stringify!($name),
            params: &[$($param),*],
            results: &[$($result)?],
            imp: sys::$name,
        }),*];
    };
}

wasi_functions! {
    args_get(I32, I32) -> I32;
    args_sizes_get(I32, I32) -> I32;
    environ_get(I32, I32) -> I32;
    environ_sizes_get(I32, I32) -> I32;
    clock_res_get(I32, I32) -> I32;
    clock_time_get(I32, I64, I32) -> I32;
    fd_advise(I32, I64, I64, I32) -> I32;
    fd_allocate(I32, I64, I64) -> I32;
    fd_close(I32) -> I32;
    fd_datasync(I32) -> I32;
    fd_fdstat_get(I32, I32) -> I32;
    fd_fdstat_set_flags(I32, I32) -> I32;
    fd_fdstat_set_rights(I32, I64, I64) -> I32;
    fd_filestat_get(I32, I32) -> I32;
    fd_filestat_set_size(I32, I64) -> I32;
    fd_filestat_set_times(I32, I64, I64, I32) -> I32;
    fd_pread(I32, I32, I32, I64, I32) -> I32;
    fd_prestat_get(I32, I32) -> I32;
    fd_prestat_dir_name(I32, I32, I32) -> I32;
    fd_pwrite(I32, I32, I32, I64, I32) -> I32;
    fd_read(I32, I32, I32, I32) -> I32;
    fd_readdir(I32, I32, I32, I64, I32) -> I32;
    fd_renumber(I32, I32) -> I32;
    fd_seek(I32, I64, I32, I32) -> I32;
    fd_sync(I32) -> I32;
    fd_tell(I32, I32) -> I32;
    fd_write(I32, I32, I32, I32) -> I32;
    path_create_directory(I32, I32, I32) -> I32;
    path_filestat_get(I32, I32, I32, I32, I32) -> I32;
    path_filestat_set_times(I32, I32, I32, I32, I64, I64, I32) -> I32;
    path_link(I32, I32, I32, I32, I32, I32, I32) -> I32;
    path_open(I32, I32, I32, I32, I32, I64, I64, I32, I32) -> I32;
    path_readlink(I32, I32, I32, I32, I32, I32) -> I32;
    path_remove_directory(I32, I32, I32) -> I32;
    path_rename(I32, I32, I32, I32, I32, I32) -> I32;
    path_symlink(I32, I32, I32, I32, I32) -> I32;
    path_unlink_file(I32, I32, I32) -> I32;
    poll_oneoff(I32, I32, I32, I32) -> I32;
    proc_exit(I32);
    proc_raise(I32) -> I32;
    sched_yield() -> I32;
    random_get(I32, I32) -> I32;
    sock_accept(I32, I32, I32) -> I32;
    sock_recv(I32, I32, I32, I32, I32, I32) -> I32;
    sock_send(I32, I32, I32, I32, I32) -> I32;
    sock_shutdown(I32, I32) -> I32;
}

/// Preview1 errno values used by the runtime itself (the host's pass through unchanged).
#[allow(dead_code)] // each target uses its own subset
pub(crate) mod errno {
    pub const SUCCESS: u32 = 0;
    pub const ACCES: u32 = 2;
    pub const AGAIN: u32 = 6;
    pub const BADF: u32 = 8;
    pub const BUSY: u32 = 10;
    pub const EXIST: u32 = 20;
    pub const FBIG: u32 = 22;
    pub const ILSEQ: u32 = 25;
    pub const INTR: u32 = 27;
    pub const INVAL: u32 = 28;
    pub const IO: u32 = 29;
    pub const ISDIR: u32 = 31;
    pub const LOOP: u32 = 32;
    pub const MLINK: u32 = 34;
    pub const NAMETOOLONG: u32 = 37;
    pub const NOENT: u32 = 44;
    pub const NOMEM: u32 = 48;
    pub const NOSPC: u32 = 51;
    pub const NOSYS: u32 = 52;
    pub const NOTDIR: u32 = 54;
    pub const NOTEMPTY: u32 = 55;
    pub const NOTSOCK: u32 = 57;
    pub const NOTSUP: u32 = 58;
    pub const OVERFLOW: u32 = 61;
    pub const PERM: u32 = 63;
    pub const PIPE: u32 = 64;
    pub const ROFS: u32 = 69;
    pub const SPIPE: u32 = 70;
    pub const TIMEDOUT: u32 = 73;
    pub const TXTBSY: u32 = 74;
    pub const XDEV: u32 = 75;
    pub const NOTCAPABLE: u32 = 76;
}

/// Why a guest's descriptor cannot be put in a snapshot.
fn opened_fd(fd: u32) -> String {
    format!(
        "descriptor {fd} is a file or directory the guest opened: moving open files is not \
         supported yet (close it before the checkpoint)"
    )
}

fn host_trap(message: String) -> Trap {
    Trap::new(TrapKind::Host(message))
}

/// Parameter `i` as an i32 (zero-extended in its slot) or i64.
fn arg32(params: &[u64], i: usize) -> u32 {
    params[i] as u32
}

fn arg64(params: &[u64], i: usize) -> u64 {
    params[i]
}

/// Writes the count and the total size (each string plus its NUL) of a string list, the layout
/// of `args_sizes_get` / `environ_sizes_get`.
fn write_list_sizes<'s>(
    memory: &mut GuestMemory<'_>,
    list: impl Iterator<Item = &'s [u8]>,
    count_ptr: u32,
    size_ptr: u32,
) -> Result<u32, Trap> {
    let (mut count, mut size) = (0u64, 0u64);
    for item in list {
        count += 1;
        size += item.len() as u64 + 1;
    }
    let (Ok(count), Ok(size)) = (u32::try_from(count), u32::try_from(size)) else {
        return Ok(errno::OVERFLOW);
    };
    memory.write_u32(count_ptr, count)?;
    memory.write_u32(size_ptr, size)?;
    Ok(errno::SUCCESS)
}

/// A string list as `args_get` / `environ_get` hand it to the guest: the NUL-terminated strings
/// one after another (`bytes`), and where each starts in `bytes` (`offsets`, increasing, the
/// first 0).
pub(crate) struct StringList {
    pub(crate) bytes: Vec<u8>,
    pub(crate) offsets: Vec<u32>,
}

impl StringList {
    /// The list of `items`, each followed by a NUL; `None` if its size does not fit a u32.
    pub(crate) fn new<'s>(items: impl Iterator<Item = &'s [u8]>) -> Option<StringList> {
        let mut list = StringList {
            bytes: Vec::new(),
            offsets: Vec::new(),
        };
        for item in items {
            list.offsets.push(u32::try_from(list.bytes.len()).ok()?);
            list.bytes.extend_from_slice(item);
            list.bytes.push(0);
        }
        u32::try_from(list.bytes.len()).ok()?;
        Some(list)
    }

    pub(crate) fn count(&self) -> u32 {
        self.offsets.len() as u32
    }

    pub(crate) fn size(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// String `i` with its NUL, as a range of `bytes`.
    fn item(&self, i: usize) -> std::ops::Range<usize> {
        let end = self
            .offsets
            .get(i + 1)
            .map_or(self.bytes.len(), |&o| o as usize);
        self.offsets[i] as usize..end
    }
}

/// The order in which a WASI implementation writes a string list (`args_get`, `environ_get`).
///
/// It shows only when the guest's pointer array overlaps its string buffer: then the later writes
/// overwrite the earlier ones, and what the guest reads back depends on the order. The hosts
/// differ (measured with a probe program calling both functions on overlapping buffers, run
/// directly on each host):
/// - wasmtime 49 (wasmtime-wasi) writes, for each string, its pointer and then its bytes;
/// - the wasmi CLI 2.0 (wasi-common) writes, for each string, its bytes and then its pointer;
/// - node 20 (`node:wasi`, uvwasi) writes all the strings, then all the pointers.
///
/// The guest must see what the host it runs on gives it directly, so chiwawa writes in the
/// host's order (see `passthrough.rs` for how it finds it). Natively chiwawa is the host, and it
/// writes in wasmtime's order. Whatever the order, both extents are checked against the guest's
/// memory before anything is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(target_os = "wasi"), allow(dead_code))] // natively only wasmtime's (and tests)
pub(crate) enum ListOrder {
    /// For each string: its pointer, then its bytes (wasmtime-wasi).
    PtrThenStr,
    /// For each string: its bytes, then its pointer (wasi-common).
    StrThenPtr,
    /// All the strings, then all the pointers (uvwasi).
    StrsThenPtrs,
    /// All the pointers, then all the strings.
    PtrsThenStrs,
}

/// Every order, the default (wasmtime's) first.
#[cfg_attr(not(target_os = "wasi"), allow(dead_code))]
pub(crate) const LIST_ORDERS: [ListOrder; 4] = [
    ListOrder::PtrThenStr,
    ListOrder::StrThenPtr,
    ListOrder::StrsThenPtrs,
    ListOrder::PtrsThenStrs,
];

/// Lays `list` out in `mem` in `order`: the pointer array at byte `ptrs` of `mem`, the strings
/// from byte `buf`, and the pointer to string `i` having the value `value_base + offsets[i]` (the
/// address of `buf` as the reader of the pointers sees it). The caller has checked that both
/// extents lie inside `mem`.
pub(crate) fn lay_out(
    order: ListOrder,
    list: &StringList,
    mem: &mut [u8],
    ptrs: usize,
    buf: usize,
    value_base: u32,
) {
    let ptr = |mem: &mut [u8], i: usize| {
        let value = value_base.wrapping_add(list.offsets[i]);
        mem[ptrs + 4 * i..][..4].copy_from_slice(&value.to_le_bytes());
    };
    let string = |mem: &mut [u8], i: usize| {
        let item = list.item(i);
        mem[buf + item.start..buf + item.end].copy_from_slice(&list.bytes[item]);
    };
    let n = list.offsets.len();
    match order {
        ListOrder::PtrThenStr => (0..n).for_each(|i| {
            ptr(mem, i);
            string(mem, i);
        }),
        ListOrder::StrThenPtr => (0..n).for_each(|i| {
            string(mem, i);
            ptr(mem, i);
        }),
        ListOrder::StrsThenPtrs => {
            (0..n).for_each(|i| string(mem, i));
            (0..n).for_each(|i| ptr(mem, i));
        }
        ListOrder::PtrsThenStrs => {
            (0..n).for_each(|i| ptr(mem, i));
            (0..n).for_each(|i| string(mem, i));
        }
    }
}

/// Checks the guest ranges of a string list's pointer array at `ptrs` and its buffer at `buf`
/// (the array first, as wasmtime), and returns the range both span if they overlap.
pub(crate) fn list_ranges(
    memory: &GuestMemory<'_>,
    list: &StringList,
    ptrs: u32,
    buf: u32,
) -> Result<Option<std::ops::Range<usize>>, Trap> {
    let p = memory.array(ptrs, list.count(), 4, 4)?;
    let b = memory.range(buf, u64::from(list.size()), 1)?;
    let overlap = !p.is_empty() && !b.is_empty() && p.start < b.end && b.start < p.end;
    Ok(overlap.then(|| p.start.min(b.start)..p.end.max(b.end)))
}

/// Writes a string list the way `args_get` / `environ_get` do, in `order` (which matters only when
/// the two extents overlap): the NUL-terminated strings one after another from `buf`, and the
/// guest address of each into the u32 array at `ptrs`. Both extents are checked before anything
/// is written.
pub(crate) fn write_list(
    memory: &mut GuestMemory<'_>,
    list: &StringList,
    ptrs: u32,
    buf: u32,
    order: ListOrder,
) -> Result<u32, Trap> {
    list_ranges(memory, list, ptrs, buf)?;
    lay_out(
        order,
        list,
        memory.bytes_mut()?,
        ptrs as usize,
        buf as usize,
        buf,
    );
    Ok(errno::SUCCESS)
}

/// The guest's argv as a string list.
pub(crate) fn args_list(ctx: &WasiCtx) -> Option<StringList> {
    StringList::new(ctx.args.iter().map(|a| a.as_bytes()))
}

pub(crate) fn args_sizes_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result<u32, Trap> {
    write_list_sizes(
        memory,
        ctx.args.iter().map(|a| a.as_bytes()),
        arg32(p, 0),
        arg32(p, 1),
    )
}

/// Natively, in wasmtime's order (`ListOrder`); under a Wasm host, `passthrough.rs` writes in
/// the host's.
#[cfg(not(target_os = "wasi"))]
pub(crate) fn args_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory<'_>,
    p: &[u64],
) -> Result<u32, Trap> {
    let Some(list) = args_list(ctx) else {
        return Ok(errno::OVERFLOW);
    };
    write_list(
        memory,
        &list,
        arg32(p, 0),
        arg32(p, 1),
        ListOrder::PtrThenStr,
    )
}

/// `proc_exit(code)` stops the guest with `TrapKind::Exit(code)`; the CLI exits with that status
/// once it has cleaned up.
pub(crate) fn proc_exit(_: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &[u64]) -> Result<u32, Trap> {
    Err(Trap::new(TrapKind::Exit(arg32(p, 0))))
}
