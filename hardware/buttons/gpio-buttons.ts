// The physical buttons: GPIO edges (any GpioBackend) through a gesture detector per
// button, as the same ButtonSource events the keyboard twin produces.

import { EventEmitter } from 'node:events';
import type { GpioBackend } from '../gpio/gpio-backend.ts';
import type { ButtonEvent, ButtonName, ButtonSource } from './buttons.ts';
import { GestureDetector, type GestureOptions } from './gestures.ts';

export class GpioButtons extends EventEmitter<{ press: [ButtonEvent]; quit: [] }> implements ButtonSource {
  private detectors = new Map<number, GestureDetector>();
  private watching: Promise<void> | null = null;

  constructor(
    private readonly gpio: GpioBackend,
    private readonly lines: Record<ButtonName, number>,
    private readonly gestures: GestureOptions = {},
  ) {
    super();
  }

  /**
   * Watches the lines, once: the panel starts watching to learn whether the lines can be had,
   * and the buttons extension then starts every source. A second watch ran a second gpiomon
   * on the same lines (refused as busy by libgpiod v2, and left running when the box stopped).
   */
  startWatching(): Promise<void> {
    this.watching ??= this.watch();
    return this.watching;
  }

  private async watch(): Promise<void> {
    for (const [button, line] of Object.entries(this.lines) as Array<[ButtonName, number]>) {
      this.detectors.set(line, new GestureDetector((gesture) => this.emit('press', { button, gesture }), this.gestures));
    }
    await this.gpio.watch([...this.detectors.keys()], (line, pressed) => this.detectors.get(line)?.input(pressed));
  }

  start(): void {
    void this.startWatching();
  }

  stop(): void {
    for (const d of this.detectors.values()) d.stop();
    this.detectors.clear();
  }
}
