// Lessons are markdown files with runnable cells: fenced ```js blocks are cells, the
// rest is prose. lessons/index.json lists them in order.
import { marked } from 'marked';

export async function loadIndex(base) {
  const res = await fetch(new URL('index.json', base));
  if (!res.ok) throw new Error(`cannot load the lesson list (${res.status})`);
  return res.json();
}

/** Splits a lesson into prose blocks (HTML) and code cells, in order. */
export function parseLesson(markdown) {
  const blocks = [];
  const fence = /^```(js|javascript)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  let last = 0;
  let cell = 0;
  for (const m of markdown.matchAll(fence)) {
    const prose = markdown.slice(last, m.index);
    if (prose.trim()) blocks.push({ type: 'prose', html: marked.parse(prose) });
    blocks.push({ type: 'cell', index: cell++, code: m[2].replace(/\n$/, '') });
    last = m.index + m[0].length;
  }
  const tail = markdown.slice(last);
  if (tail.trim()) blocks.push({ type: 'prose', html: marked.parse(tail) });
  return blocks;
}

export async function loadLesson(base, id) {
  const res = await fetch(new URL(`${id}.md`, base));
  if (!res.ok) throw new Error(`cannot load lesson ${id} (${res.status})`);
  const text = await res.text();
  const title = (text.match(/^#\s+(.+)$/m) ?? [null, id])[1];
  return { id, title, blocks: parseLesson(text) };
}
