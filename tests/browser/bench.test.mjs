// The browser benchmark page: both bundles run workloads in the engine Worker and give
// the checksums the peers computed in Python (docs/benchmarks.md, scale 0.01).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { setup, screenshot } from './helpers.mjs';

// From bench/peers.py (pandas, NumPy, Python) at scale 0.01.
const EXPECTED = { W1b: 270672, W1e: 329, W2e: 0.2885024775364062, W3a: 251306316.6166702, 'W4-10000': 10000 };

let env;
before(async () => {
  env = await setup();
});
after(() => env?.close());

for (const bundle of ['threads', 'single']) {
  test(`the bench page runs workloads with the ${bundle} bundle and agrees with the peers`, async () => {
    const page = await env.open(`/bench.html?bundle=${bundle}&workers=2&only=W1b,W1e,W2e,W3a,W4-10000&scale=0.01&arrayScale=0.01&repeat=1`);
    await page.waitForFunction(() => window.benchDone === true, null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => window.benchError), undefined);
    const lines = await page.evaluate(() => window.benchLines);
    assert.deepEqual(lines.filter((l) => l.error), []);
    assert.deepEqual(lines.map((l) => l.workload), ['W1b', 'W1e', 'W2e', 'W3a', 'W4-10000', 'W4-10000']);
    for (const l of lines) {
      const want = EXPECTED[l.workload];
      assert.ok(Math.abs(l.checksum - want) <= 1e-9 * Math.abs(want), `${l.workload}: ${l.checksum} vs ${want}`);
      assert.ok(l.seconds > 0 && l.runs === 1 && l.scale === 0.01);
      // One timed run is its own fastest and slowest.
      assert.ok(l.fastest === l.seconds && l.slowest === l.seconds, `${l.workload}: ${l.fastest} ${l.seconds} ${l.slowest}`);
      // Small runs: the second-long warm-up repeats them, up to its cap.
      assert.ok(l.warmups > 1 && l.warmups <= 50, `${l.workload}: ${l.warmups} warm-up runs`);
    }
    assert.deepEqual([...new Set(lines.map((l) => l.engine))], [`partita-wasm-${bundle}`, `partita-wasm-${bundle}-sync`]);
    assert.ok(lines.at(-1).us_per_task > 0);
    assert.match(await page.locator('#status').innerText(), new RegExp(`^done: ${bundle} bundle, 2 workers`));
    assert.equal(await page.locator('#results tbody tr').count(), 6);
    await screenshot(page, `bench-page-${bundle}`);
    assert.deepEqual(page.errors, []);
  });
}

test('the browser runner measures each workload in both bundles in turn', async () => {
  const script = new URL('../../scripts/bench-browser.mjs', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--only', 'W1b,W2e,W4-10000', '--scale', '0.01', '--array-scale', '0.01', '--repeat', '1', '--workers', '2'], { timeout: 180_000 });
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  // Workload by workload, the bundle that goes first alternates.
  assert.deepEqual(lines.map((l) => `${l.workload} ${l.engine}`), [
    'W1b partita-wasm-threads',
    'W1b partita-wasm-single',
    'W2e partita-wasm-single',
    'W2e partita-wasm-threads',
    'W4-10000 partita-wasm-threads',
    'W4-10000 partita-wasm-threads-sync',
    'W4-10000 partita-wasm-single',
    'W4-10000 partita-wasm-single-sync',
  ]);
  for (const l of lines) {
    const want = EXPECTED[l.workload];
    assert.ok(Math.abs(l.checksum - want) <= 1e-9 * Math.abs(want), `${l.workload} ${l.engine}: ${l.checksum} vs ${want}`);
    assert.equal(l.workers, l.engine.endsWith('-sync') ? 1 : 2);
  }
});

test('npm run bench measures each workload natively, in both bundles and in the peers before the next', async () => {
  const root = new URL('../../', import.meta.url).pathname;
  const out = mkdtempSync(`${os.tmpdir()}/bench-all-`);
  // The oracle tests' interpreter has pandas, NumPy and Dask; Polars and DuckDB are left out.
  const { stderr } = await promisify(execFile)(process.execPath, [`${root}scripts/bench-all.mjs`, '--out', out, '--only', 'W1b,W2e,W4-10000',
    '--scale', '0.01', '--array-scale', '0.01', '--repeat', '1', '--python', `${root}.venv/bin/python`, '--engines', 'pandas,numpy,python,dask-sync'], { timeout: 300_000 });
  const progress = stderr.split('\n').filter((l) => /^bench: W/.test(l)).map((l) => l.replace(/ \(\d of 3\)/, ''));
  assert.deepEqual(progress, ['W1b', 'W2e', 'W4-10000'].flatMap((w) => ['native', 'browser', 'peers'].map((p) => `bench: ${w}: ${p}`)));
  const read = (name) => readFileSync(`${out}/${name}.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const native = read('native');
  const browser = read('browser');
  const peers = read('peers');
  // Native lines come workload by workload: each collection workload at every worker count.
  assert.deepEqual([...new Set(native.map((l) => l.workload))], ['W1b', 'W2e', 'W4-10000']);
  assert.deepEqual(native.filter((l) => l.workload === 'W4-10000').map((l) => l.engine), ['partita-threads', 'partita-sync']);
  assert.deepEqual(browser.map((l) => `${l.workload} ${l.engine}`), [
    'W1b partita-wasm-threads', 'W1b partita-wasm-single', 'W2e partita-wasm-single', 'W2e partita-wasm-threads',
    'W4-10000 partita-wasm-threads', 'W4-10000 partita-wasm-threads-sync', 'W4-10000 partita-wasm-single', 'W4-10000 partita-wasm-single-sync',
  ]);
  // The peers run in the order --engines gives, each where it is a peer.
  assert.deepEqual(peers.map((l) => `${l.workload} ${l.engine}`), [
    'W1b pandas', 'W1b python', 'W1b dask-sync', 'W2e numpy', 'W2e dask-sync', 'W4-10000 dask-sync',
  ]);
  for (const l of [...native, ...browser, ...peers]) {
    const want = EXPECTED[l.workload];
    assert.ok(Math.abs(l.checksum - want) <= 1e-9 * Math.abs(want), `${l.workload} ${l.engine}: ${l.checksum} vs ${want}`);
  }
  assert.ok(existsSync(`${out}/bench-page-threads.png`) && existsSync(`${out}/bench-page-single.png`));
});
