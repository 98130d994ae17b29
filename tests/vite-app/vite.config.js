// The package starts its engine in a module Worker that uses top-level await and
// import.meta, so Vite must emit workers as ES modules.
export default {
  base: './',
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  logLevel: 'warn',
};
