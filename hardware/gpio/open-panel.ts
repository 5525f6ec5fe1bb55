// The box's front panel on GPIO: its buttons and LEDs on the lines the board
// names, through libgpiod or sysfs (onoff). Opened once; buttons and LEDs share
// the handle, and closing it releases every line.

import type { ButtonSource } from '../buttons/buttons.ts';
import { GpioButtons } from '../buttons/gpio-buttons.ts';
import { loadBoard, type BoardId, type LedName } from './board.ts';
import { GpiodBackend } from './gpiod-backend.ts';
import { OnoffBackend } from './onoff-backend.ts';

export interface PanelOptions {
  backend: 'gpiod' | 'onoff';
  board: BoardId | 'auto';
  /** lines that differ from the board's defaults */
  buttonLines?: Partial<Record<string, number>>;
  ledLines?: Partial<Record<string, number>>;
  /** a problem after opening (a helper process died, a line was lost) */
  onError(message: string): void;
}

export interface GpioPanel {
  boardName: string;
  buttons: ButtonSource & { startWatching(): Promise<void> };
  setLed(led: LedName, on: boolean): void;
  close(): Promise<void>;
}

/** Opens the panel; rejects with the reason when the lines cannot be had. */
export async function openGpioPanel(o: PanelOptions): Promise<GpioPanel> {
  const board = loadBoard(o.board, { buttons: o.buttonLines, leds: o.ledLines });
  const gpio = o.backend === 'gpiod' ? await GpiodBackend.open(board.gpiochip, o.onError) : await OnoffBackend.open(board.gpiochip);
  const buttons = new GpioButtons(gpio, board.buttons);
  return {
    boardName: board.name,
    buttons,
    setLed: (led, on) => gpio.setLed(board.leds[led], on),
    close: async () => {
      buttons.stop();
      await gpio.close();
    },
  };
}
