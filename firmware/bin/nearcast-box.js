#!/usr/bin/env node
// The box as built by `make build` (dist/, no TypeScript loader, production
// dependencies only); in a source checkout that was never built, the sources
// through tsx (a development dependency).
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

const bundle = new URL('../../dist/firmware/nearcast-box.mjs', import.meta.url);
if (existsSync(bundle)) {
  // the heap settings the systemd unit passes on node's command line (firmware/build.ts
  // BOX_NODE_FLAGS); the V8 thread pool size and MALLOC_ARENA_MAX can only be set there
  v8.setFlagsFromString('--max-semi-space-size=1');
  v8.setFlagsFromString('--optimize-for-size');
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../main.ts');
}
