#!/usr/bin/env python3
"""Run partita's benchmark workloads in its peers and print one JSON line per measurement.

The workloads, the data generator and the checksums are specified in docs/benchmarks.md.
The script creates its own virtualenv in bench/.venv (pinned by bench/requirements.txt)
and re-executes itself inside it.

    python3 bench/peers.py --scale 0.01
    python3 bench/peers.py --only W1a,W3 --engines dask-threads,pandas --repeat 5
    printf 'W1a\nW3b\n' | python3 bench/peers.py --serve --scale 0.01
"""

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time

NPARTITIONS = 16
HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
STAMP = os.path.join(VENV, "requirements.sha256")

ENGINES = ["dask-threads", "dask-sync", "pandas", "polars", "duckdb", "numpy", "python"]

# Which engines run which workload group; the rest make no sense (see docs/benchmarks.md).
GROUP_ENGINES = {
    "W1": ["dask-threads", "dask-sync", "pandas", "polars", "duckdb", "python"],
    "W2": ["dask-threads", "dask-sync", "numpy"],
    "W3": ["dask-threads", "dask-sync", "pandas", "polars", "duckdb"],
    "W4": ["dask-threads", "dask-sync"],
}

WORKLOADS = [
    "W1a", "W1b", "W1c", "W1d", "W1e",
    "W2a", "W2b", "W2c", "W2d", "W2e",
    "W3a", "W3b", "W3c", "W3d", "W3e",
    "W4-10000", "W4-100000",
]

# Checksums that are integers compare exactly; the others at this relative tolerance.
REL_TOL = 1e-9


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- virtualenv

def venv_python():
    return os.path.join(VENV, "bin", "python")


def requirements_digest():
    with open(REQUIREMENTS, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ensure_venv():
    """Create bench/.venv once per requirements.txt content; later runs only compare a digest."""
    digest = requirements_digest()
    if os.path.exists(STAMP) and os.path.exists(venv_python()):
        with open(STAMP) as f:
            if f.read().strip() == digest:
                return
    log(f"peers: installing {os.path.relpath(REQUIREMENTS)} into {os.path.relpath(VENV)} (once)")
    try:
        if not os.path.exists(venv_python()):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run(
            [venv_python(), "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS], check=True
        )
    except subprocess.CalledProcessError as e:
        sys.exit(f"peers: could not set up the virtualenv ({e}); fix the error above or run with --no-venv")
    with open(STAMP, "w") as f:
        f.write(digest + "\n")


def reexec_in_venv():
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    ensure_venv()
    os.execv(venv_python(), [venv_python(), os.path.abspath(__file__)] + sys.argv[1:])


# --------------------------------------------------------------------------- generator

GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK = (1 << 64) - 1


def mix64_scalar(x):
    """The reference generator on Python ints, used by --self-test."""
    z = (x + GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * MIX1) & MASK
    z = ((z ^ (z >> 27)) * MIX2) & MASK
    return z ^ (z >> 31)


def u_scalar(s, i):
    return mix64_scalar(((s << 32) + i) & MASK)


def unit_scalar(s, i):
    return (u_scalar(s, i) >> 11) * 2.0**-53


def u(s, i):
    """u(s, i) for a uint64-convertible array of indices i; wraps like u64 arithmetic."""
    import numpy as np

    x = np.asarray(i, dtype=np.uint64) + np.uint64(s << 32)
    with np.errstate(over="ignore"):
        z = x + np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def unit(s, i):
    import numpy as np

    return (u(s, i) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def self_test():
    import numpy as np

    idx = np.array([0, 1, 2, 12345, 2**32 - 1], dtype=np.uint64)
    for s in (0, 1, 4, 10):
        got = u(s, idx).tolist()
        want = [u_scalar(s, int(i)) for i in idx]
        assert got == want, (s, got, want)
        assert unit(s, idx).tolist() == [unit_scalar(s, int(i)) for i in idx]
    log("peers: generator self-test passed")
    for s, i in ((0, 0), (1, 0), (1, 1), (4, 0), (9, 12345)):
        log(f"  u({s}, {i}) = {u_scalar(s, i)}  unit = {unit_scalar(s, i)!r}")


# --------------------------------------------------------------------------- sizes

def round_half_up(x):
    """Rounds as Rust's f64::round does for positive numbers (Python's round() goes to even)."""
    return math.floor(x + 0.5)


def scaled_rows(n, scale):
    """Row counts scale linearly, with at least one row per partition."""
    return max(NPARTITIONS, round_half_up(n * scale))


def scaled_side(side, scale):
    """Array sides scale by sqrt(scale), rounded to a multiple of 8 (the chunk count of x)."""
    return max(1, round_half_up(side * math.sqrt(scale) / 8)) * 8


class Sizes:
    def __init__(self, scale):
        self.scale = scale
        self.w1_records = scaled_rows(2_000_000, scale)
        self.w1_lines = scaled_rows(200_000, scale)
        self.w2_side = scaled_side(8192, scale)
        self.w2_chunk = self.w2_side // 8
        self.w2_ab_side = scaled_side(4096, scale)
        self.w2_ab_chunk = self.w2_ab_side // 4
        # W2e's column slice keeps its bounds, cut at the side.
        self.w2e_c0 = 100
        self.w2e_c1 = min(5000, self.w2_side)
        self.w3_rows = scaled_rows(10_000_000, scale)
        self.w3_csv_rows = scaled_rows(1_000_000, scale)
        # W4 measures the scheduler, so its task counts do not scale.
        self.w4_n = {"W4-10000": 10_000, "W4-100000": 100_000}


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --------------------------------------------------------------------------- data

class Data:
    """Builds each input once, untimed, in the form each engine starts from."""

    def __init__(self, sizes):
        self.sizes = sizes
        self.cache = {}

    def get(self, name):
        if name not in self.cache:
            t0 = time.perf_counter()
            if name.startswith("W4-"):
                self.cache[name] = self.make_w4(name)
            else:
                self.cache[name] = getattr(self, "make_" + name)()
            log(f"peers:   generated {name} in {time.perf_counter() - t0:.2f} s")
        return self.cache[name]

    # W1
    def make_w1_columns(self):
        import numpy as np

        n = self.sizes.w1_records
        i = np.arange(n, dtype=np.uint64)
        letters = np.array(list(LETTERS))
        names = letters[(u(1, i) % np.uint64(26)).astype(np.int64)]
        values = (u(2, i) % np.uint64(1000)).astype(np.int64)
        return names, values

    def make_w1_records(self):
        names, values = self.get("w1_columns")
        return [{"name": n, "value": v} for n, v in zip(names.tolist(), values.tolist())]

    def make_w1_lines(self):
        import numpy as np

        n = self.sizes.w1_lines
        words = np.array([f"w{k}" for k in range(1000)])
        codes = (u(3, np.arange(n * 10, dtype=np.uint64)) % np.uint64(1000)).astype(np.int64)
        return [" ".join(row) for row in words[codes].reshape(n, 10).tolist()]

    def make_w1_pandas(self):
        import pandas as pd

        names, values = self.get("w1_columns")
        return pd.DataFrame({"name": pd.array(names, dtype="str"), "value": values})

    def make_w1_lines_pandas(self):
        import pandas as pd

        return pd.Series(self.get("w1_lines"), dtype="str", name="line")

    def make_w1_polars(self):
        import polars as pl

        names, values = self.get("w1_columns")
        return pl.DataFrame({"name": names.tolist(), "value": values})

    def make_w1_lines_polars(self):
        import polars as pl

        return pl.DataFrame({"line": self.get("w1_lines")})

    def make_w1_duckdb(self):
        import duckdb
        import pyarrow as pa

        names, values = self.get("w1_columns")
        con = duckdb.connect()
        con.register("t", pa.table({"name": pa.array(names.tolist()), "value": values}))
        con.register("lines", pa.table({"line": self.get("w1_lines")}))
        return con

    # Dask's constructors tokenize their input, which costs far more than the work at hand
    # for records; like generation, building the source collection is not timed.
    def make_w1_bag(self):
        import dask.bag as db

        return db.from_sequence(self.get("w1_records"), npartitions=NPARTITIONS)

    def make_w1_lines_bag(self):
        import dask.bag as db

        return db.from_sequence(self.get("w1_lines"), npartitions=NPARTITIONS)

    # W2
    def make_w2_x_dask(self):
        import dask.array as da

        return da.from_array(self.get("w2_x"), chunks=self.sizes.w2_chunk)

    def make_w2_ab_dask(self):
        import dask.array as da

        c = self.sizes.w2_ab_chunk
        return tuple(da.from_array(m, chunks=c) for m in self.get("w2_ab"))

    def make_w2_x(self):
        import numpy as np

        n = self.sizes.w2_side
        x = np.empty((n, n), dtype=np.float64)
        # Row blocks keep the uint64 temporaries small at full size.
        step = max(1, (1 << 22) // n)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            idx = np.arange(r0 * n, r1 * n, dtype=np.uint64)
            x[r0:r1] = unit(4, idx).reshape(r1 - r0, n)
        return x

    def make_w2_ab(self):
        import numpy as np

        n = self.sizes.w2_ab_side
        idx = np.arange(n * n, dtype=np.uint64)
        return unit(5, idx).reshape(n, n), unit(6, idx).reshape(n, n)

    # W3
    def make_w3_columns(self):
        import numpy as np

        n = self.sizes.w3_rows
        i = np.arange(n, dtype=np.uint64)
        key = (u(7, i) % np.uint64(10000)).astype(np.int64)
        cat_code = (u(8, i) % np.uint64(100)).astype(np.int64)
        val = unit(9, i)
        return key, cat_code, val

    def make_w3_arrow(self):
        import pyarrow as pa

        key, cat_code, val = self.get("w3_columns")
        cats = pa.array([f"c{k}" for k in range(100)])
        cat = pa.DictionaryArray.from_arrays(pa.array(cat_code.astype("int32")), cats).cast(pa.string())
        return pa.table({"key": key, "cat": cat, "val": val})

    def make_w3_right_arrow(self):
        import numpy as np
        import pyarrow as pa

        k = np.arange(10000, dtype=np.uint64)
        return pa.table({"key": k.astype(np.int64), "weight": unit(10, k)})

    def make_w3_pandas(self):
        return self.get("w3_arrow").to_pandas().astype({"cat": "str"})

    def make_w3_dask(self):
        import dask.dataframe as dd

        return dd.from_pandas(self.get("w3_pandas"), npartitions=NPARTITIONS)

    def make_w3_right_pandas(self):
        return self.get("w3_right_arrow").to_pandas()

    def make_w3_polars(self):
        import polars as pl

        return pl.from_arrow(self.get("w3_arrow"))

    def make_w3_right_polars(self):
        import polars as pl

        return pl.from_arrow(self.get("w3_right_arrow"))

    def make_w3_duckdb(self):
        import duckdb

        con = duckdb.connect()
        con.register("t", self.get("w3_arrow"))
        con.register("r", self.get("w3_right_arrow"))
        con.execute("SET preserve_insertion_order = false")
        return con

    def make_w3_csv_text(self):
        key, cat_code, val = self.get("w3_columns")
        n = self.sizes.w3_csv_rows
        parts = ["key,cat,val\n"]
        parts.extend(
            f"{k},c{c},{v:.6f}\n"
            for k, c, v in zip(key[:n].tolist(), cat_code[:n].tolist(), val[:n].tolist())
        )
        return "".join(parts)

    def make_w3_csv_bytes(self):
        return self.get("w3_csv_text").encode()

    def make_w3_csv_file(self):
        """Dask and DuckDB read paths, so the same text also goes to a temporary file."""
        import atexit
        import tempfile

        fd, path = tempfile.mkstemp(prefix="partita-bench-", suffix=".csv")
        with os.fdopen(fd, "wb") as f:
            f.write(self.get("w3_csv_bytes"))
        atexit.register(os.remove, path)
        return path

    def make_w3_duckdb_csv(self):
        import duckdb

        return duckdb.connect()

    # W4
    def make_w4(self, name):
        return tree_graph(self.sizes.w4_n[name])


def one():
    return 1


def tree_graph(n, fan_in=8):
    """A raw Dask graph: n leaves returning 1, then sum nodes of up to fan_in children until one root."""
    dsk = {("leaf", i): (one,) for i in range(n)}
    level_keys = [("leaf", i) for i in range(n)]
    level = 0
    while len(level_keys) > 1:
        level += 1
        nxt = []
        for j in range(0, len(level_keys), fan_in):
            key = (f"sum-{level}", j // fan_in)
            dsk[key] = (sum, level_keys[j : j + fan_in])
            nxt.append(key)
        level_keys = nxt
    return dsk, level_keys[0]


# --------------------------------------------------------------------------- checksums

def letter_weight(name):
    return LETTERS.index(name) + 1


def cat_weight(cat):
    return int(cat[1:]) + 1


def pairs_checksum(pairs, weight):
    return sum(int(c) * weight(k) for k, c in pairs)


# --------------------------------------------------------------------------- workloads
# Each implementation takes the Data and returns the checksum; everything inside is timed.

def w1_bag(data, scheduler):
    bag = lambda: data.get("w1_bag")

    return {
        "W1a": lambda: bag().pluck("value").sum().compute(scheduler=scheduler),
        "W1b": lambda: pairs_checksum(
            bag().pluck("name").frequencies().compute(scheduler=scheduler), letter_weight
        ),
        "W1c": lambda: bag().filter(lambda r: r["value"] % 7 == 0).count().compute(scheduler=scheduler),
        "W1d": lambda: bag().map(lambda r: r["value"]).distinct().count().compute(scheduler=scheduler),
        "W1e": lambda: sum(
            c
            for _, c in data.get("w1_lines_bag")
            .map(str.split)
            .flatten()
            .frequencies()
            .topk(10, key=1)
            .compute(scheduler=scheduler)
        ),
    }


def w1_python(data):
    from collections import Counter

    def w1e():
        counts = Counter(w for line in data.get("w1_lines") for w in line.split())
        return sum(c for _, c in counts.most_common(10))

    recs = lambda: data.get("w1_records")
    return {
        "W1a": lambda: sum(r["value"] for r in recs()),
        "W1b": lambda: pairs_checksum(Counter(r["name"] for r in recs()).items(), letter_weight),
        "W1c": lambda: sum(1 for r in recs() if r["value"] % 7 == 0),
        "W1d": lambda: len({r["value"] for r in recs()}),
        "W1e": w1e,
    }


def w1_pandas(data):
    df = lambda: data.get("w1_pandas")
    return {
        "W1a": lambda: int(df()["value"].sum()),
        "W1b": lambda: pairs_checksum(df()["name"].value_counts().items(), letter_weight),
        "W1c": lambda: int((df()["value"] % 7 == 0).sum()),
        "W1d": lambda: int(df()["value"].nunique()),
        "W1e": lambda: int(
            data.get("w1_lines_pandas").str.split(" ").explode().value_counts().nlargest(10).sum()
        ),
    }


def w1_polars(data):
    import polars as pl

    df = lambda: data.get("w1_polars")
    return {
        "W1a": lambda: int(df()["value"].sum()),
        "W1b": lambda: pairs_checksum(
            df().group_by("name").len().iter_rows(), letter_weight
        ),
        "W1c": lambda: df().filter(pl.col("value") % 7 == 0).height,
        "W1d": lambda: df()["value"].n_unique(),
        "W1e": lambda: int(
            data.get("w1_lines_polars")
            .select(pl.col("line").str.split(" ").explode().alias("w"))
            .group_by("w")
            .len()
            .top_k(10, by="len")["len"]
            .sum()
        ),
    }


def w1_duckdb(data):
    con = lambda: data.get("w1_duckdb")
    q = lambda sql: con().execute(sql).fetchall()
    return {
        "W1a": lambda: int(q("SELECT sum(value) FROM t")[0][0]),
        "W1b": lambda: pairs_checksum(q("SELECT name, count(*) FROM t GROUP BY name"), letter_weight),
        "W1c": lambda: q("SELECT count(*) FROM t WHERE value % 7 = 0")[0][0],
        "W1d": lambda: q("SELECT count(DISTINCT value) FROM t")[0][0],
        "W1e": lambda: int(
            q(
                "SELECT sum(c) FROM (SELECT w, count(*) AS c FROM "
                "(SELECT unnest(string_split(line, ' ')) AS w FROM lines) "
                "GROUP BY w ORDER BY c DESC LIMIT 10)"
            )[0][0]
        ),
    }


def w2_dask(data, scheduler):
    s = data.sizes
    x = lambda: data.get("w2_x_dask")

    def w2d():
        a, b = data.get("w2_ab_dask")
        return float((a @ b).sum().compute(scheduler=scheduler))

    def w2c():
        xx = x()
        return float((xx + xx.T).sum().compute(scheduler=scheduler))

    return {
        "W2a": lambda: float(x().sum().compute(scheduler=scheduler)),
        "W2b": lambda: float(x().mean(axis=0).compute(scheduler=scheduler).sum()),
        "W2c": w2c,
        "W2d": w2d,
        "W2e": lambda: float(x()[::2, s.w2e_c0 : s.w2e_c1].std().compute(scheduler=scheduler)),
    }


def w2_numpy(data):
    s = data.sizes
    x = lambda: data.get("w2_x")

    def w2d():
        a, b = data.get("w2_ab")
        return float((a @ b).sum())

    return {
        "W2a": lambda: float(x().sum()),
        "W2b": lambda: float(x().mean(axis=0).sum()),
        "W2c": lambda: float((x() + x().T).sum()),
        "W2d": w2d,
        "W2e": lambda: float(x()[::2, s.w2e_c0 : s.w2e_c1].std()),
    }


def w3a_pandas_checksum(sums):
    return float((sums.index.to_numpy(dtype="float64") * sums.to_numpy()).sum())


def w3b_checksum(counts):
    return pairs_checksum(counts.items(), cat_weight)


def w3d_checksum(agg):
    return float(agg["mean"].sum() + agg["max"].sum() + agg["count"].sum())


def w3_dask(data, scheduler):
    import dask.dataframe as dd

    ddf = lambda: data.get("w3_dask")

    def w3c():
        m = ddf().merge(data.get("w3_right_pandas"), on="key")
        return float((m["val"] * m["weight"]).sum().compute(scheduler=scheduler))

    def w3e():
        path = data.get("w3_csv_file")
        blocksize = max(1, -(-os.path.getsize(path) // NPARTITIONS))
        df = dd.read_csv(path, blocksize=blocksize)
        return w3a_pandas_checksum(df.groupby("key")["val"].sum().compute(scheduler=scheduler))

    return {
        "W3a": lambda: w3a_pandas_checksum(ddf().groupby("key")["val"].sum().compute(scheduler=scheduler)),
        "W3b": lambda: w3b_checksum(
            (lambda d: d[d["val"] > 0.5]["cat"].value_counts())(ddf()).compute(scheduler=scheduler)
        ),
        "W3c": w3c,
        "W3d": lambda: w3d_checksum(
            ddf().groupby("cat")["val"].agg(["mean", "max", "count"]).compute(scheduler=scheduler)
        ),
        "W3e": w3e,
    }


def w3_pandas(data):
    import io

    import pandas as pd

    df = lambda: data.get("w3_pandas")

    def w3c():
        m = df().merge(data.get("w3_right_pandas"), on="key")
        return float((m["val"] * m["weight"]).sum())

    def w3e():
        d = pd.read_csv(io.BytesIO(data.get("w3_csv_bytes")))
        return w3a_pandas_checksum(d.groupby("key")["val"].sum())

    return {
        "W3a": lambda: w3a_pandas_checksum(df().groupby("key")["val"].sum()),
        "W3b": lambda: w3b_checksum(df().loc[df()["val"] > 0.5, "cat"].value_counts()),
        "W3c": w3c,
        "W3d": lambda: w3d_checksum(df().groupby("cat")["val"].agg(["mean", "max", "count"])),
        "W3e": w3e,
    }


def w3_polars(data):
    import io

    import polars as pl

    df = lambda: data.get("w3_polars")

    def keyed_sum(frame):
        g = frame.group_by("key").agg(pl.col("val").sum())
        return float((g["key"].cast(pl.Float64) * g["val"]).sum())

    def w3e():
        return keyed_sum(pl.read_csv(io.BytesIO(data.get("w3_csv_bytes"))))

    return {
        "W3a": lambda: keyed_sum(df()),
        "W3b": lambda: pairs_checksum(
            df().filter(pl.col("val") > 0.5).group_by("cat").len().iter_rows(), cat_weight
        ),
        "W3c": lambda: float(
            df().join(data.get("w3_right_polars"), on="key").select((pl.col("val") * pl.col("weight")).sum()).item()
        ),
        "W3d": lambda: float(
            df()
            .group_by("cat")
            .agg(pl.col("val").mean().alias("mean"), pl.col("val").max().alias("max"), pl.len().alias("count"))
            .select(pl.col("mean").sum() + pl.col("max").sum() + pl.col("count").sum())
            .item()
        ),
        "W3e": w3e,
    }


def w3_duckdb(data):
    con = lambda: data.get("w3_duckdb")
    one_value = lambda c, sql: float(c.execute(sql).fetchone()[0])
    keyed = "SELECT sum(CAST(key AS DOUBLE) * s) FROM (SELECT key, sum(val) AS s FROM {} GROUP BY key)"

    def w3e():
        path = data.get("w3_csv_file").replace("'", "''")
        src = f"read_csv('{path}', header = true)"
        return one_value(data.get("w3_duckdb_csv"), keyed.format(src))

    return {
        "W3a": lambda: one_value(con(), keyed.format("t")),
        "W3b": lambda: pairs_checksum(
            con().execute("SELECT cat, count(*) FROM t WHERE val > 0.5 GROUP BY cat").fetchall(), cat_weight
        ),
        "W3c": lambda: one_value(con(), "SELECT sum(val * weight) FROM t JOIN r USING (key)"),
        "W3d": lambda: one_value(
            con(),
            "SELECT sum(m) + sum(x) + sum(n) FROM "
            "(SELECT avg(val) AS m, max(val) AS x, count(*) AS n FROM t GROUP BY cat)",
        ),
        "W3e": w3e,
    }


def w4_dask(data, scheduler):
    import dask
    import dask.threaded

    get = dask.threaded.get if scheduler == "threads" else dask.get

    def run(name):
        dsk, root = data.get(name)
        return get(dsk, root)

    return {name: (lambda name=name: run(name)) for name in data.sizes.w4_n}


def implementations(group, engine, data):
    sched = {"dask-threads": "threads", "dask-sync": "sync"}.get(engine)
    if group == "W1":
        if sched:
            return w1_bag(data, sched)
        return {"python": w1_python, "pandas": w1_pandas, "polars": w1_polars, "duckdb": w1_duckdb}[engine](data)
    if group == "W2":
        return w2_dask(data, sched) if sched else w2_numpy(data)
    if group == "W3":
        if sched:
            return w3_dask(data, sched)
        return {"pandas": w3_pandas, "polars": w3_polars, "duckdb": w3_duckdb}[engine](data)
    if group == "W4":
        return w4_dask(data, sched)
    raise ValueError(group)


# --------------------------------------------------------------------------- engine facts

def engine_version(engine):
    lib = {"dask-threads": "dask", "dask-sync": "dask"}.get(engine, engine)
    if lib == "python":
        return "python " + sys.version.split()[0]
    mod = __import__(lib)
    return f"{lib} {mod.__version__}"


def engine_workers(engine, workload, data):
    if engine == "dask-threads":
        from dask.system import CPU_COUNT

        return CPU_COUNT
    if engine == "polars":
        import polars as pl

        return pl.thread_pool_size()
    if engine == "duckdb":
        con = data.get("w1_duckdb" if workload.startswith("W1") else "w3_duckdb")
        return int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    return 1


def tree_tasks(n, fan_in=8):
    total = n
    while n > 1:
        n = -(-n // fan_in)
        total += n
    return total


def checksums_agree(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


# --------------------------------------------------------------------------- main

def parse_list(text, allowed, what):
    if not text:
        return list(allowed)
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if what == "workload":
            # A full name picks that workload only (W4-10000 is not a prefix of W4-100000 here).
            hits = [item] if item in allowed else [w for w in allowed if w.startswith(item)]
        else:
            hits = [e for e in allowed if e == item]
        if not hits:
            sys.exit(f"peers: unknown {what} {item!r}; choose from {', '.join(allowed)}")
        out.extend(h for h in hits if h not in out)
    return out


def main():
    ap = argparse.ArgumentParser(description="Run partita's benchmark workloads in its peers (docs/benchmarks.md).")
    ap.add_argument("--only", help="workloads or groups, comma-separated, e.g. W1a,W3 (default: all)")
    ap.add_argument("--engines", help="engines, comma-separated (default: all): " + ",".join(ENGINES))
    ap.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up; the median is printed")
    ap.add_argument("--scale", type=float, default=1.0, help="row-count factor; array sides scale by its square root")
    ap.add_argument("--no-venv", action="store_true", help="use the current interpreter as it is")
    ap.add_argument("--serve", action="store_true",
                    help="read requests (workloads as --only takes them) from standard input, one per line, "
                         "and answer each with its lines and then {\"done\": request}")
    ap.add_argument("--self-test", action="store_true", help="check the vectorised generator against the scalar one and exit")
    args = ap.parse_args()

    if not args.no_venv:
        reexec_in_venv()
    if args.self_test:
        self_test()
        return 0
    if args.repeat < 1:
        sys.exit("peers: --repeat must be at least 1")
    if not (0 < args.scale <= 1):
        sys.exit("peers: --scale must be in (0, 1]")

    engines = parse_list(args.engines, ENGINES, "engine")
    data = Data(Sizes(args.scale))
    mismatches = 0
    if args.serve:
        # One request per line (workloads, as --only takes them), answered by its lines and
        # then {"done": request}: scripts/bench-all.mjs asks for one workload at a time, so
        # every engine measures it close in time, and the data is made once.
        for request in sys.stdin:
            request = request.strip()
            if request:
                for workload in parse_list(request, WORKLOADS, "workload"):
                    mismatches += not run_workload(workload, engines, data, args)
                print(json.dumps({"done": request}), flush=True)
    else:
        for workload in parse_list(args.only, WORKLOADS, "workload"):
            mismatches += not run_workload(workload, engines, data, args)

    if mismatches:
        log(f"peers: {mismatches} workload(s) with disagreeing checksums")
        return 1
    return 0


def run_workload(workload, engines, data, args):
    """Measures one workload in every chosen engine that runs it and prints their lines.
    Returns whether their checksums agree."""
    group = workload[:2]
    runnable = [e for e in engines if e in GROUP_ENGINES[group]]
    skipped = [e for e in engines if e not in GROUP_ENGINES[group]]
    if skipped and args.engines:
        log(f"peers: {workload}: skipping {', '.join(skipped)} (not a peer for {group})")
    got = []
    for engine in runnable:
        fn = implementations(group, engine, data)[workload]
        log(f"peers: {workload} {engine}")
        checksum = fn()  # Warm-up; it also builds the untimed inputs.
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            again = fn()
            times.append(time.perf_counter() - t0)
            if not checksums_agree(checksum, again):
                log(f"peers: WARNING {workload} {engine}: checksum changed between runs ({checksum} vs {again})")
        times.sort()
        # The middle run; for an even count the upper middle one, as partita bench does.
        seconds = times[len(times) // 2]
        line = {
            "workload": workload,
            "engine": engine,
            "workers": engine_workers(engine, workload, data),
            "seconds": seconds,
            "fastest": times[0],
            "slowest": times[-1],
            "checksum": checksum,
            "scale": args.scale,
            "runs": args.repeat,
            "version": engine_version(engine),
        }
        if group == "W4":
            n = data.sizes.w4_n[workload]
            line["n"] = n
            line["tasks"] = tree_tasks(n)
            line["us_per_task"] = seconds / line["tasks"] * 1e6
        print(json.dumps(line), flush=True)
        got.append((engine, checksum))

    if got and not all(checksums_agree(got[0][1], c) for _, c in got[1:]):
        detail = ", ".join(f"{e}={c!r}" for e, c in got)
        log(f"peers: WARNING checksum mismatch in {workload}: {detail}")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
