// Clicks in a recording: where each starts, to the frame. The click benches play a short
// loud click at a fixed period into silence, so a click's first sample beyond a threshold
// marks it exactly, with no correlation window to blur it.

import { writeFileSync } from 'node:fs';
import type { MonitorRecorder } from './pulse-rig.ts';

/** recording frames at which `channel` first exceeds `threshold` (full scale 32768), clicks at least `minGap` frames apart */
export function clickStarts(rec: MonitorRecorder, channel: number, threshold: number, minGap: number): number[] {
  return startsIn(
    (from, count) => {
      const d = rec.read(from, count);
      return Array.from({ length: d.length / rec.channels }, (_, i) => d[i * rec.channels + channel]!); // i < frames read
    },
    rec.frames(),
    threshold,
    minGap,
  );
}

/** the same for any signal read in blocks (`read(from, count)`, e.g. the schedule laid onto a recording) */
export function startsIn(read: (from: number, count: number) => ArrayLike<number>, frames: number, threshold: number, minGap: number): number[] {
  const out: number[] = [];
  const block = 480_000;
  let last = -Infinity;
  for (let from = 0; from < frames; from += block) {
    const s = read(from, Math.min(block, frames - from));
    for (let i = 0; i < s.length; i++) {
      if (Math.abs(s[i]!) > threshold && from + i - last > minGap) {
        last = from + i;
        out.push(last);
      }
    }
  }
  return out;
}

/** `frames` frames of a click train from frame `first` on, s16 interleaved: a 3-frame click at 20000 every `every` frames, silence between. */
export function clickBlock(first: number, frames: number, every: number, channels: number): Int16Array {
  const pcm = new Int16Array(frames * channels);
  for (let i = 0; i < frames; i++) if ((first + i) % every < 3) pcm.fill(20000, i * channels, (i + 1) * channels);
  return pcm;
}

/** Writes `seconds` of that click train, raw s16le stereo at `rate`. */
export function writeClickTrain(file: string, seconds: number, every: number, rate = 48000): void {
  const pcm = clickBlock(0, Math.round(rate * seconds), every, 2);
  writeFileSync(file, new Uint8Array(pcm.buffer));
}

/** Each click of `heard` with the nearest of `reference` (both sorted frame lists), when within `maxGap` frames: [heard, reference] pairs. */
export function matchClicks(heard: number[], reference: number[], maxGap: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let j = 0;
  for (const f of heard) {
    while (j + 1 < reference.length && Math.abs(reference[j + 1]! - f) <= Math.abs(reference[j]! - f)) j++; // j + 1 < length
    const g = reference[j];
    if (g !== undefined && Math.abs(g - f) < maxGap) out.push([f, g]);
  }
  return out;
}
