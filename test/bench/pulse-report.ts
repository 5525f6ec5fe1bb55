// pulse-report — how well can a player know when its sound leaves a PulseAudio sink?
// Two streams play clicks into one null sink side by side, each on its own channel,
// and the sink's monitor is recorded (test/bench/lib/pulse-rig.ts):
//  - `alsa`: ALSA's `pulse` PCM, as a companion plays (hardware/audio/alsa-sink.ts):
//    its snd_pcm_delay is libpulse's interpolated latency;
//  - `libpulse`: a libpulse stream without interpolation, asking the server for timing
//    every --update-ms (test/bench/lib/libpulse-timing.ts).
// Each path's readings feed the players' device model (firmware/util/device-clock.ts);
// every click's predicted exit (the model's last prediction before the click played)
// is compared with when the recording shows it (the recorder's clock map). Method and
// limits: test/bench/README.md ("pulse-report").
//
//   node --import tsx test/bench/pulse-report.ts [--duration 120] [--quick] [--hog-from 0.5] [--update-ms 20]

import { spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { AlsaSink } from '../../hardware/audio/alsa-sink.ts';
import { DeviceClock } from '../../firmware/util/device-clock.ts';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';
import { LibpulseTimingStream } from './lib/libpulse-timing.ts';
import { clickBlock, clickStarts } from './lib/clicks.ts';
import { runScope } from './lib/run-scope.ts';
import { startPulseRig, RIG_RATE } from './lib/pulse-rig.ts';
import { parseArgs, summarize, table, writeResult } from './lib/report.ts';

const args = parseArgs(process.argv.slice(2), { duration: 120, quick: false, hogFrom: 0.5, updateMs: 20 });
const durationS = args.quick ? 30 : (args.duration as number);
const hogFrom = args.hogFrom as number;
const updateMs = args.updateMs as number;
if (durationS < 10) throw new Error('--duration: at least 10 s');
if (hogFrom > 1) throw new Error('--hog-from: a fraction of the run, 0…1 (1: no hog)');
if (updateMs < 5 || updateMs > 2000) throw new Error('--update-ms: 5…2000');
const missing = ['pulseaudio', 'pactl', 'parec', 'taskset'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) throw new Error(`pulse-report needs ${missing.join(', ')} (make bench installs them)`);

const CLICK_EVERY = 4800; // frames: every 100 ms
const SETTLE_S = 3; // each stream's first seconds are not judged (its start, the model's first line)
const METHOD =
  `two streams play a 3-frame click every ${CLICK_EVERY} frames into one PulseAudio null sink (48 kHz), each on its own channel, ` +
  `recorded from the monitor by parec; 'alsa' writes through ALSA's pulse PCM (300 ms buffer, the companion's setting) and reads ` +
  `snd_pcm_delay after every write and every 3 ms between; 'libpulse' keeps the same queue in a libpulse stream without interpolation ` +
  `and asks for timing every ${updateMs} ms (server clock, read index, sink latency). Both feed the players' device model; a click's ` +
  `error is when the recording shows it minus the model's last prediction before it played. Figures: |error − mean| over clicks ` +
  `${SETTLE_S} s after each stream started, quiet, then with a busy loop on one core from ${Math.round(hogFrom * 100)} % of the run.`;
const LIMITS =
  "the truth is the recorder's clock map (parec read times, lower envelope over 0.5 s), the same for both streams: what moves both alike " +
  'may be the map; the means differ by the paths\' conventions for "leaves the sink" (a constant, not judged). The model is fed as a ' +
  'player feeds it, but nothing corrects: this measures knowledge of the device, not playout.';

console.log(`pulse-report: ${durationS} s\n\nMethod: ${METHOD}\n\nLimits: ${LIMITS}\n`);
try {
  os.setPriority(-10); // the recorder's read times are the truth: above the load when permitted
} catch {
  /* not permitted: a coarser clock map */
}

const click = (first: number, frames: number, channels: number) => clickBlock(first, frames, CLICK_EVERY, channels);

/** predictions of each click's exit: the model's latest before the click is consumed */
class ClickPredictions {
  readonly clock = new DeviceClock({ rate: RIG_RATE });
  readonly predicted = new Map<number, number>();
  readings = 0;

  observe(atUs: number, written: number, delayFrames: number): void {
    this.clock.observe(atUs, written, delayFrames);
    this.readings++;
    const consumed = written - delayFrames;
    for (let k = Math.ceil(consumed / CLICK_EVERY), n = 0; k * CLICK_EVERY <= written && n < 100; k++, n++) this.predicted.set(k, this.clock.frameOutUs(k * CLICK_EVERY));
  }
}

const { owned, busyLoop } = runScope('pulse-report');
const rig = await startPulseRig({ players: ['alsa', 'libpulse'], own: owned });
const rec = rig.record(monotonicUs);
let hog: ChildProcess | undefined;
const startUs = monotonicUs();
const endUs = startUs + durationS * 1e6;
const hogAtUs = startUs + durationS * 1e6 * hogFrom;

// alsa: as a companion opens its device
Object.assign(process.env, rig.env('alsa')); // the ALSA worker reads PULSE_SERVER/PULSE_SINK when it starts
const fmt = { sampleRate: RIG_RATE, channels: 2, bitsPerSample: 16 } as const;
const sink = new AlsaSink('pulse', fmt, { latencyMs: 300 });
await sink.open();
const queueFrames = Math.round(((sink.preferredQueueMs ?? 150) / 1000) * RIG_RATE);
const alsa = new ClickPredictions();
const alsaRun = (async () => {
  // the first call writes: the pulse PCM's delay can fail (EIO) on a stream not yet started
  let written = 480;
  let st = await sink.write(click(0, written, 2));
  while (monotonicUs() < endUs) {
    if (st.delayFrames < queueFrames) {
      const frames = 480;
      st = await sink.write(click(written, frames, 2));
      written += frames;
    } else {
      await sleep(3);
      st = await sink.status();
    }
    alsa.observe(st.atUs, written, st.delayFrames);
  }
  await sink.close();
})();

// libpulse: the same queue, raw timing
const raw = await LibpulseTimingStream.open({ server: rig.server, sink: rig.sinks.libpulse!, rate: RIG_RATE, channels: 2, queueMs: (queueFrames / RIG_RATE) * 1000, updateMs });
const native = new ClickPredictions();
const nativeRun = (async () => {
  let seen = 0;
  while (monotonicUs() < endUs) {
    raw.pump((first, frames) => click(first, frames, 2), monotonicUs());
    for (; seen < raw.timings.length; seen++) {
      const t = raw.timings[seen]!; // seen < length
      const consumed = t.readFrames - (t.sinkUs / 1e6) * RIG_RATE;
      native.observe(t.atUs, t.writeFrames, t.writeFrames - consumed);
    }
    await sleep(2);
  }
  raw.close();
})();

while (monotonicUs() < endUs) {
  if (!hog && hogFrom < 1 && monotonicUs() >= hogAtUs) {
    hog = busyLoop();
    process.stderr.write('pulse-report: busy loop on\n');
  }
  await sleep(200);
}
await Promise.all([alsaRun, nativeRun]);
hog?.kill('SIGKILL');
await sleep(300);
await rec.stop();

interface PathResult {
  clicks: number;
  unmatched: number;
  readingsPerS: number;
  meanMs: number;
  phases: Record<string, { n: number; p50: number; p95: number; max: number }>;
}

function judge(name: string, p: ClickPredictions, channel: number): PathResult {
  const exits = clickStarts(rec, channel, 3000, CLICK_EVERY / 2).map((f) => rec.timeOfFrame(f));
  const ks = [...p.predicted.keys()].sort((a, b) => a - b);
  const errors: Array<{ atUs: number; ms: number }> = [];
  let unmatched = 0;
  for (const at of exits) {
    // the click whose prediction lies nearest (clicks are 100 ms apart, errors a few ms)
    let best = NaN;
    for (const k of ks) {
      const e = at - p.predicted.get(k)!; // k comes from the map's keys
      if (Math.abs(e) < 20_000 && (Number.isNaN(best) || Math.abs(e) < Math.abs(best))) best = e;
    }
    if (Number.isNaN(best)) unmatched++;
    else errors.push({ atUs: at, ms: best / 1000 });
  }
  const firstUs = errors[0]?.atUs ?? 0;
  const judged = errors.filter((e) => e.atUs >= firstUs + SETTLE_S * 1e6);
  const meanMs = judged.reduce((a, e) => a + e.ms, 0) / Math.max(1, judged.length);
  const phases: PathResult['phases'] = {};
  for (const [phase, sel] of [
    ['quiet', (e: { atUs: number }) => e.atUs < hogAtUs],
    ['cpu hog', (e: { atUs: number }) => e.atUs >= hogAtUs],
  ] as const) {
    const dev = judged.filter(sel).map((e) => Math.abs(e.ms - meanMs));
    if (!dev.length) continue;
    const s = summarize(dev);
    phases[phase] = { n: s.n, p50: s.p50, p95: s.p95, max: s.max };
  }
  if (judged.length < 10) console.log(`${name}: only ${judged.length} clicks matched (${unmatched} recorded clicks had no prediction within 20 ms)`);
  return { clicks: exits.length, unmatched, readingsPerS: p.readings / durationS, meanMs, phases };
}

const results = { alsa: judge('alsa', alsa, 0), libpulse: judge('libpulse', native, 1) };
const rows: Array<Array<string | number>> = [];
for (const [name, r] of Object.entries(results)) for (const [phase, s] of Object.entries(r.phases)) rows.push([name, phase, s.n, r.meanMs, s.p50, s.p95, s.max, r.readingsPerS]);
console.log(table(['path', 'phase', 'clicks', 'mean ms', 'p50', 'p95', 'max', 'readings/s'], rows));
console.log(`\nrecorder clock map: spread of its 10 s envelopes ${(rec.clockSpreadUs() / 1000).toFixed(3)} ms, render-ahead ${(rec.renderAheadUs() / 1000).toFixed(1)} ms`);
const file = writeResult('pulse-report', {
  method: METHOD,
  limits: LIMITS,
  durationS,
  hogFrom,
  updateMs,
  clickEveryFrames: CLICK_EVERY,
  results,
  clockSpreadMs: rec.clockSpreadUs() / 1000,
});
console.log(`JSON: ${file}`);
await rig.stop();
process.exit(0);
