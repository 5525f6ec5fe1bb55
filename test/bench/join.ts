// Benchmark `join`: a listener joins a stream that is already playing; how long
// from the request to its first sample out of the DAC?
//
// Method: an in-process box (AudioEngine + StreamServer, tone source, default
// 400 ms latency, fast join = the FIFO's future chunks sent at once) and 50
// joins one after the other. Each join: the clock starts, a stream token is
// issued (what an accepted `join` reply carries), a Player on a virtual DAC
// connects over loopback TCP, syncs its clock, and the clock stops when its
// first stream sample leaves the DAC (the scheduler's `started` event, in DAC
// time). Limits: the MQTT request/reply round trip of a real join is not
// included (a few ms on loopback; see the integration tests for the full path);
// no network jitter; the DAC is simulated.

import { parseArgs, summarize, table, writeResult } from './lib/report.ts';
import { startBoxRig, startListener } from './lib/rig.ts';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';

const args = parseArgs(process.argv.slice(2), { joins: 50, latency: 400, quick: false });
const joins = args.quick ? 10 : (args.joins as number);
const latencyMs = args.latency as number;
const box = await startBoxRig({ source: { kind: 'tone', hz: 440 }, latencyMs, codecs: ['opus', 'pcm'] });
await sleep(latencyMs + 500); // the stream is playing and the FIFO holds its future
const times: number[] = [];
for (let i = 0; i < joins; i++) {
  const name = `J${i}`;
  const t0 = monotonicUs();
  const token = box.tokens.issue(name, 'opus');
  let firstOut = NaN;
  const started = new Promise<void>((resolve) => {
    void startListener({
      port: box.port,
      token,
      name,
      ppm: 0,
      onStarted: (t) => {
        firstOut = t;
        resolve();
      },
    }).then((l) => {
      void started.then(async () => {
        await l.close();
      });
    });
  });
  const timeout = sleep(5000).then(() => {
    throw new Error(`${name}: no sound within 5 s`);
  });
  await Promise.race([started, timeout]);
  times.push((firstOut - t0) / 1000);
  await sleep(100 + ((i * 37) % 60)); // joins land at varied phases of the chunk clock
}
const s = summarize(times);
console.log(`\njoin: ${joins} joins into a playing stream, latency ${latencyMs} ms, Opus (ms from request to first sample out of the DAC)\n`);
console.log(table(['', 'n', 'p50', 'p95', 'p99', 'max'], [['join → first sample', s.n, s.p50, s.p95, s.p99, s.max]]));
const target = 150;
console.log(`\ntarget: p95 ≤ ${target} ms ${s.p95 <= target ? 'met' : 'MISSED'}`);
const file = writeResult('join', {
  method: 'in-process box (engine + stream server), token issued → TCP connect → clock sync → first sample out of a virtual DAC, sequential joins',
  limits: 'MQTT join round trip not included; loopback without jitter; simulated DAC',
  params: { joins, latencyMs, codec: 'opus' },
  unit: 'ms',
  joinToFirstSample: s,
  samples: times,
  target: { p95Ms: target },
  pass: s.p95 <= target,
});
console.log(`results: ${file}`);
await box.stop();
process.exit(0);
