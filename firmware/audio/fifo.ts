// The FIFO: a fixed-capacity ring of timestamped PCM chunks, each carrying its
// payloads in the codecs someone listens to (encoded on demand,
// codecs/on-demand-encoders.ts). The engine pushes one chunk per 20 ms; every
// listener reads through its own cursor. Memory is bounded by the capacity
// whatever the listeners do.

import type { CodecName } from '../wire/format.ts';

export interface Chunk {
  seq: number;
  /** server clock, µs, when the chunk's first sample must leave the DAC */
  playAt: number;
  pcm: Int16Array;
  /** the chunk encoded, once, in each codec someone listened to while it was in the FIFO */
  payloads: Map<CodecName, Uint8Array>;
  trackId?: string;
  /** the producer skipped time before this chunk (event-loop stall): playAt jumps */
  gap?: boolean;
}

export const DEFAULT_FIFO_CHUNKS = 250; // 5 s of 20 ms chunks

export class FifoRing {
  readonly capacity: number;
  private readonly slots: (Chunk | undefined)[];
  private head = 0; // slot index of the oldest chunk
  private count = 0;
  private nextSeq = 0; // seq the next push must carry (or exceed, after clear())
  private seqFloor = 0; // after clear(), any seq >= this is accepted

  constructor(capacity: number = DEFAULT_FIFO_CHUNKS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`FifoRing capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.slots = new Array<Chunk | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }
  /** seq of the oldest chunk held; newestSeq + 1 when empty */
  get oldestSeq(): number {
    return this.nextSeq - this.count;
  }
  /** seq of the newest chunk held; oldestSeq - 1 when empty */
  get newestSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Appends a chunk, evicting the oldest when full. Seqs are consecutive so get()
   * is O(1); after clear() the sequence may resume at any higher seq.
   */
  push(chunk: Chunk): void {
    if (!Number.isSafeInteger(chunk.seq)) throw new RangeError(`chunk seq must be a safe integer, got ${chunk.seq}`);
    const ok = this.count === 0 ? chunk.seq >= this.seqFloor : chunk.seq === this.nextSeq;
    if (!ok) throw new RangeError(`chunk seq ${chunk.seq} out of order: expected ${this.count === 0 ? `>= ${this.seqFloor}` : this.nextSeq}`);
    if (this.count === this.capacity) {
      this.slots[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
    this.slots[(this.head + this.count) % this.capacity] = chunk;
    this.count++;
    this.nextSeq = chunk.seq + 1;
  }

  get(seq: number): Chunk | undefined {
    const i = seq - this.oldestSeq;
    if (!Number.isInteger(i) || i < 0 || i >= this.count) return undefined;
    return this.slots[(this.head + i) % this.capacity];
  }

  newest(): Chunk | undefined {
    return this.get(this.newestSeq);
  }

  /** seq of the first chunk with playAt ≥ us (fast join), or undefined. playAt grows with seq: binary search. */
  firstPlayingAfter(us: number): number | undefined {
    let lo = 0;
    let hi = this.count; // search over [lo, hi)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.slots[(this.head + mid) % this.capacity]!.playAt >= us) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.count ? this.oldestSeq + lo : undefined;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
    this.seqFloor = this.nextSeq;
  }
}

export interface CursorOptions {
  /** seq to read first; default: the next chunk pushed (newestSeq + 1) */
  startSeq?: number;
  /**
   * Where a cursor that fell off the tail resumes. With `clock`, the first chunk whose
   * playAt ≥ clock() + marginUs — the listener still has marginUs to decode and play it.
   * Without, `leadChunks` before the newest chunk (default 5 = 100 ms): with the usual
   * 400 ms latency those chunks still play ~300 ms in the future.
   */
  clock?: () => number;
  marginUs?: number;
  leadChunks?: number;
}

export interface CursorRead {
  chunk: Chunk;
  /** chunks were skipped before this one (cursor moved to the live edge, or producer stall) */
  gap: boolean;
}

/** One listener's read position in a FifoRing. O(1) per call, holds no chunks. */
export class FifoCursor {
  /** seq the next call to next() returns */
  seq: number;
  gaps = 0;
  private pendingGap = false;

  constructor(
    private readonly ring: FifoRing,
    private readonly opts: CursorOptions = {},
  ) {
    this.seq = opts.startSeq ?? ring.newestSeq + 1;
  }

  /** chunks available but not yet read */
  get lag(): number {
    return Math.max(0, this.ring.newestSeq - Math.max(this.seq, this.ring.oldestSeq) + 1);
  }

  next(): CursorRead | undefined {
    const ring = this.ring;
    if (ring.size === 0) return undefined;
    if (this.seq < ring.oldestSeq) {
      this.seq = this.liveEdge();
      this.pendingGap = true;
      this.gaps++;
    }
    const chunk = ring.get(this.seq);
    if (!chunk) return undefined; // caught up
    this.seq++;
    const gap = this.pendingGap || chunk.gap === true;
    this.pendingGap = false;
    return { chunk, gap };
  }

  private liveEdge(): number {
    const ring = this.ring;
    if (this.opts.clock) {
      return ring.firstPlayingAfter(this.opts.clock() + (this.opts.marginUs ?? 100_000)) ?? ring.newestSeq + 1;
    }
    return Math.max(ring.oldestSeq, ring.newestSeq - (this.opts.leadChunks ?? 5));
  }
}
