//! Per-partition bag kernels: plain functions over slices of values. They know nothing of
//! graphs or schedulers; `bag::BagOp::execute` calls them.

use super::counter::Counter;
use super::pipeline;
use crate::error::{Error, Result};
use crate::expr::Function;
use crate::value::Value;

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

/// `frequencies` over one partition: counts in first-seen order. Each element is looked
/// up by reference and copied only the first time it is seen.
pub fn frequencies(items: &[Value]) -> Result<Counter> {
    let mut counts = Counter::default();
    for x in items {
        counts.add(x, 1)?;
    }
    Ok(counts)
}

/// Merges partial counts (pairs lists) in input order.
pub fn merge_frequencies<'a>(partials: impl Iterator<Item = &'a Value>) -> Result<Counter> {
    let mut counts = Counter::default();
    for (i, partial) in partials.enumerate() {
        let list =
            pairs_list(partial).map_err(|e| e.context(format_args!("frequencies-aggregate, input {i}")))?;
        for pair in list {
            let (k, c) =
                pair_of(pair).map_err(|e| e.context(format_args!("frequencies-aggregate, input {i}")))?;
            counts.add(k, c)?;
        }
    }
    Ok(counts)
}

/// Counts as the list of `[value, count]` pairs that Dask returns (as tuples).
pub fn counts_to_value(counts: Counter, sort: bool) -> Value {
    if !sort {
        return pipeline::counts_to_pairs(counts);
    }
    let mut pairs = counts.into_entries();
    // Stable, like Python's sorted(..., reverse=True) on the counts.
    pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
    Value::list(
        pairs
            .into_iter()
            .map(|(k, c)| Value::list(vec![k, Value::Int(c)]))
            .collect(),
    )
}

fn pairs_list(v: &Value) -> Result<&[Value]> {
    v.as_list().ok_or_else(|| {
        Error::internal(format!(
            "expected a list of [value, count] pairs, got {}",
            v.type_name()
        ))
    })
}

fn pair_of(pair: &Value) -> Result<(&Value, i64)> {
    match pair.as_list() {
        Some([k, Value::Int(c)]) => Ok((k, *c)),
        _ => Err(Error::internal(format!(
            "expected a [value, count] pair, got {}",
            short(pair)
        ))),
    }
}

/// Reads a pairs list back.
pub fn pairs_of(v: &Value) -> Result<Vec<(Value, i64)>> {
    pairs_list(v)?
        .iter()
        .map(|pair| pair_of(pair).map(|(k, c)| (k.clone(), c)))
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

/// Pairs `[[k, v], ...]` as a record for previews (`{A: 1, B: 3}`); keys that are not
/// strings show as their text.
pub fn pairs_as_record(v: &Value) -> Option<Value> {
    let list = v.as_list()?;
    let mut fields: crate::value::Fields = Vec::with_capacity(list.len());
    for pair in list {
        match pair.as_list() {
            Some([Value::Str(k), val]) => fields.push((k.clone(), val.clone())),
            Some([k, val]) => fields.push((std::sync::Arc::from(k.to_string().as_str()), val.clone())),
            _ => return None,
        }
    }
    Some(Value::Record(fields.into()))
}

/// `pluck`: a field (or index, or several) of every element.
pub fn pluck(items: &[Value], key: &Value, default: Option<&Value>) -> Result<Vec<Value>> {
    let get = |x: &Value, k: &Value, i: usize| -> Result<Value> {
        let found = match (x, k) {
            (Value::Record(_), Value::Str(name)) => x.get_field(name).cloned(),
            (Value::List(l), Value::Int(ix)) => {
                let len = l.len() as i64;
                let j = if *ix < 0 { ix + len } else { *ix };
                usize::try_from(j).ok().and_then(|j| l.get(j)).cloned()
            }
            _ => None,
        };
        match (found, default) {
            (Some(v), _) => Ok(v),
            (None, Some(d)) => Ok(d.clone()),
            (None, None) => Err(Error::value(format!(
                "pluck, element {i} ({}): no {} {k}",
                short(x),
                if matches!(k, Value::Int(_)) {
                    "index"
                } else {
                    "key"
                }
            ))),
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| match key {
            Value::List(keys) => Ok(Value::list(
                keys.iter().map(|k| get(x, k, i)).collect::<Result<Vec<_>>>()?,
            )),
            k => get(x, k, i),
        })
        .collect()
}

/// `flatten`: the items of every element (each must be a list).
pub fn flatten(items: &[Value]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, x) in items.iter().enumerate() {
        match x {
            Value::List(l) => out.extend(l.iter().cloned()),
            Value::Str(s) => out.extend(s.chars().map(|c| Value::from(c.to_string()))),
            other => {
                return Err(Error::type_error(format!(
                    "flatten, element {i}: {} ({}) is not a list",
                    other.type_name(),
                    short(other)
                )))
            }
        }
    }
    Ok(out)
}

/// `starmap`: each element is a list of arguments.
pub fn starmap(items: &[Value], func: &Function) -> Result<Vec<Value>> {
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let args = x.as_list().ok_or_else(|| {
                Error::type_error(format!(
                    "starmap, element {i} ({}): expected a list of arguments",
                    short(x)
                ))
            })?;
            func.call(args)
                .map_err(|e| e.context(format_args!("starmap, element {i} ({})", short(x))))
        })
        .collect()
}

/// `map_partitions`: the function gets the whole partition as a list and returns a list.
pub fn map_partitions(items: &[Value], func: &Function) -> Result<Vec<Value>> {
    let out = func
        .call1(&Value::list(items.to_vec()))
        .map_err(|e| e.context("map_partitions"))?;
    match out {
        Value::List(l) => Ok(l.to_vec()),
        other => Err(Error::type_error(format!(
            "map_partitions: the function must return a list, not {} ({})",
            other.type_name(),
            short(&other)
        ))),
    }
}

/// `map` over several bags: elements zipped, the function called with one of each.
pub fn zip_map(parts: &[&[Value]], func: Option<&Function>) -> Result<Vec<Value>> {
    let n = parts.iter().map(|p| p.len()).min().unwrap_or(0);
    (0..n)
        .map(|i| {
            let args: Vec<Value> = parts.iter().filter_map(|p| p.get(i).cloned()).collect();
            match func {
                Some(f) => f
                    .call(&args)
                    .map_err(|e| e.context(format_args!("map, element {i}"))),
                None => Ok(Value::list(args)),
            }
        })
        .collect()
}

/// `accumulate` over one partition, continuing from the previous partition's last value.
pub fn accumulate(
    items: &[Value],
    binop: &Function,
    start: Option<Value>,
    emit_start: bool,
) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(items.len() + 1);
    let mut acc = start;
    if emit_start {
        if let Some(a) = &acc {
            out.push(a.clone());
        }
    }
    for (i, x) in items.iter().enumerate() {
        let next = match &acc {
            None => x.clone(),
            Some(a) => binop
                .call2(a, x)
                .map_err(|e| e.context(format_args!("accumulate, element {i} ({})", short(x))))?,
        };
        out.push(next.clone());
        acc = Some(next);
    }
    Ok(out)
}

/// A stable hash for shuffles: the same value goes to the same output partition on every
/// platform and every run (FNV-1a over its JSON text).
pub fn stable_hash(v: &Value) -> u64 {
    let text = v.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Dask's `split(seq, n)`: n nearly equal consecutive pieces.
pub fn split_even(items: &[Value], n: usize) -> Vec<Vec<Value>> {
    let mut out = Vec::with_capacity(n);
    let mut rest = items;
    while out.len() < n {
        let count = rest.len() / (n - out.len()).max(1);
        let (head, tail) = rest.split_at(count.min(rest.len()));
        out.push(head.to_vec());
        rest = tail;
    }
    out
}

/// Cuts a text into blocks as Dask's `read_bytes` with a newline delimiter does. Dask first
/// evens out the block size (size / (size // blocksize)) and places the offsets; block k
/// then starts after the first newline at or after its offset (the first at 0), so every
/// line lands whole in one block and a long line can leave a block empty.
pub fn text_blocks(text: &str, blocksize: Option<usize>) -> Vec<&str> {
    let bytes = text.as_bytes();
    let size = bytes.len();
    let Some(bs) = blocksize.filter(|b| *b > 0) else {
        return vec![text];
    };
    let bs1 = if size % bs != 0 && size > bs {
        size as f64 / (size / bs) as f64
    } else {
        bs as f64
    };
    let mut offsets = vec![0usize];
    let mut place = 0.0f64;
    while (size as f64) - place > bs1 * 2.0 - 1.0 {
        place += bs1;
        offsets.push(place as usize);
    }
    let after_newline = |from: usize| -> usize {
        if from == 0 {
            return 0;
        }
        match bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
        {
            Some(p) => from + p + 1,
            None => size,
        }
    };
    let mut bounds: Vec<usize> = offsets.iter().map(|o| after_newline(*o)).collect();
    bounds.push(size);
    bounds
        .windows(2)
        .map(|w| match w {
            [a, b] => text.get(*a..(*b).max(*a)).unwrap_or(""),
            _ => "",
        })
        .collect()
}

/// The lines of a block, each with its newline, as Python's file iteration gives them.
pub fn lines_with_endings(block: &str) -> Vec<Value> {
    block.split_inclusive('\n').map(Value::from).collect()
}

/// `random_sample`: each element kept with probability `prob`, from a stream seeded by
/// the seed and the partition index (so results do not depend on worker count).
pub fn random_sample(items: &[Value], prob: f64, seed: u64, partition: usize) -> Vec<Value> {
    use rand_core::{Rng, SeedableRng};
    let mut rng =
        rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ (partition as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    items
        .iter()
        .filter(|_| {
            // 53 random bits as a float in [0, 1), like Python's random().
            let r = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            r < prob
        })
        .cloned()
        .collect()
}
