// The device-sync bench (test/bench/device-sync.ts) still works as a measurement:
// a very short run records every player from the PulseAudio null sink, measures an
// offset for every pair of nearcast players and of snapclients, and writes its JSON.
// The figures come from `make bench`; what a short run's own verdict says MISSED is
// printed with the test, never passed over in silence.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/box-process.ts';

interface Target {
  what: string;
  value: string;
  reference: string;
  target: string;
  met: boolean | null;
}
/** the parts of test/bench/results/device-sync.json this test reads */
interface DeviceSyncResult {
  recordedS: number;
  notAudible: string[];
  reports: Record<string, { pairs: Array<{ a: string; b: string; all: { n: number; p50: number } }> }>;
  phases: Array<{ name: string }>;
  proxied: string[];
  targets: Target[];
}

describe('device-sync bench (smoke: nearcast and snapclient on one PulseAudio null sink)', function () {
  this.timeout(150_000);
  let dir: string;
  let stdout = '';
  let result: DeviceSyncResult;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-device-sync-'));
    stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'test/bench/device-sync.ts', '--duration', '12', '--companions', '2', '--snapclients', '2', '--hog-from', '0.5'],
        {
          cwd: ROOT,
          env: { ...process.env, NEARCAST_BENCH_RESULTS: dir },
          timeout: 130_000,
          maxBuffer: 16 << 20,
        },
        (err, out, stderr) => (err ? reject(new Error(`device-sync failed: ${err.message}\n${stderr}\n${out}`)) : resolve(out)),
      );
    });
    result = JSON.parse(readFileSync(path.join(dir, 'device-sync.json'), 'utf8')) as DeviceSyncResult;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records every player and measures an offset for every pair, nearcast and snapclient', () => {
    expect(stdout)
      .to.match(/nearcast/)
      .and.to.match(/snapclient/);
    expect(result.recordedS, 'seconds recorded from the monitor').to.be.greaterThan(12);
    expect(result.notAudible, 'players never heard in the recording').to.deep.equal([]);
    const pairs = (sys: string) => result.reports[sys]?.pairs ?? [];
    expect(pairs('nearcast').map((p) => `${p.a}-${p.b}`)).to.deep.equal(['box-nc1', 'box-nc2', 'nc1-nc2']);
    expect(pairs('snapclient').map((p) => `${p.a}-${p.b}`)).to.deep.equal(['snap1-snap2']);
    for (const p of [...pairs('nearcast'), ...pairs('snapclient')]) {
      expect(p.all.n, `${p.a}–${p.b}: windows with a measured offset (${JSON.stringify(p.all)})`).to.be.greaterThan(0);
      expect(p.all.p50, `${p.a}–${p.b} p50`).to.be.a('number');
    }
    expect(result.phases.map((p) => p.name)).to.deep.equal(['quiet', 'cpu hog']);
    expect(result.proxied).to.deep.equal(['nc2', 'snap2']);
  });

  it("gives its verdict on issue 11's targets, and says here which it MISSED (they are judged by `make bench`, not by a 12 s run on a machine that may be busy)", () => {
    const targets = result.targets;
    expect(targets.length, 'targets judged').to.be.greaterThan(5);
    for (const t of targets) expect(t.met === null || typeof t.met === 'boolean', `verdict of ${t.what}: ${JSON.stringify(t.met)}`).to.equal(true);
    for (const t of targets.filter((x) => x.met === false)) {
      console.log(`      note: device-sync smoke run MISSED ${t.what}: nearcast ${t.value}, snapclient ${t.reference} (target ${t.target})`);
    }
  });
});
