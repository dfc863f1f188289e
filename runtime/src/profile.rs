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

use std::collections::HashMap;

use crate::exec::Frame;

/// One node of the call tree: a function (a store address) under its parent.
struct Node {
    func: u32,
    parent: u32,
    count: u64,
}

/// A store's profile ([`set_profile`]).
pub struct Profile {
    /// Node 0 is the root (no function).
    nodes: Vec<Node>,
    children: HashMap<(u32, u32), u32>,
    /// The call stack as of the last event: (function, node), outermost first.
    path: Vec<(u32, u32)>,
    /// The executor's instruction counter at the last event.
    pub(crate) last_fuel: i64,
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
            }],
            children: HashMap::new(),
            path: Vec::new(),
            last_fuel: 0,
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
        });
        self.children.insert((parent, func), node);
        node
    }

    /// An event: the instructions since the last one (the counter went from `last_fuel` down
    /// to `fuel`) go to the stack as it was; then the stack becomes the executor's: the
    /// suspended `frames` and the running function `cur`.
    pub(crate) fn event(&mut self, frames: &[Frame], cur: u32, fuel: i64) {
        let top = self.path.last().map_or(0, |&(_, node)| node);
        self.nodes[top as usize].count += self.last_fuel.wrapping_sub(fuel) as u64;
        self.last_fuel = fuel;
        let want = frames.len() + 1;
        let func_at = |i: usize| frames.get(i).map_or(cur, |f| f.func);
        let have = self.path.len();
        // A call: the old stack with `cur` on top.
        if have + 1 == want && (have == 0 || self.path[have - 1].0 == func_at(have - 1)) {
            let node = self.child(top, cur);
            self.path.push((cur, node));
            return;
        }
        // A return, or the same activation.
        if have >= want && self.path[want - 1].0 == cur {
            self.path.truncate(want);
            return;
        }
        // Anything else: the common outermost part kept, the rest rebuilt.
        let mut k = 0;
        while k < have.min(want) && self.path[k].0 == func_at(k) {
            k += 1;
        }
        self.path.truncate(k);
        for i in k..want {
            let parent = self.path.last().map_or(0, |&(_, node)| node);
            let func = func_at(i);
            let node = self.child(parent, func);
            self.path.push((func, node));
        }
    }

    /// The end of a run: the instructions since the last event go to the stack as it was,
    /// and the stack is emptied.
    pub(crate) fn flush(&mut self, fuel: i64) {
        let top = self.path.last().map_or(0, |&(_, node)| node);
        self.nodes[top as usize].count += self.last_fuel.wrapping_sub(fuel) as u64;
        self.last_fuel = fuel;
        self.path.clear();
    }

    /// The instructions counted so far.
    pub fn total(&self) -> u64 {
        self.nodes.iter().map(|n| n.count).sum()
    }

    /// The folded stacks, one line each (`outer;inner count`), in byte order: only stacks
    /// that executed instructions themselves. `name` names a function (a store address).
    pub fn folded(&self, name: impl Fn(u32) -> String) -> String {
        let mut names: HashMap<u32, String> = HashMap::new();
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

/// Gives `store` a profile (it also needs a meter, [`crate::meter::set_meter`], to count).
pub fn set_profile(store: &mut crate::store::Store) {
    store.profile = Some(Box::default());
}

/// The same for an embedding store.
pub fn set_store_profile<T>(store: &mut crate::Store<T>) {
    set_profile(&mut store.raw);
}

/// An embedding store's profile as folded stacks (see [`Profile::folded`]), if it has one;
/// and the instructions it counted.
pub fn store_folded<T>(store: &crate::Store<T>) -> Option<(String, u64)> {
    let raw = &store.raw;
    raw.profile
        .as_ref()
        .map(|p| (p.folded(|f| raw.func_name(f)), p.total()))
}
