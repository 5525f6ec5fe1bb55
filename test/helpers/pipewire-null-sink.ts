// A private PipeWire sound server with a null sink: the same clocked device
// without hardware as pulse-null-sink.ts, but on the sound server that current
// desktops and Raspberry Pi OS ship. Four processes, all confined to a temp
// directory (runtime sockets, config, state, home) and stopped together:
//   dbus-daemon     a private session bus: WirePlumber exits without one
//   pipewire        the graph; a drop-in config adds the null sink, clocked by
//                   PipeWire's timer-driven dummy driver
//   pipewire-pulse  the PulseAudio protocol: ALSA's `pulse` PCM (libasound2-plugins)
//                   and parec reach PipeWire through it once PULSE_SERVER is set
//   wireplumber     the session manager: without it no stream is linked to the sink
// WirePlumber's device monitors are switched off, so a machine with a real sound
// card or Bluetooth still gets only the null sink (and nothing of it is touched).
// PipeWire's own ALSA PCM (package pipewire-alsa) is reached through a private ALSA
// config (./pipewire-alsa.ts): Debian's package conflicts with pulseaudio and makes
// itself the system-wide ALSA default, so only its plugin is unpacked.
// Through the pulse PCM the delay is libpulse's interpolation of pipewire-pulse's
// timing reports: smooth between updates, but its slope is off by up to a few
// percent at first (about 0.1 % after ~15 s) and it steps by up to tens of ms at
// each update (every 1.5 s). The audio itself leaves the null sink at exactly 48 kHz.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PulseServer } from './pulse-null-sink.ts';

const BINARIES = ['pipewire', 'pipewire-pulse', 'wireplumber', 'dbus-daemon', 'pactl', 'pw-metadata'];
const START_TIMEOUT_MS = 15_000;

export interface PipewireServer extends PulseServer {
  /** environment for a player or recorder process: the pulse socket and PipeWire's own socket */
  env: Record<string, string>;
}

/** Why startPipewireNullSink() cannot run here (binaries missing), or null when it can. */
export function pipewireMissing(): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const missing = BINARIES.filter((b) => !dirs.some((d) => existsSync(path.join(d, b))));
  return missing.length ? `not installed: ${missing.join(', ')} (Debian: pipewire pipewire-pulse wireplumber dbus-daemon pulseaudio-utils)` : null;
}

function nullSinkConf(sink: string, quantum?: number): string {
  // One fixed rate: the player's 48 kHz stream then reaches the sink without resampling.
  // A fixed quantum (the graph's cycle): no client's latency request changes it, so no
  // stream's latency moves while it plays.
  const fixed = quantum === undefined ? '' : ` default.clock.quantum = ${quantum} default.clock.min-quantum = ${quantum} default.clock.max-quantum = ${quantum}`;
  return `context.properties = { default.clock.rate = 48000 default.clock.allowed-rates = [ 48000 ]${fixed} }
context.objects = [
  { factory = adapter
    args = {
      factory.name     = support.null-audio-sink
      node.name        = ${sink}
      node.description = "${sink} (null sink)"
      media.class      = Audio/Sink
      audio.position   = [ FL FR ]
      audio.rate       = 48000
      priority.session = 2000
      object.linger    = true
      monitor.channel-volumes = true
    }
  }
]
`;
}

const NO_DEVICE_MONITORS = 'alsa_monitor.enabled = false\nv4l2_monitor.enabled = false\nlibcamera_monitor.enabled = false\n';

function writeConfig(dir: string, sink: string, quantum?: number): void {
  const conf = path.join(dir, 'config');
  mkdirSync(path.join(conf, 'pipewire', 'pipewire.conf.d'), { recursive: true });
  writeFileSync(path.join(conf, 'pipewire', 'pipewire.conf.d', '50-null-sink.conf'), nullSinkConf(sink, quantum));
  mkdirSync(path.join(conf, 'wireplumber', 'main.lua.d'), { recursive: true });
  writeFileSync(path.join(conf, 'wireplumber', 'main.lua.d', '51-no-devices.lua'), NO_DEVICE_MONITORS);
  mkdirSync(path.join(conf, 'wireplumber', 'bluetooth.lua.d'), { recursive: true });
  writeFileSync(path.join(conf, 'wireplumber', 'bluetooth.lua.d', '51-no-bluetooth.lua'), 'bluez_monitor.enabled = false\n');
  for (const d of ['runtime', 'state', 'home']) mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
}

async function until(what: string, ok: () => boolean, procs: Map<string, ChildProcess>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!ok()) {
    const dead = [...procs].find(([, p]) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`${dead[0]} exited (${dead[1].exitCode ?? dead[1].signalCode}) while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopAll(procs: Map<string, ChildProcess>): Promise<void> {
  // reverse start order: clients first, the bus last
  for (const proc of [...procs.values()].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

export interface PipewireOptions {
  /** the graph's quantum in frames, fixed (default: PipeWire's own, which follows the latencies its clients ask) */
  quantum?: number;
}

export async function startPipewireNullSink(sink = 'nc_null', o: PipewireOptions = {}): Promise<PipewireServer> {
  if (o.quantum !== undefined && !(Number.isInteger(o.quantum) && o.quantum >= 32 && o.quantum <= 8192))
    throw new Error(`startPipewireNullSink: quantum 32…8192 frames, got ${o.quantum}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-pipewire-'));
  writeConfig(dir, sink, o.quantum);
  const runtime = path.join(dir, 'runtime');
  const bus = `unix:path=${path.join(runtime, 'bus')}`;
  const pulseSocket = path.join(runtime, 'pulse', 'native');
  const server = `unix:${pulseSocket}`;
  const playerEnv = { PULSE_SERVER: server, PIPEWIRE_RUNTIME_DIR: runtime, PIPEWIRE_REMOTE: 'pipewire-0' };
  const daemonEnv: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: path.join(dir, 'home'),
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_STATE_HOME: path.join(dir, 'state'),
    DBUS_SESSION_BUS_ADDRESS: bus,
  };
  for (const k of ['PULSE_SERVER', 'PIPEWIRE_REMOTE', 'PIPEWIRE_RUNTIME_DIR', 'DISPLAY', 'WAYLAND_DISPLAY', 'PIPEWIRE_CONFIG_DIR']) delete daemonEnv[k];
  const clientEnv = { ...process.env, ...playerEnv };

  const procs = new Map<string, ChildProcess>();
  const log: string[] = [];
  const start = (name: string, args: string[]): void => {
    const proc = spawn(name, args, { env: daemonEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) =>
      log.push(
        ...d
          .toString()
          .trimEnd()
          .split('\n')
          .map((l) => `${name}: ${l}`),
      );
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    proc.on('error', (e) => log.push(`${name}: ${e.message}`));
    procs.set(name, proc);
  };
  const succeeds = (cmd: string, args: string[], expect: string) => {
    const r = spawnSync(cmd, args, { env: cmd === 'pactl' ? clientEnv : daemonEnv, encoding: 'utf8', timeout: 5000 });
    return r.status === 0 && r.stdout.includes(expect);
  };
  try {
    start('dbus-daemon', ['--session', `--address=${bus}`, '--nofork', '--nopidfile', '--nosyslog']);
    await until('the session bus', () => existsSync(path.join(runtime, 'bus')), procs);
    start('pipewire', []);
    await until("PipeWire's socket", () => existsSync(path.join(runtime, 'pipewire-0')), procs);
    start('pipewire-pulse', []);
    start('wireplumber', []);
    // WirePlumber choosing the null sink as default proves it is linking streams.
    await until('WirePlumber to pick the null sink', () => succeeds('pw-metadata', ['-n', 'default', '0', 'default.audio.sink'], `"${sink}"`), procs);
    await until('pipewire-pulse', () => succeeds('pactl', ['info'], `Default Sink: ${sink}`), procs);
  } catch (err) {
    await stopAll(procs);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PipeWire null sink did not start: ${(err as Error).message}\n${log.join('\n')}`);
  }
  return {
    server,
    sink,
    env: playerEnv,
    stop: async () => {
      await stopAll(procs);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
