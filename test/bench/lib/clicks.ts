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

/** Writes `seconds` of a click train, raw s16le stereo 48 kHz: a 3-frame click at 20000 every `every` frames, silence between. */
export function writeClickTrain(file: string, seconds: number, every: number, rate = 48000): void {
  const frames = Math.round(rate * seconds);
  const train = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) if (i % every < 3) train.writeInt32LE((20000 << 16) | 20000, i * 4); // both channels
  writeFileSync(file, train);
}
