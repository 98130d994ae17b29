"""bench/table.py: the targets it checks and the run-to-run table, on hand-made lines
whose ratios are worked out below."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(__file__)
TABLE = os.path.join(HERE, "..", "..", "bench", "table.py")


def line(workload, engine, seconds, workers=2, scale=1.0, **extra):
    return {"workload": workload, "engine": engine, "workers": workers, "seconds": seconds,
            "scale": scale, "runs": 5, **extra}


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def make_table(tmp_path, native, browser, peers):
    out = tmp_path / "results.md"
    p = subprocess.run(
        [sys.executable, TABLE, "--native", write(tmp_path / "n.jsonl", native),
         "--browser", write(tmp_path / "b.jsonl", browser), "--peers", write(tmp_path / "p.jsonl", peers),
         "-o", str(out)],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out.read_text()


def target_row(text, start):
    rows = [l for l in text.splitlines() if l.startswith(f"| {start}")]
    assert len(rows) == 1, (start, rows)
    return rows[0]


def test_targets_are_checked_against_their_references(tmp_path):
    native = [
        line("W1a", "partita-threads", 0.01),
        line("W1b", "partita-threads", 0.02),
        line("W3a", "partita-threads", 0.04),
        line("W3e", "partita-threads", 0.03),
        line("W2d", "partita-threads", 1.3),
        line("W4-10000", "partita-threads", 0.02, us_per_task=1.5, tasks=11431),
        line("W4-10000", "partita-sync", 0.03, workers=1, us_per_task=2.5, tasks=11431),
    ]
    browser = [
        line("W1a", "partita-wasm-threads", 0.014),
        line("W1a", "partita-wasm-single", 0.028),
        line("W1b", "partita-wasm-threads", 0.04),
        line("W1b", "partita-wasm-single", 0.05),
        # Another scale than native: compared between bundles, not with native.
        line("W2a", "partita-wasm-threads", 0.01, scale=0.25),
        line("W2a", "partita-wasm-single", 0.019, scale=0.25),
        line("W4-10000", "partita-wasm-threads", 0.1, us_per_task=12.0, tasks=11431),
    ]
    peers = [
        line("W1a", "dask-threads", 0.31),  # 31x
        line("W1b", "dask-threads", 0.58),  # 29x
        line("W1a", "python", 0.009, workers=1),  # faster than partita
        line("W1b", "python", 0.2, workers=1),
        line("W2d", "numpy", 1.2, workers=1),  # 1.3 / 1.2 = 1.08 of NumPy's time: within 1.2x
        line("W3a", "polars", 0.05),
        line("W3a", "duckdb", 0.046),  # the faster of the two: partita's 0.04 is faster
        line("W3e", "polars", 0.02),  # partita's 0.03 is slower
        line("W3a", "dask-threads", 0.21),  # 5.25x
        line("W3e", "dask-threads", 0.12),  # 4x
    ]
    text = make_table(tmp_path, native, browser, peers)
    assert target_row(text, "W1 at least 30x") == \
        "| W1 at least 30x faster than Dask threads | 1 of 2 | W1a 31x ✔, W1b 29x ✘ |"
    assert target_row(text, "W1 faster than plain") == \
        "| W1 faster than plain Python | 1 of 2 | W1a 0.90x ✘, W1b 10x ✔ |"
    assert target_row(text, "W2d within") == \
        "| W2d within 1.2x of NumPy's time (x at least 0.83) | 1 of 1 | W2d 0.92x ✔ |"
    assert target_row(text, "W3 no slower") == \
        "| W3 no slower than the fastest of Polars and DuckDB | 1 of 2 | W3a 1.15x ✔, W3e 0.67x ✘ |"
    assert target_row(text, "W3 at least 5x") == \
        "| W3 at least 5x faster than Dask threads | 1 of 2 | W3a 5.25x ✔, W3e 4.00x ✘ |"
    assert target_row(text, "W4 at most 2") == \
        "| W4 at most 2 µs per task natively | 1 of 2 | W4-10000 partita-threads 1.5 µs ✔, W4-10000 partita-sync 2.5 µs ✘ |"
    assert target_row(text, "W4 at most 10") == \
        "| W4 at most 10 µs per task in wasm | 0 of 1 | W4-10000 partita-wasm-threads 12.0 µs ✘ |"
    # Single over threads: 2.0, 1.25 and 1.9.
    assert target_row(text, "Browser: threads") == \
        "| Browser: threads bundle at least 1.8x the single one (on 2 workers) | 2 of 3 | W1a 2.00x ✔, W1b 1.25x ✘, W2a 1.90x ✔ |"
    # Both on 2 workers: 0.014 / 0.01 and 0.04 / 0.02; W2a's scales differ, so it is left out.
    assert target_row(text, "wasm (threads") == \
        "| wasm (threads bundle) within 1.5x of native per thread | 1 of 2 | W1a 1.40x ✔, W1b 2.00x ✘ |"
    # No W2a/W2b or W2c references in this run: those targets are left out, not failed.
    assert "W2a, W2b no slower" not in text and "W2c at most half" not in text


def test_per_thread_figures_weigh_the_worker_counts(tmp_path):
    # Native on 2 workers in 0.02 s is 0.04 s of one thread; wasm on 1 worker in 0.05 s.
    text = make_table(tmp_path, [line("W3b", "partita-threads", 0.02)],
                      [line("W3b", "partita-wasm-threads", 0.05, workers=1)], [])
    assert target_row(text, "wasm (threads") == \
        "| wasm (threads bundle) within 1.5x of native per thread | 1 of 1 | W3b 1.25x ✔ |"


def test_the_run_to_run_table_shows_slowest_over_fastest(tmp_path):
    native = [
        line("W1b", "partita-threads", 0.03, workers=1, fastest=0.02, slowest=0.05),  # a scaling run: not shown
        line("W1b", "partita-threads", 0.013, fastest=0.012, slowest=0.018),
        line("W3a", "partita-threads", 0.04, fastest=0.04, slowest=0.04),
    ]
    peers = [line("W1b", "dask-threads", 1.4, fastest=1.0, slowest=2.5)]
    text = make_table(tmp_path, native, [], peers)
    assert "| workload | partita-threads | dask-threads |" in text
    assert "| W1b | 1.50 | 2.50 |" in text
    assert "| W3a | 1.00 | – |" in text


def test_lines_without_a_range_make_no_run_to_run_table(tmp_path):
    # One timed run is its own fastest and slowest: that says nothing about the noise.
    one_run = dict(line("W1a", "partita-threads", 0.01, fastest=0.01, slowest=0.01), runs=1)
    text = make_table(tmp_path, [line("W1b", "partita-threads", 0.013), one_run], [], [])
    assert "Run to run" not in text


def test_the_single_bundle_is_compared_with_native_on_one_worker(tmp_path):
    native = [
        line("W1a", "partita-threads", 0.01),
        line("W1a", "partita-threads", 0.018, workers=1),
        line("W1b", "partita-threads", 0.02),  # no 1-worker run: W1b is left out
        line("W2a", "partita-threads", 0.015, workers=1),  # another scale than the browser's
        line("W3a", "partita-threads", 0.05, workers=1),
        line("W3a", "partita-threads", 0.03),
    ]
    # The single bundle's line says how many workers it simulates; it runs on one thread.
    browser = [
        line("W1a", "partita-wasm-single", 0.027),
        line("W1b", "partita-wasm-single", 0.03),
        line("W2a", "partita-wasm-single", 0.005, scale=0.25),
        line("W3a", "partita-wasm-single", 0.08, workers=1),
        line("W1a", "partita-wasm-threads", 0.02),
        line("W1b", "partita-wasm-threads", 0.02),
        line("W2a", "partita-wasm-threads", 0.004, scale=0.25),
    ]
    text = make_table(tmp_path, native, browser, [])
    # 0.027 / 0.018 and 0.08 / 0.05.
    assert target_row(text, "wasm (single") == \
        "| wasm (single bundle) within 1.5x of native on one worker | 1 of 2 | W1a 1.50x ✔, W3a 1.60x ✘ |"
    # Beside each bundle ratio, native's own gain from 2 workers over 1 (W1a 0.018 / 0.01);
    # none for W1b (no 1-worker run) or W2a (another scale).
    assert target_row(text, "Browser: threads") == \
        "| Browser: threads bundle at least 1.8x the single one (on 2 workers) | 0 of 3 " \
        "| W1a 1.35x ✘ (native 1.80x), W1b 1.50x ✘, W2a 1.25x ✘ |"
    # The worker counts side by side, with the speed-up of 2 workers over 1.
    assert "| workload | engine | 1 worker | 2 workers | speed-up |" in text
    assert "| W1a | partita-threads | 0.0180 | 0.0100 | 1.80 |" in text
    assert "| W3a | partita-threads | 0.0500 | 0.0300 | 1.67 |" in text
    # The main table shows the 2-worker runs.
    assert "| W1a | 0.0100 |" in text and "| W3a | 0.0300 |" in text
