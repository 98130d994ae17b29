// Merges, the index and row order from JS: merge/join, setIndex, sortValues, loc and
// repartition; results name their index and report divisions a task computed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, DataFrameResult } from '../../js/index.js';

let ctx;
before(async () => {
  ctx = await start({ workers: 2 });
});
after(() => ctx?.close());

const people = [
  { id: 1, name: 'Ann', dept: 'ops' },
  { id: 2, name: 'Bo', dept: 'dev' },
  { id: 3, name: 'Cy', dept: 'dev' },
  { id: 4, name: 'Di', dept: null },
];
const depts = [
  { dept: 'ops', floor: 1 },
  { dept: 'dev', floor: 2 },
  { dept: 'hr', floor: 3 },
];
const byId = (rows) => [...rows].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));

test('merge: every how, broadcast and shuffle joins, pandas column order', async () => {
  const left = ctx.dataframe.fromRecords(people, { npartitions: 2 });
  const right = ctx.dataframe.fromRecords(depts, { npartitions: 1 });
  const [inner, leftJoin, outer] = await ctx.compute(
    left.merge(right, { on: 'dept' }),
    left.merge(right, { on: 'dept', how: 'left' }),
    left.merge(right, { on: 'dept', how: 'outer' }),
  );
  assert.ok(inner instanceof DataFrameResult);
  assert.deepEqual(inner.columns, ['id', 'name', 'dept', 'floor']);
  assert.deepEqual(inner.dtypes, ['int64', 'string', 'string', 'int64']);
  assert.equal(inner.index, null);
  assert.equal(inner.divisions, null);
  assert.deepEqual(byId(inner.records), [
    { id: 1, name: 'Ann', dept: 'ops', floor: 1 },
    { id: 2, name: 'Bo', dept: 'dev', floor: 2 },
    { id: 3, name: 'Cy', dept: 'dev', floor: 2 },
  ]);
  assert.deepEqual(byId(leftJoin.records).at(-1), { id: 4, name: 'Di', dept: null, floor: null });
  assert.equal(leftJoin.length, 4);
  // Outer joins cannot broadcast: both sides are shuffled into max(npartitions) = 2.
  assert.equal(outer.npartitions, 2);
  assert.deepEqual(byId(outer.records).at(-1), { id: null, name: null, dept: 'hr', floor: 3 });
  assert.equal(outer.length, 5);
  const plain = await left.merge(right, { on: 'dept' }).metadata();
  const shuffled = await left.merge(right, { on: 'dept', how: 'outer' }).metadata();
  assert.ok(shuffled.tasks > plain.tasks, `${shuffled.tasks} > ${plain.tasks}`);
});

test('join is a left merge on a key; suffixes name overlapping columns', async () => {
  const left = ctx.dataframe.fromRecords(people, { npartitions: 2 });
  const other = ctx.dataframe.fromRecords([{ id: 1, name: 'A1' }, { id: 3, name: 'C3' }], { npartitions: 2 });
  const joined = await left.join(other, { on: 'id' }).compute();
  assert.deepEqual(joined.columns, ['id', 'name_x', 'dept', 'name_y']);
  assert.deepEqual(byId(joined.records).map((r) => r.name_y), ['A1', null, 'C3', null]);
  const custom = await left.merge(other, { on: 'id', suffixes: ['_l', '_r'] }).compute();
  assert.deepEqual(custom.columns, ['id', 'name_l', 'dept', 'name_r']);
  assert.equal(custom.length, 2);
});

test('merge errors name the keys and dtypes, and the engine goes on', async () => {
  const left = ctx.dataframe.fromRecords(people, { npartitions: 2 });
  const stringIds = ctx.dataframe.fromRecords([{ id: '1', x: 1 }]);
  await assert.rejects(left.merge(stringIds, { on: 'id' }).compute(), (e) => {
    assert.equal(e.kind, 'type');
    assert.match(e.message, /the left key 'id' is int64 but the right key 'id' is string/);
    return true;
  });
  await assert.rejects(left.merge(stringIds, { on: 'nope' }).compute(), (e) => {
    assert.equal(e.kind, 'value');
    assert.match(e.message, /no column 'nope' on the left; the columns are id, name, dept/);
    return true;
  });
  assert.equal(await left.len().compute(), 4);
});

const scores = Array.from({ length: 40 }, (_, i) => ({ i, key: (i * 7) % 40, grp: ['a', 'b', 'c'][i % 3] }));

test('setIndex computes divisions in the graph; the result reports them and names its index', async () => {
  const df = ctx.dataframe.fromRecords(scores, { npartitions: 4 });
  const indexed = df.setIndex('key');
  const meta = await indexed.metadata();
  assert.equal(meta.index, 'key');
  assert.equal(meta.known_divisions, false);
  const out = await indexed.compute();
  assert.equal(out.index, 'key');
  assert.equal(out.columns[0], 'key');
  assert.deepEqual(
    out.records.map((r) => r.key),
    Array.from({ length: 40 }, (_, k) => k),
  );
  assert.equal(out.divisions.length, 5);
  assert.equal(out.divisions[0], 0);
  assert.equal(out.divisions[4], 39);
  // Given divisions are known at once, and loc reads only the partitions that can hold the labels.
  const given = df.setIndex('key', { divisions: [0, 10, 20, 30, 39] });
  assert.deepEqual((await given.metadata()).divisions, [0, 10, 20, 30, 39]);
  const slice = given.loc({ start: 12, stop: 21 });
  const sliceMeta = await slice.metadata();
  assert.equal(sliceMeta.npartitions, 2);
  assert.deepEqual(sliceMeta.divisions, [12, 20, 21]);
  const rows = await slice.compute();
  assert.deepEqual(
    rows.records.map((r) => r.key),
    [12, 13, 14, 15, 16, 17, 18, 19, 20, 21],
  );
  const one = await given.loc(33).compute();
  assert.deepEqual(one.records, [{ key: 33, i: 39, grp: 'a' }]);
  await assert.rejects(df.loc(3).compute(), /call set_index first/);
});

test('sortValues is globally sorted and stable; repartition joins or cuts partitions', async () => {
  const df = ctx.dataframe.fromRecords(scores, { npartitions: 4 });
  const sorted = await df.sortValues('grp', { ascending: false }).compute();
  const expected = [...scores].sort((a, b) => (a.grp < b.grp ? 1 : a.grp > b.grp ? -1 : 0));
  assert.deepEqual(sorted.records, expected);
  const byTwo = await df.sortValues(['grp', 'key']).compute();
  assert.deepEqual(
    byTwo.records.slice(0, 3).map((r) => [r.grp, r.key]),
    [['a', 0], ['a', 2], ['a', 4]],
  );
  const fewer = df.repartition({ npartitions: 2 });
  const fm = await fewer.metadata();
  assert.equal(fm.npartitions, 2);
  assert.deepEqual(fm.divisions, [0, 20, 39]);
  // More partitions of a RangeIndex: Dask's interpolated divisions.
  const more = await df.repartition({ npartitions: 9 }).compute();
  assert.equal(more.npartitions, 9);
  assert.deepEqual(more.divisions, [0, 4, 8, 13, 17, 22, 26, 31, 35, 39]);
  assert.deepEqual(more.records, scores);
  // With an index column, rows are cut evenly and the divisions are unknown.
  const cut = await df.setIndex('i', { divisions: [0, 20, 39] }).repartition({ npartitions: 4 }).compute();
  assert.equal(cut.npartitions, 4);
  assert.equal(cut.divisions, null);
  assert.equal(cut.length, 40);
});
