// partita: Dask's ideas in the browser and in Node. `start()` launches the engine in a
// Worker and returns a Context; collections are lazy and build a Plan (plain JSON) that
// the engine lowers into a task graph, schedules and runs, streaming events back.

import { EngineError } from './errors.js';
import { chooseBundle, hardwareThreads, importNode, isNode } from './platform.js';
import { ArrayCollection, Bag, Collection, DataFrame, Delayed, PlanBuilder, functionSource, reviveResult } from './collections.js';

export { EngineError } from './errors.js';
export { ArrayCollection, Bag, Collection, Column, ColumnPredicate, DataFrame, DataFrameResult, Delayed, GroupBy, NDArray } from './collections.js';

async function spawnWorker() {
  if (isNode) {
    const { Worker } = await importNode('worker_threads');
    const w = new Worker(new URL('./engine-worker.js', import.meta.url));
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => w.on('message', f),
      onDeath: (f) => {
        w.on('error', (e) => f(`the engine Worker failed: ${e?.message ?? e}`));
        w.on('exit', (code) => f(`the engine Worker exited (code ${code})`));
      },
      terminate: () => w.terminate(),
      unref: () => w.unref(),
    };
  }
  // The literal form lets bundlers see and emit the worker file.
  const w = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'partita-engine' });
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => w.addEventListener('message', (e) => f(e.data)),
    onDeath: (f) => {
      w.addEventListener('error', (e) => {
        e.preventDefault?.();
        f(`the engine Worker failed: ${e?.message ?? 'unknown error'}`);
      });
      w.addEventListener('messageerror', () => f('the engine Worker sent a message that could not be read'));
    },
    terminate: () => w.terminate(),
    unref: () => {},
  };
}

/**
 * Starts an engine. Options: `workers` (default: hardware threads), `bundle`
 * ('auto' | 'threads' | 'single').
 */
export async function start(options = {}) {
  const threads = await hardwareThreads();
  const workers = Math.max(1, Math.floor(options.workers ?? threads));
  const choice = chooseBundle(options.bundle ?? 'auto');
  const worker = await spawnWorker();
  const ctx = new Context(worker, choice, workers);
  await ctx._ready();
  return ctx;
}

export class Context {
  #worker;
  #pending = new Map();
  #listeners = new Map();
  #nextId = 1;
  #dead = null;
  #info = null;
  #loaded;
  #choice;
  #workers;
  #builder = new PlanBuilder();

  constructor(worker, choice, workers) {
    this.#worker = worker;
    this.#choice = choice;
    this.#workers = workers;
    this.#loaded = new Promise((resolve) => {
      worker.onMessage((msg) => {
        if (msg.type === 'loaded') resolve();
        else this.#receive(msg);
      });
    });
    worker.onDeath((reason) => this.#die(reason));
    /** Bag constructors: `ctx.bag.fromSequence([...], {npartitions})`. */
    this.bag = Bag.constructors(this, this.#builder);
    /** Array constructors: `ctx.array.ones([4, 4], {chunks: 2})`. */
    this.array = ArrayCollection.constructors(this, this.#builder);
    this.dataframe = DataFrame.constructors(this, this.#builder);
  }

  async _ready() {
    await this.#loaded;
    const info = await this.request('init', { bundle: this.#choice.bundle, workers: this.#workers });
    const simulated = info.bundle !== 'threads';
    this.#info = Object.freeze({
      bundle: info.bundle,
      threads: simulated ? 1 : info.threadCount,
      workers: this.#workers,
      simulated,
      crossOriginIsolated: this.#choice.crossOriginIsolated,
      reason: this.#choice.reason,
      version: info.version,
    });
  }

  /** Which bundle runs, how many threads and workers, and why. */
  info() {
    return this.#info;
  }

  #receive(msg) {
    if (msg.type === 'events') {
      this.#listeners.get(msg.id)?.(msg.events);
      return;
    }
    if (msg.type === 'stepping') {
      this.#pending.get(msg.id)?.onStepping?.(msg);
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    this.#listeners.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(EngineError.from(msg.error));
  }

  #die(reason) {
    if (this.#dead) return;
    this.#dead = new EngineError('internal', `${reason}; start() a new engine to go on`);
    for (const p of this.#pending.values()) p.reject(this.#dead);
    this.#pending.clear();
    this.#listeners.clear();
    this.#worker.terminate();
  }

  /** Sends one request to the engine Worker. Internal, but stable for tests. */
  request(type, payload = {}, { onEvents, onStepping } = {}) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onStepping: onStepping ? (m) => onStepping(id, m) : undefined });
      if (onEvents) this.#listeners.set(id, onEvents);
      this.#worker.post({ id, type, ...payload });
    });
  }

  /** The plan JSON that computes these collections. */
  plan(...collections) {
    return this.#builder.plan(collections);
  }

  /**
   * Computes one or more collections; resolves to one result per collection.
   * Options: `onEvent(event)`, `signal` (AbortSignal), `delayMs`, `scheduler`
   * ('threads' | 'sync'), `workers`, `optimize`, `step` (see `stepper`).
   */
  async compute(...args) {
    const last = args[args.length - 1];
    const options = last instanceof Collection ? {} : args.pop() ?? {};
    const collections = args;
    if (collections.length === 0) throw new EngineError('value', 'compute: give at least one collection');
    const plan = this.plan(...collections);
    return this.#run(plan, options);
  }

  /**
   * Computes a plan given as JSON (docs/plan.md): the same plans the `partita` CLI runs.
   * Resolves to one result per output.
   */
  computePlan(plan, options = {}) {
    return this.#run(typeof plan === 'string' ? JSON.parse(plan) : plan, options);
  }

  async #run(plan, options, persist = false) {
    const { onEvent, signal, delayMs, scheduler, workers, optimize } = options;
    if (signal?.aborted) throw new EngineError('cancelled', 'the computation was cancelled before it started');
    const engineOptions = {
      scheduler: scheduler ?? 'threads',
      workers: workers ?? this.#workers,
      delayMs: delayMs ?? 0,
      optimize: optimize ?? true,
      persist,
    };
    let requestId = 0;
    const onEvents = onEvent ? (events) => events.forEach((e) => onEvent(e)) : undefined;
    const promise = this.request('compute', { plan, options: engineOptions }, { onEvents });
    requestId = this.#nextId - 1;
    const abort = () => {
      if (!this.#dead) this.#worker.post({ id: this.#nextId++, type: 'cancel', target: requestId });
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const results = await promise;
      return Array.isArray(results) ? results.map(reviveResult) : results;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Step mode: returns a controller whose `step()` runs one task at a time (sync
   * scheduler). `ready` lists the tasks that can run next; `result` resolves at the end.
   */
  async stepper(collection, options = {}) {
    const plan = this.plan(collection);
    const onEvents = options.onEvent ? (events) => events.forEach((e) => options.onEvent(e)) : undefined;
    let computeId = 0;
    let firstReady;
    const stepping = new Promise((resolve) => {
      firstReady = resolve;
    });
    const result = this.request(
      'compute',
      {
        plan,
        options: { scheduler: 'sync', workers: options.workers ?? this.#workers, optimize: options.optimize ?? true, step: true },
      },
      { onEvents, onStepping: (id, msg) => firstReady({ id, ready: msg.ready }) },
    ).then((r) => (Array.isArray(r) ? r.map(reviveResult) : r));
    computeId = this.#nextId - 1;
    const ctx = this;
    const first = await Promise.race([stepping, result.then(() => null)]);
    const controller = {
      ready: first?.ready ?? [],
      done: first === null,
      result,
      async step() {
        if (controller.done) return null;
        const state = await ctx.request('step', { target: computeId });
        controller.ready = state.ready;
        controller.done = state.done;
        return state;
      },
      cancel() {
        ctx.request('cancel', { target: computeId }).catch(() => {});
      },
    };
    result.catch(() => {});
    return controller;
  }

  /** Computes the collection and keeps its partitions in the engine. */
  async persist(collection, options = {}) {
    await this.#run(this.plan(collection), options, true);
    return collection;
  }

  /** The task graph of the collections (`{layers, tasks, outputs}`), optimised or not. */
  graph(collection, { optimize = false, format = 'json' } = {}) {
    return this.request('graph', { plan: this.plan(collection), optimize, format });
  }

  /** Validates a plan without running it. */
  validate(collection) {
    return this.request('validate', { plan: this.plan(collection) });
  }

  /** Wraps a function so calls build lazy delayed values: `ctx.delayed(x => x + 1)(a)`. */
  delayed(fn, { name } = {}) {
    const source = functionSource(fn);
    return (...args) => Delayed.call(this, this.#builder, source, args, name);
  }

  /** A literal value as a delayed object. */
  value(v, { name } = {}) {
    return Delayed.value(this, this.#builder, v, name);
  }

  /**
   * Futures: runs `fn(...args)` at once; resolves through `future.result()`. Arguments
   * may be other futures. Options (as a last `{retries, signal}` via `submitWith`).
   */
  submit(fn, ...args) {
    return this.submitWith({}, fn, ...args);
  }

  submitWith({ retries = 0, signal, name } = {}, fn, ...args) {
    return new Future(this, functionSource(fn), args, { retries, signal, name });
  }

  /** `fn` applied position-wise over the given lists (like Python's map), as futures. */
  map(fn, ...iterables) {
    const n = Math.min(...iterables.map((it) => it.length));
    const futures = [];
    for (let i = 0; i < n; i++) futures.push(this.submit(fn, ...iterables.map((it) => it[i])));
    return futures;
  }

  /** The results of several futures, in order. */
  gather(futures) {
    return Promise.all(futures.map((f) => (f instanceof Future ? f.result() : f)));
  }

  /** Futures in the order they complete (an async iterator). */
  async *asCompleted(futures) {
    const pending = new Map(futures.map((f, i) => [i, f.settled().then(() => i)]));
    while (pending.size > 0) {
      const i = await Promise.race(pending.values());
      pending.delete(i);
      yield futures[i];
    }
  }

  /**
   * Runs one benchmark workload (docs/benchmarks.md) in the engine Worker: its data is
   * made first (not timed), then warm-up runs for a second (V8 optimises wasm while it
   * runs) and the median of `repeat` runs, unwatched.
   * Returns the same fields as a line of `partita bench`.
   */
  async bench(workload, { scale = 1, repeat = 3, scheduler = 'threads' } = {}) {
    const workers = this.#workers;
    const r = await this.request('bench', { workload, scale, repeat, options: { workers, scheduler } });
    const line = {
      workload,
      engine: `partita-wasm-${this.#info.bundle}${scheduler === 'sync' ? '-sync' : ''}`,
      workers: scheduler === 'sync' ? 1 : workers,
      seconds: r.seconds,
      fastest: r.fastest,
      slowest: r.slowest,
      checksum: r.checksum,
      scale,
      runs: r.runs,
      warmups: r.warmups,
      tasks: r.tasks,
      note: r.note,
    };
    if (workload.startsWith('W4')) line.us_per_task = (r.seconds * 1e6) / Math.max(1, r.tasks);
    return line;
  }

  /** Drops persisted collections. */
  unpersist(tokens) {
    return this.request('unpersist', { tokens });
  }

  /** Kills the engine Worker on purpose with a wasm trap (tests use it). */
  _trap() {
    if (!this.#dead) this.#worker.post({ id: this.#nextId++, type: 'trap' });
  }

  /** Stops the engine Worker; pending calls reject. */
  close() {
    this.#die('the engine was closed');
  }

  /** Node: lets the process exit while the engine is idle. */
  unref() {
    this.#worker.unref();
  }
}

/** A task started at once; its result stays in the engine for later tasks. */
export class Future {
  #promise;
  #status = 'pending';
  #abort = new AbortController();

  constructor(ctx, source, args, { retries, signal, name }) {
    this.ctx = ctx;
    signal?.addEventListener('abort', () => this.cancel(), { once: true });
    this.#promise = this.#run(ctx, source, args, retries, name);
    this.#promise.then(
      () => {
        this.#status = 'finished';
      },
      (e) => {
        this.#status = e?.kind === 'cancelled' ? 'cancelled' : 'error';
      },
    );
  }

  async #run(ctx, source, args, retries, name) {
    // Wait for argument futures, then run the call on their values.
    const values = await Promise.all(args.map((a) => (a instanceof Future ? a.result() : a)));
    this.delayed = ctx.delayed(source, { name: name ?? 'lambda' })(...values);
    this.key = null;
    for (let attempt = 0; ; attempt++) {
      try {
        const [out] = await ctx.compute(this.delayed, { signal: this.#abort.signal, scheduler: 'threads' });
        return out;
      } catch (e) {
        if (attempt >= retries || e?.kind === 'cancelled') throw e;
      }
    }
  }

  /** 'pending' | 'finished' | 'error' | 'cancelled'. */
  get status() {
    return this.#status;
  }

  done() {
    return this.#status !== 'pending';
  }

  result() {
    return this.#promise;
  }

  async exception() {
    try {
      await this.#promise;
      return null;
    } catch (e) {
      return e;
    }
  }

  cancel() {
    this.#abort.abort();
  }

  /** Resolves (never rejects) when the future is done. */
  settled() {
    return this.#promise.then(
      () => undefined,
      () => undefined,
    );
  }
}
