// click-sync — playout at a PulseAudio sink measured click by click: the box plays a
// click train (a 3-frame click every 100 ms) from a pipe, two `nearcast join`
// companions play it through ALSA's `pulse` PCM, and two snapclients play the same
// train from snapserver into the same null sink, each player on its own channel.
// A click's place in the recording is exact to a frame (21 µs), where cross-correlating
// music in windows (device-sync) blurs when a player corrects single frames. Method and
// limits: test/bench/README.md ("click-sync").
//
//   node --import tsx test/bench/click-sync.ts [--duration 120] [--quick] [--hog-from 0.5] [--codec pcm|opus]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PLAYER_NICE } from '../../firmware/util/priority.ts';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';
import { runCompanion, startBox, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';
import { clickStarts, matchClicks, startsIn, writeClickTrain } from './lib/clicks.ts';
import { startPulseRig, RIG_RATE } from './lib/pulse-rig.ts';
import { parseArgs, summarize, table, writeResult } from './lib/report.ts';
import { probeSchedule } from './lib/schedule-probe.ts';
import { runScope } from './lib/run-scope.ts';
import { startSnapclient, startSnapserver, type SnapClient } from './lib/snapcast.ts';

const args = parseArgs(process.argv.slice(2), { duration: 120, quick: false, hogFrom: 0.5, codec: 'pcm' });
const codec = String(args.codec);
if (codec !== 'pcm' && codec !== 'opus') throw new Error(`--codec: pcm or opus, got ${codec}`);
const durationS = args.quick ? 40 : (args.duration as number);
const hogFrom = args.hogFrom as number;
if (durationS < 30) throw new Error('--duration: at least 30 s');
if (hogFrom > 1) throw new Error('--hog-from: a fraction of the run, 0…1 (1: no hog)');
const missing = ['pulseaudio', 'pactl', 'parec', 'taskset', 'ffmpeg', 'snapserver', 'snapclient'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) throw new Error(`click-sync needs ${missing.join(', ')} (make bench installs them)`);

const CLICK_EVERY = 4800; // frames: 100 ms, so a click is matched to its schedule unambiguously within ±50 ms
const START_S = 2; // judged from this long after a player's first recorded click…
const SETTLED_S = 12; // …and apart from this on: a sound server's report is still settling before
const METHOD =
  `a 3-frame click every ${CLICK_EVERY} frames, fed in real time to the box (pipe source) and to snapserver (pipe source, 400 ms buffer); ` +
  `two nearcast companions and two snapclients 0.26 (Debian, ALSA player), both through the ${codec} codec, play it through ALSA's pulse PCM into ` +
  `one PulseAudio null sink, each on its own channel, recorded from the monitor by parec. nearcast: each recorded click against the ` +
  `box clock's schedule (a listener that keeps every chunk's playAt, laid onto the recording by the recorder's clock map) and the two ` +
  `companions' clicks against each other; snapclient: the two against each other (snapserver's schedule is not observable). ` +
  `|error| p50 / p95 / max in ms over the clicks from ${START_S} s after each player's first click, split at ${SETTLED_S} s (start, settled), ` +
  `quiet, then with a busy loop on one core from ${Math.round(hogFrom * 100)} % of the run.`;
const LIMITS =
  "against the schedule, the recorder's clock map is part of the figure (a constant of ~0.2 ms and its own wander); pairs are map-free. " +
  'No proxy, four players on the sink (device-sync has seven, music, Opus).';

console.log(`click-sync: ${durationS} s\n\nMethod: ${METHOD}\n\nLimits: ${LIMITS}\n`);
try {
  os.setPriority(-10); // the recorder's read times are the clock map: above the players when permitted
} catch {
  /* not permitted: a coarser clock map */
}

const { dir, owned, busyLoop } = runScope('click-sync');

// the click train, long enough for the run and the start
const clicks = path.join(dir, 'clicks.raw');
writeClickTrain(clicks, durationS + 60, CLICK_EVERY, RIG_RATE);
const feed = (fifo: string) => {
  spawnSync('mkfifo', [fifo]);
  return owned(spawn('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-f', 's16le', '-ar', '48000', '-ac', '2', '-i', clicks, '-f', 's16le', '-y', fifo], { stdio: 'ignore' }));
};

// the box takes NEARCAST_* variables as its settings: the results directory (read by lib/report.ts at import) is not one
delete process.env.NEARCAST_BENCH_RESULTS;
const ncPlayers = ['nc1', 'nc2'];
const snapPlayers = ['snap1', 'snap2'];
const rig = await startPulseRig({ players: [...ncPlayers, ...snapPlayers], own: owned });
const rec = rig.record(monotonicUs);
const boxFifo = path.join(dir, 'box.fifo');
feed(boxFifo);
const box: BoxProcess = await startBox(['--policy', 'open', '--source', `pipe:${boxFifo}`, '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')]);
const probe = await probeSchedule('127.0.0.1', box.ports.mqtt);
const companions: CompanionProcess[] = ncPlayers.map((p) =>
  runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', p, '--device', 'pulse', '--codec', codec, '--json'], rig.env(p)),
);
const snapFifo = path.join(dir, 'snap.fifo');
feed(snapFifo);
const snapserver = await startSnapserver(dir, snapFifo, { codec, bufferMs: 400 });
owned(snapserver.proc);
const snapclients: SnapClient[] = snapPlayers.map((p) => startSnapclient(p, snapserver.port, 'pulse', rig.env(p), PLAYER_NICE));
for (const c of snapclients) owned(c.proc);

const startUs = monotonicUs();
const hogAtUs = startUs + durationS * 1e6 * hogFrom;
let hog: ChildProcess | undefined;
while (monotonicUs() < startUs + durationS * 1e6) {
  if (!hog && hogFrom < 1 && monotonicUs() >= hogAtUs) {
    hog = busyLoop();
    process.stderr.write('click-sync: busy loop on\n');
  }
  await sleep(500);
}
hog?.kill('SIGKILL');
const counters = companions.map((c) => c.status().at(-1) ?? null);
for (const c of companions) await c.interrupt();
for (const c of snapclients) c.proc.kill('SIGINT');
await rec.stop();
await probe.stop();
await box.stop();

const channelClicks = (name: string) => clickStarts(rec, rig.players.indexOf(name), 3000, CLICK_EVERY / 2);
const reference = probe.reference(rec);
const scheduled = startsIn(reference, rec.frames(), 0.15, CLICK_EVERY / 2);

interface Offset {
  atUs: number;
  ms: number;
}
/** each click of `a` against the nearest of `b` (within half the click period) */
const offsets = (a: number[], b: number[]): Offset[] => matchClicks(a, b, CLICK_EVERY / 2).map(([f, g]) => ({ atUs: rec.timeOfFrame(f), ms: ((f - g) / RIG_RATE) * 1000 }));

type Stats = { n: number; p50: number; p95: number; max: number; meanMs: number };
function phases(xs: Offset[], firstUs: number): Record<string, Stats> {
  const out: Record<string, Stats> = {};
  const from = firstUs + START_S * 1e6;
  const settled = firstUs + SETTLED_S * 1e6;
  for (const [name, sel] of [
    ['start', (o: Offset) => o.atUs >= from && o.atUs < settled && o.atUs < hogAtUs],
    ['quiet', (o: Offset) => o.atUs >= settled && o.atUs < hogAtUs],
    ['cpu hog', (o: Offset) => o.atUs >= Math.max(settled, hogAtUs)],
  ] as const) {
    const picked = xs.filter(sel);
    if (!picked.length) continue;
    const s = summarize(picked.map((o) => Math.abs(o.ms)));
    out[name] = { n: s.n, p50: s.p50, p95: s.p95, max: s.max, meanMs: picked.reduce((a, o) => a + o.ms, 0) / picked.length };
  }
  return out;
}

const firstClickUs = (xs: number[]) => (xs.length ? rec.timeOfFrame(xs[0]!) : NaN); // xs is not empty
const heard = Object.fromEntries([...ncPlayers, ...snapPlayers].map((p) => [p, channelClicks(p)]));
const results: Record<string, Record<string, Stats>> = {};
for (const p of ncPlayers) results[`${p} – schedule`] = phases(offsets(heard[p]!, scheduled), firstClickUs(heard[p]!));
const pairFirst = (a: string, b: string) => Math.max(firstClickUs(heard[a]!), firstClickUs(heard[b]!));
results['nc1 – nc2'] = phases(offsets(heard.nc1!, heard.nc2!), pairFirst('nc1', 'nc2'));
results['snap1 – snap2'] = phases(offsets(heard.snap1!, heard.snap2!), pairFirst('snap1', 'snap2'));

const rows: Array<Array<string | number>> = [];
for (const [what, ph] of Object.entries(results)) for (const [phase, s] of Object.entries(ph)) rows.push([what, phase, s.n, s.meanMs, s.p50, s.p95, s.max]);
console.log(table(['offset', 'phase', 'clicks', 'mean ms', 'p50', 'p95', 'max'], rows));
const silent = [...ncPlayers, ...snapPlayers].filter((p) => heard[p]!.length < 10);
if (silent.length) console.log(`\nnot heard (fewer than 10 clicks): ${silent.join(', ')}`);
console.log(`\ncompanions at the end: ${counters.map((s, i) => `${ncPlayers[i]} resyncs ${s?.resyncs} dropped ${s?.droppedFrames} inserted ${s?.insertedFrames}`).join('; ')}`);
console.log(`recorder clock map: spread of its 10 s envelopes ${(rec.clockSpreadUs() / 1000).toFixed(3)} ms`);
const file = writeResult(codec === 'pcm' ? 'click-sync' : `click-sync-${codec}`, {
  method: METHOD,
  limits: LIMITS,
  durationS,
  hogFrom,
  codec,
  results,
  notHeard: silent,
  companions: counters,
  clockSpreadMs: rec.clockSpreadUs() / 1000,
});
console.log(`JSON: ${file}`);
await rig.stop();
process.exit(0);
