#!/usr/bin/env node
// Runs the TypeScript sources through tsx (no build step on the box).
import { register } from 'tsx/esm/api';
register();
await import('../main.ts');
