// Builds what runs on a device, so that neither tsx nor esbuild runs there (both
// are development dependencies; `make install` installs production ones only):
// - the box: one ES module bundle of our sources (npm packages stay in
//   node_modules), plus its ALSA worker threads, loaded by file name beside it;
// - the `nearcast` CLI, bundled the same way;
// - the web companion's script for browsers, which the box serves from this file
//   instead of bundling it on the first request.
// A TypeScript loader beside the audio costs CPU and ~35 MB of RSS. `make build`,
// `make install` and the load benchmark call this; `make run` and the tests run
// the sources through tsx.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** dist/firmware/: two levels below the root like firmware/*.ts, so paths relative to a module still hold */
export const DIST = path.join(ROOT, 'dist', 'firmware');
export const BOX_BUNDLE = path.join(DIST, 'nearcast-box.mjs');
export const CLI_BUNDLE = path.join(ROOT, 'dist', 'companion', 'nearcast.mjs');
export const WEB_BUNDLE = path.join(ROOT, 'dist', 'web', 'app.js');
/**
 * V8 settings for the box process (also in config/systemd/nearcast.service): a small
 * young generation; a heap that grows in smaller steps and collects sooner
 * (`--optimize-for-size`: at 20 listeners 33 MB private memory instead of 51–62, at
 * the same CPU within the load benchmark's resolution; README "Performance"); one V8
 * helper thread instead of one per core. With them the unit sets MALLOC_ARENA_MAX=2.
 */
export const BOX_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size', '--v8-pool-size=1'];
export const BOX_ENV = { MALLOC_ARENA_MAX: '2' };

export async function buildBox(): Promise<string> {
  // whitespace and syntax minified (V8 keeps every module's source text in the heap), names kept for readable stack traces
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    target: 'node20',
    logLevel: 'warning',
    sourcemap: 'linked',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
  } as const;
  // the web server reads the prebuilt page script from here (firmware/web/web-server.ts)
  const define = { PREBUILT_WEB_APP: JSON.stringify(path.relative(DIST, WEB_BUNDLE)) };
  await build({ ...common, define, entryPoints: [path.join(ROOT, 'firmware/main.ts')], outfile: BOX_BUNDLE });
  for (const w of ['audio/alsa-worker', 'audio/alsa-capture-worker']) {
    await build({ ...common, entryPoints: [path.join(ROOT, `hardware/${w}.ts`)], outfile: path.join(DIST, `${path.basename(w)}.js`) });
  }
  await build({ ...common, entryPoints: [path.join(ROOT, 'companion/cli/main.ts')], outfile: CLI_BUNDLE });
  await build({
    entryPoints: [path.join(ROOT, 'companion/web/app.ts')],
    outfile: WEB_BUNDLE,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    logLevel: 'warning',
  });
  return BOX_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildBox();
  process.stdout.write(`built ${path.relative(ROOT, out)}, ${path.relative(ROOT, CLI_BUNDLE)} and ${path.relative(ROOT, WEB_BUNDLE)}\n`);
}
