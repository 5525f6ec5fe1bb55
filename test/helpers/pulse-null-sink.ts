// A private PulseAudio server with a null sink: a clocked audio device without
// hardware. ALSA reaches it through the `pulse` PCM (libasound2-plugins) once
// PULSE_SERVER points at its socket; its monitor source records what was played.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArrivalEnvelope } from '../bench/lib/arrival-envelope.ts';

export interface PulseServer {
  /** value for PULSE_SERVER */
  server: string;
  sink: string;
  stop(): Promise<void>;
}

export async function startPulseNullSink(sink = 'nc_null'): Promise<PulseServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-pulse-'));
  const socket = path.join(dir, 'native');
  const proc: ChildProcess = spawn(
    'pulseaudio',
    [
      '-n',
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--use-pid-file=no',
      '-L',
      `module-null-sink sink_name=${sink} rate=48000 channels=2`,
      '-L',
      `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    ],
    {
      env: { ...process.env, HOME: dir, PULSE_RUNTIME_PATH: path.join(dir, 'runtime') },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const log: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const server = `unix:${socket}`;
  const deadline = Date.now() + 10_000;
  while (spawnSync('pactl', ['info'], { env: { ...process.env, PULSE_SERVER: server } }).status !== 0) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pulseaudio did not start:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    server,
    sink,
    stop: async () => {
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

export interface MonitorRecording {
  /** interleaved s16 stereo recorded from the sink's monitor */
  samples(): Int16Array;
  /** monotonic µs at which recorded frame `i` was captured (arrival time minus what followed it in the same read) */
  timeOfFrame(i: number): number;
  stop(): Promise<void>;
}

/**
 * Records the null sink's monitor with parec. Each read is timestamped on arrival and a
 * frame is placed by the earliest of the reads that follow it within half a second
 * (ArrivalEnvelope): an arrival that waited on a busy machine does not move it.
 */
export function recordMonitor(p: PulseServer, clock: () => number, latencyMs = 5): MonitorRecording {
  const proc = spawn('parec', ['-d', `${p.sink}.monitor`, '--raw', '--format=s16le', '--rate=48000', '--channels=2', `--latency-msec=${latencyMs}`], {
    env: { ...process.env, PULSE_SERVER: p.server },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const chunks: Buffer[] = [];
  const arrivals = new ArrivalEnvelope(48000);
  let bytes = 0;
  proc.stdout!.on('data', (b: Buffer) => {
    chunks.push(b);
    bytes += b.length;
    arrivals.add(Math.floor(bytes / 4), clock());
  });
  return {
    samples: () => {
      const b = Buffer.concat(chunks);
      return new Int16Array(b.buffer, b.byteOffset, Math.floor(b.length / 2));
    },
    timeOfFrame: (i) => (i < bytes / 4 ? arrivals.timeOf(i) : NaN),
    stop: async () => {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
