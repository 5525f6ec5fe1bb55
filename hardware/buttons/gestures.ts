// A button's raw level changes → gestures. Pure logic on injected timers (the
// global ones by default, faked in tests): debounce, click, double click, long press.
//
//   press ──debounce──▶ pressed ──longMs held──▶ 'long' (fires while still held)
//   release before longMs ──▶ wait doubleMs: another press+release → 'double', else 'click'

import type { Gesture } from './buttons.ts';

export interface GestureOptions {
  debounceMs?: number; // a level must hold this long to count (default 30)
  doubleMs?: number; // longest gap between the clicks of a double click (default 300)
  longMs?: number; // held this long is a long press (default 800)
}

export class GestureDetector {
  private readonly debounceMs: number;
  private readonly doubleMs: number;
  private readonly longMs: number;
  private raw = false;
  private stable = false;
  private debounce: NodeJS.Timeout | null = null;
  private longTimer: NodeJS.Timeout | null = null;
  private doubleTimer: NodeJS.Timeout | null = null;
  private clicks = 0; // releases waiting for the double-click window
  private longFired = false;

  constructor(
    private readonly emit: (g: Gesture) => void,
    opts: GestureOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 30;
    this.doubleMs = opts.doubleMs ?? 300;
    this.longMs = opts.longMs ?? 800;
  }

  /** A raw edge from the line: true = pressed. Bounces are fine. */
  input(pressed: boolean): void {
    this.raw = pressed;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      if (this.raw !== this.stable) {
        this.stable = this.raw;
        if (this.stable) this.onPress();
        else this.onRelease();
      }
    }, this.debounceMs);
  }

  private onPress(): void {
    if (this.doubleTimer) {
      clearTimeout(this.doubleTimer);
      this.doubleTimer = null;
    }
    this.longFired = false;
    this.longTimer = setTimeout(() => {
      this.longTimer = null;
      this.longFired = true;
      if (this.clicks > 0) this.emit('click'); // a click just before this hold was its own gesture
      this.clicks = 0;
      this.emit('long');
    }, this.longMs);
  }

  private onRelease(): void {
    if (this.longTimer) {
      clearTimeout(this.longTimer);
      this.longTimer = null;
    }
    if (this.longFired) {
      this.longFired = false;
      return;
    }
    this.clicks++;
    if (this.clicks === 2) {
      this.clicks = 0;
      this.emit('double');
      return;
    }
    this.doubleTimer = setTimeout(() => {
      this.doubleTimer = null;
      this.clicks = 0;
      this.emit('click');
    }, this.doubleMs);
  }

  /** Drops pending timers (the button is going away). */
  stop(): void {
    for (const t of [this.debounce, this.longTimer, this.doubleTimer]) if (t) clearTimeout(t);
    this.debounce = this.longTimer = this.doubleTimer = null;
  }
}
