//! Per-block array kernels on ndarray (as Dask keeps `dask/array/chunk.py` apart from the
//! graph code): creation, element-wise operations with NumPy's dtype rules, per-block
//! reductions, and assembling blocks into one array.

use super::meta::DType;
use crate::error::{Error, Result};
use crate::partition::ArrayChunk;
use crate::value::Value;
use ndarray::{ArrayD, Axis, IxDyn, Slice, Zip};
use std::borrow::Cow;

/// A scalar operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    F64(f64),
    I64(i64),
    Bool(bool),
}

impl Scalar {
    pub fn from_json(v: &serde_json::Value) -> Option<Scalar> {
        match v {
            serde_json::Value::Bool(b) => Some(Scalar::Bool(*b)),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Scalar::I64(i)),
                None => n.as_f64().map(Scalar::F64),
            },
            _ => None,
        }
    }
    pub fn dtype(self) -> DType {
        match self {
            Scalar::F64(_) => DType::F64,
            Scalar::I64(_) => DType::I64,
            Scalar::Bool(_) => DType::Bool,
        }
    }
    fn chunk(self) -> ArrayChunk {
        let shape = IxDyn(&[]);
        match self {
            Scalar::F64(x) => ArrayChunk::F64(ArrayD::from_elem(shape, x)),
            Scalar::I64(x) => ArrayChunk::I64(ArrayD::from_elem(shape, x)),
            Scalar::Bool(x) => ArrayChunk::Bool(ArrayD::from_elem(shape, x)),
        }
    }
}

pub fn fill(shape: &[usize], value: Scalar) -> ArrayChunk {
    let s = IxDyn(shape);
    match value {
        Scalar::F64(x) => ArrayChunk::F64(ArrayD::from_elem(s, x)),
        Scalar::I64(x) => ArrayChunk::I64(ArrayD::from_elem(s, x)),
        Scalar::Bool(x) => ArrayChunk::Bool(ArrayD::from_elem(s, x)),
    }
}

/// `arange` values `start + step * (offset .. offset + len)`.
pub fn arange(start: f64, step: f64, offset: usize, len: usize, dtype: DType) -> ArrayChunk {
    let values = (offset..offset + len).map(|i| start + step * i as f64);
    match dtype {
        DType::I64 => ArrayChunk::I64(
            ArrayD::from_shape_vec(IxDyn(&[len]), values.map(|x| x as i64).collect())
                .unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))),
        ),
        _ => ArrayChunk::F64(
            ArrayD::from_shape_vec(IxDyn(&[len]), values.collect())
                .unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))),
        ),
    }
}

/// The block as float64, borrowed when it already is (reductions read big blocks).
pub fn as_f64(c: &ArrayChunk) -> std::borrow::Cow<'_, ArrayD<f64>> {
    match c {
        ArrayChunk::F64(a) => std::borrow::Cow::Borrowed(a),
        other => std::borrow::Cow::Owned(to_f64(other)),
    }
}

pub fn to_f64(c: &ArrayChunk) -> ArrayD<f64> {
    match c {
        ArrayChunk::F64(a) => a.clone(),
        ArrayChunk::I64(a) => a.mapv(|x| x as f64),
        ArrayChunk::Bool(a) => a.mapv(|x| f64::from(u8::from(x))),
    }
}

pub fn to_i64(c: &ArrayChunk) -> ArrayD<i64> {
    match c {
        ArrayChunk::F64(a) => a.mapv(|x| x as i64),
        ArrayChunk::I64(a) => a.clone(),
        ArrayChunk::Bool(a) => a.mapv(i64::from),
    }
}

pub fn to_bool(c: &ArrayChunk) -> ArrayD<bool> {
    match c {
        ArrayChunk::F64(a) => a.mapv(|x| x != 0.0),
        ArrayChunk::I64(a) => a.mapv(|x| x != 0),
        ArrayChunk::Bool(a) => a.clone(),
    }
}

pub fn dtype_of(c: &ArrayChunk) -> DType {
    match c {
        ArrayChunk::F64(_) => DType::F64,
        ArrayChunk::I64(_) => DType::I64,
        ArrayChunk::Bool(_) => DType::Bool,
    }
}

/// Element-wise operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemOp {
    Add,
    Sub,
    Mul,
    TrueDiv,
    FloorDiv,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Neg,
    Abs,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tanh,
    Floor,
    Ceil,
    Round,
    Not,
}

impl ElemOp {
    pub fn parse(s: &str) -> Option<ElemOp> {
        use ElemOp::*;
        Some(match s {
            "add" => Add,
            "sub" | "subtract" => Sub,
            "mul" | "multiply" => Mul,
            "truediv" | "divide" => TrueDiv,
            "floordiv" => FloorDiv,
            "mod" => Mod,
            "pow" | "power" => Pow,
            "eq" => Eq,
            "ne" => Ne,
            "lt" => Lt,
            "le" => Le,
            "gt" => Gt,
            "ge" => Ge,
            "and" | "logical_and" => And,
            "or" | "logical_or" => Or,
            "neg" | "negative" => Neg,
            "abs" | "absolute" => Abs,
            "sqrt" => Sqrt,
            "exp" => Exp,
            "log" => Log,
            "sin" => Sin,
            "cos" => Cos,
            "tanh" => Tanh,
            "floor" => Floor,
            "ceil" => Ceil,
            "round" => Round,
            "not" | "logical_not" => Not,
            _ => return None,
        })
    }
    pub fn is_unary(self) -> bool {
        use ElemOp::*;
        matches!(
            self,
            Neg | Abs | Sqrt | Exp | Log | Sin | Cos | Tanh | Floor | Ceil | Round | Not
        )
    }
    pub fn name(self) -> &'static str {
        use ElemOp::*;
        match self {
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            TrueDiv => "truediv",
            FloorDiv => "floordiv",
            Mod => "mod",
            Pow => "pow",
            Eq => "eq",
            Ne => "ne",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
            And => "and",
            Or => "or",
            Neg => "neg",
            Abs => "abs",
            Sqrt => "sqrt",
            Exp => "exp",
            Log => "log",
            Sin => "sin",
            Cos => "cos",
            Tanh => "tanh",
            Floor => "floor",
            Ceil => "ceil",
            Round => "round",
            Not => "not",
        }
    }

    /// The result dtype, as NumPy's type promotion gives it (bools do arithmetic as ints).
    pub fn result_dtype(self, a: DType, b: Option<DType>) -> DType {
        use ElemOp::*;
        let float_in = a == DType::F64 || b == Some(DType::F64);
        match self {
            Eq | Ne | Lt | Le | Gt | Ge | And | Or | Not => DType::Bool,
            TrueDiv | Sqrt | Exp | Log | Sin | Cos | Tanh => DType::F64,
            Floor | Ceil | Round if a == DType::F64 => DType::F64,
            Floor | Ceil | Round | Neg | Abs => {
                if a == DType::F64 {
                    DType::F64
                } else {
                    DType::I64
                }
            }
            _ if float_in => DType::F64,
            _ => DType::I64,
        }
    }
}

fn py_mod_f(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        return f64::NAN;
    }
    let r = x % y;
    if r != 0.0 && (r < 0.0) != (y < 0.0) {
        r + y
    } else {
        r
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// Applies a unary operation to a block.
pub fn unary(op: ElemOp, a: &ArrayChunk) -> ArrayChunk {
    use ElemOp::*;
    match op.result_dtype(dtype_of(a), None) {
        DType::Bool => ArrayChunk::Bool(to_bool(a).mapv(|x| !x)),
        DType::I64 => {
            let x = to_i64(a);
            ArrayChunk::I64(match op {
                Neg => x.mapv(i64::wrapping_neg),
                Abs => x.mapv(i64::wrapping_abs),
                _ => x,
            })
        }
        DType::F64 => {
            let x = to_f64(a);
            let f: fn(f64) -> f64 = match op {
                Neg => |v| -v,
                Abs => f64::abs,
                Sqrt => f64::sqrt,
                Exp => f64::exp,
                Log => f64::ln,
                Sin => f64::sin,
                Cos => f64::cos,
                Tanh => f64::tanh,
                Floor => f64::floor,
                Ceil => f64::ceil,
                Round => round_half_even,
                _ => |v| v,
            };
            ArrayChunk::F64(x.mapv(f))
        }
    }
}

/// The block as int64, borrowed when it already is.
fn as_i64(c: &ArrayChunk) -> Cow<'_, ArrayD<i64>> {
    match c {
        ArrayChunk::I64(a) => Cow::Borrowed(a),
        other => Cow::Owned(to_i64(other)),
    }
}

/// The block as bools, borrowed when it already is.
fn as_bool(c: &ArrayChunk) -> Cow<'_, ArrayD<bool>> {
    match c {
        ArrayChunk::Bool(a) => Cow::Borrowed(a),
        other => Cow::Owned(to_bool(other)),
    }
}

/// Python's float modulo, pow and the other float arithmetic of `binary`.
fn float_arith(op: ElemOp, p: f64, q: f64) -> f64 {
    use ElemOp::*;
    match op {
        Add => p + q,
        Sub => p - q,
        Mul => p * q,
        TrueDiv => p / q,
        FloorDiv => (p / q).floor(),
        Mod => py_mod_f(p, q),
        _ => p.powf(q),
    }
}

/// Whether `op` on these dtypes is float arithmetic (the result is float64 and not a
/// comparison or a logical operation).
fn is_float_arith(op: ElemOp, da: DType, db: DType) -> bool {
    use ElemOp::*;
    matches!(op, Add | Sub | Mul | TrueDiv | FloorDiv | Mod | Pow)
        && (da == DType::F64 || db == DType::F64 || op == TrueDiv)
}

/// Applies a binary operation to two blocks of the same shape, or a block and a scalar.
/// The operands are read through broadcast views; only the result is allocated.
pub fn binary(op: ElemOp, a: &ArrayChunk, b: &ArrayChunk) -> Result<ArrayChunk> {
    use ElemOp::*;
    let (sa, sb) = (a.shape(), b.shape());
    // NumPy broadcasting between the two blocks (a 0-d block is a scalar).
    let target = broadcast_shapes(sa, sb).ok_or_else(|| {
        Error::shape(format!(
            "{}: block shapes {} and {} do not broadcast",
            op.name(),
            super::meta::fmt_shape(sa),
            super::meta::fmt_shape(sb)
        ))
    })?;
    let shape = IxDyn(&target);
    let fail = || Error::shape(format!("{}: cannot broadcast {:?} with {:?}", op.name(), sa, sb));
    let (da, db) = (dtype_of(a), dtype_of(b));
    let float_in = da == DType::F64 || db == DType::F64;
    macro_rules! zip_with {
        ($conv:ident, $f:expr) => {{
            let (x, y) = ($conv(a), $conv(b));
            let xv = x.broadcast(shape.clone()).ok_or_else(fail)?;
            let yv = y.broadcast(shape.clone()).ok_or_else(fail)?;
            Zip::from(&xv).and(&yv).map_collect($f)
        }};
    }
    Ok(match op {
        And | Or => ArrayChunk::Bool(zip_with!(as_bool, |p: &bool, q: &bool| if op == And {
            *p && *q
        } else {
            *p || *q
        })),
        Eq | Ne | Lt | Le | Gt | Ge => {
            if float_in {
                ArrayChunk::Bool(zip_with!(as_f64, |p: &f64, q: &f64| cmp(
                    op,
                    p.partial_cmp(q),
                    p == q
                )))
            } else {
                ArrayChunk::Bool(zip_with!(as_i64, |p: &i64, q: &i64| cmp(
                    op,
                    Some(p.cmp(q)),
                    p == q
                )))
            }
        }
        _ if is_float_arith(op, da, db) => match op {
            // The common operations get their own loops, so they vectorise.
            Add => ArrayChunk::F64(zip_with!(as_f64, |p: &f64, q: &f64| p + q)),
            Sub => ArrayChunk::F64(zip_with!(as_f64, |p: &f64, q: &f64| p - q)),
            Mul => ArrayChunk::F64(zip_with!(as_f64, |p: &f64, q: &f64| p * q)),
            TrueDiv => ArrayChunk::F64(zip_with!(as_f64, |p: &f64, q: &f64| p / q)),
            _ => ArrayChunk::F64(zip_with!(as_f64, |p: &f64, q: &f64| float_arith(op, *p, *q))),
        },
        _ => {
            let (x, y) = (as_i64(a), as_i64(b));
            let xv = x.broadcast(shape.clone()).ok_or_else(fail)?;
            let yv = y.broadcast(shape.clone()).ok_or_else(fail)?;
            if op == Pow && yv.iter().any(|e| *e < 0) {
                return Err(Error::value(
                    "pow: integers to negative integer powers are not allowed (as in NumPy)",
                ));
            }
            // NumPy wraps on integer overflow and gives 0 for integer division by zero.
            ArrayChunk::I64(Zip::from(&xv).and(&yv).map_collect(|p, q| match op {
                Add => p.wrapping_add(*q),
                Sub => p.wrapping_sub(*q),
                Mul => p.wrapping_mul(*q),
                FloorDiv => {
                    if *q == 0 {
                        0
                    } else {
                        let d = p.wrapping_div(*q);
                        if p.wrapping_rem(*q) != 0 && ((*p < 0) != (*q < 0)) {
                            d - 1
                        } else {
                            d
                        }
                    }
                }
                Mod => {
                    if *q == 0 {
                        0
                    } else {
                        let r = p.wrapping_rem(*q);
                        if r != 0 && ((r < 0) != (*q < 0)) {
                            r + q
                        } else {
                            r
                        }
                    }
                }
                _ => p.wrapping_pow(u32::try_from(*q).unwrap_or(u32::MAX)),
            }))
        }
    })
}

/// The sum of `op` over two blocks (broadcast together) without building the result
/// block: what a binary operation followed by a sum over every axis gives. `None` when
/// the result would not be float arithmetic (those go through `binary`).
/// `read_permuted` gives, per block, the axis order to read it in (a transpose folded in).
pub fn binary_sum(
    op: ElemOp,
    a: &ArrayChunk,
    b: &ArrayChunk,
    read_permuted: [Option<&[usize]>; 2],
) -> Option<Result<f64>> {
    use ElemOp::*;
    if !is_float_arith(op, dtype_of(a), dtype_of(b)) {
        return None;
    }
    let (x, y) = (as_f64(a), as_f64(b));
    let [pa, pb] = read_permuted;
    let (x, y) = match (permuted_view(x.view(), pa), permuted_view(y.view(), pb)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
    };
    let Some(target) = broadcast_shapes(x.shape(), y.shape()) else {
        return Some(Err(Error::shape(format!(
            "{}: block shapes {} and {} do not broadcast",
            op.name(),
            super::meta::fmt_shape(x.shape()),
            super::meta::fmt_shape(y.shape())
        ))));
    };
    let shape = IxDyn(&target);
    let (Some(xv), Some(yv)) = (x.broadcast(shape.clone()), y.broadcast(shape)) else {
        return Some(Err(Error::shape(format!(
            "{}: cannot broadcast {:?} with {:?}",
            op.name(),
            x.shape(),
            y.shape()
        ))));
    };
    Some(Ok(match op {
        Add => zip_sum(xv, yv, |p, q| p + q),
        Sub => zip_sum(xv, yv, |p, q| p - q),
        Mul => zip_sum(xv, yv, |p, q| p * q),
        TrueDiv => zip_sum(xv, yv, |p, q| p / q),
        _ => zip_sum(xv, yv, |p, q| float_arith(op, p, q)),
    }))
}

/// A view with its axes in order `axes` (None: as it is); names the shapes when `axes` is
/// not a permutation of the view's axes.
fn permuted_view<'a>(
    v: ndarray::ArrayViewD<'a, f64>,
    axes: Option<&[usize]>,
) -> Result<ndarray::ArrayViewD<'a, f64>> {
    let Some(axes) = axes else {
        return Ok(v);
    };
    check_permutation(axes, v.shape())?;
    Ok(v.permuted_axes(IxDyn(axes)))
}

/// An error naming the block's shape unless `axes` orders all of its axes once each
/// (ndarray panics on anything else).
fn check_permutation(axes: &[usize], shape: &[usize]) -> Result<()> {
    let mut seen = vec![false; shape.len()];
    let valid = axes.len() == shape.len()
        && axes.iter().all(|ax| {
            seen.get_mut(*ax)
                .map(|s| !std::mem::replace(s, true))
                .unwrap_or(false)
        });
    if valid {
        Ok(())
    } else {
        Err(Error::shape(format!(
            "transpose: axes {axes:?} are not a permutation of the axes of a block of shape {}",
            super::meta::fmt_shape(shape)
        )))
    }
}

/// Sum of `f` over two views of one shape. Contiguous views of one layout are read as
/// flat slices; 2-d views of different layouts (a transposed operand) tile by tile, each
/// tile of the second copied into the first's layout while it is in cache; anything
/// else element by element.
fn zip_sum<F: Fn(f64, f64) -> f64>(
    x: ndarray::ArrayViewD<'_, f64>,
    y: ndarray::ArrayViewD<'_, f64>,
    f: F,
) -> f64 {
    if x.strides() == y.strides() {
        if let (Some(xs), Some(ys)) = (x.as_slice_memory_order(), y.as_slice_memory_order()) {
            return slice_sum(xs, ys, &f);
        }
    }
    if let (Ok(x2), Ok(y2)) = (
        x.view().into_dimensionality::<ndarray::Ix2>(),
        y.view().into_dimensionality::<ndarray::Ix2>(),
    ) {
        // The operand with contiguous rows leads; with f's arguments kept in order.
        if x2.strides().get(1) == Some(&1) {
            return tiled_sum(x2, y2, &f);
        }
        if y2.strides().get(1) == Some(&1) {
            return tiled_sum(y2, x2, &|q, p| f(p, q));
        }
    }
    Zip::from(&x).and(&y).fold(0.0, |acc, p, q| acc + f(*p, *q))
}

/// Sum of `f` over two 2-d views where `x` has contiguous rows, in square tiles: each
/// tile of `y` is first copied into a small row-major buffer.
fn tiled_sum<F: Fn(f64, f64) -> f64>(
    x: ndarray::ArrayView2<'_, f64>,
    y: ndarray::ArrayView2<'_, f64>,
    f: &F,
) -> f64 {
    const TILE: usize = 64;
    let (rows, cols) = x.dim();
    // y read along its own rows: the common case of a transposed C-order block.
    if let (Some(xs), Some(zs)) = (x.as_slice(), y.t().as_slice()) {
        return transposed_sum(xs, zs, rows, cols, f);
    }
    let mut buf = ndarray::Array2::<f64>::zeros((TILE.min(rows), TILE.min(cols)));
    let mut total = 0.0;
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            let tile = ndarray::s![r0..r1, c0..c1];
            let mut dst = buf.slice_mut(ndarray::s![..r1 - r0, ..c1 - c0]);
            dst.assign(&y.slice(tile));
            for (rx, rb) in x.slice(tile).rows().into_iter().zip(dst.rows()) {
                total += match (rx.as_slice(), rb.as_slice()) {
                    (Some(a), Some(b)) => slice_sum(a, b, f),
                    _ => rx.iter().zip(rb.iter()).map(|(p, q)| f(*p, *q)).sum(),
                };
            }
        }
    }
    total
}

/// Sum of `f(x[i, j], z[j, i])` for row-major `x` (rows x cols) and `z` (cols x rows).
/// The work goes in bands of 32 columns of `x`, which are 32 whole rows of `z`: `z` is
/// then read as 32 sequential streams the prefetcher follows, and `x` four cache lines
/// per row, with the lines a few blocks ahead prefetched. Inside a band, 8 x 8 blocks
/// are loaded from 8 rows of each operand and summed in registers, so nothing is
/// written back to memory. On W2c this took half the time of 64 x 64 tiles copied
/// through a buffer.
fn transposed_sum<F: Fn(f64, f64) -> f64>(xs: &[f64], zs: &[f64], rows: usize, cols: usize, f: &F) -> f64 {
    const B: usize = 8;
    const BAND: usize = 32;
    let mut lanes = [0.0f64; B];
    let mut edge = 0.0;
    for c0 in (0..cols).step_by(BAND) {
        let c1 = (c0 + BAND).min(cols);
        for rb in (0..rows).step_by(B) {
            for cb in (c0..c1).step_by(B) {
                let ahead = rb + PREFETCH_ROWS;
                for k in 0..B {
                    prefetch(xs, (ahead + k) * cols + cb);
                    prefetch(zs, (cb + k) * rows + ahead);
                }
                match (block8(xs, rb, cb, cols), block8(zs, cb, rb, rows)) {
                    (Some(xb), Some(zb)) => {
                        for (i, xrow) in xb.iter().enumerate() {
                            for (lane, (p, zrow)) in lanes.iter_mut().zip(xrow.iter().zip(&zb)) {
                                *lane += f(*p, zrow.get(i).copied().unwrap_or_default());
                            }
                        }
                    }
                    // A ragged edge block: element by element.
                    _ => {
                        for i in rb..(rb + B).min(rows) {
                            for j in cb..(cb + B).min(c1) {
                                let p = xs.get(i * cols + j).copied().unwrap_or_default();
                                let q = zs.get(j * rows + i).copied().unwrap_or_default();
                                edge += f(p, q);
                            }
                        }
                    }
                }
            }
        }
    }
    lanes.iter().sum::<f64>() + edge
}

/// Rows of `x` (and columns of `z`) ahead of the block being summed that are asked
/// for early: the reads cross rows, which the hardware prefetcher does not follow.
const PREFETCH_ROWS: usize = 16;

/// Asks the CPU to load the cache line holding `s[i]`, when there is one; a hint only.
#[inline(always)]
fn prefetch(s: &[f64], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = s.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint that never faults, and the pointer is in bounds.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((v as *const f64).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, i);
}

/// The 8 x 8 block of a row-major slice (`width` columns) at (`r`, `c`), when whole.
fn block8(s: &[f64], r: usize, c: usize, width: usize) -> Option<[[f64; 8]; 8]> {
    if c + 8 > width {
        return None;
    }
    let mut out = [[0.0f64; 8]; 8];
    for (k, row) in out.iter_mut().enumerate() {
        let start = (r + k) * width + c;
        *row = s.get(start..start + 8)?.try_into().ok()?;
    }
    Some(out)
}

/// Sum of `f` over two slices of equal length, in eight lanes so it vectorises.
fn slice_sum<F: Fn(f64, f64) -> f64>(xs: &[f64], ys: &[f64], f: &F) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let (xc, yc) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(p, q)| f(*p, *q))
        .sum();
    for (cx, cy) in xc.zip(yc) {
        for ((a, p), q) in acc.iter_mut().zip(cx).zip(cy) {
            *a += f(*p, *q);
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn cmp(op: ElemOp, o: Option<std::cmp::Ordering>, eq: bool) -> bool {
    use std::cmp::Ordering::*;
    match op {
        ElemOp::Eq => eq,
        ElemOp::Ne => !eq,
        ElemOp::Lt => o == Some(Less),
        ElemOp::Le => matches!(o, Some(Less) | Some(Equal)),
        ElemOp::Gt => o == Some(Greater),
        _ => matches!(o, Some(Greater) | Some(Equal)),
    }
}

pub fn scalar_chunk(s: Scalar) -> ArrayChunk {
    s.chunk()
}

/// Reductions NumPy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RKind {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    Any,
    All,
    /// Variance (or standard deviation) with `ddof`; partials are [count, sum, sum of
    /// squares] stacked on a new first axis.
    Var {
        ddof: u32,
        std: bool,
    },
    /// argmin / argmax; partials are [value, global index] stacked on a new first axis.
    Arg {
        max: bool,
    },
}

impl RKind {
    pub fn parse(s: &str) -> Option<RKind> {
        Some(match s {
            "sum" => RKind::Sum,
            "prod" => RKind::Prod,
            "min" => RKind::Min,
            "max" => RKind::Max,
            "mean" => RKind::Mean,
            "any" => RKind::Any,
            "all" => RKind::All,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            RKind::Sum => "sum",
            RKind::Prod => "prod",
            RKind::Min => "min",
            RKind::Max => "max",
            RKind::Mean => "mean",
            RKind::Any => "any",
            RKind::All => "all",
            RKind::Var { std: true, .. } => "std",
            RKind::Var { .. } => "var",
            RKind::Arg { max: true } => "argmax",
            RKind::Arg { max: false } => "argmin",
        }
    }
    /// The result dtype for an input dtype (NumPy: sum/prod of bool or int is int64).
    pub fn result_dtype(self, input: DType) -> DType {
        match self {
            RKind::Mean | RKind::Var { .. } => DType::F64,
            RKind::Arg { .. } => DType::I64,
            RKind::Any | RKind::All => DType::Bool,
            RKind::Min | RKind::Max => input,
            RKind::Sum | RKind::Prod => {
                if input == DType::F64 {
                    DType::F64
                } else {
                    DType::I64
                }
            }
        }
    }
}

/// Reduces a block over `axes` (sorted, distinct), keeping each as a length-1 axis.
/// Mean reduces to sums here; the final step divides by the count. Several axes (but not
/// all) are moved last and merged into one, so one single-axis pass does the work.
pub fn reduce_block(kind: RKind, block: &ArrayChunk, axes: &[usize]) -> Result<ArrayChunk> {
    let nd = block.shape().len();
    let mut keep: Vec<usize> = block
        .shape()
        .iter()
        .enumerate()
        .map(|(i, n)| if axes.contains(&i) { 1 } else { *n })
        .collect();
    if matches!(kind, RKind::Var { .. }) {
        keep.insert(0, 3);
    }
    let out = match axes {
        [ax] => reduce_axis(kind, block, Some(*ax))?,
        _ if axes.len() >= nd => reduce_axis(kind, block, None)?,
        _ => {
            let mut perm: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
            let mut merged: Vec<usize> = perm
                .iter()
                .map(|i| block.shape().get(*i).copied().unwrap_or(0))
                .collect();
            merged.push(
                axes.iter()
                    .map(|a| block.shape().get(*a).copied().unwrap_or(1))
                    .product(),
            );
            perm.extend_from_slice(axes);
            let moved = reshape(&transpose(block, &perm)?, &merged)?;
            reduce_axis(kind, &moved, Some(merged.len() - 1))?
        }
    };
    reshape(&out, &keep)
}

/// The block's elements in C order under a new shape of the same size.
pub fn reshape(c: &ArrayChunk, shape: &[usize]) -> Result<ArrayChunk> {
    if c.shape() == shape {
        return Ok(c.clone());
    }
    macro_rules! go {
        ($a:expr, $v:ident) => {
            ArrayChunk::$v(
                $a.as_standard_layout()
                    .into_owned()
                    .into_shape_with_order(IxDyn(shape))
                    .map_err(|_| {
                        Error::shape(format!(
                            "reshape: a block of shape {:?} cannot become {:?}",
                            c.shape(),
                            shape
                        ))
                    })?,
            )
        };
    }
    Ok(match c {
        ArrayChunk::F64(a) => go!(a, F64),
        ArrayChunk::I64(a) => go!(a, I64),
        ArrayChunk::Bool(a) => go!(a, Bool),
    })
}

/// NumPy's argmin/argmax order: NaN wins (the first NaN is the answer), then the smaller
/// (or larger) value.
fn arg_better(max: bool, cand: f64, cur: f64) -> bool {
    if cur.is_nan() {
        false
    } else if cand.is_nan() {
        true
    } else if max {
        cand > cur
    } else {
        cand < cur
    }
}

/// argmin/argmax of a block whose first element sits at `offset` in an array of shape
/// `full`: [best value, its index] stacked on a new first axis. With `axis` the index is
/// along that axis; without it, the flat (C order) index in the whole array.
pub fn arg_block(
    max: bool,
    block: &ArrayChunk,
    axis: Option<usize>,
    offset: &[usize],
    full: &[usize],
) -> Result<ArrayChunk> {
    let name = if max { "argmax" } else { "argmin" };
    let values = to_f64(block);
    let empty = || Error::value(format!("{name}: attempt to get {name} of an empty sequence"));
    let (best_vals, best_idx, keep): (Vec<f64>, Vec<f64>, Vec<usize>) = match axis {
        None => {
            let mut strides = vec![1usize; full.len()];
            let mut step = 1usize;
            for (s, n) in strides.iter_mut().zip(full).rev() {
                *s = step;
                step = step.saturating_mul(*n);
            }
            let mut best: Option<(f64, usize)> = None;
            for (idx, v) in values.indexed_iter() {
                if best.is_none_or(|(b, _)| arg_better(max, *v, b)) {
                    let flat = ndarray::Dimension::slice(&idx)
                        .iter()
                        .enumerate()
                        .map(|(d, i)| {
                            (offset.get(d).copied().unwrap_or(0) + i) * strides.get(d).copied().unwrap_or(0)
                        })
                        .sum();
                    best = Some((*v, flat));
                }
            }
            let (v, i) = best.ok_or_else(empty)?;
            (vec![v], vec![i as f64], vec![1; values.ndim()])
        }
        Some(ax) => {
            if ax >= values.ndim() {
                return Err(Error::internal(format!("{name}: axis {ax} outside the block")));
            }
            if values.shape().get(ax) == Some(&0) {
                return Err(empty());
            }
            let base = offset.get(ax).copied().unwrap_or(0);
            let (mut vs, mut is) = (Vec::new(), Vec::new());
            for lane in values.lanes(Axis(ax)) {
                let mut best: Option<(f64, usize)> = None;
                for (i, v) in lane.iter().enumerate() {
                    if best.is_none_or(|(b, _)| arg_better(max, *v, b)) {
                        best = Some((*v, i));
                    }
                }
                let (v, i) = best.ok_or_else(empty)?;
                vs.push(v);
                is.push((base + i) as f64);
            }
            let mut keep = values.shape().to_vec();
            if let Some(k) = keep.get_mut(ax) {
                *k = 1;
            }
            (vs, is, keep)
        }
    };
    let mut shape = vec![2];
    shape.extend_from_slice(&keep);
    let mut data = best_vals;
    data.extend(best_idx);
    Ok(ArrayChunk::F64(
        ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| Error::internal(format!("{name}: {e}")))?,
    ))
}

/// The (values, indices) halves of an argmin/argmax partial, in C order.
fn arg_halves(c: &ArrayChunk) -> Result<(Vec<f64>, Vec<f64>)> {
    let a = to_f64(c);
    if a.shape().first() != Some(&2) {
        return Err(Error::internal("arg reduction: partials lost their components"));
    }
    let half = |i: usize| a.index_axis(Axis(0), i).iter().copied().collect::<Vec<f64>>();
    Ok((half(0), half(1)))
}

/// Merges argmin/argmax partials: the better value, and on a tie the lower index.
fn combine_arg(max: bool, parts: &[&ArrayChunk]) -> Result<ArrayChunk> {
    let mut it = parts.iter();
    let first = it
        .next()
        .ok_or_else(|| Error::internal("arg reduction: no partials to combine"))?;
    let shape = first.shape().to_vec();
    let (mut vals, mut idxs) = arg_halves(first)?;
    for p in it {
        if p.shape() != shape.as_slice() {
            return Err(Error::internal("arg reduction: partials of different shapes"));
        }
        let (ov, oi) = arg_halves(p)?;
        for (((av, ai), cv), ci) in vals.iter_mut().zip(idxs.iter_mut()).zip(ov).zip(oi) {
            let tie = !arg_better(max, *av, cv) && (cv == *av || (cv.is_nan() && av.is_nan()));
            if arg_better(max, cv, *av) || (tie && ci < *ai) {
                *av = cv;
                *ai = ci;
            }
        }
    }
    vals.extend(idxs);
    Ok(ArrayChunk::F64(
        ArrayD::from_shape_vec(IxDyn(&shape), vals).map_err(|e| Error::internal(format!("arg: {e}")))?,
    ))
}

/// The last step of argmin/argmax: the index component as int64.
pub fn finish_arg(c: &ArrayChunk) -> Result<ArrayChunk> {
    let a = to_f64(c);
    if a.shape().first().copied().unwrap_or(0) < 2 {
        return Err(Error::internal("arg: partials lost their components"));
    }
    Ok(ArrayChunk::I64(a.index_axis(Axis(0), 1).mapv(|x| x as i64)))
}

fn reduce_axis(kind: RKind, block: &ArrayChunk, axis: Option<usize>) -> Result<ArrayChunk> {
    let out_dtype = kind.result_dtype(dtype_of(block));
    let along = |n: usize| axis.map(Axis).filter(|a| a.0 < n);
    Ok(match (kind, out_dtype) {
        (RKind::Var { .. }, _) => {
            let b = as_f64(block);
            let (n, s, s2) = match along(b.ndim()) {
                Some(ax) => {
                    let len = b.shape().get(ax.0).copied().unwrap_or(0) as f64;
                    let s = b.sum_axis(ax).insert_axis(ax);
                    let s2 = b.mapv(|x| x * x).sum_axis(ax).insert_axis(ax);
                    (s.mapv(|_| len), s, s2)
                }
                None => (
                    ArrayD::from_elem(IxDyn(&[]), b.len() as f64),
                    ArrayD::from_elem(IxDyn(&[]), b.sum()),
                    ArrayD::from_elem(IxDyn(&[]), b.iter().map(|x| x * x).sum()),
                ),
            };
            let parts = [
                n.insert_axis(Axis(0)),
                s.insert_axis(Axis(0)),
                s2.insert_axis(Axis(0)),
            ];
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            ArrayChunk::F64(
                ndarray::concatenate(Axis(0), &views).map_err(|e| Error::shape(format!("var: {e}")))?,
            )
        }
        (RKind::Any | RKind::All, _) => {
            let b = to_bool(block);
            let all = kind == RKind::All;
            ArrayChunk::Bool(match along(b.ndim()) {
                Some(ax) => b
                    .fold_axis(ax, all, |acc, x| if all { *acc && *x } else { *acc || *x })
                    .insert_axis(ax),
                None => ArrayD::from_elem(
                    IxDyn(&[]),
                    if all {
                        b.iter().all(|x| *x)
                    } else {
                        b.iter().any(|x| *x)
                    },
                ),
            })
        }
        (RKind::Arg { .. }, _) => return Err(Error::internal("argmin/argmax partials come from arg_block")),
        (RKind::Min | RKind::Max, _) if block.shape().contains(&0) => {
            return Err(Error::value(format!(
                "{}: zero-size array to reduction operation which has no identity",
                kind.name()
            )))
        }
        (RKind::Sum | RKind::Mean, DType::F64) => {
            // ndarray's sums add contiguous data in several lanes at once (vectorised).
            let b = as_f64(block);
            ArrayChunk::F64(match along(b.ndim()) {
                Some(ax) => b.sum_axis(ax).insert_axis(ax),
                None => ArrayD::from_elem(IxDyn(&[]), b.sum()),
            })
        }
        (_, DType::F64) => {
            let b = as_f64(block);
            let (init, f): (f64, fn(f64, f64) -> f64) = match kind {
                RKind::Prod => (1.0, |a, x| a * x),
                RKind::Min => (f64::INFINITY, |a: f64, x: f64| {
                    if x.is_nan() || a.is_nan() {
                        f64::NAN
                    } else {
                        a.min(x)
                    }
                }),
                RKind::Max => (f64::NEG_INFINITY, |a: f64, x: f64| {
                    if x.is_nan() || a.is_nan() {
                        f64::NAN
                    } else {
                        a.max(x)
                    }
                }),
                _ => (0.0, |a, x| a + x),
            };
            ArrayChunk::F64(match along(b.ndim()) {
                Some(ax) => b.fold_axis(ax, init, |a, x| f(*a, *x)).insert_axis(ax),
                None => ArrayD::from_elem(IxDyn(&[]), b.iter().fold(init, |a, x| f(a, *x))),
            })
        }
        (_, _) => {
            let b = to_i64(block);
            let (init, f): (i64, fn(i64, i64) -> i64) = match kind {
                RKind::Prod => (1, i64::wrapping_mul),
                RKind::Min => (i64::MAX, i64::min),
                RKind::Max => (i64::MIN, i64::max),
                _ => (0, i64::wrapping_add),
            };
            let out = match along(b.ndim()) {
                Some(ax) => b.fold_axis(ax, init, |a, x| f(*a, *x)).insert_axis(ax),
                None => ArrayD::from_elem(IxDyn(&[]), b.iter().fold(init, |a, x| f(a, *x))),
            };
            if out_dtype == DType::Bool {
                ArrayChunk::Bool(out.mapv(|x| x != 0))
            } else {
                ArrayChunk::I64(out)
            }
        }
    })
}

/// Combines partial results of the same shape (sums add, minima take the minimum, ...).
pub fn combine(kind: RKind, parts: &[&ArrayChunk]) -> Result<ArrayChunk> {
    let mut it = parts.iter();
    let first = it
        .next()
        .ok_or_else(|| Error::internal("array reduction: no partials to combine"))?;
    if let RKind::Arg { max } = kind {
        return combine_arg(max, parts);
    }
    if matches!(kind, RKind::Sum | RKind::Mean | RKind::Var { .. }) {
        if let Some(sum) = sum_in_place(parts) {
            return Ok(ArrayChunk::F64(sum));
        }
    }
    let mut acc: ArrayChunk = (*first).clone();
    for p in it {
        let op = match kind {
            RKind::Arg { .. } => return Err(Error::internal("arg partials combine apart")),
            RKind::Sum | RKind::Mean | RKind::Var { .. } => ElemOp::Add,
            RKind::Prod => ElemOp::Mul,
            RKind::Any => ElemOp::Or,
            RKind::All => ElemOp::And,
            RKind::Min | RKind::Max => {
                acc = min_max(kind == RKind::Max, &acc, p)?;
                continue;
            }
        };
        acc = binary(op, &acc, p)?;
    }
    Ok(acc)
}

/// The sum of float partials of one shape, added into one buffer (a blocked matmul adds
/// several big blocks). `None` when they are not all float64 blocks of the same shape.
fn sum_in_place(parts: &[&ArrayChunk]) -> Option<ArrayD<f64>> {
    let (first, rest) = parts.split_first()?;
    let ArrayChunk::F64(first) = first else {
        return None;
    };
    let same = rest
        .iter()
        .all(|p| matches!(p, ArrayChunk::F64(x) if x.shape() == first.shape()));
    if !same {
        return None;
    }
    let mut acc = first.as_standard_layout().into_owned();
    for p in rest {
        if let ArrayChunk::F64(x) = p {
            Zip::from(&mut acc).and(x).for_each(|a, b| *a += *b);
        }
    }
    Some(acc)
}

fn min_max(max: bool, a: &ArrayChunk, b: &ArrayChunk) -> Result<ArrayChunk> {
    if a.shape() != b.shape() {
        return Err(Error::shape("min/max: partials of different shapes"));
    }
    Ok(match (a, b) {
        (ArrayChunk::I64(x), ArrayChunk::I64(y)) => ArrayChunk::I64(
            Zip::from(x)
                .and(y)
                .map_collect(|p, q| if max { *p.max(q) } else { *p.min(q) }),
        ),
        (ArrayChunk::Bool(x), ArrayChunk::Bool(y)) => ArrayChunk::Bool(
            Zip::from(x)
                .and(y)
                .map_collect(|p, q| if max { *p || *q } else { *p && *q }),
        ),
        _ => {
            let (x, y) = (to_f64(a), to_f64(b));
            ArrayChunk::F64(Zip::from(&x).and(&y).map_collect(|p, q| {
                if p.is_nan() || q.is_nan() {
                    f64::NAN
                } else if max {
                    p.max(*q)
                } else {
                    p.min(*q)
                }
            }))
        }
    })
}

/// Removes a length-1 axis (the reduced one) unless keepdims.
pub fn squeeze(c: ArrayChunk, axis: usize) -> ArrayChunk {
    match c {
        ArrayChunk::F64(a) if axis < a.ndim() => ArrayChunk::F64(a.index_axis_move(Axis(axis), 0)),
        ArrayChunk::I64(a) if axis < a.ndim() => ArrayChunk::I64(a.index_axis_move(Axis(axis), 0)),
        ArrayChunk::Bool(a) if axis < a.ndim() => ArrayChunk::Bool(a.index_axis_move(Axis(axis), 0)),
        other => other,
    }
}

/// Divides sums by a count (the last step of mean).
pub fn divide(c: &ArrayChunk, n: usize) -> ArrayChunk {
    ArrayChunk::F64(to_f64(c).mapv(|x| x / n as f64))
}

/// Builds the whole array from its blocks (C order) and the chunks.
pub fn assemble(blocks: &[&ArrayChunk], meta: &super::meta::ArrayMeta) -> Result<ArrayChunk> {
    let shape = IxDyn(&meta.shape);
    let indices = meta.block_indices();
    if indices.len() != blocks.len() {
        return Err(Error::internal(format!(
            "assemble: {} blocks for {} block indices",
            blocks.len(),
            indices.len()
        )));
    }
    macro_rules! build {
        ($variant:ident, $zero:expr, $conv:expr) => {{
            let mut full = ArrayD::from_elem(shape, $zero);
            for (idx, b) in indices.iter().zip(blocks) {
                let off = meta.block_offset(idx);
                let bs = meta.block_shape(idx);
                let data = $conv(*b);
                if data.shape() != bs.as_slice() {
                    return Err(Error::internal(format!(
                        "assemble: block {idx:?} has shape {:?}, expected {bs:?}",
                        data.shape()
                    )));
                }
                let mut view = full.slice_each_axis_mut(|ax| {
                    let a = ax.axis.index();
                    let o = off.get(a).copied().unwrap_or(0);
                    Slice::from(o..o + bs.get(a).copied().unwrap_or(0))
                });
                view.assign(&data);
            }
            ArrayChunk::$variant(full)
        }};
    }
    Ok(match meta.dtype {
        DType::F64 => build!(F64, 0.0, to_f64),
        DType::I64 => build!(I64, 0, to_i64),
        DType::Bool => build!(Bool, false, to_bool),
    })
}

/// Nested lists (a scalar for 0-d), as NumPy's `tolist()`.
pub fn to_value(c: &ArrayChunk) -> Value {
    fn rec<T: Copy>(a: ndarray::ArrayViewD<T>, f: &dyn Fn(T) -> Value) -> Value {
        if a.ndim() == 0 {
            return a.iter().next().map(|x| f(*x)).unwrap_or(Value::Null);
        }
        Value::list(a.outer_iter().map(|sub| rec(sub, f)).collect())
    }
    match c {
        ArrayChunk::F64(a) => rec(a.view(), &|x| Value::Float(x)),
        ArrayChunk::I64(a) => rec(a.view(), &|x| Value::Int(x)),
        ArrayChunk::Bool(a) => rec(a.view(), &|x| Value::Bool(x)),
    }
}

/// Reads nested lists (or a flat list and a shape) into an array of the given dtype.
pub fn from_values(
    data: &serde_json::Value,
    shape: Option<&[usize]>,
    dtype: Option<DType>,
) -> Result<(ArrayChunk, Vec<usize>)> {
    let mut flat: Vec<&serde_json::Value> = Vec::new();
    let mut inferred: Vec<usize> = Vec::new();
    fn walk<'a>(
        v: &'a serde_json::Value,
        depth: usize,
        shape: &mut Vec<usize>,
        flat: &mut Vec<&'a serde_json::Value>,
    ) -> Result<()> {
        match v {
            serde_json::Value::Array(items) => {
                if depth > 32 {
                    return Err(Error::shape("from_array: data nests deeper than 32 axes"));
                }
                match shape.get(depth) {
                    Some(n) if *n != items.len() => {
                        return Err(Error::shape(format!(
                            "from_array: ragged data: axis {depth} has lengths {n} and {}",
                            items.len()
                        )))
                    }
                    None => shape.push(items.len()),
                    _ => {}
                }
                for it in items {
                    walk(it, depth + 1, shape, flat)?;
                }
                Ok(())
            }
            other => {
                if depth < shape.len() {
                    return Err(Error::shape(format!(
                        "from_array: ragged data: a value where axis {depth} expects a list"
                    )));
                }
                flat.push(other);
                Ok(())
            }
        }
    }
    walk(data, 0, &mut inferred, &mut flat)?;
    let shape: Vec<usize> = match shape {
        Some(s) => {
            let n: usize = s.iter().product();
            if n != flat.len() {
                return Err(Error::shape(format!(
                    "from_array: {} values do not fill shape {}",
                    flat.len(),
                    super::meta::fmt_shape(s)
                )));
            }
            s.to_vec()
        }
        None => inferred,
    };
    let all_bool = flat.iter().all(|v| v.is_boolean());
    let all_int = flat.iter().all(|v| v.is_i64());
    let dtype = dtype.unwrap_or(if all_bool && !flat.is_empty() {
        DType::Bool
    } else if all_int {
        DType::I64
    } else {
        DType::F64
    });
    let bad = |v: &serde_json::Value| Error::type_error(format!("from_array: {v} is not a number"));
    let dim = IxDyn(&shape);
    let chunk = match dtype {
        DType::F64 => ArrayChunk::F64(
            ArrayD::from_shape_vec(
                dim,
                flat.iter()
                    .map(|v| {
                        // JSON has no NaN: null stands for it, as in the results.
                        v.as_f64()
                            .or_else(|| v.as_bool().map(|b| f64::from(u8::from(b))))
                            .or_else(|| v.is_null().then_some(f64::NAN))
                            .ok_or_else(|| bad(v))
                    })
                    .collect::<Result<_>>()?,
            )
            .map_err(|e| Error::shape(format!("from_array: {e}")))?,
        ),
        DType::I64 => ArrayChunk::I64(
            ArrayD::from_shape_vec(
                dim,
                flat.iter()
                    .map(|v| {
                        v.as_i64()
                            .or_else(|| v.as_f64().map(|f| f as i64))
                            .or_else(|| v.as_bool().map(i64::from))
                            .ok_or_else(|| bad(v))
                    })
                    .collect::<Result<_>>()?,
            )
            .map_err(|e| Error::shape(format!("from_array: {e}")))?,
        ),
        DType::Bool => ArrayChunk::Bool(
            ArrayD::from_shape_vec(
                dim,
                flat.iter()
                    .map(|v| {
                        v.as_bool()
                            .or_else(|| v.as_f64().map(|f| f != 0.0))
                            .ok_or_else(|| bad(v))
                    })
                    .collect::<Result<_>>()?,
            )
            .map_err(|e| Error::shape(format!("from_array: {e}")))?,
        ),
    };
    Ok((chunk, shape))
}

/// The block at `offset` with `shape` cut out of a whole array.
pub fn cut(whole: &ArrayChunk, offset: &[usize], shape: &[usize]) -> ArrayChunk {
    macro_rules! cut {
        ($a:expr, $v:ident) => {
            ArrayChunk::$v(
                $a.slice_each_axis(|ax| {
                    let i = ax.axis.index();
                    let o = offset.get(i).copied().unwrap_or(0);
                    Slice::from(o..o + shape.get(i).copied().unwrap_or(0))
                })
                .to_owned(),
            )
        };
    }
    match whole {
        ArrayChunk::F64(a) => cut!(a, F64),
        ArrayChunk::I64(a) => cut!(a, I64),
        ArrayChunk::Bool(a) => cut!(a, Bool),
    }
}

/// A block with its axes permuted: a plain copy with permuted strides, not a reordering
/// of the elements (kernels read any layout).
pub fn transpose(c: &ArrayChunk, axes: &[usize]) -> Result<ArrayChunk> {
    check_permutation(axes, c.shape())?;
    Ok(match c {
        ArrayChunk::F64(a) => ArrayChunk::F64(a.clone().permuted_axes(IxDyn(axes))),
        ArrayChunk::I64(a) => ArrayChunk::I64(a.clone().permuted_axes(IxDyn(axes))),
        ArrayChunk::Bool(a) => ArrayChunk::Bool(a.clone().permuted_axes(IxDyn(axes))),
    })
}

/// A float block as the 2-d view a matmul needs.
fn two(x: ndarray::ArrayViewD<'_, f64>) -> Result<ndarray::ArrayView2<'_, f64>> {
    x.into_dimensionality::<ndarray::Ix2>()
        .map_err(|e| Error::shape(format!("matmul: a block is not 2-d: {e}")))
}

/// The product of two 2-d blocks (gemm for floats, a plain loop with NumPy's wrapping for
/// ints).
pub fn matmul(a: &ArrayChunk, b: &ArrayChunk) -> Result<ArrayChunk> {
    if a.shape().get(1) != b.shape().first() {
        return Err(Error::shape(format!(
            "matmul: block shapes {:?} and {:?} do not fit",
            a.shape(),
            b.shape()
        )));
    }
    if dtype_of(a) != DType::F64 && dtype_of(b) != DType::F64 {
        let (x, y) = (to_i64(a), to_i64(b));
        let x = x
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|e| Error::shape(format!("matmul: {e}")))?;
        let y = y
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|e| Error::shape(format!("matmul: {e}")))?;
        let (n, k, p) = (x.nrows(), x.ncols(), y.ncols());
        let mut out = ndarray::Array2::<i64>::zeros((n, p));
        for ((i, j), v) in out.indexed_iter_mut() {
            let mut acc = 0i64;
            for kk in 0..k {
                let (Some(l), Some(r)) = (x.get((i, kk)), y.get((kk, j))) else {
                    continue;
                };
                acc = acc.wrapping_add(l.wrapping_mul(*r));
            }
            *v = acc;
        }
        return Ok(ArrayChunk::I64(out.into_dyn()));
    }
    let (x, y) = (as_f64(a), as_f64(b));
    let (x, y) = (two(x.view())?, two(y.view())?);
    Ok(ArrayChunk::F64(matmul_f64(x, y).into_dyn()))
}

/// The product of two float64 matrices of matching inner size, with gemm's kernels (the
/// CPU's widest SIMD, chosen at run time; a portable one in wasm) on the calling thread:
/// the scheduler already runs blocks in parallel.
fn matmul_f64(x: ndarray::ArrayView2<'_, f64>, y: ndarray::ArrayView2<'_, f64>) -> ndarray::Array2<f64> {
    let mut out = ndarray::Array2::<f64>::zeros((x.nrows(), y.ncols()));
    gemm_into(&mut out, x, y, false);
    out
}

/// `out = x @ y`, or `out += x @ y` when `accumulate`. Does nothing unless the shapes are
/// (m, k), (k, n) and (m, n).
fn gemm_into(
    out: &mut ndarray::Array2<f64>,
    x: ndarray::ArrayView2<'_, f64>,
    y: ndarray::ArrayView2<'_, f64>,
    accumulate: bool,
) {
    let (m, k, n) = (x.nrows(), x.ncols(), y.ncols());
    if m == 0 || n == 0 || k == 0 || y.nrows() != k || out.dim() != (m, n) {
        return;
    }
    let (x_rs, x_cs) = (x.stride_of(Axis(0)), x.stride_of(Axis(1)));
    let (y_rs, y_cs) = (y.stride_of(Axis(0)), y.stride_of(Axis(1)));
    let (out_rs, out_cs) = (out.stride_of(Axis(0)), out.stride_of(Axis(1)));
    // SAFETY: the pointers and strides come from live ndarray views of shapes (m, k) and
    // (k, n) and a mutably borrowed (m, n) array, all checked above; gemm reads and
    // writes exactly those elements. dst = alpha * dst + beta * x @ y, where dst is read
    // only when `accumulate`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            out_cs,
            out_rs,
            accumulate,
            x.as_ptr(),
            x_cs,
            x_rs,
            y.as_ptr(),
            y_cs,
            y_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The sum of the products of block pairs, `a0 @ b0 + a1 @ b1 + ...`: the terms of one
/// output block of a blocked matmul. Floats are added into one output as gemm goes, so no
/// product is built on its own; ints are multiplied pair by pair and summed as NumPy does.
pub fn matmul_sum(pairs: &[(&ArrayChunk, &ArrayChunk)]) -> Result<ArrayChunk> {
    let Some(((a0, b0), _)) = pairs.split_first() else {
        return Err(Error::internal("matmul: no block pairs to multiply"));
    };
    let out_shape = (a0.shape().first().copied(), b0.shape().get(1).copied());
    for (a, b) in pairs {
        if a.shape().len() != 2 || b.shape().len() != 2 || a.shape().get(1) != b.shape().first() {
            return Err(Error::shape(format!(
                "matmul: block shapes {:?} and {:?} do not fit",
                a.shape(),
                b.shape()
            )));
        }
        if (a.shape().first().copied(), b.shape().get(1).copied()) != out_shape {
            return Err(Error::shape(format!(
                "matmul: the terms of one output block have different shapes: {:?} @ {:?} and {:?} @ {:?}",
                a0.shape(),
                b0.shape(),
                a.shape(),
                b.shape()
            )));
        }
    }
    let floats = pairs
        .iter()
        .all(|(a, b)| dtype_of(a) == DType::F64 || dtype_of(b) == DType::F64);
    let (Some(m), Some(n)) = out_shape else {
        return Err(Error::internal("matmul: blocks are not 2-d"));
    };
    if !floats {
        let products: Vec<ArrayChunk> = pairs.iter().map(|(a, b)| matmul(a, b)).collect::<Result<_>>()?;
        let refs: Vec<&ArrayChunk> = products.iter().collect();
        return combine(RKind::Sum, &refs);
    }
    let mut out = ndarray::Array2::<f64>::zeros((m, n));
    for (i, (a, b)) in pairs.iter().enumerate() {
        let (x, y) = (as_f64(a), as_f64(b));
        gemm_into(&mut out, two(x.view())?, two(y.view())?, i > 0);
    }
    Ok(ArrayChunk::F64(out.into_dyn()))
}

/// Where a piece of an output block comes from: input number, the range in that input
/// block, and the offset in the output block, per axis.
#[derive(Debug, Clone)]
pub struct Piece {
    pub input: usize,
    pub src: Vec<(usize, usize)>,
    pub dst: Vec<usize>,
}

/// Builds one block of `shape` from pieces of input blocks (rechunk, concatenate).
pub fn gather(inputs: &[&ArrayChunk], pieces: &[Piece], shape: &[usize], dtype: DType) -> Result<ArrayChunk> {
    macro_rules! build {
        ($v:ident, $zero:expr, $conv:expr) => {{
            let mut out = ArrayD::from_elem(IxDyn(shape), $zero);
            for p in pieces {
                let src = inputs
                    .get(p.input)
                    .ok_or_else(|| Error::internal("rechunk: missing input block"))?;
                let data = $conv(*src);
                for (ax, (a, b)) in p.src.iter().enumerate() {
                    let fits = data.shape().get(ax).is_some_and(|n| a <= b && b <= n)
                        && shape
                            .get(ax)
                            .zip(p.dst.get(ax))
                            .is_some_and(|(n, d)| d + (b - a) <= *n);
                    if !fits {
                        return Err(Error::internal(format!(
                            "rechunk: piece {:?} does not fit",
                            p.src
                        )));
                    }
                }
                let part = data.slice_each_axis(|ax| {
                    let (a, b) = p.src.get(ax.axis.index()).copied().unwrap_or((0, 0));
                    Slice::from(a..b)
                });
                let mut view = out.slice_each_axis_mut(|ax| {
                    let i = ax.axis.index();
                    let (a, b) = p.src.get(i).copied().unwrap_or((0, 0));
                    let d = p.dst.get(i).copied().unwrap_or(0);
                    Slice::from(d..d + (b - a))
                });
                view.assign(&part);
            }
            ArrayChunk::$v(out)
        }};
    }
    Ok(match dtype {
        DType::F64 => build!(F64, 0.0, to_f64),
        DType::I64 => build!(I64, 0, to_i64),
        DType::Bool => build!(Bool, false, to_bool),
    })
}

/// The NumPy broadcast of two shapes, or None when they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let get = |s: &[usize], i: usize| -> usize {
        let pad = n - s.len();
        if i < pad {
            1
        } else {
            s.get(i - pad).copied().unwrap_or(1)
        }
    };
    (0..n)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// A block broadcast to `shape` (size-1 axes stretched, missing leading axes added).
pub fn broadcast_to(c: &ArrayChunk, shape: &[usize]) -> Result<ArrayChunk> {
    let fail = || {
        Error::shape(format!(
            "cannot broadcast a block of shape {:?} to {:?}",
            c.shape(),
            shape
        ))
    };
    Ok(match c {
        ArrayChunk::F64(a) => ArrayChunk::F64(a.broadcast(IxDyn(shape)).ok_or_else(fail)?.to_owned()),
        ArrayChunk::I64(a) => ArrayChunk::I64(a.broadcast(IxDyn(shape)).ok_or_else(fail)?.to_owned()),
        ArrayChunk::Bool(a) => ArrayChunk::Bool(a.broadcast(IxDyn(shape)).ok_or_else(fail)?.to_owned()),
    })
}

/// NumPy's where on one block: each operand broadcast to `shape`, x and y converted to
/// the result dtype.
pub fn where_block(
    cond: &ArrayChunk,
    x: &ArrayChunk,
    y: &ArrayChunk,
    dtype: DType,
    shape: &[usize],
) -> Result<ArrayChunk> {
    let c = to_bool(&broadcast_to(cond, shape)?);
    let (x, y) = (
        broadcast_to(&astype(x, dtype), shape)?,
        broadcast_to(&astype(y, dtype), shape)?,
    );
    Ok(match (x, y) {
        (ArrayChunk::F64(a), ArrayChunk::F64(b)) => ArrayChunk::F64(
            Zip::from(&c)
                .and(&a)
                .and(&b)
                .map_collect(|c, a, b| if *c { *a } else { *b }),
        ),
        (ArrayChunk::I64(a), ArrayChunk::I64(b)) => ArrayChunk::I64(
            Zip::from(&c)
                .and(&a)
                .and(&b)
                .map_collect(|c, a, b| if *c { *a } else { *b }),
        ),
        (ArrayChunk::Bool(a), ArrayChunk::Bool(b)) => ArrayChunk::Bool(
            Zip::from(&c)
                .and(&a)
                .and(&b)
                .map_collect(|c, a, b| if *c { *a } else { *b }),
        ),
        _ => {
            return Err(Error::internal(
                "where: operands of different dtypes after conversion",
            ))
        }
    })
}

/// A per-element expression over one block (map_blocks with an element function): each
/// result must be a number or a bool, converted to `dtype` as astype would.
pub fn map_elements(c: &ArrayChunk, func: &crate::expr::Function, dtype: DType) -> Result<ArrayChunk> {
    let shape = c.shape().to_vec();
    let inputs: Vec<Value> = match c {
        ArrayChunk::F64(a) => a.iter().map(|x| Value::Float(*x)).collect(),
        ArrayChunk::I64(a) => a.iter().map(|x| Value::Int(*x)).collect(),
        ArrayChunk::Bool(a) => a.iter().map(|x| Value::Bool(*x)).collect(),
    };
    let mut f = Vec::new();
    let mut i = Vec::new();
    let mut b = Vec::new();
    for (pos, v) in inputs.iter().enumerate() {
        let out = func.call1(v)?;
        let (fx, ix, bx) = match out {
            Value::Float(x) => (x, x as i64, x != 0.0),
            Value::Int(x) => (x as f64, x, x != 0),
            Value::Bool(x) => (f64::from(u8::from(x)), i64::from(x), x),
            Value::Null => (f64::NAN, 0, false),
            other => {
                return Err(Error::value(format!(
                    "map_blocks: the function returned {} for the element at flat position {pos} of a block; \
                     it must return a number or a bool",
                    other.preview(40)
                )))
            }
        };
        match dtype {
            DType::F64 => f.push(fx),
            DType::I64 => i.push(ix),
            DType::Bool => b.push(bx),
        }
    }
    let bad = |e: ndarray::ShapeError| Error::internal(format!("map_blocks: {e}"));
    Ok(match dtype {
        DType::F64 => ArrayChunk::F64(ArrayD::from_shape_vec(IxDyn(&shape), f).map_err(bad)?),
        DType::I64 => ArrayChunk::I64(ArrayD::from_shape_vec(IxDyn(&shape), i).map_err(bad)?),
        DType::Bool => ArrayChunk::Bool(ArrayD::from_shape_vec(IxDyn(&shape), b).map_err(bad)?),
    })
}

/// What an index keeps of one axis of one block.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisPick {
    /// `len` positions from `start`, `step` apart (a slice; the step may be negative).
    Run { start: usize, step: isize, len: usize },
    /// One position; the axis is dropped (an integer index).
    One(usize),
}

impl AxisPick {
    /// Every position kept, in output order.
    pub fn positions(&self) -> Vec<usize> {
        match *self {
            AxisPick::One(i) => vec![i],
            AxisPick::Run { start, step, len } => (0..len)
                .filter_map(|k| (start as isize).checked_add(step.checked_mul(k as isize)?))
                .filter_map(|i| usize::try_from(i).ok())
                .collect(),
        }
    }

    /// How many positions it keeps.
    pub fn kept(&self) -> usize {
        match *self {
            AxisPick::One(_) => 1,
            AxisPick::Run { len, .. } => len,
        }
    }

    /// The slice of an axis of `axis_len` that a run is, or `None` when it leaves the axis.
    fn slice(&self, axis_len: usize) -> Option<Slice> {
        let AxisPick::Run { start, step, len } = *self else {
            return None;
        };
        if len == 0 {
            return Some(Slice::new(0, Some(0), 1));
        }
        let last = (start as isize).checked_add(step.checked_mul(len as isize - 1)?)?;
        let (lo, hi) = (last.min(start as isize), last.max(start as isize));
        // ndarray walks a negative step down from the end of the range, as Python does.
        (step != 0 && lo >= 0 && (hi as usize) < axis_len).then(|| Slice::new(lo, Some(hi + 1), step))
    }
}

/// Cuts a block by per-axis picks (slicing and integer indexing). Every pick is a view
/// of the block, so only the kept elements are copied, once.
pub fn pick(c: &ArrayChunk, picks: &[AxisPick]) -> Result<ArrayChunk> {
    let outside = || Error::internal("getitem: index outside the block");
    macro_rules! go {
        ($a:expr, $v:ident) => {{
            let mut view = $a.view();
            for (ax, p) in picks.iter().enumerate() {
                let len = view.shape().get(ax).copied().unwrap_or(0);
                match p {
                    AxisPick::One(i) if *i >= len => return Err(outside()),
                    AxisPick::One(_) => {}
                    AxisPick::Run { .. } => {
                        view.slice_axis_inplace(Axis(ax), p.slice(len).ok_or_else(outside)?)
                    }
                }
            }
            // Integer indices last, from the highest axis down, so axis numbers stay valid.
            for (ax, p) in picks.iter().enumerate().rev() {
                if let AxisPick::One(i) = p {
                    view = view.index_axis_move(Axis(ax), *i);
                }
            }
            ArrayChunk::$v(view.to_owned())
        }};
    }
    Ok(match c {
        ArrayChunk::F64(a) => go!(a, F64),
        ArrayChunk::I64(a) => go!(a, I64),
        ArrayChunk::Bool(a) => go!(a, Bool),
    })
}

/// The block converted to another dtype (NumPy's astype: floats to ints truncate).
pub fn astype(c: &ArrayChunk, dtype: DType) -> ArrayChunk {
    match dtype {
        DType::F64 => ArrayChunk::F64(to_f64(c)),
        DType::I64 => ArrayChunk::I64(to_i64(c)),
        DType::Bool => ArrayChunk::Bool(to_bool(c)),
    }
}

/// Values limited to [lo, hi]; ints stay ints when the bounds are ints.
pub fn clip(c: &ArrayChunk, lo: Option<Scalar>, hi: Option<Scalar>) -> ArrayChunk {
    let int_bounds = [lo, hi].iter().all(|b| !matches!(b, Some(Scalar::F64(_))));
    let as_f = |s: Option<Scalar>| {
        s.map(|v| match v {
            Scalar::F64(x) => x,
            Scalar::I64(x) => x as f64,
            Scalar::Bool(b) => f64::from(u8::from(b)),
        })
    };
    if dtype_of(c) != DType::F64 && int_bounds {
        let (l, h) = (as_f(lo).map(|x| x as i64), as_f(hi).map(|x| x as i64));
        return ArrayChunk::I64(to_i64(c).mapv(|x| {
            let x = l.map_or(x, |l| x.max(l));
            h.map_or(x, |h| x.min(h))
        }));
    }
    let (l, h) = (as_f(lo), as_f(hi));
    ArrayChunk::F64(to_f64(c).mapv(|x| {
        let x = l.map_or(x, |l| if x < l { l } else { x });
        h.map_or(x, |h| if x > h { h } else { x })
    }))
}

/// A new length-1 axis at `axis` (stack).
pub fn expand_dims(c: &ArrayChunk, axis: usize) -> ArrayChunk {
    match c {
        ArrayChunk::F64(a) => ArrayChunk::F64(a.clone().insert_axis(Axis(axis.min(a.ndim())))),
        ArrayChunk::I64(a) => ArrayChunk::I64(a.clone().insert_axis(Axis(axis.min(a.ndim())))),
        ArrayChunk::Bool(a) => ArrayChunk::Bool(a.clone().insert_axis(Axis(axis.min(a.ndim())))),
    }
}

/// A block of the identity-like matrix with ones where column - row == k.
pub fn eye_block(shape: &[usize], row0: usize, col0: usize, k: i64) -> ArrayChunk {
    let mut a = ArrayD::<f64>::zeros(IxDyn(shape));
    for (idx, v) in a.indexed_iter_mut() {
        let (r, c) = (idx[0] + row0, idx[1] + col0);
        if c as i64 - r as i64 == k {
            *v = 1.0;
        }
    }
    ArrayChunk::F64(a)
}

/// Seeded random blocks; each block's stream comes from the seed and its block number,
/// so results do not depend on scheduling or worker count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Random,
    Uniform { low: f64, high: f64 },
    Normal { loc: f64, scale: f64 },
    Integers { low: i64, high: i64 },
}

pub fn random_block(shape: &[usize], dist: Dist, seed: u64, block: u64) -> ArrayChunk {
    use rand_core::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ block.wrapping_add(1).wrapping_mul(0xbf58_476d_1ce4_e5b9),
    );
    let n: usize = shape.iter().product();
    let mut unit = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let dim = IxDyn(shape);
    match dist {
        Dist::Integers { low, high } => {
            let span = (high - low).max(1) as f64;
            let v: Vec<i64> = (0..n).map(|_| low + (unit() * span).floor() as i64).collect();
            ArrayChunk::I64(ArrayD::from_shape_vec(dim, v).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))))
        }
        _ => {
            let v: Vec<f64> = (0..n)
                .map(|_| match dist {
                    Dist::Uniform { low, high } => low + (high - low) * unit(),
                    Dist::Normal { loc, scale } => {
                        // Box-Muller; 1 - u keeps the logarithm finite.
                        let (u1, u2) = (1.0 - unit(), unit());
                        loc + scale * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                    }
                    _ => unit(),
                })
                .collect();
            ArrayChunk::F64(ArrayD::from_shape_vec(dim, v).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))))
        }
    }
}

/// The last step of var/std: from stacked [count, sum, sum of squares] partials.
pub fn finish_var(c: &ArrayChunk, ddof: u32, std: bool) -> Result<ArrayChunk> {
    let a = to_f64(c);
    let pick = |i: usize| {
        if a.shape().first().copied().unwrap_or(0) > i {
            Ok(a.index_axis(Axis(0), i).to_owned())
        } else {
            Err(Error::internal("var: partials lost their components"))
        }
    };
    let (n, s, s2) = (pick(0)?, pick(1)?, pick(2)?);
    let d = f64::from(ddof);
    let out = Zip::from(&n).and(&s).and(&s2).map_collect(|n, s, s2| {
        let var = (s2 / n - (s / n) * (s / n)) * n / (n - d);
        let var = if n - d <= 0.0 { f64::NAN } else { var.max(0.0) };
        if std {
            var.sqrt()
        } else {
            var
        }
    });
    Ok(ArrayChunk::F64(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    /// A float block with distinct, irregular values.
    fn floats(rows: usize, cols: usize, seed: f64) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(r, c)| {
            ((r * 31 + c * 7) as f64 * 0.37 + seed).sin() * 10.0
        })
    }

    fn ints(rows: usize, cols: usize) -> Array2<i64> {
        Array2::from_shape_fn((rows, cols), |(r, c)| (r as i64 * 13 - c as i64 * 5) % 17 + 1)
    }

    /// The same values in column-major memory (as a transposed block is stored).
    fn column_major(a: &Array2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros(a.raw_dim().f());
        out.assign(a);
        out
    }

    fn f64_chunk(a: Array2<f64>) -> ArrayChunk {
        ArrayChunk::F64(a.into_dyn())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    fn scalar_of(c: &ArrayChunk) -> f64 {
        as_f64(c).iter().copied().sum()
    }

    #[test]
    fn binary_sum_matches_binary_then_sum() {
        let shapes = [(3, 5), (1, 7), (7, 1), (65, 130), (130, 65), (1, 1)];
        let ops = [
            ElemOp::Add,
            ElemOp::Sub,
            ElemOp::Mul,
            ElemOp::TrueDiv,
            ElemOp::Mod,
            ElemOp::Pow,
        ];
        for (rows, cols) in shapes {
            let x = floats(rows, cols, 0.5);
            // A transposed operand: the transpose of a (cols, rows) block.
            let t = transpose(&f64_chunk(floats(cols, rows, 1.5)), &[1, 0]).unwrap();
            let pairs = [
                (f64_chunk(x.clone()), f64_chunk(floats(rows, cols, 2.5))),
                (f64_chunk(x.clone()), t.clone()),
                (t.clone(), f64_chunk(x.clone())),
                (
                    f64_chunk(column_major(&x)),
                    f64_chunk(column_major(&floats(rows, cols, 3.0))),
                ),
                (f64_chunk(x.clone()), ArrayChunk::I64(ints(rows, cols).into_dyn())),
                (f64_chunk(x.clone()), scalar_chunk(Scalar::F64(1.25))),
                (scalar_chunk(Scalar::I64(3)), f64_chunk(x.clone())),
                (f64_chunk(x.clone()), f64_chunk(floats(1, cols, 4.0))),
            ];
            for op in ops {
                for (a, b) in &pairs {
                    let expected = scalar_of(&binary(op, a, b).unwrap());
                    let got = binary_sum(op, a, b, [None, None]).unwrap().unwrap();
                    let both_nan = expected.is_nan() && got.is_nan();
                    assert!(
                        both_nan || close(got, expected),
                        "{op:?} {rows}x{cols}: {got} != {expected}"
                    );
                }
            }
        }
    }

    /// The transposed-operand path (bands, 8 x 8 blocks, ragged edges) against a plain
    /// double loop, on shapes that are not multiples of the band or the block.
    #[test]
    fn transposed_sum_matches_a_plain_loop() {
        for (rows, cols) in [(1, 1), (3, 70), (64, 64), (65, 129), (130, 7), (9, 33), (16, 40)] {
            let xs: Vec<f64> = (0..rows * cols).map(|v| (v % 17) as f64 * 0.5 - 3.0).collect();
            let zs: Vec<f64> = (0..rows * cols).map(|v| (v % 11) as f64 * 0.25 + 1.0).collect();
            let f = |p: f64, q: f64| p * 2.0 - q;
            let mut expected = 0.0;
            for i in 0..rows {
                for j in 0..cols {
                    expected += f(xs[i * cols + j], zs[j * rows + i]);
                }
            }
            let got = transposed_sum(&xs, &zs, rows, cols, &f);
            assert!(
                (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{rows}x{cols}: {got} != {expected}"
            );
        }
    }

    /// Runs with positive and negative steps, empty runs and integer picks give what
    /// gathering their positions with `select` gives.
    #[test]
    fn pick_matches_select_on_every_kind_of_run() {
        let x = ndarray::Array::from_shape_fn(IxDyn(&[6, 7, 5]), |d| (d[0] * 100 + d[1] * 10 + d[2]) as f64);
        let run = |start, step, len| AxisPick::Run { start, step, len };
        let runs = [
            run(0, 2, 3),
            run(1, 1, 1),
            run(3, 1, 3),
            run(4, -2, 3),
            run(5, -1, 6),
            run(0, 1, 0),
            run(2, 3, 2),
        ];
        for a in &runs {
            for b in &runs {
                for last in [run(0, 4, 2), run(4, -3, 2), AxisPick::One(3)] {
                    let picks = vec![a.clone(), b.clone(), last.clone()];
                    let mut expected = x.select(Axis(0), &a.positions()).select(Axis(1), &b.positions());
                    expected = match &last {
                        AxisPick::One(i) => expected.index_axis_move(Axis(2), *i),
                        run => expected.select(Axis(2), &run.positions()),
                    };
                    let got = pick(&ArrayChunk::F64(x.clone()), &picks).unwrap();
                    assert_eq!(got, ArrayChunk::F64(expected), "{a:?} {b:?} {last:?}");
                }
            }
        }
        assert_eq!(run(4, -2, 3).positions(), vec![4, 2, 0]);
        for bad in [run(0, 2, 4), run(2, -1, 4), run(6, 1, 1), run(0, 0, 2)] {
            let err = pick(&ArrayChunk::F64(x.clone()), &[bad.clone()]).unwrap_err();
            assert!(err.to_string().contains("outside"), "{bad:?}: {err}");
        }
        let err = pick(&ArrayChunk::F64(x.clone()), &[AxisPick::One(6)]).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
    }

    /// A bad axis order is an error naming the block's shape, not a panic.
    #[test]
    fn binary_sum_refuses_an_axis_order_that_is_not_a_permutation() {
        let a = f64_chunk(floats(2, 3, 0.0));
        for axes in [&[0usize][..], &[0, 0], &[1, 2]] {
            let err = binary_sum(ElemOp::Add, &a, &a, [None, Some(axes)])
                .unwrap()
                .unwrap_err();
            assert!(err.to_string().contains("(2, 3)"), "{err}");
        }
    }

    #[test]
    fn binary_sum_leaves_ints_and_comparisons_to_binary() {
        let (a, b) = (
            ArrayChunk::I64(ints(3, 4).into_dyn()),
            ArrayChunk::I64(ints(3, 4).into_dyn()),
        );
        assert!(binary_sum(ElemOp::Add, &a, &b, [None, None]).is_none());
        let x = f64_chunk(floats(3, 4, 0.0));
        assert!(binary_sum(ElemOp::Lt, &x, &x, [None, None]).is_none());
        // True division of ints is float arithmetic.
        let expected = scalar_of(&binary(ElemOp::TrueDiv, &a, &b).unwrap());
        assert!(close(
            binary_sum(ElemOp::TrueDiv, &a, &b, [None, None])
                .unwrap()
                .unwrap(),
            expected
        ));
        assert!(
            binary_sum(ElemOp::Add, &x, &f64_chunk(floats(4, 3, 0.0)), [None, None])
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn binary_reads_transposed_and_broadcast_blocks() {
        let x = floats(4, 6, 0.0);
        let t = transpose(&f64_chunk(floats(6, 4, 1.0)), &[1, 0]).unwrap();
        let got = binary(ElemOp::Add, &f64_chunk(x.clone()), &t).unwrap();
        let expected = &x + &floats(6, 4, 1.0).t();
        assert_eq!(got, ArrayChunk::F64(expected.into_dyn()));
        let row = ArrayChunk::I64(ints(1, 6).into_dyn());
        let got = binary(ElemOp::Mul, &f64_chunk(x.clone()), &row).unwrap();
        let expected = &x * &ints(1, 6).mapv(|v| v as f64);
        assert_eq!(got, ArrayChunk::F64(expected.into_dyn()));
        let got = binary(ElemOp::FloorDiv, &ArrayChunk::I64(ints(4, 6).into_dyn()), &row).unwrap();
        let expected = Zip::from(&ints(4, 6))
            .and_broadcast(&ints(1, 6))
            .map_collect(|p, q| (*p as f64 / *q as f64).floor() as i64);
        assert_eq!(got, ArrayChunk::I64(expected.into_dyn()));
    }

    #[test]
    fn transpose_is_the_reversed_axes() {
        let x = floats(3, 5, 0.0);
        let t = transpose(&f64_chunk(x.clone()), &[1, 0]).unwrap();
        assert_eq!(t, ArrayChunk::F64(x.t().to_owned().into_dyn()));
        let i = ArrayChunk::I64(ints(2, 7).into_dyn());
        assert_eq!(
            transpose(&i, &[1, 0]).unwrap(),
            ArrayChunk::I64(ints(2, 7).t().to_owned().into_dyn())
        );
        // A reshape of a transposed block reads it in logical order.
        let flat = reshape(&t, &[15]).unwrap();
        let expected: Vec<f64> = x.t().iter().copied().collect();
        assert_eq!(
            flat,
            ArrayChunk::F64(ArrayD::from_shape_vec(IxDyn(&[15]), expected).unwrap())
        );
    }

    fn naive_matmul(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|k| a[(i, k)] * b[(k, j)]).sum()
        })
    }

    fn assert_all_close(got: &ArrayChunk, expected: &Array2<f64>) {
        let ArrayChunk::F64(g) = got else {
            panic!("expected a float block, got {got:?}");
        };
        assert_eq!(g.shape(), expected.shape());
        for (p, q) in g.iter().zip(expected.iter()) {
            assert!(close(*p, *q), "{p} != {q}");
        }
    }

    #[test]
    fn matmul_matches_the_naive_product() {
        for (m, k, n) in [
            (3, 5, 2),
            (1, 7, 1),
            (7, 1, 7),
            (1, 9, 4),
            (65, 33, 70),
            (2, 2, 2),
        ] {
            let (a, b) = (floats(m, k, 0.1), floats(k, n, 0.7));
            let expected = naive_matmul(&a, &b);
            assert_all_close(
                &matmul(&f64_chunk(a.clone()), &f64_chunk(b.clone())).unwrap(),
                &expected,
            );
            // Transposed (column-major) operands.
            let at = transpose(&f64_chunk(a.t().to_owned()), &[1, 0]).unwrap();
            let bt = f64_chunk(column_major(&b));
            assert_all_close(&matmul(&at, &bt).unwrap(), &expected);
            // Ints with floats are floats; ints with ints stay ints.
            let (ia, ib) = (ints(m, k), ints(k, n));
            let mixed = matmul(&ArrayChunk::I64(ia.clone().into_dyn()), &f64_chunk(b.clone())).unwrap();
            assert_all_close(&mixed, &naive_matmul(&ia.mapv(|v| v as f64), &b));
            let exact = matmul(
                &ArrayChunk::I64(ia.clone().into_dyn()),
                &ArrayChunk::I64(ib.clone().into_dyn()),
            )
            .unwrap();
            assert_eq!(exact, ArrayChunk::I64(ia.dot(&ib).into_dyn()));
        }
        let (a, b) = (f64_chunk(floats(3, 4, 0.0)), f64_chunk(floats(5, 2, 0.0)));
        assert!(matmul(&a, &b).is_err());
        let empty = matmul(&f64_chunk(floats(3, 0, 0.0)), &f64_chunk(floats(0, 2, 0.0))).unwrap();
        assert_eq!(empty, ArrayChunk::F64(ArrayD::zeros(IxDyn(&[3, 2]))));
    }

    #[test]
    fn matmul_sums_add_every_product_into_one_block() {
        // Terms of different inner sizes, one of them column-major, against the naive sum.
        let (a0, b0) = (floats(33, 20, 0.1), floats(20, 17, 0.2));
        let (a1, b1) = (floats(33, 9, 0.3), floats(9, 17, 0.4));
        let (a2, b2) = (floats(33, 40, 0.5), floats(40, 17, 0.6));
        let expected = naive_matmul(&a0, &b0) + naive_matmul(&a1, &b1) + naive_matmul(&a2, &b2);
        let chunks = [
            f64_chunk(a0),
            f64_chunk(b0),
            f64_chunk(column_major(&a1)),
            f64_chunk(b1),
            f64_chunk(a2),
            f64_chunk(b2),
        ];
        let pairs: Vec<(&ArrayChunk, &ArrayChunk)> = chunks.chunks(2).map(|p| (&p[0], &p[1])).collect();
        assert_all_close(&matmul_sum(&pairs).unwrap(), &expected);
        assert_all_close(
            &matmul_sum(&pairs[..1]).unwrap(),
            &naive_matmul(&floats(33, 20, 0.1), &floats(20, 17, 0.2)),
        );
        // Ints stay ints, summed as NumPy sums them.
        let (ia, ib) = (ints(4, 3), ints(3, 5));
        let (ca, cb) = (
            ArrayChunk::I64(ia.clone().into_dyn()),
            ArrayChunk::I64(ib.clone().into_dyn()),
        );
        let twice = matmul_sum(&[(&ca, &cb), (&ca, &cb)]).unwrap();
        assert_eq!(twice, ArrayChunk::I64((ia.dot(&ib) * 2).into_dyn()));
        // Bad input is an error naming the shapes, not a panic.
        let err = matmul_sum(&[(&chunks[0], &chunks[1]), (&chunks[0], &chunks[3])]).unwrap_err();
        assert!(
            err.to_string().contains("[33, 20] and [9, 17] do not fit"),
            "{err}"
        );
        let err = matmul_sum(&[(&chunks[0], &chunks[1]), (&ca, &cb)]).unwrap_err();
        assert!(err.to_string().contains("different shapes"), "{err}");
        assert!(matmul_sum(&[]).is_err());
    }

    #[test]
    fn sums_of_partials_add_in_place() {
        let parts = [
            f64_chunk(column_major(&floats(5, 3, 0.0))),
            f64_chunk(floats(5, 3, 1.0)),
            transpose(&f64_chunk(floats(3, 5, 2.0)), &[1, 0]).unwrap(),
        ];
        let refs: Vec<&ArrayChunk> = parts.iter().collect();
        let expected = floats(5, 3, 0.0) + floats(5, 3, 1.0) + floats(3, 5, 2.0).t();
        assert_all_close(&combine(RKind::Sum, &refs).unwrap(), &expected);
        // Ints keep their dtype; mixed shapes broadcast as before.
        let i = [
            ArrayChunk::I64(ints(2, 3).into_dyn()),
            ArrayChunk::I64(ints(2, 3).into_dyn()),
        ];
        let refs: Vec<&ArrayChunk> = i.iter().collect();
        assert_eq!(
            combine(RKind::Sum, &refs).unwrap(),
            ArrayChunk::I64((ints(2, 3) * 2).into_dyn())
        );
        let mixed = [
            f64_chunk(floats(2, 3, 0.0)),
            ArrayChunk::I64(ints(2, 3).into_dyn()),
        ];
        let refs: Vec<&ArrayChunk> = mixed.iter().collect();
        assert_all_close(
            &combine(RKind::Sum, &refs).unwrap(),
            &(floats(2, 3, 0.0) + ints(2, 3).mapv(|v| v as f64)),
        );
    }
}
