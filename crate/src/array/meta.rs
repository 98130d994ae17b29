//! What the graph builder knows about an array without computing it: shape, chunks
//! (Dask's tuple of tuples) and dtype.

use crate::error::{Error, Result};
use serde_json::Value as Json;

/// The element type of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F64,
    I64,
    Bool,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "float64",
            DType::I64 => "int64",
            DType::Bool => "bool",
        }
    }
    pub fn parse(s: &str) -> Result<DType> {
        match s {
            "float64" | "f8" | "float" | "f64" => Ok(DType::F64),
            "int64" | "i8" | "int" | "i64" => Ok(DType::I64),
            "bool" => Ok(DType::Bool),
            other => Err(Error::value(format!(
                "unknown dtype '{other}'; use float64, int64 or bool"
            ))),
        }
    }
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool => 1,
            _ => 8,
        }
    }
}

/// Shape, chunks and dtype of an array collection.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayMeta {
    pub shape: Vec<usize>,
    pub chunks: Vec<Vec<usize>>,
    pub dtype: DType,
}

/// Arrays above this many bytes are refused before anything is allocated (wasm32 has at
/// most 4 GiB of memory, and the engine needs room for its partials).
pub const MEMORY_BUDGET: usize = 2 * 1024 * 1024 * 1024;

impl ArrayMeta {
    pub fn numblocks(&self) -> Vec<usize> {
        self.chunks.iter().map(Vec::len).collect()
    }
    pub fn nblocks(&self) -> usize {
        self.numblocks().iter().product()
    }
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn nbytes(&self) -> usize {
        self.size().saturating_mul(self.dtype.itemsize())
    }

    /// Block indices in C order (the last axis fastest), as task order.
    pub fn block_indices(&self) -> Vec<Vec<usize>> {
        let nb = self.numblocks();
        let mut out = vec![Vec::new()];
        for n in nb {
            let mut next = Vec::with_capacity(out.len() * n);
            for prefix in &out {
                for i in 0..n {
                    let mut p = prefix.clone();
                    p.push(i);
                    next.push(p);
                }
            }
            out = next;
        }
        out
    }

    /// The shape of block `idx`.
    pub fn block_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .zip(&self.chunks)
            .map(|(i, c)| c.get(*i).copied().unwrap_or(0))
            .collect()
    }

    /// The start offset of block `idx` along each axis.
    pub fn block_offset(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .zip(&self.chunks)
            .map(|(i, c)| c.iter().take(*i).sum())
            .collect()
    }

    /// What Dask knows of an array before computing it: shape, ndim, dtype, chunks,
    /// numblocks, npartitions, nbytes, chunksize (the largest block per axis), itemsize.
    pub fn describe(&self) -> Json {
        serde_json::json!({
            "shape": self.shape,
            "ndim": self.shape.len(),
            "dtype": self.dtype.name(),
            "chunks": self.chunks,
            "numblocks": self.numblocks(),
            "npartitions": self.nblocks(),
            "nbytes": self.nbytes(),
            "chunksize": self.chunks.iter().map(|c| c.iter().copied().max().unwrap_or(0)).collect::<Vec<_>>(),
            "itemsize": self.dtype.itemsize(),
            "size": self.size(),
        })
    }

    /// Refuses arrays larger than the memory budget, naming the shape.
    pub fn check_budget(&self, op: &str) -> Result<()> {
        let size = self.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
        match size.and_then(|s| s.checked_mul(self.dtype.itemsize())) {
            Some(b) if b <= MEMORY_BUDGET => Ok(()),
            _ => Err(Error::limit(format!(
                "{op}: an array of shape {} ({}) would need more than the {} GiB memory budget",
                fmt_shape(&self.shape),
                self.dtype.name(),
                MEMORY_BUDGET / (1024 * 1024 * 1024)
            ))),
        }
    }
}

pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub fn fmt_chunks(chunks: &[Vec<usize>]) -> String {
    let dims: Vec<String> = chunks.iter().map(|c| fmt_shape(c)).collect();
    if dims.len() == 1 {
        format!("({},)", dims.join(", "))
    } else {
        format!("({})", dims.join(", "))
    }
}

/// Normalises `chunks` as Dask does: an int (every axis), a list of ints (one per axis)
/// or a list of lists (explicit sizes, which must add up to the shape).
pub fn normalize_chunks(spec: Option<&Json>, shape: &[usize], op: &str) -> Result<Vec<Vec<usize>>> {
    let per_axis = |size: usize, c: usize| -> Vec<usize> {
        if size == 0 {
            return vec![0];
        }
        let c = c.max(1);
        let mut v = vec![c; size / c];
        if size % c != 0 {
            v.push(size % c);
        }
        v
    };
    match spec {
        None | Some(Json::Null) => Ok(shape.iter().map(|s| vec![*s]).collect()),
        Some(Json::String(s)) if s == "auto" => {
            // Aim at about 1 MiB blocks (128 Ki float64 elements), even per axis.
            let target = 131_072f64;
            let n = shape.len().max(1) as f64;
            let side = target.powf(1.0 / n).max(1.0) as usize;
            Ok(shape
                .iter()
                .map(|s| per_axis(*s, side.min((*s).max(1))))
                .collect())
        }
        Some(Json::Number(n)) => {
            let c = n
                .as_u64()
                .filter(|c| *c > 0)
                .ok_or_else(|| Error::shape(format!("{op}: chunks must be positive, not {n}")))?;
            Ok(shape.iter().map(|s| per_axis(*s, c as usize)).collect())
        }
        Some(Json::Array(items)) => {
            if items.len() != shape.len() {
                return Err(Error::shape(format!(
                    "{op}: chunks {} have {} axes but the shape {} has {}",
                    Json::Array(items.clone()),
                    items.len(),
                    fmt_shape(shape),
                    shape.len()
                )));
            }
            items
                .iter()
                .zip(shape)
                .enumerate()
                .map(|(axis, (item, size))| match item {
                    Json::Number(n) => {
                        let c = n.as_u64().filter(|c| *c > 0).ok_or_else(|| {
                            Error::shape(format!("{op}: chunks on axis {axis} must be positive, not {n}"))
                        })?;
                        Ok(per_axis(*size, c as usize))
                    }
                    Json::Array(sizes) => {
                        let v: Vec<usize> = sizes.iter().map(|x| x.as_u64().unwrap_or(0) as usize).collect();
                        let total: usize = v.iter().sum();
                        if total != *size {
                            return Err(Error::shape(format!(
                                "{op}: chunks {} on axis {axis} add up to {total}, but the shape {} has {size} there",
                                Json::Array(sizes.clone()),
                                fmt_shape(shape)
                            )));
                        }
                        Ok(v)
                    }
                    other => Err(Error::shape(format!("{op}: chunks on axis {axis} must be a number or a list, not {other}"))),
                })
                .collect()
        }
        Some(other) => Err(Error::shape(format!(
            "{op}: chunks must be a number, a list or \"auto\", not {other}"
        ))),
    }
}
