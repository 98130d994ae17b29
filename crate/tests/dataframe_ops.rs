//! DataFrame ops beyond the first slice: graph shapes (tree widths with split_every, only
//! the chosen partitions, the last partition for tail) and errors that name the op, the
//! column and the dtypes, each followed by a good computation on the same engine. Values
//! are checked against pandas in tests/oracle/test_dataframe_ops.py.

use partita::engine::{ComputeOptions, Engine};
use partita::events::EventSink;
use partita::graph::{LayerKind, OptimizeOptions};
use partita::plan::{Node, Plan};
use serde_json::{json, Value as Json};

fn records(n: usize) -> Json {
    Json::Array(
        (0..n)
            .map(|i| {
                json!({
                    "k": i % 4,
                    "v": if i % 7 == 3 { Json::Null } else { json!(i as f64 / 2.0) },
                    "s": format!("r{}", i % 5),
                })
            })
            .collect(),
    )
}

fn source(parts: usize) -> Node {
    Node::new(
        "df",
        "dataframe.from_records",
        &[],
        json!({"records": records(100), "npartitions": parts}),
    )
}

fn compute(engine: &Engine, plan: &Plan) -> Result<Json, String> {
    engine
        .compute(plan, &ComputeOptions::default(), &EventSink::new())
        .map(|out| out[0].to_json())
        .map_err(|e| e.to_string())
}

fn one(op: &str, args: Json) -> Plan {
    Plan::new(vec![source(10), Node::new("o", op, &["df"], args)], &["o"])
}

/// Task counts of the reduction layers, by level.
fn tree_widths(plan: &Plan) -> Vec<usize> {
    let g = Engine::new().graph(plan, OptimizeOptions::NONE).unwrap();
    let mut layers: Vec<(u32, usize)> = g
        .layers()
        .iter()
        .filter(|l| matches!(l.kind, LayerKind::ReductionPart | LayerKind::ReductionAggregate))
        .map(|l| (l.level.unwrap_or(0), l.tasks.len()))
        .collect();
    layers.sort();
    layers.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn tree_reductions_have_dask_widths() {
    for (op, args) in [
        ("dataframe.drop_duplicates", json!({"subset": ["k"]})),
        ("dataframe.nunique", json!({})),
        ("dataframe.value_counts", json!({"column": "s"})),
        ("dataframe.std", json!({})),
        ("dataframe.var", json!({"ddof": 0})),
        ("dataframe.describe", json!({})),
    ] {
        for (parts, k, widths) in [
            (10usize, 4usize, vec![10, 3, 1]),
            (8, 8, vec![8, 1]),
            (20, 2, vec![20, 10, 5, 3, 2, 1]),
        ] {
            let mut a = args.clone();
            a["split_every"] = json!(k);
            let plan = Plan::new(vec![source(parts), Node::new("o", op, &["df"], a)], &["o"]);
            assert_eq!(
                tree_widths(&plan),
                widths,
                "{op}: {parts} partitions, split_every {k}"
            );
        }
    }
}

#[test]
fn tree_results_do_not_depend_on_split_every() {
    let engine = Engine::new();
    for (op, args) in [
        ("dataframe.drop_duplicates", json!({"subset": ["k", "s"]})),
        ("dataframe.nunique", json!({})),
        ("dataframe.value_counts", json!({"column": "k"})),
        ("dataframe.describe", json!({})),
    ] {
        let mut results = Vec::new();
        for k in [2, 3, 8] {
            let mut a = args.clone();
            a["split_every"] = json!(k);
            results.push(compute(&engine, &one(op, a)).unwrap());
        }
        assert_eq!(results[0], results[1], "{op}");
        assert_eq!(results[0], results[2], "{op}");
    }
    let n = compute(&engine, &one("dataframe.nunique", json!({}))).unwrap();
    assert_eq!(n, json!({"k": 4, "v": 86, "s": 5}));
    let vc = compute(&engine, &one("dataframe.value_counts", json!({"column": "k"}))).unwrap();
    assert_eq!(
        vc,
        json!([{"k": 0, "count": 25}, {"k": 1, "count": 25}, {"k": 2, "count": 25}, {"k": 3, "count": 25}])
    );
}

#[test]
fn partitions_and_tail_read_only_their_partitions() {
    let engine = Engine::new();
    let plan = one("dataframe.partitions", json!({"index": [1, 3]}));
    let g = engine.graph(&plan, OptimizeOptions::ALL).unwrap();
    // Two literal partitions, fused with their identity tasks.
    assert_eq!(g.len(), 2);
    let rows = compute(&engine, &plan).unwrap();
    let ks: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["k"].as_i64().unwrap())
        .collect();
    assert_eq!(ks.len(), 20);
    let tail = one("dataframe.tail", json!({"n": 3}));
    // The last literal partition and the tail task: nothing else is read.
    assert_eq!(engine.graph(&tail, OptimizeOptions::ALL).unwrap().len(), 2);
    let t = compute(&engine, &tail).unwrap();
    assert_eq!(t.as_array().unwrap().len(), 3);
    assert_eq!(t[2]["s"], json!("r4"));
}

#[test]
fn expressions_filter_and_assign_column_wise() {
    let engine = Engine::new();
    let plan = Plan::new(
        vec![
            source(4),
            Node::new(
                "q",
                "dataframe.query",
                &["df"],
                json!({"expr": "lambda r: (r['v'] > 40) & (r.k == 1)"}),
            ),
            Node::new(
                "a",
                "dataframe.assign",
                &["q"],
                json!({"columns": {"z": "r => r.k * 10 + r.v", "k": "r => -r.k"}}),
            ),
            Node::new("d", "dataframe.drop", &["a"], json!({"columns": ["s"]})),
        ],
        &["d"],
    );
    let out = compute(&engine, &plan).unwrap();
    let first = &out[0];
    assert_eq!(first, &json!({"k": -1, "v": 40.5, "z": 50.5}));
    let g = engine.graph(&plan, OptimizeOptions::ALL).unwrap();
    assert_eq!(g.len(), 4, "query, assign and drop fuse per partition");
}

#[test]
fn bad_input_names_the_op_column_and_dtypes_and_the_engine_stays_usable() {
    let engine = Engine::new();
    let bad = [
        (
            one("dataframe.query", json!({"expr": "r => r.s > 1"})),
            "cannot compare column 's' (string) with 1 (int64)",
        ),
        (
            one("dataframe.query", json!({"expr": "r => r.nope == 1"})),
            "no column 'nope'; the columns are k, v, s",
        ),
        (
            one("dataframe.query", json!({"expr": "r => r.k + 1"})),
            "gives int64 values, not bool",
        ),
        (
            one("dataframe.query", json!({"expr": "r => r.s.startsWith('r')"})),
            "the method .startsWith() is not supported",
        ),
        (
            one("dataframe.query", json!({"expr": "r => r.k in [1, 2]"})),
            "'in' is not supported",
        ),
        (
            one("dataframe.assign", json!({"columns": {"z": "r => r.s - 1"}})),
            "column 's' (string) is not numeric",
        ),
        (
            one("dataframe.assign", json!({"columns": {"z": "r => r.v && r.k"}})),
            "and needs bool operands, and column 'v' (float64) is not bool",
        ),
        (
            one("dataframe.rename", json!({"columns": {"nope": "x"}})),
            "no column 'nope'; the columns are k, v, s",
        ),
        (
            one("dataframe.drop", json!({"columns": ["nope"]})),
            "no column 'nope'",
        ),
        (
            one("dataframe.astype", json!({"dtypes": {"k": "int8"}})),
            "unknown dtype \"int8\"",
        ),
        (
            one("dataframe.astype", json!({"dtypes": {"v": "int64"}})),
            "astype: column 'v' (float64) to int64",
        ),
        (
            one("dataframe.astype", json!({"dtypes": {"s": "float64"}})),
            "could not convert 'r0' to float",
        ),
        (
            one("dataframe.fillna", json!({"value": {"k": "x"}})),
            "cannot fill column 'k' (int64) with \"x\" (str)",
        ),
        (
            one("dataframe.dropna", json!({"how": "some"})),
            "how must be 'any' or 'all'",
        ),
        (
            one("dataframe.value_counts", json!({"column": "nope"})),
            "no column 'nope'",
        ),
        (
            one("dataframe.partitions", json!({"index": 10})),
            "partition index 10 is out of range for 10 partitions",
        ),
        (
            one("dataframe.map_partitions", json!({"func": "r => r.k"})),
            "must return a record",
        ),
        (
            Plan::new(
                vec![Node::new(
                    "c",
                    "dataframe.from_columns",
                    &[],
                    json!({"columns": {"a": [1, 2], "b": [1]}}),
                )],
                &["c"],
            ),
            "all columns must have the same length",
        ),
        (
            Plan::new(
                vec![
                    Node::new("b", "bag.from_sequence", &[], json!({"items": [1, 2, 3]})),
                    Node::new("m", "bag.map", &["b"], json!({"func": "x => ({a: x})"})),
                    Node::new("d", "bag.to_dataframe", &["m"], json!({})),
                ],
                &["d"],
            ),
            "pass meta",
        ),
        (
            Plan::new(
                vec![
                    Node::new("b", "bag.from_sequence", &[], json!({"items": [1, 2, 3]})),
                    Node::new("m", "bag.map", &["b"], json!({"func": "x => ({a: x})"})),
                    Node::new("d", "bag.to_dataframe", &["m"], json!({"meta": {"a": "string"}})),
                ],
                &["d"],
            ),
            "to_dataframe: column 'a' is string but a value is",
        ),
        (
            Plan::new(
                vec![Node::new("i", "dataframe.from_ipc", &[], json!({"ipc": "AAAA"}))],
                &["i"],
            ),
            "from_ipc",
        ),
    ];
    for (plan, message) in &bad {
        let err = compute(&engine, plan).expect_err(message);
        assert!(err.contains(message), "expected '{message}' in: {err}");
        let ok = one("dataframe.len", json!({}));
        assert_eq!(compute(&engine, &ok).unwrap(), json!(100));
    }
}

#[test]
fn ipc_round_trips_and_to_csv_has_a_header() {
    let engine = Engine::new();
    let plan = Plan::new(
        vec![source(3), Node::new("o", "dataframe.to_ipc", &["df"], json!({}))],
        &["o"],
    );
    let b64 = compute(&engine, &plan).unwrap();
    let back = Plan::new(
        vec![
            Node::new(
                "i",
                "dataframe.from_ipc",
                &[],
                json!({"ipc": b64, "npartitions": 3}),
            ),
            Node::new("c", "dataframe.to_csv", &["i"], json!({})),
        ],
        &["c"],
    );
    let csv = compute(&engine, &back).unwrap();
    let text = csv.as_str().unwrap();
    assert!(text.starts_with("k,v,s\n0,0.0,r0\n1,0.5,r1\n"), "{text}");
    assert_eq!(text.lines().count(), 101);
    assert!(text.contains("\n3,,r3\n"), "nulls are empty fields");
}

#[test]
fn python_bitwise_operators_work_on_bools_and_ints_in_bag_expressions_too() {
    use partita::expr::{Function, Lang};
    use partita::value::Value;
    let call = |src: &str| {
        Function::parse(src, Lang::Auto)
            .unwrap()
            .call1(&Value::Int(6))
            .unwrap()
    };
    assert_eq!(call("lambda x: (x > 1) & (x < 5)"), Value::Bool(false));
    assert_eq!(call("lambda x: (x > 1) | (x < 5)"), Value::Bool(true));
    assert_eq!(call("lambda x: ~(x > 1)"), Value::Bool(false));
    assert_eq!(call("lambda x: x & 3"), Value::Int(2));
    assert_eq!(call("lambda x: x | 1"), Value::Int(7));
    assert_eq!(call("lambda x: ~x"), Value::Int(-7));
    // & binds tighter than comparisons, as in Python: 1 < (x & 3).
    assert_eq!(call("lambda x: 1 < x & 3"), Value::Bool(true));
    let err = Function::parse("lambda x: 'a' & x", Lang::Auto)
        .unwrap()
        .call1(&Value::Int(1))
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported operand types for &"),
        "{err}"
    );
}

#[test]
fn map_partitions_with_meta_does_not_call_the_function_while_building() {
    let engine = Engine::new();
    // On the fake row s is "foo", so s.slice(1) would work, but int(s) would fail: meta avoids the call.
    let plan = one(
        "dataframe.map_partitions",
        json!({"func": "lambda r: {'n': int(r['s'][1:])}", "meta": {"n": "int64"}}),
    );
    let out = compute(&engine, &plan).unwrap();
    assert_eq!(out[7], json!({"n": 2}));
    let no_meta = one(
        "dataframe.map_partitions",
        json!({"func": "lambda r: {'n': int(r['s'][1:])}"}),
    );
    let err = compute(&engine, &no_meta).unwrap_err();
    assert!(err.contains("pass meta"), "{err}");
}
