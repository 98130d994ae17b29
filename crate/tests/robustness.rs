//! Bad input gets a precise error, never a panic, and the engine stays usable; random
//! pipelines give the same result under every scheduler and worker count.

use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::error::ErrorKind;
use partita::events::{Event, EventSink};
use partita::graph::OptimizeOptions;
use partita::plan::{Node, Plan};
use partita::value::Value;
use proptest::prelude::*;
use serde_json::json;

fn good_plan() -> Plan {
    Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": ["A","B","B","B","A","B","B","B"], "npartitions": 2}),
            ),
            Node::new("f", "bag.frequencies", &["s"], json!({})),
        ],
        &["f"],
    )
}

fn assert_still_usable(engine: &Engine) {
    let out = engine
        .compute(
            &good_plan(),
            &ComputeOptions {
                workers: 2,
                ..Default::default()
            },
            &EventSink::new(),
        )
        .unwrap();
    assert_eq!(out[0].to_json(), json!([["A", 2], ["B", 6]]));
}

fn plan_error(engine: &Engine, text: &str) -> partita::Error {
    match Plan::parse(text) {
        Err(e) => e,
        Ok(plan) => engine
            .compute(&plan, &ComputeOptions::default(), &EventSink::new())
            .unwrap_err(),
    }
}

#[test]
fn bad_plans_get_precise_errors_and_the_engine_goes_on() {
    let engine = Engine::new();
    let cases: Vec<(&str, ErrorKind, &str)> = vec![
        ("{\"version\": 1, \"nodes\": [", ErrorKind::Plan, "not valid JSON"),
        ("[1, 2]", ErrorKind::Plan, "must be a JSON object"),
        (
            r#"{"version": 7, "nodes": [], "outputs": []}"#,
            ErrorKind::Plan,
            "plan version 7 is not supported",
        ),
        (
            r#"{"nodes": [], "outputs": []}"#,
            ErrorKind::Plan,
            "no \"version\"",
        ),
        (
            r#"{"version": 1, "nodes": [], "outputs": [], "extra": 1}"#,
            ErrorKind::Plan,
            "unknown field `extra`",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "a", "op": "bag.frequencie"}], "outputs": ["a"]}"#,
            ErrorKind::Plan,
            "unknown op 'bag.frequencie'; did you mean bag.frequencies?",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "a", "op": "bag.count"}], "outputs": ["a"]}"#,
            ErrorKind::Plan,
            "node 'a' (bag.count) takes exactly 1 input, but has 0",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "a", "op": "bag.count", "inputs": ["zz"]}], "outputs": ["a"]}"#,
            ErrorKind::Plan,
            "node 'a' (bag.count) reads 'zz', which is not a node of this plan",
        ),
        (
            r#"{"version": 1, "nodes": [
                {"id": "a", "op": "bag.map", "inputs": ["c"], "args": {"func": "x => x"}},
                {"id": "b", "op": "bag.map", "inputs": ["a"], "args": {"func": "x => x"}},
                {"id": "c", "op": "bag.map", "inputs": ["b"], "args": {"func": "x => x"}}],
              "outputs": ["c"]}"#,
            ErrorKind::Plan,
            "the plan has a cycle: ",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": 5}}], "outputs": ["s"]}"#,
            ErrorKind::Plan,
            "node 's' (bag.from_sequence): argument 'items' must be a list, not an integer",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [], "npartitions": 0}}], "outputs": ["s"]}"#,
            ErrorKind::Plan,
            "argument 'npartitions' must be at least 1, not 0",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [], "npartitons": 2}}], "outputs": ["s"]}"#,
            ErrorKind::Plan,
            "unknown argument 'npartitons'; it takes items, npartitions, partition_size",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence"}], "outputs": ["s"]}"#,
            ErrorKind::Plan,
            "missing argument 'items' (a list)",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "d", "op": "delayed.value", "args": {"value": 1}},
                {"id": "c", "op": "bag.count", "inputs": ["d"]}], "outputs": ["c"]}"#,
            ErrorKind::Plan,
            "node 'c' (bag.count) needs a bag as input 1, but 'd' is a value",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1]}}], "outputs": ["nope"]}"#,
            ErrorKind::Plan,
            "output 'nope' is not a node of this plan",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1]}},
                {"id": "m", "op": "bag.filter", "inputs": ["s"], "args": {"predicate": "(a, b) => a"}}], "outputs": ["m"]}"#,
            ErrorKind::Plan,
            "the function in 'predicate' takes 2 parameters, but this op calls it with 1",
        ),
        (
            r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1]}},
                {"id": "m", "op": "bag.map", "inputs": ["s"], "args": {"func": "(a, b) => a"}}], "outputs": ["m"]}"#,
            ErrorKind::Plan,
            "node 'm' (bag.map): the function takes 2 parameters but the node maps over 1 bag",
        ),
    ];
    for (text, kind, needle) in cases {
        let err = plan_error(&engine, text);
        assert_eq!(err.kind, kind, "{text}: {err}");
        assert!(
            err.message.contains(needle),
            "{text}\n  got: {}\n  want: {needle}",
            err.message
        );
        assert_still_usable(&engine);
    }
}

#[test]
fn expression_errors_point_at_the_source() {
    let engine = Engine::new();
    let syntax = r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1]}},
        {"id": "m", "op": "bag.map", "inputs": ["s"], "args": {"func": "x => x +* 2"}}], "outputs": ["m"]}"#;
    let err = plan_error(&engine, syntax);
    assert_eq!(err.kind, ErrorKind::Syntax, "{err}");
    assert!(
        err.message.contains("node 'm' (bag.map), argument 'func'"),
        "{}",
        err.message
    );
    assert!(err.message.contains("1:9"), "{}", err.message);
    assert!(err.message.contains('^'), "caret line: {}", err.message);
    let free = r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1]}},
        {"id": "m", "op": "bag.map", "inputs": ["s"], "args": {"func": "x => x + y"}}], "outputs": ["m"]}"#;
    let err = plan_error(&engine, free);
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.message.contains("'y'"), "{}", err.message);
    assert_still_usable(&engine);
}

#[test]
fn a_failing_task_names_its_key_and_stops_the_run() {
    let engine = Engine::new();
    for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
        let plan = Plan::new(
            vec![
                Node::new(
                    "s",
                    "bag.from_sequence",
                    &[],
                    json!({"items": [1, 2, "three", 4], "npartitions": 2}),
                ),
                Node::new("m", "bag.map", &["s"], json!({"func": "x => x * 2 + 1"})),
                Node::new("t", "bag.sum", &["m"], json!({})),
            ],
            &["t"],
        );
        let sink = EventSink::new();
        let o = ComputeOptions {
            scheduler,
            workers: 2,
            optimize: OptimizeOptions::NONE,
            ..Default::default()
        };
        let err = engine.compute(&plan, &o, &sink).unwrap_err();
        // "three" * 2 repeats the string; + 1 then fails on element 0 of partition 1.
        assert_eq!(err.kind, ErrorKind::Eval, "{err}");
        let key = err.key.clone().unwrap();
        assert!(key.starts_with("('map-") && key.ends_with(", 1)"), "{key}");
        assert!(
            err.message.contains("map, element 0 (\"three\")"),
            "{}",
            err.message
        );
        assert!(err.to_string().contains(&key));
        let failed = sink
            .events()
            .iter()
            .filter(|e| matches!(e, Event::TaskFailed { .. }))
            .count();
        assert_eq!(failed, 1);
        assert!(matches!(
            sink.events().last(),
            Some(Event::Done {
                ok: false,
                error: Some(_),
                ..
            })
        ));
        assert!(!sink
            .events()
            .iter()
            .any(|e| matches!(e, Event::TaskFinished { key, .. } if key.contains("sum-aggregate"))));
        assert_still_usable(&engine);
    }
}

#[test]
fn runtime_type_errors_in_reductions_name_the_element() {
    let engine = Engine::new();
    let plan = Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": [1, [2], 3], "npartitions": 1}),
            ),
            Node::new("t", "bag.sum", &["s"], json!({})),
        ],
        &["t"],
    );
    let err = engine
        .compute(&plan, &ComputeOptions::default(), &EventSink::new())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Type);
    assert!(
        err.message
            .contains("sum, element 1: cannot add a list ([2]) to a number"),
        "{}",
        err.message
    );
    assert!(err.key.unwrap().starts_with("('sum-part-"));
    assert_still_usable(&engine);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn plan_parser_never_panics_on_random_text(text in ".{0,200}") {
        let _ = Plan::parse(&text).and_then(|p| p.validate().map(|_| ()));
    }

    #[test]
    fn plan_parser_never_panics_on_truncated_or_mutated_plans(cut in 0usize..400, pos in 0usize..400, byte in 0u8..128) {
        let text = serde_json::to_string(&serde_json::json!({
            "version": 1,
            "nodes": [
                {"id": "s", "op": "bag.from_sequence", "args": {"items": [1, 2, 3, "a", null, [1], {"k": 2}], "npartitions": 3}},
                {"id": "m", "op": "bag.map", "inputs": ["s"], "args": {"func": "x => x"}},
                {"id": "f", "op": "bag.frequencies", "inputs": ["m"], "args": {"split_every": 2, "sort": true}},
                {"id": "d", "op": "delayed.call", "inputs": ["f"], "args": {"func": "(p, q) => p", "args": [{"input": 0}, {"value": 1}]}}
            ],
            "outputs": ["f", "d"]
        })).unwrap();
        let mut bytes = text.into_bytes();
        bytes.truncate(cut.min(bytes.len()));
        if !bytes.is_empty() {
            let p = pos % bytes.len();
            bytes[p] = byte;
        }
        let mutated = String::from_utf8_lossy(&bytes).to_string();
        let engine = Engine::new();
        if let Ok(plan) = Plan::parse(&mutated) {
            let _ = engine.compute(&plan, &ComputeOptions { scheduler: SchedulerKind::Sync, ..Default::default() }, &EventSink::new());
        }
    }
}

/// A random pipeline over a random bag.
#[derive(Debug, Clone)]
struct Pipeline {
    items: Vec<i64>,
    npartitions: usize,
    steps: Vec<u8>,
    reduce: u8,
    split_every: usize,
}

fn pipeline() -> impl Strategy<Value = Pipeline> {
    (
        prop::collection::vec(-50i64..50, 0..60),
        1usize..9,
        prop::collection::vec(0u8..5, 0..4),
        0u8..4,
        2usize..5,
    )
        .prop_map(|(items, npartitions, steps, reduce, split_every)| Pipeline {
            items,
            npartitions,
            steps,
            reduce,
            split_every,
        })
}

fn to_plan(p: &Pipeline) -> Plan {
    let mut nodes = vec![Node::new(
        "n0",
        "bag.from_sequence",
        &[],
        json!({"items": p.items, "npartitions": p.npartitions}),
    )];
    for (i, step) in p.steps.iter().enumerate() {
        let prev = format!("n{i}");
        let id = format!("n{}", i + 1);
        let node = match step {
            0 => Node::new(&id, "bag.map", &[&prev], json!({"func": "x => x * 2 - 1"})),
            1 => Node::new(
                &id,
                "bag.filter",
                &[&prev],
                json!({"predicate": "lambda x: x % 3 != 0"}),
            ),
            2 => Node::new(&id, "bag.map", &[&prev], json!({"func": "x => x < 0 ? -x : x"})),
            3 => Node::new(&id, "bag.filter", &[&prev], json!({"predicate": "x => x > -10"})),
            _ => Node::new(&id, "bag.map", &[&prev], json!({"func": "lambda x: x // 4"})),
        };
        nodes.push(node);
    }
    let last = format!("n{}", p.steps.len());
    let op = match p.reduce {
        0 => "bag.sum",
        1 => "bag.count",
        2 => "bag.frequencies",
        _ => "",
    };
    if op.is_empty() {
        return Plan::new(nodes, &[&last]);
    }
    nodes.push(Node::new(
        "out",
        op,
        &[&last],
        json!({"split_every": p.split_every}),
    ));
    Plan::new(nodes, &["out"])
}

/// The same pipeline worked out directly.
fn reference(p: &Pipeline) -> serde_json::Value {
    let mut xs = p.items.clone();
    for step in &p.steps {
        xs = match step {
            0 => xs.iter().map(|x| x * 2 - 1).collect(),
            1 => xs.into_iter().filter(|x| x % 3 != 0).collect(),
            2 => xs.iter().map(|x| x.abs()).collect(),
            3 => xs.into_iter().filter(|x| *x > -10).collect(),
            _ => xs.iter().map(|x| x.div_euclid(4)).collect(),
        };
    }
    match p.reduce {
        0 => json!(xs.iter().sum::<i64>()),
        1 => json!(xs.len()),
        2 => {
            let mut counts: Vec<(i64, i64)> = Vec::new();
            for x in xs {
                match counts.iter_mut().find(|(k, _)| *k == x) {
                    Some(c) => c.1 += 1,
                    None => counts.push((x, 1)),
                }
            }
            json!(counts.into_iter().map(|(k, c)| json!([k, c])).collect::<Vec<_>>())
        }
        _ => json!(xs),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_pipelines_agree_across_schedulers_and_worker_counts(p in pipeline()) {
        let engine = Engine::new();
        let plan = to_plan(&p);
        let want = reference(&p);
        let mut results = Vec::new();
        for (scheduler, workers, optimize) in [
            (SchedulerKind::Sync, 1, OptimizeOptions::NONE),
            (SchedulerKind::Sync, 3, OptimizeOptions::ALL),
            (SchedulerKind::Threads, 1, OptimizeOptions::ALL),
            (SchedulerKind::Threads, 2, OptimizeOptions::NONE),
            (SchedulerKind::Threads, 4, OptimizeOptions::ALL),
        ] {
            let o = ComputeOptions { scheduler, workers, optimize, ..Default::default() };
            let out = engine.compute(&plan, &o, &EventSink::new()).unwrap();
            results.push(out[0].to_json());
        }
        for r in &results {
            prop_assert_eq!(r, &want);
        }
        let _ = Value::Null;
    }
}
