//! The engine: validates and lowers plans, optimises graphs, runs them under the chosen
//! scheduler, assembles results, and keeps persisted collections. Bindings (CLI, wasm)
//! talk to this type only.

use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::graph::{OptimizeOptions, TaskGraph, TaskId};
use crate::lower::{Lowered, Lowerer, PersistStore, Persisted};
use crate::partition::Partition;
use crate::plan::Plan;
use crate::registry::Kind;
use crate::scheduler::{CancelToken, Executor, PoolExecutor, RunOptions, Scheduler, SyncExecutor, TaskState};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Which scheduler runs a computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerKind {
    /// One task at a time on the calling thread, in a deterministic order; with several
    /// workers they are logical workers interleaved on that thread.
    Sync,
    /// A pool of threads (rayon; web workers in threaded wasm).
    #[default]
    Threads,
}

impl std::str::FromStr for SchedulerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sync" | "synchronous" | "single-threaded" => Ok(SchedulerKind::Sync),
            "threads" | "threading" | "pool" => Ok(SchedulerKind::Threads),
            other => Err(Error::value(format!(
                "unknown scheduler '{other}'; use 'sync' or 'threads'"
            ))),
        }
    }
}

/// How to run one computation.
#[derive(Debug, Clone)]
pub struct ComputeOptions {
    pub scheduler: SchedulerKind,
    pub workers: usize,
    /// Slow motion: every task waits this long before it runs.
    pub delay: Duration,
    pub optimize: OptimizeOptions,
    pub cancel: CancelToken,
}

impl Default for ComputeOptions {
    fn default() -> Self {
        ComputeOptions {
            scheduler: SchedulerKind::Threads,
            workers: default_workers(),
            delay: Duration::ZERO,
            optimize: OptimizeOptions::ALL,
            cancel: CancelToken::new(),
        }
    }
}

/// The number of hardware threads, at least 1.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// A computed result. Bags come back as one list of all their elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    Value(Value),
    /// An array, and the same as nested lists (NumPy's `tolist()`).
    Array {
        array: crate::partition::ArrayChunk,
        value: Value,
        /// The chunks it was computed in (for pictures).
        chunks: Vec<Vec<usize>>,
    },
    /// A dataframe: its rows as records, with what a table picture needs.
    Frame {
        value: Value,
        columns: Vec<String>,
        dtypes: Vec<String>,
        npartitions: usize,
        divisions: Option<Vec<Value>>,
        /// The column that is the index, when the frame has one (it comes first).
        index: Option<String>,
    },
}

impl Computed {
    pub fn to_json(&self) -> serde_json::Value {
        self.as_value().to_json()
    }
    pub fn as_value(&self) -> &Value {
        match self {
            Computed::Value(v) | Computed::Array { value: v, .. } | Computed::Frame { value: v, .. } => v,
        }
    }
}

/// The engine. One per page (or process); all methods take `&self`.
pub struct Engine {
    persisted: Mutex<PersistStore>,
    pools: Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>,
    next_run: AtomicU64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine {
            persisted: Mutex::new(HashMap::new()),
            pools: Mutex::new(HashMap::new()),
            next_run: AtomicU64::new(1),
        }
    }

    fn store(&self) -> MutexGuard<'_, PersistStore> {
        // Entries are inserted whole, so a poisoned store is still consistent.
        self.persisted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates and lowers a plan (persisted collections come back as literal tasks).
    pub fn lower(&self, plan: &Plan) -> Result<Lowered> {
        let valid = plan.validate()?;
        let store = self.store();
        Lowerer::new(&store).lower(&valid)
    }

    /// The plan's task graph, optimised or not.
    pub fn graph(&self, plan: &Plan, optimize: OptimizeOptions) -> Result<TaskGraph> {
        Ok(self.lower(plan)?.graph.into_optimized(optimize))
    }

    pub(crate) fn executor(&self, opts: &ComputeOptions) -> Result<Box<dyn Executor>> {
        let workers = opts.workers.max(1);
        if opts.scheduler == SchedulerKind::Sync || !crate::runtime::threads_available() {
            return Ok(Box::new(SyncExecutor::with_logical_workers(workers)));
        }
        if cfg!(target_arch = "wasm32") {
            return Ok(Box::new(PoolExecutor::global(workers)));
        }
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let pool = match pools.get(&workers) {
            Some(p) => Arc::clone(p),
            None => {
                let p = PoolExecutor::build_pool(workers)?;
                pools.insert(workers, Arc::clone(&p));
                p
            }
        };
        Ok(Box::new(PoolExecutor::new(pool)))
    }

    fn run_options(&self, opts: &ComputeOptions) -> RunOptions {
        RunOptions {
            run: self.next_run.fetch_add(1, Ordering::SeqCst),
            delay: opts.delay,
            cancel: opts.cancel.clone(),
            retries: 0,
        }
    }

    /// Computes the plan's outputs, emitting events into `sink`.
    pub fn compute(&self, plan: &Plan, opts: &ComputeOptions, sink: &EventSink) -> Result<Vec<Computed>> {
        let (mut sched, outputs) = self.prepare(plan, opts, sink)?;
        sched.run()?;
        assemble(&outputs, |id| sched.result(id))
    }

    fn prepare(
        &self,
        plan: &Plan,
        opts: &ComputeOptions,
        sink: &EventSink,
    ) -> Result<(BoxScheduler, Vec<OutputTasks>)> {
        let mut lowered = self.lower(plan)?;
        let keys = output_keys(&lowered)?;
        let graph = std::mem::take(&mut lowered.graph).into_optimized(opts.optimize);
        let outputs = output_tasks(&lowered, &keys, &graph)?;
        let exec = self.executor(opts)?;
        Ok((
            Scheduler::new(graph, exec, sink.clone(), self.run_options(opts)),
            outputs,
        ))
    }

    /// Step mode: a computation that advances one task at a time under the sync
    /// scheduler, exposing the ready set and the task states.
    pub fn stepper(&self, plan: &Plan, opts: &ComputeOptions, sink: &EventSink) -> Result<Run> {
        let opts = ComputeOptions {
            scheduler: SchedulerKind::Sync,
            ..opts.clone()
        };
        self.start(plan, &opts, sink)
    }

    /// A computation that runs in slices ([`Run::poll`]) or steps ([`Run::step`]) on the
    /// calling thread's schedule, for bindings that must stay responsive.
    pub fn start(&self, plan: &Plan, opts: &ComputeOptions, sink: &EventSink) -> Result<Run> {
        let (mut sched, outputs) = self.prepare(plan, opts, sink)?;
        // The graph is drawn before the first task (step mode shows it at once).
        sched.announce();
        Ok(Run {
            sched,
            outputs,
            cancel: opts.cancel.clone(),
        })
    }

    /// Computes the plan's outputs and keeps their partitions in the engine; later plans
    /// that contain the same nodes read them instead of recomputing them.
    pub fn persist(&self, plan: &Plan, opts: &ComputeOptions, sink: &EventSink) -> Result<Vec<String>> {
        let (mut sched, outputs) = self.prepare(plan, opts, sink)?;
        sched.run()?;
        self.store_outputs(&outputs, |id| sched.result(id))
    }

    /// Keeps each output's partitions under its token.
    fn store_outputs(
        &self,
        outputs: &[OutputTasks],
        result: impl Fn(TaskId) -> Option<Arc<Partition>>,
    ) -> Result<Vec<String>> {
        let mut tokens = Vec::new();
        let mut store = self.store();
        for out in outputs {
            let partitions: Vec<Arc<Partition>> = out
                .tasks
                .iter()
                .map(|id| result(*id).ok_or_else(|| Error::internal("a persisted partition is missing")))
                .collect::<Result<_>>()?;
            store.insert(
                out.token.clone(),
                Persisted {
                    kind: out.kind,
                    name: out.name.clone(),
                    partitions,
                    array: out.array.clone(),
                    frame: computed_frame_meta(out, &result),
                },
            );
            tokens.push(out.token.clone());
        }
        Ok(tokens)
    }

    /// Keeps partitions made outside a plan as the result of the source node whose token
    /// is given (`lower::source_token`); plans holding that node read them. Benchmarks make
    /// their data this way so that generating it is not timed.
    pub fn adopt(&self, token: String, persisted: Persisted) {
        self.store().insert(token, persisted);
    }

    /// Drops persisted collections by token; returns how many were dropped.
    pub fn unpersist(&self, tokens: &[String]) -> usize {
        let mut store = self.store();
        tokens.iter().filter(|t| store.remove(*t).is_some()).count()
    }

    /// The tokens of the persisted collections.
    pub fn persisted(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self.store().keys().cloned().collect();
        tokens.sort();
        tokens
    }

    /// A new run id (futures clients use their own scheduler but share the numbering).
    pub fn next_run_id(&self) -> u64 {
        self.next_run.fetch_add(1, Ordering::SeqCst)
    }
}

/// The tasks of one output in the graph that runs, and how to assemble them.
#[derive(Debug, Clone)]
pub struct OutputTasks {
    pub kind: Kind,
    pub tasks: Vec<TaskId>,
    /// The collection's token and key name, under which `persist` keeps it.
    pub token: String,
    pub name: String,
    /// Shape, chunks and dtype of an array output.
    pub array: Option<Arc<crate::array::meta::ArrayMeta>>,
    /// Schema and divisions of a dataframe output.
    pub frame: Option<Arc<crate::dataframe::FrameMeta>>,
    /// The task that computes the output's divisions in the graph (set_index).
    pub divisions_task: Option<TaskId>,
}

/// Divisions a task computed in the graph, when a frame's metadata points to one.
fn computed_divisions(
    out: &OutputTasks,
    result: &impl Fn(TaskId) -> Option<Arc<Partition>>,
) -> Option<Vec<Value>> {
    let m = out.frame.as_ref()?;
    if let Some(d) = &m.divisions {
        return Some(d.clone());
    }
    let p = result(out.divisions_task?)?;
    match &*p {
        Partition::Value(v) => v
            .as_list()
            .filter(|d| d.len() == out.tasks.len() + 1)
            .map(<[Value]>::to_vec),
        _ => None,
    }
}

/// The metadata a persisted frame keeps: with the divisions its graph computed.
fn computed_frame_meta(
    out: &OutputTasks,
    result: &impl Fn(TaskId) -> Option<Arc<Partition>>,
) -> Option<Arc<crate::dataframe::FrameMeta>> {
    let m = out.frame.as_ref()?;
    if m.divisions.is_some() || m.divisions_key.is_none() {
        return Some(Arc::clone(m));
    }
    let mut meta = (**m).clone();
    meta.divisions = computed_divisions(out, result);
    meta.divisions_key = None;
    Some(Arc::new(meta))
}

/// The keys of each output collection's tasks in the lowered graph.
fn output_keys(lowered: &Lowered) -> Result<Vec<Vec<crate::graph::Key>>> {
    lowered
        .outputs
        .iter()
        .map(|c| {
            c.tasks
                .iter()
                .map(|id| Ok(lowered.graph.task(*id)?.key.clone()))
                .collect()
        })
        .collect()
}

/// Maps output collections into the optimised graph by key.
fn output_tasks(
    lowered: &Lowered,
    keys: &[Vec<crate::graph::Key>],
    run: &TaskGraph,
) -> Result<Vec<OutputTasks>> {
    lowered
        .outputs
        .iter()
        .zip(keys)
        .map(|(c, keys)| {
            let tasks = keys
                .iter()
                .map(|key| {
                    run.find(key)
                        .ok_or_else(|| Error::internal(format!("output task {key} was optimised away")))
                })
                .collect::<Result<_>>()?;
            let frame = lowered.frames.get(&c.name).cloned();
            let divisions_task = frame
                .as_ref()
                .and_then(|m| m.divisions_key.as_ref())
                .and_then(|k| run.find(k));
            Ok(OutputTasks {
                kind: c.kind,
                tasks,
                token: c.token.clone(),
                name: c.name.clone(),
                array: lowered.arrays.get(&c.name).cloned(),
                frame,
                divisions_task,
            })
        })
        .collect()
}

/// Builds each output's result from its tasks' outputs.
fn assemble(
    outputs: &[OutputTasks],
    result: impl Fn(TaskId) -> Option<Arc<Partition>>,
) -> Result<Vec<Computed>> {
    outputs
        .iter()
        .map(|out| {
            let parts: Vec<Arc<Partition>> = out
                .tasks
                .iter()
                .map(|id| {
                    result(*id).ok_or_else(|| Error::internal(format!("output task {} has no result", id.0)))
                })
                .collect::<Result<_>>()?;
            if out.kind == Kind::Frame {
                // A dataframe comes back as its rows, as records (to_dict('records')).
                let mut rows = Vec::new();
                for p in &parts {
                    match &**p {
                        Partition::Frame(b) => rows.extend(crate::dataframe::kernels::to_records(b)),
                        other => {
                            return Err(Error::internal(format!(
                                "a dataframe partition is {}",
                                other.kind_name()
                            )))
                        }
                    }
                }
                let (columns, dtypes, index) = match &out.frame {
                    Some(m) => (
                        m.columns(),
                        m.schema
                            .fields()
                            .iter()
                            .map(|f| crate::dataframe::kernels::dtype_name(f.data_type()))
                            .collect(),
                        m.index.clone(),
                    ),
                    None => (Vec::new(), Vec::new(), None),
                };
                let divisions = computed_divisions(out, &result);
                return Ok(Computed::Frame {
                    value: Value::list(rows),
                    columns,
                    dtypes,
                    npartitions: parts.len(),
                    divisions,
                    index,
                });
            }
            if let (Kind::Array, Some(meta)) = (out.kind, &out.array) {
                let chunks: Vec<&crate::partition::ArrayChunk> = parts
                    .iter()
                    .map(|p| match &**p {
                        Partition::Chunk(c) => Ok(c),
                        other => Err(Error::internal(format!(
                            "an array block is {}",
                            other.kind_name()
                        ))),
                    })
                    .collect::<Result<_>>()?;
                let whole = if meta.shape.is_empty() {
                    chunks
                        .first()
                        .map(|c| (*c).clone())
                        .ok_or_else(|| Error::internal("no result block"))?
                } else {
                    crate::array::kernels::assemble(&chunks, meta)?
                };
                let value = crate::array::kernels::to_value(&whole);
                return Ok(Computed::Array {
                    array: whole,
                    value,
                    chunks: meta.chunks.clone(),
                });
            }
            let value = crate::delayed::collect_argument(&parts, out.kind, "compute")?;
            Ok(Computed::Value(value))
        })
        .collect()
}

/// A scheduler over whichever executor the options chose.
type BoxScheduler = Scheduler<Box<dyn Executor>>;

/// A computation driven by its caller: in slices of time, or one task at a time
/// (teaching's step mode).
pub struct Run {
    sched: BoxScheduler,
    outputs: Vec<OutputTasks>,
    cancel: CancelToken,
}

impl Run {
    /// Runs for about `budget`; the results once everything is done.
    pub fn poll(&mut self, budget: Duration) -> Result<Option<Vec<Computed>>> {
        if !self.sched.poll(budget)? {
            return Ok(None);
        }
        let sched = &self.sched;
        assemble(&self.outputs, |id| sched.result(id)).map(Some)
    }
    /// After the run is done: keeps its outputs in `engine` as `Engine::persist` does.
    pub fn persist_into(&self, engine: &Engine) -> Result<Vec<String>> {
        if !self.sched.is_finished() {
            return Err(Error::value("persist: the computation has not finished"));
        }
        let sched = &self.sched;
        engine.store_outputs(&self.outputs, |id| sched.result(id))
    }
    /// Stops the run before its next task; the next `poll` or `step` reports it.
    pub fn cancel(&self) {
        self.cancel.cancel()
    }
    pub fn events(&self) -> &EventSink {
        self.sched.sink()
    }
    pub fn worker_of(&self, id: TaskId) -> Option<usize> {
        self.sched.worker_of(id)
    }
    pub fn graph(&self) -> &TaskGraph {
        self.sched.graph()
    }
    /// Ready tasks, in the order they will run.
    pub fn ready(&self) -> Vec<TaskId> {
        self.sched.ready()
    }
    pub fn states(&self) -> &[TaskState] {
        self.sched.states()
    }
    /// Runs the next ready task; `None` once everything is done.
    pub fn step(&mut self) -> Result<Option<TaskId>> {
        self.sched.step()
    }
    pub fn is_finished(&self) -> bool {
        self.sched.is_finished()
    }
    /// Runs the remaining tasks and returns the results.
    pub fn finish(&mut self) -> Result<Vec<Computed>> {
        while self.sched.step()?.is_some() {}
        let sched = &self.sched;
        assemble(&self.outputs, |id| sched.result(id))
    }
}

impl Executor for Box<dyn Executor> {
    fn capacity(&self) -> usize {
        (**self).capacity()
    }
    fn workers(&self) -> usize {
        (**self).workers()
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn places_by_inputs(&self) -> bool {
        (**self).places_by_inputs()
    }
    fn submit(&mut self, job: crate::scheduler::Job) {
        (**self).submit(job)
    }
    fn next(&mut self) -> Option<crate::scheduler::Message> {
        (**self).next()
    }
    fn try_next(&mut self) -> Option<crate::scheduler::Message> {
        (**self).try_next()
    }
    fn next_timeout(&mut self, timeout: Duration) -> Option<crate::scheduler::Message> {
        (**self).next_timeout(timeout)
    }
}
