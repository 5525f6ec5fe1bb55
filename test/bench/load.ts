// load — what the box costs per listener, side by side with Snapcast's snapserver.
//
// What: for 1, 10, 20, 50 and 100 listeners and each codec (Opus, PCM), the box
// process's CPU (user+sys seconds per second of audio) and RSS (at the end of the
// window, and its peak), the bytes each listener receives per second, and underruns.
// The same for snapserver 0.26 (Debian) with as many snapclients, same codec.
//
// Method: both servers read the same audio — a music-like FLAC track decoded by
// ffmpeg in real time (-re) into a snapfifo-style named pipe (nearcast:
// `--source pipe:`, snapserver: `pipe://…?mode=read`), 48 kHz/16-bit/stereo, 20 ms
// chunks, loopback only. nearcast runs as deployed: the esbuild bundle
// (firmware/build.ts) with its V8 flags and malloc setting, embedded broker on, no speaker, native
// libopus. Both servers are confined to one core (`taskset -c 0`, `--pin-cpu`), as
// on a small board where the clients do not share the server's core. One of the
// nearcast listeners is the `nearcast` CLI itself (its bundle, `join --device sim`),
// the others join over MQTT like real companions and play through the companion's
// Player on a virtual DAC (test/bench/lib/swarm.ts, 25 per process); snapclients run
// with their `file` player writing to null. The CLI's CPU is compared with the mean
// CPU of one snapclient. After every listener plays, 45 s of
// warm-up (past the companions' fast time-sync start-up; 2 s with --quick), then a window of `--duration` seconds: CPU from /proc/<pid>/stat, RSS
// from /proc/<pid>/status (VmRSS, VmHWM, and RssAnon: the private part, without the executable's file pages), and for both the bytes each listener's
// TCP connection carried in both directions (TCP payload: `ss -ti` bytes_acked +
// bytes_received on the server's stream port; IP/TCP headers not included).
//
// Limits: one 2-core machine: listeners and server share the CPU, so a server
// starved by 100 decoding clients shows up as listener underruns on both sides.
// snapclient does not report underruns at its default log level: for Snapcast
// the column counts log lines about missing or late chunks ("—" when none exist to
// count). nearcast's underruns are the Player's own count.
//
//   node --import tsx test/bench/load.ts [--counts 1,10,20,50,100] [--codecs opus,pcm] [--duration 20] [--warmup 45] [--quick] [--systems nearcast,snapcast] [--pin-cpu 0|none]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { BOX_ENV, BOX_NODE_FLAGS, buildBox, CLI_BUNDLE, ROOT } from '../../firmware/build.ts';
import { sleep } from '../../firmware/util/time.ts';
import { makeTestMusic } from '../helpers/test-music.ts';
import { LOOPBACK_BOX_ARGS, SERVING_BOX_ARGS } from '../helpers/box-process.ts';
import { machine, parseArgs, table, writeResult } from './lib/report.ts';
import { groupOf, itemAt } from '../../firmware/util/checked-index.ts';

const args = parseArgs(process.argv.slice(2), {
  counts: '1,10,20,50,100',
  codecs: 'opus,pcm',
  duration: 20,
  warmup: 45,
  quick: false,
  systems: 'nearcast,snapcast',
  'pin-cpu': '0',
});
const counts = (args.quick ? '1,10' : String(args.counts)).split(',').map(Number);
const codecs = String(args.codecs).split(',');
const windowS = args.quick ? 4 : (args.duration as number);
const systems = String(args.systems).split(',');
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) throw new Error(`--counts: whole numbers 1…200, got ${args.counts}`);
if (codecs.some((c) => c !== 'opus' && c !== 'pcm')) throw new Error(`--codecs: opus and/or pcm, got ${args.codecs}`);
if (systems.some((s) => s !== 'nearcast' && s !== 'snapcast')) throw new Error(`--systems: nearcast and/or snapcast, got ${args.systems}`);
const pinCpu = String(args['pin-cpu']);
if (pinCpu !== 'none' && !/^\d+$/.test(pinCpu)) throw new Error(`--pin-cpu: a CPU number or none, got ${pinCpu}`);
/** the server's command line, confined to one core when --pin-cpu says so */
const pinned = (cmd: string, argv: string[]): [string, string[]] => (pinCpu === 'none' ? [cmd, argv] : ['taskset', ['-c', pinCpu, cmd, ...argv]]);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;
const PER_SWARM = 25;
// measured in steady state: past a listener's time-sync start-up (fast exchanges for
// its first ~40 s, companion/client/stream-protocol.ts), which a short run includes
const WARMUP_S = args.quick ? 2 : (args.warmup as number);

interface Row {
  system: string;
  codec: string;
  listeners: number;
  cpuPerS: number;
  rssMB: number;
  peakMB: number;
  anonMB: number;
  kbpsPerListener: number;
  underruns: number | null;
  playing: number;
  /** one companion's CPU s/s: the nearcast CLI, or the mean snapclient */
  clientCpuPerS: number;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-load-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const track = itemAt(makeTestMusic(path.join(dir, 'music'), 30), 0, 'test music').file;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}
/** RSS, its peak, and the anonymous (private) part of it: the rest is file pages such as the executable's */
function memMB(pid: number): { rss: number; peak: number; anon: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024 };
}
/** TCP payload bytes each established connection on a server port has carried, both directions, by peer */
function connectionBytes(port: number): Map<string, number> {
  const out = spawnSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`]).stdout.toString();
  const bytes = new Map<string, number>();
  let peer = '';
  for (const line of out.split('\n')) {
    const addr = /^\S+\s+\S+\s+\S+\s+(\S+)/.exec(line);
    if (addr && !line.startsWith('\t')) {
      peer = groupOf(addr, 1);
      continue;
    }
    const sent = /bytes_acked:(\d+)/.exec(line);
    const recv = /bytes_received:(\d+)/.exec(line);
    if (peer && (sent || recv)) bytes.set(peer, Number(sent?.[1] ?? 0) + Number(recv?.[1] ?? 0));
  }
  return bytes;
}
/** mean bytes per second per connection between two connectionBytes() snapshots */
function rate(before: Map<string, number>, after: Map<string, number>, seconds: number): number {
  const d = [...after].filter(([p]) => before.has(p)).map(([p, b]) => b - before.get(p)!);
  return d.length ? d.reduce((a, b) => a + b, 0) / d.length / seconds : NaN;
}
function owned(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
async function stop(c: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill(signal);
  await Promise.race([done, sleep(5000).then(() => c.kill('SIGKILL'))]);
}
/** ffmpeg decoding the track in real time, for ever, into a named pipe */
function feed(fifo: string): ChildProcess {
  spawnSync('mkfifo', [fifo]);
  return owned(spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', track, '-f', 's16le', '-ar', '48000', '-ac', '2', '-y', fifo], { stdio: 'ignore' }));
}
function lines(stream: NodeJS.ReadableStream, on: (line: string) => void): void {
  readline.createInterface({ input: stream }).on('line', on);
}
function waitFor<T>(what: string, ms: number, start: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`load: ${what} within ${ms / 1000} s`)), ms);
    start((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/** the environment without our own NEARCAST_* settings (the box rejects unknown ones, e.g. NEARCAST_BENCH_RESULTS) */
function boxEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARCAST_')));
}

async function runNearcast(codec: string, n: number, bundle: string): Promise<Row> {
  const run = mkdtempSync(path.join(dir, 'nc-'));
  const feeder = feed(path.join(run, 'fifo'));
  const box = owned(
    spawn(
      ...pinned(process.execPath, [
        ...BOX_NODE_FLAGS,
        bundle,
        ...LOOPBACK_BOX_ARGS,
        ...SERVING_BOX_ARGS,
        '--source',
        `pipe:${path.join(run, 'fifo')}`,
        '--codec',
        codec,
        '--state-dir',
        path.join(run, 'state'),
      ]),
      {
        cwd: ROOT,
        env: {
          ...boxEnv(),
          ...BOX_ENV,
          NEARCAST_MDNS__ENABLED: 'false',
          NEARCAST_RATELIMIT__PERMINUTE: '600',
          // every bench listener connects from 127.0.0.1: lift the per-address bounds meant for strangers
          NEARCAST_LIMITS__CONNECTIONSPERADDRESS: '1000',
          NEARCAST_LIMITS__CONNECTIONS: '1000',
          NEARCAST_LIMITS__REQUESTSPERMINUTEPERADDRESS: '100000',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    ),
  );
  const log: string[] = [];
  const ports = await waitFor<{ mqtt: number; stream: number }>('the box did not start', 30_000, (ok) =>
    lines(box.stderr!, (l) => {
      log.push(l);
      try {
        const j = JSON.parse(l);
        if (j.msg === 'box ready') ok(j);
      } catch {
        /* not a log line */
      }
    }),
  ).catch((e: Error) => {
    throw new Error(`${e.message}:\n${log.slice(-10).join('\n')}`);
  });
  const mqttPort = ports.mqtt;
  // the box's pid (taskset execs node in place)
  const pid = box.pid!;
  // listener 1 is the CLI (its bundle, as installed); the others play in swarms
  const cli = owned(
    spawn(process.execPath, [CLI_BUNDLE, '--box', `127.0.0.1:${mqttPort}`, 'join', '--codec', codec, '--device', 'sim', '--json', '--name', 'cli'], {
      cwd: ROOT,
      env: boxEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  cli.stderr!.resume();
  let cliStatus: { state?: string; underruns?: number } = {};
  lines(cli.stdout!, (l) => {
    try {
      cliStatus = JSON.parse(l);
    } catch {
      /* not a status line */
    }
  });
  await waitFor('the CLI did not play', 60_000, (ok) => {
    const t = setInterval(() => {
      if (cliStatus.state === 'playing') {
        clearInterval(t);
        ok(undefined);
      }
    }, 100);
  });
  const swarms: ChildProcess[] = [];
  const queue = new Map<ChildProcess, Array<(j: Record<string, unknown>) => void>>();
  const next = (s: ChildProcess, cmd?: string) =>
    new Promise<Record<string, unknown>>((r) => {
      queue.get(s)!.push(r);
      if (cmd) s.stdin!.write(cmd + '\n');
    });
  // swarms one after another (each joins 5 at a time): a crowd arriving, not 100 connects at once
  for (let i = 1; i < n; i += PER_SWARM) {
    const s = owned(
      spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/bench/lib/swarm.ts'), String(mqttPort), String(Math.min(PER_SWARM, n - i)), codec, `L${i}-`], {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    swarms.push(s);
    queue.set(s, []);
    lines(s.stdout!, (l) => queue.get(s)!.shift()?.(JSON.parse(l)));
    await waitFor('listeners did not all play', 120_000, (ok) => void next(s).then(ok));
  }
  await sleep(WARMUP_S * 1000);
  await Promise.all(swarms.map((s) => next(s, 'mark')));
  const cliUnderruns0 = cliStatus.underruns ?? 0;
  const cliCpu0 = cpuSeconds(cli.pid!);
  const cpu0 = cpuSeconds(pid);
  const b0 = connectionBytes(ports.stream);
  const t0 = Date.now();
  await sleep(windowS * 1000);
  const cpu1 = cpuSeconds(pid);
  const cliCpu1 = cpuSeconds(cli.pid!);
  const b1 = connectionBytes(ports.stream);
  const elapsed = (Date.now() - t0) / 1000;
  const mem = memMB(pid);
  const got = await Promise.all(swarms.map((s) => next(s, 'report')));
  const listeners = got.flatMap((g) => g.listeners as Array<{ underruns: number }>);
  if (cliStatus.state === 'playing') listeners.push({ underruns: (cliStatus.underruns ?? 0) - cliUnderruns0 });
  await stop(cli);
  for (const s of swarms) s.stdin!.write('quit\n');
  await Promise.all(swarms.map((s) => stop(s, 'SIGTERM').catch(() => undefined)));
  await stop(box);
  await stop(feeder, 'SIGKILL');
  return {
    system: 'nearcast',
    codec,
    listeners: n,
    cpuPerS: (cpu1 - cpu0) / elapsed,
    clientCpuPerS: (cliCpu1 - cliCpu0) / elapsed,
    rssMB: mem.rss,
    peakMB: mem.peak,
    anonMB: mem.anon,
    kbpsPerListener: (rate(b0, b1, elapsed) * 8) / 1000,
    underruns: listeners.reduce((a, l) => a + l.underruns, 0),
    playing: listeners.length,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const LATE_CHUNK = /underrun|failed to get chunk|no chunks available|buffer.*(empty|too small)|xrun/i;

async function runSnapcast(codec: string, n: number): Promise<Row> {
  const run = mkdtempSync(path.join(dir, 'snap-'));
  const fifo = path.join(run, 'fifo');
  const feeder = feed(fifo);
  const port = await freePort();
  const conf = path.join(run, 'snapserver.conf');
  spawnSync('touch', [conf]);
  const server = owned(
    spawn(
      ...pinned('snapserver', [
        '-c',
        conf,
        `--server.datadir=${run}`,
        '--http.enabled=false',
        '--tcp.enabled=false',
        '--stream.bind_to_address=127.0.0.1',
        `--stream.port=${port}`,
        `--stream.source=pipe://${fifo}?name=default&mode=read`,
        `--stream.codec=${codec}`,
        '--stream.chunk_ms=20',
        '--stream.buffer=400',
        '--logging.sink=stderr',
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  server.stderr!.resume();
  await waitFor('snapserver did not listen', 10_000, (ok) => {
    const probe = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        ok(undefined);
      });
      c.once('error', () => setTimeout(probe, 100));
    };
    probe();
  });
  const clients: ChildProcess[] = [];
  let late = 0;
  for (let i = 0; i < n; i++) {
    const c = owned(
      spawn('snapclient', ['-h', '127.0.0.1', '-p', String(port), '--hostID', `bench-${i}`, '--player', 'file:filename=null', '--logsink', 'stderr'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    lines(c.stderr!, (l) => {
      if (LATE_CHUNK.test(l)) late++;
    });
    clients.push(c);
    if (i % 5 === 4) await sleep(100);
  }
  // every client playing: n connections, each carrying audio
  await waitFor('snapclients did not all play', 60_000, (ok) => {
    const check = async () => {
      const first = connectionBytes(port);
      await sleep(1000);
      const then = connectionBytes(port);
      if (then.size === n && [...then].every(([p, b]) => b - (first.get(p) ?? b) > 5_000)) ok(undefined);
      else void check();
    };
    void check();
  });
  await sleep(WARMUP_S * 1000);
  const late0 = late;
  const b0 = connectionBytes(port);
  const cpu0 = cpuSeconds(server.pid!);
  const clientsCpu0 = clients.map((c) => cpuSeconds(c.pid!));
  const t0 = Date.now();
  await sleep(windowS * 1000);
  const cpu1 = cpuSeconds(server.pid!);
  const clientsCpu = clients.map((c, i) => cpuSeconds(c.pid!) - clientsCpu0[i]!); // one start figure per client
  const b1 = connectionBytes(port);
  const elapsed = (Date.now() - t0) / 1000;
  const mem = memMB(server.pid!);
  const playing = clients.filter((c) => c.exitCode === null).length;
  await Promise.all(clients.map((c) => stop(c, 'SIGTERM')));
  await stop(server, 'SIGTERM');
  await stop(feeder, 'SIGKILL');
  return {
    system: 'snapserver',
    codec,
    listeners: n,
    cpuPerS: (cpu1 - cpu0) / elapsed,
    clientCpuPerS: clientsCpu.reduce((a, b) => a + b, 0) / clientsCpu.length / elapsed,
    rssMB: mem.rss,
    peakMB: mem.peak,
    anonMB: mem.anon,
    kbpsPerListener: (rate(b0, b1, elapsed) * 8) / 1000,
    underruns: late - late0,
    playing,
  };
}

function ensureSnapcast(): void {
  const missing = ['snapserver', 'snapclient'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length === 0) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  process.stderr.write(`load: installing ${missing.join(', ')} (apt-get)\n`);
  const r = spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`load: Snapcast is needed for the comparison: apt-get install ${missing.join(' ')} (as root), or run with --systems nearcast`);
}

if (systems.includes('snapcast')) ensureSnapcast();
const bundle = systems.includes('nearcast') ? await buildBox() : '';
const rows: Row[] = [];
/** a run that fails (listeners that never play on an overloaded machine) is a row saying so, not the end of the bench */
async function attempt(system: string, codec: string, n: number, run: () => Promise<Row>): Promise<Row> {
  try {
    return await run();
  } catch (e) {
    process.stderr.write(`load: ${system} ${codec} × ${n} failed: ${(e as Error).message}\n`);
    for (const c of [...children]) await stop(c, 'SIGKILL');
    return { system, codec, listeners: n, cpuPerS: NaN, rssMB: NaN, peakMB: NaN, anonMB: NaN, kbpsPerListener: NaN, underruns: null, playing: 0, clientCpuPerS: NaN };
  }
}
for (const codec of codecs) {
  for (const n of counts) {
    if (systems.includes('nearcast')) rows.push(await attempt('nearcast', codec, n, () => runNearcast(codec, n, bundle)));
    if (systems.includes('snapcast')) rows.push(await attempt('snapserver', codec, n, () => runSnapcast(codec, n)));
    process.stderr.write(`load: ${codec} × ${n} done\n`);
  }
}

const find = (system: string, codec: string, n: number) => rows.find((r) => r.system === system && r.codec === codec && r.listeners === n);
const ratio = (r: Row) => {
  const s = r.system === 'nearcast' ? find('snapserver', r.codec, r.listeners) : undefined;
  return s && s.cpuPerS > 0 ? r.cpuPerS / s.cpuPerS : NaN;
};
console.log(
  `\nload: server CPU, memory and bandwidth per listener; ${windowS} s windows; ${machine().cores} cores (${machine().cpu}); servers ${pinCpu === 'none' ? 'not pinned' : `pinned to CPU ${pinCpu}`}\n`,
);
console.log(
  table(
    [
      'server',
      'codec',
      'listeners',
      'playing',
      'CPU s/s',
      'CPU ms/s per listener',
      'RSS MB',
      'peak MB',
      'anon MB',
      'kb/s per listener',
      'underruns',
      'CPU nearcast/snapserver',
      'companion CPU s/s',
    ],
    rows.map((r) => [
      r.system,
      r.codec,
      r.listeners,
      r.playing,
      r.cpuPerS,
      (r.cpuPerS * 1000) / r.listeners,
      r.rssMB,
      r.peakMB,
      r.anonMB,
      r.kbpsPerListener,
      r.underruns ?? '—',
      r.system === 'nearcast' ? ratio(r) : '',
      r.clientCpuPerS,
    ]),
  ),
);

// targets (issue 18)
const nc = (codec: string, n: number) => find('nearcast', codec, n);
const targets: Array<{ what: string; value: number | null; target: string; met: boolean | null }> = [];
for (const r of rows.filter((x) => x.system === 'nearcast')) {
  const snap = find('snapserver', r.codec, r.listeners);
  targets.push({ what: `box CPU, ${r.codec}, ${r.listeners} listeners, / snapserver`, value: ratio(r), target: '≤ 1', met: snap ? r.cpuPerS <= snap.cpuPerS : null });
}
for (const codec of codecs) {
  // the companion's cost: the CLI against one snapclient, mean over the listener counts measured
  const mine = rows.filter((r) => r.system === 'nearcast' && r.codec === codec && Number.isFinite(r.clientCpuPerS));
  const theirs = rows.filter((r) => r.system === 'snapserver' && r.codec === codec && Number.isFinite(r.clientCpuPerS));
  const mean = (rs: Row[]) => rs.reduce((a, r) => a + r.clientCpuPerS, 0) / rs.length;
  if (mine.length && theirs.length)
    targets.push({
      what: `companion CPU, ${codec}: nearcast CLI / one snapclient (mean over counts)`,
      value: mean(mine) / mean(theirs),
      target: '≤ 1',
      met: mean(mine) <= mean(theirs),
    });
}
// the cost of one more listener: the CPU slope from the fewest to the most listeners measured
const slope = (system: string, codec: string) => {
  const rs = rows.filter((r) => r.system === system && r.codec === codec).sort((a, b) => a.listeners - b.listeners);
  const [lo, hi] = [rs[0], rs[rs.length - 1]];
  return lo && hi && hi.listeners > lo.listeners ? (hi.cpuPerS - lo.cpuPerS) / (hi.listeners - lo.listeners) : NaN;
};
for (const codec of codecs) {
  const [a, b] = [slope('nearcast', codec), slope('snapserver', codec)];
  if (Number.isFinite(a) && Number.isFinite(b))
    targets.push({ what: `CPU per added listener (${codec}, slope over the counts) / snapserver`, value: a / b, target: '≤ 1', met: a <= b });
}
for (const codec of codecs) {
  const r = nc(codec, 20);
  if (!r) continue;
  targets.push({ what: `box private memory (RssAnon), ${codec}, 20 listeners`, value: r.anonMB, target: '≤ 35 MB', met: r.anonMB <= 35 });
  targets.push({ what: `box RSS, ${codec}, 20 listeners`, value: r.rssMB, target: '≤ 70 MB', met: r.rssMB <= 70 });
}
for (const codec of codecs) {
  const r = nc(codec, 100);
  if (r)
    targets.push({
      what: `100 listeners without underruns (${codec}${pinCpu === 'none' ? '' : ', box on one core'})`,
      value: r.underruns,
      target: '0',
      met: r.underruns === 0 && r.playing === 100,
    });
}
const opusRows = rows.filter((r) => r.system === 'nearcast' && r.codec === 'opus');
if (opusRows.length) {
  const worst = Math.max(...opusRows.map((r) => r.kbpsPerListener));
  targets.push({ what: 'bytes per listener at Opus 128 kb/s', value: worst, target: '≤ 140 kb/s', met: worst <= 140 });
}
console.log('\ntargets:\n');
console.log(
  table(
    ['figure', 'value', 'target', 'met'],
    targets.map((t) => [t.what, t.value ?? '—', t.target, t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED']),
  ),
);
const file = writeResult('load', {
  method:
    'real box process (esbuild bundle, V8 flags ' +
    BOX_NODE_FLAGS.join(' ') +
    ') and snapserver 0.26 fed the same real-time PCM through a named pipe, both ' +
    (pinCpu === 'none' ? 'unpinned' : `pinned to CPU ${pinCpu} (taskset)`) +
    '; nearcast listeners = the CLI bundle (join --device sim) plus companion Players on virtual DACs joined over MQTT (25 per process); snapclients with the file player to null; companion CPU = the CLI vs the mean snapclient; CPU/RSS from /proc, bytes per connection (both directions, TCP payload) from ss -ti on the server port',
  limits: 'one machine, clients and servers share 2 cores; snapclient underruns are log lines about missing/late chunks at its default log level',
  windowSeconds: windowS,
  warmupSeconds: WARMUP_S,
  pinCpu,
  rows,
  targets,
});
console.log(`\nresults: ${file}`);
process.exit(0);
