//! Graph shapes of merge (hash shuffle or broadcast), set_index (the divisions task),
//! loc (culling by divisions) and repartition, the divisions a computed or persisted
//! frame reports, and errors; values are checked against pandas in tests/oracle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use partita::engine::{ComputeOptions, Computed, Engine};
use partita::events::EventSink;
use partita::graph::{LayerKind, OptimizeOptions, TaskGraph};
use partita::plan::{Node, Plan};
use partita::value::Value;
use serde_json::{json, Value as Json};

fn records(n: usize, keys: usize) -> Json {
    Json::Array(
        (0..n)
            .map(|i| json!({"k": i % keys, "v": i as f64 / 2.0, "i": i}))
            .collect(),
    )
}

fn source(id: &str, n: usize, parts: usize) -> Node {
    Node::new(
        id,
        "dataframe.from_records",
        &[],
        json!({"records": records(n, 7), "npartitions": parts}),
    )
}

fn merge_plan(nl: usize, nr: usize, how: &str) -> Plan {
    Plan::new(
        vec![
            source("a", 60, nl),
            source("b", 30, nr),
            Node::new(
                "m",
                "dataframe.merge",
                &["a", "b"],
                json!({"on": "k", "how": how}),
            ),
        ],
        &["m"],
    )
}

fn compute(engine: &Engine, plan: &Plan) -> Result<Json, String> {
    engine
        .compute(plan, &ComputeOptions::default(), &EventSink::new())
        .map(|out| out[0].to_json())
        .map_err(|e| e.to_string())
}

fn layers(g: &TaskGraph, kind: LayerKind) -> Vec<(String, Vec<partita::graph::TaskId>)> {
    g.layers()
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| (l.label.clone(), l.tasks.clone()))
        .collect()
}

fn layer_tasks(g: &TaskGraph, label: &str) -> Vec<partita::graph::TaskId> {
    g.layers()
        .iter()
        .find(|l| l.label == label)
        .map(|l| l.tasks.clone())
        .unwrap_or_default()
}

#[test]
fn a_shuffle_merge_gathers_every_split_on_both_sides() {
    let g = Engine::new()
        .graph(&merge_plan(4, 3, "outer"), OptimizeOptions::NONE)
        .unwrap();
    let shuffles = layers(&g, LayerKind::Shuffle);
    assert_eq!(shuffles.len(), 2, "{shuffles:?}");
    for (label, tasks) in &shuffles {
        let splits = layer_tasks(&g, &format!("{label}-split"));
        assert_eq!(
            splits.len(),
            if label.ends_with("left") { 4 } else { 3 },
            "{label}"
        );
        assert_eq!(tasks.len(), 4, "{label}: n = max(npartitions)");
        for t in tasks {
            let mut deps = g.task(*t).unwrap().deps.to_vec();
            deps.sort();
            let mut want = splits.clone();
            want.sort();
            assert_eq!(deps, want, "{label}: every gather reads every split");
        }
    }
    let merges = layer_tasks(&g, "merge");
    assert_eq!(merges.len(), 4);
    // Each merge reads one gathered partition of each side.
    for t in &merges {
        assert_eq!(g.task(*t).unwrap().deps.len(), 2);
    }
}

#[test]
fn a_broadcast_merge_has_no_shuffle() {
    for (nl, nr, how, n) in [
        (5, 1, "left", 5),
        (5, 1, "inner", 5),
        (1, 4, "right", 4),
        (1, 1, "outer", 1),
    ] {
        let g = Engine::new()
            .graph(&merge_plan(nl, nr, how), OptimizeOptions::NONE)
            .unwrap();
        assert!(layers(&g, LayerKind::Shuffle).is_empty(), "{nl} x {nr} {how}");
        assert_eq!(layer_tasks(&g, "merge").len(), n);
        assert_eq!(g.len(), nl + nr + n);
    }
    // An outer join cannot broadcast: the single side's unmatched rows would repeat.
    let g = Engine::new()
        .graph(&merge_plan(5, 1, "outer"), OptimizeOptions::NONE)
        .unwrap();
    assert_eq!(layers(&g, LayerKind::Shuffle).len(), 2);
    let engine = Engine::new();
    let broadcast = compute(&engine, &merge_plan(5, 1, "left")).unwrap();
    let shuffled = compute(&engine, &merge_plan(5, 2, "left")).unwrap();
    let sorted = |v: &Json| {
        let mut rows: Vec<String> = v.as_array().unwrap().iter().map(Json::to_string).collect();
        rows.sort();
        rows
    };
    // Keys k = i % 7 on both sides, every key on both: sum over k of left rows x right rows.
    assert_eq!(sorted(&broadcast).len(), 9 * 5 * 2 + 9 * 4 * 2 + 8 * 4 * 3);
    assert!(
        sorted(&broadcast) == sorted(&shuffled),
        "broadcast and shuffle joins give the same rows"
    );
}

fn set_index_plan(args: Json) -> Plan {
    Plan::new(
        vec![
            source("df", 100, 5),
            Node::new("s", "dataframe.set_index", &["df"], args),
        ],
        &["s"],
    )
}

#[test]
fn set_index_computes_divisions_in_the_graph_and_reports_them() {
    let engine = Engine::new();
    let plan = set_index_plan(json!({"column": "i", "npartitions": 4}));
    let g = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
    let div = layer_tasks(&g, "set_index-shuffle-divisions");
    assert_eq!(div.len(), 1);
    assert_eq!(g.task(div[0]).unwrap().deps.len(), 5, "one sample per partition");
    let splits = layer_tasks(&g, "set_index-shuffle-split");
    assert_eq!(splits.len(), 5);
    for s in &splits {
        assert!(g.task(*s).unwrap().deps.contains(&div[0]));
    }
    assert_eq!(layer_tasks(&g, "set_index-shuffle").len(), 4);
    let meta = engine.lower(&plan).unwrap().describe();
    assert_eq!(meta["outputs"][0]["known_divisions"], json!(false));
    assert_eq!(meta["outputs"][0]["index"], json!("i"));
    let out = engine
        .compute(&plan, &ComputeOptions::default(), &EventSink::new())
        .unwrap();
    let Computed::Frame {
        divisions,
        index,
        columns,
        ..
    } = &out[0]
    else {
        panic!("not a frame: {out:?}")
    };
    assert_eq!(index.as_deref(), Some("i"));
    assert_eq!(columns.first().map(String::as_str), Some("i"));
    let d = divisions.clone().expect("computed divisions");
    assert_eq!(d.len(), 5);
    assert_eq!(d.first(), Some(&Value::Int(0)));
    assert_eq!(d.last(), Some(&Value::Int(99)));
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");

    // Given divisions: no sample or divisions layer, and the metadata knows them.
    let given = set_index_plan(json!({"column": "i", "divisions": [0, 50, 99]}));
    let g = engine.graph(&given, OptimizeOptions::NONE).unwrap();
    assert!(layer_tasks(&g, "set_index-shuffle-divisions").is_empty());
    let meta = engine.lower(&given).unwrap().describe();
    assert_eq!(meta["outputs"][0]["divisions"], json!([0, 50, 99]));
}

#[test]
fn persisting_keeps_computed_divisions_and_loc_then_culls() {
    let engine = Engine::new();
    let nodes = || {
        vec![
            source("df", 100, 5),
            Node::new(
                "s",
                "dataframe.set_index",
                &["df"],
                json!({"column": "i", "npartitions": 4}),
            ),
        ]
    };
    let loc = |nodes: Vec<Node>| {
        let mut nodes = nodes;
        nodes.push(Node::new(
            "l",
            "dataframe.loc",
            &["s"],
            json!({"start": 10, "stop": 12}),
        ));
        Plan::new(nodes, &["l"])
    };
    // Before persisting, divisions are unknown: every partition is filtered.
    let g = engine.graph(&loc(nodes()), OptimizeOptions::NONE).unwrap();
    assert_eq!(layer_tasks(&g, "loc").len(), 4);
    engine
        .persist(
            &Plan::new(nodes(), &["s"]),
            &ComputeOptions::default(),
            &EventSink::new(),
        )
        .unwrap();
    let g = engine.graph(&loc(nodes()), OptimizeOptions::NONE).unwrap();
    assert_eq!(
        layer_tasks(&g, "loc").len(),
        1,
        "the persisted divisions cull partitions"
    );
    let got = compute(&engine, &loc(nodes())).unwrap();
    let i: Vec<i64> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["i"].as_i64().unwrap())
        .collect();
    assert_eq!(i, vec![10, 11, 12]);
}

#[test]
fn loc_with_known_divisions_reads_only_the_partitions_that_hold_the_labels() {
    let engine = Engine::new();
    let plan = |args: Json| {
        Plan::new(
            vec![
                source("df", 100, 5),
                Node::new(
                    "s",
                    "dataframe.set_index",
                    &["df"],
                    json!({"column": "i", "divisions": [0, 20, 40, 60, 80, 99]}),
                ),
                Node::new("l", "dataframe.loc", &["s"], args),
            ],
            &["l"],
        )
    };
    for (args, parts, rows) in [
        (json!({"label": 45}), 1, vec![45]),
        (json!({"start": 38, "stop": 41}), 2, vec![38, 39, 40, 41]),
        (json!({"start": 97}), 1, vec![97, 98, 99]),
        (json!({"stop": 1}), 1, vec![0, 1]),
    ] {
        let g = engine.graph(&plan(args.clone()), OptimizeOptions::ALL).unwrap();
        assert_eq!(g.outputs().len(), parts, "{args}");
        let got = compute(&engine, &plan(args.clone())).unwrap();
        let i: Vec<i64> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["i"].as_i64().unwrap())
            .collect();
        assert_eq!(i, rows, "{args}");
    }
}

#[test]
fn repartition_concatenates_neighbours_or_cuts_partitions() {
    let engine = Engine::new();
    let plan = |parts: usize, n: usize| {
        Plan::new(
            vec![
                source("df", 100, parts),
                Node::new("p", "dataframe.repartition", &["df"], json!({"npartitions": n})),
            ],
            &["p"],
        )
    };
    let g = engine.graph(&plan(7, 3), OptimizeOptions::NONE).unwrap();
    let deps: Vec<usize> = layer_tasks(&g, "repartition")
        .iter()
        .map(|t| g.task(*t).unwrap().deps.len())
        .collect();
    assert_eq!(deps, vec![2, 2, 3], "Dask's boundaries int(k * 7 / 3)");
    let meta = engine.lower(&plan(7, 3)).unwrap().describe();
    assert_eq!(meta["outputs"][0]["divisions"], json!([0, 30, 58, 99]));
    let g = engine.graph(&plan(3, 7), OptimizeOptions::NONE).unwrap();
    assert_eq!(layer_tasks(&g, "repartition").len(), 7);
    let all: Vec<i64> = compute(&engine, &plan(3, 7))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["i"].as_i64().unwrap())
        .collect();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}

#[test]
fn errors_name_keys_and_dtypes_and_the_engine_stays_usable() {
    let engine = Engine::new();
    let with = |node: Node| Plan::new(vec![source("a", 20, 2), source("b", 10, 2), node], &["x"]);
    let bad = [
        (
            with(Node::new(
                "x",
                "dataframe.merge",
                &["a", "b"],
                json!({"left_on": "k", "right_on": "v"}),
            )),
            "the left key 'k' is int64 but the right key 'v' is float64",
        ),
        (
            with(Node::new(
                "x",
                "dataframe.merge",
                &["a", "b"],
                json!({"on": ["k", "zz"]}),
            )),
            "no column 'zz' on the left; the columns are k, v, i",
        ),
        (
            with(Node::new(
                "x",
                "dataframe.merge",
                &["a", "b"],
                json!({"on": "k", "suffixes": ["", ""]}),
            )),
            "two columns named 'v'",
        ),
        (
            with(Node::new(
                "x",
                "dataframe.set_index",
                &["a"],
                json!({"column": "nope"}),
            )),
            "no column 'nope'; the columns are k, v, i",
        ),
        (
            with(Node::new(
                "x",
                "dataframe.set_index",
                &["a"],
                json!({"column": "k", "divisions": ["a", "b"]}),
            )),
            "does not fit the index 'k' of dtype int64",
        ),
        (
            with(Node::new("x", "dataframe.loc", &["a"], json!({"label": 1}))),
            "call set_index first",
        ),
        (
            with(Node::new(
                "x",
                "dataframe.sort_values",
                &["a"],
                json!({"by": ["k", "w"]}),
            )),
            "no column 'w'; the columns are k, v, i",
        ),
    ];
    let good = merge_plan(3, 2, "inner");
    let expected = compute(&engine, &good).unwrap();
    for (plan, message) in &bad {
        let err = compute(&engine, plan).expect_err(message);
        assert!(err.contains(message), "expected '{message}' in: {err}");
        assert_eq!(compute(&engine, &good).unwrap(), expected);
    }
}

#[test]
fn a_many_to_one_broadcast_merge_keeps_the_left_rows_in_order() {
    let left: Vec<Json> = (0..10)
        .map(|i| json!({"k": i % 4, "s": format!("x{i}"), "v": i as f64}))
        .collect();
    let right = json!([{"k": 0, "w": 1.0}, {"k": 1, "w": 10.0}, {"k": 2, "w": 100.0}]);
    let plan = |how: &str, out: &str| {
        Plan::new(
            vec![
                Node::new(
                    "a",
                    "dataframe.from_records",
                    &[],
                    json!({"records": left, "npartitions": 3}),
                ),
                Node::new(
                    "b",
                    "dataframe.from_records",
                    &[],
                    json!({"records": right, "npartitions": 1}),
                ),
                Node::new(
                    "m",
                    "dataframe.merge",
                    &["a", "b"],
                    json!({"on": "k", "how": how}),
                ),
                Node::new(
                    "p",
                    "dataframe.assign",
                    &["m"],
                    json!({"columns": {"vw": "r => r.v * r.w"}}),
                ),
                Node::new("s", "dataframe.select", &["p"], json!({"columns": ["vw"]})),
                Node::new("t", "dataframe.sum", &["s"], json!({})),
            ],
            &[out],
        )
    };
    let engine = Engine::new();
    // Worked by hand: keys 0, 1, 2 weigh 1, 10, 100; key 3 (rows 3 and 7) has no weight.
    // 0*1 + 1*10 + 2*100 + 4*1 + 5*10 + 6*100 + 8*1 + 9*10 = 962.
    for how in ["inner", "left"] {
        let total = compute(&engine, &plan(how, "t")).unwrap();
        assert_eq!(total, json!({"vw": 962.0}), "{how}");
    }
    let inner = compute(&engine, &plan("inner", "m")).unwrap();
    let rows: Vec<(i64, String, f64)> = inner
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["k"].as_i64().unwrap(),
                r["s"].as_str().unwrap().to_string(),
                r["w"].as_f64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(i64, String, f64)> = [0, 1, 2, 4, 5, 6, 8, 9]
        .iter()
        .map(|i| (i % 4, format!("x{i}"), [1.0, 10.0, 100.0][(i % 4) as usize]))
        .collect();
    assert_eq!(rows, expected);
    let left_rows = compute(&engine, &plan("left", "m")).unwrap();
    let weights: Vec<Json> = left_rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["w"].clone())
        .collect();
    let expected: Vec<Json> = (0..10)
        .map(|i| match i % 4 {
            3 => Json::Null,
            k => json!([1.0, 10.0, 100.0][k]),
        })
        .collect();
    assert_eq!(weights, expected);
}
