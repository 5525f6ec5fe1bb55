#!/usr/bin/env node
// The CLI as built by `make build` (dist/companion/nearcast.mjs, run with this
// package's production dependencies); in a source checkout that was never built,
// the sources through tsx (a development dependency). The one file people can
// copy elsewhere is dist/nearcast.mjs (companion/build.ts).
import { existsSync } from 'node:fs';

const bundle = new URL('../../dist/companion/nearcast.mjs', import.meta.url);
let main;
if (existsSync(bundle)) {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
await main(process.argv);
