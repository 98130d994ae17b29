"""DataFrame ops beyond the first slice, run by partita (the native CLI) and by pandas,
compared: expression filters and assign, rename, drop, astype, fillna, dropna, isnull,
partitions, tail, from_columns, from_array, bag.to_dataframe, map_partitions,
drop_duplicates, std, var, nunique, describe, value_counts and to_csv. Every pipeline
runs over several partition counts, with nulls, and after a filter that leaves some
partitions empty.
"""

import io
import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from test_bag import BIN
from test_dataframe import fails, records, run, series


def close(a, b, tol=1e-9):
    """Like test_dataframe.same, with a tolerance for statistics merged in a tree."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    nan = lambda v: v is None or (isinstance(v, float) and math.isnan(v))
    if nan(a) or nan(b):
        return nan(a) and nan(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


RNG = np.random.default_rng(5)
N = 97
ROWS = [
    {
        "key": int(RNG.integers(0, 6)),
        "cat": ["a", "b", "c", None][int(RNG.integers(0, 4))],
        "val": None if RNG.random() < 0.15 else round(float(RNG.normal()), 3),
        "flag": bool(RNG.integers(0, 2)),
    }
    for _ in range(N)
]
PDF = pd.DataFrame(ROWS).astype({"val": "float64"})
PARTS = [1, 4, 13]


def source(parts):
    return {"id": "df", "op": "dataframe.from_records", "args": {"records": ROWS, "npartitions": parts}}


def pipe(parts, *steps):
    """Nodes: the source, then the steps in a chain; returns them and the last id."""
    nodes = [source(parts)]
    prev = "df"
    for i, (op, args) in enumerate(steps):
        nodes.append({"id": f"s{i}", "op": f"dataframe.{op}", "inputs": [prev], "args": args})
        prev = f"s{i}"
    return nodes, prev


EMPTY_SOURCE = [
    {"id": "df", "op": "dataframe.from_records", "args": {"records": ROWS, "npartitions": 7}},
    # Keeps only rows of the middle partitions: the others become empty.
    {"id": "e", "op": "dataframe.filter", "inputs": ["df"], "args": {"expr": "r => r.key == 5"}},
]
EMPTY_PDF = PDF[PDF.key == 5]

QUERIES = [
    ("r => r.val > 0.5", lambda d: d[d.val > 0.5]),
    ("r => r.val > 0.5 && r.cat == 'a'", lambda d: d[(d.val > 0.5) & (d.cat == "a")]),
    ("lambda r: (r['val'] > 0.5) & (r['cat'] == 'a')", lambda d: d[(d.val > 0.5) & (d.cat == "a")]),
    ("lambda r: r.val > 0.5 and r.cat == 'a'", lambda d: d[(d.val > 0.5) & (d.cat == "a")]),
    ("r => r.key % 2 == 1 || !r.flag", lambda d: d[(d.key % 2 == 1) | ~d.flag]),
    ("lambda r: ~(r.key >= 3) | (r.val < -1)", lambda d: d[~(d.key >= 3) | (d.val < -1)]),
    ("r => r.cat == null", lambda d: d[d.cat.isna()]),
    ("lambda r: r.val is not None and abs(r.val) < 0.3", lambda d: d[d.val.abs() < 0.3]),
    ("r => -r.val * 2 + r.key / 4 >= 1", lambda d: d[-d.val * 2 + d.key / 4 >= 1]),
    ("lambda r: 1 <= r.key < 4", lambda d: d[(d.key >= 1) & (d.key < 4)]),
    ("r => r.flag", lambda d: d[d.flag]),
    ("r => r.cat != 'b'", lambda d: d[d.cat != "b"]),
]


@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("expr,pandas", QUERIES)
def test_query_and_filter_expressions(expr, pandas, parts):
    for op, arg in [("query", "expr"), ("filter", "expr")]:
        nodes, out = pipe(parts, (op, {arg: expr}))
        assert close(run(nodes, out), records(pandas(PDF))), (op, expr)


ASSIGNS = [
    ({"z": "r => r.key * 2"}, lambda d: d.assign(z=d.key * 2)),
    ({"z": "lambda r: r.val / 2 + r.key"}, lambda d: d.assign(z=d.val / 2 + d.key)),
    ({"key": "r => r.key - 10", "w": "lambda r: r.key // 4"}, lambda d: d.assign(w=d.key // 4, key=d.key - 10)[["key", "cat", "val", "flag", "w"]]),
    ({"m": "lambda r: r.key % 4 - r.val ** 2"}, lambda d: d.assign(m=d.key % 4 - d.val**2)),
    ({"s": "r => r.cat + '!'"}, lambda d: d.assign(s=d.cat + "!")),
    ({"big": "r => r.val > 0 ? r.val : 0"}, lambda d: d.assign(big=d.val.where(d.val > 0, 0))),
    ({"b": "lambda r: r.flag and r.key > 2"}, lambda d: d.assign(b=d.flag & (d.key > 2))),
]


@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("columns,pandas", ASSIGNS)
def test_assign(columns, pandas, parts):
    nodes, out = pipe(parts, ("assign", {"columns": columns}))
    assert close(run(nodes, out), records(pandas(PDF)))


@pytest.mark.parametrize("parts", PARTS)
def test_rename_drop_astype(parts):
    nodes, out = pipe(parts, ("rename", {"columns": {"val": "value", "cat": "kind"}}), ("drop", {"columns": ["flag"]}))
    assert close(run(nodes, out), records(PDF.rename(columns={"val": "value", "cat": "kind"}).drop(columns=["flag"])))
    nodes, out = pipe(parts, ("astype", {"dtypes": {"key": "float64", "flag": "int64"}}))
    assert close(run(nodes, out), records(PDF.astype({"key": "float64", "flag": "int64"})))
    nodes, out = pipe(parts, ("astype", {"dtypes": {"key": "string", "flag": "string"}}))
    assert run(nodes, out) == records(PDF.astype({"key": "str", "flag": "str"}))
    nodes, out = pipe(parts, ("astype", {"dtypes": {"key": "bool"}}))
    assert run(nodes, out) == records(PDF.astype({"key": "bool"}))


@pytest.mark.parametrize("parts", PARTS)
def test_fillna_dropna_isnull(parts):
    nodes, out = pipe(parts, ("fillna", {"value": {"val": 0.0, "cat": "none"}}))
    assert close(run(nodes, out), records(PDF.fillna({"val": 0.0, "cat": "none"})))
    nodes, out = pipe(parts, ("fillna", {"value": -1}))
    # A scalar fills the numeric columns it fits (pandas would also put -1 in the string column).
    assert close(run(nodes, out), records(PDF.fillna({"val": -1})))
    for how in ["any", "all"]:
        nodes, out = pipe(parts, ("dropna", {"how": how}))
        assert close(run(nodes, out), records(PDF.dropna(how=how)))
        nodes, out = pipe(parts, ("dropna", {"subset": ["val", "cat"], "how": how}))
        assert close(run(nodes, out), records(PDF.dropna(subset=["val", "cat"], how=how)))
    nodes, out = pipe(parts, ("isnull", {}))
    assert run(nodes, out) == records(PDF.isnull())


@pytest.mark.parametrize("parts", [4, 13])
def test_partitions_and_tail(parts):
    import dask.dataframe as dd

    ddf = dd.from_pandas(PDF, npartitions=parts, sort=True)
    for index in [0, 2, -1, [0, 2], [1, 3]]:
        nodes, out = pipe(parts, ("partitions", {"index": index}))
        expected = ddf.partitions[index].compute()
        assert close(run(nodes, out), records(expected)), index
        p = subprocess.run([BIN, "validate", "-"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": [out]}), capture_output=True, text=True)
        meta = json.loads(p.stdout.splitlines()[-1].split(": ", 1)[1])
        assert tuple(meta["divisions"]) == ddf.partitions[index].divisions, index
    for n in [0, 3, 50]:
        nodes, out = pipe(parts, ("tail", {"n": n}))
        assert close(run(nodes, out), records(ddf.tail(n, compute=True))), n


@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("split_every", [2, 8])
def test_drop_duplicates_nunique_value_counts(parts, split_every):
    nodes, out = pipe(parts, ("drop_duplicates", {"subset": ["key", "cat"], "split_every": split_every}))
    assert run(nodes, out) == records(PDF.drop_duplicates(subset=["key", "cat"]))
    nodes, out = pipe(parts, ("select", {"columns": ["key", "flag"]}), ("drop_duplicates", {"split_every": split_every}))
    assert run(nodes, out) == records(PDF[["key", "flag"]].drop_duplicates())
    nodes, out = pipe(parts, ("nunique", {"split_every": split_every}))
    assert run(nodes, out) == series(PDF.nunique())
    for col in ["key", "cat", "flag"]:
        nodes, out = pipe(parts, ("value_counts", {"column": col, "split_every": split_every}))
        got = run(nodes, out)
        expected = PDF[col].value_counts()
        counts = [r["count"] for r in got]
        assert counts == sorted(counts, reverse=True)
        assert {r[col]: r["count"] for r in got} == series(expected)
        # After a filter (run with value_counts as one kernel for int and string columns),
        # on a column with nulls, where val's nulls drop their rows.
        nodes, out = pipe(parts, ("filter", {"predicate": {"col": "val", "op": "gt", "value": 0.2}}),
                          ("value_counts", {"column": col, "split_every": split_every}))
        got = run(nodes, out)
        assert {r[col]: r["count"] for r in got} == series(PDF[PDF.val > 0.2][col].value_counts()), col


@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("split_every", [2, 8])
def test_std_var_describe(parts, split_every):
    for op in ["std", "var"]:
        nodes, out = pipe(parts, (op, {"split_every": split_every}))
        assert close(run(nodes, out), series(getattr(PDF, op)(numeric_only=True))), op
        nodes, out = pipe(parts, (op, {"ddof": 0}))
        assert close(run(nodes, out), series(getattr(PDF, op)(numeric_only=True, ddof=0))), op
    nodes, out = pipe(parts, ("describe", {"split_every": split_every}))
    expected = {c: series(s) for c, s in PDF.describe().to_dict(orient="series").items()}
    assert close(run(nodes, out), expected)


def test_ops_after_empty_partitions():
    d = EMPTY_PDF
    def go(op, args):
        return run(EMPTY_SOURCE + [{"id": "o", "op": f"dataframe.{op}", "inputs": ["e"], "args": args}], "o")
    assert close(go("std", {}), series(d.std(numeric_only=True)))
    assert go("nunique", {"split_every": 2}) == series(d.nunique())
    assert go("drop_duplicates", {"subset": ["cat"]}) == records(d.drop_duplicates(subset=["cat"]))
    assert {r["cat"]: r["count"] for r in go("value_counts", {"column": "cat"})} == series(d.cat.value_counts())
    assert close(go("describe", {}), {c: series(s) for c, s in d.describe().to_dict(orient="series").items()})
    assert close(go("assign", {"columns": {"z": "r => r.val * 3"}}), records(d.assign(z=d.val * 3)))
    assert close(go("dropna", {}), records(d.dropna()))
    # tail reads the last partition only (rows 84..96 of 7 partitions), as in Dask.
    last = PDF.iloc[84:]
    assert close(go("tail", {"n": 30}), records(last[last.key == 5]))
    nothing = run(EMPTY_SOURCE + [{"id": "q", "op": "dataframe.query", "inputs": ["e"], "args": {"expr": "r => r.key > 100"}}, {"id": "o", "op": "dataframe.describe", "inputs": ["q"]}], "o")
    assert nothing["key"]["count"] == 0 and nothing["key"]["mean"] is None


@pytest.mark.parametrize("parts", [1, 3])
def test_from_columns_from_array_to_dataframe(parts):
    cols = {c: [r[c] for r in ROWS] for c in ["key", "cat", "val", "flag"]}
    nodes = [{"id": "c", "op": "dataframe.from_columns", "args": {"columns": cols, "npartitions": parts}}]
    assert close(run(nodes, "c"), records(PDF))
    arr = np.arange(24, dtype=float).reshape(8, 3) / 4
    nodes = [
        {"id": "a", "op": "array.from_array", "args": {"data": arr.tolist(), "chunks": [3, 2]}},
        {"id": "d", "op": "dataframe.from_array", "inputs": ["a"], "args": {"columns": ["x", "y", "z"]}},
    ]
    assert close(run(nodes, "d"), records(pd.DataFrame(arr, columns=["x", "y", "z"])))
    bag = [{"id": "b", "op": "bag.from_sequence", "args": {"items": ROWS, "npartitions": parts}}]
    assert close(run(bag + [{"id": "d", "op": "bag.to_dataframe", "inputs": ["b"]}], "d"), records(PDF))
    mapped = bag + [
        {"id": "m", "op": "bag.map", "inputs": ["b"], "args": {"func": "lambda r: {'k': r['key'], 'v': r['val']}"}},
        {"id": "d", "op": "bag.to_dataframe", "inputs": ["m"], "args": {"meta": {"k": "int64", "v": "float64"}}},
    ]
    assert close(run(mapped, "d"), records(PDF[["key", "val"]].rename(columns={"key": "k", "val": "v"})))
    err = fails(bag + [{"id": "m", "op": "bag.map", "inputs": ["b"], "args": {"func": "lambda r: r"}}, {"id": "d", "op": "bag.to_dataframe", "inputs": ["m"]}], "d")
    assert "pass meta" in err


@pytest.mark.parametrize("parts", PARTS)
def test_map_partitions_per_row(parts):
    nodes, out = pipe(parts, ("map_partitions", {"func": "r => ({k2: r.key * 2, label: r.cat, pos: r.val != null && r.val > 0})"}))
    expected = pd.DataFrame({"k2": PDF.key * 2, "label": PDF.cat, "pos": PDF.val > 0})
    assert close(run(nodes, out), records(expected))


@pytest.mark.parametrize("parts", PARTS)
def test_to_csv_reads_back_as_the_same_frame(parts):
    nodes, out = pipe(parts, ("to_csv", {}))
    text = run(nodes, out)
    assert text.splitlines()[0] == "key,cat,val,flag"
    back = pd.read_csv(io.StringIO(text))
    assert close(records(back), records(pd.read_csv(io.StringIO(PDF.to_csv(index=False)))))


def test_errors_name_the_op_column_and_dtypes():
    src = [source(3)]
    q = lambda e: fails(src + [{"id": "q", "op": "dataframe.query", "inputs": ["df"], "args": {"expr": e}}], "q")
    assert "cannot compare column 'cat' (string) with 1 (int64)" in q("r => r.cat > 1")
    assert "no column 'nope'; the columns are key, cat, val, flag" in q("r => r.nope > 1")
    assert "the method .lower() is not supported" in q("r => r.cat.lower() == 'a'")
    assert "gives float64 values, not bool" in q("r => r.val * 2")
    a = fails(src + [{"id": "q", "op": "dataframe.assign", "inputs": ["df"], "args": {"columns": {"z": "r => r.cat * 2"}}}], "q")
    assert "column 'cat' (string) is not numeric" in a
    f = fails(src + [{"id": "q", "op": "dataframe.fillna", "inputs": ["df"], "args": {"value": {"key": "x"}}}], "q")
    assert "cannot fill column 'key' (int64) with \"x\" (str)" in f
    t = fails(src + [{"id": "q", "op": "dataframe.astype", "inputs": ["df"], "args": {"dtypes": {"val": "int64"}}}], "q")
    assert "astype: column 'val' (float64) to int64" in t
    r = fails(src + [{"id": "q", "op": "dataframe.rename", "inputs": ["df"], "args": {"columns": {"zz": "a"}}}], "q")
    assert "no column 'zz'; the columns are key, cat, val, flag" in r
    v = fails(src + [{"id": "q", "op": "dataframe.value_counts", "inputs": ["df"], "args": {"column": "zz"}}], "q")
    assert "no column 'zz'" in v


@pytest.mark.parametrize("parts", [1, 5])
@pytest.mark.parametrize("file_format", [False, True])
def test_arrow_ipc_in_and_out(parts, file_format):
    import base64

    import pyarrow as pa

    table = pa.Table.from_pandas(PDF, preserve_index=False)
    # Smaller ints and floats come in as int64 and float64.
    table = table.append_column("small", pa.array(np.arange(N, dtype=np.int32)))
    sink = pa.BufferOutputStream()
    writer = (pa.ipc.new_file if file_format else pa.ipc.new_stream)(sink, table.schema)
    writer.write_table(table, max_chunksize=30)
    writer.close()
    b64 = base64.b64encode(sink.getvalue().to_pybytes()).decode()
    nodes = [{"id": "a", "op": "dataframe.from_ipc", "args": {"ipc": b64, "npartitions": parts}}]
    expected = PDF.assign(small=np.arange(N))
    assert close(run(nodes, "a"), records(expected))
    nodes += [
        {"id": "q", "op": "dataframe.query", "inputs": ["a"], "args": {"expr": "r => r.small % 3 == 0"}},
        {"id": "o", "op": "dataframe.to_ipc", "inputs": ["q"]},
    ]
    back = pa.ipc.open_stream(base64.b64decode(run(nodes, "o"))).read_all().to_pandas()
    assert close(records(back), records(expected[expected.small % 3 == 0]))
    assert "not base64" in fails([{"id": "a", "op": "dataframe.from_ipc", "args": {"ipc": "@@@"}}], "a")


def test_comparisons_with_nan_are_false_except_ne():
    nodes = [
        source(3),
        {"id": "a", "op": "dataframe.assign", "inputs": ["df"], "args": {"columns": {"n": "r => r.val / 0 - r.val / 0"}}},
        {"id": "q", "op": "dataframe.query", "inputs": ["a"], "args": {"expr": "r => r.n > 0 || r.n <= 0"}},
        {"id": "ne", "op": "dataframe.query", "inputs": ["a"], "args": {"expr": "r => r.n != 1"}},
    ]
    d = PDF.assign(n=PDF.val / 0 - PDF.val / 0)
    assert run(nodes, "q") == records(d[(d.n > 0) | (d.n <= 0)])
    # A missing value (pandas' NaN) is not equal to anything: != keeps every row, as pandas.
    assert close(run(nodes, "ne"), records(d[d.n != 1]))
    assert len(run(nodes, "ne")) == len(PDF)
