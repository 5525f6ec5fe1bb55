// Live input on time, judged at the sink: what is played into a PulseAudio sink is
// captured by the box (ALSA `pulse` PCM on that sink's channel of the rig) and must
// leave the box's own speaker and a companion — both on `pulse` PCMs into the same
// rig — exactly `latencyMs` after it was captured. The recording holds the input's
// channel and both players' channels on one clock, so the input shifted by the
// latency is compared with each player window by window (test/bench/lib).

import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { makeCorrelationMaterial } from '../bench/lib/material.ts';
import { startPulseRig, RIG_RATE, type MonitorRecorder, type PulseRig } from '../bench/lib/pulse-rig.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LATENCY_MS = 400;

describe('live input on time (capture through `pulse`, box speaker and companion on `pulse`, recorded)', function () {
  this.timeout(150_000);
  let dir: string;
  let rig: PulseRig;
  let rec: MonitorRecorder;
  let box: BoxProcess;
  let feeder: ChildProcess | null = null;
  let comp: CompanionProcess | null = null;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-live-timing-'));
    rig = await startPulseRig({ players: ['input', 'box', 'nc1'], inputs: ['input'] });
    rec = rig.record(monotonicUs);
    box = await startBox(
      ['--policy', 'open', '--source', 'capture:pulse', '--audio-device', 'pulse', '--latency', String(LATENCY_MS), '--no-keyboard', '--state-dir', path.join(dir, 'state')],
      { ...rig.captureEnv('input'), PULSE_SINK: rig.sinks.box, NEARCAST_LOUDNESS__ENABLED: 'false' },
    );
  });

  after(async () => {
    await comp?.interrupt();
    feeder?.kill('SIGKILL');
    await rec?.stop();
    await box?.stop();
    await rig?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`a captured sample leaves the box speaker and a companion ${LATENCY_MS} ms after it entered the box (mean within 15 ms under load; aim 2), with no resync`, async () => {
    comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'nc1', '--device', 'pulse', '--codec', 'pcm', '--json'], rig.env('nc1'));
    const material = path.join(dir, 'material.wav');
    makeCorrelationMaterial(material, 40);
    feeder = spawn('paplay', ['--device', rig.sinks.input!, material], { env: { ...process.env, PULSE_SERVER: rig.server }, stdio: 'ignore' });
    const levels = () => rec.levels(200);
    await waitFor('the input, the box speaker and the companion audible at the sink', () => levels().every((l) => l > 0.01), 30_000).catch((e: Error) => {
      throw new Error(
        `${e.message}: levels ${levels()
          .map((l) => l.toFixed(3))
          .join(' / ')}; companion ${comp!.stderr.slice(-5).join(' / ')}; box ${box.logs.slice(-5).join(' / ')}`,
      );
    });
    await sleep(2000);
    const early = comp.status().at(-1);
    await sleep(16_000);
    const late = comp.status().at(-1);
    await rec.stop();
    const input = rig.players.indexOf('input');
    const shift = Math.round((LATENCY_MS * RIG_RATE) / 1000);
    // the input as it should come out: each sample `latency` after it was recorded entering the box
    const expected = (from: number, count: number) => {
      const s = rec.read(from - shift, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count && (i + 1) * rec.channels <= s.length; i++) out[i] = s[i * rec.channels + input]! / 32768;
      return out;
    };
    const report = rig.offsets(
      [
        ['expected', 'box'],
        ['expected', 'nc1'],
      ],
      // quarter-second windows: a window over which the capture is being resampled (its clock
      // moved) still correlates, where a half-second one smeared and counted as no measurement
      { references: { expected }, maxLagMs: 100, windowMs: 250 },
    );
    const lines = report.pairs.map((p) => {
      const series = p.windows.map(([, ms]) => (Number.isNaN(ms) ? '·' : ms.toFixed(2))).join(' ');
      return `${p.b}: |offset| p50 ${p.all.p50} p95 ${p.all.p95} max ${p.all.max} ms, mean ${p.all.meanMs} ms, ${p.all.n} windows (${p.all.silent} silent, ${p.all.lowCorrelation} low ρ): ${series}`;
    });
    const what = `${lines.join('\n')}\ncompanion ${JSON.stringify(late)}; its log: ${comp.stderr.join(' / ')}`;
    // The aim is 2 ms (README "Live input"); measured here on a loaded machine the mean sat
    // at 2–5 ms, with a player on `pulse` jumping by 10–20 ms now and then at load 8–9. The
    // bounds hold what is achieved even then, so that a regression fails — the old elastic
    // buffer played ~95 ms late.
    for (const p of report.pairs) {
      expect(p.all.n, what).to.be.at.least(16);
      expect(Math.abs(p.all.meanMs), `${p.b} mean offset; ${what}`).to.be.at.most(15);
      expect(p.all.p50, `${p.b} p50; ${what}`).to.be.at.most(15);
    }
    // a player that its machine starves of CPU for longer than its device holds runs dry and
    // must resync (it says so: its audio came after the device's queue ran out): that is the
    // machine, not the timing of live input; any other resync fails
    const resyncs = (s: typeof late) => (s?.resyncs ?? NaN) - ((s?.starvedResyncs as number | undefined) ?? 0);
    const starved = comp.stderr.filter((l) => l.startsWith('resync:') && l.includes('not scheduled in time'));
    if (starved.length) console.warn(`      (tolerated: the companion was starved of CPU — ${starved.join(' / ')})`);
    expect(resyncs(late) - resyncs(early), `companion resyncs after 2 s, other than after it was starved; ${what}`).to.equal(0);
    for (const p of report.pairs) console.log(`      ${p.b}: |offset| p50 ${p.all.p50} p95 ${p.all.p95} max ${p.all.max} ms, mean ${p.all.meanMs} ms over ${p.all.n} windows`);
  });
});
