// The npm package in Node 20: the single-threaded bundle, the JS API end to end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, EngineError } from '../../js/index.js';
import { chooseBundle, wasmSimdSupported } from '../../js/platform.js';

let ctx;
before(async () => {
  ctx = await start({ workers: 2 });
});
after(() => ctx?.close());

const letters = 'ABBBABBB'.split('');

test('info says which bundle runs and why', () => {
  const info = ctx.info();
  assert.equal(info.bundle, 'single');
  assert.equal(info.simulated, true);
  assert.equal(info.workers, 2);
  assert.match(info.reason, /Node runs the single-threaded bundle/);
});

test('both bundles need wasm SIMD: Node runs it, and an engine without it gets a clear error', () => {
  assert.equal(wasmSimdSupported(), true);
  const validate = WebAssembly.validate;
  // An engine that validates everything but SIMD.
  WebAssembly.validate = (bytes) => !Array.from(bytes).includes(253) && validate(bytes);
  try {
    assert.equal(wasmSimdSupported(), false);
    assert.throws(() => chooseBundle('auto'), /needs WebAssembly SIMD/);
  } finally {
    WebAssembly.validate = validate;
  }
  assert.equal(chooseBundle('auto').bundle, 'single');
});

test('the counting example: partial counts per partition merge into the answer', async () => {
  const events = [];
  const freq = ctx.bag.fromSequence(letters, { npartitions: 2 }).frequencies();
  const result = await freq.compute({ onEvent: (e) => events.push(e), optimize: false });
  assert.deepEqual(result, [['A', 2], ['B', 6]]);
  assert.equal(events[0].type, 'graph_built');
  assert.equal(events[0].graph.tasks.length, 5);
  const parts = events.filter((e) => e.type === 'task_finished' && e.key.includes('frequencies-part'));
  assert.deepEqual(parts.map((e) => e.preview), ['{A: 1, B: 3}', '{A: 1, B: 3}']);
  assert.notEqual(parts[0].worker, parts[1].worker, 'the simulated workers share the partitions');
  const agg = events.find((e) => e.type === 'task_finished' && e.key.includes('frequencies-aggregate'));
  assert.equal(agg.preview, '{A: 2, B: 6}');
  assert.equal(events.at(-1).type, 'done');
  assert.equal(events.at(-1).ok, true);
});

test('map and filter take real arrow functions, JS source and Python lambdas', async () => {
  const b = ctx.bag.fromSequence([1, 2, 3, 4, 5, 6], { npartitions: 3 });
  assert.deepEqual(await b.map((x) => x * 10).compute(), [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(await b.filter('x => x % 2 === 0').compute(), [2, 4, 6]);
  assert.equal(await b.map('lambda x: x ** 2').sum().compute(), 91);
  assert.equal(await b.count().compute(), 6);
  const [n, total] = await ctx.compute(b.count(), b.sum());
  assert.deepEqual([n, total], [6, 21]);
});

test('expression errors arrive as EngineError with the caret line', async () => {
  await assert.rejects(
    () => ctx.bag.fromSequence([1]).map('x => x +* 2').compute(),
    (e) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.kind, 'syntax');
      assert.match(e.message, /1:9/);
      assert.match(e.message, /\^/);
      return true;
    },
  );
  await assert.rejects(
    () => ctx.bag.fromSequence([1, 'two'], { npartitions: 2 }).map((x) => x + 1).compute(),
    (e) => e.kind === 'eval' && /^\('map-[0-9a-f]+', 1\)$/.test(e.key),
  );
  // The engine goes on.
  assert.equal(await ctx.bag.fromSequence([1, 2]).sum().compute(), 3);
});

test('a plain function that is not an arrow function is refused clearly', () => {
  assert.throws(
    () => ctx.bag.fromSequence([1]).map(function named(x) { return x; }),
    (e) => e instanceof EngineError && e.kind === 'syntax' && /arrow function/.test(e.message),
  );
});

test('cancellation through an AbortSignal', async () => {
  const controller = new AbortController();
  const events = [];
  const big = ctx.bag.fromSequence([...Array(40).keys()], { npartitions: 20 }).map((x) => x + 1).sum();
  const pending = big.compute({ signal: controller.signal, delayMs: 20, onEvent: (e) => events.push(e) });
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(pending, (e) => e.kind === 'cancelled');
  const finished = events.filter((e) => e.type === 'task_finished').length;
  assert.ok(finished < 40, `stopped early (${finished} tasks ran)`);
  assert.equal(await big.compute(), 820);
});

test('persist keeps partitions: the next computation does not recompute them', async () => {
  const squares = ctx.bag.fromSequence([...Array(12).keys()], { npartitions: 3 }).map((x) => x * x);
  await squares.persist({ optimize: false });
  const events = [];
  const total = await squares.sum().compute({ onEvent: (e) => events.push(e), optimize: false });
  assert.equal(total, 506);
  const ran = events.filter((e) => e.type === 'task_finished').map((e) => e.key);
  assert.ok(ran.every((k) => !k.includes('from_sequence')), ran.join(' '));
});

test('graph and visualize return the task graph', async () => {
  const f = ctx.bag.fromSequence(letters, { npartitions: 2 }).frequencies();
  const g = await f.graph();
  assert.deepEqual(g.layers.map((l) => l.label), ['from_sequence', 'frequencies-part', 'frequencies-aggregate']);
  const { raw, optimized } = await f.visualize();
  assert.equal(raw.tasks.length, 5);
  assert.equal(optimized.tasks.length, 3);
  const dask = await ctx.graph(f, { format: 'dask' });
  assert.match(dask, /\('frequencies-part-[0-9a-f]+', 0\): \(frequencies-part, \('from_sequence-/);
});

test('step mode runs one task at a time and shows the ready set', async () => {
  const f = ctx.bag.fromSequence(letters, { npartitions: 2 }).frequencies();
  const events = [];
  const stepper = await ctx.stepper(f, { optimize: false, onEvent: (e) => events.push(e) });
  assert.equal(stepper.ready.length, 2);
  let steps = 0;
  while (!stepper.done) {
    const state = await stepper.step();
    steps += 1;
    assert.equal(state.states[state.task], 'done');
  }
  assert.equal(steps, 5);
  assert.deepEqual(await stepper.result, [[['A', 2], ['B', 6]]]);
  assert.equal(events.filter((e) => e.type === 'task_finished').length, 5);
});

test('delayed: calls on literals and on other delayed values, shared work once', async () => {
  const inc = ctx.delayed((x) => x + 1, { name: 'inc' });
  const add = ctx.delayed((a, b) => a + b, { name: 'add' });
  const a = inc(10);
  const total = add(a, inc(a));
  const events = [];
  const [t, x] = await ctx.compute(total, a, { onEvent: (e) => events.push(e) });
  assert.deepEqual([t, x], [23, 11]);
  const incRuns = events.filter((e) => e.type === 'task_finished' && e.key.startsWith("'inc-"));
  assert.equal(incRuns.length, 2, 'inc(10) once, inc(a) once');
});

test('futures: submit, map, gather, asCompleted, retries, cancel', async () => {
  const a = ctx.submit((x) => x + 1, 1);
  const b = ctx.submit((x, y) => x * y, a, 10);
  assert.equal(await b.result(), 20);
  assert.equal(a.status, 'finished');
  const squares = ctx.map((x) => x * x, [1, 2, 3, 4]);
  assert.deepEqual(await ctx.gather(squares), [1, 4, 9, 16]);
  const seen = [];
  for await (const f of ctx.asCompleted(squares)) seen.push(await f.result());
  assert.deepEqual(seen.sort((p, q) => p - q), [1, 4, 9, 16]);
  const bad = ctx.submitWith({ retries: 2 }, (x) => x / 0, 1);
  const err = await bad.exception();
  assert.equal(err.kind, 'eval');
  assert.equal(bad.status, 'error');
  const slow = ctx.submit('x => x', 5);
  slow.cancel();
  await assert.rejects(slow.result(), (e) => e.kind === 'cancelled');
});
