// A tiny app that uses the package as a Vite user would: a bare import of 'partita'.
import { start } from 'partita';

const out = document.getElementById('out');
try {
  const ctx = await start({ workers: 2 });
  const counts = await ctx.bag.fromSequence('ABBBABBB'.split(''), { npartitions: 2 }).frequencies().compute();
  const total = await ctx.bag.fromSequence([1, 2, 3, 4]).map((x) => x * x).sum().compute();
  window.viteResult = { bundle: ctx.info().bundle, counts, total };
  out.textContent = JSON.stringify(window.viteResult);
} catch (e) {
  window.viteResult = { error: String(e?.message ?? e) };
  out.textContent = `error: ${window.viteResult.error}`;
}
