// Drives a PcmSink as a player does — 10 ms writes, about `queueMs` kept queued — and
// reads off the drain rate from what it reported: frames written minus delay is what
// the device played, which must grow at the nominal rate.

import type { PcmSink, SinkStatus } from '../../hardware/audio/pcm-sink.ts';

export interface QueuedRun {
  /** the status after each write */
  readings: SinkStatus[];
  /** frames per write */
  block: number;
}

export async function keepQueued(sink: PcmSink, writes: number, queueMs = 150): Promise<QueuedRun> {
  const rate = sink.format.sampleRate;
  const block = rate / 100;
  const readings: SinkStatus[] = [];
  for (let i = 0; i < writes; i++) {
    const st = await sink.write(new Int16Array(block * sink.format.channels));
    readings.push(st);
    const queuedMs = (st.delayFrames / rate) * 1000;
    if (queuedMs > queueMs) await new Promise((r) => setTimeout(r, Math.min(20, queuedMs - queueMs)));
  }
  return { readings, block };
}

/**
 * Frames played per second from reading `from` on, as the median slope over every pair of
 * readings at least a third of the run apart (Theil–Sen). A sound server whose reports move
 * by tens of ms from answer to answer, or that moves the stream's latency now and then
 * (PipeWire: ±30 ms, several times in 3 s under a second test suite), throws single stretches
 * off by percents; the median of the many long pairs is not moved by them.
 */
export function medianPlayedRate(run: QueuedRun, from: number): number {
  const played = run.readings.map((r, i) => ({ frames: (i + 1) * run.block - r.delayFrames, s: r.atUs / 1e6 }));
  const last = played.length - 1;
  const minApart = Math.max(1, Math.floor((last - from) / 3));
  const slopes: number[] = [];
  for (let i = from; i + minApart <= last; i++)
    for (let j = i + minApart; j <= last; j++) {
      const a = played[i]!;
      const b = played[j]!;
      if (b.s > a.s) slopes.push((b.frames - a.frames) / (b.s - a.s));
    }
  slopes.sort((x, y) => x - y);
  return slopes[Math.floor(slopes.length / 2)] ?? Number.NaN;
}

/** the delays reported, ms, every `every`th write: for failure messages */
export function delaysMs(run: QueuedRun, rate: number, every = 15): string {
  return run.readings
    .filter((_, i) => i % every === 0)
    .map((r) => ((r.delayFrames / rate) * 1000).toFixed(1))
    .join(' ');
}
