// Embeds a runnable lesson cell, with its task graph, in any page:
//   <div data-partita-lesson="01-understanding-dask" data-partita-cell="2"></div>
//   <script type="module" src="https://…/build/embed.js"></script>
// Earlier cells of the lesson run first (silently), so the cell has what it needs. The
// embed works without COOP/COEP headers (the single-threaded bundle) and says so.
import { Cell, Session, lessonScope } from './notebook.js';
import { loadLesson } from './lessons.js';
import { runCode } from './cells.js';

const here = new URL(import.meta.url);
const partita = await import(new URL('../../js/index.js', here).href);
const LESSONS = new URL('../../lessons/', here);

const css = document.createElement('link');
css.rel = 'stylesheet';
css.href = new URL('../style.css', here).href;
document.head.appendChild(css);

const lessons = new Map();
async function lesson(id) {
  if (!lessons.has(id)) lessons.set(id, loadLesson(LESSONS, id));
  return lessons.get(id);
}

for (const host of document.querySelectorAll('[data-partita-lesson]')) {
  const id = host.dataset.partitaLesson;
  const wanted = Number(host.dataset.partitaCell ?? 1);
  host.classList.add('partita-embed');
  const info = document.createElement('p');
  info.className = 'reason';
  const cellBox = document.createElement('div');
  const graphBox = document.createElement('div');
  graphBox.className = 'graph';
  host.replaceChildren(cellBox, graphBox, info);
  const session = new Session(partita, {
    views: { graph: graphBox },
    settings: () => ({ delayMs: Number(host.dataset.partitaDelay ?? 0), scheduler: 'threads', step: false, optimize: false }),
    onEngine: (i) => {
      info.textContent =
        i.bundle === 'threads'
          ? `Running on ${i.threads} worker threads.`
          : `${i.reason.charAt(0).toUpperCase()}${i.reason.slice(1)} (${i.workers} workers).`;
    },
  });
  await session.start(Number(host.dataset.partitaWorkers ?? 2));
  const l = await lesson(id);
  const scope = lessonScope(session);
  const cells = l.blocks.filter((b) => b.type === 'cell');
  const target = cells[wanted - 1];
  if (!target) {
    cellBox.textContent = `Lesson ${id} has no cell ${wanted}.`;
    continue;
  }
  let prepared = false;
  const cell = new Cell({ lesson: `embed:${id}`, index: target.index, code: target.code, session, scope, container: cellBox });
  const run = cell.run.bind(cell);
  cell.run = async () => {
    if (!prepared) {
      for (const c of cells.slice(0, wanted - 1)) await runCode(c.code, scope);
      prepared = true;
    }
    return run();
  };
  host.partitaCell = cell;
  session.draw();
}
window.partitaEmbedsReady = true;
