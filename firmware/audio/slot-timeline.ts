// When the engine produces its chunks: chunk n stands for the capture instant t0 + n·chunk
// (its playAt is that plus the latency), and is produced once that instant has come; a live
// input's slot comes later, when its frames have been captured and read (README "Live
// input"). The engine restarts the timeline at start and after a stall too long to catch up.

import type { PcmSource } from './types.ts';

/** a live input's slot needs its frames read this far past its end (the capture clock's correction window) */
const LIVE_READ_MARGIN_US = 1000;
/** while a live input's frames are not read yet, the engine looks again this often */
const LIVE_RECHECK_US = 3000;
/**
 * ...and, first finding them unread past its hold (the whole process was held up, its timers all due at once),
 * gives the read loop this long to catch up before the slot goes out with what there is
 */
const LIVE_CATCH_UP_US = 30_000;

export class SlotTimeline {
  private t0 = 0; // capture time of chunk n = t0 + n·chunkUs
  private n = 0;
  private unreadSlot = -1; // the slot whose live frames the engine last found unread, and since when
  private unreadSinceUs = 0;

  constructor(
    private readonly chunkUs: number,
    private readonly latencyMs: number,
  ) {}

  /** the capture instant of the next slot to produce (µs) */
  get slotUs(): number {
    return this.t0 + this.n * this.chunkUs;
  }

  /** (Re)starts the timeline: its next slot is the instant `nowUs`. */
  start(nowUs: number): void {
    this.t0 = nowUs;
    this.n = 0;
    this.unreadSlot = -1;
  }

  /** The slot was produced: the one after it is next. */
  next(): void {
    this.n++;
  }

  /**
   * When the next slot may be produced. A live input's slot comes `inputDelayUs` after its
   * instant, once its frames have been captured and read; frames not read by then (its read
   * loop fell behind a stalled event loop) are waited for, looking again every few
   * milliseconds, for a quarter of the stream latency; found unread only after that (the
   * whole process was held up, and its timers came due together), for LIVE_CATCH_UP_US
   * more, never past three quarters of the latency (README "Live input").
   */
  nextDueUs(now: number, source: PcmSource | undefined): number {
    const slot = this.t0 + this.n * this.chunkUs;
    const due = slot + (source?.inputDelayUs ?? 0);
    const readUntil = source?.capturedUntilUs;
    if (readUntil === undefined || readUntil >= slot + this.chunkUs + LIVE_READ_MARGIN_US) return due;
    if (this.unreadSlot !== this.n) {
      this.unreadSlot = this.n;
      this.unreadSinceUs = now;
    }
    const giveUpUs = Math.max(due + this.latencyMs * 250, Math.min(this.unreadSinceUs + LIVE_CATCH_UP_US, slot + this.latencyMs * 750));
    if (now >= giveUpUs) return due;
    return Math.max(due, Math.min(now + LIVE_RECHECK_US, giveUpUs));
  }
}
