//! Engine core: plans, lowering, graphs, schedulers, events, step mode, persist, delayed,
//! cancellation and failure. Values are worked out by hand.

use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::error::ErrorKind;
use partita::events::{Event, EventSink};
use partita::graph::{LayerKind, OptimizeOptions};
use partita::plan::{Node, Plan};
use partita::scheduler::{CancelToken, TaskState};
use partita::value::Value;
use serde_json::json;
use std::time::Duration;

fn opts(scheduler: SchedulerKind, workers: usize) -> ComputeOptions {
    ComputeOptions {
        scheduler,
        workers,
        ..Default::default()
    }
}

fn range_items(n: i64) -> serde_json::Value {
    json!((0..n).collect::<Vec<_>>())
}

fn compute1(engine: &Engine, plan: &Plan, o: &ComputeOptions) -> Value {
    let out = engine.compute(plan, o, &EventSink::new()).unwrap();
    out[0].as_value().clone()
}

fn map_filter_sum(n: i64, parts: usize) -> Plan {
    Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": range_items(n), "npartitions": parts}),
            ),
            Node::new("m", "bag.map", &["s"], json!({"func": "x => x * 3"})),
            Node::new(
                "f",
                "bag.filter",
                &["m"],
                json!({"predicate": "lambda x: x % 2 == 0"}),
            ),
            Node::new("t", "bag.sum", &["f"], json!({})),
        ],
        &["t"],
    )
}

#[test]
fn map_filter_sum_matches_hand_computation() {
    let engine = Engine::new();
    // 3x for x in 0..100, keeping the even ones: 3 * (0 + 2 + ... + 98) = 3 * 2450.
    let want = Value::Int(3 * 2450);
    for (s, w) in [
        (SchedulerKind::Sync, 1),
        (SchedulerKind::Threads, 1),
        (SchedulerKind::Threads, 2),
        (SchedulerKind::Threads, 4),
    ] {
        assert_eq!(compute1(&engine, &map_filter_sum(100, 7), &opts(s, w)), want);
    }
}

#[test]
fn bag_result_is_all_elements_in_partition_order() {
    let engine = Engine::new();
    let plan = Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": range_items(10), "npartitions": 3}),
            ),
            Node::new("m", "bag.map", &["s"], json!({"func": "x => x + 1"})),
        ],
        &["m"],
    );
    let got = compute1(&engine, &plan, &opts(SchedulerKind::Threads, 2));
    assert_eq!(got, Value::list((1..=10).map(Value::Int).collect()));
}

#[test]
fn count_and_frequencies_with_several_partition_counts() {
    let engine = Engine::new();
    for parts in [1, 2, 5] {
        let items: Vec<&str> = "ABBBABBBAB".split("").filter(|s| !s.is_empty()).collect();
        let plan = Plan::new(
            vec![
                Node::new(
                    "s",
                    "bag.from_sequence",
                    &[],
                    json!({"items": items, "npartitions": parts}),
                ),
                Node::new("c", "bag.count", &["s"], json!({})),
                Node::new("f", "bag.frequencies", &["s"], json!({"sort": true})),
            ],
            &["c", "f"],
        );
        let out = engine
            .compute(&plan, &opts(SchedulerKind::Threads, 2), &EventSink::new())
            .unwrap();
        assert_eq!(out[0].as_value(), &Value::Int(10));
        assert_eq!(out[1].to_json(), json!([["B", 7], ["A", 3]]));
        let g = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
        let seq = g.layers().iter().find(|l| l.label == "from_sequence").unwrap();
        assert_eq!(seq.tasks.len(), parts);
    }
}

#[test]
fn tokens_are_deterministic_and_keys_dask_like() {
    let engine = Engine::new();
    let plan = map_filter_sum(20, 4);
    let a = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
    let b = Engine::new().graph(&plan, OptimizeOptions::NONE).unwrap();
    let keys_a: Vec<String> = a.tasks().iter().map(|t| t.key.to_string()).collect();
    let keys_b: Vec<String> = b.tasks().iter().map(|t| t.key.to_string()).collect();
    assert_eq!(keys_a, keys_b);
    assert!(
        keys_a
            .iter()
            .any(|k| k.starts_with("('from_sequence-") && k.ends_with(", 3)")),
        "{keys_a:?}"
    );
    assert!(keys_a.iter().any(|k| k.starts_with("('sum-part-")));
    assert!(keys_a
        .iter()
        .any(|k| k.starts_with("('sum-aggregate-") && k.ends_with(", 0)")));
    // A different argument changes the token.
    let mut other = plan.clone();
    other.nodes[1].set_arg("func", json!("x => x * 4"));
    let c = engine.graph(&other, OptimizeOptions::NONE).unwrap();
    assert_ne!(c.tasks()[5].key, a.tasks()[5].key);
}

/// A node keeps its arguments' digest and its CSV text between computes (so a second
/// compute does not hash or copy the text again), and a changed argument is never
/// answered from what was kept for the old one, in the node or in clones made before.
#[test]
fn a_plan_computed_again_reuses_its_text_until_an_argument_changes() {
    let sum_of_b = |text: &str| {
        Plan::new(
            vec![
                Node::new(
                    "csv",
                    "dataframe.read_csv",
                    &[],
                    json!({"text": text, "blocksize": 8}),
                ),
                Node::new("s", "dataframe.sum", &["csv"], json!({})),
            ],
            &["s"],
        )
    };
    let b_of = |engine: &Engine, plan: &Plan| {
        let out = engine
            .compute(plan, &opts(SchedulerKind::Threads, 2), &EventSink::new())
            .unwrap();
        out[0].to_json()["b"].clone()
    };
    let engine = Engine::new();
    let mut plan = sum_of_b("a,b\n1,2\n3,4\n5,6\n");
    let token = partita::lower::source_token(&plan.nodes[0]);
    assert_eq!(b_of(&engine, &plan), json!(12));
    assert_eq!(
        b_of(&engine, &plan),
        json!(12),
        "the second compute reads the kept text"
    );
    assert_eq!(partita::lower::source_token(&plan.nodes[0]), token);
    let before = plan.clone();
    plan.nodes[0].set_arg("text", json!("a,b\n1,20\n3,40\n"));
    assert_eq!(b_of(&engine, &plan), json!(60));
    let changed = partita::lower::source_token(&plan.nodes[0]);
    assert_ne!(changed, token);
    // The same arguments give the same token whether the digest was kept or not.
    assert_eq!(
        changed,
        partita::lower::source_token(&sum_of_b("a,b\n1,20\n3,40\n").nodes[0])
    );
    assert_eq!(b_of(&engine, &before), json!(12), "a clone keeps the old text");
    assert_eq!(partita::lower::source_token(&before.nodes[0]), token);
}

/// Source tokens tell arguments apart: strings that differ by an escaped byte, a string
/// and the same text inside a list, a string and a number written alike.
#[test]
fn source_tokens_tell_string_arguments_apart() {
    let token = |args: serde_json::Value| {
        partita::lower::source_token(&Node::new("t", "bag.from_sequence", &[], args))
    };
    let samples = [
        json!({"items": "a\nb"}),
        json!({"items": "a\\nb"}),
        json!({"items": "a\"b"}),
        json!({"items": ["a\nb"]}),
        json!({"items": "1"}),
        json!({"items": 1}),
        json!({"items": ""}),
        json!({"items": null}),
        json!({"items": "x", "npartitions": 2}),
        json!({"items": "x;npartitions=2"}),
    ];
    let tokens: Vec<String> = samples.iter().map(|a| token(a.clone())).collect();
    for (i, a) in tokens.iter().enumerate() {
        assert_eq!(*a, token(samples[i].clone()), "deterministic");
        for (j, b) in tokens.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "{} and {}", samples[i], samples[j]);
        }
    }
}

#[test]
fn graph_json_and_dask_dict() {
    let engine = Engine::new();
    let plan = map_filter_sum(8, 2);
    let g = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
    let j = serde_json::to_value(g.to_json()).unwrap();
    assert_eq!(j["tasks"].as_array().unwrap().len(), 2 + 2 + 2 + 2 + 1);
    let layers: Vec<&str> = j["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        layers,
        vec!["from_sequence", "map", "filter", "sum-part", "sum-aggregate"]
    );
    let agg = &j["layers"][4];
    assert_eq!(agg["kind"], "reduction_aggregate");
    assert_eq!(agg["dependencies"].as_array().unwrap().len(), 1);
    let dask = g.to_dask_string();
    assert!(dask.contains(": (map, <x => x * 3>, ('from_sequence-"), "{dask}");
    assert!(dask.contains(": (sum-aggregate, [('sum-part-"), "{dask}");
}

#[test]
fn cull_and_fuse() {
    let engine = Engine::new();
    let plan = map_filter_sum(8, 2);
    let full = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
    let fused = engine
        .graph(
            &plan,
            OptimizeOptions {
                cull: false,
                fuse: true,
            },
        )
        .unwrap();
    // from_sequence -> map -> filter -> sum-part chains fuse into one task per partition.
    assert_eq!(full.len(), 9);
    assert_eq!(fused.len(), 3);
    let part_layer = fused
        .layers()
        .iter()
        .find(|l| l.kind == LayerKind::ReductionPart)
        .unwrap();
    assert_eq!(part_layer.label, "from_sequence-map-filter-sum-part");
    assert_eq!(
        compute1(
            &engine,
            &plan,
            &ComputeOptions {
                optimize: OptimizeOptions::ALL,
                ..opts(SchedulerKind::Sync, 1)
            }
        ),
        Value::Int(3 * 12)
    );
    // Cull keeps only what the outputs need.
    let two = Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": range_items(8), "npartitions": 2}),
            ),
            Node::new("unused", "bag.map", &["s"], json!({"func": "x => x"})),
            Node::new("c", "bag.count", &["s"], json!({})),
        ],
        &["c"],
    );
    let g = engine.graph(&two, OptimizeOptions::NONE).unwrap();
    let culled = engine
        .graph(
            &two,
            OptimizeOptions {
                cull: true,
                fuse: false,
            },
        )
        .unwrap();
    assert_eq!(g.len(), 7);
    assert_eq!(culled.len(), 5);
    assert!(culled.layers().iter().all(|l| l.label != "map"));
}

#[test]
fn tree_reduction_depth_follows_split_every() {
    let engine = Engine::new();
    for (n, k, levels) in [
        (1usize, 8usize, 1usize),
        (8, 8, 1),
        (9, 8, 2),
        (64, 8, 2),
        (65, 8, 3),
        (10, 2, 4),
        (100, 3, 5),
    ] {
        let plan = Plan::new(
            vec![
                Node::new(
                    "s",
                    "bag.from_sequence",
                    &[],
                    json!({"items": range_items(n as i64), "npartitions": n}),
                ),
                Node::new("c", "bag.count", &["s"], json!({"split_every": k})),
            ],
            &["c"],
        );
        let g = engine.graph(&plan, OptimizeOptions::NONE).unwrap();
        let aggs: Vec<_> = g
            .layers()
            .iter()
            .filter(|l| l.kind == LayerKind::ReductionAggregate)
            .collect();
        assert_eq!(aggs.len(), levels, "n={n} k={k}");
        let expect_levels = if n <= 1 {
            1
        } else {
            ((n as f64).ln() / (k as f64).ln()).ceil().max(1.0) as usize
        };
        assert_eq!(aggs.len(), expect_levels, "ceil(log_k n) for n={n} k={k}");
        let mut width = n;
        for layer in &aggs {
            width = width.div_ceil(k);
            if layer.tasks.len() != 1 || width <= 1 {
                assert_eq!(layer.tasks.len(), width.max(1));
            }
        }
        assert_eq!(aggs.last().unwrap().tasks.len(), 1);
        assert_eq!(
            compute1(&engine, &plan, &opts(SchedulerKind::Threads, 2)),
            Value::Int(n as i64)
        );
    }
}

#[test]
fn events_stream_and_log() {
    let engine = Engine::new();
    let sink = EventSink::new();
    let o = ComputeOptions {
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Threads, 2)
    };
    engine.compute(&map_filter_sum(40, 4), &o, &sink).unwrap();
    let events = sink.drain();
    assert!(matches!(
        events.first(),
        Some(Event::GraphBuilt {
            tasks: 17,
            workers: 2,
            ..
        })
    ));
    assert!(matches!(
        events.last(),
        Some(Event::Done {
            ok: true,
            tasks_run: 17,
            ..
        })
    ));
    let started = events
        .iter()
        .filter(|e| matches!(e, Event::TaskStarted { .. }))
        .count();
    let finished: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::TaskFinished {
                start,
                t,
                worker,
                preview,
                ..
            } => Some((*start, *t, *worker, preview.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(started, 17);
    assert_eq!(finished.len(), 17);
    for (start, t, worker, preview) in &finished {
        assert!(t >= start);
        assert!(*worker < 2);
        assert!(!preview.is_empty());
    }
    // Drain returns only what is new; the log keeps everything.
    assert!(sink.drain().is_empty());
    assert_eq!(sink.events().len(), events.len());
    let text = serde_json::to_string(&events[1]).unwrap();
    assert!(text.contains("\"type\":\"task_started\""), "{text}");
}

#[test]
fn events_can_be_drained_from_another_thread_while_running() {
    let engine = Engine::new();
    let sink = EventSink::new();
    let reader = sink.clone();
    let o = ComputeOptions {
        delay: Duration::from_millis(5),
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Threads, 2)
    };
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            let batch = reader.drain();
            let done = batch.iter().any(|e| matches!(e, Event::Done { .. }));
            seen.push(batch.len());
            if done {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    engine.compute(&map_filter_sum(40, 4), &o, &sink).unwrap();
    let batches = handle.join().unwrap();
    assert!(
        batches.iter().filter(|n| **n > 0).count() >= 2,
        "events arrived in several batches: {batches:?}"
    );
}

#[test]
fn step_mode_exposes_ready_set_and_states() {
    let engine = Engine::new();
    let plan = Plan::new(
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
    );
    let sink = EventSink::new();
    let o = ComputeOptions {
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Sync, 2)
    };
    let mut stepper = engine.stepper(&plan, &o, &sink).unwrap();
    assert_eq!(stepper.graph().len(), 5);
    assert_eq!(stepper.ready().len(), 2, "both from_sequence tasks are ready");
    assert_eq!(
        stepper
            .states()
            .iter()
            .filter(|s| **s == TaskState::Waiting)
            .count(),
        3
    );
    let mut order = Vec::new();
    while let Some(id) = stepper.step().unwrap() {
        order.push(stepper.graph().task(id).unwrap().key.name.to_string());
        assert!(stepper.states()[id.index()] == TaskState::Done);
    }
    // Depth first: a partition's count right after its data, then the other, then the merge.
    let labels: Vec<&str> = order.iter().map(|n| n.rsplit_once('-').unwrap().0).collect();
    assert_eq!(
        labels,
        vec![
            "from_sequence",
            "frequencies-part",
            "from_sequence",
            "frequencies-part",
            "frequencies-aggregate"
        ]
    );
    assert!(stepper.is_finished());
    assert_eq!(
        stepper.finish().unwrap()[0].to_json(),
        json!([["A", 2], ["B", 6]])
    );
    assert!(matches!(sink.events().last(), Some(Event::Done { ok: true, .. })));
}

#[test]
fn persist_keeps_partitions_and_later_runs_do_not_recompute() {
    let engine = Engine::new();
    let base = vec![
        Node::new(
            "s",
            "bag.from_sequence",
            &[],
            json!({"items": range_items(20), "npartitions": 4}),
        ),
        Node::new("m", "bag.map", &["s"], json!({"func": "x => x * x"})),
    ];
    let persist_plan = Plan::new(base.clone(), &["m"]);
    let sink = EventSink::new();
    let o = ComputeOptions {
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Threads, 2)
    };
    let tokens = engine.persist(&persist_plan, &o, &sink).unwrap();
    assert_eq!(tokens.len(), 1);
    let ran_first = sink
        .events()
        .iter()
        .filter(|e| matches!(e, Event::TaskFinished { .. }))
        .count();
    assert_eq!(ran_first, 8);

    let mut nodes = base.clone();
    nodes.push(Node::new("t", "bag.sum", &["m"], json!({})));
    let later = Plan::new(nodes, &["t"]);
    let sink2 = EventSink::new();
    let out = engine.compute(&later, &o, &sink2).unwrap();
    // sum of squares 0..19 = 2470
    assert_eq!(out[0].as_value(), &Value::Int(2470));
    let keys: Vec<String> = sink2
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::TaskFinished { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert!(
        keys.iter().all(|k| !k.contains("from_sequence")),
        "no recomputation: {keys:?}"
    );
    assert_eq!(
        keys.iter().filter(|k| k.contains("map-")).count(),
        4,
        "persisted partitions load as literals"
    );
    let g = engine.graph(&later, OptimizeOptions::NONE).unwrap();
    assert!(g.layers().iter().any(|l| l.label == "map (persisted)"));
    assert_eq!(engine.unpersist(&tokens), 1);
    let g = engine.graph(&later, OptimizeOptions::NONE).unwrap();
    assert!(g.layers().iter().any(|l| l.label == "from_sequence"));
}

#[test]
fn delayed_calls_share_subgraphs() {
    let engine = Engine::new();
    let plan = Plan::new(
        vec![
            Node::new("a", "delayed.value", &[], json!({"value": 10})),
            Node::new(
                "inc",
                "delayed.call",
                &["a"],
                json!({"func": "x => x + 1", "name": "inc"}),
            ),
            Node::new(
                "dbl",
                "delayed.call",
                &["inc"],
                json!({"func": "lambda x: x * 2", "name": "double"}),
            ),
            Node::new(
                "add",
                "delayed.call",
                &["inc", "dbl"],
                json!({"func": "(a, b) => a + b", "name": "add"}),
            ),
            Node::new(
                "lit",
                "delayed.call",
                &["add"],
                json!({"func": "(x, y) => [x, y]", "args": [{"input": 0}, {"value": "z"}]}),
            ),
        ],
        &["add", "dbl", "lit"],
    );
    let sink = EventSink::new();
    let out = engine
        .compute(&plan, &opts(SchedulerKind::Threads, 2), &sink)
        .unwrap();
    assert_eq!(out[0].as_value(), &Value::Int(11 + 22));
    assert_eq!(out[1].as_value(), &Value::Int(22));
    assert_eq!(out[2].to_json(), json!([33, "z"]));
    let inc_runs = sink
        .events()
        .iter()
        .filter(|e| matches!(e, Event::TaskFinished { key, .. } if key.starts_with("'inc-")))
        .count();
    assert_eq!(inc_runs, 1, "the shared inc is computed once");
    // Delayed over a bag: the whole bag arrives as one list.
    let over_bag = Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": [3, 1, 2], "npartitions": 2}),
            ),
            Node::new("l", "delayed.call", &["s"], json!({"func": "xs => len(xs)"})),
        ],
        &["l"],
    );
    assert_eq!(
        compute1(&engine, &over_bag, &opts(SchedulerKind::Sync, 1)),
        Value::Int(3)
    );
}

#[test]
fn cancellation_stops_the_run_and_the_engine_stays_usable() {
    let engine = Engine::new();
    let cancel = CancelToken::new();
    let o = ComputeOptions {
        cancel: cancel.clone(),
        delay: Duration::from_millis(20),
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Threads, 2)
    };
    let c2 = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        c2.cancel();
    });
    let sink = EventSink::new();
    let err = engine.compute(&map_filter_sum(100, 20), &o, &sink).unwrap_err();
    t.join().unwrap();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    let finished = sink
        .events()
        .iter()
        .filter(|e| matches!(e, Event::TaskFinished { .. }))
        .count();
    assert!(finished < 81, "stopped early after {finished} tasks");
    assert!(matches!(
        sink.events().last(),
        Some(Event::Done { ok: false, .. })
    ));
    assert_eq!(
        compute1(
            &engine,
            &map_filter_sum(100, 20),
            &opts(SchedulerKind::Threads, 2)
        ),
        Value::Int(3 * 2450)
    );
}

#[test]
fn slow_motion_delays_every_task() {
    let engine = Engine::new();
    let o = ComputeOptions {
        delay: Duration::from_millis(10),
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Sync, 1)
    };
    let start = std::time::Instant::now();
    compute1(&engine, &map_filter_sum(8, 2), &o);
    // 9 tasks one after another, each waiting 10 ms.
    assert!(start.elapsed() >= Duration::from_millis(90));
}

#[test]
fn two_workers_share_the_counting_partitions() {
    let engine = Engine::new();
    let plan = Plan::new(
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
    );
    // With a delay both partitions are in flight together, so each goes to its own worker.
    let o = ComputeOptions {
        delay: Duration::from_millis(30),
        ..opts(SchedulerKind::Threads, 2)
    };
    let sink = EventSink::new();
    engine.compute(&plan, &o, &sink).unwrap();
    let workers: std::collections::BTreeSet<usize> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::TaskFinished { key, worker, .. } if key.contains("frequencies-part") => Some(*worker),
            _ => None,
        })
        .collect();
    assert_eq!(workers.len(), 2, "partitions ran on different workers");
}

#[test]
fn watched_runs_spread_tiny_tasks_over_every_worker() {
    // Without a delay each task takes microseconds, far less than waking a thread; a
    // watched run still places them on both workers so the picture shows the split.
    let engine = Engine::new();
    let items: Vec<&str> = "ABBBABBBABBBABBB".split("").filter(|s| !s.is_empty()).collect();
    let plan = Plan::new(
        vec![
            Node::new(
                "s",
                "bag.from_sequence",
                &[],
                json!({"items": items, "npartitions": 8}),
            ),
            Node::new("f", "bag.frequencies", &["s"], json!({})),
        ],
        &["f"],
    );
    let o = ComputeOptions {
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Threads, 2)
    };
    for _ in 0..20 {
        let sink = EventSink::new();
        let out = engine.compute(&plan, &o, &sink).unwrap();
        assert_eq!(out[0].to_json(), json!([["A", 4], ["B", 12]]));
        let ran_on = |part: &str| -> Vec<usize> {
            sink.events()
                .iter()
                .filter_map(|e| match e {
                    Event::TaskFinished { key, worker, .. } if key.contains(part) => Some(*worker),
                    _ => None,
                })
                .collect()
        };
        let sources = ran_on("from_sequence");
        assert_eq!(sources.len(), 8);
        for w in 0..2 {
            assert_eq!(
                sources.iter().filter(|&&x| x == w).count(),
                4,
                "sources on worker {w}: {sources:?}"
            );
        }
        let parts = ran_on("frequencies-part");
        assert_eq!(parts.len(), 8);
        assert!(
            (0..2).all(|w| parts.contains(&w)),
            "partial counts on both workers: {parts:?}"
        );
    }
}

#[test]
fn sync_logical_workers_place_each_partition_with_its_input() {
    // The simulated workers place a task where its inputs ran, so the two partition
    // chains go to different workers (what the playground shows as the split).
    let engine = Engine::new();
    let plan = Plan::new(
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
    );
    let o = ComputeOptions {
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Sync, 2)
    };
    let sink = EventSink::new();
    engine.compute(&plan, &o, &sink).unwrap();
    let worker_of = |prefix: &str, i: usize| {
        sink.events()
            .iter()
            .find_map(|e| match e {
                Event::TaskFinished { key, worker, .. }
                    if key.contains(prefix) && key.ends_with(&format!(", {i})")) =>
                {
                    Some(*worker)
                }
                _ => None,
            })
            .unwrap()
    };
    for i in 0..2 {
        assert_eq!(
            worker_of("frequencies-part", i),
            worker_of("from_sequence", i),
            "partition {i}"
        );
    }
    assert_ne!(worker_of("frequencies-part", 0), worker_of("frequencies-part", 1));
}

#[test]
fn a_run_can_be_driven_in_time_slices() {
    let engine = Engine::new();
    for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
        let sink = EventSink::new();
        let o = ComputeOptions {
            delay: Duration::from_millis(3),
            optimize: OptimizeOptions::NONE,
            ..opts(scheduler, 2)
        };
        let mut run = engine.start(&map_filter_sum(40, 4), &o, &sink).unwrap();
        let mut slices = 0;
        let out = loop {
            slices += 1;
            if let Some(out) = run.poll(Duration::from_millis(5)).unwrap() {
                break out;
            }
            assert!(slices < 10_000);
        };
        assert_eq!(
            out[0].as_value(),
            &Value::Int(3 * (0..40).filter(|x| (3 * x) % 2 == 0).sum::<i64>())
        );
        assert!(slices > 2, "the run came back between slices ({slices})");
        assert!(matches!(sink.events().last(), Some(Event::Done { ok: true, .. })));
        // Polling a finished run keeps answering.
        assert!(run.poll(Duration::from_millis(1)).unwrap().is_some());
    }
}

#[test]
fn sync_slow_motion_reports_tasks_running_during_their_wait() {
    let engine = Engine::new();
    let sink = EventSink::new();
    let o = ComputeOptions {
        delay: Duration::from_millis(30),
        optimize: OptimizeOptions::NONE,
        ..opts(SchedulerKind::Sync, 2)
    };
    compute1(&engine, &map_filter_sum(4, 2), &o);
    let _ = sink;
    let sink = EventSink::new();
    engine.compute(&map_filter_sum(4, 2), &o, &sink).unwrap();
    let events = sink.events();
    let started: std::collections::HashMap<u32, f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::TaskStarted { task, t, .. } => Some((*task, *t)),
            _ => None,
        })
        .collect();
    for e in &events {
        if let Event::TaskFinished { task, t, .. } = e {
            assert!(
                t - started[task] >= 25.0,
                "task {task} ran {} ms after it was started",
                t - started[task]
            );
        }
    }
}

#[test]
fn a_silent_sink_keeps_no_events_and_changes_no_result() {
    let plan = Plan::new(
        vec![
            Node::new(
                "b",
                "bag.from_sequence",
                &[],
                json!({"items": range_items(200), "npartitions": 20}),
            ),
            Node::new("m", "bag.map", &["b"], json!({"func": "x => x * 3"})),
            Node::new("s", "bag.sum", &["m"], json!({"split_every": 3})),
        ],
        &["s"],
    );
    let engine = Engine::new();
    for (scheduler, workers) in [
        (SchedulerKind::Sync, 1),
        (SchedulerKind::Sync, 3),
        (SchedulerKind::Threads, 2),
    ] {
        let silent = EventSink::silent();
        let out = engine.compute(&plan, &opts(scheduler, workers), &silent).unwrap();
        assert_eq!(out[0].as_value(), &Value::Int(3 * 199 * 200 / 2));
        assert!(silent.drain().is_empty());
        let loud = EventSink::new();
        engine.compute(&plan, &opts(scheduler, workers), &loud).unwrap();
        assert!(loud
            .drain()
            .iter()
            .any(|e| matches!(e, Event::TaskFinished { .. })));
    }
    // Failures still surface with their key.
    let bad = Plan::new(
        vec![
            Node::new(
                "b",
                "bag.from_sequence",
                &[],
                json!({"items": [1, 0], "npartitions": 2}),
            ),
            Node::new("m", "bag.map", &["b"], json!({"func": "x => 1 / x"})),
        ],
        &["m"],
    );
    let err = engine
        .compute(&bad, &opts(SchedulerKind::Threads, 2), &EventSink::silent())
        .unwrap_err();
    assert!(err.key.is_some(), "{err:?}");
}
