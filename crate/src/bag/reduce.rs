//! Bag reductions as Dask's `Bag.reduction` runs them: a per-partition step and an
//! aggregate step applied at every level of the tree. Partial results are plain values;
//! where a partition may have no result (an empty partition under min, max, fold or a
//! user reduction) the partial is a list of zero or one value, and aggregates skip the
//! empty ones, as Dask's `empty_safe_aggregate` skips `no_result`.

use super::kernels::{self, short, NumSum};
use crate::error::{Error, Result};
use crate::expr::Function;
use crate::value::Value;
use indexmap::IndexMap;

/// A reduction and its parameters.
#[derive(Debug, Clone)]
pub enum Reduce {
    Count,
    Sum,
    Min,
    Max,
    Mean,
    Var {
        ddof: i64,
        std: bool,
    },
    All,
    Any,
    Frequencies {
        sort: bool,
    },
    Distinct {
        key: Option<Function>,
    },
    Topk {
        k: usize,
        key: Option<Function>,
    },
    Fold {
        binop: Function,
        combine: Function,
        initial: Option<Value>,
    },
    Foldby {
        key: Function,
        binop: Function,
        initial: Option<Value>,
        combine: Function,
        combine_initial: Option<Value>,
    },
    Reduction {
        perpartition: Function,
        aggregate: Function,
    },
}

/// Whether the final result is a bag (one partition) rather than a value.
impl Reduce {
    pub fn label(&self) -> &'static str {
        match self {
            Reduce::Count => "count",
            Reduce::Sum => "sum",
            Reduce::Min => "min",
            Reduce::Max => "max",
            Reduce::Mean => "mean",
            Reduce::Var { std: true, .. } => "std",
            Reduce::Var { .. } => "var",
            Reduce::All => "all",
            Reduce::Any => "any",
            Reduce::Frequencies { .. } => "frequencies",
            Reduce::Distinct { .. } => "distinct",
            Reduce::Topk { .. } => "topk",
            Reduce::Fold { .. } => "fold",
            Reduce::Foldby { .. } => "foldby",
            Reduce::Reduction { .. } => "reduction",
        }
    }

    /// The names of the reduction's two steps (`count-part`, `count-aggregate`), kept
    /// static so that running a step does not format them.
    pub fn step_names(&self) -> (&'static str, &'static str) {
        match self {
            Reduce::Count => ("count-part", "count-aggregate"),
            Reduce::Sum => ("sum-part", "sum-aggregate"),
            Reduce::Min => ("min-part", "min-aggregate"),
            Reduce::Max => ("max-part", "max-aggregate"),
            Reduce::Mean => ("mean-part", "mean-aggregate"),
            Reduce::Var { std: true, .. } => ("std-part", "std-aggregate"),
            Reduce::Var { .. } => ("var-part", "var-aggregate"),
            Reduce::All => ("all-part", "all-aggregate"),
            Reduce::Any => ("any-part", "any-aggregate"),
            Reduce::Frequencies { .. } => ("frequencies-part", "frequencies-aggregate"),
            Reduce::Distinct { .. } => ("distinct-part", "distinct-aggregate"),
            Reduce::Topk { .. } => ("topk-part", "topk-aggregate"),
            Reduce::Fold { .. } => ("fold-part", "fold-aggregate"),
            Reduce::Foldby { .. } => ("foldby-part", "foldby-aggregate"),
            Reduce::Reduction { .. } => ("reduction-part", "reduction-aggregate"),
        }
    }

    pub fn gives_bag(&self) -> bool {
        matches!(
            self,
            Reduce::Distinct { .. } | Reduce::Topk { .. } | Reduce::Foldby { .. }
        )
    }

    /// The partial result of one partition.
    pub fn part(&self, items: &[Value]) -> Result<Value> {
        let label = self.label();
        Ok(match self {
            Reduce::Count => Value::Int(i64::try_from(items.len()).unwrap_or(i64::MAX)),
            Reduce::Sum => kernels::sum(items)?,
            Reduce::Min | Reduce::Max => maybe(extreme(items.iter(), matches!(self, Reduce::Max), label)?),
            Reduce::Mean => {
                let s = kernels::sum(items)?;
                Value::list(vec![s, Value::Int(items.len() as i64)])
            }
            Reduce::Var { .. } => {
                let (mut s, mut s2) = (0.0f64, 0.0f64);
                for (i, x) in items.iter().enumerate() {
                    let v = number(x, label, i)?;
                    s += v;
                    s2 += v * v;
                }
                Value::list(vec![
                    Value::Int(items.len() as i64),
                    Value::Float(s),
                    Value::Float(s2),
                ])
            }
            Reduce::All => Value::Bool(items.iter().all(Value::truthy)),
            Reduce::Any => Value::Bool(items.iter().any(Value::truthy)),
            Reduce::Frequencies { .. } => kernels::counts_to_value(kernels::frequencies(items)?, false),
            Reduce::Distinct { key } => Value::list(distinct(items.iter(), key.as_ref())?),
            Reduce::Topk { k, key } => Value::list(topk(items.to_vec(), *k, key.as_ref())?),
            Reduce::Fold { binop, initial, .. } => maybe(fold(items.iter(), binop, initial.clone(), "fold")?),
            Reduce::Foldby {
                key, binop, initial, ..
            } => {
                let mut acc: IndexMap<Value, Value> = IndexMap::new();
                for (i, x) in items.iter().enumerate() {
                    let k = key
                        .call1(x)
                        .map_err(|e| e.context(format_args!("foldby key, element {i} ({})", short(x))))?;
                    let next = match (acc.get(&k), initial) {
                        (Some(a), _) => binop.call2(a, x),
                        (None, Some(init)) => binop.call2(init, x),
                        (None, None) => Ok(x.clone()),
                    }
                    .map_err(|e| e.context(format_args!("foldby binop, element {i} ({})", short(x))))?;
                    acc.insert(k, next);
                }
                pairs(acc)
            }
            Reduce::Reduction { perpartition, .. } => {
                // Dask skips empty partitions unless there is nothing else.
                if items.is_empty() {
                    Value::list(Vec::new())
                } else {
                    let v = perpartition
                        .call1(&Value::list(items.to_vec()))
                        .map_err(|e| e.context("reduction perpartition"))?;
                    maybe(Some(v))
                }
            }
        })
    }

    /// Combines partial results; `last` for the final level, which gives the answer.
    pub fn aggregate(&self, partials: &[&Value], last: bool) -> Result<Value> {
        let label = self.label();
        match self {
            Reduce::Count | Reduce::Sum => kernels::sum_values(partials.iter().copied()),
            Reduce::Min | Reduce::Max => {
                let present = present(partials, label)?;
                let best = extreme(present.iter(), matches!(self, Reduce::Max), label)?;
                if last {
                    best.ok_or_else(|| Error::value(format!("{label}() of an empty bag")))
                } else {
                    Ok(maybe(best))
                }
            }
            Reduce::Mean => {
                let mut total = NumSum::Int(0);
                let mut n = 0i64;
                for (i, p) in partials.iter().enumerate() {
                    let (s, c) = match p.as_list() {
                        Some([s, Value::Int(c)]) => (s, *c),
                        _ => return Err(Error::internal(format!("mean-aggregate: bad partial {i}"))),
                    };
                    total = total.add(s, || format!("mean-aggregate, input {i}"))?;
                    n += c;
                }
                if !last {
                    return Ok(Value::list(vec![total.into_value(), Value::Int(n)]));
                }
                if n == 0 {
                    return Err(Error::value("mean() of an empty bag"));
                }
                let s = total.into_value().as_f64().unwrap_or(f64::NAN);
                Ok(Value::Float(s / n as f64))
            }
            Reduce::Var { ddof, std } => {
                let (mut n, mut s, mut s2) = (0i64, 0.0f64, 0.0f64);
                for (i, p) in partials.iter().enumerate() {
                    match p.as_list() {
                        Some([Value::Int(c), Value::Float(a), Value::Float(b)]) => {
                            n += c;
                            s += a;
                            s2 += b;
                        }
                        _ => return Err(Error::internal(format!("var-aggregate: bad partial {i}"))),
                    }
                }
                if !last {
                    return Ok(Value::list(vec![
                        Value::Int(n),
                        Value::Float(s),
                        Value::Float(s2),
                    ]));
                }
                if n - ddof <= 0 {
                    return Err(Error::value(format!(
                        "{label}() needs more than ddof={ddof} elements, the bag has {n}"
                    )));
                }
                // Dask's formula, so results agree to the last bit.
                let nf = n as f64;
                let var = (s2 / nf - (s / nf) * (s / nf)) * nf / (nf - *ddof as f64);
                Ok(Value::Float(if *std { var.sqrt() } else { var }))
            }
            Reduce::All => Ok(Value::Bool(partials.iter().all(|p| p.truthy()))),
            Reduce::Any => Ok(Value::Bool(partials.iter().any(|p| p.truthy()))),
            Reduce::Frequencies { sort } => {
                let merged = kernels::merge_frequencies(partials.iter().copied())?;
                Ok(kernels::counts_to_value(merged, *sort && last))
            }
            Reduce::Distinct { key } => {
                let all = lists(partials, label)?;
                Ok(Value::list(distinct(all.iter(), key.as_ref())?))
            }
            Reduce::Topk { k, key } => Ok(Value::list(topk(lists(partials, label)?, *k, key.as_ref())?)),
            Reduce::Fold { combine, .. } => {
                let present = present(partials, label)?;
                let out = fold(present.iter(), combine, None, "fold combine")?;
                if last {
                    out.ok_or_else(|| Error::value("fold() of an empty bag with no initial value"))
                } else {
                    Ok(maybe(out))
                }
            }
            Reduce::Foldby {
                combine,
                combine_initial,
                ..
            } => {
                let mut merged: IndexMap<Value, Vec<Value>> = IndexMap::new();
                for p in partials {
                    for pair in p.as_list().unwrap_or(&[]) {
                        if let Some([k, v]) = pair.as_list() {
                            merged.entry(k.clone()).or_default().push(v.clone());
                        }
                    }
                }
                let mut out: IndexMap<Value, Value> = IndexMap::new();
                for (k, vs) in merged {
                    // Dask applies combine_initial at every level (reduceby with initial).
                    let init = combine_initial.clone();
                    if let Some(v) = fold(vs.iter(), combine, init, "foldby combine")? {
                        out.insert(k, v);
                    }
                }
                Ok(pairs(out))
            }
            Reduce::Reduction { aggregate, .. } => {
                let present = present(partials, label)?;
                if present.is_empty() && !last {
                    return Ok(Value::list(Vec::new()));
                }
                let v = aggregate
                    .call1(&Value::list(present))
                    .map_err(|e| e.context("reduction aggregate"))?;
                Ok(if last { v } else { maybe(Some(v)) })
            }
        }
    }

    /// The partial shown on a task: maybe-lists unwrapped, pairs as a dict.
    pub fn preview(&self, v: &Value) -> Option<Value> {
        match self {
            Reduce::Min | Reduce::Max | Reduce::Fold { .. } | Reduce::Reduction { .. } => match v.as_list() {
                Some([one]) => Some(one.clone()),
                Some([]) => Some(Value::str("(empty)")),
                _ => None,
            },
            Reduce::Mean => match v.as_list() {
                Some([s, c]) => Some(Value::record([("sum", s.clone()), ("count", c.clone())])),
                _ => None,
            },
            Reduce::Frequencies { .. } | Reduce::Foldby { .. } => kernels::pairs_as_record(v),
            _ => None,
        }
    }
}

fn maybe(v: Option<Value>) -> Value {
    Value::list(v.into_iter().collect())
}

fn present(partials: &[&Value], label: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, p) in partials.iter().enumerate() {
        match p.as_list() {
            Some([]) => {}
            Some([v]) => out.push(v.clone()),
            _ => return Err(Error::internal(format!("{label}-aggregate: bad partial {i}"))),
        }
    }
    Ok(out)
}

fn lists(partials: &[&Value], label: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, p) in partials.iter().enumerate() {
        let l = p
            .as_list()
            .ok_or_else(|| Error::internal(format!("{label}-aggregate: bad partial {i}")))?;
        out.extend(l.iter().cloned());
    }
    Ok(out)
}

fn pairs(map: IndexMap<Value, Value>) -> Value {
    Value::list(map.into_iter().map(|(k, v)| Value::list(vec![k, v])).collect())
}

fn number(x: &Value, label: &str, i: usize) -> Result<f64> {
    match x {
        Value::Int(v) => Ok(*v as f64),
        Value::Float(v) => Ok(*v),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        other => Err(Error::type_error(format!(
            "{label}, element {i}: expected a number, got {} ({})",
            other.type_name(),
            short(other)
        ))),
    }
}

/// Python's ordering for min/max: numbers with numbers, strings with strings.
fn comparable(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_));
    (num(a) && num(b)) || std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn extreme<'a>(items: impl Iterator<Item = &'a Value>, max: bool, label: &str) -> Result<Option<Value>> {
    let mut best: Option<&Value> = None;
    for (i, x) in items.enumerate() {
        best = Some(match best {
            None => x,
            Some(b) => {
                if !comparable(x, b) {
                    return Err(Error::type_error(format!(
                        "{label}, element {i}: cannot compare {} ({}) with {} ({})",
                        x.type_name(),
                        short(x),
                        b.type_name(),
                        short(b)
                    )));
                }
                // Python keeps the first of equal elements.
                if (max && x > b) || (!max && x < b) {
                    x
                } else {
                    b
                }
            }
        });
    }
    Ok(best.cloned())
}

fn distinct<'a>(items: impl Iterator<Item = &'a Value>, key: Option<&Function>) -> Result<Vec<Value>> {
    // Looked up by reference: an element (or key) is copied only the first time it is seen.
    let mut seen = super::counter::Seen::default();
    let mut out = Vec::new();
    for (i, x) in items.enumerate() {
        let k = match key {
            Some(f) => f
                .apply1(x)
                .map_err(|e| e.context(format_args!("distinct key, element {i} ({})", short(x))))?,
            None => std::borrow::Cow::Borrowed(x),
        };
        if seen.insert(&k) {
            out.push(x.clone());
        }
    }
    Ok(out)
}

fn topk(items: Vec<Value>, k: usize, key: Option<&Function>) -> Result<Vec<Value>> {
    let mut keyed: Vec<(Value, Value)> = Vec::with_capacity(items.len());
    for (i, x) in items.into_iter().enumerate() {
        let kv = match key {
            Some(f) => f
                .call1(&x)
                .map_err(|e| e.context(format_args!("topk key, element {i} ({})", short(&x))))?,
            None => x.clone(),
        };
        keyed.push((kv, x));
    }
    if let Some([a, b]) = keyed.windows(2).find(|w| match w {
        [a, b] => !comparable(&a.0, &b.0),
        _ => false,
    }) {
        return Err(Error::type_error(format!(
            "topk: cannot compare {} ({}) with {} ({})",
            a.0.type_name(),
            short(&a.0),
            b.0.type_name(),
            short(&b.0)
        )));
    }
    // Stable and descending, as heapq.nlargest.
    keyed.sort_by(|a, b| b.0.cmp(&a.0));
    keyed.truncate(k);
    Ok(keyed.into_iter().map(|(_, x)| x).collect())
}

fn fold<'a>(
    items: impl Iterator<Item = &'a Value>,
    f: &Function,
    initial: Option<Value>,
    label: &str,
) -> Result<Option<Value>> {
    let mut acc = initial;
    for (i, x) in items.enumerate() {
        acc = Some(match acc {
            None => x.clone(),
            Some(a) => f
                .call2(&a, x)
                .map_err(|e| e.context(format_args!("{label}, element {i} ({})", short(x))))?,
        });
    }
    Ok(acc)
}
