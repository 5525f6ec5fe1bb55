// Who may join, per share.policy (DESIGN §3): `open` accepts everyone, `button`
// accepts while the share window is open and otherwise queues the join until the
// owner approves (the share button approves the oldest), `approve` always asks.

import { EventEmitter } from 'node:events';
import type { JoinRequest, Transaction } from '../wire/requests.ts';
import type { ShareWindow } from './share-window.ts';

export type SharePolicy = 'button' | 'approve' | 'open';

export interface PendingJoin {
  clientId: string;
  request: JoinRequest;
  transaction?: Transaction;
  since: number;
}

export type JoinVerdict = { kind: 'accept' } | { kind: 'pending'; position: number } | { kind: 'reject'; reason: string };

export interface JoinManagerEvents {
  decided: [{ pending: PendingJoin; approved: boolean; reason?: string }];
  change: [];
}

export class JoinManager extends EventEmitter<JoinManagerEvents> {
  private pendingJoins: PendingJoin[] = [];

  constructor(
    public policy: SharePolicy,
    private window: ShareWindow,
    private capacity: () => { listeners: number; max: number },
    private now: () => number = Date.now,
  ) {
    super();
  }

  /** Decides a join. `isOwner` joins are always accepted: the owner does not approve itself. */
  request(clientId: string, request: JoinRequest, transaction: Transaction | undefined, isOwner: boolean): JoinVerdict {
    const { listeners, max } = this.capacity();
    if (listeners >= max) return { kind: 'reject', reason: `the box is full (${max} listeners)` };
    this.withdraw(clientId);
    if (isOwner || this.policy === 'open' || (this.policy === 'button' && this.window.isOpen)) return { kind: 'accept' };
    if (this.pendingJoins.length >= 50) return { kind: 'reject', reason: 'too many joins are waiting for approval' };
    this.pendingJoins.push({ clientId, request, transaction, since: this.now() });
    this.emit('change');
    return { kind: 'pending', position: this.pendingJoins.length };
  }

  get pending(): readonly PendingJoin[] {
    return this.pendingJoins;
  }

  /** Approves the given client's join, or the oldest. Returns it, or undefined if none is waiting. */
  approve(clientId?: string): PendingJoin | undefined {
    const p = this.take(clientId);
    if (p) this.emit('decided', { pending: p, approved: true });
    return p;
  }

  deny(clientId?: string, reason = 'the owner declined the join'): PendingJoin | undefined {
    const p = this.take(clientId);
    if (p) this.emit('decided', { pending: p, approved: false, reason });
    return p;
  }

  /** A client that leaves (or disconnects) while waiting is forgotten silently. */
  withdraw(clientId: string): void {
    const before = this.pendingJoins.length;
    this.pendingJoins = this.pendingJoins.filter((p) => p.clientId !== clientId);
    if (this.pendingJoins.length !== before) this.emit('change');
  }

  private take(clientId?: string): PendingJoin | undefined {
    const i = clientId === undefined ? 0 : this.pendingJoins.findIndex((p) => p.clientId === clientId);
    if (i < 0 || i >= this.pendingJoins.length) return undefined;
    const [p] = this.pendingJoins.splice(i, 1);
    this.emit('change');
    return p;
  }
}
