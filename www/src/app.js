// The playground page: lessons on the left, the notebook in the middle, the live views of
// the running computation on the right, and the controls on top.
import { Cell, Session, lessonScope } from './notebook.js';
import { loadIndex, loadLesson } from './lessons.js';

const partita = await import(new URL('/js/index.js', import.meta.url).href);
const LESSONS = new URL('/lessons/', import.meta.url);
const $ = (sel) => document.querySelector(sel);

const controls = {
  workers: $('#workers'),
  delay: $('#delay'),
  delayValue: $('#delay-value'),
  scheduler: $('#scheduler'),
  step: $('#step-mode'),
  stepButton: $('#step'),
  optimize: $('#optimize'),
  runAll: $('#run-all'),
  badge: $('#bundle-badge'),
};

const hardware = navigator.hardwareConcurrency || 2;
for (let w = 1; w <= hardware; w++) {
  const o = document.createElement('option');
  o.value = String(w);
  o.textContent = `${w} worker${w === 1 ? '' : 's'}`;
  controls.workers.appendChild(o);
}
controls.workers.value = String(Math.min(2, hardware));

const session = new Session(partita, {
  views: { graph: $('#graph'), stream: $('#stream'), progress: $('#progress'), workers: $('#workers-view') },
  settings: () => ({
    delayMs: Number(controls.delay.value),
    scheduler: controls.scheduler.value,
    step: controls.step.checked,
    optimize: controls.optimize.checked,
  }),
  onStepState: ({ active, ready }) => {
    controls.stepButton.disabled = !active;
    controls.stepButton.textContent = active ? `Step (${ready} ready)` : 'Step';
  },
  onEngine: (info) => {
    controls.badge.textContent = info.bundle === 'threads' ? `${info.threads} threads` : `${info.workers} simulated workers on one thread`;
    controls.badge.className = `badge ${info.bundle}`;
    controls.badge.title = info.reason;
    $('#bundle-reason').textContent = info.reason;
  },
});

controls.delay.addEventListener('input', () => {
  controls.delayValue.textContent = `${controls.delay.value} ms`;
});
controls.stepButton.addEventListener('click', () => session.step());
controls.workers.addEventListener('change', async () => {
  await session.start(Number(controls.workers.value));
  $('#notice').textContent = `Engine restarted with ${controls.workers.value} workers: run the cells again.`;
});
document.addEventListener('keydown', (e) => {
  // "." steps when step mode waits, from anywhere but an editor.
  if (e.key === '.' && !e.target.closest?.('.cm-editor') && !controls.stepButton.disabled) {
    e.preventDefault();
    session.step();
  }
});

let cells = [];

async function showLesson(id, cellToShow) {
  const lesson = await loadLesson(LESSONS, id);
  document.title = `${lesson.title} · partita`;
  for (const a of document.querySelectorAll('#lessons a')) a.setAttribute('aria-current', a.dataset.id === id ? 'page' : 'false');
  const main = $('#notebook');
  main.replaceChildren();
  const scope = lessonScope(session);
  cells = [];
  for (const block of lesson.blocks) {
    if (block.type === 'prose') {
      const div = document.createElement('div');
      div.className = 'prose';
      div.innerHTML = block.html;
      main.appendChild(div);
    } else {
      cells.push(new Cell({ lesson: id, index: block.index, code: block.code, session, scope, container: main }));
    }
  }
  if (cellToShow) document.getElementById(`cell-${cellToShow}`)?.scrollIntoView({ block: 'start' });
}

controls.runAll.addEventListener('click', async () => {
  controls.runAll.disabled = true;
  try {
    for (const c of cells) await c.run();
  } finally {
    controls.runAll.disabled = false;
  }
});

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { lesson: params.get('lesson'), cell: params.get('cell') };
}

const index = await loadIndex(LESSONS);
const nav = $('#lessons');
for (const l of index.lessons) {
  const a = document.createElement('a');
  a.href = `#lesson=${l.id}`;
  a.dataset.id = l.id;
  a.textContent = l.title;
  nav.appendChild(a);
}
await session.start(Number(controls.workers.value));
let current = null;
async function onRoute() {
  const r = route();
  const id = r.lesson ?? index.lessons[0].id;
  if (id !== current) {
    current = id;
    await showLesson(id, r.cell);
  } else if (r.cell) {
    document.getElementById(`cell-${r.cell}`)?.scrollIntoView({ block: 'start' });
  }
}
window.addEventListener('hashchange', onRoute);
await onRoute();
session.draw();
window.playground = { session, cells: () => cells, ready: true };
document.body.dataset.ready = 'true';
