// Which wasm bundle can run here, and why: the threaded bundle needs cross-origin
// isolation (COOP/COEP headers) for SharedArrayBuffer, and wasm threads support.

/** Imports a Node built-in; the computed name keeps browser bundlers from resolving it. */
export function importNode(name) {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ `node:${name}`);
}

export const isNode =
  typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

// A module with one shared memory: validates only where wasm threads work.
const SHARED_MEMORY_MODULE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 3, 1, 1,
]);

function wasmThreadsSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SHARED_MEMORY_MODULE);
  } catch {
    return false;
  }
}

// A module with one 128-bit SIMD instruction (i8x16.popcnt): both bundles are built with
// wasm SIMD, which every current browser and Node 16.4+ run.
const SIMD_MODULE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** Whether this engine runs wasm's 128-bit SIMD, which both bundles use. */
export function wasmSimdSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_MODULE);
  } catch {
    return false;
  }
}

/** Hardware threads, at least 1. */
export async function hardwareThreads() {
  if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) return navigator.hardwareConcurrency;
  if (isNode) {
    const os = await importNode('os');
    return os.availableParallelism?.() ?? os.cpus().length ?? 1;
  }
  return 1;
}

/**
 * Chooses a bundle. `requested`: 'auto' | 'threads' | 'single'.
 * Returns {bundle, reason, crossOriginIsolated}.
 */
export function chooseBundle(requested = 'auto') {
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated === true;
  const sab = typeof SharedArrayBuffer === 'function';
  const threads = wasmThreadsSupported();
  const base = { crossOriginIsolated: isolated };
  if (!wasmSimdSupported()) {
    throw new Error(
      'partita needs WebAssembly SIMD (128-bit), which this engine does not run: use Chrome 91, Firefox 89, Safari 16.4, Node 16.4 or newer',
    );
  }
  if (requested === 'single') {
    return { ...base, bundle: 'single', reason: 'the single-threaded bundle was requested' };
  }
  if (isNode) {
    if (requested === 'threads') {
      throw new Error("bundle 'threads' is not available in Node; use 'auto' or 'single'");
    }
    return { ...base, bundle: 'single', reason: 'Node runs the single-threaded bundle; workers are simulated on one thread' };
  }
  const missing = [];
  if (!isolated) missing.push('the page is not cross-origin isolated (it needs COOP/COEP headers)');
  if (!sab) missing.push('SharedArrayBuffer is not available');
  if (!threads) missing.push('this browser cannot run WebAssembly threads');
  if (missing.length === 0) {
    return { ...base, bundle: 'threads', reason: 'the page is cross-origin isolated, so tasks run on real web-worker threads' };
  }
  if (requested === 'threads') {
    throw new Error(`the threaded bundle cannot run here: ${missing.join('; ')}`);
  }
  return {
    ...base,
    bundle: 'single',
    reason: `workers are simulated on one thread because ${missing.join('; ')}`,
  };
}
