//! Exact profiles: the executed instructions of a run by call stack, as folded stacks
//! (`main;foo;bar 123`, the format flamegraph tools read).
//!
//! A profiled store counts instructions (it has a meter: the counting interpreter loop), and
//! at every call and return, and whenever the executor's outer loop goes round (which it does
//! after every call or return the inner loop leaves to it), the instructions executed since the
//! last such event go to the call stack as it was then. Then the profile's stack is brought in
//! line with the executor's: one push for a call, one pop for a return, and rebuilt from the
//! executor's frames otherwise (a tail call, a restored run). Every instruction is counted in
//! exactly one stack, so the counts add up to the run's instruction count.

use std::collections::BTreeMap;

use crate::exec::Frame;
use crate::hooks::Hooks;
use crate::store::HostNote;

/// One node of the call tree: a function (a store address) under its parent.
struct Node {
    func: u32,
    parent: u32,
    count: u64,
    /// Activations of this stack.
    calls: u64,
}

/// A store's profile ([`set_profile`]).
pub struct Profile {
    /// Node 0 is the root (no function).
    nodes: Vec<Node>,
    children: BTreeMap<(u32, u32), u32>,
    /// The call stack as of the last event, outermost first.
    path: Vec<Level>,
    /// The executor's instruction counter at the last event.
    pub(crate) last_fuel: i64,
    /// The instructions counted so far: the trace's clock.
    clock: u64,
    /// The calls as slices, when traced ([`Profile::traced`]).
    trace: Option<Trace>,
    /// An embedder's callbacks ([`crate::hooks`]).
    hooks: Option<Box<dyn Hooks>>,
}

/// One activation of the profile's stack: its function, node and when it began.
#[derive(Clone, Copy)]
struct Level {
    func: u32,
    node: u32,
    start: u64,
}

/// What a trace records ([`Profile::traced`]).
#[derive(Clone, Copy, Debug)]
pub struct TraceOptions {
    /// Guest calls, as slices.
    pub calls: bool,
    /// Host calls (WASI calls), as slices with what the host function noted about them.
    pub host: bool,
    /// Real time (nanoseconds since the run began) instead of executed instructions.
    pub wall: bool,
    /// Only slices less than this many calls deep.
    pub max_depth: u32,
    /// At most this many slices; the rest are counted as dropped.
    pub max_slices: usize,
}

impl Default for TraceOptions {
    fn default() -> TraceOptions {
        TraceOptions {
            calls: true,
            host: true,
            wall: false,
            max_depth: u32::MAX,
            max_slices: usize::MAX,
        }
    }
}

/// One complete slice: a guest call (`note` none) or a host call.
struct Slice {
    func: u32,
    start: u64,
    duration: u64,
    depth: u32,
    /// A host call.
    host: bool,
    /// The host function's description of the call (an index in `Trace::notes`), if any.
    note: Option<u32>,
}

/// The calls of a run as complete slices, in the order they ended.
struct Trace {
    options: TraceOptions,
    slices: Vec<Slice>,
    notes: Vec<HostNote>,
    dropped: u64,
    /// The wall clock's origin (with `options.wall`).
    origin: std::time::Instant,
}

impl Trace {
    /// Records a slice that ended, `depth` calls deep, if the options keep it.
    fn record(&mut self, slice: Slice, note: Option<HostNote>) {
        if slice.depth >= self.options.max_depth {
            return;
        }
        if self.slices.len() >= self.options.max_slices {
            self.dropped += 1;
            return;
        }
        let note = note.map(|n| {
            self.notes.push(n);
            (self.notes.len() - 1) as u32
        });
        self.slices.push(Slice { note, ..slice });
    }
}

impl Default for Profile {
    fn default() -> Profile {
        Profile::new()
    }
}

impl Profile {
    /// An empty profile.
    pub fn new() -> Profile {
        Profile {
            nodes: vec![Node {
                func: u32::MAX,
                parent: 0,
                count: 0,
                calls: 0,
            }],
            children: BTreeMap::new(),
            path: Vec::new(),
            last_fuel: 0,
            clock: 0,
            trace: None,
            hooks: None,
        }
    }

    /// Replaces the embedder's hooks; returns the ones it had.
    pub(crate) fn set_hooks(&mut self, hooks: Option<Box<dyn Hooks>>) -> Option<Box<dyn Hooks>> {
        std::mem::replace(&mut self.hooks, hooks)
    }

    /// A profile that also records calls as slices, as `options` say.
    pub fn traced(options: TraceOptions) -> Profile {
        let mut profile = Profile::new();
        profile.trace = Some(Trace {
            options,
            slices: Vec::new(),
            notes: Vec::new(),
            dropped: 0,
            origin: std::time::Instant::now(),
        });
        profile
    }

    /// The trace's clock now: executed instructions, or nanoseconds since the run began.
    fn now(&self) -> u64 {
        match &self.trace {
            Some(trace) if trace.options.wall => {
                u64::try_from(trace.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
            }
            _ => self.clock,
        }
    }

    /// Whether host calls are traced or hooked (then the executor reports them with
    /// [`Profile::host_start`] and [`Profile::host_end`]).
    pub(crate) fn observes_host(&self) -> bool {
        self.hooks.is_some() || self.trace.as_ref().is_some_and(|t| t.options.host)
    }

    /// Whether the hooks want a callback before every instruction (the stepping loop).
    #[cfg(feature = "step-hooks")]
    pub(crate) fn steps(&self) -> bool {
        self.hooks.as_ref().is_some_and(|h| h.wants_instructions())
    }

    /// Before instruction `op` at unit `pc` of function `func`: the hooks' callback.
    #[cfg(feature = "step-hooks")]
    pub(crate) fn step(&mut self, func: u32, pc: u32, op: &'static str) {
        if let Some(hooks) = &mut self.hooks {
            hooks.instruction(func, pc, op);
        }
    }

    /// Whether a host call should describe itself (a note slot for its callee).
    pub(crate) fn wants_notes(&self) -> bool {
        self.hooks.as_ref().is_some_and(|h| h.wants_notes())
            || self.trace.as_ref().is_some_and(|t| t.options.host)
    }

    /// Before a host call (the executor's counter at `fuel`): the instructions so far go to
    /// the caller's stack; the call's start on the trace's clock.
    pub(crate) fn host_start(&mut self, fuel: i64) -> u64 {
        self.attribute(fuel);
        self.now()
    }

    /// After a host call of `func` that began at `start`: its slice, one deeper than its
    /// caller, with what it noted.
    pub(crate) fn host_end(&mut self, func: u32, start: u64, note: Option<HostNote>) {
        if let Some(hooks) = &mut self.hooks {
            hooks.host_call(func, self.clock, note.as_ref());
        }
        let end = self.now();
        let depth = self.path.len() as u32;
        if let Some(trace) = self.trace.as_mut().filter(|t| t.options.host) {
            let slice = Slice {
                func,
                start,
                duration: end.saturating_sub(start),
                depth,
                host: true,
                note: None,
            };
            trace.record(slice, note);
        }
    }

    /// The instructions since the last event (the counter went from `last_fuel` down to
    /// `fuel`) go to the stack as it was.
    fn attribute(&mut self, fuel: i64) {
        let n = self.last_fuel.wrapping_sub(fuel) as u64;
        let top = self.path.last().map_or(0, |l| l.node);
        self.nodes[top as usize].count += n;
        self.clock += n;
        self.last_fuel = fuel;
    }

    fn push(&mut self, func: u32) {
        let parent = self.path.last().map_or(0, |l| l.node);
        let node = self.child(parent, func);
        self.nodes[node as usize].calls += 1;
        let start = self.now();
        self.path.push(Level { func, node, start });
        if let Some(hooks) = &mut self.hooks {
            hooks.enter(func, self.clock);
        }
    }

    /// Ends the activations above the first `len`.
    fn pop_to(&mut self, len: usize) {
        let traced_calls = self.trace.as_ref().is_some_and(|t| t.options.calls);
        let end = if traced_calls { self.now() } else { 0 };
        while self.path.len() > len {
            let level = self.path.pop().expect("above len");
            if let Some(hooks) = &mut self.hooks {
                hooks.exit(level.func, self.clock);
            }
            if let (true, Some(trace)) = (traced_calls, &mut self.trace) {
                let slice = Slice {
                    func: level.func,
                    start: level.start,
                    duration: end.saturating_sub(level.start),
                    depth: self.path.len() as u32,
                    host: false,
                    note: None,
                };
                trace.record(slice, None);
            }
        }
    }

    fn child(&mut self, parent: u32, func: u32) -> u32 {
        if let Some(&node) = self.children.get(&(parent, func)) {
            return node;
        }
        let node = self.nodes.len() as u32;
        self.nodes.push(Node {
            func,
            parent,
            count: 0,
            calls: 0,
        });
        self.children.insert((parent, func), node);
        node
    }

    /// An event: the instructions since the last one (the counter went from `last_fuel` down
    /// to `fuel`) go to the stack as it was; then the stack becomes the executor's: the
    /// suspended `frames` and the running function `cur`.
    pub(crate) fn event(&mut self, frames: &[Frame], cur: u32, fuel: i64) {
        self.attribute(fuel);
        let want = frames.len() + 1;
        let func_at = |i: usize| frames.get(i).map_or(cur, |f| f.func);
        let have = self.path.len();
        // A call: the old stack with `cur` on top.
        if have + 1 == want && (have == 0 || self.path[have - 1].func == func_at(have - 1)) {
            self.push(cur);
            return;
        }
        // A return, or the same activation.
        if have >= want && self.path[want - 1].func == cur {
            self.pop_to(want);
            return;
        }
        // Anything else: the common outermost part kept, the rest rebuilt.
        let mut k = 0;
        while k < have.min(want) && self.path[k].func == func_at(k) {
            k += 1;
        }
        self.pop_to(k);
        for i in k..want {
            self.push(func_at(i));
        }
    }

    /// The end of a run: the instructions since the last event go to the stack as it was,
    /// and the stack is emptied.
    pub(crate) fn flush(&mut self, fuel: i64) {
        self.attribute(fuel);
        self.pop_to(0);
    }

    /// The trace as Chrome trace-event JSON (what Perfetto and chrome://tracing open): one
    /// complete slice (`"ph":"X"`) per call: guest calls (category `call`) named by `name`,
    /// host calls (category `host`, WASI calls among them) by what they noted, with the call
    /// as `--strace` shows it and its errno in `args`; process and thread names. Times
    /// are executed instructions (shown as microseconds) or, with the wall clock, microseconds
    /// since the run began; `None` if not traced.
    pub fn trace_json(&self, name: impl Fn(u32) -> String) -> Option<String> {
        let trace = self.trace.as_ref()?;
        let wall = trace.options.wall;
        let time = |t: u64| {
            if wall {
                format!("{}.{:03}", t / 1000, t % 1000)
            } else {
                t.to_string()
            }
        };
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        let mut out = String::from("{\"traceEvents\":[\n");
        out.push_str(
            "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"chiwawa guest\"}},\n",
        );
        out.push_str(
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"main\"}}",
        );
        for slice in &trace.slices {
            let (start, duration, depth) = (time(slice.start), time(slice.duration), slice.depth);
            let note = slice.note.map(|i| &trace.notes[i as usize]);
            let mut text = names
                .entry(slice.func)
                .or_insert_with(|| json_string(&name(slice.func)))
                .clone();
            let mut args = format!("{{\"depth\":{depth}}}");
            if let Some(note) = note {
                text = json_string(&note.name);
                let errno = note
                    .errno
                    .map_or_else(|| "null".to_string(), |e| e.to_string());
                args = format!(
                    "{{\"depth\":{depth},\"call\":{},\"errno\":{errno}}}",
                    json_string(&note.call)
                );
            }
            let cat = if slice.host { "host" } else { "call" };
            out.push_str(&format!(
                ",\n{{\"name\":{text},\"cat\":\"{cat}\",\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":{start},\"dur\":{duration},\"args\":{args}}}"
            ));
        }
        out.push_str(&format!(
            "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{{\"clock\":\"{}\",\"instructions\":{},\"slices\":{},\"dropped\":{}}}}}\n",
            if wall { "wall" } else { "instructions" },
            self.clock,
            trace.slices.len(),
            trace.dropped
        ));
        Some(out)
    }

    /// Slices the trace left out (past its limit), if traced.
    pub fn trace_dropped(&self) -> Option<u64> {
        self.trace.as_ref().map(|t| t.dropped)
    }

    /// Each function (a store address) with its activations and the instructions it executed
    /// itself, most instructions first (then by address).
    pub fn functions(&self) -> Vec<(u32, u64, u64)> {
        let mut by_func: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        for node in self.nodes.iter().skip(1) {
            let entry = by_func.entry(node.func).or_default();
            entry.0 += node.calls;
            entry.1 += node.count;
        }
        let mut out: Vec<(u32, u64, u64)> =
            by_func.into_iter().map(|(f, (c, n))| (f, c, n)).collect();
        out.sort_by_key(|&(f, _, n)| (std::cmp::Reverse(n), f));
        out
    }

    /// The instructions counted so far.
    pub fn total(&self) -> u64 {
        self.nodes.iter().map(|n| n.count).sum()
    }

    /// The folded stacks, one line each (`outer;inner count`), in byte order: only stacks
    /// that executed instructions themselves. `name` names a function (a store address).
    pub fn folded(&self, name: impl Fn(u32) -> String) -> String {
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        let mut lines: Vec<String> = Vec::new();
        for (i, node) in self.nodes.iter().enumerate().skip(1) {
            if node.count == 0 {
                continue;
            }
            let mut stack = Vec::new();
            let mut at = i as u32;
            while at != 0 {
                let n = &self.nodes[at as usize];
                let text = names
                    .entry(n.func)
                    // `;` separates frames in the format.
                    .or_insert_with(|| name(n.func).replace(';', ","));
                stack.push(text.clone());
                at = n.parent;
            }
            stack.reverse();
            lines.push(format!("{} {}", stack.join(";"), node.count));
        }
        lines.sort();
        let mut out = lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

/// `text` as a JSON string (for the runtime's JSON outputs).
pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Gives `store` a profile (it also needs a meter, [`crate::meter::set_meter`], to count).
pub fn set_profile(store: &mut crate::store::Store) {
    store.profile = Some(Box::default());
}

/// The same for an embedding store, with `profile` (e.g. [`Profile::traced`]).
pub fn set_store_profile<T>(store: &mut crate::Store<T>, profile: Profile) {
    store.raw.profile = Some(Box::new(profile));
}

/// An embedding store's functions by the instructions they executed themselves (name,
/// activations, instructions; see [`Profile::functions`]), if it is profiled.
pub fn store_functions<T>(store: &crate::Store<T>) -> Option<Vec<(String, u64, u64)>> {
    let raw = &store.raw;
    let profile = raw.profile.as_ref()?;
    Some(
        profile
            .functions()
            .into_iter()
            .map(|(f, calls, n)| (raw.func_name(f), calls, n))
            .collect(),
    )
}

/// An embedding store's trace as Chrome trace-event JSON (see [`Profile::trace_json`]), and
/// the slices it dropped, if it is traced.
pub fn store_trace<T>(store: &crate::Store<T>) -> Option<(String, u64)> {
    let raw = &store.raw;
    let profile = raw.profile.as_ref()?;
    let json = profile.trace_json(|f| raw.func_name(f))?;
    Some((json, profile.trace_dropped().unwrap_or(0)))
}

/// An embedding store's profile as folded stacks (see [`Profile::folded`]), if it has one;
/// and the instructions it counted.
pub fn store_folded<T>(store: &crate::Store<T>) -> Option<(String, u64)> {
    let raw = &store.raw;
    raw.profile
        .as_ref()
        .map(|p| (p.folded(|f| raw.func_name(f)), p.total()))
}
