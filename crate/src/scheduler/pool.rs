//! The pool executor: tasks run on rayon threads (web workers in threaded wasm); the
//! worker id is the rayon thread index. Reports come back over a channel to the thread
//! that drives the scheduler, which never runs tasks itself.

use super::{Executor, Job, Message};
use crate::error::Error;
use crate::runtime::now_ms;
use crossbeam_channel::{unbounded, Receiver, Sender};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

pub struct PoolExecutor {
    pool: Option<Arc<rayon::ThreadPool>>,
    workers: usize,
    /// How many jobs may be handed out at once.
    capacity: usize,
    in_flight: usize,
    tx: Sender<Message>,
    rx: Receiver<Message>,
}

impl PoolExecutor {
    /// Runs on a pool of its own (native).
    pub fn new(pool: Arc<rayon::ThreadPool>) -> PoolExecutor {
        let workers = pool.current_num_threads();
        let (tx, rx) = unbounded();
        PoolExecutor {
            pool: Some(pool),
            workers,
            capacity: workers * JOBS_PER_WORKER,
            in_flight: 0,
            tx,
            rx,
        }
    }

    /// Runs on rayon's global pool with at most `workers` tasks at once (wasm, where the
    /// global pool is the one wasm-bindgen-rayon started).
    pub fn global(workers: usize) -> PoolExecutor {
        let (tx, rx) = unbounded();
        let threads = rayon::current_num_threads().max(1);
        let workers = workers.clamp(1, threads);
        // Fewer workers than threads: only the in-flight limit keeps the others idle.
        let capacity = if workers == threads {
            workers * JOBS_PER_WORKER
        } else {
            workers
        };
        PoolExecutor {
            pool: None,
            workers,
            capacity,
            in_flight: 0,
            tx,
            rx,
        }
    }

    /// Builds a native pool with `workers` threads.
    pub fn build_pool(workers: usize) -> Result<Arc<rayon::ThreadPool>, Error> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(workers.max(1))
            .thread_name(|i| format!("partita-worker-{i}"))
            .build()
            .map(Arc::new)
            .map_err(|e| Error::internal(format!("could not start {workers} worker threads: {e}")))
    }
}

fn run_job(job: Job, tx: Sender<Message>) {
    let worker = rayon::current_thread_index().unwrap_or(0);
    let task = job.task;
    let start = now_ms();
    if job.report_start {
        let _ = tx.send(Message::Started {
            task,
            worker,
            t: start,
        });
    }
    // Engine code does not panic; if a bug does, the run fails instead of hanging.
    let result = catch_unwind(AssertUnwindSafe(|| job.run()))
        .unwrap_or_else(|_| Err(Error::internal("a task panicked; this is a bug in partita")));
    let _ = tx.send(Message::Finished {
        task,
        worker,
        start,
        t: now_ms(),
        result,
    });
}

/// Jobs in flight per worker: a worker that ends a task finds the next one queued
/// instead of waiting for the scheduler's round trip (tiny tasks would wait longer than
/// they run). `Started` is still sent when a job begins on its worker.
const JOBS_PER_WORKER: usize = 4;

impl Executor for PoolExecutor {
    fn capacity(&self) -> usize {
        self.capacity
    }
    fn workers(&self) -> usize {
        self.workers
    }
    fn name(&self) -> &'static str {
        "threads"
    }
    fn places_by_inputs(&self) -> bool {
        false
    }
    fn submit(&mut self, job: Job) {
        let tx = self.tx.clone();
        self.in_flight += 1;
        match &self.pool {
            Some(pool) => pool.spawn(move || run_job(job, tx)),
            None => rayon::spawn(move || run_job(job, tx)),
        }
    }
    fn next(&mut self) -> Option<Message> {
        if self.in_flight == 0 {
            return self.rx.try_recv().ok();
        }
        let msg = self.rx.recv().ok()?;
        if matches!(msg, Message::Finished { .. }) {
            self.in_flight -= 1;
        }
        Some(msg)
    }
    fn next_timeout(&mut self, timeout: std::time::Duration) -> Option<Message> {
        if self.in_flight == 0 {
            return self.rx.try_recv().ok();
        }
        let msg = crate::runtime::recv_timeout(&self.rx, timeout)?;
        if matches!(msg, Message::Finished { .. }) {
            self.in_flight -= 1;
        }
        Some(msg)
    }
}
