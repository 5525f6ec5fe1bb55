// Decoded blocks waiting to be played, placed on an integer stream timeline.
//
// Each block gets an integer start index. A block that begins within ±1 ms of
// where its neighbour ends is snapped onto it, so chunk timestamps rounded to µs,
// or nudged by clock-sync updates (tens of µs), never turn into a dropped or
// repeated sample: the stream stays sample-continuous and any timing change is
// left to the scheduler's error measurement and its inaudible soft correction.
// The *time* of an index is always taken from the nearest block's own playAt, so
// the scheduler still sees clock drift and sync updates in its error measurement.

import type { PcmFormat } from '../../firmware/wire/format.ts';

export interface JitterBlock {
  /** local clock, µs: when the block's first frame must leave the DAC */
  playAt: number;
  /** interleaved s16 frames */
  pcm: Int16Array;
  seq: number;
  /**
   * Optional position of the first frame in the SOURCE stream (frames; the same for
   * every listener of one box): lets the scheduler say which stream frame left the
   * DAC when (sync measurement).
   */
  source?: number;
}

/** blocks this close to contiguous are contiguous (well under a 10 ms chunk) */
const SNAP_MS = 1;

export type PushResult = 'added' | 'duplicate' | 'late' | 'invalid';

export interface TakeResult {
  pcm: Int16Array;
  /** frames zero-filled because no block covered them (underrun) */
  missingFrames: number;
  /** where the frames came from: runs of `n` frames from output position `pos`, source NaN for filled holes */
  pieces: SourcePiece[];
}

export interface SourcePiece {
  pos: number;
  n: number;
  source: number;
}

export interface JitterBufferOptions {
  /** audio kept ahead of the read position; older blocks are dropped beyond it (default 5000) */
  maxBufferMs?: number;
}

interface Placed {
  start: number; // stream index of the first frame
  end: number; // exclusive
  playAt: number;
  seq: number;
  source: number; // NaN when unknown
  pcm: Int16Array;
}

export class JitterBuffer {
  private readonly rate: number;
  private readonly ch: number;
  private readonly maxFrames: number;
  private blocks: Placed[] = []; // sorted by start
  private lastRemoved: Placed | null = null; // time reference once everything is consumed
  private cursor = 0; // next stream index to read
  private reading = false; // cursor is meaningful (set by the first seek/take)
  private lastTakeEndUs = NaN;
  dropped = { duplicate: 0, late: 0, overflow: 0 };

  constructor(
    readonly format: PcmFormat,
    opts: JitterBufferOptions = {},
  ) {
    if (!(format.sampleRate > 0) || !(format.channels > 0)) throw new Error('jitter buffer: format needs a positive sampleRate and channels');
    this.rate = format.sampleRate;
    this.ch = format.channels;
    this.maxFrames = Math.round(((opts.maxBufferMs ?? 5000) * this.rate) / 1000);
  }

  private framesToUs(frames: number): number {
    return (frames * 1e6) / this.rate;
  }

  push(block: JitterBlock): PushResult {
    const frames = block.pcm.length / this.ch;
    if (!Number.isFinite(block.playAt) || !Number.isInteger(frames) || frames === 0) return 'invalid';
    const start = this.place(block.playAt, frames);
    const end = start + frames;
    if (this.reading && end <= this.cursor) {
      this.dropped.late++;
      return 'late';
    }
    let i = this.blocks.length;
    while (i > 0 && this.blocks[i - 1]!.start > start) i--;
    const prev = this.blocks[i - 1];
    if ((prev && prev.start === start) || this.blocks.some((b) => b.seq === block.seq && Math.abs(b.start - start) <= frames)) {
      this.dropped.duplicate++;
      return 'duplicate';
    }
    this.blocks.splice(i, 0, { start, end, playAt: block.playAt, seq: block.seq, source: block.source ?? NaN, pcm: block.pcm });
    this.trim();
    return 'added';
  }

  /** Integer start index for a block: snapped to a neighbour when within ±SNAP_MS. */
  private place(playAt: number, frames: number): number {
    const snap = (SNAP_MS * this.rate) / 1000;
    if (this.blocks.length === 0 && !this.lastRemoved) return 0; // anchor
    let prev: Placed | null = this.lastRemoved;
    let next: Placed | null = null;
    for (const b of this.blocks) {
      if (b.playAt <= playAt) prev = b;
      else {
        next = b;
        break;
      }
    }
    if (prev) {
      const d = ((playAt - prev.playAt) * this.rate) / 1e6 - (prev.end - prev.start);
      if (Math.abs(d) <= snap) return prev.end;
    }
    if (next) {
      const d = ((next.playAt - playAt) * this.rate) / 1e6 - frames;
      if (Math.abs(d) <= snap || !prev) return next.start - frames - (Math.abs(d) <= snap ? 0 : Math.round(d));
    }
    return prev!.end + Math.round(((playAt - prev!.playAt) * this.rate) / 1e6 - (prev!.end - prev!.start));
  }

  /** Bounds memory: drops the oldest blocks when more than maxBufferMs is held. */
  private trim(): void {
    while (this.blocks.length > 1 && this.bufferedFrames() > this.maxFrames) {
      this.lastRemoved = this.blocks.shift()!;
      this.dropped.overflow++;
      if (this.reading && this.cursor < this.lastRemoved.end) this.cursor = this.lastRemoved.end;
    }
  }

  get empty(): boolean {
    return this.blocks.length === 0;
  }

  /** playAt of the earliest block held, or null. */
  firstPlayAt(): number | null {
    return this.blocks[0]?.playAt ?? null;
  }

  /** The block used to map time ↔ index around `index`. */
  private refForIndex(index: number): Placed | null {
    let ref: Placed | null = this.lastRemoved;
    for (const b of this.blocks) {
      if (b.start <= index || !ref) ref = b;
      else break;
    }
    return ref;
  }

  /** Local time (µs) at which stream frame `index` is due. NaN when nothing was ever pushed. */
  timeOfIndex(index: number): number {
    const ref = this.refForIndex(index);
    return ref ? ref.playAt + this.framesToUs(index - ref.start) : NaN;
  }

  /** Stream index due at local time `atUs` (nearest frame). */
  indexAt(atUs: number): number {
    let ref: Placed | null = this.lastRemoved;
    for (const b of this.blocks) {
      if (b.playAt <= atUs || !ref) ref = b;
      else break;
    }
    if (!ref) return 0;
    return ref.start + Math.round(((atUs - ref.playAt) * this.rate) / 1e6);
  }

  /** Local time at which the next frame to read is due. */
  get cursorTimeUs(): number {
    return this.timeOfIndex(this.cursor);
  }

  get cursorIndex(): number {
    return this.cursor;
  }

  /** Moves the read position to the frame due at `atUs`. */
  seek(atUs: number): void {
    this.seekIndex(this.indexAt(atUs));
  }

  seekIndex(index: number): void {
    this.cursor = index;
    this.reading = true;
    this.lastTakeEndUs = NaN;
    this.release();
  }

  /** Advances the read position without output (drop frames). */
  skip(frames: number): void {
    this.cursor += frames;
    this.lastTakeEndUs = NaN;
    this.release();
  }

  /** Frames held from the read position (or from the first block before reading starts). */
  bufferedFrames(): number {
    const first = this.blocks[0];
    const last = this.blocks[this.blocks.length - 1];
    if (!first || !last) return 0;
    const from = this.reading ? Math.max(this.cursor, first.start) : first.start;
    return Math.max(0, last.end - from);
  }

  /**
   * The `frames` frames due from local time `atUs`. A take that starts where the
   * previous one ended (within half a frame) continues from the exact read index.
   */
  take(atUs: number, frames: number): TakeResult {
    if (!(Math.abs(atUs - this.lastTakeEndUs) <= this.framesToUs(0.5))) this.seek(atUs);
    const r = this.readNext(frames);
    this.lastTakeEndUs = atUs + this.framesToUs(frames);
    return r;
  }

  /** Reads from the read position; gaps are zero-filled and the position advances regardless. */
  readNext(frames: number): TakeResult {
    if (!Number.isInteger(frames) || frames < 0) throw new Error(`jitter buffer: cannot read ${frames} frames`);
    this.reading = true;
    const ch = this.ch;
    const out = new Int16Array(frames * ch);
    let pos = 0;
    let missing = 0;
    let bi = 0;
    const pieces: SourcePiece[] = [];
    while (pos < frames) {
      while (bi < this.blocks.length && this.blocks[bi]!.end <= this.cursor) bi++;
      const b = this.blocks[bi];
      let n: number;
      if (b && b.start <= this.cursor) {
        n = Math.min(frames - pos, b.end - this.cursor);
        const off = (this.cursor - b.start) * ch;
        out.set(b.pcm.subarray(off, off + n * ch), pos * ch);
        pieces.push({ pos, n, source: b.source + (this.cursor - b.start) });
      } else {
        n = b ? Math.min(frames - pos, b.start - this.cursor) : frames - pos;
        missing += n;
        pieces.push({ pos, n, source: NaN });
      }
      pos += n;
      this.cursor += n;
    }
    this.release();
    this.lastTakeEndUs = NaN;
    return { pcm: out, missingFrames: missing, pieces };
  }

  /** Forgets blocks entirely behind the read position, keeping the last as time reference. */
  private release(): void {
    while (this.blocks[0] && this.blocks[0].end <= this.cursor) this.lastRemoved = this.blocks.shift()!;
  }

  /** Drops everything, including the timeline anchor (gap, format change, new stream). */
  clear(): void {
    this.blocks = [];
    this.lastRemoved = null;
    this.cursor = 0;
    this.reading = false;
    this.lastTakeEndUs = NaN;
  }
}
