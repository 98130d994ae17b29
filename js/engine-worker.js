// The engine Worker: owns the wasm instance, runs computations in time slices, and posts
// events and results to the page. It runs in a dedicated module Worker in browsers and in
// a worker_threads Worker in Node; the page never runs engine code.
//
// Protocol (every request has an `id`; replies carry the same id):
//   page -> worker  {id, type: 'init' | 'validate' | 'graph' | 'compute' | 'step' | 'cancel'
//                    | 'unpersist' | 'trap', ...}
//   worker -> page  {id, ok: true, result} | {id, ok: false, error: {kind, message, key}}
//                   {type: 'events', id, events: [...]}   (belongs to compute request `id`)

// A computed name keeps browser bundlers from resolving Node built-ins.
const importNode = (name) => import(/* @vite-ignore */ /* webpackIgnore: true */ `node:${name}`);

const isNode = typeof process !== 'undefined' && process.versions?.node && typeof self === 'undefined';

let port;
if (isNode) {
  const { parentPort } = await importNode('worker_threads');
  port = parentPort;
} else {
  port = self;
}

const post = (msg) => port.postMessage(msg);

let wasm = null;
let engine = null;
let info = null;
/** compute request id -> {runId, stepMode, waiters} */
const runs = new Map();

function parseError(thrown) {
  if (typeof thrown === 'string') {
    try {
      const obj = JSON.parse(thrown);
      if (obj && typeof obj.kind === 'string') return obj;
    } catch {
      // not JSON: fall through
    }
    return { kind: 'internal', message: thrown };
  }
  if (thrown instanceof WebAssembly.RuntimeError) {
    return { kind: 'internal', message: `the engine trapped: ${thrown.message}` };
  }
  return { kind: 'internal', message: String(thrown?.message ?? thrown) };
}

// Literal `new URL(..., import.meta.url)` forms, so bundlers (Vite, webpack) find and
// emit the files.
const BUNDLES = {
  single: {
    js: new URL('../dist/single/partita.js', import.meta.url),
    wasm: new URL('../dist/single/partita_bg.wasm', import.meta.url),
  },
  threads: {
    js: new URL('../dist/threads/partita.js', import.meta.url),
    wasm: new URL('../dist/threads/partita_bg.wasm', import.meta.url),
  },
};

async function loadBundle(bundle, workers) {
  const files = BUNDLES[bundle];
  if (!files) throw JSON.stringify({ kind: 'value', message: `unknown bundle '${bundle}'` });
  const mod = await import(/* @vite-ignore */ /* webpackIgnore: true */ files.js.href);
  if (isNode) {
    const { readFile } = await importNode('fs/promises');
    await mod.default({ module_or_path: await readFile(files.wasm) });
  } else {
    await mod.default({ module_or_path: files.wasm });
  }
  if (bundle === 'threads') {
    await mod.initThreadPool(workers);
  }
  return mod;
}

// Yields to the event loop so requests that arrived meanwhile (cancel, step) run. A
// macrotask is needed: a MessageChannel ping can starve the port's own messages.
function yieldNow() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function flushEvents(id, runId) {
  const text = engine.events(runId);
  if (text !== '[]') post({ type: 'events', id, events: JSON.parse(text) });
}

async function compute(msg) {
  const options = msg.options ?? {};
  const runId = engine.start(JSON.stringify(msg.plan), JSON.stringify(options));
  const entry = { runId, stepMode: !!options.step, cancelled: false };
  runs.set(msg.id, entry);
  try {
    if (entry.stepMode) {
      // Step mode: the page sends 'step' requests; the first events (graph built) go now.
      flushEvents(msg.id, runId);
      post({ id: msg.id, type: 'stepping', ready: JSON.parse(engine.ready(runId)) });
      return;
    }
    for (;;) {
      let out;
      try {
        out = engine.poll(runId, 12);
      } finally {
        flushEvents(msg.id, runId);
      }
      if (out !== undefined && out !== null) {
        post({ id: msg.id, ok: true, result: JSON.parse(out) });
        break;
      }
      await yieldNow();
    }
  } catch (e) {
    post({ id: msg.id, ok: false, error: parseError(e) });
  } finally {
    if (!entry.stepMode) {
      runs.delete(msg.id);
      engine.drop_run(runId);
    }
  }
}

// V8 first runs wasm from its baseline compiler and recompiles hot functions with its
// optimising one while they run, on background threads that share the cores with the
// workers. So the warm-up lasts at least this long (one run at least, at most
// WARMUP_MAX_RUNS), and the timed runs see the optimised code.
const WARMUP_MS = 1000;
const WARMUP_MAX_RUNS = 50;

/** Times a benchmark workload: warm-up runs for WARMUP_MS, then the median of `repeat` runs. */
function bench(msg) {
  const { workload, scale = 1, repeat = 3, options = {} } = msg;
  const note = engine.bench_prepare(workload, scale);
  const opts = JSON.stringify(options);
  const started = performance.now();
  let checksum;
  let warmups = 0;
  do {
    engine.bench_run(opts);
    checksum = engine.bench_checksum();
    warmups += 1;
  } while (performance.now() - started < WARMUP_MS && warmups < WARMUP_MAX_RUNS);
  const times = [];
  for (let i = 0; i < Math.max(1, repeat); i++) {
    const t0 = performance.now();
    engine.bench_run(opts);
    times.push((performance.now() - t0) / 1000);
    // Untimed, as natively: turning the result into rows and freeing it.
    engine.bench_checksum();
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)], fastest: times[0], slowest: times[times.length - 1], checksum, note, tasks: engine.bench_tasks(), runs: times.length, warmups };
}

function step(msg) {
  const entry = runs.get(msg.target);
  if (!entry) throw JSON.stringify({ kind: 'value', message: `no computation in step mode with id ${msg.target}` });
  let state;
  try {
    state = JSON.parse(engine.step(entry.runId));
  } catch (e) {
    flushEvents(msg.target, entry.runId);
    runs.delete(msg.target);
    engine.drop_run(entry.runId);
    post({ id: msg.target, ok: false, error: parseError(e) });
    throw e;
  }
  flushEvents(msg.target, entry.runId);
  if (state.done) {
    const result = JSON.parse(engine.results(entry.runId));
    flushEvents(msg.target, entry.runId);
    runs.delete(msg.target);
    engine.drop_run(entry.runId);
    post({ id: msg.target, ok: true, result });
  }
  return state;
}

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      wasm = await loadBundle(msg.bundle, msg.workers);
      engine = new wasm.WasmEngine();
      info = { ...JSON.parse(engine.info()), bundle: msg.bundle };
      return info;
    }
    case 'validate':
      return JSON.parse(engine.validate(JSON.stringify(msg.plan)));
    case 'graph': {
      const text = engine.graph(JSON.stringify(msg.plan), !!msg.optimize, msg.format ?? 'json');
      return msg.format === 'dask' ? text : JSON.parse(text);
    }
    case 'compute':
      await compute(msg);
      return undefined; // compute replies by itself
    case 'step':
      return step(msg);
    case 'cancel': {
      const entry = runs.get(msg.target);
      if (entry) {
        engine.cancel(entry.runId);
        if (entry.stepMode) {
          // A stepped run has no loop to notice: finish it here.
          try {
            engine.step(entry.runId);
          } catch (e) {
            flushEvents(msg.target, entry.runId);
            runs.delete(msg.target);
            engine.drop_run(entry.runId);
            post({ id: msg.target, ok: false, error: parseError(e) });
          }
        }
      }
      return !!entry;
    }
    case 'bench':
      return bench(msg);
    case 'unpersist':
      return engine.unpersist(JSON.stringify(msg.tokens ?? []));
    case 'trap':
      // Tests use this to prove that a dead engine is reported and can be restarted.
      wasm.debug_trap();
      return undefined;
    default:
      throw JSON.stringify({ kind: 'value', message: `unknown request type '${msg.type}'` });
  }
}

port.onmessage = null;
const onMessage = async (event) => {
  const msg = isNode ? event : event.data;
  if (msg.type === 'trap') {
    // Let the trap escape as an uncaught error: the page sees the Worker die.
    setTimeout(() => wasm.debug_trap(), 0);
    return;
  }
  try {
    const result = await handle(msg);
    if (msg.type !== 'compute') post({ id: msg.id, ok: true, result });
  } catch (e) {
    if (msg.type !== 'step' || !(typeof e === 'string')) post({ id: msg.id, ok: false, error: parseError(e) });
    else post({ id: msg.id, ok: false, error: parseError(e) });
  }
};
if (isNode) port.on('message', onMessage);
else port.addEventListener('message', onMessage);
post({ type: 'loaded' });
