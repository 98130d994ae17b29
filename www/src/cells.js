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
        // The paren goes on its own line, so a trailing `// comment` cannot swallow it.
        new AsyncFunction(`return (${last}\n);`);
        body[i] = `return (${last}\n);`;
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
  /** Arrays: shape, dtype, chunks, tasks and bytes, the chunk grid, the first values. */
  array(target, nd, info = {}) {
    const itemsize = nd.dtype === 'bool' ? 1 : 8;
    const fmt = (s) => (s.length === 1 ? `(${s[0]},)` : `(${s.join(', ')})`);
    const head = document.createElement('div');
    head.className = 'array-head';
    const chunkShape = nd.chunks.map((c) => c[0] ?? 0);
    head.textContent = `array ${fmt(nd.shape)} ${nd.dtype} · chunks ${fmt(chunkShape)} · ${nd.chunks.reduce((n, c) => n * c.length, 1)} chunks${info.tasks ? ` · ${info.tasks} tasks` : ''} · ${formatBytes(nd.size * itemsize)}`;
    target.append(head, chunkGrid(nd.shape, nd.chunks));
    const pre = document.createElement('pre');
    const text = JSON.stringify(nd.toList());
    pre.textContent = text.length > 400 ? `${text.slice(0, 400)}…` : text;
    target.append(pre);
  },
  /** DataFrames: npartitions, divisions and an HTML table of the first rows with dtypes. */
  dataframe(target, df) {
    const MAX = 10;
    const head = document.createElement('div');
    head.className = 'frame-head';
    const divisions = df.divisions ? `divisions (${df.divisions.join(', ')})` : 'divisions unknown';
    // An index column (set_index) comes first and labels the rows, as pandas prints it.
    const index = df.index ?? null;
    const columns = index === null ? df.columns : df.columns.filter((c) => c !== index);
    const dtypes = index === null ? df.dtypes : df.dtypes.filter((_, i) => df.columns[i] !== index);
    const indexText = index === null ? '' : ` · index ${index}`;
    head.textContent = `dataframe · ${df.length.toLocaleString('en')} row${df.length === 1 ? '' : 's'} × ${columns.length} column${columns.length === 1 ? '' : 's'} · npartitions=${df.npartitions} · ${divisions}${indexText}`;
    const table = document.createElement('table');
    table.className = 'frame';
    const row = (cells, tag, cls) => {
      const tr = document.createElement('tr');
      if (cls) tr.className = cls;
      for (const c of cells) {
        const td = document.createElement(tag);
        td.textContent = c;
        tr.append(td);
      }
      return tr;
    };
    const thead = document.createElement('thead');
    const show = (v) => (v === null || v === undefined ? 'NaN' : String(v));
    thead.append(row([index ?? '', ...columns], 'th'), row(['', ...dtypes], 'th', 'dtypes'));
    const tbody = document.createElement('tbody');
    df.records.slice(0, MAX).forEach((r, i) => {
      tbody.append(row([index === null ? String(i) : show(r[index]), ...columns.map((c) => show(r[c]))], 'td'));
    });
    if (df.length > MAX) tbody.append(row(['…', ...columns.map(() => '…')], 'td', 'more'));
    table.append(thead, tbody);
    target.append(head, table);
  },
  value(target, value) {
    const pre = document.createElement('pre');
    const text = JSON.stringify(value);
    pre.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, text && text.length > 80 ? 2 : 0);
    target.append(pre);
  },
};

/** Renders a cell's value with the renderer for its kind. */
export function renderOutput(target, value, { kind, info } = {}) {
  target.replaceChildren();
  target.className = 'output';
  if (value instanceof Error) {
    renderers.error(target, value);
    return;
  }
  if (value === undefined) return;
  const isArray = value && typeof value === 'object' && Array.isArray(value.shape) && ArrayBuffer.isView(value.data);
  const isFrame = value && typeof value === 'object' && Array.isArray(value.columns) && Array.isArray(value.records);
  const render = renderers[isArray ? 'array' : isFrame ? 'dataframe' : kind] ?? renderers.value;
  render(target, value, info);
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** The chunk grid Dask draws: blocks proportional to their sizes; a 3-d sketch for 3-d. */
export function chunkGrid(shape, chunks) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('class', 'chunk-grid');
  svg.setAttribute('role', 'img');
  const rect = (x, y, w, h, cls) => {
    const r = document.createElementNS(NS, 'rect');
    r.setAttribute('x', x);
    r.setAttribute('y', y);
    r.setAttribute('width', Math.max(w, 0.5));
    r.setAttribute('height', Math.max(h, 0.5));
    r.setAttribute('class', cls);
    svg.appendChild(r);
  };
  const scale = (sizes, total, span) => sizes.map((s) => (total ? (s / total) * span : 0));
  const dims = shape.length;
  const [rows, cols] = dims >= 2 ? [chunks[dims - 2], chunks[dims - 1]] : [[1], chunks[0] ?? [1]];
  const [nr, nc] = dims >= 2 ? [shape[dims - 2], shape[dims - 1]] : [1, shape[0] ?? 1];
  const W = 160;
  const H = dims >= 2 ? Math.max(Math.min((nr / Math.max(nc, 1)) * W, 160), 24) : 24;
  const depth = dims >= 3 ? chunks[0] : [1];
  const off = dims >= 3 ? 24 : 0;
  const layers = dims >= 3 ? scale(depth, shape[0], off) : [0];
  let dz = off;
  for (let l = layers.length - 1; l >= 0; l--) {
    const hs = scale(rows, nr, H);
    const ws = scale(cols, nc, W);
    let y = dz;
    for (const h of hs) {
      let x = off - dz;
      for (const w of ws) {
        rect(x + 2, y + 2, w, h, l === 0 ? 'chunk' : 'chunk back');
        x += w;
      }
      y += h;
    }
    dz -= layers[l];
  }
  svg.setAttribute('viewBox', `0 0 ${W + off + 4} ${H + off + 4}`);
  svg.setAttribute('width', W + off + 4);
  svg.setAttribute('height', H + off + 4);
  svg.setAttribute('aria-label', `chunk grid of an array of shape ${shape.join(' x ')}`);
  return svg;
}
