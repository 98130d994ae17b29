//! Hash shuffles: every input partition splits its rows into `n` buckets by a hash of the
//! key columns (the split layer), then output partition `j` gathers bucket `j` of every
//! split (the all-to-all layer). Groupby with `split_out` and hash joins use it. The hash
//! is fixed (no random seed) so that both sides of a join place equal keys alike.

use crate::error::{Error, Result};
use crate::graph::{Key, LayerKind, TaskId};
use crate::lower::{Lowerer, NodeCtx};
use crate::ops::Op;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::DataType;
use std::sync::Arc;

use super::FrameOp;

/// splitmix64's finaliser: spreads consecutive ints over all buckets.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// One hash per row over the `keys` columns (nulls hash alike, -0.0 as 0.0).
pub fn row_hashes(batch: &RecordBatch, keys: &[String], op: &str) -> Result<Vec<u64>> {
    let mut hashes = vec![0x9e37_79b9_7f4a_7c15_u64; batch.num_rows()];
    for key in keys {
        let col = batch.column_by_name(key).ok_or_else(|| {
            let have: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
            Error::value(format!(
                "{op}: no column '{key}'; the columns are {}",
                have.join(", ")
            ))
        })?;
        let mut fold = |i: usize, v: u64| {
            if let Some(h) = hashes.get_mut(i) {
                *h = mix(h.rotate_left(17) ^ v);
            }
        };
        let null = 0x5555_5555_5555_5555_u64;
        match col.data_type() {
            DataType::Int64 => {
                for (i, v) in col.as_primitive::<Int64Type>().iter().enumerate() {
                    fold(i, v.map_or(null, |v| v as u64));
                }
            }
            DataType::Float64 => {
                for (i, v) in col.as_primitive::<Float64Type>().iter().enumerate() {
                    fold(i, v.map_or(null, |v| if v == 0.0 { 0 } else { v.to_bits() }));
                }
            }
            DataType::Boolean => {
                for (i, v) in col.as_boolean().iter().enumerate() {
                    fold(i, v.map_or(null, u64::from));
                }
            }
            DataType::Utf8 => {
                for (i, v) in col.as_string::<i32>().iter().enumerate() {
                    fold(i, v.map_or(null, |s| hash_bytes(s.as_bytes())));
                }
            }
            other => {
                return Err(Error::type_error(format!(
                    "{op}: cannot hash key column '{key}' of dtype {}",
                    super::kernels::dtype_name(other)
                )))
            }
        }
    }
    Ok(hashes)
}

/// The rows of `batch` in `n` buckets by the hash of `keys`; row order kept in each.
pub fn hash_split(batch: &RecordBatch, keys: &[String], n: usize, op: &str) -> Result<Vec<RecordBatch>> {
    let n = n.max(1);
    let hashes = row_hashes(batch, keys, op)?;
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, h) in hashes.iter().enumerate() {
        if let Some(b) = rows.get_mut((h % n as u64) as usize) {
            b.push(i as u32);
        }
    }
    rows.into_iter().map(|idx| take_rows(batch, idx, op)).collect()
}

/// The rows at `idx`, in that order.
pub fn take_rows(batch: &RecordBatch, idx: Vec<u32>, op: &str) -> Result<RecordBatch> {
    arrow_select::take::take_record_batch(batch, &UInt32Array::from(idx))
        .map_err(|e| Error::internal(format!("{op}: {e}")))
}

/// Adds the split and all-to-all layers of a hash shuffle of `inputs` by `keys` into `n`
/// outputs and returns the output tasks. `label` names the layers (`{label}-split`,
/// `{label}`); the input tasks must give dataframe partitions.
pub fn hash_shuffle(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    inputs: &[TaskId],
    keys: &[String],
    n: usize,
) -> Result<Vec<TaskId>> {
    let keys = Arc::new(keys.to_vec());
    let n = n.max(1);
    let split_label = format!("{label}-split");
    let split_name = ctx.layer_name(&split_label);
    let split_layer = l.layer(&split_name, &split_label, LayerKind::Blockwise, None);
    let mut splits = Vec::with_capacity(inputs.len());
    for (i, dep) in inputs.iter().enumerate() {
        let op = FrameOp::HashSplit {
            keys: Arc::clone(&keys),
            n,
        };
        splits.push(l.task(Key::part(&split_name, i), split_layer, vec![*dep], Op::Frame(op))?);
    }
    gather_layer(l, ctx, label, &splits, n)
}

/// The all-to-all layer of a shuffle: output `j` gathers bucket `j` of every split.
pub fn gather_layer(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    splits: &[TaskId],
    n: usize,
) -> Result<Vec<TaskId>> {
    let name = ctx.layer_name(label);
    let layer = l.layer(&name, label, LayerKind::Shuffle, None);
    let mut out = Vec::with_capacity(n);
    for j in 0..n {
        out.push(l.task(
            Key::part(&name, j),
            layer,
            splits.to_vec(),
            Op::Frame(FrameOp::Gather { index: j }),
        )?);
    }
    Ok(out)
}

/// A key column viewed by type, so rows hash and compare without making values.
pub enum KeyView<'a> {
    I(&'a arrow_array::Int64Array),
    F(&'a arrow_array::Float64Array),
    B(&'a arrow_array::BooleanArray),
    S(&'a arrow_array::StringArray),
    /// Any other type: every row counts as missing (merge and groupby refuse such keys earlier).
    Other,
}

impl KeyView<'_> {
    pub fn new(c: &ArrayRef) -> KeyView<'_> {
        match c.data_type() {
            DataType::Int64 => KeyView::I(c.as_primitive::<Int64Type>()),
            DataType::Float64 => KeyView::F(c.as_primitive::<Float64Type>()),
            DataType::Boolean => KeyView::B(c.as_boolean()),
            DataType::Utf8 => KeyView::S(c.as_string::<i32>()),
            _ => KeyView::Other,
        }
    }

    /// Null and NaN are both missing, and missing keys match each other (as pandas).
    pub fn missing(&self, i: usize) -> bool {
        match self {
            KeyView::I(a) => a.is_null(i),
            KeyView::F(a) => a.is_null(i) || a.values().get(i).is_none_or(|x| x.is_nan()),
            KeyView::B(a) => a.is_null(i),
            KeyView::S(a) => a.is_null(i),
            KeyView::Other => true,
        }
    }

    pub fn hash(&self, i: usize) -> u64 {
        if self.missing(i) {
            return 0x5555_5555_5555_5555;
        }
        match self {
            KeyView::I(a) => a.values().get(i).map_or(0, |v| *v as u64),
            // -0.0 equals 0.0, so both hash as 0.
            KeyView::F(a) => a
                .values()
                .get(i)
                .map_or(0, |v| if *v == 0.0 { 0 } else { v.to_bits() }),
            KeyView::B(a) => u64::from(i < a.len() && a.value(i)),
            KeyView::S(a) => {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                if i < a.len() {
                    for b in a.value(i).as_bytes() {
                        h ^= u64::from(*b);
                        h = h.wrapping_mul(0x0000_0100_0000_01b3);
                    }
                }
                h
            }
            KeyView::Other => 0,
        }
    }

    /// Row `i` of this column equals row `j` of `other` (a column of the same dtype).
    pub fn same(&self, i: usize, other: &KeyView, j: usize) -> bool {
        match (self.missing(i), other.missing(j)) {
            (true, true) => return true,
            (true, false) | (false, true) => return false,
            (false, false) => {}
        }
        match (self, other) {
            (KeyView::I(a), KeyView::I(b)) => a.values().get(i) == b.values().get(j),
            (KeyView::F(a), KeyView::F(b)) => a.values().get(i) == b.values().get(j),
            (KeyView::B(a), KeyView::B(b)) => i < a.len() && j < b.len() && a.value(i) == b.value(j),
            (KeyView::S(a), KeyView::S(b)) => i < a.len() && j < b.len() && a.value(i) == b.value(j),
            _ => false,
        }
    }
}

/// Hashes are already mixed: the table uses them as they are.
#[derive(Default)]
pub struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
