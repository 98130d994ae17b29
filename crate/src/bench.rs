//! The benchmark workloads (docs/benchmarks.md): deterministic data made in-process from a
//! counter-based generator that the peer runner (bench/peers.py) reproduces exactly, kept
//! in the engine as persisted sources so that generating it is not timed, and the plans
//! that run on it with a checksum per result. Timing is left to the caller: natively the
//! `partita bench` command, in the browser the benchmark page.

use crate::array::meta::{ArrayMeta, DType};
use crate::dataframe::FrameMeta;
use crate::engine::{Computed, Engine};
use crate::error::{Error, Result};
use crate::lower::Persisted;
use crate::partition::{ArrayChunk, Partition};
use crate::plan::{Node, Plan};
use crate::registry::Kind;
use crate::value::Value;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{json, Value as Json};
use std::sync::Arc;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64 of one counter.
pub fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `i`-th number of stream `s`.
pub fn u(s: u64, i: u64) -> u64 {
    mix64((s << 32).wrapping_add(i))
}

/// The `i`-th float in [0, 1) of stream `s`.
pub fn unit(s: u64, i: u64) -> f64 {
    (u(s, i) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const PARTITIONS: usize = 16;
pub const CHUNK: usize = 1024;

/// Every workload's name, in the order they run.
pub const WORKLOADS: &[&str] = &[
    "W1a",
    "W1b",
    "W1c",
    "W1d",
    "W1e",
    "W2a",
    "W2b",
    "W2c",
    "W2d",
    "W2e",
    "W3a",
    "W3b",
    "W3c",
    "W3d",
    "W3e",
    "W4-10000",
    "W4-100000",
];

/// Sizes at a scale (1.0 is the full workload); arrays scale their side by sqrt(scale),
/// kept a multiple of the chunk count.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub records: usize,
    pub lines: usize,
    pub side: usize,
    pub matmul: usize,
    pub chunk: usize,
    pub rows: usize,
    pub csv_rows: usize,
    pub keys: usize,
}

impl Sizes {
    pub fn at(scale: f64) -> Sizes {
        let s = scale.clamp(1e-6, 1.0);
        let rows = |n: f64| ((n * s).round() as usize).max(PARTITIONS);
        let side = |n: f64| {
            let blocks = 8.0;
            let per = ((n * s.sqrt()) / blocks).round().max(1.0);
            (per * blocks) as usize
        };
        let big = side(8192.0);
        Sizes {
            records: rows(2_000_000.0),
            lines: rows(200_000.0),
            side: big,
            matmul: side(4096.0).max(8),
            chunk: (big / 8).max(1),
            rows: rows(10_000_000.0),
            csv_rows: rows(1_000_000.0),
            keys: 10_000,
        }
    }
}

fn even_cuts(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.max(1);
    (0..parts).map(|p| (n * p / parts, n * (p + 1) / parts)).collect()
}

/// A source node and the partitions its result is made of.
fn adopt(
    engine: &Engine,
    node: &Node,
    kind: Kind,
    partitions: Vec<Partition>,
    array: Option<ArrayMeta>,
    frame: Option<FrameMeta>,
) {
    let token = crate::lower::source_token(node);
    let persisted = Persisted {
        kind,
        name: format!("{}-{}", node.id, token.get(..8).unwrap_or(&token)),
        partitions: partitions.into_iter().map(Arc::new).collect(),
        array: array.map(Arc::new),
        frame: frame.map(Arc::new),
    };
    engine.adopt(token, persisted);
}

fn w1_source(engine: &Engine, z: &Sizes) -> Node {
    let node = Node::new(
        "records",
        "bag.from_sequence",
        &[],
        json!({"items": ["bench W1", z.records], "npartitions": PARTITIONS}),
    );
    let parts = even_cuts(z.records, PARTITIONS)
        .into_iter()
        .map(|(a, b)| {
            Partition::Bag(
                (a..b)
                    .map(|i| {
                        let letter = LETTERS
                            .get((u(1, i as u64) % 26) as usize)
                            .copied()
                            .unwrap_or(b'A');
                        Value::record([
                            ("name".to_string(), Value::str((letter as char).to_string())),
                            ("value".to_string(), Value::Int((u(2, i as u64) % 1000) as i64)),
                        ])
                    })
                    .collect(),
            )
        })
        .collect();
    adopt(engine, &node, Kind::Bag, parts, None, None);
    node
}

fn w1e_source(engine: &Engine, z: &Sizes) -> Node {
    let node = Node::new(
        "lines",
        "bag.from_sequence",
        &[],
        json!({"items": ["bench W1e", z.lines], "npartitions": PARTITIONS}),
    );
    let parts = even_cuts(z.lines, PARTITIONS)
        .into_iter()
        .map(|(a, b)| {
            Partition::Bag(
                (a..b)
                    .map(|j| {
                        let words: Vec<String> = (0..10u64)
                            .map(|k| format!("w{}", u(3, j as u64 * 10 + k) % 1000))
                            .collect();
                        Value::str(words.join(" "))
                    })
                    .collect(),
            )
        })
        .collect();
    adopt(engine, &node, Kind::Bag, parts, None, None);
    node
}

fn array_source(engine: &Engine, id: &str, stream: u64, side: usize, chunk: usize) -> Result<Node> {
    let node = Node::new(
        id,
        "array.full",
        &[],
        json!({"shape": [side, side], "fill_value": stream, "chunks": chunk}),
    );
    let chunks: Vec<usize> = even_cuts(side, side.div_ceil(chunk))
        .iter()
        .map(|(a, b)| b - a)
        .collect();
    let mut parts = Vec::new();
    let mut r0 = 0;
    for rows in &chunks {
        let mut c0 = 0;
        for cols in &chunks {
            let block = ndarray::Array2::from_shape_fn((*rows, *cols), |(r, c)| {
                unit(stream, ((r0 + r) * side + c0 + c) as u64)
            });
            parts.push(Partition::Chunk(ArrayChunk::F64(block.into_dyn())));
            c0 += cols;
        }
        r0 += rows;
    }
    let meta = ArrayMeta {
        shape: vec![side, side],
        chunks: vec![chunks.clone(), chunks],
        dtype: DType::F64,
    };
    adopt(engine, &node, Kind::Array, parts, Some(meta), None);
    Ok(node)
}

fn w3_columns(a: usize, b: usize) -> (Vec<i64>, Vec<String>, Vec<f64>) {
    let key = (a..b).map(|i| (u(7, i as u64) % 10_000) as i64).collect();
    let cat = (a..b).map(|i| format!("c{}", u(8, i as u64) % 100)).collect();
    let val = (a..b).map(|i| unit(9, i as u64)).collect();
    (key, cat, val)
}

fn w3_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Int64, true),
        Field::new("cat", DataType::Utf8, true),
        Field::new("val", DataType::Float64, true),
    ]))
}

fn w3_source(engine: &Engine, z: &Sizes) -> Result<Node> {
    let node = Node::new(
        "rows",
        "dataframe.from_records",
        &[],
        json!({"records": [{"bench": "W3", "rows": z.rows}], "npartitions": PARTITIONS}),
    );
    let schema = w3_schema();
    let mut parts = Vec::new();
    for (a, b) in even_cuts(z.rows, PARTITIONS) {
        let (key, cat, val) = w3_columns(a, b);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(key)),
            Arc::new(StringArray::from(cat)),
            Arc::new(Float64Array::from(val)),
        ];
        let batch = RecordBatch::try_new(Arc::clone(&schema), cols)
            .map_err(|e| Error::internal(format!("bench W3: {e}")))?;
        parts.push(Partition::Frame(batch));
    }
    let meta = FrameMeta::new(schema, None);
    adopt(engine, &node, Kind::Frame, parts, None, Some(meta));
    Ok(node)
}

fn weights_source(engine: &Engine, z: &Sizes) -> Result<Node> {
    let node = Node::new(
        "weights",
        "dataframe.from_records",
        &[],
        json!({"records": [{"bench": "weights", "rows": z.keys}], "npartitions": 1}),
    );
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Int64, true),
        Field::new("weight", DataType::Float64, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from((0..z.keys as i64).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(
            (0..z.keys as u64).map(|k| unit(10, k)).collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), cols)
        .map_err(|e| Error::internal(format!("bench weights: {e}")))?;
    adopt(
        engine,
        &node,
        Kind::Frame,
        vec![Partition::Frame(batch)],
        None,
        Some(FrameMeta::new(schema, None)),
    );
    Ok(node)
}

/// The CSV text of the first `rows` W3 rows, as the peers write it.
pub fn w3_csv(rows: usize) -> String {
    let (key, cat, val) = w3_columns(0, rows);
    let mut out = String::with_capacity(rows * 24 + 16);
    out.push_str("key,cat,val\n");
    for ((k, c), v) in key.iter().zip(&cat).zip(&val) {
        out.push_str(&format!("{k},{c},{v:.6}\n"));
    }
    out
}

/// Reduces a workload's result to one number that every engine agrees on.
pub type Checksum = fn(&[Computed]) -> Result<f64>;

/// A workload ready to run: its plan and how to reduce its result to the checksum.
pub struct Prepared {
    pub name: String,
    pub plan: Plan,
    pub checksum: Checksum,
    /// A note printed with the figures (sizes, what is measured).
    pub note: String,
}

fn num(v: &Json) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The sum of every number in a result (arrays of any shape).
fn total(c: &[Computed]) -> Result<f64> {
    fn walk(v: &Json) -> f64 {
        match v {
            Json::Array(items) => items.iter().map(walk).sum(),
            Json::Object(m) => m.values().map(walk).sum(),
            other => num(other),
        }
    }
    Ok(c.iter().map(|x| walk(&x.to_json())).sum())
}

fn records(c: &[Computed]) -> Result<Vec<Json>> {
    match c.first().map(Computed::to_json) {
        Some(Json::Array(rows)) => Ok(rows),
        other => Err(Error::internal(format!("bench: expected rows, got {other:?}"))),
    }
}

fn letter_weighted(c: &[Computed]) -> Result<f64> {
    let pairs = records(c)?;
    Ok(pairs
        .iter()
        .map(|p| {
            let letter = p
                .get(0)
                .and_then(Json::as_str)
                .and_then(|s| s.bytes().next())
                .unwrap_or(b'A');
            (f64::from(letter - b'A') + 1.0) * p.get(1).map_or(0.0, num)
        })
        .sum())
}

fn top10(c: &[Computed]) -> Result<f64> {
    let mut counts: Vec<f64> = records(c)?.iter().map(|p| p.get(1).map_or(0.0, num)).collect();
    counts.sort_by(|a, b| b.total_cmp(a));
    Ok(counts.iter().take(10).sum())
}

fn key_weighted(c: &[Computed]) -> Result<f64> {
    Ok(records(c)?.iter().map(|r| num(&r["key"]) * num(&r["val"])).sum())
}

/// value_counts comes back as a frame of (cat, count) rows or a {cat: count} record.
fn cat_weighted(c: &[Computed]) -> Result<f64> {
    let idx = |s: &str| s.trim_start_matches('c').parse::<f64>().unwrap_or(0.0) + 1.0;
    Ok(match c.first().map(Computed::to_json) {
        Some(Json::Object(m)) => m.iter().map(|(k, v)| idx(k) * num(v)).sum(),
        Some(Json::Array(rows)) => rows
            .iter()
            .map(|r| match r {
                Json::Array(p) => {
                    idx(p.first().and_then(Json::as_str).unwrap_or("")) * p.get(1).map_or(0.0, num)
                }
                _ => idx(r["cat"].as_str().unwrap_or("")) * num(&r["count"]),
            })
            .sum(),
        other => return Err(Error::internal(format!("bench W3b: unexpected result {other:?}"))),
    })
}

fn cat_stats(c: &[Computed]) -> Result<f64> {
    Ok(records(c)?
        .iter()
        .map(|r| num(&r["val_mean"]) + num(&r["val_max"]) + num(&r["val_count"]))
        .sum())
}

/// Builds the data a workload needs (kept in `engine`, not timed) and its plan.
pub fn prepare(engine: &Engine, workload: &str, scale: f64) -> Result<Prepared> {
    let z = Sizes::at(scale);
    let n = |id: &str, op: &str, inputs: &[&str], args: Json| Node::new(id, op, inputs, args);
    let plan = |nodes: Vec<Node>| Plan::new(nodes, &["out"]);
    let (plan, checksum, note): (Plan, Checksum, String) = match workload {
        "W1a" | "W1b" | "W1c" | "W1d" => {
            let src = w1_source(engine, &z);
            let note = format!("{} records, {PARTITIONS} partitions", z.records);
            match workload {
                "W1a" => (
                    plan(vec![
                        src,
                        n("v", "bag.pluck", &["records"], json!({"key": "value"})),
                        n("out", "bag.sum", &["v"], json!({})),
                    ]),
                    total,
                    note,
                ),
                "W1b" => (
                    plan(vec![
                        src,
                        n("v", "bag.pluck", &["records"], json!({"key": "name"})),
                        n("out", "bag.frequencies", &["v"], json!({})),
                    ]),
                    letter_weighted,
                    note,
                ),
                "W1c" => (
                    plan(vec![
                        src,
                        n(
                            "f",
                            "bag.filter",
                            &["records"],
                            json!({"predicate": "x => x.value % 7 == 0"}),
                        ),
                        n("out", "bag.count", &["f"], json!({})),
                    ]),
                    total,
                    note,
                ),
                _ => (
                    plan(vec![
                        src,
                        n("v", "bag.map", &["records"], json!({"func": "x => x.value"})),
                        n("d", "bag.distinct", &["v"], json!({})),
                        n("out", "bag.count", &["d"], json!({})),
                    ]),
                    total,
                    note,
                ),
            }
        }
        "W1e" => {
            let src = w1e_source(engine, &z);
            (
                plan(vec![
                    src,
                    n("w", "bag.str", &["lines"], json!({"method": "split"})),
                    n("f", "bag.flatten", &["w"], json!({})),
                    n("out", "bag.frequencies", &["f"], json!({})),
                ]),
                top10,
                format!(
                    "{} lines of 10 words; the top 10 are picked from the frequencies after compute",
                    z.lines
                ),
            )
        }
        "W2a" | "W2b" | "W2c" | "W2e" => {
            let x = array_source(engine, "x", 4, z.side, z.chunk)?;
            let note = format!("{0}x{0} float64 in {1}x{1} chunks", z.side, z.chunk);
            let nodes = match workload {
                "W2a" => vec![x, n("out", "array.sum", &["x"], json!({}))],
                "W2b" => vec![x, n("out", "array.mean", &["x"], json!({"axis": 0}))],
                "W2c" => vec![
                    x,
                    n("t", "array.transpose", &["x"], json!({})),
                    n("s", "array.elemwise", &["x", "t"], json!({"op": "add"})),
                    n("out", "array.sum", &["s"], json!({})),
                ],
                _ => vec![
                    x,
                    n(
                        "g",
                        "array.getitem",
                        &["x"],
                        json!({"index": [{"step": 2}, {"start": 100, "stop": 5000.min(z.side)}]}),
                    ),
                    n("out", "array.std", &["g"], json!({})),
                ],
            };
            (plan(nodes), total, note)
        }
        "W2d" => {
            let chunk = (z.matmul / 4).max(1);
            let a = array_source(engine, "a", 5, z.matmul, chunk)?;
            let b = array_source(engine, "b", 6, z.matmul, chunk)?;
            (
                plan(vec![
                    a,
                    b,
                    n("m", "array.matmul", &["a", "b"], json!({})),
                    n("out", "array.sum", &["m"], json!({})),
                ]),
                total,
                format!("{0}x{0} @ {0}x{0} in {1}x{1} chunks", z.matmul, chunk),
            )
        }
        "W3a" | "W3b" | "W3c" | "W3d" => {
            let src = w3_source(engine, &z)?;
            let note = format!("{} rows, {PARTITIONS} partitions", z.rows);
            match workload {
                "W3a" => (
                    plan(vec![
                        src,
                        n(
                            "out",
                            "dataframe.groupby_agg",
                            &["rows"],
                            json!({"by": "key", "agg": {"val": "sum"}}),
                        ),
                    ]),
                    key_weighted,
                    note,
                ),
                "W3b" => (
                    plan(vec![
                        src,
                        n(
                            "f",
                            "dataframe.filter",
                            &["rows"],
                            json!({"predicate": {"col": "val", "op": "gt", "value": 0.5}}),
                        ),
                        n("out", "dataframe.value_counts", &["f"], json!({"column": "cat"})),
                    ]),
                    cat_weighted,
                    note,
                ),
                "W3c" => {
                    let w = weights_source(engine, &z)?;
                    (
                        plan(vec![
                            src,
                            w,
                            n("m", "dataframe.merge", &["rows", "weights"], json!({"on": "key"})),
                            n(
                                "p",
                                "dataframe.assign",
                                &["m"],
                                json!({"columns": {"vw": "r => r.val * r.weight"}}),
                            ),
                            n("s", "dataframe.select", &["p"], json!({"columns": ["vw"]})),
                            n("out", "dataframe.sum", &["s"], json!({})),
                        ]),
                        total,
                        format!("{note}, merged with {} keys (a broadcast join)", z.keys),
                    )
                }
                _ => (
                    plan(vec![
                        src,
                        n(
                            "out",
                            "dataframe.groupby_agg",
                            &["rows"],
                            json!({"by": "cat", "agg": {"val": ["mean", "max", "count"]}}),
                        ),
                    ]),
                    cat_stats,
                    note,
                ),
            }
        }
        "W3e" => {
            let text = w3_csv(z.csv_rows);
            let bytes = text.len();
            (
                plan(vec![
                    n(
                        "csv",
                        "dataframe.read_csv",
                        &[],
                        json!({"text": text, "blocksize": bytes.div_ceil(PARTITIONS).max(1)}),
                    ),
                    n(
                        "out",
                        "dataframe.groupby_agg",
                        &["csv"],
                        json!({"by": "key", "agg": {"val": "sum"}}),
                    ),
                ]),
                key_weighted,
                format!("{} CSV rows ({} bytes) in {PARTITIONS} blocks", z.csv_rows, bytes),
            )
        }
        w if w.starts_with("W4-") => {
            let leaves: usize = w.get(3..).and_then(|s| s.parse().ok()).unwrap_or(10_000);
            (
                plan(vec![
                    n("r", "bag.range", &[], json!({"n": leaves, "npartitions": leaves})),
                    n("out", "bag.count", &["r"], json!({"split_every": 8})),
                ]),
                total,
                format!("{leaves} trivial leaf tasks, reduced 8 at a time"),
            )
        }
        other => {
            return Err(Error::value(format!(
                "bench: unknown workload '{other}'; the workloads are {}",
                WORKLOADS.join(", ")
            )))
        }
    };
    Ok(Prepared {
        name: workload.to_string(),
        plan,
        checksum,
        note,
    })
}
