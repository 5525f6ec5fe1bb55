// Entry of the one-file companion (dist/nearcast.mjs, companion/build.ts): the
// same file is the CLI on the main thread and the ALSA worker thread it starts
// (hardware/worker-thread.ts passes which worker in workerData).

import { isMainThread, workerData } from 'node:worker_threads';

if (isMainThread) {
  const { main } = await import('./main.ts');
  await main(process.argv);
} else if ((workerData as { nearcastWorker?: string } | null)?.nearcastWorker === 'audio/alsa-worker') {
  await import('../../hardware/audio/alsa-worker.ts');
} else {
  throw new Error(`nearcast: unknown worker ${JSON.stringify(workerData)}`);
}
