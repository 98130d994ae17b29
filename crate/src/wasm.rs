//! The wasm-bindgen binding: the only code that knows about JS. Everything crosses as
//! JSON text (plans, options, results, events, errors), so the JS side stays a thin,
//! typed client and the engine API stays the same as natively.
//!
//! A computation is started with `start` and driven by the engine Worker with `poll`
//! (time slices) or `step` (one task), draining `events` between calls; so the Worker
//! stays responsive (cancel, new requests) in both bundles.

use crate::engine::{ComputeOptions, Computed, Engine, Run, SchedulerKind};
use crate::error::Error;
use crate::events::EventSink;
use crate::graph::OptimizeOptions;
use crate::plan::Plan;
use crate::value::Value;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;
use wasm_bindgen::prelude::*;

#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

fn js_error(err: Error) -> JsValue {
    JsValue::from_str(&serde_json::to_string(&err).unwrap_or_else(|_| err.to_string()))
}

/// Options as JS sends them (`{scheduler, workers, delayMs, optimize}`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct JsOptions {
    scheduler: Option<SchedulerKind>,
    workers: Option<usize>,
    delay_ms: Option<f64>,
    optimize: Option<JsOptimize>,
    persist: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsOptimize {
    All(bool),
    Some { cull: Option<bool>, fuse: Option<bool> },
}

impl JsOptimize {
    fn options(&self) -> OptimizeOptions {
        match self {
            JsOptimize::All(true) => OptimizeOptions::ALL,
            JsOptimize::All(false) => OptimizeOptions::NONE,
            JsOptimize::Some { cull, fuse } => OptimizeOptions {
                cull: cull.unwrap_or(true),
                fuse: fuse.unwrap_or(true),
            },
        }
    }
}

fn parse_options(text: &str) -> Result<(ComputeOptions, bool), JsValue> {
    let js: JsOptions = if text.trim().is_empty() {
        JsOptions::default()
    } else {
        serde_json::from_str(text).map_err(|e| js_error(Error::value(format!("compute options: {e}"))))?
    };
    let delay_ms = js.delay_ms.unwrap_or(0.0);
    if !(0.0..=600_000.0).contains(&delay_ms) {
        return Err(js_error(Error::value(format!(
            "compute options: delayMs must be between 0 and 600000, not {delay_ms}"
        ))));
    }
    let opts = ComputeOptions {
        scheduler: js.scheduler.unwrap_or_default(),
        workers: js
            .workers
            .unwrap_or_else(|| rayon::current_num_threads().max(1))
            .clamp(1, 256),
        delay: Duration::from_secs_f64(delay_ms / 1000.0),
        optimize: js
            .optimize
            .as_ref()
            .map(JsOptimize::options)
            .unwrap_or(OptimizeOptions::ALL),
        ..Default::default()
    };
    Ok((opts, js.persist))
}

fn parse_plan(text: &str) -> Result<Plan, JsValue> {
    Plan::parse(text).map_err(js_error)
}

/// Results as JSON; arrays travel flat with their shape and dtype (the client turns them
/// into typed arrays), everything else as its value.
fn results_json(results: &[Computed]) -> String {
    serde_json::Value::Array(results.iter().map(result_json).collect()).to_string()
}

fn result_json(c: &Computed) -> serde_json::Value {
    use crate::partition::ArrayChunk;
    match c {
        Computed::Array { array, chunks, .. } => {
            let data: Vec<serde_json::Value> = match array {
                ArrayChunk::F64(a) => a.iter().map(|x| Value::Float(*x).to_json()).collect(),
                ArrayChunk::I64(a) => a.iter().map(|x| serde_json::Value::from(*x)).collect(),
                ArrayChunk::Bool(a) => a.iter().map(|x| serde_json::Value::from(*x)).collect(),
            };
            serde_json::json!({
                "__array__": true,
                "shape": array.shape(),
                "dtype": array.dtype(),
                "chunks": chunks,
                "data": data,
            })
        }
        Computed::Frame {
            value,
            columns,
            dtypes,
            npartitions,
            divisions,
            index,
        } => serde_json::json!({
            "__frame__": true,
            "columns": columns,
            "dtypes": dtypes,
            "npartitions": npartitions,
            "divisions": divisions.as_ref().map(|d| d.iter().map(Value::to_json).collect::<Vec<_>>()),
            "index": index,
            "records": value.to_json(),
        }),
        other => other.to_json(),
    }
}

fn run_entry(runs: &mut HashMap<u32, RunEntry>, id: u32) -> Result<&mut RunEntry, JsValue> {
    runs.get_mut(&id)
        .ok_or_else(|| js_error(Error::value(format!("no running computation with id {id}"))))
}

/// Traps the module on purpose (a `unreachable` instruction). Tests use it to prove a
/// dead engine Worker is reported to every pending call and that `start()` works again.
#[wasm_bindgen]
pub fn debug_trap() {
    core::arch::wasm32::unreachable()
}

struct RunEntry {
    run: Run,
    sink: EventSink,
    persist: bool,
}

/// One engine per engine Worker.
#[wasm_bindgen]
pub struct WasmEngine {
    engine: Engine,
    runs: HashMap<u32, RunEntry>,
    next_run: u32,
    /// The benchmark workload being measured, with its own engine holding its data.
    bench: Option<(Engine, crate::bench::Prepared)>,
    /// The last benchmark run's output, kept until `bench_checksum` reduces and drops it.
    bench_out: Option<Vec<crate::engine::Computed>>,
}

impl Default for WasmEngine {
    fn default() -> Self {
        WasmEngine::new()
    }
}

#[wasm_bindgen]
impl WasmEngine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmEngine {
        WasmEngine {
            engine: Engine::new(),
            runs: HashMap::new(),
            next_run: 1,
            bench: None,
            bench_out: None,
        }
    }

    /// Benchmarks (docs/benchmarks.md): makes a workload's data (not timed) in an engine
    /// of its own, dropping the previous workload's; returns its note (sizes).
    pub fn bench_prepare(&mut self, workload: &str, scale: f64) -> Result<String, JsValue> {
        self.bench = None;
        self.bench_out = None;
        let engine = Engine::new();
        let prepared = crate::bench::prepare(&engine, workload, scale).map_err(js_error)?;
        let note = prepared.note.clone();
        self.bench = Some((engine, prepared));
        Ok(note)
    }

    /// Runs the prepared workload once to the end, unwatched, and keeps its output. The
    /// caller times this call alone: the checksum (which turns results into rows) and
    /// freeing the output come after, in `bench_checksum`, as the native command does.
    pub fn bench_run(&mut self, options: &str) -> Result<(), JsValue> {
        let (opts, _) = parse_options(options)?;
        let (engine, prepared) = self
            .bench
            .as_ref()
            .ok_or_else(|| js_error(Error::value("bench: no workload prepared")))?;
        let out = engine
            .compute(&prepared.plan, &opts, &EventSink::silent())
            .map_err(js_error)?;
        self.bench_out = Some(out);
        Ok(())
    }

    /// The checksum of the last `bench_run`'s output, which it then drops.
    pub fn bench_checksum(&mut self) -> Result<f64, JsValue> {
        let (_, prepared) = self
            .bench
            .as_ref()
            .ok_or_else(|| js_error(Error::value("bench: no workload prepared")))?;
        let out = self
            .bench_out
            .take()
            .ok_or_else(|| js_error(Error::value("bench: no run to check; call bench_run first")))?;
        (prepared.checksum)(&out).map_err(js_error)
    }

    /// The number of tasks the prepared workload runs (for microseconds per task).
    pub fn bench_tasks(&self) -> Result<u32, JsValue> {
        let (engine, prepared) = self
            .bench
            .as_ref()
            .ok_or_else(|| js_error(Error::value("bench: no workload prepared")))?;
        let graph = engine
            .graph(&prepared.plan, OptimizeOptions::ALL)
            .map_err(js_error)?;
        Ok(u32::try_from(graph.tasks().len()).unwrap_or(u32::MAX))
    }

    /// `{"threads": bool, "threadCount": n, "version": "…"}`.
    pub fn info(&self) -> String {
        serde_json::json!({
            "threads": crate::runtime::threads_available(),
            "threadCount": rayon::current_num_threads(),
            "version": env!("CARGO_PKG_VERSION"),
        })
        .to_string()
    }

    /// Validates a plan: `{"nodes", "tasks", "layers", "outputs": [metadata]}` or an error.
    pub fn validate(&self, plan: &str) -> Result<String, JsValue> {
        let plan = parse_plan(plan)?;
        let lowered = self.engine.lower(&plan).map_err(js_error)?;
        let mut out = lowered.describe();
        if let Some(obj) = out.as_object_mut() {
            obj.insert("nodes".into(), serde_json::Value::from(plan.nodes.len()));
        }
        Ok(out.to_string())
    }

    /// The task graph as JSON (`format` "json") or as a Dask-style dict ("dask").
    pub fn graph(&self, plan: &str, optimize: bool, format: &str) -> Result<String, JsValue> {
        let plan = parse_plan(plan)?;
        let opt = if optimize {
            OptimizeOptions::ALL
        } else {
            OptimizeOptions::NONE
        };
        let graph = self.engine.graph(&plan, opt).map_err(js_error)?;
        match format {
            "dask" => Ok(graph.to_dask_string()),
            _ => serde_json::to_string(&graph.to_json()).map_err(|e| js_error(e.into())),
        }
    }

    /// Starts a computation; returns its id for `poll`, `step`, `events` and `cancel`.
    pub fn start(&mut self, plan: &str, options: &str) -> Result<u32, JsValue> {
        let plan = parse_plan(plan)?;
        let (opts, persist) = parse_options(options)?;
        let sink = EventSink::new();
        let run = self.engine.start(&plan, &opts, &sink).map_err(js_error)?;
        let id = self.next_run;
        self.next_run = self.next_run.wrapping_add(1).max(1);
        self.runs.insert(id, RunEntry { run, sink, persist });
        Ok(id)
    }

    fn entry(&mut self, id: u32) -> Result<&mut RunEntry, JsValue> {
        run_entry(&mut self.runs, id)
    }

    /// Runs for about `budget_ms`; the results (a JSON list, one per output) once done.
    /// On failure the error is thrown and the run is dropped (its events stay drainable
    /// until then: drain before dropping).
    pub fn poll(&mut self, id: u32, budget_ms: f64) -> Result<Option<String>, JsValue> {
        let budget = Duration::from_secs_f64(budget_ms.clamp(0.0, 60_000.0) / 1000.0);
        let entry = run_entry(&mut self.runs, id)?;
        match entry.run.poll(budget) {
            Ok(None) => Ok(None),
            Ok(Some(results)) => {
                if entry.persist {
                    entry.run.persist_into(&self.engine).map_err(js_error)?;
                }
                Ok(Some(results_json(&results)))
            }
            Err(e) => Err(js_error(e)),
        }
    }

    /// Step mode: runs the next ready task. `{"task": id|null, "done": bool, "ready":
    /// [ids], "states": [...]}`.
    pub fn step(&mut self, id: u32) -> Result<String, JsValue> {
        let entry = self.entry(id)?;
        let task = entry.run.step().map_err(js_error)?;
        let ready: Vec<u32> = entry.run.ready().iter().map(|t| t.0).collect();
        Ok(serde_json::json!({
            "task": task.map(|t| t.0),
            "done": entry.run.is_finished(),
            "ready": ready,
            "states": entry.run.states(),
        })
        .to_string())
    }

    /// The ready tasks, in the order they will run (step mode highlights them).
    pub fn ready(&mut self, id: u32) -> Result<String, JsValue> {
        let entry = self.entry(id)?;
        let ready: Vec<u32> = entry.run.ready().iter().map(|t| t.0).collect();
        Ok(serde_json::json!(ready).to_string())
    }

    /// The run's results once it is finished (after stepping to the end).
    pub fn results(&mut self, id: u32) -> Result<String, JsValue> {
        let entry = run_entry(&mut self.runs, id)?;
        let results = entry.run.finish().map_err(js_error)?;
        if entry.persist {
            entry.run.persist_into(&self.engine).map_err(js_error)?;
        }
        Ok(results_json(&results))
    }

    /// The events since the last call, as a JSON list.
    pub fn events(&mut self, id: u32) -> Result<String, JsValue> {
        let entry = self.entry(id)?;
        serde_json::to_string(&entry.sink.drain()).map_err(|e| js_error(e.into()))
    }

    /// Cancels a run before its next task.
    pub fn cancel(&mut self, id: u32) -> Result<(), JsValue> {
        self.entry(id)?.run.cancel();
        Ok(())
    }

    /// Forgets a run (after its result or error was delivered).
    pub fn drop_run(&mut self, id: u32) {
        self.runs.remove(&id);
    }

    /// Drops persisted collections by token (a JSON list); returns how many.
    pub fn unpersist(&mut self, tokens: &str) -> Result<u32, JsValue> {
        let tokens: Vec<String> = serde_json::from_str(tokens).map_err(|e| js_error(e.into()))?;
        Ok(u32::try_from(self.engine.unpersist(&tokens)).unwrap_or(u32::MAX))
    }
}
