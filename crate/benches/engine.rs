//! Micro-benchmarks (criterion): the scheduler's cost per task, with and without worker
//! threads, the expression evaluator's cost per call, and the plain CSV reader's cost
//! per row (one W3e block). `cargo bench -p partita`.
//! Workload-level figures come from `partita bench` (docs/benchmarks.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::events::EventSink;
use partita::expr::{Function, Lang};
use partita::graph::OptimizeOptions;
use partita::plan::{Node, Plan};
use partita::value::Value;
use serde_json::json;
use std::hint::black_box;

// The same allocator as the `partita` command, so these figures match `partita bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `leaves` trivial tasks reduced 8 at a time (W4's shape).
fn tree(leaves: usize) -> Plan {
    Plan::new(
        vec![
            Node::new("r", "bag.range", &[], json!({"n": leaves, "npartitions": leaves})),
            Node::new("out", "bag.count", &["r"], json!({"split_every": 8})),
        ],
        &["out"],
    )
}

fn scheduler(c: &mut Criterion) {
    let engine = Engine::new();
    let mut group = c.benchmark_group("scheduler per task");
    for leaves in [1_000usize, 10_000] {
        let plan = tree(leaves);
        let tasks = engine
            .graph(&plan, OptimizeOptions::ALL)
            .map(|g| g.tasks().len())
            .unwrap_or(leaves);
        group.throughput(Throughput::Elements(tasks as u64));
        for (name, scheduler, workers) in [
            ("sync", SchedulerKind::Sync, 1),
            ("threads", SchedulerKind::Threads, 2),
        ] {
            let opts = ComputeOptions {
                scheduler,
                workers,
                ..ComputeOptions::default()
            };
            group.bench_with_input(BenchmarkId::new(name, leaves), &plan, |b, plan| {
                b.iter(|| black_box(engine.compute(plan, &opts, &EventSink::silent())))
            });
        }
    }
    group.finish();
}

fn expressions(c: &mut Criterion) {
    let row = Value::record([
        ("name".to_string(), Value::str("B")),
        ("value".to_string(), Value::Int(812)),
    ]);
    let mut group = c.benchmark_group("expression per call");
    group.throughput(Throughput::Elements(1));
    for (name, source) in [
        ("js field arithmetic", "x => x.value * 2 + 1"),
        (
            "python predicate",
            "lambda x: x['value'] % 7 == 0 and x['name'] != 'A'",
        ),
        ("js string method", "x => x.name.toLowerCase() + '-' + x.value"),
    ] {
        if let Ok(f) = Function::parse(source, Lang::Auto) {
            group.bench_function(name, |b| b.iter(|| black_box(f.call1(black_box(&row)))));
        }
    }
    group.finish();
}

fn csv_block(c: &mut Criterion) {
    // One of W3e's sixteen blocks, read as W3e reads it: the key and val columns, with
    // the dtypes read_csv infers.
    let rows = 62_500;
    let text = partita::bench::w3_csv(rows);
    let schema = partita::dataframe::kernels::csv_schema(&text).expect("W3e's CSV has a header");
    let mut group = c.benchmark_group("csv block");
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("key and val of a W3e block", |b| {
        b.iter(|| {
            black_box(partita::dataframe::csv::read_plain_block(
                black_box(&text),
                true,
                &schema,
                &[0, 2],
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, scheduler, expressions, csv_block);
criterion_main!(benches);
