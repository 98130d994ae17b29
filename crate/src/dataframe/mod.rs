//! DataFrames: many Arrow RecordBatches (partitions) with known or unknown divisions, as
//! dask.dataframe. This file builds graphs (lowering of `dataframe.*` plan ops); `kernels`
//! holds the per-partition functions on Arrow arrays.

pub mod columnar;
pub mod csv;
pub mod group_ids;
pub mod groupby;
pub mod index;
pub mod ipc;
pub mod join;
pub mod kernels;
pub mod rows;
pub mod shuffle;
pub mod transform;

use crate::error::{Error, Result};
use crate::graph::{Key, LayerKind};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::Partition;
use crate::registry::Kind;
use crate::value::Value;
use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use kernels::{FrameReduce, Predicate};
use std::sync::Arc;

/// What is known of a dataframe before computing it.
#[derive(Debug, Clone)]
pub struct FrameMeta {
    pub schema: SchemaRef,
    /// Index values where partitions start, and the last one, when known (n + 1 values):
    /// ints for the RangeIndex of from_records, the index column's values otherwise.
    pub divisions: Option<Vec<Value>>,
    /// The physical column that is the index (after `set_index`); none for a RangeIndex.
    pub index: Option<String>,
    /// The task that computes the divisions in the graph (set_index without divisions),
    /// so a computed or persisted result can report them.
    pub divisions_key: Option<Key>,
}

impl FrameMeta {
    /// Metadata without an index column; `divisions` as RangeIndex positions.
    pub fn new(schema: SchemaRef, divisions: Option<Vec<i64>>) -> FrameMeta {
        FrameMeta {
            schema,
            divisions: divisions.map(|d| d.into_iter().map(Value::Int).collect()),
            index: None,
            divisions_key: None,
        }
    }

    /// The same partitioning and index over a new schema (row-wise ops keep them); the
    /// index is dropped when its column is gone.
    pub fn with_schema(&self, schema: SchemaRef) -> FrameMeta {
        let index = self
            .index
            .clone()
            .filter(|i| schema.fields().iter().any(|f| f.name() == i));
        FrameMeta {
            schema,
            divisions: self.divisions.clone(),
            divisions_key: self.divisions_key.clone(),
            index,
        }
    }

    pub fn columns(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    /// `columns`, `dtypes` (pandas names), `divisions` (null when unknown), `known_divisions`.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "columns": self.columns(),
            "dtypes": self.schema.fields().iter().map(|f| kernels::dtype_name(f.data_type())).collect::<Vec<_>>(),
            "divisions": self.divisions.as_ref().map(|d| d.iter().map(Value::to_json).collect::<Vec<_>>()),
            "known_divisions": self.divisions.is_some(),
            "index": self.index,
        })
    }
}

/// A dataframe kernel as task data.
#[derive(Debug, Clone)]
pub enum FrameOp {
    /// One block of CSV text (the first has the header): the bytes `start..end` of the
    /// whole text, which every block shares.
    ReadCsv {
        text: Arc<str>,
        start: usize,
        end: usize,
        header: bool,
        schema: SchemaRef,
    },
    Select(Arc<Vec<String>>),
    Filter(Arc<Predicate>),
    /// The first `n` rows of the inputs, in order.
    Head(usize),
    ReducePart,
    ReduceCombine {
        last: bool,
        kind: FrameReduce,
    },
    /// Groupby: the partial aggregates of one partition.
    GroupChunk(Arc<groupby::GroupSpec>),
    /// Groupby: partials regrouped; the answers when `last`.
    GroupCombine {
        spec: Arc<groupby::GroupSpec>,
        last: bool,
    },
    /// Shuffle, first step: the rows in `n` buckets by the hash of `keys`.
    HashSplit {
        keys: Arc<Vec<String>>,
        n: usize,
    },
    /// Shuffle, second step: bucket `index` of every split, concatenated.
    Gather {
        index: usize,
    },
    /// The ops of `transform.rs`.
    More(Arc<transform::Step>),
    /// A partition-wise merge of a left and a right partition.
    Join(Arc<join::JoinSpec>),
    /// Range shuffles, sorting, loc and repartition steps.
    Index(index::IndexOp),
}

impl FrameOp {
    pub fn name(&self) -> String {
        match self {
            FrameOp::ReadCsv { .. } => "read-csv".into(),
            FrameOp::Select(_) => "getitem".into(),
            FrameOp::Filter(_) => "filter".into(),
            FrameOp::Head(_) => "head".into(),
            FrameOp::ReducePart => "reduce-chunk".into(),
            FrameOp::ReduceCombine { kind, .. } => format!("{}-aggregate", kind.name()),
            FrameOp::GroupChunk(_) => "groupby-chunk".into(),
            FrameOp::GroupCombine { last: false, .. } => "groupby-combine".into(),
            FrameOp::GroupCombine { last: true, .. } => "groupby-agg".into(),
            FrameOp::HashSplit { .. } => "shuffle-split".into(),
            FrameOp::Gather { .. } => "shuffle-gather".into(),
            FrameOp::More(s) => s.name(),
            FrameOp::Join(_) => "merge".into(),
            FrameOp::Index(op) => op.name().into(),
        }
    }

    pub fn takes_list(&self) -> bool {
        match self {
            FrameOp::More(s) => s.takes_list(),
            FrameOp::Index(op) => op.takes_list(),
            other => matches!(
                other,
                FrameOp::ReduceCombine { .. } | FrameOp::Gather { .. } | FrameOp::GroupCombine { .. }
            ),
        }
    }

    pub fn fusable(&self) -> bool {
        match self {
            FrameOp::More(s) => s.fusable(),
            FrameOp::Index(op) => !op.takes_list(),
            other => !matches!(
                other,
                FrameOp::ReduceCombine { .. }
                    | FrameOp::Head(_)
                    | FrameOp::Gather { .. }
                    | FrameOp::GroupCombine { .. }
            ),
        }
    }

    /// The input columns this op reads, when it reads a known few.
    pub fn columns_read(&self) -> Option<Vec<String>> {
        match self {
            FrameOp::Select(cols) => Some(cols.to_vec()),
            FrameOp::GroupChunk(spec) => Some(spec.columns_read()),
            FrameOp::More(step) => match &**step {
                transform::Step::ValueCountsPart(c) => Some(vec![c.clone()]),
                _ => None,
            },
            _ => None,
        }
    }

    /// Runs this op when its output feeds only `next` (in a fused chain): a filter keeps
    /// only the columns `next` reads, so the others are never copied, and a CSV block
    /// skips the text columns `next` does not read.
    pub fn execute_feeding(&self, inputs: &[Arc<Partition>], next: &FrameOp) -> Result<Partition> {
        match (self, next.columns_read(), inputs) {
            (FrameOp::Filter(p), Some(keep), [input]) => match &**input {
                Partition::Frame(b) => Ok(Partition::Frame(kernels::filter_keeping(b, p, &keep)?)),
                _ => self.execute(inputs),
            },
            (FrameOp::ReadCsv { .. }, Some(keep), _) => self.read_csv(Some(&keep)),
            _ => self.execute(inputs),
        }
    }

    /// One kernel for this op and the `next` one where there is one: a filter feeding
    /// value_counts counts the kept rows where they are, copying none of them out (in
    /// wasm each string copied is a call). `None` runs the two one after the other.
    pub fn execute_with_next(&self, next: &FrameOp, inputs: &[Arc<Partition>]) -> Option<Result<Partition>> {
        let (FrameOp::Filter(p), FrameOp::More(step), [input]) = (self, next, inputs) else {
            return None;
        };
        let (transform::Step::ValueCountsPart(column), Partition::Frame(batch)) = (&**step, &**input) else {
            return None;
        };
        // Only where the column has the fast path, so errors stay those of the two ops.
        let c = batch.column_by_name(column)?;
        if !group_ids::has_ids(c.data_type()) {
            return None;
        }
        let mask = match p.mask(batch) {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        // A null in the mask drops its row, as the filter drops it.
        let keep = match mask.nulls() {
            Some(n) => mask.values() & n.inner(),
            None => mask.values().clone(),
        };
        rows::value_counts_part_where(batch, column, &keep).map(|v| Ok(Partition::Value(v)))
    }

    /// Reads this op's block of CSV text: only the columns in `keep`, if given.
    fn read_csv(&self, keep: Option<&[String]>) -> Result<Partition> {
        match self {
            FrameOp::ReadCsv {
                text,
                start,
                end,
                header,
                schema,
            } => Ok(Partition::Frame(kernels::read_csv_block(
                text,
                (*start, *end),
                *header,
                schema,
                keep,
            )?)),
            other => Err(Error::internal(format!("{}: not a read_csv block", other.name()))),
        }
    }

    pub fn execute(&self, inputs: &[Arc<Partition>]) -> Result<Partition> {
        let name = self.name();
        let frame = |i: usize| -> Result<&RecordBatch> {
            match inputs.get(i).map(|p| &**p) {
                Some(Partition::Frame(b)) => Ok(b),
                Some(other) => Err(Error::internal(format!(
                    "{name}: expected a dataframe partition, got {}",
                    other.kind_name()
                ))),
                None => Err(Error::internal(format!("{name}: missing input {i}"))),
            }
        };
        Ok(match self {
            FrameOp::More(s) => s.execute(inputs)?,
            FrameOp::ReadCsv { .. } => self.read_csv(None)?,
            FrameOp::Select(cols) => Partition::Frame(kernels::select(frame(0)?, cols)?),
            FrameOp::Filter(p) => Partition::Frame(kernels::filter(frame(0)?, p)?),
            FrameOp::Head(n) => {
                let batches: Vec<RecordBatch> = (0..inputs.len())
                    .map(|i| frame(i).cloned())
                    .collect::<Result<_>>()?;
                let schema = batches
                    .first()
                    .map(RecordBatch::schema)
                    .ok_or_else(|| Error::internal("head: no partitions"))?;
                let all = kernels::concat(&schema, &batches)?;
                Partition::Frame(all.slice(0, (*n).min(all.num_rows())))
            }
            FrameOp::ReducePart => Partition::Value(kernels::reduce_part(frame(0)?)?),
            FrameOp::ReduceCombine { last, kind } => {
                let parts: Vec<&Value> = inputs
                    .iter()
                    .map(|p| p.as_value("dataframe reduction"))
                    .collect::<Result<_>>()?;
                let merged = kernels::reduce_combine(&parts)?;
                Partition::Value(if *last {
                    kernels::reduce_finish(&merged, *kind)?
                } else {
                    merged
                })
            }
            FrameOp::GroupChunk(spec) => Partition::Frame(groupby::chunk(frame(0)?, spec)?),
            FrameOp::GroupCombine { spec, last } => {
                let parts: Vec<RecordBatch> = (0..inputs.len())
                    .map(|i| frame(i).cloned())
                    .collect::<Result<_>>()?;
                let merged = groupby::combine(&parts, spec)?;
                Partition::Frame(if *last {
                    groupby::finalize(&merged, spec)?
                } else {
                    merged
                })
            }
            FrameOp::HashSplit { keys, n } => {
                Partition::FrameParts(shuffle::hash_split(frame(0)?, keys, *n, &name)?)
            }
            FrameOp::Gather { index } => {
                let mut pieces = Vec::with_capacity(inputs.len());
                for p in inputs {
                    match &**p {
                        Partition::FrameParts(parts) => {
                            if let Some(b) = parts.get(*index) {
                                pieces.push(b.clone());
                            }
                        }
                        other => {
                            return Err(Error::internal(format!(
                                "{name}: expected shuffle buckets, got {}",
                                other.kind_name()
                            )))
                        }
                    }
                }
                let schema = pieces
                    .first()
                    .map(RecordBatch::schema)
                    .ok_or_else(|| Error::internal(format!("{name}: no inputs")))?;
                Partition::Frame(kernels::concat(&schema, &pieces)?)
            }
            FrameOp::Join(spec) => Partition::Frame(join::join(frame(0)?, frame(1)?, spec)?),
            FrameOp::Index(op) => op.execute(inputs)?,
        })
    }
}

fn op_label(ctx: &NodeCtx) -> String {
    format!("node '{}' ({})", ctx.node.id, ctx.node.op)
}

/// A collection of one task per partition.
fn partitions(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    kind: LayerKind,
    meta: FrameMeta,
    tasks: Vec<(Vec<crate::graph::TaskId>, Op)>,
) -> Result<Collection> {
    let name = ctx.layer_name(label);
    let layer = l.layer(&name, label, kind, None);
    let mut ids = Vec::with_capacity(tasks.len());
    for (i, (deps, op)) in tasks.into_iter().enumerate() {
        ids.push(l.task(Key::part(&name, i), layer, deps, op)?);
    }
    let c = Collection {
        kind: Kind::Frame,
        name,
        tasks: ids,
        token: ctx.token.clone(),
    };
    l.set_frame_meta(&c, meta);
    Ok(c)
}

/// `from_records(records, npartitions | chunksize)`: rows cut as dd.from_pandas cuts a
/// frame with a RangeIndex: partitions of ceil(n / npartitions) rows; divisions known.
pub fn lower_from_records(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let records = ctx.list_arg("records")?;
    let schema = kernels::infer_schema(records)?;
    from_rows(l, ctx, records, schema, "from_records")
}

/// Rows cut into partitions as from_records does (shared with from_columns).
fn from_rows(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    records: &[serde_json::Value],
    schema: SchemaRef,
    label: &str,
) -> Result<Collection> {
    let n = records.len();
    let sizes = partition_sizes(ctx, n)?;
    let mut tasks = Vec::new();
    let mut divisions = Vec::new();
    let mut start = 0usize;
    for size in sizes {
        divisions.push(Value::Int(start as i64));
        let rows = records.get(start..start + size).unwrap_or_default();
        let batch = kernels::batch_from_records(rows, &schema)?;
        tasks.push((Vec::new(), Op::Literal(Arc::new(Partition::Frame(batch)))));
        start += size;
    }
    if tasks.is_empty() {
        let batch = kernels::batch_from_records(&[], &schema)?;
        tasks.push((Vec::new(), Op::Literal(Arc::new(Partition::Frame(batch)))));
    }
    divisions.push(Value::Int(n.saturating_sub(1) as i64));
    let meta = FrameMeta {
        schema,
        divisions: (n > 0).then_some(divisions),
        index: None,
        divisions_key: None,
    };
    partitions(l, ctx, label, LayerKind::Input, meta, tasks)
}

/// Partition sizes: with npartitions, each is ceil(rows left / partitions left), which
/// is how dd.from_pandas places its divisions; with chunksize, fixed blocks.
fn partition_sizes(ctx: &NodeCtx, n: usize) -> Result<Vec<usize>> {
    Ok(
        match (ctx.usize_arg("chunksize")?, ctx.usize_arg("npartitions")?) {
            (Some(c), _) => {
                let c = c.max(1);
                (0..n.div_ceil(c)).map(|i| c.min(n - i * c)).collect()
            }
            (None, p) => {
                let mut parts = p.unwrap_or(1).max(1);
                let (mut left, mut out) = (n, Vec::new());
                while left > 0 && parts > 0 {
                    let size = left.div_ceil(parts);
                    out.push(size);
                    left -= size;
                    parts -= 1;
                }
                out
            }
        },
    )
}

/// `read_csv(text, blocksize)`: dtypes from the header and the first rows (as Dask reads a
/// sample while building the graph), then one task per block of about blocksize bytes.
pub fn lower_read_csv(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let text: Arc<str> = ctx.shared_str_arg("text")?.unwrap_or_else(|| Arc::from(""));
    let blocksize = ctx.usize_arg("blocksize")?.unwrap_or(64 * 1024 * 1024);
    let mut schema = kernels::csv_schema(&text).map_err(|e| e.context(op_label(ctx)))?;
    match ctx.json_arg("dtype") {
        Some(serde_json::Value::Object(d)) => {
            schema = kernels::override_dtypes(&schema, d).map_err(|e| e.context(op_label(ctx)))?;
        }
        Some(serde_json::Value::Null) | None => {}
        Some(other) => {
            return Err(Error::plan(format!(
                "{}: dtype is an object {{column: dtype}}, not {other}",
                op_label(ctx)
            )))
        }
    }
    let mut tasks = Vec::new();
    for (i, (start, end)) in kernels::csv_blocks(&text, blocksize).into_iter().enumerate() {
        let op = FrameOp::ReadCsv {
            text: Arc::clone(&text),
            start,
            end,
            header: i == 0,
            schema: Arc::clone(&schema),
        };
        tasks.push((Vec::new(), Op::Frame(op)));
    }
    partitions(
        l,
        ctx,
        "read-csv",
        LayerKind::Input,
        FrameMeta {
            schema,
            divisions: None,
            index: None,
            divisions_key: None,
        },
        tasks,
    )
}

/// Column selection `df[['a', 'b']]`.
pub fn lower_select(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let columns = ctx
        .list_arg("columns")?
        .iter()
        .map(|c| {
            c.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::plan(format!("{}: column names are strings, not {c}", op_label(ctx))))
        })
        .collect::<Result<Vec<String>>>()?;
    // The index column stays, first, as pandas keeps the index when columns are picked.
    let columns = index::with_index_first(columns, m.index.as_deref());
    let have = m.columns();
    let mut fields = Vec::new();
    for c in &columns {
        let i = have.iter().position(|h| h == c).ok_or_else(|| {
            Error::value(format!(
                "{}: no column '{c}'; the columns are {}",
                op_label(ctx),
                have.join(", ")
            ))
        })?;
        if let Some(f) = m.schema.fields().get(i) {
            fields.push(Arc::clone(f));
        }
    }
    let meta = FrameMeta {
        schema: Arc::new(arrow_schema::Schema::new(fields)),
        divisions: m.divisions.clone(),
        index: m.index.clone(),
        divisions_key: m.divisions_key.clone(),
    };
    let cols = Arc::new(columns);
    let tasks = a
        .tasks
        .iter()
        .map(|t| (vec![*t], Op::Frame(FrameOp::Select(Arc::clone(&cols)))))
        .collect();
    partitions(l, ctx, "getitem", LayerKind::Blockwise, meta, tasks)
}

/// Row filtering with a column predicate (`df[df.val > 0.5]`).
pub fn lower_filter(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    if ctx.json_arg("expr").is_some() {
        return transform::lower_query(l, ctx);
    }
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let spec = ctx
        .json_arg("predicate")
        .ok_or_else(|| Error::plan(format!("{}: needs a predicate or an expr", op_label(ctx))))?;
    let p = Arc::new(Predicate::from_json(spec, &m.columns()).map_err(|e| e.context(op_label(ctx)))?);
    let tasks = a
        .tasks
        .iter()
        .map(|t| (vec![*t], Op::Frame(FrameOp::Filter(Arc::clone(&p)))))
        .collect();
    partitions(l, ctx, "filter", LayerKind::Blockwise, (*m).clone(), tasks)
}

/// `head(n, npartitions=1)`: the first rows of the first partition(s) only, like Dask.
pub fn lower_head(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let n = ctx.usize_arg("n")?.unwrap_or(5);
    let parts = ctx.usize_arg("npartitions")?.unwrap_or(1).max(1);
    let deps: Vec<_> = a.tasks.iter().take(parts).copied().collect();
    let meta = FrameMeta {
        schema: Arc::clone(&m.schema),
        divisions: None,
        index: m.index.clone(),
        divisions_key: None,
    };
    partitions(
        l,
        ctx,
        "head",
        LayerKind::Blockwise,
        meta,
        vec![(deps, Op::Frame(FrameOp::Head(n)))],
    )
}

/// Column reductions (and `len`) as tree reductions of per-partition statistics.
fn lower_reduce(l: &mut Lowerer, ctx: &NodeCtx, kind: FrameReduce) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let split_every = ctx
        .usize_arg("split_every")?
        .unwrap_or(crate::reduction::DEFAULT_SPLIT_EVERY);
    crate::reduction::tree_reduce(
        l,
        ctx,
        kind.name(),
        &a.tasks,
        split_every,
        |_| Op::Frame(FrameOp::ReducePart),
        |last| Op::Frame(FrameOp::ReduceCombine { last, kind }),
    )
}

macro_rules! reductions {
    ($($f:ident => $k:expr),* $(,)?) => {
        $(pub fn $f(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
            lower_reduce(l, ctx, $k)
        })*
    };
}

reductions! {
    lower_sum => FrameReduce::Sum,
    lower_mean => FrameReduce::Mean,
    lower_count => FrameReduce::Count,
    lower_min => FrameReduce::Min,
    lower_max => FrameReduce::Max,
    lower_len => FrameReduce::Len,
}

#[cfg(test)]
mod fused_pair_tests {
    use super::*;
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    /// 40 rows with nulls in every column, NaNs among the floats, and strings of 0 to 20
    /// bytes (past the 15 that pack into one integer).
    fn batch() -> RecordBatch {
        let words = [
            "a",
            "",
            "bb",
            "a long string of twenty",
            "bb",
            "sixteen bytes!!!",
            "c",
        ];
        let k: Int64Array = (0..40i64)
            .map(|i| (i % 7 != 3).then_some((i * 5) % 11 - 4))
            .collect();
        let s: StringArray = (0..40usize)
            .map(|i| (i % 5 != 2).then(|| words.get((i * 3) % words.len()).copied().unwrap_or("")))
            .collect();
        let val: Float64Array = (0..40)
            .map(|i| match i {
                _ if i % 9 == 4 => None,
                _ if i % 6 == 1 => Some(f64::NAN),
                _ => Some(f64::from((i * 37) % 17) / 16.0),
            })
            .collect();
        let f: Float64Array = (0..40).map(|i| Some(f64::from(i % 4))).collect();
        let columns: Vec<ArrayRef> = vec![Arc::new(k), Arc::new(s), Arc::new(val), Arc::new(f)];
        let fields: Vec<Field> = ["k", "s", "val", "f"]
            .iter()
            .zip(&columns)
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    fn counts(p: Result<Partition>) -> Result<Value> {
        p.map(|p| match p {
            Partition::Value(v) => v,
            other => Value::str(other.kind_name()),
        })
    }

    /// A filter feeding value_counts, run as one kernel, gives what the two ops give one
    /// after the other: the same counts in the same first-seen order, or the same error.
    #[test]
    fn filter_then_value_counts_in_one_kernel_equals_the_two_ops() {
        let b = batch();
        let names: Vec<String> = ["k", "s", "val", "f"].iter().map(|c| c.to_string()).collect();
        let inputs = [Arc::new(Partition::Frame(b))];
        let predicates = [
            serde_json::json!({"col": "val", "op": "gt", "value": 0.5}),
            serde_json::json!({"col": "val", "op": "le", "value": 0.5}),
            serde_json::json!({"isnull": "val"}),
            serde_json::json!({"notnull": "s"}),
            serde_json::json!({"and": [{"col": "val", "op": "gt", "value": 0.2}, {"col": "k", "op": "ne", "value": 1}]}),
            serde_json::json!({"col": "val", "op": "gt", "value": 100.0}),
            serde_json::json!({"col": "s", "op": "gt", "value": 0.5}),
        ];
        let mut fused_count = 0;
        for json in &predicates {
            let filter = FrameOp::Filter(Arc::new(Predicate::from_json(json, &names).unwrap()));
            for column in ["k", "s", "f", "nope"] {
                let next = FrameOp::More(Arc::new(transform::Step::ValueCountsPart(column.to_string())));
                let two = filter.execute(&inputs).and_then(|p| next.execute(&[Arc::new(p)]));
                match filter.execute_with_next(&next, &inputs) {
                    Some(one) => {
                        fused_count += 1;
                        assert_eq!(counts(one), counts(two), "{json} then value_counts of {column}");
                    }
                    // Only columns without the id fast path take the two ops.
                    None => assert!(matches!(column, "f" | "nope"), "{json}: {column} was not fused"),
                }
            }
        }
        assert_eq!(fused_count, 2 * predicates.len());
    }
}
