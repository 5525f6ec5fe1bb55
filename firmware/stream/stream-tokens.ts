// One-time stream tokens: a listener gets one only from an accepted `join`, and
// it is good for one stream connection within its lifetime, while the MQTT
// connection that asked for it (`serial`) is still open.

import { randomBytes } from 'node:crypto';
import { monotonicMs } from '../util/time.ts';

export interface Grant {
  clientId: string;
  /** the MQTT connection the token was issued to */
  serial: number;
  codec: 'opus' | 'pcm';
  expiresAt: number;
}

export class StreamTokens {
  private grants = new Map<string, Grant>();

  constructor(
    private ttlMs: number,
    private now: () => number = monotonicMs,
  ) {}

  issue(clientId: string, codec: 'opus' | 'pcm', serial = 0): string {
    this.sweep();
    // a client holds at most one live token
    for (const [t, g] of this.grants) if (g.clientId === clientId) this.grants.delete(t);
    const token = randomBytes(24).toString('base64url');
    this.grants.set(token, { clientId, serial, codec, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** Returns the grant and forgets the token; undefined when unknown, used or expired. */
  consume(token: string): Grant | undefined {
    if (typeof token !== 'string') return undefined;
    const g = this.grants.get(token);
    if (!g) return undefined;
    this.grants.delete(token);
    return g.expiresAt >= this.now() ? g : undefined;
  }

  revoke(clientId: string): void {
    for (const [t, g] of this.grants) if (g.clientId === clientId) this.grants.delete(t);
  }

  private sweep(): void {
    const now = this.now();
    for (const [t, g] of this.grants) if (g.expiresAt < now) this.grants.delete(t);
  }
}
