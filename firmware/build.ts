// Builds the box as it runs on a device: one ES module bundle of our sources (npm
// packages stay in node_modules), so no TypeScript loader thread runs beside the
// audio (tsx's loader costs ~35 MB of RSS and start-up time). `make build` and the
// load benchmark call this; `make run` and the tests run the sources through tsx.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** dist/firmware/: two levels below the root like firmware/*.ts, so paths relative to a module still hold */
export const DIST = path.join(ROOT, 'dist', 'firmware');
export const BOX_BUNDLE = path.join(DIST, 'nearcast-box.mjs');
/** V8 settings for the box process: a small young generation keeps RSS low at little CPU cost */
export const BOX_NODE_FLAGS = ['--max-semi-space-size=1'];

export async function buildBox(): Promise<string> {
  const common = { bundle: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', logLevel: 'warning', sourcemap: 'linked' } as const;
  await build({ ...common, entryPoints: [path.join(ROOT, 'firmware/main.ts')], outfile: BOX_BUNDLE });
  // worker threads are loaded by file name beside the bundle (hardware/worker-thread.ts)
  for (const w of ['audio/alsa-worker', 'audio/alsa-capture-worker']) {
    await build({ ...common, entryPoints: [path.join(ROOT, `hardware/${w}.ts`)], outfile: path.join(DIST, `${path.basename(w)}.js`) });
  }
  return BOX_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildBox();
  process.stdout.write(`built ${path.relative(ROOT, out)}\n`);
}
