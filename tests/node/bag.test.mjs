// The Bag API from JS: every method builds the plan node the engine expects (argument
// names, camelCase to snake_case) and gives the value worked out by hand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../../js/index.js';

let ctx;
before(async () => {
  ctx = await start({ workers: 2 });
});
after(() => ctx?.close());

const nums = () => ctx.bag.fromSequence([5, 3, 8, 1, 9, 2], { npartitions: 3 });

test('element-wise methods', async () => {
  const people = ctx.bag.fromSequence([{ name: 'Ada', city: 'Paris' }, { name: 'Bo' }], { npartitions: 2 });
  const [plucked, withDefault, flat, star, parts, removed, upper, zipped, mapped2] = await ctx.compute(
    people.pluck('name'),
    people.pluck('city', { default: '?' }),
    ctx.bag.fromSequence([[1, 2], [3]], { npartitions: 2 }).flatten(),
    ctx.bag.fromSequence([[2, 3], [4, 5]]).starmap((a, b) => a * b),
    nums().mapPartitions('xs => [len(xs)]'),
    nums().remove((x) => x > 4),
    ctx.bag.fromSequence(['ab', 'cD']).str.upper(),
    ctx.bag.zip(ctx.bag.range(3, { npartitions: 1 }), ctx.bag.fromSequence(['a', 'b', 'c'], { npartitions: 1 })),
    ctx.bag.range(4, { npartitions: 2 }).map((a, b) => a + b, ctx.bag.range(4, { npartitions: 2 })),
  );
  assert.deepEqual(plucked, ['Ada', 'Bo']);
  assert.deepEqual(withDefault, ['Paris', '?']);
  assert.deepEqual(flat, [1, 2, 3]);
  assert.deepEqual(star, [6, 20]);
  assert.deepEqual(parts, [2, 2, 2]);
  assert.deepEqual(removed, [3, 1, 2]);
  assert.deepEqual(upper, ['AB', 'CD']);
  assert.deepEqual(zipped, [[0, 'a'], [1, 'b'], [2, 'c']]);
  assert.deepEqual(mapped2, [0, 2, 4, 6]);
});

test('reductions', async () => {
  const b = nums();
  const out = await ctx.compute(
    b.min(), b.max(), b.mean(), b.var(), b.std({ ddof: 1 }), b.all(), b.any(),
    b.distinct(), b.topk(2), b.fold((a, x) => a + x, { initial: 100 }),
    b.foldby((x) => x % 2, (a, x) => a + x, { initial: 0 }),
    b.reduction('xs => max(xs)', 'ms => max(ms)', { splitEvery: 2 }),
    b.frequencies({ sort: true, splitEvery: 2 }),
  );
  const mean = 28 / 6;
  const variance = [5, 3, 8, 1, 9, 2].reduce((s, x) => s + (x - mean) ** 2, 0) / 6;
  assert.equal(out[0], 1);
  assert.equal(out[1], 9);
  assert.ok(Math.abs(out[2] - mean) < 1e-12);
  assert.ok(Math.abs(out[3] - variance) < 1e-12);
  assert.ok(Math.abs(out[4] - Math.sqrt((variance * 6) / 5)) < 1e-12);
  assert.deepEqual(out.slice(5, 7), [true, true]);
  assert.deepEqual(out[7], [5, 3, 8, 1, 9, 2]);
  assert.deepEqual(out[8], [9, 8]);
  // initial once per partition: 3 partitions.
  assert.equal(out[9], 28 + 300);
  assert.deepEqual(out[10], [[1, 5 + 3 + 1 + 9], [0, 8 + 2]]);
  assert.equal(out[11], 9);
  assert.equal(out[12].length, 6);
});

test('structure and shuffles', async () => {
  const b = nums();
  const [grouped, rep, took, acc, joined, cat, text, sample] = await ctx.compute(
    b.groupby((x) => x % 3, { npartitions: 2 }),
    b.repartition(2),
    b.take(3, { npartitions: 2 }),
    ctx.bag.range(5, { npartitions: 2 }).accumulate((a, x) => a + x),
    ctx.bag.fromSequence([1, 2, 3]).join(ctx.bag.fromSequence([['one', 1], ['three', 3]]), (x) => x, (p) => p[1]),
    ctx.bag.concat([b, ctx.bag.fromSequence([0])]),
    ctx.bag.readText('a b\nc\n', { blocksize: 3 }),
    ctx.bag.range(100, { npartitions: 4 }).randomSample(0.5, { randomState: 3 }),
  );
  const groups = Object.fromEntries(grouped.map(([k, v]) => [k, [...v].sort((p, q) => p - q)]));
  assert.deepEqual(groups, { 0: [3, 9], 1: [1], 2: [2, 5, 8] });
  assert.deepEqual(rep, [5, 3, 8, 1, 9, 2]);
  assert.equal(await b.repartition(2).npartitions(), 2);
  assert.deepEqual(took, [5, 3, 8]);
  assert.deepEqual(acc, [0, 1, 3, 6, 10]);
  assert.deepEqual(joined, [[['one', 1], 1], [['three', 3], 3]]);
  assert.deepEqual(cat, [5, 3, 8, 1, 9, 2, 0]);
  assert.deepEqual(text, ['a b\n', 'c\n']);
  assert.deepEqual(sample, await ctx.bag.range(100, { npartitions: 4 }).randomSample(0.5, { randomState: 3 }).compute());
  const parts = await b.toDelayed();
  assert.equal(parts.length, 3);
  assert.deepEqual(await ctx.compute(...parts), [[5, 3], [8, 1], [9, 2]]);
  assert.deepEqual(await ctx.bag.fromDelayed(parts).map((x) => x * 2).compute(), [10, 6, 16, 2, 18, 4]);
});
