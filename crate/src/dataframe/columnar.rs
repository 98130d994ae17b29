//! Row expressions (`r => r.val > 0.5 && r.cat == 'a'`, `lambda r: r['x'] * 2`) compiled
//! against a schema while the graph is built, then evaluated over whole Arrow columns.
//! Compiling first gives every node its dtype, so type errors name the column and both
//! dtypes before any task runs, and `assign` knows its output schema.

use crate::error::{Error, Result};
use crate::expr::ast::{BinaryOp, Builtin, CompareOp, Expr, LogicalOp, Pattern, Span, UnaryOp};
use crate::expr::{caret_message, Function};
use crate::value::Value;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Schema};
use std::sync::Arc;

use super::kernels::{compare, dtype_name, CmpOp, Right};

/// A compiled node: what it computes and its dtype.
#[derive(Debug, Clone)]
pub struct Node {
    kind: K,
    pub dtype: DataType,
}

#[derive(Debug, Clone)]
enum K {
    Column(String),
    Lit(Value),
    ToFloat(Box<Node>),
    ToInt(Box<Node>),
    Arith(BinaryOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Abs(Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    IsNull(Box<Node>, bool),
    Cond(Box<Node>, Box<Node>, Box<Node>),
}

fn numeric(t: &DataType) -> bool {
    matches!(t, DataType::Int64 | DataType::Float64 | DataType::Boolean)
}

/// A compiled row function of one parameter.
#[derive(Debug, Clone)]
pub struct RowExpr {
    source: String,
    pub root: Node,
}

struct Compiler<'a> {
    f: &'a Function,
    schema: &'a Schema,
    op: &'a str,
}

impl Compiler<'_> {
    fn fail(&self, span: Span, message: String) -> Error {
        Error::type_error(format!(
            "{}: {}",
            self.op,
            caret_message(self.f.source(), span.start, &message)
        ))
    }

    fn unsupported(&self, span: Span, what: &str) -> Error {
        Error::value(format!(
            "{}: {}",
            self.op,
            caret_message(
                self.f.source(),
                span.start,
                &format!("{what} is not supported in a column expression (fields of the row, literals, + - * / // % **, comparisons, and/or/not, abs, a ? b : c)")
            )
        ))
    }

    fn column(&self, name: &str, span: Span) -> Result<Node> {
        let field = self.schema.field_with_name(name).map_err(|_| {
            let have: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
            Error::value(format!(
                "{}: {}",
                self.op,
                caret_message(
                    self.f.source(),
                    span.start,
                    &format!("no column '{name}'; the columns are {}", have.join(", "))
                )
            ))
        })?;
        Ok(Node {
            kind: K::Column(name.to_string()),
            dtype: field.data_type().clone(),
        })
    }

    /// The row parameter's slot, or the column a destructured slot names.
    fn param(&self, slot: usize, span: Span) -> Result<Option<Node>> {
        match self.f.patterns().first() {
            Some(Pattern::Name(s)) if *s == slot => Ok(None),
            Some(Pattern::Record(fields)) => match fields.iter().find(|(_, s)| *s == slot) {
                Some((name, _)) => self.column(name, span).map(Some),
                None => Err(self.unsupported(span, "this name")),
            },
            _ => Err(self.unsupported(span, "this parameter pattern")),
        }
    }

    fn is_row(&self, e: &Expr) -> bool {
        matches!(e, Expr::Param(slot, _) if matches!(self.f.patterns().first(), Some(Pattern::Name(s)) if s == slot))
    }

    fn describe(n: &Node) -> String {
        match &n.kind {
            K::Column(c) => format!("column '{c}' ({})", dtype_name(&n.dtype)),
            K::Lit(v) => format!("{v} ({})", dtype_name(&n.dtype)),
            _ => format!("a {} expression", dtype_name(&n.dtype)),
        }
    }

    fn compile(&self, e: &Expr) -> Result<Node> {
        match e {
            Expr::Literal(v, span) => {
                let dtype = match v {
                    Value::Null => DataType::Null,
                    Value::Bool(_) => DataType::Boolean,
                    Value::Int(_) => DataType::Int64,
                    Value::Float(_) => DataType::Float64,
                    Value::Str(_) => DataType::Utf8,
                    _ => return Err(self.unsupported(*span, "a list or record literal")),
                };
                Ok(Node {
                    kind: K::Lit(v.clone()),
                    dtype,
                })
            }
            Expr::Param(slot, span) => match self.param(*slot, *span)? {
                Some(n) => Ok(n),
                None => Err(self.unsupported(*span, "the whole row (use r.<column>)")),
            },
            Expr::Member {
                object, name, span, ..
            } if self.is_row(object) => self.column(name, *span),
            Expr::Index { object, index, span } if self.is_row(object) => match &**index {
                Expr::Literal(Value::Str(name), _) => self.column(name, *span),
                _ => Err(self.unsupported(*span, "a row index that is not a column name string")),
            },
            Expr::Member { span, .. } => {
                Err(self.unsupported(*span, "a field of something other than the row"))
            }
            Expr::Index { span, .. } => Err(self.unsupported(*span, "indexing something other than the row")),
            Expr::Slice { span, .. } => Err(self.unsupported(*span, "slicing")),
            Expr::List(_, span) => Err(self.unsupported(*span, "a list literal")),
            Expr::Record(_, span) => Err(self.unsupported(*span, "a record literal")),
            Expr::MethodCall { name, span, .. } => {
                Err(self.unsupported(*span, &format!("the method .{name}()")))
            }
            Expr::Call {
                func: Builtin::Abs,
                args,
                span,
            } => {
                let [a] = args.as_slice() else {
                    return Err(self.fail(*span, "abs takes one argument".into()));
                };
                let a = self.compile(a)?;
                let a = self.numeric_operand(a, "abs", *span)?;
                let dtype = a.dtype.clone();
                Ok(Node {
                    kind: K::Abs(Box::new(a)),
                    dtype,
                })
            }
            Expr::Call { func, span, .. } => Err(self.unsupported(*span, &format!("the function {func:?}"))),
            Expr::Unary { op, expr, span } => {
                let a = self.compile(expr)?;
                match op {
                    UnaryOp::Plus => self.numeric_operand(a, "unary +", *span),
                    UnaryOp::Neg => {
                        let a = self.numeric_operand(a, "unary -", *span)?;
                        let dtype = a.dtype.clone();
                        Ok(Node {
                            kind: K::Neg(Box::new(a)),
                            dtype,
                        })
                    }
                    UnaryOp::Not | UnaryOp::Invert => {
                        let a = self.boolean(a, if *op == UnaryOp::Not { "not" } else { "~" }, *span)?;
                        Ok(Node {
                            kind: K::Not(Box::new(a)),
                            dtype: DataType::Boolean,
                        })
                    }
                }
            }
            Expr::Binary {
                op: op @ (BinaryOp::BitAnd | BinaryOp::BitOr),
                left,
                right,
                span,
            } => self.logical(*op == BinaryOp::BitAnd, left, right, *span),
            Expr::Binary {
                op,
                left,
                right,
                span,
            } => {
                let (a, b) = (self.compile(left)?, self.compile(right)?);
                self.arith(*op, a, b, *span)
            }
            Expr::Logical {
                op: LogicalOp::Coalesce,
                span,
                ..
            } => Err(self.unsupported(*span, "??")),
            Expr::Logical {
                op,
                left,
                right,
                span,
            } => self.logical(*op == LogicalOp::And, left, right, *span),
            Expr::Compare { first, rest, .. } => {
                // A Python chain a < b < c is (a < b) and (b < c).
                let mut left = self.compile(first)?;
                let mut acc: Option<Node> = None;
                for (op, right, span) in rest {
                    if matches!(op, CompareOp::In | CompareOp::NotIn) {
                        return Err(self.unsupported(*span, "'in'"));
                    }
                    let r = self.compile(right)?;
                    let c = self.compare(*op, left, r.clone(), *span)?;
                    acc = Some(match acc {
                        None => c,
                        Some(prev) => Node {
                            kind: K::And(Box::new(prev), Box::new(c)),
                            dtype: DataType::Boolean,
                        },
                    });
                    left = r;
                }
                acc.ok_or_else(|| Error::internal("an empty comparison"))
            }
            Expr::Conditional {
                cond,
                then,
                otherwise,
                span,
            } => {
                let c = self.compile(cond)?;
                let c = self.boolean(c, "the condition of a ? b : c", *span)?;
                let (a, b) = self.unify(self.compile(then)?, self.compile(otherwise)?, "a ? b : c", *span)?;
                let dtype = a.dtype.clone();
                Ok(Node {
                    kind: K::Cond(Box::new(c), Box::new(a), Box::new(b)),
                    dtype,
                })
            }
        }
    }

    fn logical(&self, and: bool, left: &Expr, right: &Expr, span: Span) -> Result<Node> {
        let what = if and { "and" } else { "or" };
        let a = self.compile(left)?;
        let a = self.boolean(a, what, span)?;
        let b = self.compile(right)?;
        let b = self.boolean(b, what, span)?;
        let (a, b) = (Box::new(a), Box::new(b));
        Ok(Node {
            kind: if and { K::And(a, b) } else { K::Or(a, b) },
            dtype: DataType::Boolean,
        })
    }

    fn boolean(&self, n: Node, what: &str, span: Span) -> Result<Node> {
        match n.dtype {
            DataType::Boolean => Ok(n),
            DataType::Null => Ok(retype(n, DataType::Boolean)),
            _ => Err(self.fail(
                span,
                format!(
                    "{what} needs bool operands, and {} is not bool",
                    Self::describe(&n)
                ),
            )),
        }
    }

    fn numeric_operand(&self, n: Node, what: &str, span: Span) -> Result<Node> {
        match n.dtype {
            DataType::Int64 | DataType::Float64 => Ok(n),
            DataType::Boolean => Ok(to_int(n)),
            DataType::Null => Ok(retype(n, DataType::Float64)),
            _ => Err(self.fail(
                span,
                format!("{what} needs a number, and {} is not numeric", Self::describe(&n)),
            )),
        }
    }

    /// Both sides at one dtype: int64 with int64 (bools count as ints), float64 when
    /// either is a float, strings with strings; a null literal takes the other's dtype.
    fn unify(&self, a: Node, b: Node, what: &str, span: Span) -> Result<(Node, Node)> {
        let (ta, tb) = (a.dtype.clone(), b.dtype.clone());
        Ok(match (&ta, &tb) {
            (DataType::Null, DataType::Null) => (retype(a, DataType::Float64), retype(b, DataType::Float64)),
            (DataType::Null, t) => (retype(a, t.clone()), b),
            (t, DataType::Null) => (a, retype(b, t.clone())),
            (x, y) if x == y => (a, b),
            (x, y) if numeric(x) && numeric(y) => {
                if *x == DataType::Float64 || *y == DataType::Float64 {
                    (to_float(a), to_float(b))
                } else {
                    (to_int(a), to_int(b))
                }
            }
            _ => {
                return Err(self.fail(
                    span,
                    format!(
                        "{what}: {} and {} have incompatible dtypes",
                        Self::describe(&a),
                        Self::describe(&b)
                    ),
                ))
            }
        })
    }

    fn compare(&self, op: CompareOp, a: Node, b: Node, span: Span) -> Result<Node> {
        let null_test = |n: Node, negate: bool| Node {
            kind: K::IsNull(Box::new(n), negate),
            dtype: DataType::Boolean,
        };
        let is_null_lit = |n: &Node| matches!(n.kind, K::Lit(Value::Null));
        // `is` compares as `==` here: columns hold one type each.
        let cmp = match op {
            CompareOp::Eq | CompareOp::Is => CmpOp::Eq,
            CompareOp::Ne | CompareOp::IsNot => CmpOp::Ne,
            CompareOp::Lt => CmpOp::Lt,
            CompareOp::Le => CmpOp::Le,
            CompareOp::Gt => CmpOp::Gt,
            CompareOp::Ge => CmpOp::Ge,
            CompareOp::In | CompareOp::NotIn => return Err(self.unsupported(span, "'in'")),
        };
        // `x == null` / `x is None` is a null test, as pandas' isnull.
        if matches!(cmp, CmpOp::Eq | CmpOp::Ne) && (is_null_lit(&a) || is_null_lit(&b)) {
            let other = if is_null_lit(&a) { b } else { a };
            return Ok(null_test(other, cmp == CmpOp::Ne));
        }
        let what = format!("comparison {}", op.symbol());
        let (ta, tb) = (a.dtype.clone(), b.dtype.clone());
        let ok = ta == tb || ta == DataType::Null || tb == DataType::Null || (numeric(&ta) && numeric(&tb));
        if !ok {
            return Err(self.fail(
                span,
                format!(
                    "cannot compare {} with {}",
                    Self::describe(&a),
                    Self::describe(&b)
                ),
            ));
        }
        let (a, b) = self.unify(a, b, &what, span)?;
        Ok(Node {
            kind: K::Cmp(cmp, Box::new(a), Box::new(b)),
            dtype: DataType::Boolean,
        })
    }

    fn arith(&self, op: BinaryOp, a: Node, b: Node, span: Span) -> Result<Node> {
        let what = format!("operator {}", op.symbol());
        if op == BinaryOp::Add && (a.dtype == DataType::Utf8 || b.dtype == DataType::Utf8) {
            if (a.dtype == DataType::Utf8 || a.dtype == DataType::Null)
                && (b.dtype == DataType::Utf8 || b.dtype == DataType::Null)
            {
                let (a, b) = (retype(a, DataType::Utf8), retype(b, DataType::Utf8));
                return Ok(Node {
                    kind: K::Arith(op, Box::new(a), Box::new(b)),
                    dtype: DataType::Utf8,
                });
            }
            return Err(self.fail(
                span,
                format!(
                    "{what}: cannot add {} and {}",
                    Self::describe(&a),
                    Self::describe(&b)
                ),
            ));
        }
        for n in [&a, &b] {
            if !numeric(&n.dtype) && n.dtype != DataType::Null {
                return Err(self.fail(
                    span,
                    format!("{what} needs numbers, and {} is not numeric", Self::describe(n)),
                ));
            }
        }
        let (a, b) = self.unify(a, b, &what, span)?;
        // True division is always float64, as in pandas.
        let (a, b) = if op == BinaryOp::Div {
            (to_float(a), to_float(b))
        } else {
            (a, b)
        };
        let dtype = a.dtype.clone();
        Ok(Node {
            kind: K::Arith(op, Box::new(a), Box::new(b)),
            dtype,
        })
    }
}

fn retype(n: Node, t: DataType) -> Node {
    if matches!(n.kind, K::Lit(Value::Null)) {
        Node {
            kind: n.kind,
            dtype: t,
        }
    } else {
        n
    }
}

fn to_float(n: Node) -> Node {
    match n.dtype {
        DataType::Float64 => n,
        DataType::Null => retype(n, DataType::Float64),
        _ => Node {
            kind: K::ToFloat(Box::new(n)),
            dtype: DataType::Float64,
        },
    }
}

fn to_int(n: Node) -> Node {
    match n.dtype {
        DataType::Boolean => Node {
            kind: K::ToInt(Box::new(n)),
            dtype: DataType::Int64,
        },
        DataType::Null => retype(n, DataType::Int64),
        _ => n,
    }
}

impl RowExpr {
    /// Compiles a function of one row against `schema`; `op` names the plan op in errors.
    pub fn compile(f: &Function, schema: &Schema, op: &str) -> Result<RowExpr> {
        if f.arity() != 1 {
            return Err(Error::value(format!(
                "{op}: a column expression takes one parameter (the row), and {} takes {}",
                f.source(),
                f.arity()
            )));
        }
        let root = Compiler { f, schema, op }.compile(f.body())?;
        Ok(RowExpr {
            source: f.source().to_string(),
            root,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The expression's values over `batch`, one per row.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        eval(&self.root, batch).map_err(|e| Error::new(e.kind, format!("{}: {}", self.source, e.message)))
    }

    /// The rows where the expression is true (null counts as false, as pandas drops NaN).
    pub fn mask(&self, batch: &RecordBatch, op: &str) -> Result<BooleanArray> {
        let a = self.evaluate(batch)?;
        match a.as_boolean_opt() {
            Some(b) => Ok(b.clone()),
            None => Err(Error::type_error(format!(
                "{op}: {} gives {} values, not bool",
                self.source,
                dtype_name(a.data_type())
            ))),
        }
    }
}

fn ak(e: arrow_schema::ArrowError) -> Error {
    Error::value(format!("{e}"))
}

fn literal(v: &Value, t: &DataType, n: usize) -> Result<ArrayRef> {
    Ok(match (v, t) {
        (Value::Null, t) => new_null_array(t, n),
        (Value::Bool(b), DataType::Boolean) => Arc::new(BooleanArray::from(vec![*b; n])),
        (Value::Int(i), DataType::Int64) => Arc::new(Int64Array::from(vec![*i; n])),
        (Value::Str(s), DataType::Utf8) => Arc::new(StringArray::from(vec![s.as_ref(); n])),
        (v, DataType::Float64) => Arc::new(Float64Array::from(vec![v.as_f64().unwrap_or(f64::NAN); n])),
        (v, t) => return Err(Error::internal(format!("a literal {v} as {t}"))),
    })
}

fn ints(a: &ArrayRef) -> Result<&Int64Array> {
    a.as_primitive_opt::<Int64Type>()
        .ok_or_else(|| Error::internal(format!("expected int64, got {}", a.data_type())))
}

fn floats(a: &ArrayRef) -> Result<&Float64Array> {
    a.as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::internal(format!("expected float64, got {}", a.data_type())))
}

fn bools(a: &ArrayRef) -> Result<&BooleanArray> {
    a.as_boolean_opt()
        .ok_or_else(|| Error::internal(format!("expected bool, got {}", a.data_type())))
}

fn eval(n: &Node, batch: &RecordBatch) -> Result<ArrayRef> {
    let rows = batch.num_rows();
    Ok(match &n.kind {
        K::Column(c) => batch
            .column_by_name(c)
            .cloned()
            .ok_or_else(|| Error::value(format!("no column '{c}'")))?,
        K::Lit(v) => literal(v, &n.dtype, rows)?,
        K::ToFloat(a) => {
            let a = eval(a, batch)?;
            match a.data_type() {
                DataType::Int64 => Arc::new(ints(&a)?.unary::<_, Float64Type>(|x| x as f64)),
                DataType::Boolean => Arc::new(
                    bools(&a)?
                        .iter()
                        .map(|b| b.map(|b| f64::from(u8::from(b))))
                        .collect::<Float64Array>(),
                ),
                _ => a,
            }
        }
        K::ToInt(a) => {
            let a = eval(a, batch)?;
            Arc::new(
                bools(&a)?
                    .iter()
                    .map(|b| b.map(i64::from))
                    .collect::<Int64Array>(),
            )
        }
        K::Neg(a) => arrow_arith::numeric::neg_wrapping(&eval(a, batch)?).map_err(ak)?,
        K::Abs(a) => {
            let a = eval(a, batch)?;
            match a.data_type() {
                DataType::Int64 => Arc::new(ints(&a)?.unary::<_, Int64Type>(i64::wrapping_abs)),
                _ => Arc::new(floats(&a)?.unary::<_, Float64Type>(f64::abs)),
            }
        }
        K::Not(a) => Arc::new(arrow_arith::boolean::not(bools(&eval(a, batch)?)?).map_err(ak)?),
        K::And(a, b) | K::Or(a, b) => {
            let (x, y) = (eval(a, batch)?, eval(b, batch)?);
            let (x, y) = (bools(&x)?, bools(&y)?);
            Arc::new(
                if matches!(n.kind, K::And(..)) {
                    arrow_arith::boolean::and_kleene(x, y)
                } else {
                    arrow_arith::boolean::or_kleene(x, y)
                }
                .map_err(ak)?,
            )
        }
        K::IsNull(a, negate) => {
            let a = eval(a, batch)?;
            // NaN is missing too, as pandas' isnull.
            let mask: BooleanArray = match a.as_primitive_opt::<Float64Type>() {
                Some(f) => f
                    .iter()
                    .map(|x| Some(x.is_none_or(f64::is_nan) != *negate))
                    .collect(),
                None => (0..a.len()).map(|i| Some(a.is_null(i) != *negate)).collect(),
            };
            Arc::new(mask)
        }
        K::Cmp(op, a, b) => {
            let (x, y) = (eval(a, batch)?, eval(b, batch)?);
            Arc::new(compare(*op, &x, Right::Column(&y)).map_err(ak)?)
        }
        K::Cond(c, a, b) => {
            let (c, x, y) = (eval(c, batch)?, eval(a, batch)?, eval(b, batch)?);
            arrow_select::zip::zip(bools(&c)?, &x, &y).map_err(ak)?
        }
        K::Arith(op, a, b) => {
            let (x, y) = (eval(a, batch)?, eval(b, batch)?);
            arith(*op, &x, &y)?
        }
    })
}

fn arith(op: BinaryOp, x: &ArrayRef, y: &ArrayRef) -> Result<ArrayRef> {
    use arrow_arith::numeric as num;
    if x.data_type() == &DataType::Utf8 {
        let (a, b) = (x.as_string::<i32>(), y.as_string::<i32>());
        let out: StringArray = a
            .iter()
            .zip(b.iter())
            .map(|(p, q)| Some(format!("{}{}", p?, q?)))
            .collect();
        return Ok(Arc::new(out));
    }
    let is_int = x.data_type() == &DataType::Int64;
    Ok(match op {
        BinaryOp::Add => num::add_wrapping(x, y).map_err(ak)?,
        BinaryOp::Sub => num::sub_wrapping(x, y).map_err(ak)?,
        BinaryOp::Mul => num::mul_wrapping(x, y).map_err(ak)?,
        BinaryOp::Div => num::div(x, y).map_err(ak)?,
        // Python's // and % floor (the remainder takes the divisor's sign), as pandas.
        BinaryOp::FloorDiv | BinaryOp::Mod if is_int => {
            let (a, b) = (ints(x)?, ints(y)?);
            let mut out = Vec::with_capacity(a.len());
            for (p, q) in a.iter().zip(b.iter()) {
                out.push(match (p, q) {
                    (Some(_), Some(0)) => {
                        return Err(Error::value(format!(
                            "integer {} by zero",
                            if op == BinaryOp::Mod { "modulo" } else { "division" }
                        )))
                    }
                    (Some(p), Some(q)) => {
                        let r = p.wrapping_rem(q);
                        let fix = r != 0 && ((r < 0) != (q < 0));
                        Some(if op == BinaryOp::Mod {
                            if fix {
                                r + q
                            } else {
                                r
                            }
                        } else {
                            p.wrapping_div(q) - i64::from(fix)
                        })
                    }
                    _ => None,
                });
            }
            Arc::new(Int64Array::from(out))
        }
        BinaryOp::FloorDiv | BinaryOp::Mod => {
            let (a, b) = (floats(x)?, floats(y)?);
            let out: Float64Array = a
                .iter()
                .zip(b.iter())
                .map(|(p, q)| {
                    let (p, q) = (p?, q?);
                    Some(if op == BinaryOp::FloorDiv {
                        (p / q).floor()
                    } else {
                        let r = p % q;
                        if r != 0.0 && ((r < 0.0) != (q < 0.0)) {
                            r + q
                        } else {
                            r
                        }
                    })
                })
                .collect();
            Arc::new(out)
        }
        BinaryOp::Pow if is_int => {
            let (a, b) = (ints(x)?, ints(y)?);
            let mut out = Vec::with_capacity(a.len());
            for (p, q) in a.iter().zip(b.iter()) {
                out.push(match (p, q) {
                    (Some(p), Some(q)) => Some(p.wrapping_pow(u32::try_from(q).map_err(|_| {
                        Error::value("integers to negative integer powers are not allowed (as NumPy)")
                    })?)),
                    _ => None,
                });
            }
            Arc::new(Int64Array::from(out))
        }
        BinaryOp::Pow => {
            let (a, b) = (floats(x)?, floats(y)?);
            Arc::new(
                a.iter()
                    .zip(b.iter())
                    .map(|(p, q)| Some(p?.powf(q?)))
                    .collect::<Float64Array>(),
            )
        }
        BinaryOp::BitAnd | BinaryOp::BitOr => {
            return Err(Error::internal("bitwise ops are compiled as logical"))
        }
    })
}
