//! The native `partita` command: run a plan file, print its task graph, validate it, or
//! list the plan ops. The same engine and the same results as the browser bundles.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use partita::engine::{default_workers, ComputeOptions, Computed, Engine, SchedulerKind};
use partita::error::{Error, ErrorKind};
use partita::events::{Event, EventSink};
use partita::graph::{OptimizeOptions, TaskGraph};
use partita::plan::Plan;
use partita::registry::{self, Arity};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

// Workers allocate results that the scheduler's thread frees; glibc's malloc then takes
// the workers' arena locks, and tiny tasks wait on them. mimalloc frees across threads
// without a shared lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's `mi_option_purge_delay` (the Rust binding has no name for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of returning it to the system a second after it
/// is freed (mimalloc's default). A compute frees its partitions' buffers when it ends,
/// and the next one would otherwise fault pages in again, each zeroed by the kernel:
/// about 85 page faults per W3a run, and W3b to W3e ran 4 to 9% slower. Every command
/// is one process that ends when its work does, which returns the memory; the peak stays
/// the same. `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's option values, which it reads when it purges.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

#[derive(Parser)]
#[command(
    name = "partita",
    version,
    about = "Dask-style task graphs, run natively with the same engine as the browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute a plan: the result as JSON on stdout, a per-worker summary on stderr.
    Run {
        /// The plan JSON file (`-` reads standard input).
        plan: String,
        /// Worker threads (threads) or logical workers (sync).
        #[arg(long, short = 'w')]
        workers: Option<usize>,
        #[arg(long, value_enum, default_value_t = SchedulerArg::Threads)]
        scheduler: SchedulerArg,
        /// Slow motion: every task waits this many milliseconds first.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Run the graph as lowered, without cull and fuse.
        #[arg(long)]
        no_optimize: bool,
        /// Write every event as a JSON line to this file.
        #[arg(long)]
        events: Option<String>,
        /// No summary and no progress bar on stderr.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Print a plan's task graph.
    Graph {
        plan: String,
        /// Cull and fuse first.
        #[arg(long)]
        optimize: bool,
        #[arg(long, value_enum, default_value_t = GraphFormat::Summary)]
        format: GraphFormat,
    },
    /// Check a plan without running it.
    Validate { plan: String },
    /// List the plan ops with their inputs and arguments.
    Ops,
    /// Run the benchmark workloads (docs/benchmarks.md): one JSON line per measurement.
    Bench {
        /// Workloads by name or prefix, comma-separated (`W1,W3a`); all by default.
        #[arg(long)]
        only: Option<String>,
        /// Worker threads (the machine's cores by default).
        #[arg(long, short = 'w')]
        workers: Option<usize>,
        /// Timed runs after one warm-up; the median is reported (a workload's runs with
        /// other workers or schedulers take turns with these).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Shrinks the data (0.01 is a hundredth of the rows; array sides by its root).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Also run each W1-W3 workload with 1, 2, ... up to the core count workers, timed
        /// in turns with the main run.
        #[arg(long)]
        scaling: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SchedulerArg {
    Sync,
    Threads,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// The JSON export the playground draws.
    Json,
    /// A Dask-style low-level graph dict.
    Dask,
    /// One line per layer.
    Summary,
}

/// A failure with its exit code: 2 for bad input, 1 for a failed computation.
struct Failure {
    error: Error,
    code: u8,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = match error.kind {
            ErrorKind::Plan | ErrorKind::Syntax | ErrorKind::Io => 2,
            _ => 1,
        };
        Failure { error, code }
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let e = &f.error;
            let mut text = format!("error: {} error", e.kind.as_str());
            if let Some(key) = &e.key {
                text.push_str(&format!(" in task {key}"));
            }
            text.push_str(&format!(": {}", e.message));
            eprintln!("{text}");
            ExitCode::from(f.code)
        }
    }
}

fn read_plan(path: &str) -> Result<Plan, Failure> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io(format!("cannot read the plan from standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read the plan file {path}: {e}")))?
    };
    Ok(Plan::parse(&text)?)
}

/// What `measure` found: the median run, the fastest and slowest (how much the machine
/// moved during the runs), the checksum and the graph's task count.
struct Measured {
    median: f64,
    fastest: f64,
    slowest: f64,
    checksum: f64,
    tasks: usize,
}

/// The order of the timed runs of `configs` configurations: one of each in turn, `repeat`
/// times (at least once).
fn turns(configs: usize, repeat: usize) -> impl Iterator<Item = usize> {
    (0..repeat.max(1)).flat_map(move |_| 0..configs)
}

/// Times `prepared` on `engine` under each of `configs`: one warm-up run of each, then
/// `repeat` rounds that time one run of each in turn, and each one's median. Taking turns
/// means a machine that slows down during the measurement slows every configuration alike,
/// so the ratios between them (threads over one worker) stay fair.
fn measure(
    engine: &Engine,
    prepared: &partita::bench::Prepared,
    configs: &[ComputeOptions],
    repeat: usize,
) -> Result<Vec<Measured>, Failure> {
    let mut checksums = Vec::with_capacity(configs.len());
    for opts in configs {
        let warm = engine.compute(&prepared.plan, opts, &EventSink::silent())?;
        checksums.push((prepared.checksum)(&warm)?);
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(repeat); configs.len()];
    for i in turns(configs.len(), repeat) {
        if let (Some(opts), Some(times)) = (configs.get(i), times.get_mut(i)) {
            let started = Instant::now();
            let out = engine.compute(&prepared.plan, opts, &EventSink::silent())?;
            times.push(started.elapsed().as_secs_f64());
            drop(out);
        }
    }
    let mut measured = Vec::with_capacity(configs.len());
    for ((opts, mut times), checksum) in configs.iter().zip(times).zip(checksums) {
        times.sort_by(f64::total_cmp);
        measured.push(Measured {
            median: times.get(times.len() / 2).copied().unwrap_or(0.0),
            fastest: times.first().copied().unwrap_or(0.0),
            slowest: times.last().copied().unwrap_or(0.0),
            checksum,
            tasks: engine.graph(&prepared.plan, opts.optimize)?.tasks().len(),
        });
    }
    Ok(measured)
}

fn bench(
    only: Option<String>,
    workers: Option<usize>,
    repeat: usize,
    scale: f64,
    scaling: bool,
) -> Result<(), Failure> {
    let cores = default_workers();
    let workers = workers.unwrap_or(cores).max(1);
    let wanted: Vec<&str> = partita::bench::WORKLOADS
        .iter()
        .copied()
        .filter(|w| {
            // A full name picks that workload only (W4-10000 is not a prefix of W4-100000 here).
            only.as_deref().is_none_or(|o| {
                o.split(',').map(str::trim).any(|p| {
                    !p.is_empty()
                        && (*w == p || (!partita::bench::WORKLOADS.contains(&p) && w.starts_with(p)))
                })
            })
        })
        .collect();
    if wanted.is_empty() {
        return Err(Error::value(format!(
            "bench: no workload matches '{}'; the workloads are {}",
            only.unwrap_or_default(),
            partita::bench::WORKLOADS.join(", ")
        ))
        .into());
    }
    let mut out = std::io::stdout().lock();
    let mut failed: Vec<&str> = Vec::new();
    let config = |workers, scheduler| ComputeOptions {
        scheduler,
        workers,
        ..ComputeOptions::default()
    };
    for w in wanted {
        // Every configuration of a workload is measured together, in turns (see `measure`).
        let mut configs = vec![config(workers, SchedulerKind::Threads)];
        if w.starts_with("W4") {
            configs.push(config(1, SchedulerKind::Sync));
        }
        if scaling && ["W1", "W2", "W3"].iter().any(|f| w.starts_with(f)) {
            configs.extend(
                (1..=cores)
                    .filter(|&k| k != workers)
                    .map(|k| config(k, SchedulerKind::Threads)),
            );
        }
        // A fresh engine per workload keeps only its own data in memory.
        let engine = Engine::new();
        let prepared = match partita::bench::prepare(&engine, w, scale) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("bench {w}: {}", e.message);
                failed.push(w);
                continue;
            }
        };
        let measured = match measure(&engine, &prepared, &configs, repeat) {
            Ok(m) => m,
            Err(f) => {
                eprintln!("bench {w}: {}", f.error.message);
                failed.push(w);
                continue;
            }
        };
        for (opts, m) in configs.iter().zip(measured) {
            let engine_name = match opts.scheduler {
                SchedulerKind::Threads => "partita-threads",
                SchedulerKind::Sync => "partita-sync",
            };
            let mut line = serde_json::json!({
                "workload": w,
                "engine": engine_name,
                "workers": opts.workers,
                "seconds": m.median,
                "fastest": m.fastest,
                "slowest": m.slowest,
                "checksum": m.checksum,
                "scale": scale,
                "runs": repeat.max(1),
                "tasks": m.tasks,
                "note": prepared.note,
            });
            if let (true, Some(fields)) = (w.starts_with("W4"), line.as_object_mut()) {
                fields.insert(
                    "us_per_task".into(),
                    serde_json::json!(m.median * 1e6 / m.tasks.max(1) as f64),
                );
            }
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            error: Error::value(format!("bench: {} failed", failed.join(", "))),
            code: 1,
        })
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Bench {
            only,
            workers,
            repeat,
            scale,
            scaling,
        } => bench(only, workers, repeat, scale, scaling),
        Command::Run {
            plan,
            workers,
            scheduler,
            delay_ms,
            no_optimize,
            events,
            quiet,
        } => {
            let plan = read_plan(&plan)?;
            let opts = ComputeOptions {
                scheduler: match scheduler {
                    SchedulerArg::Sync => SchedulerKind::Sync,
                    SchedulerArg::Threads => SchedulerKind::Threads,
                },
                workers: workers.unwrap_or_else(default_workers).max(1),
                delay: Duration::from_millis(delay_ms),
                optimize: if no_optimize {
                    OptimizeOptions::NONE
                } else {
                    OptimizeOptions::ALL
                },
                ..Default::default()
            };
            run_plan(&plan, &opts, events.as_deref(), quiet)
        }
        Command::Graph {
            plan,
            optimize,
            format,
        } => {
            let plan = read_plan(&plan)?;
            let opt = if optimize {
                OptimizeOptions::ALL
            } else {
                OptimizeOptions::NONE
            };
            let graph = Engine::new().graph(&plan, opt)?;
            let text = match format {
                GraphFormat::Json => serde_json::to_string_pretty(&graph.to_json()).map_err(Error::from)?,
                GraphFormat::Dask => graph.to_dask_string(),
                GraphFormat::Summary => summary(&graph),
            };
            println!("{text}");
            Ok(())
        }
        Command::Validate { plan } => {
            let plan = read_plan(&plan)?;
            let lowered = Engine::new().lower(&plan)?;
            println!(
                "ok: {} node{}, {} task{}, {} layer{}",
                plan.nodes.len(),
                plural(plan.nodes.len()),
                lowered.graph.len(),
                plural(lowered.graph.len()),
                lowered.graph.layers().len(),
                plural(lowered.graph.layers().len())
            );
            if let Some(outputs) = lowered.describe().get("outputs").and_then(|o| o.as_array()) {
                for (id, d) in plan.outputs.iter().zip(outputs) {
                    println!("{id}: {d}");
                }
            }
            Ok(())
        }
        Command::Ops => {
            for spec in registry::OPS {
                let inputs = match spec.inputs {
                    Arity::Exactly(0) => "no inputs".to_string(),
                    Arity::Exactly(n) => format!("{n} input{}", plural(n)),
                    Arity::AtLeast(n) => format!("{n}+ inputs"),
                    Arity::Between(a, b) => format!("{a} to {b} inputs"),
                };
                println!("{}  ({inputs}; gives {})", spec.name, spec.output.describe());
                println!("    {}", spec.doc);
                for arg in spec.args {
                    println!(
                        "    {}{}: {}",
                        arg.name,
                        if arg.required { "" } else { "?" },
                        arg.ty.describe()
                    );
                }
            }
            Ok(())
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn summary(graph: &TaskGraph) -> String {
    let mut out = format!("{} tasks in {} layers\n", graph.len(), graph.layers().len());
    for layer in graph.layers() {
        let level = layer.level.map(|l| format!(" level {l}")).unwrap_or_default();
        out.push_str(&format!(
            "  {:<44} {:>6} task{}  {:?}{level}\n",
            layer.name,
            layer.tasks.len(),
            plural(layer.tasks.len()),
            layer.kind
        ));
    }
    out.trim_end().to_string()
}

fn run_plan(
    plan: &Plan,
    opts: &ComputeOptions,
    events_file: Option<&str>,
    quiet: bool,
) -> Result<(), Failure> {
    let engine = Engine::new();
    // Validate before starting the clock and the progress bar.
    let lowered = engine.lower(plan)?;
    let total = lowered.graph.optimize(opts.optimize).len() as u64;
    let show_bar = !quiet && std::io::stderr().is_terminal() && total > 0;
    let bar = if show_bar {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} tasks  {elapsed_precise}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        // Short runs finish before the bar would show.
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let bar_for_events = bar.clone();
    let sink = EventSink::with_listener(move |e| {
        if let (Some(bar), Event::TaskFinished { layer, .. }) = (&bar_for_events, e) {
            bar.inc(1);
            bar.set_message(layer.clone());
        }
    });
    let started = Instant::now();
    let outcome = engine.compute(plan, opts, &sink);
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let events = sink.events();
    if let Some(path) = events_file {
        write_events(path, &events)?;
    }
    let results = outcome?;
    let json = match results.as_slice() {
        [one] => one.to_json(),
        many => serde_json::Value::Array(many.iter().map(Computed::to_json).collect()),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{json}");
    if !quiet {
        eprint!("{}", worker_summary(&events, wall, opts));
    }
    Ok(())
}

fn write_events(path: &str, events: &[Event]) -> Result<(), Failure> {
    let mut text = String::new();
    for e in events {
        text.push_str(&serde_json::to_string(e).map_err(Error::from)?);
        text.push('\n');
    }
    std::fs::write(path, text)
        .map_err(|e| Failure::from(Error::io(format!("cannot write events to {path}: {e}"))))
}

/// Tasks and busy time per worker, from the events.
fn worker_summary(events: &[Event], wall: Duration, opts: &ComputeOptions) -> String {
    let mut per_worker: BTreeMap<usize, (usize, f64)> = BTreeMap::new();
    let mut tasks = 0;
    for e in events {
        if let Event::TaskFinished { worker, start, t, .. } = e {
            let slot = per_worker.entry(*worker).or_insert((0, 0.0));
            slot.0 += 1;
            slot.1 += t - start;
            tasks += 1;
        }
    }
    let wall_ms = wall.as_secs_f64() * 1000.0;
    let mut out = String::from("worker  tasks   busy ms   share\n");
    for (w, (n, busy)) in &per_worker {
        let share = if tasks > 0 {
            100.0 * *n as f64 / tasks as f64
        } else {
            0.0
        };
        out.push_str(&format!("{w:>6}  {n:>5}  {busy:>8.1}  {share:>5.1}%\n"));
    }
    let on = match opts.scheduler {
        SchedulerKind::Sync => {
            format!(
                "{} logical worker{} on one thread (sync)",
                opts.workers,
                plural(opts.workers)
            )
        }
        SchedulerKind::Threads => format!("{} worker thread{}", opts.workers, plural(opts.workers)),
    };
    out.push_str(&format!(
        "{tasks} task{} in {wall_ms:.1} ms on {on}\n",
        plural(tasks)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_take_turns_in_every_round() {
        assert_eq!(turns(3, 2).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2]);
        assert_eq!(turns(1, 3).collect::<Vec<_>>(), [0, 0, 0]);
        // At least one timed run, as the single-configuration bench always had.
        assert_eq!(turns(2, 0).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and sets mimalloc option values.
        let (before, after) = unsafe {
            let before = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
            keep_freed_memory();
            (before, libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY))
        };
        // mimalloc v3's default purge delay is 1000 ms (options.c); no other option is.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!((before, after), (1000, -1));
        }
    }
}
