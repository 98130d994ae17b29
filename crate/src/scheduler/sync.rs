//! The sync executor: runs one task at a time on the calling thread, deterministically.
//! With `workers > 1` it simulates that many logical workers interleaved on one thread
//! (the single-threaded wasm bundle uses this to teach): each task goes to the logical
//! worker that has been busy the least so far, lowest id first on ties.
//!
//! Slow motion is cooperative here: a task's delay is waited out inside `next_timeout`
//! in slices, so a caller polling with a time budget gets control back while it waits.

use super::{Executor, Job, Message};
use crate::runtime::{now_ms, sleep};
use std::collections::VecDeque;
use std::time::Duration;

pub struct SyncExecutor {
    workers: usize,
    busy_ms: Vec<f64>,
    /// Jobs with the time (ms) at which their delay is over.
    queue: VecDeque<(Job, f64)>,
    pending: VecDeque<Message>,
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
            busy_ms: vec![0.0; workers],
            queue: VecDeque::new(),
            pending: VecDeque::new(),
        }
    }

    fn least_busy(&self) -> usize {
        let mut best = 0;
        for (i, b) in self.busy_ms.iter().enumerate() {
            if *b < self.busy_ms.get(best).copied().unwrap_or(f64::MAX) {
                best = i;
            }
        }
        best
    }

    /// Runs the first queued job now; reports Started and keeps Finished for the next call.
    fn run_front(&mut self) -> Option<Message> {
        let (job, _) = self.queue.pop_front()?;
        let worker = self.least_busy();
        let task = job.task;
        let start = now_ms();
        let result = job.run();
        let t = now_ms();
        if let Some(b) = self.busy_ms.get_mut(worker) {
            // A task always counts a little, so ties move on to the next worker.
            *b += (t - start).max(1e-3);
        }
        self.pending.push_back(Message::Finished {
            task,
            worker,
            start,
            t,
            result,
        });
        Some(Message::Started {
            task,
            worker,
            t: start,
        })
    }

    fn wait_ms(&self) -> f64 {
        self.queue
            .front()
            .map(|(_, at)| (at - now_ms()).max(0.0))
            .unwrap_or(0.0)
    }
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
    fn submit(&mut self, mut job: Job) {
        let ready_at = now_ms() + job.delay.as_secs_f64() * 1000.0;
        job.delay = Duration::ZERO;
        self.queue.push_back((job, ready_at));
    }
    fn next(&mut self) -> Option<Message> {
        if let Some(msg) = self.pending.pop_front() {
            return Some(msg);
        }
        sleep(Duration::from_secs_f64(self.wait_ms() / 1000.0));
        self.run_front()
    }
    fn next_timeout(&mut self, timeout: Duration) -> Option<Message> {
        if let Some(msg) = self.pending.pop_front() {
            return Some(msg);
        }
        let wait = Duration::from_secs_f64(self.wait_ms() / 1000.0);
        if wait > timeout {
            sleep(timeout);
            return None;
        }
        sleep(wait);
        self.run_front()
    }
}
