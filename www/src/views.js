// Live views of a computation, drawn from engine events only: the task graph (laid out
// by dagre), the task stream, progress per layer and the workers table.
import dagre from '@dagrejs/dagre';

const SVG = 'http://www.w3.org/2000/svg';
/** Graphs above this many tasks collapse to one box per layer. */
export const COLLAPSE_ABOVE = 300;

/** Worker colours: distinct hues; labels (w0, w1, ...) also carry identity. */
export const WORKER_COLORS = ['#2f6fd6', '#e07b00', '#1f9d55', '#c2185b', '#7b3fe4', '#00838f', '#8d6e00', '#5d4037'];
export function workerColor(w) {
  return WORKER_COLORS[w % WORKER_COLORS.length];
}

export function layerColor(name) {
  let h = 0;
  for (const c of name.replace(/-[0-9a-f]{8}\d*$/, '')) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h}, 55%, 62%)`;
}

function el(tag, attrs = {}, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

const short = (layerName) => layerName.replace(/-[0-9a-f]{8}\d*$/, '');

/** The state of one computation, folded from its events. */
export class RunState {
  constructor() {
    this.graph = null;
    this.tasks = new Map(); // id -> {state, worker, start, t, preview, error}
    this.workers = 1;
    this.scheduler = 'threads';
    this.t0 = 0;
    this.tEnd = 0;
    this.done = false;
    this.ready = new Set();
  }

  apply(e) {
    switch (e.type) {
      case 'graph_built':
        this.graph = e.graph;
        this.workers = e.workers;
        this.scheduler = e.scheduler;
        this.t0 = e.t;
        for (const t of e.graph.tasks) this.tasks.set(t.id, { state: 'waiting' });
        break;
      case 'task_started':
        Object.assign(this.task(e.task), { state: 'running', worker: e.worker, start: e.t });
        this.ready.delete(e.task);
        break;
      case 'task_finished':
        Object.assign(this.task(e.task), { state: 'done', worker: e.worker, start: e.start, t: e.t, preview: e.preview });
        break;
      case 'task_failed':
        Object.assign(this.task(e.task), { state: 'failed', worker: e.worker, t: e.t, error: e.error });
        break;
      case 'done':
        this.done = true;
        this.tEnd = e.t;
        break;
      default:
        break;
    }
    this.tEnd = Math.max(this.tEnd, e.t ?? 0);
  }

  task(id) {
    if (!this.tasks.has(id)) this.tasks.set(id, { state: 'waiting' });
    return this.tasks.get(id);
  }
}

/** The task graph: partitions side by side, reductions below, the final task at the bottom. */
export function drawGraph(container, run, { onHover } = {}) {
  container.replaceChildren();
  if (!run.graph) {
    container.textContent = 'Run a cell to see its task graph.';
    return;
  }
  const collapse = run.graph.tasks.length > COLLAPSE_ABOVE;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 14, ranksep: 34, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodeW = collapse ? 170 : 136;
  const nodeH = collapse ? 46 : 50;
  if (collapse) {
    for (const layer of run.graph.layers) g.setNode(layer.name, { width: nodeW, height: nodeH, layer });
    for (const layer of run.graph.layers) for (const dep of layer.dependencies) g.setEdge(dep, layer.name);
  } else {
    for (const t of run.graph.tasks) g.setNode(String(t.id), { width: nodeW, height: nodeH, task: t });
    for (const t of run.graph.tasks) for (const d of t.deps) g.setEdge(String(d), String(t.id));
  }
  dagre.layout(g);
  const { width, height } = g.graph();
  // Partitions read left to right: mirror the layout if dagre ordered them the other way.
  if (!collapse) {
    const first = run.graph.tasks.filter((t) => t.layer === run.graph.tasks[0]?.layer && t.index.length === 1);
    if (first.length > 1) {
      const xa = g.node(String(first[0].id)).x;
      const xb = g.node(String(first[first.length - 1].id)).x;
      if (xa > xb) {
        for (const id of g.nodes()) g.node(id).x = width - g.node(id).x;
        for (const e of g.edges()) for (const p of g.edge(e).points) p.x = width - p.x;
      }
    }
  }
  const svg = el('svg', {
    viewBox: `0 0 ${Math.max(width, 10)} ${Math.max(height, 10)}`,
    width: Math.max(width, 10),
    height: Math.max(height, 10),
    role: 'img',
    'aria-label': `task graph with ${run.graph.tasks.length} tasks`,
    class: 'graph-svg',
  });
  const edges = el('g', { class: 'edges' }, svg);
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    el('polyline', { points: pts.map((p) => `${p.x},${p.y}`).join(' '), class: 'edge' }, edges);
  }
  for (const id of g.nodes()) {
    const n = g.node(id);
    const group = el('g', { transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`, class: 'node', tabindex: 0 }, svg);
    if (collapse) {
      const layer = n.layer;
      const ids = run.graph.tasks.filter((t) => t.layer === layer.name).map((t) => t.id);
      const done = ids.filter((i) => run.tasks.get(i)?.state === 'done').length;
      el('rect', { width: n.width, height: n.height, rx: 6, class: 'task layer-box', fill: layerColor(layer.name) }, group);
      const text = el('text', { x: 8, y: 18, class: 'label' }, group);
      text.textContent = short(layer.name);
      const count = el('text', { x: 8, y: 36, class: 'preview' }, group);
      count.textContent = `${done} / ${layer.tasks} tasks done`;
      group.dataset.layer = layer.name;
      continue;
    }
    const t = n.task;
    const s = run.tasks.get(t.id) ?? { state: 'waiting' };
    const ready = run.ready.has(t.id);
    const fill = s.state === 'done' ? workerColor(s.worker) : s.state === 'failed' ? '#d32f2f' : '#ffffff';
    el('rect', {
      width: n.width,
      height: n.height,
      rx: 6,
      class: `task state-${s.state}${ready ? ' ready' : ''}`,
      fill,
      stroke: s.state === 'running' ? workerColor(s.worker) : ready ? '#f5b400' : '#7a869a',
    }, group);
    const dark = s.state === 'done' || s.state === 'failed';
    const label = el('text', { x: 6, y: 15, class: `label${dark ? ' on-dark' : ''}` }, group);
    label.textContent = truncate(`${short(t.name)} ${t.index.join(',')}`, 20);
    const sub = el('text', { x: 6, y: 31, class: `preview${dark ? ' on-dark' : ''}` }, group);
    sub.textContent =
      s.state === 'done' ? truncate(s.preview ?? '', 20) : s.state === 'running' ? `running on w${s.worker}` : s.state === 'failed' ? 'failed' : ready ? 'ready' : 'waiting';
    if (s.worker !== undefined && (s.state === 'done' || s.state === 'running')) {
      const w = el('text', { x: n.width - 6, y: 45, class: `worker-tag${dark ? ' on-dark' : ''}`, 'text-anchor': 'end' }, group);
      w.textContent = `w${s.worker}`;
    }
    const duration = s.t !== undefined && s.start !== undefined ? `${(s.t - s.start).toFixed(2)} ms` : '–';
    const title = el('title', {}, group);
    title.textContent = `${t.key}\nstate: ${s.state}\nworker: ${s.worker ?? '–'}\nduration: ${duration}${s.preview ? `\noutput: ${s.preview}` : ''}`;
    group.dataset.task = t.id;
    group.dataset.state = s.state;
    group.dataset.preview = s.preview ?? '';
    if (onHover) group.addEventListener('mouseenter', () => onHover(t, s));
  }
  container.appendChild(svg);
}

function truncate(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** The task stream: one row per worker, one bar per task, coloured by layer. */
export function drawStream(container, run) {
  container.replaceChildren();
  const rows = Math.max(run.workers, 1);
  const width = 560;
  const rowH = 22;
  const left = 34;
  const span = Math.max(run.tEnd - run.t0, 0.001);
  const svg = el('svg', { viewBox: `0 0 ${width} ${rows * rowH + 18}`, width: '100%', class: 'stream-svg', role: 'img', 'aria-label': 'task stream' });
  for (let w = 0; w < rows; w++) {
    const label = el('text', { x: 2, y: w * rowH + 15, class: 'stream-label' }, svg);
    label.textContent = `w${w}`;
    el('line', { x1: left, x2: width, y1: (w + 1) * rowH - 1, y2: (w + 1) * rowH - 1, class: 'stream-row' }, svg);
  }
  for (const [id, s] of run.tasks) {
    if (s.start === undefined || s.worker === undefined) continue;
    const end = s.t ?? run.tEnd;
    const x = left + ((s.start - run.t0) / span) * (width - left);
    const w = Math.max(((end - s.start) / span) * (width - left), 1.5);
    const layer = run.graph?.tasks[id]?.layer ?? '';
    const r = el('rect', { x, y: s.worker * rowH + 3, width: w, height: rowH - 7, fill: s.state === 'failed' ? '#d32f2f' : layerColor(layer), class: 'bar' }, svg);
    const title = el('title', {}, r);
    title.textContent = `${run.graph?.tasks[id]?.key ?? id} on w${s.worker}: ${(end - s.start).toFixed(2)} ms`;
  }
  const axis = el('text', { x: width - 2, y: rows * rowH + 14, 'text-anchor': 'end', class: 'stream-label' }, svg);
  axis.textContent = `${span.toFixed(1)} ms`;
  container.appendChild(svg);
}

/** One progress bar per layer. */
export function drawProgress(container, run) {
  container.replaceChildren();
  if (!run.graph) return;
  for (const layer of run.graph.layers) {
    const ids = run.graph.tasks.filter((t) => t.layer === layer.name).map((t) => t.id);
    const done = ids.filter((i) => run.tasks.get(i)?.state === 'done').length;
    const row = document.createElement('div');
    row.className = 'progress-row';
    const name = document.createElement('span');
    name.className = 'progress-name';
    name.textContent = short(layer.name);
    const bar = document.createElement('progress');
    bar.max = ids.length;
    bar.value = done;
    bar.setAttribute('aria-label', `${short(layer.name)}: ${done} of ${ids.length} tasks done`);
    const count = document.createElement('span');
    count.className = 'progress-count';
    count.textContent = `${done}/${ids.length}`;
    row.append(name, bar, count);
    container.appendChild(row);
  }
}

/** Tasks run and busy time per worker. */
export function drawWorkers(container, run) {
  container.replaceChildren();
  const table = document.createElement('table');
  table.className = 'workers-table';
  table.innerHTML = '<thead><tr><th>worker</th><th>tasks</th><th>busy ms</th></tr></thead>';
  const body = document.createElement('tbody');
  const stats = new Map();
  for (const s of run.tasks.values()) {
    if (s.state !== 'done' || s.worker === undefined) continue;
    const st = stats.get(s.worker) ?? { n: 0, busy: 0 };
    st.n += 1;
    st.busy += s.t - s.start;
    stats.set(s.worker, st);
  }
  for (let w = 0; w < Math.max(run.workers, 1); w++) {
    const st = stats.get(w) ?? { n: 0, busy: 0 };
    const tr = document.createElement('tr');
    tr.innerHTML = `<td><span class="swatch" style="background:${workerColor(w)}"></span>w${w}</td><td>${st.n}</td><td>${st.busy.toFixed(2)}</td>`;
    body.appendChild(tr);
  }
  table.appendChild(body);
  container.appendChild(table);
}
