// The package's TypeScript types: a file that uses every public function compiles under
// `tsc --strict`, and misuse does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = path.join(root, 'node_modules/.bin/tsc');

function compile(project) {
  return spawnSync(tsc, ['-p', project], { cwd: root, encoding: 'utf8' });
}

test('every public function type-checks under --strict', () => {
  const r = compile('tests/types/tsconfig.json');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('misuse is a type error', () => {
  const r = compile('tests/types/tsconfig.bad.json');
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /bad\.ts\(5,\d+\): error TS2322/);
  assert.match(r.stdout, /bad\.ts\(6,\d+\): error TS2322/);
});
