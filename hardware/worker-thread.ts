// Starts the worker threads that own ALSA PCMs (playback and capture): every
// blocking libasound call runs there, never on the event loop.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * URL of tsx's ESM API, resolved from this file (the worker's cwd may be anywhere).
 * Read from tsx's export map: mocha loads this module as CommonJS, where
 * import.meta.resolve is missing, and tsx's CommonJS API cannot tsImport.
 */
function tsxEsmApiUrl(fromUrl: string): string {
  const pkgJson = createRequire(fromUrl).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports?.['./esm/api']?.import?.default;
  if (!rel) throw new Error(`worker thread: cannot find tsx's ESM API in ${pkgJson}`);
  return pathToFileURL(join(dirname(pkgJson), rel)).href;
}

export type WorkerName = 'audio/alsa-worker' | 'audio/alsa-capture-worker';

/** Starts a worker thread from hardware/<name>.ts; under tsx its loader is registered inside the worker first. */
/** true inside the one-file companion bundle (companion/build.ts defines it), undefined elsewhere */
declare const NEARCAST_ONE_FILE: boolean | undefined;

/** worker threads started and not yet exited, by name (exitProcess, hardware/process-exit.ts, waits for them only so long) */
const live = new Map<Worker, string>();

/** Counts `worker` among the live ones until it exits. */
export function trackWorker(worker: Worker, name: string): Worker {
  live.set(worker, name);
  worker.once('exit', () => live.delete(worker));
  return worker;
}

/** settles when `p` does or after `ms`, whichever comes first (stopping a worker that may be stuck in a native call) */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** the worker threads that have not exited, with their names */
export function liveWorkers(): Array<{ worker: Worker; name: string }> {
  return [...live].map(([worker, name]) => ({ worker, name }));
}

export function startWorker(name: WorkerName): Worker {
  return trackWorker(newWorker(name), name);
}

function newWorker(name: WorkerName): Worker {
  const here = import.meta.url;
  // the one-file companion: the bundle itself is the worker, told which one by workerData
  if (typeof NEARCAST_ONE_FILE !== 'undefined' && NEARCAST_ONE_FILE) return new Worker(new URL(here), { workerData: { nearcastWorker: name } });
  // compiled (the bundle in dist/firmware/): every worker is built beside it, by its base name
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${name.split('/')[1]}.js`, here));
  // Node 20 does not apply `--import tsx` to a worker's .ts entry reliably, so the
  // worker boots from a tiny eval'd script that loads the .ts file through tsx's API.
  const workerUrl = new URL(`./${name}.ts`, here).href;
  const boot = `import(${JSON.stringify(tsxEsmApiUrl(here))}).then((t) => t.tsImport(${JSON.stringify(workerUrl)}, ${JSON.stringify(workerUrl)}))`;
  return new Worker(boot, { eval: true, execArgv: [] });
}
