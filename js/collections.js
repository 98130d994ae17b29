// Lazy collections: each method adds a node to a Plan (docs/plan.md) and returns a new
// collection. Nothing runs until `compute()`.

import { EngineError } from './errors.js';

/** The source text of a per-element function: a real arrow function or a string. */
export function functionSource(fn) {
  if (typeof fn === 'string') return fn;
  if (typeof fn === 'function') {
    const text = Function.prototype.toString.call(fn).trim();
    if (!/^(async\s+)?(\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>/.test(text)) {
      throw new EngineError(
        'syntax',
        `pass an arrow function such as x => x * 2 (or its source as a string); got: ${text.slice(0, 60)}`,
      );
    }
    return text;
  }
  throw new EngineError('type', `expected a function or its source text, got ${typeof fn}`);
}

const snake = (s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Options objects in camelCase become plan arguments in snake_case; undefined is dropped. */
function planArgs(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (v === undefined) continue;
    out[snake(k)] = typeof v === 'function' ? functionSource(v) : v;
  }
  return out;
}

/** Numbers node ids and turns a set of collections into plan JSON. */
export class PlanBuilder {
  #next = 1;

  node(op, inputs, args) {
    return { id: `n${this.#next++}`, op, inputs, args };
  }

  plan(collections) {
    const nodes = [];
    const seen = new Set();
    const visit = (c) => {
      if (seen.has(c.node.id)) return;
      seen.add(c.node.id);
      for (const input of c.node.inputs) visit(input);
      nodes.push({
        id: c.node.id,
        op: c.node.op,
        ...(c.node.inputs.length ? { inputs: c.node.inputs.map((i) => i.node.id) } : {}),
        ...(Object.keys(c.node.args).length ? { args: c.node.args } : {}),
      });
    };
    for (const c of collections) {
      if (!(c instanceof Collection)) throw new EngineError('type', `compute: ${String(c)} is not a collection`);
      visit(c);
    }
    return { version: 1, nodes, outputs: collections.map((c) => c.node.id) };
  }
}

/** A lazy collection: a node of a plan and the context that can run it. */
export class Collection {
  constructor(ctx, builder, kind, node) {
    this.ctx = ctx;
    this.builder = builder;
    this.kind = kind;
    this.node = node;
  }

  /** Computes this collection; see Context.compute for the options. */
  async compute(options = {}) {
    const [out] = await this.ctx.compute(this, options);
    return out;
  }

  /** Computes and keeps the partitions in the engine; later computations reuse them. */
  persist(options = {}) {
    return this.ctx.persist(this, options);
  }

  /** The task graph (`{layers, tasks, outputs}`), optimised or not. */
  graph(options = {}) {
    return this.ctx.graph(this, options);
  }

  /** Graph data for drawing: the graph with and without optimisation. */
  async visualize() {
    const [raw, optimized] = await Promise.all([this.graph({ optimize: false }), this.graph({ optimize: true })]);
    return { raw, optimized };
  }

  /**
   * What is known before computing, without running anything: `kind`, `npartitions`, the
   * graph's `tasks` and `layers`, and for arrays Dask's attributes (`shape`, `ndim`,
   * `dtype`, `chunks`, `numblocks`, `nbytes`, `chunksize`, `itemsize`, `size`).
   */
  async metadata() {
    const r = await this.ctx.validate(this);
    return { ...r.outputs[0], tasks: r.tasks, layers: r.layers };
  }

  /** The plan JSON that computes this collection. */
  plan() {
    return this.builder.plan([this]);
  }

  _derive(kind, op, inputs, args) {
    const Kind = kind === 'bag' ? Bag : kind === 'array' ? ArrayCollection : kind === 'dataframe' ? DataFrame : Delayed;
    return new Kind(this.ctx, this.builder, kind, this.builder.node(op, inputs, planArgs(args)));
  }
}

/** A lazy bag (dask.bag): elements split into partitions. Method names are Dask's, in camelCase. */
export class Bag extends Collection {
  static constructors(ctx, builder) {
    const make = (op, args, inputs = []) => new Bag(ctx, builder, 'bag', builder.node(op, inputs, planArgs(args)));
    return {
      /** `fromSequence([...], {npartitions | partitionSize})`, cut as dask.bag.from_sequence cuts. */
      fromSequence: (items, options = {}) => make('bag.from_sequence', { items: Array.from(items), ...options }),
      /** `range(n, {npartitions})` */
      range: (n, options = {}) => make('bag.range', { n, npartitions: options.npartitions ?? 1 }),
      /** `readText(text | [text | {name, text}], {blocksize})`: lines with their newlines. */
      readText: (source, options = {}) =>
        make('bag.read_text', typeof source === 'string' ? { text: source, ...options } : { files: source, ...options }),
      /** `fromDelayed([delayed, ...])`: one partition per delayed list. */
      fromDelayed: (values) => make('bag.from_delayed', {}, values),
      /** `zip(a, b, ...)`: one list per position. */
      zip: (...bags) => make('bag.zip', {}, bags),
      /** `concat([a, b, ...])`: the partitions one after another. */
      concat: (bags) => make('bag.concat', {}, bags),
    };
  }

  #bag(op, args, inputs = [this]) {
    return this._derive('bag', op, inputs, args);
  }
  #value(op, args, inputs = [this]) {
    return this._derive('value', op, inputs, args);
  }

  // Element-wise
  /** Applies `func` to every element; with other bags, to one element of each (zipped). */
  map(func, ...otherBags) {
    return this.#bag('bag.map', { func }, [this, ...otherBags]);
  }
  starmap(func) {
    return this.#bag('bag.starmap', { func });
  }
  filter(predicate) {
    return this.#bag('bag.filter', { predicate });
  }
  remove(predicate) {
    return this.#bag('bag.remove', { predicate });
  }
  /**
   * A bag of records as a dataframe (`bag.to_dataframe`), one partition per bag
   * partition. Dtypes from `{meta: {col: 'int64' | 'float64' | 'bool' | 'string'}}`, or
   * from the items when the bag is a literal sequence.
   */
  toDataframe(options = {}) {
    return this._derive('dataframe', 'bag.to_dataframe', [this], options);
  }
  /** A field, index, or list of them; `{default}` for missing ones. */
  pluck(key, options = {}) {
    return this.#bag('bag.pluck', { key, ...options });
  }
  flatten() {
    return this.#bag('bag.flatten', {});
  }
  mapPartitions(func) {
    return this.#bag('bag.map_partitions', { func });
  }
  /** `randomSample(prob, {randomState})`: deterministic per partition for a state. */
  randomSample(prob, options = {}) {
    return this.#bag('bag.random_sample', { prob, ...options });
  }
  /** String methods, as Dask's `.str`: `b.str.lower()`, `b.str.split(',')`. */
  get str() {
    return new Proxy(
      {},
      { get: (_, method) => (...args) => this.#bag('bag.str', { method: String(method), args }) },
    );
  }

  // Reductions: tree reductions; `splitEvery` sets the fan-in.
  count(options = {}) {
    return this.#value('bag.count', options);
  }
  sum(options = {}) {
    return this.#value('bag.sum', options);
  }
  min(options = {}) {
    return this.#value('bag.min', options);
  }
  max(options = {}) {
    return this.#value('bag.max', options);
  }
  mean(options = {}) {
    return this.#value('bag.mean', options);
  }
  std(options = {}) {
    return this.#value('bag.std', options);
  }
  var(options = {}) {
    return this.#value('bag.var', options);
  }
  all(options = {}) {
    return this.#value('bag.all', options);
  }
  any(options = {}) {
    return this.#value('bag.any', options);
  }
  /** `[value, count]` pairs; `sort` orders by count. */
  frequencies(options = {}) {
    return this.#value('bag.frequencies', options);
  }
  distinct(options = {}) {
    return this.#bag('bag.distinct', options);
  }
  topk(k, options = {}) {
    return this.#bag('bag.topk', { k, ...options });
  }
  fold(binop, options = {}) {
    return this.#value('bag.fold', { binop, ...options });
  }
  foldby(key, binop, options = {}) {
    return this.#bag('bag.foldby', { key, binop, ...options });
  }
  reduction(perpartition, aggregate, options = {}) {
    return this.#value('bag.reduction', { perpartition, aggregate, ...options });
  }

  // Shuffles and structure
  /** A task shuffle: `[key, [elements]]` pairs. */
  groupby(grouper, options = {}) {
    return this.#bag('bag.groupby', { grouper, ...options });
  }
  repartition(npartitions) {
    return this.#bag('bag.repartition', { npartitions });
  }
  /** The first k elements, reading only the first `npartitions` partitions. */
  take(k, options = {}) {
    return this.#value('bag.take', { k, ...options });
  }
  zip(...others) {
    return this.#bag('bag.zip', {}, [this, ...others]);
  }
  concat(...others) {
    return this.#bag('bag.concat', {}, [this, ...others]);
  }
  /** `[otherElement, element]` pairs where the keys match. */
  join(other, onSelf, onOther) {
    return this.#bag('bag.join', { onSelf, onOther }, [this, other]);
  }
  accumulate(binop, options = {}) {
    return this.#bag('bag.accumulate', { binop, ...options });
  }
  /** One delayed value (a list) per partition. */
  async toDelayed() {
    const n = await this.npartitions();
    return Array.from({ length: n }, (_, partition) => this.#value('bag.to_delayed', { partition }));
  }
  /** The number of partitions, from the lowered graph. */
  async npartitions() {
    const g = await this.graph({ optimize: false });
    const out = g.tasks[g.outputs[0]];
    return g.tasks.filter((t) => t.layer === out?.layer).length;
  }
}

/** A lazy value: a delayed call or the result of a reduction. */
export class Delayed extends Collection {
  static value(ctx, builder, value, name) {
    return new Delayed(ctx, builder, 'value', builder.node('delayed.value', [], planArgs({ value, name })));
  }

  static call(ctx, builder, source, args, name) {
    const inputs = [];
    const slots = args.map((a) => {
      if (a instanceof Collection) {
        inputs.push(a);
        return { input: inputs.length - 1 };
      }
      return { value: a === undefined ? null : a };
    });
    return new Delayed(ctx, builder, 'value', builder.node('delayed.call', inputs, planArgs({ func: source, args: slots, name })));
  }
}

/** A computed array: shape, dtype and the values as a typed array (C order). */
export class NDArray {
  constructor(shape, dtype, data, chunks) {
    this.shape = shape;
    this.dtype = dtype;
    this.data = data;
    /** The chunks it was computed in (Dask's tuple of tuples), for pictures. */
    this.chunks = chunks ?? shape.map((s) => [s]);
  }

  static fromResult(r) {
    const data =
      r.dtype === 'float64'
        ? Float64Array.from(r.data, (x) => (x === null ? NaN : x))
        : r.dtype === 'int64'
          ? BigInt64Array.from(r.data, (x) => BigInt(x))
          : Uint8Array.from(r.data, (x) => (x ? 1 : 0));
    return new NDArray(r.shape, r.dtype, data, r.chunks);
  }

  get size() {
    return this.data.length;
  }

  /** Nested lists, as NumPy's tolist(). */
  toList() {
    const item = (i) => (this.dtype === 'int64' ? Number(this.data[i]) : this.dtype === 'bool' ? this.data[i] === 1 : this.data[i]);
    if (this.shape.length === 0) return item(0);
    let offset = 0;
    const build = (axis) => {
      const out = [];
      for (let i = 0; i < this.shape[axis]; i++) out.push(axis === this.shape.length - 1 ? item(offset++) : build(axis + 1));
      return out;
    };
    return build(0);
  }
}

/** Turns array results from the engine into NDArray objects. */
export function reviveResult(value) {
  if (value && typeof value === 'object' && value.__array__ === true) return NDArray.fromResult(value);
  if (value && typeof value === 'object' && value.__frame__ === true) return DataFrameResult.fromResult(value);
  return value;
}

const ELEMWISE = ['add', 'sub', 'mul', 'truediv', 'floordiv', 'mod', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or'];
const UNARY = ['neg', 'abs', 'sqrt', 'exp', 'log', 'sin', 'cos', 'tanh', 'floor', 'ceil', 'round', 'not'];
const REDUCTIONS = ['sum', 'prod', 'min', 'max', 'mean', 'any', 'all', 'var', 'std', 'argmin', 'argmax'];

/** A lazy n-d array split into chunks (dask.array). */
export class ArrayCollection extends Collection {
  static constructors(ctx, builder) {
    const make = (op, args) => new ArrayCollection(ctx, builder, 'array', builder.node(op, [], planArgs(args)));
    const flat = (data) => (ArrayBuffer.isView(data) ? Array.from(data, (x) => (typeof x === 'bigint' ? Number(x) : x)) : data);
    return {
      /** `fromArray(nestedLists | typedArray, {shape, chunks, dtype})` */
      fromArray: (data, options = {}) => make('array.from_array', { data: flat(data), ...options }),
      ones: (shape, options = {}) => make('array.ones', { shape, ...options }),
      zeros: (shape, options = {}) => make('array.zeros', { shape, ...options }),
      full: (shape, fillValue, options = {}) => make('array.full', { shape, fillValue, ...options }),
      /** `linspace(start, stop, num, {endpoint, chunks})` */
      linspace: (start, stop, num = 50, options = {}) => make('array.linspace', { start, stop, num, ...options }),
      /** `eye(N, {M, k, chunks})` */
      eye: (N, options = {}) => make('array.eye', { N, ...options }),
      /** Seeded random values: `random([4, 4], {distribution: 'normal', seed: 1, chunks: 2})`. */
      random: (size, options = {}) => make('array.random', { size, ...options }),
      /**
       * `where(condition, x, y)`: x where the condition holds, else y; x and y are arrays or
       * numbers; all three broadcast together.
       */
      where: (condition, x, y) => {
        const inputs = [condition];
        const args = {};
        for (const [name, v] of [['x', x], ['y', y]]) {
          if (v instanceof ArrayCollection) inputs.push(v);
          else args[name] = v;
        }
        return new ArrayCollection(ctx, builder, 'array', builder.node('array.where', inputs, planArgs(args)));
      },
      /** Arrays joined along an existing axis. */
      concatenate: (arrays, options = {}) =>
        new ArrayCollection(ctx, builder, 'array', builder.node('array.concatenate', arrays, planArgs(options))),
      /** Arrays of equal shape joined along a new axis. */
      stack: (arrays, options = {}) => new ArrayCollection(ctx, builder, 'array', builder.node('array.stack', arrays, planArgs(options))),
      /** `arange(stop)` or `arange(start, stop, step, {chunks, dtype})` */
      arange: (...args) => {
        const options = typeof args[args.length - 1] === 'object' ? args.pop() : {};
        const [a, b, step] = args;
        return b === undefined ? make('array.arange', { stop: a, ...options }) : make('array.arange', { start: a, stop: b, step, ...options });
      },
    };
  }

  #array(op, args, inputs = [this]) {
    return this._derive('array', op, inputs, args);
  }

  /** Element-wise with another array (equal chunks) or a number. */
  elemwise(op, other, { reverse } = {}) {
    if (other instanceof ArrayCollection) return this.#array('array.elemwise', { op }, [this, other]);
    if (other === undefined) return this.#array('array.elemwise', { op });
    return this.#array('array.elemwise', { op, other, reverse });
  }
  /**
   * Indexing: one entry per axis, an integer, `null` (everything) or `{start, stop, step}`
   * (negative values count from the end). Reads only the blocks it needs.
   */
  getitem(index) {
    return this.#array('array.getitem', { index: index.map((i) => (i === undefined ? null : i)) });
  }
  astype(dtype) {
    return this.#array('array.astype', { dtype });
  }
  /**
   * `map_blocks` with a per-element function (`x => x * 2`, `lambda x: x ** 2`); blocks
   * keep their shape. `dtype` is inferred by calling the function on a one unless given.
   */
  mapBlocks(func, { dtype } = {}) {
    return this.#array('array.map_blocks', { func, dtype });
  }
  /** The same elements in a new shape: `reshape([4, 6])`, `reshape(4, -1)`. */
  reshape(...shape) {
    return this.#array('array.reshape', { shape: shape.length === 1 ? shape[0] : shape });
  }
  /**
   * Whole blocks by block index, as Dask's `x.blocks[i, j]`: `x.blocks.at(0, {start: 1})`.
   * Integers keep their axis (one block long); slices count blocks.
   */
  get blocks() {
    return { at: (...index) => this.#array('array.blocks', { index: index.map((i) => (i === undefined ? null : i)) }) };
  }
  /** Values limited to [min, max] (either may be omitted). */
  clip(min, max) {
    return this.#array('array.clip', { min: min ?? undefined, max: max ?? undefined });
  }
  /** The same array in new chunks (each new block reads the old blocks it overlaps). */
  rechunk(chunks) {
    return this.#array('array.rechunk', { chunks });
  }
  transpose(axes) {
    return this.#array('array.transpose', axes ? { axes } : {});
  }
  get T() {
    return this.transpose();
  }
  matmul(other, options = {}) {
    return this.#array('array.matmul', options, [this, other]);
  }
  dot(other, options = {}) {
    return this.matmul(other, options);
  }
}

for (const op of ELEMWISE) {
  ArrayCollection.prototype[op] = function (other, options) {
    return this.elemwise(op, other, options);
  };
}
ArrayCollection.prototype.div = ArrayCollection.prototype.truediv;
for (const op of UNARY) {
  ArrayCollection.prototype[op] = function () {
    return this.elemwise(op);
  };
}
for (const r of REDUCTIONS) {
  /** A tree reduction; `{axis, keepdims, splitEvery}`. */
  ArrayCollection.prototype[r] = function (options = {}) {
    return this._derive('array', `array.${r}`, [this], options);
  };
}

/** A computed dataframe: its rows as records, with columns, dtypes and partitioning. */
export class DataFrameResult {
  constructor(columns, dtypes, records, npartitions, divisions, index = null) {
    this.columns = columns;
    this.dtypes = dtypes;
    this.records = records;
    this.npartitions = npartitions;
    /** Index values where partitions start (and the last), or null when unknown. */
    this.divisions = divisions;
    /** The column that is the index (the first column), or null for a RangeIndex. */
    this.index = index;
  }

  static fromResult(r) {
    return new DataFrameResult(r.columns, r.dtypes, r.records, r.npartitions, r.divisions ?? null, r.index ?? null);
  }

  get length() {
    return this.records.length;
  }

  /** The rows, as pandas' `to_dict('records')`. */
  toRecords() {
    return this.records;
  }

  toJSON() {
    return this.records;
  }
}

/**
 * A column predicate built step by step, as `df.col('val').gt(0.5).and(df.col('cat').eq('a'))`;
 * it becomes the plan's predicate JSON and runs column-wise with Arrow kernels.
 */
export class ColumnPredicate {
  constructor(spec) {
    this.spec = spec;
  }
  and(other) {
    return new ColumnPredicate({ and: [this.spec, other.spec] });
  }
  or(other) {
    return new ColumnPredicate({ or: [this.spec, other.spec] });
  }
  not() {
    return new ColumnPredicate({ not: this.spec });
  }
  toJSON() {
    return this.spec;
  }
}

/** A column reference for building predicates. */
export class Column {
  constructor(name) {
    this.name = name;
  }
  isnull() {
    return new ColumnPredicate({ isnull: this.name });
  }
  notnull() {
    return new ColumnPredicate({ notnull: this.name });
  }
}
for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge']) {
  Column.prototype[op] = function (value) {
    return new ColumnPredicate({ col: this.name, op, value });
  };
}

/** A lazy dataframe (dask.dataframe): Arrow record batches as partitions. */
export class DataFrame extends Collection {
  static constructors(ctx, builder) {
    const make = (op, args) => new DataFrame(ctx, builder, 'dataframe', builder.node(op, [], planArgs(args)));
    return {
      /** `fromRecords([{...}, ...], {npartitions | chunksize})`, cut as dd.from_pandas cuts. */
      fromRecords: (records, options = {}) => make('dataframe.from_records', { records: Array.from(records), ...options }),
      /**
       * `readCsv(textOrBytes, {blocksize, dtype})`: one partition per block of about
       * blocksize bytes; `dtype: {col: 'string'}` overrides the inferred dtypes.
       */
      readCsv: (text, options = {}) =>
        make('dataframe.read_csv', { text: typeof text === 'string' ? text : new TextDecoder().decode(text), ...options }),
      /** `fromColumns({name: [values]}, {npartitions | chunksize})`, cut as fromRecords. */
      fromColumns: (columns, options = {}) =>
        make('dataframe.from_columns', {
          columns: Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, Array.from(v)])),
          ...options,
        }),
      /**
       * `fromArrow(bytes, {npartitions | chunksize})`: Arrow IPC stream or file bytes (a
       * Uint8Array or ArrayBuffer). For an apache-arrow Table pass `tableToIPC(table)`.
       */
      fromArrow: (bytes, options = {}) => make('dataframe.from_ipc', { ipc: toBase64(ipcBytes(bytes)), ...options }),
      /** `fromArray(array, {columns})`: a 1-D or 2-D array, one partition per row chunk. */
      fromArray: (array, options = {}) => {
        if (!(array instanceof ArrayCollection)) throw new EngineError('type', 'fromArray takes an array collection (ctx.array.*)');
        return new DataFrame(ctx, builder, 'dataframe', builder.node('dataframe.from_array', [array], planArgs(options)));
      },
    };
  }

  /**
   * Computes the frame. `{format: 'arrow'}` gives the rows as one Arrow IPC stream (a
   * Uint8Array that apache-arrow's `tableFromIPC` reads) instead of a DataFrameResult.
   */
  async compute(options = {}) {
    const { format, ...rest } = options;
    if (format === 'arrow') return this.toArrow(rest);
    if (format !== undefined && format !== 'records') {
      throw new EngineError('value', `compute: format must be 'records' or 'arrow', not ${JSON.stringify(format)}`);
    }
    return super.compute(rest);
  }

  /** The rows as one Arrow IPC stream (a Uint8Array). */
  async toArrow(options = {}) {
    const text = await this.#value('dataframe.to_ipc', {}).compute(options);
    return fromBase64(text);
  }

  #frame(op, args) {
    return this._derive('dataframe', op, [this], args);
  }
  #value(op, args) {
    return this._derive('value', op, [this], args);
  }

  /** A column, for predicates: `df.col('val').gt(0.5)`. */
  col(name) {
    return new Column(name);
  }
  /** Columns by name, in this order (`df[['a', 'b']]`). */
  select(columns) {
    return this.#frame('dataframe.select', { columns });
  }
  /**
   * Rows where the predicate holds (`df[df.val > 0.5]`): a column predicate
   * (`df.col('val').gt(0.5)`), or a row function (`r => r.val > 0.5 && r.cat == 'a'`, or
   * its source, or a Python lambda) evaluated over whole Arrow columns.
   */
  filter(predicate) {
    if (typeof predicate === 'function' || typeof predicate === 'string') {
      return this.#frame('dataframe.filter', { expr: functionSource(predicate) });
    }
    const spec = predicate instanceof ColumnPredicate ? predicate.spec : predicate;
    return this.#frame('dataframe.filter', { predicate: spec });
  }
  /** Rows where a row function holds, as `df.query` (`r => r.val > 0.5`). */
  query(expr) {
    return this.#frame('dataframe.query', { expr: functionSource(expr) });
  }
  /** New or replaced columns from row functions: `df.assign({z: r => r.x * 2})`. */
  assign(columns) {
    const cols = Object.fromEntries(Object.entries(columns).map(([k, f]) => [k, functionSource(f)]));
    return this.#frame('dataframe.assign', { columns: cols });
  }
  /** Columns renamed: `df.rename({old: 'new'})`. */
  rename(columns) {
    return this.#frame('dataframe.rename', { columns });
  }
  /** Every column except these (a name or a list). */
  drop(columns) {
    return this.#frame('dataframe.drop', { columns });
  }
  /** Columns cast: `df.astype({x: 'float64'})` (int64, float64, bool, string), or one dtype for all. */
  astype(dtypes) {
    return this.#frame('dataframe.astype', { dtypes });
  }
  /** Missing values filled: a scalar (in the columns whose dtype it fits) or `{col: value}`. */
  fillna(value) {
    return this.#frame('dataframe.fillna', { value });
  }
  /** Rows without missing values (`{subset, how: 'any' | 'all'}`). */
  dropna(options = {}) {
    return this.#frame('dataframe.dropna', options);
  }
  /** A frame of bools: whether each value is missing. */
  isnull() {
    return this.#frame('dataframe.isnull', {});
  }
  /** Distinct rows (`{subset, splitEvery}`), as a tree reduction to one partition. */
  dropDuplicates(options = {}) {
    return this.#frame('dataframe.drop_duplicates', options);
  }
  /**
   * A row function returning a record (`r => ({y: r.x + 1})`), applied to every row. The
   * output dtypes come from `{meta: {col: dtype}}` or from calling it on a fake row, as Dask.
   */
  mapPartitions(func, options = {}) {
    return this.#frame('dataframe.map_partitions', { func: functionSource(func), ...options });
  }
  /** Counts of each non-null value of a column, by count descending: a frame of [column, count]. */
  valueCounts(column, options = {}) {
    return this.#frame('dataframe.value_counts', { column, ...options });
  }
  /** Only the partitions at index (an int or a list of ints): Dask's `df.partitions[i]`. */
  getPartitions(index) {
    return this.#frame('dataframe.partitions', { index });
  }
  /** `df.partitions[i]`, as in Dask. */
  get partitions() {
    return new Proxy(
      {},
      {
        get: (_, key) => {
          if (typeof key === 'string' && /^-?\d+$/.test(key)) return this.getPartitions(Number(key));
          return undefined;
        },
      },
    );
  }
  /** The last rows of the last partition, as Dask's tail. */
  tail(n = 5) {
    return this.#frame('dataframe.tail', { n });
  }
  /** The frame as CSV text with a header (a lazy value). */
  toCsv() {
    return this.#value('dataframe.to_csv', {});
  }
  /** The first rows of the first partition(s), as Dask's head. */
  head(n = 5, { npartitions } = {}) {
    return this.#frame('dataframe.head', { n, npartitions });
  }
  /** The number of rows, as a tree reduction. */
  len(options = {}) {
    return this.#value('dataframe.len', options);
  }
  /** Groups by one or more key columns: `df.groupby('key', {splitEvery, splitOut}).agg({...})`. */
  groupby(by, options = {}) {
    return new GroupBy(this, by, options);
  }
  /**
   * A join with another frame: `merge(other, {on, leftOn, rightOn, how, suffixes})`; a
   * broadcast join when a side has one partition, else a hash shuffle of both sides.
   */
  merge(other, { on, leftOn, rightOn, how, suffixes } = {}) {
    return this._derive('dataframe', 'dataframe.merge', [this, other], { on, left_on: leftOn, right_on: rightOn, how, suffixes });
  }
  /** `join(other, {on, how, suffixes})`: merge on key columns (left join by default, as pandas). */
  join(other, { on, how = 'left', suffixes } = {}) {
    return this.merge(other, { on, how, suffixes });
  }
  /** A column as the sorted index: `setIndex('id', {divisions, npartitions})`. */
  setIndex(column, { divisions, npartitions } = {}) {
    return this.#frame('dataframe.set_index', { column, divisions, npartitions });
  }
  /** Rows sorted by a column (or columns), stable, nulls last: `sortValues('x', {ascending})`. */
  sortValues(by, { ascending } = {}) {
    return this.#frame('dataframe.sort_values', { by, ascending });
  }
  /**
   * Rows by index label: `loc(5)` or `loc({start, stop})` (both inclusive, either may be
   * omitted); with known divisions only the partitions that can hold them are read.
   */
  loc(selection) {
    const isSlice = selection !== null && typeof selection === 'object' && !Array.isArray(selection);
    return this.#frame('dataframe.loc', isSlice ? { start: selection.start, stop: selection.stop } : { label: selection });
  }
  /** `repartition({npartitions})`: fewer joins neighbours, more cuts partitions evenly. */
  repartition({ npartitions } = {}) {
    return this.#frame('dataframe.repartition', { npartitions });
  }
}
for (const r of ['sum', 'mean', 'count', 'min', 'max', 'std', 'var', 'nunique', 'describe']) {
  /** A per-column tree reduction (`{splitEvery}`); numeric columns only, except count. */
  DataFrame.prototype[r] = function (options = {}) {
    return this._derive('value', `dataframe.${r}`, [this], options);
  };
}

/**
 * A grouped dataframe (`df.groupby(by)`); aggregating gives a dataframe with the key
 * columns first, one row per group, sorted by the keys.
 */
export class GroupBy {
  constructor(frame, by, options = {}, columns = null) {
    this.frame = frame;
    this.by = by;
    this.options = options;
    this.columns = columns;
  }
  /** Only these columns (`df.groupby('k')['val']`). */
  get(columns) {
    return new GroupBy(this.frame, this.by, this.options, Array.isArray(columns) ? columns : [columns]);
  }
  /**
   * `agg({col: 'sum' | ['sum', 'mean', ...]})`: a name keeps the column's name, a list
   * names the outputs `col_sum`, `col_mean`; or one aggregation name for every column.
   */
  agg(spec, options = {}) {
    if (typeof spec === 'string') return this.#run({ func: spec, columns: this.columns ?? undefined }, options);
    return this.#run({ agg: spec }, options);
  }
  #run(args, options) {
    return this.frame._derive('dataframe', 'dataframe.groupby_agg', [this.frame], {
      by: this.by,
      ...this.options,
      ...args,
      ...options,
    });
  }
}
for (const a of ['sum', 'mean', 'count', 'size', 'min', 'max', 'std', 'var', 'first', 'last']) {
  GroupBy.prototype[a] = function (options = {}) {
    return this.agg(a, options);
  };
}

/** IPC bytes from a Uint8Array, an ArrayBuffer or a typed array view. */
function ipcBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input && typeof input === 'object' && 'schema' in input) {
    throw new EngineError(
      'type',
      "fromArrow takes Arrow IPC bytes; for an apache-arrow Table pass tableToIPC(table) (import { tableToIPC } from 'apache-arrow')",
    );
  }
  throw new EngineError('type', `fromArrow takes Arrow IPC bytes (a Uint8Array), got ${typeof input}`);
}

function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
