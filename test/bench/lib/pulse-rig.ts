// A private PulseAudio server as the clocked device for several players at once:
// one null sink with one channel per player (aux0, aux1, …), and for each player a
// mono remap sink onto its channel. A player reaches its own sink through ALSA's
// `pulse` PCM with PULSE_SERVER and PULSE_SINK in its environment (`env(player)`).
// Everything the players put out is mixed, sample-aligned, into the null sink, and
// parec records its monitor: one recording whose channels can be compared frame by
// frame (`offsets()` in ./device-offsets.ts).
//
// The server runs at 48 kHz (daemon.conf in its private HOME), so nothing between a
// player and the recording resamples; a stereo player is downmixed to its mono
// channel by the server (the same for every player).

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArrivalEnvelope } from './arrival-envelope.ts';
import { analyseOffsets, type OffsetOptions, type OffsetReport } from './device-offsets.ts';
import { RIG_RATE } from './xcorr.ts';

export { RIG_RATE };

export interface MonitorRecorder {
  file: string;
  channels: number;
  /** frames recorded so far */
  frames(): number;
  /** `count` frames from `from`, interleaved s16 (fewer at the end of the recording) */
  read(from: number, count: number): Int16Array;
  /**
   * Monotonic µs at which recorded frame `i` was played by the null sink, as its own
   * latency reports count it. The map is linear (the null sink runs on the system's
   * monotonic clock): t0 + i / rate + block, t0 the lower envelope of (arrival time of
   * a read − its last frame / rate) over all reads — when the sink rendered it — and
   * block the sink's configured latency, how far ahead it renders (median of samples
   * taken every 2 s); see README "device-sync" for what that leaves uncertain.
   */
  timeOfFrame(i: number): number;
  frameAt(timeUs: number): number;
  /** spread of the per-10 s lower envelopes, µs: grows when the recorder lost data or the clocks drift */
  clockSpreadUs(): number;
  /** the lower envelope of each 10 s of recording, µs relative to the overall one (diagnostics) */
  clockBuckets(): number[];
  /** the null sink's configured latency (its render block), µs: median of the samples so far */
  renderAheadUs(): number;
  /** RMS (full scale 1) of each channel over the last `ms` recorded */
  levels(ms?: number): number[];
  stop(): Promise<void>;
}

export interface PulseRig {
  /** value for PULSE_SERVER */
  server: string;
  /** player name → its sink */
  sinks: Record<string, string>;
  /** recording channel of each player, in order */
  players: string[];
  env(player: string, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** environment for a process capturing one of `inputs`: its channel of the null sink, as a PulseAudio source */
  captureEnv(player: string, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** starts recording the null sink's monitor (once) */
  record(clock: () => number): MonitorRecorder;
  /**
   * Offsets between recorded players (and `o.references`, e.g. the box schedule) for
   * each pair, from the recording so far; call after the recorder stopped (or while
   * it runs: it reads what is on disk).
   */
  offsets(pairs: Array<[string, string]>, o?: OffsetOptions): OffsetReport;
  log(): string;
  stop(): Promise<void>;
}

export interface PulseRigOptions {
  players: string[];
  /** parec's latency: also the null sink's render block (a monitor's latency request sets it) */
  recordLatencyMs?: number;
  /**
   * players whose channel is also a capture source (a mono remap of the monitor): what is
   * played into such a sink enters a capturing process at the instant it is recorded
   */
  inputs?: string[];
  /** called with the server's process as it starts: a bench's run scope kills it at exit (RunScope.owned) */
  own?: (c: ChildProcess) => unknown;
  /**
   * one player only: its sink is the recorded null sink itself (mono), no remap sink between. A
   * remap sink is a second client of the null sink that can run short on a starved machine: under a
   * second test suite clicks recorded through one moved 45 ms and back within 0.3 s while the
   * player's own stream, by the server's count, ran on within 0.05 ms
   */
  direct?: boolean;
}

const SINK_NAME = /^[a-z][a-z0-9_]{0,30}$/;

export async function startPulseRig(o: PulseRigOptions): Promise<PulseRig> {
  if (o.players.length < 1 || o.players.length > 32) throw new Error(`startPulseRig: 1 to 32 players (one null-sink channel each), got ${o.players.length}`);
  for (const p of o.players) if (!SINK_NAME.test(p)) throw new Error(`startPulseRig: player name '${p}' must be lower-case letters, digits, _ (it names a sink)`);
  if (new Set(o.players).size !== o.players.length) throw new Error('startPulseRig: player names must be distinct');
  for (const p of o.inputs ?? []) if (!o.players.includes(p)) throw new Error(`startPulseRig: input '${p}' is not one of the players (${o.players.join(', ')})`);
  if (o.direct && (o.players.length !== 1 || o.inputs?.length)) throw new Error('startPulseRig: direct is for one player without inputs');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-pulse-rig-'));
  mkdirSync(path.join(dir, '.config/pulse'), { recursive: true });
  // realtime scheduling as a desktop session gives its sound server (through rtkit): on a
  // busy machine a server at normal priority falls behind its own clock, and the
  // recording with it (granted when the process may; else it runs at normal priority)
  writeFileSync(
    path.join(dir, '.config/pulse/daemon.conf'),
    `default-sample-rate = ${RIG_RATE}\nalternate-sample-rate = ${RIG_RATE}\nhigh-priority = yes\nrealtime-scheduling = yes\nrealtime-priority = 9\n`,
  );
  const socket = path.join(dir, 'native');
  const recorded = o.direct ? `nc_${o.players[0]}` : 'nc_rec';
  const recordedMap = o.direct ? ['mono'] : o.players.map((_, i) => `aux${i}`);
  const modules = [
    `module-null-sink sink_name=${recorded} rate=${RIG_RATE} channels=${recordedMap.length} channel_map=${recordedMap.join(',')}`,
    `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    ...(o.direct ? [] : o.players.map((p, i) => `module-remap-sink sink_name=nc_${p} master=nc_rec channels=1 channel_map=mono master_channel_map=aux${i} remix=no`)),
    ...(o.inputs ?? []).map(
      (p) => `module-remap-source source_name=nc_in_${p} master=nc_rec.monitor channels=1 channel_map=mono master_channel_map=aux${o.players.indexOf(p)} remix=no`,
    ),
  ];
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, '.config'), PULSE_RUNTIME_PATH: path.join(dir, 'runtime') };
  const proc: ChildProcess = spawn('pulseaudio', ['-n', '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no', ...modules.flatMap((m) => ['-L', m])], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  o.own?.(proc);
  const log: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const server = `unix:${socket}`;
  const deadline = Date.now() + 15_000;
  const cleanup = () => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  for (;;) {
    const info = spawnSync('pactl', ['info'], { env: { ...process.env, PULSE_SERVER: server } });
    if (info.status === 0) {
      const spec = /Default Sample Specification: (.*)/.exec(info.stdout.toString())?.[1] ?? '';
      if (!spec.includes(`${RIG_RATE}Hz`)) {
        cleanup();
        throw new Error(`pulseaudio runs at '${spec}', not ${RIG_RATE} Hz`);
      }
      break;
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      cleanup();
      throw new Error(`pulseaudio did not start:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const sinks = Object.fromEntries(o.players.map((p) => [p, `nc_${p}`]));
  let recorder: MonitorRecorder | undefined;
  return {
    server,
    sinks,
    players: [...o.players],
    env: (player, base = process.env) => {
      if (!(player in sinks)) throw new Error(`no sink for player '${player}' (players: ${o.players.join(', ')})`);
      return { ...base, PULSE_SERVER: server, PULSE_SINK: sinks[player] };
    },
    captureEnv: (player, base = process.env) => {
      if (!o.inputs?.includes(player)) throw new Error(`no capture source for '${player}' (inputs: ${(o.inputs ?? []).join(', ') || 'none'})`);
      return { ...base, PULSE_SERVER: server, PULSE_SOURCE: `nc_in_${player}` };
    },
    record: (clock) =>
      (recorder ??= recordMonitor({
        server,
        sink: recorded,
        channelMap: recordedMap,
        file: path.join(dir, 'monitor.raw'),
        clock,
        latencyMs: o.recordLatencyMs ?? 5,
      })),
    offsets: (pairs, opts = {}) => {
      if (!recorder) throw new Error('offsets(): nothing recorded (call record() first)');
      const known = new Set([...o.players, ...Object.keys(opts.references ?? {})]);
      for (const n of pairs.flat()) if (!known.has(n)) throw new Error(`offsets(): '${n}' is neither a player nor a reference (${[...known].join(', ')})`);
      const involved = o.players.filter((p) => pairs.some((pr) => pr.includes(p)));
      return analyseOffsets(recorder, involved, (p) => o.players.indexOf(p), pairs, opts);
    },
    log: () => log.join(''),
    stop: async () => {
      await recorder?.stop();
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
        proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RecordOptions {
  /** the PulseAudio-protocol server (PULSE_SERVER): PulseAudio's own, or pipewire-pulse */
  server: string;
  /** the null sink whose monitor is recorded */
  sink: string;
  /** its channel map (parec records it as it is) */
  channelMap: string[];
  file: string;
  clock: () => number;
  latencyMs: number;
}

/**
 * Records a null sink's monitor with parec, with a clock map of the recording (see
 * MonitorRecorder.timeOfFrame); startPulseRig records its own sink through it, and
 * a PipeWire null sink (test/helpers/pipewire-null-sink.ts) is recorded the same way.
 */
export function recordMonitor(o: RecordOptions): MonitorRecorder {
  const { server, file, clock, latencyMs } = o;
  const channels = o.channelMap.length;
  const channelMap = o.channelMap.join(',');
  // the recorder is the instrument: at a higher priority than the players (nice −10 when
  // permitted; `nice` runs it at normal priority otherwise), so its reads arrive on time
  const proc = spawn(
    'nice',
    [
      '-n',
      '-10',
      'parec',
      '-d',
      `${o.sink}.monitor`,
      '--raw',
      '--format=s16le',
      `--rate=${RIG_RATE}`,
      `--channels=${channels}`,
      `--channel-map=${channelMap}`,
      `--latency-msec=${latencyMs}`,
    ],
    { env: { ...process.env, PULSE_SERVER: server }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = createWriteStream(file);
  const frameBytes = 2 * channels;
  let bytes = 0;
  const frameUs = 1e6 / RIG_RATE;
  // lower envelope of (arrival − end frame time), overall and per 10 s of recording; and
  // every read's, for the local envelope: a rewind of the null sink (a client seeking,
  // a stream starting) re-renders up to a block it already handed to the monitor, so
  // the recording gains frames against the clock and the envelope steps down for good
  let t0 = Infinity;
  const arrivals = new ArrivalEnvelope(RIG_RATE);
  const bucketMin = new Map<number, number>();
  const tail: Buffer[] = []; // the last second, for levels()
  let tailBytes = 0;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let stopping = false;
  proc.stdout!.on('data', (b: Buffer) => {
    if (stopping) return; // what parec still flushes after stop() is past the recording's end
    const at = clock();
    out.write(b);
    bytes += b.length;
    const end = Math.floor(bytes / frameBytes);
    const origin = arrivals.add(end, at);
    t0 = Math.min(t0, origin);
    const bucket = Math.floor(end / (10 * RIG_RATE));
    bucketMin.set(bucket, Math.min(bucketMin.get(bucket) ?? Infinity, origin));
    tail.push(b);
    tailBytes += b.length;
    while (tail[0] && tailBytes - tail[0].length > RIG_RATE * frameBytes) tailBytes -= tail.shift()!.length;
  });
  // 'close', not 'exit': parec's last reads can still be on their way after it exited
  const exited = new Promise<void>((r) => proc.once('close', () => r()));
  // the null sink renders `configured latency` ahead of what it counts as played
  const configured: number[] = [];
  const sampleLatency = () =>
    execFile('pactl', ['list', 'sinks'], { env: { ...process.env, PULSE_SERVER: server } }, (err, out) => {
      const m = err ? null : new RegExp(`Name: ${o.sink}\\n[\\s\\S]*?Latency: \\d+ usec, configured (\\d+) usec`).exec(out);
      if (m) configured.push(Number(m[1]));
    });
  const sampler = setInterval(sampleLatency, 2000);
  sampleLatency();
  const originAt = (i: number) => {
    const origin = arrivals.originAt(i);
    return Number.isFinite(origin) ? origin : t0;
  };
  const renderAhead = () => {
    const s = [...configured].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? 0; // 0 until a latency has been read
  };
  let fd: number | undefined;
  return {
    file,
    channels,
    frames: () => Math.floor(bytes / frameBytes),
    read: (from, count) => {
      fd ??= openSync(file, 'r');
      const buf = Buffer.alloc(count * frameBytes);
      const got = readSync(fd, buf, 0, buf.length, from * frameBytes);
      return new Int16Array(buf.buffer, buf.byteOffset, Math.floor(got / frameBytes) * channels);
    },
    timeOfFrame: (i) => originAt(i) + i * frameUs + renderAhead(),
    frameAt: (timeUs) => {
      // the map is monotonic: invert by bisection on frames
      let lo = 0;
      let hi = Math.max(1, Math.floor(bytes / frameBytes)) * 2;
      for (let k = 0; k < 60 && hi - lo > 0.01; k++) {
        const mid = (lo + hi) / 2;
        if (originAt(mid) + mid * frameUs + renderAhead() < timeUs) lo = mid;
        else hi = mid;
      }
      return (lo + hi) / 2;
    },
    renderAheadUs: renderAhead,
    clockSpreadUs: () => {
      const mins = [...bucketMin.values()];
      return mins.length ? Math.max(...mins) - Math.min(...mins) : NaN;
    },
    clockBuckets: () => [...bucketMin.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => Math.round(v - t0)),
    levels: (ms = 500) => {
      const b = Buffer.concat(tail);
      const frames = Math.min(Math.floor(b.length / frameBytes), Math.round((ms * RIG_RATE) / 1000));
      const s = new Int16Array(b.buffer, b.byteOffset + b.length - frames * frameBytes, frames * channels);
      return Array.from({ length: channels }, (_, c) => {
        let e = 0;
        for (let i = c; i < s.length; i += channels) e += s[i]! * s[i]!;
        return frames ? Math.sqrt(e / frames) / 32768 : 0;
      });
    },
    stop: async () => {
      clearInterval(sampler);
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      stopping = true;
      await new Promise<void>((r) => out.end(() => r()));
      if (fd !== undefined) {
        closeSync(fd);
        fd = undefined;
      }
      if (bytes === 0 && stderr) throw new Error(`parec recorded nothing: ${stderr}`);
    },
  };
}
