//! What one task produces: a bag partition, an array chunk, a dataframe partition or a
//! plain value. The scheduler and the graph only move `Arc<Partition>`s around; only the
//! kernels look inside.

use crate::error::{Error, Result};
use crate::value::Value;
use arrow_array::RecordBatch;
use ndarray::ArrayD;
use std::fmt::Write as _;

/// An n-d block of an array, in one of the supported dtypes.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayChunk {
    F64(ArrayD<f64>),
    I64(ArrayD<i64>),
    Bool(ArrayD<bool>),
}

impl ArrayChunk {
    pub fn dtype(&self) -> &'static str {
        match self {
            ArrayChunk::F64(_) => "float64",
            ArrayChunk::I64(_) => "int64",
            ArrayChunk::Bool(_) => "bool",
        }
    }
    pub fn shape(&self) -> &[usize] {
        match self {
            ArrayChunk::F64(a) => a.shape(),
            ArrayChunk::I64(a) => a.shape(),
            ArrayChunk::Bool(a) => a.shape(),
        }
    }
    pub fn nbytes(&self) -> usize {
        let n: usize = self.shape().iter().product();
        match self {
            ArrayChunk::F64(_) | ArrayChunk::I64(_) => n * 8,
            ArrayChunk::Bool(_) => n,
        }
    }
}

/// The output of one task.
#[derive(Debug, Clone)]
pub enum Partition {
    /// A partition of a bag: a list of dynamic values.
    Bag(Vec<Value>),
    /// A block of an array.
    Chunk(ArrayChunk),
    /// A partition of a dataframe.
    Frame(RecordBatch),
    /// The buckets of a dataframe partition split for a shuffle, one per output partition.
    FrameParts(Vec<RecordBatch>),
    /// A plain value: the output of a reduction step, a delayed call or a future.
    Value(Value),
}

impl Partition {
    /// The kind's name, for error messages (`expected a bag partition, got an array chunk`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Partition::Bag(_) => "a bag partition",
            Partition::Chunk(_) => "an array chunk",
            Partition::Frame(_) => "a dataframe partition",
            Partition::FrameParts(_) => "dataframe shuffle buckets",
            Partition::Value(_) => "a value",
        }
    }

    pub fn as_bag(&self, op: &str) -> Result<&[Value]> {
        match self {
            Partition::Bag(items) => Ok(items),
            other => Err(Error::internal(format!(
                "{op}: expected a bag partition, got {}",
                other.kind_name()
            ))),
        }
    }

    pub fn as_value(&self, op: &str) -> Result<&Value> {
        match self {
            Partition::Value(v) => Ok(v),
            other => Err(Error::internal(format!(
                "{op}: expected a value, got {}",
                other.kind_name()
            ))),
        }
    }

    /// A short text for events and graph labels: `list of 12,500 values`,
    /// `f64 (1000, 1000)`, `DataFrame 12,500 rows x 3 cols`, `{A: 1, B: 3}`.
    pub fn preview(&self) -> String {
        const MAX: usize = 60;
        match self {
            Partition::Bag(items) if items.len() <= 4 => {
                let text = Value::list(items.clone()).preview(MAX);
                if text.ends_with('…') {
                    format!("list of {} values", group_thousands(items.len()))
                } else {
                    text
                }
            }
            Partition::Bag(items) => format!("list of {} values", group_thousands(items.len())),
            Partition::Chunk(chunk) => {
                let dims: Vec<String> = chunk.shape().iter().map(|d| d.to_string()).collect();
                let short = match chunk {
                    ArrayChunk::F64(_) => "f64",
                    ArrayChunk::I64(_) => "i64",
                    ArrayChunk::Bool(_) => "bool",
                };
                if dims.len() == 1 {
                    format!("{short} ({},)", dims.join(", "))
                } else {
                    format!("{short} ({})", dims.join(", "))
                }
            }
            Partition::Frame(batch) => format!(
                "DataFrame {} rows x {} cols",
                group_thousands(batch.num_rows()),
                batch.num_columns()
            ),
            Partition::FrameParts(parts) => format!(
                "{} buckets, {} rows",
                parts.len(),
                group_thousands(parts.iter().map(RecordBatch::num_rows).sum())
            ),
            Partition::Value(v) => v.preview(MAX),
        }
    }
}

/// `12500` -> `12,500`.
pub fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        let _ = out.write_char(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_name_the_shape() {
        assert_eq!(group_thousands(12500), "12,500");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
        let big = Partition::Bag((0..12500).map(Value::Int).collect());
        assert_eq!(big.preview(), "list of 12,500 values");
        let small = Partition::Bag(vec![Value::str("A"), Value::str("B")]);
        assert_eq!(small.preview(), "[A, B]");
        let chunk = Partition::Chunk(ArrayChunk::F64(ArrayD::zeros(vec![1000, 1000])));
        assert_eq!(chunk.preview(), "f64 (1000, 1000)");
    }
}
