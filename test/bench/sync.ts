// Benchmark `sync`: how far apart 10 listeners (and the box's own speaker) put the
// same stream frame out of their DACs.
//
// Method: an in-process box (the firmware's AudioEngine + StreamServer, a tone
// source, Opus to listeners) with its own speaker on a virtual DAC at 0 ppm; 10
// listeners in the same process, each a Player on a VirtualDac whose crystal runs
// −100…+100 ppm off and whose clock is offset by seconds from the box's (so clock
// sync has a real offset to find), connected over real TCP through a jitter
// proxy that delays every chunk, both ways, by a random 0–20 ms while keeping order.
// Every 250 ms we take a stream frame the box speaker played ~0.4 s ago and ask
// each listener's scheduler which DAC frame carried it and the DAC when that
// frame left (VirtualDac.frameOutTimeUs, ground truth), mapped to the box clock.
// Limits: one machine, so "the box clock" and every DAC share CLOCK_MONOTONIC
// (the offsets are synthetic and constant: no system-clock drift between
// listener and box); the DACs are simulated (no real clock jitter, delay exact);
// the 10 listeners share two cores with the box, so scheduling noise is real.

import { startJitterProxy } from './lib/jitter-proxy.ts';
import { parseArgs, summarize, table, writeResult, type Summary } from './lib/report.ts';
import { startBoxRig, startListener, type Listener } from './lib/rig.ts';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';
import { firstOf, itemAt, lastOf } from '../../firmware/util/checked-index.ts';

const args = parseArgs(process.argv.slice(2), { duration: 300, listeners: 10, jitter: 20, extraSyncHz: 0, quick: false });
const durationS = args.quick ? 20 : (args.duration as number);
const n = args.listeners as number;
const jitterMs = args.jitter as number;
const WARMUP_S = 2; // from the last listener's first sample
const SETTLED_S = 60;

const box = await startBoxRig({ source: { kind: 'tone', hz: 440 }, speaker: true });
const proxy = await startJitterProxy({ targetPort: box.port, maxMs: jitterMs });
const boxSpk = box.speaker!;
const listeners: Listener[] = [];
for (let i = 0; i < n; i++) {
  const ppm = n === 1 ? 0 : -100 + (200 * i) / (n - 1);
  const name = `L${i}`;
  const token = box.tokens.issue(name, 'pcm');
  listeners.push(await startListener({ port: proxy.port, token, name, ppm, clockOffsetUs: Math.round((i - n / 2) * 1_370_000 + 123), extraSyncHz: args.extraSyncHz as number }));
}
const startedAt = monotonicUs();
const rows: Array<{ t: number; errs: number[]; clockErrs: number[] }> = []; // per sample: listener error vs box (µs), NaN when missing; clock-estimate error (µs)
const endAt = startedAt + durationS * 1e6;
let lastPrint = startedAt;
while (monotonicUs() < endAt) {
  await sleep(250);
  const dev = boxSpk.dac.framesWritten - Math.round(0.4 * 48000);
  const source = dev > 0 ? boxSpk.player.scheduler.sourceOfDeviceFrame(dev) : NaN;
  if (Number.isNaN(source)) continue;
  const tBox = boxSpk.dac.frameOutTimeUs(dev);
  const now = monotonicUs();
  const errs = listeners.map((l) => {
    const t = l.outTimeOf(source);
    return t <= now ? t - tBox : NaN;
  });
  // the true offset (box − listener clock) is −clockOffsetUs: what the estimate misses by
  const clockErrs = listeners.map((l) => (l.sync.synced ? l.sync.offsetAt(now + l.clockOffsetUs) + l.clockOffsetUs : NaN));
  rows.push({ t: (now - startedAt) / 1e6, errs, clockErrs });
  if (now - lastPrint > 30e6) {
    lastPrint = now;
    process.stderr.write(`sync: ${Math.round((now - startedAt) / 1e6)} s of ${durationS}\n`);
  }
}

const firstFull = rows.findIndex((r) => r.errs.every((e) => !Number.isNaN(e)));
const t0 = rows[firstFull]?.t ?? Infinity; // no row with every listener playing: nothing to measure
function stats(fromS: number): { inter: Summary; perListener: Summary[]; clock: Summary[]; missing: number } {
  const use = rows.filter((r) => r.t >= fromS);
  const inter: number[] = [];
  const per: number[][] = listeners.map(() => []);
  const clk: number[][] = listeners.map(() => []);
  let missing = 0;
  for (const r of use) {
    r.errs.forEach((e, i) => {
      if (Number.isNaN(e)) missing++;
      else itemAt(per, i, 'listeners').push(Math.abs(e));
    });
    r.clockErrs.forEach((e, i) => {
      if (!Number.isNaN(e)) itemAt(clk, i, 'listeners').push(Math.abs(e));
    });
    for (let i = 0; i < r.errs.length; i++)
      for (let j = i + 1; j < r.errs.length; j++) {
        const d = Math.abs(r.errs[i]! - r.errs[j]!); // i < j < errs.length
        if (!Number.isNaN(d)) inter.push(d);
      }
  }
  const ms = (s: Summary): Summary => ({ n: s.n, p50: s.p50 / 1000, p95: s.p95 / 1000, p99: s.p99 / 1000, max: s.max / 1000 });
  return { inter: ms(summarize(inter)), perListener: per.map((p) => ms(summarize(p))), clock: clk.map((c) => ms(summarize(c))), missing };
}
const all = stats(t0 + WARMUP_S);
const settled = durationS >= SETTLED_S * 2 ? stats(t0 + SETTLED_S) : null;
const playerStats = listeners.map((l) => l.player.stats());

console.log(
  `\nsync: ${n} listeners, DACs ${firstOf(listeners, 'listeners').dac.ppm}…${lastOf(listeners, 'listeners').dac.ppm} ppm, jitter 0–${jitterMs} ms each way, ${durationS} s (errors in ms, measured from ${WARMUP_S} s after the last listener's first sample)\n`,
);
const hdr = ['', 'n', 'p50', 'p95', 'p99', 'max'];
const sumRow = (label: string, s: Summary) => [label, s.n, s.p50, s.p95, s.p99, s.max];
console.log(table(hdr, [sumRow('inter-listener', all.inter), ...(settled ? [sumRow(`inter-listener after ${SETTLED_S} s`, settled.inter)] : [])]));
console.log('\nper listener, |error| against the box speaker (ms):\n');
console.log(
  table(
    ['listener', 'ppm', 'p50', 'p95', 'p99', 'max', 'resyncs', 'underruns', 'ins', 'drop', 'clock p50', 'clock p99'],
    listeners.map((l, i) => {
      const s = itemAt(all.perListener, i, 'listener figures');
      const c = itemAt(all.clock, i, 'listener clock figures');
      const p = itemAt(playerStats, i, 'player stats');
      return [l.name, l.dac.ppm, s.p50, s.p95, s.p99, s.max, p.resyncs, p.underruns, p.insertedFrames, p.droppedFrames, c.p50, c.p99];
    }),
  ),
);
const targets = { interP50Ms: 0.1, interP99Ms: 0.5 };
const pass = { p50: all.inter.p50 <= targets.interP50Ms, p99: all.inter.p99 <= targets.interP99Ms };
console.log(`\ntargets: p50 ≤ ${targets.interP50Ms} ms ${pass.p50 ? 'met' : 'MISSED'}, p99 ≤ ${targets.interP99Ms} ms ${pass.p99 ? 'met' : 'MISSED'}`);
const file = writeResult('sync', {
  method:
    'in-process box (engine + stream server, tone, PCM to listeners) and speaker on a 0 ppm virtual DAC; listeners = Player + VirtualDac over TCP through a 0–jitter ms per-chunk delaying proxy; stream frames mapped to DAC out times every 250 ms',
  limits: 'one machine: shared monotonic clock (synthetic constant clock offsets, no system-clock drift), simulated DACs, box and listeners share the CPU',
  params: { durationS, listeners: n, jitterMs, extraSyncHz: args.extraSyncHz, warmupS: WARMUP_S, codec: 'pcm', latencyMs: 400 },
  unit: 'ms',
  interListener: all.inter,
  interListenerSettled: settled?.inter ?? null,
  samplesMissing: all.missing,
  listeners: listeners.map((l, i) => ({
    name: l.name,
    ppm: l.dac.ppm,
    clockOffsetUs: l.clockOffsetUs,
    errorVsBox: all.perListener[i],
    clockEstimateError: all.clock[i],
    driftEstimatePpm: l.sync.drift,
    stats: playerStats[i],
  })),
  targets,
  pass,
});
console.log(`results: ${file}`);
for (const l of listeners) await l.close();
await proxy.close();
await box.stop();
process.exit(0);
