// Clicks in a recording: where each starts, to the frame. The click benches play a short
// loud click at a fixed period into silence, so a click's first sample beyond a threshold
// marks it exactly, with no correlation window to blur it.

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
