// The browser benchmark page: both bundles run workloads in the engine Worker and give
// the checksums the peers computed in Python (docs/benchmarks.md, scale 0.01).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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
