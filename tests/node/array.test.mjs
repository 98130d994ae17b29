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

test('where, mapBlocks, reshape, blocks, argmin/argmax and axis tuples', async () => {
  const x = ctx.array.fromArray([[3, -1, 4], [-1, 5, -9]], { chunks: 1 });
  const [w, wn, m, r, b, amin, amax, s] = await ctx.compute(
    ctx.array.where(x.gt(0), x, 0),
    ctx.array.where(x.gt(0), 1.5, x),
    x.mapBlocks((v) => v * v + 1),
    x.reshape(3, 2),
    x.blocks.at(-1, { start: 1 }),
    x.argmin(),
    x.argmax({ axis: 1 }),
    ctx.array.ones([2, 3, 4], { chunks: 2 }).sum({ axis: [0, 2], keepdims: true }),
  );
  assert.deepEqual(w.toList(), [[3, 0, 4], [0, 5, 0]]);
  assert.equal(wn.dtype, 'float64');
  assert.deepEqual(wn.toList(), [[1.5, -1, 1.5], [-1, 1.5, -9]]);
  assert.equal(m.dtype, 'int64');
  assert.deepEqual(m.toList(), [[10, 2, 17], [2, 26, 82]]);
  assert.deepEqual(r.toList(), [[3, -1], [4, -1], [5, -9]]);
  assert.deepEqual(b.toList(), [[5, -9]]);
  assert.equal(amin.toList(), 5);
  assert.equal(amin.dtype, 'int64');
  assert.deepEqual(amax.toList(), [2, 1]);
  assert.deepEqual(s.shape, [1, 3, 1]);
  assert.deepEqual(s.toList(), [[[8], [8], [8]]]);
  // A Python lambda works the same way.
  const py = await x.mapBlocks('lambda v: v > 0').compute();
  assert.equal(py.dtype, 'bool');
});

test('metadata gives Dask\'s array attributes without computing', async () => {
  const x = ctx.array.ones([7, 9], { chunks: [3, 4] });
  const meta = await x.metadata();
  assert.deepEqual(meta.shape, [7, 9]);
  assert.equal(meta.ndim, 2);
  assert.equal(meta.dtype, 'float64');
  assert.deepEqual(meta.chunks, [[3, 3, 1], [4, 4, 1]]);
  assert.deepEqual(meta.numblocks, [3, 3]);
  assert.equal(meta.npartitions, 9);
  assert.equal(meta.nbytes, 7 * 9 * 8);
  assert.deepEqual(meta.chunksize, [3, 4]);
  assert.equal(meta.tasks, 9);
  const s = await x.sum({ axis: 0 }).metadata();
  assert.deepEqual(s.chunks, [[4, 4, 1]]);
  const bag = await ctx.bag.range(10, { npartitions: 3 }).metadata();
  assert.equal(bag.kind, 'bag');
  assert.equal(bag.npartitions, 3);
});

test('a function that returns text in mapBlocks fails with the task named and the engine goes on', async () => {
  const x = ctx.array.arange(4, { chunks: 2 });
  await assert.rejects(x.mapBlocks((v) => String(v), { dtype: 'float64' }).compute(), (e) => {
    assert.match(e.message, /must return a number or a bool/);
    assert.ok(e.key, 'the failing task is named');
    return true;
  });
  // An evaluation error shows the caret under the failing part.
  await assert.rejects(x.mapBlocks((v) => 'a' + v).compute(), /unsupported operand types for \+: 'str' and 'int'[\s\S]*\^/);
  assert.equal((await x.argmax().compute()).toList(), 3);
});
