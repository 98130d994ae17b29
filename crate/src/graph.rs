//! The task graph: tasks in an arena addressed by [`TaskId`], grouped into layers as
//! Dask's HighLevelGraph groups them, with Dask-style keys (`('frequencies-part-3f2a', 0)`).
//!
//! Invariants: a task's dependencies always have smaller ids than the task (the arena is
//! in topological order, so a graph can never hold a cycle); keys are unique.

use crate::error::{Error, Result};
use crate::ops::Op;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Index of a task in its graph's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TaskId(pub u32);

impl TaskId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a layer in its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LayerId(pub u32);

impl LayerId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A Dask-style key: a name and, for tasks of a partitioned layer, a block index.
/// `('map-3f2a91c0', 3)` has name `map-3f2a91c0` and index `[3]`; arrays use two or more
/// indices; a key with no index prints as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub name: Arc<str>,
    pub index: Vec<u32>,
}

impl Key {
    pub fn new(name: impl AsRef<str>, index: Vec<u32>) -> Key {
        Key {
            name: Arc::from(name.as_ref()),
            index,
        }
    }
    pub fn single(name: impl AsRef<str>) -> Key {
        Key::new(name, Vec::new())
    }
    pub fn part(name: impl AsRef<str>, i: usize) -> Key {
        Key::new(name, vec![u32::try_from(i).unwrap_or(u32::MAX)])
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.index.is_empty() {
            return write!(f, "'{}'", self.name);
        }
        write!(f, "('{}'", self.name)?;
        for i in &self.index {
            write!(f, ", {i}")?;
        }
        f.write_str(")")
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a layer does, for the UI's colours and for graph-shape tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// Creates partitions from data (from_sequence, literal values, persisted data).
    Input,
    /// One task per partition, each reading the same partition of its inputs.
    Blockwise,
    /// The per-partition step of a tree reduction (`-part`).
    ReductionPart,
    /// An intermediate or final combining level of a tree reduction (`-aggregate`).
    ReductionAggregate,
    /// An all-to-all exchange between partitions (groupby, merge, set_index).
    Shuffle,
    /// A delayed function call or a submitted future.
    Call,
}

/// A group of tasks made by one operation, like a layer of Dask's HighLevelGraph.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// The key name its tasks share (`frequencies-part-3f2a91c0`).
    pub name: String,
    /// The operation's readable name (`frequencies-part`), without the token.
    pub label: String,
    pub kind: LayerKind,
    /// Reduction level: 0 for `-part`, 1.. for aggregate levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// The plan node this layer was lowered from, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub tasks: Vec<TaskId>,
}

/// One task: a key, the layer it belongs to, its dependencies and the operation to run.
#[derive(Debug, Clone)]
pub struct Task {
    pub key: Key,
    pub layer: LayerId,
    pub deps: Vec<TaskId>,
    pub op: Op,
}

/// Tasks in an arena, layers over them and the keys the caller wants back.
#[derive(Debug, Clone, Default)]
pub struct TaskGraph {
    tasks: Vec<Task>,
    layers: Vec<Layer>,
    // foldhash: keys are hashed once per task while building and optimising.
    by_key: HashMap<Key, TaskId, foldhash::fast::FixedState>,
    outputs: Vec<TaskId>,
}

impl TaskGraph {
    pub fn new() -> TaskGraph {
        TaskGraph::default()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    pub fn outputs(&self) -> &[TaskId] {
        &self.outputs
    }
    pub fn task(&self, id: TaskId) -> Result<&Task> {
        self.tasks
            .get(id.index())
            .ok_or_else(|| Error::internal(format!("no task with id {}", id.0)))
    }
    pub fn layer(&self, id: LayerId) -> Result<&Layer> {
        self.layers
            .get(id.index())
            .ok_or_else(|| Error::internal(format!("no layer with id {}", id.0)))
    }
    pub fn layer_of(&self, id: TaskId) -> Result<&Layer> {
        self.layer(self.task(id)?.layer)
    }
    pub fn find(&self, key: &Key) -> Option<TaskId> {
        self.by_key.get(key).copied()
    }
    pub fn layer_by_name(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// Adds an empty layer; tasks join it through [`TaskGraph::add_task`].
    pub fn add_layer(
        &mut self,
        name: impl Into<String>,
        label: impl Into<String>,
        kind: LayerKind,
        level: Option<u32>,
        node: Option<String>,
    ) -> LayerId {
        let id = LayerId(u32::try_from(self.layers.len()).unwrap_or(u32::MAX));
        self.layers.push(Layer {
            name: name.into(),
            label: label.into(),
            kind,
            level,
            node,
            tasks: Vec::new(),
        });
        id
    }

    /// Adds a task. Its dependencies must already be in the graph, which keeps the arena
    /// in topological order; its key must be new.
    pub fn add_task(&mut self, key: Key, layer: LayerId, deps: Vec<TaskId>, op: Op) -> Result<TaskId> {
        let id = TaskId(
            u32::try_from(self.tasks.len())
                .map_err(|_| Error::limit("a task graph holds at most 4,294,967,295 tasks"))?,
        );
        if let Some(bad) = deps.iter().find(|d| d.index() >= self.tasks.len()) {
            return Err(Error::internal(format!(
                "task {key} depends on task id {} that is not in the graph yet",
                bad.0
            )));
        }
        if self.by_key.contains_key(&key) {
            return Err(Error::internal(format!("duplicate key {key} in the task graph")));
        }
        let layer_ref = self
            .layers
            .get_mut(layer.index())
            .ok_or_else(|| Error::internal(format!("task {key} names a missing layer")))?;
        layer_ref.tasks.push(id);
        self.by_key.insert(key.clone(), id);
        self.tasks.push(Task { key, layer, deps, op });
        Ok(id)
    }

    pub fn set_outputs(&mut self, outputs: Vec<TaskId>) {
        self.outputs = outputs;
    }

    /// The dependents of every task (the reverse edges).
    pub fn dependents(&self) -> Vec<Vec<TaskId>> {
        let mut out = vec![Vec::new(); self.tasks.len()];
        for (i, t) in self.tasks.iter().enumerate() {
            for d in &t.deps {
                if let Some(list) = out.get_mut(d.index()) {
                    list.push(TaskId(i as u32));
                }
            }
        }
        out
    }

    /// The graph as JSON for the UI: layers, tasks (key, layer, partition index,
    /// dependencies, operation) and outputs.
    pub fn to_json(&self) -> GraphJson {
        let layer_deps = self.layer_dependencies();
        GraphJson {
            layers: self
                .layers
                .iter()
                .zip(layer_deps)
                .map(|(l, deps)| LayerJson {
                    name: l.name.clone(),
                    label: l.label.clone(),
                    kind: l.kind,
                    level: l.level,
                    node: l.node.clone(),
                    tasks: l.tasks.len(),
                    dependencies: deps
                        .into_iter()
                        .filter_map(|d| self.layers.get(d.index()).map(|x| x.name.clone()))
                        .collect(),
                })
                .collect(),
            tasks: self
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| TaskJson {
                    id: i as u32,
                    key: t.key.to_string(),
                    name: t.key.name.to_string(),
                    index: t.key.index.clone(),
                    layer: self
                        .layers
                        .get(t.layer.index())
                        .map(|l| l.name.clone())
                        .unwrap_or_default(),
                    op: t.op.name(),
                    deps: t.deps.iter().map(|d| d.0).collect(),
                })
                .collect(),
            outputs: self.outputs.iter().map(|o| o.0).collect(),
        }
    }

    /// For each layer, the layers its tasks read from, in id order.
    fn layer_dependencies(&self) -> Vec<Vec<LayerId>> {
        let mut out: Vec<Vec<LayerId>> = vec![Vec::new(); self.layers.len()];
        for t in &self.tasks {
            for d in &t.deps {
                if let (Some(dep), Some(list)) = (self.tasks.get(d.index()), out.get_mut(t.layer.index())) {
                    if dep.layer != t.layer && !list.contains(&dep.layer) {
                        list.push(dep.layer);
                    }
                }
            }
        }
        for list in &mut out {
            list.sort();
        }
        out
    }

    /// The graph printed as Dask prints a low-level graph: one `key: (function, args...)`
    /// entry a line, arguments that are other tasks shown by their keys.
    pub fn to_dask_string(&self) -> String {
        let mut out = String::from("{\n");
        for t in &self.tasks {
            let mut args: Vec<String> = Vec::new();
            let dep_keys: Vec<String> = t
                .deps
                .iter()
                .filter_map(|d| self.tasks.get(d.index()).map(|x| x.key.to_string()))
                .collect();
            if let Some(lit) = t.op.literal_summary() {
                args.push(lit);
            }
            if t.op.takes_list() {
                args.push(format!("[{}]", dep_keys.join(", ")));
            } else {
                args.extend(dep_keys);
            }
            out.push_str(&format!(" {}: ({}", t.key, t.op.name()));
            for a in args {
                out.push_str(", ");
                out.push_str(&a);
            }
            out.push_str("),\n");
        }
        out.push('}');
        out
    }

    /// Keeps only the tasks the outputs need (Dask's `cull`). Ids are renumbered; keys and
    /// layers are kept, layers left empty are dropped.
    pub fn cull(&self) -> TaskGraph {
        let needed = self.needed();
        self.rebuild(
            |id| needed.get(id.index()).copied().unwrap_or(false),
            |_, t| t.clone(),
        )
    }

    /// The tasks the outputs depend on.
    fn needed(&self) -> Vec<bool> {
        let mut needed = vec![false; self.tasks.len()];
        let mut stack: Vec<TaskId> = self.outputs.clone();
        while let Some(id) = stack.pop() {
            match needed.get_mut(id.index()) {
                Some(seen) if !*seen => *seen = true,
                _ => continue,
            }
            if let Some(t) = self.tasks.get(id.index()) {
                stack.extend(t.deps.iter().copied());
            }
        }
        needed
    }

    /// absorbed[i]: task i is folded into its single dependent by `fuse`.
    fn absorbed(&self) -> Vec<bool> {
        let dependents = self.dependents();
        let is_output: Vec<bool> = {
            let mut v = vec![false; self.tasks.len()];
            for o in &self.outputs {
                if let Some(x) = v.get_mut(o.index()) {
                    *x = true;
                }
            }
            v
        };
        (0..self.tasks.len())
            .map(|i| {
                let Some(deps_of) = dependents.get(i) else {
                    return false;
                };
                if is_output.get(i).copied().unwrap_or(true) || deps_of.len() != 1 {
                    return false;
                }
                let Some(child) = deps_of.first().and_then(|c| self.tasks.get(c.index())) else {
                    return false;
                };
                child.deps.len() == 1
                    && child.op.fusable()
                    && self.tasks.get(i).is_some_and(|t| t.op.fusable())
            })
            .collect()
    }

    /// Fuses linear chains (Dask's `fuse`): a task whose only dependent has it as its only
    /// dependency is merged into that dependent. The fused task keeps the last key of the
    /// chain and runs the chain's operations in order; outputs are never fused away.
    pub fn fuse(&self) -> TaskGraph {
        let absorbed = self.absorbed();
        let chain_of = |id: TaskId| -> (Vec<Op>, Vec<TaskId>, Vec<String>) {
            // Walk up the chain from `id` through absorbed single dependencies.
            let mut ops = Vec::new();
            let mut labels = Vec::new();
            let mut cur = id;
            while let Some(t) = self.tasks.get(cur.index()) {
                ops.push(t.op.clone());
                if let Some(l) = self.layers.get(t.layer.index()) {
                    labels.push(l.label.clone());
                }
                match t.deps.as_slice() {
                    [only] if absorbed.get(only.index()).copied().unwrap_or(false) => cur = *only,
                    deps => {
                        ops.reverse();
                        labels.reverse();
                        return (ops, deps.to_vec(), labels);
                    }
                }
            }
            (ops, Vec::new(), labels)
        };
        let mut fused_labels: HashMap<LayerId, String> = HashMap::new();
        let mut graph = self.rebuild(
            |id| !absorbed.get(id.index()).copied().unwrap_or(false),
            |id, t| {
                let (ops, deps, labels) = chain_of(id);
                if ops.len() <= 1 {
                    return t.clone();
                }
                let mut uniq: Vec<String> = Vec::new();
                for l in labels.iter() {
                    if !uniq.contains(l) {
                        uniq.push(l.clone());
                    }
                }
                fused_labels.insert(t.layer, uniq.join("-"));
                Task {
                    key: t.key.clone(),
                    layer: t.layer,
                    deps,
                    op: Op::Fused(Arc::new(ops)),
                }
            },
        );
        // Old ids were remapped by rebuild; deps in fused tasks still hold old ids.
        graph.remap_fused_deps(self, &absorbed);
        for layer in &mut graph.layers {
            if let Some(orig) = self.layers.iter().position(|l| l.name == layer.name) {
                if let Some(label) = fused_labels.get(&LayerId(orig as u32)) {
                    layer.label = label.clone();
                }
            }
        }
        graph
    }

    /// After `fuse`, dependencies of fused tasks were copied from the original graph; map
    /// them to the new ids through the keys.
    fn remap_fused_deps(&mut self, original: &TaskGraph, _absorbed: &[bool]) {
        let by_key = &self.by_key;
        for t in &mut self.tasks {
            if let Op::Fused(_) = t.op {
                t.deps = t
                    .deps
                    .iter()
                    .filter_map(|d| {
                        original
                            .tasks
                            .get(d.index())
                            .and_then(|x| by_key.get(&x.key))
                            .copied()
                    })
                    .collect();
            }
        }
    }

    /// A new graph with the kept tasks, transformed; ids renumbered in the same order.
    fn rebuild(
        &self,
        keep: impl Fn(TaskId) -> bool,
        mut map: impl FnMut(TaskId, &Task) -> Task,
    ) -> TaskGraph {
        let mut new_id: Vec<Option<TaskId>> = vec![None; self.tasks.len()];
        let mut out = TaskGraph::new();
        let mut new_layer: Vec<Option<LayerId>> = vec![None; self.layers.len()];
        for (i, t) in self.tasks.iter().enumerate() {
            let id = TaskId(i as u32);
            if !keep(id) {
                continue;
            }
            let mapped = map(id, t);
            let layer = match new_layer.get(t.layer.index()).copied().flatten() {
                Some(l) => l,
                None => {
                    let Some(src) = self.layers.get(t.layer.index()) else {
                        continue;
                    };
                    let l = out.add_layer(
                        src.name.clone(),
                        src.label.clone(),
                        src.kind,
                        src.level,
                        src.node.clone(),
                    );
                    if let Some(slot) = new_layer.get_mut(t.layer.index()) {
                        *slot = Some(l);
                    }
                    l
                }
            };
            let is_fused = matches!(mapped.op, Op::Fused(_));
            let deps: Vec<TaskId> = if is_fused {
                mapped.deps.clone() // remapped afterwards through keys
            } else {
                mapped
                    .deps
                    .iter()
                    .filter_map(|d| new_id.get(d.index()).copied().flatten())
                    .collect()
            };
            let new_task_id = TaskId(out.tasks.len() as u32);
            if let Some(layer_ref) = out.layers.get_mut(layer.index()) {
                layer_ref.tasks.push(new_task_id);
            }
            out.by_key.insert(mapped.key.clone(), new_task_id);
            out.tasks.push(Task {
                key: mapped.key,
                layer,
                deps,
                op: mapped.op,
            });
            if let Some(slot) = new_id.get_mut(i) {
                *slot = Some(new_task_id);
            }
        }
        out.outputs = self
            .outputs
            .iter()
            .filter_map(|o| new_id.get(o.index()).copied().flatten())
            .collect();
        out
    }

    /// Applies the optimisations that are switched on.
    pub fn optimize(&self, opts: OptimizeOptions) -> TaskGraph {
        self.clone().into_optimized(opts)
    }

    /// `optimize` without copying: a pass with nothing to cull or fuse keeps the graph as
    /// it is (large graphs of trivial tasks spend much of their time here otherwise).
    pub fn into_optimized(self, opts: OptimizeOptions) -> TaskGraph {
        let g = if opts.cull && self.needed().iter().any(|n| !n) {
            self.cull()
        } else {
            self
        };
        if opts.fuse && g.absorbed().iter().any(|a| *a) {
            g.fuse()
        } else {
            g
        }
    }
}

/// Which optimisations to run before scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptimizeOptions {
    pub cull: bool,
    pub fuse: bool,
}

impl OptimizeOptions {
    pub const NONE: OptimizeOptions = OptimizeOptions {
        cull: false,
        fuse: false,
    };
    pub const ALL: OptimizeOptions = OptimizeOptions {
        cull: true,
        fuse: true,
    };
}

/// The graph's JSON form for the UI and the CLI.
#[derive(Debug, Clone, Serialize)]
pub struct GraphJson {
    pub layers: Vec<LayerJson>,
    pub tasks: Vec<TaskJson>,
    pub outputs: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerJson {
    pub name: String,
    pub label: String,
    pub kind: LayerKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub tasks: usize,
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskJson {
    pub id: u32,
    pub key: String,
    pub name: String,
    pub index: Vec<u32>,
    pub layer: String,
    pub op: String,
    pub deps: Vec<u32>,
}

/// A deterministic 32-bit token, as 8 hex digits, from the given parts (FNV-1a 64, folded).
/// The same plan gives the same tokens on every run and every platform.
pub fn tokenize(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.as_bytes().iter().chain(std::iter::once(&0xffu8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

/// A streaming hash for tokens of large arguments: 32 bytes a step in four independent
/// lanes (so it runs at memory speed rather than a multiply per byte), little-endian
/// words so every platform gets the same token. Feed it with `std::io::Write`.
pub struct TokenHasher {
    lanes: [u64; 4],
    pending: [u8; 32],
    pending_len: usize,
    total: u64,
}

impl Default for TokenHasher {
    fn default() -> Self {
        TokenHasher {
            lanes: [
                0x9e37_79b9_7f4a_7c15,
                0xc2b2_ae3d_27d4_eb4f,
                0x1656_67b1_9e37_79f9,
                0x85eb_ca77_c2b2_ae63,
            ],
            pending: [0; 32],
            pending_len: 0,
            total: 0,
        }
    }
}

impl TokenHasher {
    fn block(&mut self, block: &[u8]) {
        for (lane, word) in self.lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane = (*lane ^ u64::from_le_bytes(w))
                .wrapping_mul(0x9fb2_1c65_1e98_df25)
                .rotate_left(31);
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.total = self.total.wrapping_add(bytes.len() as u64);
        if self.pending_len > 0 {
            let need = 32 - self.pending_len;
            let (head, rest) = bytes.split_at(need.min(bytes.len()));
            if let Some(slot) = self
                .pending
                .get_mut(self.pending_len..self.pending_len + head.len())
            {
                slot.copy_from_slice(head);
            }
            self.pending_len += head.len();
            bytes = rest;
            if self.pending_len < 32 {
                return;
            }
            let pending = self.pending;
            self.block(&pending);
            self.pending_len = 0;
        }
        let blocks = bytes.chunks_exact(32);
        let tail = blocks.remainder();
        for b in blocks {
            self.block(b);
        }
        if let Some(slot) = self.pending.get_mut(..tail.len()) {
            slot.copy_from_slice(tail);
        }
        self.pending_len = tail.len();
    }

    /// The token: 8 hex digits, as `tokenize` gives.
    pub fn token(mut self) -> String {
        let total = self.total;
        let mut last = [0u8; 32];
        if let (Some(dst), Some(src)) = (
            last.get_mut(..self.pending_len),
            self.pending.get(..self.pending_len),
        ) {
            dst.copy_from_slice(src);
        }
        self.block(&last);
        // The length has a block of its own, so trailing zero bytes count.
        let mut length = [0u8; 32];
        if let Some(dst) = length.get_mut(..8) {
            dst.copy_from_slice(&total.to_le_bytes());
        }
        self.block(&length);
        let h = self
            .lanes
            .iter()
            .fold(total, |h, lane| mix64(h.rotate_left(23) ^ *lane));
        format!("{:08x}", (h ^ (h >> 32)) as u32)
    }
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl std::io::Write for TokenHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenHasher;

    fn token(pieces: &[&[u8]]) -> String {
        let mut h = TokenHasher::default();
        for p in pieces {
            h.update(p);
        }
        h.token()
    }

    #[test]
    fn token_hasher_ignores_how_bytes_are_split() {
        let text: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = token(&[&text]);
        for cut in [0, 1, 7, 31, 32, 33, 500, 999, 1000] {
            let (a, b) = text.split_at(cut);
            assert_eq!(token(&[a, b]), whole, "cut at {cut}");
        }
        let pieces: Vec<&[u8]> = text.chunks(3).collect();
        assert_eq!(token(&pieces), whole);
        assert_eq!(whole.len(), 8);
    }

    #[test]
    fn token_hasher_tells_inputs_apart() {
        assert_ne!(token(&[b""]), token(&[b"\0"]));
        assert_ne!(token(&[b"a"]), token(&[b"a\0"]));
        assert_ne!(token(&[&[0u8; 32]]), token(&[&[0u8; 33]]));
        assert_ne!(token(&[b"ab"]), token(&[b"ba"]));
    }
}
