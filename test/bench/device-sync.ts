// device-sync — what actually comes out of a clocked audio device: nearcast
// companions and the box's own speaker, side by side with snapclients, recorded
// from one PulseAudio null sink. Method and limits: test/bench/README.md
// ("device-sync"); the same text heads the output.
//
//   node --import tsx test/bench/device-sync.ts [--duration 300] [--quick] [--companions 3] [--snapclients 3]
//     [--jitter 20] [--hog-from 0.5] [--codec opus] [--window-ms 500] [--max-lag-ms 200] [--systems nearcast,snapcast]
//     [--device pulse]   (the nearcast players' device: `pulse` is libpulse, `alsa:pulse` ALSA's plugin)

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import mqtt from 'mqtt';
import { monotonicUs, sleep } from '../../firmware/util/time.ts';
import { LOOPBACK_BOX_ARGS, ROOT, runCompanion, type CompanionProcess } from '../helpers/box-process.ts';
import { analyseOffsets, type OffsetReport, type PhaseStats } from './lib/device-offsets.ts';
import { startJitterProxy, type JitterProxy } from './lib/jitter-proxy.ts';
import { runScope } from './lib/run-scope.ts';
import { makeCorrelationMaterial } from './lib/material.ts';
import { startPulseRig } from './lib/pulse-rig.ts';
import { parseArgs, RESULTS_DIR, summarize, table, writeResult } from './lib/report.ts';
import { probeSchedule, type ScheduleProbe } from './lib/schedule-probe.ts';
import { PLAYER_NICE } from '../../firmware/util/priority.ts';
import { startSnapclient, startSnapserver, type SnapClient } from './lib/snapcast.ts';
import { deviceSyncTargets, METHOD, LIMITS } from './lib/device-sync-text.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';
import type { TelemetryMessage } from '../../firmware/extensions/telemetry.ts';

const args = parseArgs(process.argv.slice(2), {
  duration: 300,
  quick: false,
  companions: 3,
  snapclients: 3,
  jitter: 20,
  hogFrom: 0.5,
  codec: 'opus',
  windowMs: 500,
  maxLagMs: 200,
  systems: 'nearcast,snapcast',
  device: 'pulse',
});
const ncDevice = String(args.device);
if (ncDevice !== 'pulse' && ncDevice !== 'alsa:pulse') throw new Error(`--device: pulse (libpulse) or alsa:pulse (ALSA's plugin), got ${args.device}`);
const durationS = args.quick ? 60 : (args.duration as number);
const nCompanions = args.companions as number;
const nSnap = args.snapclients as number;
const systems = String(args.systems).split(',');
if (systems.some((s) => s !== 'nearcast' && s !== 'snapcast')) throw new Error(`--systems: nearcast and/or snapcast, got ${args.systems}`);
if (!Number.isInteger(nCompanions) || nCompanions < 1 || nCompanions > 8) throw new Error('--companions: 1…8');
if (!Number.isInteger(nSnap) || nSnap < 2 || nSnap > 8) throw new Error('--snapclients: 2…8 (a pair is needed)');
if ((args.hogFrom as number) > 1) throw new Error('--hog-from: a fraction of the run, 0…1 (1: no hog)');
if (durationS < 10) throw new Error('--duration: at least 10 s');
if (args.codec !== 'opus' && args.codec !== 'pcm') throw new Error(`--codec: opus or pcm, got ${args.codec}`);
if ((args.windowMs as number) < 50 || (args.windowMs as number) > 500) throw new Error('--window-ms: 50…500');
if ((args.maxLagMs as number) < 1 || (args.maxLagMs as number) > 1000) throw new Error('--max-lag-ms: 1…1000');
const tools = ['pulseaudio', 'pactl', 'parec', 'taskset', 'ffmpeg', ...(systems.includes('snapcast') ? ['snapserver', 'snapclient'] : [])];
const missingTools = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missingTools.length)
  throw new Error(`device-sync needs ${missingTools.join(', ')} (make bench installs them: pulseaudio pulseaudio-utils util-linux ffmpeg snapserver snapclient)`);

console.log(
  `device-sync: ${durationS} s, nearcast players on ${ncDevice === 'pulse' ? '`pulse` (libpulse)' : "`alsa:pulse` (ALSA's plugin)"}\n\nMethod: ${METHOD}\n\nLimits: ${LIMITS}\n`,
);

// this thread timestamps the recorder's reads: above the players when permitted
try {
  os.setPriority(-10);
} catch {
  /* not permitted: normal priority, a coarser clock map */
}
const { dir, owned, live, busyLoop } = runScope('device-sync');
async function stop(c: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill(signal);
  await Promise.race([done, sleep(6000).then(() => c.kill('SIGKILL'))]);
}
const lastLines = (xs: string[], n = 15) => xs.slice(-n).join('\n');

// rich, non-periodic material (over the lags searched), with a gliding tone
const source = path.join(dir, 'source.flac');
makeCorrelationMaterial(source, 60, { lowpassHz: 12000, glide: true });
/** ffmpeg decoding the source in real time, looped, into a named pipe */
function feed(fifo: string): ChildProcess {
  spawnSync('mkfifo', [fifo]);
  return owned(spawn('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-stream_loop', '-1', '-i', source, '-f', 's16le', '-ar', '48000', '-ac', '2', '-y', fifo], { stdio: 'ignore' }));
}

const ncPlayers = systems.includes('nearcast') ? ['box', ...Array.from({ length: nCompanions }, (_, i) => `nc${i + 1}`)] : [];
const snapPlayers = systems.includes('snapcast') ? Array.from({ length: nSnap }, (_, i) => `snap${i + 1}`) : [];
// the last listener of each system reaches its server through the delaying proxy
const proxied = new Set([ncPlayers.length > 1 ? ncPlayers[ncPlayers.length - 1] : '', snapPlayers[snapPlayers.length - 1] ?? ''].filter(Boolean));
const rig = await startPulseRig({ players: [...ncPlayers, ...snapPlayers], own: owned });
const rec = rig.record(monotonicUs);
const proxies: JitterProxy[] = [];
const companions = new Map<string, CompanionProcess>();
const snapclients: SnapClient[] = [];
const boxLog: string[] = [];
let boxProc: ChildProcess | undefined;
let probe: ScheduleProbe | undefined;
// the box speaker's playout counters, from its telemetry (published every second here)
let boxTelemetry: mqtt.MqttClient | undefined;
let boxSpeaker: TelemetryMessage['speaker'] = null;
/** the box engine's source underruns (its pipe source behind: silence in the stream itself, for every listener) */
let boxSourceUnderruns: number | null = null;

if (ncPlayers.length) {
  const fifo = path.join(dir, 'nearcast.fifo');
  feed(fifo);
  // the box rejects NEARCAST_* settings it does not know (NEARCAST_BENCH_RESULTS)
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARCAST_')));
  boxProc = owned(
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'firmware/main.ts',
        ...LOOPBACK_BOX_ARGS,
        '--policy',
        'open',
        '--no-keyboard',
        '--audio-device',
        ncDevice,
        '--source',
        `pipe:${fifo}`,
        '--codec',
        String(args.codec),
        '--state-dir',
        path.join(dir, 'state'),
      ],
      { cwd: ROOT, env: { ...rig.env('box', base), NEARCAST_MDNS__ENABLED: 'false', NEARCAST_TELEMETRY__INTERVALSECONDS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  const ports = await new Promise<{ mqtt: number; stream: number }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the box did not start within 30 s:\n${lastLines(boxLog)}`)), 30_000);
    readline.createInterface({ input: boxProc!.stderr! }).on('line', (l) => {
      boxLog.push(l);
      try {
        const j = JSON.parse(l);
        if (j.msg === 'box ready') {
          clearTimeout(t);
          resolve(j);
        }
      } catch {
        /* not a log line */
      }
    });
  });
  probe = await probeSchedule('127.0.0.1', ports.mqtt);
  boxTelemetry = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: 'device-sync-telemetry', protocolVersion: 4 });
  boxTelemetry.on('message', (_t, payload) => {
    try {
      const m = JSON.parse(payload.toString()) as TelemetryMessage;
      boxSpeaker = m.speaker;
      boxSourceUnderruns = m.stream.sourceUnderruns;
    } catch {
      /* not telemetry */
    }
  });
  await boxTelemetry.subscribeAsync('nearcast/+/telemetry');
  for (const p of ncPlayers.slice(1)) {
    const via: string[] = [];
    if (proxied.has(p)) {
      const proxy = await startJitterProxy({ targetPort: ports.stream, maxMs: args.jitter as number });
      proxies.push(proxy);
      via.push('--stream', `127.0.0.1:${proxy.port}`);
    }
    const c = runCompanion(['--box', `127.0.0.1:${ports.mqtt}`, 'join', '--device', ncDevice, '--json', '--name', p, ...via], rig.env(p));
    owned(c.proc);
    companions.set(p, c);
  }
}
let snapserver: Awaited<ReturnType<typeof startSnapserver>> | undefined;
if (snapPlayers.length) {
  const fifo = path.join(dir, 'snapcast.fifo');
  feed(fifo);
  snapserver = await startSnapserver(dir, fifo, { bufferMs: 400 });
  owned(snapserver.proc);
  for (const p of snapPlayers) {
    let port = snapserver.port;
    if (proxied.has(p)) {
      const proxy = await startJitterProxy({ targetPort: port, maxMs: args.jitter as number });
      proxies.push(proxy);
      port = proxy.port;
    }
    // at the nice value the companions and the box ask for by default (`--priority`, `audio.priority`)
    const c = startSnapclient(p, port, 'pulse', rig.env(p), PLAYER_NICE);
    owned(c.proc);
    snapclients.push(c);
  }
}

// every player audible (bounded: a player that never plays is reported, not waited for)
const players = rig.players;
const audibleBy = Date.now() + 60_000;
let silentPlayers: string[] = players;
while (Date.now() < audibleBy) {
  const lv = rec.levels(300);
  silentPlayers = players.filter((_, i) => itemAt(lv, i, 'channel levels') < 0.003);
  if (silentPlayers.length === 0) break;
  await sleep(250);
}
if (silentPlayers.length) {
  process.stderr.write(`device-sync: not audible after 60 s: ${silentPlayers.join(', ')}\n`);
  for (const p of silentPlayers) {
    const log = p === 'box' ? boxLog : (companions.get(p)?.stderr ?? snapclients.find((s) => s.name === p)?.log ?? []);
    process.stderr.write(`--- ${p}:\n${lastLines(log)}\n`);
  }
}

// the measured run: quiet, then a CPU hog on one core from --hog-from of the way
const counters = (c: CompanionProcess) => c.status().at(-1) ?? {};
/** every player's counters now: the companions' last status line, the box speaker's last telemetry */
const allCounters = () =>
  new Map<string, Record<string, unknown>>([
    ...[...companions].map(([p, c]): [string, Record<string, unknown>] => [p, counters(c)]),
    ...(boxSpeaker ? [['box', { ...boxSpeaker, sourceUnderruns: boxSourceUnderruns }] as [string, Record<string, unknown>]] : []),
  ]);
const startCounters = allCounters();
const startUs = monotonicUs();
const hogAtUs = startUs + durationS * 1e6 * (args.hogFrom as number);
const endUs = startUs + durationS * 1e6;
let hog: ChildProcess | undefined;
process.stderr.write(`device-sync: all playing; measuring ${durationS} s (CPU hog from ${((hogAtUs - startUs) / 1e6).toFixed(0)} s)\n`);
while (monotonicUs() < endUs) {
  if (!hog && (args.hogFrom as number) < 1 && monotonicUs() >= hogAtUs) {
    hog = busyLoop();
  }
  await sleep(Math.min(1000, Math.max(1, (Math.min(endUs, hog ? endUs : hogAtUs) - monotonicUs()) / 1000)));
}
const hogStopUs = monotonicUs();
const endCounters = allCounters();
const snapLate = new Map(snapclients.map((s) => [s.name, s.lateChunkLines]));
await rec.stop();
if (hog) await stop(hog, 'SIGKILL');

await probe?.stop();
await boxTelemetry?.endAsync();
await Promise.all([...companions.values()].map((c) => c.interrupt()));
await Promise.all(snapclients.map((s) => stop(s.proc, 'SIGTERM')));
if (boxProc) await stop(boxProc);
if (snapserver) await stop(snapserver.proc, 'SIGTERM');
for (const p of proxies) await p.close();
for (const c of live()) await stop(c, 'SIGKILL');

// analysed with every player stopped: the recording is on disk, the CPU is the analysis's
const phases = [
  { name: 'quiet', fromUs: 0, toUs: hogAtUs },
  { name: 'cpu hog', fromUs: hogAtUs, toUs: hogStopUs + 1e6 },
];
const channelOf = (p: string) => players.indexOf(p);
const allPairs = (ps: string[]) => ps.flatMap((a, i) => ps.slice(i + 1).map((b) => [a, b] as [string, string]));
const opts = { windowMs: args.windowMs as number, maxLagMs: args.maxLagMs as number, phases, toFrame: Math.floor(rec.frameAt(hogStopUs)) };
const reports: Record<string, OffsetReport> = {};
if (ncPlayers.length) reports.nearcast = analyseOffsets(rec, ncPlayers, channelOf, allPairs(ncPlayers), opts);
if (snapPlayers.length) reports.snapclient = analyseOffsets(rec, snapPlayers, channelOf, allPairs(snapPlayers), opts);
// each nearcast player against the box clock's schedule (through the recorder's clock map)
const vsSchedule = probe
  ? analyseOffsets(
      rec,
      ncPlayers,
      channelOf,
      ncPlayers.map((p) => ['schedule', p] as [string, string]),
      { ...opts, references: { schedule: probe.reference(rec) } },
    )
  : undefined;
const recordedS = rec.frames() / 48000;
const clockSpreadMs = rec.clockSpreadUs() / 1000;

await rig.stop();

// ---- report
const kindOf = (a: string, b: string) =>
  `${a === 'box' || b === 'box' ? 'listener–box speaker' : 'listener–listener'}${proxied.has(a) || proxied.has(b) ? ' (one via proxy)' : ''}`;
const kinds = [...new Set(Object.values(reports).flatMap((r) => r.pairs.map((p) => kindOf(p.a, p.b))))].sort();
/** pools the windows of every pair of one kind in one phase */
const pooled = (sys: string, kind: string, phase: string): PhaseStats | undefined => {
  const r = reports[sys];
  const prs = r?.pairs.filter((p) => kindOf(p.a, p.b) === kind);
  if (!prs?.length) return undefined;
  const bound = phases.find((ph) => ph.name === phase)!;
  const inPhase = (t: number) => {
    const us = rec.timeOfFrame(t * 48000);
    return us >= bound.fromUs && us < bound.toUs;
  };
  const ws = prs.flatMap((p) => p.windows.filter(([t]) => inPhase(t)));
  const good = ws.filter(([, o]) => Number.isFinite(o)).map(([, o]) => o);
  return {
    ...summarize(good.map(Math.abs)),
    meanMs: good.length ? good.reduce((a, b) => a + b, 0) / good.length : NaN,
    silent: ws.filter(([, , rho]) => rho === 0).length,
    lowCorrelation: ws.filter(([, o, rho]) => !Number.isFinite(o) && rho > 0).length,
  };
};
const cell = (s: PhaseStats | undefined) => (s?.n ? `${s.p50.toFixed(3)} / ${s.p95.toFixed(3)} / ${s.max.toFixed(3)} (${s.n})` : '—');
const rejects = (s: PhaseStats | undefined) => (s ? `${s.lowCorrelation} / ${s.silent}` : '—');
const sideBySide = phases.flatMap((ph) =>
  kinds.map((k) => {
    const [n, s] = [pooled('nearcast', k, ph.name), pooled('snapclient', k, ph.name)];
    return [ph.name, k, cell(n), rejects(n), cell(s), rejects(s)];
  }),
);
console.log(`\n|offset| between players at the sink, ms: p50 / p95 / max (windows); ${recordedS.toFixed(0)} s recorded, ${opts.windowMs} ms windows\n`);
console.log(table(['condition', 'pair', 'nearcast', 'nc low-ρ / silent', 'snapclient', 'snap low-ρ / silent'], sideBySide));

const perPair = Object.entries(reports).flatMap(([sys, r]) =>
  r.pairs.flatMap((p) => Object.entries(p.byPhase).map(([ph, s]) => [sys, `${p.a}–${p.b}`, ph, s.n, s.p50, s.p95, s.max, s.meanMs, s.lowCorrelation, s.silent])),
);
console.log('\nper pair (mean: signed, second player later is positive)\n');
console.log(table(['system', 'pair', 'condition', 'windows', 'p50', 'p95', 'max', 'mean', 'low ρ', 'silent'], perPair));

if (vsSchedule) {
  console.log("\nnearcast players against the box clock's schedule, ms (signed mean: later is positive; includes the recorder clock map's error, see README)\n");
  console.log(
    table(
      ['player', 'condition', 'windows', 'mean', 'p50 |·|', 'p95 |·|', 'max |·|', 'low ρ'],
      vsSchedule.pairs.flatMap((p) => Object.entries(p.byPhase).map(([ph, st]) => [p.b, ph, st.n, st.meanMs, st.p50, st.p95, st.max, st.lowCorrelation])),
    ),
  );
}

interface PlayerRow {
  system: string;
  player: string;
  via: string;
  firstAudibleS: number | null;
  dropouts: number;
  dropoutMs: number;
  /** where each dropout began, s into the recording */
  dropoutsAtS: number[];
  resyncs: number | null;
  dropped: number | null;
  inserted: number | null;
  underruns: number | null;
  lateChunkLines: number | null;
}
const delta = (p: string, k: string) => {
  const a = endCounters.get(p)?.[k];
  const b = startCounters.get(p)?.[k];
  return typeof a === 'number' ? a - (typeof b === 'number' ? b : 0) : null;
};
const playerRows: PlayerRow[] = Object.entries(reports).flatMap(([sys, r]) =>
  Object.entries(r.dropouts).map(([p, dropout]) => ({
    system: sys,
    player: p,
    via: proxied.has(p) ? 'proxy' : p === 'box' ? 'box' : 'direct',
    firstAudibleS: r.firstAudible[p] === null ? null : r.firstAudible[p]! / 48000,
    dropouts: dropout.count,
    dropoutMs: dropout.ms,
    dropoutsAtS: dropout.atS,
    resyncs: delta(p, 'resyncs'),
    dropped: delta(p, 'droppedFrames'),
    inserted: delta(p, 'insertedFrames'),
    underruns: delta(p, 'underruns'),
    lateChunkLines: snapLate.has(p) ? snapLate.get(p)! : null,
  })),
);
console.log(
  `\nplayers: dropouts (zero runs ≥ 2 ms in the analysed region) and their own counters over the measured ${durationS} s (box speaker: from the box's telemetry, every second)\n`,
);
console.log(
  table(
    ['system', 'player', 'stream', 'first audible s', 'dropouts', 'dropout ms', 'dropouts at s', 'resyncs', 'dropped fr', 'inserted fr', 'underruns', 'snap late-chunk lines'],
    playerRows.map((r) => [
      r.system,
      r.player,
      r.via,
      r.firstAudibleS ?? 'never',
      r.dropouts,
      r.dropoutMs,
      r.dropoutsAtS.slice(0, 8).join(' ') + (r.dropoutsAtS.length > 8 ? ' …' : ''),
      r.resyncs ?? '—',
      r.dropped ?? '—',
      r.inserted ?? '—',
      r.underruns ?? '—',
      r.lateChunkLines ?? '—',
    ]),
  ),
);

const sourceUnderruns = delta('box', 'sourceUnderruns');
if (sourceUnderruns !== null) {
  // silence the engine put into the stream is every listener's: the box speaker (PCM, exact zeros) shows it as a
  // dropout, an Opus companion as near-silence that is not exactly zero
  console.log(`\nthe box engine's source underruns over the measured run (its pipe source behind; silence in the stream itself): ${sourceUnderruns}`);
}
const targets = deviceSyncTargets(reports, playerRows, durationS, silentPlayers);
console.log('\ntargets (issue 11):\n');
console.log(
  table(
    ['figure', 'nearcast', 'snapclient', 'target', 'met'],
    targets.map((t) => [t.what, t.value, t.reference, t.target, t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED']),
  ),
);
const missed = targets.filter((t) => t.met === false);
console.log(missed.length ? `\nMISSED ${missed.length} of ${targets.length} targets: ${missed.map((t) => t.what).join('; ')}` : `\nall ${targets.length} targets met`);
console.log(
  `\nrecorder clock map: the recording gained ${clockSpreadMs.toFixed(2)} ms on the clock over the run (null-sink rewinds re-render what its monitor already had; the map follows them with a 0.5 s lower envelope), render block ${(rec.renderAheadUs() / 1000).toFixed(2)} ms. The schedule comparison and the phases use the map; offsets between channels do not.`,
);
// the per-window series go to their own compact file (a 300 s run has thousands of windows)
const withoutWindows = (r: OffsetReport | undefined) => (r ? { ...r, pairs: r.pairs.map(({ windows: _, ...rest }) => rest) } : null);
const series = Object.fromEntries(
  Object.entries({ ...reports, schedule: vsSchedule })
    .filter(([, r]) => r)
    .map(([sys, r]) => [sys, Object.fromEntries(r!.pairs.map((p) => [`${p.a}|${p.b}`, p.windows]))]),
);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(
  path.join(RESULTS_DIR, 'device-sync-windows.json'),
  JSON.stringify({ columns: ['seconds into the recording', 'offset ms (null: rejected)', 'peak correlation (0: silent)'], series }) + '\n',
);
const file = writeResult('device-sync', {
  method: METHOD,
  limits: LIMITS,
  durationS,
  recordedS,
  codec: args.codec,
  device: ncDevice,
  jitterMs: args.jitter,
  windowMs: opts.windowMs,
  maxLagMs: opts.maxLagMs,
  phases: phases.map((p) => ({ name: p.name, fromS: Math.max(0, (p.fromUs - startUs) / 1e6), toS: (p.toUs - startUs) / 1e6 })),
  proxied: [...proxied],
  notAudible: silentPlayers,
  boxSourceUnderruns: sourceUnderruns,
  clockSpreadMs,
  clockBucketsUs: rec.clockBuckets(),
  renderAheadUs: rec.renderAheadUs(),
  sideBySide: phases.map((ph) => ({
    condition: ph.name,
    kinds: kinds.map((k) => ({ pair: k, nearcast: pooled('nearcast', k, ph.name) ?? null, snapclient: pooled('snapclient', k, ph.name) ?? null })),
  })),
  players: playerRows,
  targets,
  reports: Object.fromEntries(Object.entries(reports).map(([k, r]) => [k, withoutWindows(r)])),
  vsSchedule: withoutWindows(vsSchedule),
  windowsFile: 'device-sync-windows.json',
});
console.log(`results: ${file}`);
process.exit(0);
