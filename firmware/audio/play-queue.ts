// The box's play queue: track ids and the index of the one playing. When the
// queue runs out, `repeat: 'all'` starts it over — or, when the queue is empty and
// a library is attached, plays the whole library in a loop.

export type Repeat = 'all' | 'none';

export interface PlayQueueOptions {
  repeat?: Repeat; // default 'all'
  maxItems?: number; // default 10000
  /** the library's track ids, used when the queue is empty */
  library?: () => readonly string[];
}

export interface PlayQueueJSON {
  version: 1;
  items: string[];
  index: number;
  repeat: Repeat;
}

export class PlayQueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlayQueueError';
  }
}

const MAX_ID_LENGTH = 1024;

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new PlayQueueError(`track id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return id;
}

export class PlayQueue {
  repeat: Repeat;
  private items: string[] = [];
  /** index of the current item; -1 before the first, items.length after the last */
  private index = -1;
  private exhausted = false; // ran off the end with repeat 'none': index = items.length, not yet played
  private readonly maxItems: number;
  private readonly library?: () => readonly string[];

  constructor(opts: PlayQueueOptions = {}) {
    this.repeat = opts.repeat ?? 'all';
    this.maxItems = opts.maxItems ?? 10_000;
    this.library = opts.library;
  }

  get length(): number {
    return this.items.length;
  }
  get currentIndex(): number {
    return this.index >= 0 && this.index < this.items.length ? this.index : -1;
  }
  current(): string | null {
    return this.items[this.currentIndex] ?? null;
  }

  /** Appends a track; returns its position. */
  enqueue(id: string): number {
    checkId(id);
    this.ensureRoom();
    this.items.push(id);
    return this.items.length - 1;
  }

  /** Inserts the track right after the current one and makes it current. */
  playNow(id: string): string {
    checkId(id);
    this.ensureRoom();
    const at = Math.min(Math.max(this.index + 1, 0), this.items.length);
    this.items.splice(at, 0, id);
    this.index = at;
    this.exhausted = false;
    return id;
  }

  /** Advances and returns the new current track, or null when playback should stop. */
  next(): string | null {
    const i = this.exhausted ? this.index : this.index + 1; // something enqueued after the end plays next
    const following = this.items[i];
    if (following !== undefined) {
      this.index = i;
      this.exhausted = false;
      return following;
    }
    if (this.repeat === 'none') {
      this.index = this.items.length;
      this.exhausted = true;
      return null;
    }
    this.exhausted = false;
    if (this.items.length === 0 && this.library) {
      const lib = this.library()
        .filter((id) => typeof id === 'string' && id.length > 0)
        .slice(0, this.maxItems);
      if (lib.length === 0) return null;
      this.items = lib;
    }
    const first = this.items[0];
    if (first === undefined) return null;
    this.index = 0;
    return first;
  }

  /** Goes back one track (stays on the first). */
  previous(): string | null {
    if (this.items.length === 0) return null;
    this.index = Math.max(0, Math.min(this.index, this.items.length) - 1);
    this.exhausted = false;
    return this.items[this.index]!; // 0 <= index < length, the queue being non-empty
  }

  /** Removes the item at `pos`; the current track stays current when it is not the one removed. */
  remove(pos: number): string {
    const id = this.items[pos];
    if (!Number.isInteger(pos) || id === undefined) throw new PlayQueueError(`no queue item at position ${pos} (queue has ${this.items.length})`);
    this.items.splice(pos, 1);
    if (pos < this.index) this.index--;
    else if (pos === this.index) this.index--; // next() then plays what followed
    return id;
  }

  list(): { items: string[]; index: number } {
    return { items: [...this.items], index: this.currentIndex };
  }

  clear(): void {
    this.items = [];
    this.index = -1;
    this.exhausted = false;
  }

  toJSON(): PlayQueueJSON {
    return { version: 1, items: [...this.items], index: this.currentIndex, repeat: this.repeat };
  }

  /** Restores a persisted queue; throws PlayQueueError naming what is wrong. */
  static fromJSON(value: unknown, opts: PlayQueueOptions = {}): PlayQueue {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PlayQueueError('saved queue must be an object');
    const v = value as Record<string, unknown>;
    if (v.version !== 1) throw new PlayQueueError(`saved queue has unsupported version ${JSON.stringify(v.version)}`);
    if (!Array.isArray(v.items)) throw new PlayQueueError('saved queue: items must be an array');
    const q = new PlayQueue(opts);
    if (v.items.length > q.maxItems) throw new PlayQueueError(`saved queue: ${v.items.length} items exceeds the limit of ${q.maxItems}`);
    v.items.forEach((id, i) => {
      try {
        checkId(id);
      } catch {
        throw new PlayQueueError(`saved queue: item ${i} is not a valid track id`);
      }
    });
    const index = v.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < -1 || index >= v.items.length) {
      throw new PlayQueueError(`saved queue: index ${JSON.stringify(index)} out of range for ${v.items.length} items`);
    }
    if (v.repeat !== undefined && v.repeat !== 'all' && v.repeat !== 'none') throw new PlayQueueError(`saved queue: repeat must be 'all' or 'none'`);
    q.items = [...(v.items as string[])];
    q.index = index as number;
    if (v.repeat) q.repeat = v.repeat as Repeat;
    return q;
  }

  private ensureRoom(): void {
    if (this.items.length >= this.maxItems) throw new PlayQueueError(`queue is full (${this.maxItems} items)`);
  }
}
