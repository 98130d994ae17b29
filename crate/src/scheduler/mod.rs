//! The scheduler: a state machine over a task graph (which tasks wait, are ready, run,
//! are done), generic over the [`Executor`] that runs tasks.
//!
//! Policy (after `dask/local.py` and `dask/order.py`): every task gets a static priority,
//! its position in a depth-first post-order walk from the outputs that visits
//! dependencies in key order. Ready tasks run lowest priority first, so a reduction
//! finishes one branch before it starts the next and intermediate results are released
//! early. Tasks added while running (futures) come after the tasks already there, in the
//! order they were added. A result is released once all its dependents are done, unless
//! it is an output.
//!
//! Cancellation is checked before every task is handed to the executor and again by the
//! executor before the task runs. The first failing task stops the run: nothing new
//! starts, running tasks are waited for, and the error names the failing key.

mod pool;
mod ready;
mod sync;

pub use pool::PoolExecutor;
pub use sync::SyncExecutor;

use crate::error::{Error, Result};
use crate::events::{Event, EventSink};
use crate::graph::{Deps, TaskGraph, TaskId, TaskJson};
use crate::ops::Op;
use crate::partition::Partition;
use crate::runtime::now_ms;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A flag that stops a computation; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The state of one task, as the UI and step mode show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Some dependency is not done yet.
    Waiting,
    /// All dependencies are done; it can run.
    Ready,
    Running,
    Done,
    Failed,
}

/// A task handed to an executor: everything it needs to run on any thread.
pub struct Job {
    pub task: TaskId,
    /// The task's dependencies (the sync executor places tasks near their inputs).
    pub deps: Deps,
    pub op: Op,
    pub inputs: Vec<Arc<Partition>>,
    pub delay: Duration,
    pub cancel: CancelToken,
    /// Whether the run is watched: the executor reports `Started`, and reads the clock
    /// for the times reports carry (an unwatched run's reports carry zero times).
    pub report_start: bool,
}

impl Job {
    /// Runs the job on the current thread: cancellation check, delay, the op.
    pub fn run(self) -> Result<Arc<Partition>> {
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled("the computation was cancelled"));
        }
        crate::runtime::sleep(self.delay);
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled("the computation was cancelled"));
        }
        self.op.execute(&self.inputs)
    }
}

/// What an executor reports back.
pub enum Message {
    Started {
        task: TaskId,
        worker: usize,
        t: f64,
    },
    Finished {
        task: TaskId,
        worker: usize,
        start: f64,
        t: f64,
        result: Result<Arc<Partition>>,
    },
}

/// Runs jobs somewhere: inline (sync) or on a thread pool.
pub trait Executor: Send {
    /// How many tasks may run at once.
    fn capacity(&self) -> usize;
    /// The number of workers events will name (`0..workers`).
    fn workers(&self) -> usize;
    fn name(&self) -> &'static str;
    /// Starts a job. The executor reports `Started` and `Finished` through `next`.
    fn submit(&mut self, job: Job);
    /// Whether jobs must carry their dependencies (to place tasks near their inputs).
    /// No default, so a wrapping executor cannot silently drop the answer.
    fn places_by_inputs(&self) -> bool;
    /// The next report; `None` if nothing is in flight.
    fn next(&mut self) -> Option<Message>;
    /// A report that has already arrived, without waiting or running anything; lets the
    /// scheduler apply every waiting report before it hands out more jobs.
    fn try_next(&mut self) -> Option<Message>;
    /// Like `next`, but waits at most `timeout` for a report from another thread.
    fn next_timeout(&mut self, _timeout: Duration) -> Option<Message> {
        self.next()
    }
}

/// Per-run settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Identifies the run in events.
    pub run: u64,
    /// Slow motion: each task waits this long before running.
    pub delay: Duration,
    pub cancel: CancelToken,
    /// How many times a failing task is run again before the run fails (futures).
    pub retries: u32,
}

/// The end of a task's list of dependents.
const NO_EDGE: u32 = u32::MAX;

/// Drops a result once it is not kept and every task reading it is done.
fn free_if_unneeded(
    keep: &[bool],
    unfinished_dependents: &[u32],
    results: &mut [Option<Arc<Partition>>],
    id: TaskId,
) {
    let keep = keep.get(id.index()).copied().unwrap_or(true);
    let pending = unfinished_dependents.get(id.index()).copied().unwrap_or(1);
    if !keep && pending == 0 {
        if let Some(r) = results.get_mut(id.index()) {
            *r = None;
        }
    }
}

/// The scheduler over one graph that may grow while it runs.
pub struct Scheduler<E: Executor> {
    graph: TaskGraph,
    exec: E,
    sink: EventSink,
    opts: RunOptions,
    state: Vec<TaskState>,
    missing: Vec<u32>,
    /// Reverse edges as linked lists: the first edge of each task, then for each edge
    /// the dependent and the next edge (one allocation for all of them).
    first_dependent: Vec<u32>,
    dependent_edges: Vec<(TaskId, u32)>,
    unfinished_dependents: Vec<u32>,
    results: Vec<Option<Arc<Partition>>>,
    keep: Vec<bool>,
    priority: Vec<usize>,
    next_priority: usize,
    ready: ready::ReadySet,
    worker_of: Vec<Option<usize>>,
    attempts: Vec<u32>,
    retries: Vec<u32>,
    errors: Vec<Option<Error>>,
    running: usize,
    tasks_run: usize,
    failure: Option<Error>,
    started: bool,
    /// Tasks in the order they finished or failed (futures' as_completed).
    completed: Vec<TaskId>,
    /// Running tasks whose result is thrown away when they end (cancelled futures).
    cancel_on_finish: Vec<TaskId>,
    done_emitted: bool,
}

impl<E: Executor> Scheduler<E> {
    /// A scheduler over `graph`; nothing runs until [`Scheduler::run`] or [`Scheduler::step`].
    pub fn new(graph: TaskGraph, exec: E, sink: EventSink, opts: RunOptions) -> Scheduler<E> {
        let mut s = Scheduler {
            graph: TaskGraph::new(),
            exec,
            sink,
            opts,
            state: Vec::new(),
            missing: Vec::new(),
            first_dependent: Vec::new(),
            dependent_edges: Vec::new(),
            unfinished_dependents: Vec::new(),
            results: Vec::new(),
            keep: Vec::new(),
            priority: Vec::new(),
            next_priority: 0,
            ready: ready::ReadySet::default(),
            worker_of: Vec::new(),
            attempts: Vec::new(),
            retries: Vec::new(),
            errors: Vec::new(),
            running: 0,
            tasks_run: 0,
            failure: None,
            started: false,
            completed: Vec::new(),
            cancel_on_finish: Vec::new(),
            done_emitted: false,
        };
        let outputs = graph.outputs().to_vec();
        s.graph = graph;
        s.register(0, &outputs);
        s
    }

    pub fn graph(&self) -> &TaskGraph {
        &self.graph
    }
    pub fn sink(&self) -> &EventSink {
        &self.sink
    }
    pub fn executor(&self) -> &E {
        &self.exec
    }
    pub fn state(&self, id: TaskId) -> Option<TaskState> {
        self.state.get(id.index()).copied()
    }
    pub fn states(&self) -> &[TaskState] {
        &self.state
    }
    /// The ready tasks in the order they will run.
    pub fn ready(&self) -> Vec<TaskId> {
        self.ready.tasks().into_iter().map(TaskId).collect()
    }
    pub fn worker_of(&self, id: TaskId) -> Option<usize> {
        self.worker_of.get(id.index()).copied().flatten()
    }
    pub fn result(&self, id: TaskId) -> Option<Arc<Partition>> {
        self.results.get(id.index()).cloned().flatten()
    }
    pub fn error_of(&self, id: TaskId) -> Option<Error> {
        self.errors.get(id.index()).cloned().flatten()
    }
    pub fn tasks_run(&self) -> usize {
        self.tasks_run
    }
    /// Tasks in the order they finished or failed.
    pub fn completed(&self) -> &[TaskId] {
        &self.completed
    }
    /// Whether anything is running or ready to run.
    pub fn has_work(&self) -> bool {
        self.running > 0 || !self.ready.is_empty()
    }
    /// Sets how many times a task is retried after failing.
    pub fn set_retries(&mut self, id: TaskId, retries: u32) {
        if let Some(r) = self.retries.get_mut(id.index()) {
            *r = retries;
        }
    }

    /// Cancels one task (a future): if it has not started it fails as cancelled, with its
    /// dependents; if it is running, its result is thrown away when it ends.
    pub fn cancel_task(&mut self, id: TaskId) {
        match self.state(id) {
            Some(TaskState::Waiting) | Some(TaskState::Ready) => {
                let p = self.priority.get(id.index()).copied().unwrap_or(usize::MAX);
                self.ready.remove(p);
                let (key, _) = self.key_and_layer(id);
                self.fail(id, Error::cancelled(format!("{key} was cancelled")).with_key(key));
                self.propagate_failures();
                self.failure = None;
            }
            Some(TaskState::Running) => self.cancel_on_finish.push(id),
            _ => {}
        }
    }
    pub fn is_finished(&self) -> bool {
        self.running == 0 && (self.failure.is_some() || self.state.iter().all(|s| *s == TaskState::Done))
    }

    /// Sets up bookkeeping for tasks `from..` and gives them priorities.
    fn register(&mut self, from: usize, roots: &[TaskId]) {
        let n = self.graph.len();
        let tasks = self.graph.tasks();
        self.state.resize(n, TaskState::Waiting);
        self.missing.resize(n, 0);
        self.first_dependent.resize(n, NO_EDGE);
        self.unfinished_dependents.resize(n, 0);
        self.results.resize(n, None);
        self.keep.resize(n, false);
        self.priority.resize(n, usize::MAX);
        self.worker_of.resize(n, None);
        self.attempts.resize(n, 0);
        self.retries.resize(n, self.opts.retries);
        self.errors.resize(n, None);
        for root in roots {
            if let Some(k) = self.keep.get_mut(root.index()) {
                *k = true;
            }
        }
        for i in from..n {
            let Some(task) = tasks.get(i) else { continue };
            let mut missing = 0;
            for d in &task.deps {
                if let Some(first) = self.first_dependent.get_mut(d.index()) {
                    self.dependent_edges.push((TaskId(i as u32), *first));
                    *first = (self.dependent_edges.len() - 1) as u32;
                }
                if self.state.get(d.index()) != Some(&TaskState::Done) {
                    missing += 1;
                }
                if let Some(u) = self.unfinished_dependents.get_mut(d.index()) {
                    *u += 1;
                }
            }
            if let Some(m) = self.missing.get_mut(i) {
                *m = missing;
            }
        }
        // Depth-first post-order from the roots, then any task not reached, in id order.
        let mut order: Vec<u32> = Vec::new();
        let mut visited = vec![false; n];
        for v in visited.iter_mut().take(from) {
            *v = true;
        }
        let starts: Vec<u32> = roots
            .iter()
            .map(|r| r.0)
            .chain((from as u32)..(n as u32))
            .collect();
        // Each frame: a task and the range of its sorted dependencies in `pending`.
        let mut pending: Vec<TaskId> = Vec::new();
        let mut stack: Vec<(u32, usize, usize)> = Vec::new();
        let by_key = |a: &TaskId, b: &TaskId| {
            let ka = tasks.get(a.index()).map(|t| &t.key);
            let kb = tasks.get(b.index()).map(|t| &t.key);
            ka.cmp(&kb)
        };
        for start in starts {
            if visited.get(start as usize).copied().unwrap_or(true) {
                continue;
            }
            if let Some(v) = visited.get_mut(start as usize) {
                *v = true;
            }
            let push = |id: u32, stack: &mut Vec<(u32, usize, usize)>, pending: &mut Vec<TaskId>| {
                let from = pending.len();
                if let Some(t) = tasks.get(id as usize) {
                    pending.extend_from_slice(&t.deps);
                }
                if let Some(deps) = pending.get_mut(from..) {
                    deps.sort_by(by_key);
                }
                stack.push((id, from, from));
            };
            push(start, &mut stack, &mut pending);
            while let Some((id, from, next)) = stack.last().copied() {
                match pending.get(next).copied() {
                    Some(dep) => {
                        if let Some(top) = stack.last_mut() {
                            top.2 += 1;
                        }
                        if !visited.get(dep.index()).copied().unwrap_or(true) {
                            if let Some(v) = visited.get_mut(dep.index()) {
                                *v = true;
                            }
                            push(dep.0, &mut stack, &mut pending);
                        }
                    }
                    None => {
                        order.push(id);
                        stack.pop();
                        pending.truncate(from);
                    }
                }
            }
        }
        for id in order {
            if let Some(p) = self.priority.get_mut(id as usize) {
                *p = self.next_priority;
                self.ready.set_priority(self.next_priority, id);
                self.next_priority += 1;
            }
        }
        for i in from..n {
            if self.missing.get(i) == Some(&0) && self.state.get(i) == Some(&TaskState::Waiting) {
                self.make_ready(TaskId(i as u32));
            }
        }
    }

    fn make_ready(&mut self, id: TaskId) {
        if let Some(s) = self.state.get_mut(id.index()) {
            *s = TaskState::Ready;
            let p = self.priority.get(id.index()).copied().unwrap_or(usize::MAX);
            self.ready.insert(p);
        }
    }

    /// Adds tasks to the graph while it runs (futures). `build` adds tasks through the
    /// graph; the returned ids are kept as results until released.
    pub fn add_tasks(
        &mut self,
        build: impl FnOnce(&mut TaskGraph) -> Result<Vec<TaskId>>,
    ) -> Result<Vec<TaskId>> {
        let from = self.graph.len();
        let roots = build(&mut self.graph)?;
        let mut outputs = self.graph.outputs().to_vec();
        outputs.extend(roots.iter().copied());
        self.graph.set_outputs(outputs);
        self.register(from, &roots);
        // A new task on a failed (or cancelled) future fails at once, with its error.
        self.propagate_failures();
        self.failure = None;
        if self.started {
            let tasks: Vec<TaskJson> = self.graph.to_json().tasks.into_iter().skip(from).collect();
            self.sink.emit(Event::TasksAdded {
                run: self.opts.run,
                t: now_ms(),
                tasks,
            });
        }
        Ok(roots)
    }

    /// Lets a kept result go (a released future); it is dropped once no task needs it.
    pub fn release(&mut self, id: TaskId) {
        if let Some(k) = self.keep.get_mut(id.index()) {
            *k = false;
        }
        self.maybe_free(id);
    }

    fn maybe_free(&mut self, id: TaskId) {
        free_if_unneeded(&self.keep, &self.unfinished_dependents, &mut self.results, id);
    }

    /// Emits `GraphBuilt` now (once), so a UI can draw the graph before the first task.
    pub fn announce(&mut self) {
        self.emit_graph_built();
    }

    fn emit_graph_built(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        if self.sink.is_silent() {
            return;
        }
        self.sink.emit(Event::GraphBuilt {
            run: self.opts.run,
            t: now_ms(),
            scheduler: self.exec.name().to_string(),
            workers: self.exec.workers(),
            tasks: self.graph.len(),
            graph: Arc::new(self.graph.to_json()),
        });
    }

    /// Hands ready tasks to the executor while it has room; at most `limit` of them.
    fn dispatch(&mut self, limit: usize) -> Result<usize> {
        let mut sent = 0;
        let places_by_inputs = self.exec.places_by_inputs();
        let report_start = !self.sink.is_silent();
        while sent < limit && self.failure.is_none() && self.running < self.exec.capacity() {
            let Some((p, id)) = self.ready.first() else {
                break;
            };
            if self.opts.cancel.is_cancelled() {
                self.failure = Some(Error::cancelled("the computation was cancelled"));
                break;
            }
            self.ready.remove(p);
            let id = TaskId(id);
            let task = self.graph.task(id)?;
            let inputs: Vec<Arc<Partition>> = task
                .deps
                .iter()
                .map(|d| {
                    self.results.get(d.index()).cloned().flatten().ok_or_else(|| {
                        Error::internal(format!(
                            "the input {} of {} was released too early",
                            d.0, task.key
                        ))
                    })
                })
                .collect::<Result<_>>()?;
            let job = Job {
                task: id,
                deps: if places_by_inputs {
                    task.deps.clone()
                } else {
                    Deps::new()
                },
                op: task.op.clone(),
                inputs,
                delay: self.opts.delay,
                cancel: self.opts.cancel.clone(),
                report_start,
            };
            if let Some(s) = self.state.get_mut(id.index()) {
                *s = TaskState::Running;
            }
            self.running += 1;
            self.exec.submit(job);
            sent += 1;
        }
        Ok(sent)
    }

    fn key_and_layer(&self, id: TaskId) -> (String, String) {
        match self.graph.task(id) {
            Ok(t) => (
                t.key.to_string(),
                self.graph
                    .layer(t.layer)
                    .map(|l| l.name.clone())
                    .unwrap_or_default(),
            ),
            Err(_) => (format!("#{}", id.0), String::new()),
        }
    }

    /// Applies one executor report.
    fn handle(&mut self, msg: Message) -> Result<()> {
        match msg {
            Message::Started { task, worker, t } => {
                if let Some(w) = self.worker_of.get_mut(task.index()) {
                    *w = Some(worker);
                }
                if self.sink.is_silent() {
                    return Ok(());
                }
                let (key, layer) = self.key_and_layer(task);
                self.sink.emit(Event::TaskStarted {
                    run: self.opts.run,
                    t,
                    task: task.0,
                    key,
                    layer,
                    worker,
                });
            }
            Message::Finished {
                task,
                worker,
                start,
                t,
                result,
            } => {
                self.running = self.running.saturating_sub(1);
                if let Some(w) = self.worker_of.get_mut(task.index()) {
                    *w = Some(worker);
                }
                // Unwatched successes skip the keys and previews that events carry.
                let result = match result {
                    Ok(output) if self.sink.is_silent() && !self.cancel_on_finish.contains(&task) => {
                        self.tasks_run += 1;
                        self.finish(task, output);
                        return Ok(());
                    }
                    other => other,
                };
                let (key, layer) = self.key_and_layer(task);
                // A future cancelled while it ran: its result is thrown away.
                let result = match self.cancel_on_finish.iter().position(|c| *c == task) {
                    Some(pos) => {
                        self.cancel_on_finish.swap_remove(pos);
                        if let Some(r) = self.retries.get_mut(task.index()) {
                            *r = 0;
                        }
                        Err(Error::cancelled(format!("{key} was cancelled")))
                    }
                    None => result,
                };
                match result {
                    Ok(output) => {
                        self.tasks_run += 1;
                        let preview = self
                            .graph
                            .task(task)
                            .map(|x| x.op.preview(&output))
                            .unwrap_or_default();
                        self.sink.emit(Event::TaskFinished {
                            run: self.opts.run,
                            t,
                            start,
                            task: task.0,
                            key,
                            layer,
                            worker,
                            preview,
                        });
                        self.finish(task, output);
                    }
                    Err(err) => {
                        let err = if err.kind == crate::error::ErrorKind::Cancelled {
                            err
                        } else {
                            err.with_key(&key)
                        };
                        let retries_left = self.retries.get(task.index()).copied().unwrap_or(0);
                        let retrying = err.kind != crate::error::ErrorKind::Cancelled && retries_left > 0;
                        self.sink.emit(Event::TaskFailed {
                            run: self.opts.run,
                            t,
                            task: task.0,
                            key,
                            layer,
                            worker,
                            error: err.clone(),
                            retrying,
                        });
                        if let Some(a) = self.attempts.get_mut(task.index()) {
                            *a += 1;
                        }
                        if retrying {
                            if let Some(r) = self.retries.get_mut(task.index()) {
                                *r -= 1;
                            }
                            self.make_ready(task);
                        } else {
                            self.fail(task, err);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, id: TaskId, output: Arc<Partition>) {
        if let Some(s) = self.state.get_mut(id.index()) {
            *s = TaskState::Done;
        }
        self.completed.push(id);
        if let Some(r) = self.results.get_mut(id.index()) {
            *r = Some(output);
        }
        if let Some(task) = self.graph.tasks().get(id.index()) {
            for d in &task.deps {
                if let Some(u) = self.unfinished_dependents.get_mut(d.index()) {
                    *u = u.saturating_sub(1);
                }
                free_if_unneeded(&self.keep, &self.unfinished_dependents, &mut self.results, *d);
            }
        }
        let mut edge = self.first_dependent.get(id.index()).copied().unwrap_or(NO_EDGE);
        while let Some((child, next)) = self.dependent_edges.get(edge as usize).copied() {
            edge = next;
            if let Some(m) = self.missing.get_mut(child.index()) {
                *m = m.saturating_sub(1);
                if *m == 0 && self.state.get(child.index()) == Some(&TaskState::Waiting) {
                    self.make_ready(child);
                }
            }
        }
        self.maybe_free(id);
    }

    /// Marks a task failed. In a plain computation the first failure stops the run; a
    /// dynamic client (futures) keeps going and fails only the task's dependents.
    fn fail(&mut self, id: TaskId, err: Error) {
        if let Some(s) = self.state.get_mut(id.index()) {
            *s = TaskState::Failed;
        }
        self.completed.push(id);
        if let Some(e) = self.errors.get_mut(id.index()) {
            *e = Some(err.clone());
        }
        if self.failure.is_none() {
            self.failure = Some(err);
        }
    }

    /// Runs until every task is done or the run fails; emits `Done`.
    pub fn run(&mut self) -> Result<()> {
        self.emit_graph_built();
        let outcome = self.run_inner();
        self.emit_done(outcome.as_ref().err().cloned());
        outcome
    }

    fn run_inner(&mut self) -> Result<()> {
        loop {
            self.dispatch(usize::MAX)?;
            if self.running == 0 {
                break;
            }
            match self.exec.next() {
                Some(msg) => self.handle(msg)?,
                None => {
                    return Err(Error::internal(format!(
                        "the {} executor lost {} running task(s)",
                        self.exec.name(),
                        self.running
                    )))
                }
            }
            self.handle_arrived()?;
        }
        self.check_complete()
    }

    /// Applies the reports that have already arrived, so that the next dispatch hands out
    /// a batch of jobs rather than one per report.
    fn handle_arrived(&mut self) -> Result<()> {
        while let Some(msg) = self.exec.try_next() {
            self.handle(msg)?;
        }
        Ok(())
    }

    /// After the last report: the failure, if any, or every task done.
    fn check_complete(&self) -> Result<()> {
        if let Some(err) = self.failure.clone() {
            return Err(err);
        }
        if let Some(stuck) = self.state.iter().position(|s| *s != TaskState::Done) {
            let (key, _) = self.key_and_layer(TaskId(stuck as u32));
            return Err(Error::internal(format!("task {key} never became ready")));
        }
        Ok(())
    }

    /// Runs for about `budget` and returns, so the calling thread (the engine Worker in a
    /// browser) can deliver events and take messages between slices. `Ok(true)` once the
    /// computation is over; `Done` is emitted then.
    pub fn poll(&mut self, budget: Duration) -> Result<bool> {
        self.emit_graph_built();
        if self.done_emitted {
            return self.check_complete().map(|_| true);
        }
        let deadline = now_ms() + budget.as_secs_f64() * 1000.0;
        let outcome = self.poll_inner(deadline);
        match &outcome {
            Ok(false) => {}
            Ok(true) => self.emit_done(None),
            Err(e) => self.emit_done(Some(e.clone())),
        }
        outcome
    }

    fn poll_inner(&mut self, deadline: f64) -> Result<bool> {
        loop {
            self.dispatch(usize::MAX)?;
            if self.running == 0 {
                return self.check_complete().map(|_| true);
            }
            let remaining = deadline - now_ms();
            if remaining <= 0.0 {
                return Ok(false);
            }
            if let Some(msg) = self
                .exec
                .next_timeout(Duration::from_secs_f64(remaining / 1000.0))
            {
                self.handle(msg)?;
                self.handle_arrived()?;
            }
        }
    }

    fn emit_done(&mut self, error: Option<Error>) {
        self.done_emitted = true;
        self.sink.emit(Event::Done {
            run: self.opts.run,
            t: now_ms(),
            ok: error.is_none(),
            tasks_run: self.tasks_run,
            error,
        });
    }

    /// Step mode: runs the next ready task (the first of [`Scheduler::ready`]) to its end
    /// and returns it, or `None` when the computation is over. `Done` is emitted with the
    /// last step.
    pub fn step(&mut self) -> Result<Option<TaskId>> {
        self.emit_graph_built();
        if self.failure.is_some() || self.state.iter().all(|s| *s == TaskState::Done) {
            return Ok(None);
        }
        let outcome = self.step_inner();
        let over = self.failure.is_some() || self.state.iter().all(|s| *s == TaskState::Done);
        match &outcome {
            Err(e) => self.emit_done(Some(e.clone())),
            Ok(_) if over => self.emit_done(self.failure.clone()),
            Ok(_) => {}
        }
        outcome
    }

    fn step_inner(&mut self) -> Result<Option<TaskId>> {
        let Some((_, next)) = self.ready.first() else {
            return Err(Error::internal(
                "no task is ready but the computation is not done",
            ));
        };
        self.dispatch(1)?;
        while self.running > 0 {
            match self.exec.next() {
                Some(msg) => self.handle(msg)?,
                None => return Err(Error::internal("the executor lost a running task")),
            }
        }
        match &self.failure {
            Some(err) => Err(err.clone()),
            None => Ok(Some(TaskId(next))),
        }
    }

    /// Runs until `id` is done or failed (futures' `result()`); other ready tasks run too.
    pub fn run_until(&mut self, id: TaskId) -> Result<Arc<Partition>> {
        self.emit_graph_built();
        loop {
            match self.state(id) {
                Some(TaskState::Done) => {
                    return self
                        .result(id)
                        .ok_or_else(|| Error::internal(format!("the result of task {} was released", id.0)))
                }
                Some(TaskState::Failed) => {
                    return Err(self
                        .error_of(id)
                        .unwrap_or_else(|| Error::internal("failed task without error")))
                }
                None => return Err(Error::internal(format!("no task with id {}", id.0))),
                _ => {}
            }
            self.pump(None)?;
        }
    }

    /// One round for dynamic clients: dispatch what is ready, then apply one report.
    /// Failed tasks fail their dependents instead of stopping everything.
    /// `wait`: `None` blocks until a report arrives; `Some(d)` waits at most `d`.
    pub fn pump(&mut self, wait: Option<Duration>) -> Result<()> {
        self.emit_graph_built();
        self.failure = None;
        self.dispatch(usize::MAX)?;
        self.failure = None;
        if self.running == 0 {
            return self.fail_blocked();
        }
        let msg = match wait {
            None => self.exec.next(),
            Some(d) => self.exec.next_timeout(d),
        };
        if let Some(msg) = msg {
            self.handle(msg)?;
            self.propagate_failures();
        }
        self.failure = None;
        Ok(())
    }

    /// Waiting tasks whose dependency failed fail too, with the dependency's error.
    fn propagate_failures(&mut self) {
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..self.graph.len() {
                if self.state.get(i) != Some(&TaskState::Waiting) {
                    continue;
                }
                let deps = self
                    .graph
                    .tasks()
                    .get(i)
                    .map(|t| t.deps.clone())
                    .unwrap_or_default();
                if let Some(err) = deps.iter().find_map(|d| self.error_of(*d)) {
                    self.fail(TaskId(i as u32), err);
                    changed = true;
                }
            }
        }
    }

    fn fail_blocked(&mut self) -> Result<()> {
        self.propagate_failures();
        self.failure = None;
        if self.state.contains(&TaskState::Waiting) {
            return Err(Error::internal("tasks are waiting but nothing is running"));
        }
        Ok(())
    }

    /// Ends a dynamic run: emits `Done`.
    pub fn close(&mut self) {
        if self.started {
            self.emit_done(None);
        }
    }
}
