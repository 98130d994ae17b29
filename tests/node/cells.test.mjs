// How a notebook cell's code becomes a function: top-level declarations become
// assignments so later cells see them, and the last expression is the cell's value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeScope, prepare, runCode } from '../../www/src/cells.js';

test('the last expression is the value, even with a trailing comment', async () => {
  const scope = makeScope({ f: async (x) => x + 1 });
  assert.equal(await runCode('const a = 20\na + 22  // the answer', scope), 42);
  assert.equal(scope.a, 20);
  assert.equal(await runCode('a * 2;', scope), 40);
  assert.equal(await runCode('let b = a\nif (b) { b = 1 }', scope), undefined);
  assert.equal(await runCode('// only a comment', scope), undefined);
  assert.match(prepare('x = 1\nawait f(x) // hi'), /return \(await f\(x\) \/\/ hi\n\);$/);
});
