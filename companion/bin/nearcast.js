#!/usr/bin/env node
// Runs the TypeScript sources through tsx (`npm link` in a checkout; `make build`
// makes the one-file bundle in dist/ that needs no checkout).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
