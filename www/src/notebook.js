// A notebook: cells with a real code editor (CodeMirror), Run / Run all, outputs, edits
// kept per lesson in local storage, and the live views of the last computation. Used by
// the playground page and by embeds.
import { EditorView, basicSetup } from 'codemirror';
import { keymap } from '@codemirror/view';
import { javascript } from '@codemirror/lang-javascript';
import { Prec } from '@codemirror/state';
import { makeScope, renderOutput, runCode } from './cells.js';
import { RunState, drawGraph, drawProgress, drawStream, drawWorkers } from './views.js';

const storageKey = (lesson, cell) => `partita:${lesson}:cell:${cell}`;

function store() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/**
 * The engine session behind a notebook: the partita Context, the controls' settings and
 * the live views. `settings()` gives {workers, delayMs, scheduler, step, optimize}.
 */
export class Session {
  constructor(partita, { views, settings, onStepState, onEngine }) {
    this.partita = partita;
    this.views = views;
    this.settings = settings;
    this.onStepState = onStepState ?? (() => {});
    this.onEngine = onEngine ?? (() => {});
    this.ctx = null;
    this.run = new RunState();
    this.pendingDraw = false;
    this.lastKinds = new WeakMap();
    this.stepper = null;
    this.graphOptimized = true;
  }

  async start(workers) {
    this.ctx?.close();
    this.ctx = await this.partita.start({ workers });
    this.workers = workers;
    this.patch(this.ctx);
    this.onEngine(this.ctx.info());
    return this.ctx;
  }

  /** Routes every computation of the context through the live views and the controls. */
  patch(ctx) {
    const compute = ctx.compute.bind(ctx);
    const session = this;
    ctx.compute = async (...args) => {
      const last = args[args.length - 1];
      const opts = last && typeof last === 'object' && !('node' in last) ? args.pop() : {};
      const s = session.settings();
      session.run = new RunState();
      session.draw();
      const onEvent = (e) => {
        session.run.apply(e);
        opts.onEvent?.(e);
        session.scheduleDraw();
      };
      const merged = { delayMs: s.delayMs, scheduler: s.scheduler, optimize: s.optimize, ...opts, onEvent };
      let result;
      if (s.step && args.length === 1) {
        result = await session.stepThrough(args[0], merged);
      } else {
        result = await compute(...args, merged);
      }
      args.forEach((c, i) => {
        if (c?.kind === 'bag' && Array.isArray(result[i])) session.lastKinds.set(result[i], 'bag');
      });
      // The final picture is on screen when the result is.
      session.draw();
      return result;
    };
  }

  /** Step mode: one task per click on Step; the ready tasks are highlighted. */
  async stepThrough(collection, options) {
    const stepper = await this.ctx.stepper(collection, { optimize: options.optimize, onEvent: options.onEvent });
    this.stepper = stepper;
    this.run.ready = new Set(stepper.ready);
    this.scheduleDraw();
    this.onStepState({ active: true, ready: stepper.ready.length });
    try {
      return await stepper.result;
    } finally {
      this.stepper = null;
      this.run.ready = new Set();
      this.onStepState({ active: false, ready: 0 });
      this.scheduleDraw();
    }
  }

  async step() {
    if (!this.stepper) return null;
    const state = await this.stepper.step();
    if (state) {
      this.run.ready = new Set(state.ready);
      this.onStepState({ active: !state.done, ready: state.ready.length });
      this.scheduleDraw();
    }
    return state;
  }

  scheduleDraw() {
    if (this.pendingDraw) return;
    this.pendingDraw = true;
    requestAnimationFrame(() => {
      this.pendingDraw = false;
      this.draw();
    });
  }

  draw() {
    const v = this.views;
    if (v.graph) drawGraph(v.graph, this.run);
    if (v.stream) drawStream(v.stream, this.run);
    if (v.progress) drawProgress(v.progress, this.run);
    if (v.workers) drawWorkers(v.workers, this.run);
  }
}

/** One runnable cell. */
export class Cell {
  constructor({ lesson, index, code, session, scope, container, onRun }) {
    this.lesson = lesson;
    this.index = index;
    this.original = code;
    this.session = session;
    this.scope = scope;
    this.onRun = onRun;
    const saved = store()?.getItem(storageKey(lesson, index));
    this.root = document.createElement('section');
    this.root.className = 'cell';
    this.root.id = `cell-${index + 1}`;
    this.root.setAttribute('aria-label', `cell ${index + 1}`);
    const bar = document.createElement('div');
    bar.className = 'cell-bar';
    const label = document.createElement('a');
    label.className = 'cell-label';
    label.href = `#lesson=${lesson}&cell=${index + 1}`;
    label.textContent = `[${index + 1}]`;
    label.title = 'link to this cell';
    this.runButton = button('Run', 'run-cell', () => this.run());
    this.runButton.title = 'Run this cell (Shift+Enter)';
    const reset = button('Reset', 'reset-cell', () => this.reset());
    reset.title = 'Restore the lesson’s code for this cell';
    bar.append(label, this.runButton, reset);
    const editorHost = document.createElement('div');
    editorHost.className = 'editor';
    this.output = document.createElement('div');
    this.output.className = 'output';
    this.output.setAttribute('aria-live', 'polite');
    this.root.append(bar, editorHost, this.output);
    container.appendChild(this.root);
    this.editor = new EditorView({
      doc: saved ?? code,
      extensions: [
        Prec.highest(
          keymap.of([
            {
              key: 'Shift-Enter',
              run: () => {
                this.run();
                return true;
              },
            },
          ]),
        ),
        basicSetup,
        javascript(),
        EditorView.lineWrapping,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) store()?.setItem(storageKey(lesson, index), this.code());
        }),
      ],
      parent: editorHost,
    });
  }

  code() {
    return this.editor.state.doc.toString();
  }

  reset() {
    this.editor.dispatch({ changes: { from: 0, to: this.editor.state.doc.length, insert: this.original } });
    store()?.removeItem(storageKey(this.lesson, this.index));
  }

  async run() {
    this.root.classList.add('running');
    this.runButton.disabled = true;
    this.output.className = 'output';
    this.output.textContent = 'running…';
    try {
      const value = await runCode(this.code(), this.scope);
      const kind = value && typeof value === 'object' ? this.session.lastKinds.get(value) : undefined;
      renderOutput(this.output, value, { kind, info: { tasks: this.session.run.graph?.tasks.length } });
      this.root.dataset.status = 'ok';
      return value;
    } catch (e) {
      renderOutput(this.output, e instanceof Error ? e : new Error(String(e)));
      this.root.dataset.status = 'error';
      return e;
    } finally {
      this.root.classList.remove('running');
      this.runButton.disabled = false;
      this.onRun?.(this);
    }
  }
}

function button(text, cls, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

/** A scope for a lesson's cells with the engine and the package in it. */
export function lessonScope(session) {
  const scope = makeScope({ partita: session.partita });
  Object.defineProperty(scope, 'ctx', { get: () => session.ctx, configurable: true });
  return scope;
}
