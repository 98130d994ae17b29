//! The evaluator: one semantics for both front ends, close to Python. Type errors are
//! errors (no coercion), integers do not wrap, division by zero is an error, and every
//! call has a step budget and a size limit on what it builds.

use super::ast::{BinaryOp, Builtin, CompareOp, Expr, LogicalOp, Method, Span, UnaryOp};
use crate::value::{Field, Fields, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

/// Evaluation steps one call may take.
pub const MAX_STEPS: u64 = 1_000_000;
/// Items a list built by one call may hold.
pub const MAX_ITEMS: usize = 1_000_000;
/// Bytes a string built by one call may hold.
pub const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;

/// What went wrong, and where.
pub struct EvalError {
    pub message: String,
    pub span: Span,
    pub limit: bool,
}

pub(super) type EResult<T> = Result<T, EvalError>;

pub(super) fn err<T>(span: Span, message: impl Into<String>) -> EResult<T> {
    Err(EvalError {
        message: message.into(),
        span,
        limit: false,
    })
}

fn limit<T>(span: Span, message: impl Into<String>) -> EResult<T> {
    Err(EvalError {
        message: message.into(),
        span,
        limit: true,
    })
}

/// The bound parameters of one call, borrowed from the caller: binding copies nothing.
pub struct Env<'s, 'a> {
    pub slots: &'s [&'a Value],
    pub steps: u64,
}

/// A value that is either borrowed (a parameter, a field of one, a literal of the source)
/// or computed. Reading `x.value` borrows; only what a call computes is built.
pub type Val<'a> = Cow<'a, Value>;

fn tname(v: &Value) -> &'static str {
    v.type_name()
}

fn as_num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// Bools take part in arithmetic as 0 and 1, as in Python.
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_))
}

/// Evaluates `e`. Parameters, their fields and items, and literals come back borrowed.
pub fn eval<'a>(e: &'a Expr, env: &mut Env<'_, 'a>) -> EResult<Val<'a>> {
    env.steps += 1;
    if env.steps > MAX_STEPS {
        return limit(
            e.span(),
            format!("the function took more than {MAX_STEPS} evaluation steps"),
        );
    }
    match e {
        Expr::Literal(v, _) => Ok(Cow::Borrowed(v)),
        Expr::Param(slot, span) => match env.slots.get(*slot) {
            Some(v) => Ok(Cow::Borrowed(*v)),
            None => err(*span, "internal: parameter slot out of range"),
        },
        Expr::List(items, span) => {
            if items.len() > MAX_ITEMS {
                return limit(*span, "list literal too long");
            }
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(eval(it, env)?.into_owned());
            }
            Ok(Cow::Owned(Value::list(out)))
        }
        Expr::Record(fields, _) => {
            let mut out: Fields = Vec::with_capacity(fields.len());
            for (k, v) in fields {
                out.push((Arc::from(k.as_str()), eval(v, env)?.into_owned()));
            }
            Ok(Cow::Owned(Value::Record(out.into())))
        }
        Expr::Member {
            object,
            name,
            optional,
            span,
        } => match eval(object, env)? {
            Cow::Borrowed(obj) => member(obj, name, *optional, *span),
            Cow::Owned(obj) => owned(member(&obj, name, *optional, *span)),
        },
        Expr::Index { object, index, span } => {
            let obj = eval(object, env)?;
            let idx = eval(index, env)?;
            match obj {
                Cow::Borrowed(obj) => index_value(obj, &idx, *span),
                Cow::Owned(obj) => owned(index_value(&obj, &idx, *span)),
            }
        }
        Expr::Slice {
            object,
            start,
            stop,
            step,
            span,
        } => {
            let obj = eval(object, env)?;
            let bound = |b: &'a Option<Box<Expr>>, env: &mut Env<'_, 'a>| -> EResult<Option<i64>> {
                match b {
                    None => Ok(None),
                    Some(x) => match &*eval(x, env)? {
                        Value::Null => Ok(None),
                        v => match as_int(v) {
                            Some(i) => Ok(Some(i)),
                            None => err(
                                x.span(),
                                format!("slice indices must be integers, not {}", tname(v)),
                            ),
                        },
                    },
                }
            };
            let a = bound(start, env)?;
            let b = bound(stop, env)?;
            let c = bound(step, env)?;
            slice(&obj, a, b, c, *span).map(Cow::Owned)
        }
        Expr::Unary { op, expr, span } => {
            let v = eval(expr, env)?;
            unary(*op, &v, *span).map(Cow::Owned)
        }
        Expr::Binary {
            op,
            left,
            right,
            span,
        } => {
            let a = eval(left, env)?;
            let b = eval(right, env)?;
            binary(*op, &a, &b, *span).map(Cow::Owned)
        }
        Expr::Compare { first, rest, .. } => {
            let mut left = eval(first, env)?;
            for (op, right, span) in rest {
                let r = eval(right, env)?;
                if !compare(*op, &left, &r, *span)? {
                    return Ok(Cow::Owned(Value::Bool(false)));
                }
                left = r;
            }
            Ok(Cow::Owned(Value::Bool(true)))
        }
        Expr::Logical { op, left, right, .. } => {
            let a = eval(left, env)?;
            match op {
                LogicalOp::And if !a.truthy() => Ok(a),
                LogicalOp::Or if a.truthy() => Ok(a),
                LogicalOp::Coalesce if !a.is_null() => Ok(a),
                _ => eval(right, env),
            }
        }
        Expr::Conditional {
            cond,
            then,
            otherwise,
            ..
        } => {
            if eval(cond, env)?.truthy() {
                eval(then, env)
            } else {
                eval(otherwise, env)
            }
        }
        Expr::Call { func, args, span } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, env)?.into_owned());
            }
            call_builtin(*func, &vals, *span).map(Cow::Owned)
        }
        Expr::MethodCall {
            object,
            method,
            name,
            args,
            span,
        } => {
            let obj = eval(object, env)?;
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, env)?.into_owned());
            }
            call_method(*method, name, &obj, &vals, *span).map(Cow::Owned)
        }
    }
}

/// A result that borrowed from a temporary, made owned.
pub(super) fn owned<'a>(v: EResult<Val<'_>>) -> EResult<Val<'a>> {
    v.map(|v| Cow::Owned(v.into_owned()))
}

/// `obj.name`: a record's field (borrowed), or `length` of a string or list.
pub fn member<'a>(obj: &'a Value, name: &str, optional: bool, span: Span) -> EResult<Val<'a>> {
    match obj {
        Value::Null if optional => Ok(Cow::Owned(Value::Null)),
        Value::Record(fields) => match crate::value::find_field(fields, name) {
            Some(v) => Ok(Cow::Borrowed(v)),
            None if optional => Ok(Cow::Owned(Value::Null)),
            None => {
                let names: Vec<&str> = fields.iter().map(|(k, _)| &**k).take(12).collect();
                err(
                    span,
                    format!(
                        "the record has no field '{name}' (its fields: {})",
                        names.join(", ")
                    ),
                )
            }
        },
        Value::Str(s) if name == "length" => Ok(Cow::Owned(Value::Int(s.chars().count() as i64))),
        Value::List(l) if name == "length" => Ok(Cow::Owned(Value::Int(l.len() as i64))),
        other => err(
            span,
            format!(
                "cannot read field '{name}' of {} {} {}",
                article(tname(other)),
                tname(other),
                short(other)
            ),
        ),
    }
}

fn article(t: &str) -> &'static str {
    if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 30 {
        format!("{}…", s.chars().take(29).collect::<String>())
    } else {
        s
    }
}

/// Python-style index: negative counts from the end.
fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let j = if i < 0 { i.checked_add(len_i)? } else { i };
    if j < 0 || j >= len_i {
        None
    } else {
        usize::try_from(j).ok()
    }
}

pub(super) fn index_value<'a>(obj: &'a Value, idx: &Value, span: Span) -> EResult<Val<'a>> {
    match (obj, idx) {
        (Value::List(l), i) if as_int(i).is_some() => {
            let i = as_int(i).unwrap_or(0);
            match resolve_index(i, l.len()).and_then(|j| l.get(j)) {
                Some(v) => Ok(Cow::Borrowed(v)),
                None => err(
                    span,
                    format!("list index {i} is out of range for a list of {} items", l.len()),
                ),
            }
        }
        (Value::Str(s), i) if as_int(i).is_some() => {
            let i = as_int(i).unwrap_or(0);
            let n = s.chars().count();
            match resolve_index(i, n).and_then(|j| s.chars().nth(j)) {
                Some(c) => Ok(Cow::Owned(Value::from(c.to_string()))),
                None => err(
                    span,
                    format!("string index {i} is out of range for a string of {n} characters"),
                ),
            }
        }
        (Value::Record(_), Value::Str(k)) => member(obj, k, false, span),
        (Value::Record(_), other) => err(span, format!("record keys are strings, not {}", tname(other))),
        (Value::List(_) | Value::Str(_), other) => err(
            span,
            format!("{} indices must be integers, not {}", tname(obj), tname(other)),
        ),
        (other, _) => err(
            span,
            format!("{} {} cannot be indexed", article(tname(other)), tname(other)),
        ),
    }
}

fn slice_indices(
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    span: Span,
) -> EResult<Vec<usize>> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return err(span, "slice step cannot be zero");
    }
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |v: Option<i64>, default: i64, lo: i64, hi: i64| -> i64 {
        match v {
            None => default,
            Some(x) if x < 0 => (x.saturating_add(n)).max(lo),
            Some(x) => x.min(hi),
        }
    };
    let mut out = Vec::new();
    if step > 0 {
        let a = clamp(start, 0, 0, n);
        let b = clamp(stop, n, 0, n);
        let mut i = a;
        while i < b {
            out.push(usize::try_from(i).unwrap_or(0));
            i = i.saturating_add(step);
        }
    } else {
        let a = clamp(start, n - 1, -1, n - 1);
        let b = clamp(stop, -1, -1, n - 1);
        let mut i = a;
        while i > b {
            if i >= 0 {
                out.push(usize::try_from(i).unwrap_or(0));
            }
            i = i.saturating_add(step);
        }
    }
    Ok(out)
}

fn slice(
    obj: &Value,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    span: Span,
) -> EResult<Value> {
    match obj {
        Value::List(l) => {
            let idx = slice_indices(l.len(), start, stop, step, span)?;
            Ok(Value::list(
                idx.into_iter().filter_map(|i| l.get(i).cloned()).collect(),
            ))
        }
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            let idx = slice_indices(chars.len(), start, stop, step, span)?;
            Ok(Value::from(
                idx.into_iter().filter_map(|i| chars.get(i)).collect::<String>(),
            ))
        }
        other => err(
            span,
            format!("{} {} cannot be sliced", article(tname(other)), tname(other)),
        ),
    }
}

pub(super) fn unary(op: UnaryOp, v: &Value, span: Span) -> EResult<Value> {
    match op {
        UnaryOp::Not => Ok(Value::Bool(!v.truthy())),
        UnaryOp::Invert => match v {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            Value::Int(i) => Ok(Value::Int(!i)),
            other => err(span, format!("bad operand type for unary ~: '{}'", tname(other))),
        },
        UnaryOp::Plus => match v {
            Value::Int(_) | Value::Float(_) => Ok(v.clone()),
            Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
            other => err(span, format!("bad operand type for unary +: '{}'", tname(other))),
        },
        UnaryOp::Neg => match v {
            Value::Int(i) => match i.checked_neg() {
                Some(n) => Ok(Value::Int(n)),
                None => err(span, "integer overflow in -"),
            },
            Value::Float(f) => Ok(Value::Float(-f)),
            Value::Bool(b) => Ok(Value::Int(-i64::from(*b))),
            other => err(span, format!("bad operand type for unary -: '{}'", tname(other))),
        },
    }
}

fn overflow<T>(op: BinaryOp, span: Span) -> EResult<T> {
    err(
        span,
        format!("integer overflow in {} (integers are 64-bit)", op.symbol()),
    )
}

fn check_string(s: String, span: Span) -> EResult<Value> {
    if s.len() > MAX_STRING_BYTES {
        return limit(span, format!("a string of more than {MAX_STRING_BYTES} bytes"));
    }
    Ok(Value::from(s))
}

fn repeat_count(n: &Value, span: Span) -> EResult<usize> {
    let n = as_int(n).unwrap_or(0);
    Ok(usize::try_from(n.max(0)).unwrap_or(0)).and_then(|c| {
        if c > MAX_ITEMS * 16 {
            limit(span, "repeat count too large")
        } else {
            Ok(c)
        }
    })
}

pub fn binary(op: BinaryOp, a: &Value, b: &Value, span: Span) -> EResult<Value> {
    use Value::*;
    if matches!(op, BinaryOp::BitAnd | BinaryOp::BitOr) {
        let and = op == BinaryOp::BitAnd;
        return match (a, b) {
            (Bool(x), Bool(y)) => Ok(Bool(if and { *x && *y } else { *x || *y })),
            (Int(_) | Bool(_), Int(_) | Bool(_)) => {
                let (x, y) = (as_int(a).unwrap_or(0), as_int(b).unwrap_or(0));
                Ok(Int(if and { x & y } else { x | y }))
            }
            _ => err(
                span,
                format!(
                    "unsupported operand types for {}: '{}' and '{}'",
                    op.symbol(),
                    tname(a),
                    tname(b)
                ),
            ),
        };
    }
    // Sequences first: concatenation and repetition.
    match (op, a, b) {
        (BinaryOp::Add, Str(x), Str(y)) => return check_string(format!("{x}{y}"), span),
        (BinaryOp::Add, List(x), List(y)) => {
            if x.len() + y.len() > MAX_ITEMS {
                return limit(span, format!("a list of more than {MAX_ITEMS} items"));
            }
            let mut out = Vec::with_capacity(x.len() + y.len());
            out.extend(x.iter().cloned());
            out.extend(y.iter().cloned());
            return Ok(Value::list(out));
        }
        (BinaryOp::Mul, Str(s), n) | (BinaryOp::Mul, n, Str(s)) if as_int(n).is_some() => {
            let count = repeat_count(n, span)?;
            if s.len().saturating_mul(count) > MAX_STRING_BYTES {
                return limit(span, format!("a string of more than {MAX_STRING_BYTES} bytes"));
            }
            return Ok(Value::from(s.repeat(count)));
        }
        (BinaryOp::Mul, List(l), n) | (BinaryOp::Mul, n, List(l)) if as_int(n).is_some() => {
            let count = repeat_count(n, span)?;
            if l.len().saturating_mul(count) > MAX_ITEMS {
                return limit(span, format!("a list of more than {MAX_ITEMS} items"));
            }
            let mut out = Vec::with_capacity(l.len() * count);
            for _ in 0..count {
                out.extend(l.iter().cloned());
            }
            return Ok(Value::list(out));
        }
        _ => {}
    }
    if !is_number(a) || !is_number(b) {
        return err(
            span,
            format!(
                "unsupported operand types for {}: '{}' and '{}'",
                op.symbol(),
                tname(a),
                tname(b)
            ),
        );
    }
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return int_binary(op, x, y, span);
    }
    let (x, y) = (as_num(a).unwrap_or(f64::NAN), as_num(b).unwrap_or(f64::NAN));
    let out = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => {
            if y == 0.0 {
                return err(span, "division by zero");
            }
            x / y
        }
        BinaryOp::FloorDiv => {
            if y == 0.0 {
                return err(span, "division by zero");
            }
            (x / y).floor()
        }
        BinaryOp::Mod => {
            if y == 0.0 {
                return err(span, "modulo by zero");
            }
            let r = x % y;
            if r != 0.0 && (r < 0.0) != (y < 0.0) {
                r + y
            } else {
                r
            }
        }
        BinaryOp::Pow => {
            if x == 0.0 && y < 0.0 {
                return err(span, "0.0 cannot be raised to a negative power");
            }
            let r = x.powf(y);
            if r.is_nan() && !x.is_nan() && !y.is_nan() {
                return err(span, format!("{x} ** {y} is not a real number"));
            }
            r
        }
        // Handled before: only ints and bools.
        BinaryOp::BitAnd | BinaryOp::BitOr => f64::NAN,
    };
    Ok(Value::Float(out))
}

pub(super) fn int_binary(op: BinaryOp, x: i64, y: i64, span: Span) -> EResult<Value> {
    let v = match op {
        BinaryOp::Add => x.checked_add(y).map(Value::Int),
        BinaryOp::Sub => x.checked_sub(y).map(Value::Int),
        BinaryOp::Mul => x.checked_mul(y).map(Value::Int),
        BinaryOp::Div => {
            if y == 0 {
                return err(span, "division by zero");
            }
            Some(Value::Float(x as f64 / y as f64))
        }
        BinaryOp::FloorDiv => {
            if y == 0 {
                return err(span, "division by zero");
            }
            if x == i64::MIN && y == -1 {
                None
            } else {
                Some(Value::Int(floor_div(x, y)))
            }
        }
        BinaryOp::Mod => {
            if y == 0 {
                return err(span, "modulo by zero");
            }
            x.checked_rem(y).map(|r| {
                if r != 0 && ((r < 0) != (y < 0)) {
                    Value::Int(r + y)
                } else {
                    Value::Int(r)
                }
            })
        }
        BinaryOp::Pow => {
            if y < 0 {
                if x == 0 {
                    return err(span, "0 cannot be raised to a negative power");
                }
                Some(Value::Float((x as f64).powf(y as f64)))
            } else {
                u32::try_from(y)
                    .ok()
                    .and_then(|e| x.checked_pow(e))
                    .map(Value::Int)
            }
        }
        BinaryOp::BitAnd => Some(Value::Int(x & y)),
        BinaryOp::BitOr => Some(Value::Int(x | y)),
    };
    match v {
        Some(v) => Ok(v),
        None => overflow(op, span),
    }
}

fn floor_div(x: i64, y: i64) -> i64 {
    let q = x.wrapping_div(y);
    if (x % y != 0) && ((x < 0) != (y < 0)) {
        q - 1
    } else {
        q
    }
}

fn order(a: &Value, b: &Value, op: CompareOp, span: Span) -> EResult<Ordering> {
    match (a, b) {
        _ if is_number(a) && is_number(b) => {
            let (x, y) = (as_num(a).unwrap_or(0.0), as_num(b).unwrap_or(0.0));
            if let (Some(i), Some(j)) = (as_int(a), as_int(b)) {
                return Ok(i.cmp(&j));
            }
            // NaN compares false with everything, as in Python and JS.
            Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal))
        }
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                if p != q {
                    return order(p, q, op, span);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => err(
            span,
            format!(
                "'{}' is not supported between {} and {}",
                op.symbol(),
                tname(a),
                tname(b)
            ),
        ),
    }
}

fn has_nan(a: &Value, b: &Value) -> bool {
    matches!(a, Value::Float(x) if x.is_nan()) || matches!(b, Value::Float(y) if y.is_nan())
}

pub fn compare(op: CompareOp, a: &Value, b: &Value, span: Span) -> EResult<bool> {
    Ok(match op {
        CompareOp::Eq => !has_nan(a, b) && equal(a, b),
        CompareOp::Ne => has_nan(a, b) || !equal(a, b),
        CompareOp::Is => std::mem::discriminant(a) == std::mem::discriminant(b) && a == b,
        CompareOp::IsNot => !(std::mem::discriminant(a) == std::mem::discriminant(b) && a == b),
        CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
            let o = order(a, b, op, span)?;
            if has_nan(a, b) {
                return Ok(false);
            }
            match op {
                CompareOp::Lt => o == Ordering::Less,
                CompareOp::Le => o != Ordering::Greater,
                CompareOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }
        }
        CompareOp::In => contains(b, a, span)?,
        CompareOp::NotIn => !contains(b, a, span)?,
    })
}

/// Deep equality; bools equal 0 and 1 as in Python.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Bool(x), Value::Int(_) | Value::Float(_)) => Value::Int(i64::from(*x)) == *b,
        (Value::Int(_) | Value::Float(_), Value::Bool(y)) => *a == Value::Int(i64::from(*y)),
        _ => a == b,
    }
}

fn contains(container: &Value, item: &Value, span: Span) -> EResult<bool> {
    match container {
        Value::List(l) => Ok(l.iter().any(|x| equal(x, item))),
        Value::Str(s) => match item {
            Value::Str(sub) => Ok(s.contains(&**sub)),
            other => err(
                span,
                format!("'in <str>' needs a string on the left, not {}", tname(other)),
            ),
        },
        Value::Record(r) => match item {
            Value::Str(k) => Ok(r.iter().any(|(key, _)| **key == **k)),
            _ => Ok(false),
        },
        other => err(
            span,
            format!("{} {} is not a container", article(tname(other)), tname(other)),
        ),
    }
}

fn arity(name: &str, args: &[Value], lo: usize, hi: usize, span: Span) -> EResult<()> {
    if args.len() < lo || args.len() > hi {
        let want = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo} to {hi}")
        };
        return err(
            span,
            format!(
                "{name}() takes {want} argument{}, got {}",
                if hi == 1 { "" } else { "s" },
                args.len()
            ),
        );
    }
    Ok(())
}

fn arg(args: &[Value], i: usize) -> &Value {
    static NULL: Value = Value::Null;
    args.get(i).unwrap_or(&NULL)
}

fn num_arg(name: &str, v: &Value, span: Span) -> EResult<f64> {
    match as_num(v) {
        Some(x) => Ok(x),
        None => err(
            span,
            format!("{name}() needs a number, not {} {}", article(tname(v)), short(v)),
        ),
    }
}

fn float_to_int(x: f64, name: &str, span: Span) -> EResult<Value> {
    if x.is_nan() || x.is_infinite() || x.abs() >= 9.2e18 {
        return err(span, format!("{name}(): cannot convert {x} to an integer"));
    }
    Ok(Value::Int(x as i64))
}

/// Elements of an iterable argument (list, string's characters, record's keys).
fn items_of(v: &Value, name: &str, span: Span) -> EResult<Vec<Value>> {
    match v {
        Value::List(l) => Ok(l.to_vec()),
        Value::Str(s) => Ok(s.chars().map(|c| Value::from(c.to_string())).collect()),
        Value::Record(r) => Ok(r.iter().map(|(k, _)| Value::Str(k.clone())).collect()),
        other => err(
            span,
            format!(
                "{name}() needs a list, not {} {}",
                article(tname(other)),
                tname(other)
            ),
        ),
    }
}

fn extreme(name: &str, args: &[Value], want: Ordering, span: Span) -> EResult<Value> {
    let items = if args.len() == 1 {
        items_of(arg(args, 0), name, span)?
    } else {
        args.to_vec()
    };
    let mut best: Option<Value> = None;
    for it in items {
        best = Some(match best {
            None => it,
            Some(b) => {
                if order(&it, &b, CompareOp::Lt, span)? == want {
                    it
                } else {
                    b
                }
            }
        });
    }
    match best {
        Some(v) => Ok(v),
        None => err(span, format!("{name}() of an empty sequence")),
    }
}

fn py_str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        other => other.to_string(),
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

fn parse_number(s: &str) -> Option<Value> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Int(i));
    }
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Some(Value::Float(f64::NAN)),
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(Value::Float(f64::INFINITY)),
        "-inf" | "-infinity" => return Some(Value::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    t.parse::<f64>().ok().map(Value::Float)
}

fn call_builtin(f: Builtin, args: &[Value], span: Span) -> EResult<Value> {
    use Builtin::*;
    let a0 = arg(args, 0);
    match f {
        Len => {
            arity("len", args, 1, 1, span)?;
            match a0 {
                Value::Str(s) => Ok(Value::Int(s.chars().count() as i64)),
                Value::List(l) => Ok(Value::Int(l.len() as i64)),
                Value::Record(r) => Ok(Value::Int(r.len() as i64)),
                other => err(
                    span,
                    format!(
                        "len() of {} {} is not defined",
                        article(tname(other)),
                        tname(other)
                    ),
                ),
            }
        }
        Str => {
            arity("str", args, 1, 1, span)?;
            check_string(py_str(a0), span)
        }
        Int => {
            arity("int", args, 1, 1, span)?;
            match a0 {
                Value::Int(i) => Ok(Value::Int(*i)),
                Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
                Value::Float(x) => float_to_int(x.trunc(), "int", span),
                Value::Str(s) => match s.trim().parse::<i64>() {
                    Ok(i) => Ok(Value::Int(i)),
                    Err(_) => err(span, format!("int(): invalid literal {:?}", &**s)),
                },
                other => err(
                    span,
                    format!("int() cannot convert {} {}", article(tname(other)), tname(other)),
                ),
            }
        }
        Float => {
            arity("float", args, 1, 1, span)?;
            match a0 {
                Value::Str(s) => match parse_number(s) {
                    Some(v) => Ok(Value::Float(as_num(&v).unwrap_or(f64::NAN))),
                    None => err(span, format!("float(): cannot convert {:?}", &**s)),
                },
                v => match as_num(v) {
                    Some(x) => Ok(Value::Float(x)),
                    None => err(
                        span,
                        format!("float() cannot convert {} {}", article(tname(v)), tname(v)),
                    ),
                },
            }
        }
        Number => {
            arity("Number", args, 1, 1, span)?;
            match a0 {
                Value::Str(s) if s.trim().is_empty() => Ok(Value::Int(0)),
                Value::Str(s) => Ok(parse_number(s).unwrap_or(Value::Float(f64::NAN))),
                Value::Null => Ok(Value::Int(0)),
                v => match as_num(v) {
                    Some(_) if matches!(v, Value::Bool(_)) => Ok(Value::Int(as_int(v).unwrap_or(0))),
                    Some(_) => Ok(v.clone()),
                    None => Ok(Value::Float(f64::NAN)),
                },
            }
        }
        ParseInt => {
            arity("parseInt", args, 1, 2, span)?;
            let text = py_str(a0);
            let t = text.trim();
            let digits: String = t
                .char_indices()
                .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
                .map(|(_, c)| c)
                .collect();
            Ok(digits
                .parse::<i64>()
                .map(Value::Int)
                .unwrap_or(Value::Float(f64::NAN)))
        }
        ParseFloat => {
            arity("parseFloat", args, 1, 1, span)?;
            let text = py_str(a0);
            let t = text.trim();
            let mut end = 0;
            for i in (1..=t.len()).rev() {
                if t.get(..i).is_some_and(|p| p.parse::<f64>().is_ok()) {
                    end = i;
                    break;
                }
            }
            Ok(t.get(..end)
                .and_then(|p| p.parse::<f64>().ok())
                .map(Value::Float)
                .unwrap_or(Value::Float(f64::NAN)))
        }
        Bool => {
            arity("bool", args, 1, 1, span)?;
            Ok(Value::Bool(a0.truthy()))
        }
        Abs => {
            arity("abs", args, 1, 1, span)?;
            match a0 {
                Value::Int(i) => i
                    .checked_abs()
                    .map(Value::Int)
                    .ok_or(())
                    .or_else(|_| overflow(BinaryOp::Sub, span)),
                Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
                v => Ok(Value::Float(num_arg("abs", v, span)?.abs())),
            }
        }
        Min => extreme("min", args, Ordering::Less, span),
        Max => extreme("max", args, Ordering::Greater, span),
        Sum => {
            arity("sum", args, 1, 2, span)?;
            let mut acc = args.get(1).cloned().unwrap_or(Value::Int(0));
            for it in items_of(a0, "sum", span)? {
                acc = binary(BinaryOp::Add, &acc, &it, span)?;
            }
            Ok(acc)
        }
        Round => {
            arity("round", args, 1, 2, span)?;
            let x = num_arg("round", a0, span)?;
            match args.get(1) {
                None | Some(Value::Null) => {
                    if let Some(i) = as_int(a0) {
                        return Ok(Value::Int(i));
                    }
                    float_to_int(round_half_even(x), "round", span)
                }
                Some(n) => {
                    let n = as_int(n).unwrap_or(0).clamp(-300, 300);
                    let scale = 10f64.powi(n as i32);
                    let r = round_half_even(x * scale) / scale;
                    if matches!(a0, Value::Int(_)) {
                        float_to_int(r, "round", span)
                    } else {
                        Ok(Value::Float(r))
                    }
                }
            }
        }
        JsRound => {
            arity("Math.round", args, 1, 1, span)?;
            Ok(int_if_integral(Value::Float(
                (num_arg("Math.round", a0, span)? + 0.5).floor(),
            )))
        }
        Floor | Ceil | Trunc => {
            let name = match f {
                Floor => "floor",
                Ceil => "ceil",
                _ => "trunc",
            };
            arity(name, args, 1, 1, span)?;
            if let Some(i) = as_int(a0) {
                return Ok(Value::Int(i));
            }
            let x = num_arg(name, a0, span)?;
            let y = match f {
                Floor => x.floor(),
                Ceil => x.ceil(),
                _ => x.trunc(),
            };
            float_to_int(y, name, span)
        }
        Sign => {
            arity("Math.sign", args, 1, 1, span)?;
            let x = num_arg("Math.sign", a0, span)?;
            Ok(Value::Int(if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            }))
        }
        Sqrt => {
            arity("sqrt", args, 1, 1, span)?;
            let x = num_arg("sqrt", a0, span)?;
            if x < 0.0 {
                return err(span, format!("sqrt() of a negative number ({x})"));
            }
            Ok(Value::Float(x.sqrt()))
        }
        Exp => {
            arity("exp", args, 1, 1, span)?;
            Ok(Value::Float(num_arg("exp", a0, span)?.exp()))
        }
        Log | Log10 | Log2 => {
            arity("log", args, 1, 2, span)?;
            let x = num_arg("log", a0, span)?;
            if x <= 0.0 {
                return err(span, format!("log() of a number that is not positive ({x})"));
            }
            let y = match (f, args.get(1)) {
                (Log10, _) => x.log10(),
                (Log2, _) => x.log2(),
                (_, Some(b)) => {
                    let b = num_arg("log", b, span)?;
                    if b <= 0.0 || b == 1.0 {
                        return err(span, format!("log() base must be positive and not 1, not {b}"));
                    }
                    x.ln() / b.ln()
                }
                _ => x.ln(),
            };
            Ok(Value::Float(y))
        }
        Sin | Cos | Tan => {
            arity("trigonometric function", args, 1, 1, span)?;
            let x = num_arg("sin", a0, span)?;
            Ok(Value::Float(match f {
                Sin => x.sin(),
                Cos => x.cos(),
                _ => x.tan(),
            }))
        }
        Pow => {
            arity("pow", args, 2, 2, span)?;
            binary(BinaryOp::Pow, a0, arg(args, 1), span)
        }
        Sorted => {
            arity("sorted", args, 1, 1, span)?;
            let mut items = items_of(a0, "sorted", span)?;
            let mut failure: Option<EvalError> = None;
            items.sort_by(|x, y| match order(x, y, CompareOp::Lt, span) {
                Ok(o) => o,
                Err(e) => {
                    failure.get_or_insert(e);
                    Ordering::Equal
                }
            });
            match failure {
                Some(e) => Err(e),
                None => Ok(Value::list(items)),
            }
        }
        List => {
            arity("list", args, 0, 1, span)?;
            if args.is_empty() {
                return Ok(Value::list(Vec::new()));
            }
            Ok(Value::list(items_of(a0, "list", span)?))
        }
        Range => {
            arity("range", args, 1, 3, span)?;
            let ints: Vec<i64> = args
                .iter()
                .map(|v| as_int(v).ok_or(()))
                .collect::<Result<_, _>>()
                .or_else(|_| err(span, "range() takes integers"))?;
            let (start, stop, step) = match ints.as_slice() {
                [stop] => (0, *stop, 1),
                [start, stop] => (*start, *stop, 1),
                [start, stop, step] => (*start, *stop, *step),
                _ => (0, 0, 1),
            };
            if step == 0 {
                return err(span, "range() step cannot be zero");
            }
            let count = if step > 0 {
                (i128::from(stop) - i128::from(start) + i128::from(step) - 1) / i128::from(step)
            } else {
                (i128::from(start) - i128::from(stop) - i128::from(step) - 1) / -i128::from(step)
            };
            if count > MAX_ITEMS as i128 {
                return limit(span, format!("range() of more than {MAX_ITEMS} items"));
            }
            let mut out = Vec::new();
            let mut i = start;
            for _ in 0..count.max(0) {
                out.push(Value::Int(i));
                i = i.saturating_add(step);
            }
            Ok(Value::list(out))
        }
        IsArray => {
            arity("Array.isArray", args, 1, 1, span)?;
            Ok(Value::Bool(matches!(a0, Value::List(_))))
        }
        IsNaN => {
            arity("isNaN", args, 1, 1, span)?;
            Ok(Value::Bool(matches!(a0, Value::Float(x) if x.is_nan())))
        }
        Keys | Values | Entries => {
            arity("Object.keys", args, 1, 1, span)?;
            let Value::Record(r) = a0 else {
                return err(
                    span,
                    format!("Object.keys/values/entries need a record, not {}", tname(a0)),
                );
            };
            Ok(Value::list(
                r.iter()
                    .map(|(k, v)| match f {
                        Keys => Value::Str(k.clone()),
                        Values => v.clone(),
                        _ => Value::list(vec![Value::Str(k.clone()), v.clone()]),
                    })
                    .collect(),
            ))
        }
    }
}

fn int_if_integral(v: Value) -> Value {
    match v {
        Value::Float(x) if x.is_finite() && x == x.trunc() && x.abs() < 9e15 => Value::Int(x as i64),
        other => other,
    }
}

fn str_arg<'a>(name: &str, args: &'a [Value], i: usize, span: Span) -> EResult<&'a str> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => err(
            span,
            format!("{name}() needs a string argument, not {}", tname(other)),
        ),
        None => err(span, format!("{name}() needs argument {}", i + 1)),
    }
}

fn opt_int(args: &[Value], i: usize) -> Option<i64> {
    args.get(i).and_then(as_int)
}

/// JS slice bounds: negative from the end, clamped.
fn js_bounds(len: usize, start: Option<i64>, end: Option<i64>) -> (usize, usize) {
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let fix = |v: i64| -> usize {
        let v = if v < 0 { (v + n).max(0) } else { v.min(n) };
        usize::try_from(v).unwrap_or(0)
    };
    let a = fix(start.unwrap_or(0));
    let b = fix(end.unwrap_or(n));
    (a, b.max(a))
}

pub fn call_method(m: Method, name: &str, obj: &Value, args: &[Value], span: Span) -> EResult<Value> {
    let wrong = || -> EResult<Value> {
        err(
            span,
            format!("{} {} has no method '{name}'", article(tname(obj)), tname(obj)),
        )
    };
    match obj {
        Value::Str(s) => string_method(m, name, s, args, span).unwrap_or_else(wrong),
        Value::List(l) => list_method(m, name, l, args, span).unwrap_or_else(wrong),
        Value::Record(r) => record_method(m, r, args, span).unwrap_or_else(wrong),
        Value::Int(_) | Value::Float(_) => match m {
            Method::ToFixed => {
                let digits = opt_int(args, 0).unwrap_or(0).clamp(0, 100) as usize;
                Ok(Value::from(format!("{:.*}", digits, as_num(obj).unwrap_or(0.0))))
            }
            Method::ToString => Ok(Value::from(obj.to_string())),
            _ => wrong(),
        },
        _ => wrong(),
    }
}

fn string_method(m: Method, name: &str, s: &str, args: &[Value], span: Span) -> Option<EResult<Value>> {
    Some(match m {
        Method::Lower => Ok(Value::from(s.to_lowercase())),
        Method::Upper => Ok(Value::from(s.to_uppercase())),
        Method::Strip | Method::LStrip | Method::RStrip => {
            let chars: Option<Vec<char>> = match args.first() {
                Some(Value::Str(c)) => Some(c.chars().collect()),
                _ => None,
            };
            let pred = |c: char| match &chars {
                Some(set) => set.contains(&c),
                None => c.is_whitespace(),
            };
            Ok(Value::from(match m {
                Method::Strip => s.trim_matches(pred).to_string(),
                Method::LStrip => s.trim_start_matches(pred).to_string(),
                _ => s.trim_end_matches(pred).to_string(),
            }))
        }
        Method::Split => {
            let max = opt_int(args, 1)
                .filter(|n| *n >= 0)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            let parts: Vec<Value> = match args.first() {
                None | Some(Value::Null) => match max {
                    Some(n) => {
                        let mut out = Vec::new();
                        let mut rest = s.trim_start();
                        while out.len() < n && !rest.is_empty() {
                            match rest.find(char::is_whitespace) {
                                Some(i) => {
                                    out.push(Value::from(rest.get(..i).unwrap_or("").to_string()));
                                    rest = rest.get(i..).unwrap_or("").trim_start();
                                }
                                None => {
                                    out.push(Value::from(rest.to_string()));
                                    rest = "";
                                }
                            }
                        }
                        if !rest.is_empty() {
                            out.push(Value::from(rest.to_string()));
                        }
                        out
                    }
                    None => s.split_whitespace().map(Value::from).collect(),
                },
                Some(Value::Str(sep)) if sep.is_empty() => {
                    return Some(err(span, "split(): empty separator"))
                }
                Some(Value::Str(sep)) => match max {
                    Some(n) => s.splitn(n.saturating_add(1), &**sep).map(Value::from).collect(),
                    None => s.split(&**sep).map(Value::from).collect(),
                },
                Some(other) => {
                    return Some(err(
                        span,
                        format!("split() separator must be a string, not {}", tname(other)),
                    ))
                }
            };
            if parts.len() > MAX_ITEMS {
                return Some(limit(span, format!("split() made more than {MAX_ITEMS} items")));
            }
            Ok(Value::list(parts))
        }
        Method::JoinPy => {
            let items = match args.first() {
                Some(Value::List(l)) => l.clone(),
                _ => return Some(err(span, "join() needs a list of strings")),
            };
            let mut out = String::new();
            for (i, it) in items.iter().enumerate() {
                match it {
                    Value::Str(x) => {
                        if i > 0 {
                            out.push_str(s);
                        }
                        out.push_str(x);
                    }
                    other => {
                        return Some(err(
                            span,
                            format!(
                                "join(): item {i} is {} {}, not a string",
                                article(tname(other)),
                                tname(other)
                            ),
                        ))
                    }
                }
                if out.len() > MAX_STRING_BYTES {
                    return Some(limit(span, "join() made too long a string"));
                }
            }
            Ok(Value::from(out))
        }
        Method::ReplaceAll | Method::ReplaceFirst => {
            let (from, to) = match (str_arg(name, args, 0, span), str_arg(name, args, 1, span)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
            };
            let count = if m == Method::ReplaceFirst {
                Some(1)
            } else {
                opt_int(args, 2).filter(|c| *c >= 0)
            };
            let out = match count {
                Some(c) => s.replacen(from, to, usize::try_from(c).unwrap_or(usize::MAX)),
                None => s.replace(from, to),
            };
            check_string(out, span)
        }
        Method::StartsWith => str_arg(name, args, 0, span).map(|p| Value::Bool(s.starts_with(p))),
        Method::EndsWith => str_arg(name, args, 0, span).map(|p| Value::Bool(s.ends_with(p))),
        Method::Find | Method::Index => str_arg(name, args, 0, span).and_then(|p| match s.find(p) {
            Some(byte) => Ok(Value::Int(
                s.get(..byte).map(|pre| pre.chars().count()).unwrap_or(0) as i64,
            )),
            None if m == Method::Index => err(span, format!("index(): substring {p:?} not found")),
            None => Ok(Value::Int(-1)),
        }),
        Method::Count => str_arg(name, args, 0, span).map(|p| {
            if p.is_empty() {
                Value::Int(s.chars().count() as i64 + 1)
            } else {
                Value::Int(s.matches(p).count() as i64)
            }
        }),
        Method::Includes => str_arg(name, args, 0, span).map(|p| Value::Bool(s.contains(p))),
        Method::Title => {
            let mut out = String::with_capacity(s.len());
            let mut prev_alpha = false;
            for c in s.chars() {
                if c.is_alphabetic() {
                    if prev_alpha {
                        out.extend(c.to_lowercase());
                    } else {
                        out.extend(c.to_uppercase());
                    }
                    prev_alpha = true;
                } else {
                    out.push(c);
                    prev_alpha = false;
                }
            }
            Ok(Value::from(out))
        }
        Method::Capitalize => {
            let mut chars = s.chars();
            let out = match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            };
            Ok(Value::from(out))
        }
        Method::Slice | Method::Substring => {
            let chars: Vec<char> = s.chars().collect();
            let (a, b) = if m == Method::Substring {
                let n = chars.len() as i64;
                let x = opt_int(args, 0).unwrap_or(0).clamp(0, n);
                let y = opt_int(args, 1).unwrap_or(n).clamp(0, n);
                (
                    usize::try_from(x.min(y)).unwrap_or(0),
                    usize::try_from(x.max(y)).unwrap_or(0),
                )
            } else {
                js_bounds(chars.len(), opt_int(args, 0), opt_int(args, 1))
            };
            Ok(Value::from(
                chars.get(a..b).unwrap_or(&[]).iter().collect::<String>(),
            ))
        }
        Method::PadStart | Method::PadEnd => {
            let width = usize::try_from(opt_int(args, 0).unwrap_or(0).clamp(0, 1_000_000)).unwrap_or(0);
            let fill = match args.get(1) {
                Some(Value::Str(f)) if !f.is_empty() => f.to_string(),
                _ => " ".to_string(),
            };
            let len = s.chars().count();
            if len >= width {
                return Some(Ok(Value::from(s.to_string())));
            }
            let pad: String = fill.chars().cycle().take(width - len).collect();
            Ok(Value::from(if m == Method::PadStart {
                format!("{pad}{s}")
            } else {
                format!("{s}{pad}")
            }))
        }
        Method::IsDigit => Ok(Value::Bool(
            !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()),
        )),
        Method::IsAlpha => Ok(Value::Bool(!s.is_empty() && s.chars().all(char::is_alphabetic))),
        Method::Repeat => {
            let n = Value::Int(opt_int(args, 0).unwrap_or(0));
            binary(BinaryOp::Mul, &Value::from(s.to_string()), &n, span)
        }
        Method::Concat => {
            let mut out = s.to_string();
            for a in args {
                out.push_str(&py_str(a));
            }
            check_string(out, span)
        }
        Method::At => {
            let i = opt_int(args, 0).unwrap_or(0);
            let n = s.chars().count();
            Ok(resolve_index(i, n)
                .and_then(|j| s.chars().nth(j))
                .map(|c| Value::from(c.to_string()))
                .unwrap_or(Value::Null))
        }
        Method::ToString => Ok(Value::from(s.to_string())),
        Method::Reversed => Ok(Value::from(s.chars().rev().collect::<String>())),
        _ => return None,
    })
}

fn list_method(m: Method, _name: &str, l: &[Value], args: &[Value], span: Span) -> Option<EResult<Value>> {
    Some(match m {
        Method::Includes => Ok(Value::Bool(l.iter().any(|x| equal(x, arg(args, 0))))),
        Method::Find | Method::Index => match l.iter().position(|x| equal(x, arg(args, 0))) {
            Some(i) => Ok(Value::Int(i as i64)),
            None if m == Method::Index => err(
                span,
                format!("index(): {} is not in the list", short(arg(args, 0))),
            ),
            None => Ok(Value::Int(-1)),
        },
        Method::Count => Ok(Value::Int(
            l.iter().filter(|x| equal(x, arg(args, 0))).count() as i64
        )),
        Method::JoinJs => {
            let sep = match args.first() {
                Some(Value::Str(s)) => s.to_string(),
                None | Some(Value::Null) => ",".to_string(),
                Some(other) => {
                    return Some(err(
                        span,
                        format!("join() separator must be a string, not {}", tname(other)),
                    ))
                }
            };
            let parts: Vec<String> = l
                .iter()
                .map(|v| match v {
                    Value::Null => String::new(),
                    Value::Str(s) => s.to_string(),
                    other => other.to_string(),
                })
                .collect();
            check_string(parts.join(&sep), span)
        }
        Method::Slice => {
            let (a, b) = js_bounds(l.len(), opt_int(args, 0), opt_int(args, 1));
            Ok(Value::list(l.get(a..b).unwrap_or(&[]).to_vec()))
        }
        Method::Concat => {
            let mut out = l.to_vec();
            for a in args {
                match a {
                    Value::List(more) => out.extend(more.iter().cloned()),
                    other => out.push(other.clone()),
                }
                if out.len() > MAX_ITEMS {
                    return Some(limit(span, format!("a list of more than {MAX_ITEMS} items")));
                }
            }
            Ok(Value::list(out))
        }
        Method::At => Ok(resolve_index(opt_int(args, 0).unwrap_or(0), l.len())
            .and_then(|j| l.get(j))
            .cloned()
            .unwrap_or(Value::Null)),
        Method::Reversed => Ok(Value::list(l.iter().rev().cloned().collect())),
        _ => return None,
    })
}

fn record_method(m: Method, r: &[Field], args: &[Value], span: Span) -> Option<EResult<Value>> {
    Some(match m {
        Method::Get => match args.first() {
            Some(Value::Str(k)) => Ok(r
                .iter()
                .find(|(key, _)| **key == **k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::Null))),
            Some(_) => Ok(args.get(1).cloned().unwrap_or(Value::Null)),
            None => err(span, "get() needs a key"),
        },
        Method::Keys => Ok(Value::list(
            r.iter().map(|(k, _)| Value::Str(k.clone())).collect(),
        )),
        Method::Values => Ok(Value::list(r.iter().map(|(_, v)| v.clone()).collect())),
        Method::Items => Ok(Value::list(
            r.iter()
                .map(|(k, v)| Value::list(vec![Value::Str(k.clone()), v.clone()]))
                .collect(),
        )),
        _ => return None,
    })
}
