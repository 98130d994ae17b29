//! The task graph: tasks in an arena addressed by [`TaskId`], grouped into layers as
//! Dask's HighLevelGraph groups them, with Dask-style keys (`('frequencies-part-3f2a', 0)`).
//!
//! Invariants: a task's dependencies always have smaller ids than the task (the arena is
//! in topological order, so a graph can never hold a cycle); keys are unique.

use crate::error::{Error, Result};
use crate::ops::Op;
use serde::Serialize;
use std::collections::hash_map::Entry;
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
/// indices; a key with no index prints as a plain string. Keys of one layer share their
/// name, so a key costs no allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub name: Arc<str>,
    pub index: KeyIndex,
}

impl Key {
    pub fn new(name: impl IntoKeyName, index: Vec<u32>) -> Key {
        Key {
            name: name.into_key_name(),
            index: KeyIndex::from(index),
        }
    }
    pub fn single(name: impl IntoKeyName) -> Key {
        Key {
            name: name.into_key_name(),
            index: KeyIndex::none(),
        }
    }
    pub fn part(name: impl IntoKeyName, i: usize) -> Key {
        Key {
            name: name.into_key_name(),
            index: KeyIndex::one(u32::try_from(i).unwrap_or(u32::MAX)),
        }
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        // Siblings share their name: skip comparing its bytes.
        let names = if Arc::ptr_eq(&self.name, &other.name) {
            std::cmp::Ordering::Equal
        } else {
            self.name.cmp(&other.name)
        };
        names.then_with(|| self.index.cmp(&other.index))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// What a key's name can be made from: an `Arc<str>` is shared, text is copied once.
pub trait IntoKeyName {
    fn into_key_name(self) -> Arc<str>;
}

impl IntoKeyName for Arc<str> {
    fn into_key_name(self) -> Arc<str> {
        self
    }
}

impl IntoKeyName for &Arc<str> {
    fn into_key_name(self) -> Arc<str> {
        Arc::clone(self)
    }
}

impl IntoKeyName for &str {
    fn into_key_name(self) -> Arc<str> {
        Arc::from(self)
    }
}

impl IntoKeyName for String {
    fn into_key_name(self) -> Arc<str> {
        Arc::from(self)
    }
}

impl IntoKeyName for &String {
    fn into_key_name(self) -> Arc<str> {
        Arc::from(self.as_str())
    }
}

/// How many indices a key holds without a heap allocation (bags and dataframes use one,
/// arrays usually two or three).
const INLINE_INDICES: usize = 3;

/// A key's block index. Short ones (nearly all) are stored inline; it compares, hashes
/// and prints as the list of its numbers.
#[derive(Clone)]
pub enum KeyIndex {
    Inline { len: u8, items: [u32; INLINE_INDICES] },
    Heap(Box<[u32]>),
}

impl KeyIndex {
    /// No index: the key prints as a plain string.
    pub fn none() -> KeyIndex {
        KeyIndex::Inline {
            len: 0,
            items: [0; INLINE_INDICES],
        }
    }

    pub fn one(i: u32) -> KeyIndex {
        KeyIndex::Inline {
            len: 1,
            items: [i, 0, 0],
        }
    }

    pub fn as_slice(&self) -> &[u32] {
        match self {
            KeyIndex::Inline { len, items } => items.get(..usize::from(*len)).unwrap_or(&[]),
            KeyIndex::Heap(items) => items,
        }
    }
}

impl From<&[u32]> for KeyIndex {
    fn from(items: &[u32]) -> KeyIndex {
        match u8::try_from(items.len()) {
            Ok(len) if items.len() <= INLINE_INDICES => {
                let mut inline = [0; INLINE_INDICES];
                for (slot, i) in inline.iter_mut().zip(items) {
                    *slot = *i;
                }
                KeyIndex::Inline { len, items: inline }
            }
            _ => KeyIndex::Heap(items.into()),
        }
    }
}

impl From<Vec<u32>> for KeyIndex {
    fn from(items: Vec<u32>) -> KeyIndex {
        if items.len() <= INLINE_INDICES {
            KeyIndex::from(items.as_slice())
        } else {
            KeyIndex::Heap(items.into_boxed_slice())
        }
    }
}

impl std::ops::Deref for KeyIndex {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        self.as_slice()
    }
}

impl PartialEq for KeyIndex {
    fn eq(&self, other: &KeyIndex) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for KeyIndex {}

impl std::hash::Hash for KeyIndex {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl Ord for KeyIndex {
    fn cmp(&self, other: &KeyIndex) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl PartialOrd for KeyIndex {
    fn partial_cmp(&self, other: &KeyIndex) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl Serialize for KeyIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.index.is_empty() {
            return write!(f, "'{}'", self.name);
        }
        write!(f, "('{}'", self.name)?;
        for i in self.index.iter() {
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

/// How many dependencies a task holds without a heap allocation (blockwise tasks read
/// one or two partitions; reductions read up to `split_every`).
const INLINE_DEPS: usize = 5;

/// A task's dependencies. Short lists (most tasks) are stored inline, so building a
/// large graph does not allocate once per task; it reads as a slice of ids.
#[derive(Clone)]
pub enum Deps {
    Inline { len: u8, items: [TaskId; INLINE_DEPS] },
    Heap(Box<[TaskId]>),
}

impl Deps {
    pub fn new() -> Deps {
        Deps::Inline {
            len: 0,
            items: [TaskId(0); INLINE_DEPS],
        }
    }

    pub fn as_slice(&self) -> &[TaskId] {
        match self {
            Deps::Inline { len, items } => items.get(..usize::from(*len)).unwrap_or(&[]),
            Deps::Heap(items) => items,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [TaskId] {
        match self {
            Deps::Inline { len, items } => items.get_mut(..usize::from(*len)).unwrap_or(&mut []),
            Deps::Heap(items) => items,
        }
    }

    /// Keeps the ids for which `map` gives a new id, replaced by it, in order.
    pub fn filter_map_in_place(&mut self, mut map: impl FnMut(TaskId) -> Option<TaskId>) {
        let mut kept = 0;
        let ids = self.as_mut_slice();
        for i in 0..ids.len() {
            let Some(id) = ids.get(i).copied() else { break };
            if let Some(new) = map(id) {
                if let Some(slot) = ids.get_mut(kept) {
                    *slot = new;
                }
                kept += 1;
            }
        }
        if kept < ids.len() {
            let shorter = Deps::from(ids.get(..kept).unwrap_or(&[]));
            *self = shorter;
        }
    }
}

impl Default for Deps {
    fn default() -> Deps {
        Deps::new()
    }
}

impl From<&[TaskId]> for Deps {
    fn from(ids: &[TaskId]) -> Deps {
        match u8::try_from(ids.len()) {
            Ok(len) if ids.len() <= INLINE_DEPS => {
                let mut items = [TaskId(0); INLINE_DEPS];
                for (slot, id) in items.iter_mut().zip(ids) {
                    *slot = *id;
                }
                Deps::Inline { len, items }
            }
            _ => Deps::Heap(ids.into()),
        }
    }
}

impl From<Vec<TaskId>> for Deps {
    fn from(ids: Vec<TaskId>) -> Deps {
        if ids.len() <= INLINE_DEPS {
            Deps::from(ids.as_slice())
        } else {
            Deps::Heap(ids.into_boxed_slice())
        }
    }
}

impl<const N: usize> From<[TaskId; N]> for Deps {
    fn from(ids: [TaskId; N]) -> Deps {
        Deps::from(ids.as_slice())
    }
}

impl FromIterator<TaskId> for Deps {
    fn from_iter<I: IntoIterator<Item = TaskId>>(iter: I) -> Deps {
        let mut items = [TaskId(0); INLINE_DEPS];
        let mut len = 0;
        let mut iter = iter.into_iter();
        for id in iter.by_ref() {
            match items.get_mut(len) {
                Some(slot) => {
                    *slot = id;
                    len += 1;
                }
                None => {
                    // Longer than the inline room: move to the heap.
                    let mut all: Vec<TaskId> = items.to_vec();
                    all.push(id);
                    all.extend(iter);
                    return Deps::Heap(all.into_boxed_slice());
                }
            }
        }
        Deps::Inline {
            len: len as u8,
            items,
        }
    }
}

impl<'a> IntoIterator for &'a Deps {
    type Item = &'a TaskId;
    type IntoIter = std::slice::Iter<'a, TaskId>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl std::ops::Deref for Deps {
    type Target = [TaskId];
    fn deref(&self) -> &[TaskId] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for Deps {
    fn deref_mut(&mut self) -> &mut [TaskId] {
        self.as_mut_slice()
    }
}

impl PartialEq for Deps {
    fn eq(&self, other: &Deps) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Deps {}

impl fmt::Debug for Deps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
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
    pub deps: Deps,
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
    pub fn add_task(&mut self, key: Key, layer: LayerId, deps: impl Into<Deps>, op: Op) -> Result<TaskId> {
        let deps = deps.into();
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
        let has_layer = layer.index() < self.layers.len();
        // One hash lookup both checks the key is new and records it.
        match self.by_key.entry(key.clone()) {
            Entry::Occupied(_) => {
                return Err(Error::internal(format!("duplicate key {key} in the task graph")));
            }
            Entry::Vacant(_) if !has_layer => {
                return Err(Error::internal(format!("task {key} names a missing layer")));
            }
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
        }
        if let Some(layer_ref) = self.layers.get_mut(layer.index()) {
            layer_ref.tasks.push(id);
        }
        self.tasks.push(Task { key, layer, deps, op });
        Ok(id)
    }

    /// Makes room for `additional` more tasks (a layer about to be added).
    pub fn reserve(&mut self, additional: usize) {
        self.tasks.reserve(additional);
        self.by_key.reserve(additional);
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
                    index: t.key.index.to_vec(),
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
        self.clone().retain_tasks(&needed)
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
        // How many times each task is read, and by whom when that is once.
        const NOBODY: u32 = u32::MAX;
        let mut readers = vec![0u32; self.tasks.len()];
        let mut sole_reader = vec![NOBODY; self.tasks.len()];
        for (i, t) in self.tasks.iter().enumerate() {
            for d in &t.deps {
                if let (Some(n), Some(r)) = (readers.get_mut(d.index()), sole_reader.get_mut(d.index())) {
                    *n += 1;
                    *r = i as u32;
                }
            }
        }
        let mut is_output = vec![false; self.tasks.len()];
        for o in &self.outputs {
            if let Some(x) = is_output.get_mut(o.index()) {
                *x = true;
            }
        }
        self.tasks
            .iter()
            .zip(readers.iter().zip(&sole_reader))
            .zip(&is_output)
            .map(|((t, (n, reader)), output)| {
                if *output || *n != 1 {
                    return false;
                }
                let Some(child) = self.tasks.get(*reader as usize) else {
                    return false;
                };
                child.deps.len() == 1 && child.op.fusable() && t.op.fusable()
            })
            .collect()
    }

    /// Fuses linear chains (Dask's `fuse`): a task whose only dependent has it as its only
    /// dependency is merged into that dependent. The fused task keeps the last key of the
    /// chain and runs the chain's operations in order; outputs are never fused away.
    pub fn fuse(&self) -> TaskGraph {
        let absorbed = self.absorbed();
        self.clone().fuse_absorbed(&absorbed)
    }

    /// `fuse` in place, given `absorbed`: ops move along their chain instead of being
    /// copied, and the graph is compacted rather than rebuilt.
    fn fuse_absorbed(mut self, absorbed: &[bool]) -> TaskGraph {
        let is_absorbed = |id: TaskId| absorbed.get(id.index()).copied().unwrap_or(false);
        let labels = self.fused_labels(absorbed);
        /// The part of a chain fused so far: its first task's dependencies and the ops.
        struct Chain {
            deps: Deps,
            ops: Vec<Op>,
        }
        const NO_CHAIN: u32 = u32::MAX;
        let mut chains: Vec<Chain> = Vec::new();
        let mut chain_of = vec![NO_CHAIN; self.tasks.len()];
        // Stands in for the ops of absorbed tasks, which are dropped.
        let moved = Op::Fused(Arc::new(Vec::new()));
        for (i, t) in self.tasks.iter_mut().enumerate() {
            let inherited = match t.deps.as_slice() {
                [only] if is_absorbed(*only) => chain_of.get(only.index()).copied(),
                _ => None,
            };
            let absorbed_here = absorbed.get(i).copied().unwrap_or(false);
            match (inherited, absorbed_here) {
                (None, false) => {}
                (Some(c), true) => {
                    if let Some(chain) = chains.get_mut(c as usize) {
                        chain.ops.push(std::mem::replace(&mut t.op, moved.clone()));
                    }
                    if let Some(own) = chain_of.get_mut(i) {
                        *own = c;
                    }
                }
                (None, true) => {
                    if let Some(own) = chain_of.get_mut(i) {
                        *own = chains.len() as u32;
                    }
                    // Most chains are two ops long: room for both up front.
                    let mut ops = Vec::with_capacity(2);
                    ops.push(std::mem::replace(&mut t.op, moved.clone()));
                    chains.push(Chain {
                        deps: std::mem::take(&mut t.deps),
                        ops,
                    });
                }
                (Some(c), false) => {
                    if let Some(chain) = chains.get_mut(c as usize) {
                        let mut ops = std::mem::take(&mut chain.ops);
                        ops.push(std::mem::replace(&mut t.op, moved.clone()));
                        t.deps = std::mem::take(&mut chain.deps);
                        t.op = Op::Fused(Arc::new(ops));
                    }
                }
            }
        }
        for (layer, label) in self.layers.iter_mut().zip(labels) {
            if let Some(label) = label {
                layer.label = label;
            }
        }
        let keep: Vec<bool> = absorbed.iter().map(|a| !a).collect();
        self.retain_tasks(&keep)
    }

    /// The label of each layer whose tasks end fused chains: the labels of the chain's
    /// layers, first to last, without repeats, joined by `-` (the layer's last chain wins).
    fn fused_labels(&self, absorbed: &[bool]) -> Vec<Option<String>> {
        let is_absorbed = |id: TaskId| absorbed.get(id.index()).copied().unwrap_or(false);
        let mut last_end: Vec<Option<usize>> = vec![None; self.layers.len()];
        for (i, t) in self.tasks.iter().enumerate() {
            if let ([only], false) = (t.deps.as_slice(), is_absorbed(TaskId(i as u32))) {
                if is_absorbed(*only) {
                    if let Some(slot) = last_end.get_mut(t.layer.index()) {
                        *slot = Some(i);
                    }
                }
            }
        }
        last_end
            .into_iter()
            .map(|end| {
                let mut cur = self.tasks.get(end?)?;
                let mut labels: Vec<&str> = Vec::new();
                loop {
                    if let Some(l) = self.layers.get(cur.layer.index()) {
                        labels.push(&l.label);
                    }
                    match cur.deps.as_slice() {
                        [only] if is_absorbed(*only) => cur = self.tasks.get(only.index())?,
                        _ => break,
                    }
                }
                labels.reverse();
                let mut uniq: Vec<&str> = Vec::new();
                for l in labels {
                    if !uniq.contains(&l) {
                        uniq.push(l);
                    }
                }
                Some(uniq.join("-"))
            })
            .collect()
    }

    /// Keeps the tasks marked in `keep`, in place: ids are renumbered in order, dependencies
    /// on dropped tasks are dropped, layers left empty are dropped and the others numbered in
    /// the order of their first kept task.
    fn retain_tasks(mut self, keep: &[bool]) -> TaskGraph {
        let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
        let mut new_id: Vec<Option<TaskId>> = vec![None; self.tasks.len()];
        let mut new_layer: Vec<Option<LayerId>> = vec![None; self.layers.len()];
        let mut layer_order: Vec<usize> = Vec::new();
        let mut next = 0u32;
        for (i, t) in self.tasks.iter().enumerate() {
            if !kept(i) {
                continue;
            }
            if let Some(slot) = new_id.get_mut(i) {
                *slot = Some(TaskId(next));
            }
            next += 1;
            if let Some(slot @ None) = new_layer.get_mut(t.layer.index()) {
                *slot = Some(LayerId(layer_order.len() as u32));
                layer_order.push(t.layer.index());
            }
        }
        let remap = |id: &TaskId| new_id.get(id.index()).copied().flatten();
        let mut old_layers: Vec<Option<Layer>> =
            std::mem::take(&mut self.layers).into_iter().map(Some).collect();
        self.layers = layer_order
            .iter()
            .filter_map(|l| old_layers.get_mut(*l).and_then(Option::take))
            .map(|mut l| {
                l.tasks.clear();
                l
            })
            .collect();
        let mut i = 0;
        let layers = &mut self.layers;
        self.tasks.retain_mut(|t| {
            let here = i;
            i += 1;
            if !kept(here) {
                return false;
            }
            t.deps.filter_map_in_place(|d| remap(&d));
            if let Some(l) = new_layer.get(t.layer.index()).copied().flatten() {
                t.layer = l;
            }
            if let (Some(layer), Some(id)) = (layers.get_mut(t.layer.index()), remap(&TaskId(here as u32))) {
                layer.tasks.push(id);
            }
            true
        });
        self.by_key.retain(|_, id| match remap(id) {
            Some(n) => {
                *id = n;
                true
            }
            None => false,
        });
        self.outputs = self.outputs.iter().filter_map(remap).collect();
        self
    }

    /// Folds transposes into the element-wise tasks that read them (Dask's blockwise fusion
    /// of `x + x.T`): a transpose task read by exactly one task that can read its input
    /// through a view, and not an output, is dropped, and that reader reads the transpose's
    /// input instead. Its layer's label gains a `transpose-` prefix, so graphs still say so.
    fn fold_transposes(mut self) -> TaskGraph {
        if !self.tasks.iter().any(|t| t.op.transpose_axes().is_some()) {
            return self;
        }
        let readers = self.read_counts();
        let mut folded = vec![false; self.tasks.len()];
        let mut relabel: Vec<LayerId> = Vec::new();
        for i in 0..self.tasks.len() {
            let slots = self.tasks.get(i).map(|t| t.deps.len()).unwrap_or(0);
            for slot in 0..slots {
                let Some(dep) = self.tasks.get(i).and_then(|t| t.deps.get(slot)).copied() else {
                    continue;
                };
                if readers.get(dep.index()) != Some(&1) {
                    continue;
                }
                let Some(source) = self.tasks.get(dep.index()) else {
                    continue;
                };
                let (Some(axes), [input]) = (source.op.transpose_axes(), source.deps.as_slice()) else {
                    continue;
                };
                let (axes, input) = (axes.to_vec(), *input);
                let Some(reader) = self.tasks.get_mut(i) else {
                    continue;
                };
                if reader.op.read_input_permuted(slot, &axes) {
                    if let Some(d) = reader.deps.get_mut(slot) {
                        *d = input;
                    }
                    if !relabel.contains(&reader.layer) {
                        relabel.push(reader.layer);
                    }
                    if let Some(f) = folded.get_mut(dep.index()) {
                        *f = true;
                    }
                }
            }
        }
        if !folded.iter().any(|f| *f) {
            return self;
        }
        for layer in relabel {
            if let Some(l) = self.layers.get_mut(layer.index()) {
                if !l.label.starts_with("transpose-") {
                    l.label = format!("transpose-{}", l.label);
                }
            }
        }
        let keep: Vec<bool> = folded.iter().map(|f| !f).collect();
        self.retain_tasks(&keep)
    }

    /// How many times each task is read: by other tasks, and once more if it is an output.
    fn read_counts(&self) -> Vec<u32> {
        let mut readers = vec![0u32; self.tasks.len()];
        for t in &self.tasks {
            for d in &t.deps {
                if let Some(n) = readers.get_mut(d.index()) {
                    *n += 1;
                }
            }
        }
        for o in &self.outputs {
            if let Some(n) = readers.get_mut(o.index()) {
                *n += 1;
            }
        }
        readers
    }

    /// Folds a blocked matmul's terms into the sum that reads them: a sum whose inputs are
    /// all `matmul-part` tasks read by it alone (none an output) multiplies the block pairs
    /// itself, adding each product into one output as it goes. No term is built on its
    /// own, which saves a block of memory and a pass over it per term. The sum's layer is
    /// relabelled `matmul-part+sum`, so graphs still say so.
    fn fold_matmul_sums(mut self) -> TaskGraph {
        if !self.tasks.iter().any(|t| t.op.is_matmul_part()) {
            return self;
        }
        let readers = self.read_counts();
        let is_term = |g: &TaskGraph, d: &TaskId| {
            readers.get(d.index()) == Some(&1)
                && g.tasks
                    .get(d.index())
                    .is_some_and(|t| t.op.is_matmul_part() && t.deps.len() == 2)
        };
        let mut folded = vec![false; self.tasks.len()];
        let mut relabel: Vec<LayerId> = Vec::new();
        for i in 0..self.tasks.len() {
            let Some(sum) = self.tasks.get(i) else {
                continue;
            };
            if !sum.op.sums_matmul_terms()
                || sum.deps.is_empty()
                || !sum.deps.iter().all(|d| is_term(&self, d))
            {
                continue;
            }
            let terms: Vec<TaskId> = sum.deps.iter().copied().collect();
            let pairs: Deps = terms
                .iter()
                .filter_map(|d| self.tasks.get(d.index()))
                .flat_map(|t| t.deps.iter().copied())
                .collect();
            for d in &terms {
                if let Some(f) = folded.get_mut(d.index()) {
                    *f = true;
                }
            }
            if let Some(sum) = self.tasks.get_mut(i) {
                sum.deps = pairs;
                sum.op = Op::Array(crate::array::ArrayOp::MatmulSum);
                if !relabel.contains(&sum.layer) {
                    relabel.push(sum.layer);
                }
            }
        }
        if !folded.iter().any(|f| *f) {
            return self;
        }
        for layer in relabel {
            if let Some(l) = self.layers.get_mut(layer.index()) {
                l.label = "matmul-part+sum".to_string();
            }
        }
        let keep: Vec<bool> = folded.iter().map(|f| !f).collect();
        self.retain_tasks(&keep)
    }

    /// Applies the optimisations that are switched on.
    pub fn optimize(&self, opts: OptimizeOptions) -> TaskGraph {
        self.clone().into_optimized(opts)
    }

    /// `optimize` without copying: both passes work in place, and a pass with nothing to
    /// cull or fuse leaves the graph as it is.
    pub fn into_optimized(self, opts: OptimizeOptions) -> TaskGraph {
        let mut g = self;
        if opts.cull {
            let needed = g.needed();
            if needed.iter().any(|n| !n) {
                g = g.retain_tasks(&needed);
            }
        }
        if opts.fuse {
            g = g.fold_transposes().fold_matmul_sums();
            let absorbed = g.absorbed();
            if absorbed.iter().any(|a| *a) {
                g = g.fuse_absorbed(&absorbed);
            }
        }
        g
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
    pub fn token(self) -> String {
        let h = self.finish();
        format!("{:08x}", (h ^ (h >> 32)) as u32)
    }

    /// The whole 64-bit hash, for digests that are hashed again.
    pub fn finish(mut self) -> u64 {
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
        self.lanes
            .iter()
            .fold(total, |h, lane| mix64(h.rotate_left(23) ^ *lane))
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
