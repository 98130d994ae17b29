//! Events: what happened during a computation, with worker ids, timestamps and output
//! previews. The UI draws every live picture from these alone. An [`EventSink`] keeps
//! them as a log and lets another thread drain the new ones while the run goes on.

use crate::error::Error;
use crate::graph::GraphJson;
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};

/// One thing that happened. `t` is milliseconds on the engine's monotonic clock.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The graph is ready to run: its shape, the scheduler and the number of workers.
    GraphBuilt {
        run: u64,
        t: f64,
        scheduler: String,
        workers: usize,
        tasks: usize,
        graph: Arc<GraphJson>,
    },
    /// A worker picked up a task.
    TaskStarted {
        run: u64,
        t: f64,
        task: u32,
        key: String,
        layer: String,
        worker: usize,
    },
    /// A task finished; `preview` is a short text of its output (`{A: 1, B: 3}`).
    TaskFinished {
        run: u64,
        t: f64,
        start: f64,
        task: u32,
        key: String,
        layer: String,
        worker: usize,
        preview: String,
    },
    /// A task failed; `retrying` when it will run again (futures with retries).
    TaskFailed {
        run: u64,
        t: f64,
        task: u32,
        key: String,
        layer: String,
        worker: usize,
        error: Error,
        retrying: bool,
    },
    /// Tasks were added to a running computation (futures).
    TasksAdded {
        run: u64,
        t: f64,
        tasks: Vec<crate::graph::TaskJson>,
    },
    /// The computation ended: successfully, with an error, or cancelled.
    Done {
        run: u64,
        t: f64,
        ok: bool,
        tasks_run: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<Error>,
    },
}

impl Event {
    pub fn run(&self) -> u64 {
        match self {
            Event::GraphBuilt { run, .. }
            | Event::TaskStarted { run, .. }
            | Event::TaskFinished { run, .. }
            | Event::TaskFailed { run, .. }
            | Event::TasksAdded { run, .. }
            | Event::Done { run, .. } => *run,
        }
    }
}

type Listener = Box<dyn Fn(&Event) + Send + Sync>;

#[derive(Default)]
struct Inner {
    log: Mutex<Log>,
    listener: Option<Listener>,
    /// Nobody will read the events: the scheduler skips making them.
    silent: bool,
}

#[derive(Default)]
struct Log {
    events: Vec<Event>,
    drained: usize,
}

/// Collects events; cheap to clone (all clones share one log).
#[derive(Clone, Default)]
pub struct EventSink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventSink({} events)", self.lock().events.len())
    }
}

impl EventSink {
    pub fn new() -> EventSink {
        EventSink::default()
    }

    /// A sink that also calls `listener` for each event as it happens (on the
    /// scheduler's thread), e.g. for a progress bar.
    pub fn with_listener(listener: impl Fn(&Event) + Send + Sync + 'static) -> EventSink {
        EventSink {
            inner: Arc::new(Inner {
                log: Mutex::new(Log::default()),
                listener: Some(Box::new(listener)),
                silent: false,
            }),
        }
    }

    /// A sink that keeps nothing: for runs nobody watches (benchmarks, quiet runs), so
    /// the scheduler need not format keys and previews for every task.
    pub fn silent() -> EventSink {
        EventSink {
            inner: Arc::new(Inner {
                log: Mutex::new(Log::default()),
                listener: None,
                silent: true,
            }),
        }
    }

    pub fn is_silent(&self) -> bool {
        self.inner.silent
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A poisoned lock still holds a consistent log: events are pushed whole.
        self.inner.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn emit(&self, event: Event) {
        if self.inner.silent {
            return;
        }
        if let Some(listener) = &self.inner.listener {
            listener(&event);
        }
        self.lock().events.push(event);
    }

    /// The events emitted since the last drain.
    pub fn drain(&self) -> Vec<Event> {
        let mut log = self.lock();
        let from = log.drained.min(log.events.len());
        let new: Vec<Event> = log.events.get(from..).map(<[Event]>::to_vec).unwrap_or_default();
        log.drained = log.events.len();
        new
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        let mut log = self.lock();
        log.events.clear();
        log.drained = 0;
    }
}
