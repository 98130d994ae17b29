//! The pool executor: tasks run on rayon threads (web workers in threaded wasm); the
//! worker id is the rayon thread index. Reports come back over a channel to the thread
//! that drives the scheduler, which never runs tasks itself.
//!
//! Jobs wait in a queue of their own, emptied by "runner" jobs on the pool, at most one
//! per worker: a runner takes job after job until the queue is empty. So a tiny task
//! costs a queue push and pop, not a spawn and a wake-up of a sleeping thread.
//!
//! Watched runs place each job instead: on the least loaded worker, in that worker's own
//! queue, as Dask's distributed scheduler places tasks. Otherwise the first runner awake
//! takes every tiny task and the picture shows one worker doing all the work.

use super::{Executor, Job, Message};
use crate::error::Error;
use crate::graph::TaskId;
use crate::runtime::now_ms;
use crossbeam_channel::{unbounded, Receiver, Sender};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct PoolExecutor {
    pool: Option<Arc<rayon::ThreadPool>>,
    workers: usize,
    /// How many jobs may be handed out at once.
    capacity: usize,
    in_flight: usize,
    queue: Arc<JobQueue>,
    placed: Arc<PlacedQueues>,
    /// Watched jobs in flight per worker, and where each one was placed.
    load: Vec<usize>,
    placed_on: HashMap<TaskId, usize>,
    /// Where the search for the least loaded worker starts, so ties take turns.
    turn: usize,
    rx: Receiver<Message>,
}

/// One job queue per worker, for watched runs.
struct PlacedQueues {
    queues: Vec<(Sender<Job>, Receiver<Job>)>,
    reports: Sender<Message>,
}

impl PlacedQueues {
    fn new(reports: Sender<Message>, workers: usize) -> PlacedQueues {
        PlacedQueues {
            queues: (0..workers.max(1)).map(|_| unbounded()).collect(),
            reports,
        }
    }

    /// Runs on every thread of the pool: each runs the jobs placed on it, if any.
    fn run(&self, worker: usize) {
        if let Some((_, jobs)) = self.queues.get(worker) {
            while let Ok(job) = jobs.try_recv() {
                run_job(job, &self.reports);
            }
        }
    }
}

/// What the runners share: the jobs, where reports go, and how many runners are active.
struct JobQueue {
    jobs_tx: Sender<Job>,
    jobs: Receiver<Job>,
    reports: Sender<Message>,
    runners: AtomicUsize,
    max_runners: usize,
}

impl JobQueue {
    fn new(reports: Sender<Message>, max_runners: usize) -> JobQueue {
        let (jobs_tx, jobs) = unbounded();
        JobQueue {
            jobs_tx,
            jobs,
            reports,
            runners: AtomicUsize::new(0),
            max_runners: max_runners.max(1),
        }
    }

    /// Takes a runner slot if fewer than `max_runners` are active.
    fn claim_runner(&self) -> bool {
        self.runners
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_runners).then_some(n + 1)
            })
            .is_ok()
    }

    /// A runner: runs queued jobs until there are none left.
    fn run(&self) {
        loop {
            while let Ok(job) = self.jobs.try_recv() {
                run_job(job, &self.reports);
            }
            self.runners.fetch_sub(1, Ordering::SeqCst);
            // A job queued while this runner was leaving, when every slot was taken, would
            // otherwise wait for the next submit: look again before going.
            if self.jobs.is_empty() || !self.claim_runner() {
                return;
            }
        }
    }
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
            queue: Arc::new(JobQueue::new(tx.clone(), workers)),
            placed: Arc::new(PlacedQueues::new(tx, workers)),
            load: vec![0; workers],
            placed_on: HashMap::new(),
            turn: 0,
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
            queue: Arc::new(JobQueue::new(tx.clone(), workers)),
            placed: Arc::new(PlacedQueues::new(tx, workers)),
            load: vec![0; workers],
            placed_on: HashMap::new(),
            turn: 0,
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

    fn note_received(&mut self, msg: &Message) {
        if let Message::Finished { task, .. } = msg {
            self.in_flight -= 1;
            if let Some(worker) = self.placed_on.remove(task) {
                if let Some(n) = self.load.get_mut(worker) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// Queues a watched job on the least loaded worker (taking turns on a tie) and asks
    /// every thread to run what was placed on it.
    fn place(&mut self, job: Job) {
        let n = self.load.len().max(1);
        let worker = (0..n)
            .map(|i| (self.turn + i) % n)
            .min_by_key(|&w| self.load.get(w).copied().unwrap_or(usize::MAX))
            .unwrap_or(0);
        self.turn = (worker + 1) % n;
        let task = job.task;
        let sent = match self.placed.queues.get(worker) {
            Some((tx, _)) => tx.send(job).map_err(|lost| lost.into_inner()),
            None => Err(job),
        };
        if let Err(lost) = sent {
            report_lost(&self.placed.reports, lost.task);
            return;
        }
        if let Some(n) = self.load.get_mut(worker) {
            *n += 1;
        }
        self.placed_on.insert(task, worker);
        let placed = Arc::clone(&self.placed);
        match &self.pool {
            Some(pool) => pool.spawn_broadcast(move |ctx| placed.run(ctx.index())),
            None => rayon::spawn_broadcast(move |ctx| placed.run(ctx.index())),
        }
    }
}

/// Reports a job that could not be queued (each queue holds its own receiver, so this
/// cannot happen) instead of leaving the run waiting for it.
fn report_lost(reports: &Sender<Message>, task: TaskId) {
    let _ = reports.send(Message::Finished {
        task,
        worker: 0,
        start: now_ms(),
        t: now_ms(),
        result: Err(Error::internal("the job queue of the thread pool is closed")),
    });
}

fn run_job(job: Job, tx: &Sender<Message>) {
    let worker = rayon::current_thread_index().unwrap_or(0);
    let task = job.task;
    let watched = job.report_start;
    let start = if watched { now_ms() } else { 0.0 };
    if watched {
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
        t: if watched { now_ms() } else { 0.0 },
        result,
    });
}

/// Jobs in flight per worker: a worker that ends a task finds the next one queued
/// instead of waiting for the scheduler's round trip (tiny tasks would wait longer than
/// they run), and the scheduler sleeps through many reports at once. Deeper queues run
/// tiny tasks faster still but let a newly ready task wait behind more queued ones.
/// `Started` is still sent when a job begins on its worker.
const JOBS_PER_WORKER: usize = 16;

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
        self.in_flight += 1;
        if job.report_start {
            self.place(job);
            return;
        }
        if let Err(lost) = self.queue.jobs_tx.send(job) {
            report_lost(&self.queue.reports, lost.into_inner().task);
            return;
        }
        if self.queue.claim_runner() {
            let queue = Arc::clone(&self.queue);
            match &self.pool {
                Some(pool) => pool.spawn(move || queue.run()),
                None => rayon::spawn(move || queue.run()),
            }
        }
    }
    fn next(&mut self) -> Option<Message> {
        if self.in_flight == 0 {
            return self.rx.try_recv().ok();
        }
        let msg = self.rx.recv().ok()?;
        self.note_received(&msg);
        Some(msg)
    }
    fn try_next(&mut self) -> Option<Message> {
        let msg = self.rx.try_recv().ok()?;
        self.note_received(&msg);
        Some(msg)
    }
    fn next_timeout(&mut self, timeout: std::time::Duration) -> Option<Message> {
        if self.in_flight == 0 {
            return self.rx.try_recv().ok();
        }
        let msg = crate::runtime::recv_timeout(&self.rx, timeout)?;
        self.note_received(&msg);
        Some(msg)
    }
}
