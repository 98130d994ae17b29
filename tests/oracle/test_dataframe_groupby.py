"""groupby(...).agg(...) run by partita and by pandas, compared.

Every aggregation (sum mean count size min max std var first last), the shortcuts, one
and two keys, int, string, float and bool keys, null keys (dropped, as pandas' dropna),
null and NaN values, skewed keys (one key holding most rows), empty partitions, and the
tree (split_every) and shuffle (split_out) paths. pandas' result is reset_index()'d and
sorted by the keys; partita returns the keys as columns, sorted within each output
partition, so split_out results are sorted before comparing.
"""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from test_bag import BIN
from test_dataframe import records, run, same

RNG = np.random.default_rng(7)
N = 240
ROWS = [
    {
        "key": int(RNG.integers(0, 9)),
        "cat": [None, "a", "b", "c", "d"][int(RNG.integers(0, 5))],
        "val": None if RNG.random() < 0.1 else float(RNG.normal(10, 3)),
        "n": int(RNG.integers(-50, 50)),
        "flag": bool(RNG.integers(0, 2)),
    }
    for _ in range(N)
]
PDF = pd.DataFrame(ROWS).astype({"val": "float64"})
# Skewed: key 0 holds about 90% of the rows.
SKEW = [{"key": 0 if RNG.random() < 0.9 else int(RNG.integers(1, 200)), "val": float(RNG.random())} for _ in range(500)]
SKEW_PDF = pd.DataFrame(SKEW)


def source(rows, parts, id="df"):
    return {"id": id, "op": "dataframe.from_records", "args": {"records": rows, "npartitions": parts}}


def agg_node(args, id="g", input="df"):
    return {"id": id, "op": "dataframe.groupby_agg", "inputs": [input], "args": args}


def expected(pdf, by, spec):
    """pandas' answer with the column naming partita uses (col for a name, col_agg for lists)."""
    g = pdf.groupby(by, sort=True, dropna=True)
    out = pd.DataFrame(index=g.size().index)
    for col, aggs in spec.items():
        names = [aggs] if isinstance(aggs, str) else aggs
        for a in names:
            name = col if isinstance(aggs, str) else f"{col}_{a}"
            if a == "size":
                name = "size" if isinstance(aggs, str) else name
                out[name] = g.size()
            else:
                out[name] = getattr(g[col], a)()
    return out.reset_index()


def sort(rows, by):
    by = [by] if isinstance(by, str) else by
    return sorted(rows, key=lambda r: tuple(r[k] for k in by))


ALL_AGGS = ["sum", "mean", "count", "size", "min", "max", "std", "var", "first", "last"]

CASES = [
    ("key", {"val": ALL_AGGS}),
    ("key", {"n": ALL_AGGS}),
    ("cat", {"val": ["sum", "mean", "count"], "n": ["min", "max"]}),
    ("cat", {"cat": ["count", "first", "last", "min", "max"]}),
    (["key", "cat"], {"val": ["sum", "std"], "n": "max"}),
    (["cat", "flag"], {"n": ["sum", "var", "size"]}),
    ("flag", {"val": ["mean", "min", "max"], "key": "nunique" if False else "sum"}),
    ("val", {"n": ["count", "sum"]}),
    ("key", {"flag": ["sum", "mean", "first", "last"]}),
]


@pytest.mark.parametrize("by,spec", CASES)
@pytest.mark.parametrize("parts,split_every", [(1, 8), (7, 2), (12, 3)])
def test_agg_matches_pandas(by, spec, parts, split_every):
    got = run([source(ROWS, parts), agg_node({"by": by, "agg": spec, "split_every": split_every})], "g")
    want = records(expected(PDF, by, spec))
    assert same(got, want), (got[:3], want[:3])


@pytest.mark.parametrize("func", ["sum", "mean", "count", "min", "max", "std", "var", "first", "last"])
def test_shortcuts_over_every_other_column(func):
    got = run([source(ROWS, 5), agg_node({"by": "key", "func": func})], "g")
    g = PDF.groupby("key")
    if func in ("sum", "mean", "std", "var"):
        want = getattr(g, func)(numeric_only=True)
    else:
        want = getattr(g, func)()
    want = want.reset_index()
    # pandas' numeric_only treats bool as numeric, as partita does.
    assert list(got[0].keys()) == list(want.columns)
    assert same(got, records(want))


def test_size_and_column_subset():
    nodes = [source(ROWS, 4), agg_node({"by": ["cat"], "func": "size"}), agg_node({"by": "cat", "func": "max", "columns": ["val"]}, id="m")]
    assert same(run(nodes, "g"), records(PDF.groupby("cat").size().rename("size").reset_index()))
    assert same(run(nodes, "m"), records(PDF.groupby("cat")[["val"]].max().reset_index()))


@pytest.mark.parametrize("split_out", [2, 3, 5])
def test_split_out_shuffles_partials_to_the_same_answer(split_out):
    spec = {"val": ["sum", "mean", "max", "std"]}
    got = run([source(SKEW, 9), agg_node({"by": "key", "agg": spec, "split_out": split_out})], "g")
    assert same(sort(got, "key"), records(expected(SKEW_PDF, "key", spec)))


def test_skewed_keys_on_the_tree():
    spec = {"val": ["count", "sum", "var", "first", "last"]}
    got = run([source(SKEW, 16), agg_node({"by": "key", "agg": spec, "split_every": 2})], "g")
    assert same(got, records(expected(SKEW_PDF, "key", spec)))


def test_empty_partitions_and_all_null_groups():
    rows = [{"k": "x", "v": None}, {"k": "y", "v": 2.0}, {"k": "x", "v": None}, {"k": None, "v": 5.0}]
    nodes = [
        source(rows, 2),
        {"id": "f", "op": "dataframe.filter", "inputs": ["df"], "args": {"predicate": {"col": "k", "op": "eq", "value": "y"}}},
        agg_node({"by": "k", "agg": {"v": ["sum", "mean", "count", "min", "std", "first"]}}),
        agg_node({"by": "k", "agg": {"v": ["sum", "count", "size"]}}, id="fg", input="f"),
    ]
    pdf = pd.DataFrame(rows).astype({"v": "float64"})
    assert same(run(nodes, "g"), records(expected(pdf, "k", {"v": ["sum", "mean", "count", "min", "std", "first"]})))
    # After the filter the first partition is empty.
    assert same(run(nodes, "fg"), records(expected(pdf[pdf.k == "y"], "k", {"v": ["sum", "count", "size"]})))


def test_groupby_of_csv_with_quoted_keys():
    text = 'city,sales\n"Paris, FR",10\nOslo,5\n"Paris, FR",7\n"New ""York""",1\nOslo,\n'
    nodes = [{"id": "df", "op": "dataframe.read_csv", "args": {"text": text, "blocksize": 20}}, agg_node({"by": "city", "agg": {"sales": ["sum", "count", "mean"]}})]
    import io

    pdf = pd.read_csv(io.StringIO(text))
    assert same(run(nodes, "g"), records(expected(pdf, "city", {"sales": ["sum", "count", "mean"]})))


def fails(nodes, output):
    p = subprocess.run([BIN, "run", "-", "-q"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": [output]}), capture_output=True, text=True)
    assert p.returncode != 0
    return p.stderr


def test_errors_name_columns_and_dtypes():
    err = fails([source(ROWS, 2), agg_node({"by": "nope", "func": "sum"})], "g")
    assert "no column 'nope'" in err and "key, cat, val, n, flag" in err
    err = fails([source(ROWS, 2), agg_node({"by": "key", "agg": {"cat": "mean"}})], "g")
    assert "mean" in err and "'cat'" in err and "string" in err
    err = fails([source(ROWS, 2), agg_node({"by": "key", "agg": {"val": "median"}})], "g")
    assert "unknown aggregation 'median'" in err and "first, last" in err
