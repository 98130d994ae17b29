#!/usr/bin/env node
// Serves the playground and the package with the headers the threaded bundle needs:
// COOP/COEP make the page cross-origin isolated, so SharedArrayBuffer and wasm threads
// work. `--no-isolation` leaves them out (the single-threaded path). Used by `npm start`
// and by the browser tests (`startServer`).
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** URL prefix -> folder of the repository. The first match wins. */
export const MOUNTS = [
  ['/js/', 'js'],
  ['/dist/', 'dist'],
  ['/lessons/', 'lessons'],
  ['/tests/', 'tests'],
  ['/vendor/', 'node_modules'],
  ['/', 'www'],
];

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.md': 'text/markdown; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

function resolve(urlPath) {
  for (const [prefix, dir] of MOUNTS) {
    if (urlPath.startsWith(prefix)) {
      const rest = urlPath.slice(prefix.length);
      const root = path.join(repo, dir);
      const file = path.resolve(root, `.${path.sep}${rest}`);
      // Never serve outside the mounted folder.
      if (file !== root && !file.startsWith(root + path.sep)) return null;
      return file;
    }
  }
  return null;
}

/** Starts the server; resolves to {url, port, close}. `port` 0 picks a free one. */
export function startServer({ port = 8080, isolation = true, host = '127.0.0.1', quiet = true } = {}) {
  const server = http.createServer(async (req, res) => {
    const headers = { 'cache-control': 'no-store', 'cross-origin-resource-policy': 'same-origin' };
    if (isolation) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    let file = resolve(urlPath);
    try {
      if (file && (await stat(file)).isDirectory()) file = path.join(file, 'index.html');
      if (!file) throw new Error('outside');
      const body = await readFile(file);
      headers['content-type'] = TYPES[path.extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
      if (!quiet) console.log(`200 ${urlPath}`);
    } catch {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(`not found: ${urlPath}`);
      if (!quiet) console.log(`404 ${urlPath}`);
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolvePromise({
        url: `http://localhost:${actual}`,
        port: actual,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  const port = portArg >= 0 ? Number(args[portArg + 1]) : Number(process.env.PORT ?? 8080);
  const isolation = !args.includes('--no-isolation');
  const { url } = await startServer({ port, isolation, quiet: !args.includes('--verbose') });
  console.log(`\n  partita playground: ${url}/\n  ${isolation ? 'cross-origin isolated (threaded bundle)' : 'no COOP/COEP (single-threaded bundle)'}; Ctrl+C to stop\n`);
}
