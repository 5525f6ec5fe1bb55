// A box whose live input is a PulseAudio null sink of its own: what `paplay` plays into
// `nc_input` is captured by the box (`capture:pulse` on that sink's monitor), and the box
// speaker and a companion play into the rig's `box` and `nc1` channels. Both null sinks run
// on the system clock and each monitor is recorded with its clock map (test/bench/lib), so
// `expected` — the input as it should come out, each sample `latencyMs` after it entered the
// box — is the input's recording laid onto the players' through the two maps.
// Why not one recording (a channel of the rig, captured through a remap source, as before):
// a remap source of a monitor hands its audio on about 4 ms after the monitor has it and
// reports none of that as latency (measured with libpulse's raw timing, README "Live
// input"), so no capture through it can be on time; a null sink's monitor reports exactly.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { monotonicUs } from '../../firmware/util/time.ts';
import { makeCorrelationMaterial } from '../bench/lib/material.ts';
import { recordMonitor, startPulseRig, RIG_RATE, type MonitorRecorder, type PulseRig } from '../bench/lib/pulse-rig.ts';
import { runCompanion, startBox, type BoxProcess, type CompanionProcess } from './box-process.ts';

export interface LiveInputRig {
  rig: PulseRig;
  rec: MonitorRecorder;
  box: BoxProcess;
  /** a companion on `pulse` into the rig's `nc1` channel, PCM, printing --json status lines */
  join(): CompanionProcess;
  /** plays `seconds` of correlation material into the input (once) */
  feed(seconds: number): ChildProcess;
  /** RMS of the input, then of each player, over the last `ms` recorded */
  levels(ms?: number): number[];
  /** the input shifted by the latency: a reference channel for rig.offsets() */
  expected(from: number, count: number): Float64Array;
  stop(): Promise<void>;
}

export async function startLiveInputRig(dir: string, latencyMs: number): Promise<LiveInputRig> {
  const rig = await startPulseRig({ players: ['box', 'nc1'] });
  const rec = rig.record(monotonicUs);
  let box: BoxProcess;
  let inputRec: MonitorRecorder | undefined;
  try {
    execFileSync('pactl', ['load-module', 'module-null-sink', `sink_name=${INPUT_SINK}`, `rate=${RIG_RATE}`, 'channels=2'], { env: { ...process.env, PULSE_SERVER: rig.server } });
    inputRec = recordMonitor({
      server: rig.server,
      sink: INPUT_SINK,
      channelMap: ['front-left', 'front-right'],
      file: path.join(dir, 'input.raw'),
      clock: monotonicUs,
      latencyMs: INPUT_BLOCK_MS,
    });
    box = await startBox(
      ['--policy', 'open', '--source', 'capture:pulse', '--audio-device', 'pulse', '--latency', String(latencyMs), '--no-keyboard', '--state-dir', path.join(dir, 'state')],
      { PULSE_SERVER: rig.server, PULSE_SOURCE: `${INPUT_SINK}.monitor`, PULSE_SINK: rig.sinks.box, NEARCAST_LOUDNESS__ENABLED: 'false' },
    );
  } catch (e) {
    await inputRec?.stop().catch(() => undefined);
    await rig.stop();
    throw e;
  }
  let feeder: ChildProcess | null = null;
  return {
    rig,
    rec,
    box,
    join: () => runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'nc1', '--device', 'pulse', '--codec', 'pcm', '--json'], rig.env('nc1')),
    feed: (seconds) => {
      if (feeder) throw new Error('the input is fed once');
      const material = path.join(dir, 'material.wav');
      makeCorrelationMaterial(material, seconds);
      feeder = spawn('paplay', ['--device', INPUT_SINK, material], { env: { ...process.env, PULSE_SERVER: rig.server }, stdio: 'ignore' });
      return feeder;
    },
    levels: (ms) => [...inputRec.levels(ms).slice(0, 1), ...rec.levels(ms)],
    expected: (from, count) => {
      // the input frame that entered the box `latencyMs` before the players' frame `from` came out
      const first = Math.round(inputRec.frameAt(rec.timeOfFrame(from) - latencyMs * 1000));
      const skip = Math.min(count, Math.max(0, -first)); // before the input's recording began: silence
      const s = inputRec.read(first + skip, count - skip);
      const out = new Float64Array(count);
      for (let i = 0; i < count - skip && (i + 1) * inputRec.channels <= s.length; i++) out[skip + i] = s[i * inputRec.channels]! / 32768;
      return out;
    },
    stop: async () => {
      feeder?.kill('SIGKILL');
      await rec.stop();
      await inputRec.stop();
      await box.stop();
      await rig.stop();
    },
  };
}

const INPUT_SINK = 'nc_input';
/**
 * The input sink's render block (its recorder's latency request sets it). A monitor hands out
 * each block when it is rendered, ahead of when the recording counts it as heard, so "when the
 * input entered the box" is uncertain by up to a block: with 5 ms blocks a capture on time sat
 * 1.9 ms early against the recording, with 2 ms blocks 0.6 ms, with 10 ms 3.1 ms.
 */
const INPUT_BLOCK_MS = 2;
