//! Tree reductions, as Dask's `Bag.reduction` builds them: one `{name}-part` task per
//! partition, then `{name}-aggregate` levels that each combine up to `split_every`
//! outputs of the level above, until one task remains. With n partitions and
//! split_every k the aggregate levels number max(1, ceil(log_k n)).

use crate::error::{Error, Result};
use crate::graph::{Key, LayerKind, TaskId};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::registry::Kind;
use std::sync::Arc;

/// Dask's default `split_every` for bags.
pub const DEFAULT_SPLIT_EVERY: usize = 8;

/// The layers of a tree reduction over `inputs`. `part` makes the per-partition op;
/// `aggregate(last)` the combining op (`last` is true for the final level).
pub fn tree_reduce(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    inputs: &[TaskId],
    split_every: usize,
    part: impl Fn(usize) -> Op,
    aggregate: impl Fn(bool) -> Op,
) -> Result<Collection> {
    if split_every < 2 {
        return Err(Error::plan(format!(
            "node '{}' ({}): split_every must be at least 2, not {split_every}",
            ctx.node.id, ctx.node.op
        )));
    }
    let part_name: Arc<str> = Arc::from(format!("{label}-part-{}", ctx.token));
    let part_layer = l.layer(
        &part_name,
        &format!("{label}-part"),
        LayerKind::ReductionPart,
        Some(0),
    );
    l.graph
        .reserve(inputs.len() + inputs.len().div_ceil(split_every - 1));
    let mut level_tasks: Vec<TaskId> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        level_tasks.push(l.task(Key::part(&part_name, i), part_layer, [*input], part(i))?);
    }
    let agg_name = format!("{label}-aggregate-{}", ctx.token);
    let mut depth: u32 = 0;
    while level_tasks.len() > split_every {
        let name: Arc<str> = Arc::from(format!("{agg_name}{depth}"));
        let layer = l.layer(
            &name,
            &format!("{label}-aggregate"),
            LayerKind::ReductionAggregate,
            Some(depth + 1),
        );
        let mut next = Vec::with_capacity(level_tasks.len().div_ceil(split_every));
        for (i, group) in level_tasks.chunks(split_every).enumerate() {
            next.push(l.task(Key::part(&name, i), layer, group, aggregate(false))?);
        }
        level_tasks = next;
        depth += 1;
    }
    let layer = l.layer(
        &agg_name,
        &format!("{label}-aggregate"),
        LayerKind::ReductionAggregate,
        Some(depth + 1),
    );
    let last = l.task(Key::part(&agg_name, 0), layer, level_tasks, aggregate(true))?;
    Ok(Collection {
        kind: Kind::Value,
        name: agg_name,
        tasks: vec![last],
        token: ctx.token.clone(),
    })
}
