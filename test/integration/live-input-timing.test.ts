// Live input on time, judged at the sink: what is played into the input's own PulseAudio
// null sink is captured by the box (`capture:pulse` on that sink's monitor, through
// libpulse) and must leave the box's own speaker and a companion — both on `pulse` into
// the recorded rig — exactly `latencyMs` after it entered. A second recorder records the
// input; its recording, mapped onto the players' recording through the two clock maps and
// shifted by the latency, is compared with each player window by window
// (test/helpers/live-input-rig.ts, test/bench/lib).

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { waitFor, type CompanionProcess } from '../helpers/box-process.ts';
import { startLiveInputRig, type LiveInputRig } from '../helpers/live-input-rig.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LATENCY_MS = 400;
/**
 * The box not run for longer than its speaker's queue (a starved speaker resync, logged): the
 * input is read late too. Under a second suite (2026-12-04) the capture's timing then went
 * 7–87 ms off in single windows for about 4 s, box speaker and companion alike; with a 0.9 s
 * stall here it re-aligned once (215 ms) and came back 0.6 ms from where it was. Those seconds
 * are the machine's: judged apart, from this long before the stall...
 */
const STARVED_BEFORE_US = 500_000;
/** ...to this long after it */
const STARVED_AFTER_US = 5_000_000;
/** at most this many such episodes after 2 s */
const MAX_STARVED_EPISODES = 2;

describe('live input on time (capture through `pulse`, box speaker and companion on `pulse`, recorded)', function () {
  this.timeout(150_000);
  let dir: string;
  let live: LiveInputRig;
  let comp: CompanionProcess | null = null;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-live-timing-'));
    live = await startLiveInputRig(dir, LATENCY_MS);
  });

  after(async () => {
    await comp?.interrupt();
    await live?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`a captured sample leaves the box speaker and a companion ${LATENCY_MS} ms after it entered the box (median window within 2 ms), with no resync`, async () => {
    const { rig, rec, box } = live;
    comp = live.join();
    live.feed(40);
    const levels = () => live.levels(200);
    await waitFor('the input, the box speaker and the companion audible at the sink', () => levels().every((l) => l > 0.01), 30_000).catch((e: Error) => {
      throw new Error(
        `${e.message}: levels ${levels()
          .map((l) => l.toFixed(3))
          .join(' / ')}; companion ${comp!.stderr.slice(-5).join(' / ')}; box ${box.logs.slice(-5).join(' / ')}`,
      );
    });
    await sleep(2000);
    const early = comp.status().at(-1);
    const boxLogsEarly = box.logs.length;
    await sleep(16_000);
    const late = comp.status().at(-1);
    await rec.stop();
    // the box's log lines after 2 s, with their instants on the recording's (monotonic) clock
    const wallToMonoUs = monotonicUs() - Date.now() * 1000;
    const boxLines = box.logs
      .slice(boxLogsEarly)
      .flatMap((l) => l.split('\n')) // one entry per log line (stderr), or a chunk of stdout
      .flatMap((l) => {
        const time = /^\{"time":"([^"]+)"/.exec(l)?.[1];
        return time ? [{ line: l, atUs: Date.parse(time) * 1000 + wallToMonoUs }] : [];
      });
    // the box speaker is a player like the companion: it logs each resync with its cause...
    const speakerResyncs = boxLines.filter((l) => l.line.includes('speaker resync'));
    const speakerStarved = speakerResyncs.filter((l) => l.line.includes('not scheduled in time'));
    // ...and its capture each skip or pause of the input (firmware/domain/live-input.ts), heard by every player alike
    const captureSkips = boxLines.filter((l) => l.line.includes('capture re-aligned'));
    // seconds in which the box was starved: its speaker ran dry, or its capture re-aligned after the box
    // was held up (firmware/audio/sources/capture-source.ts says so); one episode per stall
    const boxHeldUp = captureSkips.filter((l) => l.line.includes('the box was held up'));
    const episodes: Array<{ name: string; fromUs: number; toUs: number }> = [];
    for (const { atUs } of [...speakerStarved, ...boxHeldUp].sort((a, b) => a.atUs - b.atUs)) {
      const last = episodes.at(-1);
      if (last && atUs - STARVED_BEFORE_US <= last.toUs) last.toUs = atUs + STARVED_AFTER_US;
      else episodes.push({ name: 'starved', fromUs: atUs - STARVED_BEFORE_US, toUs: atUs + STARVED_AFTER_US });
    }
    const inEpisode = (atUs: number) => episodes.some((e) => atUs >= e.fromUs && atUs <= e.toUs);
    const report = rig.offsets(
      [
        ['expected', 'box'],
        ['expected', 'nc1'],
      ],
      // quarter-second windows: a window over which the capture is being resampled (its clock
      // moved) still correlates, where a half-second one smeared and counted as no measurement
      { references: { expected: live.expected }, maxLagMs: 100, windowMs: 250, phases: episodes },
    );
    const lines = report.pairs.map((p) => {
      const series = p.windows.map(([, ms]) => (Number.isNaN(ms) ? '·' : ms.toFixed(2))).join(' ');
      const apart = p.byPhase.starved;
      const judged = p.byPhase.all;
      return `${p.b}: judged |offset| p50 ${judged?.p50} p95 ${judged?.p95} max ${judged?.max} ms, mean ${judged?.meanMs} ms, ${judged?.n} windows (${judged?.silent} silent, ${judged?.lowCorrelation} low ρ)${apart ? `; while the box was starved: max ${apart.max} ms over ${apart.n} windows (${apart.lowCorrelation} low ρ)` : ''}; every window: ${series}`;
    });
    const told = (ls: typeof boxLines) => ls.map((l) => l.line).join(' / ') || 'none';
    const what = `${lines.join('\n')}\ncompanion ${JSON.stringify(late)}; its log: ${comp.stderr.join(' / ')}\nbox speaker resyncs after 2 s: ${told(speakerResyncs)}\nbox capture re-alignments after 2 s: ${told(captureSkips)}`;
    if (episodes.length)
      console.log(`      ${episodes.length} episode(s) of the box starved of CPU (its speaker's starved resyncs, its capture held up): their seconds judged apart`);
    expect(episodes.length, `episodes of the box starved after 2 s; ${what}`).to.be.at.most(MAX_STARVED_EPISODES);
    // a skip of the input is heard by every listener: only a starved box may cause one
    expect(
      captureSkips.filter((l) => !inEpisode(l.atUs)).map((l) => l.line),
      `capture re-alignments after 2 s while the box was not starved; ${what}`,
    ).to.deep.equal([]);
    // README "Live input": a sample leaves every player `latencyMs` after it entered, within
    // 2 ms. The median window is held to that; the mean only loosely, since a player's own
    // excursions (its device report moving under load, ARCHITECTURE.md "Playout") are the
    // playout's and are measured by device-sync, not here. Six runs under a second suite:
    // medians 0.44–1.23 ms, means −0.50…−1.30; the old elastic buffer played ~95 ms late.
    for (const p of report.pairs) {
      const judged = p.byPhase.all;
      // about 64 quarter-second windows in the 16 s: at least a third of them must be judged (a
      // window that does not correlate is no measurement, and the median of a few proves little;
      // two starved episodes take up to 44)
      expect(judged?.n, `${p.b} windows judged; ${what}`).to.be.at.least(20);
      expect(judged?.p50, `${p.b} median |offset|; ${what}`).to.be.at.most(2);
      expect(Math.abs(judged?.meanMs ?? NaN), `${p.b} mean offset; ${what}`).to.be.at.most(4);
    }
    // a player that its machine starves of CPU for longer than its device holds runs dry and
    // must resync (it says so: its audio came after the device's queue ran out): that is the
    // machine, not the timing of live input; any other resync fails
    const resyncs = (s: typeof late) => (s?.resyncs ?? NaN) - ((s?.starvedResyncs as number | undefined) ?? 0);
    const starved = comp.stderr.filter((l) => l.startsWith('resync:') && l.includes('not scheduled in time'));
    if (starved.length) console.warn(`      (tolerated: the companion was starved of CPU — ${starved.join(' / ')})`);
    expect(resyncs(late) - resyncs(early), `companion resyncs after 2 s, other than after it was starved; ${what}`).to.equal(0);
    if (speakerStarved.length) console.warn(`      (tolerated: the box was starved of CPU — ${told(speakerStarved)})`);
    expect(speakerResyncs.length - speakerStarved.length, `box speaker resyncs after 2 s, other than after it was starved; ${what}`).to.equal(0);
    for (const p of report.pairs)
      console.log(
        `      ${p.b}: |offset| p50 ${p.byPhase.all?.p50} p95 ${p.byPhase.all?.p95} max ${p.byPhase.all?.max} ms, mean ${p.byPhase.all?.meanMs} ms over ${p.byPhase.all?.n} windows`,
      );
  });
});
