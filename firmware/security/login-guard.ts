// Owner logins: the password check runs on the thread pool (never on the event
// loop that feeds the audio), one at a time (`maxConcurrent`) with a short
// queue, of which one address may hold only a few places (`maxPerAddress`: an
// owner's mosquitto_sub and mosquitto_pub log in together, a storm from one
// address does not fill the queue). After a failed login the address waits 1 s,
// then 2, 4, ... up to `maxBackoffMs` before the box checks another password
// from it; attempts inside that wait are refused without hashing anything.
// Every failure is logged and counted.

import { normalizeAddress } from './connection-limits.ts';
import type { Refusals } from './refusals.ts';
import { monotonicMs } from '../util/time.ts';

export type LoginVerdict = { ok: true } | { ok: false; reason: string; busy: boolean };

export interface LoginGuardOptions {
  username: string;
  /** checks a password (off the event loop) */
  verify(password: string): Promise<boolean>;
  maxBackoffMs: number;
  maxConcurrent?: number;
  maxQueued?: number;
  /** logins from one address being checked or waiting at once (default 4) */
  maxPerAddress?: number;
  refusals: Refusals;
  log(level: 'info' | 'warn', msg: string, extra?: object): void;
  now?: () => number;
}

interface Failures {
  count: number;
  until: number;
}

const MAX_TRACKED_ADDRESSES = 10_000;

export class LoginGuard {
  private failures = new Map<string, Failures>();
  private checking = new Map<string, number>(); // address → logins in flight
  private running = 0;
  private queue: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly options: LoginGuardOptions) {
    this.now = options.now ?? monotonicMs;
  }

  /** how long (ms) `address` must still wait before its next login is checked */
  waitOf(address: string): number {
    const f = this.failures.get(normalizeAddress(address));
    return f ? Math.max(0, f.until - this.now()) : 0;
  }

  async check(rawAddress: string | undefined, clientId: string, username: string, password: string): Promise<LoginVerdict> {
    const address = normalizeAddress(rawAddress);
    const wait = this.waitOf(address);
    if (wait > 0) {
      this.options.refusals.count('login_throttled');
      return { ok: false, busy: false, reason: `too many failed logins from ${address}: retry in ${Math.ceil(wait / 1000)} s` };
    }
    const inFlight = this.checking.get(address) ?? 0;
    if (inFlight >= (this.options.maxPerAddress ?? 4)) {
      this.options.refusals.count('login_throttled');
      return { ok: false, busy: false, reason: `${inFlight} logins from ${address} are already being checked: wait for them` };
    }
    if (this.queue.length >= (this.options.maxQueued ?? 16)) {
      this.options.refusals.count('login_busy');
      return { ok: false, busy: true, reason: 'the box is busy checking logins: retry in a few seconds' };
    }
    this.checking.set(address, inFlight + 1);
    try {
      const good = username === this.options.username && (await this.limited(() => this.options.verify(password)));
      if (good) {
        this.failures.delete(address);
        return { ok: true };
      }
      const count = (this.failures.get(address)?.count ?? 0) + 1;
      const backoff = Math.min(this.options.maxBackoffMs, 1000 * 2 ** Math.min(count - 1, 30));
      this.failures.delete(address); // re-inserted last: the map's order is the eviction order
      this.failures.set(address, { count, until: this.now() + backoff });
      if (this.failures.size > MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value as string);
      this.options.refusals.count('login_failed');
      this.options.log('warn', 'failed login', { address, clientId, username: username.slice(0, 64), failures: count, nextAttemptInMs: backoff });
      return { ok: false, busy: false, reason: 'bad username or password' };
    } finally {
      const left = (this.checking.get(address) ?? 1) - 1;
      if (left > 0) this.checking.set(address, left);
      else this.checking.delete(address);
    }
  }

  private async limited<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= (this.options.maxConcurrent ?? 1)) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}
