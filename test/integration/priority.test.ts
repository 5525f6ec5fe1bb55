// The box and `nearcast join` raise their CPU priority before they open their audio
// devices (README "Configuration", audio.priority; "CLI reference", --priority): every
// thread of the process, or, where that is not allowed, one line that says why.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { threadNices } from '../helpers/thread-nices.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';

/** whether this test's processes may raise their priority (root, with CAP_SYS_NICE in its effective set) */
function mayRaise(): boolean {
  const eff = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 23n)) !== 0n; // CAP_SYS_NICE is capability 23
}

describe('CPU priority of the players (box audio.priority, join --priority)', function () {
  this.timeout(60_000);
  let dir: string;
  let box: BoxProcess;
  const comps: CompanionProcess[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-priority-'));
    box = await startBox(['--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')]);
  });

  after(async () => {
    await Promise.all(comps.map((c) => c.interrupt()));
    await box?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the box runs every thread at audio.priority (−10), or warns why it cannot', () => {
    const nices = threadNices(box.proc.pid!);
    const warning = box.logs.find((l) => l.includes('lower CPU priority than audio.priority'));
    if (mayRaise()) {
      expect(nices, `nice of each thread; ${warning ?? ''}`).to.satisfy((n: number[]) => n.length > 3 && n.every((x) => x === -10));
    } else {
      expect(warning, `box log: ${box.logs.slice(0, 5).join(' / ')}`).to.match(/CAP_SYS_NICE/);
    }
  });

  it('nearcast join runs at --priority (default −10), the threads its device started included; 0 leaves it as it was', async () => {
    const join = (extra: string[]) => {
      const c = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--device', 'null', '--json', ...extra]);
      comps.push(c);
      return c;
    };
    const [byDefault, asked, left] = [join(['--name', 'a']), join(['--name', 'b', '--priority', '-4']), join(['--name', 'c', '--priority', '0'])];
    for (const c of [byDefault, asked, left]) {
      await waitFor('a status line', () => c.status().length > 0, 30_000).catch((e: Error) => {
        throw new Error(`${e.message}: ${c.stderr.join(' / ')}`);
      });
    }
    const said = (c: CompanionProcess) => `said: ${c.stderr.join(' / ')}`;
    if (mayRaise()) {
      expect(threadNices(byDefault.proc.pid!), said(byDefault)).to.satisfy((n: number[]) => n.every((x) => x === -10));
      expect(threadNices(asked.proc.pid!), said(asked)).to.satisfy((n: number[]) => n.every((x) => x === -4));
    } else {
      expect(byDefault.stderr.join('\n'), 'the line saying why').to.match(/priority: playing at nice 0, not -10: .*CAP_SYS_NICE/);
    }
    expect(threadNices(left.proc.pid!), said(left)).to.satisfy((n: number[]) => n.every((x) => x === os.getPriority()));
    expect(left.stderr.join('\n')).to.not.match(/^priority:/m);
  });
});
