//! delayed: lazy function calls on literals and on other nodes' results. A call's
//! arguments are slots: a literal value, or an input node (a value, or a whole bag whose
//! partitions are concatenated into one list, as Dask passes a computed bag).

use crate::error::{Error, Result};
use crate::expr::Function;
use crate::graph::{Key, LayerKind};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::Partition;
use crate::plan::Node;
use crate::registry::Kind;
use crate::value::Value;
use serde_json::Value as Json;
use std::sync::Arc;

/// Where one argument of a call comes from.
#[derive(Debug, Clone)]
pub enum Slot {
    /// A literal value.
    Value(Value),
    /// The task inputs `start..start + len` (one for a value, one per partition for a bag).
    Inputs { start: usize, len: usize, kind: Kind },
}

/// A function call as task data.
#[derive(Debug, Clone)]
pub struct CallOp {
    pub func: Function,
    pub name: String,
    pub slots: Vec<Slot>,
}

impl CallOp {
    pub fn name(&self) -> String {
        self.name.clone()
    }

    pub fn argument_summary(&self) -> String {
        format!("<{}>", self.func.source())
    }

    /// Builds the argument values from the task's inputs and calls the function.
    pub fn execute(&self, inputs: &[Arc<Partition>]) -> Result<Value> {
        let mut args = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            args.push(match slot {
                Slot::Value(v) => v.clone(),
                Slot::Inputs { start, len, kind } => {
                    let parts = inputs.get(*start..start + len).ok_or_else(|| {
                        Error::internal(format!(
                            "{}: argument needs inputs {start}..{}",
                            self.name,
                            start + len
                        ))
                    })?;
                    collect_argument(parts, *kind, &self.name)?
                }
            });
        }
        self.func.call(&args).map_err(|e| e.context(&self.name))
    }
}

/// One argument value from the partitions of an input.
pub fn collect_argument(parts: &[Arc<Partition>], kind: Kind, op: &str) -> Result<Value> {
    match kind {
        Kind::Bag => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(p.as_bag(op)?.iter().cloned());
            }
            Ok(Value::list(all))
        }
        Kind::Value => match parts {
            [one] => Ok(one.as_value(op)?.clone()),
            _ => Err(Error::internal(format!(
                "{op}: a value argument has {} tasks",
                parts.len()
            ))),
        },
        Kind::Array | Kind::Frame => Err(Error::type_error(format!(
            "{op}: passing {} to a function is not supported yet; compute it first",
            kind.describe()
        ))),
    }
}

pub fn lower_value(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let value = ctx.json_arg("value").map(Value::from_json).unwrap_or(Value::Null);
    let label = ctx.str_arg("name")?.unwrap_or("literal").to_string();
    let name = ctx.layer_name(&label);
    let layer = l.layer(&name, &label, LayerKind::Input, None);
    let task = l.task(
        Key::single(&name),
        layer,
        Vec::new(),
        Op::Literal(Arc::new(Partition::Value(value))),
    )?;
    Ok(Collection {
        kind: Kind::Value,
        name,
        tasks: vec![task],
        token: ctx.token.clone(),
    })
}

/// Checks `args`: each item is `{"input": i}` (an index into inputs) or `{"value": v}`,
/// and there are as many as the function has parameters.
pub fn check_call(node: &Node) -> Result<()> {
    let f = node.args().get("func").and_then(Json::as_str).unwrap_or_default();
    let arity = Function::parse(f, crate::expr::Lang::Auto)
        .map(|f| f.arity())
        .unwrap_or(0);
    let count = match node.args().get("args").and_then(Json::as_array) {
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                parse_slot(node, i, item)?;
            }
            items.len()
        }
        None => node.inputs.len(),
    };
    if count != arity {
        return Err(Error::plan(format!(
            "node '{}' (delayed.call): the function takes {arity} parameter{} but the call passes {count} argument{}",
            node.id,
            if arity == 1 { "" } else { "s" },
            if count == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

enum RawSlot {
    Input(usize),
    Value(Value),
}

fn parse_slot(node: &Node, i: usize, item: &Json) -> Result<RawSlot> {
    let bad = || {
        Error::plan(format!(
            "node '{}' (delayed.call): args[{i}] must be {{\"input\": <index into inputs>}} or {{\"value\": <JSON>}}, not {item}",
            node.id
        ))
    };
    let obj = item.as_object().ok_or_else(bad)?;
    if obj.len() != 1 {
        return Err(bad());
    }
    if let Some(ix) = obj.get("input") {
        let ix = ix
            .as_u64()
            .and_then(|u| usize::try_from(u).ok())
            .ok_or_else(bad)?;
        if ix >= node.inputs.len() {
            return Err(Error::plan(format!(
                "node '{}' (delayed.call): args[{i}] reads input {ix}, but the node has {} input{}",
                node.id,
                node.inputs.len(),
                if node.inputs.len() == 1 { "" } else { "s" }
            )));
        }
        return Ok(RawSlot::Input(ix));
    }
    match obj.get("value") {
        Some(v) => Ok(RawSlot::Value(Value::from_json(v))),
        None => Err(bad()),
    }
}

pub fn lower_call(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let func = ctx.func_arg("func")?;
    let raw: Vec<RawSlot> = match ctx.json_arg("args").and_then(Json::as_array) {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| parse_slot(ctx.node, i, it))
            .collect::<Result<_>>()?,
        None => (0..ctx.inputs.len()).map(RawSlot::Input).collect(),
    };
    let mut deps = Vec::new();
    let mut slots = Vec::with_capacity(raw.len());
    for r in raw {
        slots.push(match r {
            RawSlot::Value(v) => Slot::Value(v),
            RawSlot::Input(ix) => {
                let input = ctx.input(ix)?;
                let start = deps.len();
                deps.extend(input.tasks.iter().copied());
                Slot::Inputs {
                    start,
                    len: input.tasks.len(),
                    kind: input.kind,
                }
            }
        });
    }
    let label = ctx.str_arg("name")?.unwrap_or("call").to_string();
    let name = ctx.layer_name(&label);
    let layer = l.layer(&name, &label, LayerKind::Call, None);
    let op = Op::Call(CallOp {
        func,
        name: label,
        slots,
    });
    let task = l.task(Key::single(&name), layer, deps, op)?;
    Ok(Collection {
        kind: Kind::Value,
        name,
        tasks: vec![task],
        token: ctx.token.clone(),
    })
}
