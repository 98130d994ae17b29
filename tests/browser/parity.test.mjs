// Parity: the same plans give identical results from the native CLI, the threaded bundle,
// the single-threaded bundle and Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from './helpers.mjs';
import { start } from '../../js/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function cliBinary() {
  for (const p of ['target/release/partita', 'target/debug/partita']) {
    if (existsSync(path.join(root, p))) return path.join(root, p);
  }
  execFileSync('cargo', ['build', '--quiet', '--bin', 'partita'], { cwd: root, stdio: 'inherit' });
  return path.join(root, 'target/debug/partita');
}

// The example plans plus generated ones over more shapes and values.
function corpus() {
  const dir = path.join(root, 'examples/plans');
  const plans = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8'))]);
  const items = [3, -1, 4, 1, -5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3];
  const funcs = ['x => x * 3 - 1', 'lambda x: x // 2', 'x => x % 4', 'lambda x: abs(x) ** 2', 'x => x > 2 ? x : -x'];
  funcs.forEach((func, i) => {
    for (const npartitions of [1, 3, 7]) {
      plans.push([
        `generated-${i}-${npartitions}`,
        {
          version: 1,
          nodes: [
            { id: 's', op: 'bag.from_sequence', args: { items, npartitions } },
            { id: 'm', op: 'bag.map', inputs: ['s'], args: { func } },
            { id: 'f', op: 'bag.filter', inputs: ['m'], args: { predicate: 'lambda x: x % 3 != 0' } },
            { id: 'sum', op: 'bag.sum', inputs: ['f'], args: { split_every: 2 } },
            { id: 'freq', op: 'bag.frequencies', inputs: ['m'], args: { sort: true, split_every: 3 } },
          ],
          outputs: ['sum', 'freq', 'f'],
        },
      ]);
    }
  });
  plans.push([
    'strings-and-records',
    {
      version: 1,
      nodes: [
        { id: 's', op: 'bag.from_sequence', args: { items: ['  Ünïcode ', 'tab\there', 'émoji 🎉', '', 'MiXeD case'], npartitions: 2 } },
        { id: 'm', op: 'bag.map', inputs: ['s'], args: { func: "x => ({text: x.trim().toLowerCase(), n: x.length, words: x.split(' ')})" } },
        { id: 'c', op: 'delayed.call', inputs: ['m'], args: { func: "lambda rows: len(rows) + sum([1, 2])", name: 'size' } },
      ],
      outputs: ['m', 'c'],
    },
  ]);
  // CSV blocks of every kind the fast reader meets: plain ones with numbers of many
  // shapes and missing values, and ones with quotes and CRLF that go to arrow-csv.
  const shapes = (i) => [`${i}.${String(i % 997).padStart(3, '0')}`, '-0.5', '1e3', '', '123456789.123456789', `-${i % 50}`][i % 6];
  const lines = Array.from({ length: 400 }, (_, i) => {
    const k = i % 11 === 0 ? '' : String(i % 13 === 0 ? 123456789012 + i : ((i * 37) % 1000) - 500);
    const quoted = i < 300 || i % 4 !== 2 ? null : i < 350 ? '"q"' : '"a,b"';
    const s = quoted ?? `c${i % 5}`;
    return `${k},${s},${shapes(i)}${i >= 350 ? '\r\n' : '\n'}`;
  });
  plans.push([
    'csv-blocks',
    {
      version: 1,
      nodes: [
        { id: 'csv', op: 'dataframe.read_csv', args: { text: `k,s,v\n${lines.join('')}`, blocksize: 300 } },
        { id: 'g', op: 'dataframe.groupby_agg', inputs: ['csv'], args: { by: 's', agg: { v: 'sum', k: 'max' } } },
      ],
      outputs: ['csv', 'g'],
    },
  ]);
  plans.push([
    'floats',
    {
      version: 1,
      nodes: [
        { id: 's', op: 'bag.from_sequence', args: { items: [0.1, 0.2, 0.3, 1e-9, 12345.678, -2.5], npartitions: 3 } },
        { id: 'm', op: 'bag.map', inputs: ['s'], args: { func: 'x => Math.sqrt(Math.abs(x)) / 3' } },
        { id: 't', op: 'bag.sum', inputs: ['m'] },
      ],
      outputs: ['t', 'm'],
    },
  ]);
  return plans;
}

function cli(bin, plan) {
  const out = execFileSync(bin, ['run', '-', '-q', '--workers', '2'], { input: JSON.stringify(plan) }).toString();
  const value = JSON.parse(out);
  return plan.outputs.length === 1 ? [value] : value;
}

let isolated;
let plain;
before(async () => {
  isolated = await setup({ isolation: true });
  plain = await setup({ isolation: false });
});
after(async () => {
  await isolated?.close();
  await plain?.close();
});

async function inBrowser(env, plans) {
  const page = await env.open('/tests/browser/fixtures/engine.html');
  await page.waitForFunction(() => window.partitaReady === true);
  const out = await page.evaluate(async (plans) => {
    const ctx = await window.partita.start({ workers: 2 });
    const results = {};
    for (const [name, plan] of plans) results[name] = await ctx.computePlan(plan);
    const bundle = ctx.info().bundle;
    ctx.close();
    return { bundle, results };
  }, plans);
  assert.deepEqual(page.errors, []);
  return out;
}

test('a corpus of plans gives identical results natively, in both bundles and in Node', async () => {
  const plans = corpus();
  assert.ok(plans.length >= 20, `${plans.length} plans`);
  const bin = cliBinary();
  const native = Object.fromEntries(plans.map(([name, plan]) => [name, cli(bin, plan)]));
  const ctx = await start({ workers: 2 });
  const node = {};
  for (const [name, plan] of plans) node[name] = await ctx.computePlan(plan);
  ctx.close();
  const threads = await inBrowser(isolated, plans);
  const single = await inBrowser(plain, plans);
  assert.equal(threads.bundle, 'threads');
  assert.equal(single.bundle, 'single');
  // A dataframe output is compared by its rows, which is what the CLI prints.
  const rows = (outputs) => outputs.map((o) => (o && Array.isArray(o.records) ? o.records : o));
  for (const [name] of plans) {
    assert.deepEqual(rows(node[name]), native[name], `${name}: Node vs native`);
    assert.deepEqual(rows(threads.results[name]), native[name], `${name}: threaded bundle vs native`);
    assert.deepEqual(rows(single.results[name]), native[name], `${name}: single-threaded bundle vs native`);
  }
  // The counting example, spelled out.
  assert.deepEqual(native['counting.json'], [[['A', 2], ['B', 6]]]);
});
