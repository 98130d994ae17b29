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
