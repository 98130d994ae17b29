//! Lowering: a validated Plan becomes a TaskGraph, node by node in topological order.
//! Each node's op (see [`crate::registry`]) adds its layers and tasks and returns the
//! [`Collection`] it made: its kind and the tasks that hold its partitions.
//!
//! Tokens are deterministic: a node's token hashes its op, its arguments and its inputs'
//! tokens, so the same plan gives the same keys, and equal sub-plans share keys.

use crate::array::meta::ArrayMeta;
use crate::error::{Error, Result};
use crate::expr::{Function, Lang};
use crate::graph::{Key, LayerKind, TaskGraph, TaskId};
use crate::ops::Op;
use crate::partition::Partition;
use crate::plan::{Node, ValidPlan};
use crate::registry::{self, Kind};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;

/// The tasks that hold one node's result.
#[derive(Debug, Clone)]
pub struct Collection {
    pub kind: Kind,
    /// The key name of its partitions (`map-3f2a91c0`).
    pub name: String,
    /// One task per partition (one task for a value).
    pub tasks: Vec<TaskId>,
    pub token: String,
}

impl Collection {
    pub fn npartitions(&self) -> usize {
        self.tasks.len()
    }
}

/// A collection computed earlier and kept in the engine by `persist`.
#[derive(Debug, Clone)]
pub struct Persisted {
    pub kind: Kind,
    pub name: String,
    pub partitions: Vec<Arc<Partition>>,
    /// Shape, chunks and dtype when the collection is an array.
    pub array: Option<Arc<ArrayMeta>>,
    pub frame: Option<Arc<crate::dataframe::FrameMeta>>,
}

/// Persisted collections by token.
pub type PersistStore = HashMap<String, Persisted>;

/// The graph made from a plan, with each node's collection.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub graph: TaskGraph,
    /// By node index; `None` for nodes only persisted results needed (not lowered).
    pub collections: Vec<Option<Collection>>,
    /// The plan's outputs, in the plan's order.
    pub outputs: Vec<Collection>,
    /// Array metadata by collection name.
    pub arrays: HashMap<String, Arc<ArrayMeta>>,
    /// Dataframe metadata by collection name.
    pub frames: HashMap<String, Arc<crate::dataframe::FrameMeta>>,
}

impl Lowered {
    /// One description per output: its kind and partitions, and for arrays everything
    /// `ArrayMeta::describe` gives; with the graph's task and layer counts.
    pub fn describe(&self) -> Json {
        let outputs: Vec<Json> = self
            .outputs
            .iter()
            .map(|c| {
                let mut d = match (self.arrays.get(&c.name), self.frames.get(&c.name)) {
                    (Some(m), _) => m.describe(),
                    (None, Some(f)) => f.describe(),
                    _ => serde_json::json!({}),
                };
                if let Some(obj) = d.as_object_mut() {
                    let kind = match c.kind {
                        Kind::Bag => "bag",
                        Kind::Value => "value",
                        Kind::Array => "array",
                        Kind::Frame => "dataframe",
                    };
                    obj.insert("kind".into(), Json::from(kind));
                    obj.entry("npartitions").or_insert(Json::from(c.tasks.len()));
                }
                d
            })
            .collect();
        serde_json::json!({
            "tasks": self.graph.len(),
            "layers": self.graph.layers().len(),
            "outputs": outputs,
        })
    }
}

/// What a lowering function sees of its node.
pub struct NodeCtx<'a> {
    pub node: &'a Node,
    pub token: String,
    pub inputs: Vec<Collection>,
}

impl NodeCtx<'_> {
    fn arg(&self, name: &str) -> Option<&Json> {
        self.node.args().get(name).filter(|v| !v.is_null())
    }

    fn bad(&self, name: &str, what: &str) -> Error {
        Error::plan(format!(
            "node '{}' ({}): argument '{name}' must be {what}",
            self.node.id, self.node.op
        ))
    }

    pub fn usize_arg(&self, name: &str) -> Result<Option<usize>> {
        match self.arg(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|u| usize::try_from(u).ok())
                .map(Some)
                .ok_or_else(|| self.bad(name, "a non-negative integer")),
        }
    }

    pub fn bool_arg(&self, name: &str, default: bool) -> Result<bool> {
        match self.arg(name) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.bad(name, "true or false")),
        }
    }

    pub fn str_arg(&self, name: &str) -> Result<Option<&str>> {
        match self.arg(name) {
            None => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| self.bad(name, "a string")),
        }
    }

    /// A string argument as a shared text that the node keeps between computes, so a
    /// large text (a CSV file) is copied out of the plan once, not on every lowering.
    pub fn shared_str_arg(&self, name: &str) -> Result<Option<Arc<str>>> {
        Ok(match self.str_arg(name)? {
            None => None,
            Some(_) => self.node.shared_str_arg(name),
        })
    }

    pub fn json_arg(&self, name: &str) -> Option<&Json> {
        self.arg(name)
    }

    pub fn list_arg(&self, name: &str) -> Result<&[Json]> {
        match self.arg(name) {
            None => Err(self.bad(name, "a list")),
            Some(v) => v
                .as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| self.bad(name, "a list")),
        }
    }

    pub fn func_arg(&self, name: &str) -> Result<Function> {
        let src = self
            .arg(name)
            .and_then(Json::as_str)
            .ok_or_else(|| self.bad(name, "a function (JS arrow function or Python lambda)"))?;
        Function::parse(src, Lang::Auto).map_err(|e| {
            Error::new(
                e.kind,
                format!(
                    "node '{}' ({}), argument '{name}': {}",
                    self.node.id, self.node.op, e.message
                ),
            )
        })
    }

    pub fn input(&self, i: usize) -> Result<&Collection> {
        self.inputs.get(i).ok_or_else(|| {
            Error::internal(format!(
                "node '{}' ({}) has no input {}",
                self.node.id,
                self.node.op,
                i + 1
            ))
        })
    }

    /// The key name for a layer of this node: `{label}-{token}`.
    pub fn layer_name(&self, label: &str) -> String {
        format!("{label}-{}", self.token)
    }
}

/// Builds the graph of a validated plan.
pub struct Lowerer<'a> {
    pub graph: TaskGraph,
    persisted: &'a PersistStore,
    /// Collections already lowered, by token, so equal sub-plans are lowered once.
    by_token: HashMap<String, Collection>,
    current_node: Option<String>,
    arrays: HashMap<String, Arc<ArrayMeta>>,
    frames: HashMap<String, Arc<crate::dataframe::FrameMeta>>,
}

impl<'a> Lowerer<'a> {
    pub fn new(persisted: &'a PersistStore) -> Lowerer<'a> {
        Lowerer {
            graph: TaskGraph::new(),
            persisted,
            by_token: HashMap::new(),
            current_node: None,
            arrays: HashMap::new(),
            frames: HashMap::new(),
        }
    }

    /// Records an array collection's shape, chunks and dtype.
    pub fn set_array_meta(&mut self, c: &Collection, meta: ArrayMeta) {
        self.arrays.insert(c.name.clone(), Arc::new(meta));
    }

    /// Records a dataframe collection's schema and divisions.
    pub fn set_frame_meta(&mut self, c: &Collection, meta: crate::dataframe::FrameMeta) {
        self.frames.insert(c.name.clone(), Arc::new(meta));
    }

    /// The schema and divisions of a dataframe collection.
    pub fn frame_meta(&self, c: &Collection) -> Result<Arc<crate::dataframe::FrameMeta>> {
        self.frames
            .get(&c.name)
            .cloned()
            .ok_or_else(|| Error::internal(format!("no dataframe metadata for {}", c.name)))
    }

    /// The shape, chunks and dtype of an array collection.
    pub fn array_meta(&self, c: &Collection) -> Result<Arc<ArrayMeta>> {
        self.arrays
            .get(&c.name)
            .cloned()
            .ok_or_else(|| Error::internal(format!("no array metadata for {}", c.name)))
    }

    /// Adds a layer for the node being lowered.
    pub fn layer(
        &mut self,
        name: &str,
        label: &str,
        kind: LayerKind,
        level: Option<u32>,
    ) -> crate::graph::LayerId {
        self.graph
            .add_layer(name, label, kind, level, self.current_node.clone())
    }

    pub fn task(
        &mut self,
        key: Key,
        layer: crate::graph::LayerId,
        deps: impl Into<crate::graph::Deps>,
        op: Op,
    ) -> Result<TaskId> {
        self.graph.add_task(key, layer, deps, op)
    }

    /// Lowers every node; returns each node's collection.
    pub fn lower(mut self, plan: &ValidPlan) -> Result<Lowered> {
        let nodes = &plan.plan.nodes;
        let index: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut collections: Vec<Option<Collection>> = vec![None; nodes.len()];
        let (needed, tokens) = self.needed_nodes(plan, &index);
        for &i in &plan.order {
            let Some(node) = nodes.get(i) else { continue };
            if !needed.get(i).copied().unwrap_or(true) {
                continue;
            }
            let token = tokens.get(i).cloned().unwrap_or_default();
            let collection = if let Some(existing) = self.by_token.get(&token) {
                existing.clone()
            } else if let Some(stored) = self.persisted.get(&token) {
                let c = self.lower_persisted(node, &token, stored)?;
                self.by_token.insert(token.clone(), c.clone());
                c
            } else {
                let inputs: Vec<Collection> = node
                    .inputs
                    .iter()
                    .map(|id| {
                        index
                            .get(id.as_str())
                            .and_then(|j| collections.get(*j).cloned().flatten())
                            .ok_or_else(|| {
                                Error::internal(format!("input '{id}' of '{}' was not lowered", node.id))
                            })
                    })
                    .collect::<Result<_>>()?;
                let spec = registry::find(&node.op)
                    .ok_or_else(|| Error::plan(format!("node '{}': unknown op '{}'", node.id, node.op)))?;
                self.current_node = Some(node.id.clone());
                let ctx = NodeCtx {
                    node,
                    token: token.clone(),
                    inputs,
                };
                let c = (spec.lower)(&mut self, &ctx)?;
                self.by_token.insert(token, c.clone());
                c
            };
            if let Some(slot) = collections.get_mut(i) {
                *slot = Some(collection);
            }
        }
        let outputs: Vec<Collection> = plan
            .plan
            .outputs
            .iter()
            .map(|id| {
                index
                    .get(id.as_str())
                    .and_then(|i| collections.get(*i).cloned().flatten())
                    .ok_or_else(|| Error::plan(format!("output '{id}' is not a node of this plan")))
            })
            .collect::<Result<_>>()?;
        let mut out_tasks: Vec<TaskId> = Vec::new();
        for c in &outputs {
            for t in &c.tasks {
                if !out_tasks.contains(t) {
                    out_tasks.push(*t);
                }
            }
            // Divisions computed in the graph are kept, so the result can report them.
            let computed = self.frames.get(&c.name).and_then(|m| m.divisions_key.as_ref());
            if let Some(t) = computed.and_then(|k| self.graph.find(k)) {
                if !out_tasks.contains(&t) {
                    out_tasks.push(t);
                }
            }
        }
        self.graph.set_outputs(out_tasks);
        Ok(Lowered {
            graph: self.graph,
            collections,
            outputs,
            arrays: self.arrays,
            frames: self.frames,
        })
    }

    /// Which nodes to lower. A node that only feeds persisted collections is skipped (its
    /// work is done and kept); outputs and nodes nobody reads are lowered (cull may drop
    /// the latter), as Dask's graphs keep them.
    fn needed_nodes(&self, plan: &ValidPlan, index: &HashMap<&str, usize>) -> (Vec<bool>, Vec<String>) {
        let nodes = &plan.plan.nodes;
        let n = nodes.len();
        let mut tokens: Vec<String> = vec![String::new(); n];
        for &i in &plan.order {
            let Some(node) = nodes.get(i) else { continue };
            let inputs: Vec<String> = node
                .inputs
                .iter()
                .map(|id| {
                    index
                        .get(id.as_str())
                        .and_then(|j| tokens.get(*j))
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            if let Some(t) = tokens.get_mut(i) {
                *t = token_of(node, &inputs);
            }
        }
        let persisted: Vec<bool> = tokens.iter().map(|t| self.persisted.contains_key(t)).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, node) in nodes.iter().enumerate() {
            for input in &node.inputs {
                if let Some(list) = index.get(input.as_str()).and_then(|j| dependents.get_mut(*j)) {
                    list.push(i);
                }
            }
        }
        let outputs: Vec<usize> = plan
            .plan
            .outputs
            .iter()
            .filter_map(|o| index.get(o.as_str()).copied())
            .collect();
        let mut needed = vec![false; n];
        for &i in plan.order.iter().rev() {
            let deps = dependents.get(i).map(Vec::as_slice).unwrap_or(&[]);
            let keep = outputs.contains(&i)
                || deps.is_empty()
                || deps.iter().any(|d| {
                    needed.get(*d).copied().unwrap_or(false) && !persisted.get(*d).copied().unwrap_or(false)
                });
            if let Some(slot) = needed.get_mut(i) {
                *slot = keep;
            }
        }
        (needed, tokens)
    }

    /// A persisted collection comes back as literal tasks under its original keys.
    fn lower_persisted(&mut self, node: &Node, token: &str, stored: &Persisted) -> Result<Collection> {
        self.current_node = Some(node.id.clone());
        let label = stored
            .name
            .rsplit_once('-')
            .map(|(l, _)| l)
            .unwrap_or(&stored.name)
            .to_string();
        let layer = self.layer(
            &stored.name,
            &format!("{label} (persisted)"),
            LayerKind::Input,
            None,
        );
        let mut tasks = Vec::with_capacity(stored.partitions.len());
        for (i, p) in stored.partitions.iter().enumerate() {
            let key = if stored.kind == Kind::Value && stored.partitions.len() == 1 {
                Key::single(&stored.name)
            } else {
                Key::part(&stored.name, i)
            };
            tasks.push(self.task(key, layer, Vec::new(), Op::Literal(Arc::clone(p)))?);
        }
        if let Some(meta) = &stored.array {
            self.arrays.insert(stored.name.clone(), Arc::clone(meta));
        }
        if let Some(meta) = &stored.frame {
            self.frames.insert(stored.name.clone(), Arc::clone(meta));
        }
        Ok(Collection {
            kind: stored.kind,
            name: stored.name.clone(),
            tasks,
            token: token.to_string(),
        })
    }
}

/// The deterministic token of a node: its op, arguments (keys sorted) and input tokens.
pub fn node_token(node: &Node, inputs: &[Collection]) -> String {
    let tokens: Vec<String> = inputs.iter().map(|c| c.token.clone()).collect();
    token_of(node, &tokens)
}

/// The token of a node without inputs, as plans compute it (for `Engine::adopt`).
pub fn source_token(node: &Node) -> String {
    token_of(node, &[])
}

fn token_of(node: &Node, input_tokens: &[String]) -> String {
    let mut h = crate::graph::TokenHasher::default();
    h.update(node.op.as_bytes());
    h.update(&[0xff]);
    // The node keeps its arguments' digest: computing a plan again does not hash them again.
    h.update(&node.args_digest(args_digest).to_le_bytes());
    for t in input_tokens {
        h.update(&[0xff]);
        h.update(t.as_bytes());
    }
    h.token()
}

/// The arguments, keys sorted, hashed as they serialise without building their text: a
/// CSV text argument can be tens of megabytes.
fn args_digest(args: &Map<String, Json>) -> u64 {
    let mut h = crate::graph::TokenHasher::default();
    let mut keys: Vec<&String> = args.keys().collect();
    keys.sort();
    for k in keys {
        h.update(k.as_bytes());
        h.update(b"=");
        match args.get(k) {
            // A string is hashed as its length and bytes: as unambiguous as its JSON text
            // (which never starts with `s`), without escaping the newline on every line
            // of a CSV text argument.
            Some(Json::String(s)) => {
                h.update(b"s");
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            Some(other) => {
                // Writing to a hasher cannot fail, and a value always serialises. The
                // buffer hands the hasher long runs rather than each piece of the text.
                let mut buffered = std::io::BufWriter::with_capacity(8 << 10, &mut h);
                let _ = serde_json::to_writer(&mut buffered, other);
                let _ = std::io::Write::flush(&mut buffered);
            }
            None => {}
        }
        h.update(b";");
    }
    h.finish()
}

/// Lowers a validated plan with no persisted data.
pub fn lower(plan: &ValidPlan) -> Result<Lowered> {
    let empty = PersistStore::new();
    Lowerer::new(&empty).lower(plan)
}
