// Arrays from JS: results come back as NDArray (shape, dtype, typed array).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, NDArray } from '../../js/index.js';

let ctx;
before(async () => {
  ctx = await start({ workers: 2 });
});
after(() => ctx?.close());

test('array results are typed arrays with a shape', async () => {
  const x = ctx.array.arange(12, { chunks: 5 });
  const r = await x.mul(2).compute();
  assert.ok(r instanceof NDArray);
  assert.deepEqual(r.shape, [12]);
  assert.equal(r.dtype, 'int64');
  assert.ok(r.data instanceof BigInt64Array);
  assert.deepEqual(r.toList(), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
  const m = ctx.array.fromArray([[1, 2], [3, 4]], { chunks: 1 });
  const [t, s, p] = await ctx.compute(m.T, m.sum(), m.matmul(m).div(2));
  assert.deepEqual(t.toList(), [[1, 3], [2, 4]]);
  assert.equal(s.toList(), 10);
  assert.deepEqual(p.shape, [2, 2]);
  assert.ok(p.data instanceof Float64Array);
  assert.deepEqual(Array.from(p.data), [3.5, 5, 7.5, 11]);
  const mean = await ctx.array.ones([4, 6], { chunks: [2, 3] }).mean({ axis: 0 }).compute();
  assert.deepEqual(mean.toList(), [1, 1, 1, 1, 1, 1]);
  const b = await ctx.array.fromArray(new Float64Array([1, -2, 3]), { chunks: 2 }).gt(0).compute();
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toList(), [true, false, true]);
});

test('indexing reads only the blocks it needs', async () => {
  const x = ctx.array.arange(100, { chunks: 10 });
  const events = [];
  const r = await x.getitem([{ start: 12, stop: 30, step: 4 }]).compute({ onEvent: (e) => events.push(e), optimize: true });
  assert.deepEqual(r.toList(), [12, 16, 20, 24, 28]);
  const ran = events.filter((e) => e.type === 'task_finished').length;
  assert.equal(ran, 2, 'two blocks of ten are read');
  assert.deepEqual((await ctx.array.fromArray([[1, 2, 3], [4, 5, 6]], { chunks: 1 }).getitem([null, -1]).compute()).toList(), [3, 6]);
});

test('concatenate, stack, astype, clip', async () => {
  const a = ctx.array.fromArray([[1, 2], [3, 4]], { chunks: 1 });
  const [cat, st, ints, clipped] = await ctx.compute(
    ctx.array.concatenate([a, a], { axis: 1 }),
    ctx.array.stack([a, a]),
    ctx.array.fromArray([1.7, -2.2]).astype('int64'),
    a.clip(2, 3),
  );
  assert.deepEqual(cat.toList(), [[1, 2, 1, 2], [3, 4, 3, 4]]);
  assert.deepEqual(st.shape, [2, 2, 2]);
  assert.deepEqual(ints.toList(), [1, -2]);
  assert.deepEqual(clipped.toList(), [[2, 2], [3, 3]]);
});

test('array errors name both shapes and the engine goes on', async () => {
  const a = ctx.array.ones([3, 4], { chunks: 2 });
  const b = ctx.array.ones([4, 3], { chunks: 2 });
  await assert.rejects(a.add(b).compute(), (e) => e.kind === 'shape' && /shapes \(3, 4\) \(4, 3\)/.test(e.message));
  assert.deepEqual((await a.add(ctx.array.arange(4, { chunks: 3 })).compute()).toList()[0], [1, 2, 3, 4]);
  await assert.rejects(a.matmul(a).compute(), (e) => e.kind === 'shape' && /\(3, 4\) and \(3, 4\) \(4 != 3\)/.test(e.message));
  assert.equal((await a.sum().compute()).toList(), 12);
});
