//! Fused chains of bag ops run element by element. A fused task such as
//! `pluck -> sum-part` or `str.split -> flatten -> frequencies-part` would build a whole
//! partition between each two steps; here every element goes through all the steps before
//! the next one starts, borrowing where it can (a plucked field, a mapped `x => x.value`, a
//! word of a split line are never copied unless a reducer keeps them).
//!
//! This is only a faster way to compute the same thing. The graph and its keys do not
//! change. Values are the same because every step is the same function applied to the same
//! elements in the same order. Errors: when any step fails here, the chain is run again by
//! the general path, step by step, so that the error reported (which element, which step)
//! is exactly the one the general path gives.

use super::counter::{Counter, Seen};
use super::kernels::NumSum;
use super::{BagOp, Reduce};
use crate::error::Result;
use crate::expr::Function;
use crate::ops::Op;
use crate::partition::Partition;
use crate::value::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// A failed step: the general path runs the chain again to report it.
struct Fallback;

type Step<T> = std::result::Result<T, Fallback>;

impl From<crate::error::Error> for Fallback {
    fn from(_: crate::error::Error) -> Fallback {
        Fallback
    }
}

/// One per-element step.
enum Stage<'p> {
    Map(&'p Function),
    /// `filter` keeps truthy elements, `remove` falsy ones.
    Filter(&'p Function, bool),
    Pluck(&'p Value, Option<&'p Value>),
    Flatten,
    Str(&'p str, &'p [Value]),
    /// `str.split()` (on whitespace) followed by `flatten`: the words, never made into lists.
    Words,
}

/// Where the elements end up.
enum Sink<'p> {
    Collect(Vec<Value>),
    Count(u64),
    Sum(NumSum),
    Mean(NumSum, i64),
    Frequencies(Counter),
    Distinct(Seen),
    DistinctBy(&'p Function, Seen, Vec<Value>),
}

impl Sink<'_> {
    fn finish(self) -> Partition {
        match self {
            Sink::Collect(out) => Partition::Bag(out),
            Sink::Count(n) => Partition::Value(Value::Int(i64::try_from(n).unwrap_or(i64::MAX))),
            Sink::Sum(acc) => Partition::Value(acc.into_value()),
            Sink::Mean(acc, n) => Partition::Value(Value::list(vec![acc.into_value(), Value::Int(n)])),
            Sink::Frequencies(counts) => Partition::Value(counts_to_pairs(counts)),
            Sink::Distinct(seen) => Partition::Value(Value::list(seen.into_values())),
            Sink::DistinctBy(_, _, out) => Partition::Value(Value::list(out)),
        }
    }
}

/// A sink's work per element. Generic, so that each kind of sink gets loops of its own
/// (see `drive`) instead of matching its kind for every element.
trait Accept {
    fn add(&mut self, x: &Value) -> Step<()>;

    /// A word: counted or compared as text, made into a value only when kept.
    fn add_str(&mut self, w: &str) -> Step<()> {
        self.add(&Value::str(w))
    }
}

struct Collect<'s>(&'s mut Vec<Value>);
struct Count<'s>(&'s mut u64);
struct Sum<'s>(&'s mut NumSum);
struct Mean<'s>(&'s mut NumSum, &'s mut i64);
struct Frequencies<'s>(&'s mut Counter);
struct Distinct<'s>(&'s mut Seen);
struct DistinctBy<'s, 'p>(&'p Function, &'s mut Seen, &'s mut Vec<Value>);

impl Accept for Collect<'_> {
    fn add(&mut self, x: &Value) -> Step<()> {
        self.0.push(x.clone());
        Ok(())
    }
}

impl Accept for Count<'_> {
    fn add(&mut self, _: &Value) -> Step<()> {
        *self.0 += 1;
        Ok(())
    }
    fn add_str(&mut self, _: &str) -> Step<()> {
        *self.0 += 1;
        Ok(())
    }
}

impl Accept for Sum<'_> {
    fn add(&mut self, x: &Value) -> Step<()> {
        add(self.0, x)
    }
}

impl Accept for Mean<'_> {
    fn add(&mut self, x: &Value) -> Step<()> {
        add(self.0, x)?;
        *self.1 += 1;
        Ok(())
    }
}

impl Accept for Frequencies<'_> {
    fn add(&mut self, x: &Value) -> Step<()> {
        Ok(self.0.add(x, 1)?)
    }
    fn add_str(&mut self, w: &str) -> Step<()> {
        Ok(self.0.add_str(w, 1)?)
    }
}

impl Accept for Distinct<'_> {
    fn add(&mut self, x: &Value) -> Step<()> {
        self.0.insert(x);
        Ok(())
    }
    fn add_str(&mut self, w: &str) -> Step<()> {
        self.0.insert_str(w);
        Ok(())
    }
}

impl Accept for DistinctBy<'_, '_> {
    fn add(&mut self, x: &Value) -> Step<()> {
        if self.1.insert(&*self.0.apply1(x)?) {
            self.2.push(x.clone());
        }
        Ok(())
    }
}

/// `NumSum::add`, with ints added in place, in line; anything else (floats, an overflow)
/// out of line. As one function the wasm build kept it a call per element.
#[inline(always)]
fn add(acc: &mut NumSum, x: &Value) -> Step<()> {
    if let (NumSum::Int(a), Value::Int(b)) = (&mut *acc, x) {
        if let Some(sum) = a.checked_add(*b) {
            *a = sum;
            return Ok(());
        }
    }
    add_other(acc, x)
}

#[inline(never)]
fn add_other(acc: &mut NumSum, x: &Value) -> Step<()> {
    match (&mut *acc, x) {
        (NumSum::Int(_), Value::Int(_)) => return Err(Fallback),
        _ => *acc = acc.add(x, String::new).map_err(|_| Fallback)?,
    }
    Ok(())
}

/// Counts as the `[value, count]` pairs list of a frequencies partial, in first-seen order.
pub fn counts_to_pairs(counts: Counter) -> Value {
    Value::list(
        counts
            .into_entries()
            .into_iter()
            .map(|(k, c)| Value::list(vec![k, Value::Int(c)]))
            .collect(),
    )
}

fn stage(op: &BagOp) -> Option<Stage<'_>> {
    Some(match op {
        BagOp::Map(f) => Stage::Map(f),
        BagOp::Filter(f) => Stage::Filter(f, true),
        BagOp::Remove(f) => Stage::Filter(f, false),
        BagOp::Pluck { key, default } => Stage::Pluck(key, default.as_ref()),
        BagOp::Flatten => Stage::Flatten,
        BagOp::StrMethod { method, args } => Stage::Str(method, args),
        _ => return None,
    })
}

fn sink(op: &BagOp) -> Option<Sink<'_>> {
    Some(match op {
        BagOp::Part(Reduce::Count) => Sink::Count(0),
        BagOp::Part(Reduce::Sum) => Sink::Sum(NumSum::Int(0)),
        BagOp::Part(Reduce::Mean) => Sink::Mean(NumSum::Int(0), 0),
        BagOp::Part(Reduce::Frequencies { .. }) => Sink::Frequencies(Counter::default()),
        BagOp::Part(Reduce::Distinct { key: None }) => Sink::Distinct(Seen::default()),
        BagOp::Part(Reduce::Distinct { key: Some(f) }) => Sink::DistinctBy(f, Seen::default(), Vec::new()),
        _ => return None,
    })
}

fn bag_op(op: &Op) -> Option<&BagOp> {
    match op {
        Op::Bag(b) => Some(b),
        _ => None,
    }
}

/// The chain `ops[start..]` as stages and a sink, if every op streams and there are at
/// least two of them.
fn plan(ops: &[Op]) -> Option<(usize, Vec<Stage<'_>>, Sink<'_>)> {
    let (last, body) = ops.split_last()?;
    let (mut stages, sink) = match bag_op(last).and_then(sink) {
        Some(s) => (Vec::new(), s),
        None => (vec![stage(bag_op(last)?)?], Sink::Collect(Vec::new())),
    };
    let mut start = ops.len() - 1;
    for op in body.iter().rev() {
        match bag_op(op).and_then(stage) {
            Some(s) => {
                stages.push(s);
                start -= 1;
            }
            None => break,
        }
    }
    if ops.len() - start < 2 {
        return None;
    }
    stages.reverse();
    // `str.split()` then `flatten`: words straight to the next step.
    let mut merged: Vec<Stage> = Vec::with_capacity(stages.len());
    for s in stages {
        match (merged.last(), &s) {
            (Some(Stage::Str("split", args)), Stage::Flatten) if whitespace_split(args) => {
                merged.pop();
                merged.push(Stage::Words);
            }
            _ => merged.push(s),
        }
    }
    Some((start, merged, sink))
}

/// `split()` or `split(None)`: Python's split on runs of whitespace.
fn whitespace_split(args: &[Value]) -> bool {
    matches!(args, [] | [Value::Null])
}

/// Runs a fused chain element by element when its tail streams; `None` when it does not
/// (or when a step failed: the general path then runs it and reports the error).
pub fn run_fused(ops: &[Op], inputs: &[Arc<Partition>]) -> Option<Result<Arc<Partition>>> {
    let (start, stages, mut sink) = plan(ops)?;
    let mut current: Vec<Arc<Partition>> = inputs.to_vec();
    for op in ops.get(..start)? {
        match op.execute(&current) {
            Ok(out) => current = vec![out],
            Err(e) => return Some(Err(e)),
        }
    }
    let items = match current.first().map(|p| &**p) {
        Some(Partition::Bag(items)) => items,
        _ => return None,
    };
    let done = match &mut sink {
        Sink::Collect(out) => drive(&stages, items, &mut Collect(out)),
        Sink::Count(n) => drive(&stages, items, &mut Count(n)),
        Sink::Sum(acc) => drive(&stages, items, &mut Sum(acc)),
        Sink::Mean(acc, n) => drive(&stages, items, &mut Mean(acc, n)),
        Sink::Frequencies(counts) => drive(&stages, items, &mut Frequencies(counts)),
        Sink::Distinct(seen) => drive(&stages, items, &mut Distinct(seen)),
        Sink::DistinctBy(key, seen, out) => drive(&stages, items, &mut DistinctBy(key, seen, out)),
    };
    done.ok()?;
    Some(Ok(Arc::new(sink.finish())))
}

/// Runs every element through `stages` into `sink`. A chain of one stage (the common
/// ones: pluck then sum, filter then count, split then frequencies) gets a loop of its
/// own, which chooses the stage once rather than for every element.
fn drive<A: Accept>(stages: &[Stage], items: &[Value], sink: &mut A) -> Step<()> {
    match stages {
        [Stage::Pluck(key, default)] => {
            for x in items {
                sink.add(&*pluck(x, key, *default)?)?;
            }
        }
        [Stage::Map(f)] => f.apply_each(items, |y| sink.add(y))?,
        [Stage::Filter(f, keep)] => {
            f.test_each(items, |x, t| if t == *keep { sink.add(x) } else { Ok(()) })?
        }
        [Stage::Words] => {
            for x in items {
                let Value::Str(s) = x else {
                    return Err(Fallback);
                };
                words(s, |w| sink.add_str(w))?;
            }
        }
        _ => {
            for x in items {
                push(stages, sink, x)?;
            }
        }
    }
    Ok(())
}

/// Pushes one element through `stages` into `sink`.
fn push<A: Accept>(stages: &[Stage], sink: &mut A, x: &Value) -> Step<()> {
    let Some((stage, rest)) = stages.split_first() else {
        return sink.add(x);
    };
    match stage {
        Stage::Map(f) => {
            let y = f.apply1(x)?;
            push(rest, sink, &y)
        }
        Stage::Filter(f, keep) => {
            if f.test1(x)? == *keep {
                push(rest, sink, x)
            } else {
                Ok(())
            }
        }
        Stage::Pluck(key, default) => {
            let y = pluck(x, key, *default)?;
            push(rest, sink, &y)
        }
        Stage::Flatten => match x {
            Value::List(items) => {
                for it in items.iter() {
                    push(rest, sink, it)?;
                }
                Ok(())
            }
            Value::Str(s) => {
                for c in s.chars() {
                    push(rest, sink, &Value::from(c.to_string()))?;
                }
                Ok(())
            }
            _ => Err(Fallback),
        },
        Stage::Str(method, args) => {
            if !matches!(x, Value::Str(_)) {
                return Err(Fallback);
            }
            let y = crate::expr::call_method(method, x, args)?;
            push(rest, sink, &y)
        }
        Stage::Words => {
            let Value::Str(s) = x else {
                return Err(Fallback);
            };
            if rest.is_empty() {
                words(s, |w| sink.add_str(w))
            } else {
                words(s, |w| push(rest, sink, &Value::str(w)))
            }
        }
    }
}

/// Calls `f` on each whitespace-separated word of `s`, as `str::split_whitespace` gives
/// them, in one byte scan: a run between ASCII whitespace that holds a non-ASCII byte is
/// split again by `split_whitespace`, for the Unicode spaces it may hold. Out of line:
/// inlined into `drive`'s loop it ran W1e 8% slower natively.
#[inline(never)]
fn words(s: &str, mut f: impl FnMut(&str) -> Step<()>) -> Step<()> {
    // The ASCII characters for which `char::is_whitespace` holds.
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while bytes.get(i).is_some_and(|b| space(*b)) {
            i += 1;
        }
        let begin = i;
        let mut high = 0u8;
        while let Some(&b) = bytes.get(i) {
            if space(b) {
                break;
            }
            high |= b;
            i += 1;
        }
        if i > begin {
            // Next to ASCII bytes or the ends, so on char boundaries.
            let run = s.get(begin..i).unwrap_or("");
            if high < 0x80 {
                f(run)?;
            } else {
                unicode_words(run, &mut f)?;
            }
        }
    }
    Ok(())
}

/// The words of a run that holds non-ASCII text; out of line, so that the byte scan of
/// `words` stays small.
#[cold]
#[inline(never)]
fn unicode_words(run: &str, f: &mut dyn FnMut(&str) -> Step<()>) -> Step<()> {
    for w in run.split_whitespace() {
        f(w)?;
    }
    Ok(())
}

/// `pluck` of one element, borrowed where it can be: as `kernels::pluck` gives it.
/// Inlined into `drive`'s loops: left out of line it made W1b 1.8 times slower natively.
#[inline(always)]
fn pluck<'a>(x: &'a Value, key: &'a Value, default: Option<&'a Value>) -> Step<Cow<'a, Value>> {
    let one = |k: &Value| -> Option<&'a Value> {
        match (x, k) {
            (Value::Record(_), Value::Str(name)) => x.get_field(name),
            (Value::List(l), Value::Int(ix)) => {
                let len = l.len() as i64;
                let j = if *ix < 0 { ix + len } else { *ix };
                usize::try_from(j).ok().and_then(|j| l.get(j))
            }
            _ => None,
        }
    };
    let get = |k: &Value| -> Step<&'a Value> { one(k).or(default).ok_or(Fallback) };
    match key {
        Value::List(keys) => Ok(Cow::Owned(Value::list(
            keys.iter().map(|k| get(k).cloned()).collect::<Step<Vec<_>>>()?,
        ))),
        k => get(k).map(Cow::Borrowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Lang;

    fn f(src: &str) -> Function {
        Function::parse(src, Lang::Auto).unwrap()
    }

    fn bag(items: Vec<Value>) -> Arc<Partition> {
        Arc::new(Partition::Bag(items))
    }

    /// The general path: each op on the whole output of the one before.
    fn stepwise(ops: &[Op], inputs: &[Arc<Partition>]) -> Result<Arc<Partition>> {
        let mut current = inputs.to_vec();
        for op in ops {
            current = vec![op.execute(&current)?];
        }
        current
            .pop()
            .ok_or_else(|| crate::error::Error::internal("no ops"))
    }

    fn show(r: &Result<Arc<Partition>>) -> String {
        match r {
            Ok(p) => match &**p {
                Partition::Bag(items) => format!("bag {}", typed(items)),
                Partition::Value(v) => format!("value {}", typed(std::slice::from_ref(v))),
                other => format!("{other:?}"),
            },
            Err(e) => format!("error {e:?}"),
        }
    }

    /// Values with their types, so that `1` and `1.0` differ.
    fn typed(items: &[Value]) -> String {
        items
            .iter()
            .map(|v| match v {
                Value::List(l) => format!("[{}]", typed(l)),
                other => format!("{}:{other:?}", other.type_name()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The fused task streams (when `streams`), and gives what the general path gives.
    fn check(ops: Vec<Op>, items: Vec<Value>, streams: bool) -> String {
        let inputs = [bag(items)];
        let general = stepwise(&ops, &inputs);
        let fused = Op::Fused(Arc::new(ops.clone())).execute(&inputs);
        let names: Vec<String> = ops.iter().map(Op::name).collect();
        assert_eq!(show(&fused), show(&general), "{names:?}");
        if streams && general.is_ok() {
            assert!(run_fused(&ops, &inputs).is_some(), "{names:?} should stream");
        }
        show(&general)
    }

    /// As `check`, for a chain that fails.
    fn check_err(ops: Vec<Op>, items: Vec<Value>) {
        let shown = check(ops, items, false);
        assert!(shown.starts_with("error"), "{shown}");
    }

    fn records() -> Vec<Value> {
        let rec = |name: &str, v: Value| Value::record([("name", Value::str(name)), ("value", v)]);
        vec![
            rec("A", Value::Int(14)),
            rec("B", Value::Int(-7)),
            rec("A", Value::Int(-8)),
            rec("C", Value::Float(7.0)),
            rec("B", Value::Float(2.5)),
            rec("A", Value::Int(0)),
            rec("a string longer than fifteen bytes", Value::Int(21)),
            rec("é", Value::Bool(true)),
            rec("B", Value::Int(14)),
            rec("A", Value::Float(14.0)),
        ]
    }

    fn bag_op(op: BagOp) -> Op {
        Op::Bag(op)
    }
    fn part(r: Reduce) -> Op {
        Op::Bag(BagOp::Part(r))
    }
    fn pluck(key: &str) -> Op {
        bag_op(BagOp::Pluck {
            key: Value::str(key),
            default: None,
        })
    }

    #[test]
    fn streamed_chains_give_what_the_general_path_gives() {
        let parts = || {
            vec![
                part(Reduce::Count),
                part(Reduce::Sum),
                part(Reduce::Mean),
                part(Reduce::Frequencies { sort: false }),
                part(Reduce::Distinct { key: None }),
                part(Reduce::Distinct {
                    key: Some(f("x => x % 3")),
                }),
            ]
        };
        for sink in parts() {
            // W1a, W1b, W1c, W1d's shapes, and more, over ints, floats, bools, strings.
            check(vec![pluck("value"), sink.clone()], records(), true);
            check(vec![pluck("name"), sink.clone()], records(), true);
            check(
                vec![
                    bag_op(BagOp::Filter(f("x => x.value % 7 == 0"))),
                    pluck("value"),
                    sink.clone(),
                ],
                records(),
                true,
            );
            check(
                vec![
                    bag_op(BagOp::Remove(f("lambda x: x['value'] % 7 == 0"))),
                    sink.clone(),
                ],
                records(),
                true,
            );
            check(
                vec![bag_op(BagOp::Map(f("x => x.value"))), sink.clone()],
                records(),
                true,
            );
            check(
                vec![bag_op(BagOp::Map(f("x => x.value * 2 + 1"))), sink.clone()],
                records(),
                true,
            );
            check(
                vec![
                    bag_op(BagOp::Map(f("x => [x.value, x.value]"))),
                    bag_op(BagOp::Flatten),
                    sink.clone(),
                ],
                records(),
                true,
            );
        }
        // Ending in a per-element op: the elements are collected.
        check(
            vec![pluck("value"), bag_op(BagOp::Map(f("x => x / 2")))],
            records(),
            true,
        );
        check(
            vec![bag_op(BagOp::Filter(f("x => x.name == 'A'"))), pluck("value")],
            records(),
            true,
        );
    }

    /// The byte scan agrees with `split_whitespace` on random text of every length to 40:
    /// mostly letters and spaces, every ASCII whitespace and control byte, and non-ASCII
    /// letters and Unicode spaces (which only `split_whitespace` knows).
    #[test]
    fn words_split_as_split_whitespace() {
        let ascii: Vec<char> = (0u8..0x80).map(char::from).chain("ab ab ab ab".chars()).collect();
        let mixed: Vec<char> = ascii
            .iter()
            .copied()
            .chain("é\u{3000}ж\u{a0}\u{85}\u{2003}😀\u{2028}".chars())
            .collect();
        let mut x = 1u64;
        for (n, alphabet) in (0..=40).flat_map(|n| [(n, &ascii), (n, &mixed)]) {
            for _ in 0..200 {
                let text: String = (0..n)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        alphabet[(x >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                let want: Vec<String> = text.split_whitespace().map(str::to_string).collect();
                let mut got = Vec::new();
                let _ = words(&text, |w| {
                    got.push(w.to_string());
                    Ok(())
                });
                assert_eq!(got, want, "{text:?}");
            }
        }
    }

    #[test]
    fn words_are_split_as_str_split_does() {
        let lines: Vec<Value> = [
            "w1 w2  w3",
            "  leading and trailing  ",
            "",
            "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeeds",
            "\x1cnot\x1dspace\x1e in\x1f rust",
            "non-ascii\u{3000}ideographic\u{a0}nbsp\u{2003}em é",
            "a string longer than fifteen bytes a string longer than fifteen bytes",
            "w1 w1 w1",
        ]
        .iter()
        .map(|s| Value::str(s))
        .collect();
        let split = || {
            bag_op(BagOp::StrMethod {
                method: "split".to_string(),
                args: vec![],
            })
        };
        for sink in [
            part(Reduce::Frequencies { sort: false }),
            part(Reduce::Count),
            part(Reduce::Distinct { key: None }),
            part(Reduce::Distinct {
                key: Some(f("x => x.length")),
            }),
        ] {
            check(
                vec![split(), bag_op(BagOp::Flatten), sink.clone()],
                lines.clone(),
                true,
            );
            check(
                vec![
                    bag_op(BagOp::StrMethod {
                        method: "split".to_string(),
                        args: vec![Value::Null],
                    }),
                    bag_op(BagOp::Flatten),
                    sink.clone(),
                ],
                lines.clone(),
                true,
            );
            // With a separator, the split makes lists first.
            check(
                vec![
                    bag_op(BagOp::StrMethod {
                        method: "split".to_string(),
                        args: vec![Value::str(" ")],
                    }),
                    bag_op(BagOp::Flatten),
                    sink.clone(),
                ],
                lines.clone(),
                true,
            );
            check(
                vec![
                    bag_op(BagOp::StrMethod {
                        method: "lower".to_string(),
                        args: vec![],
                    }),
                    split(),
                    bag_op(BagOp::Flatten),
                    sink.clone(),
                ],
                lines.clone(),
                true,
            );
        }
        // Words that go on to another step, and words collected.
        check(
            vec![
                split(),
                bag_op(BagOp::Flatten),
                bag_op(BagOp::Map(f("w => w + '!'"))),
            ],
            lines.clone(),
            true,
        );
        check(vec![split(), bag_op(BagOp::Flatten)], lines.clone(), true);
        // Flattening strings gives their characters.
        check(
            vec![bag_op(BagOp::Flatten), part(Reduce::Frequencies { sort: false })],
            lines,
            true,
        );
    }

    #[test]
    fn errors_are_the_general_paths() {
        let mut items = records();
        items.insert(3, Value::record([("name", Value::str("no value"))]));
        items.push(Value::Null);
        // A missing field, for pluck and for an expression; with a default there is none.
        check_err(vec![pluck("value"), part(Reduce::Sum)], items.clone());
        let shown = check(
            vec![
                bag_op(BagOp::Pluck {
                    key: Value::str("value"),
                    default: Some(Value::Int(100)),
                }),
                part(Reduce::Sum),
            ],
            items[..items.len() - 1].to_vec(),
            true,
        );
        assert!(shown.starts_with("value"), "{shown}");
        check_err(
            vec![
                bag_op(BagOp::Filter(f("x => x.value % 7 == 0"))),
                part(Reduce::Count),
            ],
            items.clone(),
        );
        // An error in a later step at an earlier element than a failure in an earlier step:
        // the general path reports the earlier step's failure.
        let late = vec![
            Value::record([("value", Value::Int(1))]),
            Value::record([("value", Value::str("x"))]),
            Value::record([("other", Value::Int(2))]),
        ];
        check_err(
            vec![
                pluck("value"),
                bag_op(BagOp::Map(f("x => x + 1"))),
                part(Reduce::Count),
            ],
            late.clone(),
        );
        check_err(
            vec![bag_op(BagOp::Map(f("x => x.value"))), part(Reduce::Sum)],
            late,
        );
        // Sums that overflow, that mix in strings, and flatten of a number.
        check_err(
            vec![pluck("value"), part(Reduce::Sum)],
            vec![
                Value::record([("value", Value::Int(i64::MAX))]),
                Value::record([("value", Value::Int(1))]),
            ],
        );
        check_err(vec![pluck("name"), part(Reduce::Sum)], records());
        check_err(
            vec![pluck("value"), bag_op(BagOp::Flatten), part(Reduce::Count)],
            records(),
        );
        // str methods on something that is not a string.
        check_err(
            vec![
                bag_op(BagOp::StrMethod {
                    method: "split".to_string(),
                    args: vec![],
                }),
                bag_op(BagOp::Flatten),
                part(Reduce::Frequencies { sort: false }),
            ],
            vec![Value::str("a b"), Value::Int(3)],
        );
    }

    #[test]
    fn chains_that_do_not_stream_are_left_to_the_general_path() {
        let inputs = [bag(records())];
        // One op alone, or a reduction that does not stream.
        assert!(run_fused(&[pluck("value")], &inputs).is_none());
        assert!(run_fused(&[pluck("value"), part(Reduce::Max)], &inputs).is_none());
        check(vec![pluck("value"), part(Reduce::Max)], records(), false);
        check(vec![pluck("value"), part(Reduce::All)], records(), false);
    }
}
