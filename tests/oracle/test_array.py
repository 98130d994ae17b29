"""Array expressions run by partita (the native CLI) and by NumPy, compared.

Covers what the array collection has so far: creation, element-wise operations with
scalars and between arrays of equal chunks, and reductions over all axes or one axis,
on 1-d to 3-d arrays with odd chunkings. Floats are compared to 1e-12 relative (block
sums add in a different order than NumPy's pairwise sums).
"""

import json
import math
import subprocess

import numpy as np
import pytest

from test_bag import BIN


def run(nodes, outputs):
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": outputs}), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return [out] if len(outputs) == 1 else out


def close(a, b):
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b and type(a) is type(b)
    if isinstance(b, float) or isinstance(a, float):
        if a is None:  # NaN and infinities travel as null in JSON
            return not math.isfinite(b)
        return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b and type(a) is type(b)


RNG = np.random.default_rng(7)
ARRAYS = {
    "ints-1d": (RNG.integers(-50, 50, size=23), 5),
    "floats-2d": (RNG.normal(size=(7, 9)), [3, 4]),
    "floats-2d-explicit": (RNG.normal(size=(5, 4)), [[2, 3], [1, 1, 2]]),
    "ints-3d": (RNG.integers(0, 9, size=(3, 4, 5)), [2, 3, 2]),
    "bools-2d": (RNG.integers(0, 2, size=(4, 6)).astype(bool), 2),
    "single": (np.array([[4.5]]), 1),
}


def source(name):
    data, chunks = ARRAYS[name]
    return {"id": "x", "op": "array.from_array", "args": {"data": data.tolist(), "chunks": chunks}}, data


REDUCTIONS = ["sum", "prod", "min", "max", "mean", "any", "all"]
CASES = []
for name, (data, _) in ARRAYS.items():
    for r in REDUCTIONS:
        if r == "prod" and name != "ints-1d" and data.dtype != bool:
            continue  # products of many normals underflow into noise
        CASES.append((name, r, None, False))
        for axis in range(data.ndim):
            CASES.append((name, r, axis, False))
        if data.ndim > 1:
            CASES.append((name, r, -1, True))


@pytest.mark.parametrize("name,reduction,axis,keepdims", CASES)
def test_reductions_match_numpy(name, reduction, axis, keepdims):
    node, data = source(name)
    args = {"split_every": 2}
    if axis is not None:
        args["axis"] = axis
    if keepdims:
        args["keepdims"] = True
    got = run([node, {"id": "r", "op": f"array.{reduction}", "inputs": ["x"], "args": args}], ["r"])[0]
    expected = getattr(np, reduction)(data, axis=axis, keepdims=keepdims)
    expected = expected.tolist() if hasattr(expected, "tolist") else expected
    assert close(got, expected), f"\npartita: {got}\n  numpy: {expected}"


ELEMWISE = [
    ("add", 3), ("sub", 2.5), ("mul", -2), ("truediv", 4), ("floordiv", 3), ("mod", 4), ("pow", 2),
    ("gt", 0), ("le", 1), ("eq", 2), ("ne", 2),
]
UNARY = ["neg", "abs", "floor", "ceil", "round", "exp", "sin", "cos", "tanh"]
NP = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide, "floordiv": np.floor_divide,
      "mod": np.mod, "pow": np.power, "gt": np.greater, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
      "neg": np.negative, "abs": np.abs, "floor": np.floor, "ceil": np.ceil, "round": np.round, "exp": np.exp,
      "sin": np.sin, "cos": np.cos, "tanh": np.tanh}


@pytest.mark.parametrize("name", ["ints-1d", "floats-2d", "ints-3d"])
@pytest.mark.parametrize("op,scalar", ELEMWISE)
def test_elementwise_with_a_scalar(name, op, scalar):
    node, data = source(name)
    got = run([node, {"id": "e", "op": "array.elemwise", "inputs": ["x"], "args": {"op": op, "other": scalar}}], ["e"])[0]
    assert close(got, NP[op](data, scalar).tolist())
    rev = run([node, {"id": "e", "op": "array.elemwise", "inputs": ["x"], "args": {"op": "sub", "other": scalar, "reverse": True}}], ["e"])[0]
    assert close(rev, np.subtract(scalar, data).tolist())


@pytest.mark.parametrize("name", ["ints-1d", "floats-2d", "floats-2d-explicit"])
@pytest.mark.parametrize("op", UNARY)
def test_unary(name, op):
    node, data = source(name)
    got = run([node, {"id": "e", "op": "array.elemwise", "inputs": ["x"], "args": {"op": op}}], ["e"])[0]
    expected = NP[op](data)
    assert close(got, expected.tolist())


@pytest.mark.parametrize("op", ["add", "mul", "truediv", "lt", "floordiv"])
def test_two_arrays(op):
    a = RNG.integers(1, 20, size=(6, 5))
    b = RNG.integers(1, 20, size=(6, 5))
    nodes = [
        {"id": "a", "op": "array.from_array", "args": {"data": a.tolist(), "chunks": [4, 2]}},
        {"id": "b", "op": "array.from_array", "args": {"data": b.tolist(), "chunks": [4, 2]}},
        {"id": "c", "op": "array.elemwise", "inputs": ["a", "b"], "args": {"op": op}},
        {"id": "s", "op": "array.sum", "inputs": ["c"], "args": {"axis": 0}},
    ]
    c, s = run(nodes, ["c", "s"])
    expected = NP[op](a, b) if op != "lt" else np.less(a, b)
    assert close(c, expected.tolist())
    assert close(s, expected.sum(axis=0).tolist())


def test_creation():
    nodes = [
        {"id": "o", "op": "array.ones", "args": {"shape": [3, 4], "chunks": 2}},
        {"id": "z", "op": "array.zeros", "args": {"shape": 5, "chunks": 2, "dtype": "int64"}},
        {"id": "f", "op": "array.full", "args": {"shape": [2, 3], "fill_value": 7, "chunks": [1, 2]}},
        {"id": "r", "op": "array.arange", "args": {"start": 3, "stop": 40, "step": 4, "chunks": 3}},
        {"id": "rf", "op": "array.arange", "args": {"stop": 2.0, "step": 0.25, "chunks": 3}},
    ]
    o, z, f, r, rf = run(nodes, ["o", "z", "f", "r", "rf"])
    assert close(o, np.ones((3, 4)).tolist())
    assert close(z, np.zeros(5, dtype=np.int64).tolist())
    assert close(f, np.full((2, 3), 7).tolist())
    assert close(r, np.arange(3, 40, 4).tolist())
    assert close(rf, np.arange(0, 2.0, 0.25).tolist())


def test_errors_name_both_shapes():
    nodes = [
        {"id": "a", "op": "array.ones", "args": {"shape": [3, 4], "chunks": 2}},
        {"id": "b", "op": "array.ones", "args": {"shape": [4, 3], "chunks": 2}},
        {"id": "c", "op": "array.elemwise", "inputs": ["a", "b"], "args": {"op": "add"}},
    ]
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": ["c"]}), capture_output=True, text=True)
    assert p.returncode != 0
    assert "shapes (3, 4) (4, 3)" in p.stderr
    bad_axis = [{"id": "a", "op": "array.ones", "args": {"shape": [3, 4]}}, {"id": "s", "op": "array.sum", "inputs": ["a"], "args": {"axis": 2}}]
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": bad_axis, "outputs": ["s"]}), capture_output=True, text=True)
    assert "axis 2 is out of bounds for an array of 2 dimensions (shape (3, 4))" in p.stderr
    bad_chunks = [{"id": "a", "op": "array.ones", "args": {"shape": [5], "chunks": [[2, 2]]}}]
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": bad_chunks, "outputs": ["a"]}), capture_output=True, text=True)
    assert "add up to 4, but the shape (5,) has 5 there" in p.stderr
    huge = [{"id": "a", "op": "array.ones", "args": {"shape": [100000, 100000], "chunks": 1000}}]
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": huge, "outputs": ["a"]}), capture_output=True, text=True)
    assert p.returncode != 0 and "memory budget" in p.stderr


@pytest.mark.parametrize("shape_a,shape_b,ca,cb", [
    ((6, 5), (5, 4), [4, 2], [2, 3]),
    ((9, 9), (9, 9), [2, 2], [2, 2]),
    ((3, 8), (8, 1), [3, 3], [3, 1]),
])
def test_matmul_is_blocked_and_matches_numpy(shape_a, shape_b, ca, cb):
    a = RNG.normal(size=shape_a)
    b = RNG.normal(size=shape_b)
    nodes = [
        {"id": "a", "op": "array.from_array", "args": {"data": a.tolist(), "chunks": ca}},
        {"id": "b", "op": "array.from_array", "args": {"data": b.tolist(), "chunks": cb}},
        {"id": "m", "op": "array.matmul", "inputs": ["a", "b"], "args": {"split_every": 2}},
    ]
    got = run(nodes, ["m"])[0]
    assert close(got, (a @ b).tolist())
    ai = RNG.integers(-5, 5, size=shape_a)
    bi = RNG.integers(-5, 5, size=shape_b)
    nodes[0]["args"]["data"] = ai.tolist()
    nodes[1]["args"]["data"] = bi.tolist()
    assert run(nodes, ["m"])[0] == (ai @ bi).tolist()


def test_matmul_task_count():
    # 4x4 blocks times 4x4 blocks: 16 output blocks, each summing 4 partial products.
    nodes = [
        {"id": "a", "op": "array.ones", "args": {"shape": [8, 8], "chunks": 2}},
        {"id": "b", "op": "array.ones", "args": {"shape": [8, 8], "chunks": 2}},
        {"id": "m", "op": "array.matmul", "inputs": ["a", "b"]},
    ]
    g = json.loads(subprocess.run([BIN, "graph", "-", "--format", "json"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": ["m"]}), capture_output=True, text=True).stdout)
    per_layer = {l["label"]: l["tasks"] for l in g["layers"]}
    assert per_layer["matmul-part"] == 64
    assert per_layer["matmul-sum"] == 16


@pytest.mark.parametrize("name", ["floats-2d", "ints-3d", "floats-2d-explicit"])
def test_transpose(name):
    node, data = source(name)
    got = run([node, {"id": "t", "op": "array.transpose", "inputs": ["x"]}], ["t"])[0]
    assert close(got, data.T.tolist())
    if data.ndim == 3:
        got = run([node, {"id": "t", "op": "array.transpose", "inputs": ["x"], "args": {"axes": [1, 0, 2]}}], ["t"])[0]
        assert close(got, np.transpose(data, (1, 0, 2)).tolist())
    s = run([node, {"id": "t", "op": "array.transpose", "inputs": ["x"]}, {"id": "u", "op": "array.elemwise", "inputs": ["t", "t"], "args": {"op": "add"}}, {"id": "s", "op": "array.sum", "inputs": ["u"]}], ["s"])[0]
    assert close(s, float((data.T + data.T).sum()) if data.dtype.kind == "f" else int((data.T + data.T).sum()))


@pytest.mark.parametrize("sa,sb,ca,cb", [
    ((6, 5), (6, 5), [4, 2], [3, 5]),       # equal shapes, different chunks: unified
    ((6, 5), (5,), [2, 2], [3]),            # a row broadcast down
    ((6, 1), (1, 5), [4, 1], [1, 2]),       # a column times a row
    ((2, 3, 4), (3, 1), [1, 2, 3], [2, 1]), # 3-d with a stretched axis
    ((4,), (), [3], []),                    # a 0-d array
])
@pytest.mark.parametrize("op", ["add", "mul", "lt"])
def test_broadcasting_and_unify_chunks(sa, sb, ca, cb, op):
    a = RNG.normal(size=sa)
    b = RNG.normal(size=sb)
    nodes = [
        {"id": "a", "op": "array.from_array", "args": {"data": a.tolist(), "chunks": ca}},
        {"id": "b", "op": "array.from_array", "args": {"data": b.tolist() if sb else float(b), "shape": list(sb), "chunks": cb}},
        {"id": "c", "op": "array.elemwise", "inputs": ["a", "b"], "args": {"op": op}},
    ]
    got = run(nodes, ["c"])[0]
    expected = NP[op](a, b) if op != "lt" else np.less(a, b)
    assert close(got, expected.tolist())


@pytest.mark.parametrize("shape,old,new", [
    ((10,), [3], [4]),
    ((7, 9), [2, 4], [3, 2]),
    ((6, 6), [[1, 5], [4, 2]], [[3, 3], [2, 2, 2]]),
    ((3, 4, 5), [1, 2, 5], [3, 4, 2]),
])
def test_rechunk_splits_and_joins_blocks(shape, old, new):
    data = RNG.integers(0, 100, size=shape)
    nodes = [
        {"id": "a", "op": "array.from_array", "args": {"data": data.tolist(), "chunks": old}},
        {"id": "r", "op": "array.rechunk", "inputs": ["a"], "args": {"chunks": new}},
        {"id": "s", "op": "array.sum", "inputs": ["r"], "args": {"axis": 0}},
    ]
    r, s = run(nodes, ["r", "s"])
    assert r == data.tolist()
    assert s == data.sum(axis=0).tolist()


def sl(start=None, stop=None, step=None):
    return {"start": start, "stop": stop, "step": step}


INDEXES = [
    ("ints-1d", [sl(2, 17)], np.s_[2:17]),
    ("ints-1d", [sl(None, None, 3)], np.s_[::3]),
    ("ints-1d", [sl(None, None, -2)], np.s_[::-2]),
    ("ints-1d", [sl(-8, -1)], np.s_[-8:-1]),
    ("ints-1d", [7], np.s_[7]),
    ("ints-1d", [-1], np.s_[-1]),
    ("ints-1d", [sl(20, 5, -3)], np.s_[20:5:-3]),
    ("ints-1d", [sl(5, 5)], np.s_[5:5]),
    ("floats-2d", [sl(1, 6), sl(None, None, 2)], np.s_[1:6, ::2]),
    ("floats-2d", [3], np.s_[3]),
    ("floats-2d", [None, 4], np.s_[:, 4]),
    ("floats-2d", [sl(None, None, -1), sl(-3)], np.s_[::-1, -3:]),
    ("ints-3d", [1, sl(1, 3), sl(None, None, 2)], np.s_[1, 1:3, ::2]),
    ("ints-3d", [sl(0, 3, 2), 2, -1], np.s_[0:3:2, 2, -1]),
]


@pytest.mark.parametrize("name,index,np_index", INDEXES)
def test_getitem_matches_numpy(name, index, np_index):
    node, data = source(name)
    got = run([node, {"id": "g", "op": "array.getitem", "inputs": ["x"], "args": {"index": index}}], ["g"])[0]
    expected = data[np_index]
    assert close(got, expected.tolist() if hasattr(expected, "tolist") else expected)


def test_random_slices_with_every_sign_of_step_match_numpy():
    # Irregular chunks, so runs start and end anywhere inside blocks; steps up to beyond the
    # axis, both signs, and starts and stops out of range on either side.
    data = RNG.integers(-1000, 1000, size=(37, 29))
    rng = np.random.default_rng(11)
    bound = lambda n: None if rng.random() < 0.2 else int(rng.integers(-n - 5, n + 6))
    step = lambda n: int(rng.choice([1, 1, 2, 3, 5, 7, -1, -2, -3, -6, n + 4, -(n + 4), 10**18, -(10**18)]))
    nodes = [{"id": "x", "op": "array.from_array", "args": {"data": data.tolist(), "chunks": [[5, 11, 1, 20], [3, 3, 9, 14]]}}]
    expected = []
    for k in range(150):
        a, b = (bound(37), bound(37), step(37)), (bound(29), bound(29), step(29))
        nodes.append({"id": f"g{k}", "op": "array.getitem", "inputs": ["x"], "args": {"index": [sl(*a), sl(*b)]}})
        expected.append(data[slice(*a), slice(*b)].tolist())
    got = run(nodes, [f"g{k}" for k in range(150)])
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g == e, nodes[k + 1]["args"]


def test_slicing_culls_untouched_blocks():
    nodes = [
        {"id": "x", "op": "array.ones", "args": {"shape": [100, 100], "chunks": 10}},
        {"id": "y", "op": "array.elemwise", "inputs": ["x"], "args": {"op": "mul", "other": 2}},
        {"id": "g", "op": "array.getitem", "inputs": ["y"], "args": {"index": [sl(5, 25), sl(90, None)]}},
    ]
    plan = json.dumps({"version": 1, "nodes": nodes, "outputs": ["g"]})
    full = json.loads(subprocess.run([BIN, "graph", "-", "--format", "json"], input=plan, capture_output=True, text=True).stdout)
    culled = json.loads(subprocess.run([BIN, "graph", "-", "--format", "json", "--optimize"], input=plan, capture_output=True, text=True).stdout)
    assert len(full["tasks"]) == 100 + 100 + 3
    # Rows 5..25 touch 3 row blocks, columns 90.. touch 1: 3 blocks of ones and of mul, fused.
    assert len(culled["tasks"]) == 3
    assert run(nodes, ["g"])[0] == (2 * np.ones((20, 10))).tolist()


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis):
    a = RNG.integers(0, 9, size=(4, 6))
    b = RNG.integers(0, 9, size=(4, 6))
    c = RNG.normal(size=(4, 6))
    nodes = [
        {"id": "a", "op": "array.from_array", "args": {"data": a.tolist(), "chunks": [3, 4]}},
        {"id": "b", "op": "array.from_array", "args": {"data": b.tolist(), "chunks": [2, 3]}},
        {"id": "c", "op": "array.from_array", "args": {"data": c.tolist(), "chunks": [4, 2]}},
        {"id": "cat", "op": "array.concatenate", "inputs": ["a", "b", "c"], "args": {"axis": axis}},
        {"id": "st", "op": "array.stack", "inputs": ["a", "b"], "args": {"axis": axis}},
    ]
    cat, st = run(nodes, ["cat", "st"])
    assert close(cat, np.concatenate([a, b, c], axis=axis).tolist())
    assert st == np.stack([a, b], axis=axis).tolist()


def test_astype_and_clip():
    data = RNG.normal(size=(5, 4)) * 10
    node = {"id": "x", "op": "array.from_array", "args": {"data": data.tolist(), "chunks": 2}}
    i, c, ci, b = run(
        [
            node,
            {"id": "i", "op": "array.astype", "inputs": ["x"], "args": {"dtype": "int64"}},
            {"id": "c", "op": "array.clip", "inputs": ["x"], "args": {"min": -3.5, "max": 4}},
            {"id": "ci", "op": "array.clip", "inputs": ["i"], "args": {"min": 0}},
            {"id": "b", "op": "array.astype", "inputs": ["x"], "args": {"dtype": "bool"}},
        ],
        ["i", "c", "ci", "b"],
    )
    assert i == data.astype(np.int64).tolist()
    assert close(c, np.clip(data, -3.5, 4).tolist())
    assert ci == np.clip(data.astype(np.int64), 0, None).tolist()
    assert b == data.astype(bool).tolist()


@pytest.mark.parametrize("start,stop,num,endpoint", [(0, 1, 11, True), (-2.5, 7, 9, False), (3, 3, 1, True), (0, 10, 50, True)])
def test_linspace(start, stop, num, endpoint):
    got = run([{"id": "l", "op": "array.linspace", "args": {"start": start, "stop": stop, "num": num, "endpoint": endpoint, "chunks": 4}}], ["l"])[0]
    assert close(got, np.linspace(start, stop, num, endpoint=endpoint).tolist())


@pytest.mark.parametrize("n,m,k", [(5, None, 0), (4, 7, 2), (6, 3, -1)])
def test_eye(n, m, k):
    args = {"N": n, "k": k, "chunks": 2}
    if m is not None:
        args["M"] = m
    got = run([{"id": "e", "op": "array.eye", "args": args}], ["e"])[0]
    assert close(got, np.eye(n, m, k).tolist())


def test_random_is_seeded_per_block_and_independent_of_workers():
    def sample(workers, dist, **kw):
        nodes = [{"id": "r", "op": "array.random", "args": {"size": [200, 50], "chunks": [64, 20], "seed": 42, "distribution": dist, **kw}}]
        p = subprocess.run([BIN, "run", "-", "-q", "--workers", str(workers)], input=json.dumps({"version": 1, "nodes": nodes, "outputs": ["r"]}), capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return np.array(json.loads(p.stdout))

    a = sample(1, "random")
    assert (a == sample(2, "random")).all() and (a == sample(4, "random")).all()
    assert 0 <= a.min() and a.max() < 1 and abs(a.mean() - 0.5) < 0.02
    n = sample(2, "normal", loc=3, scale=2)
    assert abs(n.mean() - 3) < 0.1 and abs(n.std() - 2) < 0.1
    i = sample(2, "integers", low=-3, high=4)
    assert i.dtype.kind == "i" and i.min() == -3 and i.max() == 3
    u = sample(2, "uniform", low=10, high=12)
    assert 10 <= u.min() and u.max() < 12


@pytest.mark.parametrize("name", ["floats-2d", "ints-3d", "floats-2d-explicit", "ints-1d"])
@pytest.mark.parametrize("reduction", ["var", "std"])
@pytest.mark.parametrize("ddof", [0, 1])
def test_var_and_std(name, reduction, ddof):
    node, data = source(name)
    for axis in [None] + list(range(data.ndim)):
        args = {"ddof": ddof, "split_every": 2}
        if axis is not None:
            args["axis"] = axis
        got = run([node, {"id": "r", "op": f"array.{reduction}", "inputs": ["x"], "args": args}], ["r"])[0]
        expected = getattr(np, reduction)(data, axis=axis, ddof=ddof)
        expected = expected.tolist() if hasattr(expected, "tolist") else float(expected)
        # One pass of sums and sums of squares: agree to 1e-9 relative with NumPy's two passes.
        flat_got = np.array(got, dtype=float).ravel()
        flat_exp = np.array(expected, dtype=float).ravel()
        assert np.allclose(flat_got, flat_exp, rtol=1e-9, atol=1e-12), (axis, got, expected)


AXIS_TUPLES = [
    ("ints-3d", (0, 2)), ("ints-3d", (1, 2)), ("ints-3d", (0, 1, 2)), ("ints-3d", (-1, 0)),
    ("floats-2d", (0, 1)), ("floats-2d-explicit", (1, 0)),
]


@pytest.mark.parametrize("name,axis", AXIS_TUPLES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "var", "any"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_axis_tuples(name, axis, reduction, keepdims):
    node, data = source(name)
    args = {"axis": list(axis), "keepdims": keepdims, "split_every": 2}
    got = run([node, {"id": "r", "op": f"array.{reduction}", "inputs": ["x"], "args": args}], ["r"])[0]
    expected = getattr(np, reduction)(data, axis=axis, keepdims=keepdims)
    expected = expected.tolist() if hasattr(expected, "tolist") else expected
    if reduction == "var":
        assert np.allclose(np.array(got, dtype=float), np.array(expected, dtype=float), rtol=1e-9, atol=1e-12)
    else:
        assert close(got, expected), f"\npartita: {got}\n  numpy: {expected}"


@pytest.mark.parametrize("name", ["ints-1d", "floats-2d", "ints-3d", "bools-2d", "single"])
@pytest.mark.parametrize("reduction", ["sum", "min", "all"])
def test_keepdims_without_axis(name, reduction):
    node, data = source(name)
    got = run([node, {"id": "r", "op": f"array.{reduction}", "inputs": ["x"], "args": {"keepdims": True}}], ["r"])[0]
    assert close(got, getattr(np, reduction)(data, keepdims=True).tolist())


TIES = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 9], [1, 1, 1, 1, 1]])
WITH_NAN = np.array([[0.5, np.nan, -2.0, 7.0], [np.nan, 1.0, 1.0, -2.0], [3.0, 3.0, 8.0, 8.0]])


@pytest.mark.parametrize("data,chunks", [
    (TIES, [2, 2]), (TIES, [1, 3]), (WITH_NAN, [2, 3]), (WITH_NAN[:, 2:], [1, 1]),
    (ARRAYS["ints-3d"][0], [2, 3, 2]), (ARRAYS["floats-2d"][0], [3, 4]), (ARRAYS["ints-1d"][0], 5),
    (ARRAYS["bools-2d"][0], 2), (np.array([[4.5]]), 1),
])
@pytest.mark.parametrize("reduction", ["argmin", "argmax"])
def test_argmin_argmax_first_occurrence_and_nan(data, chunks, reduction):
    node = {"id": "x", "op": "array.from_array", "args": {"data": np.where(np.isnan(data), None, data).tolist() if data.dtype.kind == "f" else data.tolist(), "chunks": chunks, "dtype": str(data.dtype)}}
    for axis in [None] + list(range(data.ndim)) + [-1]:
        for keepdims in [False, True]:
            args = {"split_every": 2, "keepdims": keepdims}
            if axis is not None:
                args["axis"] = axis
            got = run([node, {"id": "r", "op": f"array.{reduction}", "inputs": ["x"], "args": args}], ["r"])[0]
            expected = getattr(np, reduction)(data, axis=axis, keepdims=keepdims)
            assert got == expected.tolist(), (axis, keepdims, got, expected)


@pytest.mark.parametrize("sc,sx,sy,cc,cx,cy", [
    ((6, 5), (6, 5), (6, 5), [4, 2], [3, 5], [2, 2]),
    ((6, 5), (5,), (6, 1), [2, 2], [3], [4, 1]),
    ((4,), (3, 4), (), [3], [2, 2], []),
])
def test_where_broadcasts_three_operands(sc, sx, sy, cc, cx, cy):
    cond = RNG.normal(size=sc) > 0
    x = RNG.integers(0, 9, size=sx)
    y = RNG.normal(size=sy)
    nodes = [
        {"id": "c", "op": "array.from_array", "args": {"data": cond.tolist(), "chunks": cc, "shape": list(sc)}},
        {"id": "x", "op": "array.from_array", "args": {"data": x.tolist(), "chunks": cx, "shape": list(sx)}},
        {"id": "y", "op": "array.from_array", "args": {"data": y.tolist() if sy else float(y), "chunks": cy, "shape": list(sy)}},
        {"id": "w", "op": "array.where", "inputs": ["c", "x", "y"]},
    ]
    assert close(run(nodes, ["w"])[0], np.where(cond, x, y).tolist())


def test_where_with_numbers_and_a_computed_condition():
    data = ARRAYS["floats-2d"][0]
    node, _ = source("floats-2d")
    gt = {"id": "gt", "op": "array.elemwise", "inputs": ["x"], "args": {"op": "gt", "other": 0}}
    nodes = [
        node, gt,
        {"id": "a", "op": "array.where", "inputs": ["gt", "x"], "args": {"y": 0}},
        {"id": "b", "op": "array.where", "inputs": ["gt"], "args": {"x": 1, "y": -1}},
        {"id": "c", "op": "array.where", "inputs": ["gt", "x"], "args": {"x": 2.5}},
    ]
    a, b, c = run(nodes, ["a", "b", "c"])
    assert close(a, np.where(data > 0, data, 0).tolist())
    assert b == np.where(data > 0, 1, -1).tolist()
    assert close(c, np.where(data > 0, 2.5, data).tolist())


@pytest.mark.parametrize("func,dtype,npf", [
    ("x => x * 2 + 1", None, lambda a: a * 2 + 1),
    ("lambda x: x ** 2 if x > 0 else 0", None, lambda a: np.where(a > 0, a ** 2, 0)),
    ("x => Math.sqrt(Math.abs(x))", None, lambda a: np.sqrt(np.abs(a))),
    ("lambda x: x % 3 == 0", None, lambda a: a % 3 == 0),
    ("x => x / 4", "int64", lambda a: (a / 4).astype(np.int64)),
])
@pytest.mark.parametrize("name", ["ints-1d", "ints-3d"])
def test_map_blocks_with_an_expression(func, dtype, npf, name):
    node, data = source(name)
    args = {"func": func}
    if dtype:
        args["dtype"] = dtype
    got = run([node, {"id": "m", "op": "array.map_blocks", "inputs": ["x"], "args": args}], ["m"])[0]
    assert close(got, npf(data).tolist())


RESHAPES = [
    ((24,), [5], (4, 6)), ((24,), [6], (2, 3, 4)), ((4, 6), [2, 3], (24,)), ((4, 6), [3, 4], (6, 4)),
    ((2, 3, 4), [1, 2, 2], (6, 4)), ((2, 3, 4), [1, 1, 4], (2, 12)), ((6, 4), [3, 2], (2, 3, 4)),
    ((3, 1, 4), [2, 1, 2], (3, 4)), ((3, 4), [2, 3], (3, 1, 4)), ((12,), [5], (-1, 3)), ((1,), [1], ()),
    ((0, 3), [1, 3], (3, 0)),
]


@pytest.mark.parametrize("shape,chunks,new", RESHAPES)
def test_reshape_matches_numpy(shape, chunks, new):
    data = np.arange(int(np.prod(shape))).reshape(shape)
    nodes = [
        {"id": "x", "op": "array.from_array", "args": {"data": data.ravel().tolist(), "shape": list(shape), "chunks": chunks, "dtype": "int64"}},
        {"id": "r", "op": "array.reshape", "inputs": ["x"], "args": {"shape": list(new)}},
    ]
    got = run(nodes, ["r"])[0]
    assert got == data.reshape(new).tolist()


def test_blocks_pick_whole_blocks():
    data = RNG.integers(0, 99, size=(7, 9))
    node = {"id": "x", "op": "array.from_array", "args": {"data": data.tolist(), "chunks": [3, 4]}}
    # Rows in blocks of 3 (3, 3, 1), columns of 4 (4, 4, 1).
    one, row, rev = run(
        [
            node,
            {"id": "one", "op": "array.blocks", "inputs": ["x"], "args": {"index": [1, 2]}},
            {"id": "row", "op": "array.blocks", "inputs": ["x"], "args": {"index": [0]}},
            {"id": "rev", "op": "array.blocks", "inputs": ["x"], "args": {"index": [sl(None, None, -1), sl(0, 2)]}},
        ],
        ["one", "row", "rev"],
    )
    assert one == data[3:6, 8:9].tolist()
    assert row == data[0:3].tolist()
    assert rev == np.concatenate([data[6:7, :8], data[3:6, :8], data[0:3, :8]]).tolist()


def metadata(nodes, output):
    p = subprocess.run([BIN, "validate", "-"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": [output]}), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.splitlines() if l.startswith(f"{output}: ")][0]
    return json.loads(line[len(output) + 2:])


def test_metadata_matches_dask_array():
    import dask.array as da

    x = da.ones((17, 23, 5), chunks=(4, 6, 5))
    cases = [
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}}], "x", x),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}},
          {"id": "s", "op": "array.sum", "inputs": ["x"], "args": {"axis": [0, 2], "keepdims": True}}], "s", x.sum(axis=(0, 2), keepdims=True)),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}},
          {"id": "g", "op": "array.getitem", "inputs": ["x"], "args": {"index": [sl(None, None, 2), sl(3, 20), 1]}}], "g", x[::2, 3:20, 1]),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}},
          {"id": "b", "op": "array.blocks", "inputs": ["x"], "args": {"index": [sl(1, 3), -1]}}], "b", x.blocks[1:3, -1]),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}},
          {"id": "r", "op": "array.rechunk", "inputs": ["x"], "args": {"chunks": [5, 10, 2]}}], "r", x.rechunk((5, 10, 2))),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}},
          {"id": "a", "op": "array.argmax", "inputs": ["x"], "args": {"axis": 1}}], "a", x.argmax(axis=1)),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [17, 23, 5], "chunks": [4, 6, 5]}},
          {"id": "t", "op": "array.transpose", "inputs": ["x"]}], "t", x.T),
        ([{"id": "a", "op": "array.ones", "args": {"shape": [9, 6], "chunks": [4, 4]}},
          {"id": "b", "op": "array.ones", "args": {"shape": [6, 5], "chunks": [4, 2]}},
          {"id": "m", "op": "array.matmul", "inputs": ["a", "b"]}], "m", da.ones((9, 6), chunks=4) @ da.ones((6, 5), chunks=(4, 2))),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [24], "chunks": 6}},
          {"id": "r", "op": "array.reshape", "inputs": ["x"], "args": {"shape": [4, 6]}}], "r", da.ones(24, chunks=6).reshape(4, 6)),
        ([{"id": "x", "op": "array.ones", "args": {"shape": [4, 6], "chunks": [1, 6]}},
          {"id": "r", "op": "array.reshape", "inputs": ["x"], "args": {"shape": [24]}}], "r", da.ones((4, 6), chunks=(1, 6)).reshape(24)),
    ]
    for nodes, out, expected in cases:
        got = metadata(nodes, out)
        assert tuple(got["shape"]) == expected.shape, out
        assert tuple(tuple(c) for c in got["chunks"]) == expected.chunks, (out, got["chunks"], expected.chunks)
        assert tuple(got["numblocks"]) == expected.numblocks
        assert got["npartitions"] == expected.npartitions
        assert got["nbytes"] == expected.nbytes
        assert got["dtype"] == str(expected.dtype)
        assert got["ndim"] == expected.ndim
