#!/usr/bin/env python3
"""Turn benchmark JSON lines (partita native, partita browser, peers) into a markdown table.

    python3 bench/table.py --native native.jsonl --browser browser.jsonl --peers peers.jsonl -o results.md

Any of the files may be missing. The format of the lines and the workloads are in
docs/benchmarks.md. Needs only the standard library.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys
from collections import OrderedDict

REL_TOL = 1e-9
SOURCES = ("native", "browser", "peers")
ENGINE_ORDER = ["partita-threads", "partita-sync", "dask-threads", "dask-sync", "pandas", "polars", "duckdb", "numpy", "python"]


def warn(msg):
    print(f"table: {msg}", file=sys.stderr)


def read_lines(path, source):
    """Measurement dicts from one JSON-line file; unreadable lines are reported and skipped."""
    rows = []
    if not path:
        return rows
    if not os.path.exists(path):
        warn(f"{path}: no such file; the {source} columns are left out")
        return rows
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            text = text.strip()
            if not text or not text.startswith("{"):
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                warn(f"{path}:{lineno}: not JSON ({e}); skipped")
                continue
            missing = [k for k in ("workload", "engine", "seconds") if k not in row]
            if missing:
                warn(f"{path}:{lineno}: no {', '.join(missing)}; skipped")
                continue
            row["_source"] = source
            rows.append(row)
    if not rows:
        warn(f"{path}: no measurements")
    return rows


def workload_sort_key(name):
    m = re.match(r"W(\d+)([a-z]*)(?:-(\d+))?$", name)
    if not m:
        return (1 << 30, name, 0)
    return (int(m.group(1)), m.group(2), int(m.group(3) or 0))


def same_checksum(a, b):
    if a is None or b is None:
        return True
    a, b = float(a), float(b)
    # Integral checksums (counts, sums of integers) must match exactly.
    if a.is_integer() and b.is_integer():
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


def fmt_seconds(s):
    if s <= 0:
        return "0"
    # Three significant digits without an exponent; round first so 0.9996 becomes 1.00.
    s = float(f"{s:.3g}")
    digits = max(0, 2 - math.floor(math.log10(s)))
    return f"{s:.{digits}f}"


def fmt_ratio(r):
    if r >= 100:
        return f"{r:.0f}"
    if r >= 10:
        return f"{r:.1f}"
    return f"{r:.2f}"


# --------------------------------------------------------------------------- machine

def machine_lines():
    cpu, logical, physical = "unknown CPU", None, None
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        cpu = m.group(1).strip() if m else cpu
        logical = len(re.findall(r"^processor\s*:", info, re.M))
        cores = {}
        for block in info.split("\n\n"):
            pid = re.search(r"^physical id\s*:\s*(\d+)", block, re.M)
            cc = re.search(r"^cpu cores\s*:\s*(\d+)", block, re.M)
            if cc:
                cores[pid.group(1) if pid else "0"] = int(cc.group(1))
        physical = sum(cores.values()) or None
    except OSError:
        logical = os.cpu_count()
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
        if m:
            mem = f"{int(m.group(1)) / 2**20:.1f} GiB"
    except OSError:
        pass
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', f.read(), re.M)
        if m:
            osname = m.group(1)
    except OSError:
        pass
    cores = f"{logical} logical"
    if physical:
        cores += f", {physical} physical"
    return [
        f"- CPU: {cpu} ({cores})",
        f"- memory: {mem}",
        f"- OS: {osname}, kernel {platform.release()}",
        f"- table made: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


# --------------------------------------------------------------------------- table

def column_label(source, engine, clash):
    if source == "peers":
        return engine
    if engine in clash or not engine.startswith("partita"):
        return f"partita {source}" if engine == "partita" else f"{engine} ({source})"
    return engine


def column_order(key):
    """Where a (source, engine) column goes: native, browser, then the peers in a fixed order."""
    source, engine = key
    return (SOURCES.index(source), ENGINE_ORDER.index(engine) if engine in ENGINE_ORDER else len(ENGINE_ORDER), engine)


def shown_rows(rows):
    """The run each cell shows, by (source, engine, workload, scale): the one with the most
    workers (the others of a scaling run go to the worker-count table); the first of equals."""
    shown = {}
    for r in rows:
        k = (r["_source"], r["engine"], r["workload"], r.get("scale", 1.0))
        if k not in shown or (r.get("workers") or 0) > (shown[k].get("workers") or 0):
            shown[k] = r
    return shown


def build(rows, baseline_engine):
    out = []
    scales = sorted({r.get("scale", 1.0) for r in rows}, reverse=True)
    if len(scales) > 1:
        warn(f"the files mix scales {scales}; one table per scale")

    # Columns: partita native, partita browser, then peers in a fixed order.
    cols = OrderedDict()
    by_engine_sources = {}
    for r in rows:
        by_engine_sources.setdefault(r["engine"], set()).add(r["_source"])
    clash = {e for e, s in by_engine_sources.items() if len(s) > 1}

    def col_key(r):
        return (r["_source"], r["engine"])

    ordered = sorted({col_key(r) for r in rows}, key=column_order)
    for k in ordered:
        cols[k] = column_label(k[0], k[1], clash)

    native_engines = [k[1] for k in cols if k[0] == "native"]
    if baseline_engine and baseline_engine not in native_engines:
        warn(f"baseline engine {baseline_engine!r} is not in the native file; no ratios")
    if not baseline_engine and native_engines:
        baseline_engine = "partita-threads" if "partita-threads" in native_engines else native_engines[0]
    base = baseline_engine
    if base is None:
        warn("no partita native measurements; no ratios")

    versions = OrderedDict()
    for r in rows:
        if r.get("version"):
            versions.setdefault(cols[col_key(r)], (r["version"], r.get("workers")))
    if versions:
        out.append("- tools (engine: version, workers):")
        for label, (v, w) in versions.items():
            out.append(f"  - {label}: {v}" + (f", {w}" if w is not None else ""))
    out.append("")

    notes = []
    shown = shown_rows(rows)
    for scale in scales:
        at = [r for r in rows if r.get("scale", 1.0) == scale]
        cell = {(w, (src, eng)): r for (src, eng, w, sc), r in shown.items() if sc == scale}
        scaling = {}
        for r in at:
            scaling.setdefault((r["workload"], col_key(r)), {})[r.get("workers")] = r
        workloads = sorted({r["workload"] for r in at}, key=workload_sort_key)
        used = [k for k in cols if any((w, k) in cell for w in workloads)]
        base_key = ("native", base) if base and ("native", base) in used else None

        if len(scales) > 1:
            out.append(f"### Scale {scale:g}")
            out.append("")
        sentence = f"Scale {scale:g}; median seconds"
        if base_key:
            sentence += f", and ×ratio = seconds / {cols[base_key]}'s seconds (above 1: slower than partita)."
        else:
            sentence += "; no partita native run to compare with."
        out.append(sentence)
        out.append("")
        out.append("| workload | " + " | ".join(cols[k] for k in used) + " |")
        out.append("| --- |" + " ---: |" * len(used))
        for w in workloads:
            ref = reference_checksum(w, used, cell, base_key)
            base_row = cell.get((w, base_key)) if base_key else None
            cells = []
            for k in used:
                r = cell.get((w, k))
                if r is None:
                    cells.append("–")
                    continue
                text = fmt_seconds(float(r["seconds"]))
                if base_row and k != base_key and float(base_row["seconds"]) > 0:
                    text += f" (×{fmt_ratio(float(r['seconds']) / float(base_row['seconds']))})"
                if ref is not None and not same_checksum(r.get("checksum"), ref[1]):
                    text += " ✗"
                    notes.append(f"- {w} at scale {scale:g}: {cols[k]} gave checksum {r.get('checksum')!r}, "
                                 f"{ref[0]} {ref[1]!r}")
                cells.append(text)
            out.append(f"| {w} | " + " | ".join(cells) + " |")
        out.append("")

        several = {k: v for k, v in scaling.items() if len(v) > 1}
        if several:
            counts = sorted({n for v in several.values() for n in v}, key=lambda n: n or 0)
            out.append("Seconds by worker count, and the speed-up of the most workers over one "
                       "(2.00 on 2 workers: twice as fast):")
            out.append("")
            out.append("| workload | engine | " + " | ".join(f"{n} worker{'s' if n != 1 else ''}" for n in counts)
                       + " | speed-up |")
            out.append("| --- | --- |" + " ---: |" * (len(counts) + 1))
            for (w, k), by_workers in sorted(several.items(), key=lambda kv: (workload_sort_key(kv[0][0]), kv[0][1])):
                cells = [fmt_seconds(float(by_workers[n]["seconds"])) if n in by_workers else "–" for n in counts]
                one, most = by_workers.get(1), by_workers[max(by_workers, key=lambda n: n or 0)]
                speedup = f"{float(one['seconds']) / float(most['seconds']):.2f}" if one and float(most["seconds"]) > 0 else "–"
                out.append(f"| {w} | {cols[k]} | " + " | ".join(cells) + f" | {speedup} |")
            out.append("")

        w4 = [cell[(w, k)] for (w, k) in cell if "us_per_task" in cell[(w, k)]]
        if w4:
            out.append("Scheduler overhead (W4), microseconds per task (tasks in the graph):")
            out.append("")
            w4_cols = [k for k in used if any((r["workload"], k) in cell and "us_per_task" in r for r in w4)]
            out.append("| workload | " + " | ".join(cols[k] for k in w4_cols) + " |")
            out.append("| --- |" + " ---: |" * len(w4_cols))
            for w in sorted({r["workload"] for r in w4}, key=workload_sort_key):
                vals = []
                for k in w4_cols:
                    r = cell.get((w, k))
                    if r and "us_per_task" in r:
                        # Engines count tasks differently, so each cell says how many it had.
                        tasks = f" ({r['tasks']} tasks)" if r.get("tasks") else ""
                        vals.append(f"{float(r['us_per_task']):.1f}{tasks}")
                    else:
                        vals.append("–")
                out.append(f"| {w} | " + " | ".join(vals) + " |")
            out.append("")

    if notes:
        out.append("✗ marks a checksum that disagrees:")
        out.append("")
        out.extend(notes)
        out.append("")
    return out, len(notes)


def spread_lines(rows):
    """How far apart each engine's fastest and slowest timed runs were (lines that say)."""
    spread = {}
    # Only the runs the main table shows (the most workers of a scaling run).
    for r in shown_rows(rows).values():
        if r.get("fastest") and r.get("slowest") and r.get("runs", 1) > 1:
            k = (r["workload"], (r["_source"], r["engine"]))
            spread[k] = max(spread.get(k, 0.0), float(r["slowest"]) / float(r["fastest"]))
    if not spread:
        return []
    cols = sorted({k[1] for k in spread}, key=column_order)
    labels = [column_label(source, engine, set()) for source, engine in cols]
    out = [
        "Run to run: the slowest timed run over the fastest (1.00: every run took as long; "
        "a big figure means the machine moved during the runs and the median carries that noise):",
        "",
        "| workload | " + " | ".join(labels) + " |",
        "| --- |" + " ---: |" * len(labels),
    ]
    for w in sorted({k[0] for k in spread}, key=workload_sort_key):
        cells = [f"{spread[(w, c)]:.2f}" if (w, c) in spread else "–" for c in cols]
        out.append(f"| {w} | " + " | ".join(cells) + " |")
    out.append("")
    return out


# --------------------------------------------------------------------------- targets

W1, W3 = [f"W1{c}" for c in "abcde"], [f"W3{c}" for c in "abcde"]
W2 = [f"W2{c}" for c in "abcde"]


def measurement(rows, source, engine, workload, scale=None, workers=None):
    """The row of one engine and workload: the largest scale unless given, and the run the
    main table shows unless a worker count is given."""
    found = [r for r in rows if r["_source"] == source and r["engine"] == engine and r["workload"] == workload
             and (scale is None or r.get("scale", 1.0) == scale)
             and (workers is None or (r.get("workers") or 1) == workers)]
    if not found:
        return None
    top = max(r.get("scale", 1.0) for r in found)
    return next(iter(shown_rows([r for r in found if r.get("scale", 1.0) == top]).values()))


def secs(row):
    return float(row["seconds"]) if row else None


def target_checks(rows):
    """Each target of docs/benchmarks.md as (target, [(workload, figure text, met)]).

    A figure is a ratio where the target is one, seconds or microseconds otherwise; a
    workload missing from the run (or its reference) is left out of its target."""
    nat = lambda w, e="partita-threads": measurement(rows, "native", e, w)
    peer = lambda w, e: measurement(rows, "peers", e, w)
    checks = []

    def ratio_target(title, workloads, reference, at_least):
        found = []
        for w in workloads:
            p, ref = secs(nat(w)), reference(w)
            if p and ref:
                found.append((w, f"{ref / p:.2f}x" if ref / p < 10 else f"{ref / p:.0f}x", ref / p >= at_least))
        checks.append((title, found))

    ratio_target("W1 at least 30x faster than Dask threads", W1, lambda w: secs(peer(w, "dask-threads")), 30)
    ratio_target("W1 faster than plain Python", W1, lambda w: secs(peer(w, "python")), 1)
    ratio_target("W2a, W2b no slower than NumPy", W2[:2], lambda w: secs(peer(w, "numpy")), 1)
    ratio_target("W2c at most half of Dask threads' time", W2[2:3], lambda w: secs(peer(w, "dask-threads")), 2)
    ratio_target("W2d within 1.2x of NumPy's time (x at least 0.83)", W2[3:4],
                 lambda w: secs(peer(w, "numpy")), 1 / 1.2)

    def fastest_of_polars_duckdb(w):
        times = [secs(peer(w, e)) for e in ("polars", "duckdb")]
        times = [t for t in times if t]
        return min(times) if times else None

    ratio_target("W3 no slower than the fastest of Polars and DuckDB", W3, fastest_of_polars_duckdb, 1)
    ratio_target("W3 at least 5x faster than Dask threads", W3, lambda w: secs(peer(w, "dask-threads")), 5)

    def per_task(title, source, engines, limit):
        found = []
        for w in ("W4-10000", "W4-100000"):
            for e in engines:
                r = measurement(rows, source, e, w)
                if r and "us_per_task" in r:
                    us = float(r["us_per_task"])
                    found.append((f"{w} {e}", f"{us:.1f} µs", us <= limit))
        checks.append((title, found))

    per_task("W4 at most 2 µs per task natively", "native", ["partita-threads", "partita-sync"], 2)
    per_task("W4 at most 10 µs per task in wasm", "browser",
             ["partita-wasm-threads", "partita-wasm-single", "partita-wasm-threads-sync", "partita-wasm-single-sync"], 10)

    found = []
    for w in W1 + W2 + W3:
        t = measurement(rows, "browser", "partita-wasm-threads", w)
        s = t and measurement(rows, "browser", "partita-wasm-single", w, t.get("scale", 1.0))
        if t and s:
            x = secs(s) / secs(t)
            # Beside it, what the same worker count gains natively over one worker (from
            # --scaling): the machine's own ceiling for this workload.
            k = t.get("workers") or 1
            one = measurement(rows, "native", "partita-threads", w, t.get("scale", 1.0), workers=1)
            many = measurement(rows, "native", "partita-threads", w, t.get("scale", 1.0), workers=k)
            aside = f" (native {secs(one) / secs(many):.2f}x)" if one and many and k > 1 else ""
            found.append((w, f"{x:.2f}x", x >= 1.8, aside))
    workers = sorted({r.get("workers") for r in rows if r["engine"] == "partita-wasm-threads"} - {None})
    checks.append((f"Browser: threads bundle at least 1.8x the single one (on {'/'.join(map(str, workers)) or '?'} workers)", found))

    found = []
    for w in W1 + W2 + W3:
        n = nat(w)
        t = n and measurement(rows, "browser", "partita-wasm-threads", w, n.get("scale", 1.0))
        if n and t:
            # Seconds times workers: the work of one thread, whatever the worker counts.
            x = (secs(t) * (t.get("workers") or 1)) / (secs(n) * (n.get("workers") or 1))
            found.append((w, f"{x:.2f}x", x <= 1.5))
    checks.append(("wasm (threads bundle) within 1.5x of native per thread", found))

    # The same question without shared memory and task hand-offs: one thread each.
    found = []
    for w in W1 + W2 + W3:
        s = measurement(rows, "browser", "partita-wasm-single", w)
        n = s and measurement(rows, "native", "partita-threads", w, s.get("scale", 1.0), workers=1)
        if s and n:
            x = secs(s) / secs(n)
            found.append((w, f"{x:.2f}x", x <= 1.5))
    checks.append(("wasm (single bundle) within 1.5x of native on one worker", found))
    return checks


def target_lines(rows):
    checks = [(t, f) for t, f in target_checks(rows) if f]
    if not checks:
        return []
    out = [
        "Targets (docs/benchmarks.md) in this run; x = the reference's seconds over partita's "
        "(above 1: partita is faster); ✔ met, ✘ missed:",
        "",
        "| target | met | figures |",
        "| --- | ---: | --- |",
    ]
    for title, found in checks:
        met = sum(f[2] for f in found)
        # A figure may carry an aside (a reference to read it by) after its mark.
        figures = ", ".join(f"{f[0]} {f[1]} {'✔' if f[2] else '✘'}{f[3] if len(f) > 3 else ''}" for f in found)
        out.append(f"| {title} | {met} of {len(found)} | {figures} |")
    out.append("")
    return out


def reference_checksum(workload, used, cell, base_key):
    """The checksum most engines agree on; on a tie, partita native's."""
    given = [(k, cell[(workload, k)].get("checksum")) for k in used if (workload, k) in cell]
    given = [(k, v) for k, v in given if v is not None]
    if not given:
        return None
    votes = lambda v: sum(same_checksum(v, o) for _, o in given)
    top = max(votes(v) for _, v in given)
    tied = [(k, v) for k, v in given if votes(v) == top]
    k, v = next(((k, v) for k, v in tied if k == base_key), tied[0])
    if top == len(given):
        return ("all gave", v)
    return ("most engines gave" if top * 2 > len(given) else f"{k[1]} ({k[0]}) gave", v)


def main():
    ap = argparse.ArgumentParser(description="Make a markdown table from benchmark JSON lines (docs/benchmarks.md).")
    ap.add_argument("--native", help="JSON lines from `partita bench`")
    ap.add_argument("--browser", help="JSON lines from the browser benchmark")
    ap.add_argument("--peers", help="JSON lines from bench/peers.py")
    ap.add_argument("--baseline", help="engine in the native file that ratios divide by (default: partita-threads)")
    ap.add_argument("-o", "--output", help="markdown file to write (default: standard output)")
    args = ap.parse_args()
    if not (args.native or args.browser or args.peers):
        ap.error("give at least one of --native, --browser, --peers")

    rows = []
    for source in SOURCES:
        rows.extend(read_lines(getattr(args, source), source))
    if not rows:
        sys.exit("table: no measurements in any file")

    lines = ["## Benchmark results", "", "Machine:", ""] + machine_lines()
    body, mismatches = build(rows, args.baseline)
    body += target_lines(rows) + spread_lines(rows)
    text = "\n".join(lines + body).rstrip() + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if mismatches:
        warn(f"{mismatches} checksum mismatch(es); see the ✗ notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
