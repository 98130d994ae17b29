"""Bag pipelines run by partita (the native CLI) and by dask.bag (sync scheduler), compared.

Each case is a list of steps. The same steps build a Dask bag (method calls with the same
argument names; functions are the same Python lambda source, evaluated) and a partita plan
(one node per step). Results are compared exactly, floats to 1e-12 relative, and in any
order only where Dask's order is unspecified (groupby).
"""

import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

import dask
import dask.bag as db
import pytest

ROOT = Path(__file__).resolve().parents[2]
dask.config.set(scheduler="sync")

FUNC_ARGS = {"func", "predicate", "key", "binop", "combine", "perpartition", "aggregate", "grouper", "on_self", "on_other"}


def partita_binary():
    env = os.environ.get("PARTITA_BIN")
    if env:
        return env
    for p in ("target/release/partita", "target/debug/partita"):
        if (ROOT / p).exists():
            return str(ROOT / p)
    subprocess.run(["cargo", "build", "--quiet", "--bin", "partita"], cwd=ROOT, check=True)
    return str(ROOT / "target/debug/partita")


BIN = partita_binary()


def build(steps, nodes, counter):
    """Builds (dask_bag_or_value, node_id) from steps, appending plan nodes."""
    bag = None
    node_id = None
    for op, args in steps:
        counter[0] += 1
        nid = f"n{counter[0]}"
        args = dict(args)
        others = [build(o, nodes, counter) for o in args.pop("others", [])]
        other_ids = [o[1] for o in others]
        other_bags = [o[0] for o in others]
        plan_args = dict(args)
        py_args = {k: (eval(v) if k in FUNC_ARGS and isinstance(v, str) and v.startswith("lambda") else v) for k, v in args.items()}
        if op == "read_text":
            tmp = Path(tempfile.mkdtemp(prefix="partita-oracle-"))
            paths = []
            for i, text in enumerate(args["files"]):
                path = tmp / f"file{i}.txt"
                path.write_bytes(text.encode("utf-8"))
                paths.append(str(path))
            bag = db.read_text(paths, blocksize=args.get("blocksize"))
            inputs = []
        elif op == "from_delayed":
            values = plan_args.pop("values")
            bag = db.from_delayed([dask.delayed(list)(v) for v in values])
            inputs = []
            for v in values:
                counter[0] += 1
                vid = f"n{counter[0]}"
                nodes.append({"id": vid, "op": "delayed.value", "args": {"value": v}})
                inputs.append(vid)
        elif op == "str":
            bag = getattr(bag.str, args["method"])(*args.get("args", []))
            inputs = [node_id]
        elif op == "from_sequence":
            items = py_args.pop("items")
            bag = db.from_sequence(items, **py_args)
            inputs = []
        elif op == "range":
            bag = db.range(py_args["n"], npartitions=py_args["npartitions"])
            inputs = []
        elif op == "zip":
            bag = db.zip(bag, *other_bags)
            inputs = [node_id] + other_ids
        elif op == "concat":
            bag = db.concat([bag] + other_bags)
            inputs = [node_id] + other_ids
        elif op == "map" and other_bags:
            bag = bag.map(py_args["func"], *other_bags)
            inputs = [node_id] + other_ids
        elif op == "join":
            bag = bag.join(other_bags[0], py_args["on_self"], py_args.get("on_other"))
            inputs = [node_id] + other_ids
        elif op == "take":
            bag = list(bag.take(py_args["k"], npartitions=py_args.get("npartitions", 1), warn=False))
            inputs = [node_id]
        else:
            bag = getattr(bag, op)(**py_args)
            inputs = [node_id]
        node = {"id": nid, "op": f"bag.{op}", "args": plan_args}
        if inputs:
            node["inputs"] = inputs
        nodes.append(node)
        node_id = nid
    return bag, node_id


def normalise(x):
    if isinstance(x, (list, tuple)):
        return [normalise(v) for v in x]
    if isinstance(x, dict):
        return {k: normalise(v) for k, v in x.items()}
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return x  # keep floats as floats; compared with tolerance below
    return x


def close(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(close(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


def run_partita(plan):
    p = subprocess.run([BIN, "run", "-", "-q", "--workers", "2"], input=json.dumps(plan), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def unordered_groups(result):
    def norm(kv):
        k, v = kv
        return [k, sorted(v, key=json.dumps) if isinstance(v, list) else v]

    return sorted((norm(kv) for kv in result), key=json.dumps)


LETTERS = list("ABBBABBB")
NUMS = [5, 3, 8, 1, 9, 2, 7, 4, 6, 0]
RECORDS = [
    {"name": "Alice", "city": "Paris", "amount": 100},
    {"name": "Bob", "city": "Lima", "amount": -20},
    {"name": "Chloé", "city": "Paris", "amount": 35},
    {"name": "Dan", "city": "Oslo", "amount": None},
    {"name": "Eve", "city": "Lima", "amount": 7},
]
WORDS = ["the quick brown fox", "jumps over the lazy dog", "", "the end", "ünïcödé wörds here"]

CASES = {
    # The course's counting example, and with 10 items in 1, 2 and 5 partitions.
    "counting": [("from_sequence", {"items": LETTERS, "npartitions": 2}), ("frequencies", {})],
    "counting-10-1": [("from_sequence", {"items": list("ABBBABBBAB"), "npartitions": 1}), ("frequencies", {})],
    "counting-10-2": [("from_sequence", {"items": list("ABBBABBBAB"), "npartitions": 2}), ("frequencies", {})],
    "counting-10-5": [("from_sequence", {"items": list("ABBBABBBAB"), "npartitions": 5}), ("frequencies", {})],
    "frequencies-sorted": [("from_sequence", {"items": list("abracadabra"), "npartitions": 3}), ("frequencies", {"sort": True})],
    "map-filter": [
        ("from_sequence", {"items": NUMS, "npartitions": 3}),
        ("map", {"func": "lambda x: x * 10 + 1"}),
        ("filter", {"predicate": "lambda x: x % 3 == 0"}),
    ],
    "remove": [("from_sequence", {"items": NUMS, "npartitions": 4}), ("remove", {"predicate": "lambda x: x > 4"})],
    "range": [("range", {"n": 17, "npartitions": 4}), ("map", {"func": "lambda x: x * x"})],
    "partition-size": [("from_sequence", {"items": list(range(23)), "partition_size": 5}), ("sum", {})],
    "more-partitions-than-items": [("from_sequence", {"items": [1, 2, 3], "npartitions": 10}), ("map", {"func": "lambda x: x - 1"})],
    "many-items": [("from_sequence", {"items": list(range(250)), "npartitions": 7}), ("sum", {"split_every": 3})],
    "empty-bag-count": [("from_sequence", {"items": []}), ("count", {})],
    "empty-bag-sum": [("from_sequence", {"items": [], "npartitions": 3}), ("sum", {})],
    "empty-partitions-frequencies": [
        ("from_sequence", {"items": [1, 2, 3, 4], "npartitions": 4}),
        ("filter", {"predicate": "lambda x: x > 3"}),
        ("frequencies", {}),
    ],
    "pluck-key": [("from_sequence", {"items": RECORDS, "npartitions": 2}), ("pluck", {"key": "name"})],
    "pluck-list": [("from_sequence", {"items": RECORDS, "npartitions": 2}), ("pluck", {"key": ["name", "city"]})],
    "pluck-default": [
        ("from_sequence", {"items": [{"a": 1}, {"b": 2}, {"a": 3}], "npartitions": 2}),
        ("pluck", {"key": "a", "default": 0}),
    ],
    "pluck-index": [("from_sequence", {"items": [[1, 2], [3, 4], [5, 6]], "npartitions": 2}), ("pluck", {"key": 1})],
    "null-values": [
        ("from_sequence", {"items": RECORDS, "npartitions": 3}),
        ("pluck", {"key": "amount"}),
        ("filter", {"predicate": "lambda x: x is not None"}),
        ("sum", {}),
    ],
    "nested-records": [
        ("from_sequence", {"items": [{"a": {"b": [1, 2, {"c": "x"}]}}, {"a": {"b": [3]}}], "npartitions": 2}),
        ("map", {"func": "lambda r: r['a']['b'][0] * 2"}),
    ],
    "unicode": [
        ("from_sequence", {"items": ["Ünïcode", "émoji 🎉", "日本語", "ascii"], "npartitions": 2}),
        ("map", {"func": "lambda s: s.upper() + '!' + str(len(s))"}),
    ],
    "flatten": [("from_sequence", {"items": [[1, 2], [], [3], [4, 5, 6]], "npartitions": 3}), ("flatten", {})],
    "word-count": [
        ("from_sequence", {"items": WORDS, "npartitions": 2}),
        ("map", {"func": "lambda line: line.split()"}),
        ("flatten", {}),
        ("frequencies", {"sort": True}),
    ],
    "starmap": [("from_sequence", {"items": [[1, 2], [3, 4], [5, 6]], "npartitions": 2}), ("starmap", {"func": "lambda a, b: a * b"})],
    "map-partitions": [("from_sequence", {"items": NUMS, "npartitions": 3}), ("map_partitions", {"func": "lambda xs: [sum(xs), len(xs)]"})],
    "map-two-bags": [
        ("from_sequence", {"items": [1, 2, 3, 4], "npartitions": 2}),
        ("map", {"func": "lambda a, b: a + b", "others": [[("from_sequence", {"items": [10, 20, 30, 40], "npartitions": 2})]]}),
    ],
    "zip": [
        ("from_sequence", {"items": ["a", "b", "c"], "npartitions": 2}),
        ("zip", {"others": [[("from_sequence", {"items": [1, 2, 3], "npartitions": 2})]]}),
    ],
    "concat": [
        ("from_sequence", {"items": [1, 2, 3], "npartitions": 2}),
        ("concat", {"others": [[("from_sequence", {"items": [4, 5], "npartitions": 1})]]}),
    ],
    "min-max": [("from_sequence", {"items": NUMS, "npartitions": 4}), ("min", {"split_every": 2})],
    "max-strings": [("from_sequence", {"items": ["pear", "apple", "zucchini", "fig"], "npartitions": 2}), ("max", {})],
    "max-with-empty-partitions": [
        ("from_sequence", {"items": NUMS, "npartitions": 5}),
        ("filter", {"predicate": "lambda x: x < 2"}),
        ("max", {}),
    ],
    "mean": [("from_sequence", {"items": NUMS, "npartitions": 3}), ("mean", {})],
    "mean-floats": [("from_sequence", {"items": [0.1, 0.2, 0.3, 1e6, -2.5], "npartitions": 2}), ("mean", {})],
    "var": [("from_sequence", {"items": NUMS, "npartitions": 3}), ("var", {})],
    "std-ddof": [("from_sequence", {"items": NUMS, "npartitions": 3}), ("std", {"ddof": 1})],
    "all": [("from_sequence", {"items": [1, 2, 0, 3], "npartitions": 2}), ("all", {})],
    "any": [("from_sequence", {"items": [0, 0, "", None], "npartitions": 2}), ("any", {})],
    "any-empty": [("from_sequence", {"items": []}), ("any", {})],
    "distinct": [("from_sequence", {"items": [3, 1, 3, 2, 1, 5, 2], "npartitions": 3}), ("distinct", {})],
    "distinct-key": [
        ("from_sequence", {"items": ["apple", "avocado", "banana", "blueberry", "cherry"], "npartitions": 2}),
        ("distinct", {"key": "lambda s: s[0]"}),
    ],
    "topk": [("from_sequence", {"items": NUMS, "npartitions": 3}), ("topk", {"k": 3})],
    "topk-key": [("from_sequence", {"items": RECORDS[:3], "npartitions": 2}), ("topk", {"k": 2, "key": "lambda r: r['amount']"})],
    "fold": [("from_sequence", {"items": NUMS, "npartitions": 3}), ("fold", {"binop": "lambda a, b: a + b"})],
    "fold-initial-combine": [
        ("from_sequence", {"items": NUMS, "npartitions": 3}),
        ("fold", {"binop": "lambda acc, x: acc + x * x", "combine": "lambda a, b: a + b", "initial": 0}),
    ],
    "foldby": [
        ("from_sequence", {"items": list(range(20)), "npartitions": 4}),
        ("foldby", {"key": "lambda x: x % 3", "binop": "lambda a, b: a + b", "initial": 0}),
    ],
    "foldby-combine": [
        ("from_sequence", {"items": RECORDS, "npartitions": 3}),
        (
            "foldby",
            {
                "key": "lambda r: r['city']",
                "binop": "lambda acc, r: acc + 1",
                "initial": 0,
                "combine": "lambda a, b: a + b",
                "combine_initial": 0,
            },
        ),
    ],
    "reduction": [
        ("from_sequence", {"items": NUMS, "npartitions": 4}),
        ("reduction", {"perpartition": "lambda xs: max(xs)", "aggregate": "lambda ms: max(ms)", "split_every": 2}),
    ],
    "take": [("from_sequence", {"items": NUMS, "npartitions": 4}), ("take", {"k": 2})],
    "take-several-partitions": [("from_sequence", {"items": NUMS, "npartitions": 4}), ("take", {"k": 5, "npartitions": 3})],
    "accumulate": [("from_sequence", {"items": [1, 2, 3, 4, 5], "npartitions": 3}), ("accumulate", {"binop": "lambda a, b: a + b"})],
    "accumulate-initial": [
        ("from_sequence", {"items": [1, 2, 3, 4, 5], "npartitions": 2}),
        ("accumulate", {"binop": "lambda a, b: a * b", "initial": 10}),
    ],
    "join": [
        ("from_sequence", {"items": RECORDS, "npartitions": 2}),
        (
            "join",
            {
                "on_self": "lambda r: r['city']",
                "on_other": "lambda c: c[0]",
                "others": [[("from_sequence", {"items": [["Paris", "FR"], ["Lima", "PE"]], "npartitions": 1})]],
            },
        ),
    ],
    "groupby": [("from_sequence", {"items": list(range(15)), "npartitions": 4}), ("groupby", {"grouper": "lambda x: x % 4"})],
    "groupby-npartitions": [
        ("from_sequence", {"items": RECORDS, "npartitions": 3}),
        ("groupby", {"grouper": "lambda r: r['city']", "npartitions": 2}),
        ("map", {"func": "lambda kv: [kv[0], len(kv[1])]"}),
    ],
    "repartition-fewer": [("from_sequence", {"items": list(range(20)), "npartitions": 7}), ("repartition", {"npartitions": 3})],
    "repartition-more": [("from_sequence", {"items": list(range(20)), "npartitions": 3}), ("repartition", {"npartitions": 8})],
    "read-text-files": [("read_text", {"files": ["one\ntwo\nthree\n", "four\nfive"]}), ("map", {"func": "lambda l: l.strip()"})],
    "read-text-blocksize": [("read_text", {"files": ["alpha beta\ngamma\ndelta epsilon zeta\neta\ntheta\n" * 3], "blocksize": 16})],
    "read-text-word-count": [
        ("read_text", {"files": ["the cat\nthe dog\n", "a cat\n"], "blocksize": 8}),
        ("str", {"method": "split"}),
        ("flatten", {}),
        ("frequencies", {}),
    ],
    "from-delayed": [("from_delayed", {"values": [[1, 2], [], [3, 4, 5]]}), ("map", {"func": "lambda x: x * 2"})],
    "str-upper": [("from_sequence", {"items": ["ab", "Cd", "éf"], "npartitions": 2}), ("str", {"method": "upper"})],
    "str-split-maxsplit": [("from_sequence", {"items": ["a,b,c", "d,e"], "npartitions": 2}), ("str", {"method": "split", "args": [",", 1]})],
    "str-replace": [("from_sequence", {"items": ["banana", "bandana"], "npartitions": 1}), ("str", {"method": "replace", "args": ["an", "AN"]})],
    "str-strip-startswith": [
        ("from_sequence", {"items": ["  x1 ", "y2", " x3"], "npartitions": 2}),
        ("str", {"method": "strip"}),
        ("str", {"method": "startswith", "args": ["x"]}),
    ],
}

# Dask's order is unspecified here: compare as sets of groups.
UNORDERED = {"groupby", "groupby-npartitions"}

# Mixed types that must fail in both.
ERRORS = {
    "sum-mixed-types": [("from_sequence", {"items": [1, "two", 3], "npartitions": 2}), ("sum", {})],
    "min-mixed-types": [("from_sequence", {"items": [1, "two", 3], "npartitions": 1}), ("min", {})],
    "map-type-error": [("from_sequence", {"items": [1, "a"], "npartitions": 2}), ("map", {"func": "lambda x: x + 1"})],
    "pluck-missing-key": [("from_sequence", {"items": [{"a": 1}, {"b": 2}], "npartitions": 2}), ("pluck", {"key": "a"})],
    "mean-empty": [("from_sequence", {"items": []}), ("mean", {})],
}


def test_to_delayed_gives_each_partition():
    nodes = []
    bag, out = build([("from_sequence", {"items": list(range(11)), "npartitions": 4}), ("map", {"func": "lambda x: x * 3"})], nodes, [0])
    expected = [d.compute() for d in bag.to_delayed()]
    outputs = []
    for i in range(bag.npartitions):
        nodes.append({"id": f"d{i}", "op": "bag.to_delayed", "inputs": [out], "args": {"partition": i}})
        outputs.append(f"d{i}")
    code, stdout, stderr = run_partita({"version": 1, "nodes": nodes, "outputs": outputs})
    assert code == 0, stderr
    assert json.loads(stdout) == expected


def test_there_are_enough_cases():
    assert len(CASES) + len(ERRORS) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_bag_matches_dask(name):
    nodes = []
    dask_obj, out = build(CASES[name], nodes, [0])
    expected = dask_obj if isinstance(dask_obj, list) else dask_obj.compute()
    expected = normalise(expected)
    plan = {"version": 1, "nodes": nodes, "outputs": [out]}
    code, stdout, stderr = run_partita(plan)
    assert code == 0, stderr
    got = json.loads(stdout)
    if name in UNORDERED:
        got, expected = unordered_groups(got), unordered_groups(expected)
    assert close(got, expected), f"\npartita: {got}\n   dask: {expected}"
    if hasattr(dask_obj, "npartitions"):
        graph = subprocess.run([BIN, "graph", "-", "--format", "json"], input=json.dumps(plan), capture_output=True, text=True)
        g = json.loads(graph.stdout)
        out_layer = g["tasks"][g["outputs"][0]]["layer"]
        nparts = sum(1 for t in g["tasks"] if t["layer"] == out_layer)
        assert nparts == dask_obj.npartitions, f"partitions: partita {nparts}, dask {dask_obj.npartitions}"


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_input_fails_in_both(name):
    nodes = []
    dask_obj, out = build(ERRORS[name], nodes, [0])
    with pytest.raises(Exception):
        dask_obj.compute()
    code, stdout, stderr = run_partita({"version": 1, "nodes": nodes, "outputs": [out]})
    assert code == 1, (stdout, stderr)
    assert stderr.startswith("error: "), stderr
    assert "panicked" not in stderr
