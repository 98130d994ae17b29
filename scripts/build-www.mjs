// Bundles the playground and the embed script (CodeMirror, dagre, marked) with esbuild.
// The partita package itself is not bundled: the pages import it by URL, as a user
// without a bundler would.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [path.join(root, 'www/src/app.js'), path.join(root, 'www/src/embed.js')],
  outdir: path.join(root, 'www/build'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
console.log('build-www: www/build/app.js, www/build/embed.js');
