//! The sync executor: runs one task at a time on the calling thread, deterministically.
//! With `workers > 1` it simulates that many logical workers interleaved on one thread
//! (the single-threaded wasm bundle uses this to teach). Placement is list scheduling on
//! a simulated clock: each task goes to the worker on which it could start first (after
//! its inputs end and the worker is free), preferring the worker that ran its input, then
//! the lowest id; so a partition's chain stays on one worker and partitions spread out.
//!
//! Slow motion is cooperative here: a task's delay is waited out inside `next_timeout`
//! in slices, so a caller polling with a time budget gets control back while it waits.

use super::{Executor, Job, Message};
use crate::graph::TaskId;
use crate::runtime::{now_ms, sleep};
use std::collections::VecDeque;
use std::time::Duration;

pub struct SyncExecutor {
    workers: usize,
    /// Simulated time at which each logical worker is free again.
    free_at: Vec<f64>,
    /// Simulated end time and worker of every task run so far, by task id (kept only
    /// with several workers, where placement reads it).
    placed: Vec<Option<(f64, usize)>>,
    /// Jobs with the time (ms) at which their delay is over.
    queue: VecDeque<(Job, f64)>,
    current: Option<Current>,
}

impl SyncExecutor {
    /// One logical worker, like Dask's synchronous scheduler.
    pub fn new() -> SyncExecutor {
        SyncExecutor::with_logical_workers(1)
    }

    /// `workers` logical workers on this one thread.
    pub fn with_logical_workers(workers: usize) -> SyncExecutor {
        let workers = workers.max(1);
        SyncExecutor {
            workers,
            free_at: vec![0.0; workers],
            placed: Vec::new(),
            queue: VecDeque::new(),
            current: None,
        }
    }

    /// The logical worker for a task and its simulated start time.
    fn place(&self, deps: &[TaskId]) -> (usize, f64) {
        let ready_at = deps
            .iter()
            .filter_map(|d| self.placed.get(d.index()).copied().flatten())
            .map(|(end, _)| end)
            .fold(0.0, f64::max);
        let near: Vec<usize> = deps
            .iter()
            .filter_map(|d| self.placed.get(d.index()).copied().flatten())
            .map(|(_, w)| w)
            .collect();
        let mut best = (0usize, f64::MAX, true);
        for (w, free) in self.free_at.iter().enumerate() {
            let start = free.max(ready_at);
            let far = !near.contains(&w);
            if start < best.1 || (start == best.1 && !far && best.2) {
                best = (w, start, far);
            }
        }
        (best.0, best.1)
    }

    /// Takes the next job: places it on a logical worker and reports it started. Its
    /// slow-motion wait then counts as running, as on the pool.
    fn start_front(&mut self) -> Option<Message> {
        let (job, ready_at) = self.queue.pop_front()?;
        let (worker, sim_start) = self.place(&job.deps);
        let start = if self.timed(&job) { now_ms() } else { 0.0 };
        let task = job.task;
        self.current = Some(Current {
            job,
            ready_at,
            worker,
            sim_start,
            start,
        });
        Some(Message::Started {
            task,
            worker,
            t: start,
        })
    }

    /// Runs the current job (its wait is over) and reports it finished.
    fn finish_current(&mut self) -> Option<Message> {
        let Current {
            job,
            worker,
            sim_start,
            start,
            ..
        } = self.current.take()?;
        let task = job.task;
        let timed = self.timed(&job);
        let result = job.run();
        let t = if timed { now_ms() } else { 0.0 };
        // A task always takes a little simulated time, so later ties spread out.
        let sim_end = sim_start + (t - start).max(1e-3);
        if let Some(free) = self.free_at.get_mut(worker) {
            *free = sim_end;
        }
        if self.workers > 1 {
            if self.placed.len() <= task.index() {
                self.placed.resize(task.index() + 1, None);
            }
            if let Some(slot) = self.placed.get_mut(task.index()) {
                *slot = Some((sim_end, worker));
            }
        }
        Some(Message::Finished {
            task,
            worker,
            start,
            t,
            result,
        })
    }

    /// Whether a job's times are read: a watched run shows them, and several logical
    /// workers place tasks by them.
    fn timed(&self, job: &Job) -> bool {
        job.report_start || self.workers > 1
    }

    /// One step: start the next job, or finish the current one once its wait is over.
    /// `None` if the wait goes beyond `timeout` (or nothing is queued).
    fn advance(&mut self, timeout: Duration) -> Option<Message> {
        if self.current.is_none() {
            let started = self.start_front()?;
            // Unwatched runs go straight on to running the job.
            if self.current.as_ref().is_some_and(|c| c.job.report_start) {
                return Some(started);
            }
        }
        let current = self.current.as_ref()?;
        if current.ready_at > f64::NEG_INFINITY {
            let wait = Duration::from_secs_f64((current.ready_at - now_ms()).max(0.0) / 1000.0);
            if wait > timeout {
                sleep(timeout);
                return None;
            }
            sleep(wait);
        }
        self.finish_current()
    }
}

/// The job the sync executor is on.
struct Current {
    job: Job,
    ready_at: f64,
    worker: usize,
    sim_start: f64,
    start: f64,
}

impl Default for SyncExecutor {
    fn default() -> Self {
        SyncExecutor::new()
    }
}

impl Executor for SyncExecutor {
    fn capacity(&self) -> usize {
        1
    }
    fn workers(&self) -> usize {
        self.workers
    }
    fn name(&self) -> &'static str {
        "sync"
    }
    fn places_by_inputs(&self) -> bool {
        self.workers > 1
    }
    fn submit(&mut self, mut job: Job) {
        // Without slow motion a job is ready at once, and needs no clock reading.
        let ready_at = if job.delay.is_zero() {
            f64::NEG_INFINITY
        } else {
            now_ms() + job.delay.as_secs_f64() * 1000.0
        };
        job.delay = Duration::ZERO;
        self.queue.push_back((job, ready_at));
    }
    fn next(&mut self) -> Option<Message> {
        loop {
            if self.current.is_none() && self.queue.is_empty() {
                return None;
            }
            if let Some(msg) = self.advance(Duration::from_secs(3600)) {
                return Some(msg);
            }
        }
    }
    fn try_next(&mut self) -> Option<Message> {
        // Reports here come from running jobs on this thread, which `next` does.
        None
    }
    fn next_timeout(&mut self, timeout: Duration) -> Option<Message> {
        self.advance(timeout)
    }
}
