// Must NOT compile: the types catch misuse (the test checks tsc rejects this file).
import { start } from 'partita';

export async function misuse(): Promise<void> {
  const ctx = await start({ workers: '2' });
  const n: string = await ctx.bag.fromSequence([1, 2, 3]).count().compute();
  void n;
}
