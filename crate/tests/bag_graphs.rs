//! Bag graph shapes (what a learner sees), errors that name the operation, partition and
//! element, and the counting example's events.

use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::error::ErrorKind;
use partita::events::{Event, EventSink};
use partita::graph::{LayerKind, OptimizeOptions};
use partita::plan::{Node, Plan};
use serde_json::{json, Value as Json};
use std::time::Duration;

fn seq(items: Json, npartitions: usize) -> Node {
    Node::new(
        "s",
        "bag.from_sequence",
        &[],
        json!({"items": items, "npartitions": npartitions}),
    )
}

fn compute(plan: &Plan, scheduler: SchedulerKind, workers: usize) -> Json {
    let o = ComputeOptions {
        scheduler,
        workers,
        ..Default::default()
    };
    Engine::new().compute(plan, &o, &EventSink::new()).unwrap()[0].to_json()
}

#[test]
fn every_reduction_is_a_tree_of_depth_ceil_log_k_n() {
    let engine = Engine::new();
    let ops: &[(&str, Json)] = &[
        ("bag.count", json!({})),
        ("bag.sum", json!({})),
        ("bag.min", json!({})),
        ("bag.max", json!({})),
        ("bag.mean", json!({})),
        ("bag.var", json!({})),
        ("bag.std", json!({})),
        ("bag.all", json!({})),
        ("bag.any", json!({})),
        ("bag.frequencies", json!({})),
        ("bag.distinct", json!({})),
        ("bag.topk", json!({"k": 2})),
        ("bag.fold", json!({"binop": "(a, b) => a + b"})),
        (
            "bag.foldby",
            json!({"key": "x => x % 2", "binop": "(a, b) => a + b"}),
        ),
        (
            "bag.reduction",
            json!({"perpartition": "xs => len(xs)", "aggregate": "xs => sum(xs)"}),
        ),
    ];
    for (op, args) in ops {
        for (n, k) in [(1usize, 8usize), (8, 8), (9, 8), (20, 3), (30, 2)] {
            let mut a = args.clone();
            a["split_every"] = json!(k);
            let plan = Plan::new(
                vec![
                    seq(json!((0..n as i64 * 2).collect::<Vec<_>>()), n),
                    Node::new("r", *op, &["s"], a),
                ],
                &["r"],
            );
            let g = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
            let parts = g
                .layers()
                .iter()
                .find(|l| l.kind == LayerKind::ReductionPart)
                .unwrap();
            assert_eq!(parts.tasks.len(), n, "{op} n={n}");
            let aggs: Vec<_> = g
                .layers()
                .iter()
                .filter(|l| l.kind == LayerKind::ReductionAggregate)
                .collect();
            let depth = if n <= 1 {
                1
            } else {
                ((n as f64).ln() / (k as f64).ln() - 1e-9).ceil() as usize
            };
            assert_eq!(aggs.len(), depth.max(1), "{op} n={n} k={k}");
            let mut width = n;
            for (level, layer) in aggs.iter().enumerate() {
                width = width.div_ceil(k);
                let expect = if level + 1 == aggs.len() { 1 } else { width };
                assert_eq!(layer.tasks.len(), expect, "{op} n={n} k={k} level {level}");
                assert_eq!(layer.level, Some(level as u32 + 1));
            }
        }
    }
}

#[test]
fn groupby_is_an_all_to_all_shuffle() {
    let plan = Plan::new(
        vec![
            seq(json!((0..40).collect::<Vec<_>>()), 5),
            Node::new(
                "g",
                "bag.groupby",
                &["s"],
                json!({"grouper": "x => x % 7", "npartitions": 3}),
            ),
        ],
        &["g"],
    );
    let g = Engine::new().graph(&plan, OptimizeOptions::NONE).unwrap();
    let split = g.layer_by_name(&g.layers()[1].name).unwrap();
    assert_eq!(split.label, "groupby-split");
    assert_eq!(split.tasks.len(), 5);
    let shuffle = g.layers().iter().find(|l| l.kind == LayerKind::Shuffle).unwrap();
    assert_eq!(shuffle.tasks.len(), 3);
    for t in &shuffle.tasks {
        let deps = &g.task(*t).unwrap().deps;
        assert_eq!(deps.len(), 5, "each output partition reads every split");
        assert!(deps
            .iter()
            .all(|d| g.layer_of(*d).unwrap().label == "groupby-split"));
    }
    // Every element lands in exactly one group, under its key.
    let out = compute(&plan, SchedulerKind::Threads, 2);
    let mut total = 0;
    for pair in out.as_array().unwrap() {
        let key = pair[0].as_i64().unwrap();
        for v in pair[1].as_array().unwrap() {
            assert_eq!(v.as_i64().unwrap() % 7, key);
            total += 1;
        }
    }
    assert_eq!(total, 40);
    assert_eq!(out.as_array().unwrap().len(), 7);
}

#[test]
fn take_reads_only_the_partitions_it_needs() {
    let plan = Plan::new(
        vec![
            seq(json!((0..100).collect::<Vec<_>>()), 10),
            Node::new("m", "bag.map", &["s"], json!({"func": "x => x * 2"})),
            Node::new("t", "bag.take", &["m"], json!({"k": 3, "npartitions": 2})),
        ],
        &["t"],
    );
    let engine = Engine::new();
    let culled = engine
        .graph(
            &plan,
            OptimizeOptions {
                cull: true,
                fuse: false,
            },
        )
        .unwrap();
    let seq_layer = culled
        .layers()
        .iter()
        .find(|l| l.label == "from_sequence")
        .unwrap();
    assert_eq!(seq_layer.tasks.len(), 2, "only the first two partitions are read");
    let sink = EventSink::new();
    let out = engine.compute(&plan, &ComputeOptions::default(), &sink).unwrap();
    assert_eq!(out[0].to_json(), json!([0, 2, 4]));
    let ran = sink
        .events()
        .iter()
        .filter(|e| matches!(e, Event::TaskFinished { .. }))
        .count();
    assert!(ran <= 5, "{ran} tasks ran");
    let too_many = Plan::new(
        vec![
            seq(json!([1, 2]), 2),
            Node::new("t", "bag.take", &["s"], json!({"k": 1, "npartitions": 3})),
        ],
        &["t"],
    );
    let err = engine
        .compute(&too_many, &ComputeOptions::default(), &EventSink::new())
        .unwrap_err();
    assert!(
        err.message
            .contains("npartitions 3 is more than the bag's 2 partitions"),
        "{}",
        err.message
    );
}

#[test]
fn accumulate_chains_partitions() {
    let plan = Plan::new(
        vec![
            seq(json!([1, 2, 3, 4, 5, 6]), 3),
            Node::new("a", "bag.accumulate", &["s"], json!({"binop": "(a, b) => a + b"})),
        ],
        &["a"],
    );
    let g = Engine::new().graph(&plan, OptimizeOptions::NONE).unwrap();
    let parts = g.layers().iter().find(|l| l.label == "accumulate-part").unwrap();
    for (i, t) in parts.tasks.iter().enumerate() {
        let deps = &g.task(*t).unwrap().deps;
        assert_eq!(
            deps.len(),
            if i == 0 { 1 } else { 2 },
            "partition {i} waits for the one before"
        );
    }
    assert_eq!(
        compute(&plan, SchedulerKind::Threads, 4),
        json!([1, 3, 6, 10, 15, 21])
    );
}

#[test]
fn errors_name_the_operation_partition_and_element() {
    let engine = Engine::new();
    let cases: Vec<(Vec<Node>, ErrorKind, &str, &str)> = vec![
        (
            vec![
                seq(json!([{"a": 1}, {"a": 2}, {"b": 3}]), 2),
                Node::new("p", "bag.pluck", &["s"], json!({"key": "a"})),
            ],
            ErrorKind::Value,
            "pluck, element 0 ({\"b\": 3}): no key \"a\"",
            ", 1)",
        ),
        (
            vec![
                seq(json!([1, 2, 0, 4]), 2),
                Node::new("m", "bag.map", &["s"], json!({"func": "x => 12 / x"})),
            ],
            ErrorKind::Eval,
            "map, element 0 (0): division by zero at 1:9",
            ", 1)",
        ),
        (
            vec![
                seq(json!([1, 2, 3, "x"]), 2),
                Node::new("f", "bag.fold", &["s"], json!({"binop": "(a, b) => a + b"})),
            ],
            ErrorKind::Eval,
            "fold, element 1 (\"x\"): unsupported operand types for +: 'int' and 'str'",
            ", 1)",
        ),
        (
            vec![
                seq(json!([[1], "ab", 3]), 1),
                Node::new("f", "bag.flatten", &["s"], json!({})),
            ],
            ErrorKind::Type,
            "flatten, element 2: int (3) is not a list",
            ", 0)",
        ),
    ];
    for (nodes, kind, needle, partition) in cases {
        let last = nodes.last().unwrap().id.clone();
        let plan = Plan::new(nodes, &[&last]);
        for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
            let o = ComputeOptions {
                scheduler,
                workers: 2,
                optimize: OptimizeOptions::NONE,
                ..Default::default()
            };
            let err = engine.compute(&plan, &o, &EventSink::new()).unwrap_err();
            assert_eq!(err.kind, kind, "{err}");
            assert!(
                err.message.contains(needle),
                "got: {}\nwant: {needle}",
                err.message
            );
            let key = err.key.clone().unwrap();
            assert!(key.ends_with(partition), "the key names the partition: {key}");
        }
        // The engine goes on.
        let ok = Plan::new(
            vec![
                seq(json!([1, 2, 3]), 2),
                Node::new("c", "bag.count", &["s"], json!({})),
            ],
            &["c"],
        );
        assert_eq!(compute(&ok, SchedulerKind::Threads, 2), json!(3));
    }
}

#[test]
fn random_sample_is_deterministic_per_partition() {
    let items: Vec<i64> = (0..2000).collect();
    let plan = |seed: u64, parts: usize| {
        Plan::new(
            vec![
                seq(json!(items), parts),
                Node::new(
                    "r",
                    "bag.random_sample",
                    &["s"],
                    json!({"prob": 0.25, "random_state": seed}),
                ),
            ],
            &["r"],
        )
    };
    let a = compute(&plan(7, 8), SchedulerKind::Sync, 1);
    for workers in [1, 2, 4] {
        assert_eq!(
            compute(&plan(7, 8), SchedulerKind::Threads, workers),
            a,
            "same sample on {workers} workers"
        );
    }
    let b = compute(&plan(8, 8), SchedulerKind::Sync, 1);
    assert_ne!(a, b, "another seed, another sample");
    let n = a.as_array().unwrap().len() as f64;
    assert!((400.0..600.0).contains(&n), "about a quarter kept: {n}");
    // Partitions draw from their own streams: the first partition's sample is not a
    // prefix pattern repeated in the second.
    let first: Vec<i64> = a
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .filter(|x| *x < 250)
        .collect();
    let second: Vec<i64> = a
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() - 250)
        .filter(|x| (0..250).contains(x))
        .collect();
    assert_ne!(first, second);
}

#[test]
fn counting_example_with_2_workers_uses_both() {
    let plan = Plan::new(
        vec![
            seq(json!(["A", "B", "B", "B", "A", "B", "B", "B"]), 2),
            Node::new("f", "bag.frequencies", &["s"], json!({})),
        ],
        &["f"],
    );
    for items in [10usize] {
        for parts in [1usize, 2, 5] {
            let letters: Vec<&str> = "ABBBABBBAB"
                .split("")
                .filter(|s| !s.is_empty())
                .take(items)
                .collect();
            let p = Plan::new(
                vec![
                    seq(json!(letters), parts),
                    Node::new("f", "bag.frequencies", &["s"], json!({})),
                ],
                &["f"],
            );
            let sink = EventSink::new();
            let o = ComputeOptions {
                optimize: OptimizeOptions::NONE,
                ..Default::default()
            };
            let out = Engine::new().compute(&p, &o, &sink).unwrap();
            assert_eq!(out[0].to_json(), json!([["A", 3], ["B", 7]]));
            let partials = sink
                .events()
                .iter()
                .filter(|e| matches!(e, Event::TaskFinished { key, .. } if key.contains("frequencies-part")))
                .count();
            assert_eq!(partials, parts);
        }
    }
    let o = ComputeOptions {
        workers: 2,
        delay: Duration::from_millis(40),
        optimize: OptimizeOptions::NONE,
        ..Default::default()
    };
    let sink = EventSink::new();
    Engine::new().compute(&plan, &o, &sink).unwrap();
    let workers: std::collections::BTreeSet<usize> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::TaskFinished { key, worker, .. } if key.contains("frequencies-part") => Some(*worker),
            _ => None,
        })
        .collect();
    assert_eq!(workers.len(), 2);
}

/// `range` partitions are made when their tasks run, as Dask's `(range, start, stop)`
/// tasks: the graph carries only the bounds (the last partition takes the remainder).
#[test]
fn range_tasks_carry_their_bounds_and_make_the_ints_when_run() {
    let plan = Plan::new(
        vec![Node::new(
            "r",
            "bag.range",
            &[],
            json!({"n": 10, "npartitions": 3}),
        )],
        &["r"],
    );
    let g = Engine::new().graph(&plan, OptimizeOptions::NONE).unwrap();
    let tasks: Vec<(String, Option<String>)> = g
        .tasks()
        .iter()
        .map(|t| (t.op.name(), t.op.literal_summary()))
        .collect();
    let want: Vec<(String, Option<String>)> = ["0, 3", "3, 6", "6, 10"]
        .iter()
        .map(|b| ("range".to_string(), Some(b.to_string())))
        .collect();
    assert_eq!(tasks, want);
    assert!(
        g.to_dask_string().contains("(range, 6, 10)"),
        "{}",
        g.to_dask_string()
    );
    for (scheduler, workers) in [(SchedulerKind::Sync, 1), (SchedulerKind::Threads, 2)] {
        assert_eq!(
            compute(&plan, scheduler, workers),
            json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        );
    }
    // Fused with what reads it, the partition still streams through the chain.
    let summed = Plan::new(
        vec![
            Node::new("r", "bag.range", &[], json!({"n": 10, "npartitions": 3})),
            Node::new("m", "bag.map", &["r"], json!({"func": "lambda x: x * x"})),
            Node::new("s", "bag.sum", &["m"], json!({})),
        ],
        &["s"],
    );
    assert_eq!(compute(&summed, SchedulerKind::Threads, 2), json!(285));
}
