//! The fast path of a call: a second compilation of the body for the common case, numbers
//! and bools computed from fields of the arguments (`x.value % 7 == 0`,
//! `x['a'] * 2 + 1 > x.b`), without `Value`s, `Result`s or errors in between. Each closure
//! returns a small copyable scalar in registers, or `None` for anything off the common
//! case: another type, an error (division by zero, overflow), a missing field. `None` sends
//! the call to the general closures (`compile`), which then compute the value or the
//! error themselves; an expression has no side effects, so starting over changes nothing.
//!
//! Where the fast path answers, it answers what the general path would: integer
//! arithmetic is the same checked arithmetic as `eval::int_binary`, and every other case
//! (floats, bools, mixed types, comparisons of anything but two ints) calls the
//! interpreter's own `binary` and `compare` on the scalars, which build nothing.

use super::ast::{BinaryOp, CompareOp, Expr, LogicalOp, Span, UnaryOp};
use super::eval;
use crate::value::{field_name, find_field, Value};
use std::borrow::Cow;

/// A number or a bool, held without a `Value`.
#[derive(Clone, Copy)]
pub enum S {
    I(i64),
    F(f64),
    B(bool),
}

impl S {
    #[inline(always)]
    fn of(v: &Value) -> Option<S> {
        match v {
            Value::Int(i) => Some(S::I(*i)),
            Value::Float(f) => Some(S::F(*f)),
            Value::Bool(b) => Some(S::B(*b)),
            _ => None,
        }
    }
    fn value(self) -> Value {
        match self {
            S::I(i) => Value::Int(i),
            S::F(f) => Value::Float(f),
            S::B(b) => Value::Bool(b),
        }
    }
    /// Python truthiness, as `Value::truthy`.
    fn truthy(self) -> bool {
        match self {
            S::I(i) => i != 0,
            S::F(f) => f != 0.0,
            S::B(b) => b,
        }
    }
}

/// A scalar from the parameters.
type Num = Box<dyn Fn(&[&Value]) -> Option<S> + Send + Sync>;
/// A value inside the parameters (a parameter, a field, an item), borrowed.
type Ref = Box<dyn for<'a> Fn(&[&'a Value]) -> Option<&'a Value> + Send + Sync>;

fn num<F: Fn(&[&Value]) -> Option<S> + Send + Sync + 'static>(f: F) -> Num {
    Box::new(f)
}
fn reference<F>(f: F) -> Ref
where
    F: for<'a> Fn(&[&'a Value]) -> Option<&'a Value> + Send + Sync + 'static,
{
    Box::new(f)
}

/// The fast path of one function body.
pub enum Fast {
    /// The body reads a value of the arguments: it is returned borrowed.
    Ref(Ref),
    /// The body computes a number or a bool.
    Num(Num),
}

impl Fast {
    /// `None` when the body is not of the kind the fast path covers.
    pub fn new(body: &Expr) -> Option<Fast> {
        if let Some(r) = compile_ref(body) {
            return Some(Fast::Ref(r));
        }
        compile_num(body).map(Fast::Num)
    }

    /// The value of the body, or `None` to take the general path.
    #[inline]
    pub fn run<'a>(&self, slots: &[&'a Value]) -> Option<Cow<'a, Value>> {
        match self {
            Fast::Ref(r) => r(slots).map(Cow::Borrowed),
            Fast::Num(n) => n(slots).map(|s| Cow::Owned(s.value())),
        }
    }

    /// Whether the value of the body is truthy, or `None` to take the general path.
    #[inline]
    pub fn test(&self, slots: &[&Value]) -> Option<bool> {
        match self {
            Fast::Ref(r) => r(slots).map(Value::truthy),
            Fast::Num(n) => n(slots).map(S::truthy),
        }
    }
}

/// Parameters, their fields (`x.a`, `x['a']`) and items at literal indices (`x[0]`).
fn compile_ref(e: &Expr) -> Option<Ref> {
    Some(match e {
        Expr::Param(slot, _) => {
            let slot = *slot;
            reference(move |s| s.get(slot).copied())
        }
        Expr::Member {
            object,
            name,
            optional: _,
            ..
        } => field(object, name)?,
        Expr::Index { object, index, .. } => match &**index {
            Expr::Literal(Value::Str(k), _) => field(object, k)?,
            Expr::Literal(Value::Int(i), _) => {
                let (object, i) = (compile_ref(object)?, *i);
                reference(move |s| match object(s)? {
                    Value::List(l) => {
                        let len = i64::try_from(l.len()).ok()?;
                        let j = if i < 0 { i.checked_add(len)? } else { i };
                        l.get(usize::try_from(j).ok()?)
                    }
                    _ => None,
                })
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// A record's field by name; anything else (a missing field, `null?.a`, `s.length`) is
/// for the general path. The name is shared with the records made on this thread, which
/// `find_field` then recognises by address.
fn field(object: &Expr, name: &str) -> Option<Ref> {
    let name = field_name(name);
    if let Expr::Param(slot, _) = *object {
        return Some(reference(move |s| match s.get(slot)? {
            Value::Record(fields) => find_field(fields, &name),
            _ => None,
        }));
    }
    let object = compile_ref(object)?;
    Some(reference(move |s| match object(s)? {
        Value::Record(fields) => find_field(fields, &name),
        _ => None,
    }))
}

/// A field of a parameter (`x.value`, `x['value']`): the parameter's slot and the name.
fn param_field(e: &Expr) -> Option<(usize, std::sync::Arc<str>)> {
    let (object, name) = match e {
        Expr::Member { object, name, .. } => (object, name.as_str()),
        Expr::Index { object, index, .. } => match &**index {
            Expr::Literal(Value::Str(k), _) => (object, &**k),
            _ => return None,
        },
        _ => return None,
    };
    let Expr::Param(slot, _) = **object else {
        return None;
    };
    Some((slot, field_name(name)))
}

/// The scalar in field `name` of parameter `slot`, if it has one.
#[inline(always)]
fn scalar_field(s: &[&Value], slot: usize, name: &str) -> Option<S> {
    match s.get(slot)? {
        Value::Record(fields) => S::of(find_field(fields, name)?),
        _ => None,
    }
}

/// A number in a field of a parameter (`x.value`), in one closure.
fn num_field(e: &Expr) -> Option<Num> {
    let (slot, name) = param_field(e)?;
    Some(num(move |s| scalar_field(s, slot, &name)))
}

/// `x op k` for an int literal `k`, made once per closure: `x % k` for a positive `k` that
/// fits 32 bits is a remainder by multiplication (Lemire, Kaser and Kurz, "Faster
/// remainder by direct computation", 2019) for `x` in `0..2^32`, where a hardware
/// division costs several times more (`x.value % 7 == 0` is the commonest filter).
#[derive(Clone, Copy)]
struct IntOp {
    op: BinaryOp,
    k: i64,
    span: Span,
    /// `ceil(2^64 / k)` when `op` is `%` and `k` is in `1..2^32`; 0 otherwise.
    magic: u64,
}

impl IntOp {
    fn new(op: BinaryOp, k: i64, span: Span) -> IntOp {
        let magic = match (op, u32::try_from(k)) {
            (BinaryOp::Mod, Ok(d)) if d > 0 => rem_magic(d),
            _ => 0,
        };
        IntOp { op, k, span, magic }
    }

    /// `x op k`, as the general closures compute it.
    #[inline(always)]
    fn apply(&self, x: S) -> Option<S> {
        match x {
            S::I(x) => {
                if self.magic != 0 {
                    if let Ok(x) = u32::try_from(x) {
                        return Some(S::I(i64::from(fast_rem(x, self.magic, self.k as u64))));
                    }
                }
                int_op(self.op, x, self.k, self.span)
            }
            x => S::of(&eval::binary(self.op, &x.value(), &Value::Int(self.k), self.span).ok()?),
        }
    }
}

/// `ceil(2^64 / d)` for `d` in `1..2^32`, the multiplier `fast_rem` takes.
fn rem_magic(d: u32) -> u64 {
    (u64::MAX / u64::from(d.max(1))).wrapping_add(1)
}

/// `x % d` for `magic = rem_magic(d)` and `d` in `1..2^32`: the high 64 bits of
/// `(magic * x mod 2^64) * d`, in 64-bit multiplies (wasm has no 128-bit one).
#[inline(always)]
fn fast_rem(x: u32, magic: u64, d: u64) -> u32 {
    let low = magic.wrapping_mul(u64::from(x));
    let below = (low & 0xffff_ffff) * d;
    let above = (low >> 32) * d;
    ((above + (below >> 32)) >> 32) as u32
}

/// `x.f op k cmp c` with int literals `k` and `c` (`x.value % 7 == 0`), the most common
/// filter, in one closure: in wasm each closure is an indirect call, and three of them
/// per element made W1c twice as slow as natively.
fn field_op_int_compare(first: &Expr, cmp: CompareOp, right: &Expr, cmp_span: Span) -> Option<Num> {
    let Expr::Literal(Value::Int(c), _) = *right else {
        return None;
    };
    let Expr::Binary {
        op,
        left,
        right: k,
        span,
    } = first
    else {
        return None;
    };
    let Expr::Literal(Value::Int(k), _) = **k else {
        return None;
    };
    let ((slot, name), op) = (param_field(left)?, IntOp::new(*op, k, *span));
    Some(num(move |s| {
        let x = op.apply(scalar_field(s, slot, &name)?)?;
        // An int result is compared in line, with no `Value` made: the wasm build keeps
        // `compare` a call.
        if let Some(b) = match x {
            S::I(x) => int_compare(cmp, x, c),
            _ => None,
        } {
            return Some(S::B(b));
        }
        compare(cmp, &x.value(), &Value::Int(c), cmp_span).map(S::B)
    }))
}

/// An operand of a comparison: compared as a value, so that any type compares.
enum Operand {
    Ref(Ref),
    Lit(Value),
    Num(Num),
}

fn operand(e: &Expr) -> Option<Operand> {
    if let Expr::Literal(v, _) = e {
        return Some(Operand::Lit(v.clone()));
    }
    if let Some(r) = compile_ref(e) {
        return Some(Operand::Ref(r));
    }
    compile_num(e).map(Operand::Num)
}

/// Calls `f` with the operand's value (a scalar is made a `Value` on the stack).
fn with_operand<T>(o: &Operand, s: &[&Value], f: impl FnOnce(&Value) -> Option<T>) -> Option<T> {
    match o {
        Operand::Ref(r) => f(r(s)?),
        Operand::Lit(v) => f(v),
        Operand::Num(n) => f(&n(s)?.value()),
    }
}

fn compare(op: CompareOp, a: &Value, b: &Value, span: Span) -> Option<bool> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        if let Some(b) = int_compare(op, *x, *y) {
            return Some(b);
        }
    }
    eval::compare(op, a, b, span).ok()
}

/// Two ints compared by an ordering operator; `None` for the others (`in`, `is`).
#[inline(always)]
fn int_compare(op: CompareOp, x: i64, y: i64) -> Option<bool> {
    match op {
        CompareOp::Eq => Some(x == y),
        CompareOp::Ne => Some(x != y),
        CompareOp::Lt => Some(x < y),
        CompareOp::Le => Some(x <= y),
        CompareOp::Gt => Some(x > y),
        CompareOp::Ge => Some(x >= y),
        _ => None,
    }
}

/// Python's `%` and `//` on ints, and the other int operators, as `eval::int_binary`.
/// Always inlined into its closure: the wasm build otherwise keeps it a call per row.
#[inline(always)]
fn int_op(op: BinaryOp, x: i64, y: i64, span: Span) -> Option<S> {
    match op {
        BinaryOp::Add => x.checked_add(y).map(S::I),
        BinaryOp::Sub => x.checked_sub(y).map(S::I),
        BinaryOp::Mul => x.checked_mul(y).map(S::I),
        BinaryOp::Mod if y != 0 => x.checked_rem(y).map(|r| {
            if r != 0 && ((r < 0) != (y < 0)) {
                S::I(r + y)
            } else {
                S::I(r)
            }
        }),
        _ => S::of(&eval::int_binary(op, x, y, span).ok()?),
    }
}

fn compile_num(e: &Expr) -> Option<Num> {
    Some(match e {
        Expr::Literal(v, _) => {
            let v = S::of(v)?;
            num(move |_| Some(v))
        }
        Expr::Param(..) | Expr::Member { .. } | Expr::Index { .. } => {
            if let Some(n) = num_field(e) {
                return Some(n);
            }
            let r = compile_ref(e)?;
            num(move |s| S::of(r(s)?))
        }
        Expr::Unary { op, expr, span } => {
            let (op, span, x) = (*op, *span, compile_num(expr)?);
            match op {
                UnaryOp::Not => num(move |s| Some(S::B(!x(s)?.truthy()))),
                _ => num(move |s| S::of(&eval::unary(op, &x(s)?.value(), span).ok()?)),
            }
        }
        Expr::Binary {
            op,
            left,
            right,
            span,
        } => {
            let (op, span) = (*op, *span);
            if let Expr::Literal(Value::Int(y), _) = **right {
                let by = IntOp::new(op, y, span);
                if let Some((slot, name)) = param_field(left) {
                    return Some(num(move |s| by.apply(scalar_field(s, slot, &name)?)));
                }
                let a = compile_num(left)?;
                return Some(num(move |s| by.apply(a(s)?)));
            }
            let a = compile_num(left)?;
            let b = compile_num(right)?;
            num(move |s| match (a(s)?, b(s)?) {
                (S::I(x), S::I(y)) => int_op(op, x, y, span),
                (x, y) => S::of(&eval::binary(op, &x.value(), &y.value(), span).ok()?),
            })
        }
        Expr::Compare { first, rest, .. } => {
            if let [(op, right, span)] = rest.as_slice() {
                if let Some(n) = field_op_int_compare(first, *op, right, *span) {
                    return Some(n);
                }
            }
            let first = operand(first)?;
            let links: Vec<(CompareOp, Operand, Span)> = rest
                .iter()
                .map(|(op, e, span)| operand(e).map(|o| (*op, o, *span)))
                .collect::<Option<_>>()?;
            if let [(op, right, span)] = links.as_slice() {
                let (op, span) = (*op, *span);
                let right = match right {
                    Operand::Lit(v) => Operand::Lit(v.clone()),
                    _ => return Some(chain(first, links)),
                };
                return Some(num(move |s| {
                    with_operand(&first, s, |a| {
                        with_operand(&right, s, |b| compare(op, a, b, span))
                    })
                    .map(S::B)
                }));
            }
            chain(first, links)
        }
        Expr::Logical { op, left, right, .. } => {
            let (op, a, b) = (*op, compile_num(left)?, compile_num(right)?);
            num(move |s| {
                let x = a(s)?;
                match op {
                    LogicalOp::And if !x.truthy() => Some(x),
                    LogicalOp::Or if x.truthy() => Some(x),
                    // A scalar is never null.
                    LogicalOp::Coalesce => Some(x),
                    _ => b(s),
                }
            })
        }
        Expr::Conditional {
            cond,
            then,
            otherwise,
            ..
        } => {
            let (c, t, o) = (compile_num(cond)?, compile_num(then)?, compile_num(otherwise)?);
            num(move |s| if c(s)?.truthy() { t(s) } else { o(s) })
        }
        _ => return None,
    })
}

/// A comparison chain `a < b < c`: each operand evaluated once, stopping at the first
/// false link, as the interpreter does.
fn chain(first: Operand, links: Vec<(CompareOp, Operand, Span)>) -> Num {
    num(move |s| {
        let mut left = value_of(&first, s)?;
        for (op, right, span) in &links {
            let r = value_of(right, s)?;
            if !compare(*op, &left, &r, *span)? {
                return Some(S::B(false));
            }
            left = r;
        }
        Some(S::B(true))
    })
}

fn value_of<'a>(o: &'a Operand, s: &[&'a Value]) -> Option<Cow<'a, Value>> {
    Some(match o {
        Operand::Ref(r) => Cow::Borrowed(r(s)?),
        Operand::Lit(v) => Cow::Borrowed(v),
        Operand::Num(n) => Cow::Owned(n(s)?.value()),
    })
}

#[cfg(test)]
mod tests {
    use super::{fast_rem, rem_magic};

    /// The remainder by multiplication is `%` for divisors and numerators at the ends of
    /// the 32-bit range, around multiples of the divisor, and at random.
    #[test]
    fn fast_rem_is_the_remainder() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 32) as u32
        };
        let mut divisors: Vec<u32> = vec![
            1,
            2,
            3,
            7,
            10,
            1000,
            65_535,
            65_536,
            65_537,
            u32::MAX - 1,
            u32::MAX,
        ];
        divisors.extend((0..200).map(|_| next().max(1)));
        divisors.extend((0..200).map(|_| (next() % 5000).max(1)));
        for d in divisors {
            let magic = rem_magic(d);
            let mut xs: Vec<u32> = vec![0, 1, d - 1, d, d.saturating_add(1), u32::MAX, u32::MAX - 1];
            for m in [2u32, 3, 1000, u32::MAX / d] {
                let base = d.saturating_mul(m);
                xs.extend([base.saturating_sub(1), base, base.saturating_add(1)]);
            }
            xs.extend((0..300).map(|_| next()));
            for x in xs {
                assert_eq!(fast_rem(x, magic, u64::from(d)), x % d, "{x} % {d}");
            }
        }
    }
}
