// A bench run's scratch directory and child processes: both go when the process exits,
// however it exits (the end of the run, an error, Ctrl-C), so no player, server or busy
// loop outlives the bench.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RunScope {
  dir: string;
  /** keeps `c` to be killed at exit (unless it exited before) and returns it */
  owned(c: ChildProcess): ChildProcess;
  /** the owned processes that have not exited yet */
  live(): ChildProcess[];
  /** starts an owned busy loop on the last core (the benches' CPU hog) */
  busyLoop(): ChildProcess;
}

export function runScope(name: string): RunScope {
  const dir = mkdtempSync(path.join(os.tmpdir(), `nearcast-${name}-`));
  const children = new Set<ChildProcess>();
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const own = (c: ChildProcess) => {
    children.add(c);
    c.once('exit', () => children.delete(c));
    return c;
  };
  return {
    dir,
    owned: own,
    live: () => [...children],
    busyLoop: () => own(spawn('taskset', ['-c', String(os.cpus().length - 1), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' })),
  };
}
