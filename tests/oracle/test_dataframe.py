"""DataFrame pipelines run by partita (the native CLI) and by pandas, compared.

The first slice of dask.dataframe: from_records, read_csv with blocksize, column
selection, filtering with column predicates (Arrow kernels), head, len and the column
reductions sum, mean, count, min, max (numeric_only, as `df.sum(numeric_only=True)`).
Results are compared as records (`to_dict('records')`) and as Series dicts; floats to
1e-12 relative (partition sums add in a different order than pandas).
"""

import io
import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from test_bag import BIN


def run(nodes, output):
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": [output]}), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def fails(nodes, output):
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": [output]}), capture_output=True, text=True)
    assert p.returncode != 0
    return p.stderr


def same(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return (a is None and (b is None or (isinstance(b, float) and math.isnan(b)))) or (b is None and isinstance(a, float) and math.isnan(a))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def records(df):
    out = []
    for row in df.to_dict("records"):
        out.append({k: (None if (isinstance(v, float) and math.isnan(v)) or v is pd.NA else (v.item() if hasattr(v, "item") else v)) for k, v in row.items()})
    return out


def series(s):
    return {k: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v)) for k, v in s.items()}


RNG = np.random.default_rng(11)
N = 103
ROWS = [
    {
        "key": int(RNG.integers(0, 7)),
        "cat": ["a", "b", "c", None][int(RNG.integers(0, 4))],
        "val": None if RNG.random() < 0.1 else float(RNG.normal()),
        "flag": bool(RNG.integers(0, 2)),
    }
    for _ in range(N)
]
PDF = pd.DataFrame(ROWS).astype({"val": "float64"})
SOURCE = {"id": "df", "op": "dataframe.from_records", "args": {"records": ROWS, "npartitions": 6}}


def test_from_records_round_trips_with_partitions_as_dask_cuts_them():
    got = run([SOURCE], "df")
    assert same(got, records(PDF))
    p = subprocess.run([BIN, "validate", "-"], input=json.dumps({"version": 1, "nodes": [SOURCE], "outputs": ["df"]}), capture_output=True, text=True)
    meta = json.loads(p.stdout.splitlines()[1].split(": ", 1)[1])
    import dask.dataframe as dd

    ddf = dd.from_pandas(PDF, npartitions=6, sort=True)
    assert meta["npartitions"] == ddf.npartitions
    assert tuple(meta["divisions"]) == ddf.divisions
    assert meta["columns"] == list(PDF.columns)
    assert meta["dtypes"] == ["int64", "string", "float64", "bool"]


PREDICATES = [
    ({"col": "val", "op": "gt", "value": 0.5}, lambda d: d[d.val > 0.5]),
    ({"col": "key", "op": "le", "value": 2}, lambda d: d[d.key <= 2]),
    ({"col": "key", "op": "eq", "value": 2.0}, lambda d: d[d.key == 2.0]),
    ({"col": "cat", "op": "eq", "value": "b"}, lambda d: d[d.cat == "b"]),
    # A missing value is not equal to anything: `!=` keeps it, as pandas does.
    ({"col": "cat", "op": "ne", "value": "b"}, lambda d: d[d.cat != "b"]),
    ({"col": "val", "op": "ne", "value": 0.5}, lambda d: d[d.val != 0.5]),
    ({"col": "flag", "op": "eq", "value": True}, lambda d: d[d.flag]),
    ({"isnull": "val"}, lambda d: d[d.val.isna()]),
    ({"notnull": "cat"}, lambda d: d[d.cat.notna()]),
    ({"and": [{"col": "val", "op": "gt", "value": 0}, {"col": "key", "op": "lt", "value": 4}]}, lambda d: d[(d.val > 0) & (d.key < 4)]),
    ({"or": [{"col": "val", "op": "lt", "value": -1}, {"col": "cat", "op": "eq", "value": "a"}]}, lambda d: d[(d.val < -1) | (d.cat == "a")]),
    ({"not": {"col": "key", "op": "ge", "value": 3}}, lambda d: d[~(d.key >= 3)]),
]


@pytest.mark.parametrize("predicate,pandas", PREDICATES)
def test_filter_with_column_predicates(predicate, pandas):
    got = run([SOURCE, {"id": "f", "op": "dataframe.filter", "inputs": ["df"], "args": {"predicate": predicate}}], "f")
    assert same(got, records(pandas(PDF)))


NAN_CSV = "a,v\n1,0.2\n2,nan\n3,0.9\n4,\n5,0.5\n6,-inf\n7,NaN\n"


@pytest.mark.parametrize("op,pandas_op", [("gt", "__gt__"), ("ge", "__ge__"), ("lt", "__lt__"), ("le", "__le__"), ("eq", "__eq__"), ("ne", "__ne__")])
def test_filter_compares_nan_and_missing_as_pandas(op, pandas_op):
    # NaN and a missing value compare false with every operator but `!=` (Arrow's own
    # kernels order NaN above every number).
    src = {"id": "df", "op": "dataframe.read_csv", "args": {"text": NAN_CSV, "blocksize": 24}}
    got = run([src, {"id": "f", "op": "dataframe.filter", "inputs": ["df"], "args": {"predicate": {"col": "v", "op": op, "value": 0.5}}}], "f")
    pdf = pd.read_csv(io.StringIO(NAN_CSV))
    expected = pdf[getattr(pdf.v, pandas_op)(0.5)]
    assert [r["a"] for r in got] == expected.a.tolist()
    # The row-expression path compares the same way.
    symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}[op]
    got = run([src, {"id": "q", "op": "dataframe.query", "inputs": ["df"], "args": {"expr": f"r => r.v {symbol} 0.5"}}], "q")
    assert [r["a"] for r in got] == expected.a.tolist()


@pytest.mark.parametrize("reduction", ["sum", "mean", "count", "min", "max"])
@pytest.mark.parametrize("split_every", [2, 8])
def test_column_reductions(reduction, split_every):
    got = run([SOURCE, {"id": "r", "op": f"dataframe.{reduction}", "inputs": ["df"], "args": {"split_every": split_every}}], "r")
    expected = getattr(PDF, reduction)() if reduction == "count" else getattr(PDF, reduction)(numeric_only=True)
    assert same(got, series(expected)), (got, series(expected))


def test_select_filter_head_and_len():
    nodes = [
        SOURCE,
        {"id": "s", "op": "dataframe.select", "inputs": ["df"], "args": {"columns": ["val", "key"]}},
        {"id": "f", "op": "dataframe.filter", "inputs": ["s"], "args": {"predicate": {"col": "val", "op": "gt", "value": 0}}},
        {"id": "h", "op": "dataframe.head", "inputs": ["f"], "args": {"n": 4}},
        {"id": "h3", "op": "dataframe.head", "inputs": ["f"], "args": {"n": 30, "npartitions": 3}},
        {"id": "n", "op": "dataframe.len", "inputs": ["f"]},
    ]
    sel = PDF[["val", "key"]]
    filt = sel[sel.val > 0]
    assert same(run(nodes, "s"), records(sel))
    # head reads the first partition only (18 rows), as Dask's head does.
    first = PDF.iloc[:18][["val", "key"]]
    assert same(run(nodes, "h"), records(first[first.val > 0].head(4)))
    three = PDF.iloc[:52][["val", "key"]]  # partitions of 18, 17, 17 rows
    assert same(run(nodes, "h3"), records(three[three.val > 0].head(30)))
    assert run(nodes, "n") == len(filt)


CSV = """id,name,score,passed
1,"Smith, Ann",81.5,true
2,Bo,,false
3,"Quote ""Q"" Lee",67.25,true
4,Dee,90,true
5,Eve,55.5,false
6,Fay,77,true
7,Gus,,true
"""


@pytest.mark.parametrize("blocksize", [20, 64, 10_000])
def test_read_csv_with_quoted_fields_nulls_and_blocksize(blocksize):
    nodes = [{"id": "c", "op": "dataframe.read_csv", "args": {"text": CSV, "blocksize": blocksize}}]
    expected = pd.read_csv(io.StringIO(CSV))
    assert same(run(nodes, "c"), records(expected))
    p = subprocess.run([BIN, "validate", "-"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": ["c"]}), capture_output=True, text=True)
    meta = json.loads(p.stdout.splitlines()[1].split(": ", 1)[1])
    assert meta["dtypes"] == ["int64", "string", "float64", "bool"]
    assert meta["known_divisions"] is False
    s = run(nodes + [{"id": "m", "op": "dataframe.mean", "inputs": ["c"]}], "m")
    assert same(s, series(expected.mean(numeric_only=True)))


def test_bad_input_is_refused_with_the_column_named():
    assert "no column 'nope'; the columns are key, cat, val, flag" in fails([SOURCE, {"id": "f", "op": "dataframe.filter", "inputs": ["df"], "args": {"predicate": {"col": "nope", "op": "gt", "value": 1}}}], "f")
    assert "no column 'zz'" in fails([SOURCE, {"id": "s", "op": "dataframe.select", "inputs": ["df"], "args": {"columns": ["key", "zz"]}}], "s")
    assert "cannot compare column 'cat' (string) with 3" in fails([SOURCE, {"id": "f", "op": "dataframe.filter", "inputs": ["df"], "args": {"predicate": {"col": "cat", "op": "gt", "value": 3}}}], "f")
    assert "column 'x' mixes int64 and string (row 1)" in fails([{"id": "d", "op": "dataframe.from_records", "args": {"records": [{"x": 1}, {"x": "a"}]}}], "d")
    bad_csv = "a,b\n1,2\n3,4,5\n"
    assert "read_csv" in fails([{"id": "c", "op": "dataframe.read_csv", "args": {"text": bad_csv}}], "c")


def test_read_csv_dtype_overrides_as_pandas_dtype_argument():
    text = "zip,amount,ok\n00501,3,1\n10001,4,0\n,5,1\n"
    node = {"id": "c", "op": "dataframe.read_csv", "args": {"text": text, "blocksize": 16, "dtype": {"zip": "string", "amount": "float64"}}}
    got = run([node], "c")
    want = pd.read_csv(io.StringIO(text), dtype={"zip": "string", "amount": "float64"})
    assert same(got, records(want))
    p = subprocess.run([BIN, "validate", "-"], input=json.dumps({"version": 1, "nodes": [node], "outputs": ["c"]}), capture_output=True, text=True)
    assert json.loads(p.stdout.splitlines()[1].split(": ", 1)[1])["dtypes"] == ["string", "float64", "int64"]
    err = fails([{**node, "args": {"text": text, "dtype": {"nope": "int64"}}}], "c")
    assert "dtype names column 'nope'; the columns are zip, amount, ok" in err


def test_a_bad_row_past_the_sample_names_its_line_in_the_whole_text():
    rows = ["a,b"] + [f"{i},{i * 2}" for i in range(1500)]
    rows[1300] = "7,8,9"
    err = fails([{"id": "c", "op": "dataframe.read_csv", "args": {"text": "\n".join(rows) + "\n", "blocksize": 2000}}], "c")
    assert "line 1301" in err and "expected 2 got 3" in err, err
    # pandas refuses the same row and names the same line.
    with pytest.raises(pd.errors.ParserError, match="line 1301"):
        pd.read_csv(io.StringIO("\n".join(rows) + "\n"))
