"""`partita bench` against the peers' implementations of the same workloads.

bench/peers.py generates the benchmark data from the counter-based generator of
docs/benchmarks.md in NumPy and computes each workload with pandas, NumPy and plain
Python; partita generates the same data in Rust. At scale 0.01 every checksum must agree
(integers exactly, floats to 1e-9 relative), which checks both the generator and every
workload's result.
"""

import json
import os
import subprocess
import sys

import pytest

from test_bag import BIN

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import peers  # noqa: E402

SCALE = 0.01


@pytest.fixture(scope="module")
def partita_lines():
    p = subprocess.run([BIN, "bench", "--scale", str(SCALE), "--repeat", "1", "--only", "W1,W2,W3,W4-10000"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert p.stderr.strip() == "", p.stderr
    return {(l["workload"], l["engine"]): l for l in lines}


@pytest.fixture(scope="module")
def peer_checksums():
    data = peers.Data(peers.Sizes(SCALE))
    out = {}
    for group, engine in [("W1", "python"), ("W1", "pandas"), ("W2", "numpy"), ("W3", "pandas")]:
        for workload, run in peers.implementations(group, engine, data).items():
            out.setdefault(workload, {})[engine] = run()
    return out


def test_the_generator_matches_its_test_vectors():
    peers.self_test()


@pytest.mark.parametrize("workload", ["W1a", "W1b", "W1c", "W1d", "W1e", "W2a", "W2b", "W2c", "W2d", "W2e", "W3a", "W3b", "W3c", "W3d", "W3e"])
def test_partita_agrees_with_the_peers(workload, partita_lines, peer_checksums):
    line = partita_lines[(workload, "partita-threads")]
    assert line["scale"] == SCALE and line["runs"] == 1 and line["seconds"] > 0
    assert line["fastest"] == line["seconds"] == line["slowest"]
    for engine, value in peer_checksums[workload].items():
        assert peers.checksums_agree(value, line["checksum"]) or peers.checksums_agree(float(value), float(line["checksum"])), (engine, value, line["checksum"])


def test_the_scheduler_workload_counts_every_leaf_on_both_schedulers(partita_lines):
    for engine in ["partita-threads", "partita-sync"]:
        line = partita_lines[("W4-10000", engine)]
        assert line["checksum"] == 10000
        # 10,000 fused leaf tasks plus the levels of an 8-wide tree: 1250, 157, 20, 3, 1.
        assert line["tasks"] == 10000 + 1250 + 157 + 20 + 3 + 1
        assert line["us_per_task"] > 0


def test_the_fastest_and_slowest_runs_bound_the_median():
    p = subprocess.run([BIN, "bench", "--scale", str(SCALE), "--repeat", "5", "--only", "W1a,W3a"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert [l["workload"] for l in lines] == ["W1a", "W3a"]
    for l in lines:
        assert l["runs"] == 5 and 0 < l["fastest"] <= l["seconds"] <= l["slowest"], l


def test_unknown_workloads_are_named():
    p = subprocess.run([BIN, "bench", "--only", "W9"], capture_output=True, text=True)
    assert p.returncode != 0 and "no workload matches 'W9'" in p.stderr and "W1a" in p.stderr


def test_a_scaling_run_covers_the_chosen_collection_workloads_at_every_worker_count():
    p = subprocess.run([BIN, "bench", "--scale", str(SCALE), "--repeat", "1", "--only", "W1c,W2a,W4-10000", "--scaling", "--workers", "1"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    # The core count as Rust sees it (a cgroup quota may lower it below the affinity mask).
    cores = max(l["workers"] for l in lines)
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    # Every run of one workload is measured together (in turns), so its lines are together.
    order = [l["workload"] for l in lines]
    assert order == sorted(order, key=["W1c", "W2a", "W4-10000"].index), order
    runs = sorted((l["workload"], l["engine"], l["workers"]) for l in lines)
    # W4 is not a collection workload: it runs once per scheduler, never scaled.
    want = sorted([(w, "partita-threads", k) for w in ("W1c", "W2a") for k in range(1, cores + 1)]
                  + [("W4-10000", "partita-threads", 1), ("W4-10000", "partita-sync", 1)])
    assert runs == want
    by_workload = {}
    for l in lines:
        by_workload.setdefault(l["workload"], set()).add(l["checksum"])
    assert all(len(c) == 1 for c in by_workload.values()), by_workload
