// Uses every public function of the package; compiled with `tsc --strict` by the tests.
import {
  start,
  EngineError,
  type Context,
  type Bag,
  type Delayed,
  type EngineEvent,
  type EngineInfo,
  type GraphJson,
  type Json,
  type Plan,
  type Future,
  type Stepper,
} from 'partita';

export async function everything(): Promise<void> {
  const ctx: Context = await start({ workers: 2, bundle: 'auto' });
  const info: EngineInfo = ctx.info();
  const simulated: boolean = info.simulated;
  const reason: string = info.reason;

  const letters: Bag<string> = ctx.bag.fromSequence(['A', 'B', 'B'], { npartitions: 2 });
  const numbers: Bag<number> = ctx.bag.fromSequence([1, 2, 3, 4, 5], { partitionSize: 2 });

  const events: EngineEvent[] = [];
  const controller = new AbortController();
  const counts: Array<[string, number]> = await letters.frequencies({ sort: true, splitEvery: 4 }).compute({
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'task_finished') {
        const preview: string = e.preview;
        const worker: number = e.worker;
        void preview;
        void worker;
      }
    },
    signal: controller.signal,
    delayMs: 10,
    scheduler: 'threads',
    workers: 2,
    optimize: { cull: true, fuse: false },
  });
  const doubled = numbers.map((x: number) => x * 2).filter('x => x > 3').filter('lambda x: x != 4');
  const n: number = await doubled.count().compute();
  const total: number = await numbers.sum({ splitEvery: 2 }).compute();
  const [a, b] = await ctx.compute(numbers.count(), numbers.sum(), { scheduler: 'sync' });
  const parts: number = await numbers.npartitions();

  const graph: GraphJson = await letters.frequencies().graph({ optimize: true });
  const pictures: { raw: GraphJson; optimized: GraphJson } = await letters.frequencies().visualize();
  const plan: Plan = ctx.plan(letters.frequencies());
  const planResults: Json[] = await ctx.computePlan(plan, { workers: 1 });
  const validated: { nodes: number; tasks: number } = await ctx.validate(letters.count());
  await ctx.persist(letters);
  await letters.persist();
  const dropped: number = await ctx.unpersist(['abc']);

  const stepper: Stepper = await ctx.stepper(letters.frequencies(), { optimize: false, onEvent: (e) => void e });
  while (!stepper.done) {
    const state = await stepper.step();
    if (state) void state.ready;
  }
  const stepped: Json[] = await stepper.result;
  stepper.cancel();

  const inc = ctx.delayed((x: number) => x + 1, { name: 'inc' });
  const d: Delayed = inc(ctx.value(1));
  const dv: Json = await d.compute();

  const f: Future = ctx.submit((x: number) => x + 1, 1);
  const g: Future = ctx.submitWith({ retries: 2, name: 'g' }, 'lambda x: x * 2', f);
  const mapped: Future[] = ctx.map((x: number) => x * x, [1, 2, 3]);
  const gathered: Json[] = await ctx.gather(mapped);
  for await (const done of ctx.asCompleted(mapped)) {
    const r: Json = await done.result();
    void r;
  }
  const err: EngineError | null = await g.exception();
  const status: 'pending' | 'finished' | 'error' | 'cancelled' = g.status;
  g.cancel();
  await g.settled();

  try {
    await numbers.map('x => x +').compute();
  } catch (e) {
    if (e instanceof EngineError) {
      const kind: string = e.kind;
      const key: string | undefined = e.key;
      void kind;
      void key;
    }
  }
  ctx.unref();
  ctx.close();
  void [simulated, reason, counts, n, total, a, b, parts, graph, pictures, planResults, validated];
  void [dropped, stepped, dv, gathered, err, status];
}
