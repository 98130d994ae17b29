// Shared set-up for browser tests: Debian's Chromium driven by playwright-core, the
// project's server on a free port, console errors collected, screenshots saved.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium with a fresh profile; `close()` removes it. */
export async function launchBrowser() {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'partita-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A server plus a browser for one test file. */
export async function setup({ isolation = true } = {}) {
  const server = await startServer({ port: 0, isolation });
  const browser = await launchBrowser();
  return {
    server,
    browser,
    /** Opens a page and records its console errors and page errors in `page.errors`. */
    async open(urlPath) {
      const page = await browser.context.newPage();
      page.errors = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && !/favicon\.ico/.test(m.location()?.url ?? '')) page.errors.push(m.text());
      });
      page.on('pageerror', (e) => page.errors.push(e.message));
      await page.goto(server.url + urlPath);
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Saves a screenshot as tests/artifacts/<name>.png. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
