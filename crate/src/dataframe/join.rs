//! `merge` of two dataframes, as `dd.merge`: a broadcast join when one side has a single
//! partition (each partition of the other side joins with it), otherwise a hash join
//! (both sides hash-shuffled on their keys into n = max(npartitions) partitions, then
//! joined partition by partition). The kernel is a hash join on Arrow arrays: a map from
//! key tuples to row numbers on one side, then `take` on both sides with nullable
//! indices (a null index gives a null, which fills the missing side of left, right and
//! outer joins).

use crate::error::{Error, Result};
use crate::graph::LayerKind;
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;

use super::{kernels, FrameMeta, FrameOp};

/// Which rows a merge keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Inner,
    Left,
    Right,
    Outer,
}

impl How {
    fn parse(s: &str) -> Option<How> {
        Some(match s {
            "inner" => How::Inner,
            "left" => How::Left,
            "right" => How::Right,
            "outer" => How::Outer,
            _ => return None,
        })
    }
}

/// Where an output column comes from: a left column, a right column, or a key both sides
/// share by name (the left value where the left row exists, else the right one).
#[derive(Debug, Clone, Copy)]
enum Source {
    Left(usize),
    Right(usize),
    Either(usize, usize),
}

/// Everything a partition-wise join needs, fixed while the graph is built.
#[derive(Debug)]
pub struct JoinSpec {
    how: How,
    left_on: Vec<String>,
    right_on: Vec<String>,
    columns: Vec<Source>,
    schema: SchemaRef,
}

/// The columns `keys` of `batch`, naming the columns that exist when one is missing.
pub fn key_columns(batch: &RecordBatch, keys: &[String], op: &str) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .map(|k| {
            batch.column_by_name(k).cloned().ok_or_else(|| {
                let have: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
                Error::value(format!(
                    "{op}: no column '{k}'; the columns are {}",
                    have.join(", ")
                ))
            })
        })
        .collect()
}

use super::group_ids::KeyIndex;
use super::shuffle::{KeyView, PassThrough};

type Table = HashMap<u64, Vec<u32>, std::hash::BuildHasherDefault<PassThrough>>;

/// One side's key columns: typed views and a hash per row.
struct Keys<'a> {
    views: Vec<KeyView<'a>>,
    hashes: Vec<u64>,
}

impl<'a> Keys<'a> {
    fn new(cols: &'a [ArrayRef], rows: usize) -> Keys<'a> {
        let views: Vec<KeyView> = cols.iter().map(KeyView::new).collect();
        let hashes = (0..rows)
            .map(|r| {
                views.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, v| {
                    super::shuffle::mix(h.rotate_left(17) ^ v.hash(r))
                })
            })
            .collect();
        Keys { views, hashes }
    }

    /// Row numbers by key hash, in row order.
    fn table(&self) -> Table {
        let mut table = Table::default();
        for (i, h) in self.hashes.iter().enumerate() {
            table.entry(*h).or_default().push(i as u32);
        }
        table
    }

    /// The rows of `build` (through its table) whose keys equal row `i` of these keys.
    fn matches<'t>(&'t self, i: usize, build: &'t Keys, table: &'t Table) -> impl Iterator<Item = u32> + 't {
        let candidates = self
            .hashes
            .get(i)
            .and_then(|h| table.get(h))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        candidates.iter().copied().filter(move |j| {
            self.views
                .iter()
                .zip(&build.views)
                .all(|(a, b)| a.same(i, b, *j as usize))
        })
    }
}

/// The row number that stands for "no row" (the missing side of left, right and outer
/// joins).
const NO_ROW: u32 = u32::MAX;

/// The (left row, right row) pairs of a join, by hashing and comparing key tuples (any
/// number of key columns of any key type).
fn general_pairs(
    lcols: &[ArrayRef],
    rcols: &[ArrayRef],
    how: How,
    left_rows: usize,
    right_rows: usize,
) -> (Vec<u32>, Vec<u32>) {
    let lk = Keys::new(lcols, left_rows);
    let rk = Keys::new(rcols, right_rows);
    let mut li: Vec<u32> = Vec::new();
    let mut ri: Vec<u32> = Vec::new();
    if how == How::Right {
        let table = lk.table();
        for j in 0..right_rows {
            let mut any = false;
            for i in rk.matches(j, &lk, &table) {
                any = true;
                li.push(i);
                ri.push(j as u32);
            }
            if !any {
                li.push(NO_ROW);
                ri.push(j as u32);
            }
        }
    } else {
        let table = rk.table();
        let mut matched = vec![false; right_rows];
        for i in 0..left_rows {
            let mut any = false;
            for j in lk.matches(i, &rk, &table) {
                any = true;
                li.push(i as u32);
                ri.push(j);
                if let Some(m) = matched.get_mut(j as usize) {
                    *m = true;
                }
            }
            if !any && how != How::Inner {
                li.push(i as u32);
                ri.push(NO_ROW);
            }
        }
        if how == How::Outer {
            for (j, m) in matched.iter().enumerate() {
                if !m {
                    li.push(NO_ROW);
                    ri.push(j as u32);
                }
            }
        }
    }
    (li, ri)
}

/// The (left row, right row) pairs of a join; `left` is `None` when the left rows are
/// every left row once, in order (a many-to-one join that keeps them all), so their
/// columns need no copy.
#[derive(Debug, PartialEq, Eq)]
struct Pairs {
    left: Option<Vec<u32>>,
    right: Vec<u32>,
}

impl Pairs {
    #[cfg(test)]
    fn into_vecs(self) -> (Vec<u32>, Vec<u32>) {
        let left = self
            .left
            .unwrap_or_else(|| (0..self.right.len() as u32).collect());
        (left, self.right)
    }
}

/// The pairs of `general_pairs` for one int64 or string key column, through a
/// `KeyIndex` of the build side; `None` when the key type has no fast path.
fn single_key_pairs(
    lcols: &[ArrayRef],
    rcols: &[ArrayRef],
    how: How,
    left_rows: usize,
    right_rows: usize,
) -> Option<Pairs> {
    let ([lc], [rc]) = (lcols, rcols) else {
        return None;
    };
    let mut li: Vec<u32> = Vec::with_capacity(left_rows.max(right_rows));
    let mut ri: Vec<u32> = Vec::with_capacity(left_rows.max(right_rows));
    if how == How::Right {
        let index = KeyIndex::build(lc)?;
        for (j, id) in index.probe_ids(rc)?.into_iter().enumerate() {
            let matches = index.rows_of(id);
            if matches.is_empty() {
                li.push(NO_ROW);
                ri.push(j as u32);
            }
            for i in matches {
                li.push(*i);
                ri.push(j as u32);
            }
        }
        return Some(Pairs {
            left: Some(li),
            right: ri,
        });
    }
    let index = KeyIndex::build(rc)?;
    if let (Some(row_of), How::Inner | How::Left) = (index.unique_rows(), how) {
        // Each left row meets at most one right row: the right row of each, in order.
        let right = index.probe_map(lc, |id| row_of.get(id as usize).copied().unwrap_or(NO_ROW))?;
        if how == How::Left || !right.contains(&NO_ROW) {
            return Some(Pairs { left: None, right });
        }
        let (left, right) = (0u32..).zip(right).filter(|(_, j)| *j != NO_ROW).unzip();
        return Some(Pairs {
            left: Some(left),
            right,
        });
    }
    let mut matched = vec![false; if how == How::Outer { right_rows } else { 0 }];
    for (i, id) in index.probe_ids(lc)?.into_iter().enumerate() {
        let matches = index.rows_of(id);
        if matches.is_empty() && how != How::Inner {
            li.push(i as u32);
            ri.push(NO_ROW);
        }
        for j in matches {
            li.push(i as u32);
            ri.push(*j);
            if let Some(m) = matched.get_mut(*j as usize) {
                *m = true;
            }
        }
    }
    for (j, m) in matched.iter().enumerate() {
        if !m {
            li.push(NO_ROW);
            ri.push(j as u32);
        }
    }
    Some(Pairs {
        left: Some(li),
        right: ri,
    })
}

/// Row numbers for `take` (`NO_ROW` gives a null), without a validity buffer when no
/// row is missing.
fn indices(rows: Vec<u32>) -> UInt32Array {
    if rows.contains(&NO_ROW) {
        UInt32Array::from(
            rows.into_iter()
                .map(|r| (r != NO_ROW).then_some(r))
                .collect::<Vec<_>>(),
        )
    } else {
        UInt32Array::from(rows)
    }
}

/// Whether `rows` is every row of a side of `n` rows, once each and in order: then that
/// side's columns are the output as they are, with nothing to copy.
fn every_row_in_order(rows: &[u32], n: usize) -> bool {
    rows.len() == n && rows.iter().zip(0u32..).all(|(r, i)| *r == i)
}

/// Joins two partitions. Rows come in the order of the left side (of the right side for
/// `right`); an outer join adds the unmatched right rows at the end.
pub fn join(left: &RecordBatch, right: &RecordBatch, spec: &JoinSpec) -> Result<RecordBatch> {
    let (lcols, rcols) = (
        key_columns(left, &spec.left_on, "merge")?,
        key_columns(right, &spec.right_on, "merge")?,
    );
    let pairs = match single_key_pairs(&lcols, &rcols, spec.how, left.num_rows(), right.num_rows()) {
        Some(pairs) => pairs,
        None => {
            let (left, right) = general_pairs(&lcols, &rcols, spec.how, left.num_rows(), right.num_rows());
            Pairs {
                left: Some(left),
                right,
            }
        }
    };
    let right_whole = every_row_in_order(&pairs.right, right.num_rows());
    // Inner and left joins always have the left row, so a shared key is the left value.
    let both = if matches!(spec.how, How::Inner | How::Left) {
        None
    } else {
        let nl = left.num_rows() as u32;
        let left_row = |k: usize| match &pairs.left {
            Some(li) => li.get(k).copied().unwrap_or(NO_ROW),
            None => k as u32,
        };
        let both: Vec<u32> = (0..pairs.right.len())
            .zip(&pairs.right)
            .map(|(k, b)| match (left_row(k), *b) {
                (NO_ROW, NO_ROW) => NO_ROW,
                (NO_ROW, b) => b + nl,
                (a, _) => a,
            })
            .collect();
        Some(indices(both))
    };
    // `None` when the left columns are the output as they are.
    let li = pairs
        .left
        .filter(|li| !every_row_in_order(li, left.num_rows()))
        .map(indices);
    let ri = indices(pairs.right);
    let ak = |e: arrow_schema::ArrowError| Error::internal(format!("merge: {e}"));
    let column = |b: &RecordBatch, i: usize| -> Result<ArrayRef> {
        b.columns()
            .get(i)
            .cloned()
            .ok_or_else(|| Error::internal(format!("merge: no column {i}")))
    };
    let from_left = |i: usize| -> Result<ArrayRef> {
        let c = column(left, i)?;
        match &li {
            None => Ok(c),
            Some(li) => arrow_select::take::take(&c, li, None).map_err(ak),
        }
    };
    let mut out: Vec<ArrayRef> = Vec::with_capacity(spec.columns.len());
    for src in &spec.columns {
        out.push(match (*src, &both) {
            (Source::Left(i), _) | (Source::Either(i, _), None) => from_left(i)?,
            (Source::Right(i), _) => {
                let c = column(right, i)?;
                if right_whole {
                    c
                } else {
                    arrow_select::take::take(&c, &ri, None).map_err(ak)?
                }
            }
            (Source::Either(a, b), Some(both)) => {
                let (a, b) = (column(left, a)?, column(right, b)?);
                let joined = arrow_select::concat::concat(&[a.as_ref(), b.as_ref()]).map_err(ak)?;
                arrow_select::take::take(&joined, both, None).map_err(ak)?
            }
        });
    }
    RecordBatch::try_new(Arc::clone(&spec.schema), out).map_err(ak)
}

/// A string or a list of strings (one or more column names).
fn names(ctx: &NodeCtx, arg: &str) -> Result<Option<Vec<String>>> {
    let bad = || {
        Error::plan(format!(
            "{}: '{arg}' must be a column name or a list of column names",
            super::op_label(ctx)
        ))
    };
    match ctx.json_arg(arg) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Json::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(bad()),
    }
}

/// The field named `name` in `m`, or an error listing the columns that exist.
fn field<'a>(ctx: &NodeCtx, m: &'a FrameMeta, name: &str, side: &str) -> Result<(usize, &'a Field)> {
    m.schema
        .fields()
        .iter()
        .enumerate()
        .find(|(_, f)| f.name() == name)
        .map(|(i, f)| (i, f.as_ref()))
        .ok_or_else(|| {
            Error::value(format!(
                "{}: no column '{name}' on the {side}; the columns are {}",
                super::op_label(ctx),
                m.columns().join(", ")
            ))
        })
}

/// `merge(left, right, on | left_on + right_on, how, suffixes)`.
pub fn lower_merge(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let label = super::op_label(ctx);
    let (a, b) = (ctx.input(0)?.clone(), ctx.input(1)?.clone());
    let (lm, rm) = (l.frame_meta(&a)?, l.frame_meta(&b)?);
    let how_name = ctx.str_arg("how")?.unwrap_or("inner");
    let how = How::parse(how_name).ok_or_else(|| {
        Error::plan(format!(
            "{label}: how must be inner, left, right or outer, not '{how_name}'"
        ))
    })?;
    let suffixes: Vec<String> = match ctx.json_arg("suffixes") {
        None => vec!["_x".into(), "_y".into()],
        Some(Json::Array(s)) if s.len() == 2 && s.iter().all(Json::is_string) => {
            s.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
        }
        Some(other) => {
            return Err(Error::plan(format!(
                "{label}: suffixes must be a list of two strings, not {other}"
            )))
        }
    };
    let (sx, sy) = (
        suffixes.first().cloned().unwrap_or_default(),
        suffixes.get(1).cloned().unwrap_or_default(),
    );
    let (left_on, right_on) = match (names(ctx, "on")?, names(ctx, "left_on")?, names(ctx, "right_on")?) {
        (Some(on), None, None) => (on.clone(), on),
        (None, Some(lo), Some(ro)) if lo.len() == ro.len() => (lo, ro),
        (None, Some(lo), Some(ro)) => {
            return Err(Error::plan(format!(
                "{label}: left_on has {} keys but right_on has {}",
                lo.len(),
                ro.len()
            )))
        }
        (None, None, None) => {
            // pandas joins on the columns both sides have.
            let rc = rm.columns();
            let common: Vec<String> = lm.columns().into_iter().filter(|c| rc.contains(c)).collect();
            if common.is_empty() {
                return Err(Error::plan(format!(
                    "{label}: no key given and no common columns (left: {}; right: {})",
                    lm.columns().join(", "),
                    rc.join(", ")
                )));
            }
            (common.clone(), common)
        }
        _ => {
            return Err(Error::plan(format!(
                "{label}: give either on, or both left_on and right_on"
            )))
        }
    };
    for (lk, rk) in left_on.iter().zip(&right_on) {
        let (_, lf) = field(ctx, &lm, lk, "left")?;
        let (_, rf) = field(ctx, &rm, rk, "right")?;
        if lf.data_type() != rf.data_type() {
            let (lt, rt) = (
                kernels::dtype_name(lf.data_type()),
                kernels::dtype_name(rf.data_type()),
            );
            let numeric = [&lt, &rt].iter().all(|t| *t == "int64" || *t == "float64");
            return Err(Error::type_error(format!(
                "{label}: the left key '{lk}' is {lt} but the right key '{rk}' is {rt}; {}",
                if numeric {
                    "int64 and float64 keys are not promoted (pandas would); cast one with astype"
                } else {
                    "keys must have the same dtype"
                }
            )));
        }
        if !matches!(
            lf.data_type(),
            DataType::Int64 | DataType::Float64 | DataType::Boolean | DataType::Utf8
        ) {
            return Err(Error::type_error(format!(
                "{label}: cannot join on '{lk}' of dtype {}",
                kernels::dtype_name(lf.data_type())
            )));
        }
    }
    // Keys with the same name on both sides appear once; other same-named columns get
    // the suffixes, as pandas names them.
    let shared: Vec<&String> = left_on
        .iter()
        .zip(&right_on)
        .filter(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect();
    let (lcols, rcols) = (lm.columns(), rm.columns());
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<Source> = Vec::new();
    for (i, f) in lm.schema.fields().iter().enumerate() {
        let name = f.name();
        if shared.contains(&name) {
            let (j, _) = field(ctx, &rm, name, "right")?;
            columns.push(Source::Either(i, j));
            fields.push(Field::new(name, f.data_type().clone(), true));
        } else {
            let out = if rcols.contains(name) {
                format!("{name}{sx}")
            } else {
                name.clone()
            };
            columns.push(Source::Left(i));
            fields.push(Field::new(out, f.data_type().clone(), true));
        }
    }
    for (j, f) in rm.schema.fields().iter().enumerate() {
        let name = f.name();
        if shared.contains(&name) {
            continue;
        }
        let out = if lcols.contains(name) {
            format!("{name}{sy}")
        } else {
            name.clone()
        };
        columns.push(Source::Right(j));
        fields.push(Field::new(out, f.data_type().clone(), true));
    }
    let mut seen: Vec<&str> = Vec::new();
    for f in &fields {
        if seen.contains(&f.name().as_str()) {
            return Err(Error::value(format!(
                "{label}: the result would have two columns named '{}'; choose other suffixes",
                f.name()
            )));
        }
        seen.push(f.name());
    }
    let schema = Arc::new(Schema::new(fields));
    let spec = Arc::new(JoinSpec {
        how,
        left_on: left_on.clone(),
        right_on: right_on.clone(),
        columns,
        schema: Arc::clone(&schema),
    });
    let meta = FrameMeta {
        schema,
        divisions: None,
        index: None,
        divisions_key: None,
    };
    let op = || Op::Frame(FrameOp::Join(Arc::clone(&spec)));
    let (nl, nr) = (a.npartitions(), b.npartitions());
    // A single-partition side is broadcast to every partition of the other side, unless
    // that would repeat its unmatched rows (outer; right with a single right side...).
    let tasks: Vec<(Vec<crate::graph::TaskId>, Op)> = if nl == 1 && nr == 1 {
        vec![(
            vec![a.tasks.first().copied(), b.tasks.first().copied()]
                .into_iter()
                .flatten()
                .collect(),
            op(),
        )]
    } else if nr == 1 && matches!(how, How::Inner | How::Left) {
        let r = b.tasks.first().copied();
        a.tasks
            .iter()
            .map(|t| (std::iter::once(*t).chain(r).collect(), op()))
            .collect()
    } else if nl == 1 && matches!(how, How::Inner | How::Right) {
        let lt = a.tasks.first().copied();
        b.tasks
            .iter()
            .map(|t| (lt.into_iter().chain(std::iter::once(*t)).collect(), op()))
            .collect()
    } else {
        let n = nl.max(nr);
        let ls = super::shuffle::hash_shuffle(l, ctx, "merge-shuffle-left", &a.tasks, &left_on, n)?;
        let rs = super::shuffle::hash_shuffle(l, ctx, "merge-shuffle-right", &b.tasks, &right_on, n)?;
        ls.into_iter().zip(rs).map(|(x, y)| (vec![x, y], op())).collect()
    };
    super::partitions(l, ctx, "merge", LayerKind::Blockwise, meta, tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    #[test]
    fn single_key_pairs_equal_the_general_ones() {
        let ints = |v: Vec<Option<i64>>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
        let strs = |v: Vec<Option<&str>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let sides: Vec<(ArrayRef, ArrayRef)> = vec![
            (
                ints(vec![Some(1), None, Some(-2), Some(1), Some(7), None]),
                ints(vec![Some(1), Some(1), None, Some(-2), Some(9)]),
            ),
            (ints(vec![]), ints(vec![Some(1)])),
            (ints(vec![Some(3)]), ints(vec![])),
            (
                ints(vec![Some(i64::MIN), Some(i64::MAX), Some(0)]),
                ints(vec![Some(i64::MAX), Some(i64::MIN), Some(i64::MAX)]),
            ),
            // Unique right keys (the many-to-one path) with missing and unmatched left keys.
            (
                ints(vec![Some(1), None, Some(5), Some(8), Some(1)]),
                ints(vec![Some(5), Some(1), Some(2)]),
            ),
            (
                ints((0..40).map(Some).collect()),
                ints((20..60).rev().map(Some).collect()),
            ),
            (
                strs(vec![Some("a"), None, Some(""), Some("b"), Some("a")]),
                strs(vec![Some(""), Some("a"), None, Some("c"), Some("a")]),
            ),
        ];
        for (l, r) in sides {
            for how in [How::Inner, How::Left, How::Right, How::Outer] {
                let (lc, rc) = (vec![Arc::clone(&l)], vec![Arc::clone(&r)]);
                let fast = single_key_pairs(&lc, &rc, how, l.len(), r.len())
                    .unwrap()
                    .into_vecs();
                let general = general_pairs(&lc, &rc, how, l.len(), r.len());
                assert_eq!(fast, general, "{how:?} of {l:?} and {r:?}");
            }
        }
    }
}
