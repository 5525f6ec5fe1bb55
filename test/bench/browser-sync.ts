// browser-sync — how far the web companion's playout is from a native companion's.
//
// What: for the same stream chunks, the time the page schedules each to start
// playing against the time a native companion (the CLI's Player on a virtual DAC)
// puts the same first sample out, over a window; p50/p95/p99/max of the difference,
// for both of the page's decoding paths (WebAssembly Opus where the page is not a
// secure context, as on a phone at http://192.168.49.1; WebCodecs on localhost).
// Target (issue 5): ≤ 5 ms.
//
// Method: a real box process (tone, Opus) on loopback; headless Chromium loads the
// companion from a non-localhost name (insecure context: WebAssembly Opus,
// AudioBufferSourceNodes), then from localhost (WebCodecs), each joining in turn; a
// native listener joins over MQTT in this
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
// Also shown: each side against the box's own clock (the box, this process and the page
// all read one machine's clocks: CLOCK_MONOTONIC for the box, the wall clock for the
// page), so one can tell which side an error comes from.
//
//   node --import tsx test/bench/browser-sync.ts [--duration 20] [--quick]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoxClient } from '../../companion/client/box-client.ts';
import { sleep } from '../../firmware/util/time.ts';
import { launchChromium, PAGE_HOST, pageClockOfMonoMs, recordSchedule, waitMessage } from '../helpers/browser.ts';
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
  // the page, once per decoding path: a phone's (insecure context) and a secure one's
  const paths = [
    { name: 'insecure context (LAN name), WebAssembly Opus', url: `http://${PAGE_HOST}:${box.ports.http}/`, expect: 'wasm' },
    { name: 'secure context (localhost), WebCodecs Opus', url: `http://localhost:${box.ports.http}/`, expect: 'webcodecs' },
  ];
  const rows: Array<Array<string | number>> = [];
  const results: Record<string, unknown> = {};
  let met = true;
  for (const p of paths) {
    const page = await browser.newPage();
    await page.goto(p.url);
    await page.click('#join');
    await waitMessage(page, /^listening$/, 15_000);
    // the decoding path is known once the first chunk is decoded, which on a loaded machine can follow 'listening' by a while
    let used: string | null = null;
    for (let i = 0; i < 100 && used === null; i++) {
      used = await page.evaluate(() => window.__nearcast?.player.stats().path ?? null); // null until the stream plays
      if (used === null) await sleep(100);
    }
    if (native.failure()) throw new Error(`native reference listener failed: ${native.failure()}`);
    if (used !== p.expect) throw new Error(`${p.name}: the page decodes with ${used ?? 'nothing after 10 s'}, not ${p.expect}`);
    await sleep(3000); // past the page's first re-anchoring
    const wallOfMono = await pageClockOfMonoMs(page); // the page's clock against this process's monotonic one, ms
    await recordSchedule(page);
    await sleep(windowS * 1000);
    const sched = (await page.evaluate(() => window.__sched)) ?? [];
    if (native.failure()) throw new Error(`native reference listener failed during ${p.name}: ${native.failure()}`);
    const diffs: number[] = [];
    const delay = native.player.codecHeader?.codecDelayFrames ?? 0; // the decoder's look-ahead (known once the native listener has its header)
    const pageVsBox: number[] = [];
    const nativeVsBox: number[] = [];
    for (const [seq, wallMs, dueUs] of sched) {
      const t = native.outTimeOf(seq * 960 - delay);
      pageVsBox.push(Math.abs(wallMs - (dueUs / 1000 + wallOfMono)));
      if (Number.isNaN(t)) continue;
      diffs.push(Math.abs(wallMs - (t / 1000 + wallOfMono)));
      nativeVsBox.push(Math.abs(t - dueUs) / 1000);
    }
    const s = summarize(diffs);
    const vb = summarize(pageVsBox);
    const nb = summarize(nativeVsBox);
    rows.push([p.name, s.n, s.p50, s.p95, s.p99, s.max, vb.p50, nb.p50]);
    results[used] = { ...s, pageVsBox: vb, nativeVsBox: nb };
    met &&= s.n > 0 && s.p95 <= 5;
    await page.close();
  }
  console.log(`\nbrowser-sync: web companion (headless Chromium) vs native companion, ${windowS} s per path, |difference| in ms\n`);
  console.log(table(['page', 'n', 'p50', 'p95', 'p99', 'max', 'page vs box p50', 'native vs box p50'], rows));
  console.log(`\ntarget: ≤ 5 ms (p95) ${met ? 'met' : 'MISSED'}`);
  const file = writeResult('browser-sync', {
    method:
      "real box process; headless Chromium pages (insecure context: WebAssembly Opus; secure context on localhost: WebCodecs Opus), one after the other, and a native Player on a virtual DAC joined to the same stream; per chunk, the page's scheduled start vs the native DAC out-time of the same first sample, both on the wall clock",
    limits: 'headless Chromium plays to a fake audio sink; wall-clock conversion adds ~0.1 ms; native side is a virtual DAC',
    windowSeconds: windowS,
    difference: results,
    targetMs: 5,
    met,
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
