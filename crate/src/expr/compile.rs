//! Expressions compiled once, at parse time, into a tree of closures, so that a call does
//! not walk the AST: `x => x.value % 7 == 0` becomes three closures (field of a parameter,
//! modulo by a literal int, compare with a literal int), each with a fast path for ints.
//!
//! Every closure computes what `eval::eval` computes for its node, by calling the same
//! functions (`member`, `binary`, `compare`, ...) for anything off its fast path, so values
//! and errors (message and span) are the same by construction. Nodes that are not worth a
//! closure of their own (calls, methods, list and record literals, slices) run in the
//! interpreter as a whole subtree. The interpreter's step budget cannot be reached here:
//! without loops a call visits each node at most once, and `compile` refuses trees that
//! have as many nodes as the budget.

use super::ast::{CompareOp, Expr, LogicalOp};
use super::eval::{self, EResult, Env, Val, MAX_STEPS};
use crate::value::Value;
use std::borrow::Cow;

/// What one call's closures read: the bound parameters, and the compiled function's
/// literals and interpreted subtrees (borrowed for the call, so results may point at them).
pub struct Ctx<'s, 'a> {
    pub slots: &'s [&'a Value],
    consts: &'a [Value],
    rest: &'a [Expr],
}

type Code = Box<dyn for<'s, 'a> Fn(&Ctx<'s, 'a>) -> EResult<Val<'a>> + Send + Sync>;

fn code<F>(f: F) -> Code
where
    F: for<'s, 'a> Fn(&Ctx<'s, 'a>) -> EResult<Val<'a>> + Send + Sync + 'static,
{
    Box::new(f)
}

/// A function body as closures.
pub struct Compiled {
    root: Code,
    consts: Vec<Value>,
    rest: Vec<Expr>,
}

impl Compiled {
    /// Compiles `body`; `None` for a tree too large to be sure of the step budget.
    pub fn new(body: &Expr) -> Option<Compiled> {
        if nodes(body) >= MAX_STEPS {
            return None;
        }
        let mut b = Builder {
            consts: Vec::new(),
            rest: Vec::new(),
        };
        let root = b.compile(body);
        Some(Compiled {
            root,
            consts: b.consts,
            rest: b.rest,
        })
    }

    pub fn run<'a>(&'a self, slots: &[&'a Value]) -> EResult<Val<'a>> {
        let ctx = Ctx {
            slots,
            consts: &self.consts,
            rest: &self.rest,
        };
        (self.root)(&ctx)
    }
}

/// How many nodes a tree has (at most MAX_STEPS are counted).
fn nodes(e: &Expr) -> u64 {
    let mut n = 0u64;
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        n += 1;
        if n >= MAX_STEPS {
            break;
        }
        match e {
            Expr::Literal(..) | Expr::Param(..) => {}
            Expr::List(items, _) => stack.extend(items),
            Expr::Record(fields, _) => stack.extend(fields.iter().map(|(_, v)| v)),
            Expr::Member { object, .. } => stack.push(object),
            Expr::Index { object, index, .. } => {
                stack.push(object);
                stack.push(index);
            }
            Expr::Slice {
                object,
                start,
                stop,
                step,
                ..
            } => {
                stack.push(object);
                stack.extend([start, stop, step].into_iter().flatten().map(|b| &**b));
            }
            Expr::Unary { expr, .. } => stack.push(expr),
            Expr::Binary { left, right, .. } | Expr::Logical { left, right, .. } => {
                stack.push(left);
                stack.push(right);
            }
            Expr::Compare { first, rest, .. } => {
                stack.push(first);
                stack.extend(rest.iter().map(|(_, e, _)| e));
            }
            Expr::Conditional {
                cond,
                then,
                otherwise,
                ..
            } => {
                stack.push(cond);
                stack.push(then);
                stack.push(otherwise);
            }
            Expr::Call { args, .. } => stack.extend(args),
            Expr::MethodCall { object, args, .. } => {
                stack.push(object);
                stack.extend(args);
            }
        }
    }
    n
}

/// Python's comparison of two ints, for the operators that order.
fn int_compare(op: CompareOp, x: i64, y: i64) -> Option<bool> {
    Some(match op {
        CompareOp::Eq => x == y,
        CompareOp::Ne => x != y,
        CompareOp::Lt => x < y,
        CompareOp::Le => x <= y,
        CompareOp::Gt => x > y,
        CompareOp::Ge => x >= y,
        _ => return None,
    })
}

fn boolean<'a>(b: bool) -> EResult<Val<'a>> {
    Ok(Cow::Owned(Value::Bool(b)))
}

/// A scalar literal is copied on use; others are borrowed from the constants.
fn scalar(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_))
}

struct Builder {
    consts: Vec<Value>,
    rest: Vec<Expr>,
}

impl Builder {
    fn compile(&mut self, e: &Expr) -> Code {
        match e {
            Expr::Literal(v, _) if scalar(v) => {
                let v = v.clone();
                code(move |_| Ok(Cow::Owned(v.clone())))
            }
            Expr::Literal(v, span) => {
                let i = self.consts.len();
                self.consts.push(v.clone());
                let span = *span;
                code(move |c| match c.consts.get(i) {
                    Some(v) => Ok(Cow::Borrowed(v)),
                    None => eval::err(span, "internal: constant out of range"),
                })
            }
            Expr::Param(slot, span) => {
                let (slot, span) = (*slot, *span);
                code(move |c| match c.slots.get(slot) {
                    Some(v) => Ok(Cow::Borrowed(*v)),
                    None => eval::err(span, "internal: parameter slot out of range"),
                })
            }
            Expr::Member {
                object,
                name,
                optional,
                span,
            } => {
                let (name, optional, span) = (name.clone(), *optional, *span);
                if let Expr::Param(slot, pspan) = **object {
                    // `x.name`: the field of a parameter, borrowed.
                    return code(move |c| match c.slots.get(slot) {
                        Some(v) => eval::member(v, &name, optional, span),
                        None => eval::err(pspan, "internal: parameter slot out of range"),
                    });
                }
                let object = self.compile(object);
                code(move |c| match object(c)? {
                    Cow::Borrowed(obj) => eval::member(obj, &name, optional, span),
                    Cow::Owned(obj) => eval::owned(eval::member(&obj, &name, optional, span)),
                })
            }
            Expr::Index { object, index, span } => {
                let span = *span;
                let object = self.compile(object);
                if let Expr::Literal(Value::Str(k), _) = &**index {
                    // `x['name']`: on a record, the field.
                    let key = Value::Str(k.clone());
                    return code(move |c| {
                        let obj = object(c)?;
                        match (obj, &key) {
                            (Cow::Borrowed(o), Value::Str(k)) if o.as_record().is_some() => {
                                eval::member(o, k, false, span)
                            }
                            (Cow::Borrowed(o), _) => eval::index_value(o, &key, span),
                            (Cow::Owned(o), _) => eval::owned(eval::index_value(&o, &key, span)),
                        }
                    });
                }
                let index = self.compile(index);
                code(move |c| {
                    let obj = object(c)?;
                    let idx = index(c)?;
                    match obj {
                        Cow::Borrowed(o) => eval::index_value(o, &idx, span),
                        Cow::Owned(o) => eval::owned(eval::index_value(&o, &idx, span)),
                    }
                })
            }
            Expr::Unary { op, expr, span } => {
                let (op, span) = (*op, *span);
                let expr = self.compile(expr);
                code(move |c| eval::unary(op, &*expr(c)?, span).map(Cow::Owned))
            }
            Expr::Binary {
                op,
                left,
                right,
                span,
            } => {
                let (op, span) = (*op, *span);
                let left = self.compile(left);
                if let Expr::Literal(Value::Int(k), _) = **right {
                    let lit = Value::Int(k);
                    return code(move |c| {
                        let a = left(c)?;
                        match &*a {
                            Value::Int(x) => eval::int_binary(op, *x, k, span),
                            other => eval::binary(op, other, &lit, span),
                        }
                        .map(Cow::Owned)
                    });
                }
                let right = self.compile(right);
                code(move |c| {
                    let a = left(c)?;
                    let b = right(c)?;
                    match (&*a, &*b) {
                        (Value::Int(x), Value::Int(y)) => eval::int_binary(op, *x, *y, span),
                        (x, y) => eval::binary(op, x, y, span),
                    }
                    .map(Cow::Owned)
                })
            }
            Expr::Compare { first, rest, .. } => {
                let first = self.compile(first);
                if let [(op, right, span)] = rest.as_slice() {
                    let (op, span) = (*op, *span);
                    if let Expr::Literal(lit @ Value::Int(k), _) = right {
                        let (k, lit) = (*k, lit.clone());
                        return code(move |c| {
                            let a = first(c)?;
                            if let Value::Int(x) = &*a {
                                if let Some(b) = int_compare(op, *x, k) {
                                    return boolean(b);
                                }
                            }
                            boolean(eval::compare(op, &a, &lit, span)?)
                        });
                    }
                    let right = self.compile(right);
                    return code(move |c| {
                        let a = first(c)?;
                        let b = right(c)?;
                        if let (Value::Int(x), Value::Int(y)) = (&*a, &*b) {
                            if let Some(r) = int_compare(op, *x, *y) {
                                return boolean(r);
                            }
                        }
                        boolean(eval::compare(op, &a, &b, span)?)
                    });
                }
                let links: Vec<(CompareOp, Code, _)> = rest
                    .iter()
                    .map(|(op, e, span)| (*op, self.compile(e), *span))
                    .collect();
                code(move |c| {
                    let mut left = first(c)?;
                    for (op, right, span) in &links {
                        let r = right(c)?;
                        if !eval::compare(*op, &left, &r, *span)? {
                            return boolean(false);
                        }
                        left = r;
                    }
                    boolean(true)
                })
            }
            Expr::Logical { op, left, right, .. } => {
                let op = *op;
                let left = self.compile(left);
                let right = self.compile(right);
                code(move |c| {
                    let a = left(c)?;
                    match op {
                        LogicalOp::And if !a.truthy() => Ok(a),
                        LogicalOp::Or if a.truthy() => Ok(a),
                        LogicalOp::Coalesce if !a.is_null() => Ok(a),
                        _ => right(c),
                    }
                })
            }
            Expr::Conditional {
                cond,
                then,
                otherwise,
                ..
            } => {
                let cond = self.compile(cond);
                let then = self.compile(then);
                let otherwise = self.compile(otherwise);
                code(move |c| if cond(c)?.truthy() { then(c) } else { otherwise(c) })
            }
            // Calls, methods, literals that build and slices: the interpreter, whole.
            other => {
                let i = self.rest.len();
                self.rest.push(other.clone());
                let span = other.span();
                code(move |c| match c.rest.get(i) {
                    Some(e) => {
                        let mut env = Env {
                            slots: c.slots,
                            steps: 0,
                        };
                        eval::eval(e, &mut env)
                    }
                    None => eval::err(span, "internal: subtree out of range"),
                })
            }
        }
    }
}
