#!/usr/bin/env node
// `npm run bench`'s runner (called by scripts/bench.sh after the builds): measures each
// workload natively (`partita bench`), in Chromium with both wasm bundles and in the peers
// (bench/peers.py) before going on to the next one. A shared machine's speed drifts over
// minutes; this way every figure of one workload's row is measured within a minute or so
// of the others, and their ratios carry little of that drift.
// Options: --out DIR (native.jsonl, browser.jsonl, peers.jsonl and the page screenshots)
//          --only W1,W3a  --scale 1  --repeat 3  --array-scale 0.25
//          --engines pandas,numpy (the peers to run)  --python PATH (runs the peers with
//          this interpreter as it is, instead of in the virtualenv peers.py makes)
import { spawn, execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { startServer } from './serve.mjs';
import { launchBrowser } from '../tests/browser/helpers.mjs';
import { lineReporter, openBenchPages, option } from './bench-browser.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = option('out', path.join(root, 'bench/out'));
const only = option('only', '');
const scale = option('scale', '1');
const repeat = option('repeat', '3');
const arrayScale = option('array-scale', '0.25');
const engines = option('engines', '');
const python = option('python', null);
const native = path.join(root, 'target/release/partita');

mkdirSync(out, { recursive: true });
const files = {};
for (const name of ['native', 'browser', 'peers']) {
  files[name] = path.join(out, `${name}.jsonl`);
  writeFileSync(files[name], '');
}
const append = (name, line) => appendFileSync(files[name], JSON.stringify(line) + '\n');
const log = (text) => console.error(`bench: ${text}`);

/** bench/peers.py kept running (`--serve`), so each group's data is made once. */
function startPeers() {
  const args = [path.join(root, 'bench/peers.py'), '--serve', '--scale', scale, '--repeat', repeat];
  if (engines) args.push('--engines', engines);
  if (python) args.push('--no-venv');
  const child = spawn(python ?? 'python3', args, {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  let waiting = null;
  let exitCode = null;
  const exited = new Promise((resolve) => {
    child.on('close', resolve);
    child.on('error', (e) => {
      log(`cannot start peers.py: ${e.message}`);
      resolve(-1);
    });
  }).then((code) => {
    exitCode = code;
    waiting?.reject(new Error(`peers.py stopped (exit code ${code})`));
    return code;
  });
  lines.on('line', (text) => {
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      if (text.trim()) log(`peers.py printed a line that is not JSON: ${text}`);
      return;
    }
    if (line.done !== undefined) {
      waiting?.resolve();
      waiting = null;
    } else {
      append('peers', line);
    }
  });
  return {
    get stopped() {
      return exitCode !== null;
    },
    run(workload) {
      return new Promise((resolve, reject) => {
        if (exitCode !== null) return reject(new Error(`peers.py stopped (exit code ${exitCode})`));
        waiting = { resolve, reject };
        child.stdin.write(`${workload}\n`);
      });
    },
    close() {
      child.stdin.end();
      return exited;
    },
  };
}

const report = lineReporter((line) => append('browser', line));
const server = await startServer({ port: 0, isolation: true });
const browser = await launchBrowser();
const peers = startPeers();
try {
  const pages = await openBenchPages(browser, server.url, {
    bundles: ['threads', 'single'],
    params: { workers: String(os.availableParallelism()), scale, arrayScale, repeat, only },
    onError: report.error,
  });
  // The page resolves --only as partita bench and peers.py do (a full name, or a prefix).
  if (pages.chosen.length === 0) throw new Error(`no workload matches '${only}' or no bench page started`);
  for (const [i, workload] of pages.chosen.entries()) {
    log(`${workload} (${i + 1} of ${pages.chosen.length}): native`);
    try {
      const { stdout } = await promisify(execFile)(native, ['bench', '--only', workload, '--scale', scale, '--repeat', repeat, '--scaling'], {
        maxBuffer: 1 << 24,
      });
      for (const text of stdout.split('\n').filter((l) => l.trim())) append('native', JSON.parse(text));
    } catch (e) {
      report.error(`bench ${workload} (native): ${e.stderr || e.message}`);
    }
    log(`${workload}: browser`);
    for (const [bundle, line] of await pages.run(workload, i)) report(bundle, line);
    if (!peers.stopped) {
      log(`${workload}: peers`);
      // Without the peers (no PyPI, say) the table still shows partita's figures.
      await peers.run(workload).catch((e) => log(`${e.message}; going on without the peers`));
    }
  }
  await pages.finish(path.join(out, 'bench-page.png'));
} catch (e) {
  report.error(`bench: ${e.message}`);
} finally {
  await browser.close();
  await server.close();
  // peers.py names a checksum disagreement itself; the table is made all the same.
  const code = await peers.close();
  if (code !== 0) log(`peers.py exited with status ${code} (a checksum disagreement or an error, above)`);
}
process.exit(report.failed ? 1 : 0);
