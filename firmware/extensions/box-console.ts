// What a person at the simulated box's terminal (`make run`) reads: each key press
// and what it did, the share window opening, counting down and closing, joins
// waiting for approval, listeners joining and leaving, the track changing. The
// structured log (stderr) stays for machines; these lines go to stdout. It reads
// everything from the bus.

import type { ButtonEvent } from '../../hardware/buttons/buttons.ts';
import type { BoxEventMap, BoxEvents } from '../domain/box-events.ts';
import type { Extension } from './extension.ts';

export interface BoxConsoleOptions {
  events: BoxEvents;
  /** the share window's time left, ms */
  shareRemainingMs(): number;
  listenerCount(): number;
  write?: (line: string) => void;
  now?: () => number;
}

const KEY_OF: Record<string, string> = {
  'share click': 's',
  'share long': 'S',
  'playPause click': 'space',
  'next click': 'n',
  'volumeUp click': '+',
  'volumeDown click': '-',
};

const clock = (now: number) => new Date(now).toTimeString().slice(0, 8);
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

export class BoxConsole implements Extension {
  readonly name = 'box-console';
  private write: (line: string) => void;
  private now: () => number;
  private countdown: NodeJS.Timeout | null = null;
  private readonly listeners: { [N in keyof BoxEventMap]?: (...args: BoxEventMap[N]) => void } = {
    button: (e) => this.button(e, e.effect),
    share: (s) => this.share(s, () => this.options.shareRemainingMs()),
    join_pending: (p) => this.joinWaiting(p.name, p.waiting),
    join: (l) => this.listenerJoined(l.name || l.id, this.options.listenerCount()),
    leave: (l) => this.listenerLeft(l.name || l.id, l.reason, this.options.listenerCount()),
    track: (t) => this.track(t.track),
  };

  constructor(private readonly options: BoxConsoleOptions) {
    this.write = options.write ?? ((l) => process.stdout.write(l + '\n'));
    this.now = options.now ?? Date.now;
  }

  start(): void {
    for (const [name, listener] of Object.entries(this.listeners)) this.options.events.on(name as keyof BoxEventMap, listener as () => void);
  }

  say(line: string): void {
    this.write(`${clock(this.now())}  ${line}`);
  }

  /** A button (a key under `make run`) and what it did. */
  button(e: ButtonEvent, effect: string): void {
    const key = KEY_OF[`${e.button} ${e.gesture}`];
    this.say(`${key ? `[${key}] ` : ''}${e.button}${e.gesture === 'click' ? '' : ` (${e.gesture})`}: ${effect}`);
  }

  /** The share window; while open, the time left every 30 s. */
  share(s: { open: boolean; remainingMs: number }, remaining: () => number): void {
    if (this.countdown) clearInterval(this.countdown);
    this.countdown = null;
    if (!s.open) {
      this.say('share window closed: new joins wait for approval (press s)');
      return;
    }
    this.say(`share window open: joins are accepted for ${seconds(s.remainingMs)}`);
    this.countdown = setInterval(() => {
      const left = remaining();
      if (left >= 1000) this.say(`share window open: ${seconds(left)} left`);
    }, 30_000);
    this.countdown.unref();
  }

  joinWaiting(name: string, waiting: number): void {
    this.say(`${name} wants to join${waiting > 1 ? ` (${waiting} waiting)` : ''}: press s to approve, S to refuse and stop sharing`);
  }

  listenerJoined(name: string, count: number): void {
    this.say(`${name} joined: ${count} listener${count === 1 ? '' : 's'}`);
  }

  listenerLeft(name: string, reason: string, count: number): void {
    this.say(`${name} left (${reason}): ${count} listener${count === 1 ? '' : 's'}`);
  }

  track(t: { title: string; artist?: string } | null): void {
    this.say(t ? `now playing: ${t.title}${t.artist ? ` — ${t.artist}` : ''}` : 'nothing playing');
  }

  /** Printed once the box is up: what it plays and how to join it. */
  welcome(text: string): void {
    this.write(text);
  }

  stop(): void {
    for (const [name, listener] of Object.entries(this.listeners)) this.options.events.off(name as keyof BoxEventMap, listener as () => void);
    if (this.countdown) clearInterval(this.countdown);
    this.countdown = null;
  }
}
