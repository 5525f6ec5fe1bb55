// Who may join, per share.policy (README.md "MQTT topics"): `open` accepts everyone, `button`
// accepts while the share window is open and otherwise queues the join until the
// owner approves (the share button approves the oldest), `approve` always asks.
// One address may have only a few joins waiting (limits.pendingJoinsPerAddress),
// so strangers cannot fill the queue that the share button approves from; the
// owner's own join is always accepted, even on a full box.
// Under `button`, a listener let in by the owner (approved, or joining while the
// window was open) is remembered by its listener key (remembered-listeners.ts) and
// accepted at once the next time, after a restart too.

import { EventEmitter } from 'node:events';
import type { Caller } from './caller.ts';
import type { JoinRequest, Transaction } from '../wire/requests.ts';
import type { ShareWindow } from './share-window.ts';
import type { ApprovalMemory } from './remembered-listeners.ts';

export type SharePolicy = 'button' | 'approve' | 'open';

export interface PendingJoin {
  clientId: string;
  /** the connection that asked: the answer goes to it, and it is dropped when that connection closes */
  caller: Caller;
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
    private perAddress = 2,
    private onRefused: (why: 'pending_joins') => void = () => {},
    private remembered: ApprovalMemory | null = null,
  ) {
    super();
  }

  /** Decides a join. The owner's joins are always accepted: the owner does not approve itself, and always finds a place. */
  request(caller: Caller, request: JoinRequest, transaction: Transaction | undefined): JoinVerdict {
    const isOwner = caller.role === 'owner';
    const { listeners, max } = this.capacity();
    if (listeners >= max && !isOwner) return { kind: 'reject', reason: `the box is full (${max} listeners)` };
    this.withdraw(caller);
    if (isOwner || this.policy === 'open') return { kind: 'accept' };
    if (this.policy === 'button') {
      const key = request.listenerKey;
      if (this.window.isOpen) {
        if (key) this.remembered?.remember(key, request.name ?? caller.clientId); // the owner opened the window: let in
        return { kind: 'accept' };
      }
      if (key && this.remembered?.knows(key)) return { kind: 'accept' };
    }
    if (this.pendingJoins.length >= 50) {
      this.onRefused('pending_joins');
      return { kind: 'reject', reason: 'too many joins are waiting for approval' };
    }
    if (this.pendingJoins.filter((p) => p.caller.address === caller.address).length >= this.perAddress) {
      this.onRefused('pending_joins');
      return { kind: 'reject', reason: `${this.perAddress} joins from ${caller.address} are already waiting for approval` };
    }
    this.pendingJoins.push({ clientId: caller.clientId, caller, request, transaction, since: this.now() });
    this.emit('change');
    return { kind: 'pending', position: this.pendingJoins.length };
  }

  get pending(): readonly PendingJoin[] {
    return this.pendingJoins;
  }

  /** Approves the given client's join, or the oldest. Returns it, or undefined if none is waiting. */
  approve(clientId?: string): PendingJoin | undefined {
    const p = this.take(clientId);
    if (p && this.policy === 'button' && p.request.listenerKey) this.remembered?.remember(p.request.listenerKey, p.request.name ?? p.clientId);
    if (p) this.emit('decided', { pending: p, approved: true });
    return p;
  }

  deny(clientId?: string, reason = 'the owner declined the join'): PendingJoin | undefined {
    const p = this.take(clientId);
    if (p) this.emit('decided', { pending: p, approved: false, reason });
    return p;
  }

  /** A connection that leaves (or closes) while waiting is forgotten silently. */
  withdraw(caller: Pick<Caller, 'serial'>): void {
    const before = this.pendingJoins.length;
    this.pendingJoins = this.pendingJoins.filter((p) => p.caller.serial !== caller.serial);
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
