// Plays LED patterns on output lines (any GpioBackend, or the simulated twin's log),
// restarting a pattern only when it changes.

import type { LedName } from '../gpio/board.ts';
import type { Pattern } from './patterns.ts';

export type LedOutput = (led: LedName, on: boolean) => void;

export class LedDriver {
  private running = new Map<LedName, { pattern: Pattern; timer: NodeJS.Timeout | null }>();

  constructor(private readonly out: LedOutput) {}

  show(patterns: Partial<Record<LedName, Pattern>>): void {
    for (const [led, pattern] of Object.entries(patterns) as Array<[LedName, Pattern]>) {
      const cur = this.running.get(led);
      if (cur && cur.pattern === pattern) continue;
      if (cur?.timer) clearTimeout(cur.timer);
      const slot = { pattern, timer: null as NodeJS.Timeout | null };
      this.running.set(led, slot);
      const step = (i: number) => {
        const stepAt = pattern[i];
        if (!stepAt) return; // an empty pattern: nothing to show
        const [on, ms] = stepAt;
        this.out(led, on);
        if (pattern.length > 1) slot.timer = setTimeout(() => step((i + 1) % pattern.length), ms);
      };
      step(0);
    }
  }

  stop(): void {
    for (const [led, s] of this.running) {
      if (s.timer) clearTimeout(s.timer);
      this.out(led, false);
    }
    this.running.clear();
  }
}
