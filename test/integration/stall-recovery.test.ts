// After the whole machine stops for a moment: the sound server, a companion and the recorder
// are held 1.2 s with SIGSTOP (a VM that was descheduled; the box itself runs on). Both the
// box speaker and the companion run dry, and must come back on the schedule: live input at
// capture + latency, and with each other. Before the fix a player on `pulse` went on 60–80 ms
// late for a minute while its model said 0 (README "The two commands", ARCHITECTURE.md
// "Playout"), and the box learnt the capture's backlog as the device's hold.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { waitFor, type CompanionProcess } from '../helpers/box-process.ts';
import { startLiveInputRig, type LiveInputRig } from '../helpers/live-input-rig.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LATENCY_MS = 400;
const HOLD_MS = 1200;
/** judged from this long after the hold: the new streams' reports are checked (1.3 s) first */
const BACK_MS = 3000;

describe('after the sound server and a companion were held up 1.2 s (SIGSTOP), the players are back on the schedule', function () {
  this.timeout(150_000);
  let dir: string;
  let live: LiveInputRig;
  let comp: CompanionProcess | null = null;
  let held: number[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-stall-'));
    live = await startLiveInputRig(dir, LATENCY_MS);
  });

  after(async () => {
    for (const pid of held) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    await comp?.interrupt();
    await live?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`live input leaves the box speaker and the companion at capture + ${LATENCY_MS} ms again, and they agree, from ${BACK_MS / 1000} s after the hold`, async () => {
    const { rig, rec, box } = live;
    comp = live.join();
    live.feed(40);
    await waitFor('the input, the box speaker and the companion audible at the sink', () => live.levels(200).every((l) => l > 0.01), 30_000);
    await sleep(4000);
    const pgrep = (pattern: string) =>
      spawnSync('pgrep', ['-P', String(process.pid), '-f', pattern])
        .stdout.toString()
        .split('\n')
        .filter(Boolean)
        .map(Number);
    // the rig's PulseAudio and its two recorders, the players' and the input's (children of this process; parec runs under `nice`, exec'd)
    const server = pgrep('^pulseaudio -n');
    const recorder = pgrep('^parec');
    expect(server, 'the rig’s PulseAudio').to.have.length(1);
    expect(recorder, 'the rig’s recorders').to.have.length(2);
    held = [...server, ...recorder, comp.proc.pid!];
    const heldFrom = monotonicUs();
    for (const pid of held) process.kill(pid, 'SIGSTOP');
    await sleep(HOLD_MS);
    for (const pid of held) process.kill(pid, 'SIGCONT');
    held = [];
    const heldTo = monotonicUs();
    await sleep(BACK_MS + 10_000);
    await rec.stop();
    const report = rig.offsets(
      [
        ['expected', 'box'],
        ['expected', 'nc1'],
        ['box', 'nc1'],
      ],
      {
        references: { expected: live.expected },
        maxLagMs: 150,
        windowMs: 250,
        phases: [
          { name: 'before', fromUs: heldFrom - 3_000_000, toUs: heldFrom },
          { name: 'after', fromUs: heldTo + BACK_MS * 1000, toUs: Infinity },
        ],
      },
    );
    const lines = report.pairs.map((p) => {
      const series = p.windows.map(([, ms]) => (Number.isNaN(ms) ? '·' : ms.toFixed(1))).join(' ');
      const ph = (n: string) => {
        const s = p.byPhase[n];
        return s ? `${n}: mean ${s.meanMs} p50 ${s.p50} max ${s.max} ms over ${s.n} windows` : `${n}: none`;
      };
      return `${p.a}→${p.b}: ${ph('before')}; ${ph('after')}; windows: ${series}`;
    });
    const what = `${lines.join('\n')}\ncompanion ${JSON.stringify(comp.status().at(-1))}; its log: ${comp.stderr.join(' / ')}; box: ${box.logs.filter((l) => l.includes('"warn"')).join(' / ')}`;
    for (const p of report.pairs) {
      const after = p.byPhase.after;
      expect(after?.n ?? 0, `${p.a}→${p.b} windows measured after the hold; ${what}`).to.be.at.least(20);
      // live input: median window within 3 ms of capture + latency, mean within 4 (live-input-timing
      // holds 2 and 4 without a stall); the two players: median and mean within 2 ms of each other.
      // Measured (2026-12-04), alone, beside two busy loops and in eight suites of double runs: medians
      // 0.19–1.38 ms from capture + latency, and in one suite 2.05 and 1.83 (both players alike, so the
      // capture: after the hold it drifted to −2.4 ms and came back over 20 s); 0.02–0.87 ms between
      // the players.
      // Before the fix 55–80 ms.
      const bound = p.a === 'expected' ? { mean: 4, p50: 3 } : { mean: 2, p50: 2 };
      expect(Math.abs(after!.meanMs), `${p.a}→${p.b} mean offset after the hold; ${what}`).to.be.at.most(bound.mean);
      expect(after!.p50, `${p.a}→${p.b} |offset| p50 after the hold; ${what}`).to.be.at.most(bound.p50);
    }
    for (const l of lines) console.log(`      ${l.slice(0, l.indexOf('; windows'))}`);
  });
});
