//! The op registry: every plan op with its inputs, argument schema, output kind and the
//! function that lowers it into tasks. Validation and lowering both read this table, so
//! an op is added in one place (and documented in docs/plan.md).

use crate::error::Result;
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::plan::Node;
use crate::{bag, delayed};

/// What a plan node produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Bag,
    Value,
    Array,
    Frame,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Bag => "a bag",
            Kind::Value => "a value",
            Kind::Array => "an array",
            Kind::Frame => "a dataframe",
        }
    }
}

/// The kinds an op accepts as inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Any,
    Only(Kind),
}

impl InputKind {
    pub fn accepts(self, kind: Kind) -> bool {
        match self {
            InputKind::Any => true,
            InputKind::Only(k) => k == kind,
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Any => "any collection or value",
            InputKind::Only(k) => k.describe(),
        }
    }
}

/// How many inputs an op reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
    Between(usize, usize),
}

/// The JSON type an argument must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Int {
        min: i64,
    },
    Bool,
    Str,
    List,
    Any,
    /// Expression source (JS arrow function or Python lambda) taking this many parameters.
    Func {
        min_params: usize,
        max_params: usize,
    },
}

impl ArgType {
    pub fn describe(self) -> String {
        match self {
            ArgType::Int { min: 0 } => "a non-negative integer".to_string(),
            ArgType::Int { min: 1 } => "a positive integer".to_string(),
            ArgType::Int { min } => format!("an integer of at least {min}"),
            ArgType::Bool => "true or false".to_string(),
            ArgType::Str => "a string".to_string(),
            ArgType::List => "a list".to_string(),
            ArgType::Any => "any JSON value".to_string(),
            ArgType::Func {
                min_params,
                max_params,
            } if min_params == max_params => {
                format!(
                    "a function of {min_params} parameter{}",
                    if min_params == 1 { "" } else { "s" }
                )
            }
            ArgType::Func {
                min_params,
                max_params,
            } => {
                format!("a function of {min_params} to {max_params} parameters")
            }
        }
    }
}

/// One argument of an op.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub name: &'static str,
    pub ty: ArgType,
    pub required: bool,
}

const fn arg(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: false,
    }
}
const fn required(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: true,
    }
}

/// One op of the plan format.
pub struct OpSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub inputs: Arity,
    pub input_kind: InputKind,
    pub output: Kind,
    pub args: &'static [ArgSpec],
    /// Checks beyond argument types (e.g. that two arguments are not both given).
    pub check: fn(&Node) -> Result<()>,
    pub lower: fn(&mut Lowerer, &NodeCtx) -> Result<Collection>,
}

impl std::fmt::Debug for OpSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpSpec").field("name", &self.name).finish()
    }
}

fn no_check(_: &Node) -> Result<()> {
    Ok(())
}

const POS: ArgType = ArgType::Int { min: 1 };
const SPLIT_EVERY: ArgSpec = arg("split_every", ArgType::Int { min: 2 });
const FUNC1: ArgType = ArgType::Func {
    min_params: 1,
    max_params: 1,
};

/// Every op, in the order docs/plan.md lists them.
pub static OPS: &[OpSpec] = &[
    OpSpec {
        name: "bag.from_sequence",
        doc: "A bag from a list of values, cut into npartitions (or partitions of partition_size items).",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Bag,
        args: &[
            required("items", ArgType::List),
            arg("npartitions", POS),
            arg("partition_size", POS),
        ],
        check: bag::check_from_sequence,
        lower: bag::lower_from_sequence,
    },
    OpSpec {
        name: "bag.map",
        doc: "Applies a function to every element.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Bag),
        output: Kind::Bag,
        args: &[required("func", FUNC1)],
        check: no_check,
        lower: bag::lower_map,
    },
    OpSpec {
        name: "bag.filter",
        doc: "Keeps the elements for which the predicate is truthy.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Bag),
        output: Kind::Bag,
        args: &[required("predicate", FUNC1)],
        check: no_check,
        lower: bag::lower_filter,
    },
    OpSpec {
        name: "bag.count",
        doc: "The number of elements, as a tree reduction.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Bag),
        output: Kind::Value,
        args: &[SPLIT_EVERY],
        check: no_check,
        lower: bag::lower_count,
    },
    OpSpec {
        name: "bag.sum",
        doc: "The sum of the elements (numbers; bools count as 0 and 1), as a tree reduction.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Bag),
        output: Kind::Value,
        args: &[SPLIT_EVERY],
        check: no_check,
        lower: bag::lower_sum,
    },
    OpSpec {
        name: "bag.frequencies",
        doc: "How often each distinct element occurs, as a list of [value, count] pairs; a tree reduction.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Bag),
        output: Kind::Value,
        args: &[SPLIT_EVERY, arg("sort", ArgType::Bool)],
        check: no_check,
        lower: bag::lower_frequencies,
    },
    OpSpec {
        name: "delayed.value",
        doc: "A literal value as a delayed object.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Value,
        args: &[required("value", ArgType::Any), arg("name", ArgType::Str)],
        check: no_check,
        lower: delayed::lower_value,
    },
    OpSpec {
        name: "delayed.call",
        doc: "Calls a function on literal arguments and on the results of other nodes.",
        inputs: Arity::AtLeast(0),
        input_kind: InputKind::Any,
        output: Kind::Value,
        args: &[
            required(
                "func",
                ArgType::Func {
                    min_params: 0,
                    max_params: 8,
                },
            ),
            arg("args", ArgType::List),
            arg("name", ArgType::Str),
        ],
        check: delayed::check_call,
        lower: delayed::lower_call,
    },
];

pub fn find(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|s| s.name == name)
}

pub fn names() -> Vec<&'static str> {
    OPS.iter().map(|s| s.name).collect()
}
