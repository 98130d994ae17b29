//! The op registry: every plan op with its inputs, argument schema, output kind and the
//! function that lowers it into tasks. Validation and lowering both read this table, so
//! an op is added in one place (and documented in docs/plan.md).

use crate::dataframe::transform as T;
use crate::error::Result;
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::plan::Node;
use crate::{array, bag, dataframe, delayed};

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

/// An op that creates an array.
const fn array_new(
    name: &'static str,
    doc: &'static str,
    args: &'static [ArgSpec],
    lower: fn(&mut Lowerer, &NodeCtx) -> Result<Collection>,
) -> OpSpec {
    OpSpec {
        name,
        doc,
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Array,
        args,
        check: no_check,
        lower,
    }
}

/// An op on one dataframe.
const fn frame_op(
    name: &'static str,
    doc: &'static str,
    output: Kind,
    args: &'static [ArgSpec],
    lower: fn(&mut Lowerer, &NodeCtx) -> Result<Collection>,
) -> OpSpec {
    OpSpec {
        name,
        doc,
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Frame),
        output,
        args,
        check: no_check,
        lower,
    }
}

/// An array reduction with axis, keepdims and split_every.
const fn array_reduce(
    name: &'static str,
    doc: &'static str,
    lower: fn(&mut Lowerer, &NodeCtx) -> Result<Collection>,
) -> OpSpec {
    OpSpec {
        name,
        doc,
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: ARRAY_REDUCE_ARGS,
        check: no_check,
        lower,
    }
}

const ARRAY_REDUCE_ARGS: &[ArgSpec] = &[arg("axis", ANY), arg("keepdims", ArgType::Bool), SPLIT_EVERY];

/// Every op, in the order docs/plan.md lists them.
const FUNC2: ArgType = ArgType::Func {
    min_params: 2,
    max_params: 2,
};
const ANY: ArgType = ArgType::Any;
const BAG: InputKind = InputKind::Only(Kind::Bag);

/// A bag op that reads one bag.
const fn bag_op(
    name: &'static str,
    doc: &'static str,
    output: Kind,
    args: &'static [ArgSpec],
    lower: fn(&mut Lowerer, &NodeCtx) -> Result<Collection>,
) -> OpSpec {
    OpSpec {
        name,
        doc,
        inputs: Arity::Exactly(1),
        input_kind: BAG,
        output,
        args,
        check: no_check,
        lower,
    }
}

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
        name: "bag.range",
        doc: "The integers 0..n in npartitions partitions.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Bag,
        args: &[
            required("n", ArgType::Int { min: 0 }),
            required("npartitions", POS),
        ],
        check: no_check,
        lower: bag::lower_range,
    },
    OpSpec {
        name: "bag.read_text",
        doc: "Lines (with their newlines) of text the caller supplies; blocksize cuts files into partitions.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Bag,
        args: &[
            arg("text", ArgType::Str),
            arg("files", ArgType::List),
            arg("blocksize", POS),
        ],
        check: no_check,
        lower: bag::lower_read_text,
    },
    OpSpec {
        name: "bag.from_delayed",
        doc: "A bag with one partition per input delayed value (each a list).",
        inputs: Arity::AtLeast(1),
        input_kind: InputKind::Only(Kind::Value),
        output: Kind::Bag,
        args: &[],
        check: no_check,
        lower: bag::lower_from_delayed,
    },
    OpSpec {
        name: "bag.map",
        doc: "Applies a function to every element; with several bags, to one element of each (zipped).",
        inputs: Arity::Between(1, 8),
        input_kind: BAG,
        output: Kind::Bag,
        args: &[required(
            "func",
            ArgType::Func {
                min_params: 1,
                max_params: 8,
            },
        )],
        check: bag::check_map,
        lower: bag::lower_map,
    },
    OpSpec {
        name: "bag.zip",
        doc: "One list per position of several bags with equal partitions.",
        inputs: Arity::Between(2, 8),
        input_kind: BAG,
        output: Kind::Bag,
        args: &[],
        check: no_check,
        lower: bag::lower_zip,
    },
    bag_op(
        "bag.filter",
        "Keeps the elements for which the predicate is truthy.",
        Kind::Bag,
        &[required("predicate", FUNC1)],
        bag::lower_filter,
    ),
    bag_op(
        "bag.remove",
        "Drops the elements for which the predicate is truthy.",
        Kind::Bag,
        &[required("predicate", FUNC1)],
        bag::lower_remove,
    ),
    bag_op(
        "bag.pluck",
        "A field (or list index, or list of them) of every element; default for missing ones.",
        Kind::Bag,
        &[required("key", ANY), arg("default", ANY)],
        bag::lower_pluck,
    ),
    bag_op(
        "bag.str",
        "A string method on every element, as Dask's .str accessor (lower, upper, strip, split, replace, ...).",
        Kind::Bag,
        &[required("method", ArgType::Str), arg("args", ArgType::List)],
        bag::lower_str,
    ),
    bag_op(
        "bag.random_sample",
        "Each element kept with probability prob; deterministic for a random_state.",
        Kind::Bag,
        &[required("prob", ANY), arg("random_state", ArgType::Int { min: 0 })],
        bag::lower_random_sample,
    ),
    bag_op(
        "bag.flatten",
        "The items of every element, as one bag.",
        Kind::Bag,
        &[],
        bag::lower_flatten,
    ),
    bag_op(
        "bag.starmap",
        "Calls the function with each element's items as arguments.",
        Kind::Bag,
        &[required(
            "func",
            ArgType::Func {
                min_params: 0,
                max_params: 8,
            },
        )],
        bag::lower_starmap,
    ),
    bag_op(
        "bag.map_partitions",
        "Calls the function on each whole partition (a list); it returns a list.",
        Kind::Bag,
        &[required("func", FUNC1)],
        bag::lower_map_partitions,
    ),
    bag_op(
        "bag.count",
        "The number of elements, as a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_count,
    ),
    bag_op(
        "bag.sum",
        "The sum of the elements (numbers; bools count as 0 and 1), as a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_sum,
    ),
    bag_op(
        "bag.min",
        "The smallest element, as a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_min,
    ),
    bag_op(
        "bag.max",
        "The largest element, as a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_max,
    ),
    bag_op(
        "bag.mean",
        "The arithmetic mean, as a tree reduction of sums and counts.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_mean,
    ),
    bag_op(
        "bag.var",
        "The variance (ddof), as a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY, arg("ddof", ArgType::Int { min: 0 })],
        bag::lower_var,
    ),
    bag_op(
        "bag.std",
        "The standard deviation (ddof), as a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY, arg("ddof", ArgType::Int { min: 0 })],
        bag::lower_std,
    ),
    bag_op(
        "bag.all",
        "Whether every element is truthy.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_all,
    ),
    bag_op(
        "bag.any",
        "Whether some element is truthy.",
        Kind::Value,
        &[SPLIT_EVERY],
        bag::lower_any,
    ),
    bag_op(
        "bag.frequencies",
        "How often each distinct element occurs, as a list of [value, count] pairs; a tree reduction.",
        Kind::Value,
        &[SPLIT_EVERY, arg("sort", ArgType::Bool)],
        bag::lower_frequencies,
    ),
    bag_op(
        "bag.distinct",
        "The distinct elements (by key), first seen first, in one partition.",
        Kind::Bag,
        &[SPLIT_EVERY, arg("key", FUNC1)],
        bag::lower_distinct,
    ),
    bag_op(
        "bag.topk",
        "The k largest elements (by key), largest first, in one partition.",
        Kind::Bag,
        &[
            required("k", ArgType::Int { min: 0 }),
            arg("key", FUNC1),
            SPLIT_EVERY,
        ],
        bag::lower_topk,
    ),
    bag_op(
        "bag.fold",
        "Folds the elements with binop per partition and the partials with combine.",
        Kind::Value,
        &[
            required("binop", FUNC2),
            arg("combine", FUNC2),
            arg("initial", ANY),
            SPLIT_EVERY,
        ],
        bag::lower_fold,
    ),
    bag_op(
        "bag.foldby",
        "Folds the elements of each key: [key, value] pairs in one partition.",
        Kind::Bag,
        &[
            required("key", FUNC1),
            required("binop", FUNC2),
            arg("initial", ANY),
            arg("combine", FUNC2),
            arg("combine_initial", ANY),
            SPLIT_EVERY,
        ],
        bag::lower_foldby,
    ),
    bag_op(
        "bag.reduction",
        "A custom tree reduction: perpartition(list) per partition, aggregate(list) at every level.",
        Kind::Value,
        &[
            required("perpartition", FUNC1),
            required("aggregate", FUNC1),
            SPLIT_EVERY,
        ],
        bag::lower_reduction_op,
    ),
    bag_op(
        "bag.take",
        "The first k elements, reading only the first npartitions partitions.",
        Kind::Value,
        &[required("k", ArgType::Int { min: 0 }), arg("npartitions", POS)],
        bag::lower_take,
    ),
    bag_op(
        "bag.accumulate",
        "Running binop over the elements, partition after partition.",
        Kind::Bag,
        &[required("binop", FUNC2), arg("initial", ANY)],
        bag::lower_accumulate,
    ),
    OpSpec {
        name: "bag.concat",
        doc: "The partitions of several bags, one after another.",
        inputs: Arity::Between(1, 64),
        input_kind: BAG,
        output: Kind::Bag,
        args: &[],
        check: no_check,
        lower: bag::lower_concat,
    },
    OpSpec {
        name: "bag.join",
        doc: "Pairs [other_element, element] where on_other(other_element) == on_self(element).",
        inputs: Arity::Exactly(2),
        input_kind: BAG,
        output: Kind::Bag,
        args: &[required("on_self", FUNC1), arg("on_other", FUNC1)],
        check: no_check,
        lower: bag::lower_join,
    },
    bag_op(
        "bag.groupby",
        "Groups by key with a task shuffle: [key, [elements]] pairs in npartitions partitions.",
        Kind::Bag,
        &[required("grouper", FUNC1), arg("npartitions", POS)],
        bag::lower_groupby,
    ),
    bag_op(
        "bag.repartition",
        "The same elements in npartitions partitions, in order.",
        Kind::Bag,
        &[required("npartitions", POS)],
        bag::lower_repartition,
    ),
    bag_op(
        "bag.to_delayed",
        "One partition of the bag as a delayed value (a list), as bag.to_delayed()[partition].",
        Kind::Value,
        &[required("partition", ArgType::Int { min: 0 })],
        bag::lower_to_delayed,
    ),
    OpSpec {
        name: "array.from_array",
        doc: "An array from nested lists (or a flat list and a shape), cut into chunks.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Array,
        args: &[required("data", ANY), arg("shape", ANY), arg("chunks", ANY), arg("dtype", ArgType::Str)],
        check: no_check,
        lower: array::lower_from_array,
    },
    array_new("array.ones", "An array of ones.", &[required("shape", ANY), arg("chunks", ANY), arg("dtype", ArgType::Str)], array::lower_ones),
    array_new("array.zeros", "An array of zeros.", &[required("shape", ANY), arg("chunks", ANY), arg("dtype", ArgType::Str)], array::lower_zeros),
    array_new(
        "array.full",
        "An array filled with fill_value.",
        &[required("shape", ANY), required("fill_value", ANY), arg("chunks", ANY), arg("dtype", ArgType::Str)],
        array::lower_full,
    ),
    array_new(
        "array.arange",
        "Evenly spaced values in [start, stop), 1-d.",
        &[arg("start", ANY), required("stop", ANY), arg("step", ANY), arg("chunks", ANY), arg("dtype", ArgType::Str)],
        array::lower_arange,
    ),
    array_new(
        "array.linspace",
        "num evenly spaced values from start to stop (endpoint included unless endpoint is false).",
        &[required("start", ANY), required("stop", ANY), arg("num", ArgType::Int { min: 0 }), arg("endpoint", ArgType::Bool), arg("chunks", ANY)],
        array::lower_linspace,
    ),
    array_new(
        "array.eye",
        "An N x M array with ones on the k-th diagonal.",
        &[required("N", ArgType::Int { min: 0 }), arg("M", ArgType::Int { min: 0 }), arg("k", ANY), arg("chunks", ANY)],
        array::lower_eye,
    ),
    array_new(
        "array.random",
        "Seeded random values: distribution random, uniform (low, high), normal (loc, scale) or integers (low, high).",
        &[
            required("size", ANY),
            arg("distribution", ArgType::Str),
            arg("seed", ArgType::Int { min: 0 }),
            arg("low", ANY),
            arg("high", ANY),
            arg("loc", ANY),
            arg("scale", ANY),
            arg("chunks", ANY),
        ],
        array::lower_random,
    ),
    OpSpec {
        name: "array.elemwise",
        doc: "An element-wise operation: unary, with a number (other, reverse), or on two arrays of equal chunks.",
        inputs: Arity::Between(1, 2),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("op", ArgType::Str), arg("other", ANY), arg("reverse", ArgType::Bool)],
        check: no_check,
        lower: array::lower_elemwise,
    },
    OpSpec {
        name: "array.astype",
        doc: "The array converted to another dtype.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("dtype", ArgType::Str)],
        check: no_check,
        lower: array::lower_astype,
    },
    OpSpec {
        name: "array.clip",
        doc: "Values limited to [min, max].",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("min", ANY), arg("max", ANY)],
        check: no_check,
        lower: array::lower_clip,
    },
    OpSpec {
        name: "array.concatenate",
        doc: "Arrays joined along an existing axis.",
        inputs: Arity::Between(1, 64),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("axis", ANY)],
        check: no_check,
        lower: array::lower_concatenate,
    },
    OpSpec {
        name: "array.stack",
        doc: "Arrays of equal shape joined along a new axis.",
        inputs: Arity::Between(1, 64),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("axis", ANY)],
        check: no_check,
        lower: array::lower_stack,
    },
    OpSpec {
        name: "array.getitem",
        doc: "Integers and slices ({start, stop, step} or null) per axis; reads only the blocks it needs.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("index", ArgType::List)],
        check: no_check,
        lower: array::lower_getitem,
    },
    OpSpec {
        name: "array.rechunk",
        doc: "The same array in new chunks; each new block reads the old blocks it overlaps.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("chunks", ANY)],
        check: no_check,
        lower: array::lower_rechunk,
    },
    OpSpec {
        name: "array.transpose",
        doc: "The axes permuted (reversed by default).",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("axes", ArgType::List)],
        check: no_check,
        lower: array::lower_transpose,
    },
    OpSpec {
        name: "array.matmul",
        doc: "The matrix product of two 2-d arrays, as blocked partial products summed per output block.",
        inputs: Arity::Exactly(2),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[SPLIT_EVERY],
        check: no_check,
        lower: array::lower_matmul,
    },
    OpSpec {
        name: "array.where",
        doc: "x where the condition (first input) is true, else y; x and y are arrays (more inputs) or numbers (args x, y), all broadcast together.",
        inputs: Arity::Between(1, 3),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("x", ANY), arg("y", ANY)],
        check: no_check,
        lower: array::lower_where,
    },
    OpSpec {
        name: "array.map_blocks",
        doc: "A function applied to every element of every block (blocks keep their shape); dtype given or inferred.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("func", FUNC1), arg("dtype", ArgType::Str)],
        check: no_check,
        lower: array::lower_map_blocks,
    },
    OpSpec {
        name: "array.reshape",
        doc: "The same elements in a new shape (one -1 allowed); blocks are rechunked where the axes merge or split, as Dask does.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("shape", ANY)],
        check: no_check,
        lower: array::lower_reshape,
    },
    OpSpec {
        name: "array.blocks",
        doc: "Whole blocks picked by block index (integers keep their axis; slices count blocks), as x.blocks[i, j].",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[required("index", ArgType::List)],
        check: no_check,
        lower: array::lower_blocks,
    },
    array_reduce("array.sum", "The sum over all axes or one axis, as a tree reduction.", array::lower_sum),
    array_reduce("array.prod", "The product, as a tree reduction.", array::lower_prod),
    array_reduce("array.min", "The minimum, as a tree reduction.", array::lower_min),
    array_reduce("array.max", "The maximum, as a tree reduction.", array::lower_max),
    array_reduce("array.mean", "The mean, as a tree reduction of sums.", array::lower_mean),
    array_reduce("array.any", "Whether any element is true.", array::lower_any),
    OpSpec {
        name: "array.var",
        doc: "The variance (ddof), as a tree reduction of counts, sums and sums of squares.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("axis", ANY), arg("keepdims", ArgType::Bool), SPLIT_EVERY, arg("ddof", ArgType::Int { min: 0 })],
        check: no_check,
        lower: array::lower_var,
    },
    OpSpec {
        name: "array.std",
        doc: "The standard deviation (ddof), as a tree reduction.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Array,
        args: &[arg("axis", ANY), arg("keepdims", ArgType::Bool), SPLIT_EVERY, arg("ddof", ArgType::Int { min: 0 })],
        check: no_check,
        lower: array::lower_std,
    },
    array_reduce("array.all", "Whether every element is true.", array::lower_all),
    array_reduce(
        "array.argmin",
        "The index of the minimum (flat without axis; along one axis with it), as a tree reduction of (value, index) pairs.",
        array::lower_argmin,
    ),
    array_reduce(
        "array.argmax",
        "The index of the maximum (flat without axis; along one axis with it), as a tree reduction of (value, index) pairs.",
        array::lower_argmax,
    ),
    OpSpec {
        name: "dataframe.from_records",
        doc: "A dataframe from a list of records (objects), cut into npartitions (or chunksize rows) as dd.from_pandas.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Frame,
        args: &[required("records", ArgType::List), arg("npartitions", POS), arg("chunksize", POS)],
        check: no_check,
        lower: dataframe::lower_from_records,
    },
    OpSpec {
        name: "dataframe.read_csv",
        doc: "A dataframe from CSV text with a header; dtypes inferred from the first rows unless dtype {col: dtype} says; one partition per block of about blocksize bytes.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Frame,
        args: &[required("text", ArgType::Str), arg("blocksize", POS), arg("dtype", ArgType::Any)],
        check: no_check,
        lower: dataframe::lower_read_csv,
    },
    frame_op("dataframe.select", "Columns by name, in the order given (df[[...]]).", Kind::Frame, &[required("columns", ArgType::List)], dataframe::lower_select),
    frame_op(
        "dataframe.filter",
        "Rows where a column predicate ({col, op, value}, {isnull}, {notnull}, {and}, {or}, {not}) or a row expression (expr) holds; evaluated with Arrow kernels.",
        Kind::Frame,
        &[arg("predicate", ANY), arg("expr", FUNC1)],
        dataframe::lower_filter,
    ),
    frame_op("dataframe.head", "The first n rows of the first npartitions partitions (1 by default), as Dask.", Kind::Frame, &[arg("n", ArgType::Int { min: 0 }), arg("npartitions", POS)], dataframe::lower_head),
    frame_op("dataframe.sum", "Per numeric column sums, as a tree reduction.", Kind::Value, &[SPLIT_EVERY], dataframe::lower_sum),
    frame_op("dataframe.mean", "Per numeric column means, as a tree reduction.", Kind::Value, &[SPLIT_EVERY], dataframe::lower_mean),
    frame_op("dataframe.count", "Per column non-null counts, as a tree reduction.", Kind::Value, &[SPLIT_EVERY], dataframe::lower_count),
    frame_op("dataframe.min", "Per numeric column minima, as a tree reduction.", Kind::Value, &[SPLIT_EVERY], dataframe::lower_min),
    frame_op("dataframe.max", "Per numeric column maxima, as a tree reduction.", Kind::Value, &[SPLIT_EVERY], dataframe::lower_max),
    frame_op(
        "dataframe.groupby_agg",
        "groupby(by).agg({col: aggs}) (or the shortcut func over every other column): chunk, combine split_every at a time, finalize; split_out > 1 shuffles the partials.",
        Kind::Frame,
        &[
            required("by", ArgType::Any),
            arg("agg", ArgType::Any),
            arg("func", ArgType::Str),
            arg("columns", ArgType::Any),
            arg("ddof", ArgType::Int { min: 0 }),
            SPLIT_EVERY,
            arg("split_out", POS),
        ],
        dataframe::groupby::lower_groupby_agg,
    ),
    frame_op("dataframe.len", "The number of rows, as a tree reduction.", Kind::Value, &[SPLIT_EVERY], dataframe::lower_len),
    OpSpec {
        name: "dataframe.from_columns",
        doc: "A dataframe from {name: [values]}, cut into npartitions (or chunksize rows) as from_records.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Frame,
        args: &[required("columns", ANY), arg("npartitions", POS), arg("chunksize", POS)],
        check: no_check,
        lower: T::lower_from_columns,
    },
    OpSpec {
        name: "dataframe.from_array",
        doc: "A dataframe from a 1-D or 2-D array: one column per array column (names from columns), one partition per row chunk.",
        inputs: Arity::Exactly(1),
        input_kind: InputKind::Only(Kind::Array),
        output: Kind::Frame,
        args: &[arg("columns", ANY)],
        check: no_check,
        lower: T::lower_from_array,
    },
    bag_op(
        "bag.to_dataframe",
        "A bag of records as a dataframe, one partition per bag partition; dtypes from meta {col: dtype}, or from the data of a literal bag.",
        Kind::Frame,
        &[arg("meta", ANY)],
        T::lower_bag_to_dataframe,
    ),
    frame_op("dataframe.partitions", "Only the partitions at index (an int or a list of ints), as df.partitions[i].", Kind::Frame, &[required("index", ANY)], T::lower_partitions),
    frame_op("dataframe.tail", "The last n rows of the last partition, as Dask.", Kind::Frame, &[arg("n", ArgType::Int { min: 0 })], T::lower_tail),
    frame_op("dataframe.query", "Rows where a row expression (r => r.val > 0.5) holds, evaluated over whole Arrow columns.", Kind::Frame, &[required("expr", FUNC1)], T::lower_query),
    frame_op("dataframe.assign", "New or replaced columns from row expressions {name: expr}, evaluated over whole Arrow columns.", Kind::Frame, &[required("columns", ANY)], T::lower_assign),
    frame_op("dataframe.rename", "Columns renamed by {old: new}.", Kind::Frame, &[required("columns", ANY)], T::lower_rename),
    frame_op("dataframe.drop", "Every column except those named.", Kind::Frame, &[required("columns", ANY)], T::lower_drop),
    frame_op("dataframe.astype", "Columns cast to int64, float64, bool or string ({col: dtype}, or one dtype for all).", Kind::Frame, &[required("dtypes", ANY)], T::lower_astype),
    frame_op("dataframe.fillna", "Missing values filled with a scalar (in the columns it fits) or {col: value}.", Kind::Frame, &[required("value", ANY)], T::lower_fillna),
    frame_op("dataframe.dropna", "Rows without missing values in subset (how 'any'), or not all missing (how 'all').", Kind::Frame, &[arg("subset", ANY), arg("how", ArgType::Str)], T::lower_dropna),
    frame_op("dataframe.isnull", "A frame of bools: whether each value is missing.", Kind::Frame, &[], T::lower_isnull),
    frame_op("dataframe.drop_duplicates", "Distinct rows (over subset), as a tree reduction to one partition.", Kind::Frame, &[arg("subset", ANY), SPLIT_EVERY], T::lower_drop_duplicates),
    frame_op("dataframe.map_partitions", "A row function returning a record, per row; output dtypes from meta or from a call on a fake row, as Dask.", Kind::Frame, &[required("func", FUNC1), arg("meta", ANY)], T::lower_map_partitions),
    frame_op("dataframe.std", "Per numeric column standard deviations (ddof 1), as a tree reduction of (count, mean, M2).", Kind::Value, &[arg("ddof", ArgType::Int { min: 0 }), SPLIT_EVERY], T::lower_std),
    frame_op("dataframe.var", "Per numeric column variances (ddof 1), as a tree reduction of (count, mean, M2).", Kind::Value, &[arg("ddof", ArgType::Int { min: 0 }), SPLIT_EVERY], T::lower_var),
    frame_op("dataframe.nunique", "Per column numbers of distinct non-null values, as a tree of distinct sets.", Kind::Value, &[SPLIT_EVERY], T::lower_nunique),
    frame_op("dataframe.describe", "count mean std min 25% 50% 75% max per numeric column; exact quantiles from all values.", Kind::Value, &[SPLIT_EVERY], T::lower_describe),
    frame_op("dataframe.value_counts", "Counts of each non-null value of a column by count descending, as a tree reduction; a frame of [column, count].", Kind::Frame, &[required("column", ArgType::Str), SPLIT_EVERY], T::lower_value_counts),
    frame_op("dataframe.to_csv", "The frame as CSV text with a header.", Kind::Value, &[], T::lower_to_csv),
    frame_op("dataframe.to_ipc", "The frame as one Arrow IPC stream, base64 (JS: toArrow() gives the bytes).", Kind::Value, &[], T::lower_to_ipc),
    OpSpec {
        name: "dataframe.from_ipc",
        doc: "A dataframe from Arrow IPC stream or file bytes (base64), cut into npartitions (or chunksize rows) as from_records.",
        inputs: Arity::Exactly(0),
        input_kind: InputKind::Any,
        output: Kind::Frame,
        args: &[required("ipc", ArgType::Str), arg("npartitions", POS), arg("chunksize", POS)],
        check: no_check,
        lower: T::lower_from_ipc,
    },
    OpSpec {
        name: "dataframe.merge",
        doc: "A database-style join of two dataframes on key columns (on, or left_on and right_on; how inner, left, right or outer; suffixes): broadcast when one side has one partition, else a hash shuffle of both sides.",
        inputs: Arity::Exactly(2),
        input_kind: InputKind::Only(Kind::Frame),
        output: Kind::Frame,
        args: &[arg("on", ANY), arg("left_on", ANY), arg("right_on", ANY), arg("how", ArgType::Str), arg("suffixes", ArgType::List)],
        check: no_check,
        lower: dataframe::join::lower_merge,
    },
    frame_op(
        "dataframe.set_index",
        "A column as the sorted index: a range shuffle by given divisions, or by divisions a task computes from per-partition samples, then a sort per partition.",
        Kind::Frame,
        &[required("column", ArgType::Str), arg("divisions", ArgType::List), arg("npartitions", POS)],
        dataframe::index::lower_set_index,
    ),
    frame_op(
        "dataframe.sort_values",
        "Rows sorted by one or more columns (stable, nulls last): a range shuffle on the first, then a sort per partition.",
        Kind::Frame,
        &[required("by", ANY), arg("ascending", ArgType::Bool)],
        dataframe::index::lower_sort_values,
    ),
    frame_op(
        "dataframe.loc",
        "Rows by index label: a label, or a slice start..stop (both inclusive); with known divisions only the partitions that can hold them are read.",
        Kind::Frame,
        &[arg("label", ANY), arg("start", ANY), arg("stop", ANY)],
        dataframe::index::lower_loc,
    ),
    frame_op(
        "dataframe.repartition",
        "npartitions partitions, as Dask: fewer by concatenating neighbours; more by cutting partitions (at interpolated divisions for a RangeIndex, evenly by rows otherwise).",
        Kind::Frame,
        &[required("npartitions", POS)],
        dataframe::index::lower_repartition,
    ),
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
