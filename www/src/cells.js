// Running notebook cells: every cell of a lesson shares one scope (names a cell defines
// are seen by the next, as in a notebook), and a cell's last expression is its output.

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

/** A scope object for one lesson's cells. Unknown names fall back to the page's globals. */
export function makeScope(initial) {
  const store = Object.create(null);
  Object.assign(store, initial);
  return new Proxy(store, {
    has: (t, k) => typeof k === 'string' && (k in t || !(k in globalThis)),
    get: (t, k) => (k === Symbol.unscopables ? undefined : k in t ? t[k] : globalThis[k]),
    set: (t, k, v) => {
      t[k] = v;
      return true;
    },
  });
}

/** Turns top-level `const x =` / `let x =` into assignments so later cells see them, and
 *  makes the last expression the cell's value. */
export function prepare(code) {
  const lines = code.replace(/\s+$/, '').split('\n');
  const body = lines.map((l) => l.replace(/^(const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/, '$2 ='));
  // The last line is the output if it is an expression on its own.
  let i = body.length - 1;
  while (i >= 0 && body[i].trim() === '') i--;
  if (i >= 0) {
    const last = body[i].trim().replace(/;$/, '');
    const isStatement = /^(if|for|while|return|throw|try|function|class|\}|\/\/)/.test(last) || /=[^=>]/.test(last.replace(/[=!<>]=|=>/g, ''));
    if (!isStatement && last !== '') {
      try {
        // eslint-disable-next-line no-new
        new AsyncFunction(`return (${last});`);
        body[i] = `return (${last});`;
      } catch {
        // Not an expression: leave it as a statement.
      }
    }
  }
  return body.join('\n');
}

/** Runs a cell's code in the scope; resolves to its value. */
export async function runCode(code, scope) {
  const fn = new AsyncFunction('__scope', `with (__scope) {\n${prepare(code)}\n}`);
  return fn(scope);
}

/**
 * Output renderers by kind. Bags, plain values and errors are here; arrays and dataframes
 * register theirs (`renderers.array`, `renderers.frame`) when those collections land.
 */
export const renderers = {
  error(target, e) {
    target.className = 'output error';
    const head = document.createElement('div');
    head.className = 'error-head';
    head.textContent = `${e.name}${e.kind ? ` (${e.kind})` : ''}${e.key ? ` in task ${e.key}` : ''}`;
    const pre = document.createElement('pre');
    pre.textContent = e.detail ?? e.message;
    target.append(head, pre);
  },
  bag(target, items) {
    const head = document.createElement('div');
    head.className = 'bag-head';
    head.textContent = `bag of ${items.length.toLocaleString('en')} item${items.length === 1 ? '' : 's'}${items.length > 10 ? ', first 10:' : ':'}`;
    const pre = document.createElement('pre');
    pre.textContent = items.slice(0, 10).map((v) => JSON.stringify(v)).join('\n');
    target.append(head, pre);
  },
  value(target, value) {
    const pre = document.createElement('pre');
    const text = JSON.stringify(value);
    pre.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, text && text.length > 80 ? 2 : 0);
    target.append(pre);
  },
};

/** Renders a cell's value with the renderer for its kind. */
export function renderOutput(target, value, { kind } = {}) {
  target.replaceChildren();
  target.className = 'output';
  if (value instanceof Error) {
    renderers.error(target, value);
    return;
  }
  if (value === undefined) return;
  const render = renderers[kind] ?? renderers.value;
  render(target, value);
}
