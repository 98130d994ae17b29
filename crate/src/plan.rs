//! The Plan: a versioned, serialisable DAG of collection operations. It is the contract
//! between the JS client, the Rust engine, the CLI and any exporter; docs/plan.md
//! documents the format. [`Plan::parse`] reads JSON text; [`Plan::validate`] checks it
//! against the op registry ([`crate::registry`]) and returns precise errors.

use crate::error::{Error, Result};
use crate::expr::{Function, Lang};
use crate::registry::{self, ArgType, Arity, Kind, OpSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The plan format's version; a plan with another version is refused.
pub const PLAN_VERSION: u32 = 1;

/// A DAG of collection operations and the nodes whose results are wanted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub version: u32,
    pub nodes: Vec<Node>,
    pub outputs: Vec<String>,
}

/// One operation: its id, the op name, the ids of the nodes it reads and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    pub op: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Private so that every change goes through [`Node::set_arg`], which drops the memo.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    args: Map<String, Json>,
    #[serde(skip)]
    memo: ArgsMemo,
}

impl Node {
    pub fn new(id: impl Into<String>, op: impl Into<String>, inputs: &[&str], args: Json) -> Node {
        Node {
            id: id.into(),
            op: op.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            args: match args {
                Json::Object(map) => map,
                _ => Map::new(),
            },
            memo: ArgsMemo::default(),
        }
    }

    pub fn args(&self) -> &Map<String, Json> {
        &self.args
    }

    /// Sets one argument. The memo goes with the old arguments; clones made before keep it.
    pub fn set_arg(&mut self, name: impl Into<String>, value: Json) {
        self.args.insert(name.into(), value);
        self.memo = ArgsMemo::default();
    }

    /// The digest of the arguments, computed by `digest` the first time it is asked for.
    pub(crate) fn args_digest(&self, digest: impl FnOnce(&Map<String, Json>) -> u64) -> u64 {
        *self.memo.0.digest.get_or_init(|| digest(&self.args))
    }

    /// The string argument `name` as a shared text, copied out of the JSON once.
    pub(crate) fn shared_str_arg(&self, name: &str) -> Option<Arc<str>> {
        let text = self.args.get(name)?.as_str()?;
        let mut texts = self.memo.0.texts.lock().unwrap_or_else(|e| e.into_inner());
        Some(Arc::clone(
            texts.entry(name.to_string()).or_insert_with(|| Arc::from(text)),
        ))
    }
}

/// What lowering derives from a node's arguments alone, kept so that computing the same
/// plan again does not redo it: the arguments' digest (part of the node's token) and
/// shared copies of text arguments. A CSV text argument can be tens of megabytes, and
/// hashing and copying it on the thread that lowers is serial work before any task runs.
/// It is not part of the node's identity: nodes compare and serialise without it.
#[derive(Clone, Default)]
struct ArgsMemo(Arc<ArgsMemoCells>);

#[derive(Default)]
struct ArgsMemoCells {
    digest: OnceLock<u64>,
    texts: Mutex<HashMap<String, Arc<str>>>,
}

impl PartialEq for ArgsMemo {
    fn eq(&self, _: &ArgsMemo) -> bool {
        true
    }
}

impl std::fmt::Debug for ArgsMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArgsMemo")
    }
}

/// A plan that passed validation: nodes in topological order with their specs.
#[derive(Debug, Clone)]
pub struct ValidPlan<'a> {
    /// Borrowed: a plan can carry tens of megabytes of CSV text.
    pub plan: &'a Plan,
    /// Node indices in an order where every node comes after its inputs.
    pub order: Vec<usize>,
    /// The collection kind each node produces, by node index.
    pub kinds: Vec<Kind>,
}

impl Plan {
    pub fn new(nodes: Vec<Node>, outputs: &[&str]) -> Plan {
        Plan {
            version: PLAN_VERSION,
            nodes,
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Parses plan JSON; syntax and shape errors name the line and column.
    pub fn parse(text: &str) -> Result<Plan> {
        // First as untyped JSON, so a wrong version is reported before field errors.
        let json: Json = serde_json::from_str(text)
            .map_err(|e| Error::plan(format!("the plan is not valid JSON: {e}")))?;
        Plan::from_json(json)
    }

    pub fn from_json(json: Json) -> Result<Plan> {
        let Json::Object(obj) = &json else {
            return Err(Error::plan(format!(
                "a plan must be a JSON object with version, nodes and outputs, not {}",
                json_type(&json)
            )));
        };
        match obj.get("version") {
            Some(Json::Number(n)) if n.as_u64() == Some(u64::from(PLAN_VERSION)) => {}
            Some(other) => {
                return Err(Error::plan(format!(
                    "plan version {other} is not supported; this engine reads version {PLAN_VERSION}"
                )))
            }
            None => {
                return Err(Error::plan(format!(
                    "the plan has no \"version\" (expected {PLAN_VERSION})"
                )))
            }
        }
        serde_json::from_value(json).map_err(|e| Error::plan(format!("malformed plan: {e}")))
    }

    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the plan against the registry: versions, ids, ops, arity, references,
    /// cycles, argument names and types, input kinds and expressions.
    pub fn validate(&self) -> Result<ValidPlan<'_>> {
        if self.version != PLAN_VERSION {
            return Err(Error::plan(format!(
                "plan version {} is not supported; this engine reads version {PLAN_VERSION}",
                self.version
            )));
        }
        if self.nodes.is_empty() {
            return Err(Error::plan("the plan has no nodes"));
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.id.is_empty() {
                return Err(Error::plan(format!("node #{i} ({}) has an empty id", node.op)));
            }
            if index.insert(node.id.as_str(), i).is_some() {
                return Err(Error::plan(format!("two nodes have the id '{}'", node.id)));
            }
        }
        let mut specs: Vec<&'static OpSpec> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let spec = registry::find(&node.op).ok_or_else(|| unknown_op(node))?;
            check_arity(node, spec)?;
            for input in &node.inputs {
                if !index.contains_key(input.as_str()) {
                    return Err(Error::plan(format!(
                        "node '{}' ({}) reads '{input}', which is not a node of this plan",
                        node.id, node.op
                    )));
                }
            }
            check_args(node, spec)?;
            specs.push(spec);
        }
        let order = topological_order(&self.nodes, &index)?;
        let mut kinds: Vec<Kind> = vec![Kind::Value; self.nodes.len()];
        for &i in &order {
            let (Some(node), Some(spec)) = (self.nodes.get(i), specs.get(i)) else {
                continue;
            };
            for (pos, input) in node.inputs.iter().enumerate() {
                let kind = index
                    .get(input.as_str())
                    .and_then(|j| kinds.get(*j))
                    .copied()
                    .unwrap_or(Kind::Value);
                if !spec.input_kind.accepts(kind) {
                    return Err(Error::plan(format!(
                        "node '{}' ({}) needs {} as input {}, but '{input}' is {}",
                        node.id,
                        node.op,
                        spec.input_kind.describe(),
                        pos + 1,
                        kind.describe()
                    )));
                }
            }
            if let Some(k) = kinds.get_mut(i) {
                *k = spec.output;
            }
        }
        if self.outputs.is_empty() {
            return Err(Error::plan("the plan names no outputs"));
        }
        for out in &self.outputs {
            if !index.contains_key(out.as_str()) {
                return Err(Error::plan(format!("output '{out}' is not a node of this plan")));
            }
        }
        Ok(ValidPlan {
            plan: self,
            order,
            kinds,
        })
    }
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn unknown_op(node: &Node) -> Error {
    let names = registry::names();
    let close: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| {
            let short = n.rsplit('.').next().unwrap_or(n);
            let asked = node.op.rsplit('.').next().unwrap_or(&node.op);
            edit_distance(short, asked) <= 2 || n.contains(asked)
        })
        .collect();
    // Ops of the same collection first: `bag.cout` suggests bag.count, not dataframe.count.
    let prefix = node.op.split('.').next().unwrap_or("");
    let same: Vec<&str> = close
        .iter()
        .copied()
        .filter(|n| n.split('.').next() == Some(prefix))
        .collect();
    let close = if same.is_empty() { close } else { same };
    let hint = if close.is_empty() {
        format!("known ops: {}", names.join(", "))
    } else {
        format!("did you mean {}?", close.join(" or "))
    };
    Error::plan(format!("node '{}': unknown op '{}'; {hint}", node.id, node.op))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn check_arity(node: &Node, spec: &OpSpec) -> Result<()> {
    let n = node.inputs.len();
    let ok = match spec.inputs {
        Arity::Exactly(k) => n == k,
        Arity::AtLeast(k) => n >= k,
        Arity::Between(lo, hi) => n >= lo && n <= hi,
    };
    if ok {
        return Ok(());
    }
    let want = match spec.inputs {
        Arity::Exactly(0) => "no inputs".to_string(),
        Arity::Exactly(1) => "exactly 1 input".to_string(),
        Arity::Exactly(k) => format!("exactly {k} inputs"),
        Arity::AtLeast(k) => format!("at least {k} input{}", if k == 1 { "" } else { "s" }),
        Arity::Between(lo, hi) => format!("{lo} to {hi} inputs"),
    };
    Err(Error::plan(format!(
        "node '{}' ({}) takes {want}, but has {n}",
        node.id, node.op
    )))
}

fn check_args(node: &Node, spec: &OpSpec) -> Result<()> {
    for name in node.args.keys() {
        if !spec.args.iter().any(|a| a.name == name) {
            let known: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
            return Err(Error::plan(format!(
                "node '{}' ({}): unknown argument '{name}'; it takes {}",
                node.id,
                node.op,
                if known.is_empty() {
                    "no arguments".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    for arg in spec.args {
        match node.args.get(arg.name) {
            // A null counts as missing, except where any JSON value (null too) is accepted.
            Some(Json::Null) if arg.ty == ArgType::Any => {}
            None | Some(Json::Null) if arg.required => {
                return Err(Error::plan(format!(
                    "node '{}' ({}): missing argument '{}' ({})",
                    node.id,
                    node.op,
                    arg.name,
                    arg.ty.describe()
                )))
            }
            None | Some(Json::Null) => {}
            Some(v) => check_arg_type(node, arg.name, arg.ty, v)?,
        }
    }
    (spec.check)(node)
}

fn check_arg_type(node: &Node, name: &str, ty: ArgType, v: &Json) -> Result<()> {
    let bad = || {
        Error::plan(format!(
            "node '{}' ({}): argument '{name}' must be {}, not {}",
            node.id,
            node.op,
            ty.describe(),
            json_type(v)
        ))
    };
    match ty {
        ArgType::Int { min } => match v.as_i64() {
            Some(i) if i >= min => Ok(()),
            Some(i) => Err(Error::plan(format!(
                "node '{}' ({}): argument '{name}' must be at least {min}, not {i}",
                node.id, node.op
            ))),
            None => Err(bad()),
        },
        ArgType::Bool => v.as_bool().map(|_| ()).ok_or_else(bad),
        ArgType::Str => v.as_str().map(|_| ()).ok_or_else(bad),
        ArgType::List => v.as_array().map(|_| ()).ok_or_else(bad),
        ArgType::Any => Ok(()),
        ArgType::Func {
            min_params,
            max_params,
        } => {
            let src = v.as_str().ok_or_else(bad)?;
            let f = Function::parse(src, Lang::Auto).map_err(|e| {
                Error::new(
                    e.kind,
                    format!(
                        "node '{}' ({}), argument '{name}': {}",
                        node.id, node.op, e.message
                    ),
                )
            })?;
            let n = f.arity();
            if n < min_params || n > max_params {
                let want = if min_params == max_params {
                    format!("{min_params}")
                } else {
                    format!("{min_params} to {max_params}")
                };
                return Err(Error::plan(format!(
                    "node '{}' ({}): the function in '{name}' takes {n} parameter{}, but this op calls it with {want}",
                    node.id,
                    node.op,
                    if n == 1 { "" } else { "s" }
                )));
            }
            Ok(())
        }
    }
}

/// Kahn's algorithm in node order; a cycle is reported with the nodes on it.
fn topological_order(nodes: &[Node], index: &HashMap<&str, usize>) -> Result<Vec<usize>> {
    let n = nodes.len();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for input in &node.inputs {
            if let Some(&j) = index.get(input.as_str()) {
                if let Some(d) = indegree.get_mut(i) {
                    *d += 1;
                }
                if let Some(list) = dependents.get_mut(j) {
                    list.push(i);
                }
            }
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|i| indegree.get(*i) == Some(&0)).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &d in dependents.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(deg) = indegree.get_mut(d) {
                *deg -= 1;
                if *deg == 0 {
                    ready.push_back(d);
                }
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk inputs from a node left over until one repeats: that is a cycle.
    let start = (0..n)
        .find(|i| indegree.get(*i).is_some_and(|d| *d > 0))
        .unwrap_or(0);
    let mut path: Vec<usize> = vec![start];
    let mut cur = start;
    loop {
        let next = nodes
            .get(cur)
            .and_then(|node| {
                node.inputs
                    .iter()
                    .filter_map(|inp| index.get(inp.as_str()).copied())
                    .find(|j| indegree.get(*j).is_some_and(|d| *d > 0))
            })
            .unwrap_or(start);
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<&str> = path
                .get(pos..)
                .unwrap_or(&[])
                .iter()
                .rev()
                .filter_map(|i| nodes.get(*i).map(|x| x.id.as_str()))
                .collect();
            if let Some(first) = cycle.first().copied() {
                cycle.push(first);
            }
            return Err(Error::plan(format!(
                "the plan has a cycle: {}",
                cycle.join(" -> ")
            )));
        }
        path.push(next);
        cur = next;
        if path.len() > n + 1 {
            return Err(Error::plan("the plan has a cycle"));
        }
    }
}
