// The LEDs show the box's state: playing, share window open, joins waiting, and a
// recent error (lit for 10 s after it). They follow the bus; the patterns are the
// hardware's (hardware/leds/patterns.ts).

import { LedDriver, type LedOutput } from '../../hardware/leds/led-driver.ts';
import { ledPatterns } from '../../hardware/leds/patterns.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import type { JoinManager } from '../domain/join-manager.ts';
import type { ShareWindow } from '../domain/share-window.ts';
import type { Extension } from './extension.ts';
import { monotonicMs } from '../util/time.ts';

const ERROR_SHOWN_MS = 10_000;

export interface LedsOptions {
  output: LedOutput;
  events: BoxEvents;
  playing(): boolean;
  shareWindow: Pick<ShareWindow, 'snapshot'>;
  joins: Pick<JoinManager, 'pending'>;
  now?: () => number;
}

export class Leds implements Extension {
  readonly name = 'leds';
  private readonly driver: LedDriver;
  private readonly update = () => this.show();
  private tick: NodeJS.Timeout | null = null;

  constructor(private readonly options: LedsOptions) {
    this.driver = new LedDriver(options.output);
  }

  start(): void {
    this.options.events.on('changed', this.update);
    this.options.events.on('error', this.update);
    this.tick = setInterval(this.update, 5000); // an error's light goes out by itself
    this.tick.unref();
    this.show();
  }

  private show(): void {
    const now = (this.options.now ?? monotonicMs)();
    this.driver.show(
      ledPatterns({
        playing: this.options.playing(),
        shareOpen: this.options.shareWindow.snapshot().open,
        pendingJoins: this.options.joins.pending.length,
        error: now - this.options.events.lastErrorAt < ERROR_SHOWN_MS,
      }),
    );
  }

  stop(): void {
    this.options.events.off('changed', this.update);
    this.options.events.off('error', this.update);
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.driver.stop();
  }
}
