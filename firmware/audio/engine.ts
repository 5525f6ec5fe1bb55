// The real-time producer: every 20 ms of clock it pulls one chunk of PCM from the
// current source and pushes it into the FIFO with playAt = capture time + latency
// (at full scale: the box volume is its own speaker's, listeners set their own); the chunk is encoded in the codecs someone listens to
// (codecs/on-demand-encoders.ts), not in every codec the box offers. Chunks keep flowing while paused
// or idle (silence), so listeners keep their clocks and buffers.

import { EventEmitter } from 'node:events';
import type { PcmSource, ChunkEncoder, StreamTitle } from './types.ts';
import { FifoRing, type Chunk } from './fifo.ts';
import { Crossfade } from './crossfade.ts';
import { OverlayMixer } from './overlay-mixer.ts';
import { createEncoder as defaultCreateEncoder } from './codecs/index.ts';
import { OnDemandEncoders, type CodecDemand } from './codecs/on-demand-encoders.ts';
import { defaultOpenSource, isQueueTrack, sourceLabel, trackIdOf, type SourceSpec } from './sources/source-spec.ts';
import { DEFAULT_FORMAT, framesPerChunk, framesToUs, type CodecName, type PcmFormat } from '../wire/format.ts';
import { monotonicUs } from '../util/time.ts';

/** the queue's next track: a file (at `gainDb`, the loudness gain), or (`spec`) another kind of source, such as a music server's track */
export interface NextTrack {
  path: string;
  trackId: string;
  gainDb?: number;
  spec?: SourceSpec;
  /** fade into it from the track before (when `crossfadeMs` is set); false: gapless, as the next track of an album */
  crossfade?: boolean;
}
/**
 * What listeners hear changes at playAt (µs, server clock); trackId null = nothing / not a
 * library track. `title`: what a live stream says it plays now (ICY), when it says.
 */
export interface TrackEvent {
  trackId: string | null;
  spec: SourceSpec | null;
  playAt: number;
  title?: StreamTitle | null;
}
export interface SourceErrorEvent {
  path: string;
  error: Error;
}
export type EngineState = 'playing' | 'paused' | 'idle';

export interface AudioEngineEvents {
  chunk: [Chunk];
  track: [TrackEvent];
  'source-error': [SourceErrorEvent];
  /**
   * producing a chunk (or asking for the next track) failed; told at once, then at most
   * once per PRODUCE_ERROR_REPORT_MS with how many failures there were since the last
   * report, so a failing source cannot flood the log or the event topic
   */
  'produce-error': [{ error: Error; count: number }];
}

const PRODUCE_ERROR_REPORT_MS = 10_000;

export interface AudioEngineOptions {
  format?: PcmFormat;
  chunkMs?: number; // default 20
  latencyMs?: number; // default 400
  codecs?: CodecName[]; // default ['opus', 'pcm']
  fifoSeconds?: number; // default 5
  clock?: () => number; // µs, default monotonicUs
  openSource?: (spec: SourceSpec) => PcmSource;
  /** queue mode: asked for the track after the current file (when pre-opening it or when it ends) */
  nextTrack?: () => NextTrack | null;
  /** pre-open the next track this long before the current one ends (default 3000) */
  preopenMs?: number;
  bitrate?: number;
  createEncoder?: (codec: CodecName, format: PcmFormat, opts: { chunkMs: number; bitrate?: number }) => ChunkEncoder;
  /** a stall longer than this resets the timeline instead of catching up (default 1000) */
  maxStallMs?: number;
  /** how long the music takes to duck under an overlay and to come back (default 300) */
  duckRampMs?: number;
  /** queue tracks that ask for it overlap by this much, one fading out as the next fades in (default 0: back to back) */
  crossfadeMs?: number;
}

export interface EngineStats {
  chunks: number;
  sourceUnderruns: number;
  stalls: number;
  errors: number;
}

/** `gain`: the linear gain applied to the source's samples (1: none) */
interface Current {
  spec: SourceSpec;
  source: PcmSource;
  framesRead: number;
  heard: boolean;
  gain: number;
  title: StreamTitle | null;
  /** the track before it fades into it */
  crossfade: boolean;
}
interface Announce {
  trackId: string | null;
  spec: SourceSpec | null;
  offset: number;
  title?: StreamTitle | null;
}

const MAX_SWITCHES_PER_CHUNK = 8; // bounds the loop when many tracks fail in a row
/** a live input's slot needs its frames read this far past its end (the capture clock's correction window) */
const LIVE_READ_MARGIN_US = 1000;
/** while a live input's frames are not read yet, the engine looks again this often */
const LIVE_RECHECK_US = 3000;
/**
 * ...and, first finding them unread past its hold (the whole process was held up, its timers all due at once),
 * gives the read loop this long to catch up before the slot goes out with what there is
 */
const LIVE_CATCH_UP_US = 30_000;

/** frames a source still has before its end, if it knows (FileSource after decoding, timed ToneSource) */
function remainingFrames(source: PcmSource): number | null {
  const f = (source as { remainingFrames?: () => number | null }).remainingFrames;
  return typeof f === 'function' ? f.call(source) : null;
}

export class AudioEngine extends EventEmitter<AudioEngineEvents> implements CodecDemand {
  readonly format: PcmFormat;
  readonly chunkMs: number;
  readonly latencyMs: number;
  readonly framesPerChunk: number;
  readonly fifo: FifoRing;
  /** announcements (and their chimes) mixed over the music, which ducks under them */
  readonly overlay: OverlayMixer;
  private readonly crossfade: Crossfade;
  readonly stats: EngineStats = { chunks: 0, sourceUnderruns: 0, stalls: 0, errors: 0 };
  lastError: Error | null = null;
  private readonly options: AudioEngineOptions;
  private readonly clock: () => number;
  private readonly chunkUs: number;
  private readonly codecs: CodecName[];
  private encoders: OnDemandEncoders | null = null;
  private cur: Current | null = null;
  private prefetched: Current | null = null;
  private prefetchAsked = false;
  private idleAt: number | null = null; // frame offset in the next chunk where nothing plays any more
  private paused = false;
  /** a fade-out under way: the gain now, its decrease per frame, and what follows it */
  private fade: { gain: number; step: number; then: 'skip' | 'stop' } | null = null;
  private unreportedErrors = 0;
  private errorReportedAt = -Infinity; // µs
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private t0 = 0; // capture time of chunk n = t0 + n·chunkUs
  private n = 0;
  private unreadSlot = -1; // the slot whose live frames the engine last found unread, and since when
  private unreadSinceUs = 0;
  private seq = 0;
  private stallGap = false;

  constructor(opts: AudioEngineOptions = {}) {
    super();
    this.options = opts;
    this.format = opts.format ?? DEFAULT_FORMAT;
    this.chunkMs = opts.chunkMs ?? 20;
    this.latencyMs = opts.latencyMs ?? 400;
    if (!(this.chunkMs > 0) || !(this.latencyMs >= 0)) throw new RangeError(`engine: chunkMs must be > 0 and latencyMs ≥ 0 (got ${this.chunkMs}, ${this.latencyMs})`);
    this.framesPerChunk = framesPerChunk(this.format, this.chunkMs);
    this.chunkUs = this.chunkMs * 1000;
    this.clock = opts.clock ?? monotonicUs;
    this.codecs = [...new Set<CodecName>(opts.codecs ?? ['opus', 'pcm'])];
    this.fifo = new FifoRing(Math.max(1, Math.round(((opts.fifoSeconds ?? 5) * 1000) / this.chunkMs)));
    this.overlay = new OverlayMixer(this.format, opts.duckRampMs ?? 300);
    this.crossfade = new Crossfade(this.format.channels, Math.round(((opts.crossfadeMs ?? 0) * this.format.sampleRate) / 1000));
  }

  get running(): boolean {
    return this.started;
  }
  get state(): EngineState {
    return !this.cur ? 'idle' : this.paused ? 'paused' : 'playing';
  }
  get currentSpec(): SourceSpec | null {
    return this.cur?.spec ?? null;
  }
  get currentTrackId(): string | null {
    return this.cur ? trackIdOf(this.cur.spec) : null;
  }
  /** position of the current track in what has been produced (listeners hear it latencyMs later) */
  get positionMs(): number {
    if (!this.cur) return 0;
    const start = this.cur.spec.kind === 'file' ? (this.cur.spec.startMs ?? 0) : 0;
    return start + (this.cur.framesRead * 1000) / this.format.sampleRate;
  }

  /** how much of the current item is still to be produced, when its source knows (a file does; a stream does not) */
  get remainingMs(): number | null {
    const left = this.cur ? remainingFrames(this.cur.source) : null;
    return left === null ? null : (left * 1000) / this.format.sampleRate;
  }

  /** The encoder look-ahead of `codec`, for the codec header. */
  codecDelayFrames(codec: CodecName): number {
    return this.ensureEncoders().codecDelayFrames(codec);
  }

  /** A listener in `codec` reads from `fromSeq`: encodes the backlog now if it is the codec's first (CodecDemand). */
  acquire(codec: CodecName, fromSeq: number): number {
    return this.ensureEncoders().acquire(codec, fromSeq);
  }

  release(codec: CodecName): void {
    this.encoders?.release(codec);
  }

  /** the codecs chunks are being encoded in now */
  get encoding(): CodecName[] {
    return this.encoders?.active ?? [];
  }

  /** chunks encoded in `codec` since start (each exactly once, however many listen) */
  encodedChunks(codec: CodecName): number {
    return this.encoders?.encodedChunks(codec) ?? 0;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.ensureEncoders();
    this.t0 = this.clock();
    this.n = 0;
    this.unreadSlot = -1;
    this.tick();
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeSource(this.cur);
    this.closeSource(this.prefetched);
    this.crossfade.cancel();
    this.cur = this.prefetched = null;
    this.overlay.clear();
    this.encoders?.close();
    this.encoders = null;
  }

  /** Plays `spec` from the next chunk on (null: nothing). Queue mode continues after a file. */
  setSource(spec: SourceSpec | null): void {
    this.fade = null;
    this.crossfade.cancel();
    this.closeSource(this.cur);
    this.closeSource(this.prefetched);
    this.prefetched = null;
    this.cur = spec ? this.open(spec) : null;
    this.prefetchAsked = false;
    this.paused = false;
    if (!this.cur) this.idleAt = 0;
  }

  pause(): void {
    if (this.cur) this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }

  /** Jumps to the next track now (queue mode), or stops a non-queue source. */
  skip(): void {
    this.fade = null;
    this.crossfade.cancel();
    this.advance();
  }

  /**
   * Fades what plays out over `ms` from the next chunk, then skips to the next track
   * or stops (a programme's interrupting news, closing time). Replaces a fade under way.
   */
  fadeOut(ms: number, then: 'skip' | 'stop'): void {
    if (!this.cur) return;
    const frames = Math.max(1, Math.round((ms * this.format.sampleRate) / 1000));
    this.fade = { step: 1 / frames, gain: this.fade?.gain ?? 1, then };
  }

  /**
   * Forgets the pre-opened next track (the queue changed after it was asked for);
   * nextTrack() is asked again when the current track ends.
   */
  dropPrefetched(): void {
    this.closeSource(this.prefetched);
    this.prefetched = null;
  }

  private ensureEncoders(): OnDemandEncoders {
    if (this.encoders) return this.encoders;
    const make = this.options.createEncoder ?? defaultCreateEncoder;
    this.encoders = new OnDemandEncoders(this.fifo, this.codecs, (c): ChunkEncoder => make(c, this.format, { chunkMs: this.chunkMs, bitrate: this.options.bitrate }));
    return this.encoders;
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (!this.started) return;
    const now = this.clock();
    const maxStallUs = (this.options.maxStallMs ?? 1000) * 1000;
    if (now - (this.t0 + this.n * this.chunkUs) > maxStallUs) {
      // stalled too long to catch up: restart the timeline now, tell listeners
      this.t0 = now;
      this.n = 0;
      this.unreadSlot = -1;
      this.stallGap = true;
      this.stats.stalls++;
    }
    for (let budget = Math.ceil(maxStallUs / this.chunkUs) + 2; budget > 0 && this.started && this.nextDueUs(now) <= now; budget--) {
      try {
        this.produce(this.t0 + this.n * this.chunkUs);
      } catch (err) {
        this.failed(err as Error, now);
      }
      this.n++;
    }
    if (!this.started) return; // stopped by a listener
    const at = this.clock();
    this.timer = setTimeout(this.tick, Math.max(0, (this.nextDueUs(at) - at) / 1000));
  };

  /**
   * When the next slot may be produced. A live input's slot comes `inputDelayUs` after its
   * instant, once its frames have been captured and read; frames not read by then (its read
   * loop fell behind a stalled event loop) are waited for, looking again every few
   * milliseconds, for a quarter of the stream latency; found unread only after that (the
   * whole process was held up, and its timers came due together), for LIVE_CATCH_UP_US
   * more, never past three quarters of the latency (README "Live input").
   */
  private nextDueUs(now: number): number {
    const slot = this.t0 + this.n * this.chunkUs;
    const source = this.cur?.source;
    const due = slot + (source?.inputDelayUs ?? 0);
    const readUntil = source?.capturedUntilUs;
    if (readUntil === undefined || readUntil >= slot + this.chunkUs + LIVE_READ_MARGIN_US) return due;
    if (this.unreadSlot !== this.n) {
      this.unreadSlot = this.n;
      this.unreadSinceUs = now;
    }
    const giveUpUs = Math.max(due + this.latencyMs * 250, Math.min(this.unreadSinceUs + LIVE_CATCH_UP_US, slot + this.latencyMs * 750));
    if (now >= giveUpUs) return due;
    return Math.max(due, Math.min(now + LIVE_RECHECK_US, giveUpUs));
  }

  private produce(captureUs: number): void {
    const { pcm, trackId, announce } = this.fill(captureUs);
    this.applyFade(pcm);
    this.overlay.mix(pcm);
    const chunk: Chunk = { seq: this.seq++, playAt: captureUs + this.latencyMs * 1000, pcm, payloads: new Map() };
    if (trackId) chunk.trackId = trackId;
    if (this.stallGap) {
      chunk.gap = true;
      this.stallGap = false;
    }
    this.fifo.push(chunk);
    this.encoders?.push(chunk);
    this.stats.chunks++;
    for (const a of announce) {
      this.emit('track', { trackId: a.trackId, spec: a.spec, playAt: chunk.playAt + framesToUs(a.offset, this.format), ...(a.title && { title: a.title }) });
    }
    this.emit('chunk', chunk);
  }

  /** Builds one chunk of PCM, crossing into the next source when one ends (gapless). */
  private fill(slotUs: number): { pcm: Int16Array; trackId?: string; announce: Announce[] } {
    const fpc = this.framesPerChunk;
    const ch = this.format.channels;
    const pcm = new Int16Array(fpc * ch);
    const announce: Announce[] = [];
    let trackId: string | undefined;
    let filled = 0;
    if (this.paused) return { pcm, announce: this.takeIdle(announce) };
    this.maybeCrossfade();
    for (let switches = 0; this.cur && filled < fpc && switches <= MAX_SWITCHES_PER_CHUNK; ) {
      const cur = this.cur;
      const got = cur.source.error ? new Int16Array(0) : cur.source.read(fpc - filled, slotUs + framesToUs(filled, this.format));
      const frames = got.length / ch;
      if (frames > 0) {
        const title = cur.source.streamTitle ?? null;
        if (!cur.heard || title !== cur.title) {
          // a stream's new title is heard from here on, like a new track
          cur.heard = true;
          cur.title = title;
          announce.push({ trackId: trackIdOf(cur.spec), spec: cur.spec, offset: filled, ...(title && { title }) });
        }
        if (filled === 0 && isQueueTrack(cur.spec)) trackId = trackIdOf(cur.spec) ?? undefined;
        if (cur.gain === 1) pcm.set(got, filled * ch);
        else applyGain(got, cur.gain, pcm, filled * ch);
        filled += frames;
        cur.framesRead += frames;
      }
      if (filled >= fpc) break;
      if (cur.source.error) {
        this.emit('source-error', { path: sourceLabel(cur.spec), error: cur.source.error });
      } else if (!cur.source.ended) {
        this.stats.sourceUnderruns++; // behind (or a pipe writer paused): the rest is silence
        break;
      }
      switches++;
      if (!this.advance(filled)) break;
    }
    this.crossfade.mix(pcm);
    this.maybePrefetch();
    return { pcm, trackId, announce: this.takeIdle(announce) };
  }

  /** The current track is within the crossfade of its end and the next, open, asks for one: the next starts now, over it. */
  private maybeCrossfade(): void {
    const cur = this.cur;
    const next = this.prefetched;
    if (!cur || !next?.crossfade || this.fade || !isQueueTrack(cur.spec) || cur.source.error) return;
    const left = remainingFrames(cur.source);
    if (left === null || !this.crossfade.due(left, this.framesPerChunk)) return;
    this.crossfade.start({ source: cur.source, gain: cur.gain }, left);
    this.prefetched = null;
    this.prefetchAsked = false;
    this.cur = next;
  }

  private takeIdle(announce: Announce[]): Announce[] {
    if (this.idleAt !== null) announce.push({ trackId: null, spec: null, offset: this.idleAt });
    this.idleAt = null;
    return announce;
  }

  /** Moves to the next source; false when there is none (idle). */
  private advance(offset = 0): boolean {
    const old = this.cur;
    this.closeSource(old);
    let next = this.prefetched;
    this.prefetched = null;
    this.prefetchAsked = false;
    if (!next && (old === null || isQueueTrack(old.spec))) next = this.openNextTrack();
    this.cur = next;
    if (!next && old) this.idleAt = offset;
    return next !== null;
  }

  private maybePrefetch(): void {
    const cur = this.cur;
    if (!cur || this.prefetched || this.prefetchAsked || !this.options.nextTrack || !isQueueTrack(cur.spec)) return;
    const left = remainingFrames(cur.source);
    const preopen = Math.max(((this.options.preopenMs ?? 3000) * this.format.sampleRate) / 1000, this.crossfade.maxFrames + this.format.sampleRate);
    if (left === null || left > preopen) return;
    this.prefetchAsked = true;
    this.prefetched = this.openNextTrack();
  }

  private openNextTrack(): Current | null {
    if (!this.options.nextTrack) return null;
    let t: NextTrack | null;
    try {
      t = this.options.nextTrack();
    } catch (err) {
      this.failed(err as Error, this.clock());
      return null;
    }
    if (!t) return null;
    const next = this.open(t.spec ?? { kind: 'file', path: t.path, trackId: t.trackId, ...(t.gainDb ? { gainDb: t.gainDb } : {}) });
    next.crossfade = t.crossfade ?? false;
    return next;
  }

  /** Opens a source; a source that cannot even be constructed becomes an already-failed one. */
  private open(given: SourceSpec): Current {
    // a crossfade longer than the decoder's usual look-ahead needs the file's end known that early
    const spec =
      given.kind === 'file' && this.crossfade.maxFrames > 2 * this.format.sampleRate
        ? { ...given, bufferMs: (this.crossfade.maxFrames * 1000) / this.format.sampleRate + 1500 }
        : given;
    let source: PcmSource;
    try {
      source = (this.options.openSource ?? ((s: SourceSpec) => defaultOpenSource(s, this.format)))(spec);
    } catch (err) {
      source = failedSource(spec, err as Error);
    }
    const gainDb = spec.kind === 'file' ? (spec.gainDb ?? 0) : 0;
    return { spec, source, framesRead: 0, heard: false, gain: Number.isFinite(gainDb) ? 10 ** (gainDb / 20) : 1, title: null, crossfade: false };
  }

  private closeSource(c: Current | null): void {
    try {
      c?.source.close();
    } catch {
      /* closing is best effort */
    }
  }

  /** ramps this chunk down; once silent, the fade's follow-up happens for the next chunk */
  private applyFade(pcm: Int16Array): void {
    const fade = this.fade;
    if (!fade) return;
    const ch = this.format.channels;
    for (let frame = 0; frame < pcm.length / ch; frame++) {
      fade.gain = Math.max(0, fade.gain - fade.step);
      for (let c = 0; c < ch; c++) pcm[frame * ch + c] = Math.round(pcm[frame * ch + c]! * fade.gain);
    }
    if (fade.gain > 0) return;
    this.fade = null;
    this.crossfade.cancel();
    if (fade.then === 'stop') this.setSource(null);
    else this.advance();
  }

  private failed(error: Error, nowUs: number): void {
    this.stats.errors++;
    this.lastError = error;
    this.unreportedErrors++;
    if (nowUs - this.errorReportedAt < PRODUCE_ERROR_REPORT_MS * 1000) return;
    this.errorReportedAt = nowUs;
    this.emit('produce-error', { error, count: this.unreportedErrors });
    this.unreportedErrors = 0;
  }
}

/** copies `from` into `to` at `offset` with a gain; the loudness gain already keeps the true peak under the ceiling, the clamp is the last guard */
function applyGain(from: Int16Array, gain: number, to: Int16Array, offset: number): void {
  for (let i = 0; i < from.length; i++) {
    const v = Math.round(from[i]! * gain);
    to[offset + i] = v > 32767 ? 32767 : Math.max(v, -32768);
  }
}

function failedSource(spec: SourceSpec, error: Error): PcmSource {
  return {
    kind: spec.kind,
    description: `${spec.kind} ${sourceLabel(spec)}`,
    ended: false,
    error,
    read: () => new Int16Array(0),
    close: () => {},
  };
}
