// A tiny app imports the package through Vite (a bare `import { start } from 'partita'`),
// is built, and runs in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, screenshot } from './helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const app = path.join(root, 'tests/vite-app');

let env;
before(async () => {
  // Install the package into the app as `npm install ../..` would: a link in node_modules.
  mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  rmSync(path.join(app, 'node_modules/partita'), { force: true, recursive: true });
  symlinkSync(path.relative(path.join(app, 'node_modules'), root), path.join(app, 'node_modules/partita'));
  const build = spawnSync(path.join(root, 'node_modules/.bin/vite'), ['build'], { cwd: app, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  env = await setup({ isolation: false });
});
after(async () => {
  await env?.close();
});

test('the package works through a bundler', async () => {
  const page = await env.open('/tests/vite-app/dist/index.html');
  await page.waitForFunction(() => window.viteResult !== undefined, null, { timeout: 30_000 });
  const result = await page.evaluate(() => window.viteResult);
  assert.deepEqual(result, { bundle: 'single', counts: [['A', 2], ['B', 6]], total: 30 });
  await screenshot(page, 'vite-app');
  assert.deepEqual(page.errors, []);
});
