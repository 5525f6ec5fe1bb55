// browser-sync — how far the web companion's playout is from a native companion's.
//
// What: for the same stream chunks, the time the page schedules each to start
// playing against the time a native companion (the CLI's Player on a virtual DAC)
// puts the same first sample out, over a window; p50/p95/p99/max of the difference.
// Target (issue 5): ≤ 5 ms.
//
// Method: a real box process (tone, Opus) on loopback; headless Chromium loads the
// companion from a non-localhost name (insecure context: WebAssembly Opus,
// AudioBufferSourceNodes) and joins; a native listener joins over MQTT in this
// process. Both sides are put on the wall clock: the page converts each chunk's
// start (context time) through getOutputTimestamp() to performance time and adds
// performance.timeOrigin; the native side converts its DAC's monotonic out-time with
// the offset between Date.now() and the monotonic clock. Chunk k's first decoded
// sample is stream frame k·960 − codec delay on both sides.
//
// Limits: headless Chromium plays to a fake audio sink, so getOutputTimestamp()'s
// output latency is that sink's, not a phone's; wall-clock conversion adds about
// 0.1 ms of its own; the native side is a virtual DAC (exact delay).
//
//   node --import tsx test/bench/browser-sync.ts [--duration 20] [--quick]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoxClient } from '../../companion/client/box-client.ts';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';
import { launchChromium, PAGE_HOST } from '../helpers/browser.ts';
import { startBox } from '../helpers/box-process.ts';
import { parseArgs, summarize, table, writeResult } from './lib/report.ts';
import { startListener } from './lib/rig.ts';

const args = parseArgs(process.argv.slice(2), { duration: 20, quick: false });
const windowS = args.quick ? 5 : (args.duration as number);
const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-bsync-'));
// the box refuses NEARCAST_* settings it does not know (report.ts has read its own already)
delete process.env.NEARCAST_BENCH_RESULTS;
const box = await startBox(['--source', 'tone:440', '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')]);
const browser = await launchChromium();
try {
  // native companion
  const client = await BoxClient.connect({ url: `mqtt://127.0.0.1:${box.ports.mqtt}`, clientId: 'native-ref' });
  const grant = await client.request<{ stream: { tcpPort: number; token: string } }>('join', { name: 'native', codec: 'opus' });
  if (grant.status !== 'ok' || !grant.data) throw new Error(`native join refused: ${grant.error}`);
  const native = await startListener({ port: grant.data.stream.tcpPort, token: grant.data.stream.token, name: 'native', ppm: 0 });
  const wallOfMono = Date.now() - monotonicUs() / 1000; // ms
  // the page
  const page = await browser.newPage();
  await page.goto(`http://${PAGE_HOST}:${box.ports.http}/`);
  await page.click('#join');
  await page.waitForFunction(() => document.getElementById('message')?.textContent === 'listening', null, { timeout: 15_000 });
  await page.evaluate(() => {
    const w = window as any;
    w.__sched = [];
    w.__nearcast.player.onScheduled = (seq: number, t: number) => {
      const ts = w.__nearcast.ctx.getOutputTimestamp();
      w.__sched.push([seq, performance.timeOrigin + ts.performanceTime + (t - ts.contextTime) * 1000]);
    };
  });
  await sleep(3000); // past the page's first re-anchoring
  await page.evaluate(() => { (window as any).__sched = []; });
  await sleep(windowS * 1000);
  const sched = (await page.evaluate(() => (window as any).__sched)) as Array<[number, number]>;
  const delay = native.player.codecHeader?.codecDelayFrames ?? 0; // the decoder's look-ahead
  const diffs: number[] = [];
  for (const [seq, wallMs] of sched) {
    const t = native.outTimeOf(seq * 960 - delay);
    if (!Number.isNaN(t)) diffs.push(Math.abs(wallMs - (t / 1000 + wallOfMono)));
  }
  const s = summarize(diffs);
  console.log(`\nbrowser-sync: web companion (headless Chromium, insecure context, WASM Opus) vs native companion, ${windowS} s, |difference| in ms\n`);
  console.log(table(['', 'n', 'p50', 'p95', 'p99', 'max'], [['browser − native', s.n, s.p50, s.p95, s.p99, s.max]]));
  const met = s.n > 0 && s.p95 <= 5;
  console.log(`\ntarget: ≤ 5 ms (p95) ${met ? 'met' : 'MISSED'}`);
  const file = writeResult('browser-sync', {
    method: 'real box process; headless Chromium page (insecure context) and a native Player on a virtual DAC joined to the same stream; per chunk, the page\'s scheduled start vs the native DAC out-time of the same first sample, both on the wall clock',
    limits: 'headless Chromium plays to a fake audio sink; wall-clock conversion adds ~0.1 ms; native side is a virtual DAC',
    windowSeconds: windowS, difference: s, targetMs: 5, met,
  });
  console.log(`results: ${file}`);
  await native.close();
  await client.close();
} finally {
  await browser.close();
  await box.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
