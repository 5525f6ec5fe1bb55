// The share window opened by the share button: while open, joins under policy
// `button` are accepted at once. It closes by itself.

import { EventEmitter } from 'node:events';
import { monotonicMs } from '../util/time.ts';

export class ShareWindow extends EventEmitter {
  private closesAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private defaultSeconds: number,
    private now: () => number = monotonicMs,
  ) {
    super();
  }

  open(seconds = this.defaultSeconds): void {
    this.closesAt = this.now() + seconds * 1000;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close(), seconds * 1000);
    this.timer.unref?.();
    this.emit('change', this.snapshot());
  }

  close(): void {
    // the timer fires at closesAt, when isOpen already reads false: the timer's
    // presence says the window was open
    const wasOpen = this.timer !== null || this.isOpen;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closesAt = 0;
    if (wasOpen) this.emit('change', this.snapshot());
  }

  get isOpen(): boolean {
    return this.closesAt > this.now();
  }

  get remainingMs(): number {
    return Math.max(0, this.closesAt - this.now());
  }

  snapshot(): { open: boolean; remainingMs: number } {
    return { open: this.isOpen, remainingMs: this.remainingMs };
  }
}
