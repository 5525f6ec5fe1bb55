// A companion on a clocked device as a desktop has it (ALSA `pulse` PCM into a
// PulseAudio sink), judged by what comes out: the sink's monitor is recorded and
// cross-correlated with the box clock's schedule (test/bench/lib: the same rig as
// the device-sync benchmark). The player sees the device only through its coarse,
// jumpy snd_pcm_delay; the recording shows whether it still plays on time.

import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { makeCorrelationMaterial } from '../bench/lib/material.ts';
import { startPulseRig, type PulseRig, type MonitorRecorder } from '../bench/lib/pulse-rig.ts';
import { probeSchedule, type ScheduleProbe } from '../bench/lib/schedule-probe.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sync at a clocked device (PulseAudio through the ALSA pulse PCM, recorded)', function () {
  this.timeout(120_000);
  let dir: string;
  let rig: PulseRig;
  let rec: MonitorRecorder;
  let box: BoxProcess;
  let feeder: ChildProcess;
  let probe: ScheduleProbe;
  let comp: CompanionProcess | null = null;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-pulse-sync-'));
    const material = path.join(dir, 'material.flac');
    makeCorrelationMaterial(material, 40);
    const fifo = path.join(dir, 'box.fifo');
    spawnSync('mkfifo', [fifo]);
    feeder = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-stream_loop', '-1', '-i', material, '-f', 's16le', '-ar', '48000', '-ac', '2', '-y', fifo], { stdio: 'ignore' });
    rig = await startPulseRig({ players: ['nc1'] });
    rec = rig.record(monotonicUs);
    box = await startBox(['--policy', 'open', '--source', `pipe:${fifo}`, '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')]);
    probe = await probeSchedule('127.0.0.1', box.ports.mqtt);
  });

  after(async () => {
    await comp?.interrupt();
    await probe?.stop();
    await rec?.stop();
    await box?.stop();
    feeder?.kill('SIGKILL');
    await rig?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Issue 11 asks ±1 ms. Measured here (2026-12-02, twelve runs with four busy loops on the two
  // cores, the player checking the report before it plays): p95 0.2–2.4 ms, max 0.2–3.0. What
  // exceeds 1 ms is the pulse PCM's interpolated delay report, which the companion's model
  // follows: an interpolation that went off after the start check, or a late timing update in
  // mid-stream that moves it 1–3 ms for 6–10 s (README "Sync where the listener hears it"). The
  // bounds below hold what is achieved with room for a loaded CI machine, so a regression
  // fails; the target stays open.
  it("a companion on `pulse` plays on the box clock's schedule for 20 s (p50 ≤ 1 ms, p95 ≤ 4 ms, mean within 2 ms), with no resync after 2 s", async () => {
    comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'nc1', '--device', 'pulse', '--codec', 'pcm', '--json'], rig.env('nc1'));
    await waitFor('audible at the sink', () => (rec.levels(200)[0] ?? 0) > 0.01, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${comp!.stderr.slice(-5).join(' / ')} | ${rig.log().slice(-500)}`);
    });
    await sleep(2000);
    const early = comp.status().at(-1);
    await sleep(20_000);
    const late = comp.status().at(-1);
    await comp.interrupt();
    await rec.stop();
    const report = rig.offsets([['schedule', 'nc1']], { references: { schedule: probe.reference(rec) } });
    const all = report.pairs[0]!.all;
    const series = report.pairs[0]!.windows.map(([, ms]) => (Number.isNaN(ms) ? '·' : ms.toFixed(2))).join(' ');
    const what = `|offset| vs schedule p50 ${all.p50} p95 ${all.p95} max ${all.max} ms, mean ${all.meanMs} ms over ${all.n} windows (${all.silent} silent, ${all.lowCorrelation} low correlation; every window, ms: ${series}); companion ${JSON.stringify(late)}`;
    expect(all.n, what).to.be.greaterThan(25);
    expect(all.p50, what).to.be.at.most(1);
    expect(all.p95, what).to.be.at.most(4);
    expect(Math.abs(all.meanMs), what).to.be.at.most(2);
    expect((late?.resyncs ?? NaN) - (early?.resyncs ?? NaN), `resyncs after 2 s; ${what}; ${comp.stderr.join(' / ')}`).to.equal(0);
    const played = 20 * 48000;
    const corrected = (late?.droppedFrames ?? 0) + (late?.insertedFrames ?? 0) - (early?.droppedFrames ?? 0) - (early?.insertedFrames ?? 0);
    expect(corrected, `frames dropped + inserted in 20 s; ${what}`).to.be.at.most(0.001 * played);
    console.log(
      `      p50 ${all.p50} p95 ${all.p95} max ${all.max} ms, mean ${all.meanMs} ms over ${all.n} windows (${all.lowCorrelation} low correlation), ${corrected} frames corrected`,
    );
  });
});
