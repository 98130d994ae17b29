//! What a task runs. An [`Op`] is plain data (so graphs can be printed, exported and sent
//! to any worker); [`Op::execute`] dispatches to the per-partition kernels, which live
//! apart from graph building (`bag::kernels`, as Dask keeps `chunk.py` files).

use crate::array::ArrayOp;
use crate::bag::BagOp;
use crate::dataframe::FrameOp;
use crate::delayed::CallOp;
use crate::error::Result;
use crate::partition::Partition;
use std::sync::Arc;

/// The operation of one task.
#[derive(Debug, Clone)]
pub enum Op {
    /// Data that is already there: a from_sequence partition, a literal, a persisted result.
    Literal(Arc<Partition>),
    /// A bag kernel.
    Bag(BagOp),
    /// An array kernel.
    Array(ArrayOp),
    /// A dataframe kernel.
    Frame(FrameOp),
    /// A function call on argument values (delayed and futures).
    Call(CallOp),
    /// A linear chain made by `fuse`: the first op reads the task's inputs, each next op
    /// reads the output of the one before.
    Fused(Arc<Vec<Op>>),
}

impl Op {
    /// The function name shown in graphs and the Dask-style dict (`frequencies-part`).
    pub fn name(&self) -> String {
        match self {
            Op::Literal(_) => "literal".to_string(),
            Op::Bag(op) => op.name().to_string(),
            Op::Array(op) => op.name(),
            Op::Frame(op) => op.name(),
            Op::Call(call) => call.name(),
            Op::Fused(ops) => ops.iter().map(|o| o.name()).collect::<Vec<_>>().join("+"),
        }
    }

    /// A short text for the literal data a task carries, for the Dask-style dict.
    pub fn literal_summary(&self) -> Option<String> {
        match self {
            Op::Literal(p) => Some(p.preview()),
            Op::Bag(op) => op.argument_summary(),
            Op::Array(_) | Op::Frame(_) => None,
            Op::Call(call) => Some(call.argument_summary()),
            Op::Fused(_) => None,
        }
    }

    /// Aggregation steps take their inputs as one list, as Dask's aggregate functions do.
    pub fn takes_list(&self) -> bool {
        match self {
            Op::Bag(op) => op.takes_list(),
            Op::Array(op) => op.takes_list(),
            Op::Frame(op) => op.takes_list(),
            _ => false,
        }
    }

    /// Whether `fuse` may merge this task into a chain.
    pub fn fusable(&self) -> bool {
        match self {
            Op::Literal(_) => true,
            Op::Bag(op) => op.fusable(),
            Op::Array(op) => op.fusable(),
            Op::Frame(op) => op.fusable(),
            Op::Call(_) => false,
            Op::Fused(_) => true,
        }
    }

    /// The axis order of a transpose, which the optimiser may fold into the task reading it.
    pub fn transpose_axes(&self) -> Option<&[usize]> {
        match self {
            Op::Array(op) => op.transpose_axes(),
            _ => None,
        }
    }

    /// Whether this is one term of a blocked matmul (see `ArrayOp::is_matmul_part`).
    pub fn is_matmul_part(&self) -> bool {
        matches!(self, Op::Array(op) if op.is_matmul_part())
    }

    /// Whether this sums a blocked matmul's terms and nothing else.
    pub fn sums_matmul_terms(&self) -> bool {
        matches!(self, Op::Array(op) if op.sums_matmul_terms())
    }

    /// Makes input `slot` be read in axis order `axes` (a folded transpose); false when
    /// this op cannot read an input through a view.
    pub fn read_input_permuted(&mut self, slot: usize, axes: &[usize]) -> bool {
        match self {
            Op::Array(op) => op.read_input_permuted(slot, axes),
            _ => false,
        }
    }

    /// Runs the operation on its inputs' outputs.
    pub fn execute(&self, inputs: &[Arc<Partition>]) -> Result<Arc<Partition>> {
        match self {
            Op::Literal(p) => Ok(Arc::clone(p)),
            Op::Bag(op) => op.execute(inputs).map(Arc::new),
            Op::Array(op) => op.execute(inputs).map(Arc::new),
            Op::Frame(op) => op.execute(inputs).map(Arc::new),
            Op::Call(call) => call.execute(inputs).map(|v| Arc::new(Partition::Value(v))),
            Op::Fused(ops) => {
                // Bag chains that end in per-element steps or a reduction stream instead.
                if let Some(out) = crate::bag::pipeline::run_fused(ops, inputs) {
                    return out;
                }
                let mut current: Vec<Arc<Partition>> = inputs.to_vec();
                let mut rest = ops.as_slice();
                while let Some((op, tail)) = rest.split_first() {
                    // Some pairs of array ops have one kernel that skips the block between them.
                    if let (Op::Array(first), Some(Op::Array(next))) = (op, tail.first()) {
                        if let Some(out) = first.execute_with_next(next, &current) {
                            current = vec![Arc::new(out?)];
                            rest = tail.get(1..).unwrap_or_default();
                            continue;
                        }
                    }
                    if let (Op::Frame(first), Some(Op::Frame(next))) = (op, tail.first()) {
                        if let Some(out) = first.execute_with_next(next, &current) {
                            current = vec![Arc::new(out?)];
                            rest = tail.get(1..).unwrap_or_default();
                            continue;
                        }
                    }
                    // A frame op copies only the columns the next frame op reads.
                    let out = match (op, tail.first()) {
                        (Op::Frame(f), Some(Op::Frame(next))) => Arc::new(f.execute_feeding(&current, next)?),
                        _ => op.execute(&current)?,
                    };
                    current = vec![out];
                    rest = tail;
                }
                current
                    .pop()
                    .ok_or_else(|| crate::error::Error::internal("fused task with no operations"))
            }
        }
    }

    /// The preview text of this task's output for events and graph labels.
    pub fn preview(&self, output: &Partition) -> String {
        match self {
            Op::Bag(op) => op.preview(output),
            Op::Fused(ops) => ops
                .last()
                .map(|o| o.preview(output))
                .unwrap_or_else(|| output.preview()),
            _ => output.preview(),
        }
    }
}
