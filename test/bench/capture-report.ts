// capture-report: how well a live input through a sound server is timed, by its two ways
// in — ALSA's `pulse` PCM (its delay is libpulse's interpolation) and libpulse itself
// (hardware/audio/pulse-capture.ts, the server's raw timing) — each read by the box's
// capture source as the engine reads it, side by side on the same input.
//
//   node --import tsx test/bench/capture-report.ts [--starts 6] [--start-s 15] [--quick] [--hog-from 0.5]

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CaptureSource } from '../../firmware/audio/sources/capture-source.ts';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';
import { AlsaCapture, type CaptureDevice } from '../../hardware/audio/alsa-capture.ts';
import { PulseCapture } from '../../hardware/audio/pulse-capture.ts';
import { SlotClicks } from './lib/capture-slots.ts';
import { clickBlock, clickStarts } from './lib/clicks.ts';
import { runScope } from './lib/run-scope.ts';
import { recordMonitor, startPulseRig, RIG_RATE } from './lib/pulse-rig.ts';
import { parseArgs, summarize, table, writeResult } from './lib/report.ts';

const args = parseArgs(process.argv.slice(2), { starts: 6, startS: 15, quick: false, hogFrom: 0.5 });
const starts = args.quick ? 2 : (args.starts as number);
const startS = args.quick ? 8 : (args.startS as number);
const hogFrom = args.hogFrom as number;
if (!(Number.isInteger(starts) && starts >= 1 && starts <= 100)) throw new Error('--starts: 1…100');
if (!(startS >= 5 && startS <= 600)) throw new Error('--start-s: 5…600');
if (!(hogFrom >= 0 && hogFrom <= 1)) throw new Error('--hog-from: a fraction of the starts, 0…1 (1: no hog)');
const missing = ['pulseaudio', 'pactl', 'parec', 'pacat', 'taskset'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) throw new Error(`capture-report needs ${missing.join(', ')} (make bench installs them)`);

const EVERY = RIG_RATE / 10; // a click every 100 ms
const SINK = 'nc_input';
const BLOCK_MS = 2; // the input sink's render block: "when it entered" is uncertain by up to this much
const JUDGED_FROM_S = 1;
const METHOD =
  `a 3-frame click every 100 ms is played (pacat) into a PulseAudio null sink of its own (${BLOCK_MS} ms render block); two capture ` +
  `sources of the box read its monitor at once, one through ALSA's pulse PCM, one through libpulse (raw timing every 20 ms), each ` +
  `asked for 20 ms slots by their instant one input delay later, as the engine asks; each click they hand out is judged against ` +
  `when the monitor's recording (parec, clock map) shows it. ${starts} starts of ${startS} s, both sources opened afresh each time; ` +
  `a busy loop on one core from start ${Math.floor(starts * hogFrom) + 1}. Figures from ${JUDGED_FROM_S} s after each start.`;
const LIMITS =
  "the truth is the recorder's clock map; a monitor hands out a render block when it is rendered, ahead of when the recording counts it " +
  `as heard, so the absolute error is uncertain by up to ${BLOCK_MS} ms (the same for both paths); the spread of a start's errors and of ` +
  "the starts' means is what tells the paths apart.";
console.log(`capture-report: ${starts} starts of ${startS} s\n\nMethod: ${METHOD}\n\nLimits: ${LIMITS}\n`);

const { dir, owned, busyLoop } = runScope('capture-report');
const rig = await startPulseRig({ players: ['unused'], own: owned });
execFileSync('pactl', ['load-module', 'module-null-sink', `sink_name=${SINK}`, `rate=${RIG_RATE}`, 'channels=2'], { env: { ...process.env, PULSE_SERVER: rig.server } });
const rec = recordMonitor({
  server: rig.server,
  sink: SINK,
  channelMap: ['front-left', 'front-right'],
  file: path.join(dir, 'input.raw'),
  clock: monotonicUs,
  latencyMs: BLOCK_MS,
});
const clickFile = path.join(dir, 'clicks.raw');
writeFileSync(clickFile, new Uint8Array(clickBlock(0, Math.ceil(RIG_RATE * (starts * (startS + 2) + 5)), EVERY, 1).buffer));
owned(
  spawn('pacat', ['--playback', `--device=${SINK}`, '--raw', '--format=s16le', `--rate=${RIG_RATE}`, '--channels=1', '--latency-msec=50', clickFile], {
    env: { ...process.env, PULSE_SERVER: rig.server },
    stdio: 'ignore',
  }),
);
await sleep(500);
Object.assign(process.env, { PULSE_SERVER: rig.server, PULSE_SOURCE: `${SINK}.monitor` }); // the ALSA plugin reads them as the PCM opens

const PATHS: Record<string, () => CaptureDevice> = { alsa: () => new AlsaCapture('pulse'), libpulse: () => new PulseCapture('pulse') };

/** reads `src` as the engine does until `endUs`; the instant each click is handed out at */
async function clicksOf(src: CaptureSource, t0: number, endUs: number): Promise<number[]> {
  const reader = new SlotClicks(src, t0, RIG_RATE);
  while (monotonicUs() < endUs) {
    reader.poll();
    await sleep(5);
  }
  return reader.clicks;
}

const runs: Array<{ start: number; hog: boolean; t0: number; clicks: Record<string, number[]>; stats: Record<string, object> }> = [];
for (let k = 0; k < starts; k++) {
  const hog = k >= Math.floor(starts * hogFrom) ? busyLoop() : null;
  const sources = Object.fromEntries(Object.entries(PATHS).map(([name, make]) => [name, new CaptureSource(make(), { silenceMs: 0 })]));
  const t0 = monotonicUs() + 100_000;
  const endUs = t0 + startS * 1e6;
  const clicks = Object.fromEntries(await Promise.all(Object.entries(sources).map(async ([name, src]) => [name, await clicksOf(src, t0, endUs)] as const)));
  const stats: Record<string, object> = {};
  for (const [name, src] of Object.entries(sources)) {
    stats[name] = { ...src.stats };
    src.close();
    await src.deviceClosed();
  }
  hog?.kill('SIGKILL');
  runs.push({ start: k + 1, hog: hog !== null, t0, clicks, stats });
  process.stderr.write(`capture-report: start ${k + 1}/${starts} done${hog ? ' (busy loop)' : ''}\n`);
  await sleep(300);
}
await sleep(300);
await rec.stop();

const entered = clickStarts(rec, 0, 3000, EVERY / 2).map((f) => rec.timeOfFrame(f));
const nearest = (t: number) => entered.reduce((best, u) => (Math.abs(t - u) < Math.abs(t - best) ? u : best), Number.POSITIVE_INFINITY);
const rows: Array<Array<string | number>> = [];
const perStart: Array<Record<string, unknown>> = [];
const all: Record<string, number[]> = { alsa: [], libpulse: [] };
for (const r of runs) {
  const entry: Record<string, unknown> = { start: r.start, hog: r.hog };
  for (const name of Object.keys(PATHS)) {
    const errs = r.clicks[name]!.filter((t) => t >= r.t0 + JUDGED_FROM_S * 1e6)
      .map((t) => (t - nearest(t)) / 1000)
      .filter((e) => Math.abs(e) < 30);
    all[name]!.push(...errs);
    const mean = errs.reduce((a, b) => a + b, 0) / Math.max(1, errs.length);
    const s = summarize(errs.map((e) => Math.abs(e - mean)));
    const range = errs.length ? Math.max(...errs) - Math.min(...errs) : Number.NaN;
    entry[name] = {
      clicks: errs.length,
      meanMs: mean,
      maxAbsMs: Math.max(...errs.map(Math.abs)),
      aroundMean: { p50: s.p50, p95: s.p95, max: s.max },
      rangeMs: range,
      stats: r.stats[name],
    };
    rows.push([r.start, r.hog ? 'busy loop' : 'quiet', name, errs.length, mean, Math.max(...errs.map(Math.abs)), range]);
  }
  perStart.push(entry);
}
console.log(table(['start', 'phase', 'path', 'clicks', 'mean ms', 'max |err| ms', 'range ms'], rows));
const overall: Record<string, object> = {};
for (const [name, errs] of Object.entries(all)) {
  const s = summarize(errs.map(Math.abs));
  overall[name] = { clicks: errs.length, p50: s.p50, p95: s.p95, max: s.max };
}
console.log(
  `\nover all starts, |error| p50 / p95 / max ms: ${Object.entries(overall)
    .map(([n, o]) => `${n} ${JSON.stringify(o)}`)
    .join('; ')}`,
);
const file = writeResult('capture-report', {
  method: METHOD,
  limits: LIMITS,
  starts,
  startS,
  hogFrom,
  blockMs: BLOCK_MS,
  overall,
  perStart,
  clockSpreadMs: rec.clockSpreadUs() / 1000,
});
console.log(`JSON: ${file}`);
await rig.stop();
process.exit(0);
