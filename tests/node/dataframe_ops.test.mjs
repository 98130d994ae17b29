// DataFrame ops from JS: row functions as filters and new columns, column edits, missing
// values, partitions, tree reductions, CSV and Arrow IPC out, Arrow IPC, columns, arrays
// and bags in. Values match tests/oracle/test_dataframe_ops.py (pandas).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromIPC, tableFromArrays, tableToIPC } from 'apache-arrow';
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
const frame = () => ctx.dataframe.fromRecords(rows, { npartitions: 2 });
const names = (r) => r.records.map((x) => x.name);

test('filter and query take row functions, their sources and Python lambdas', async () => {
  const df = frame();
  const [a, b, c, d] = await ctx.compute(
    df.filter((r) => r.salary > 50 && r.dept == 'dev'),
    df.filter("lambda r: (r['salary'] > 50) & (r['dept'] == 'dev')"),
    df.query('lambda r: not r.remote or r.salary is None'),
    df.filter(df.col('dept').eq('ops')),
  );
  assert.ok(a instanceof DataFrameResult);
  assert.deepEqual(names(a), ['Bo', 'Ed']);
  assert.deepEqual(names(b), ['Bo', 'Ed']);
  assert.deepEqual(names(c), ['Bo', 'Cy', 'Di']);
  assert.deepEqual(names(d), ['Ann', 'Di']);
  assert.equal(a.npartitions, 2);
});

test('assign, rename, drop and astype', async () => {
  const df = frame();
  const out = await df
    .assign({ double: (r) => r.salary * 2, senior: 'lambda r: r.salary >= 60' })
    .rename({ name: 'who' })
    .drop(['dept', 'remote'])
    .astype({ salary: 'string' })
    .compute();
  assert.deepEqual(out.columns, ['who', 'salary', 'double', 'senior']);
  assert.deepEqual(out.dtypes, ['string', 'string', 'float64', 'bool']);
  assert.deepEqual(out.records, [
    { who: 'Ann', salary: '52.5', double: 105, senior: false },
    { who: 'Bo', salary: '61.0', double: 122, senior: true },
    { who: 'Cy', salary: null, double: null, senior: null },
    { who: 'Di', salary: '47.0', double: 94, senior: false },
    { who: 'Ed', salary: '70.25', double: 140.5, senior: true },
  ]);
});

test('fillna, dropna and isnull', async () => {
  const df = frame();
  const [filled, dropped, nulls] = await ctx.compute(
    df.fillna({ salary: 0 }).select(['name', 'salary']),
    df.dropna({ subset: ['salary'] }),
    df.isnull().select(['salary']),
  );
  assert.deepEqual(filled.records.map((r) => r.salary), [52.5, 61, 0, 47, 70.25]);
  assert.deepEqual(names(dropped), ['Ann', 'Bo', 'Di', 'Ed']);
  assert.deepEqual(nulls.records.map((r) => r.salary), [false, false, true, false, false]);
});

test('partitions, tail and the tree reductions', async () => {
  const df = frame();
  const [p1, last, t, counts, uniq, sd, desc, dedup] = await ctx.compute(
    df.partitions[1],
    df.partitions[-1],
    df.tail(1),
    df.valueCounts('dept', { splitEvery: 2 }),
    df.nunique(),
    df.std({ splitEvery: 2 }),
    df.describe(),
    df.dropDuplicates({ subset: ['dept', 'remote'], splitEvery: 2 }),
  );
  // Partitions of 3 and 2 rows, as dd.from_pandas cuts 5 rows into 2.
  assert.deepEqual(names(p1), ['Di', 'Ed']);
  assert.deepEqual(names(last), ['Di', 'Ed']);
  assert.deepEqual(names(t), ['Ed']);
  assert.deepEqual(counts.records, [
    { dept: 'dev', count: 3 },
    { dept: 'ops', count: 2 },
  ]);
  assert.deepEqual(uniq, { name: 5, dept: 2, salary: 4, remote: 2 });
  assert.ok(Math.abs(sd.salary - 10.1640195) < 1e-6, `std ${sd.salary}`);
  assert.ok(Math.abs(sd.remote - 0.5477226) < 1e-6, `std ${sd.remote}`);
  assert.deepEqual(Object.keys(desc), ['salary']);
  assert.equal(desc.salary.count, 4);
  assert.equal(desc.salary['50%'], 56.75);
  assert.equal(desc.salary['25%'], 51.125);
  assert.equal(desc.salary.max, 70.25);
  assert.deepEqual(names(dedup), ['Ann', 'Bo', 'Cy', 'Di']);
  const meta = await df.partitions[1].metadata();
  assert.equal(meta.npartitions, 1);
  assert.deepEqual(meta.divisions, [3, 4]);
});

test('mapPartitions maps rows to records with dtypes inferred from a fake row', async () => {
  const out = await frame()
    .mapPartitions((r) => ({ tag: r.dept + ':' + r.name, big: r.salary != null && r.salary > 55 }))
    .compute();
  assert.deepEqual(out.dtypes, ['string', 'bool']);
  assert.deepEqual(out.records[1], { tag: 'dev:Bo', big: true });
  assert.deepEqual(out.records[2], { tag: 'dev:Cy', big: false });
});

test('toCsv gives CSV text with a header', async () => {
  const csv = await frame().select(['name', 'salary']).toCsv().compute();
  assert.equal(csv, 'name,salary\nAnn,52.5\nBo,61.0\nCy,\nDi,47.0\nEd,70.25\n');
});

test('Arrow IPC out is read by apache-arrow, and comes back in', async () => {
  const df = frame();
  const bytes = await df.toArrow();
  assert.ok(bytes instanceof Uint8Array);
  const table = tableFromIPC(bytes);
  assert.equal(table.numRows, 5);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ['name', 'dept', 'salary', 'remote']);
  assert.equal(table.getChild('name').get(4), 'Ed');
  assert.equal(table.getChild('salary').get(2), null);
  assert.equal(table.getChild('salary').get(4), 70.25);
  assert.equal(table.getChild('remote').get(0), true);
  const same = await df.compute({ format: 'arrow' });
  assert.deepEqual(Array.from(same), Array.from(bytes));

  const back = await ctx.dataframe.fromArrow(bytes, { npartitions: 2 }).compute();
  assert.deepEqual(back.records, rows);
  assert.deepEqual(back.divisions, [0, 3, 4]);

  // Int32 and Float32 columns come in as int64 and float64.
  const made = tableFromArrays({ a: Int32Array.from([1, 2, 3]), b: Float32Array.from([0.5, 1.5, 2.5]) });
  const fromTable = await ctx.dataframe.fromArrow(tableToIPC(made, 'stream')).compute();
  assert.deepEqual(fromTable.dtypes, ['int64', 'float64']);
  assert.deepEqual(fromTable.records, [
    { a: 1, b: 0.5 },
    { a: 2, b: 1.5 },
    { a: 3, b: 2.5 },
  ]);
  assert.throws(() => ctx.dataframe.fromArrow(made), /tableToIPC/);
});

test('frames from columns, arrays and bags', async () => {
  const cols = ctx.dataframe.fromColumns({ x: [1, 2, 3], y: ['a', null, 'c'] }, { npartitions: 2 });
  const arr = ctx.array.fromArray(
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    { chunks: [2, 2] },
  );
  const fromArr = ctx.dataframe.fromArray(arr, { columns: ['p', 'q'] });
  const bag = ctx.bag.fromSequence([{ k: 1, v: 'a' }, { k: 2, v: 'b' }, { k: 3.5 }], { npartitions: 2 });
  const [c, a, b, m] = await ctx.compute(cols, fromArr, bag.toDataframe(), fromArr.len());
  assert.deepEqual(c.records, [
    { x: 1, y: 'a' },
    { x: 2, y: null },
    { x: 3, y: 'c' },
  ]);
  assert.deepEqual(c.divisions, [0, 2, 2]);
  assert.deepEqual(a.records, [
    { p: 1, q: 2 },
    { p: 3, q: 4 },
    { p: 5, q: 6 },
  ]);
  assert.equal(a.npartitions, 2);
  assert.deepEqual(b.dtypes, ['float64', 'string']);
  assert.deepEqual(b.records[2], { k: 3.5, v: null });
  assert.equal(m, 3);
  const mapped = bag.map((x) => ({ k: x.k })).toDataframe({ meta: { k: 'float64' } });
  assert.deepEqual((await mapped.compute()).records.map((r) => r.k), [1, 2, 3.5]);
});

test('errors name the column and the dtypes, and the engine stays usable', async () => {
  const df = frame();
  await assert.rejects(df.filter((r) => r.dept > 1).compute(), (e) => {
    assert.equal(e.kind, 'type');
    assert.match(e.message, /cannot compare column 'dept' \(string\) with 1 \(int64\)/);
    return true;
  });
  await assert.rejects(df.assign({ z: (r) => r.nope * 2 }).compute(), /no column 'nope'; the columns are name, dept, salary, remote/);
  await assert.rejects(df.filter((r) => r.name.startsWith('A')).compute(), /the method \.startsWith\(\) is not supported/);
  await assert.rejects(frame().compute({ format: 'parquet' }), /format must be 'records' or 'arrow'/);
  assert.equal(await df.len().compute(), 5);
});
