//! futures: a client that runs function tasks as soon as they are submitted, like
//! `dask.distributed.Client` — submit, map, gather, as_completed, result / exception /
//! cancel, and `retries` for tasks that fail.
//!
//! The client owns a dynamic [`Scheduler`]: each submit adds a task (depending on the
//! futures among its arguments) while earlier ones run. With the threads scheduler a
//! driver thread keeps the pool busy, so work starts at once; with the sync scheduler
//! tasks run on the calling thread when a result is asked for (deterministic, and what
//! single-threaded wasm can do). Keys follow Dask's `pure=True`: the same function on the
//! same arguments gives the same key and the same future.

use crate::delayed::{CallOp, Slot};
use crate::engine::{ComputeOptions, Engine, SchedulerKind};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventSink;
use crate::expr::{Function, Lang};
use crate::graph::{tokenize, Key, LayerKind, TaskGraph, TaskId};
use crate::ops::Op;
use crate::registry::Kind;
use crate::scheduler::{Executor, RunOptions, Scheduler, TaskState};
use crate::value::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A future's state, with Dask's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FutureStatus {
    Pending,
    Running,
    Finished,
    Error,
    Cancelled,
}

/// An argument of a submitted call.
#[derive(Debug, Clone)]
pub enum Arg {
    Value(Value),
    Future(Future),
}

impl From<Value> for Arg {
    fn from(v: Value) -> Self {
        Arg::Value(v)
    }
}
impl From<&Future> for Arg {
    fn from(f: &Future) -> Self {
        Arg::Future(f.clone())
    }
}

/// Options of one submit.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// Runs the task again this many times if it fails.
    pub retries: u32,
    /// The key's prefix (default `lambda`, as Dask names anonymous functions).
    pub name: Option<String>,
    /// `false` gives a fresh key even for a call made before (Dask's `pure=False`).
    pub pure: Option<bool>,
}

type DynScheduler = Scheduler<Box<dyn Executor>>;

struct State {
    sched: DynScheduler,
    layers: HashMap<String, crate::graph::LayerId>,
    impure_counter: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    threaded: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The scheduler's state is updated whole per report, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes progress: on the sync client runs one step here; on the threaded client
    /// waits for the driver to report.
    fn advance<'a>(&'a self, mut guard: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        if self.threaded {
            let (g, _) = self
                .changed
                .wait_timeout(guard, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner());
            Ok(g)
        } else {
            guard.sched.pump(None)?;
            Ok(guard)
        }
    }
}

/// A handle to one submitted task.
#[derive(Clone)]
pub struct Future {
    id: TaskId,
    key: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Future {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Future: {:?}, key: {}>", self.status(), self.key)
    }
}

impl Future {
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn task(&self) -> TaskId {
        self.id
    }

    pub fn status(&self) -> FutureStatus {
        let state = self.shared.lock();
        match state.sched.state(self.id) {
            Some(TaskState::Running) => FutureStatus::Running,
            Some(TaskState::Done) => FutureStatus::Finished,
            Some(TaskState::Failed) => match state.sched.error_of(self.id) {
                Some(e) if e.kind == ErrorKind::Cancelled => FutureStatus::Cancelled,
                _ => FutureStatus::Error,
            },
            _ => FutureStatus::Pending,
        }
    }

    pub fn done(&self) -> bool {
        !matches!(self.status(), FutureStatus::Pending | FutureStatus::Running)
    }

    /// Waits for the task and returns its value, or its error (which names the key).
    pub fn result(&self) -> Result<Value> {
        let mut state = self.shared.lock();
        loop {
            match state.sched.state(self.id) {
                Some(TaskState::Done) => {
                    let out = state
                        .sched
                        .result(self.id)
                        .ok_or_else(|| Error::internal(format!("the result of {} was released", self.key)))?;
                    return Ok(out.as_value("future")?.clone());
                }
                Some(TaskState::Failed) => {
                    return Err(state
                        .sched
                        .error_of(self.id)
                        .unwrap_or_else(|| Error::internal(format!("{} failed without an error", self.key))))
                }
                None => return Err(Error::internal(format!("no task for future {}", self.key))),
                _ => state = self.shared.advance(state)?,
            }
        }
    }

    /// The error if the task failed, `None` if it succeeded; waits like `result`.
    pub fn exception(&self) -> Option<Error> {
        self.result().err()
    }

    /// Cancels the task if it has not finished; waiting calls then get a cancelled error.
    pub fn cancel(&self) {
        let mut state = self.shared.lock();
        state.sched.cancel_task(self.id);
        drop(state);
        self.shared.changed.notify_all();
    }
}

/// The futures client.
pub struct Client {
    shared: Arc<Shared>,
    driver: Option<std::thread::JoinHandle<()>>,
    sink: EventSink,
}

impl Client {
    /// A client on the engine's executor for these options (threads: a driver thread
    /// runs tasks as soon as they are submitted; sync: tasks run when results are asked).
    pub fn new(engine: &Engine, opts: &ComputeOptions, sink: EventSink) -> Result<Client> {
        let exec = engine.executor(opts)?;
        let threaded = opts.scheduler == SchedulerKind::Threads
            && crate::runtime::threads_available()
            && !cfg!(target_arch = "wasm32");
        let run = RunOptions {
            run: engine.next_run_id(),
            delay: opts.delay,
            cancel: opts.cancel.clone(),
            retries: 0,
        };
        let sched = Scheduler::new(TaskGraph::new(), exec, sink.clone(), run);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                sched,
                layers: HashMap::new(),
                impure_counter: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            threaded,
        });
        let driver = if threaded {
            let s = Arc::clone(&shared);
            Some(
                std::thread::Builder::new()
                    .name("partita-futures".into())
                    .spawn(move || drive(&s))
                    .map_err(|e| {
                        Error::internal(format!("could not start the futures driver thread: {e}"))
                    })?,
            )
        } else {
            None
        };
        Ok(Client { shared, driver, sink })
    }

    pub fn events(&self) -> &EventSink {
        &self.sink
    }

    /// Submits `func(*args)`; returns at once with a future.
    pub fn submit(&self, func: &str, args: Vec<Arg>, opts: &SubmitOptions) -> Result<Future> {
        let f = Function::parse(func, Lang::Auto)?;
        if f.arity() != args.len() {
            return Err(Error::value(format!(
                "submit: the function takes {} argument{} but {} were given",
                f.arity(),
                if f.arity() == 1 { "" } else { "s" },
                args.len()
            )));
        }
        let mut parts: Vec<String> = vec![f.source().to_string()];
        let mut deps: Vec<TaskId> = Vec::new();
        let mut slots = Vec::with_capacity(args.len());
        for arg in &args {
            match arg {
                Arg::Value(v) => {
                    parts.push(v.to_string());
                    slots.push(Slot::Value(v.clone()));
                }
                Arg::Future(fut) => {
                    if !Arc::ptr_eq(&fut.shared, &self.shared) {
                        return Err(Error::value(format!(
                            "submit: future {} belongs to another client",
                            fut.key
                        )));
                    }
                    parts.push(fut.key.clone());
                    slots.push(Slot::Inputs {
                        start: deps.len(),
                        len: 1,
                        kind: Kind::Value,
                    });
                    deps.push(fut.id);
                }
            }
        }
        let label = opts.name.clone().unwrap_or_else(|| "lambda".to_string());
        let mut state = self.shared.lock();
        if opts.pure == Some(false) {
            state.impure_counter += 1;
            parts.push(format!("impure-{}", state.impure_counter));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let key = Key::single(format!("{label}-{}", tokenize(&refs)));
        if let Some(existing) = state.sched.graph().find(&key) {
            return Ok(Future {
                id: existing,
                key: key.name.to_string(),
                shared: Arc::clone(&self.shared),
            });
        }
        let op = Op::Call(CallOp {
            func: f,
            name: label.clone(),
            slots,
        });
        let layer_hint = state.layers.get(&label).copied();
        let mut new_layer = None;
        let ids = state.sched.add_tasks(|g| {
            let layer = match layer_hint {
                Some(l) => l,
                None => {
                    let l = g.add_layer(label.clone(), label.clone(), LayerKind::Call, None, None);
                    new_layer = Some(l);
                    l
                }
            };
            Ok(vec![g.add_task(key.clone(), layer, deps, op)?])
        })?;
        if let Some(l) = new_layer {
            state.layers.insert(label, l);
        }
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| Error::internal("submit added no task"))?;
        state.sched.set_retries(id, opts.retries);
        drop(state);
        self.shared.changed.notify_all();
        Ok(Future {
            id,
            key: key.name.to_string(),
            shared: Arc::clone(&self.shared),
        })
    }

    /// Submits `func` once per position of the argument lists (zipped, like Python's map).
    pub fn map(&self, func: &str, iterables: Vec<Vec<Arg>>, opts: &SubmitOptions) -> Result<Vec<Future>> {
        let n = iterables.first().map(Vec::len).unwrap_or(0);
        if let Some(bad) = iterables.iter().find(|it| it.len() != n) {
            return Err(Error::value(format!(
                "map: the argument lists have different lengths ({n} and {})",
                bad.len()
            )));
        }
        (0..n)
            .map(|i| {
                let args: Vec<Arg> = iterables.iter().filter_map(|it| it.get(i).cloned()).collect();
                self.submit(func, args, opts)
            })
            .collect()
    }

    /// The results of the futures, in order; the first error stops it.
    pub fn gather(&self, futures: &[Future]) -> Result<Vec<Value>> {
        futures.iter().map(Future::result).collect()
    }

    /// The futures in the order they complete (finished, failed or cancelled).
    pub fn as_completed(&self, futures: &[Future]) -> AsCompleted {
        AsCompleted {
            shared: Arc::clone(&self.shared),
            pending: futures.to_vec(),
            cursor: 0,
        }
    }

    /// Lets the client drop a future's result once nothing else needs it.
    pub fn release(&self, future: &Future) {
        self.shared.lock().sched.release(future.id);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        if let Some(handle) = self.driver.take() {
            let _ = handle.join();
        }
        self.shared.lock().sched.close();
    }
}

/// The driver thread of a threaded client: keeps the pool fed and reports progress.
fn drive(shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        let mut state = shared.lock();
        if state.sched.has_work() {
            // Errors here are per-task and already recorded on the tasks.
            let _ = state.sched.pump(Some(Duration::from_millis(2)));
            drop(state);
            shared.changed.notify_all();
            // The mutex is not fair: without a pause outside it, this loop can take it
            // back at once and starve callers such as cancel() until the task ends.
            std::thread::sleep(Duration::from_micros(500));
        } else {
            let _ = shared.changed.wait_timeout(state, Duration::from_millis(20));
        }
    }
}

/// Iterator over futures in completion order.
pub struct AsCompleted {
    shared: Arc<Shared>,
    pending: Vec<Future>,
    cursor: usize,
}

impl Iterator for AsCompleted {
    type Item = Future;
    fn next(&mut self) -> Option<Future> {
        if self.pending.is_empty() {
            return None;
        }
        let mut state = self.shared.lock();
        loop {
            let completed = state.sched.completed();
            while let Some(id) = completed.get(self.cursor).copied() {
                self.cursor += 1;
                if let Some(pos) = self.pending.iter().position(|f| f.id == id) {
                    return Some(self.pending.swap_remove(pos));
                }
            }
            // Futures that completed before this iterator looked (or were deduplicated).
            if let Some(pos) = self.pending.iter().position(|f| {
                matches!(
                    state.sched.state(f.id),
                    Some(TaskState::Done) | Some(TaskState::Failed)
                ) && !completed.contains(&f.id)
            }) {
                return Some(self.pending.swap_remove(pos));
            }
            state = match self.shared.advance(state) {
                Ok(s) => s,
                Err(_) => return self.pending.pop(),
            };
        }
    }
}
