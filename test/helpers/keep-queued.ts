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

/** frames played per second between reading `from` and reading `to` (default the last), by the device's own reports */
export function playedRate(run: QueuedRun, from: number, to = run.readings.length - 1): number {
  const a = run.readings[from]!;
  const b = run.readings[to]!;
  const playedA = (from + 1) * run.block - a.delayFrames;
  const playedB = (to + 1) * run.block - b.delayFrames;
  return (playedB - playedA) / ((b.atUs - a.atUs) / 1e6);
}

/**
 * The median of playedRate over `pieces` consecutive stretches from reading `from` on: a sound server
 * that moves the stream's latency once (PipeWire when its quantum changes) spoils one stretch, not the figure.
 */
export function medianPlayedRate(run: QueuedRun, from: number, pieces = 5): number {
  const step = Math.floor((run.readings.length - 1 - from) / pieces);
  const rates = Array.from({ length: pieces }, (_, i) => playedRate(run, from + i * step, from + (i + 1) * step)).sort((x, y) => x - y);
  return rates[Math.floor(pieces / 2)]!;
}

/** the delays reported, ms, every `every`th write: for failure messages */
export function delaysMs(run: QueuedRun, rate: number, every = 15): string {
  return run.readings
    .filter((_, i) => i % every === 0)
    .map((r) => ((r.delayFrames / rate) * 1000).toFixed(1))
    .join(' ');
}
