// The box's front panel as extensions: its buttons (GPIO through libgpiod or onoff
// on a board, or the simulated twin: keyboard and the owner-only sim/button topic)
// and its LEDs. A board whose lines cannot be had is reported, and the box runs on
// without buttons and LEDs.

import type { ButtonSource } from '../../hardware/buttons/buttons.ts';
import { KeyboardButtons } from '../../hardware/buttons/keyboard-buttons.ts';
import { openGpioPanel } from '../../hardware/gpio/open-panel.ts';
import { chooseBackend } from '../../hardware/gpio/select-backend.ts';
import type { LedOutput } from '../../hardware/leds/led-driver.ts';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import type { BoxConfig } from '../config/config.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import type { JoinManager } from '../domain/join-manager.ts';
import type { ShareWindow } from '../domain/share-window.ts';
import type { RequestRouter } from '../requests/router.ts';
import type { Logger } from '../util/log.ts';
import { Buttons, SimButtonTopic } from './buttons.ts';
import type { Extension } from './extension.ts';
import { Leds } from './leds.ts';

export interface FrontPanelOptions {
  hardware: BoxConfig['hardware'];
  broker: Pick<EmbeddedBroker, 'subscribe'>;
  simButtonTopic: string;
  router: Pick<RequestRouter, 'ask'>;
  events: BoxEvents;
  log: Logger;
  playing(): boolean;
  shareWindow: ShareWindow;
  joins: JoinManager;
  noMusic: string | null;
  /** registers what closes the GPIO lines when the box stops */
  onStop(name: string, stop: () => Promise<void>): void;
}

/** The buttons and LEDs extensions; none when the board's lines cannot be opened. */
export async function frontPanel(o: FrontPanelOptions): Promise<Extension[]> {
  const { hardware, events, log } = o;
  const backend = chooseBackend(hardware.buttons.backend, hardware.sim);
  const sources: ButtonSource[] = [];
  let ledOutput: LedOutput;
  if (backend === 'sim') {
    if (hardware.sim && hardware.keyboard) {
      const keyboard = new KeyboardButtons();
      keyboard.on('quit', () => process.kill(process.pid, 'SIGINT'));
      sources.push(keyboard);
    }
    if (hardware.sim) sources.push(new SimButtonTopic(o.broker, o.simButtonTopic, events));
    ledOutput = (led, on) => log.debug('LED', { led, on });
  } else {
    try {
      const panel = await openGpioPanel({
        backend,
        board: hardware.board,
        buttonLines: hardware.buttons.map,
        ledLines: hardware.leds.map,
        onError: (message) => {
          log.warn('GPIO problem', { error: message });
          events.emit('error', { message: `GPIO: ${message}` });
        },
      });
      await panel.buttons.startWatching();
      o.onStop('GPIO', () => panel.close());
      log.info('buttons and LEDs', { backend, board: panel.boardName });
      sources.push(panel.buttons);
      ledOutput = (led, on) => panel.setLed(led, on);
    } catch (e) {
      log.error('no buttons or LEDs; the box runs without them', { backend, error: (e as Error).message });
      events.emit('error', { message: `buttons (${backend}): ${(e as Error).message}` });
      return [];
    }
  }
  return [
    new Buttons({ sources, router: o.router, events, noMusic: o.noMusic }),
    new Leds({ output: ledOutput, events, playing: o.playing, shareWindow: o.shareWindow, joins: o.joins }),
  ];
}
