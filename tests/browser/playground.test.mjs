// The playground in Chromium: every cell of lesson 1, the live graph with partial counts,
// step mode, slow motion, links, the embed page, and no console errors. Screenshots go to
// tests/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './helpers.mjs';

let env;
before(async () => {
  env = await setup({ isolation: true });
});
after(async () => {
  await env?.close();
});

async function openPlayground(hash = '#lesson=01-understanding-dask') {
  const page = await env.open(`/${hash}`);
  await page.waitForFunction(() => window.playground?.ready === true, null, { timeout: 30_000 });
  return page;
}

const outputOf = (page, i) => page.locator('.cell .output').nth(i).innerText();

async function runCell(page, i) {
  await page.locator('.cell').nth(i).evaluate((c) => delete c.dataset.status);
  await page.locator('.cell .run-cell').nth(i).click();
  await page.waitForFunction((i) => document.querySelectorAll('.cell')[i].dataset.status !== undefined && !document.querySelectorAll('.cell')[i].classList.contains('running'), i);
}

test('every cell of lesson 1 runs and shows its output; the graph carries the partial counts', async () => {
  const page = await openPlayground();
  assert.match(await page.locator('#bundle-badge').innerText(), /2 threads/);
  const cells = await page.locator('.cell').count();
  assert.equal(cells, 7);
  // Run all, then check each output.
  await page.locator('.cell').first().evaluate((c) => c.scrollIntoView());
  await page.locator('#run-all').click();
  await page.waitForFunction(() => [...document.querySelectorAll('.cell')].every((c) => c.dataset.status), null, { timeout: 60_000 });
  const statuses = await page.locator('.cell').evaluateAll((cs) => cs.map((c) => c.dataset.status));
  assert.deepEqual(statuses, Array(7).fill('ok'));
  assert.equal(await outputOf(page, 0), '{"A":2,"B":6}');
  assert.equal(await outputOf(page, 1), '[["A",2],["B",6]]');
  assert.match(await outputOf(page, 2), /frequencies-part: 2 task\(s\)/);
  assert.match(await outputOf(page, 3), /bag of 5 items[\s\S]*"ALICE"[\s\S]*"FEMI"/);
  const five = JSON.parse(await outputOf(page, 4));
  assert.deepEqual(five.unique, ['Paris', 'Lima', 'Oslo', 'Lagos']);
  assert.deepEqual(five.perCity[0], ['Paris', 2]);
  assert.equal(await outputOf(page, 5), '[[30,2],[20,2],[40,1],[10,1]]');
  const seven = JSON.parse(await outputOf(page, 6));
  for (const n of ['1', '2', '8']) assert.deepEqual(seven[n], [['A', 6], ['B', 18]]);

  // The counting cell again, unoptimised: one node per task, partial counts as labels.
  await page.locator('#optimize').uncheck();
  await runCell(page, 1);
  await page.waitForFunction(() => document.querySelectorAll('#graph g.node[data-state="done"]').length === 5);
  const nodes = await page.locator('#graph g.node').evaluateAll((gs) =>
    gs.map((g) => ({
      state: g.dataset.state,
      preview: g.dataset.preview,
      text: g.querySelector('.label').textContent,
      worker: g.querySelector('.worker-tag')?.textContent,
    })),
  );
  assert.equal(nodes.length, 5, 'from_sequence x2, frequencies-part x2, frequencies-aggregate');
  assert.ok(nodes.every((n) => n.state === 'done'));
  const partials = nodes.filter((n) => n.text.startsWith('frequencies-part'));
  assert.deepEqual(partials.map((n) => n.preview), ['{A: 1, B: 3}', '{A: 1, B: 3}']);
  assert.ok(nodes.some((n) => n.text.startsWith('frequencies-aggr') && n.preview === '{A: 2, B: 6}'));
  assert.ok(nodes.every((n) => /^w\d$/.test(n.worker)), 'each node names its worker, not only by colour');
  // The two source partitions are placed on the two workers, tiny as the tasks are.
  const sourceWorkers = nodes.filter((n) => n.text.startsWith('from_sequence')).map((n) => n.worker);
  assert.deepEqual([...new Set(sourceWorkers)].sort(), ['w0', 'w1'], `sources ran on ${sourceWorkers}`);
  const progress = await page.locator('#progress progress').evaluateAll((ps) => ps.map((p) => `${p.value}/${p.max}`));
  assert.deepEqual(progress, ['2/2', '2/2', '1/1']);
  await page.locator('.cell').nth(1).scrollIntoViewIfNeeded();
  await screenshot(page, 'playground-counting');
  assert.deepEqual(page.errors, []);
});

test('step mode runs the counting graph one task at a time with the ready tasks highlighted', async () => {
  const page = await openPlayground();
  await page.locator('#optimize').uncheck();
  await runCell(page, 0);
  await page.locator('#step-mode').check();
  await page.locator('.cell .run-cell').nth(1).click();
  await page.waitForFunction(() => !document.querySelector('#step').disabled);
  await page.waitForFunction(() => document.querySelectorAll('#graph rect.ready').length === 2);
  const seen = [];
  for (let i = 0; i < 5; i++) {
    const ready = await page.locator('#graph rect.ready').count();
    const done = await page.locator('#graph g.node[data-state="done"]').count();
    seen.push({ ready, done });
    await page.keyboard.press('.');
    await page.waitForFunction((d) => document.querySelectorAll('#graph g.node[data-state="done"]').length === d + 1, done);
    // Let the ready set of the next step arrive before looking again.
    await page.waitForFunction(() => document.querySelector('#step').disabled || document.querySelectorAll('#graph rect.ready').length > 0);
  }
  // Two from_sequence tasks ready at first; one task more done per step.
  assert.equal(seen[0].ready, 2);
  assert.deepEqual(seen.map((s) => s.done), [0, 1, 2, 3, 4]);
  await page.waitForFunction(() => document.querySelectorAll('.cell')[1].dataset.status === 'ok');
  assert.equal(await outputOf(page, 1), '[["A",2],["B",6]]');
  assert.deepEqual(page.errors, []);
});

test('slow motion shows tasks running on both workers mid-run', async () => {
  const page = await openPlayground();
  await page.locator('#optimize').uncheck();
  await runCell(page, 0);
  await page.locator('#delay').fill('600');
  await page.locator('.cell .run-cell').nth(1).click();
  await page.waitForFunction(() => document.querySelectorAll('#graph g.node[data-state="running"]').length >= 2, null, { timeout: 10_000 });
  const running = await page.locator('#graph g.node[data-state="running"]').count();
  assert.ok(running >= 2, `${running} tasks running at once`);
  await screenshot(page, 'playground-slow-motion');
  await page.waitForFunction(() => document.querySelectorAll('.cell')[1].dataset.status === 'ok', null, { timeout: 20_000 });
  assert.deepEqual(page.errors, []);
});

test('errors show in the cell with the caret line; edits persist and reset restores', async () => {
  const page = await openPlayground();
  const editor = page.locator('.cell .cm-content').nth(0);
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type("await ctx.bag.fromSequence([1]).map('x => x +* 2').compute()");
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction(() => document.querySelectorAll('.cell')[0].dataset.status === 'error');
  const out = await outputOf(page, 0);
  assert.match(out, /EngineError \(syntax\)/);
  assert.match(out, /x => x \+\* 2\n\s+\^/);
  await page.reload();
  await page.waitForFunction(() => window.playground?.ready === true);
  assert.match(await page.locator('.cell .cm-content').nth(0).innerText(), /x \+\* 2/);
  await page.locator('.cell .reset-cell').nth(0).click();
  assert.match(await page.locator('.cell .cm-content').nth(0).innerText(), /const letters/);
  assert.deepEqual(page.errors.filter((e) => !/EngineError/.test(e)), []);
});

test('a cell link scrolls to the cell', async () => {
  const page = await openPlayground('#lesson=01-understanding-dask&cell=6');
  await page.waitForTimeout(200);
  const top = await page.locator('#cell-6').evaluate((c) => c.getBoundingClientRect().top);
  assert.ok(top >= 0 && top < 300, `cell 6 is at the top (${top}px)`);
  assert.equal(await page.locator('#cell-6 .cell-label').getAttribute('href'), '#lesson=01-understanding-dask&cell=6');
});

test('a narrow window stacks the panels', async () => {
  const page = await openPlayground();
  await page.setViewportSize({ width: 700, height: 900 });
  const [nb, views] = await Promise.all([
    page.locator('#notebook').boundingBox(),
    page.locator('aside.views').boundingBox(),
  ]);
  assert.ok(views.y > nb.y, 'views below the notebook');
  assert.ok(nb.width > 600);
  await screenshot(page, 'playground-narrow');
});

test('the embed page runs two cells without COOP/COEP and says so', async () => {
  const plain = await setup({ isolation: false });
  try {
    const page = await plain.open('/embed-example.html');
    await page.waitForFunction(() => window.partitaEmbedsReady === true, null, { timeout: 30_000 });
    const embeds = page.locator('[data-partita-lesson]');
    assert.equal(await embeds.count(), 2);
    assert.match(await embeds.nth(0).locator('.reason').innerText(), /^Workers are simulated on one thread because the page is not cross-origin isolated/);
    await embeds.nth(0).locator('.run-cell').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-partita-lesson] .cell')[0].dataset.status === 'ok');
    assert.equal(await embeds.nth(0).locator('.output').innerText(), '[["A",2],["B",6]]');
    assert.ok((await embeds.nth(0).locator('g.node').count()) >= 3, 'the embed draws the graph');
    await embeds.nth(1).locator('.run-cell').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-partita-lesson] .cell')[1].dataset.status === 'ok', null, { timeout: 30_000 });
    assert.match(await embeds.nth(1).locator('.output').innerText(), /"8":/);
    await screenshot(page, 'embed-page');
    assert.deepEqual(page.errors, []);
  } finally {
    await plain.close();
  }
});

test('a graph of hundreds of tasks collapses to one box per layer with counts', async () => {
  const page = await openPlayground();
  await page.locator('#optimize').uncheck();
  const editor = page.locator('.cell .cm-content').nth(0);
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('await ctx.bag.fromSequence([...Array(400).keys()], { npartitions: 400 }).sum().compute()');
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction(() => document.querySelectorAll('.cell')[0].dataset.status === 'ok');
  assert.equal(await outputOf(page, 0), String((399 * 400) / 2));
  await page.waitForFunction(() => document.querySelectorAll('#graph rect.layer-box').length > 0);
  const boxes = await page.locator('#graph g.node').evaluateAll((gs) => gs.map((g) => g.textContent));
  // from_sequence, sum-part, and the aggregate levels 400 -> 50 -> 7 -> 1.
  assert.equal(boxes.length, 5, boxes.join(' | '));
  assert.ok(boxes.some((b) => b.startsWith('sum-part') && b.includes('400 / 400 tasks done')), boxes.join(' | '));
  await page.locator('.cell .reset-cell').nth(0).click();
});

test('an array cell shows shape, dtype, chunks, tasks, bytes and the chunk grid', async () => {
  const page = await openPlayground('#lesson=02-arrays');
  await page.locator('#run-all').click();
  await page.waitForFunction(() => [...document.querySelectorAll('.cell')].every((c) => c.dataset.status), null, { timeout: 60_000 });
  const statuses = await page.locator('.cell').evaluateAll((cs) => cs.map((c) => c.dataset.status));
  assert.deepEqual(statuses, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  const head = await page.locator('.cell .array-head').first().innerText();
  assert.match(head, /array \(8, 8\) float64 · chunks \(4, 4\) · 4 chunks · \d+ tasks · 512 B/);
  assert.equal(await page.locator('.cell').nth(0).locator('.chunk-grid rect.chunk').count(), 4);
  assert.match(await outputOf(page, 1), /\[\[4,4,4,4,4,4,4,4\]/);
  const third = JSON.parse(await outputOf(page, 2));
  assert.equal(third.total, 256);
  assert.deepEqual(third.perColumn, Array(8).fill(32));
  assert.equal(await page.locator('.cell').nth(3).locator('.chunk-grid rect.chunk').count(), 16);
  const meta = JSON.parse(await outputOf(page, 4));
  assert.deepEqual(meta.numblocks, [4, 4]);
  assert.equal(meta.nbytes, 8_000_000);
  assert.equal(meta.tasks, 16);
  const sixth = JSON.parse(await outputOf(page, 5));
  assert.equal(sixth.argmax, 6);
  assert.deepEqual(sixth.positive, [4, 0, 7, 7, 0, 2, 9, 0, 0]);
  assert.deepEqual(sixth.squared, [16, 1, 49, 49, 9, 4, 81, 0, 64]);
  await page.locator('.cell').nth(0).scrollIntoViewIfNeeded();
  await screenshot(page, 'playground-array');

  // The matmul cell, optimised: each output block is one task that multiplies its four
  // pairs of blocks and sums them; no matmul-part task is left.
  const matmulNodes = async () => {
    const texts = await page.locator('#graph g.node .label').allTextContents();
    return { parts: texts.filter((t) => t.startsWith('matmul-part')).length, sums: texts.filter((t) => t.startsWith('matmul-sum')).length };
  };
  await runCell(page, 3);
  await page.waitForFunction(() => document.querySelectorAll('#graph g.node[data-state="done"]').length === 48);
  assert.deepEqual(await matmulNodes(), { parts: 0, sums: 16 });
  // Unoptimised, the 64 terms and the sums over them are separate tasks.
  await page.locator('#optimize').uncheck();
  await runCell(page, 3);
  await page.waitForFunction(() => document.querySelectorAll('#graph g.node[data-state="done"]').length === 16 + 16 + 64 + 16);
  assert.deepEqual(await matmulNodes(), { parts: 64, sums: 16 });
  await page.locator('#optimize').check();
  assert.deepEqual(page.errors, []);
});

test('a dataframe cell shows a table with dtypes, npartitions and divisions', async () => {
  const page = await openPlayground('#lesson=03-dataframes');
  await page.locator('#run-all').click();
  await page.waitForFunction(() => [...document.querySelectorAll('.cell')].every((c) => c.dataset.status), null, { timeout: 60_000 });
  const statuses = await page.locator('.cell').evaluateAll((cs) => cs.map((c) => c.dataset.status));
  assert.deepEqual(statuses, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  const first = page.locator('.cell').nth(0);
  assert.equal(await first.locator('.frame-head').innerText(), 'dataframe · 12 rows × 3 columns · npartitions=3 · divisions (0, 4, 8, 11)');
  const header = await first.locator('table.frame thead tr').nth(0).locator('th').allInnerTexts();
  assert.deepEqual(header, ['', 'id', 'team', 'score']);
  const dtypes = await first.locator('table.frame tr.dtypes th').allInnerTexts();
  assert.deepEqual(dtypes, ['', 'int64', 'string', 'int64']);
  assert.equal(await first.locator('table.frame tbody tr').count(), 11, 'ten rows and an ellipsis row');
  // score = (id * 7) % 10 and team = id % 3 (0 is red): ids 1, 4, 5, 7, 8, 11 pass.
  const good = page.locator('.cell').nth(1);
  const ids = await good.locator('table.frame tbody tr td:nth-child(2)').allInnerTexts();
  assert.deepEqual(ids, ['1', '4', '5', '7', '8', '11']);
  const third = JSON.parse(await outputOf(page, 2));
  assert.deepEqual(third.sums, { id: 66, score: 52 });
  assert.equal(third.rows, 6);
  await first.scrollIntoViewIfNeeded();
  await screenshot(page, 'playground-dataframe');

  // The groupby cell: red ids 0 3 6 9 score 0 1 2 3; blue 7 8 9 0; green 4 5 6 7.
  const grouped = page.locator('.cell').nth(3);
  assert.equal(await grouped.locator('.frame-head').innerText(), 'dataframe · 3 rows × 5 columns · npartitions=1 · divisions unknown');
  const cols = await grouped.locator('table.frame thead tr').nth(0).locator('th').allInnerTexts();
  assert.deepEqual(cols, ['', 'team', 'score_sum', 'score_mean', 'score_max', 'id']);
  const rows = await grouped.locator('table.frame tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r.slice(1)), [
    ['blue', '24', '6', '9', '4'],
    ['green', '22', '5.5', '7', '4'],
    ['red', '6', '1.5', '3', '4'],
  ]);
  assert.match(await page.locator('.cell').nth(4).locator('.frame-head').innerText(), /^dataframe · 10 rows × 2 columns · npartitions=2/);
  // The merge cell: the shuffled left join keeps every row and adds the coach.
  const merged = page.locator('.cell').nth(5);
  const mergedCols = await merged.locator('table.frame thead tr').nth(0).locator('th').allInnerTexts();
  assert.deepEqual(mergedCols, ['', 'id', 'team', 'score', 'coach']);
  assert.match(await merged.locator('.frame-head').innerText(), /^dataframe · 12 rows × 4 columns · npartitions=3 · divisions unknown/);
  const coaches = await merged.locator('table.frame tbody tr td:nth-child(5)').allInnerTexts();
  assert.ok(coaches.length === 11 && coaches.slice(0, 10).every((c) => ['Ana', 'Ben', 'Cai'].includes(c)), coaches.join());
  // Its graph, one node per task: from_records x3, chunk x3, combine x2 (splitEvery 2), agg.
  await page.locator('#optimize').uncheck();
  await runCell(page, 3);
  await page.waitForFunction(() => document.querySelectorAll('#graph g.node[data-state="done"]').length === 9, null, { timeout: 30_000 });
  const labels = await page.locator('#graph g.node').evaluateAll((gs) => gs.map((g) => [g.querySelector('.label').textContent, g.dataset.preview]));
  const count = (prefix) => labels.filter(([l]) => l.startsWith(prefix)).length;
  assert.equal(count('groupby-chunk'), 3, JSON.stringify(labels));
  assert.equal(count('groupby-combine'), 2, JSON.stringify(labels));
  assert.equal(count('groupby-agg'), 1, JSON.stringify(labels));
  assert.ok(labels.some(([l, p]) => l.startsWith('groupby-agg') && p === 'DataFrame 3 rows x 5 cols'), JSON.stringify(labels));
  await grouped.scrollIntoViewIfNeeded();
  await screenshot(page, 'playground-groupby');
  await page.locator('#optimize').check();
  assert.deepEqual(page.errors, []);
});
