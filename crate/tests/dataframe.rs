//! DataFrame graph shapes and errors (the first slice: creation, select, filter, head and
//! column reductions); values are checked against pandas in tests/oracle.

use partita::engine::{ComputeOptions, Engine};
use partita::events::EventSink;
use partita::graph::{LayerKind, OptimizeOptions};
use partita::plan::{Node, Plan};
use serde_json::{json, Value as Json};

fn records(n: usize) -> Json {
    Json::Array(
        (0..n)
            .map(|i| json!({"k": i % 4, "v": i as f64 / 2.0, "s": format!("r{i}")}))
            .collect(),
    )
}

fn compute(engine: &Engine, plan: &Plan) -> Result<Json, String> {
    engine
        .compute(plan, &ComputeOptions::default(), &EventSink::new())
        .map(|out| out[0].to_json())
        .map_err(|e| e.to_string())
}

#[test]
fn reductions_are_trees_over_partitions() {
    for (parts, k, widths) in [
        (10usize, 4usize, vec![10, 3, 1]),
        (8, 8, vec![8, 1]),
        (20, 2, vec![20, 10, 5, 3, 2, 1]),
    ] {
        let plan = Plan::new(
            vec![
                Node::new(
                    "df",
                    "dataframe.from_records",
                    &[],
                    json!({"records": records(100), "npartitions": parts}),
                ),
                Node::new("s", "dataframe.sum", &["df"], json!({"split_every": k})),
            ],
            &["s"],
        );
        let g = Engine::new().graph(&plan, OptimizeOptions::NONE).unwrap();
        let mut layers: Vec<(u32, usize)> = g
            .layers()
            .iter()
            .filter(|l| matches!(l.kind, LayerKind::ReductionPart | LayerKind::ReductionAggregate))
            .map(|l| (l.level.unwrap_or(0), l.tasks.len()))
            .collect();
        layers.sort();
        let got: Vec<usize> = layers.into_iter().map(|(_, n)| n).collect();
        assert_eq!(got, widths, "{parts} partitions, split_every {k}");
    }
}

#[test]
fn read_csv_makes_one_task_per_block_and_filters_fuse_per_partition() {
    let mut text = String::from("a,b\n");
    for i in 0..100 {
        text.push_str(&format!("{i},{}\n", i * 3));
    }
    let plan = Plan::new(
        vec![
            Node::new(
                "c",
                "dataframe.read_csv",
                &[],
                json!({"text": text, "blocksize": 100}),
            ),
            Node::new(
                "f",
                "dataframe.filter",
                &["c"],
                json!({"predicate": {"col": "a", "op": "ge", "value": 50}}),
            ),
            Node::new("s", "dataframe.select", &["f"], json!({"columns": ["b"]})),
        ],
        &["s"],
    );
    let engine = Engine::new();
    let raw = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
    let blocks = raw
        .layers()
        .iter()
        .find(|l| l.label == "read-csv")
        .unwrap()
        .tasks
        .len();
    // 4 header bytes and 100 lines of 4 to 8 bytes: blocks of at least 100 bytes.
    assert!((6..=9).contains(&blocks), "{blocks} blocks");
    assert_eq!(raw.len(), blocks * 3);
    assert_eq!(engine.graph(&plan, OptimizeOptions::ALL).unwrap().len(), blocks);
    let out = compute(&engine, &plan).unwrap();
    let b: Vec<i64> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["b"].as_i64().unwrap())
        .collect();
    assert_eq!(b, (50..100).map(|i| i * 3).collect::<Vec<_>>());
}

#[test]
fn bad_input_names_the_column_and_the_engine_stays_usable() {
    let engine = Engine::new();
    let df = || {
        Node::new(
            "df",
            "dataframe.from_records",
            &[],
            json!({"records": records(10), "npartitions": 3}),
        )
    };
    let bad = [
        (
            Plan::new(
                vec![
                    df(),
                    Node::new(
                        "s",
                        "dataframe.select",
                        &["df"],
                        json!({"columns": ["k", "nope"]}),
                    ),
                ],
                &["s"],
            ),
            "no column 'nope'; the columns are k, v, s",
        ),
        (
            Plan::new(
                vec![
                    df(),
                    Node::new(
                        "f",
                        "dataframe.filter",
                        &["df"],
                        json!({"predicate": {"col": "s", "op": "lt", "value": 1}}),
                    ),
                ],
                &["f"],
            ),
            "cannot compare column 's' (string) with 1",
        ),
        (
            Plan::new(
                vec![
                    df(),
                    Node::new(
                        "f",
                        "dataframe.filter",
                        &["df"],
                        json!({"predicate": {"col": "v"}}),
                    ),
                ],
                &["f"],
            ),
            "cannot read the predicate",
        ),
        (
            Plan::new(
                vec![Node::new(
                    "d",
                    "dataframe.from_records",
                    &[],
                    json!({"records": [{"a": 1}, {"a": [1]}]}),
                )],
                &["d"],
            ),
            "column 'a' row 1 holds [1]",
        ),
        (
            Plan::new(
                vec![Node::new(
                    "c",
                    "dataframe.read_csv",
                    &[],
                    json!({"text": "a,b\n1,2\n3\n"}),
                )],
                &["c"],
            ),
            "read_csv",
        ),
    ];
    for (plan, message) in &bad {
        let err = compute(&engine, plan).expect_err(message);
        assert!(err.contains(message), "expected '{message}' in: {err}");
        let ok = Plan::new(
            vec![df(), Node::new("n", "dataframe.len", &["df"], json!({}))],
            &["n"],
        );
        assert_eq!(compute(&engine, &ok).unwrap(), json!(10));
    }
}
