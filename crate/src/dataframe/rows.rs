//! Per-partition kernels for the row and column ops beyond the first slice: rename,
//! astype (casts by hand, without Arrow's cast kernel), fillna, dropna, isnull, distinct
//! rows, and the partial and final steps of std/var, nunique, value_counts and describe.

use crate::error::{Error, Result};
use crate::value::Value;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use indexmap::{IndexMap, IndexSet};
use std::sync::Arc;

use super::kernels::{cell, dtype_name};

/// A dtype from its pandas name.
pub fn parse_dtype(name: &str) -> Option<DataType> {
    Some(match name {
        "int64" | "int" | "Int64" => DataType::Int64,
        "float64" | "float" | "Float64" => DataType::Float64,
        "bool" | "boolean" => DataType::Boolean,
        "string" | "str" | "object" => DataType::Utf8,
        _ => return None,
    })
}

/// Whether a cell is missing: null, or NaN in a float column (pandas' isnull).
fn missing(c: &ArrayRef, row: usize) -> bool {
    c.is_null(row)
        || c.as_primitive_opt::<Float64Type>()
            .is_some_and(|f| f.value(row).is_nan())
}

/// A column of `t` from values; values of another type fail, naming the column.
pub fn array_of(t: &DataType, values: &[Value], column: &str, op: &str) -> Result<ArrayRef> {
    let bad = |v: &Value| {
        Error::type_error(format!(
            "{op}: column '{column}' is {} but a value is {v} ({})",
            dtype_name(t),
            v.type_name()
        ))
    };
    Ok(match t {
        DataType::Int64 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Int(i) => Ok(Some(*i)),
                    Value::Bool(b) => Ok(Some(i64::from(*b))),
                    other => Err(bad(other)),
                })
                .collect::<Result<Int64Array>>()?,
        ),
        DataType::Float64 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(v.as_f64()),
                    other => Err(bad(other)),
                })
                .collect::<Result<Float64Array>>()?,
        ),
        DataType::Boolean => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Bool(b) => Ok(Some(*b)),
                    other => Err(bad(other)),
                })
                .collect::<Result<BooleanArray>>()?,
        ),
        _ => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Str(s) => Ok(Some(s.to_string())),
                    other => Err(bad(other)),
                })
                .collect::<Result<StringArray>>()?,
        ),
    })
}

fn with_schema(schema: &SchemaRef, columns: Vec<ArrayRef>, op: &str) -> Result<RecordBatch> {
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| Error::internal(format!("{op}: {e}")))
}

/// The same columns under the names (and nullability) of `schema`.
pub fn rename(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    with_schema(schema, batch.columns().to_vec(), "rename")
}

/// Casts one column to `to` (int64, float64, bool, string), as pandas' astype.
pub fn cast(c: &ArrayRef, to: &DataType, column: &str) -> Result<ArrayRef> {
    let from = c.data_type();
    if from == to {
        return Ok(Arc::clone(c));
    }
    let fail = |what: String| {
        Error::value(format!(
            "astype: column '{column}' ({}) to {}: {what}",
            dtype_name(from),
            dtype_name(to)
        ))
    };
    let n = c.len();
    let values: Vec<Value> = (0..n).map(|i| cell(c, i)).collect();
    Ok(match to {
        DataType::Float64 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Str(s) => s
                        .trim()
                        .parse::<f64>()
                        .map(Some)
                        .map_err(|_| fail(format!("could not convert '{s}' to float"))),
                    v => Ok(v.as_f64()),
                })
                .collect::<Result<Float64Array>>()?,
        ),
        DataType::Int64 => Arc::new(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    // A float column's NaN/null cannot become an int, as in pandas.
                    Value::Null if from == &DataType::Float64 => Err(fail(format!(
                        "row {i} is NaN, which cannot be converted to an integer"
                    ))),
                    Value::Null => Ok(None),
                    Value::Float(x) if !x.is_finite() => {
                        Err(fail(format!("{x} cannot be converted to an integer")))
                    }
                    Value::Float(x) => Ok(Some(x.trunc() as i64)),
                    Value::Str(s) => s
                        .trim()
                        .parse::<i64>()
                        .map(Some)
                        .map_err(|_| fail(format!("invalid literal for int: '{s}'"))),
                    Value::Bool(b) => Ok(Some(i64::from(*b))),
                    v => Ok(v.as_i64()),
                })
                .collect::<Result<Int64Array>>()?,
        ),
        DataType::Boolean => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => None,
                    Value::Str(s) => Some(!s.is_empty()),
                    v => Some(v.as_f64().is_some_and(|x| x != 0.0)),
                })
                .collect::<BooleanArray>(),
        ),
        DataType::Utf8 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => None,
                    Value::Bool(true) => Some("True".to_string()),
                    Value::Bool(false) => Some("False".to_string()),
                    v => Some(v.to_string()),
                })
                .collect::<StringArray>(),
        ),
        other => return Err(fail(format!("{other} is not a supported dtype"))),
    })
}

/// Every column cast to the dtype `schema` gives it.
pub fn astype(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let cols = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| cast(c, f.data_type(), f.name()))
        .collect::<Result<Vec<_>>>()?;
    with_schema(schema, cols, "astype")
}

/// Missing values (null or NaN) replaced by a per-column value; `schema` has the result's
/// dtypes (an int column filled with a float becomes float64).
pub fn fillna(batch: &RecordBatch, fills: &[(String, Value)], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut cols = Vec::with_capacity(batch.num_columns());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        let Some((_, fill)) = fills.iter().find(|(n, _)| n == f.name()) else {
            cols.push(Arc::clone(c));
            continue;
        };
        let values: Vec<Value> = (0..c.len())
            .map(|i| if missing(c, i) { fill.clone() } else { cell(c, i) })
            .collect();
        cols.push(array_of(f.data_type(), &values, f.name(), "fillna")?);
    }
    with_schema(schema, cols, "fillna")
}

/// Rows without missing values in `subset` (`all`: rows where not every one is missing).
pub fn dropna(batch: &RecordBatch, subset: &[String], all: bool) -> Result<RecordBatch> {
    let cols: Vec<&ArrayRef> = subset.iter().filter_map(|c| batch.column_by_name(c)).collect();
    let mask: BooleanArray = (0..batch.num_rows())
        .map(|i| {
            let gone = cols.iter().filter(|c| missing(c, i)).count();
            Some(if all {
                gone < cols.len() || cols.is_empty()
            } else {
                gone == 0
            })
        })
        .collect();
    arrow_select::filter::filter_record_batch(batch, &mask)
        .map_err(|e| Error::internal(format!("dropna: {e}")))
}

/// A frame of bools: whether each cell is missing.
pub fn isnull(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let cols = batch
        .columns()
        .iter()
        .map(|c| {
            Arc::new(
                (0..c.len())
                    .map(|i| Some(missing(c, i)))
                    .collect::<BooleanArray>(),
            ) as ArrayRef
        })
        .collect();
    with_schema(schema, cols, "isnull")
}

/// The last `n` rows of the inputs, in order.
pub fn tail(batch: &RecordBatch, n: usize) -> RecordBatch {
    let rows = batch.num_rows();
    let k = n.min(rows);
    batch.slice(rows - k, k)
}

/// The first occurrence of each distinct row (over `subset`, or all columns).
pub fn distinct(batches: &[&RecordBatch], subset: Option<&[String]>) -> Result<RecordBatch> {
    let schema = batches
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| Error::internal("drop_duplicates: no partitions"))?;
    let owned: Vec<RecordBatch> = batches.iter().map(|b| (*b).clone()).collect();
    let all = super::kernels::concat(&schema, &owned)?;
    let cols: Vec<ArrayRef> = match subset {
        Some(names) => names
            .iter()
            .filter_map(|c| all.column_by_name(c).cloned())
            .collect(),
        None => all.columns().to_vec(),
    };
    let mut seen: IndexSet<Vec<Value>> = IndexSet::new();
    let mut keep: Vec<u32> = Vec::new();
    for row in 0..all.num_rows() {
        let key: Vec<Value> = cols.iter().map(|c| cell(c, row)).collect();
        if seen.insert(key) {
            keep.push(u32::try_from(row).map_err(|_| Error::limit("drop_duplicates: more than 2^32 rows"))?);
        }
    }
    arrow_select::take::take_record_batch(&all, &UInt32Array::from(keep))
        .map_err(|e| Error::internal(format!("drop_duplicates: {e}")))
}

/// value_counts' partial: [[value, count], ...] of non-null values, in first-seen order.
pub fn value_counts_part(batch: &RecordBatch, column: &str) -> Result<Value> {
    let c = batch
        .column_by_name(column)
        .ok_or_else(|| Error::value(format!("value_counts: no column '{column}'")))?;
    if let Some(g) = super::group_ids::of_column(c) {
        return Ok(counted(c, &g));
    }
    Ok(value_counts_general(c))
}

/// `value_counts_part` of the rows where `keep` is set (a filter's mask), read in place
/// instead of filtered out first; `None` when the column is missing or has no id fast
/// path, for the caller to filter and count as usual.
pub fn value_counts_part_where(batch: &RecordBatch, column: &str, keep: &BooleanBuffer) -> Option<Value> {
    let c = batch.column_by_name(column)?;
    super::group_ids::of_column_where(c, keep).map(|g| counted(c, &g))
}

/// Int64 and string columns: counts by dense ids, one value per distinct key, in
/// first-seen order (each group's first row is a row of `c`).
fn counted(c: &ArrayRef, g: &super::group_ids::GroupIds) -> Value {
    let mut counts = vec![0i64; g.groups()];
    for id in &g.ids {
        if let Some(n) = counts.get_mut(*id as usize) {
            *n += 1;
        }
    }
    Value::list(
        g.first
            .iter()
            .zip(counts)
            .map(|(row, n)| Value::list(vec![cell(c, *row), Value::Int(n)]))
            .collect(),
    )
}

/// value_counts' partial through values (any column type).
fn value_counts_general(c: &ArrayRef) -> Value {
    let mut counts: IndexMap<Value, i64> = IndexMap::new();
    for i in 0..c.len() {
        let v = cell(c, i);
        if !v.is_null() {
            *counts.entry(v).or_insert(0) += 1;
        }
    }
    pairs(counts)
}

fn pairs(counts: IndexMap<Value, i64>) -> Value {
    Value::list(
        counts
            .into_iter()
            .map(|(v, n)| Value::list(vec![v, Value::Int(n)]))
            .collect(),
    )
}

fn read_pairs(parts: &[&Value]) -> IndexMap<Value, i64> {
    let mut counts: IndexMap<Value, i64> = IndexMap::new();
    for p in parts {
        for pair in p.as_list().unwrap_or(&[]) {
            let l = pair.as_list().unwrap_or(&[]);
            if let (Some(v), Some(n)) = (l.first(), l.get(1).and_then(Value::as_i64)) {
                *counts.entry(v.clone()).or_insert(0) += n;
            }
        }
    }
    counts
}

pub fn value_counts_combine(parts: &[&Value]) -> Value {
    pairs(read_pairs(parts))
}

/// The final value counts as a frame of two columns, `column` and `count`, by count
/// descending (ties in first-seen order).
pub fn value_counts_finish(parts: &[&Value], column: &str, dtype: &DataType) -> Result<RecordBatch> {
    let mut counts: Vec<(Value, i64)> = read_pairs(parts).into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let values: Vec<Value> = counts.iter().map(|(v, _)| v.clone()).collect();
    let schema = value_counts_schema(column, dtype);
    let cols: Vec<ArrayRef> = vec![
        array_of(dtype, &values, column, "value_counts")?,
        Arc::new(Int64Array::from(
            counts.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        )),
    ];
    with_schema(&schema, cols, "value_counts")
}

pub fn value_counts_schema(column: &str, dtype: &DataType) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(column, dtype.clone(), true),
        Field::new("count", DataType::Int64, true),
    ]))
}

/// nunique's partial: per column, its distinct non-null values.
pub fn nunique_part(batch: &RecordBatch) -> Value {
    Value::record(batch.schema().fields().iter().zip(batch.columns()).map(|(f, c)| {
        let set: IndexSet<Value> = (0..c.len())
            .map(|i| cell(c, i))
            .filter(|v| !v.is_null())
            .collect();
        (f.name().clone(), Value::list(set.into_iter().collect()))
    }))
}

/// Unions of per-column sets; with `last`, their sizes.
pub fn nunique_combine(parts: &[&Value], last: bool) -> Result<Value> {
    let first = parts
        .first()
        .and_then(|p| p.as_record())
        .ok_or_else(|| Error::internal("nunique: no partials"))?;
    let mut out = Vec::new();
    for (name, _) in first.iter() {
        let mut set: IndexSet<Value> = IndexSet::new();
        for p in parts {
            set.extend(
                p.get_field(name)
                    .and_then(Value::as_list)
                    .unwrap_or(&[])
                    .iter()
                    .cloned(),
            );
        }
        out.push((
            name.to_string(),
            if last {
                Value::Int(set.len() as i64)
            } else {
                Value::list(set.into_iter().collect())
            },
        ));
    }
    Ok(Value::record(out))
}

fn numeric_columns(batch: &RecordBatch, with_bool: bool) -> Vec<(String, Vec<f64>)> {
    batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(f, _)| match f.data_type() {
            DataType::Int64 | DataType::Float64 => true,
            DataType::Boolean => with_bool,
            _ => false,
        })
        .map(|(f, c)| {
            let xs = (0..c.len())
                .filter_map(|i| match cell(c, i) {
                    Value::Bool(b) => Some(f64::from(u8::from(b))),
                    v => v.as_f64(),
                })
                .collect();
            (f.name().clone(), xs)
        })
        .collect()
}

/// std/var's partial: per numeric column (count, mean, M2), merged as Chan et al.
pub fn moments_part(batch: &RecordBatch) -> Value {
    Value::record(numeric_columns(batch, true).into_iter().map(|(name, xs)| {
        let n = xs.len() as f64;
        let mean = if xs.is_empty() {
            0.0
        } else {
            xs.iter().sum::<f64>() / n
        };
        let m2: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        (
            name,
            Value::list(vec![Value::Float(n), Value::Float(mean), Value::Float(m2)]),
        )
    }))
}

/// Merges (count, mean, M2) partials; with `last`, the variance (ddof) or its root.
pub fn moments_combine(parts: &[&Value], last: Option<(usize, bool)>) -> Result<Value> {
    let first = parts
        .first()
        .and_then(|p| p.as_record())
        .ok_or_else(|| Error::internal("var: no partials"))?;
    let mut out = Vec::new();
    for (name, _) in first.iter() {
        let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
        for p in parts {
            let l = p.get_field(name).and_then(Value::as_list).unwrap_or(&[]);
            let get = |i: usize| l.get(i).and_then(Value::as_f64).unwrap_or(0.0);
            let (nb, mb, m2b) = (get(0), get(1), get(2));
            if nb == 0.0 {
                continue;
            }
            let total = n + nb;
            let delta = mb - mean;
            mean += delta * nb / total;
            m2 += m2b + delta * delta * n * nb / total;
            n = total;
        }
        let v = match last {
            None => Value::list(vec![Value::Float(n), Value::Float(mean), Value::Float(m2)]),
            Some((ddof, sqrt)) if n > ddof as f64 => {
                let var = m2 / (n - ddof as f64);
                Value::Float(if sqrt { var.sqrt() } else { var })
            }
            Some(_) => Value::Null,
        };
        out.push((name.to_string(), v));
    }
    Ok(Value::record(out))
}

/// describe's partial: every non-null value of each numeric column (bool excluded, as
/// pandas' describe), gathered so the quantiles are exact.
pub fn describe_part(batch: &RecordBatch) -> Value {
    Value::record(
        numeric_columns(batch, false)
            .into_iter()
            .map(|(name, xs)| (name, Value::list(xs.into_iter().map(Value::Float).collect()))),
    )
}

pub fn describe_combine(parts: &[&Value], last: bool) -> Result<Value> {
    let first = parts
        .first()
        .and_then(|p| p.as_record())
        .ok_or_else(|| Error::internal("describe: no partials"))?;
    let mut out = Vec::new();
    for (name, _) in first.iter() {
        let mut xs: Vec<f64> = Vec::new();
        for p in parts {
            xs.extend(
                p.get_field(name)
                    .and_then(Value::as_list)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(Value::as_f64),
            );
        }
        out.push((
            name.to_string(),
            if last {
                describe_column(xs)
            } else {
                Value::list(xs.into_iter().map(Value::Float).collect())
            },
        ));
    }
    Ok(Value::record(out))
}

/// count mean std min 25% 50% 75% max, quantiles by linear interpolation (pandas' default).
fn describe_column(mut xs: Vec<f64>) -> Value {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let opt = |x: Option<f64>| x.map_or(Value::Null, Value::Float);
    let mean = (n > 0).then(|| xs.iter().sum::<f64>() / n as f64);
    let std = mean
        .filter(|_| n > 1)
        .map(|m| (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64).sqrt());
    let q = |p: f64| -> Option<f64> {
        let pos = p * (n.checked_sub(1)? as f64);
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        let (a, b) = (*xs.get(lo)?, *xs.get(hi)?);
        Some(a + (b - a) * (pos - lo as f64))
    };
    Value::record(vec![
        ("count", Value::Float(n as f64)),
        ("mean", opt(mean)),
        ("std", opt(std)),
        ("min", opt(xs.first().copied())),
        ("25%", opt(q(0.25))),
        ("50%", opt(q(0.5))),
        ("75%", opt(q(0.75))),
        ("max", opt(xs.last().copied())),
    ])
}

/// The rows as CSV text with a header, by Arrow's CSV writer (nulls as empty fields).
pub fn to_csv(batch: &RecordBatch) -> Result<String> {
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut w = arrow_csv::WriterBuilder::new().with_header(true).build(&mut buf);
        w.write(batch).map_err(|e| Error::value(format!("to_csv: {e}")))?;
    }
    String::from_utf8(buf).map_err(|e| Error::internal(format!("to_csv: {e}")))
}

/// `func` applied to each row (a record), giving a record per row with `schema`.
pub fn map_rows(
    batch: &RecordBatch,
    func: &crate::expr::Function,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let rows = super::kernels::to_records(batch);
    let mut outs = Vec::with_capacity(rows.len());
    for r in &rows {
        let v = func.call1(r)?;
        if v.as_record().is_none() {
            return Err(Error::type_error(format!(
                "map_partitions: {} returned {} ({}), not a record",
                func.source(),
                v,
                v.type_name()
            )));
        }
        outs.push(v);
    }
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let vals: Vec<Value> = outs
                .iter()
                .map(|o| o.get_field(f.name()).cloned().unwrap_or(Value::Null))
                .collect();
            array_of(f.data_type(), &vals, f.name(), "map_partitions")
        })
        .collect::<Result<Vec<_>>>()?;
    with_schema(schema, cols, "map_partitions")
}

/// A bag partition of records as a batch with `schema`.
pub fn records_to_batch(items: &[Value], schema: &SchemaRef, op: &str) -> Result<RecordBatch> {
    for (i, v) in items.iter().enumerate() {
        if v.as_record().is_none() {
            return Err(Error::type_error(format!(
                "{op}: item {i} is {v} ({}), not a record",
                v.type_name()
            )));
        }
    }
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let vals: Vec<Value> = items
                .iter()
                .map(|o| o.get_field(f.name()).cloned().unwrap_or(Value::Null))
                .collect();
            array_of(f.data_type(), &vals, f.name(), op)
        })
        .collect::<Result<Vec<_>>>()?;
    with_schema(schema, cols, op)
}

/// The dtype Dask would infer for values of a column (int64, float64, bool, string);
/// None when every value is null.
pub fn infer_dtype(values: &[&Value], column: &str, op: &str) -> Result<Option<DataType>> {
    let mut t: Option<DataType> = None;
    for v in values {
        let this = match v {
            Value::Null => continue,
            Value::Bool(_) => DataType::Boolean,
            Value::Int(_) => DataType::Int64,
            Value::Float(_) => DataType::Float64,
            Value::Str(_) => DataType::Utf8,
            other => {
                return Err(Error::type_error(format!(
                    "{op}: column '{column}' holds {other} ({}), not a number, bool, string or null",
                    other.type_name()
                )))
            }
        };
        t = Some(match (t, this) {
            (None, b) => b,
            (Some(a), b) if a == b => a,
            (Some(DataType::Int64), DataType::Float64) | (Some(DataType::Float64), DataType::Int64) => {
                DataType::Float64
            }
            (Some(a), b) => {
                return Err(Error::type_error(format!(
                    "{op}: column '{column}' mixes {} and {}",
                    dtype_name(&a),
                    dtype_name(&b)
                )))
            }
        });
    }
    Ok(t)
}

#[cfg(test)]
mod value_counts_tests {
    use super::*;
    use arrow_array::StringArray;

    #[test]
    fn fast_value_counts_equal_the_general_ones() {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![
                Some(3),
                None,
                Some(-1),
                Some(3),
                Some(i64::MAX),
                None,
            ])),
            Arc::new(Int64Array::from(Vec::<i64>::new())),
            Arc::new(Int64Array::from(vec![None, None])),
            Arc::new(Int64Array::from(vec![7; 5])),
            Arc::new(StringArray::from(vec![
                Some("x"),
                None,
                Some(""),
                Some("x"),
                Some("y"),
            ])),
        ];
        for c in columns {
            let schema = Schema::new(vec![Field::new("c", c.data_type().clone(), true)]);
            let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::clone(&c)]).unwrap();
            assert_eq!(
                value_counts_part(&batch, "c").unwrap(),
                value_counts_general(&c),
                "{c:?}"
            );
        }
    }
}
