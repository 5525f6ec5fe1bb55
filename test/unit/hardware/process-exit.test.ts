// exitProcess in a real child process with a real worker thread: a worker inside a
// native call (libc sleep through koffi, as an audio library that never returns) does
// not hold up the exit, and the exit code is kept; a worker running JavaScript is
// stopped and the process exits the ordinary way.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** runs a child whose one worker runs `workerBody` (CommonJS), then calls exitProcess(code); its exit code, stderr and time */
async function runChild(dir: string, workerBody: string, code: number): Promise<{ code: number | null; stderr: string; ms: number }> {
  const script = path.join(dir, `child-${code}.ts`);
  const url = (p: string) => JSON.stringify(pathToFileURL(path.join(ROOT, p)).href);
  writeFileSync(
    script,
    `import { Worker } from 'node:worker_threads';
import { trackWorker } from ${url('hardware/worker-thread.ts')};
import { exitProcess } from ${url('hardware/process-exit.ts')};
const w = trackWorker(new Worker(${JSON.stringify(`const { parentPort } = require('node:worker_threads');\n${workerBody}`)}, { eval: true }), 'test-worker');
w.once('message', () => {
  void exitProcess(${code}, { graceMs: 300, onStuck: (names) => process.stderr.write('stuck: ' + names.join(',') + '\\n') });
});
`,
  );
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exitCode = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(killer);
  return { code: exitCode, stderr, ms: Date.now() - started };
}

describe('exitProcess (real child process, real worker thread)', function () {
  this.timeout(90_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-exit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a worker stuck in a native call for 120 s does not hold up the exit; the code is kept and the thread named', async () => {
    const r = await runChild(
      dir,
      `const koffi = require(${JSON.stringify(path.join(ROOT, 'node_modules/koffi'))});
const sleep = koffi.load('libc.so.6').func('unsigned int sleep(unsigned int)');
parentPort.postMessage('in'); sleep(120);`,
      7,
    );
    const what = `exit ${r.code} after ${r.ms} ms; stderr: ${r.stderr}`;
    expect(r.code, what).to.equal(7);
    expect(r.stderr, what).to.include('stuck: test-worker');
    expect(r.ms, `${what} (process.exit alone waits the 120 s out; killed at 60 s)`).to.be.below(40_000);
  });

  it('a worker running JavaScript is stopped, and the process exits the ordinary way', async () => {
    const r = await runChild(dir, `parentPort.postMessage('in'); for (;;) {}`, 5);
    const what = `exit ${r.code} after ${r.ms} ms; stderr: ${r.stderr}`;
    expect(r.code, what).to.equal(5);
    expect(r.stderr, what).to.not.include('stuck');
  });
});
