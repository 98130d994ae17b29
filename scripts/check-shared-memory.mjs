// Exits 0 if the wasm file imports a shared memory (the threaded bundle must), else 1.
import { readFileSync } from 'node:fs';

const bytes = readFileSync(process.argv[2]);
let pos = 8;
const u32 = () => {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++];
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result >>> 0;
    shift += 7;
  }
};
const name = () => {
  const n = u32();
  const s = bytes.subarray(pos, pos + n).toString('utf8');
  pos += n;
  return s;
};
while (pos < bytes.length) {
  const id = bytes[pos++];
  const size = u32();
  const end = pos + size;
  if (id === 2) {
    const count = u32();
    for (let i = 0; i < count; i++) {
      const mod = name();
      const field = name();
      const kind = bytes[pos++];
      if (kind === 0) u32();
      else if (kind === 1) { pos++; const f = u32(); u32(); if (f & 1) u32(); }
      else if (kind === 2) {
        const flags = u32();
        u32();
        if (flags & 1) u32();
        const shared = (flags & 2) !== 0;
        console.log(`memory import ${mod}.${field}: ${shared ? 'shared' : 'not shared'}`);
        process.exit(shared ? 0 : 1);
      } else if (kind === 3) { pos++; pos++; }
      else if (kind === 4) { pos++; u32(); }
    }
  }
  pos = end;
}
console.log('no memory import');
process.exit(1);
