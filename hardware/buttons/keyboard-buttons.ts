// The simulated twin of the physical buttons: keys on a terminal, or one command
// per line when stdin is a pipe (how tests press buttons on a real box process).

import { EventEmitter } from 'node:events';
import type { ButtonEvent, ButtonSource } from './buttons.ts';

export const KEY_HELP = 's share · S stop sharing (long press) · space play/pause · n next · + / - volume · q quit';

const KEYS: Record<string, ButtonEvent> = {
  s: { button: 'share', gesture: 'click' },
  S: { button: 'share', gesture: 'long' },
  ' ': { button: 'playPause', gesture: 'click' },
  p: { button: 'playPause', gesture: 'click' },
  n: { button: 'next', gesture: 'click' },
  '+': { button: 'volumeUp', gesture: 'click' },
  '=': { button: 'volumeUp', gesture: 'click' },
  '-': { button: 'volumeDown', gesture: 'click' },
};

/** `share`, `share long`, `playPause`, `next double`, ... */
export function parseButtonCommand(line: string): ButtonEvent | 'quit' | null {
  const [button, gesture = 'click'] = line.trim().split(/\s+/);
  if (button === 'quit') return 'quit';
  if (!button || !['share', 'playPause', 'next', 'volumeUp', 'volumeDown'].includes(button)) return null;
  if (!['click', 'double', 'long'].includes(gesture)) return null;
  return { button, gesture } as ButtonEvent;
}

export class KeyboardButtons extends EventEmitter<{ press: [ButtonEvent]; quit: []; unknown: [string] }> implements ButtonSource {
  private onData = (d: Buffer) => this.input(d.toString('utf8'));
  private lineBuf = '';

  constructor(private stdin: NodeJS.ReadStream = process.stdin) {
    super();
  }

  start(): void {
    if (this.stdin.isTTY) this.stdin.setRawMode(true);
    this.stdin.on('data', this.onData);
    this.stdin.resume();
  }

  private input(text: string): void {
    if (this.stdin.isTTY) {
      for (const ch of text) {
        if (ch === 'q' || ch === '\u0003') this.emit('quit');
        else if (KEYS[ch]) this.emit('press', KEYS[ch]);
      }
      return;
    }
    this.lineBuf += text;
    if (this.lineBuf.length > 4096) this.lineBuf = ''; // bounded: nobody types that much
    for (let nl = this.lineBuf.indexOf('\n'); nl >= 0; nl = this.lineBuf.indexOf('\n')) {
      const line = this.lineBuf.slice(0, nl);
      this.lineBuf = this.lineBuf.slice(nl + 1);
      if (!line.trim()) continue;
      const ev = parseButtonCommand(line);
      if (ev === 'quit') this.emit('quit');
      else if (ev) this.emit('press', ev);
      else this.emit('unknown', line.slice(0, 80));
    }
  }

  stop(): void {
    this.stdin.off('data', this.onData);
    if (this.stdin.isTTY) this.stdin.setRawMode(false);
    this.stdin.pause();
  }
}
