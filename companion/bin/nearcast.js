#!/usr/bin/env node
// The CLI as built by `make build` (dist/, no TypeScript loader); in a source
// checkout that was never built, the sources through tsx (a development dependency).
import { existsSync } from 'node:fs';

const bundle = new URL('../../dist/companion/nearcast.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
