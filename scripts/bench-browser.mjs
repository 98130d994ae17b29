#!/usr/bin/env node
// Runs www/bench.html headless in Debian's Chromium with the threaded and the
// single-threaded bundle, one workload at a time in each, and prints the JSON lines (the
// same fields as `partita bench`).
// Options: --only W1,W3a  --scale 1  --array-scale 0.25  --repeat 3  --workers N
//          --bundles threads,single  --screenshot file.png
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { startServer } from './serve.mjs';
import { launchBrowser } from '../tests/browser/helpers.mjs';

/** The value after `--name` on the command line, or `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/**
 * Opens www/bench.html once per bundle in `browser` (pages driven one workload at a time)
 * and returns `chosen` (the workloads `only` picks, as the page resolves it), `run(w, i)`
 * (measures w in every bundle, the bundle that goes first alternating with i; resolves to
 * [bundle, line] pairs) and `finish(shot)` (screenshots, closes). A page that fails to
 * start is reported through `onError` and left out.
 */
export async function openBenchPages(browser, url, { bundles, params, onError }) {
  const pages = [];
  for (const bundle of bundles) {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => onError(`bench page (${bundle}): ${e.message}`));
    const query = new URLSearchParams(params);
    query.set('bundle', bundle);
    query.set('driven', '1');
    await page.goto(`${url}/bench.html?${query}`);
    await page.waitForFunction(() => window.benchDone === true, null, { timeout: 10 * 60 * 1000, polling: 100 });
    const error = await page.evaluate(() => window.benchError);
    if (error) {
      onError(`bench page (${bundle}): ${error}`);
      await page.close();
    } else {
      pages.push({ bundle, page });
    }
  }
  const chosen = pages.length > 0 ? await pages[0].page.evaluate(() => window.benchChosen) : [];
  return {
    chosen,
    async run(workload, i) {
      const out = [];
      for (const { page, bundle } of i % 2 === 0 ? pages : [...pages].reverse()) {
        for (const line of await page.evaluate((w) => window.benchWorkload(w), workload)) out.push([bundle, line]);
      }
      return out;
    },
    async finish(shot) {
      for (const { bundle, page } of pages) {
        await page.evaluate(() => window.benchFinish());
        if (shot) await page.screenshot({ path: shot.replace(/(\.png)?$/, `-${bundle}.png`), fullPage: true });
        await page.close();
      }
    },
  };
}

/**
 * Prints a page's line with `print`, or its error; `error(text)` reports any other
 * failure. `failed` says whether there was one.
 */
export function lineReporter(print = (line) => console.log(JSON.stringify(line))) {
  const reporter = (bundle, line) => {
    if (line.error) reporter.error(`bench ${line.workload} (${line.engine}): ${line.error}`);
    else print(line);
  };
  reporter.failed = false;
  reporter.error = (text) => {
    console.error(text);
    reporter.failed = true;
  };
  return reporter;
}

async function main() {
  const bundles = option('bundles', 'threads,single').split(',');
  const params = {
    workers: option('workers', String(os.availableParallelism())),
    scale: option('scale', '1'),
    arrayScale: option('array-scale', '0.25'),
    repeat: option('repeat', '3'),
    only: option('only', ''),
  };
  const shot = option('screenshot', null);
  const server = await startServer({ port: 0, isolation: true });
  const browser = await launchBrowser();
  const report = lineReporter();
  try {
    // One page per bundle, both open: each workload is measured in one bundle and then the
    // other, so the machine's drift during the run falls on both bundles alike.
    const pages = await openBenchPages(browser, server.url, { bundles, params, onError: report.error });
    for (const [i, workload] of pages.chosen.entries()) {
      for (const [bundle, line] of await pages.run(workload, i)) report(bundle, line);
    }
    await pages.finish(shot);
  } finally {
    await browser.close();
    await server.close();
  }
  process.exit(report.failed ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
