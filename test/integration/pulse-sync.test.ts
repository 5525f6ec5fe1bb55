// A companion on a clocked device as a desktop has it — a PulseAudio sink, reached
// through libpulse as `pulse` and through ALSA's plugin as `alsa:pulse` — judged by
// what comes out: the box plays a click train (a click every 100 ms), the sink's
// monitor is recorded, and each recorded click is set against the box clock's
// schedule (test/bench/lib: the rig of the device-sync and click-sync benchmarks). A
// click's place in the recording is exact to a frame, so the offset needs no
// correlation window. The player sees the device only through its delay report (the
// server's raw timing, or the plugin's coarse, jumpy interpolation); the recording
// shows whether it still plays on time.

import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { clickStarts, matchClicks, startsIn, writeClickTrain } from '../bench/lib/clicks.ts';
import { startPulseRig, type PulseRig, type MonitorRecorder } from '../bench/lib/pulse-rig.ts';
import { probeSchedule, type ScheduleProbe } from '../bench/lib/schedule-probe.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLICK_EVERY = 4800; // frames: 100 ms, so each recorded click has one scheduled click within ±50 ms
const SETTLE_S = 10; // the pulse report settles over a stream's first seconds (README "Sync where the listener hears it")

interface Bounds {
  /** settled (10–30 s): median, p95, max; start (2–10 s): max — ms */
  median: number;
  p95: number;
  max: number;
  startMax: number;
}

// `pulse` is played through libpulse with the server's raw timing (hardware/audio/pulse-sink.ts):
// held to issue 11's ±1 ms from 2 s after the first audible click. Measured 2026-12-04: quiet,
// every click within 0.19 ms; beside four busy loops, within 0.17 ms.
//
// `alsa:pulse` is ALSA's plugin, whose delay is libpulse's interpolation (README "Sync where the
// listener hears it"). Measured with clicks (2026-12-03, click-sync and this setup by hand, quiet and
// beside four busy loops): once the stream settled, within 0.1–0.7 ms of the schedule; but in 4 of
// 10 starts the report's rate read hundreds of ppm off for the stream's first ~10 s and the
// companion drifted 0.7–1.8 ms before coming back; beside four busy loops, load events mid-stream
// put it 0.75–3 ms off for seconds (once 12 ms); on 2026-12-04 beside four busy loops one of three
// runs sat 2–3.25 ms off for 2 s after a late update (p95 3.06). That path is kept in `make test`
// as a guard against what issue 11 found in it (10–27 ms between companions, storms of resyncs):
// bounds well above a late update's move, no resync after 2 s; whether the run met ±1 ms is
// printed, MET or MISSED.
const PATHS: Array<{ device: string; what: string; bounds: Bounds }> = [
  { device: 'pulse', what: 'libpulse, raw timing', bounds: { median: 1, p95: 1, max: 1, startMax: 1 } },
  { device: 'alsa:pulse', what: "ALSA's plugin, interpolated delay", bounds: { median: 0.6, p95: 5, max: 8, startMax: 6 } },
];

for (const { device, what: pathWhat, bounds } of PATHS) {
  describe(`sync at a clocked device: a companion on \`${device}\` (${pathWhat}) into a PulseAudio sink, recorded`, function () {
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
      const train = path.join(dir, 'clicks.raw');
      writeClickTrain(train, 90, CLICK_EVERY);
      const fifo = path.join(dir, 'box.fifo');
      spawnSync('mkfifo', [fifo]);
      feeder = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-f', 's16le', '-ar', '48000', '-ac', '2', '-i', train, '-f', 's16le', '-y', fifo], { stdio: 'ignore' });
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

    it(`plays on the box clock's schedule: settled (10–30 s) median ≤ ${bounds.median} ms, p95 ≤ ${bounds.p95}, max ≤ ${bounds.max}, its start (2–10 s) within ${bounds.startMax} ms, no resync after 2 s`, async () => {
      comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'nc1', '--device', device, '--codec', 'pcm', '--json'], rig.env('nc1'));
      await waitFor('audible at the sink', () => (rec.levels(200)[0] ?? 0) > 0.001, 20_000).catch((e: Error) => {
        throw new Error(`${e.message}: ${comp!.stderr.slice(-5).join(' / ')} | ${rig.log().slice(-500)}`);
      });
      await sleep(2000);
      const early = comp.status().at(-1);
      await sleep(28_500);
      const late = comp.status().at(-1);
      await comp.interrupt();
      await rec.stop();
      const offsets = clickOffsets(rec, probe);
      const firstUs = offsets[0]?.atUs ?? NaN;
      const span = (from: number, to: number) => offsets.filter((o) => o.atUs >= firstUs + from * 1e6 && o.atUs < firstUs + to * 1e6).map((o) => o.ms);
      const start = span(2, SETTLE_S);
      const settled = span(SETTLE_S, 30);
      const abs = (xs: number[]) => xs.map(Math.abs).sort((a, b) => a - b);
      const p95 = (xs: number[]) => abs(xs)[Math.max(0, Math.ceil(0.95 * xs.length) - 1)] ?? NaN;
      const max = (xs: number[]) => abs(xs).at(-1) ?? NaN;
      const series = (xs: number[]) =>
        xs
          .filter((_, i) => i % 5 === 0)
          .map((x) => x.toFixed(2))
          .join(' ');
      const p50 = (xs: number[]) => abs(xs)[Math.max(0, Math.ceil(0.5 * xs.length) - 1)] ?? NaN;
      const what = `start: ${start.length} clicks, max ${max(start).toFixed(3)} ms (every 5th: ${series(start)}); settled: ${settled.length} clicks, median ${p50(settled).toFixed(3)} p95 ${p95(settled).toFixed(3)} max ${max(settled).toFixed(3)} ms (every 5th: ${series(settled)}); companion ${JSON.stringify(late)}`;
      expect(start.length, what).to.be.greaterThan(60);
      expect(settled.length, what).to.be.greaterThan(150);
      const issue = max(start) <= 1 && max(settled) <= 1 ? 'MET' : 'MISSED';
      console.log(`      issue 11's ±1 ms from 2 s after the first audible click: ${issue} (start max ${max(start).toFixed(3)}, settled max ${max(settled).toFixed(3)} ms)`);
      expect(p50(settled), what).to.be.at.most(bounds.median);
      expect(p95(settled), what).to.be.at.most(bounds.p95);
      expect(max(settled), what).to.be.at.most(bounds.max);
      expect(max(start), what).to.be.at.most(bounds.startMax);
      expect((late?.resyncs ?? NaN) - (early?.resyncs ?? NaN), `resyncs after 2 s; ${what}; ${comp.stderr.join(' / ')}`).to.equal(0);
      const played = 28.5 * 48000;
      const corrected = (late?.droppedFrames ?? 0) + (late?.insertedFrames ?? 0) - (early?.droppedFrames ?? 0) - (early?.insertedFrames ?? 0);
      expect(corrected, `frames dropped + inserted after 2 s; ${what}`).to.be.at.most(0.001 * played);
      console.log(
        `      start (2–10 s): max ${max(start).toFixed(3)} ms; settled (10–30 s): median ${p50(settled).toFixed(3)} p95 ${p95(settled).toFixed(3)} max ${max(settled).toFixed(3)} ms over ${settled.length} clicks; ${corrected} frames corrected; device steps ${late?.deviceSteps}, underruns ${late?.underruns}`,
      );
    });
  });
}

/** each recorded click of the companion (channel 0) against the nearest scheduled click: recording time (µs) and offset (ms, + late) */
function clickOffsets(rec: MonitorRecorder, probe: ScheduleProbe): Array<{ atUs: number; ms: number }> {
  const heard = clickStarts(rec, 0, 3000, CLICK_EVERY / 2);
  const scheduled = startsIn(probe.reference(rec), rec.frames(), 0.15, CLICK_EVERY / 2);
  return matchClicks(heard, scheduled, CLICK_EVERY / 2).map(([f, g]) => ({ atUs: rec.timeOfFrame(f), ms: ((f - g) / 48000) * 1000 }));
}
