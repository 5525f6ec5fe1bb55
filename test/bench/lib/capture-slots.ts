// Reads a capture source as the engine does — the 20 ms slot from `t0`, asked for by its
// instant once it is an input delay old and its frames have been read (or 100 ms more) —
// and notes the instant at which each click (a sample beyond 3000, 50 ms after the last)
// is handed out. For judging live input against a recording (capture-report, the
// pulse-native-capture test).

import type { CaptureSource } from '../../../firmware/audio/sources/capture-source.ts';
import { monotonicUs } from '../../../firmware/util/time.ts';

const SLOT_US = 20_000;

export class SlotClicks {
  /** the instants (monotonic µs) the source said each click was captured at */
  readonly clicks: number[] = [];
  private slot = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly src: CaptureSource,
    readonly t0: number,
    private readonly rate: number,
  ) {}

  /** reads every slot that is due now (at most 25: a stalled caller catches up over several polls) */
  poll(): void {
    const src = this.src;
    const due = (at: number, now: number) =>
      at + src.inputDelayUs <= now && ((src.capturedUntilUs ?? Number.NEGATIVE_INFINITY) >= at + SLOT_US || at + src.inputDelayUs + 100_000 <= now);
    for (let n = 0; n < 25 && due(this.t0 + this.slot * SLOT_US, monotonicUs()); n++) {
      const at = this.t0 + this.slot++ * SLOT_US;
      const pcm = src.read(Math.round((SLOT_US * this.rate) / 1e6), at);
      for (let i = 0; i < pcm.length / 2; i++) {
        const t = at + (i * 1e6) / this.rate;
        if (Math.abs(pcm[2 * i]!) > 3000 && t - this.last > 50_000) {
          // i < frames read
          this.last = t;
          this.clicks.push(t);
        }
      }
    }
  }
}
