//! The index and row order: `set_index` and `sort_values` as range shuffles (rows split
//! by where their value falls between divisions, an all-to-all gather, then a sort per
//! partition), `loc` (label slices that read only the partitions whose divisions can
//! hold them), and `repartition`.
//!
//! When `set_index` is not given divisions, a task in the graph computes them from
//! per-partition samples of the column (the `-sample` and `-divisions` layers), and every
//! split task depends on it, so the graph can be built before any value is known.

use crate::error::{Error, Result};
use crate::graph::{Key, LayerKind, TaskId};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::Partition;
use crate::value::Value;
use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::{DataType, Schema};
use serde_json::Value as Json;
use std::cmp::Ordering;
use std::sync::Arc;

use super::join::key_columns;
use super::kernels::cell;
use super::{kernels, op_label, partitions, FrameMeta, FrameOp};

/// How many values each partition contributes to the divisions estimate.
const SAMPLES: usize = 100;

/// A step of an index op, as task data.
#[derive(Debug, Clone)]
pub enum IndexOp {
    /// `[rows, [sorted values...]]`: evenly spaced order statistics of one column.
    Sample { column: Arc<str> },
    /// n + 1 divisions from every partition's sample (weighted by its rows).
    Divisions { n: usize },
    /// The rows in `n` buckets by where `column` falls between the divisions (given, or
    /// read from the second input); nulls go to the last bucket.
    RangeSplit {
        column: Arc<str>,
        n: usize,
        divisions: Option<Arc<Vec<Value>>>,
        descending: bool,
    },
    /// A stable sort by `by` (nulls last), then `first` moved to the front.
    Sort {
        by: Arc<Vec<String>>,
        descending: bool,
        first: Option<Arc<str>>,
    },
    /// Rows whose `column` lies in [start, stop] (both inclusive, as pandas' loc).
    Loc {
        column: Arc<str>,
        start: Option<Value>,
        stop: Option<Value>,
    },
    /// The inputs, concatenated in order.
    Concat,
    /// Piece `k` of `of` of a partition cut evenly by rows.
    Piece { k: usize, of: usize },
    /// Rows [start, stop) of each input (clamped to its rows), concatenated.
    Slices(Arc<Vec<(usize, usize)>>),
}

impl IndexOp {
    pub fn name(&self) -> &'static str {
        match self {
            IndexOp::Sample { .. } => "sample",
            IndexOp::Divisions { .. } => "divisions",
            IndexOp::RangeSplit { .. } => "range-split",
            IndexOp::Sort { .. } => "sort",
            IndexOp::Loc { .. } => "loc",
            IndexOp::Concat => "concat",
            IndexOp::Piece { .. } => "split",
            IndexOp::Slices(_) => "repartition",
        }
    }

    pub fn takes_list(&self) -> bool {
        matches!(self, IndexOp::Divisions { .. } | IndexOp::Concat)
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
            IndexOp::Sample { column } => Partition::Value(sample(frame(0)?, column)?),
            IndexOp::Divisions { n } => {
                let parts: Vec<&Value> = inputs
                    .iter()
                    .map(|p| p.as_value("divisions"))
                    .collect::<Result<_>>()?;
                Partition::Value(Value::list(divisions(&parts, *n)))
            }
            IndexOp::RangeSplit {
                column,
                n,
                divisions,
                descending,
            } => {
                let computed;
                let divs: &[Value] = match divisions {
                    Some(d) => d,
                    None => {
                        computed = inputs
                            .get(1)
                            .ok_or_else(|| Error::internal("range-split: no divisions input"))?
                            .as_value("range-split")?
                            .as_list()
                            .map(<[Value]>::to_vec)
                            .unwrap_or_default();
                        &computed
                    }
                };
                Partition::FrameParts(range_split(frame(0)?, column, *n, divs, *descending)?)
            }
            IndexOp::Sort {
                by,
                descending,
                first,
            } => Partition::Frame(sort(frame(0)?, by, *descending, first.as_deref())?),
            IndexOp::Loc { column, start, stop } => {
                Partition::Frame(loc(frame(0)?, column, start.as_ref(), stop.as_ref())?)
            }
            IndexOp::Concat => {
                let batches: Vec<RecordBatch> = (0..inputs.len())
                    .map(|i| frame(i).cloned())
                    .collect::<Result<_>>()?;
                let schema = batches
                    .first()
                    .map(RecordBatch::schema)
                    .ok_or_else(|| Error::internal("concat: no partitions"))?;
                Partition::Frame(kernels::concat(&schema, &batches)?)
            }
            IndexOp::Slices(ranges) => {
                let mut pieces = Vec::with_capacity(ranges.len());
                for (i, (a, z)) in ranges.iter().enumerate() {
                    let b = frame(i)?;
                    let a = (*a).min(b.num_rows());
                    pieces.push(b.slice(a, (*z).clamp(a, b.num_rows()) - a));
                }
                let schema = pieces
                    .first()
                    .map(RecordBatch::schema)
                    .ok_or_else(|| Error::internal("repartition: no partitions"))?;
                Partition::Frame(kernels::concat(&schema, &pieces)?)
            }
            IndexOp::Piece { k, of } => {
                let b = frame(0)?;
                let (a, z) = piece_bounds(b.num_rows(), *k, *of);
                Partition::Frame(b.slice(a, z - a))
            }
        })
    }
}

/// `columns` with the index column first (added when missing).
pub fn with_index_first(columns: Vec<String>, index: Option<&str>) -> Vec<String> {
    match index {
        Some(ix) => std::iter::once(ix.to_string())
            .chain(columns.into_iter().filter(|c| c != ix))
            .collect(),
        None => columns,
    }
}

/// Rows [a, z) of piece k of `of`, as np.linspace(0, rows, of + 1).astype(int) cuts.
fn piece_bounds(rows: usize, k: usize, of: usize) -> (usize, usize) {
    let of = of.max(1);
    let at = |i: usize| (rows * i.min(of)) / of;
    (at(k), at(k + 1).max(at(k)))
}

/// The non-null values of `column`, sorted.
fn sorted_values(batch: &RecordBatch, column: &str) -> Result<Vec<Value>> {
    let cols = key_columns(batch, &[column.to_string()], "set_index")?;
    let col = cols.first().ok_or_else(|| Error::internal("sample: no column"))?;
    let mut vals: Vec<Value> = (0..batch.num_rows())
        .map(|r| cell(col, r))
        .filter(|v| !v.is_null())
        .collect();
    vals.sort();
    Ok(vals)
}

/// `[rows, [values]]`: up to SAMPLES evenly spaced order statistics, min and max included.
fn sample(batch: &RecordBatch, column: &str) -> Result<Value> {
    let vals = sorted_values(batch, column)?;
    let m = vals.len();
    let picked: Vec<Value> = if m <= SAMPLES {
        vals
    } else {
        (0..SAMPLES)
            .filter_map(|i| vals.get(i * (m - 1) / (SAMPLES - 1)).cloned())
            .collect()
    };
    Ok(Value::list(vec![Value::Int(m as i64), Value::list(picked)]))
}

/// n + 1 divisions: the minimum, n - 1 weighted quantiles, the maximum. Empty when the
/// column has no values at all.
fn divisions(parts: &[&Value], n: usize) -> Vec<Value> {
    let mut weighted: Vec<(Value, f64)> = Vec::new();
    for p in parts {
        let list = p.as_list().unwrap_or(&[]);
        let rows = list.first().and_then(Value::as_f64).unwrap_or(0.0);
        let vals = list.get(1).and_then(Value::as_list).unwrap_or(&[]);
        if vals.is_empty() {
            continue;
        }
        let w = rows / vals.len() as f64;
        weighted.extend(vals.iter().map(|v| (v.clone(), w)));
    }
    weighted.sort_by(|a, b| a.0.cmp(&b.0));
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let (Some(lo), Some(hi)) = (weighted.first(), weighted.last()) else {
        return Vec::new();
    };
    let mut out = vec![lo.0.clone()];
    let mut cum = 0.0;
    let mut it = weighted.iter();
    let mut current = lo.0.clone();
    for q in 1..n.max(1) {
        let target = total * q as f64 / n as f64;
        while cum < target {
            match it.next() {
                Some((v, w)) => {
                    cum += w;
                    current = v.clone();
                }
                None => break,
            }
        }
        // Repeated quantiles (few distinct values) are dropped here and the maximum is
        // repeated at the end instead, so empty partitions come last, just before the
        // one that holds the maximum, and head() still finds rows in the first.
        if out.last() != Some(&current) {
            out.push(current.clone());
        }
    }
    while out.len() < n.max(1) {
        out.push(hi.0.clone());
    }
    out.push(hi.0.clone());
    out
}

/// The bucket of every row: partition j holds [d_j, d_j+1); values below the first or
/// above the last division go to the first or last; nulls last.
fn range_split(
    batch: &RecordBatch,
    column: &str,
    n: usize,
    divs: &[Value],
    descending: bool,
) -> Result<Vec<RecordBatch>> {
    let n = n.max(1);
    let cols = key_columns(batch, &[column.to_string()], "range-split")?;
    let col = cols
        .first()
        .ok_or_else(|| Error::internal("range-split: no column"))?;
    let interior: &[Value] = divs.get(1..n.min(divs.len())).unwrap_or(&[]);
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n];
    for r in 0..batch.num_rows() {
        let v = cell(col, r);
        let j = if v.is_null() {
            n - 1
        } else {
            let j = interior.partition_point(|d| *d <= v).min(n - 1);
            if descending {
                n - 1 - j
            } else {
                j
            }
        };
        if let Some(b) = rows.get_mut(j) {
            b.push(r as u32);
        }
    }
    rows.into_iter()
        .map(|idx| super::shuffle::take_rows(batch, idx, "range-split"))
        .collect()
}

/// Compares two values with nulls last, whatever the direction.
fn cmp_nulls_last(a: &Value, b: &Value, descending: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if descending => b.cmp(a),
        _ => a.cmp(b),
    }
}

/// A stable sort of the rows by `by`, then `first` (the index) moved to the front.
fn sort(batch: &RecordBatch, by: &[String], descending: bool, first: Option<&str>) -> Result<RecordBatch> {
    let cols = key_columns(batch, by, "sort")?;
    let keys: Vec<Vec<Value>> = (0..batch.num_rows())
        .map(|r| cols.iter().map(|c| cell(c, r)).collect())
        .collect();
    let mut idx: Vec<u32> = (0..batch.num_rows() as u32).collect();
    let key = |i: &u32| keys.get(*i as usize);
    idx.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => x
            .iter()
            .zip(y)
            .map(|(p, q)| cmp_nulls_last(p, q, descending))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal),
        _ => Ordering::Equal,
    });
    let sorted = super::shuffle::take_rows(batch, idx, "sort")?;
    match first {
        Some(f) => {
            let schema = batch.schema();
            let at = schema
                .index_of(f)
                .map_err(|_| Error::value(format!("set_index: no column '{f}'")))?;
            let order: Vec<usize> = std::iter::once(at)
                .chain((0..schema.fields().len()).filter(|i| *i != at))
                .collect();
            sorted
                .project(&order)
                .map_err(|e| Error::internal(format!("set_index: {e}")))
        }
        None => Ok(sorted),
    }
}

/// The rows whose `column` lies in [start, stop].
fn loc(
    batch: &RecordBatch,
    column: &str,
    start: Option<&Value>,
    stop: Option<&Value>,
) -> Result<RecordBatch> {
    let cols = key_columns(batch, &[column.to_string()], "loc")?;
    let col = cols.first().ok_or_else(|| Error::internal("loc: no column"))?;
    let keep: Vec<u32> = (0..batch.num_rows())
        .filter(|r| {
            let v = cell(col, *r);
            !v.is_null() && start.is_none_or(|s| *s <= v) && stop.is_none_or(|s| v <= *s)
        })
        .map(|r| r as u32)
        .collect();
    if keep.len() == batch.num_rows() {
        return Ok(batch.clone());
    }
    arrow_select::take::take_record_batch(batch, &UInt32Array::from(keep))
        .map_err(|e| Error::internal(format!("loc: {e}")))
}

/// A label from JSON, checked against the index dtype.
fn label(ctx: &NodeCtx, v: &Json, column: &str, t: &DataType, what: &str) -> Result<Value> {
    let ok = match t {
        DataType::Int64 | DataType::Float64 => v.is_number(),
        DataType::Utf8 => v.is_string(),
        DataType::Boolean => v.is_boolean(),
        _ => false,
    };
    if !ok {
        return Err(Error::type_error(format!(
            "{}: {what} {v} does not fit the index '{column}' of dtype {}",
            op_label(ctx),
            kernels::dtype_name(t)
        )));
    }
    Ok(Value::from_json(v))
}

/// The index of `m` if `name` names one of its columns (with its dtype).
fn column_type(ctx: &NodeCtx, m: &FrameMeta, name: &str) -> Result<DataType> {
    let t = m
        .schema
        .fields()
        .iter()
        .find(|f| f.name() == name)
        .map(|f| f.data_type().clone())
        .ok_or_else(|| {
            Error::value(format!(
                "{}: no column '{name}'; the columns are {}",
                op_label(ctx),
                m.columns().join(", ")
            ))
        })?;
    if !matches!(
        t,
        DataType::Int64 | DataType::Float64 | DataType::Utf8 | DataType::Boolean
    ) {
        return Err(Error::type_error(format!(
            "{}: cannot order by '{name}' of dtype {}",
            op_label(ctx),
            kernels::dtype_name(&t)
        )));
    }
    Ok(t)
}

/// What a range shuffle orders by and into how many partitions.
struct RangeBy {
    column: String,
    n: usize,
    divisions: Option<Arc<Vec<Value>>>,
    descending: bool,
}

/// The split and all-to-all layers of a range shuffle by `column` into `n` outputs; with
/// no divisions, the sample and divisions layers first. Returns the gathered tasks and
/// the divisions task.
fn range_shuffle(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    inputs: &[TaskId],
    by: RangeBy,
) -> Result<(Vec<TaskId>, Option<TaskId>)> {
    let RangeBy {
        column,
        n,
        divisions,
        descending,
    } = by;
    let column: Arc<str> = Arc::from(column.as_str());
    let div_task = if divisions.is_none() {
        let sample_label = format!("{label}-sample");
        let sample_name = ctx.layer_name(&sample_label);
        let layer = l.layer(&sample_name, &sample_label, LayerKind::ReductionPart, Some(0));
        let mut samples = Vec::with_capacity(inputs.len());
        for (i, dep) in inputs.iter().enumerate() {
            let op = IndexOp::Sample {
                column: Arc::clone(&column),
            };
            samples.push(l.task(
                Key::part(&sample_name, i),
                layer,
                vec![*dep],
                Op::Frame(FrameOp::Index(op)),
            )?);
        }
        let div_label = format!("{label}-divisions");
        let div_name = ctx.layer_name(&div_label);
        let layer = l.layer(&div_name, &div_label, LayerKind::ReductionAggregate, Some(1));
        let op = IndexOp::Divisions { n };
        Some(l.task(
            Key::part(&div_name, 0),
            layer,
            samples,
            Op::Frame(FrameOp::Index(op)),
        )?)
    } else {
        None
    };
    let split_label = format!("{label}-split");
    let split_name = ctx.layer_name(&split_label);
    let layer = l.layer(&split_name, &split_label, LayerKind::Blockwise, None);
    let mut splits = Vec::with_capacity(inputs.len());
    for (i, dep) in inputs.iter().enumerate() {
        let op = IndexOp::RangeSplit {
            column: Arc::clone(&column),
            n,
            divisions: divisions.clone(),
            descending,
        };
        let deps: Vec<TaskId> = std::iter::once(*dep).chain(div_task).collect();
        splits.push(l.task(
            Key::part(&split_name, i),
            layer,
            deps,
            Op::Frame(FrameOp::Index(op)),
        )?);
    }
    let out = super::shuffle::gather_layer(l, ctx, label, &splits, n)?;
    Ok((out, div_task))
}

/// `set_index(column, divisions?, npartitions?)`: a range shuffle on the column, then a
/// sort per partition; the column becomes the index (the first column).
pub fn lower_set_index(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let column = ctx
        .str_arg("column")?
        .ok_or_else(|| Error::plan(format!("{}: needs a column", op_label(ctx))))?
        .to_string();
    let t = column_type(ctx, &m, &column)?;
    let given: Option<Vec<Value>> = match ctx.json_arg("divisions") {
        None => None,
        Some(Json::Array(items)) => {
            let vals = items
                .iter()
                .map(|v| label(ctx, v, &column, &t, "the division"))
                .collect::<Result<Vec<_>>>()?;
            if vals.len() < 2 || vals.windows(2).any(|w| matches!(w, [x, y] if x > y)) {
                return Err(Error::value(format!(
                    "{}: divisions must be at least two values in ascending order",
                    op_label(ctx)
                )));
            }
            Some(vals)
        }
        Some(other) => {
            return Err(Error::plan(format!(
                "{}: divisions must be a list, not {other}",
                op_label(ctx)
            )))
        }
    };
    let n = match &given {
        Some(d) => d.len() - 1,
        None => ctx.usize_arg("npartitions")?.unwrap_or(a.npartitions()).max(1),
    };
    let by = RangeBy {
        column: column.clone(),
        n,
        divisions: given.clone().map(Arc::new),
        descending: false,
    };
    let (gathered, div_task) = range_shuffle(l, ctx, "set_index-shuffle", &a.tasks, by)?;
    let by = Arc::new(vec![column.clone()]);
    let first: Arc<str> = Arc::from(column.as_str());
    let tasks = gathered
        .iter()
        .map(|t| {
            let op = IndexOp::Sort {
                by: Arc::clone(&by),
                descending: false,
                first: Some(Arc::clone(&first)),
            };
            (vec![*t], Op::Frame(FrameOp::Index(op)))
        })
        .collect();
    let at = m.schema.index_of(&column).unwrap_or(0);
    let fields = std::iter::once(at)
        .chain((0..m.schema.fields().len()).filter(|i| *i != at))
        .filter_map(|i| m.schema.fields().get(i).cloned());
    let div_key = match div_task {
        Some(t) => Some(l.graph.task(t)?.key.clone()),
        None => None,
    };
    let meta = FrameMeta {
        schema: Arc::new(Schema::new(fields.collect::<Vec<_>>())),
        divisions: given,
        index: Some(column),
        divisions_key: div_key,
    };
    partitions(l, ctx, "set_index", LayerKind::Blockwise, meta, tasks)
}

/// A column name or a list of them.
fn by_arg(ctx: &NodeCtx) -> Result<Vec<String>> {
    let bad = || {
        Error::plan(format!(
            "{}: 'by' must be a column name or a list of them",
            op_label(ctx)
        ))
    };
    match ctx.json_arg("by") {
        Some(Json::String(s)) => Ok(vec![s.clone()]),
        Some(Json::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

/// `sort_values(by, ascending)`: a range shuffle on the first column, then a stable sort
/// per partition; the partitions in order are globally sorted (nulls last).
pub fn lower_sort_values(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let by = by_arg(ctx)?;
    for b in &by {
        column_type(ctx, &m, b)?;
    }
    let descending = !ctx.bool_arg("ascending", true)?;
    let first = by.first().cloned().unwrap_or_default();
    let n = a.npartitions().max(1);
    let range = RangeBy {
        column: first,
        n,
        divisions: None,
        descending,
    };
    let (gathered, _) = range_shuffle(l, ctx, "sort_values-shuffle", &a.tasks, range)?;
    let by = Arc::new(by);
    let tasks = gathered
        .iter()
        .map(|t| {
            let op = IndexOp::Sort {
                by: Arc::clone(&by),
                descending,
                first: None,
            };
            (vec![*t], Op::Frame(FrameOp::Index(op)))
        })
        .collect();
    let meta = FrameMeta {
        schema: Arc::clone(&m.schema),
        divisions: None,
        index: m.index.clone(),
        divisions_key: None,
    };
    partitions(l, ctx, "sort_values", LayerKind::Blockwise, meta, tasks)
}

/// `loc[start:stop]` or `loc[label]` on the index: with known divisions only the
/// partitions that can hold the labels are read.
pub fn lower_loc(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let column = m.index.clone().ok_or_else(|| {
        Error::value(format!(
            "{}: loc selects by the index, and this frame has none (a RangeIndex); call set_index first",
            op_label(ctx)
        ))
    })?;
    let t = column_type(ctx, &m, &column)?;
    let read = |name: &str| -> Result<Option<Value>> {
        ctx.json_arg(name)
            .map(|v| label(ctx, v, &column, &t, name))
            .transpose()
    };
    let (start, stop) = match read("label")? {
        Some(v) => (Some(v.clone()), Some(v)),
        None => (read("start")?, read("stop")?),
    };
    let n = a.npartitions();
    // Partition i holds [d_i, d_i+1); the first and the last also hold what lies beyond.
    let (keep, divisions): (Vec<usize>, Option<Vec<Value>>) = match &m.divisions {
        Some(d) if d.len() == n + 1 => {
            let keep: Vec<usize> = (0..n)
                .filter(|&i| {
                    let lo = d.get(i).filter(|_| i > 0);
                    let hi = d.get(i + 1).filter(|_| i + 1 < n);
                    let below = matches!((&stop, lo), (Some(s), Some(lo)) if s < lo);
                    let above = matches!((&start, hi), (Some(s), Some(hi)) if s >= hi);
                    !below && !above
                })
                .collect();
            let divs = match (keep.first(), keep.last()) {
                (Some(&f), Some(&z)) => {
                    let mut divs: Vec<Value> = d.get(f..=z + 1).map(<[Value]>::to_vec).unwrap_or_default();
                    if let (Some(s), Some(x)) = (&start, divs.first_mut()) {
                        if *s > *x {
                            *x = s.clone();
                        }
                    }
                    if let (Some(s), Some(x)) = (&stop, divs.last_mut()) {
                        if *s < *x {
                            *x = s.clone();
                        }
                    }
                    Some(divs)
                }
                _ => None,
            };
            (keep, divs)
        }
        _ => ((0..n).collect(), None),
    };
    // A slice that misses every partition still reads the first, for the schema.
    let keep = if keep.is_empty() { vec![0] } else { keep };
    let column: Arc<str> = Arc::from(column.as_str());
    let tasks = keep
        .iter()
        .filter_map(|i| a.tasks.get(*i))
        .map(|t| {
            let op = IndexOp::Loc {
                column: Arc::clone(&column),
                start: start.clone(),
                stop: stop.clone(),
            };
            (vec![*t], Op::Frame(FrameOp::Index(op)))
        })
        .collect();
    let meta = FrameMeta {
        schema: Arc::clone(&m.schema),
        divisions,
        index: m.index.clone(),
        divisions_key: None,
    };
    partitions(l, ctx, "loc", LayerKind::Blockwise, meta, tasks)
}

/// The int divisions of a RangeIndex frame (no index column), when known.
fn range_divisions(m: &FrameMeta, parts: usize) -> Option<Vec<i64>> {
    if m.index.is_some() {
        return None;
    }
    let d: Vec<i64> = m
        .divisions
        .as_ref()?
        .iter()
        .map(Value::as_i64)
        .collect::<Option<_>>()?;
    (d.len() == parts + 1).then_some(d)
}

/// Dask's divisions for more partitions: np.interp of the distinct divisions at n + 1
/// evenly spaced points (over xp = linspace(0, len, len), as Dask writes it), truncated
/// to ints, the ends kept, duplicates dropped.
fn interpolate(d: &[i64], n: usize) -> Vec<i64> {
    let mut fp: Vec<i64> = Vec::with_capacity(d.len());
    for v in d {
        if !fp.contains(v) {
            fp.push(*v);
        }
    }
    let (Some(&first), Some(&last)) = (d.first(), d.last()) else {
        return Vec::new();
    };
    let len = fp.len();
    if len < 2 {
        return vec![first, last];
    }
    // Computed as NumPy does (linspace points, then slope * (x - x0) + y0), so the
    // truncation lands on the same ints.
    let step = len as f64 / (len - 1) as f64;
    let xp = |k: usize| if k + 1 == len { len as f64 } else { k as f64 * step };
    let at = |x: f64| -> f64 {
        let k = (0..len - 1).rev().find(|k| xp(*k) <= x).unwrap_or(0);
        let (Some(a), Some(b)) = (fp.get(k), fp.get(k + 1)) else {
            return last as f64;
        };
        let slope = (*b - *a) as f64 / (xp(k + 1) - xp(k));
        slope * (x - xp(k)) + *a as f64
    };
    let xstep = len as f64 / n as f64;
    let mut out: Vec<i64> = (0..=n)
        .map(|j| at(if j == n { len as f64 } else { j as f64 * xstep }).trunc() as i64)
        .collect();
    if let Some(x) = out.first_mut() {
        *x = first;
    }
    out.pop();
    let mut uniq: Vec<i64> = Vec::with_capacity(out.len() + 1);
    for v in out {
        if !uniq.contains(&v) {
            uniq.push(v);
        }
    }
    uniq.push(last);
    uniq
}

/// `repartition(npartitions)` as Dask: fewer concatenates neighbours (the divisions a
/// subset of the old), more cuts each partition evenly by rows (divisions unknown).
pub fn lower_repartition(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let n = ctx
        .usize_arg("npartitions")?
        .ok_or_else(|| Error::plan(format!("{}: needs npartitions", op_label(ctx))))?
        .max(1);
    let old = a.npartitions();
    let mut tasks: Vec<(Vec<TaskId>, Op)> = Vec::new();
    let divisions = if n <= old {
        // Dask's boundaries: int(k * old / n) for k in 0..=n.
        let bounds: Vec<usize> = (0..=n).map(|k| k * old / n).collect();
        for w in bounds.windows(2) {
            if let [s, e] = w {
                let deps = a.tasks.get(*s..*e).map(<[TaskId]>::to_vec).unwrap_or_default();
                tasks.push((deps, Op::Frame(FrameOp::Index(IndexOp::Concat))));
            }
        }
        m.divisions.as_ref().and_then(|d| {
            bounds
                .iter()
                .map(|b| d.get(*b).cloned())
                .collect::<Option<Vec<_>>>()
        })
    } else if let Some(d) = range_divisions(&m, old) {
        // A RangeIndex: Dask's interpolated divisions, rows cut by position.
        let new = interpolate(&d, n);
        let count = new.len().saturating_sub(1);
        let end =
            |v: &[i64], i: usize, last: usize| v.get(i + 1).map(|x| if i + 1 == last { x + 1 } else { *x });
        for j in 0..count {
            let (Some(lo), Some(hi)) = (new.get(j).copied(), end(&new, j, count)) else {
                continue;
            };
            let mut deps = Vec::new();
            let mut ranges = Vec::new();
            for (i, t) in a.tasks.iter().enumerate() {
                let (Some(s0), Some(e0)) = (d.get(i).copied(), end(&d, i, old)) else {
                    continue;
                };
                let (s, e) = (lo.max(s0), hi.min(e0));
                if s < e {
                    deps.push(*t);
                    ranges.push(((s - s0) as usize, (e - s0) as usize));
                }
            }
            if deps.is_empty() {
                deps.extend(a.tasks.first());
                ranges.push((0, 0));
            }
            tasks.push((deps, Op::Frame(FrameOp::Index(IndexOp::Slices(Arc::new(ranges))))));
        }
        Some(new.into_iter().map(Value::Int).collect())
    } else {
        // Dask's split counts: old partitions each cut in n / old, the last also takes the rest.
        for (i, t) in a.tasks.iter().enumerate() {
            let of = n / old + if i + 1 == old { n % old } else { 0 };
            for k in 0..of {
                tasks.push((vec![*t], Op::Frame(FrameOp::Index(IndexOp::Piece { k, of }))));
            }
        }
        None
    };
    let meta = FrameMeta {
        schema: Arc::clone(&m.schema),
        divisions,
        index: m.index.clone(),
        divisions_key: None,
    };
    partitions(l, ctx, "repartition", LayerKind::Blockwise, meta, tasks)
}
