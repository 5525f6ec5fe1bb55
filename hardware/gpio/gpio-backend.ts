// GPIO as the buttons and LEDs need it: watch button lines (wired active low with
// the internal pull-up), drive LED lines. One implementation per backend (libgpiod
// tools, sysfs through onoff), chosen by hardware.buttons.backend.

export interface GpioBackend {
  readonly kind: 'gpiod' | 'onoff';
  /** calls onEdge(line, pressed) on every edge of the given lines; rejects when they cannot be watched */
  watch(lines: number[], onEdge: (line: number, pressed: boolean) => void): Promise<void>;
  setLed(line: number, on: boolean): void;
  close(): Promise<void>;
}
