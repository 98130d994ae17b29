//! Lowering of the dataframe ops beyond the first slice: creation from columns, arrays
//! and bags; partitions and tail; expression filters and assign; rename, drop, astype,
//! fillna, dropna, isnull, map_partitions; drop_duplicates, std/var, nunique,
//! value_counts and describe as tree reductions; to_csv. `Step` is their task data.

use super::columnar::RowExpr;
use super::{op_label, partitions, FrameMeta, FrameOp};
use crate::error::{Error, Result};
use crate::expr::Function;
use crate::graph::{Key, LayerKind, TaskId};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::{ArrayChunk, Partition};
use crate::registry::Kind;
use crate::value::Value;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::Value as Json;
use std::sync::Arc;

use super::kernels::dtype_name;
use super::rows;

/// A task of the ops in this file.
#[derive(Debug, Clone)]
pub enum Step {
    Identity,
    Query(Arc<RowExpr>),
    Assign(Arc<Vec<(String, RowExpr)>>, SchemaRef),
    Rename(SchemaRef),
    AsType(SchemaRef),
    FillNa(Arc<Vec<(String, Value)>>, SchemaRef),
    DropNa {
        subset: Arc<Vec<String>>,
        all: bool,
    },
    IsNull(SchemaRef),
    Tail(usize),
    MapRows(Function, SchemaRef),
    FromBag(SchemaRef),
    /// Rows of 1-D or 2-D array blocks (one row chunk, its column blocks in order).
    FromArray(SchemaRef),
    Distinct(Option<Arc<Vec<String>>>),
    ValueCountsPart(String),
    ValueCountsCombine {
        last: bool,
        column: String,
        dtype: DataType,
    },
    NuniquePart,
    NuniqueCombine {
        last: bool,
    },
    MomentsPart,
    MomentsCombine {
        last: Option<(usize, bool)>,
    },
    DescribePart,
    DescribeCombine {
        last: bool,
    },
    ToCsv,
    ToIpc,
}

impl Step {
    pub fn name(&self) -> String {
        match self {
            Step::Identity => "partitions",
            Step::Query(_) => "query",
            Step::Assign(..) => "assign",
            Step::Rename(_) => "rename",
            Step::AsType(_) => "astype",
            Step::FillNa(..) => "fillna",
            Step::DropNa { .. } => "dropna",
            Step::IsNull(_) => "isnull",
            Step::Tail(_) => "tail",
            Step::MapRows(..) => "map-partitions",
            Step::FromBag(_) => "to-dataframe",
            Step::FromArray(_) => "from-array",
            Step::Distinct(_) => "drop-duplicates",
            Step::ValueCountsPart(_) => "value-counts-chunk",
            Step::ValueCountsCombine { .. } => "value-counts-aggregate",
            Step::NuniquePart => "nunique-chunk",
            Step::NuniqueCombine { .. } => "nunique-aggregate",
            Step::MomentsPart => "var-chunk",
            Step::MomentsCombine { .. } => "var-aggregate",
            Step::DescribePart => "describe-chunk",
            Step::DescribeCombine { .. } => "describe-aggregate",
            Step::ToCsv => "to-csv",
            Step::ToIpc => "to-ipc",
        }
        .into()
    }

    pub fn takes_list(&self) -> bool {
        matches!(
            self,
            Step::ValueCountsCombine { .. }
                | Step::NuniqueCombine { .. }
                | Step::MomentsCombine { .. }
                | Step::DescribeCombine { .. }
                | Step::Distinct(_)
                | Step::ToCsv
                | Step::ToIpc
                | Step::FromArray(_)
        )
    }

    pub fn fusable(&self) -> bool {
        !self.takes_list() && !matches!(self, Step::Tail(_))
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
        let frames = || -> Result<Vec<&RecordBatch>> { (0..inputs.len()).map(frame).collect() };
        let values = || -> Result<Vec<&Value>> { inputs.iter().map(|p| p.as_value(&name)).collect() };
        Ok(match self {
            Step::Identity => Partition::Frame(frame(0)?.clone()),
            Step::Query(e) => {
                let b = frame(0)?;
                let mask = e.mask(b, "query")?;
                Partition::Frame(
                    arrow_select::filter::filter_record_batch(b, &mask)
                        .map_err(|e| Error::internal(format!("query: {e}")))?,
                )
            }
            Step::Assign(exprs, schema) => {
                let b = frame(0)?;
                let mut cols: Vec<ArrayRef> = b.columns().to_vec();
                let old = b.schema();
                for (col, e) in exprs.iter() {
                    let a = e.evaluate(b)?;
                    match old.index_of(col) {
                        Ok(i) => {
                            if let Some(slot) = cols.get_mut(i) {
                                *slot = a;
                            }
                        }
                        Err(_) => cols.push(a),
                    }
                }
                Partition::Frame(
                    RecordBatch::try_new(Arc::clone(schema), cols)
                        .map_err(|e| Error::internal(format!("assign: {e}")))?,
                )
            }
            Step::Rename(s) => Partition::Frame(rows::rename(frame(0)?, s)?),
            Step::AsType(s) => Partition::Frame(rows::astype(frame(0)?, s)?),
            Step::FillNa(fills, s) => Partition::Frame(rows::fillna(frame(0)?, fills, s)?),
            Step::DropNa { subset, all } => Partition::Frame(rows::dropna(frame(0)?, subset, *all)?),
            Step::IsNull(s) => Partition::Frame(rows::isnull(frame(0)?, s)?),
            Step::Tail(n) => Partition::Frame(rows::tail(frame(0)?, *n)),
            Step::MapRows(f, s) => Partition::Frame(rows::map_rows(frame(0)?, f, s)?),
            Step::FromBag(s) => match inputs.first().map(|p| &**p) {
                Some(Partition::Bag(items)) => {
                    Partition::Frame(rows::records_to_batch(items, s, "to_dataframe")?)
                }
                _ => return Err(Error::internal("to_dataframe: expected a bag partition")),
            },
            Step::FromArray(s) => Partition::Frame(array_rows(inputs, s)?),
            Step::Distinct(subset) => {
                Partition::Frame(rows::distinct(&frames()?, subset.as_ref().map(|s| s.as_slice()))?)
            }
            Step::ValueCountsPart(c) => Partition::Value(rows::value_counts_part(frame(0)?, c)?),
            Step::ValueCountsCombine { last: false, .. } => {
                Partition::Value(rows::value_counts_combine(&values()?))
            }
            Step::ValueCountsCombine { column, dtype, .. } => {
                Partition::Frame(rows::value_counts_finish(&values()?, column, dtype)?)
            }
            Step::NuniquePart => Partition::Value(rows::nunique_part(frame(0)?)),
            Step::NuniqueCombine { last } => Partition::Value(rows::nunique_combine(&values()?, *last)?),
            Step::MomentsPart => Partition::Value(rows::moments_part(frame(0)?)),
            Step::MomentsCombine { last } => Partition::Value(rows::moments_combine(&values()?, *last)?),
            Step::DescribePart => Partition::Value(rows::describe_part(frame(0)?)),
            Step::DescribeCombine { last } => Partition::Value(rows::describe_combine(&values()?, *last)?),
            Step::ToCsv | Step::ToIpc => {
                let owned: Vec<RecordBatch> = frames()?.into_iter().cloned().collect();
                let schema = owned
                    .first()
                    .map(RecordBatch::schema)
                    .ok_or_else(|| Error::internal(format!("{name}: no partitions")))?;
                let all = super::kernels::concat(&schema, &owned)?;
                Partition::Value(Value::str(if matches!(self, Step::ToCsv) {
                    rows::to_csv(&all)?
                } else {
                    super::ipc::base64_encode(&super::ipc::write(&all)?)
                }))
            }
        })
    }
}

fn step(s: Step) -> Op {
    Op::Frame(FrameOp::More(Arc::new(s)))
}

/// One task per partition of `a`, each running `s`.
fn blockwise(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    a: &Collection,
    meta: FrameMeta,
    s: Step,
) -> Result<Collection> {
    let s = Arc::new(s);
    let tasks = a
        .tasks
        .iter()
        .map(|t| (vec![*t], Op::Frame(FrameOp::More(Arc::clone(&s)))))
        .collect();
    partitions(l, ctx, label, LayerKind::Blockwise, meta, tasks)
}

fn input_meta(l: &Lowerer, ctx: &NodeCtx) -> Result<(Collection, Arc<FrameMeta>)> {
    let a = ctx.input(0)?.clone();
    let m = l.frame_meta(&a)?;
    Ok((a, m))
}

/// A column of `m` by name, or an error listing the columns.
fn field<'a>(ctx: &NodeCtx, m: &'a FrameMeta, name: &str) -> Result<&'a Arc<Field>> {
    let i = m.schema.index_of(name).map_err(|_| {
        Error::value(format!(
            "{}: no column '{name}'; the columns are {}",
            op_label(ctx),
            m.columns().join(", ")
        ))
    })?;
    m.schema
        .fields()
        .get(i)
        .ok_or_else(|| Error::internal(format!("{}: column {i}", op_label(ctx))))
}

/// A list of column names (or one name), each checked against the schema.
fn column_list(ctx: &NodeCtx, m: &FrameMeta, name: &str) -> Result<Option<Vec<String>>> {
    let Some(v) = ctx.json_arg(name) else {
        return Ok(None);
    };
    let items: Vec<&Json> = match v {
        Json::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let mut out = Vec::new();
    for c in items {
        let s = c.as_str().ok_or_else(|| {
            Error::plan(format!(
                "{}: argument '{name}' holds column names (strings), not {c}",
                op_label(ctx)
            ))
        })?;
        field(ctx, m, s)?;
        out.push(s.to_string());
    }
    Ok(Some(out))
}

fn object_arg<'a>(ctx: &'a NodeCtx, name: &str) -> Result<&'a serde_json::Map<String, Json>> {
    ctx.json_arg(name)
        .and_then(Json::as_object)
        .ok_or_else(|| Error::plan(format!("{}: argument '{name}' must be an object", op_label(ctx))))
}

fn same_divisions(m: &FrameMeta, schema: SchemaRef) -> FrameMeta {
    m.with_schema(schema)
}

/// `from_columns({name: [values]}, npartitions | chunksize)`: as from_records.
pub fn lower_from_columns(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let cols = object_arg(ctx, "columns")?;
    let mut n: Option<usize> = None;
    for (name, v) in cols {
        let len = v
            .as_array()
            .ok_or_else(|| {
                Error::plan(format!(
                    "{}: column '{name}' must be a list of values",
                    op_label(ctx)
                ))
            })?
            .len();
        if let Some(m) = n.filter(|m| *m != len) {
            return Err(Error::value(format!(
                "{}: all columns must have the same length; column '{name}' has {len}, not {m}",
                op_label(ctx)
            )));
        }
        n = Some(len);
    }
    let records: Vec<Json> = (0..n.unwrap_or(0))
        .map(|i| {
            Json::Object(
                cols.iter()
                    .map(|(k, v)| (k.clone(), v.get(i).cloned().unwrap_or(Json::Null)))
                    .collect(),
            )
        })
        .collect();
    let schema = if records.is_empty() {
        // No rows: every column float64, as pandas makes empty columns of unknown type.
        Arc::new(Schema::new(
            cols.keys()
                .map(|k| Field::new(k, DataType::Float64, true))
                .collect::<Vec<_>>(),
        ))
    } else {
        super::kernels::infer_schema(&records).map_err(|e| e.context(op_label(ctx)))?
    };
    super::from_rows(l, ctx, &records, schema, "from_columns")
}

/// `partitions[index]`: only those partitions (an int or a list of ints).
pub fn lower_partitions(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let n = a.tasks.len();
    let raw = ctx
        .json_arg("index")
        .ok_or_else(|| Error::plan(format!("{}: needs an index", op_label(ctx))))?;
    let items: Vec<&Json> = match raw {
        Json::Array(xs) => xs.iter().collect(),
        one => vec![one],
    };
    let mut idx = Vec::new();
    for v in items {
        let i = v.as_i64().ok_or_else(|| {
            Error::plan(format!(
                "{}: a partition index is an integer, not {v}",
                op_label(ctx)
            ))
        })?;
        // Negative indices count from the end, as in Python.
        let j = if i < 0 { i + n as i64 } else { i };
        let j = usize::try_from(j).ok().filter(|j| *j < n).ok_or_else(|| {
            Error::value(format!(
                "{}: partition index {i} is out of range for {n} partitions",
                op_label(ctx)
            ))
        })?;
        idx.push(j);
    }
    if idx.is_empty() {
        return Err(Error::value(format!(
            "{}: select at least one partition",
            op_label(ctx)
        )));
    }
    // Divisions of the chosen partitions, when they are in increasing order.
    let divisions = m.divisions.as_ref().and_then(|d| {
        if !idx.windows(2).all(|w| matches!(w, [a, b] if a < b)) {
            return None;
        }
        let mut out: Vec<Value> = idx.iter().filter_map(|i| d.get(*i).cloned()).collect();
        let last = *idx.last()?;
        // Dask closes the list with the division after the last chosen partition.
        out.push(d.get(last + 1)?.clone());
        Some(out)
    });
    let meta = FrameMeta {
        divisions,
        ..m.with_schema(Arc::clone(&m.schema))
    };
    let s = Arc::new(Step::Identity);
    let tasks = idx
        .iter()
        .filter_map(|i| a.tasks.get(*i))
        .map(|t| (vec![*t], Op::Frame(FrameOp::More(Arc::clone(&s)))))
        .collect();
    partitions(l, ctx, "partitions", LayerKind::Blockwise, meta, tasks)
}

/// `tail(n)`: the last rows of the last partition only, as Dask.
pub fn lower_tail(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let n = ctx.usize_arg("n")?.unwrap_or(5);
    let last = *a
        .tasks
        .last()
        .ok_or_else(|| Error::internal(format!("{}: no partitions", op_label(ctx))))?;
    let meta = FrameMeta::new(Arc::clone(&m.schema), None);
    partitions(
        l,
        ctx,
        "tail",
        LayerKind::Blockwise,
        meta,
        vec![(vec![last], step(Step::Tail(n)))],
    )
}

/// `query(expr)` / `filter(expr)`: rows where a row expression holds, evaluated column-wise.
pub fn lower_query(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let f = ctx.func_arg("expr")?;
    let e = RowExpr::compile(&f, &m.schema, &op_label(ctx))?;
    if e.root.dtype != DataType::Boolean {
        return Err(Error::type_error(format!(
            "{}: {} gives {} values, not bool",
            op_label(ctx),
            f.source(),
            dtype_name(&e.root.dtype)
        )));
    }
    blockwise(l, ctx, "query", &a, (*m).clone(), Step::Query(Arc::new(e)))
}

/// `assign({name: expr})`: new or replaced columns from row expressions.
pub fn lower_assign(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let cols = object_arg(ctx, "columns")?;
    let mut fields: Vec<Arc<Field>> = m.schema.fields().iter().cloned().collect();
    let mut exprs = Vec::new();
    for (name, src) in cols {
        let src = src.as_str().ok_or_else(|| {
            Error::plan(format!(
                "{}: column '{name}' must be a function source, not {src}",
                op_label(ctx)
            ))
        })?;
        let f = Function::parse(src, crate::expr::Lang::Auto).map_err(|e| {
            Error::new(
                e.kind,
                format!("{}, column '{name}': {}", op_label(ctx), e.message),
            )
        })?;
        // Each expression sees the columns of the input, as pandas' assign with lambdas
        // evaluated in order sees earlier ones; here they see the input only.
        let e = RowExpr::compile(&f, &m.schema, &format!("{}, column '{name}'", op_label(ctx)))?;
        let dt = if e.root.dtype == DataType::Null {
            DataType::Float64
        } else {
            e.root.dtype.clone()
        };
        let fld = Arc::new(Field::new(name, dt, true));
        match fields.iter().position(|f| f.name() == name) {
            Some(i) => {
                if let Some(slot) = fields.get_mut(i) {
                    *slot = fld;
                }
            }
            None => fields.push(fld),
        }
        exprs.push((name.clone(), e));
    }
    let schema = Arc::new(Schema::new(fields));
    let meta = same_divisions(&m, Arc::clone(&schema));
    blockwise(l, ctx, "assign", &a, meta, Step::Assign(Arc::new(exprs), schema))
}

/// `rename(columns={old: new})`.
pub fn lower_rename(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let map = object_arg(ctx, "columns")?;
    for old in map.keys() {
        field(ctx, &m, old)?;
    }
    let mut fields = Vec::new();
    for f in m.schema.fields() {
        let name = match map.get(f.name()) {
            Some(Json::String(s)) => s.clone(),
            Some(other) => {
                return Err(Error::plan(format!(
                    "{}: the new name of '{}' must be a string, not {other}",
                    op_label(ctx),
                    f.name()
                )))
            }
            None => f.name().clone(),
        };
        if fields.iter().any(|g: &Field| g.name() == &name) {
            return Err(Error::value(format!(
                "{}: two columns would be named '{name}'",
                op_label(ctx)
            )));
        }
        fields.push(Field::new(name, f.data_type().clone(), true));
    }
    let schema = Arc::new(Schema::new(fields));
    blockwise(
        l,
        ctx,
        "rename",
        &a,
        same_divisions(&m, Arc::clone(&schema)),
        Step::Rename(schema),
    )
}

/// `drop(columns=[...])`: every other column, in order.
pub fn lower_drop(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let gone = column_list(ctx, &m, "columns")?
        .ok_or_else(|| Error::plan(format!("{}: needs columns", op_label(ctx))))?;
    let keep: Vec<String> = m.columns().into_iter().filter(|c| !gone.contains(c)).collect();
    let fields: Vec<Arc<Field>> = m
        .schema
        .fields()
        .iter()
        .filter(|f| keep.contains(f.name()))
        .cloned()
        .collect();
    let meta = same_divisions(&m, Arc::new(Schema::new(fields)));
    let cols = Arc::new(keep);
    let tasks = a
        .tasks
        .iter()
        .map(|t| (vec![*t], Op::Frame(FrameOp::Select(Arc::clone(&cols)))))
        .collect();
    partitions(l, ctx, "drop", LayerKind::Blockwise, meta, tasks)
}

/// `astype({col: dtype})` (or one dtype for all columns).
pub fn lower_astype(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let spec = ctx
        .json_arg("dtypes")
        .ok_or_else(|| Error::plan(format!("{}: needs dtypes", op_label(ctx))))?;
    let parse = |s: &Json| -> Result<DataType> {
        s.as_str().and_then(rows::parse_dtype).ok_or_else(|| {
            Error::value(format!(
                "{}: unknown dtype {s}; use int64, float64, bool or string",
                op_label(ctx)
            ))
        })
    };
    let mut fields: Vec<Field> = m.schema.fields().iter().map(|f| (**f).clone()).collect();
    match spec {
        Json::Object(map) => {
            for (c, t) in map {
                field(ctx, &m, c)?;
                let t = parse(t)?;
                for f in fields.iter_mut().filter(|f| f.name() == c) {
                    *f = Field::new(c, t.clone(), true);
                }
            }
        }
        one => {
            let t = parse(one)?;
            for f in fields.iter_mut() {
                *f = Field::new(f.name(), t.clone(), true);
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    blockwise(
        l,
        ctx,
        "astype",
        &a,
        same_divisions(&m, Arc::clone(&schema)),
        Step::AsType(schema),
    )
}

/// `fillna(value)`: a scalar fills the columns whose dtype it fits; `{col: value}` fills
/// those columns and fails on a value of the wrong type.
pub fn lower_fillna(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let spec = ctx
        .json_arg("value")
        .ok_or_else(|| Error::plan(format!("{}: needs a value", op_label(ctx))))?;
    let fits = |t: &DataType, v: &Value| -> Option<DataType> {
        match (t, v) {
            (DataType::Int64, Value::Int(_)) => Some(DataType::Int64),
            // An int column filled with a float becomes float64.
            (DataType::Int64 | DataType::Float64, Value::Int(_) | Value::Float(_)) => Some(DataType::Float64),
            (DataType::Boolean, Value::Bool(_)) => Some(DataType::Boolean),
            (DataType::Utf8, Value::Str(_)) => Some(DataType::Utf8),
            _ => None,
        }
    };
    let mut fills = Vec::new();
    let mut fields: Vec<Field> = m.schema.fields().iter().map(|f| (**f).clone()).collect();
    let mut apply = |c: &str, v: Value, strict: bool| -> Result<()> {
        for f in fields.iter_mut().filter(|f| f.name() == c) {
            match fits(f.data_type(), &v) {
                Some(t) => {
                    *f = Field::new(c, t, true);
                    fills.push((c.to_string(), v.clone()));
                }
                None if strict => {
                    return Err(Error::type_error(format!(
                        "{}: cannot fill column '{c}' ({}) with {v} ({})",
                        op_label(ctx),
                        dtype_name(f.data_type()),
                        v.type_name()
                    )))
                }
                None => {}
            }
        }
        Ok(())
    };
    match spec {
        Json::Object(map) => {
            for (c, v) in map {
                field(ctx, &m, c)?;
                apply(c, Value::from_json(v), true)?;
            }
        }
        one => {
            let v = Value::from_json(one);
            for c in m.columns() {
                apply(&c, v.clone(), false)?;
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    blockwise(
        l,
        ctx,
        "fillna",
        &a,
        same_divisions(&m, Arc::clone(&schema)),
        Step::FillNa(Arc::new(fills), schema),
    )
}

/// `dropna(subset, how='any'|'all')`.
pub fn lower_dropna(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let subset = column_list(ctx, &m, "subset")?.unwrap_or_else(|| m.columns());
    let all = match ctx.str_arg("how")?.unwrap_or("any") {
        "any" => false,
        "all" => true,
        other => {
            return Err(Error::value(format!(
                "{}: how must be 'any' or 'all', not '{other}'",
                op_label(ctx)
            )))
        }
    };
    blockwise(
        l,
        ctx,
        "dropna",
        &a,
        (*m).clone(),
        Step::DropNa {
            subset: Arc::new(subset),
            all,
        },
    )
}

/// `isnull()`: a frame of bools with the same columns.
pub fn lower_isnull(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let schema = Arc::new(Schema::new(
        m.schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Boolean, true))
            .collect::<Vec<_>>(),
    ));
    blockwise(
        l,
        ctx,
        "isnull",
        &a,
        same_divisions(&m, Arc::clone(&schema)),
        Step::IsNull(schema),
    )
}

/// A non-empty fake value of a dtype, as Dask's `meta_nonempty` makes.
fn fake(t: &DataType) -> Value {
    match t {
        DataType::Int64 => Value::Int(1),
        DataType::Float64 => Value::Float(1.0),
        DataType::Boolean => Value::Bool(true),
        _ => Value::str("foo"),
    }
}

/// `map_partitions(func)`: `func` maps each row (a record) to a record; the output dtypes
/// are inferred while the graph is built by calling it on a fake row, as Dask infers meta.
pub fn lower_map_partitions(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let f = ctx.func_arg("func")?;
    let schema = match ctx.json_arg("meta") {
        Some(meta) => meta_schema(ctx, meta)?,
        None => {
            let meta_row = Value::record(
                m.schema
                    .fields()
                    .iter()
                    .map(|fl| (fl.name().clone(), fake(fl.data_type()))),
            );
            let out = f.call1(&meta_row).map_err(|e| {
                Error::new(
                    e.kind,
                    format!(
                        "{}: inferring the output columns by calling the function on a fake row {meta_row} failed (pass meta to set them): {}",
                        op_label(ctx),
                        e.message
                    ),
                )
            })?;
            let rec = out.as_record().ok_or_else(|| {
                Error::type_error(format!(
                    "{}: the function must return a record (one row), and on a fake row it returned {out}",
                    op_label(ctx)
                ))
            })?;
            let mut fields = Vec::new();
            for (k, v) in rec.iter() {
                let t = rows::infer_dtype(&[v], k, &op_label(ctx))?.unwrap_or(DataType::Float64);
                fields.push(Field::new(k.to_string(), t, true));
            }
            Arc::new(Schema::new(fields))
        }
    };
    let meta = same_divisions(&m, Arc::clone(&schema));
    blockwise(l, ctx, "map-partitions", &a, meta, Step::MapRows(f, schema))
}

/// A schema from `{col: dtype}`.
fn meta_schema(ctx: &NodeCtx, meta: &Json) -> Result<SchemaRef> {
    let map = meta.as_object().ok_or_else(|| {
        Error::plan(format!(
            "{}: meta must be an object of column -> dtype, not {meta}",
            op_label(ctx)
        ))
    })?;
    let mut fields = Vec::new();
    for (c, t) in map {
        let dt = t.as_str().and_then(rows::parse_dtype).ok_or_else(|| {
            Error::value(format!(
                "{}: meta gives column '{c}' the unknown dtype {t}; use int64, float64, bool or string",
                op_label(ctx)
            ))
        })?;
        fields.push(Field::new(c, dt, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// `bag.to_dataframe(meta)`: a bag of records as a frame, one partition per bag partition.
/// Without meta the dtypes come from the data when the bag's partitions are literal
/// (from_sequence), as Dask computes the first partition to infer them.
pub fn lower_bag_to_dataframe(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let schema = match ctx.json_arg("meta") {
        Some(meta) => meta_schema(ctx, meta)?,
        None => {
            let mut items: Vec<Value> = Vec::new();
            for t in &a.tasks {
                match &l.graph.task(*t)?.op {
                    Op::Literal(p) => match &**p {
                        Partition::Bag(xs) => items.extend(xs.iter().cloned()),
                        _ => return Err(Error::internal(format!("{}: a bag task holds no bag", op_label(ctx)))),
                    },
                    _ => {
                        return Err(Error::value(format!(
                            "{}: the dtypes cannot be known before computing this bag (it is not a literal sequence); pass meta, e.g. {{\"name\": \"string\", \"x\": \"float64\"}}",
                            op_label(ctx)
                        )))
                    }
                }
            }
            let mut names: Vec<String> = Vec::new();
            for (i, v) in items.iter().enumerate() {
                let rec = v.as_record().ok_or_else(|| {
                    Error::type_error(format!(
                        "{}: item {i} is {v} ({}), not a record",
                        op_label(ctx),
                        v.type_name()
                    ))
                })?;
                for (k, _) in rec.iter() {
                    if !names.iter().any(|n| n == &**k) {
                        names.push(k.to_string());
                    }
                }
            }
            let mut fields = Vec::new();
            for n in &names {
                let vals: Vec<&Value> = items.iter().filter_map(|v| v.get_field(n)).collect();
                let t = rows::infer_dtype(&vals, n, &op_label(ctx))?.unwrap_or(DataType::Float64);
                fields.push(Field::new(n, t, true));
            }
            Arc::new(Schema::new(fields))
        }
    };
    let meta = FrameMeta::new(Arc::clone(&schema), None);
    blockwise(l, ctx, "to-dataframe", &a, meta, Step::FromBag(schema))
}

/// `from_array(arr, columns)`: a 1-D array is one column, a 2-D array one column per
/// array column; one partition per row chunk, with divisions from the row chunks.
pub fn lower_from_array(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let am = l.array_meta(&a)?;
    let ndim = am.shape.len();
    if !(1..=2).contains(&ndim) {
        return Err(Error::value(format!(
            "{}: from_array takes a 1-D or 2-D array, not {ndim}-D",
            op_label(ctx)
        )));
    }
    let ncols = if ndim == 2 {
        am.shape.get(1).copied().unwrap_or(0)
    } else {
        1
    };
    let names: Vec<String> = match ctx.json_arg("columns") {
        Some(Json::Array(xs)) => xs
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect(),
        Some(Json::String(s)) => vec![s.clone()],
        Some(other) => {
            return Err(Error::plan(format!(
                "{}: columns must be a list of names, not {other}",
                op_label(ctx)
            )))
        }
        None => (0..ncols).map(|i| i.to_string()).collect(),
    };
    if names.len() != ncols {
        return Err(Error::value(format!(
            "{}: {} column names for {ncols} array columns",
            op_label(ctx),
            names.len()
        )));
    }
    let dt = match am.dtype.name() {
        "int64" => DataType::Int64,
        "bool" => DataType::Boolean,
        _ => DataType::Float64,
    };
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, dt.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let row_chunks: Vec<usize> = am.chunks.first().cloned().unwrap_or_default();
    let col_blocks = if ndim == 2 {
        am.chunks.get(1).map_or(1, Vec::len)
    } else {
        1
    };
    let s = Arc::new(Step::FromArray(Arc::clone(&schema)));
    let mut tasks = Vec::new();
    let mut divisions = vec![0i64];
    let mut start = 0usize;
    for (i, rows_here) in row_chunks.iter().enumerate() {
        let deps: Vec<TaskId> = (0..col_blocks)
            .filter_map(|j| a.tasks.get(i * col_blocks + j).copied())
            .collect();
        tasks.push((deps, Op::Frame(FrameOp::More(Arc::clone(&s)))));
        start += rows_here;
        divisions.push(start as i64);
    }
    // The last division is the last index value, not one past it.
    if let Some(last) = divisions.last_mut() {
        *last = (*last - 1).max(0);
    }
    let meta = FrameMeta::new(schema, (start > 0).then_some(divisions));
    partitions(l, ctx, "from-array", LayerKind::Input, meta, tasks)
}

/// Column blocks of one row chunk as a batch.
fn array_rows(inputs: &[Arc<Partition>], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut cols: Vec<ArrayRef> = Vec::new();
    for p in inputs {
        let Partition::Chunk(c) = &**p else {
            return Err(Error::internal("from_array: expected array blocks"));
        };
        let shape = c.shape().to_vec();
        let rows = shape.first().copied().unwrap_or(0);
        let width = if shape.len() == 2 {
            shape.get(1).copied().unwrap_or(0)
        } else {
            1
        };
        for j in 0..width {
            let at = |i: usize| -> Vec<usize> {
                if shape.len() == 2 {
                    vec![i, j]
                } else {
                    vec![i]
                }
            };
            let col: ArrayRef = match c {
                ArrayChunk::F64(a) => Arc::new(arrow_array::Float64Array::from(
                    (0..rows)
                        .map(|i| a.get(at(i).as_slice()).copied().unwrap_or(f64::NAN))
                        .collect::<Vec<_>>(),
                )),
                ArrayChunk::I64(a) => Arc::new(arrow_array::Int64Array::from(
                    (0..rows)
                        .map(|i| a.get(at(i).as_slice()).copied().unwrap_or(0))
                        .collect::<Vec<_>>(),
                )),
                ArrayChunk::Bool(a) => Arc::new(arrow_array::BooleanArray::from(
                    (0..rows)
                        .map(|i| a.get(at(i).as_slice()).copied().unwrap_or(false))
                        .collect::<Vec<_>>(),
                )),
            };
            cols.push(col);
        }
    }
    RecordBatch::try_new(Arc::clone(schema), cols).map_err(|e| Error::internal(format!("from_array: {e}")))
}

/// A tree reduction whose final task makes a one-partition frame with `schema`.
fn frame_tree(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    a: &Collection,
    part: Step,
    combine: impl Fn(bool) -> Step,
    schema: SchemaRef,
) -> Result<Collection> {
    let split_every = ctx
        .usize_arg("split_every")?
        .unwrap_or(crate::reduction::DEFAULT_SPLIT_EVERY);
    let part = Arc::new(part);
    let mut c = crate::reduction::tree_reduce(
        l,
        ctx,
        label,
        &a.tasks,
        split_every,
        |_| Op::Frame(FrameOp::More(Arc::clone(&part))),
        |last| step(combine(last)),
    )?;
    c.kind = Kind::Frame;
    l.set_frame_meta(&c, FrameMeta::new(schema, None));
    Ok(c)
}

fn value_tree(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    a: &Collection,
    part: Step,
    combine: impl Fn(bool) -> Step,
) -> Result<Collection> {
    let split_every = ctx
        .usize_arg("split_every")?
        .unwrap_or(crate::reduction::DEFAULT_SPLIT_EVERY);
    let part = Arc::new(part);
    crate::reduction::tree_reduce(
        l,
        ctx,
        label,
        &a.tasks,
        split_every,
        |_| Op::Frame(FrameOp::More(Arc::clone(&part))),
        |last| step(combine(last)),
    )
}

/// `drop_duplicates(subset, split_every)`: distinct rows per partition, then merged in a
/// tree, as Dask (one partition out, first occurrences kept in order).
pub fn lower_drop_duplicates(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let subset = column_list(ctx, &m, "subset")?.map(Arc::new);
    let s2 = subset.clone();
    frame_tree(
        l,
        ctx,
        "drop-duplicates",
        &a,
        Step::Distinct(subset),
        move |_| Step::Distinct(s2.clone()),
        Arc::clone(&m.schema),
    )
}

/// `value_counts(column)`: counts of each non-null value, by count descending.
pub fn lower_value_counts(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, m) = input_meta(l, ctx)?;
    let column = ctx
        .str_arg("column")?
        .ok_or_else(|| Error::plan(format!("{}: needs a column", op_label(ctx))))?
        .to_string();
    let dtype = field(ctx, &m, &column)?.data_type().clone();
    let schema = rows::value_counts_schema(&column, &dtype);
    let c2 = column.clone();
    frame_tree(
        l,
        ctx,
        "value-counts",
        &a,
        Step::ValueCountsPart(column),
        move |last| Step::ValueCountsCombine {
            last,
            column: c2.clone(),
            dtype: dtype.clone(),
        },
        schema,
    )
}

pub fn lower_nunique(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, _) = input_meta(l, ctx)?;
    value_tree(l, ctx, "nunique", &a, Step::NuniquePart, |last| {
        Step::NuniqueCombine { last }
    })
}

fn lower_moments(l: &mut Lowerer, ctx: &NodeCtx, sqrt: bool) -> Result<Collection> {
    let (a, _) = input_meta(l, ctx)?;
    let ddof = ctx.usize_arg("ddof")?.unwrap_or(1);
    value_tree(
        l,
        ctx,
        if sqrt { "std" } else { "var" },
        &a,
        Step::MomentsPart,
        move |last| Step::MomentsCombine {
            last: last.then_some((ddof, sqrt)),
        },
    )
}

pub fn lower_var(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_moments(l, ctx, false)
}

pub fn lower_std(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_moments(l, ctx, true)
}

pub fn lower_describe(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, _) = input_meta(l, ctx)?;
    value_tree(l, ctx, "describe", &a, Step::DescribePart, |last| {
        Step::DescribeCombine { last }
    })
}

/// `to_csv()`: the whole frame as CSV text with a header, in one task.
pub fn lower_to_csv(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, _) = input_meta(l, ctx)?;
    let name = ctx.layer_name("to-csv");
    let layer = l.layer(&name, "to-csv", LayerKind::Blockwise, None);
    let t = l.task(Key::part(&name, 0), layer, a.tasks.clone(), step(Step::ToCsv))?;
    Ok(Collection {
        kind: Kind::Value,
        name,
        tasks: vec![t],
        token: ctx.token.clone(),
    })
}

/// `from_ipc(ipc, npartitions | chunksize)`: Arrow IPC stream or file bytes (base64),
/// read while the graph is built and cut as from_records cuts rows.
pub fn lower_from_ipc(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let text = ctx.str_arg("ipc")?.ok_or_else(|| {
        Error::plan(format!(
            "{}: needs ipc (base64 of Arrow IPC bytes)",
            op_label(ctx)
        ))
    })?;
    let bytes = super::ipc::base64_decode(text).map_err(|e| e.context(op_label(ctx)))?;
    let all = super::ipc::read(&bytes).map_err(|e| e.context(op_label(ctx)))?;
    let n = all.num_rows();
    let mut tasks = Vec::new();
    let mut divisions = Vec::new();
    let mut start = 0usize;
    for size in super::partition_sizes(ctx, n)? {
        divisions.push(start as i64);
        tasks.push((
            Vec::new(),
            Op::Literal(Arc::new(Partition::Frame(all.slice(start, size)))),
        ));
        start += size;
    }
    if tasks.is_empty() {
        tasks.push((
            Vec::new(),
            Op::Literal(Arc::new(Partition::Frame(all.slice(0, 0)))),
        ));
    }
    divisions.push(n.saturating_sub(1) as i64);
    let meta = FrameMeta::new(all.schema(), (n > 0).then_some(divisions));
    partitions(l, ctx, "from-ipc", LayerKind::Input, meta, tasks)
}

/// `to_ipc()`: the whole frame as one Arrow IPC stream, as base64 text (the JS binding
/// gives it back as bytes).
pub fn lower_to_ipc(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let (a, _) = input_meta(l, ctx)?;
    let name = ctx.layer_name("to-ipc");
    let layer = l.layer(&name, "to-ipc", LayerKind::Blockwise, None);
    let t = l.task(Key::part(&name, 0), layer, a.tasks.clone(), step(Step::ToIpc))?;
    Ok(Collection {
        kind: Kind::Value,
        name,
        tasks: vec![t],
        token: ctx.token.clone(),
    })
}
