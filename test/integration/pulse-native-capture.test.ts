// Live input through libpulse itself (hardware/audio/pulse-capture.ts, what `capture:pulse`
// opens): a click every 100 ms is played into a PulseAudio null sink, the box's capture
// source reads that sink's monitor, and each click it hands out is judged against when the
// monitor's recording (with its clock map, test/bench/lib) shows it entering. The engine's
// way of reading is kept: a 20 ms slot is asked for, by its instant, one input delay later.

import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaptureSource } from '../../firmware/audio/sources/capture-source.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import { libpulseMissing } from '../../hardware/audio/libpulse.ts';
import { PulseCapture } from '../../hardware/audio/pulse-capture.ts';
import { SlotClicks } from '../bench/lib/capture-slots.ts';
import { clickBlock, clickStarts } from '../bench/lib/clicks.ts';
import { expectServerLossReported } from '../helpers/capture-checks.ts';
import { recordMonitor, startPulseRig, RIG_RATE, type MonitorRecorder, type PulseRig } from '../bench/lib/pulse-rig.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EVERY = RIG_RATE / 10;
const SINK = 'nc_cap';
/** the sink's render block, set by its recorder's latency: how uncertain "when it entered" is (test/helpers/live-input-rig.ts) */
const BLOCK_MS = 2;

describe('live input through libpulse (capture:pulse): timed by the server, on a null sink’s monitor', function () {
  this.timeout(60_000);
  let dir: string;
  let rig: PulseRig | null = null;
  let rec: MonitorRecorder | null = null;

  before(async function () {
    if (libpulseMissing()) {
      console.log(`    skipping: ${libpulseMissing()}`);
      this.skip();
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-native-capture-'));
    rig = await startPulseRig({ players: ['unused'] });
    execFileSync('pactl', ['load-module', 'module-null-sink', `sink_name=${SINK}`, `rate=${RIG_RATE}`, 'channels=2'], { env: { ...process.env, PULSE_SERVER: rig.server } });
  });
  after(async () => {
    await rec?.stop().catch(() => undefined);
    await rig?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each click leaves the capture source within 2 ms of when it entered the monitor from 3 s on, and within 3 ms in seconds 1–3, with no underrun', async () => {
    rec = recordMonitor({ server: rig!.server, sink: SINK, channelMap: ['front-left', 'front-right'], file: path.join(dir, 'rec.raw'), clock: monotonicUs, latencyMs: BLOCK_MS });
    const clicks = path.join(dir, 'clicks.raw');
    writeFileSync(clicks, new Uint8Array(clickBlock(0, RIG_RATE * 20, EVERY, 1).buffer));
    const player = spawn('pacat', ['--playback', `--device=${SINK}`, '--raw', '--format=s16le', `--rate=${RIG_RATE}`, '--channels=1', '--latency-msec=50', clicks], {
      env: { ...process.env, PULSE_SERVER: rig!.server },
      stdio: 'ignore',
    });
    const src = new CaptureSource(new PulseCapture('pulse', { server: rig!.server, source: `${SINK}.monitor` }), { silenceMs: 0 });
    const opened: Array<{ rate: number; clocked: boolean }> = [];
    const errors: string[] = [];
    src.on('device-ok', (e) => opened.push(e));
    src.on('device-error', (e) => errors.push(e.message));
    const reader = new SlotClicks(src, monotonicUs() + 100_000, RIG_RATE);
    const { t0, clicks: claims } = reader; // the instant the source says each click was captured at
    const timer = setInterval(() => reader.poll(), 5);
    let underrunsBefore = Number.NaN;
    try {
      await sleep(1500);
      underrunsBefore = src.stats.underruns;
      await sleep(8000);
    } finally {
      clearInterval(timer);
      src.close();
      await src.deviceClosed();
      player.kill('SIGKILL');
    }
    await sleep(200);
    await rec.stop();
    const entered = clickStarts(rec, 0, 3000, EVERY / 2).map((f) => rec!.timeOfFrame(f));
    // each click handed out against the recorded one nearest to it (within 30 ms: clicks are 100 ms apart)
    const paired = claims
      .filter((t) => t >= t0 + 1e6)
      .map((t) => {
        const nearest = entered.reduce((best, u) => (Math.abs(t - u) < Math.abs(t - best) ? u : best), Number.POSITIVE_INFINITY);
        return { atS: (t - t0) / 1e6, ms: (t - nearest) / 1000 };
      });
    const judged = paired.filter((j) => Math.abs(j.ms) < 30);
    const unpaired = paired.filter((j) => Math.abs(j.ms) >= 30);
    const what = `${judged.length} clicks judged of ${claims.length} handed out, ${entered.length} recorded, unpaired at ${unpaired.map((j) => `${j.atS.toFixed(2)} s`).join(', ') || 'none'}; errors (ms, source − recording): ${judged.map((j) => j.ms.toFixed(2)).join(' ')}; ${JSON.stringify(src.stats)}`;
    expect(errors, what).to.deep.equal([]);
    expect(opened[0], what).to.deep.include({ rate: 48000, clocked: true });
    expect(judged.length, `clicks judged (one every 100 ms over 7 s); ${what}`).to.be.at.least(60);
    // a click handed out with no recorded one near it: the capture's first click before the recorder's, at most
    expect(unpaired.length, `clicks handed out that were never recorded within 30 ms; ${what}`).to.be.at.most(1);
    // The start is judged apart: in one suite run beside a second one (2026-12-04) the first clicks
    // came out 2.24 ms late and the error was worked off over 5 s (the capture clock's offset window:
    // readings disturbed early in the stream leave it); beside busy loops or a looping bench the
    // start was no worse than the rest (13 runs that day: worst click 0.92–1.52 ms)
    const worstOf = (from: number, to: number) => Math.max(...judged.filter((j) => j.atS >= from && j.atS < to).map((j) => Math.abs(j.ms)));
    const startWorst = worstOf(0, 3);
    const worst = worstOf(3, Number.POSITIVE_INFINITY);
    expect(startWorst, `largest |error| in seconds 1–3; ${what}`).to.be.at.most(3);
    expect(worst, `largest |error| from 3 s on; ${what}`).to.be.at.most(2);
    expect(src.stats.underruns - underrunsBefore, `capture underruns after the first 1.5 s; ${what}`).to.equal(0);
    const sorted = judged.map((j) => j.ms).sort((a, b) => a - b);
    console.log(
      `      ${judged.length} clicks: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, worst |error| ${startWorst.toFixed(2)} ms in seconds 1–3, ${worst.toFixed(2)} ms from 3 s on`,
    );
  });

  it('a sound server that goes away is reported, and the stream goes on in silence', async () => {
    const src = new CaptureSource(new PulseCapture('pulse', { server: rig!.server, source: `${SINK}.monitor` }), { silenceMs: 0, stallMs: 1000, retryMs: [200, 400] });
    const errors = await expectServerLossReported(src, async () => {
      await rec?.stop();
      rec = null;
      await rig!.stop();
      rig = null;
    });
    expect(errors[0], 'what it says').to.match(/PulseAudio capture 'pulse'/);
  });
});
