// Uses every public function of the package; compiled with `tsc --strict` by the tests.
import {
  start,
  EngineError,
  type Context,
  type ArrayMetadata,
  type DataFrameMetadata,
  type DataFrameResult,
  type Bag,
  type Delayed,
  type EngineEvent,
  type EngineInfo,
  type GraphJson,
  type Json,
  type Plan,
  type Future,
  type Stepper,
  type NDArray,
} from 'partita';

export async function everything(): Promise<void> {
  const ctx: Context = await start({ workers: 2, bundle: 'auto' });
  const info: EngineInfo = ctx.info();
  const simulated: boolean = info.simulated;
  const reason: string = info.reason;

  const letters: Bag<string> = ctx.bag.fromSequence(['A', 'B', 'B'], { npartitions: 2 });
  const numbers: Bag<number> = ctx.bag.fromSequence([1, 2, 3, 4, 5], { partitionSize: 2 });
  const ranged: Bag<number> = ctx.bag.range(10, { npartitions: 3 });
  const lines: Bag<string> = ctx.bag.readText('a b\nc d', { blocksize: 4 });
  const files: Bag<string> = ctx.bag.readText([{ name: 'f.txt', text: 'x' }, 'y\n']);
  const zipped: Bag<Json[]> = ctx.bag.zip(letters, numbers);
  const joined: Bag<string> = ctx.bag.concat([letters, lines, files]);
  const fromD: Bag<number> = ctx.bag.fromDelayed([ctx.value([1, 2]) as Delayed<number[]>]);
  const more = [
    numbers.min(), numbers.max(), numbers.mean(), numbers.std({ ddof: 1 }), numbers.var(), numbers.all(), numbers.any(),
    numbers.distinct({ key: 'x => x % 2' }), numbers.topk(3, { key: 'x => -x' }),
    numbers.fold('(a, b) => a + b', { initial: 0, combine: '(a, b) => a + b' }),
    numbers.foldby('x => x % 2', '(a, b) => a + b', { initial: 0, combine: '(a, b) => a + b', combineInitial: 0 }),
    numbers.reduction('xs => len(xs)', 'xs => sum(xs)', { splitEvery: 2 }),
    numbers.groupby('x => x % 3', { npartitions: 2 }), numbers.repartition(2), numbers.take(3, { npartitions: 1 }),
    numbers.zip(ranged), numbers.concat(ranged), numbers.join(ranged, 'x => x', 'x => x'),
    numbers.accumulate('(a, b) => a + b', { initial: 0 }), numbers.map('(a, b) => a + b', ranged),
    zipped.starmap('(a, b) => a'), zipped.pluck(0, { default: null }), zipped.flatten(),
    numbers.mapPartitions('xs => xs'), numbers.randomSample(0.5, { randomState: 1 }), letters.str.lower(),
    numbers.remove('x => x > 3'), joined, fromD,
  ];
  const x = ctx.array.ones([4, 4], { chunks: 2 });
  const y = ctx.array.arange(0, 16, 1, { chunks: 4 });
  const z = ctx.array.fromArray(new Float64Array([1, 2, 3, 4]), { shape: [2, 2], chunks: 1 });
  const arr: NDArray = await x.add(1).mul(z.T.sum({ axis: 0 }).neg().abs().exp().ge(0)).matmul(x).sum({ axis: 1, keepdims: true }).compute();
  const listed: Json = arr.toList();
  const dims: number[] = arr.shape;
  void [y.mean(), y.std({ ddof: 1, axis: 0 }), y.var(), x.getitem([1, { start: 0, stop: 4, step: 2 }]), x.rechunk([1, 4]), x.astype('int64').clip(0, 3), ctx.array.concatenate([x, x], { axis: 1 }), ctx.array.stack([x, x]), ctx.array.linspace(0, 1, 5), ctx.array.eye(3, { k: 1 }), ctx.array.random([2, 2], { distribution: 'normal', seed: 1 }), ctx.array.full([2], 3), ctx.array.zeros(3, { dtype: 'int64' }), listed, dims];
  const meta: ArrayMetadata = await x.metadata();
  const blocksPerAxis: number[] = meta.numblocks;
  void [ctx.array.where(x.gt(0), x, 0), x.mapBlocks((v: number) => v * 2, { dtype: 'float64' }), x.reshape(2, 8), x.reshape([16]), x.blocks.at(0, { start: 1 }), x.argmin({ axis: 0 }), x.argmax(), x.sum({ axis: [0, 1], keepdims: true }), blocksPerAxis];
  const frame = ctx.dataframe.fromRecords([{ a: 1, b: 'x' }], { npartitions: 1 });
  const table: DataFrameResult = await frame.filter(frame.col('a').gt(0).and(frame.col('b').notnull())).select(['a']).head(3).compute();
  const rowsOut: number = table.length;
  const dfMeta: DataFrameMetadata = await ctx.dataframe.readCsv('a\n1\n', { blocksize: 1024 }).metadata();
  void [rowsOut, dfMeta.known_divisions, frame.sum(), frame.len()];
  const other = ctx.dataframe.fromRecords([{ a: 1, c: 2.5 }]);
  const merged: DataFrameResult = await frame.merge(other, { on: 'a', how: 'outer', suffixes: ['_l', '_r'] }).compute();
  const indexName: string | null = merged.index;
  const byIndex = frame.setIndex('a', { divisions: [0, 5, 9] }).loc({ start: 1, stop: 4 }).repartition({ npartitions: 2 });
  void [indexName, byIndex, frame.join(other, { on: ['a'] }), frame.merge(other, { leftOn: 'a', rightOn: 'a' }), frame.sortValues(['a', 'b'], { ascending: false }), frame.setIndex('b').loc('x'), dfMeta.index];
  const partsAsDelayed: Delayed<number[]>[] = await numbers.toDelayed();

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
  void [simulated, reason, counts, n, total, a, b, parts, more, partsAsDelayed, graph, pictures, planResults, validated];
  void [dropped, stepped, dv, gathered, err, status];
}
