//! The sync executor: runs one task at a time on the calling thread, deterministically.
//! With `workers > 1` it simulates that many logical workers interleaved on one thread
//! (the single-threaded wasm bundle uses this to teach): each task goes to the logical
//! worker that has been busy the least so far, lowest id first on ties.

use super::{Executor, Job, Message};
use crate::runtime::now_ms;
use std::collections::VecDeque;

pub struct SyncExecutor {
    workers: usize,
    busy_ms: Vec<f64>,
    queue: VecDeque<Job>,
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
    fn submit(&mut self, job: Job) {
        self.queue.push_back(job);
    }
    fn next(&mut self) -> Option<Message> {
        if let Some(msg) = self.pending.pop_front() {
            return Some(msg);
        }
        let job = self.queue.pop_front()?;
        let worker = self.least_busy();
        let task = job.task;
        let start = now_ms();
        // Run now; report Started first and keep Finished for the next call.
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
}
