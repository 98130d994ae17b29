#!/usr/bin/env node
// Runs www/bench.html headless in Debian's Chromium with the threaded and the
// single-threaded bundle and prints the JSON lines (the same fields as `partita bench`).
// Options: --only W1,W3a  --scale 1  --array-scale 0.25  --repeat 3  --workers N
//          --bundles threads,single  --screenshot file.png
import os from 'node:os';
import { startServer } from './serve.mjs';
import { launchBrowser } from '../tests/browser/helpers.mjs';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const bundles = option('bundles', 'threads,single').split(',');
const params = new URLSearchParams({
  workers: option('workers', String(os.availableParallelism())),
  scale: option('scale', '1'),
  arrayScale: option('array-scale', '0.25'),
  repeat: option('repeat', '3'),
  only: option('only', ''),
});
const shot = option('screenshot', null);

const server = await startServer({ port: 0, isolation: true });
const browser = await launchBrowser();
let failed = false;
try {
  for (const bundle of bundles) {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`bench page (${bundle}): ${e.message}`));
    params.set('bundle', bundle);
    await page.goto(`${server.url}/bench.html?${params}`);
    await page.waitForFunction(() => window.benchDone === true, null, { timeout: 3 * 60 * 60 * 1000, polling: 1000 });
    const error = await page.evaluate(() => window.benchError);
    if (error) {
      console.error(`bench page (${bundle}): ${error}`);
      failed = true;
    }
    for (const line of await page.evaluate(() => window.benchLines)) {
      if (line.error) {
        console.error(`bench ${line.workload} (${line.engine}): ${line.error}`);
        failed = true;
      } else {
        console.log(JSON.stringify(line));
      }
    }
    if (shot) await page.screenshot({ path: shot.replace(/(\.png)?$/, `-${bundle}.png`), fullPage: true });
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
