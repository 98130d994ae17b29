// DataFrames from JS: records in, a DataFrameResult out; predicates built from columns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, DataFrameResult } from '../../js/index.js';

let ctx;
before(async () => {
  ctx = await start({ workers: 2 });
});
after(() => ctx?.close());

const rows = [
  { name: 'Ann', dept: 'ops', salary: 52.5, remote: true },
  { name: 'Bo', dept: 'dev', salary: 61, remote: false },
  { name: 'Cy', dept: 'dev', salary: null, remote: true },
  { name: 'Di', dept: 'ops', salary: 47, remote: false },
  { name: 'Ed', dept: 'dev', salary: 70.25, remote: true },
];

test('records in, filtered rows and column reductions out', async () => {
  const df = ctx.dataframe.fromRecords(rows, { npartitions: 2 });
  const devs = df.filter(df.col('dept').eq('dev').and(df.col('salary').gt(60)));
  const [picked, sums, counts, n] = await ctx.compute(devs.select(['name', 'salary']), df.sum(), df.count(), df.len());
  assert.ok(picked instanceof DataFrameResult);
  assert.deepEqual(picked.columns, ['name', 'salary']);
  assert.deepEqual(picked.dtypes, ['string', 'float64']);
  assert.deepEqual(picked.toRecords(), [{ name: 'Bo', salary: 61 }, { name: 'Ed', salary: 70.25 }]);
  assert.equal(picked.npartitions, 2);
  assert.deepEqual(sums, { salary: 230.75, remote: 3 });
  assert.deepEqual(counts, { name: 5, dept: 5, salary: 4, remote: 5 });
  assert.equal(n, 5);
  const meta = await df.metadata();
  assert.deepEqual(meta.divisions, [0, 3, 4]);
  assert.equal(meta.known_divisions, true);
});

test('readCsv cuts blocks, head reads the first partition, bad columns are named', async () => {
  const csv = 'x,y\n' + Array.from({ length: 40 }, (_, i) => `${i},${i % 3 === 0 ? '' : i / 2}`).join('\n') + '\n';
  const df = ctx.dataframe.readCsv(csv, { blocksize: 64 });
  const meta = await df.metadata();
  assert.ok(meta.npartitions > 3, `blocks: ${meta.npartitions}`);
  assert.deepEqual(meta.dtypes, ['int64', 'float64']);
  assert.equal(meta.known_divisions, false);
  const head = await df.head(3).compute();
  assert.deepEqual(head.records, [{ x: 0, y: null }, { x: 1, y: 0.5 }, { x: 2, y: 1 }]);
  const nulls = await df.filter(df.col('y').isnull()).len().compute();
  assert.equal(nulls, 14);
  await assert.rejects(df.select(['x', 'z']).compute(), (e) => {
    assert.equal(e.kind, 'value');
    assert.match(e.message, /no column 'z'; the columns are x, y/);
    return true;
  });
  assert.equal(await df.len().compute(), 40);
});

test('groupby aggregates per group through chunk, combine and agg layers', async () => {
  const df = ctx.dataframe.fromRecords(rows, { npartitions: 3 });
  const byDept = df.groupby('dept', { splitEvery: 2 }).agg({ salary: ['sum', 'mean', 'count', 'max'], remote: 'sum' });
  const got = await byDept.compute();
  assert.ok(got instanceof DataFrameResult);
  assert.deepEqual(got.columns, ['dept', 'salary_sum', 'salary_mean', 'salary_count', 'salary_max', 'remote']);
  assert.deepEqual(got.dtypes, ['string', 'float64', 'float64', 'int64', 'float64', 'int64']);
  assert.deepEqual(got.records, [
    { dept: 'dev', salary_sum: 131.25, salary_mean: 65.625, salary_count: 2, salary_max: 70.25, remote: 2 },
    { dept: 'ops', salary_sum: 99.5, salary_mean: 49.75, salary_count: 2, salary_max: 52.5, remote: 1 },
  ]);
  const graph = await byDept.graph({ optimize: false });
  const labels = graph.layers.map((l) => `${l.label}:${l.tasks}`);
  assert.deepEqual(labels.filter((l) => l.startsWith('groupby')), ['groupby-chunk:3', 'groupby-combine:2', 'groupby-agg:1']);
  const sizes = await df.groupby(['remote']).size({ splitOut: 2 }).compute();
  assert.deepEqual(
    sizes.records.sort((a, b) => Number(a.remote) - Number(b.remote)),
    [{ remote: false, size: 2 }, { remote: true, size: 3 }],
  );
  const names = await df.groupby('dept').get('name').first().compute();
  assert.deepEqual(names.records, [{ dept: 'dev', name: 'Bo' }, { dept: 'ops', name: 'Ann' }]);
  await assert.rejects(df.groupby('dept').agg({ name: 'mean' }).compute(), /cannot take the mean of column 'name' of dtype string/);
  assert.equal(await df.len().compute(), 5);
});
