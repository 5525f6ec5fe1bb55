// A client of wpa_supplicant's control interface (the protocol of its wpa_ctrl.c):
// one datagram per command, one per reply; after ATTACH the supplicant also sends
// unsolicited events, each prefixed with its level ("<3>P2P-GROUP-STARTED ..."),
// which may arrive while a reply is awaited. Commands run one at a time.

import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { UnixDgramSocket } from './unix-dgram.ts';

const POLL_MS = 20;
let seq = 0;

export class WpaCtrl extends EventEmitter<{ event: [string] }> {
  private sock: UnixDgramSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private waiting: { resolve: (r: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly ctrlPath: string,
    private readonly localDir = os.tmpdir(),
  ) {
    super();
  }

  /** Connects (throws when the supplicant's socket is absent) and starts polling for datagrams. */
  open(): void {
    const local = path.join(this.localDir, `nearcast-wpa-${process.pid}-${++seq}`);
    const s = new UnixDgramSocket(local);
    try {
      s.connect(this.ctrlPath);
    } catch (e) {
      s.close();
      throw new Error(`wpa_supplicant control socket ${this.ctrlPath}: ${(e as Error).message}`);
    }
    this.sock = s;
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** Sends a command and resolves with its reply (trailing newline trimmed). */
  request(cmd: string, timeoutMs = 3000): Promise<string> {
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const s = this.sock;
        if (!s) return reject(new Error(`wpa_supplicant ${this.ctrlPath}: not open`));
        const timer = setTimeout(() => {
          this.waiting = null;
          reject(new Error(`wpa_supplicant ${this.ctrlPath}: no reply to ${cmd.split(' ')[0]} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.waiting = { resolve, reject, timer };
        try {
          s.send(cmd);
        } catch (e) {
          clearTimeout(timer);
          this.waiting = null;
          reject(new Error(`wpa_supplicant ${this.ctrlPath}: ${(e as Error).message}`));
        }
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** A request whose reply must be OK. */
  async command(cmd: string): Promise<void> {
    const r = await this.request(cmd);
    if (r !== 'OK') throw new Error(`wpa_supplicant: ${cmd.split(' ')[0]} answered '${r.slice(0, 60)}'`);
  }

  private poll(): void {
    const s = this.sock;
    if (!s) return;
    // bounded: at most 64 datagrams per tick
    for (let i = 0; i < 64; i++) {
      let d: Buffer | null;
      try {
        d = s.recv();
      } catch (e) {
        this.fail(`wpa_supplicant ${this.ctrlPath}: ${(e as Error).message}`);
        return;
      }
      if (!d) return;
      const text = d.toString('utf8').replace(/\n$/, '');
      const ev = /^<(\d)>(.*)$/s.exec(text);
      if (ev) this.emit('event', ev[2]!);
      else if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        clearTimeout(w.timer);
        w.resolve(text);
      }
    }
  }

  private fail(message: string): void {
    if (this.waiting) {
      clearTimeout(this.waiting.timer);
      this.waiting.reject(new Error(message));
      this.waiting = null;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.fail(`wpa_supplicant ${this.ctrlPath}: closed`);
    this.sock?.close();
    this.sock = null;
  }
}
