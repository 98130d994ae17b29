//! Arrays: n-d arrays split into blocks (chunks), as dask.array. This file builds graphs
//! (lowering of `array.*` plan ops); `kernels` holds the per-block functions and `meta`
//! what is known before computing (shape, chunks, dtype).
//!
//! Every op is a function from a node to a collection of tasks, one per output block (in C
//! order); reductions build trees with split_every; ops on several arrays unify chunks
//! through rechunk layers first. docs/array.md lists the ops.

pub mod kernels;
pub mod meta;

use crate::error::{Error, Result};
use crate::graph::{Key, LayerKind, TaskId};
use crate::lower::{Collection, Lowerer, NodeCtx};
use crate::ops::Op;
use crate::partition::{ArrayChunk, Partition};
use crate::registry::Kind;
use kernels::{ElemOp, RKind, Scalar};
use meta::{fmt_chunks, fmt_shape, normalize_chunks, ArrayMeta, DType};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where an argmin/argmax block sits: its offset, the whole shape, the axis (None: flat).
#[derive(Debug, Clone)]
pub struct ArgPlace {
    pub axis: Option<usize>,
    pub offset: Vec<usize>,
    pub full: Vec<usize>,
}

/// Per block input of a binary op, the axis order it is read in (None: as it is).
pub type OperandAxes = [Option<Vec<usize>>; 2];

/// An array kernel as task data.
#[derive(Debug, Clone)]
pub enum ArrayOp {
    Fill {
        shape: Vec<usize>,
        value: Scalar,
    },
    Arange {
        start: f64,
        step: f64,
        offset: usize,
        len: usize,
        dtype: DType,
    },
    Unary(ElemOp),
    /// Two blocks, or a block and a scalar (`scalar_left` when the scalar comes first).
    Binary {
        op: ElemOp,
        scalar: Option<Scalar>,
        scalar_left: bool,
        /// Axis orders the two block inputs are read in: a transpose folded in by the
        /// optimiser (`TaskGraph::fold_transposes`), so the transposed block is never built.
        read_permuted: Option<Box<OperandAxes>>,
    },
    /// One block reduced over `axes` (kept as length-1 axes). argmin/argmax also need where
    /// the block sits (`offset`) in the whole array (`full`) and their single `axis`.
    ReducePart {
        kind: RKind,
        axes: Vec<usize>,
        arg: Option<ArgPlace>,
    },
    /// Combines partials; at the last level finishes means, variances and arg indices and
    /// drops the reduced axes unless keepdims.
    ReduceCombine {
        kind: RKind,
        last: bool,
        axes: Vec<usize>,
        keepdims: bool,
        count: usize,
    },
    /// The block with its axes permuted.
    Transpose {
        axes: Vec<usize>,
    },
    /// The product of two 2-d blocks (one term of a blocked matmul).
    MatmulPart,
    /// The sum of the products of block pairs (inputs a0, b0, a1, b1, ...): the optimiser
    /// folds a matmul's terms into the sum that reads them (`TaskGraph::fold_matmul_sums`).
    MatmulSum,
    Astype(DType),
    Eye {
        shape: Vec<usize>,
        row0: usize,
        col0: usize,
        k: i64,
    },
    Random {
        shape: Vec<usize>,
        dist: kernels::Dist,
        seed: u64,
        block: u64,
    },
    Clip {
        lo: Option<Scalar>,
        hi: Option<Scalar>,
    },
    ExpandDims(usize),
    /// NumPy's where on one output block: inputs are the condition, then x and y unless
    /// they are numbers; each broadcast to the block's shape.
    Where {
        x: Option<Scalar>,
        y: Option<Scalar>,
        dtype: DType,
        shape: Vec<usize>,
    },
    /// The block's elements under a new shape (reshape, where blocks map one to one).
    Reshape(Vec<usize>),
    /// A per-element expression, its results converted to `dtype`.
    MapElements {
        func: Arc<crate::expr::Function>,
        dtype: DType,
    },
    /// Slicing and integer indexing of one block.
    Pick(Vec<kernels::AxisPick>),
    /// A block assembled from pieces of input blocks (rechunk).
    Gather {
        pieces: Vec<kernels::Piece>,
        shape: Vec<usize>,
        dtype: DType,
    },
}

impl ArrayOp {
    pub fn name(&self) -> String {
        match self {
            ArrayOp::Fill { .. } => "full".to_string(),
            ArrayOp::Arange { .. } => "arange".to_string(),
            ArrayOp::Unary(op) => op.name().to_string(),
            ArrayOp::Binary {
                op,
                read_permuted: Some(_),
                ..
            } => format!("transpose+{}", op.name()),
            ArrayOp::Binary { op, .. } => op.name().to_string(),
            ArrayOp::ReducePart { kind, .. } => format!("{}-chunk", kind.name()),
            ArrayOp::ReduceCombine { kind, .. } => format!("{}-aggregate", kind.name()),
            ArrayOp::Transpose { .. } => "transpose".to_string(),
            ArrayOp::MatmulPart => "matmul-part".to_string(),
            ArrayOp::MatmulSum => "matmul-part+sum".to_string(),
            ArrayOp::Gather { .. } => "rechunk".to_string(),
            ArrayOp::Pick(_) => "getitem".to_string(),
            ArrayOp::Astype(_) => "astype".to_string(),
            ArrayOp::Eye { .. } => "eye".to_string(),
            ArrayOp::Random { .. } => "random".to_string(),
            ArrayOp::Clip { .. } => "clip".to_string(),
            ArrayOp::ExpandDims(_) => "stack".to_string(),
            ArrayOp::Where { .. } => "where".to_string(),
            ArrayOp::Reshape(_) => "reshape".to_string(),
            ArrayOp::MapElements { .. } => "map_blocks".to_string(),
        }
    }

    pub fn takes_list(&self) -> bool {
        matches!(self, ArrayOp::ReduceCombine { .. })
    }

    /// Whether this is one term of a blocked matmul, which the optimiser may fold into the
    /// sum that reads it.
    pub fn is_matmul_part(&self) -> bool {
        matches!(self, ArrayOp::MatmulPart)
    }

    /// Whether this sums a blocked matmul's terms and nothing else: a combine of sums over
    /// no axes, which `MatmulSum` does in one step.
    pub fn sums_matmul_terms(&self) -> bool {
        matches!(self, ArrayOp::ReduceCombine { kind: RKind::Sum, last: _, axes, keepdims: true, count: 0 } if axes.is_empty())
    }

    /// The axis order of a transpose: a block op the optimiser may fold into its reader.
    pub fn transpose_axes(&self) -> Option<&[usize]> {
        match self {
            ArrayOp::Transpose { axes } => Some(axes),
            _ => None,
        }
    }

    /// Makes block input `slot` be read in axis order `axes`, when this op can read an
    /// input through a view (element-wise ops on two blocks); false if it cannot.
    pub fn read_input_permuted(&mut self, slot: usize, axes: &[usize]) -> bool {
        let ArrayOp::Binary {
            scalar: None,
            read_permuted,
            ..
        } = self
        else {
            return false;
        };
        let orders = read_permuted.get_or_insert_with(Default::default);
        match orders.get_mut(slot) {
            Some(order @ None) => {
                *order = Some(axes.to_vec());
                true
            }
            _ => false,
        }
    }

    /// Every op but the combine steps may be fused. Ops on two blocks can only start a
    /// chain (a fused task keeps their two dependencies), which lets `binary + sum-chunk`
    /// run as one task that never builds the element-wise block.
    pub fn fusable(&self) -> bool {
        !matches!(self, ArrayOp::ReduceCombine { .. })
    }

    /// Runs `self` and then `next` (consecutive ops of a fused chain) as one kernel when
    /// there is one for the pair: a binary op followed by a sum or mean over every axis
    /// adds up the element-wise results without building the block. `None` otherwise.
    pub fn execute_with_next(&self, next: &ArrayOp, inputs: &[Arc<Partition>]) -> Option<Result<Partition>> {
        let ArrayOp::Binary {
            op,
            scalar,
            scalar_left,
            read_permuted,
        } = self
        else {
            return None;
        };
        let ArrayOp::ReducePart {
            kind: RKind::Sum | RKind::Mean,
            axes,
            arg: None,
        } = next
        else {
            return None;
        };
        let chunk = |i: usize| match inputs.get(i).map(|p| &**p) {
            Some(Partition::Chunk(c)) => Some(c),
            _ => None,
        };
        let first = chunk(0)?;
        let scalar_block = scalar.map(kernels::scalar_chunk);
        let (a, b) = match (&scalar_block, scalar_left) {
            (None, _) => (first, chunk(1)?),
            (Some(s), true) => (s, first),
            (Some(s), false) => (first, s),
        };
        let ndim = a.shape().len().max(b.shape().len());
        if axes.len() != ndim || axes.iter().enumerate().any(|(i, ax)| i != *ax) {
            return None;
        }
        let total = match (read_permuted, scalar) {
            (Some(axes), None) => {
                let [pa, pb] = &**axes;
                kernels::binary_sum(*op, a, b, [pa.as_deref(), pb.as_deref()])?
            }
            _ => kernels::binary_sum(*op, a, b, [None, None])?,
        };
        Some(total.and_then(|t| {
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&vec![1; ndim]), vec![t])
                .map(|a| Partition::Chunk(ArrayChunk::F64(a)))
                .map_err(|e| Error::internal(format!("{}+sum-chunk: {e}", op.name())))
        }))
    }

    pub fn execute(&self, inputs: &[Arc<Partition>]) -> Result<Partition> {
        let name = self.name();
        let chunk = |i: usize| -> Result<&ArrayChunk> {
            match inputs.get(i).map(|p| &**p) {
                Some(Partition::Chunk(c)) => Ok(c),
                Some(other) => Err(Error::internal(format!(
                    "{name}: expected an array chunk, got {}",
                    other.kind_name()
                ))),
                None => Err(Error::internal(format!("{name}: missing input {i}"))),
            }
        };
        Ok(Partition::Chunk(match self {
            ArrayOp::Fill { shape, value } => kernels::fill(shape, *value),
            ArrayOp::Arange {
                start,
                step,
                offset,
                len,
                dtype,
            } => kernels::arange(*start, *step, *offset, *len, *dtype),
            ArrayOp::Unary(op) => kernels::unary(*op, chunk(0)?),
            ArrayOp::Binary {
                op,
                scalar: None,
                read_permuted,
                ..
            } => {
                let read = |i: usize| -> Result<std::borrow::Cow<'_, ArrayChunk>> {
                    let c = chunk(i)?;
                    match read_permuted
                        .as_ref()
                        .and_then(|r| r.get(i))
                        .and_then(|a| a.as_ref())
                    {
                        Some(axes) => kernels::transpose(c, axes).map(std::borrow::Cow::Owned),
                        None => Ok(std::borrow::Cow::Borrowed(c)),
                    }
                };
                let (a, b) = (read(0)?, read(1)?);
                kernels::binary(*op, &a, &b)?
            }
            ArrayOp::Binary {
                op,
                scalar: Some(s),
                scalar_left,
                ..
            } => {
                let sc = kernels::scalar_chunk(*s);
                if *scalar_left {
                    kernels::binary(*op, &sc, chunk(0)?)?
                } else {
                    kernels::binary(*op, chunk(0)?, &sc)?
                }
            }
            ArrayOp::ReducePart { kind, axes, arg } => match (kind, arg) {
                (RKind::Arg { max }, Some(place)) => {
                    kernels::arg_block(*max, chunk(0)?, place.axis, &place.offset, &place.full)?
                }
                _ => kernels::reduce_block(*kind, chunk(0)?, axes)?,
            },
            ArrayOp::ReduceCombine {
                kind,
                last,
                axes,
                keepdims,
                count,
            } => {
                let parts: Vec<&ArrayChunk> = (0..inputs.len()).map(chunk).collect::<Result<_>>()?;
                let mut out = kernels::combine(*kind, &parts)?;
                if *last {
                    if let RKind::Var { ddof, std } = kind {
                        out = kernels::finish_var(&out, *ddof, *std)?;
                    }
                    if let RKind::Arg { .. } = kind {
                        out = kernels::finish_arg(&out)?;
                    }
                    if *kind == RKind::Mean {
                        if *count == 0 {
                            return Err(Error::value("mean of an empty array"));
                        }
                        out = kernels::divide(&out, *count);
                    }
                    if !keepdims {
                        for ax in axes.iter().rev() {
                            out = kernels::squeeze(out, *ax);
                        }
                    }
                }
                out
            }
            ArrayOp::Transpose { axes } => kernels::transpose(chunk(0)?, axes)?,
            ArrayOp::MatmulPart => kernels::matmul(chunk(0)?, chunk(1)?)?,
            ArrayOp::MatmulSum => {
                let blocks: Vec<&ArrayChunk> = (0..inputs.len()).map(chunk).collect::<Result<_>>()?;
                if blocks.len() % 2 != 0 {
                    return Err(Error::internal(format!(
                        "matmul: {} blocks do not pair up",
                        blocks.len()
                    )));
                }
                let pairs: Vec<(&ArrayChunk, &ArrayChunk)> = blocks
                    .chunks_exact(2)
                    .filter_map(|p| p.first().zip(p.get(1)).map(|(a, b)| (*a, *b)))
                    .collect();
                kernels::matmul_sum(&pairs)?
            }
            ArrayOp::Pick(picks) => kernels::pick(chunk(0)?, picks)?,
            ArrayOp::Astype(d) => kernels::astype(chunk(0)?, *d),
            ArrayOp::Eye { shape, row0, col0, k } => kernels::eye_block(shape, *row0, *col0, *k),
            ArrayOp::Random {
                shape,
                dist,
                seed,
                block,
            } => kernels::random_block(shape, *dist, *seed, *block),
            ArrayOp::Clip { lo, hi } => kernels::clip(chunk(0)?, *lo, *hi),
            ArrayOp::ExpandDims(ax) => kernels::expand_dims(chunk(0)?, *ax),
            ArrayOp::Where { x, y, dtype, shape } => {
                let cond = chunk(0)?;
                let mut next = 1;
                let mut side = |s: &Option<Scalar>| -> Result<ArrayChunk> {
                    match s {
                        Some(v) => Ok(kernels::scalar_chunk(*v)),
                        None => {
                            next += 1;
                            chunk(next - 1).cloned()
                        }
                    }
                };
                let (xs, ys) = (side(x)?, side(y)?);
                kernels::where_block(cond, &xs, &ys, *dtype, shape)?
            }
            ArrayOp::Reshape(shape) => kernels::reshape(chunk(0)?, shape)?,
            ArrayOp::MapElements { func, dtype } => kernels::map_elements(chunk(0)?, func, *dtype)?,
            ArrayOp::Gather { pieces, shape, dtype } => {
                let blocks: Vec<&ArrayChunk> = (0..inputs.len()).map(chunk).collect::<Result<_>>()?;
                kernels::gather(&blocks, pieces, shape, *dtype)?
            }
        }))
    }
}

fn shape_arg(ctx: &NodeCtx, name: &str) -> Result<Vec<usize>> {
    match ctx.json_arg(name) {
        Some(serde_json::Value::Number(n)) => Ok(vec![n.as_u64().unwrap_or(0) as usize]),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_u64().map(|u| u as usize).ok_or_else(|| {
                    Error::shape(format!(
                        "node '{}' ({}): shape entries must be non-negative integers, not {v}",
                        ctx.node.id, ctx.node.op
                    ))
                })
            })
            .collect(),
        _ => Err(Error::plan(format!(
            "node '{}' ({}): shape must be an integer or a list of integers",
            ctx.node.id, ctx.node.op
        ))),
    }
}

fn dtype_arg(ctx: &NodeCtx) -> Result<Option<DType>> {
    ctx.str_arg("dtype")?.map(DType::parse).transpose()
}

fn op_label(ctx: &NodeCtx) -> String {
    format!("node '{}' ({})", ctx.node.id, ctx.node.op)
}

/// One task per block from a function of the block index.
fn blocks(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    meta: ArrayMeta,
    kind: LayerKind,
    mut make: impl FnMut(&[usize]) -> Result<(Vec<TaskId>, Op)>,
) -> Result<Collection> {
    meta.check_budget(&op_label(ctx))?;
    let name = ctx.layer_name(label);
    let layer = l.layer(&name, label, kind, None);
    let mut tasks = Vec::with_capacity(meta.nblocks());
    for idx in meta.block_indices() {
        let (deps, op) = make(&idx)?;
        let key = Key::new(
            &name,
            idx.iter()
                .map(|i| u32::try_from(*i).unwrap_or(u32::MAX))
                .collect(),
        );
        tasks.push(l.task(key, layer, deps, op)?);
    }
    let c = Collection {
        kind: Kind::Array,
        name,
        tasks,
        token: ctx.token.clone(),
    };
    l.set_array_meta(&c, meta);
    Ok(c)
}

pub fn lower_from_array(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let data = ctx
        .json_arg("data")
        .ok_or_else(|| Error::plan(format!("{}: missing data", op_label(ctx))))?;
    let shape = match ctx.json_arg("shape") {
        Some(_) => Some(shape_arg(ctx, "shape")?),
        None => None,
    };
    let (whole, shape) = kernels::from_values(data, shape.as_deref(), dtype_arg(ctx)?)
        .map_err(|e| e.context(op_label(ctx)))?;
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &shape, &op_label(ctx))?;
    let meta = ArrayMeta {
        shape,
        chunks,
        dtype: kernels::dtype_of(&whole),
    };
    let m2 = meta.clone();
    blocks(l, ctx, "array", meta, LayerKind::Input, |idx| {
        let piece = kernels::cut(&whole, &m2.block_offset(idx), &m2.block_shape(idx));
        Ok((Vec::new(), Op::Literal(Arc::new(Partition::Chunk(piece)))))
    })
}

fn lower_fill(l: &mut Lowerer, ctx: &NodeCtx, label: &str, value: Scalar) -> Result<Collection> {
    let shape = shape_arg(ctx, "shape")?;
    let dtype = dtype_arg(ctx)?.unwrap_or(DType::F64);
    let value = match (dtype, value) {
        (DType::F64, Scalar::I64(i)) => Scalar::F64(i as f64),
        (DType::F64, Scalar::Bool(b)) => Scalar::F64(f64::from(u8::from(b))),
        (DType::I64, Scalar::F64(f)) => Scalar::I64(f as i64),
        (DType::I64, Scalar::Bool(b)) => Scalar::I64(i64::from(b)),
        (DType::Bool, Scalar::F64(f)) => Scalar::Bool(f != 0.0),
        (DType::Bool, Scalar::I64(i)) => Scalar::Bool(i != 0),
        (_, v) => v,
    };
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &shape, &op_label(ctx))?;
    let meta = ArrayMeta { shape, chunks, dtype };
    let m2 = meta.clone();
    blocks(l, ctx, label, meta, LayerKind::Input, |idx| {
        Ok((
            Vec::new(),
            Op::Array(ArrayOp::Fill {
                shape: m2.block_shape(idx),
                value,
            }),
        ))
    })
}

pub fn lower_ones(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_fill(l, ctx, "ones", Scalar::F64(1.0))
}
pub fn lower_zeros(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    lower_fill(l, ctx, "zeros", Scalar::F64(0.0))
}
pub fn lower_full(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let v = ctx
        .json_arg("fill_value")
        .and_then(Scalar::from_json)
        .ok_or_else(|| {
            Error::plan(format!(
                "{}: fill_value must be a number or a bool",
                op_label(ctx)
            ))
        })?;
    let mut args_dtype = dtype_arg(ctx)?;
    if args_dtype.is_none() {
        args_dtype = Some(v.dtype());
    }
    let shape = shape_arg(ctx, "shape")?;
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &shape, &op_label(ctx))?;
    let meta = ArrayMeta {
        shape,
        chunks,
        dtype: args_dtype.unwrap_or(DType::F64),
    };
    let m2 = meta.clone();
    let value = match (meta.dtype, v) {
        (DType::F64, Scalar::I64(i)) => Scalar::F64(i as f64),
        (_, v) => v,
    };
    blocks(l, ctx, "full", meta, LayerKind::Input, |idx| {
        Ok((
            Vec::new(),
            Op::Array(ArrayOp::Fill {
                shape: m2.block_shape(idx),
                value,
            }),
        ))
    })
}

pub fn lower_arange(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let num = |k: &str, d: f64| ctx.json_arg(k).and_then(serde_json::Value::as_f64).unwrap_or(d);
    let all_int = ["start", "stop", "step"]
        .iter()
        .all(|k| ctx.json_arg(k).is_none_or(|v| v.is_i64()));
    let (start, stop, step) = (num("start", 0.0), num("stop", 0.0), num("step", 1.0));
    if step == 0.0 {
        return Err(Error::value(format!("{}: step must not be zero", op_label(ctx))));
    }
    let len = ((stop - start) / step).ceil().max(0.0);
    if len > 1e10 {
        return Err(Error::limit(format!(
            "{}: {len} elements are too many",
            op_label(ctx)
        )));
    }
    let len = len as usize;
    let dtype = dtype_arg(ctx)?.unwrap_or(if all_int { DType::I64 } else { DType::F64 });
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &[len], &op_label(ctx))?;
    let meta = ArrayMeta {
        shape: vec![len],
        chunks,
        dtype,
    };
    let m2 = meta.clone();
    blocks(l, ctx, "arange", meta, LayerKind::Input, |idx| {
        let offset = m2.block_offset(idx).first().copied().unwrap_or(0);
        let n = m2.block_shape(idx).first().copied().unwrap_or(0);
        Ok((
            Vec::new(),
            Op::Array(ArrayOp::Arange {
                start,
                step,
                offset,
                len: n,
                dtype,
            }),
        ))
    })
}

/// Element-wise: one array (unary, or with a scalar `other`) or two arrays of equal shape
/// and chunks.
pub fn lower_elemwise(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let op_name = ctx.str_arg("op")?.unwrap_or_default();
    let op = ElemOp::parse(op_name)
        .ok_or_else(|| Error::plan(format!("{}: unknown element-wise op '{op_name}'", op_label(ctx))))?;
    let a = ctx.input(0)?.clone();
    let ma = l.array_meta(&a)?;
    let label = op.name();
    if op.is_unary() {
        let meta = ArrayMeta {
            dtype: op.result_dtype(ma.dtype, None),
            ..(*ma).clone()
        };
        return blocks(l, ctx, label, meta, LayerKind::Blockwise, |idx| {
            Ok((vec![task_at(&a, &ma, idx)?], Op::Array(ArrayOp::Unary(op))))
        });
    }
    if let Some(b) = ctx.inputs.get(1).cloned() {
        let mb = l.array_meta(&b)?;
        return binary_arrays(l, ctx, op, (&a, &ma), (&b, &mb));
    }
    let s = ctx.json_arg("other").and_then(Scalar::from_json).ok_or_else(|| {
        Error::plan(format!(
            "{}: a binary op needs a second array or a number 'other'",
            op_label(ctx)
        ))
    })?;
    let scalar_left = ctx.bool_arg("reverse", false)?;
    let meta = ArrayMeta {
        dtype: op.result_dtype(ma.dtype, Some(s.dtype())),
        ..(*ma).clone()
    };
    let bin = ArrayOp::Binary {
        op,
        scalar: Some(s),
        scalar_left,
        read_permuted: None,
    };
    blocks(l, ctx, label, meta, LayerKind::Blockwise, |idx| {
        Ok((vec![task_at(&a, &ma, idx)?], Op::Array(bin.clone())))
    })
}

/// The task of block `idx` of an array collection (tasks are in C order).
fn task_at(c: &Collection, m: &ArrayMeta, idx: &[usize]) -> Result<TaskId> {
    let nb = m.numblocks();
    let mut flat = 0usize;
    for (i, n) in idx.iter().zip(&nb) {
        flat = flat * n + i;
    }
    c.tasks
        .get(flat)
        .copied()
        .ok_or_else(|| Error::internal(format!("no task for block {idx:?}")))
}

/// The `axis` argument of a reduction: null (every axis), an int or a list of ints, each
/// possibly negative; returned sorted. Names the shape when an axis is out of range.
fn reduce_axes(ctx: &NodeCtx, shape: &[usize], single_only: bool) -> Result<Vec<usize>> {
    let nd = shape.len();
    let raw: Vec<i64> = match ctx.json_arg("axis") {
        None | Some(serde_json::Value::Null) => return Ok((0..nd).collect()),
        Some(serde_json::Value::Array(items)) if !single_only => items
            .iter()
            .map(|v| {
                v.as_i64().ok_or_else(|| {
                    Error::plan(format!(
                        "{}: axis must be null, an integer or a list of integers",
                        op_label(ctx)
                    ))
                })
            })
            .collect::<Result<_>>()?,
        Some(v) => vec![v.as_i64().ok_or_else(|| {
            Error::plan(format!(
                "{}: axis must be {}",
                op_label(ctx),
                if single_only {
                    "null or an integer (one axis, as NumPy)"
                } else {
                    "null, an integer or a list of integers"
                }
            ))
        })?],
    };
    let mut axes = Vec::with_capacity(raw.len());
    for ax in raw {
        let norm = if ax < 0 { ax + nd as i64 } else { ax };
        if norm < 0 || norm >= nd as i64 {
            return Err(Error::shape(format!(
                "{}: axis {ax} is out of bounds for an array of {} dimension{} (shape {})",
                op_label(ctx),
                nd,
                if nd == 1 { "" } else { "s" },
                fmt_shape(shape)
            )));
        }
        if axes.contains(&(norm as usize)) {
            return Err(Error::value(format!(
                "{}: duplicate value in 'axis' ({ax})",
                op_label(ctx)
            )));
        }
        axes.push(norm as usize);
    }
    axes.sort_unstable();
    Ok(axes)
}

/// Reductions as tree reductions: a `-chunk` task per block, then `-aggregate` levels of
/// at most split_every partials for each block position outside the reduced axes.
pub fn lower_reduction(l: &mut Lowerer, ctx: &NodeCtx, kind: RKind) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let keepdims = ctx.bool_arg("keepdims", false)?;
    let split_every = ctx
        .usize_arg("split_every")?
        .unwrap_or(crate::reduction::DEFAULT_SPLIT_EVERY)
        .max(2);
    let is_arg = matches!(kind, RKind::Arg { .. });
    let axes = reduce_axes(ctx, &m.shape, is_arg)?;
    let arg_axis = match ctx.json_arg("axis") {
        Some(v) if is_arg && !v.is_null() => axes.first().copied(),
        _ => None,
    };
    let label = kind.name();
    let part_name = format!("{label}-chunk-{}", ctx.token);
    let part_layer = l.layer(
        &part_name,
        &format!("{label}-chunk"),
        LayerKind::ReductionPart,
        Some(0),
    );
    // Groups of partial tasks to combine: by the block index without the reduced axes.
    let outside = |idx: &[usize]| -> Vec<usize> {
        idx.iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, v)| *v)
            .collect()
    };
    let mut groups: BTreeMap<Vec<usize>, Vec<TaskId>> = BTreeMap::new();
    for idx in m.block_indices() {
        let key = Key::new(&part_name, idx.iter().map(|i| *i as u32).collect());
        let arg = is_arg.then(|| ArgPlace {
            axis: arg_axis,
            offset: m.block_offset(&idx),
            full: m.shape.clone(),
        });
        let t = l.task(
            key,
            part_layer,
            vec![task_at(&a, &m, &idx)?],
            Op::Array(ArrayOp::ReducePart {
                kind,
                axes: axes.clone(),
                arg,
            }),
        )?;
        groups.entry(outside(&idx)).or_default().push(t);
    }
    let count: usize = axes
        .iter()
        .map(|ax| m.shape.get(*ax).copied().unwrap_or(0))
        .product();
    let agg_name = format!("{label}-aggregate-{}", ctx.token);
    let mut depth = 0u32;
    let mut level: BTreeMap<Vec<usize>, Vec<TaskId>> = groups;
    while level.values().any(|v| v.len() > split_every) {
        let name = format!("{agg_name}{depth}");
        let layer = l.layer(
            &name,
            &format!("{label}-aggregate"),
            LayerKind::ReductionAggregate,
            Some(depth + 1),
        );
        let mut next = BTreeMap::new();
        for (g, tasks) in &level {
            let mut out = Vec::new();
            for (j, chunk) in tasks.chunks(split_every).enumerate() {
                let mut index: Vec<u32> = g.iter().map(|v| *v as u32).collect();
                index.push(j as u32);
                let op = ArrayOp::ReduceCombine {
                    kind,
                    last: false,
                    axes: axes.clone(),
                    keepdims: true,
                    count,
                };
                out.push(l.task(Key::new(&name, index), layer, chunk.to_vec(), Op::Array(op))?);
            }
            next.insert(g.clone(), out);
        }
        level = next;
        depth += 1;
    }
    let layer = l.layer(
        &agg_name,
        &format!("{label}-aggregate"),
        LayerKind::ReductionAggregate,
        Some(depth + 1),
    );
    let mut tasks = Vec::new();
    for (g, deps) in &level {
        let mut index: Vec<u32> = g.iter().map(|v| *v as u32).collect();
        if keepdims {
            for ax in &axes {
                index.insert((*ax).min(index.len()), 0);
            }
        }
        let op = ArrayOp::ReduceCombine {
            kind,
            last: true,
            axes: axes.clone(),
            keepdims,
            count,
        };
        tasks.push(l.task(Key::new(&agg_name, index), layer, deps.clone(), Op::Array(op))?);
    }
    let mut shape = Vec::new();
    let mut chunks = Vec::new();
    for (i, (s, c)) in m.shape.iter().zip(&m.chunks).enumerate() {
        if !axes.contains(&i) {
            shape.push(*s);
            chunks.push(c.clone());
        } else if keepdims {
            shape.push(1);
            chunks.push(vec![1]);
        }
    }
    let c = Collection {
        kind: Kind::Array,
        name: agg_name,
        tasks,
        token: ctx.token.clone(),
    };
    l.set_array_meta(
        &c,
        ArrayMeta {
            shape,
            chunks,
            dtype: kind.result_dtype(m.dtype),
        },
    );
    Ok(c)
}

macro_rules! reductions {
    ($($f:ident => $k:expr),* $(,)?) => {
        $(pub fn $f(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
            lower_reduction(l, ctx, $k)
        })*
    };
}

pub fn lower_var(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let ddof = ctx.usize_arg("ddof")?.unwrap_or(0) as u32;
    lower_reduction(l, ctx, RKind::Var { ddof, std: false })
}

pub fn lower_std(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let ddof = ctx.usize_arg("ddof")?.unwrap_or(0) as u32;
    lower_reduction(l, ctx, RKind::Var { ddof, std: true })
}

reductions! {
    lower_sum => RKind::Sum,
    lower_prod => RKind::Prod,
    lower_min => RKind::Min,
    lower_max => RKind::Max,
    lower_mean => RKind::Mean,
    lower_any => RKind::Any,
    lower_all => RKind::All,
    lower_argmin => RKind::Arg { max: false },
    lower_argmax => RKind::Arg { max: true },
}

/// `transpose(axes)` (default: reversed): each block transposed, the block grid permuted.
pub fn lower_transpose(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let nd = m.shape.len();
    let axes: Vec<usize> = match ctx.json_arg("axes") {
        None => (0..nd).rev().collect(),
        Some(v) => {
            let list: Vec<usize> = v
                .as_array()
                .map(|l| l.iter().filter_map(|x| x.as_u64().map(|u| u as usize)).collect())
                .unwrap_or_default();
            let mut sorted = list.clone();
            sorted.sort_unstable();
            if sorted != (0..nd).collect::<Vec<_>>() {
                return Err(Error::shape(format!(
                    "{}: axes {v} are not a permutation of the {nd} axes of shape {}",
                    op_label(ctx),
                    fmt_shape(&m.shape)
                )));
            }
            list
        }
    };
    let meta = ArrayMeta {
        shape: axes.iter().filter_map(|i| m.shape.get(*i).copied()).collect(),
        chunks: axes.iter().filter_map(|i| m.chunks.get(*i).cloned()).collect(),
        dtype: m.dtype,
    };
    let op = ArrayOp::Transpose { axes: axes.clone() };
    blocks(l, ctx, "transpose", meta, LayerKind::Blockwise, |idx| {
        // Output block idx comes from input block with idx[k] on axis axes[k].
        let mut src = vec![0; nd];
        for (k, ax) in axes.iter().enumerate() {
            if let (Some(slot), Some(v)) = (src.get_mut(*ax), idx.get(k)) {
                *slot = *v;
            }
        }
        Ok((vec![task_at(&a, &m, &src)?], Op::Array(op.clone())))
    })
}

/// `matmul` of two 2-d arrays as a blocked product: for each output block (i, j), one
/// partial product per inner block k, summed by a tree reduction over k.
pub fn lower_matmul(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let b = ctx.input(1)?.clone();
    let (ma, mb) = (l.array_meta(&a)?, l.array_meta(&b)?);
    if ma.shape.len() != 2 || mb.shape.len() != 2 {
        return Err(Error::shape(format!(
            "{}: matmul takes two 2-d arrays, not shapes {} and {}",
            op_label(ctx),
            fmt_shape(&ma.shape),
            fmt_shape(&mb.shape)
        )));
    }
    let (n, k1, k2, p) = match (ma.shape.as_slice(), mb.shape.as_slice()) {
        ([n, k1], [k2, p]) => (*n, *k1, *k2, *p),
        _ => return Err(Error::internal("matmul: shapes are not 2-d")),
    };
    let (Some(a_rows), Some(a_inner), Some(b_inner), Some(b_cols)) = (
        ma.chunks.first(),
        ma.chunks.get(1),
        mb.chunks.first(),
        mb.chunks.get(1),
    ) else {
        return Err(Error::internal("matmul: chunks are not 2-d"));
    };
    if k1 != k2 {
        return Err(Error::shape(format!(
            "{}: matmul: the inner dimensions differ: shapes {} and {} ({k1} != {k2})",
            op_label(ctx),
            fmt_shape(&ma.shape),
            fmt_shape(&mb.shape)
        )));
    }
    if a_inner != b_inner {
        return Err(Error::shape(format!(
            "{}: matmul: the inner chunks differ: {} and {}; rechunk one array first",
            op_label(ctx),
            fmt_chunks(&ma.chunks),
            fmt_chunks(&mb.chunks)
        )));
    }
    let dtype = if ma.dtype == DType::F64 || mb.dtype == DType::F64 {
        DType::F64
    } else {
        DType::I64
    };
    let meta = ArrayMeta {
        shape: vec![n, p],
        chunks: vec![a_rows.clone(), b_cols.clone()],
        dtype,
    };
    meta.check_budget(&op_label(ctx))?;
    let nk = a_inner.len();
    let split_every = ctx
        .usize_arg("split_every")?
        .unwrap_or(crate::reduction::DEFAULT_SPLIT_EVERY)
        .max(2);
    let part_name = ctx.layer_name("matmul-part");
    let part_layer = l.layer(&part_name, "matmul-part", LayerKind::ReductionPart, Some(0));
    let sum_name = ctx.layer_name("matmul-sum");
    let mut out = Vec::new();
    let mut levels: Vec<(Vec<usize>, Vec<TaskId>)> = Vec::new();
    for idx in meta.block_indices() {
        let (i, j) = match idx.as_slice() {
            [i, j] => (*i, *j),
            _ => continue,
        };
        let mut parts = Vec::with_capacity(nk);
        for k in 0..nk {
            let deps = vec![task_at(&a, &ma, &[i, k])?, task_at(&b, &mb, &[k, j])?];
            parts.push(l.task(
                Key::new(&part_name, vec![i as u32, j as u32, k as u32]),
                part_layer,
                deps,
                Op::Array(ArrayOp::MatmulPart),
            )?);
        }
        levels.push((idx, parts));
    }
    let mut depth = 0u32;
    while levels.iter().any(|(_, v)| v.len() > split_every) {
        let name = format!("{sum_name}{depth}");
        let layer = l.layer(
            &name,
            "matmul-sum",
            LayerKind::ReductionAggregate,
            Some(depth + 1),
        );
        for (idx, tasks) in levels.iter_mut() {
            let mut next = Vec::new();
            for (g, group) in tasks.chunks(split_every).enumerate() {
                let mut index: Vec<u32> = idx.iter().map(|v| *v as u32).collect();
                index.push(g as u32);
                let key = Key::new(&name, index);
                let op = ArrayOp::ReduceCombine {
                    kind: RKind::Sum,
                    last: false,
                    axes: Vec::new(),
                    keepdims: true,
                    count: 0,
                };
                next.push(l.task(key, layer, group.to_vec(), Op::Array(op))?);
            }
            *tasks = next;
        }
        depth += 1;
    }
    let layer = l.layer(
        &sum_name,
        "matmul-sum",
        LayerKind::ReductionAggregate,
        Some(depth + 1),
    );
    for (idx, tasks) in &levels {
        let op = ArrayOp::ReduceCombine {
            kind: RKind::Sum,
            last: true,
            axes: Vec::new(),
            keepdims: true,
            count: 0,
        };
        let index: Vec<u32> = idx.iter().map(|v| *v as u32).collect();
        out.push(l.task(Key::new(&sum_name, index), layer, tasks.clone(), Op::Array(op))?);
    }
    let c = Collection {
        kind: Kind::Array,
        name: sum_name,
        tasks: out,
        token: ctx.token.clone(),
    };
    l.set_array_meta(&c, meta);
    Ok(c)
}

/// Cumulative block boundaries of one axis's chunks.
fn bounds(chunks: &[usize]) -> Vec<usize> {
    let mut out = vec![0];
    for c in chunks {
        out.push(out.last().copied().unwrap_or(0) + c);
    }
    out
}

/// The common refinement of two chunkings of one axis (Dask's unify_chunks).
fn refine(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut cuts: Vec<usize> = bounds(a).into_iter().chain(bounds(b)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .filter_map(|w| match w {
            [x, y] if y > x => Some(y - x),
            _ => None,
        })
        .collect()
}

type Segment = (usize, usize, usize, usize);

/// A rechunk layer: each new block gathers the pieces of the old blocks it overlaps.
fn rechunk_to(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    label: &str,
    c: &Collection,
    m: &ArrayMeta,
    chunks: Vec<Vec<usize>>,
) -> Result<(Collection, Arc<ArrayMeta>)> {
    if chunks == m.chunks {
        return Ok((c.clone(), Arc::new(m.clone())));
    }
    let meta = ArrayMeta {
        shape: m.shape.clone(),
        chunks,
        dtype: m.dtype,
    };
    let old_bounds: Vec<Vec<usize>> = m.chunks.iter().map(|c| bounds(c)).collect();
    let new_meta = meta.clone();
    let collection = blocks(l, ctx, label, meta, LayerKind::Blockwise, |idx| {
        let off = new_meta.block_offset(idx);
        let shape = new_meta.block_shape(idx);
        // Per axis: the old blocks overlapping [off, off + len): (block, from, to, at).
        let mut per_axis: Vec<Vec<Segment>> = Vec::new();
        for (ax, (o, n)) in off.iter().zip(&shape).enumerate() {
            let bs = old_bounds.get(ax).cloned().unwrap_or_default();
            let mut segs = Vec::new();
            for (bi, w) in bs.windows(2).enumerate() {
                if let [lo, hi] = w {
                    let (s, e) = ((*lo).max(*o), (*hi).min(o + n));
                    if s < e {
                        segs.push((bi, s - lo, e - lo, s - o));
                    }
                }
            }
            per_axis.push(segs);
        }
        let mut combos: Vec<Vec<Segment>> = vec![Vec::new()];
        for segs in &per_axis {
            let mut next = Vec::new();
            for prefix in &combos {
                for seg in segs {
                    let mut p = prefix.clone();
                    p.push(*seg);
                    next.push(p);
                }
            }
            combos = next;
        }
        let mut deps: Vec<TaskId> = Vec::new();
        let mut pieces = Vec::new();
        for combo in combos {
            let src_idx: Vec<usize> = combo.iter().map(|s| s.0).collect();
            let task = task_at(c, m, &src_idx)?;
            let input = match deps.iter().position(|d| *d == task) {
                Some(i) => i,
                None => {
                    deps.push(task);
                    deps.len() - 1
                }
            };
            pieces.push(kernels::Piece {
                input,
                src: combo.iter().map(|s| (s.1, s.2)).collect(),
                dst: combo.iter().map(|s| s.3).collect(),
            });
        }
        Ok((
            deps,
            Op::Array(ArrayOp::Gather {
                pieces,
                shape,
                dtype: m.dtype,
            }),
        ))
    })?;
    let meta = l.array_meta(&collection)?;
    Ok((collection, meta))
}

/// `rechunk(chunks)`: the same array in new blocks; each new block reads the old blocks it
/// overlaps, so the layer shows how blocks split and join.
pub fn lower_rechunk(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &m.shape, &op_label(ctx))?;
    if chunks == m.chunks {
        // The same blocks: still a layer of its own, so the node has tasks of its own.
        let meta = (*m).clone();
        return blocks(l, ctx, "rechunk", meta, LayerKind::Blockwise, |idx| {
            let shape = m.block_shape(idx);
            let piece = kernels::Piece {
                input: 0,
                src: shape.iter().map(|n| (0, *n)).collect(),
                dst: vec![0; shape.len()],
            };
            Ok((
                vec![task_at(&a, &m, idx)?],
                Op::Array(ArrayOp::Gather {
                    pieces: vec![piece],
                    shape,
                    dtype: m.dtype,
                }),
            ))
        });
    }
    let (c, _) = rechunk_to(l, ctx, "rechunk", &a, &m, chunks)?;
    Ok(c)
}

/// Operands broadcast to one shape, each rechunked so that its blocks line up with the
/// output blocks (Dask's unify_chunks).
struct Aligned {
    shape: Vec<usize>,
    chunks: Vec<Vec<usize>>,
    inputs: Vec<(Collection, Arc<ArrayMeta>)>,
}

/// The operand's own axis for output axis `i` of an `n`-d result of `shape`, or None where
/// the operand lacks the axis or stretches a length-1 axis.
fn operand_axis(m: &ArrayMeta, shape: &[usize], i: usize) -> Option<usize> {
    let pad = shape.len().checked_sub(m.shape.len())?;
    let ax = i.checked_sub(pad)?;
    match (m.shape.get(ax), shape.get(i)) {
        (Some(1), Some(s)) if *s != 1 => None,
        (Some(_), _) => Some(ax),
        _ => None,
    }
}

/// The block of an aligned operand that output block `idx` reads.
fn operand_block(m: &ArrayMeta, shape: &[usize], idx: &[usize]) -> Vec<usize> {
    let pad = shape.len().saturating_sub(m.shape.len());
    (0..m.shape.len())
        .map(|ax| match operand_axis(m, shape, ax + pad) {
            Some(_) => idx.get(ax + pad).copied().unwrap_or(0),
            None => 0,
        })
        .collect()
}

/// Broadcasts and aligns array operands; `labels` name each operand's rechunk layer.
fn align(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    operands: &[(&Collection, &Arc<ArrayMeta>)],
    labels: &[&str],
) -> Result<Aligned> {
    let mut shape: Vec<usize> = Vec::new();
    for (_, m) in operands {
        shape = kernels::broadcast_shapes(&shape, &m.shape).ok_or_else(|| {
            let shapes: Vec<String> = operands.iter().map(|(_, m)| fmt_shape(&m.shape)).collect();
            Error::shape(format!(
                "{}: operands could not be broadcast together with shapes {}",
                op_label(ctx),
                shapes.join(" ")
            ))
        })?;
    }
    let n = shape.len();
    let mut chunks: Vec<Vec<usize>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut axis_chunks: Option<Vec<usize>> = None;
        for (_, m) in operands {
            if let Some(c) = operand_axis(m, &shape, i).and_then(|ax| m.chunks.get(ax)) {
                axis_chunks = Some(match axis_chunks {
                    Some(prev) => refine(&prev, c),
                    None => c.clone(),
                });
            }
        }
        chunks.push(axis_chunks.unwrap_or_else(|| vec![shape.get(i).copied().unwrap_or(1)]));
    }
    let mut inputs = Vec::with_capacity(operands.len());
    for (k, (c, m)) in operands.iter().enumerate() {
        let pad = n - m.shape.len();
        let target: Vec<Vec<usize>> = (0..m.shape.len())
            .map(|ax| match operand_axis(m, &shape, ax + pad) {
                Some(_) => chunks.get(ax + pad).cloned().unwrap_or_default(),
                None => m.chunks.get(ax).cloned().unwrap_or_default(),
            })
            .collect();
        let label = labels.get(k).copied().unwrap_or("rechunk");
        inputs.push(rechunk_to(l, ctx, label, c, m, target)?);
    }
    Ok(Aligned {
        shape,
        chunks,
        inputs,
    })
}

/// Two arrays element-wise with NumPy broadcasting; chunks are unified first: each operand
/// is rechunked to the common refinement of the block boundaries where they differ.
fn binary_arrays(
    l: &mut Lowerer,
    ctx: &NodeCtx,
    op: ElemOp,
    (a, ma): (&Collection, &Arc<ArrayMeta>),
    (b, mb): (&Collection, &Arc<ArrayMeta>),
) -> Result<Collection> {
    let al = align(l, ctx, &[(a, ma), (b, mb)], &["rechunk-left", "rechunk-right"])?;
    let (Some((a, ma)), Some((b, mb))) = (al.inputs.first().cloned(), al.inputs.get(1).cloned()) else {
        return Err(Error::internal("binary: operands lost in alignment"));
    };
    let meta = ArrayMeta {
        shape: al.shape.clone(),
        chunks: al.chunks,
        dtype: op.result_dtype(ma.dtype, Some(mb.dtype)),
    };
    let bin = ArrayOp::Binary {
        op,
        scalar: None,
        scalar_left: false,
        read_permuted: None,
    };
    let shape = al.shape;
    blocks(l, ctx, op.name(), meta, LayerKind::Blockwise, |idx| {
        let deps = vec![
            task_at(&a, &ma, &operand_block(&ma, &shape, idx))?,
            task_at(&b, &mb, &operand_block(&mb, &shape, idx))?,
        ];
        Ok((deps, Op::Array(bin.clone())))
    })
}

/// `where(condition, x, y)`: x where the condition holds, else y; x and y are arrays (the
/// node's second and third inputs) or numbers (args `x`, `y`). All broadcast together.
pub fn lower_where(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let scalar = |name: &str| -> Result<Option<Scalar>> {
        match ctx.json_arg(name) {
            None => Ok(None),
            Some(v) => Scalar::from_json(v).map(Some).ok_or_else(|| {
                Error::plan(format!("{}: '{name}' must be a number or a bool", op_label(ctx)))
            }),
        }
    };
    let (sx, sy) = (scalar("x")?, scalar("y")?);
    let wanted = 1 + usize::from(sx.is_none()) + usize::from(sy.is_none());
    if ctx.inputs.len() != wanted {
        return Err(Error::plan(format!(
            "{}: takes the condition and, for each of x and y not given as a number, an array: \
             expected {wanted} inputs, got {}",
            op_label(ctx),
            ctx.inputs.len()
        )));
    }
    let mut operands = Vec::new();
    for c in &ctx.inputs {
        let m = l.array_meta(c)?;
        operands.push((c.clone(), m));
    }
    let refs: Vec<(&Collection, &Arc<ArrayMeta>)> = operands.iter().map(|(c, m)| (c, m)).collect();
    let al = align(l, ctx, &refs, &["rechunk-condition", "rechunk-x", "rechunk-y"])?;
    let mut dtypes = al.inputs.iter().skip(1).map(|(_, m)| m.dtype);
    let dx = sx
        .map(Scalar::dtype)
        .or_else(|| dtypes.next())
        .unwrap_or(DType::F64);
    let dy = sy
        .map(Scalar::dtype)
        .or_else(|| dtypes.next())
        .unwrap_or(DType::F64);
    let dtype = match (dx, dy) {
        (DType::F64, _) | (_, DType::F64) => DType::F64,
        (DType::I64, _) | (_, DType::I64) => DType::I64,
        _ => DType::Bool,
    };
    let meta = ArrayMeta {
        shape: al.shape.clone(),
        chunks: al.chunks,
        dtype,
    };
    let (shape, inputs) = (al.shape, al.inputs);
    let new_meta = meta.clone();
    blocks(l, ctx, "where", meta, LayerKind::Blockwise, |idx| {
        let deps = inputs
            .iter()
            .map(|(c, m)| task_at(c, m, &operand_block(m, &shape, idx)))
            .collect::<Result<Vec<_>>>()?;
        let op = ArrayOp::Where {
            x: sx,
            y: sy,
            dtype,
            shape: new_meta.block_shape(idx),
        };
        Ok((deps, Op::Array(op)))
    })
}

/// One axis of an index: the blocks it reads, in output order, with what each keeps.
struct AxisPlan {
    /// (input block, pick) per output block along this axis; one entry for an integer.
    groups: Vec<(usize, kernels::AxisPick)>,
    /// False for an integer index (the axis is dropped).
    keeps_axis: bool,
}

fn plan_axis(
    spec: Option<&serde_json::Value>,
    size: usize,
    chunks: &[usize],
    axis: usize,
    label: &str,
) -> Result<AxisPlan> {
    let starts = bounds(chunks);
    let block_of = |i: usize| -> (usize, usize) {
        let b = starts
            .windows(2)
            .position(|w| matches!(w, [lo, hi] if i >= *lo && i < *hi))
            .unwrap_or(0);
        (b, i - starts.get(b).copied().unwrap_or(0))
    };
    let n = size as i64;
    match spec {
        Some(serde_json::Value::Number(num)) => {
            let i = num.as_i64().ok_or_else(|| {
                Error::value(format!("{label}: index {num} on axis {axis} is not an integer"))
            })?;
            let j = if i < 0 { i + n } else { i };
            if j < 0 || j >= n {
                return Err(Error::value(format!(
                    "{label}: index {i} is out of bounds for axis {axis} with size {size}"
                )));
            }
            let (b, local) = block_of(j as usize);
            Ok(AxisPlan {
                groups: vec![(b, kernels::AxisPick::One(local))],
                keeps_axis: false,
            })
        }
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Object(_)) => {
            let field = |k: &str| spec.and_then(|v| v.get(k)).and_then(serde_json::Value::as_i64);
            let step = field("step").unwrap_or(1);
            if step == 0 {
                return Err(Error::value(format!(
                    "{label}: slice step cannot be zero (axis {axis})"
                )));
            }
            // A step longer than the axis keeps one element, as any such step does; clamping
            // it keeps the arithmetic below from overflowing.
            let step = step.clamp(-(n + 1), n + 1);
            // Python's slice.indices(len).
            let clamp = |v: Option<i64>, default: i64, lo: i64, hi: i64| match v {
                None => default,
                Some(x) if x < 0 => (x + n).max(lo),
                Some(x) => x.min(hi),
            };
            let (start, stop) = if step > 0 {
                (clamp(field("start"), 0, 0, n), clamp(field("stop"), n, 0, n))
            } else {
                (
                    clamp(field("start"), n - 1, -1, n - 1),
                    clamp(field("stop"), -1, -1, n - 1),
                )
            };
            // Python's len(range(start, stop, step)).
            let total = if step > 0 {
                (stop - start).max(0).div_euclid(step) + i64::from((stop - start).max(0) % step != 0)
            } else {
                (start - stop).max(0).div_euclid(-step) + i64::from((start - stop).max(0) % -step != 0)
            };
            // One run per block the slice crosses: as many steps as stay inside the block.
            let mut groups: Vec<(usize, kernels::AxisPick)> = Vec::new();
            let (mut i, mut left) = (start, total);
            while left > 0 {
                let (b, local) = block_of(i as usize);
                let lo = starts.get(b).copied().unwrap_or(0) as i64;
                let hi = starts.get(b + 1).copied().unwrap_or(size) as i64;
                let room = if step > 0 {
                    (hi - 1 - i) / step + 1
                } else {
                    (i - lo) / -step + 1
                };
                let len = room.clamp(1, left);
                groups.push((
                    b,
                    kernels::AxisPick::Run {
                        start: local,
                        step: step as isize,
                        len: len as usize,
                    },
                ));
                i += step * len;
                left -= len;
            }
            if groups.is_empty() {
                groups.push((
                    0,
                    kernels::AxisPick::Run {
                        start: 0,
                        step: 1,
                        len: 0,
                    },
                ));
            }
            Ok(AxisPlan {
                groups,
                keeps_axis: true,
            })
        }
        Some(other) => Err(Error::value(format!(
            "{label}: index {other} on axis {axis} must be an integer, null or {{start, stop, step}}"
        ))),
    }
}

/// The `index` argument of getitem and blocks: one entry per axis.
fn index_arg(ctx: &NodeCtx) -> Vec<serde_json::Value> {
    ctx.json_arg("index")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// `getitem(index)`: integers and slices (with steps and negative indices) per axis. Each
/// output block reads exactly one input block, so blocks the index does not touch are not
/// in the graph after culling.
pub fn lower_getitem(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let label = op_label(ctx);
    let index = index_arg(ctx);
    if index.len() > m.shape.len() {
        return Err(Error::value(format!(
            "{label}: too many indices ({}) for an array of shape {}",
            index.len(),
            fmt_shape(&m.shape)
        )));
    }
    let plans: Vec<AxisPlan> = (0..m.shape.len())
        .map(|ax| {
            plan_axis(
                index.get(ax),
                m.shape.get(ax).copied().unwrap_or(0),
                m.chunks.get(ax).map(Vec::as_slice).unwrap_or(&[]),
                ax,
                &label,
            )
        })
        .collect::<Result<_>>()?;
    let mut shape = Vec::new();
    let mut chunks = Vec::new();
    for p in &plans {
        if p.keeps_axis {
            let sizes: Vec<usize> = p.groups.iter().map(|(_, pick)| pick.kept()).collect();
            shape.push(sizes.iter().sum());
            chunks.push(sizes);
        }
    }
    let meta = ArrayMeta {
        shape,
        chunks,
        dtype: m.dtype,
    };
    // Output blocks: every combination of the groups of each axis (integers have one).
    let kept: Vec<usize> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| p.keeps_axis)
        .map(|(i, _)| i)
        .collect();
    blocks(l, ctx, "getitem", meta, LayerKind::Blockwise, |idx| {
        let mut src = Vec::with_capacity(plans.len());
        let mut picks = Vec::with_capacity(plans.len());
        for (ax, p) in plans.iter().enumerate() {
            let g = match kept.iter().position(|k| *k == ax) {
                Some(pos) => idx.get(pos).copied().unwrap_or(0),
                None => 0,
            };
            let (b, pick) = p
                .groups
                .get(g)
                .cloned()
                .ok_or_else(|| Error::internal("getitem: no such group"))?;
            src.push(b);
            picks.push(pick);
        }
        Ok((vec![task_at(&a, &m, &src)?], Op::Array(ArrayOp::Pick(picks))))
    })
}

pub fn lower_astype(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let dtype =
        DType::parse(ctx.str_arg("dtype")?.unwrap_or_default()).map_err(|e| e.context(op_label(ctx)))?;
    let meta = ArrayMeta {
        dtype,
        ..(*m).clone()
    };
    blocks(l, ctx, "astype", meta, LayerKind::Blockwise, |idx| {
        Ok((vec![task_at(&a, &m, idx)?], Op::Array(ArrayOp::Astype(dtype))))
    })
}

pub fn lower_clip(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let lo = ctx.json_arg("min").and_then(Scalar::from_json);
    let hi = ctx.json_arg("max").and_then(Scalar::from_json);
    if lo.is_none() && hi.is_none() {
        return Err(Error::plan(format!("{}: give min, max or both", op_label(ctx))));
    }
    let float_bound = [lo, hi].iter().any(|b| matches!(b, Some(Scalar::F64(_))));
    let dtype = if m.dtype == DType::F64 || float_bound {
        DType::F64
    } else {
        DType::I64
    };
    let meta = ArrayMeta {
        dtype,
        ..(*m).clone()
    };
    blocks(l, ctx, "clip", meta, LayerKind::Blockwise, |idx| {
        Ok((vec![task_at(&a, &m, idx)?], Op::Array(ArrayOp::Clip { lo, hi })))
    })
}

/// Checks that arrays fit together except along `skip` (None: every axis must match).
fn same_shapes(ctx: &NodeCtx, metas: &[Arc<ArrayMeta>], skip: Option<usize>, what: &str) -> Result<()> {
    let first = metas
        .first()
        .ok_or_else(|| Error::plan(format!("{}: needs arrays", op_label(ctx))))?;
    for m in metas.iter().skip(1) {
        let fits = m.shape.len() == first.shape.len()
            && m.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(ax, (x, y))| Some(ax) == skip || x == y);
        if !fits {
            return Err(Error::shape(format!(
                "{}: {what} needs matching shapes{}, got {} and {}",
                op_label(ctx),
                skip.map(|a| format!(" except on axis {a}")).unwrap_or_default(),
                fmt_shape(&first.shape),
                fmt_shape(&m.shape)
            )));
        }
    }
    Ok(())
}

fn axis_arg(ctx: &NodeCtx, ndim: usize) -> Result<usize> {
    let ax = ctx
        .json_arg("axis")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let nd = ndim as i64;
    let norm = if ax < 0 { ax + nd } else { ax };
    if norm < 0 || norm >= nd.max(1) {
        return Err(Error::shape(format!(
            "{}: axis {ax} is out of bounds for {ndim} dimensions",
            op_label(ctx)
        )));
    }
    Ok(norm as usize)
}

/// The inputs rechunked to common chunks on every axis but `skip`.
fn aligned(l: &mut Lowerer, ctx: &NodeCtx, skip: Option<usize>) -> Result<Vec<(Collection, Arc<ArrayMeta>)>> {
    let inputs: Vec<Collection> = ctx.inputs.clone();
    let metas: Vec<Arc<ArrayMeta>> = inputs.iter().map(|c| l.array_meta(c)).collect::<Result<_>>()?;
    let first = metas
        .first()
        .cloned()
        .ok_or_else(|| Error::plan(format!("{}: needs arrays", op_label(ctx))))?;
    let mut common: Vec<Vec<usize>> = first.chunks.clone();
    for m in metas.iter().skip(1) {
        for (ax, c) in common.iter_mut().enumerate() {
            if Some(ax) != skip {
                *c = refine(c, m.chunks.get(ax).map(Vec::as_slice).unwrap_or(&[]));
            }
        }
    }
    let mut out = Vec::new();
    for (i, (c, m)) in inputs.iter().zip(&metas).enumerate() {
        let mut target = common.clone();
        if let (Some(ax), Some(slot)) = (skip, skip.and_then(|ax| target.get_mut(ax))) {
            *slot = m.chunks.get(ax).cloned().unwrap_or_default();
        }
        out.push(rechunk_to(l, ctx, &format!("rechunk-{i}"), c, m, target)?);
    }
    Ok(out)
}

fn copy_op(shape: Vec<usize>, dtype: DType) -> Op {
    let piece = kernels::Piece {
        input: 0,
        src: shape.iter().map(|n| (0, *n)).collect(),
        dst: vec![0; shape.len()],
    };
    Op::Array(ArrayOp::Gather {
        pieces: vec![piece],
        shape,
        dtype,
    })
}

/// `concatenate(axis)`: the blocks of each input one after another along the axis.
pub fn lower_concatenate(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let metas: Vec<Arc<ArrayMeta>> = ctx
        .inputs
        .iter()
        .map(|c| l.array_meta(c))
        .collect::<Result<_>>()?;
    let ndim = metas.first().map(|m| m.shape.len()).unwrap_or(0);
    let axis = axis_arg(ctx, ndim)?;
    same_shapes(ctx, &metas, Some(axis), "concatenate")?;
    let dtype = metas
        .iter()
        .map(|m| m.dtype)
        .fold(DType::Bool, |a, d| match (a, d) {
            (DType::F64, _) | (_, DType::F64) => DType::F64,
            (DType::I64, _) | (_, DType::I64) => DType::I64,
            _ => DType::Bool,
        });
    let parts = aligned(l, ctx, Some(axis))?;
    let first = parts
        .first()
        .map(|p| p.1.clone())
        .ok_or_else(|| Error::plan("concatenate: needs arrays"))?;
    let mut shape = first.shape.clone();
    let mut chunks = first.chunks.clone();
    let mut owners: Vec<(usize, usize)> = Vec::new();
    let (mut total, mut along) = (0usize, Vec::new());
    for (i, (_, m)) in parts.iter().enumerate() {
        total += m.shape.get(axis).copied().unwrap_or(0);
        for (b, c) in m
            .chunks
            .get(axis)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            along.push(c);
            owners.push((i, b));
        }
    }
    if let (Some(s), Some(c)) = (shape.get_mut(axis), chunks.get_mut(axis)) {
        *s = total;
        *c = along;
    }
    let meta = ArrayMeta { shape, chunks, dtype };
    let m2 = meta.clone();
    blocks(l, ctx, "concatenate", meta, LayerKind::Blockwise, |idx| {
        let pos = idx.get(axis).copied().unwrap_or(0);
        let (input, b) = owners
            .get(pos)
            .copied()
            .ok_or_else(|| Error::internal("concatenate: no owner"))?;
        let (c, m) = parts
            .get(input)
            .ok_or_else(|| Error::internal("concatenate: no input"))?;
        let mut src = idx.to_vec();
        if let Some(s) = src.get_mut(axis) {
            *s = b;
        }
        Ok((vec![task_at(c, m, &src)?], copy_op(m2.block_shape(idx), dtype)))
    })
}

/// `stack(axis)`: a new axis; each input's blocks get a length-1 axis there.
pub fn lower_stack(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let metas: Vec<Arc<ArrayMeta>> = ctx
        .inputs
        .iter()
        .map(|c| l.array_meta(c))
        .collect::<Result<_>>()?;
    let ndim = metas.first().map(|m| m.shape.len()).unwrap_or(0);
    let axis = axis_arg(ctx, ndim + 1)?;
    same_shapes(ctx, &metas, None, "stack")?;
    let parts = aligned(l, ctx, None)?;
    let first = parts
        .first()
        .map(|p| p.1.clone())
        .ok_or_else(|| Error::plan("stack: needs arrays"))?;
    let mut shape = first.shape.clone();
    let mut chunks = first.chunks.clone();
    shape.insert(axis.min(shape.len()), parts.len());
    chunks.insert(axis.min(chunks.len()), vec![1; parts.len()]);
    let meta = ArrayMeta {
        shape,
        chunks,
        dtype: first.dtype,
    };
    blocks(l, ctx, "stack", meta, LayerKind::Blockwise, |idx| {
        let which = idx.get(axis).copied().unwrap_or(0);
        let (c, m) = parts
            .get(which)
            .ok_or_else(|| Error::internal("stack: no input"))?;
        let mut src = idx.to_vec();
        if axis < src.len() {
            src.remove(axis);
        }
        Ok((vec![task_at(c, m, &src)?], Op::Array(ArrayOp::ExpandDims(axis))))
    })
}

/// `linspace(start, stop, num, endpoint)`.
pub fn lower_linspace(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let num = ctx.usize_arg("num")?.unwrap_or(50);
    let f = |k: &str| ctx.json_arg(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    let (start, stop) = (f("start"), f("stop"));
    let endpoint = ctx.bool_arg("endpoint", true)?;
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let step = if div == 0 {
        0.0
    } else {
        (stop - start) / div as f64
    };
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &[num], &op_label(ctx))?;
    let meta = ArrayMeta {
        shape: vec![num],
        chunks,
        dtype: DType::F64,
    };
    let m2 = meta.clone();
    blocks(l, ctx, "linspace", meta, LayerKind::Input, |idx| {
        let offset = m2.block_offset(idx).first().copied().unwrap_or(0);
        let n = m2.block_shape(idx).first().copied().unwrap_or(0);
        Ok((
            Vec::new(),
            Op::Array(ArrayOp::Arange {
                start,
                step,
                offset,
                len: n,
                dtype: DType::F64,
            }),
        ))
    })
}

/// `eye(N, M, k)`: ones on the k-th diagonal.
pub fn lower_eye(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let n = ctx.usize_arg("N")?.unwrap_or(0);
    let m = ctx.usize_arg("M")?.unwrap_or(n);
    let k = ctx.json_arg("k").and_then(serde_json::Value::as_i64).unwrap_or(0);
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &[n, m], &op_label(ctx))?;
    let meta = ArrayMeta {
        shape: vec![n, m],
        chunks,
        dtype: DType::F64,
    };
    let m2 = meta.clone();
    blocks(l, ctx, "eye", meta, LayerKind::Input, |idx| {
        let off = m2.block_offset(idx);
        let op = ArrayOp::Eye {
            shape: m2.block_shape(idx),
            row0: off.first().copied().unwrap_or(0),
            col0: off.get(1).copied().unwrap_or(0),
            k,
        };
        Ok((Vec::new(), Op::Array(op)))
    })
}

/// Seeded random arrays: `random`, `uniform`, `normal`, `integers`.
pub fn lower_random(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let shape = shape_arg(ctx, "size")?;
    let f = |k: &str, d: f64| ctx.json_arg(k).and_then(serde_json::Value::as_f64).unwrap_or(d);
    let dist = match ctx.str_arg("distribution")?.unwrap_or("random") {
        "random" => kernels::Dist::Random,
        "uniform" => kernels::Dist::Uniform {
            low: f("low", 0.0),
            high: f("high", 1.0),
        },
        "normal" => kernels::Dist::Normal {
            loc: f("loc", 0.0),
            scale: f("scale", 1.0),
        },
        "integers" => {
            let (low, high) = (f("low", 0.0) as i64, f("high", 0.0) as i64);
            if high <= low {
                return Err(Error::value(format!(
                    "{}: integers needs high > low, got low={low} high={high}",
                    op_label(ctx)
                )));
            }
            kernels::Dist::Integers { low, high }
        }
        other => {
            return Err(Error::plan(format!(
                "{}: unknown distribution '{other}'; use random, uniform, normal or integers",
                op_label(ctx)
            )))
        }
    };
    let seed = ctx.usize_arg("seed")?.unwrap_or(0) as u64;
    let dtype = if matches!(dist, kernels::Dist::Integers { .. }) {
        DType::I64
    } else {
        DType::F64
    };
    let chunks = normalize_chunks(ctx.json_arg("chunks"), &shape, &op_label(ctx))?;
    let meta = ArrayMeta { shape, chunks, dtype };
    let m2 = meta.clone();
    let mut n = 0u64;
    blocks(l, ctx, "random", meta, LayerKind::Input, |idx| {
        let op = ArrayOp::Random {
            shape: m2.block_shape(idx),
            dist,
            seed,
            block: n,
        };
        n += 1;
        Ok((Vec::new(), Op::Array(op)))
    })
}

/// `blocks[index]`: a sub-array made of whole blocks, as Dask's `x.blocks[i, j]`. Integers
/// and slices count blocks, not elements; an integer keeps its axis (one block long).
pub fn lower_blocks(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let label = op_label(ctx);
    let index = index_arg(ctx);
    let nb = m.numblocks();
    if index.len() > nb.len() {
        return Err(Error::value(format!(
            "{label}: too many indices ({}) for an array of {} block{} per axis {}",
            index.len(),
            nb.len(),
            if nb.len() == 1 { "" } else { "s" },
            fmt_shape(&nb)
        )));
    }
    // Per axis: the input block of each output block.
    let mut picked: Vec<Vec<usize>> = Vec::with_capacity(nb.len());
    for (ax, n) in nb.iter().enumerate() {
        let plan = plan_axis(index.get(ax), *n, &[*n], ax, &format!("{label} (in blocks)"))?;
        let chosen: Vec<usize> = plan
            .groups
            .first()
            .map(|(_, pick)| pick.positions())
            .unwrap_or_default();
        if chosen.is_empty() {
            return Err(Error::value(format!(
                "{label}: the index selects no blocks on axis {ax} ({n} block{})",
                if *n == 1 { "" } else { "s" }
            )));
        }
        picked.push(chosen);
    }
    let chunks: Vec<Vec<usize>> = picked
        .iter()
        .zip(&m.chunks)
        .map(|(bs, c)| bs.iter().map(|b| c.get(*b).copied().unwrap_or(0)).collect())
        .collect();
    let meta = ArrayMeta {
        shape: chunks.iter().map(|c| c.iter().sum()).collect(),
        chunks,
        dtype: m.dtype,
    };
    let out_meta = meta.clone();
    blocks(l, ctx, "blocks", meta, LayerKind::Blockwise, |idx| {
        let src: Vec<usize> = idx
            .iter()
            .zip(&picked)
            .map(|(i, bs)| bs.get(*i).copied().unwrap_or(0))
            .collect();
        Ok((
            vec![task_at(&a, &m, &src)?],
            Op::Array(ArrayOp::Reshape(out_meta.block_shape(idx))),
        ))
    })
}

/// `map_blocks(func, dtype)`: the function applied to every element of every block (the
/// blocks keep their shape). The dtype is given, or found by calling the function on a one
/// of the input's dtype while the graph is built, as Dask infers `meta`.
pub fn lower_map_blocks(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let func = Arc::new(ctx.func_arg("func")?);
    let dtype = match dtype_arg(ctx)? {
        Some(d) => d,
        None => {
            let one = match m.dtype {
                DType::F64 => crate::value::Value::Float(1.0),
                DType::I64 => crate::value::Value::Int(1),
                DType::Bool => crate::value::Value::Bool(true),
            };
            match func.call1(&one) {
                Ok(crate::value::Value::Float(_)) => DType::F64,
                Ok(crate::value::Value::Int(_)) => DType::I64,
                Ok(crate::value::Value::Bool(_)) => DType::Bool,
                _ => m.dtype,
            }
        }
    };
    let meta = ArrayMeta {
        dtype,
        ..(*m).clone()
    };
    let op = ArrayOp::MapElements { func, dtype };
    blocks(l, ctx, "map_blocks", meta, LayerKind::Blockwise, |idx| {
        Ok((vec![task_at(&a, &m, idx)?], Op::Array(op.clone())))
    })
}

/// The new shape of a reshape: a list of sizes (or one int), at most one -1.
fn reshape_target(ctx: &NodeCtx, m: &ArrayMeta) -> Result<Vec<usize>> {
    let label = op_label(ctx);
    let raw: Vec<i64> = match ctx.json_arg("shape") {
        Some(serde_json::Value::Number(n)) => vec![n.as_i64().unwrap_or(-2)],
        Some(serde_json::Value::Array(items)) => items.iter().map(|v| v.as_i64().unwrap_or(-2)).collect(),
        _ => {
            return Err(Error::plan(format!(
                "{label}: shape must be an integer or a list of integers"
            )))
        }
    };
    if raw.iter().any(|d| *d < -1) {
        return Err(Error::value(format!(
            "{label}: shape {raw:?} has a size below -1"
        )));
    }
    let unknown = raw.iter().filter(|d| **d == -1).count();
    if unknown > 1 {
        return Err(Error::value(format!(
            "{label}: can only specify one unknown dimension (-1)"
        )));
    }
    let known: usize = raw.iter().filter(|d| **d >= 0).map(|d| *d as usize).product();
    let size = m.size();
    let fill = if unknown == 1 {
        if known == 0 || size % known != 0 {
            return Err(Error::value(format!(
                "{label}: cannot reshape an array of shape {} (size {size}) into shape {raw:?}",
                fmt_shape(&m.shape)
            )));
        }
        size / known
    } else {
        0
    };
    let shape: Vec<usize> = raw
        .iter()
        .map(|d| if *d == -1 { fill } else { *d as usize })
        .collect();
    if shape.iter().product::<usize>() != size {
        return Err(Error::value(format!(
            "{label}: cannot reshape an array of shape {} (size {size}) into shape {}",
            fmt_shape(&m.shape),
            fmt_shape(&shape)
        )));
    }
    Ok(shape)
}

/// Block sizes per axis (Dask's tuple of tuples).
type Chunks = Vec<Vec<usize>>;

/// Input chunks to rechunk to, and output chunks, for a reshape (see `lower_reshape`).
/// None only if the shapes do not have the same size (callers check that first).
fn plan_reshape(in_shape: &[usize], chunks: &[Vec<usize>], out_shape: &[usize]) -> Option<(Chunks, Chunks)> {
    let whole = |shape: &[usize]| -> Vec<Vec<usize>> { shape.iter().map(|s| vec![*s]).collect() };
    let size: usize = in_shape.iter().product();
    if size == 0 || in_shape.is_empty() || out_shape.is_empty() {
        // Empty or 0-d arrays: one block each side.
        return Some((whole(in_shape), whole(out_shape)));
    }
    let dim = |s: &[usize], i: usize| s.get(i).copied().unwrap_or(1);
    let mut in_chunks = chunks.to_vec();
    let mut out_chunks: Vec<Vec<usize>> = Vec::with_capacity(out_shape.len());
    let (mut i, mut j) = (0usize, 0usize);
    while i < in_shape.len() || j < out_shape.len() {
        let (i0, j0) = (i, j);
        let (mut pin, mut pout) = (dim(in_shape, i), dim(out_shape, j));
        while pin != pout {
            if i > in_shape.len() || j > out_shape.len() {
                return None;
            }
            if pin < pout {
                i += 1;
                pin *= dim(in_shape, i);
            } else {
                j += 1;
                pout *= dim(out_shape, j);
            }
        }
        // Trailing length-1 axes join the group that ends here.
        while i + 1 < in_shape.len() && dim(in_shape, i + 1) == 1 && dim(out_shape, j + 1) != 1 {
            i += 1;
        }
        while j + 1 < out_shape.len() && dim(out_shape, j + 1) == 1 && dim(in_shape, i + 1) != 1 {
            j += 1;
        }
        let ins = i0..(i + 1).min(in_shape.len());
        let outs = j0..(j + 1).min(out_shape.len());
        let trailing = |s: &[usize], r: &std::ops::Range<usize>| -> usize {
            s.get(r.start + 1..r.end).map_or(1, |t| t.iter().product())
        };
        match (ins.len(), outs.len()) {
            (1, 1) => out_chunks.push(in_chunks.get(i0)?.clone()),
            (n, 1) if n > 1 => {
                // Merge: the trailing input axes become one block each.
                let rest = trailing(in_shape, &ins);
                for ax in ins.start + 1..ins.end {
                    *in_chunks.get_mut(ax)? = vec![dim(in_shape, ax)];
                }
                out_chunks.push(in_chunks.get(i0)?.iter().map(|c| c * rest).collect());
            }
            (1, n) if n > 1 => {
                // Split: input blocks become multiples of the trailing output sizes.
                let rest = trailing(out_shape, &outs);
                let current = in_chunks.get(i0)?.clone();
                let c = if current.iter().all(|c| c % rest == 0) {
                    current
                } else {
                    let want = current.iter().copied().max().unwrap_or(1);
                    let step = (want / rest).max(1) * rest;
                    let mut c = Vec::new();
                    let mut left = dim(in_shape, i0);
                    while left > 0 {
                        c.push(step.min(left));
                        left -= step.min(left);
                    }
                    c
                };
                out_chunks.push(c.iter().map(|x| x / rest).collect());
                out_chunks.extend(out_shape.get(outs.start + 1..outs.end)?.iter().map(|s| vec![*s]));
                *in_chunks.get_mut(i0)? = c;
            }
            _ => {
                for ax in ins.clone() {
                    *in_chunks.get_mut(ax)? = vec![dim(in_shape, ax)];
                }
                out_chunks.extend(out_shape.get(outs.clone())?.iter().map(|s| vec![*s]));
            }
        }
        i += 1;
        j += 1;
    }
    Some((in_chunks, out_chunks))
}

/// `reshape(shape)`, as Dask does it: axes are matched in groups of equal size from the
/// left; a group that merges axes first makes all but its first input axis one block, a
/// group that splits one axis first makes its blocks multiples of the trailing sizes, and
/// any other group becomes one block. Then every output block is one input block reshaped.
pub fn lower_reshape(l: &mut Lowerer, ctx: &NodeCtx) -> Result<Collection> {
    let a = ctx.input(0)?.clone();
    let m = l.array_meta(&a)?;
    let out_shape = reshape_target(ctx, &m)?;
    let (in_chunks, out_chunks) = plan_reshape(&m.shape, &m.chunks, &out_shape)
        .ok_or_else(|| Error::internal(format!("{}: reshape lost track of the axes", op_label(ctx))))?;
    let (src, sm) = rechunk_to(l, ctx, "rechunk-reshape", &a, &m, in_chunks)?;
    let meta = ArrayMeta {
        shape: out_shape,
        chunks: out_chunks,
        dtype: m.dtype,
    };
    if meta.nblocks() != sm.nblocks() || meta.chunks.len() != meta.shape.len() {
        return Err(Error::internal(format!(
            "{}: reshape planned {} output blocks for {} input blocks",
            op_label(ctx),
            meta.nblocks(),
            sm.nblocks()
        )));
    }
    let out_meta = meta.clone();
    let src_tasks = src.tasks.clone();
    blocks(l, ctx, "reshape", meta, LayerKind::Blockwise, |idx| {
        // Blocks correspond one to one, in C order on both sides.
        let nb = out_meta.numblocks();
        let flat = idx.iter().zip(&nb).fold(0usize, |acc, (i, n)| acc * n + i);
        let t = src_tasks
            .get(flat)
            .copied()
            .ok_or_else(|| Error::internal("reshape: no input block"))?;
        Ok((vec![t], Op::Array(ArrayOp::Reshape(out_meta.block_shape(idx)))))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn block(rows: usize, cols: usize, seed: f64) -> Arc<Partition> {
        let a = ndarray::Array2::from_shape_fn((rows, cols), |(r, c)| ((r * 7 + c * 3) as f64 + seed).cos());
        Arc::new(Partition::Chunk(ArrayChunk::F64(a.into_dyn())))
    }

    /// A fused `binary + sum-chunk` gives what the two ops give one after the other.
    #[test]
    fn fused_binary_sum_matches_the_two_steps() {
        let t = ArrayOp::Transpose { axes: vec![1, 0] }
            .execute(&[block(5, 3, 1.0)])
            .unwrap();
        let inputs = vec![block(3, 5, 0.0), Arc::new(t)];
        for (op, scalar) in [
            (ElemOp::Add, None),
            (ElemOp::Sub, None),
            (ElemOp::Mul, Some(Scalar::F64(2.5))),
            (ElemOp::Lt, None),
        ] {
            for kind in [RKind::Sum, RKind::Mean] {
                let bin = ArrayOp::Binary {
                    op,
                    scalar,
                    scalar_left: false,
                    read_permuted: None,
                };
                let part = ArrayOp::ReducePart {
                    kind,
                    axes: vec![0, 1],
                    arg: None,
                };
                let step = bin.execute(&inputs).unwrap();
                let expected = part.execute(&[Arc::new(step)]).unwrap();
                let fused = Op::Fused(Arc::new(vec![Op::Array(bin), Op::Array(part)]));
                let got = fused.execute(&inputs).unwrap();
                match (&*got, &expected) {
                    (Partition::Chunk(g), Partition::Chunk(e)) => {
                        assert_eq!(g.shape(), e.shape());
                        assert_eq!(g.dtype(), e.dtype());
                        let (g, e) = (kernels::to_f64(g), kernels::to_f64(e));
                        for (p, q) in g.iter().zip(e.iter()) {
                            assert!(
                                (p - q).abs() <= 1e-12 * q.abs().max(1.0),
                                "{op:?} {kind:?}: {p} != {q}"
                            );
                        }
                    }
                    other => panic!("not array chunks: {other:?}"),
                }
            }
        }
    }
}
