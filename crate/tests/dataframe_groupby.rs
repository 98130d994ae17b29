//! Groupby graph shapes (chunk, combine levels, finalize; the shuffle with split_out) and
//! errors; values are checked against pandas in tests/oracle/test_dataframe_groupby.py.

use partita::engine::{ComputeOptions, Engine};
use partita::events::EventSink;
use partita::graph::{LayerKind, OptimizeOptions, TaskGraph};
use partita::plan::{Node, Plan};
use serde_json::{json, Value as Json};

fn records(n: usize) -> Json {
    Json::Array(
        (0..n)
            .map(|i| json!({"k": i % 5, "v": i as f64, "s": if i % 2 == 0 { "x" } else { "y" }}))
            .collect(),
    )
}

fn plan(parts: usize, args: Json) -> Plan {
    Plan::new(
        vec![
            Node::new(
                "df",
                "dataframe.from_records",
                &[],
                json!({"records": records(60), "npartitions": parts}),
            ),
            Node::new("g", "dataframe.groupby_agg", &["df"], args),
        ],
        &["g"],
    )
}

fn widths(g: &TaskGraph, label: &str) -> Vec<usize> {
    let mut layers: Vec<(u32, usize)> = g
        .layers()
        .iter()
        .filter(|l| l.label == label)
        .map(|l| (l.level.unwrap_or(0), l.tasks.len()))
        .collect();
    layers.sort();
    layers.into_iter().map(|(_, n)| n).collect()
}

fn compute(engine: &Engine, plan: &Plan) -> Result<Json, String> {
    engine
        .compute(plan, &ComputeOptions::default(), &EventSink::new())
        .map(|out| out[0].to_json())
        .map_err(|e| e.to_string())
}

#[test]
fn groupby_is_chunk_combine_levels_and_one_finalize() {
    // n partitions, split_every k: combine levels until k or fewer remain, then the agg.
    for (parts, k, combines) in [
        (12usize, 3usize, vec![4, 2]),
        (8, 8, vec![]),
        (9, 2, vec![5, 3, 2]),
        (1, 4, vec![]),
    ] {
        let g = Engine::new()
            .graph(
                &plan(parts, json!({"by": "k", "func": "sum", "split_every": k})),
                OptimizeOptions::NONE,
            )
            .unwrap();
        assert_eq!(widths(&g, "groupby-chunk"), vec![parts], "{parts} parts, k {k}");
        assert_eq!(widths(&g, "groupby-combine"), combines, "{parts} parts, k {k}");
        assert_eq!(widths(&g, "groupby-agg"), vec![1]);
        assert!(g.layers().iter().all(|l| l.kind != LayerKind::Shuffle));
        // Every combine and the agg read at most k partials.
        for l in g
            .layers()
            .iter()
            .filter(|l| l.label != "groupby-chunk" && l.label.starts_with("groupby"))
        {
            for t in &l.tasks {
                assert!(g.task(*t).unwrap().deps.len() <= k);
            }
        }
    }
}

#[test]
fn split_out_shuffles_partials_all_to_all() {
    let g = Engine::new()
        .graph(
            &plan(6, json!({"by": "k", "func": "mean", "split_out": 3})),
            OptimizeOptions::NONE,
        )
        .unwrap();
    let shuffle: Vec<_> = g
        .layers()
        .iter()
        .filter(|l| l.kind == LayerKind::Shuffle)
        .collect();
    assert_eq!(shuffle.len(), 1);
    assert_eq!(shuffle[0].tasks.len(), 3);
    for t in &shuffle[0].tasks {
        assert_eq!(g.task(*t).unwrap().deps.len(), 6, "each output reads every split");
    }
    assert_eq!(widths(&g, "groupby-shuffle-split"), vec![6]);
    assert_eq!(widths(&g, "groupby-agg"), vec![3]);
    assert!(widths(&g, "groupby-combine").is_empty());
}

#[test]
fn results_hold_one_row_per_group_and_the_split_out_parts_hold_disjoint_keys() {
    let engine = Engine::new();
    let out = compute(
        &engine,
        &plan(4, json!({"by": "k", "agg": {"v": ["sum", "size"]}})),
    )
    .unwrap();
    // k = i % 5 over i in 0..60: 12 rows each, sums of i for i ≡ k (mod 5).
    let want: Vec<Json> = (0..5)
        .map(|k| json!({"k": k, "v_sum": (0..60).filter(|i| i % 5 == k).sum::<i64>() as f64, "v_size": 12}))
        .collect();
    assert_eq!(out, Json::Array(want));
    let split = compute(
        &engine,
        &plan(4, json!({"by": "k", "func": "count", "split_out": 2})),
    )
    .unwrap();
    let mut keys: Vec<i64> = split
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["k"].as_i64().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, vec![0, 1, 2, 3, 4]);
}

#[test]
fn bad_groupbys_explain_themselves_and_the_engine_goes_on() {
    let engine = Engine::new();
    for (args, needles) in [
        (
            json!({"by": "nope", "func": "sum"}),
            vec!["no column 'nope'", "k, v, s"],
        ),
        (json!({"by": "k", "agg": {"zz": "sum"}}), vec!["no column 'zz'"]),
        (
            json!({"by": "k", "agg": {"s": "sum"}}),
            vec!["sum", "'s'", "string"],
        ),
        (
            json!({"by": "k", "agg": {"v": "median"}}),
            vec!["unknown aggregation 'median'"],
        ),
        (
            json!({"by": "k", "agg": {"v": ["sum"], "s": "first"}, "split_every": 1}),
            vec!["split_every"],
        ),
        (json!({"by": "k"}), vec!["needs agg"]),
    ] {
        let err = compute(&engine, &plan(3, args.clone())).unwrap_err();
        for n in needles {
            assert!(err.contains(n), "{args}: {err}");
        }
        let ok = compute(&engine, &plan(3, json!({"by": "s", "func": "size"}))).unwrap();
        assert_eq!(ok, json!([{"s": "x", "size": 30}, {"s": "y", "size": 30}]));
    }
}
