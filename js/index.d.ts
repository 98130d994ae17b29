// Types of the npm package `partita`.

/** A JSON value as the engine returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A per-element function: a real arrow function, or its source (JS arrow or Python lambda). */
export type Func = string | ((...args: any[]) => unknown);

/** Error categories the engine reports. */
export type ErrorKind =
  | 'plan'
  | 'syntax'
  | 'eval'
  | 'type'
  | 'value'
  | 'shape'
  | 'limit'
  | 'cancelled'
  | 'io'
  | 'internal';

/** An error from the engine; `key` names the failing task when one failed. */
export declare class EngineError extends Error {
  readonly kind: ErrorKind;
  readonly key?: string;
  /** The engine's message without the task suffix. */
  readonly detail: string;
  static from(obj: unknown): EngineError;
  toJSON(): { kind: ErrorKind; message: string; key?: string };
}

export type BundleName = 'threads' | 'single';

export interface StartOptions {
  /** Worker threads (threaded bundle) or logical workers (single). Default: hardware threads. */
  workers?: number;
  /** Which bundle to load; 'auto' picks threads where the page is cross-origin isolated. */
  bundle?: 'auto' | BundleName;
}

export interface EngineInfo {
  bundle: BundleName;
  /** Real threads running tasks (1 for the single-threaded bundle). */
  threads: number;
  workers: number;
  /** True when workers are simulated on one thread. */
  simulated: boolean;
  crossOriginIsolated: boolean;
  /** Why this bundle was chosen, in one sentence. */
  reason: string;
  version: string;
}

export interface LayerJson {
  name: string;
  label: string;
  kind: 'input' | 'blockwise' | 'reduction_part' | 'reduction_aggregate' | 'shuffle' | 'call';
  level?: number;
  node?: string;
  tasks: number;
  dependencies: string[];
}

export interface TaskJson {
  id: number;
  key: string;
  name: string;
  index: number[];
  layer: string;
  op: string;
  deps: number[];
}

export interface GraphJson {
  layers: LayerJson[];
  tasks: TaskJson[];
  outputs: number[];
}

export interface EngineErrorJson {
  kind: ErrorKind;
  message: string;
  key?: string;
}

/** What the engine reports while it runs; every picture of the playground is drawn from these. */
export type EngineEvent =
  | { type: 'graph_built'; run: number; t: number; scheduler: 'sync' | 'threads'; workers: number; tasks: number; graph: GraphJson }
  | { type: 'task_started'; run: number; t: number; task: number; key: string; layer: string; worker: number }
  | {
      type: 'task_finished';
      run: number;
      t: number;
      start: number;
      task: number;
      key: string;
      layer: string;
      worker: number;
      preview: string;
    }
  | {
      type: 'task_failed';
      run: number;
      t: number;
      task: number;
      key: string;
      layer: string;
      worker: number;
      error: EngineErrorJson;
      retrying: boolean;
    }
  | { type: 'tasks_added'; run: number; t: number; tasks: TaskJson[] }
  | { type: 'done'; run: number; t: number; ok: boolean; tasks_run: number; error?: EngineErrorJson };

export interface ComputeOptions {
  onEvent?: (event: EngineEvent) => void;
  signal?: AbortSignal;
  /** Slow motion: every task waits this long first. */
  delayMs?: number;
  scheduler?: 'threads' | 'sync';
  workers?: number;
  /** Cull and fuse the graph first (default true). */
  optimize?: boolean | { cull?: boolean; fuse?: boolean };
}

export interface GraphOptions {
  optimize?: boolean;
  format?: 'json' | 'dask';
}

export interface StepState {
  task: number | null;
  done: boolean;
  ready: number[];
  states: Array<'waiting' | 'ready' | 'running' | 'done' | 'failed'>;
}

export interface Stepper {
  /** Tasks that can run next, in the order they will run. */
  ready: number[];
  done: boolean;
  /** Results (one per collection) once the last task ran. */
  result: Promise<Json[]>;
  step(): Promise<StepState | null>;
  cancel(): void;
}

export interface PlanNode {
  id: string;
  op: string;
  inputs?: string[];
  args?: Record<string, Json>;
}

export interface Plan {
  version: 1;
  nodes: PlanNode[];
  outputs: string[];
}

/** A lazy collection: nothing runs until `compute()`. */
export declare class Collection<T = Json> {
  readonly kind: 'bag' | 'value' | 'array' | 'dataframe';
  compute(options?: ComputeOptions): Promise<T>;
  persist(options?: ComputeOptions): Promise<this>;
  graph(options?: GraphOptions): Promise<GraphJson>;
  visualize(): Promise<{ raw: GraphJson; optimized: GraphJson }>;
  /** What is known without computing (partitions, tasks; Dask's attributes for arrays). */
  metadata(): Promise<CollectionMetadata>;
  plan(): Plan;
}

/** A lazy value: a delayed call or the result of a reduction. */
export declare class Delayed<T = Json> extends Collection<T> {}

export interface ReductionOptions {
  splitEvery?: number;
}

/** A lazy bag (dask.bag): elements split into partitions. */
export declare class Bag<T = Json> extends Collection<T[]> {
  map<U = Json>(func: Func, ...otherBags: Bag[]): Bag<U>;
  starmap<U = Json>(func: Func): Bag<U>;
  filter(predicate: Func): Bag<T>;
  remove(predicate: Func): Bag<T>;
  pluck<U = Json>(key: Json, options?: { default?: Json }): Bag<U>;
  /** A bag of records as a dataframe; dtypes from meta, or from the items of a literal bag. */
  toDataframe(options?: { meta?: Record<string, FrameDType> }): DataFrame;
  flatten<U = Json>(): Bag<U>;
  mapPartitions<U = Json>(func: Func): Bag<U>;
  randomSample(prob: number, options?: { randomState?: number }): Bag<T>;
  /** Dask's `.str` accessor: `bag.str.lower()`, `bag.str.split(',')`. */
  readonly str: { [method: string]: (...args: Json[]) => Bag<Json> };
  count(options?: ReductionOptions): Delayed<number>;
  sum(options?: ReductionOptions): Delayed<number>;
  min(options?: ReductionOptions): Delayed<T>;
  max(options?: ReductionOptions): Delayed<T>;
  mean(options?: ReductionOptions): Delayed<number>;
  std(options?: ReductionOptions & { ddof?: number }): Delayed<number>;
  var(options?: ReductionOptions & { ddof?: number }): Delayed<number>;
  all(options?: ReductionOptions): Delayed<boolean>;
  any(options?: ReductionOptions): Delayed<boolean>;
  frequencies(options?: ReductionOptions & { sort?: boolean }): Delayed<Array<[T, number]>>;
  distinct(options?: ReductionOptions & { key?: Func }): Bag<T>;
  topk(k: number, options?: ReductionOptions & { key?: Func }): Bag<T>;
  fold<U = Json>(binop: Func, options?: ReductionOptions & { combine?: Func; initial?: Json }): Delayed<U>;
  foldby<U = Json>(
    key: Func,
    binop: Func,
    options?: ReductionOptions & { initial?: Json; combine?: Func; combineInitial?: Json },
  ): Bag<[Json, U]>;
  reduction<U = Json>(perpartition: Func, aggregate: Func, options?: ReductionOptions): Delayed<U>;
  groupby(grouper: Func, options?: { npartitions?: number }): Bag<[Json, T[]]>;
  repartition(npartitions: number): Bag<T>;
  take(k: number, options?: { npartitions?: number }): Delayed<T[]>;
  zip(...others: Bag[]): Bag<Json[]>;
  concat(...others: Bag<T>[]): Bag<T>;
  join(other: Bag, onSelf: Func, onOther?: Func): Bag<[Json, T]>;
  accumulate<U = Json>(binop: Func, options?: { initial?: Json }): Bag<U>;
  toDelayed(): Promise<Delayed<T[]>[]>;
  npartitions(): Promise<number>;
}

export interface BagConstructors {
  fromSequence<T = Json>(items: Iterable<T>, options?: { npartitions?: number; partitionSize?: number }): Bag<T>;
  range(n: number, options?: { npartitions?: number }): Bag<number>;
  readText(source: string | Array<string | { name: string; text: string }>, options?: { blocksize?: number }): Bag<string>;
  fromDelayed<T = Json>(values: Delayed<T[]>[]): Bag<T>;
  zip(...bags: Bag[]): Bag<Json[]>;
  concat<T = Json>(bags: Bag<T>[]): Bag<T>;
}

/** A computed array: shape, dtype and values in C order. */
export declare class NDArray {
  readonly shape: number[];
  readonly dtype: 'float64' | 'int64' | 'bool';
  readonly data: Float64Array | BigInt64Array | Uint8Array;
  /** The chunks it was computed in, per axis. */
  readonly chunks: number[][];
  readonly size: number;
  /** Nested lists, as NumPy's tolist(). */
  toList(): Json;
}

export interface ArrayReductionOptions {
  /** One axis, several, or all (omitted or null); negative values count from the end. */
  axis?: number | number[] | null;
  keepdims?: boolean;
  splitEvery?: number;
}

type ArrayOperand = ArrayCollection | number | boolean;

/** A lazy n-d array split into chunks (dask.array). */
export declare class ArrayCollection extends Collection<NDArray> {
  elemwise(op: string, other?: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  add(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  sub(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  mul(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  div(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  truediv(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  floordiv(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  mod(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  pow(other: ArrayOperand, options?: { reverse?: boolean }): ArrayCollection;
  eq(other: ArrayOperand): ArrayCollection;
  ne(other: ArrayOperand): ArrayCollection;
  lt(other: ArrayOperand): ArrayCollection;
  le(other: ArrayOperand): ArrayCollection;
  gt(other: ArrayOperand): ArrayCollection;
  ge(other: ArrayOperand): ArrayCollection;
  and(other: ArrayOperand): ArrayCollection;
  or(other: ArrayOperand): ArrayCollection;
  neg(): ArrayCollection;
  abs(): ArrayCollection;
  sqrt(): ArrayCollection;
  exp(): ArrayCollection;
  log(): ArrayCollection;
  sin(): ArrayCollection;
  cos(): ArrayCollection;
  tanh(): ArrayCollection;
  floor(): ArrayCollection;
  ceil(): ArrayCollection;
  round(): ArrayCollection;
  not(): ArrayCollection;
  sum(options?: ArrayReductionOptions): ArrayCollection;
  prod(options?: ArrayReductionOptions): ArrayCollection;
  min(options?: ArrayReductionOptions): ArrayCollection;
  max(options?: ArrayReductionOptions): ArrayCollection;
  mean(options?: ArrayReductionOptions): ArrayCollection;
  any(options?: ArrayReductionOptions): ArrayCollection;
  all(options?: ArrayReductionOptions): ArrayCollection;
  var(options?: ArrayReductionOptions & { ddof?: number }): ArrayCollection;
  std(options?: ArrayReductionOptions & { ddof?: number }): ArrayCollection;
  /** Index of the minimum: flat without an axis, along one axis with it (int64). */
  argmin(options?: { axis?: number | null; keepdims?: boolean; splitEvery?: number }): ArrayCollection;
  argmax(options?: { axis?: number | null; keepdims?: boolean; splitEvery?: number }): ArrayCollection;
  /** A per-element function over every block; dtype inferred unless given. */
  mapBlocks(func: Func, options?: { dtype?: 'float64' | 'int64' | 'bool' }): ArrayCollection;
  /** The same elements in a new shape; one size may be -1. */
  reshape(shape: number | number[]): ArrayCollection;
  reshape(...shape: number[]): ArrayCollection;
  /** Whole blocks by block index, as Dask's x.blocks[i, j]. */
  readonly blocks: { at(...index: Array<number | null | { start?: number | null; stop?: number | null; step?: number | null }>): ArrayCollection };
  /** Dask's array attributes, known without computing. */
  metadata(): Promise<ArrayMetadata>;
  rechunk(chunks: Chunks): ArrayCollection;
  astype(dtype: 'float64' | 'int64' | 'bool'): ArrayCollection;
  clip(min?: number | null, max?: number | null): ArrayCollection;
  getitem(index: Array<number | null | { start?: number | null; stop?: number | null; step?: number | null }>): ArrayCollection;
  transpose(axes?: number[]): ArrayCollection;
  readonly T: ArrayCollection;
  matmul(other: ArrayCollection, options?: { splitEvery?: number }): ArrayCollection;
  dot(other: ArrayCollection, options?: { splitEvery?: number }): ArrayCollection;
}

export type Chunks = number | 'auto' | Array<number | number[]>;

/** What is known of a collection before computing it. */
export interface CollectionMetadata {
  kind: 'bag' | 'array' | 'value' | 'dataframe';
  npartitions: number;
  /** Tasks and layers in the (unoptimised) graph. */
  tasks: number;
  layers: number;
}

/** Dask's array attributes. */
export interface ArrayMetadata extends CollectionMetadata {
  kind: 'array';
  shape: number[];
  ndim: number;
  dtype: 'float64' | 'int64' | 'bool';
  chunks: number[][];
  numblocks: number[];
  nbytes: number;
  chunksize: number[];
  itemsize: number;
  size: number;
}

export interface ArrayConstructors {
  fromArray(data: Json[] | Float64Array | Int32Array | BigInt64Array | Uint8Array, options?: { shape?: number[]; chunks?: Chunks; dtype?: string }): ArrayCollection;
  ones(shape: number | number[], options?: { chunks?: Chunks; dtype?: string }): ArrayCollection;
  zeros(shape: number | number[], options?: { chunks?: Chunks; dtype?: string }): ArrayCollection;
  full(shape: number | number[], fillValue: number | boolean, options?: { chunks?: Chunks; dtype?: string }): ArrayCollection;
  linspace(start: number, stop: number, num?: number, options?: { endpoint?: boolean; chunks?: Chunks }): ArrayCollection;
  eye(N: number, options?: { M?: number; k?: number; chunks?: Chunks }): ArrayCollection;
  random(
    size: number | number[],
    options?: {
      distribution?: 'random' | 'uniform' | 'normal' | 'integers';
      seed?: number;
      low?: number;
      high?: number;
      loc?: number;
      scale?: number;
      chunks?: Chunks;
    },
  ): ArrayCollection;
  where(condition: ArrayCollection, x: ArrayOperand, y: ArrayOperand): ArrayCollection;
  concatenate(arrays: ArrayCollection[], options?: { axis?: number }): ArrayCollection;
  stack(arrays: ArrayCollection[], options?: { axis?: number }): ArrayCollection;
  arange(stop: number, options?: { chunks?: Chunks; dtype?: string }): ArrayCollection;
  arange(start: number, stop: number, step?: number, options?: { chunks?: Chunks; dtype?: string }): ArrayCollection;
}

/** A computed dataframe: rows as records, with columns, dtypes and partitioning. */
export declare class DataFrameResult<R = Record<string, Json>> {
  readonly columns: string[];
  /** pandas dtype names: int64, float64, bool, string. */
  readonly dtypes: string[];
  readonly records: R[];
  readonly npartitions: number;
  /** Index values where partitions start (and the last), or null when unknown. */
  readonly divisions: Array<number | string | boolean> | null;
  /** The column that is the index (the first column), or null for a RangeIndex. */
  readonly index: string | null;
  readonly length: number;
  toRecords(): R[];
}

/** A column predicate (`{col, op, value}`, `{isnull}`, `{and: [...]}`, ...) as plain JSON. */
export type PredicateJson =
  | { col: string; op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; value: number | string | boolean }
  | { isnull: string }
  | { notnull: string }
  | { and: PredicateJson[] }
  | { or: PredicateJson[] }
  | { not: PredicateJson };

/** A predicate built from columns: `df.col('val').gt(0.5).and(df.col('cat').eq('a'))`. */
export declare class ColumnPredicate {
  readonly spec: PredicateJson;
  and(other: ColumnPredicate): ColumnPredicate;
  or(other: ColumnPredicate): ColumnPredicate;
  not(): ColumnPredicate;
}

export declare class Column {
  readonly name: string;
  eq(value: number | string | boolean): ColumnPredicate;
  ne(value: number | string | boolean): ColumnPredicate;
  lt(value: number | string): ColumnPredicate;
  le(value: number | string): ColumnPredicate;
  gt(value: number | string): ColumnPredicate;
  ge(value: number | string): ColumnPredicate;
  isnull(): ColumnPredicate;
  notnull(): ColumnPredicate;
}

/** What is known of a dataframe before computing it. */
export interface DataFrameMetadata extends CollectionMetadata {
  kind: 'dataframe';
  columns: string[];
  dtypes: string[];
  divisions: Array<number | string | boolean> | null;
  known_divisions: boolean;
  /** The column that is the index, or null for a RangeIndex. */
  index: string | null;
}

export type MergeHow = 'inner' | 'left' | 'right' | 'outer';
export type IndexLabel = number | string | boolean;

/** A lazy dataframe (dask.dataframe): Arrow record batches as partitions. */
export declare class DataFrame<R = Record<string, Json>> extends Collection<DataFrameResult<R>> {
  col(name: string): Column;
  select(columns: string[]): DataFrame;
  /** A column predicate, or a row function (`r => r.val > 0.5`, or its source, or a Python lambda) evaluated over Arrow columns. */
  filter(predicate: ColumnPredicate | PredicateJson | Func): DataFrame<R>;
  query(expr: Func): DataFrame<R>;
  /** New or replaced columns from row functions: `df.assign({z: r => r.x * 2})`. */
  assign(columns: Record<string, Func>): DataFrame;
  rename(columns: Record<string, string>): DataFrame;
  drop(columns: string | string[]): DataFrame;
  astype(dtypes: FrameDType | Record<string, FrameDType>): DataFrame;
  /** A scalar fills the columns whose dtype it fits; `{col: value}` fills those columns. */
  fillna(value: number | string | boolean | Record<string, number | string | boolean>): DataFrame;
  dropna(options?: { subset?: string | string[]; how?: 'any' | 'all' }): DataFrame<R>;
  isnull(): DataFrame<Record<string, boolean>>;
  dropDuplicates(options?: { subset?: string | string[]; splitEvery?: number }): DataFrame<R>;
  /** A row function returning a record; output dtypes from meta or from a call on a fake row, as Dask. */
  mapPartitions(func: Func, options?: { meta?: Record<string, FrameDType> }): DataFrame;
  /** A frame of two columns, the column's values and `count`, by count descending. */
  valueCounts(column: string, options?: ReductionOptions): DataFrame;
  getPartitions(index: number | number[]): DataFrame<R>;
  /** `df.partitions[i]`, as in Dask (negative indices count from the end). */
  readonly partitions: { readonly [index: number]: DataFrame<R> };
  tail(n?: number): DataFrame<R>;
  head(n?: number, options?: { npartitions?: number }): DataFrame<R>;
  toCsv(): Delayed<string>;
  /** The rows as one Arrow IPC stream, which apache-arrow's `tableFromIPC` reads. */
  toArrow(options?: ComputeOptions): Promise<Uint8Array>;
  compute(options?: ComputeOptions & { format?: 'records' }): Promise<DataFrameResult<R>>;
  compute(options: ComputeOptions & { format: 'arrow' }): Promise<Uint8Array>;
  std(options?: ReductionOptions & { ddof?: number }): Delayed<Record<string, number | null>>;
  var(options?: ReductionOptions & { ddof?: number }): Delayed<Record<string, number | null>>;
  nunique(options?: ReductionOptions): Delayed<Record<string, number>>;
  /** count mean std min 25% 50% 75% max per numeric column (`df.describe().to_dict()`). */
  describe(options?: ReductionOptions): Delayed<Record<string, Record<'count' | 'mean' | 'std' | 'min' | '25%' | '50%' | '75%' | 'max', number | null>>>;
  len(options?: ReductionOptions): Delayed<number>;
  sum(options?: ReductionOptions): Delayed<Record<string, number | null>>;
  mean(options?: ReductionOptions): Delayed<Record<string, number | null>>;
  count(options?: ReductionOptions): Delayed<Record<string, number>>;
  min(options?: ReductionOptions): Delayed<Record<string, number | null>>;
  max(options?: ReductionOptions): Delayed<Record<string, number | null>>;
  merge(
    other: DataFrame,
    options?: { on?: string | string[]; leftOn?: string | string[]; rightOn?: string | string[]; how?: MergeHow; suffixes?: [string, string] },
  ): DataFrame;
  join(other: DataFrame, options?: { on?: string | string[]; how?: MergeHow; suffixes?: [string, string] }): DataFrame;
  setIndex(column: string, options?: { divisions?: IndexLabel[]; npartitions?: number }): DataFrame<R>;
  sortValues(by: string | string[], options?: { ascending?: boolean }): DataFrame<R>;
  loc(selection: IndexLabel | { start?: IndexLabel; stop?: IndexLabel }): DataFrame<R>;
  repartition(options: { npartitions: number }): DataFrame<R>;
  metadata(): Promise<DataFrameMetadata>;
  /** Groups by one or more key columns; aggregating gives one row per group, keys first. */
  groupby(by: string | string[], options?: GroupByOptions): GroupBy;
}

export type AggName = 'sum' | 'mean' | 'count' | 'size' | 'min' | 'max' | 'std' | 'var' | 'first' | 'last';

export interface GroupByOptions {
  /** How many partials each combine task merges (8 by default). */
  splitEvery?: number;
  /** Output partitions; above 1 the partials are hash-shuffled on the keys. */
  splitOut?: number;
  /** Delta degrees of freedom for std and var (1 by default). */
  ddof?: number;
}

/** `df.groupby(by)`: aggregate with `agg` or a shortcut. */
export declare class GroupBy {
  /** Only these columns (`df.groupby('k')['val']`). */
  get(columns: string | string[]): GroupBy;
  /** `{col: 'sum'}` keeps the name; `{col: ['sum', 'mean']}` names `col_sum`, `col_mean`. */
  agg(spec: Record<string, AggName | AggName[]> | AggName, options?: GroupByOptions): DataFrame;
  sum(options?: GroupByOptions): DataFrame;
  mean(options?: GroupByOptions): DataFrame;
  count(options?: GroupByOptions): DataFrame;
  size(options?: GroupByOptions): DataFrame;
  min(options?: GroupByOptions): DataFrame;
  max(options?: GroupByOptions): DataFrame;
  std(options?: GroupByOptions): DataFrame;
  var(options?: GroupByOptions): DataFrame;
  first(options?: GroupByOptions): DataFrame;
  last(options?: GroupByOptions): DataFrame;
}

export interface DataFrameConstructors {
  fromRecords<R = Record<string, Json>>(records: Iterable<R>, options?: { npartitions?: number; chunksize?: number }): DataFrame<R>;
  /** CSV text or UTF-8 bytes; `dtype` overrides inferred dtypes by column. */
  readCsv(text: string | Uint8Array | ArrayBuffer, options?: { blocksize?: number; dtype?: Record<string, 'int64' | 'float64' | 'bool' | 'string'> }): DataFrame;
  fromColumns(columns: Record<string, Iterable<Json>>, options?: { npartitions?: number; chunksize?: number }): DataFrame;
  /** Arrow IPC stream or file bytes; for an apache-arrow Table pass `tableToIPC(table)`. */
  fromArrow(bytes: Uint8Array | ArrayBuffer, options?: { npartitions?: number; chunksize?: number }): DataFrame;
  /** A 1-D or 2-D array: one column per array column, one partition per row chunk. */
  fromArray(array: ArrayCollection, options?: { columns?: string[] }): DataFrame;
}

/** One benchmark measurement, as `partita bench` prints it. */
export interface BenchLine {
  workload: string;
  engine: string;
  workers: number;
  /** The median of the timed runs. */
  seconds: number;
  /** The fastest and the slowest timed run: how much the machine moved while it ran. */
  fastest: number;
  slowest: number;
  checksum: number;
  scale: number;
  runs: number;
  tasks: number;
  note: string;
  us_per_task?: number;
}

/** The dtypes a dataframe column can have. */
export type FrameDType = 'int64' | 'float64' | 'bool' | 'string';

export type FutureStatus = 'pending' | 'finished' | 'error' | 'cancelled';

/** A task started at once (`ctx.submit`). */
export declare class Future<T = Json> {
  readonly status: FutureStatus;
  done(): boolean;
  result(): Promise<T>;
  exception(): Promise<EngineError | null>;
  cancel(): void;
  settled(): Promise<void>;
}

export interface SubmitOptions {
  retries?: number;
  signal?: AbortSignal;
  name?: string;
}

/** A running engine. */
export declare class Context {
  readonly bag: BagConstructors;
  readonly array: ArrayConstructors;
  readonly dataframe: DataFrameConstructors;
  info(): EngineInfo;
  compute(...args: [...Collection[], ComputeOptions] | Collection[]): Promise<Json[]>;
  stepper(collection: Collection, options?: { workers?: number; optimize?: boolean; onEvent?: (e: EngineEvent) => void }): Promise<Stepper>;
  persist<C extends Collection>(collection: C, options?: ComputeOptions): Promise<C>;
  graph(collection: Collection, options?: GraphOptions): Promise<GraphJson | string>;
  validate(collection: Collection): Promise<{ nodes: number; tasks: number; layers: number; outputs: Array<CollectionMetadata | ArrayMetadata> }>;
  plan(...collections: Collection[]): Plan;
  /** Computes a plan given as JSON (or its text); one result per output. */
  computePlan(plan: Plan | string, options?: ComputeOptions): Promise<Json[]>;
  delayed(fn: Func, options?: { name?: string }): (...args: unknown[]) => Delayed;
  value<T extends Json>(v: T, options?: { name?: string }): Delayed<T>;
  submit(fn: Func, ...args: unknown[]): Future;
  submitWith(options: SubmitOptions, fn: Func, ...args: unknown[]): Future;
  map(fn: Func, ...iterables: unknown[][]): Future[];
  gather(futures: Array<Future | Json>): Promise<Json[]>;
  asCompleted(futures: Future[]): AsyncGenerator<Future>;
  unpersist(tokens: string[]): Promise<number>;
  /** Runs one benchmark workload (docs/benchmarks.md); the fields of a `partita bench` line. */
  bench(workload: string, options?: { scale?: number; repeat?: number; scheduler?: 'threads' | 'sync' }): Promise<BenchLine>;
  close(): void;
  unref(): void;
}

/** Starts an engine in a Worker (a worker_threads Worker in Node). */
export declare function start(options?: StartOptions): Promise<Context>;
