// The box clock's schedule, taken from the wire: a listener that joins like a
// companion (MQTT join, PCM codec) but plays nothing; it keeps every chunk's
// playAt and samples. On one machine the box clock is this process's monotonic
// clock (both CLOCK_MONOTONIC; firmware/util/time.ts), so a chunk's playAt is
// directly the local time its first sample should leave every DAC.
//
// `reference(rec)` lays that schedule onto a recording's frames through the
// recorder's clock map, as a virtual channel for analyseOffsets(): the offset of a
// recorded channel against it is that player's lateness against the box's
// schedule, plus the error of the clock map (see test/bench/README.md).

import { BoxClient } from '../../../companion/client/box-client.ts';
import { connectTcpStream, type TcpStream } from '../../../companion/client/tcp-stream.ts';
import { ClockSync } from '../../../firmware/wire/clock.ts';
import type { MonitorRecorder } from './pulse-rig.ts';

interface ScheduledChunk {
  playAt: number;
  mono: Int16Array;
}

export interface ScheduleProbe {
  chunks(): number;
  /** a function giving the schedule's samples (full scale 1) for recording frames [from, from + count) */
  reference(rec: MonitorRecorder): (from: number, count: number) => Float64Array;
  stop(): Promise<void>;
}

export async function probeSchedule(host: string, mqttPort: number, name = 'schedule-probe'): Promise<ScheduleProbe> {
  const client = await BoxClient.connect({ url: `mqtt://${host}:${mqttPort}` });
  const reply = await client.request<{ stream: { tcpPort: number; token: string }; codec: string }>('join', { name, codec: 'pcm' }, { timeoutMs: 10_000 });
  if (reply.status !== 'ok' || !reply.data) {
    await client.close();
    throw new Error(`schedule probe: join refused: ${reply.error}`);
  }
  if (reply.data.codec !== 'pcm') {
    await client.close();
    throw new Error(`schedule probe: the box streams ${reply.data.codec}, the probe needs pcm`);
  }
  const chunks: ScheduledChunk[] = [];
  let channels = 2;
  const stream: TcpStream = await connectTcpStream(host, reply.data.stream.tcpPort, reply.data.stream.token, name, new ClockSync(), {
    onCodecHeader: (h) => {
      channels = h.channels;
    },
    onAudio: (f) => {
      const pcm = new Int16Array(f.payload.buffer.slice(f.payload.byteOffset, f.payload.byteOffset + (f.payload.byteLength & ~1)));
      const frames = Math.floor(pcm.length / channels);
      const mono = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += pcm[i * channels + c]!; // i < frames = floor(pcm.length / channels)
        mono[i] = Math.round(sum / channels); // the rig's remap sinks downmix the same way
      }
      const last = chunks[chunks.length - 1];
      if (!last || f.playAt > last.playAt) chunks.push({ playAt: f.playAt, mono });
    },
  });
  return {
    chunks: () => chunks.length,
    reference: (rec) => {
      const starts = chunks.map((c) => Math.round(rec.frameAt(c.playAt)));
      return (from, count) => {
        const out = new Float64Array(count);
        // first chunk that may overlap: binary search on start frames
        let lo = 0;
        let hi = starts.length;
        // starts has one entry per chunk, so every index below (< chunks.length) is inside both
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (starts[mid]! + chunks[mid]!.mono.length <= from) lo = mid + 1;
          else hi = mid;
        }
        for (let k = lo; k < chunks.length && starts[k]! < from + count; k++) {
          const m = chunks[k]!.mono;
          const start = starts[k]!;
          for (let i = Math.max(0, from - start); i < m.length && start + i < from + count; i++) out[start + i - from] = m[i]! / 32768;
        }
        return out;
      };
    },
    stop: async () => {
      await client.request('leave', {}, { timeoutMs: 1500 }).catch(() => undefined);
      stream.close();
      await client.close().catch(() => undefined);
    },
  };
}
