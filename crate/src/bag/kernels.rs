//! Per-partition bag kernels: plain functions over slices of values. They know nothing of
//! graphs or schedulers; `bag::BagOp::execute` calls them.

use crate::error::{Error, Result};
use crate::expr::Function;
use crate::value::Value;
use indexmap::IndexMap;

/// `map`: the function applied to each element; an error names the element's position.
pub fn map(items: &[Value], func: &Function) -> Result<Vec<Value>> {
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            func.call1(x)
                .map_err(|e| e.context(format_args!("map, element {i} ({})", short(x))))
        })
        .collect()
}

/// `filter`: the elements for which the predicate is truthy.
pub fn filter(items: &[Value], predicate: &Function) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        let keep = predicate
            .call1(x)
            .map_err(|e| e.context(format_args!("filter, element {i} ({})", short(x))))?;
        if keep.truthy() {
            out.push(x.clone());
        }
    }
    Ok(out)
}

/// A running numeric sum that stays an int until a float arrives, and errors on overflow.
#[derive(Debug, Clone, Copy)]
pub enum NumSum {
    Int(i64),
    Float(f64),
}

impl NumSum {
    pub fn add(self, x: &Value, what: impl Fn() -> String) -> Result<NumSum> {
        Ok(match (self, x) {
            (NumSum::Int(a), Value::Int(b)) => NumSum::Int(
                a.checked_add(*b)
                    .ok_or_else(|| Error::eval(format!("{}: integer overflow in sum", what())))?,
            ),
            (NumSum::Int(a), Value::Bool(b)) => NumSum::Int(
                a.checked_add(i64::from(*b))
                    .ok_or_else(|| Error::eval(format!("{}: integer overflow in sum", what())))?,
            ),
            (NumSum::Int(a), Value::Float(b)) => NumSum::Float(a as f64 + b),
            (NumSum::Float(a), Value::Int(b)) => NumSum::Float(a + *b as f64),
            (NumSum::Float(a), Value::Bool(b)) => NumSum::Float(a + f64::from(u8::from(*b))),
            (NumSum::Float(a), Value::Float(b)) => NumSum::Float(a + b),
            (_, other) => {
                return Err(Error::type_error(format!(
                    "{}: cannot add a {} ({}) to a number",
                    what(),
                    other.type_name(),
                    short(other)
                )))
            }
        })
    }
    pub fn into_value(self) -> Value {
        match self {
            NumSum::Int(i) => Value::Int(i),
            NumSum::Float(f) => Value::Float(f),
        }
    }
}

/// `sum` over one partition.
pub fn sum(items: &[Value]) -> Result<Value> {
    let mut acc = NumSum::Int(0);
    for (i, x) in items.iter().enumerate() {
        acc = acc.add(x, || format!("sum, element {i}"))?;
    }
    Ok(acc.into_value())
}

/// Sums partial sums (the aggregate step).
pub fn sum_values<'a>(values: impl Iterator<Item = &'a Value>) -> Result<Value> {
    let mut acc = NumSum::Int(0);
    for (i, x) in values.enumerate() {
        acc = acc.add(x, || format!("sum-aggregate, input {i}"))?;
    }
    Ok(acc.into_value())
}

/// `frequencies` over one partition: counts in first-seen order.
pub fn frequencies(items: &[Value]) -> IndexMap<Value, i64> {
    let mut counts: IndexMap<Value, i64> = IndexMap::new();
    for x in items {
        *counts.entry(x.clone()).or_insert(0) += 1;
    }
    counts
}

/// Merges partial counts (pairs lists) in input order.
pub fn merge_frequencies<'a>(partials: impl Iterator<Item = &'a Value>) -> Result<IndexMap<Value, i64>> {
    let mut counts: IndexMap<Value, i64> = IndexMap::new();
    for (i, partial) in partials.enumerate() {
        for (k, c) in
            pairs_of(partial).map_err(|e| e.context(format_args!("frequencies-aggregate, input {i}")))?
        {
            let slot = counts.entry(k).or_insert(0);
            *slot = slot
                .checked_add(c)
                .ok_or_else(|| Error::eval("frequencies: count overflow"))?;
        }
    }
    Ok(counts)
}

/// Counts as the list of `[value, count]` pairs that Dask returns (as tuples).
pub fn counts_to_value(counts: IndexMap<Value, i64>, sort: bool) -> Value {
    let mut pairs: Vec<(Value, i64)> = counts.into_iter().collect();
    if sort {
        // Stable, like Python's sorted(..., reverse=True) on the counts.
        pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
    }
    Value::list(
        pairs
            .into_iter()
            .map(|(k, c)| Value::list(vec![k, Value::Int(c)]))
            .collect(),
    )
}

/// Reads a pairs list back.
pub fn pairs_of(v: &Value) -> Result<Vec<(Value, i64)>> {
    let list = v.as_list().ok_or_else(|| {
        Error::internal(format!(
            "expected a list of [value, count] pairs, got {}",
            v.type_name()
        ))
    })?;
    list.iter()
        .map(|pair| match pair.as_list() {
            Some([k, Value::Int(c)]) => Ok((k.clone(), *c)),
            _ => Err(Error::internal(format!(
                "expected a [value, count] pair, got {}",
                short(pair)
            ))),
        })
        .collect()
}

/// A value shortened for error messages.
pub fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(39).collect();
        format!("{cut}…")
    } else {
        text
    }
}
