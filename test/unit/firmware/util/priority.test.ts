import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setProcessNice } from '../../../../firmware/util/priority.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const module = path.resolve(here, '../../../../firmware/util/priority.ts');
const helper = path.resolve(here, '../../../helpers/thread-nices.ts');

/** runs setProcessNice(nice) in a fresh node (with a worker thread started before it) and reports every thread's nice value */
function inChild(nice: number, prefix: string[] = []) {
  const script = `
    import { Worker } from 'node:worker_threads';
    import { setProcessNice } from ${JSON.stringify(module)};
    import { threadNices } from ${JSON.stringify(helper)};
    const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((r) => w.once('online', r));
    const result = setProcessNice(${nice});
    const threads = threadNices();
    console.log(JSON.stringify({ result, threads }));
    process.exit(0);`;
  const [cmd, ...args] = [...prefix, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`child exited ${r.status}: ${r.stderr}`);
  return JSON.parse(line) as { result: { ok: boolean; nice: number; why?: string }; threads: number[] };
}

describe('process priority (setProcessNice)', function () {
  this.timeout(60_000);

  it('sets every thread of the process, the ones already running included', () => {
    const { result, threads } = inChild(5); // lowering is always allowed
    expect(result, JSON.stringify(threads)).to.deep.equal({ ok: true, nice: 5 });
    expect(threads.length, 'main thread, V8 and libuv helpers, a worker').to.be.greaterThan(3);
    expect(threads, 'nice value of each thread').to.satisfy((t: number[]) => t.every((n) => n === 5));
  });

  it('a refused raise says what it takes and leaves the process as it was', function () {
    // a process without CAP_SYS_NICE: as root, the child runs without it
    const prefix = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-sys_nice'] : [];
    if (prefix.length === 0 && Number(spawnSync('sh', ['-c', 'ulimit -e'], { encoding: 'utf8' }).stdout) >= 25) this.skip(); // this user's nice limit allows -5
    const { result, threads } = inChild(-5, prefix);
    expect(result.ok, JSON.stringify(result)).to.equal(false);
    expect(result.why).to.match(/CAP_SYS_NICE/);
    expect(threads, 'nice value of each thread').to.satisfy((t: number[]) => t.every((n) => n === result.nice));
  });

  it('refuses a value outside -20..19', () => {
    const r = setProcessNice(25);
    expect(r.ok).to.equal(false);
    expect(r.ok === false && r.why).to.match(/from -20 to 19, not 25/);
  });
});
