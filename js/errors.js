// Errors that cross from the engine to JS callers.

/** An error from the engine: `kind` names the category, `key` the failing task. */
export class EngineError extends Error {
  constructor(kind, message, key) {
    super(key ? `${message} (task ${key})` : message);
    this.name = 'EngineError';
    /** @type {string} */
    this.kind = kind;
    /** @type {string | undefined} */
    this.key = key ?? undefined;
    /** The engine's message without the key suffix. */
    this.detail = message;
  }

  /** Rebuilds an EngineError from the plain object the engine Worker posts. */
  static from(obj) {
    if (obj instanceof EngineError) return obj;
    if (obj && typeof obj === 'object' && typeof obj.kind === 'string') {
      return new EngineError(obj.kind, String(obj.message ?? ''), obj.key ?? undefined);
    }
    return new EngineError('internal', String(obj?.message ?? obj));
  }

  toJSON() {
    return { kind: this.kind, message: this.detail, key: this.key };
  }
}

/** Parses what the wasm binding throws (JSON text of `{kind, message, key}`). */
export function engineErrorFromWasm(thrown) {
  if (typeof thrown === 'string') {
    try {
      return EngineError.from(JSON.parse(thrown));
    } catch {
      return new EngineError('internal', thrown);
    }
  }
  return new EngineError('internal', String(thrown?.message ?? thrown));
}
