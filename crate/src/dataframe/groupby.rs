//! `groupby(keys).agg(...)` as Dask builds it: a chunk step per partition (partial
//! aggregates per group), combine steps that regroup concatenated partials (`split_every`
//! at a time), and a finalize step that turns partials into answers. With `split_out > 1`
//! the partials are hash-shuffled on the keys so that each output partition finalizes its
//! own groups.
//!
//! Partials are record batches: the key columns, `size`, and per aggregated column the
//! statistics its aggregations need (non-null count, sum, M2 for var and std as Chan et
//! al. merge them, and the min, max, first and last values). Nulls and NaN are skipped,
//! as pandas skips NA; rows with a null key are dropped, as `groupby(dropna=True)`.

use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef, SortOptions};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::group_ids::{self, GroupIds, MISSING};
use super::shuffle::{KeyView, PassThrough};

/// An aggregation by name, as pandas spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Sum,
    Mean,
    Count,
    Size,
    Min,
    Max,
    Std,
    Var,
    First,
    Last,
}

impl Agg {
    pub const ALL: [Agg; 10] = [
        Agg::Sum,
        Agg::Mean,
        Agg::Count,
        Agg::Size,
        Agg::Min,
        Agg::Max,
        Agg::Std,
        Agg::Var,
        Agg::First,
        Agg::Last,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Agg::Sum => "sum",
            Agg::Mean => "mean",
            Agg::Count => "count",
            Agg::Size => "size",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Std => "std",
            Agg::Var => "var",
            Agg::First => "first",
            Agg::Last => "last",
        }
    }

    pub fn parse(s: &str) -> Result<Agg> {
        Agg::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Agg::ALL.iter().map(|a| a.name()).collect();
            Error::value(format!(
                "groupby: unknown aggregation '{s}'; the aggregations are {}",
                names.join(", ")
            ))
        })
    }

    fn numeric_only(self) -> bool {
        matches!(self, Agg::Sum | Agg::Mean | Agg::Std | Agg::Var)
    }
}

/// One output column: `column` aggregated by `agg`, named `name`.
#[derive(Debug, Clone)]
pub struct AggColumn {
    pub column: String,
    pub agg: Agg,
    pub name: String,
}

/// What a groupby computes, checked against the input schema while the graph is built.
#[derive(Debug)]
pub struct GroupSpec {
    pub keys: Vec<String>,
    pub aggs: Vec<AggColumn>,
    /// Per aggregated column (in first-use order): its dtype and the statistics needed.
    stats: Vec<ColumnStats>,
    /// The schema of partials.
    pub partial_schema: SchemaRef,
    /// The schema of the result: keys, then the aggregated columns.
    pub output_schema: SchemaRef,
    pub ddof: f64,
}

#[derive(Debug, Clone)]
struct ColumnStats {
    column: String,
    dtype: DataType,
    sum: bool,
    m2: bool,
    min: bool,
    max: bool,
    first: bool,
    last: bool,
}

const SEP: char = '\u{1f}';

fn stat_name(column: &str, stat: &str) -> String {
    format!("{column}{SEP}{stat}")
}

fn is_numeric(t: &DataType) -> bool {
    matches!(t, DataType::Int64 | DataType::Float64 | DataType::Boolean)
}

impl GroupSpec {
    /// Checks keys and aggregations against `schema`; errors name the column and dtype.
    pub fn new(schema: &Schema, keys: Vec<String>, aggs: Vec<AggColumn>, ddof: f64) -> Result<GroupSpec> {
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let field = |c: &str| {
            schema.field_with_name(c).map_err(|_| {
                Error::value(format!(
                    "groupby: no column '{c}'; the columns are {}",
                    names.join(", ")
                ))
            })
        };
        if keys.is_empty() {
            return Err(Error::value("groupby: needs at least one key column"));
        }
        let mut key_fields = Vec::new();
        for k in &keys {
            let f = field(k)?;
            if !matches!(
                f.data_type(),
                DataType::Int64 | DataType::Float64 | DataType::Boolean | DataType::Utf8
            ) {
                return Err(Error::type_error(format!(
                    "groupby: cannot group by '{k}' of dtype {}",
                    super::kernels::dtype_name(f.data_type())
                )));
            }
            key_fields.push(Arc::new(f.clone()));
        }
        let mut stats: Vec<ColumnStats> = Vec::new();
        let mut out_fields = key_fields.clone();
        for a in &aggs {
            if a.agg == Agg::Size {
                out_fields.push(Arc::new(Field::new(&a.name, DataType::Int64, false)));
                continue;
            }
            let f = field(&a.column)?;
            let t = f.data_type().clone();
            if a.agg.numeric_only() && !is_numeric(&t) {
                return Err(Error::type_error(format!(
                    "groupby: cannot take the {} of column '{}' of dtype {}",
                    a.agg.name(),
                    a.column,
                    super::kernels::dtype_name(&t)
                )));
            }
            let i = match stats.iter().position(|s| s.column == a.column) {
                Some(i) => i,
                None => {
                    stats.push(ColumnStats {
                        column: a.column.clone(),
                        dtype: t.clone(),
                        sum: false,
                        m2: false,
                        min: false,
                        max: false,
                        first: false,
                        last: false,
                    });
                    stats.len() - 1
                }
            };
            if let Some(s) = stats.get_mut(i) {
                match a.agg {
                    Agg::Sum | Agg::Mean => s.sum = true,
                    Agg::Std | Agg::Var => {
                        s.sum = true;
                        s.m2 = true;
                    }
                    Agg::Min => s.min = true,
                    Agg::Max => s.max = true,
                    Agg::First => s.first = true,
                    Agg::Last => s.last = true,
                    Agg::Count | Agg::Size => {}
                }
            }
            let out_type = match a.agg {
                Agg::Sum if t == DataType::Float64 => DataType::Float64,
                Agg::Sum | Agg::Count => DataType::Int64,
                Agg::Mean | Agg::Std | Agg::Var => DataType::Float64,
                _ => t,
            };
            out_fields.push(Arc::new(Field::new(&a.name, out_type, true)));
        }
        let mut partial = key_fields;
        partial.push(Arc::new(Field::new("size", DataType::Int64, false)));
        for s in &stats {
            partial.push(Arc::new(Field::new(
                stat_name(&s.column, "n"),
                DataType::Int64,
                false,
            )));
            if s.sum {
                let t = if s.dtype == DataType::Float64 {
                    DataType::Float64
                } else {
                    DataType::Int64
                };
                partial.push(Arc::new(Field::new(stat_name(&s.column, "sum"), t, false)));
            }
            if s.m2 {
                partial.push(Arc::new(Field::new(
                    stat_name(&s.column, "m2"),
                    DataType::Float64,
                    false,
                )));
            }
            for (on, stat) in [
                (s.min, "min"),
                (s.max, "max"),
                (s.first, "first"),
                (s.last, "last"),
            ] {
                if on {
                    partial.push(Arc::new(Field::new(
                        stat_name(&s.column, stat),
                        s.dtype.clone(),
                        true,
                    )));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for f in &out_fields {
            if !seen.insert(f.name().clone()) {
                return Err(Error::value(format!(
                    "groupby: two output columns are named '{}'",
                    f.name()
                )));
            }
        }
        Ok(GroupSpec {
            keys,
            aggs,
            stats,
            partial_schema: Arc::new(Schema::new(partial)),
            output_schema: Arc::new(Schema::new(out_fields)),
            ddof,
        })
    }
}

impl GroupSpec {
    /// The input columns a chunk step reads: the keys and the aggregated columns.
    pub fn columns_read(&self) -> Vec<String> {
        let mut out = self.keys.clone();
        out.extend(self.stats.iter().map(|s| s.column.clone()));
        out
    }
}

/// Group ids for every row (`MISSING` for rows with a null key) and one row per group.
/// A single int64 or string key takes the typed path of `group_ids`; ids come in
/// first-seen order on both paths.
fn group_rows(batch: &RecordBatch, keys: &[String]) -> Result<GroupIds> {
    if let [key] = keys {
        let c = batch
            .column_by_name(key)
            .ok_or_else(|| Error::value(format!("groupby: no column '{key}'")))?;
        if let Some(g) = group_ids::of_column(c) {
            return Ok(g);
        }
    }
    group_rows_general(batch, keys)
}

/// Group ids by hashing and comparing the key columns row by row (any key types).
fn group_rows_general(batch: &RecordBatch, keys: &[String]) -> Result<GroupIds> {
    let hashes = super::shuffle::row_hashes(batch, keys, "groupby")?;
    let cols: Vec<&ArrayRef> = keys
        .iter()
        .map(|k| {
            batch
                .column_by_name(k)
                .ok_or_else(|| Error::value(format!("groupby: no column '{k}'")))
        })
        .collect::<Result<_>>()?;
    let views: Vec<KeyView> = cols.iter().map(|c| KeyView::new(c)).collect();
    let mut heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>> = HashMap::default();
    let mut chain: Vec<u32> = Vec::new();
    let mut rep: Vec<usize> = Vec::new();
    let mut ids = Vec::with_capacity(batch.num_rows());
    for (i, h) in hashes.iter().enumerate() {
        if views.iter().any(|v| v.missing(i)) {
            ids.push(MISSING);
            continue;
        }
        let mut g = heads.get(h).copied();
        let mut found = None;
        while let Some(cand) = g {
            let r = rep.get(cand as usize).copied().unwrap_or(usize::MAX);
            if views.iter().all(|v| v.same(r, v, i)) {
                found = Some(cand);
                break;
            }
            g = chain.get(cand as usize).copied().filter(|n| *n != u32::MAX);
        }
        let id = match found {
            Some(id) => id,
            None => {
                let id = rep.len() as u32;
                let prev = heads.insert(*h, id).unwrap_or(u32::MAX);
                chain.push(prev);
                rep.push(i);
                id
            }
        };
        ids.push(id);
    }
    Ok(GroupIds { ids, first: rep })
}

/// Numbers of a column as f64 (bools as 0/1); nulls and NaN as None.
fn numbers(c: &ArrayRef) -> Vec<Option<f64>> {
    match c.data_type() {
        DataType::Float64 => c
            .as_primitive::<Float64Type>()
            .iter()
            .map(|x| x.filter(|v| !v.is_nan()))
            .collect(),
        DataType::Int64 => c
            .as_primitive::<Int64Type>()
            .iter()
            .map(|x| x.map(|v| v as f64))
            .collect(),
        DataType::Boolean => c.as_boolean().iter().map(|x| x.map(f64::from)).collect(),
        _ => vec![None; c.len()],
    }
}

/// Ints of an int or bool column; nulls as None.
fn ints(c: &ArrayRef) -> Vec<Option<i64>> {
    match c.data_type() {
        DataType::Int64 => c.as_primitive::<Int64Type>().iter().collect(),
        DataType::Boolean => c.as_boolean().iter().map(|x| x.map(i64::from)).collect(),
        _ => vec![None; c.len()],
    }
}

/// Whether each row holds a value (not null, not NaN).
fn present(c: &ArrayRef) -> Vec<bool> {
    match c.data_type() {
        DataType::Float64 => c
            .as_primitive::<Float64Type>()
            .iter()
            .map(|x| x.is_some_and(|v| !v.is_nan()))
            .collect(),
        _ => (0..c.len()).map(|i| c.is_valid(i)).collect(),
    }
}

/// The group of row `i`, unless its key is missing.
fn group_of(ids: &[u32], i: usize) -> Option<usize> {
    ids.get(i).filter(|g| **g != MISSING).map(|g| *g as usize)
}

/// For each group, the row holding the min (or max, or first, or last) present value.
fn pick_rows(c: &ArrayRef, ids: &[u32], groups: usize, want: Agg) -> Result<Vec<Option<u32>>> {
    if let (DataType::Float64, Agg::Min | Agg::Max) = (c.data_type(), want) {
        return Ok(pick_float_rows(
            c.as_primitive::<Float64Type>(),
            ids,
            groups,
            want,
        ));
    }
    pick_rows_general(c, ids, groups, want)
}

/// `pick_rows` through Arrow's comparator (any column type).
fn pick_rows_general(c: &ArrayRef, ids: &[u32], groups: usize, want: Agg) -> Result<Vec<Option<u32>>> {
    let cmp = arrow_ord::ord::make_comparator(c.as_ref(), c.as_ref(), SortOptions::default())
        .map_err(|e| Error::internal(format!("groupby {}: {e}", want.name())))?;
    let present = present(c);
    let mut best: Vec<Option<u32>> = vec![None; groups];
    for (i, p) in present.iter().enumerate() {
        let (Some(g), true) = (group_of(ids, i), *p) else {
            continue;
        };
        if let Some(slot) = best.get_mut(g) {
            let replace = match (*slot, want) {
                (None, _) | (Some(_), Agg::Last) => true,
                (Some(_), Agg::First) => false,
                (Some(b), Agg::Min) => cmp(i, b as usize) == Ordering::Less,
                (Some(b), _) => cmp(i, b as usize) == Ordering::Greater,
            };
            if replace {
                *slot = Some(i as u32);
            }
        }
    }
    Ok(best)
}

/// `pick_rows` for float min and max without a dynamic comparator; it orders as Arrow's
/// comparator does (`total_cmp`), and keeps the first row of equal values.
fn pick_float_rows(c: &Float64Array, ids: &[u32], groups: usize, want: Agg) -> Vec<Option<u32>> {
    let nulls = c.nulls().filter(|n| n.null_count() > 0);
    // Flipped for min, so a row replaces the best one on one integer comparison; NaN is
    // skipped, so no value ties the start.
    let flip = if want == Agg::Min { -1i64 } else { 0 };
    let key = |x: f64| order_key(x) ^ flip;
    let mut best_key = vec![i64::MIN; groups];
    let mut best_row = vec![u32::MAX; groups];
    for (i, (g, x)) in ids.iter().zip(c.values().iter()).enumerate() {
        if *g == MISSING || x.is_nan() || nulls.is_some_and(|n| n.is_null(i)) {
            continue;
        }
        let k = key(*x);
        if let (Some(b), Some(r)) = (best_key.get_mut(*g as usize), best_row.get_mut(*g as usize)) {
            if k > *b {
                *b = k;
                *r = i as u32;
            }
        }
    }
    best_row
        .into_iter()
        .map(|r| (r != u32::MAX).then_some(r))
        .collect()
}

/// A float as an integer in `total_cmp`'s order (Arrow's comparator's order).
#[inline(always)]
fn order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

fn take(c: &ArrayRef, rows: Vec<Option<u32>>) -> Result<ArrayRef> {
    arrow_select::take::take(c.as_ref(), &UInt32Array::from(rows), None)
        .map_err(|e| Error::internal(format!("groupby: {e}")))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::internal(format!("groupby: the partial has no column '{name}'")))
}

/// What `float_stats` computes besides counts and sums.
#[derive(Clone, Copy)]
struct FloatWants {
    m2: bool,
    min: bool,
    max: bool,
}

/// A float column's partial aggregates per group. `min_rows` and `max_rows` are there
/// when asked for and the pass could find them (not with `m2`).
struct FloatStats {
    n: Vec<i64>,
    sum: Vec<f64>,
    m2: Vec<f64>,
    min_rows: Option<Vec<Option<u32>>>,
    max_rows: Option<Vec<Option<u32>>>,
}

/// Count, sum and (with `m2`) the sum of squared deviations of `c` per group, skipping
/// nulls and NaN, in one pass without making options; without `m2` the same pass finds
/// the rows of the smallest and largest values when asked. With `size`, it also counts
/// every row of each group there.
fn float_stats(
    c: &Float64Array,
    ids: &[u32],
    groups: usize,
    wants: FloatWants,
    size: Option<&mut [i64]>,
) -> FloatStats {
    if !wants.m2 {
        // Count and sum side by side: one cache line per row, not two.
        let mut acc = vec![(0i64, 0f64, 0i64); groups];
        let mut ext = if wants.min || wants.max {
            vec![(i64::MIN, u32::MAX, i64::MIN, u32::MAX); groups]
        } else {
            Vec::new()
        };
        let ext_rows = ext.as_mut_slice();
        match (wants.min, wants.max) {
            (false, false) => sum_pass::<false, false>(c, ids, &mut acc, ext_rows),
            (true, false) => sum_pass::<true, false>(c, ids, &mut acc, ext_rows),
            (false, true) => sum_pass::<false, true>(c, ids, &mut acc, ext_rows),
            (true, true) => sum_pass::<true, true>(c, ids, &mut acc, ext_rows),
        }
        if let Some(size) = size {
            for (z, (_, _, all)) in size.iter_mut().zip(&acc) {
                *z = *all;
            }
        }
        let rows = |pick: fn(&(i64, u32, i64, u32)) -> u32| {
            ext.iter()
                .map(|e| Some(pick(e)).filter(|r| *r != u32::MAX))
                .collect()
        };
        return FloatStats {
            n: acc.iter().map(|a| a.0).collect(),
            sum: acc.iter().map(|a| a.1).collect(),
            m2: Vec::new(),
            min_rows: wants.min.then(|| rows(|e| e.1)),
            max_rows: wants.max.then(|| rows(|e| e.3)),
        };
    }
    let nulls = c.nulls().filter(|n| n.null_count() > 0);
    let rows = ids.iter().zip(c.values().iter()).enumerate();
    if let Some(size) = size {
        count_rows(ids, size);
    }
    let mut n = vec![0i64; groups];
    let mut sum = vec![0f64; groups];
    let mut mean = vec![0f64; groups];
    let mut m2s = vec![0f64; groups];
    let mut seen = vec![0f64; groups];
    for (i, (g, x)) in rows {
        if *g == MISSING || x.is_nan() || nulls.is_some_and(|b| b.is_null(i)) {
            continue;
        }
        let g = *g as usize;
        if let (Some(k), Some(su), Some(me), Some(m), Some(c)) = (
            n.get_mut(g),
            sum.get_mut(g),
            mean.get_mut(g),
            m2s.get_mut(g),
            seen.get_mut(g),
        ) {
            *k += 1;
            *su += x;
            // Welford's update keeps M2 accurate for large means.
            *c += 1.0;
            let d = x - *me;
            *me += d / *c;
            *m += d * (x - *me);
        }
    }
    FloatStats {
        n,
        sum,
        m2: m2s,
        min_rows: None,
        max_rows: None,
    }
}

/// The pass of `float_stats` without M2: per group (count, sum, rows) in `acc` and, for
/// `MIN` / `MAX`, (key, row) of the smallest and largest value in `ext`, as
/// `pick_float_rows` picks them. Monomorphised so the plain sum carries no extra test.
#[inline(always)]
fn sum_pass<const MIN: bool, const MAX: bool>(
    c: &Float64Array,
    ids: &[u32],
    acc: &mut [(i64, f64, i64)],
    ext: &mut [(i64, u32, i64, u32)],
) {
    let nulls = c.nulls().filter(|n| n.null_count() > 0);
    for (i, (g, x)) in ids.iter().zip(c.values().iter()).enumerate() {
        let g = *g as usize;
        let Some((k, s, all)) = acc.get_mut(g) else {
            continue;
        };
        *all += 1;
        if x.is_nan() || nulls.is_some_and(|b| b.is_null(i)) {
            continue;
        }
        *k += 1;
        *s += x;
        if MIN || MAX {
            if let Some((lo_key, lo_row, hi_key, hi_row)) = ext.get_mut(g) {
                let key = order_key(*x);
                if MIN && !key > *lo_key {
                    *lo_key = !key;
                    *lo_row = i as u32;
                }
                if MAX && key > *hi_key {
                    *hi_key = key;
                    *hi_row = i as u32;
                }
            }
        }
    }
}

/// The partial aggregates of one input partition.
pub fn chunk(batch: &RecordBatch, spec: &GroupSpec) -> Result<RecordBatch> {
    let GroupIds { ids, first: rep } = group_rows(batch, &spec.keys)?;
    let groups = rep.len();
    let rep_rows: Vec<Option<u32>> = rep.iter().map(|r| Some(*r as u32)).collect();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for k in &spec.keys {
        cols.push(take(column(batch, k)?, rep_rows.clone())?);
    }
    // The group sizes come after the keys; the first float column's pass counts them,
    // else a pass of their own after the columns.
    let size_at = cols.len();
    let mut size = vec![0i64; groups];
    let mut size_counted = false;
    for s in &spec.stats {
        let c = column(batch, &s.column)?;
        // Rows of the smallest and largest values, when the float pass found them.
        let mut picked: [Option<Vec<Option<u32>>>; 2] = [None, None];
        if is_float_stat(batch, s) {
            let count_here = (!size_counted).then_some(size.as_mut_slice());
            size_counted = true;
            let wants = FloatWants {
                m2: s.m2,
                min: s.min,
                max: s.max,
            };
            let st = float_stats(c.as_primitive::<Float64Type>(), &ids, groups, wants, count_here);
            picked = [st.min_rows, st.max_rows];
            cols.push(Arc::new(Int64Array::from(st.n)));
            if s.sum {
                cols.push(Arc::new(Float64Array::from(st.sum)));
                if s.m2 {
                    cols.push(Arc::new(Float64Array::from(st.m2)));
                }
            }
        } else {
            let present = present(c);
            let mut n = vec![0i64; groups];
            for (i, p) in present.iter().enumerate() {
                if let (Some(g), true) = (group_of(&ids, i), *p) {
                    if let Some(x) = n.get_mut(g) {
                        *x += 1;
                    }
                }
            }
            cols.push(Arc::new(Int64Array::from(n.clone())));
            if s.sum {
                let mut sum = vec![0i64; groups];
                for (i, x) in ints(c).into_iter().enumerate() {
                    if let (Some(g), Some(x)) = (group_of(&ids, i), x) {
                        if let Some(su) = sum.get_mut(g) {
                            *su = su.wrapping_add(x);
                        }
                    }
                }
                cols.push(Arc::new(Int64Array::from(sum.clone())));
                if s.m2 {
                    let mut m2 = vec![0f64; groups];
                    for (i, x) in numbers(c).into_iter().enumerate() {
                        let (Some(g), Some(x)) = (group_of(&ids, i), x) else {
                            continue;
                        };
                        let mean = match (sum.get(g), n.get(g)) {
                            (Some(s), Some(k)) if *k > 0 => *s as f64 / *k as f64,
                            _ => 0.0,
                        };
                        if let Some(m) = m2.get_mut(g) {
                            *m += (x - mean) * (x - mean);
                        }
                    }
                    cols.push(Arc::new(Float64Array::from(m2)));
                }
            }
        }
        for (on, agg) in [
            (s.min, Agg::Min),
            (s.max, Agg::Max),
            (s.first, Agg::First),
            (s.last, Agg::Last),
        ] {
            if on {
                let found = match agg {
                    Agg::Min => picked[0].take(),
                    Agg::Max => picked[1].take(),
                    _ => None,
                };
                let rows = match found {
                    Some(rows) => rows,
                    None => pick_rows(c, &ids, groups, agg)?,
                };
                cols.push(take(c, rows)?);
            }
        }
    }
    if !size_counted {
        count_rows(&ids, &mut size);
    }
    cols.insert(size_at, Arc::new(Int64Array::from(size)));
    RecordBatch::try_new(Arc::clone(&spec.partial_schema), cols)
        .map_err(|e| Error::internal(format!("groupby chunk: {e}")))
}

/// Whether `s` takes the float path of `chunk` (`float_stats`).
fn is_float_stat(batch: &RecordBatch, s: &ColumnStats) -> bool {
    s.dtype == DataType::Float64
        && batch
            .column_by_name(&s.column)
            .is_some_and(|c| c.data_type() == &DataType::Float64)
}

/// Adds each row with a group to its group's count in `size`.
fn count_rows(ids: &[u32], size: &mut [i64]) {
    for g in ids {
        if let Some(s) = size.get_mut(*g as usize) {
            *s += 1;
        }
    }
}

/// Regroups concatenated partials into one partial per group.
pub fn combine(parts: &[RecordBatch], spec: &GroupSpec) -> Result<RecordBatch> {
    let batch = super::kernels::concat(&spec.partial_schema, parts)?;
    let GroupIds { ids, first: rep } = group_rows(&batch, &spec.keys)?;
    let groups = rep.len();
    let rep_rows: Vec<Option<u32>> = rep.iter().map(|r| Some(*r as u32)).collect();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for k in &spec.keys {
        cols.push(take(column(&batch, k)?, rep_rows.clone())?);
    }
    let sum_ints = |c: &ArrayRef| -> Vec<i64> {
        let mut out = vec![0i64; groups];
        for (i, x) in ints(c).into_iter().enumerate() {
            if let (Some(g), Some(x)) = (group_of(&ids, i), x) {
                if let Some(o) = out.get_mut(g) {
                    *o = o.wrapping_add(x);
                }
            }
        }
        out
    };
    cols.push(Arc::new(Int64Array::from(sum_ints(column(&batch, "size")?))));
    for s in &spec.stats {
        let n_col = column(&batch, &stat_name(&s.column, "n"))?;
        let n_in = ints(n_col);
        let n = sum_ints(n_col);
        cols.push(Arc::new(Int64Array::from(n.clone())));
        if s.sum {
            let sum_col = column(&batch, &stat_name(&s.column, "sum"))?;
            let sums_in = numbers(sum_col);
            if s.dtype == DataType::Float64 {
                let mut sum = vec![0f64; groups];
                for (i, x) in sums_in.iter().enumerate() {
                    if let (Some(g), Some(x)) = (group_of(&ids, i), x) {
                        if let Some(o) = sum.get_mut(g) {
                            *o += x;
                        }
                    }
                }
                cols.push(Arc::new(Float64Array::from(sum)));
            } else {
                cols.push(Arc::new(Int64Array::from(sum_ints(sum_col))));
            }
            if s.m2 {
                // Chan et al.: merge (n, mean, M2) of the pieces one at a time.
                let m2_in = numbers(column(&batch, &stat_name(&s.column, "m2"))?);
                let mut acc = vec![(0f64, 0f64, 0f64); groups];
                for i in 0..ids.len() {
                    let Some(g) = group_of(&ids, i) else { continue };
                    let nb = n_in.get(i).copied().flatten().unwrap_or(0) as f64;
                    if nb == 0.0 {
                        continue;
                    }
                    let mb = sums_in.get(i).copied().flatten().unwrap_or(0.0) / nb;
                    let m2b = m2_in.get(i).copied().flatten().unwrap_or(0.0);
                    if let Some((na, ma, m2a)) = acc.get_mut(g) {
                        let total = *na + nb;
                        let d = mb - *ma;
                        *m2a += m2b + d * d * *na * nb / total;
                        *ma += d * nb / total;
                        *na = total;
                    }
                }
                cols.push(Arc::new(Float64Array::from(
                    acc.iter().map(|a| a.2).collect::<Vec<_>>(),
                )));
            }
        }
        for (on, agg) in [
            (s.min, Agg::Min),
            (s.max, Agg::Max),
            (s.first, Agg::First),
            (s.last, Agg::Last),
        ] {
            if on {
                let c = column(&batch, &stat_name(&s.column, agg.name()))?;
                cols.push(take(c, pick_rows(c, &ids, groups, agg)?)?);
            }
        }
    }
    RecordBatch::try_new(Arc::clone(&spec.partial_schema), cols)
        .map_err(|e| Error::internal(format!("groupby combine: {e}")))
}

/// Answers from merged partials, sorted by the keys as pandas sorts groups.
pub fn finalize(partial: &RecordBatch, spec: &GroupSpec) -> Result<RecordBatch> {
    let rows = partial.num_rows();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for k in &spec.keys {
        cols.push(Arc::clone(column(partial, k)?));
    }
    for a in &spec.aggs {
        if a.agg == Agg::Size {
            cols.push(Arc::clone(column(partial, "size")?));
            continue;
        }
        let n = ints(column(partial, &stat_name(&a.column, "n"))?);
        let stat = |s: &str| column(partial, &stat_name(&a.column, s));
        let c: ArrayRef = match a.agg {
            Agg::Count => Arc::new(Int64Array::from(
                n.iter().map(|x| x.unwrap_or(0)).collect::<Vec<_>>(),
            )),
            Agg::Sum => Arc::clone(stat("sum")?),
            Agg::Mean => {
                let sums = numbers(stat("sum")?);
                Arc::new(Float64Array::from(
                    (0..rows)
                        .map(
                            |i| match (sums.get(i).copied().flatten(), n.get(i).copied().flatten()) {
                                (Some(s), Some(k)) if k > 0 => Some(s / k as f64),
                                _ => None,
                            },
                        )
                        .collect::<Vec<_>>(),
                ))
            }
            Agg::Var | Agg::Std => {
                let m2 = numbers(stat("m2")?);
                Arc::new(Float64Array::from(
                    (0..rows)
                        .map(|i| {
                            let k = n.get(i).copied().flatten().unwrap_or(0) as f64;
                            let m = m2.get(i).copied().flatten().unwrap_or(0.0);
                            let dof = k - spec.ddof;
                            if dof <= 0.0 {
                                return None;
                            }
                            let var = (m / dof).max(0.0);
                            Some(if a.agg == Agg::Std { var.sqrt() } else { var })
                        })
                        .collect::<Vec<_>>(),
                ))
            }
            Agg::Min | Agg::Max | Agg::First | Agg::Last => Arc::clone(stat(a.agg.name())?),
            Agg::Size => Arc::clone(column(partial, "size")?),
        };
        cols.push(c);
    }
    let out = RecordBatch::try_new(Arc::clone(&spec.output_schema), cols)
        .map_err(|e| Error::internal(format!("groupby finalize: {e}")))?;
    sort_by(&out, &spec.keys)
}

/// The rows sorted by `keys` ascending (stable).
pub fn sort_by(batch: &RecordBatch, keys: &[String]) -> Result<RecordBatch> {
    if batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let columns: Vec<arrow_ord::sort::SortColumn> = keys
        .iter()
        .map(|k| {
            Ok(arrow_ord::sort::SortColumn {
                values: Arc::clone(column(batch, k)?),
                options: None,
            })
        })
        .collect::<Result<_>>()?;
    let idx = arrow_ord::sort::lexsort_to_indices(&columns, None)
        .map_err(|e| Error::internal(format!("groupby sort: {e}")))?;
    arrow_select::take::take_record_batch(batch, &idx)
        .map_err(|e| Error::internal(format!("groupby sort: {e}")))
}

/// Reads `by` (a column or a list) and `agg` ({col: agg or [aggs]}) or the shortcut
/// `func` (one aggregation over every other column that allows it, as `df.groupby(k).sum()`).
fn spec_from_args(ctx: &crate::lower::NodeCtx, schema: &Schema) -> Result<GroupSpec> {
    let label = format!("node '{}' ({})", ctx.node.id, ctx.node.op);
    let keys: Vec<String> = match ctx.json_arg("by") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::plan(format!("{label}: key columns are strings, not {v}")))
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::plan(format!(
                "{label}: by is a column name or a list, not {other}"
            )))
        }
        None => return Err(Error::plan(format!("{label}: needs by (the key columns)"))),
    };
    let mut aggs = Vec::new();
    match (ctx.json_arg("agg"), ctx.str_arg("func")?) {
        (Some(serde_json::Value::Object(map)), _) => {
            for (col, v) in map {
                match v {
                    serde_json::Value::String(name) => {
                        let agg = Agg::parse(name)?;
                        aggs.push(AggColumn {
                            column: col.clone(),
                            agg,
                            name: if agg == Agg::Size {
                                "size".into()
                            } else {
                                col.clone()
                            },
                        });
                    }
                    serde_json::Value::Array(names) => {
                        for n in names {
                            let name = n.as_str().ok_or_else(|| {
                                Error::plan(format!("{label}: aggregations are names like 'sum', not {n}"))
                            })?;
                            aggs.push(AggColumn {
                                column: col.clone(),
                                agg: Agg::parse(name)?,
                                name: format!("{col}_{name}"),
                            });
                        }
                    }
                    other => {
                        return Err(Error::plan(format!(
                            "{label}: the aggregation of '{col}' is a name or a list of names, not {other}"
                        )))
                    }
                }
            }
        }
        (Some(other), _) => {
            return Err(Error::plan(format!(
                "{label}: agg is an object {{column: aggregations}}, not {other}"
            )))
        }
        (None, Some(func)) => {
            let agg = Agg::parse(func)?;
            if agg == Agg::Size {
                aggs.push(AggColumn {
                    column: String::new(),
                    agg,
                    name: "size".into(),
                });
            } else {
                let only: Option<Vec<String>> = match ctx.json_arg("columns") {
                    Some(serde_json::Value::Array(c)) => {
                        Some(c.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    }
                    Some(serde_json::Value::String(c)) => Some(vec![c.clone()]),
                    _ => None,
                };
                let candidates: Vec<String> = match &only {
                    Some(c) => c.clone(),
                    None => schema
                        .fields()
                        .iter()
                        .filter(|f| !keys.contains(f.name()))
                        .filter(|f| !agg.numeric_only() || is_numeric(f.data_type()))
                        .map(|f| f.name().clone())
                        .collect(),
                };
                for c in candidates {
                    aggs.push(AggColumn {
                        column: c.clone(),
                        agg,
                        name: c,
                    });
                }
            }
        }
        (None, None) => {
            return Err(Error::plan(format!(
                "{label}: needs agg ({{column: aggregations}}) or func"
            )))
        }
    }
    let ddof = ctx.usize_arg("ddof")?.unwrap_or(1) as f64;
    GroupSpec::new(schema, keys, aggs, ddof).map_err(|e| e.context(label))
}

/// `groupby(by).agg(...)`: chunk per partition, then a tree of combines `split_every` wide
/// ending in the finalize step; with `split_out > 1`, a hash shuffle of the partials and a
/// finalize per output partition.
pub fn lower_groupby_agg(
    l: &mut crate::lower::Lowerer,
    ctx: &crate::lower::NodeCtx,
) -> Result<crate::lower::Collection> {
    use super::{FrameMeta, FrameOp};
    use crate::graph::{Key, LayerKind};
    use crate::ops::Op;
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    let spec = Arc::new(spec_from_args(ctx, &m.schema)?);
    let split_every = ctx.usize_arg("split_every")?.unwrap_or(8);
    if split_every < 2 {
        return Err(Error::plan(format!(
            "node '{}' ({}): split_every must be at least 2, not {split_every}",
            ctx.node.id, ctx.node.op
        )));
    }
    let split_out = ctx.usize_arg("split_out")?.unwrap_or(1).max(1);
    let chunk_name = ctx.layer_name("groupby-chunk");
    let chunk_layer = l.layer(&chunk_name, "groupby-chunk", LayerKind::ReductionPart, Some(0));
    let mut level = Vec::with_capacity(a.tasks.len());
    for (i, t) in a.tasks.iter().enumerate() {
        let op = Op::Frame(FrameOp::GroupChunk(Arc::clone(&spec)));
        level.push(l.task(Key::part(&chunk_name, i), chunk_layer, vec![*t], op)?);
    }
    let (name, tasks) = if split_out > 1 {
        let gathered =
            super::shuffle::hash_shuffle(l, ctx, "groupby-shuffle", &level, &spec.keys, split_out)?;
        let name = ctx.layer_name("groupby-agg");
        let layer = l.layer(&name, "groupby-agg", LayerKind::Blockwise, None);
        let mut out = Vec::with_capacity(split_out);
        for (j, t) in gathered.iter().enumerate() {
            let op = Op::Frame(FrameOp::GroupCombine {
                spec: Arc::clone(&spec),
                last: true,
            });
            out.push(l.task(Key::part(&name, j), layer, vec![*t], op)?);
        }
        (name, out)
    } else {
        let mut depth: u32 = 0;
        while level.len() > split_every {
            let name = format!("{}{depth}", ctx.layer_name("groupby-combine"));
            let layer = l.layer(
                &name,
                "groupby-combine",
                LayerKind::ReductionAggregate,
                Some(depth + 1),
            );
            let mut next = Vec::with_capacity(level.len().div_ceil(split_every));
            for (i, group) in level.chunks(split_every).enumerate() {
                let op = Op::Frame(FrameOp::GroupCombine {
                    spec: Arc::clone(&spec),
                    last: false,
                });
                next.push(l.task(Key::part(&name, i), layer, group.to_vec(), op)?);
            }
            level = next;
            depth += 1;
        }
        let name = ctx.layer_name("groupby-agg");
        let layer = l.layer(
            &name,
            "groupby-agg",
            LayerKind::ReductionAggregate,
            Some(depth + 1),
        );
        let op = Op::Frame(FrameOp::GroupCombine {
            spec: Arc::clone(&spec),
            last: true,
        });
        let last = l.task(Key::part(&name, 0), layer, level, op)?;
        (name, vec![last])
    };
    let c = crate::lower::Collection {
        kind: crate::registry::Kind::Frame,
        name,
        tasks,
        token: ctx.token.clone(),
    };
    l.set_frame_meta(&c, FrameMeta::new(Arc::clone(&spec.output_schema), None));
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;

    fn batch(keys: ArrayRef, vals: Vec<Option<f64>>) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("k", keys.data_type().clone(), true),
            Field::new("v", DataType::Float64, true),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![keys, Arc::new(Float64Array::from(vals))]).unwrap()
    }

    fn int_keys(k: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(k.to_vec()))
    }

    fn cases() -> Vec<RecordBatch> {
        let nan = f64::NAN;
        let vals = |n: usize| -> Vec<Option<f64>> {
            (0..n)
                .map(|i| match i % 5 {
                    0 => None,
                    1 => Some(nan),
                    2 => Some(-0.0),
                    3 => Some(0.0),
                    _ => Some(i as f64 - 7.5),
                })
                .collect()
        };
        let keys: Vec<Vec<Option<i64>>> = vec![
            vec![],
            vec![Some(4); 9],
            vec![
                Some(-3),
                None,
                Some(5),
                Some(-3),
                None,
                Some(i64::MIN),
                Some(5),
                Some(i64::MAX),
            ],
            (0..50).map(Some).collect(),
            (0..60)
                .map(|i| if i % 7 == 0 { None } else { Some(-(i % 11)) })
                .collect(),
            vec![None, None, None],
        ];
        let mut out: Vec<RecordBatch> = keys.iter().map(|k| batch(int_keys(k), vals(k.len()))).collect();
        let strs: ArrayRef = Arc::new(StringArray::from(vec![
            Some("b"),
            None,
            Some(""),
            Some("b"),
            Some("a long key past sixteen bytes"),
            Some(""),
            None,
        ]));
        out.push(batch(strs, vals(7)));
        out
    }

    #[test]
    fn fast_group_ids_equal_the_general_ones() {
        for b in cases() {
            let keys = vec!["k".to_string()];
            assert_eq!(
                group_rows(&b, &keys).unwrap(),
                group_rows_general(&b, &keys).unwrap(),
                "{b:?}"
            );
        }
    }

    #[test]
    fn float_min_max_rows_equal_the_comparator_ones() {
        // Infinities, the largest finite values and repeats (the first row of equals wins).
        let extremes = batch(
            int_keys(&[
                Some(1),
                Some(2),
                Some(1),
                Some(2),
                Some(1),
                Some(2),
                Some(1),
                Some(2),
            ]),
            vec![
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(f64::INFINITY),
                Some(f64::MIN),
                Some(f64::MAX),
                Some(f64::NEG_INFINITY),
                Some(-f64::NAN),
                Some(f64::MIN),
            ],
        );
        for b in cases().into_iter().chain([extremes]) {
            let g = group_rows(&b, &["k".to_string()]).unwrap();
            let v = b.column(1);
            for agg in [Agg::Min, Agg::Max] {
                assert_eq!(
                    pick_rows(v, &g.ids, g.groups(), agg).unwrap(),
                    pick_rows_general(v, &g.ids, g.groups(), agg).unwrap(),
                    "{agg:?} of {b:?}"
                );
            }
        }
    }

    #[test]
    fn float_stats_skip_nulls_and_nan() {
        let b = batch(
            int_keys(&[Some(1), Some(2), Some(1), None, Some(2), Some(1)]),
            vec![Some(1.5), None, Some(f64::NAN), Some(100.0), Some(2.0), Some(3.0)],
        );
        let g = group_rows(&b, &["k".to_string()]).unwrap();
        // Group 1 has rows 0, 2 (NaN) and 5; group 2 rows 1 (null) and 4; row 3 has no key.
        let c = b.column(1).as_primitive::<Float64Type>();
        let mut size = vec![0i64; 2];
        let all = FloatWants {
            m2: true,
            min: true,
            max: true,
        };
        let st = float_stats(c, &g.ids, g.groups(), all, Some(&mut size));
        assert_eq!(st.n, vec![2, 1]);
        assert_eq!(st.sum, vec![4.5, 2.0]);
        assert_eq!(st.m2, vec![1.125, 0.0]);
        assert_eq!(size, vec![3, 2]);
        // With M2 the pass finds no extremes; `chunk` then picks them in a pass of its own.
        assert_eq!((st.min_rows, st.max_rows), (None, None));
        for (min, max, count) in [
            (false, false, false),
            (true, false, true),
            (false, true, false),
            (true, true, true),
        ] {
            let mut size = vec![0i64; 2];
            let wants = FloatWants { m2: false, min, max };
            let st2 = float_stats(c, &g.ids, g.groups(), wants, count.then_some(size.as_mut_slice()));
            assert_eq!((&st2.n, &st2.sum), (&st.n, &st.sum));
            assert_eq!(size, if count { vec![3, 2] } else { vec![0, 0] });
            let pick = |agg| pick_float_rows(c, &g.ids, g.groups(), agg);
            assert_eq!(st2.min_rows, min.then(|| pick(Agg::Min)));
            assert_eq!(st2.max_rows, max.then(|| pick(Agg::Max)));
        }
        // Hand-checked: group 1's values 1.5 (row 0) and 3.0 (row 5); group 2's 2.0 (row 4).
        assert_eq!(
            pick_float_rows(c, &g.ids, g.groups(), Agg::Min),
            vec![Some(0), Some(4)]
        );
        assert_eq!(
            pick_float_rows(c, &g.ids, g.groups(), Agg::Max),
            vec![Some(5), Some(4)]
        );
    }

    /// Ties keep the first row, -0.0 orders below 0.0 (as `total_cmp`), a group with only
    /// NaN and nulls has no extreme, on both the fused pass and `pick_float_rows`.
    #[test]
    fn float_extremes_in_the_sum_pass_match_pick_float_rows() {
        let b = batch(
            int_keys(&[
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(1),
                Some(3),
                Some(3),
            ]),
            vec![
                Some(0.0),
                Some(-0.0),
                Some(5.0),
                Some(f64::NAN),
                None,
                Some(5.0),
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
            ],
        );
        let g = group_rows(&b, &["k".to_string()]).unwrap();
        let c = b.column(1).as_primitive::<Float64Type>();
        let wants = FloatWants {
            m2: false,
            min: true,
            max: true,
        };
        let st = float_stats(c, &g.ids, g.groups(), wants, None);
        assert_eq!(st.min_rows, Some(vec![Some(1), None, Some(7)]));
        assert_eq!(st.max_rows, Some(vec![Some(2), None, Some(6)]));
        assert_eq!(
            st.min_rows,
            Some(pick_float_rows(c, &g.ids, g.groups(), Agg::Min))
        );
        assert_eq!(
            st.max_rows,
            Some(pick_float_rows(c, &g.ids, g.groups(), Agg::Max))
        );
    }
}
