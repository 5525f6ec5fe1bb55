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
import { isQueueTrack, sourceLabel, trackIdOf, type SourceSpec } from './sources/source-spec.ts';
import { SourceSequence, remainingFrames, type NextTrack } from './source-sequence.ts';
import { SlotTimeline } from './slot-timeline.ts';
import { DEFAULT_FORMAT, framesPerChunk, framesToUs, type CodecName, type PcmFormat } from '../wire/format.ts';
import { FrameType, PROTOCOL_VERSION, type CodecHeaderFrame } from '../wire/frames.ts';
import { monotonicUs } from '../util/time.ts';

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

interface Announce {
  trackId: string | null;
  spec: SourceSpec | null;
  offset: number;
  title?: StreamTitle | null;
}

const MAX_SWITCHES_PER_CHUNK = 8; // bounds the loop when many tracks fail in a row

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
  /** what plays now and next */
  private readonly sources: SourceSequence;
  private paused = false;
  /** a fade-out under way: the gain now, its decrease per frame, and what follows it */
  private fade: { gain: number; step: number; then: 'skip' | 'stop' } | null = null;
  private unreportedErrors = 0;
  private errorReportedAt = -Infinity; // µs
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private readonly timeline: SlotTimeline;
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
    this.timeline = new SlotTimeline(this.chunkUs, this.latencyMs);
    this.clock = opts.clock ?? monotonicUs;
    this.codecs = [...new Set<CodecName>(opts.codecs ?? ['opus', 'pcm'])];
    this.fifo = new FifoRing(Math.max(1, Math.round(((opts.fifoSeconds ?? 5) * 1000) / this.chunkMs)));
    this.overlay = new OverlayMixer(this.format, opts.duckRampMs ?? 300);
    this.crossfade = new Crossfade(this.format.channels, Math.round(((opts.crossfadeMs ?? 0) * this.format.sampleRate) / 1000));
    this.sources = new SourceSequence(this.format, this.framesPerChunk, this.crossfade, opts, (error) => this.failed(error, this.clock()));
  }

  get running(): boolean {
    return this.started;
  }
  get state(): EngineState {
    return !this.sources.current ? 'idle' : this.paused ? 'paused' : 'playing';
  }
  get currentSpec(): SourceSpec | null {
    return this.sources.current?.spec ?? null;
  }
  get currentTrackId(): string | null {
    const cur = this.sources.current;
    return cur ? trackIdOf(cur.spec) : null;
  }
  /** position of the current track in what has been produced (listeners hear it latencyMs later) */
  get positionMs(): number {
    const cur = this.sources.current;
    if (!cur) return 0;
    const start = cur.spec.kind === 'file' ? (cur.spec.startMs ?? 0) : 0;
    return start + (cur.framesRead * 1000) / this.format.sampleRate;
  }

  /** how much of the current item is still to be produced, when its source knows (a file does; a stream does not) */
  get remainingMs(): number | null {
    const cur = this.sources.current;
    const left = cur ? remainingFrames(cur.source) : null;
    return left === null ? null : (left * 1000) / this.format.sampleRate;
  }

  /** The encoder look-ahead of `codec`, for the codec header. */
  codecDelayFrames(codec: CodecName): number {
    return this.ensureEncoders().codecDelayFrames(codec);
  }

  /** What a listener in `codec` is told first about the stream it joins (firmware/wire/PROTOCOL.md, the codec header). */
  codecHeader(codec: CodecName): CodecHeaderFrame {
    return {
      type: FrameType.CodecHeader,
      version: PROTOCOL_VERSION,
      codec,
      sampleRate: this.format.sampleRate,
      channels: this.format.channels,
      bitsPerSample: this.format.bitsPerSample,
      chunkMs: this.chunkMs,
      codecDelayFrames: this.codecDelayFrames(codec),
      latencyMs: this.latencyMs,
    };
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
    this.timeline.start(this.clock());
    this.tick();
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sources.close();
    this.crossfade.cancel();
    this.overlay.clear();
    this.encoders?.close();
    this.encoders = null;
  }

  /** Plays `spec` from the next chunk on (null: nothing). Queue mode continues after a file. */
  setSource(spec: SourceSpec | null): void {
    this.fade = null;
    this.crossfade.cancel();
    this.sources.set(spec);
    this.paused = false;
  }

  pause(): void {
    if (this.sources.current) this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }

  /** Jumps to the next track now (queue mode), or stops a non-queue source. */
  skip(): void {
    this.fade = null;
    this.crossfade.cancel();
    this.sources.advance();
  }

  /**
   * Fades what plays out over `ms` from the next chunk, then skips to the next track
   * or stops (a programme's interrupting news, closing time). Replaces a fade under way.
   */
  fadeOut(ms: number, then: 'skip' | 'stop'): void {
    if (!this.sources.current) return;
    const frames = Math.max(1, Math.round((ms * this.format.sampleRate) / 1000));
    this.fade = { step: 1 / frames, gain: this.fade?.gain ?? 1, then };
  }

  /**
   * Forgets the pre-opened next track (the queue changed after it was asked for);
   * nextTrack() is asked again when the current track ends.
   */
  dropPrefetched(): void {
    this.sources.dropPrefetched();
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
    if (now - this.timeline.slotUs > maxStallUs) {
      // stalled too long to catch up: restart the timeline now, tell listeners
      this.timeline.start(now);
      this.stallGap = true;
      this.stats.stalls++;
    }
    for (let budget = Math.ceil(maxStallUs / this.chunkUs) + 2; budget > 0 && this.started && this.timeline.nextDueUs(now, this.sources.current?.source) <= now; budget--) {
      try {
        this.produce(this.timeline.slotUs);
      } catch (err) {
        this.failed(err as Error, now);
      }
      this.timeline.next();
    }
    if (!this.started) return; // stopped by a listener
    const at = this.clock();
    this.timer = setTimeout(this.tick, Math.max(0, (this.timeline.nextDueUs(at, this.sources.current?.source) - at) / 1000));
  };

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
    if (!this.fade) this.sources.maybeCrossfade();
    for (let switches = 0; this.sources.current && filled < fpc && switches <= MAX_SWITCHES_PER_CHUNK; ) {
      const cur = this.sources.current;
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
      if (!this.sources.advance(filled)) break;
    }
    this.crossfade.mix(pcm);
    this.sources.maybePrefetch();
    return { pcm, trackId, announce: this.takeIdle(announce) };
  }

  private takeIdle(announce: Announce[]): Announce[] {
    const idleAt = this.sources.takeIdle();
    if (idleAt !== null) announce.push({ trackId: null, spec: null, offset: idleAt });
    return announce;
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
    else this.sources.advance();
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
