//! Bags: unordered collections of dynamic values split into partitions, as dask.bag.
//! This file builds graphs (lowering of `bag.*` plan ops) and names the bag tasks;
//! `kernels` holds the per-partition functions and `reduce` the reductions.

pub mod counter;
pub mod kernels;
pub mod pipeline;
pub mod reduce;

pub use reduce::Reduce;

use crate::error::{Error, Result};
use crate::expr::{Function, Lang};
use crate::graph::{Key, LayerKind, TaskId};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::Partition;
use crate::plan::Node;
use crate::reduction::{tree_reduce, DEFAULT_SPLIT_EVERY};
use crate::registry::Kind;
use crate::value::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// A bag kernel as task data.
#[derive(Debug, Clone)]
pub enum BagOp {
    Map(Function),
    /// `map` over several bags: one element of each per call.
    MapZip(Function),
    /// `zip`: one list per position.
    Zip,
    Filter(Function),
    Remove(Function),
    Pluck {
        key: Value,
        default: Option<Value>,
    },
    Flatten,
    Starmap(Function),
    MapPartitions(Function),
    /// Per-partition step of a reduction.
    Part(Reduce),
    /// Combining step of a reduction; `last` for the final level.
    Aggregate {
        reduce: Reduce,
        last: bool,
    },
    /// The first k elements of one partition.
    TakePart {
        k: usize,
    },
    /// The first k elements of several partitions' firsts.
    TakeMerge {
        k: usize,
    },
    /// One partition of `accumulate`, continuing from the previous partition's last value.
    AccumulatePart {
        binop: Function,
        initial: Option<Value>,
        first: bool,
    },
    /// The elements of an accumulate part (drops the carried last value).
    AccumulateFirst,
    /// The same partition under a new key (concat, repartition).
    Identity,
    /// Several partitions as one (repartition to fewer).
    Concat,
    /// One partition cut into n nearly equal pieces (repartition to more).
    SplitEven {
        n: usize,
    },
    /// Piece `index` of a split.
    Piece {
        index: usize,
    },
    /// `join`: the partition against all of the other bag.
    Join {
        on_self: Function,
        on_other: Function,
    },
    /// Shuffle, first step: each element to bucket hash(key) % n.
    ShuffleSplit {
        grouper: Function,
        n: usize,
    },
    /// Shuffle, second step: bucket `index` of every split, grouped by key.
    ShuffleGroup {
        grouper: Function,
        index: usize,
    },
    /// `from_delayed`: a delayed value (a list) as a partition.
    FromValue,
    /// `to_delayed`: a partition as a delayed value (a list).
    ToValue,
    /// Dask's `.str` accessor: a string method by its Python name.
    StrMethod {
        method: String,
        args: Vec<Value>,
    },
    /// `random_sample`: partition `partition`'s own seeded stream.
    RandomSample {
        prob: f64,
        seed: u64,
        partition: usize,
    },
    /// `range`: the ints `start..stop`, made when the task runs (as Dask's
    /// `(reify, (range, start, stop))`), so a graph of many ranges is cheap to build.
    Range {
        start: i64,
        stop: i64,
    },
}

impl BagOp {
    pub fn name(&self) -> String {
        self.step_name().into_owned()
    }

    /// The name without an allocation for every op but `str` methods (`execute` names
    /// itself in its errors, and runs once per task).
    fn step_name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            BagOp::Map(_) | BagOp::MapZip(_) => "map",
            BagOp::Zip => "zip",
            BagOp::Filter(_) => "filter",
            BagOp::Remove(_) => "remove",
            BagOp::Pluck { .. } => "pluck",
            BagOp::Flatten => "flatten",
            BagOp::Starmap(_) => "starmap",
            BagOp::MapPartitions(_) => "map_partitions",
            BagOp::Part(r) => r.step_names().0,
            BagOp::Aggregate { reduce, .. } => reduce.step_names().1,
            BagOp::TakePart { .. } => "take-partial",
            BagOp::TakeMerge { .. } => "take",
            BagOp::AccumulatePart { .. } => "accumulate-part",
            BagOp::AccumulateFirst => "accumulate-first",
            BagOp::Identity => "alias",
            BagOp::Concat => "concat",
            BagOp::SplitEven { .. } => "split",
            BagOp::Piece { .. } => "getitem",
            BagOp::Join { .. } => "join",
            BagOp::ShuffleSplit { .. } => "shuffle-split",
            BagOp::ShuffleGroup { .. } => "shuffle-group",
            BagOp::FromValue => "from_delayed",
            BagOp::ToValue => "to_delayed",
            BagOp::StrMethod { method, .. } => return Cow::Owned(format!("str.{method}")),
            BagOp::RandomSample { .. } => "random_sample",
            BagOp::Range { .. } => "range",
        })
    }

    pub fn argument_summary(&self) -> Option<String> {
        match self {
            BagOp::Map(f)
            | BagOp::MapZip(f)
            | BagOp::Filter(f)
            | BagOp::Remove(f)
            | BagOp::Starmap(f)
            | BagOp::MapPartitions(f) => Some(format!("<{}>", f.source())),
            BagOp::Pluck { key, .. } => Some(key.to_string()),
            BagOp::TakePart { k } | BagOp::TakeMerge { k } => Some(k.to_string()),
            BagOp::SplitEven { n } => Some(n.to_string()),
            BagOp::Piece { index } | BagOp::ShuffleGroup { index, .. } => Some(index.to_string()),
            BagOp::StrMethod { args, .. } => Some(Value::list(args.clone()).to_string()),
            BagOp::RandomSample { prob, seed, .. } => Some(format!("{prob}, seed={seed}")),
            BagOp::Range { start, stop } => Some(format!("{start}, {stop}")),
            _ => None,
        }
    }

    pub fn takes_list(&self) -> bool {
        matches!(
            self,
            BagOp::Aggregate { .. } | BagOp::TakeMerge { .. } | BagOp::Concat | BagOp::ShuffleGroup { .. }
        )
    }

    pub fn fusable(&self) -> bool {
        !self.takes_list() && !matches!(self, BagOp::Join { .. } | BagOp::MapZip(_) | BagOp::Zip)
    }

    pub fn execute(&self, inputs: &[Arc<Partition>]) -> Result<Partition> {
        let name = self.step_name();
        let first = || {
            inputs
                .first()
                .ok_or_else(|| Error::internal(format!("{name}: task has no input")))
                .and_then(|p| p.as_bag(&name))
        };
        let bag = Partition::Bag;
        Ok(match self {
            BagOp::Range { start, stop } => bag((*start..*stop).map(Value::Int).collect()),
            BagOp::Map(f) => bag(kernels::map(first()?, f)?),
            BagOp::MapZip(f) => bag(kernels::zip_map(&bags(inputs, &name)?, Some(f))?),
            BagOp::Zip => bag(kernels::zip_map(&bags(inputs, &name)?, None)?),
            BagOp::Filter(f) => bag(kernels::filter(first()?, f)?),
            BagOp::Remove(f) => {
                let mut out = Vec::new();
                for (i, x) in first()?.iter().enumerate() {
                    let drop = f.call1(x).map_err(|e| {
                        e.context(format_args!("remove, element {i} ({})", kernels::short(x)))
                    })?;
                    if !drop.truthy() {
                        out.push(x.clone());
                    }
                }
                bag(out)
            }
            BagOp::Pluck { key, default } => bag(kernels::pluck(first()?, key, default.as_ref())?),
            BagOp::Flatten => bag(kernels::flatten(first()?)?),
            BagOp::Starmap(f) => bag(kernels::starmap(first()?, f)?),
            BagOp::MapPartitions(f) => bag(kernels::map_partitions(first()?, f)?),
            BagOp::Part(r) => {
                let v = r.part(first()?)?;
                Partition::Value(v)
            }
            BagOp::Aggregate { reduce, last } => {
                let values: Vec<&Value> = inputs.iter().map(|p| p.as_value(&name)).collect::<Result<_>>()?;
                let out = reduce.aggregate(&values, *last)?;
                if *last && reduce.gives_bag() {
                    match out {
                        Value::List(l) => bag(l.to_vec()),
                        other => bag(vec![other]),
                    }
                } else {
                    Partition::Value(out)
                }
            }
            BagOp::TakePart { k } => bag(first()?.iter().take(*k).cloned().collect()),
            BagOp::TakeMerge { k } => {
                let mut out = Vec::new();
                for p in inputs {
                    out.extend(p.as_bag(&name)?.iter().take(k - out.len().min(*k)).cloned());
                }
                out.truncate(*k);
                Partition::Value(Value::list(out))
            }
            BagOp::AccumulatePart {
                binop,
                initial,
                first: is_first,
            } => {
                let items = first()?;
                let (start, emit) = if *is_first {
                    (initial.clone(), true)
                } else {
                    let prev = inputs
                        .get(1)
                        .ok_or_else(|| Error::internal("accumulate-part: no previous partition"))?
                        .as_value(&name)?;
                    match prev.as_list() {
                        Some([_, last]) => (last.as_list().and_then(|l| l.first()).cloned(), false),
                        _ => return Err(Error::internal("accumulate-part: bad previous partition")),
                    }
                };
                let out = kernels::accumulate(items, binop, start.clone(), emit)?;
                let last = out.last().cloned().or(start);
                Partition::Value(Value::list(vec![
                    Value::list(out),
                    Value::list(last.into_iter().collect()),
                ]))
            }
            BagOp::AccumulateFirst => {
                let v = inputs
                    .first()
                    .ok_or_else(|| Error::internal("accumulate-first: no input"))?
                    .as_value(&name)?;
                match v.as_list() {
                    Some([Value::List(items), _]) => bag(items.to_vec()),
                    _ => return Err(Error::internal("accumulate-first: bad input")),
                }
            }
            BagOp::Identity => bag(first()?.to_vec()),
            BagOp::Concat => {
                let mut out = Vec::new();
                for p in inputs {
                    out.extend(p.as_bag(&name)?.iter().cloned());
                }
                bag(out)
            }
            BagOp::SplitEven { n } => {
                let pieces = kernels::split_even(first()?, *n);
                Partition::Value(Value::list(pieces.into_iter().map(Value::list).collect()))
            }
            BagOp::Piece { index } => {
                let v = inputs
                    .first()
                    .ok_or_else(|| Error::internal("getitem: no input"))?
                    .as_value(&name)?;
                match v.as_list().and_then(|l| l.get(*index)) {
                    Some(Value::List(items)) => bag(items.to_vec()),
                    _ => return Err(Error::internal(format!("getitem: no piece {index}"))),
                }
            }
            BagOp::Join { on_self, on_other } => {
                let mine = first()?;
                let mut index: indexmap::IndexMap<Value, Vec<Value>> = indexmap::IndexMap::new();
                for p in inputs.get(1..).unwrap_or(&[]) {
                    for (i, y) in p.as_bag(&name)?.iter().enumerate() {
                        let k = on_other.call1(y).map_err(|e| {
                            e.context(format_args!("join on_other, element {i} ({})", kernels::short(y)))
                        })?;
                        index.entry(k).or_default().push(y.clone());
                    }
                }
                let mut out = Vec::new();
                for (i, x) in mine.iter().enumerate() {
                    let k = on_self.call1(x).map_err(|e| {
                        e.context(format_args!("join on_self, element {i} ({})", kernels::short(x)))
                    })?;
                    for y in index.get(&k).map(Vec::as_slice).unwrap_or(&[]) {
                        out.push(Value::list(vec![y.clone(), x.clone()]));
                    }
                }
                bag(out)
            }
            BagOp::ShuffleSplit { grouper, n } => {
                let mut buckets: Vec<Vec<Value>> = vec![Vec::new(); *n];
                for (i, x) in first()?.iter().enumerate() {
                    let k = grouper.call1(x).map_err(|e| {
                        e.context(format_args!("groupby key, element {i} ({})", kernels::short(x)))
                    })?;
                    let b = (kernels::stable_hash(&k) % (*n as u64)) as usize;
                    if let Some(bucket) = buckets.get_mut(b) {
                        bucket.push(x.clone());
                    }
                }
                Partition::Value(Value::list(buckets.into_iter().map(Value::list).collect()))
            }
            BagOp::ShuffleGroup { grouper, index } => {
                let mut groups: indexmap::IndexMap<Value, Vec<Value>> = indexmap::IndexMap::new();
                for p in inputs {
                    let v = p.as_value(&name)?;
                    let bucket = v
                        .as_list()
                        .and_then(|l| l.get(*index))
                        .and_then(Value::as_list)
                        .unwrap_or(&[]);
                    for x in bucket {
                        let k = grouper.call1(x).map_err(|e| e.context("groupby key"))?;
                        groups.entry(k).or_default().push(x.clone());
                    }
                }
                bag(groups
                    .into_iter()
                    .map(|(k, vs)| Value::list(vec![k, Value::list(vs)]))
                    .collect())
            }
            BagOp::ToValue => Partition::Value(Value::list(first()?.to_vec())),
            BagOp::FromValue => {
                let v = inputs
                    .first()
                    .ok_or_else(|| Error::internal("from_delayed: no input"))?
                    .as_value(&name)?;
                match v {
                    Value::List(items) => bag(items.to_vec()),
                    other => {
                        return Err(Error::type_error(format!(
                            "from_delayed: each delayed value must be a list, not {} ({})",
                            other.type_name(),
                            kernels::short(other)
                        )))
                    }
                }
            }
            BagOp::StrMethod { method, args } => {
                let mut out = Vec::new();
                for (i, x) in first()?.iter().enumerate() {
                    if !matches!(x, Value::Str(_)) {
                        return Err(Error::type_error(format!(
                            "str.{method}, element {i}: {} ({}) is not a string",
                            x.type_name(),
                            kernels::short(x)
                        )));
                    }
                    out.push(crate::expr::call_method(method, x, args).map_err(|e| {
                        e.context(format_args!("str.{method}, element {i} ({})", kernels::short(x)))
                    })?);
                }
                bag(out)
            }
            BagOp::RandomSample {
                prob,
                seed,
                partition,
            } => bag(kernels::random_sample(first()?, *prob, *seed, *partition)),
        })
    }

    /// Partial results preview the way the course draws them: `{A: 1, B: 3}`.
    pub fn preview(&self, output: &Partition) -> String {
        let shown = match (self, output) {
            (BagOp::Part(r) | BagOp::Aggregate { reduce: r, .. }, Partition::Value(v)) => r.preview(v),
            _ => None,
        };
        match shown {
            Some(v) => v.preview(60),
            None => output.preview(),
        }
    }
}

fn bags<'a>(inputs: &'a [Arc<Partition>], name: &str) -> Result<Vec<&'a [Value]>> {
    inputs.iter().map(|p| p.as_bag(name)).collect()
}

/// Dask's partitioning of a sequence (`dask.bag.from_sequence`).
pub fn partition_sizes(len: usize, npartitions: Option<usize>, partition_size: Option<usize>) -> usize {
    match (npartitions, partition_size) {
        (_, Some(size)) => size.max(1),
        (Some(n), None) => {
            let n = n.max(1);
            if len <= 100 {
                len.div_ceil(n).max(1)
            } else {
                (len / n).max(1)
            }
        }
        (None, None) => {
            if len <= 100 {
                1
            } else {
                ((len as f64).sqrt() / 10.0).ceil().max(1.0) as usize
            }
        }
    }
}

pub fn check_from_sequence(node: &Node) -> Result<()> {
    if node.args().get("npartitions").is_some_and(|v| !v.is_null())
        && node.args().get("partition_size").is_some_and(|v| !v.is_null())
    {
        return Err(Error::plan(format!(
            "node '{}' (bag.from_sequence): give npartitions or partition_size, not both",
            node.id
        )));
    }
    Ok(())
}

fn literal_partitions(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    parts: Vec<Vec<Value>>,
) -> Result<Collection> {
    let ops = parts
        .into_iter()
        .map(|part| Op::Literal(Arc::new(Partition::Bag(part))));
    source_partitions(l, ctx, label, ops)
}

/// An input layer: one task per op, none with dependencies.
fn source_partitions(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    ops: impl ExactSizeIterator<Item = Op>,
) -> Result<Collection> {
    let name = ctx.layer_name(label);
    let layer = l.layer(&name, label, LayerKind::Input, None);
    let key_name: Arc<str> = Arc::from(name.as_str());
    l.graph.reserve(ops.len());
    let mut tasks = Vec::with_capacity(ops.len());
    for (i, op) in ops.enumerate() {
        tasks.push(l.task(Key::part(&key_name, i), layer, Vec::new(), op)?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

pub fn lower_from_sequence(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let items: Vec<Value> = ctx.list_arg("items")?.iter().map(Value::from_json).collect();
    let size = partition_sizes(
        items.len(),
        ctx.usize_arg("npartitions")?,
        ctx.usize_arg("partition_size")?,
    );
    let mut parts: Vec<Vec<Value>> = items.chunks(size).map(<[Value]>::to_vec).collect();
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    literal_partitions(l, ctx, "from_sequence", parts)
}

/// `range(n, npartitions)`, cut as Dask cuts it: n // npartitions per partition, the rest
/// in the last one.
pub fn lower_range(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let n = ctx.usize_arg("n")?.unwrap_or(0);
    let np = ctx.usize_arg("npartitions")?.unwrap_or(1).max(1);
    if n > 100_000_000 {
        return Err(Error::limit(format!(
            "node '{}' (bag.range): n may be at most 100,000,000",
            ctx.node.id
        )));
    }
    let size = n / np;
    if size == 0 {
        return Err(Error::plan(format!(
            "node '{}' (bag.range): n ({n}) must be at least npartitions ({np})",
            ctx.node.id
        )));
    }
    let ops = (0..np).map(|i| {
        let start = i * size;
        let stop = if i + 1 == np { n } else { start + size };
        Op::Bag(BagOp::Range {
            start: start as i64,
            stop: stop as i64,
        })
    });
    source_partitions(l, ctx, "range", ops)
}

/// A blockwise layer: one task per partition of the first input (and the same partition
/// of the others).
fn blockwise(l: &mut Lowerer, ctx: &NodeCtx, label: &str, op: BagOp) -> Result<Collection> {
    let n = ctx.input(0)?.npartitions();
    for (i, other) in ctx.inputs.iter().enumerate().skip(1) {
        if other.npartitions() != n {
            return Err(Error::shape(format!(
                "node '{}' ({}): the bags have {n} and {} partitions (input {}); zip-like ops need equal partition counts",
                ctx.node.id,
                ctx.node.op,
                other.npartitions(),
                i + 1
            )));
        }
    }
    let name = ctx.layer_name(label);
    let layer = l.layer(&name, label, LayerKind::Blockwise, None);
    let key_name: Arc<str> = Arc::from(name.as_str());
    l.graph.reserve(n);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let deps: Vec<TaskId> = ctx
            .inputs
            .iter()
            .filter_map(|c| c.tasks.get(i).copied())
            .collect();
        tasks.push(l.task(Key::part(&key_name, i), layer, deps, Op::Bag(op.clone()))?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

pub fn check_map(node: &Node) -> Result<()> {
    let src = node
        .args()
        .get("func")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if let Ok(f) = Function::parse(src, Lang::Auto) {
        if f.arity() != node.inputs.len() {
            return Err(Error::plan(format!(
                "node '{}' (bag.map): the function takes {} parameter{} but the node maps over {} bag{}",
                node.id,
                f.arity(),
                if f.arity() == 1 { "" } else { "s" },
                node.inputs.len(),
                if node.inputs.len() == 1 { "" } else { "s" }
            )));
        }
    }
    Ok(())
}

pub fn lower_map(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("func")?;
    if ctx.inputs.len() > 1 {
        return blockwise(l, ctx, "map", BagOp::MapZip(f));
    }
    blockwise(l, ctx, "map", BagOp::Map(f))
}

pub fn lower_zip(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    blockwise(l, ctx, "zip", BagOp::Zip)
}

pub fn lower_filter(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("predicate")?;
    blockwise(l, ctx, "filter", BagOp::Filter(f))
}

pub fn lower_remove(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("predicate")?;
    blockwise(l, ctx, "remove", BagOp::Remove(f))
}

/// An argument whose presence matters even when it is null (`default`, `initial`).
fn present_arg(ctx: &NodeCtx, name: &str) -> Option<Value> {
    ctx.node.args().get(name).map(Value::from_json)
}

pub fn lower_pluck(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    // Field names shared with the records made on this thread: found by address.
    let shared = |k: Value| match k {
        Value::Str(name) => Value::Str(crate::value::field_name(&name)),
        other => other,
    };
    let key = match present_arg(ctx, "key").unwrap_or(Value::Null) {
        Value::List(keys) => Value::list(keys.iter().cloned().map(shared).collect()),
        k => shared(k),
    };
    let default = present_arg(ctx, "default");
    blockwise(l, ctx, "pluck", BagOp::Pluck { key, default })
}

pub fn lower_flatten(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    blockwise(l, ctx, "flatten", BagOp::Flatten)
}

pub fn lower_starmap(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("func")?;
    blockwise(l, ctx, "starmap", BagOp::Starmap(f))
}

pub fn lower_map_partitions(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("func")?;
    blockwise(l, ctx, "map_partitions", BagOp::MapPartitions(f))
}

fn optional_func(ctx: &NodeCtx, name: &str) -> Result<Option<Function>> {
    match ctx.json_arg(name) {
        None => Ok(None),
        Some(_) => ctx.func_arg(name).map(Some),
    }
}

fn lower_reduction(l: &mut Lowerer, ctx: &NodeCtx, reduce: Reduce) -> Result<Collection> {
    let split_every = ctx.usize_arg("split_every")?.unwrap_or(DEFAULT_SPLIT_EVERY);
    let input = ctx.input(0)?.tasks.clone();
    let out = if reduce.gives_bag() {
        Kind::Bag
    } else {
        Kind::Value
    };
    let label = reduce.label();
    let r2 = reduce.clone();
    let mut c = tree_reduce(
        l,
        ctx,
        label,
        &input,
        split_every,
        |_| Op::Bag(BagOp::Part(reduce.clone())),
        |last| {
            Op::Bag(BagOp::Aggregate {
                reduce: r2.clone(),
                last,
            })
        },
    )?;
    c.kind = out;
    Ok(c)
}

pub fn lower_count(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Count)
}
pub fn lower_sum(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Sum)
}
pub fn lower_min(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Min)
}
pub fn lower_max(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Max)
}
pub fn lower_mean(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Mean)
}
pub fn lower_var(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let ddof = ctx.usize_arg("ddof")?.unwrap_or(0) as i64;
    lower_reduction(l, ctx, Reduce::Var { ddof, std: false })
}
pub fn lower_std(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let ddof = ctx.usize_arg("ddof")?.unwrap_or(0) as i64;
    lower_reduction(l, ctx, Reduce::Var { ddof, std: true })
}
pub fn lower_all(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::All)
}
pub fn lower_any(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Any)
}
pub fn lower_frequencies(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let sort = ctx.bool_arg("sort", false)?;
    lower_reduction(l, ctx, Reduce::Frequencies { sort })
}
pub fn lower_distinct(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let key = optional_func(ctx, "key")?;
    lower_reduction(l, ctx, Reduce::Distinct { key })
}
pub fn lower_topk(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let k = ctx.usize_arg("k")?.unwrap_or(0);
    let key = optional_func(ctx, "key")?;
    lower_reduction(l, ctx, Reduce::Topk { k, key })
}
pub fn lower_fold(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let binop = ctx.func_arg("binop")?;
    let combine = optional_func(ctx, "combine")?.unwrap_or_else(|| binop.clone());
    let initial = present_arg(ctx, "initial");
    lower_reduction(
        l,
        ctx,
        Reduce::Fold {
            binop,
            combine,
            initial,
        },
    )
}
pub fn lower_foldby(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let key = ctx.func_arg("key")?;
    let binop = ctx.func_arg("binop")?;
    let combine = optional_func(ctx, "combine")?.unwrap_or_else(|| binop.clone());
    let initial = present_arg(ctx, "initial");
    let combine_initial = present_arg(ctx, "combine_initial");
    lower_reduction(
        l,
        ctx,
        Reduce::Foldby {
            key,
            binop,
            initial,
            combine,
            combine_initial,
        },
    )
}
pub fn lower_reduction_op(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let perpartition = ctx.func_arg("perpartition")?;
    let aggregate = ctx.func_arg("aggregate")?;
    lower_reduction(
        l,
        ctx,
        Reduce::Reduction {
            perpartition,
            aggregate,
        },
    )
}

/// `take(k, npartitions)`: reads only the first npartitions partitions, as Dask does.
pub fn lower_take(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let k = ctx.usize_arg("k")?.unwrap_or(0);
    let input = ctx.input(0)?.clone();
    let np = ctx.usize_arg("npartitions")?.unwrap_or(1);
    if np > input.npartitions() {
        return Err(Error::value(format!(
            "node '{}' (bag.take): npartitions {np} is more than the bag's {} partitions",
            ctx.node.id,
            input.npartitions()
        )));
    }
    let part_name = ctx.layer_name("take-partial");
    let part_layer = l.layer(&part_name, "take-partial", LayerKind::Blockwise, None);
    let mut firsts = Vec::with_capacity(np);
    for (i, dep) in input.tasks.iter().take(np).enumerate() {
        firsts.push(l.task(
            Key::part(&part_name, i),
            part_layer,
            vec![*dep],
            Op::Bag(BagOp::TakePart { k }),
        )?);
    }
    let name = ctx.layer_name("take");
    let layer = l.layer(&name, "take", LayerKind::ReductionAggregate, Some(1));
    let task = l.task(
        Key::part(&name, 0),
        layer,
        firsts,
        Op::Bag(BagOp::TakeMerge { k }),
    )?;
    Ok(Collection {
        kind: Kind::Value,
        name,
        tasks: vec![task],
        token: ctx.token.clone(),
    })
}

/// `accumulate`: a chain across partitions, each waiting for the previous one's last value.
pub fn lower_accumulate(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let binop = ctx.func_arg("binop")?;
    let initial = present_arg(ctx, "initial");
    let input = ctx.input(0)?.clone();
    let part_name = ctx.layer_name("accumulate-part");
    let part_layer = l.layer(&part_name, "accumulate-part", LayerKind::Blockwise, None);
    let name = ctx.layer_name("accumulate");
    let layer = l.layer(&name, "accumulate", LayerKind::Blockwise, None);
    let mut prev: Option<TaskId> = None;
    let mut tasks = Vec::with_capacity(input.tasks.len());
    for (i, dep) in input.tasks.iter().enumerate() {
        let mut deps = vec![*dep];
        deps.extend(prev);
        let op = BagOp::AccumulatePart {
            binop: binop.clone(),
            initial: initial.clone(),
            first: i == 0,
        };
        let part = l.task(Key::part(&part_name, i), part_layer, deps, Op::Bag(op))?;
        tasks.push(l.task(
            Key::part(&name, i),
            layer,
            vec![part],
            Op::Bag(BagOp::AccumulateFirst),
        )?);
        prev = Some(part);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// `concat`: the partitions of every input, in order.
pub fn lower_concat(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let name = ctx.layer_name("concat");
    let layer = l.layer(&name, "concat", LayerKind::Blockwise, None);
    let mut tasks = Vec::new();
    for input in &ctx.inputs {
        for dep in &input.tasks {
            let i = tasks.len();
            tasks.push(l.task(Key::part(&name, i), layer, vec![*dep], Op::Bag(BagOp::Identity))?);
        }
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// `join(other, on_self, on_other)`: each partition against all of the other bag;
/// yields `[other_element, self_element]` pairs as Dask (toolz.join) does.
pub fn lower_join(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let on_self = ctx.func_arg("on_self")?;
    let on_other = optional_func(ctx, "on_other")?.unwrap_or_else(|| on_self.clone());
    let me = ctx.input(0)?.clone();
    let other = ctx.input(1)?.clone();
    let name = ctx.layer_name("join");
    let layer = l.layer(&name, "join", LayerKind::Blockwise, None);
    let mut tasks = Vec::with_capacity(me.tasks.len());
    for (i, dep) in me.tasks.iter().enumerate() {
        let mut deps = vec![*dep];
        deps.extend(other.tasks.iter().copied());
        let op = BagOp::Join {
            on_self: on_self.clone(),
            on_other: on_other.clone(),
        };
        tasks.push(l.task(Key::part(&name, i), layer, deps, Op::Bag(op))?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// `groupby(grouper, npartitions)` as a task shuffle: each input partition splits into
/// buckets by hash of the key, then each output partition gathers its bucket from every
/// split (the all-to-all layer) and groups it: `[key, [elements]]` pairs.
pub fn lower_groupby(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let grouper = ctx.func_arg("grouper")?;
    let input = ctx.input(0)?.clone();
    let n = ctx
        .usize_arg("npartitions")?
        .unwrap_or(input.npartitions())
        .max(1);
    let split_name = ctx.layer_name("groupby-split");
    let split_layer = l.layer(&split_name, "groupby-split", LayerKind::Blockwise, None);
    let mut splits = Vec::with_capacity(input.tasks.len());
    for (i, dep) in input.tasks.iter().enumerate() {
        let op = BagOp::ShuffleSplit {
            grouper: grouper.clone(),
            n,
        };
        splits.push(l.task(Key::part(&split_name, i), split_layer, vec![*dep], Op::Bag(op))?);
    }
    let name = ctx.layer_name("groupby-shuffle");
    let layer = l.layer(&name, "groupby-shuffle", LayerKind::Shuffle, None);
    let mut tasks = Vec::with_capacity(n);
    for j in 0..n {
        let op = BagOp::ShuffleGroup {
            grouper: grouper.clone(),
            index: j,
        };
        tasks.push(l.task(Key::part(&name, j), layer, splits.clone(), Op::Bag(op))?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// `repartition(npartitions)` as Dask does it: consecutive partitions joined when there
/// are fewer, each partition split evenly when there are more.
pub fn lower_repartition(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let input = ctx.input(0)?.clone();
    let old = input.npartitions();
    let n = ctx.usize_arg("npartitions")?.unwrap_or(old).max(1);
    let name = ctx.layer_name("repartition");
    let layer = l.layer(&name, "repartition", LayerKind::Blockwise, None);
    let mut tasks = Vec::with_capacity(n);
    if n == old {
        for (i, dep) in input.tasks.iter().enumerate() {
            tasks.push(l.task(Key::part(&name, i), layer, vec![*dep], Op::Bag(BagOp::Identity))?);
        }
    } else if n < old {
        let ratio = old as f64 / n as f64;
        let bounds: Vec<usize> = (0..=n).map(|i| (i as f64 * ratio) as usize).collect();
        for (j, w) in bounds.windows(2).enumerate() {
            let deps: Vec<TaskId> = match w {
                [a, b] => input
                    .tasks
                    .get(*a..*b)
                    .map(<[TaskId]>::to_vec)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            tasks.push(l.task(Key::part(&name, j), layer, deps, Op::Bag(BagOp::Concat))?);
        }
    } else {
        let (div, rem) = (n / old, n % old);
        let split_name = ctx.layer_name("split");
        let split_layer = l.layer(&split_name, "split", LayerKind::Blockwise, None);
        for (i, dep) in input.tasks.iter().enumerate() {
            let k = if i + 1 == old { div + rem } else { div };
            if k == 1 {
                let j = tasks.len();
                tasks.push(l.task(Key::part(&name, j), layer, vec![*dep], Op::Bag(BagOp::Identity))?);
                continue;
            }
            let split = l.task(
                Key::part(&split_name, i),
                split_layer,
                vec![*dep],
                Op::Bag(BagOp::SplitEven { n: k }),
            )?;
            for piece in 0..k {
                let j = tasks.len();
                tasks.push(l.task(
                    Key::part(&name, j),
                    layer,
                    vec![split],
                    Op::Bag(BagOp::Piece { index: piece }),
                )?);
            }
        }
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// `read_text` over text the caller supplies: one blob (`text`) or several files
/// (`files`: strings or `{name, text}`); each file is cut into blocks of about
/// `blocksize` bytes at line ends (one partition per block, or per file without
/// blocksize), and each line keeps its newline, as `dask.bag.read_text` gives them.
pub fn lower_read_text(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let mut texts: Vec<String> = Vec::new();
    if let Some(t) = ctx.str_arg("text")? {
        texts.push(t.to_string());
    }
    if ctx.json_arg("files").is_some() {
        for (i, f) in ctx.list_arg("files")?.iter().enumerate() {
            match f {
                serde_json::Value::String(t) => texts.push(t.clone()),
                serde_json::Value::Object(o) => match o.get("text").and_then(|t| t.as_str()) {
                    Some(t) => texts.push(t.to_string()),
                    None => {
                        return Err(Error::plan(format!(
                            "node '{}' (bag.read_text): files[{i}] needs a \"text\" string",
                            ctx.node.id
                        )))
                    }
                },
                _ => {
                    return Err(Error::plan(format!(
                        "node '{}' (bag.read_text): files[{i}] must be a string or {{name, text}}",
                        ctx.node.id
                    )))
                }
            }
        }
    }
    if texts.is_empty() {
        return Err(Error::plan(format!(
            "node '{}' (bag.read_text): give text or files",
            ctx.node.id
        )));
    }
    let blocksize = ctx.usize_arg("blocksize")?;
    let mut parts = Vec::new();
    for t in &texts {
        for block in kernels::text_blocks(t, blocksize) {
            parts.push(kernels::lines_with_endings(block));
        }
    }
    literal_partitions(l, ctx, "read_text", parts)
}

/// `from_delayed`: one partition per input delayed value (each must be a list).
pub fn lower_from_delayed(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let name = ctx.layer_name("from_delayed");
    let layer = l.layer(&name, "from_delayed", LayerKind::Blockwise, None);
    let mut tasks = Vec::with_capacity(ctx.inputs.len());
    for (i, input) in ctx.inputs.iter().enumerate() {
        let deps = input.tasks.clone();
        tasks.push(l.task(Key::part(&name, i), layer, deps, Op::Bag(BagOp::FromValue))?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// Dask's `bag.str.<method>(*args)`.
pub fn lower_str(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let method = ctx.str_arg("method")?.unwrap_or_default().to_string();
    if crate::expr::call_method(&method, &Value::str(""), &[])
        .is_err_and(|e| e.message.starts_with("unknown string method"))
    {
        return Err(Error::plan(format!(
            "node '{}' (bag.str): unknown string method '{method}'",
            ctx.node.id
        )));
    }
    let args: Vec<Value> = match ctx.json_arg("args") {
        Some(_) => ctx.list_arg("args")?.iter().map(Value::from_json).collect(),
        None => Vec::new(),
    };
    let label = format!("str-{method}");
    blockwise(l, ctx, &label, BagOp::StrMethod { method, args })
}

/// `random_sample(prob, random_state)`: deterministic per partition.
pub fn lower_random_sample(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let prob = ctx
        .json_arg("prob")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(-1.0);
    if !(0.0..=1.0).contains(&prob) {
        return Err(Error::plan(format!(
            "node '{}' (bag.random_sample): prob must be a number from 0 to 1",
            ctx.node.id
        )));
    }
    let seed = ctx.usize_arg("random_state")?.unwrap_or(0) as u64;
    let input = ctx.input(0)?.clone();
    let name = ctx.layer_name("random_sample");
    let layer = l.layer(&name, "random_sample", LayerKind::Blockwise, None);
    let mut tasks = Vec::with_capacity(input.tasks.len());
    for (i, dep) in input.tasks.iter().enumerate() {
        let op = BagOp::RandomSample {
            prob,
            seed,
            partition: i,
        };
        tasks.push(l.task(Key::part(&name, i), layer, vec![*dep], Op::Bag(op))?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// `to_delayed`: partition `partition` of the bag as a delayed value (a list).
pub fn lower_to_delayed(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let input = ctx.input(0)?.clone();
    let i = ctx.usize_arg("partition")?.unwrap_or(0);
    let dep = *input.tasks.get(i).ok_or_else(|| {
        Error::value(format!(
            "node '{}' (bag.to_delayed): partition {i} does not exist; the bag has {} partitions",
            ctx.node.id,
            input.tasks.len()
        ))
    })?;
    let name = ctx.layer_name("to_delayed");
    let layer = l.layer(&name, "to_delayed", LayerKind::Blockwise, None);
    let task = l.task(Key::single(&name), layer, vec![dep], Op::Bag(BagOp::ToValue))?;
    Ok(Collection {
        kind: Kind::Value,
        name,
        tasks: vec![task],
        token: ctx.token.clone(),
    })
}
