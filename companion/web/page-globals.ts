// What the page puts on `window` (app.ts sets it) for the browser tests and curious users.
// Types only: the Playwright tests check the functions they run in the page against it.

import type { ClockSync } from '../../firmware/wire/clock.ts';
import type { Reply } from '../../firmware/wire/requests.ts';
import type { StreamProtocol } from '../client/stream-protocol.ts';
import type { WebPlayer } from './web-player.ts';

/** the stream being played, set when a join opens it */
export interface NearcastStream {
  player: WebPlayer;
  sync: ClockSync;
  ctx: AudioContext;
  protocol: StreamProtocol;
}

/** the page's controls */
export interface NearcastApp {
  join(): Promise<void>;
  leave(): Promise<void>;
  request(op: string, body?: object, timeoutMs?: number): Promise<Reply>;
  joined(): boolean;
  /** how many times the page came back into view */
  visibleAgain(): number;
}

declare global {
  interface Window {
    __nearcast?: NearcastStream;
    __nearcastApp?: NearcastApp;
  }
}
