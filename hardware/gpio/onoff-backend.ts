// GPIO through sysfs with `onoff` (the design card's choice), its line numbers
// resolved through the chip base (sysfs-base.ts). onoff is an optional dependency
// (its epoll addon builds with node-gyp); without it this backend says so.

import type { GpioBackend } from './gpio-backend.ts';
import { sysfsNumber } from './sysfs-base.ts';

interface OnoffGpio {
  watch(cb: (err: Error | null | undefined, value: number) => void): void;
  writeSync(value: 0 | 1): void;
  unexport(): void;
}
type OnoffCtor = new (gpio: number, direction: 'in' | 'out', edge?: 'both', options?: { activeLow?: boolean; debounceTimeout?: number }) => OnoffGpio;

export class OnoffBackend implements GpioBackend {
  readonly kind = 'onoff' as const;
  private inputs: OnoffGpio[] = [];
  private leds = new Map<number, OnoffGpio>();

  private constructor(
    private readonly Gpio: OnoffCtor,
    private readonly label: string,
    private readonly root: string,
  ) {}

  static async open(board: { label: string }, root = '/sys/class/gpio', load: () => Promise<{ Gpio: OnoffCtor }> = () => import('onoff' as string)): Promise<OnoffBackend> {
    let mod: { Gpio: OnoffCtor };
    try {
      mod = await load();
    } catch (e) {
      throw new Error(`the onoff backend needs the 'onoff' package (optional; it failed to load: ${(e as Error).message}); use hardware.buttons.backend: gpiod`);
    }
    return new OnoffBackend(mod.Gpio, board.label, root);
  }

  /** sysfs number of a BCM line on this board's chip */
  number(line: number): number {
    return sysfsNumber(line, this.label, this.root);
  }

  async watch(lines: number[], onEdge: (line: number, pressed: boolean) => void): Promise<void> {
    for (const line of lines) {
      // active low: onoff inverts, so 1 = pressed; the pull-up comes from the device tree / config.txt
      const g = new this.Gpio(this.number(line), 'in', 'both', { activeLow: true });
      g.watch((err, value) => {
        if (!err) onEdge(line, value === 1);
      });
      this.inputs.push(g);
    }
  }

  setLed(line: number, on: boolean): void {
    let g = this.leds.get(line);
    if (!g) {
      g = new this.Gpio(this.number(line), 'out');
      this.leds.set(line, g);
    }
    g.writeSync(on ? 1 : 0);
  }

  async close(): Promise<void> {
    for (const g of [...this.inputs, ...this.leds.values()]) g.unexport();
    this.inputs = [];
    this.leds.clear();
  }
}
