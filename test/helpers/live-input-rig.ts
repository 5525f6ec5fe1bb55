// A box whose live input is a PulseAudio rig's channel: what `paplay` plays into the rig's
// `input` sink is captured by the box (ALSA `pulse` PCM on that channel's monitor), and the
// box speaker and a companion play into the rig's `box` and `nc1` channels. One recording
// holds the input and both players on one clock; `expected` is the input as it should come
// out, each sample `latencyMs` after it was recorded entering the box (test/bench/lib).

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { makeCorrelationMaterial } from '../bench/lib/material.ts';
import { startPulseRig, RIG_RATE, type MonitorRecorder, type PulseRig } from '../bench/lib/pulse-rig.ts';
import { runCompanion, startBox, type BoxProcess, type CompanionProcess } from './box-process.ts';

export interface LiveInputRig {
  rig: PulseRig;
  rec: MonitorRecorder;
  box: BoxProcess;
  /** a companion on `pulse` into the rig's `nc1` channel, PCM, printing --json status lines */
  join(): CompanionProcess;
  /** plays `seconds` of correlation material into the input (once) */
  feed(seconds: number): ChildProcess;
  /** the input shifted by the latency: a reference channel for rig.offsets() */
  expected(from: number, count: number): Float64Array;
  stop(): Promise<void>;
}

export async function startLiveInputRig(dir: string, latencyMs: number): Promise<LiveInputRig> {
  const rig = await startPulseRig({ players: ['input', 'box', 'nc1'], inputs: ['input'] });
  const rec = rig.record(monotonicUs);
  let box: BoxProcess;
  try {
    box = await startBox(
      ['--policy', 'open', '--source', 'capture:pulse', '--audio-device', 'pulse', '--latency', String(latencyMs), '--no-keyboard', '--state-dir', path.join(dir, 'state')],
      { ...rig.captureEnv('input'), PULSE_SINK: rig.sinks.box, NEARCAST_LOUDNESS__ENABLED: 'false' },
    );
  } catch (e) {
    await rig.stop();
    throw e;
  }
  let feeder: ChildProcess | null = null;
  const input = rig.players.indexOf('input');
  const shift = Math.round((latencyMs * RIG_RATE) / 1000);
  return {
    rig,
    rec,
    box,
    join: () => runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'nc1', '--device', 'pulse', '--codec', 'pcm', '--json'], rig.env('nc1')),
    feed: (seconds) => {
      if (feeder) throw new Error('the input is fed once');
      const material = path.join(dir, 'material.wav');
      makeCorrelationMaterial(material, seconds);
      feeder = spawn('paplay', ['--device', rig.sinks.input!, material], { env: { ...process.env, PULSE_SERVER: rig.server }, stdio: 'ignore' });
      return feeder;
    },
    expected: (from, count) => {
      const s = rec.read(from - shift, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count && (i + 1) * rec.channels <= s.length; i++) out[i] = s[i * rec.channels + input]! / 32768;
      return out;
    },
    stop: async () => {
      feeder?.kill('SIGKILL');
      await rec.stop();
      await box.stop();
      await rig.stop();
    },
  };
}
