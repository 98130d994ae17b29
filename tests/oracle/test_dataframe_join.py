"""Merges, the index and row order, run by partita (the native CLI) and by pandas, compared.

merge (every `how`, one and two keys, int and string keys, skewed and null keys, empty
partitions, broadcast and shuffle joins, suffixes), set_index with given or computed
divisions, loc, sort_values and repartition. Merge results come partition by partition,
as Dask's do, so they are compared as multisets of records; sorted frames in order.
Ints that meet a missing row stay ints with nulls (pandas makes them float64), which
`same` accepts as equal values.
"""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from test_bag import BIN
from test_dataframe import fails, records, run, same


def validate(nodes, output):
    p = subprocess.run([BIN, "validate", "-"], input=json.dumps({"version": 1, "nodes": nodes, "outputs": [output]}), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for line in p.stdout.splitlines():
        if line.startswith(f"{output}: "):
            return json.loads(line.split(": ", 1)[1])
    raise AssertionError(p.stdout)


def canonical(rows):
    return sorted(rows, key=lambda r: json.dumps({k: (None if v is None else float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v) for k, v in r.items()}, sort_keys=True))


def same_rows(got, expected):
    """Equal as multisets of records, with the same columns in the same order."""
    assert got == [] or list(got[0].keys()) == list(expected[0].keys()), (list(got[0].keys()), list(expected[0].keys()))
    assert same(canonical(got), canonical(expected)), (canonical(got)[:5], canonical(expected)[:5])


RNG = np.random.default_rng(5)
N = 120
LEFT = [
    {
        "k": None if i % 17 == 0 else (0 if RNG.random() < 0.6 else int(RNG.integers(1, 12))),
        "s": ["a", "b", "c", None][int(RNG.integers(0, 4))],
        "v": None if RNG.random() < 0.1 else round(float(RNG.normal()), 6),
        "x": i,
    }
    for i in range(N)
]
RIGHT = [
    {
        "k": None if i == 3 else int(RNG.integers(0, 15)),
        "s": ["a", "b", "d"][int(RNG.integers(0, 3))],
        "w": round(float(RNG.normal()), 6),
        "x": 1000 + i,
    }
    for i in range(40)
]
# Every key once on the right: a left-join lookup table.
SMALL = [{"k": k, "name": f"n{k}"} for k in range(0, 12, 2)]
LPDF = pd.DataFrame(LEFT).astype({"v": "float64"})
RPDF = pd.DataFrame(RIGHT)
SPDF = pd.DataFrame(SMALL)


def frames(lparts, rparts, right=RIGHT):
    return [
        {"id": "l", "op": "dataframe.from_records", "args": {"records": LEFT, "npartitions": lparts}},
        {"id": "r", "op": "dataframe.from_records", "args": {"records": right, "npartitions": rparts}},
    ]


def merged(lparts, rparts, args, right=RIGHT):
    nodes = frames(lparts, rparts, right) + [{"id": "m", "op": "dataframe.merge", "inputs": ["l", "r"], "args": args}]
    return run(nodes, "m"), nodes


HOWS = ["inner", "left", "right", "outer"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("parts", [(4, 3), (1, 1), (5, 1), (1, 4)])
def test_merge_on_one_int_key_with_skew_and_nulls(how, parts):
    got, _ = merged(*parts, {"on": "k", "how": how})
    same_rows(got, records(LPDF.merge(RPDF, on="k", how=how)))


@pytest.mark.parametrize("how", HOWS)
def test_merge_on_two_keys_int_and_string(how):
    got, _ = merged(3, 2, {"on": ["k", "s"], "how": how})
    same_rows(got, records(LPDF.merge(RPDF, on=["k", "s"], how=how)))


@pytest.mark.parametrize("how", HOWS)
def test_merge_on_a_string_key_with_custom_suffixes(how):
    got, _ = merged(4, 4, {"on": "s", "how": how, "suffixes": ["_left", "_right"]})
    same_rows(got, records(LPDF.merge(RPDF, on="s", how=how, suffixes=("_left", "_right"))))


@pytest.mark.parametrize("how", ["inner", "left"])
def test_broadcast_lookup_table(how):
    got, nodes = merged(6, 1, {"on": "k", "how": how}, right=SMALL)
    same_rows(got, records(LPDF.merge(SPDF, on="k", how=how)))
    meta = validate(nodes, "m")
    assert meta["npartitions"] == 6 and meta["known_divisions"] is False


def test_merge_with_left_on_and_right_on():
    right = [{"key": r["k"], "w": r["w"]} for r in RIGHT]
    got, _ = merged(3, 2, {"left_on": "k", "right_on": "key", "how": "outer"}, right=right)
    same_rows(got, records(LPDF.merge(pd.DataFrame(right), left_on="k", right_on="key", how="outer")))


def test_merge_without_keys_joins_on_common_columns():
    got, _ = merged(2, 2, {"how": "inner"})
    same_rows(got, records(LPDF.merge(RPDF, how="inner")))


@pytest.mark.parametrize("how", HOWS)
def test_merge_with_empty_partitions(how):
    # Partitions 2 to 4 of the left side lose every row.
    nodes = frames(5, 3) + [
        {"id": "f", "op": "dataframe.filter", "inputs": ["l"], "args": {"predicate": {"or": [{"col": "x", "op": "lt", "value": 30}, {"col": "x", "op": "ge", "value": 110}]}}},
        {"id": "m", "op": "dataframe.merge", "inputs": ["f", "r"], "args": {"on": "k", "how": how}},
    ]
    lf = LPDF[(LPDF.x < 30) | (LPDF.x >= 110)]
    same_rows(run(nodes, "m"), records(lf.merge(RPDF, on="k", how=how)))


def test_merge_errors_name_keys_and_dtypes():
    err = fails(frames(2, 2) + [{"id": "m", "op": "dataframe.merge", "inputs": ["l", "r"], "args": {"left_on": "k", "right_on": "s"}}], "m")
    assert "the left key 'k' is int64 but the right key 's' is string" in err
    err = fails(frames(2, 2) + [{"id": "m", "op": "dataframe.merge", "inputs": ["l", "r"], "args": {"left_on": "k", "right_on": "w"}}], "m")
    assert "'k' is int64 but the right key 'w' is float64" in err and "astype" in err
    err = fails(frames(2, 2) + [{"id": "m", "op": "dataframe.merge", "inputs": ["l", "r"], "args": {"on": "nope"}}], "m")
    assert "no column 'nope' on the left; the columns are k, s, v, x" in err
    err = fails(frames(2, 2) + [{"id": "m", "op": "dataframe.merge", "inputs": ["l", "r"], "args": {"on": "k", "how": "cross"}}], "m")
    assert "how must be inner, left, right or outer" in err


SRC = {"id": "df", "op": "dataframe.from_records", "args": {"records": LEFT, "npartitions": 5}}


def indexed(pdf, column):
    # Stable, as partita's sort: rows with equal labels keep their order.
    return pdf.sort_values(column, kind="stable", na_position="last").set_index(column).reset_index()


@pytest.mark.parametrize("column", ["x", "v", "s", "k"])
@pytest.mark.parametrize("npartitions", [None, 3])
def test_set_index_with_computed_divisions(column, npartitions):
    args = {"column": column} if npartitions is None else {"column": column, "npartitions": npartitions}
    nodes = [SRC, {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": args}]
    got = run(nodes, "i")
    assert same(got, records(indexed(LPDF, column)))
    meta = validate(nodes, "i")
    assert meta["index"] == column and meta["known_divisions"] is False
    assert meta["npartitions"] == (npartitions or 5)


def test_set_index_with_given_divisions_then_loc():
    nodes = [
        SRC,
        {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": {"column": "x", "divisions": [0, 30, 60, 90, 119]}},
        {"id": "a", "op": "dataframe.loc", "inputs": ["i"], "args": {"start": 35, "stop": 70}},
        {"id": "b", "op": "dataframe.loc", "inputs": ["i"], "args": {"label": 60}},
        {"id": "c", "op": "dataframe.loc", "inputs": ["i"], "args": {"stop": 12}},
    ]
    pdf = LPDF.set_index("x")
    assert same(run(nodes, "i"), records(pdf.reset_index()))
    assert validate(nodes, "i")["divisions"] == [0, 30, 60, 90, 119]
    assert same(run(nodes, "a"), records(pdf.loc[35:70].reset_index()))
    a = validate(nodes, "a")
    assert a["npartitions"] == 2 and a["divisions"] == [35, 60, 70]
    assert same(run(nodes, "b"), records(pdf.loc[[60]].reset_index()))
    assert validate(nodes, "b")["npartitions"] == 1
    assert same(run(nodes, "c"), records(pdf.loc[:12].reset_index()))
    import dask.dataframe as dd

    ddf = dd.from_pandas(LPDF, npartitions=5).set_index("x", divisions=[0, 30, 60, 90, 119])
    assert ddf.loc[35:70].npartitions == 2
    assert list(ddf.loc[35:70].divisions) == [35, 60, 70]


def test_loc_on_a_string_index_with_unknown_divisions():
    nodes = [
        SRC,
        {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": {"column": "s"}},
        {"id": "a", "op": "dataframe.loc", "inputs": ["i"], "args": {"start": "a", "stop": "b"}},
    ]
    pdf = indexed(LPDF, "s").set_index("s")
    assert same(run(nodes, "a"), records(pdf.loc["a":"b"].reset_index()))
    assert validate(nodes, "a")["npartitions"] == 5
    assert "call set_index first" in fails([SRC, {"id": "a", "op": "dataframe.loc", "inputs": ["df"], "args": {"label": 3}}], "a")
    assert "does not fit the index 's' of dtype string" in fails(nodes[:2] + [{"id": "a", "op": "dataframe.loc", "inputs": ["i"], "args": {"label": 3}}], "a")


@pytest.mark.parametrize("by", ["v", "s", "k", ["k", "v"], ["s", "x"]])
@pytest.mark.parametrize("ascending", [True, False])
def test_sort_values_is_globally_sorted_and_stable(by, ascending):
    nodes = [SRC, {"id": "o", "op": "dataframe.sort_values", "inputs": ["df"], "args": {"by": by, "ascending": ascending}}]
    expected = LPDF.sort_values(by, ascending=ascending, kind="stable", na_position="last")
    assert same(run(nodes, "o"), records(expected))
    assert validate(nodes, "o")["npartitions"] == 5


@pytest.mark.parametrize("parts,new", [(7, 3), (6, 2), (5, 1), (3, 7), (2, 5), (4, 4)])
def test_repartition_as_dask(parts, new):
    nodes = [
        {"id": "df", "op": "dataframe.from_records", "args": {"records": LEFT, "npartitions": parts}},
        {"id": "p", "op": "dataframe.repartition", "inputs": ["df"], "args": {"npartitions": new}},
    ]
    assert same(run(nodes, "p"), records(LPDF))
    meta = validate(nodes, "p")
    import dask.dataframe as dd

    ddf = dd.from_pandas(LPDF, npartitions=parts).repartition(npartitions=new)
    assert meta["npartitions"] == ddf.npartitions
    assert tuple(meta["divisions"]) == ddf.divisions
    # Each partition holds the rows its divisions say (a RangeIndex: labels are positions).
    for i in range(new):
        nodes.append({"id": f"h{i}", "op": "dataframe.head", "inputs": ["p"], "args": {"n": 1000, "npartitions": i + 1}})
        assert len(run(nodes, f"h{i}")) == ddf.divisions[i + 1] - ddf.divisions[0] + (1 if i == new - 1 else 0)


def test_repartition_to_more_with_an_index_cuts_rows_evenly():
    nodes = [
        SRC,
        {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": {"column": "x", "divisions": [0, 60, 119]}},
        {"id": "p", "op": "dataframe.repartition", "inputs": ["i"], "args": {"npartitions": 5}},
    ]
    assert same(run(nodes, "p"), records(LPDF.set_index("x").reset_index()))
    meta = validate(nodes, "p")
    # Dask would interpolate and split by value; partita cuts rows and does not know them.
    assert meta["npartitions"] == 5 and meta["known_divisions"] is False


def test_set_index_errors_name_the_column():
    assert "no column 'zz'; the columns are k, s, v, x" in fails([SRC, {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": {"column": "zz"}}], "i")
    assert "ascending order" in fails([SRC, {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": {"column": "x", "divisions": [5, 1]}}], "i")
    assert "no column 'q'" in fails([SRC, {"id": "o", "op": "dataframe.sort_values", "inputs": ["df"], "args": {"by": "q"}}], "o")


def test_select_keeps_the_index_column_first():
    nodes = [
        SRC,
        {"id": "i", "op": "dataframe.set_index", "inputs": ["df"], "args": {"column": "x", "divisions": [0, 60, 119]}},
        {"id": "s", "op": "dataframe.select", "inputs": ["i"], "args": {"columns": ["v", "k"]}},
    ]
    assert same(run(nodes, "s"), records(LPDF.set_index("x")[["v", "k"]].reset_index()))
    meta = validate(nodes, "s")
    assert meta["columns"] == ["x", "v", "k"] and meta["index"] == "x" and meta["divisions"] == [0, 60, 119]


@pytest.mark.parametrize("ascending", [True, False])
def test_head_of_a_sort_on_few_distinct_values_finds_rows_in_the_first_partition(ascending):
    # Three strings (and nulls) over five partitions: some partitions must stay empty, and
    # they come after the first, so head() reads rows as it does in pandas.
    nodes = [
        SRC,
        {"id": "o", "op": "dataframe.sort_values", "inputs": ["df"], "args": {"by": "s", "ascending": ascending}},
        {"id": "h", "op": "dataframe.head", "inputs": ["o"], "args": {"n": 3}},
    ]
    expected = LPDF.sort_values("s", ascending=ascending, kind="stable", na_position="last").head(3)
    assert same(run(nodes, "h"), records(expected))
