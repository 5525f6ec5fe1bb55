// Ending the process when a device thread may be stuck. Node's process.exit() joins
// every worker thread, and a worker blocked inside a native call cannot be stopped: a
// sound server's client library whose lock is held by a thread that lost its server,
// a driver that never returns. The exit would then wait for ever (measured here:
// process.exit() waits out a worker's 20 s native sleep). exitProcess() stops the
// workers, gives them `graceMs`, and when one is still inside its native call ends the
// process through libc's _exit: no thread is joined, the exit code is kept. Logs are
// written synchronously (pipes, files and terminals on Linux), so nothing is lost.

import koffi from 'koffi';
import { liveWorkers, settleWithin } from './worker-thread.ts';

export interface ExitOptions {
  /** how long the worker threads get to stop (default 2000 ms) */
  graceMs?: number;
  /** told when a thread could not be stopped, before the process ends without it */
  onStuck?: (names: string[]) => void;
}

/** Ends the process with `code` at once, joining no thread. */
export function exitNow(code: number): never {
  const libc = koffi.load('libc.so.6');
  libc.func('void _exit(int)')(code);
  throw new Error('_exit returned'); // unreachable
}

/** Ends the process with `code`; worker threads stuck in a native call do not hold it up. */
export async function exitProcess(code: number, o: ExitOptions = {}): Promise<never> {
  const graceMs = o.graceMs ?? 2000;
  const workers = liveWorkers();
  const exited = Promise.all(
    workers.map(
      ({ worker }) =>
        new Promise<void>((r) => {
          if (worker.threadId === -1) return r();
          worker.once('exit', () => r());
          void worker.terminate().catch(() => undefined);
        }),
    ),
  );
  await settleWithin(exited, graceMs);
  const stuck = liveWorkers().map((w) => w.name);
  if (stuck.length === 0) process.exit(code);
  o.onStuck?.(stuck);
  return exitNow(code);
}
