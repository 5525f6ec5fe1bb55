// The box's buttons (GPIO, or under simulation the keyboard and the owner-only
// `sim/button` topic) act through the request router as the box's own owner
// caller, with the same checks as an MQTT request (ARCHITECTURE.md "Control
// path"). What each press did goes on the bus as a `button` event.

import { EventEmitter } from 'node:events';
import type { ButtonEvent, ButtonSource } from '../../hardware/buttons/buttons.ts';
import { parseButtonCommand } from '../../hardware/buttons/keyboard-buttons.ts';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import { BUTTONS } from '../domain/caller.ts';
import type { RequestRouter } from '../requests/router.ts';
import type { Reply } from '../wire/requests.ts';
import type { Op } from '../wire/topics.ts';
import type { Extension } from './extension.ts';

export interface ButtonsOptions {
  sources: ButtonSource[];
  router: Pick<RequestRouter, 'ask'>;
  events: BoxEvents;
  /** why there is nothing to play, when the library is empty (said instead of "paused") */
  noMusic?: string | null;
}

export class Buttons implements Extension {
  readonly name = 'buttons';

  constructor(private readonly options: ButtonsOptions) {}

  start(): void {
    for (const source of this.options.sources) {
      source.on('press', (press) => void this.press(press));
      source.start();
    }
  }

  /** Does what the button means; resolves with what happened, in words (also told on the bus). */
  async press(press: ButtonEvent): Promise<string> {
    let effect: string;
    try {
      effect = await this.effectOf(press);
    } catch (e) {
      effect = `failed: ${(e as Error).message}`;
    }
    this.options.events.emit('button', { ...press, effect });
    return effect;
  }

  private async effectOf({ button, gesture }: ButtonEvent): Promise<string> {
    const noMusic = this.options.noMusic;
    if (button === 'share' && gesture === 'click') {
      // a waiting join is approved first; with none waiting, the share window opens
      const approved = await this.ask('approve', {});
      if (approved.status === 'ok') return `approved ${(approved.data as { name: string }).name}'s join`;
      return this.said(await this.ask('share', { action: 'open' }), () => 'opened the share window');
    }
    if (button === 'share' && gesture === 'long') {
      return this.said(
        await this.ask('share', { action: 'stop' }),
        (d: { disconnected: number; refused: number }) => `sharing stopped: ${d.disconnected} listener(s) disconnected, ${d.refused} waiting join(s) refused`,
      );
    }
    if (button === 'playPause') {
      return this.said(await this.ask('control', { action: 'toggle' }), (d: { state: string }) =>
        d.state === 'playing' ? 'playing' : noMusic ? `nothing to play (${noMusic})` : 'paused',
      );
    }
    if (button === 'next') {
      if (noMusic) return `nothing to skip (${noMusic})`;
      return this.said(await this.ask('control', { action: 'next' }), () => 'next track');
    }
    if (button === 'volumeUp' || button === 'volumeDown') {
      return this.said(await this.ask('volume', { delta: button === 'volumeUp' ? 5 : -5 }), (d: { volume: number }) => `volume ${d.volume}`);
    }
    return 'no effect';
  }

  private ask(op: Op, body: Record<string, unknown>): Promise<Reply> {
    return this.options.router.ask(BUTTONS, op, body);
  }

  private said<T>(reply: Reply, words: (data: T) => string): string {
    return reply.status === 'error' ? `refused: ${reply.error}` : words(reply.data as T);
  }

  stop(): void {
    for (const source of this.options.sources) source.stop();
  }
}

/** `nearcast/<boxId>/sim/button` (simulated hardware only; the broker lets only the owner publish it): {"button":"share","gesture":"click"} */
export function parseSimButton(payload: Buffer): ButtonEvent | string {
  let press: ReturnType<typeof parseButtonCommand> = null;
  try {
    const json = JSON.parse(payload.toString('utf8')) as { button?: unknown; gesture?: unknown };
    if (typeof json.button === 'string') press = parseButtonCommand(`${json.button} ${typeof json.gesture === 'string' ? json.gesture : 'click'}`);
  } catch {
    /* said below */
  }
  if (press && press !== 'quit') return press;
  return `sim/button: expected {"button":"share|playPause|next|volumeUp|volumeDown","gesture":"click|double|long"}, got ${payload.toString('utf8').slice(0, 80)}`;
}

/** The simulated box's button topic as a button source; a malformed press is reported as a box error. */
export class SimButtonTopic extends EventEmitter<{ press: [ButtonEvent]; quit: [] }> implements ButtonSource {
  private listening = false;

  constructor(
    private readonly broker: Pick<EmbeddedBroker, 'subscribe'>,
    private readonly topic: string,
    private readonly events: BoxEvents,
  ) {
    super();
  }

  start(): void {
    this.listening = true;
    void this.broker.subscribe(this.topic, (_topic, payload) => {
      if (!this.listening) return;
      const press = parseSimButton(payload);
      if (typeof press === 'string') this.events.emit('error', { message: press });
      else this.emit('press', press);
    });
  }

  stop(): void {
    this.listening = false;
  }
}
