//! Bags: unordered collections of dynamic values split into partitions, as dask.bag.
//! This file builds graphs (lowering of `bag.*` plan ops) and names the bag tasks;
//! `kernels` holds the per-partition functions.

pub mod kernels;

use crate::error::{Error, Result};
use crate::expr::Function;
use crate::graph::{Key, LayerKind};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::Partition;
use crate::plan::Node;
use crate::reduction::{tree_reduce, DEFAULT_SPLIT_EVERY};
use crate::registry::Kind;
use crate::value::Value;
use std::sync::Arc;

/// The reductions bags know; each has a per-partition step and an aggregate step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Count,
    Sum,
    Frequencies { sort: bool },
}

impl Reduce {
    fn label(self) -> &'static str {
        match self {
            Reduce::Count => "count",
            Reduce::Sum => "sum",
            Reduce::Frequencies { .. } => "frequencies",
        }
    }
}

/// A bag kernel as task data.
#[derive(Debug, Clone)]
pub enum BagOp {
    Map(Function),
    Filter(Function),
    /// Per-partition step of a reduction.
    Part(Reduce),
    /// Combining step of a reduction; `last` for the final level.
    Aggregate {
        reduce: Reduce,
        last: bool,
    },
}

impl BagOp {
    pub fn name(&self) -> String {
        match self {
            BagOp::Map(_) => "map".to_string(),
            BagOp::Filter(_) => "filter".to_string(),
            BagOp::Part(r) => format!("{}-part", r.label()),
            BagOp::Aggregate { reduce, .. } => format!("{}-aggregate", reduce.label()),
        }
    }

    pub fn argument_summary(&self) -> Option<String> {
        match self {
            BagOp::Map(f) | BagOp::Filter(f) => Some(format!("<{}>", f.source())),
            _ => None,
        }
    }

    pub fn takes_list(&self) -> bool {
        matches!(self, BagOp::Aggregate { .. })
    }

    pub fn fusable(&self) -> bool {
        // Element-wise steps and per-partition reductions chain; aggregates read many.
        !matches!(self, BagOp::Aggregate { .. })
    }

    pub fn execute(&self, inputs: &[Arc<Partition>]) -> Result<Partition> {
        let first = || {
            inputs
                .first()
                .ok_or_else(|| Error::internal(format!("{}: task has no input", self.name())))
        };
        match self {
            BagOp::Map(f) => Ok(Partition::Bag(kernels::map(first()?.as_bag("map")?, f)?)),
            BagOp::Filter(f) => Ok(Partition::Bag(kernels::filter(first()?.as_bag("filter")?, f)?)),
            BagOp::Part(Reduce::Count) => {
                let n = first()?.as_bag("count")?.len();
                Ok(Partition::Value(Value::Int(i64::try_from(n).unwrap_or(i64::MAX))))
            }
            BagOp::Part(Reduce::Sum) => Ok(Partition::Value(kernels::sum(first()?.as_bag("sum")?)?)),
            BagOp::Part(Reduce::Frequencies { .. }) => {
                let counts = kernels::frequencies(first()?.as_bag("frequencies")?);
                Ok(Partition::Value(kernels::counts_to_value(counts, false)))
            }
            BagOp::Aggregate { reduce, last } => {
                let values: Vec<&Value> = inputs
                    .iter()
                    .map(|p| p.as_value(&self.name()))
                    .collect::<Result<_>>()?;
                let out = match reduce {
                    Reduce::Count | Reduce::Sum => kernels::sum_values(values.into_iter())?,
                    Reduce::Frequencies { sort } => {
                        let merged = kernels::merge_frequencies(values.into_iter())?;
                        kernels::counts_to_value(merged, *sort && *last)
                    }
                };
                Ok(Partition::Value(out))
            }
        }
    }

    /// Partial counts preview as a dict, the way the course draws them: `{A: 1, B: 3}`.
    pub fn preview(&self, output: &Partition) -> String {
        match (self, output) {
            (
                BagOp::Part(Reduce::Frequencies { .. })
                | BagOp::Aggregate {
                    reduce: Reduce::Frequencies { .. },
                    ..
                },
                Partition::Value(v),
            ) => match kernels::pairs_of(v) {
                Ok(pairs) => Value::Record(Arc::new(
                    pairs
                        .into_iter()
                        .map(|(k, c)| {
                            let name = match &k {
                                Value::Str(s) => s.clone(),
                                other => Arc::from(other.to_string().as_str()),
                            };
                            (name, Value::Int(c))
                        })
                        .collect(),
                ))
                .preview(60),
                Err(_) => output.preview(),
            },
            _ => output.preview(),
        }
    }
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
    if node.args.get("npartitions").is_some_and(|v| !v.is_null())
        && node.args.get("partition_size").is_some_and(|v| !v.is_null())
    {
        return Err(Error::plan(format!(
            "node '{}' (bag.from_sequence): give npartitions or partition_size, not both",
            node.id
        )));
    }
    Ok(())
}

pub fn lower_from_sequence(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let items: Vec<Value> = ctx.list_arg("items")?.iter().map(Value::from_json).collect();
    let size = partition_sizes(
        items.len(),
        ctx.usize_arg("npartitions")?,
        ctx.usize_arg("partition_size")?,
    );
    let name = ctx.layer_name("from_sequence");
    let layer = l.layer(&name, "from_sequence", LayerKind::Input, None);
    let mut parts: Vec<Vec<Value>> = items.chunks(size).map(<[Value]>::to_vec).collect();
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    let mut tasks = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        tasks.push(l.task(
            Key::part(&name, i),
            layer,
            Vec::new(),
            Op::Literal(Arc::new(Partition::Bag(part))),
        )?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

/// A blockwise layer: one task per input partition.
fn blockwise(l: &mut Lowerer, ctx: &NodeCtx, label: &str, op: BagOp) -> Result<Collection> {
    let input = ctx.input(0)?.clone();
    let name = ctx.layer_name(label);
    let layer = l.layer(&name, label, LayerKind::Blockwise, None);
    let mut tasks = Vec::with_capacity(input.tasks.len());
    for (i, dep) in input.tasks.iter().enumerate() {
        tasks.push(l.task(Key::part(&name, i), layer, vec![*dep], Op::Bag(op.clone()))?);
    }
    Ok(Collection {
        kind: Kind::Bag,
        name,
        tasks,
        token: ctx.token.clone(),
    })
}

pub fn lower_map(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("func")?;
    blockwise(l, ctx, "map", BagOp::Map(f))
}

pub fn lower_filter(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let f = ctx.func_arg("predicate")?;
    blockwise(l, ctx, "filter", BagOp::Filter(f))
}

fn lower_reduction(l: &mut Lowerer, ctx: &NodeCtx, reduce: Reduce) -> Result<Collection> {
    let split_every = ctx.usize_arg("split_every")?.unwrap_or(DEFAULT_SPLIT_EVERY);
    let input = ctx.input(0)?.tasks.clone();
    tree_reduce(
        l,
        ctx,
        reduce.label(),
        &input,
        split_every,
        |_| Op::Bag(BagOp::Part(reduce)),
        |last| Op::Bag(BagOp::Aggregate { reduce, last }),
    )
}

pub fn lower_count(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Count)
}

pub fn lower_sum(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_reduction(l, ctx, Reduce::Sum)
}

pub fn lower_frequencies(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let sort = ctx.bool_arg("sort", false)?;
    lower_reduction(l, ctx, Reduce::Frequencies { sort })
}
