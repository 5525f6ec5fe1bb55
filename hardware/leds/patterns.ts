// What the LEDs show, as pure data: the box state → a blink pattern per LED.
// A pattern is a repeating list of [on?, ms] steps; a single step is steady.

import type { LedName } from '../gpio/board.ts';

export type Pattern = ReadonlyArray<readonly [boolean, number]>;
export interface LedState {
  playing: boolean;
  shareOpen: boolean;
  pendingJoins: number;
  error: boolean;
}

export const PATTERNS = {
  off: [[false, 1000]],
  on: [[true, 1000]],
  slowBlink: [
    [true, 500],
    [false, 500],
  ], // share window open
  fastBlink: [
    [true, 120],
    [false, 120],
  ], // a join waits for the button
  doubleFlash: [
    [true, 100],
    [false, 100],
    [true, 100],
    [false, 700],
  ], // error
  breathe: [
    [true, 100],
    [false, 2900],
  ], // idle: alive, nothing playing
} as const satisfies Record<string, Pattern>;

export function ledPatterns(s: LedState): Record<LedName, Pattern> {
  const share = s.pendingJoins > 0 ? PATTERNS.fastBlink : s.shareOpen ? PATTERNS.slowBlink : PATTERNS.off;
  const status = s.error ? PATTERNS.doubleFlash : s.playing ? PATTERNS.on : PATTERNS.breathe;
  return { share, status };
}
