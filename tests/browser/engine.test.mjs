// The engine in Chromium: bundle selection, real worker threads, cancellation, errors,
// and recovery after the engine Worker dies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './helpers.mjs';

const PAGE = '/tests/browser/fixtures/engine.html';

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

async function openEngine(env) {
  const page = await env.open(PAGE);
  await page.waitForFunction(() => window.partitaReady === true);
  return page;
}

// Runs the counting example in the page and returns info, result and finished events.
function counting(page, options) {
  return page.evaluate(async (options) => {
    const ctx = await window.partita.start({ workers: 2 });
    const events = [];
    const freq = ctx.bag.fromSequence('ABBBABBB'.split(''), { npartitions: 2 }).frequencies();
    const result = await freq.compute({ ...options, onEvent: (e) => events.push(e) });
    document.getElementById('out').textContent = `${ctx.info().bundle}: ${JSON.stringify(result)}`;
    ctx.close();
    return {
      info: ctx.info(),
      result,
      finished: events.filter((e) => e.type === 'task_finished').map((e) => ({ key: e.key, worker: e.worker, preview: e.preview })),
    };
  }, options);
}

test('with COOP/COEP the threaded bundle runs and two real workers share the partitions', async () => {
  const page = await openEngine(isolated);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const out = await counting(page, { delayMs: 80, optimize: false });
  assert.equal(out.info.bundle, 'threads');
  assert.equal(out.info.simulated, false);
  assert.equal(out.info.threads, 2);
  assert.match(out.info.reason, /cross-origin isolated/);
  assert.deepEqual(out.result, [['A', 2], ['B', 6]]);
  const parts = out.finished.filter((e) => e.key.includes('frequencies-part'));
  assert.deepEqual(parts.map((e) => e.preview), ['{A: 1, B: 3}', '{A: 1, B: 3}']);
  const workers = new Set(out.finished.map((e) => e.worker));
  assert.ok(workers.size >= 2, `events from ${workers.size} distinct workers`);
  await screenshot(page, 'engine-threads');
  assert.deepEqual(page.errors, []);
});

test('without the headers the single-threaded bundle gives the same results', async () => {
  const page = await openEngine(plain);
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  const out = await counting(page, { optimize: false });
  assert.equal(out.info.bundle, 'single');
  assert.equal(out.info.simulated, true);
  assert.match(out.info.reason, /simulated on one thread because the page is not cross-origin isolated/);
  assert.deepEqual(out.result, [['A', 2], ['B', 6]]);
  assert.deepEqual(
    out.finished.filter((e) => e.key.includes('frequencies-part')).map((e) => e.preview),
    ['{A: 1, B: 3}', '{A: 1, B: 3}'],
  );
  await screenshot(page, 'engine-single');
  assert.deepEqual(page.errors, []);
});

for (const [name, env] of [['threads', () => isolated], ['single', () => plain]]) {
  test(`${name}: an AbortSignal cancels a running computation and the engine goes on`, async () => {
    const page = await openEngine(env());
    const out = await page.evaluate(async () => {
      const ctx = await window.partita.start({ workers: 2 });
      const controller = new AbortController();
      let finished = 0;
      const bag = ctx.bag.fromSequence([...Array(40).keys()], { npartitions: 20 }).map((x) => x + 1).sum();
      const pending = bag.compute({
        signal: controller.signal,
        delayMs: 25,
        onEvent: (e) => {
          if (e.type === 'task_finished') finished += 1;
        },
      });
      setTimeout(() => controller.abort(), 120);
      let error = null;
      try {
        await pending;
      } catch (e) {
        error = { name: e.name, kind: e.kind };
      }
      const again = await bag.compute();
      ctx.close();
      return { error, finished, again };
    });
    assert.deepEqual(out.error, { name: 'EngineError', kind: 'cancelled' });
    assert.ok(out.finished < 20, `stopped early after ${out.finished} tasks`);
    assert.equal(out.again, 820);
  });

  test(`${name}: an expression error arrives as an EngineError with its caret text`, async () => {
    const page = await openEngine(env());
    const err = await page.evaluate(async () => {
      const ctx = await window.partita.start({ workers: 2 });
      try {
        await ctx.bag.fromSequence([1, 2]).map('x => x +* 2').compute();
        return null;
      } catch (e) {
        return { isEngineError: e instanceof window.partita.EngineError, kind: e.kind, message: e.message };
      } finally {
        ctx.close();
      }
    });
    assert.equal(err.isEngineError, true);
    assert.equal(err.kind, 'syntax');
    assert.match(err.message, /1:9/);
    assert.match(err.message, /x => x \+\* 2\n\s+\^/);
  });

  test(`${name}: when the engine Worker dies, pending calls reject and start() works again`, async () => {
    const page = await openEngine(env());
    const out = await page.evaluate(async () => {
      const ctx = await window.partita.start({ workers: 2 });
      const slow = ctx.bag.fromSequence([...Array(20).keys()], { npartitions: 10 }).sum().compute({ delayMs: 200 });
      const rejected = slow.then(
        () => null,
        (e) => ({ name: e.name, kind: e.kind, message: e.message }),
      );
      ctx._trap();
      const first = await rejected;
      let later = null;
      try {
        await ctx.bag.fromSequence([1]).count().compute();
      } catch (e) {
        later = e.message;
      }
      const fresh = await window.partita.start({ workers: 2 });
      const result = await fresh.bag.fromSequence([1, 2, 3]).sum().compute();
      fresh.close();
      return { first, later, result };
    });
    assert.equal(out.first.name, 'EngineError');
    assert.match(out.first.message, /engine Worker failed/);
    assert.match(out.later, /start\(\) a new engine/);
    assert.equal(out.result, 6);
  });
}
