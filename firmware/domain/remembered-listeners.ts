// Listeners the owner let in under share policy `button`, remembered across restarts
// so that they are not asked about again (README.md "Security and limits").
//
// A listener is remembered by its listener key: a random secret the companion keeps
// for this box and sends only in its own join request, which no other client can
// read (requests are on the sender's own topics). A client id or a name is not
// enough: anybody may choose them. The box keeps only the key's SHA-256, in
// stateDir/remembered-listeners.json (0600), at most `max` entries (the least
// recently seen make room), each forgotten `days` after the last join it let in.
// The owner lists and forgets them with the `approvals` request.

import { createHash } from 'node:crypto';
import { StateStore } from '../util/state-store.ts';

/** a listener key: at least 128 random bits in base64url */
export const LISTENER_KEY_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
const DAY_MS = 24 * 3600 * 1000;

interface Entry {
  /** SHA-256 of the listener key, hex */
  keyHash: string;
  name: string;
  approvedAt: number;
  lastSeenAt: number;
}

interface Stored {
  listeners: Entry[];
}

/** what the owner sees: no key, no hash, only a short id to forget it by */
export interface RememberedListener {
  id: string;
  name: string;
  approvedAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

/** What the join manager asks: whether a key is remembered, and to remember one. */
export interface ApprovalMemory {
  /** a remembered, unexpired key: true, and the join counts as seen (its expiry moves on) */
  knows(key: string): boolean;
  remember(key: string, name: string): void;
}

export interface RememberedListenersOptions {
  stateDir: string;
  /** days after the last join it let in that an entry is forgotten; 0 remembers nobody */
  days: number;
  max: number;
  now?: () => number;
  onProblem?: (msg: string) => void;
}

const idOf = (keyHash: string) => keyHash.slice(0, 12);
const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

function validStored(v: unknown): Stored | null {
  if (!v || typeof v !== 'object' || !Array.isArray((v as Stored).listeners)) return null;
  const ok = (e: Entry) =>
    e &&
    typeof e === 'object' &&
    typeof e.keyHash === 'string' &&
    /^[0-9a-f]{64}$/.test(e.keyHash) &&
    typeof e.name === 'string' &&
    e.name.length <= 64 &&
    Number.isFinite(e.approvedAt) &&
    Number.isFinite(e.lastSeenAt);
  const listeners = (v as Stored).listeners;
  if (!listeners.every(ok)) return null;
  return { listeners: listeners.map(({ keyHash, name, approvedAt, lastSeenAt }) => ({ keyHash, name, approvedAt, lastSeenAt })) };
}

export class RememberedListeners implements ApprovalMemory {
  private entries = new Map<string, Entry>();
  private store: StateStore<Stored>;
  private now: () => number;

  constructor(private readonly options: RememberedListenersOptions) {
    this.now = options.now ?? Date.now;
    this.store = new StateStore<Stored>(options.stateDir, 'remembered-listeners', validStored, options.onProblem, 0o600);
    for (const e of this.store.load({ listeners: [] }).listeners) this.entries.set(e.keyHash, e);
    if (this.sweep()) this.save();
  }

  knows(key: string): boolean {
    if (this.options.days === 0 || !LISTENER_KEY_PATTERN.test(key)) return false;
    this.sweep();
    const e = this.entries.get(hashOf(key));
    if (!e) return false;
    e.lastSeenAt = this.now();
    this.save();
    return true;
  }

  remember(key: string, name: string): void {
    if (this.options.days === 0 || !LISTENER_KEY_PATTERN.test(key)) return;
    const keyHash = hashOf(key);
    const now = this.now();
    const prev = this.entries.get(keyHash);
    this.entries.delete(keyHash); // re-inserted last: the map's order is least recently seen first
    this.entries.set(keyHash, { keyHash, name: name.slice(0, 64), approvedAt: prev?.approvedAt ?? now, lastSeenAt: now });
    this.sweep();
    this.save();
  }

  list(): RememberedListener[] {
    this.sweep();
    return [...this.entries.values()]
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt)
      .map((e) => ({
        id: idOf(e.keyHash),
        name: e.name,
        approvedAt: new Date(e.approvedAt).toISOString(),
        lastSeenAt: new Date(e.lastSeenAt).toISOString(),
        expiresAt: new Date(e.lastSeenAt + this.options.days * DAY_MS).toISOString(),
      }));
  }

  /** Forgets the entry with this id, or every entry; returns how many were forgotten. */
  forget(id?: string): number {
    const gone = [...this.entries.values()].filter((e) => id === undefined || idOf(e.keyHash) === id);
    for (const e of gone) this.entries.delete(e.keyHash);
    if (gone.length) this.save();
    return gone.length;
  }

  /** everything saved so far is on disk */
  settled(): Promise<void> {
    return this.store.settled();
  }

  /** drops expired entries, then the least recently seen beyond `max`; true when any went */
  private sweep(): boolean {
    const before = this.entries.size;
    const oldest = this.now() - this.options.days * DAY_MS;
    for (const [h, e] of this.entries) if (e.lastSeenAt <= oldest) this.entries.delete(h);
    const byAge = [...this.entries.values()].sort((a, b) => a.lastSeenAt - b.lastSeenAt);
    for (const e of byAge.slice(0, Math.max(0, byAge.length - this.options.max))) this.entries.delete(e.keyHash);
    return this.entries.size !== before;
  }

  private save(): void {
    this.store.save({ listeners: [...this.entries.values()] });
  }
}
