//! Per-partition dataframe kernels on Arrow RecordBatches: building batches from records and
//! CSV text, selecting, filtering with column-wise predicates, and the partial and final
//! steps of column reductions.

use crate::error::{Error, Result};
use crate::value::Value;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use serde_json::Value as Json;
use std::sync::Arc;

/// The pandas name of an Arrow type, as `df.dtypes` shows it.
pub fn dtype_name(t: &DataType) -> String {
    match t {
        DataType::Int64 => "int64".into(),
        DataType::Float64 => "float64".into(),
        DataType::Boolean => "bool".into(),
        DataType::Utf8 => "string".into(),
        DataType::Null => "object".into(),
        other => other.to_string(),
    }
}

/// One column's type from JSON values: bool, int64, float64 or string; nulls anywhere.
fn infer_column(name: &str, values: &[&Json]) -> Result<DataType> {
    let mut t = DataType::Null;
    for (row, v) in values.iter().enumerate() {
        let this = match v {
            Json::Null => continue,
            Json::Bool(_) => DataType::Boolean,
            Json::Number(n) if n.is_i64() => DataType::Int64,
            Json::Number(_) => DataType::Float64,
            Json::String(_) => DataType::Utf8,
            other => {
                return Err(Error::type_error(format!(
                    "from_records: column '{name}' row {row} holds {other}, which is not a number, bool, string or null"
                )))
            }
        };
        t = match (&t, &this) {
            (DataType::Null, _) => this,
            (a, b) if a == b => t,
            (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => DataType::Float64,
            (a, b) => {
                return Err(Error::type_error(format!(
                    "from_records: column '{name}' mixes {} and {} (row {row})",
                    dtype_name(a),
                    dtype_name(b)
                )))
            }
        };
    }
    // A column of nulls only is float64 (NaN), as pandas makes it.
    Ok(if t == DataType::Null { DataType::Float64 } else { t })
}

/// The schema of a list of records: columns in first-seen key order.
pub fn infer_schema(records: &[Json]) -> Result<SchemaRef> {
    let mut names: Vec<String> = Vec::new();
    for (row, r) in records.iter().enumerate() {
        let obj = r.as_object().ok_or_else(|| {
            Error::type_error(format!(
                "from_records: row {row} is {r}, not a record (an object)"
            ))
        })?;
        for k in obj.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let mut fields = Vec::with_capacity(names.len());
    for name in &names {
        let values: Vec<&Json> = records
            .iter()
            .map(|r| r.get(name).unwrap_or(&Json::Null))
            .collect();
        fields.push(Field::new(name, infer_column(name, &values)?, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// A batch of `records` with `schema` (missing keys are nulls).
pub fn batch_from_records(records: &[Json], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let get = |r: &Json| r.get(f.name()).cloned().unwrap_or(Json::Null);
        let col: ArrayRef = match f.data_type() {
            DataType::Boolean => Arc::new(BooleanArray::from(
                records.iter().map(|r| get(r).as_bool()).collect::<Vec<_>>(),
            )),
            DataType::Int64 => Arc::new(Int64Array::from(
                records.iter().map(|r| get(r).as_i64()).collect::<Vec<_>>(),
            )),
            DataType::Float64 => Arc::new(Float64Array::from(
                records.iter().map(|r| get(r).as_f64()).collect::<Vec<_>>(),
            )),
            _ => Arc::new(StringArray::from(
                records
                    .iter()
                    .map(|r| get(r).as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            )),
        };
        columns.push(col);
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| Error::internal(format!("from_records: {e}")))
}

/// The schema dd.read_csv would give: from the header and the first rows.
pub fn csv_schema(text: &str) -> Result<SchemaRef> {
    let format = arrow_csv::reader::Format::default().with_header(true);
    let (schema, _) = format
        .infer_schema(std::io::Cursor::new(text.as_bytes()), Some(1000))
        .map_err(|e| Error::value(format!("read_csv: {e}")))?;
    // Arrow infers ints as int64 and decimals as float64 already; empty columns are Utf8.
    Ok(Arc::new(schema))
}

/// Byte ranges of `text` of about `blocksize` bytes each, cut after a newline, as
/// dd.read_csv cuts files into blocks. The first range holds the header.
pub fn csv_blocks(text: &str, blocksize: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let header_end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |p| p + 1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start.max(header_end) + blocksize.max(1)).min(bytes.len());
        while end < bytes.len() && bytes.get(end - 1) != Some(&b'\n') {
            end += 1;
        }
        out.push((start, end));
        start = end;
    }
    if out.is_empty() {
        out.push((0, 0));
    }
    out
}

/// Parses the block `start..end` of CSV `text` with the given schema. With `read`, the
/// text columns not named in it are skipped (columns that can fail to parse are always
/// read, so errors stay the same). Plain blocks take the fast reader of `csv`; others,
/// and any block it declines, go through arrow-csv.
pub fn read_csv_block(
    text: &str,
    (start, end): (usize, usize),
    header: bool,
    schema: &SchemaRef,
    read: Option<&[String]>,
) -> Result<RecordBatch> {
    let block = text
        .get(start..end)
        .ok_or_else(|| Error::internal(format!("read_csv: no block at bytes {start}..{end}")))?;
    // A name the schema lacks means the next op will fail: keep every column so its
    // error lists them all.
    let read = read.filter(|r| r.iter().all(|c| schema.index_of(c).is_ok()));
    let mut keep: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            *f.data_type() != DataType::Utf8 || read.is_none_or(|r| r.iter().any(|c| c == f.name()))
        })
        .map(|(i, _)| i)
        .collect();
    if keep.is_empty() {
        keep = (0..schema.fields().len()).collect();
    }
    if let Some(batch) = super::csv::read_plain_block(block, header, schema, &keep) {
        return Ok(batch);
    }
    let fail = |e: arrow_schema::ArrowError| {
        // Line numbers are counted only for an error: the block's first line in the text.
        let first_line = 1 + text
            .get(..start)
            .map_or(0, |t| t.bytes().filter(|b| *b == b'\n').count());
        Error::value(format!(
            "read_csv: {}",
            relocate_lines(&e.to_string(), first_line)
        ))
    };
    // The reader sizes its buffers by the batch size: ask for the block's lines (one
    // batch) rather than a fixed large count that it would allocate and clear.
    let lines = block.bytes().filter(|b| *b == b'\n').count() + 1;
    let reader = arrow_csv::ReaderBuilder::new(Arc::clone(schema))
        .with_header(header)
        .with_batch_size(lines.min(1 << 20))
        .with_projection(keep.clone())
        .build(std::io::Cursor::new(block.as_bytes()))
        .map_err(fail)?;
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b.map_err(fail)?);
    }
    match batches.as_slice() {
        [one] => Ok(one.clone()),
        _ => {
            let projected = Arc::new(
                schema
                    .project(&keep)
                    .map_err(|e| Error::internal(format!("read_csv: {e}")))?,
            );
            concat(&projected, &batches)
        }
    }
}

/// Arrow numbers lines from the start of the block it read; shift "line N" by the
/// block's place in the whole text.
fn relocate_lines(message: &str, first_line: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("line ") {
        let (before, after) = rest.split_at(i + 5);
        out.push_str(before);
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            out.push_str(&(n + first_line - 1).to_string());
        }
        rest = after.get(digits.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The inferred schema with some columns' dtypes given (`dtype={'id': 'string'}`).
pub fn override_dtypes(schema: &SchemaRef, dtypes: &serde_json::Map<String, Json>) -> Result<SchemaRef> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| (**f).clone()).collect();
    for (col, t) in dtypes {
        let t = t.as_str().unwrap_or_default();
        let dt = match t {
            "int64" | "int" => DataType::Int64,
            "float64" | "float" => DataType::Float64,
            "bool" | "boolean" => DataType::Boolean,
            "string" | "str" | "object" => DataType::Utf8,
            other => {
                return Err(Error::value(format!(
                    "read_csv: unknown dtype '{other}' for column '{col}'; the dtypes are int64, float64, bool, string"
                )))
            }
        };
        let f = fields.iter_mut().find(|f| f.name() == col).ok_or_else(|| {
            Error::value(format!(
                "read_csv: dtype names column '{col}'; the columns are {}",
                names.join(", ")
            ))
        })?;
        *f = f.clone().with_data_type(dt);
    }
    Ok(Arc::new(Schema::new(fields)))
}

pub fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    arrow_select::concat::concat_batches(schema, batches).map_err(|e| Error::internal(format!("concat: {e}")))
}

/// The batch with only `columns`, in that order.
pub fn select(batch: &RecordBatch, columns: &[String]) -> Result<RecordBatch> {
    let idx = columns
        .iter()
        .map(|c| {
            batch
                .schema()
                .index_of(c)
                .map_err(|_| Error::value(format!("select: no column '{c}'")))
        })
        .collect::<Result<Vec<_>>>()?;
    batch
        .project(&idx)
        .map_err(|e| Error::internal(format!("select: {e}")))
}

/// A comparison operator of a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn parse(s: &str) -> Option<CmpOp> {
        Some(match s {
            "eq" | "==" => CmpOp::Eq,
            "ne" | "!=" => CmpOp::Ne,
            "lt" | "<" => CmpOp::Lt,
            "le" | "<=" => CmpOp::Le,
            "gt" | ">" => CmpOp::Gt,
            "ge" | ">=" => CmpOp::Ge,
            _ => return None,
        })
    }
}

/// The right side of a comparison: a column of the left side's length, or one value for
/// every row.
#[derive(Clone, Copy)]
pub enum Right<'a> {
    Column(&'a ArrayRef),
    Value(&'a ArrayRef),
}

/// Compares `left` with `right` row by row as pandas does. Floats compare with IEEE
/// semantics, so NaN is false except for `!=` (Arrow's kernels order NaN above every
/// number). A missing value equals nothing: `!=` is true there, the others missing (which
/// drops the row in a filter). Both predicates and row expressions compare through here.
pub fn compare(op: CmpOp, left: &ArrayRef, right: Right) -> std::result::Result<BooleanArray, ArrowError> {
    let (Right::Column(r) | Right::Value(r)) = right;
    let one = matches!(right, Right::Value(_));
    let out = match (
        left.as_primitive_opt::<Float64Type>(),
        r.as_primitive_opt::<Float64Type>(),
    ) {
        (Some(x), Some(r)) => ieee(op, x, r, one)?,
        _ => {
            let scalar;
            let right: &dyn arrow_array::Datum = match right {
                Right::Column(c) => c,
                Right::Value(v) => {
                    scalar = arrow_array::Scalar::new(Arc::clone(v));
                    &scalar
                }
            };
            match op {
                CmpOp::Eq => arrow_ord::cmp::eq(left, right),
                CmpOp::Ne => arrow_ord::cmp::neq(left, right),
                CmpOp::Lt => arrow_ord::cmp::lt(left, right),
                CmpOp::Le => arrow_ord::cmp::lt_eq(left, right),
                CmpOp::Gt => arrow_ord::cmp::gt(left, right),
                CmpOp::Ge => arrow_ord::cmp::gt_eq(left, right),
            }?
        }
    };
    if op == CmpOp::Ne && out.null_count() > 0 {
        let missing = arrow_arith::boolean::is_null(&out)?;
        arrow_arith::boolean::or_kleene(&out, &missing)
    } else {
        Ok(out)
    }
}

/// IEEE comparison of float columns in one pass; `one` means `r` holds one value for every
/// row. Missing on either side is missing in the result.
fn ieee(
    op: CmpOp,
    x: &Float64Array,
    r: &Float64Array,
    one: bool,
) -> std::result::Result<BooleanArray, ArrowError> {
    fn run(x: &Float64Array, r: &Float64Array, one: bool, f: impl Fn(f64, f64) -> bool) -> BooleanArray {
        if !one {
            // Lengths are equal: checked below.
            return BooleanArray::from_binary(x, r, f);
        }
        // One value (checked below); a missing one matches no row.
        match r.iter().next().flatten() {
            Some(v) => against_one(x, v, f),
            None => BooleanArray::new_null(x.len()),
        }
    }
    /// `f(x[i], v)` for every row, 64 rows to a word of the mask, built from fixed-size
    /// chunks the compiler unrolls into vector compares. Arrow's `from_unary` shifts each
    /// row's bit by a variable amount, which wasm ran at a quarter of W3b's time; this
    /// took W3b from 0.071 to 0.048 seconds in the threaded bundle (natively 0.027 to
    /// 0.024).
    #[inline(always)]
    fn against_one(x: &Float64Array, v: f64, f: impl Fn(f64, f64) -> bool) -> BooleanArray {
        let values: &[f64] = x.values();
        let bits = |rows: &[f64]| -> u64 {
            rows.iter()
                .enumerate()
                .fold(0u64, |w, (j, a)| w | (u64::from(f(*a, v)) << j))
        };
        // Eight rows to a byte with constant shifts, so the whole word unrolls.
        let word = |rows: &[f64; 64]| -> u64 {
            let mut w = 0u64;
            for (g, eight) in rows.chunks_exact(8).enumerate() {
                let mut byte = 0u64;
                for (j, a) in eight.iter().enumerate() {
                    byte |= u64::from(f(*a, v)) << j;
                }
                w |= byte << (8 * g);
            }
            w
        };
        let chunks = values.chunks_exact(64);
        let rest = chunks.remainder();
        let mut words: Vec<u64> = Vec::with_capacity(values.len().div_ceil(64));
        words.extend(chunks.map(|c| <&[f64; 64]>::try_from(c).map_or_else(|_| bits(c), word)));
        if !rest.is_empty() {
            words.push(bits(rest));
        }
        let mask = arrow_buffer::BooleanBuffer::new(arrow_buffer::Buffer::from_vec(words), 0, values.len());
        BooleanArray::new(mask, x.nulls().cloned())
    }
    if (one && r.len() != 1) || (!one && x.len() != r.len()) {
        return Err(ArrowError::InvalidArgumentError(format!(
            "cannot compare {} rows with {} values",
            x.len(),
            r.len()
        )));
    }
    Ok(match op {
        CmpOp::Eq => run(x, r, one, |a, b| a == b),
        CmpOp::Ne => run(x, r, one, |a, b| a != b),
        CmpOp::Lt => run(x, r, one, |a, b| a < b),
        CmpOp::Le => run(x, r, one, |a, b| a <= b),
        CmpOp::Gt => run(x, r, one, |a, b| a > b),
        CmpOp::Ge => run(x, r, one, |a, b| a >= b),
    })
}

/// A row filter evaluated column-wise with Arrow's kernels (the column builder's output:
/// `df.col('val').gt(0.5).and(df.col('cat').eq('a'))`).
#[derive(Debug, Clone)]
pub enum Predicate {
    Compare { column: String, op: CmpOp, value: Json },
    IsNull(String),
    NotNull(String),
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Not(Box<Predicate>),
}

impl Predicate {
    /// Reads `{col, op, value}`, `{isnull: col}`, `{notnull: col}`, `{and: [...]}`,
    /// `{or: [...]}`, `{not: p}`; checks column names against `columns`.
    pub fn from_json(v: &Json, columns: &[String]) -> Result<Predicate> {
        let bad = || Error::plan(format!("filter: cannot read the predicate {v}"));
        let col = |c: &Json| -> Result<String> {
            let name = c.as_str().ok_or_else(bad)?;
            if columns.iter().any(|x| x == name) {
                Ok(name.to_string())
            } else {
                Err(Error::value(format!(
                    "filter: no column '{name}'; the columns are {}",
                    columns.join(", ")
                )))
            }
        };
        let list = |items: &Json| -> Result<Vec<Predicate>> {
            items
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|p| Predicate::from_json(p, columns))
                .collect()
        };
        let obj = v.as_object().ok_or_else(bad)?;
        if let Some(c) = obj.get("col") {
            let op = obj
                .get("op")
                .and_then(Json::as_str)
                .and_then(CmpOp::parse)
                .ok_or_else(bad)?;
            let value = obj.get("value").cloned().unwrap_or(Json::Null);
            if !(value.is_number() || value.is_string() || value.is_boolean()) {
                return Err(Error::plan(format!(
                    "filter: compare column '{}' with a number, string or bool, not {value}",
                    c.as_str().unwrap_or("?")
                )));
            }
            return Ok(Predicate::Compare {
                column: col(c)?,
                op,
                value,
            });
        }
        if let Some(c) = obj.get("isnull") {
            return Ok(Predicate::IsNull(col(c)?));
        }
        if let Some(c) = obj.get("notnull") {
            return Ok(Predicate::NotNull(col(c)?));
        }
        if let Some(items) = obj.get("and") {
            return Ok(Predicate::And(list(items)?));
        }
        if let Some(items) = obj.get("or") {
            return Ok(Predicate::Or(list(items)?));
        }
        if let Some(p) = obj.get("not") {
            return Ok(Predicate::Not(Box::new(Predicate::from_json(p, columns)?)));
        }
        Err(bad())
    }

    /// The mask over `batch`: false (or null, which drops the row too) where a compared value
    /// is missing or NaN, except `!=`, which is true there, as in pandas.
    pub fn mask(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let column = |name: &str| -> Result<ArrayRef> {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| Error::value(format!("filter: no column '{name}'")))
        };
        let ak = |e: arrow_schema::ArrowError| Error::value(format!("filter: {e}"));
        Ok(match self {
            Predicate::Compare {
                column: name,
                op,
                value,
            } => {
                let c = column(name)?;
                let (left, right): (ArrayRef, ArrayRef) = match (c.data_type(), value) {
                    (DataType::Utf8, Json::String(s)) => (c, Arc::new(StringArray::from(vec![s.clone()]))),
                    (DataType::Boolean, Json::Bool(b)) => (c, Arc::new(BooleanArray::from(vec![*b]))),
                    (DataType::Int64, Json::Number(n)) if n.is_i64() => {
                        (c, Arc::new(Int64Array::from(vec![n.as_i64().unwrap_or(0)])))
                    }
                    (DataType::Int64 | DataType::Float64 | DataType::Boolean, Json::Number(n)) => (
                        to_f64_array(&c)?,
                        Arc::new(Float64Array::from(vec![n.as_f64().unwrap_or(f64::NAN)])),
                    ),
                    (t, v) => {
                        return Err(Error::type_error(format!(
                            "filter: cannot compare column '{name}' ({}) with {v}",
                            dtype_name(t)
                        )))
                    }
                };
                compare(*op, &left, Right::Value(&right)).map_err(ak)?
            }
            Predicate::IsNull(name) => arrow_arith::boolean::is_null(&column(name)?).map_err(ak)?,
            Predicate::NotNull(name) => arrow_arith::boolean::is_not_null(&column(name)?).map_err(ak)?,
            Predicate::And(items) | Predicate::Or(items) => {
                let and = matches!(self, Predicate::And(_));
                let mut acc = BooleanArray::from(vec![and; batch.num_rows()]);
                for p in items {
                    let m = p.mask(batch)?;
                    acc = if and {
                        arrow_arith::boolean::and_kleene(&acc, &m)
                    } else {
                        arrow_arith::boolean::or_kleene(&acc, &m)
                    }
                    .map_err(ak)?;
                }
                acc
            }
            Predicate::Not(p) => arrow_arith::boolean::not(&p.mask(batch)?).map_err(ak)?,
        })
    }
}

/// An int, float or bool column as float64 (for comparisons with a float). Converted by
/// hand: Arrow's general cast kernel would add megabytes to the wasm bundles.
fn to_f64_array(c: &ArrayRef) -> Result<ArrayRef> {
    Ok(match c.data_type() {
        DataType::Float64 => Arc::clone(c),
        DataType::Int64 => Arc::new(
            c.as_primitive::<Int64Type>()
                .unary::<_, Float64Type>(|x| x as f64),
        ),
        DataType::Boolean => Arc::new(
            c.as_boolean()
                .iter()
                .map(|b| b.map(|b| f64::from(u8::from(b))))
                .collect::<Float64Array>(),
        ),
        other => return Err(Error::internal(format!("not a numeric column: {other}"))),
    })
}

/// An int or bool column as int64.
fn to_i64_array(c: &ArrayRef) -> Result<Int64Array> {
    Ok(match c.data_type() {
        DataType::Int64 => c.as_primitive::<Int64Type>().clone(),
        DataType::Boolean => c.as_boolean().iter().map(|b| b.map(i64::from)).collect(),
        other => return Err(Error::internal(format!("not an int column: {other}"))),
    })
}

/// The rows where the predicate holds (pandas drops rows where it is NaN/null).
pub fn filter(batch: &RecordBatch, predicate: &Predicate) -> Result<RecordBatch> {
    let mask = predicate.mask(batch)?;
    arrow_select::filter::filter_record_batch(batch, &mask)
        .map_err(|e| Error::internal(format!("filter: {e}")))
}

/// `filter` when only `keep` columns of its result are read (the next step of a fused
/// chain): the mask comes from the whole batch, then only those columns are copied.
/// With a column missing it filters them all, so the next step reports the missing one.
pub fn filter_keeping(batch: &RecordBatch, predicate: &Predicate, keep: &[String]) -> Result<RecordBatch> {
    let mask = predicate.mask(batch)?;
    let schema = batch.schema();
    let indices: Option<Vec<usize>> = keep.iter().map(|c| schema.index_of(c).ok()).collect();
    let projected = match indices {
        Some(mut idx) => {
            idx.sort_unstable();
            idx.dedup();
            batch
                .project(&idx)
                .map_err(|e| Error::internal(format!("filter: {e}")))?
        }
        None => batch.clone(),
    };
    arrow_select::filter::filter_record_batch(&projected, &mask)
        .map_err(|e| Error::internal(format!("filter: {e}")))
}

/// Column reductions, numeric_only as `df.sum(numeric_only=True)`; count counts the
/// non-null values of every column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameReduce {
    Sum,
    Mean,
    Count,
    Min,
    Max,
    /// The number of rows (`len(df)`).
    Len,
}

impl FrameReduce {
    pub fn name(self) -> &'static str {
        match self {
            FrameReduce::Sum => "sum",
            FrameReduce::Mean => "mean",
            FrameReduce::Count => "count",
            FrameReduce::Min => "min",
            FrameReduce::Max => "max",
            FrameReduce::Len => "len",
        }
    }
}

/// Per column: [count, sum, min, max] (sum, min, max as int for int and bool columns).
pub fn reduce_part(batch: &RecordBatch) -> Result<Value> {
    let mut fields: Vec<(String, Value)> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let count = Value::Int((c.len() - c.null_count()) as i64);
        let stats = match c.data_type() {
            DataType::Float64 => {
                let a = c.as_primitive::<Float64Type>();
                let (n, sum, min, max) = if a.null_count() == 0 {
                    float_summary(a.values().iter().copied())
                } else {
                    float_summary(a.iter().flatten())
                };
                let opt = |x: Option<f64>| x.map_or(Value::Null, Value::Float);
                vec![Value::Int(n), Value::Float(sum), opt(min), opt(max)]
            }
            DataType::Int64 | DataType::Boolean => {
                let a = to_i64_array(c)?;
                let opt = |x: Option<i64>| x.map_or(Value::Null, Value::Int);
                vec![
                    count,
                    Value::Int(a.iter().flatten().fold(0i64, i64::wrapping_add)),
                    opt(a.iter().flatten().min()),
                    opt(a.iter().flatten().max()),
                ]
            }
            // String columns only count their non-null values.
            _ => vec![count],
        };
        fields.push((f.name().clone(), Value::list(stats)));
    }
    fields.push(("__rows__".to_string(), Value::Int(batch.num_rows() as i64)));
    Ok(Value::record(fields))
}

/// The count, sum, min and max of the values that are not NaN, in one pass in row order
/// (the sum adds as `Iterator::sum` does).
fn float_summary(values: impl Iterator<Item = f64>) -> (i64, f64, Option<f64>, Option<f64>) {
    // Infinities start min and max so the loop has no branch on the first value.
    let (mut n, mut min, mut max) = (0i64, f64::INFINITY, f64::NEG_INFINITY);
    let sum = values
        .filter(|x| !x.is_nan())
        .inspect(|&x| {
            n += 1;
            // Comparisons, not `f64::min`: with NaN filtered out they agree, and wasm has
            // no instruction for Rust's NaN-ignoring min, so that one is a call to `fmin`.
            if x < min {
                min = x;
            }
            if x > max {
                max = x;
            }
        })
        .sum();
    let seen = |x: f64| (n > 0).then_some(x);
    (n, sum, seen(min), seen(max))
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// Merges partials (the same columns in each).
pub fn reduce_combine(parts: &[&Value]) -> Result<Value> {
    let first = parts
        .first()
        .and_then(|p| p.as_record())
        .ok_or_else(|| Error::internal("dataframe reduction: no partials"))?;
    let mut out: Vec<(String, Value)> = Vec::new();
    for (name, _) in first.iter() {
        let cols: Vec<&Value> = parts.iter().filter_map(|p| p.get_field(name)).collect();
        if &**name == "__rows__" {
            out.push((
                name.to_string(),
                Value::Int(cols.iter().filter_map(|v| v.as_i64()).sum()),
            ));
            continue;
        }
        let lists: Vec<&[Value]> = cols.iter().filter_map(|v| v.as_list()).collect();
        let count: i64 = lists
            .iter()
            .filter_map(|l| l.first().and_then(Value::as_i64))
            .sum();
        let numeric = lists.iter().all(|l| l.len() == 4);
        if !numeric {
            out.push((name.to_string(), Value::list(vec![Value::Int(count)])));
            continue;
        }
        let ints = lists.iter().all(|l| !matches!(l.get(1), Some(Value::Float(_))));
        let pick = |i: usize, better: fn(f64, f64) -> bool| -> Value {
            let mut best: Option<&Value> = None;
            for l in &lists {
                if let Some(v) = l.get(i).filter(|v| !v.is_null()) {
                    if best.is_none_or(|b| better(num(Some(v)).unwrap_or(0.0), num(Some(b)).unwrap_or(0.0))) {
                        best = Some(v);
                    }
                }
            }
            best.cloned().unwrap_or(Value::Null)
        };
        let sum = if ints {
            Value::Int(
                lists
                    .iter()
                    .filter_map(|l| l.get(1).and_then(Value::as_i64))
                    .fold(0, i64::wrapping_add),
            )
        } else {
            Value::Float(lists.iter().filter_map(|l| num(l.get(1))).sum())
        };
        out.push((
            name.to_string(),
            Value::list(vec![
                Value::Int(count),
                sum,
                pick(2, |a, b| a < b),
                pick(3, |a, b| a > b),
            ]),
        ));
    }
    Ok(Value::record(out))
}

/// The final result from merged partials: a record of column -> value (a pandas Series),
/// or the row count for `Len`.
pub fn reduce_finish(merged: &Value, kind: FrameReduce) -> Result<Value> {
    let rec = merged
        .as_record()
        .ok_or_else(|| Error::internal("dataframe reduction: the partial is not a record"))?;
    if kind == FrameReduce::Len {
        return Ok(merged.get_field("__rows__").cloned().unwrap_or(Value::Int(0)));
    }
    let mut out: Vec<(String, Value)> = Vec::new();
    for (name, stats) in rec.iter() {
        if &**name == "__rows__" {
            continue;
        }
        let l = stats.as_list().unwrap_or(&[]);
        let count = l.first().and_then(Value::as_i64).unwrap_or(0);
        if kind == FrameReduce::Count {
            out.push((name.to_string(), Value::Int(count)));
            continue;
        }
        if l.len() != 4 {
            continue; // numeric_only
        }
        let v = match kind {
            FrameReduce::Sum => l.get(1).cloned().unwrap_or(Value::Null),
            FrameReduce::Mean if count > 0 => Value::Float(num(l.get(1)).unwrap_or(0.0) / count as f64),
            FrameReduce::Mean => Value::Null,
            FrameReduce::Min => l.get(2).cloned().unwrap_or(Value::Null),
            FrameReduce::Max => l.get(3).cloned().unwrap_or(Value::Null),
            FrameReduce::Count | FrameReduce::Len => Value::Null,
        };
        out.push((name.to_string(), v));
    }
    Ok(Value::record(out))
}

/// One cell as a value: NaN and nulls (and rows past the end) are null, so NaN keys
/// match as pandas matches them; other Arrow types show their type.
pub fn cell(c: &ArrayRef, row: usize) -> Value {
    if row >= c.len() || c.is_null(row) {
        return Value::Null;
    }
    match c.data_type() {
        DataType::Int64 => Value::Int(c.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => {
            let x = c.as_primitive::<Float64Type>().value(row);
            if x.is_nan() {
                Value::Null
            } else {
                Value::Float(x)
            }
        }
        DataType::Boolean => Value::Bool(c.as_boolean().value(row)),
        DataType::Utf8 => Value::str(c.as_string::<i32>().value(row)),
        other => Value::str(format!("<{other}>")),
    }
}

/// Rows as records (column order kept); NaN and nulls become null.
pub fn to_records(batch: &RecordBatch) -> Vec<Value> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|row| {
            Value::record(schema.fields().iter().zip(batch.columns()).map(|(f, c)| {
                let v = cell(c, row);
                (f.name().clone(), v)
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int64Array, StringArray};

    #[test]
    fn compare_follows_pandas_on_nan_and_missing() {
        let x: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(f64::NAN),
            None,
            Some(3.0),
        ]));
        let one: ArrayRef = Arc::new(Float64Array::from(vec![2.0]));
        let col: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(1.0), Some(1.0), None]));
        let kept = |m: BooleanArray| {
            (0..m.len())
                .map(|i| m.is_valid(i) && m.value(i))
                .collect::<Vec<_>>()
        };
        let cases = [
            (CmpOp::Lt, [true, false, false, false]),
            (CmpOp::Ge, [false, false, false, true]),
            (CmpOp::Eq, [false, false, false, false]),
            (CmpOp::Ne, [true, true, true, true]),
        ];
        for (op, want) in cases {
            assert_eq!(
                kept(compare(op, &x, Right::Value(&one)).unwrap()),
                want,
                "{op:?} with a value"
            );
        }
        // Row by row: 1 == 1, NaN != 1, missing, and 3 against missing.
        assert_eq!(
            kept(compare(CmpOp::Eq, &x, Right::Column(&col)).unwrap()),
            [true, false, false, false]
        );
        assert_eq!(
            kept(compare(CmpOp::Ne, &x, Right::Column(&col)).unwrap()),
            [false, true, true, true]
        );
        // Strings go through Arrow's kernels with the same rule for missing values.
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("b")]));
        let a: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert_eq!(
            kept(compare(CmpOp::Ne, &s, Right::Value(&a)).unwrap()),
            [false, true, true]
        );
        assert_eq!(
            kept(compare(CmpOp::Le, &s, Right::Value(&a)).unwrap()),
            [true, false, false]
        );
        // A missing value to compare with matches no row, except through `!=`.
        let none: ArrayRef = Arc::new(Float64Array::from(vec![None::<f64>]));
        assert_eq!(
            kept(compare(CmpOp::Gt, &x, Right::Value(&none)).unwrap()),
            [false; 4]
        );
        assert_eq!(
            kept(compare(CmpOp::Ne, &x, Right::Value(&none)).unwrap()),
            [true; 4]
        );
        // Empty columns (here with a validity buffer, as a slice keeps it) give an empty mask.
        let empty: ArrayRef = Arc::new(Float64Array::from(vec![None::<f64>]).slice(0, 0));
        assert_eq!(
            compare(CmpOp::Lt, &empty, Right::Column(&empty)).unwrap().len(),
            0
        );
        // Columns of different lengths are an error, not a panic.
        let short: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0]));
        assert!(compare(CmpOp::Lt, &x, Right::Column(&short)).is_err());
        assert!(compare(CmpOp::Lt, &x, Right::Value(&short)).is_err());
    }

    /// The mask against one value is built 64 rows to a word: every length around the
    /// word's edges, slices that start inside a word, NaN, infinities, signed zeros and
    /// missing rows give what a row-by-row IEEE compare gives.
    #[test]
    fn compare_with_one_value_matches_row_by_row_at_every_length() {
        let pool = [
            0.5,
            -0.0,
            0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.25,
            0.75,
            1e300,
            -3.0,
        ];
        let ops = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];
        let ieee = |op: CmpOp, a: f64, b: f64| match op {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        };
        let mut seed = 7u64;
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200, 1000] {
            let rows: Vec<Option<f64>> = (0..len + 5)
                .map(|_| {
                    seed = crate::bench::mix64(seed);
                    let v = pool[(seed % pool.len() as u64) as usize];
                    (seed % 11 != 0).then_some(v)
                })
                .collect();
            let whole = Float64Array::from(rows.clone());
            for start in [0, 3] {
                let x: ArrayRef = Arc::new(whole.slice(start, len));
                for v in [0.5, 0.0, f64::NAN, f64::INFINITY] {
                    let one: ArrayRef = Arc::new(Float64Array::from(vec![v]));
                    for op in ops {
                        let got = compare(op, &x, Right::Value(&one)).unwrap();
                        assert_eq!(got.len(), len);
                        for (i, row) in rows[start..start + len].iter().enumerate() {
                            // A missing row is missing, except through `!=`, where it is true.
                            let want = match row {
                                Some(a) => Some(ieee(op, *a, v)),
                                None if op == CmpOp::Ne => Some(true),
                                None => None,
                            };
                            let have = got.is_valid(i).then(|| got.value(i));
                            assert_eq!(have, want, "{op:?} {v} at row {i} of {len} from {start}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn filter_keeping_copies_only_the_kept_columns() {
        let schema = Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("cat", DataType::Utf8, true),
            Field::new("val", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
                Arc::new(Float64Array::from(vec![Some(0.9), Some(0.7), Some(f64::NAN)])),
            ],
        )
        .unwrap();
        let columns: Vec<String> = ["k", "cat", "val"].iter().map(|c| c.to_string()).collect();
        let p = Predicate::from_json(
            &serde_json::json!({"col": "val", "op": "gt", "value": 0.8}),
            &columns,
        )
        .unwrap();
        let all = filter(&batch, &p).unwrap();
        let kept = filter_keeping(&batch, &p, &["cat".to_string()]).unwrap();
        assert_eq!(kept.num_columns(), 1);
        assert_eq!(kept.column(0), all.column(1));
        // A missing column keeps every column, so the next step can name it.
        let missing = filter_keeping(&batch, &p, &["nope".to_string()]).unwrap();
        assert_eq!(missing, all);
    }
}
