// Player: stream frames in, synchronized sound out. Decodes each chunk once, maps
// its server playAt to the local clock and hands it to the PlayoutScheduler.
// No networking: the stream client feeds onCodecHeader/onAudio and runs the
// time-sync exchanges that keep `clockSync` current. The box's own speaker feeds
// the engine's PCM straight in (playLocal/onPcm): no codec between them.

import type { ClockSync } from '../../firmware/wire/clock.ts';
import type { AudioFrame, CodecHeaderFrame } from '../../firmware/wire/frames.ts';
import { framesPerChunk, type CodecName, type PcmFormat } from '../../firmware/wire/format.ts';
import type { ChunkDecoder } from '../../firmware/audio/types.ts';
import type { PcmSink } from '../../hardware/audio/pcm-sink.ts';
import { PlayoutScheduler } from './scheduler.ts';
import type { SchedulerOptions, SchedulerStats } from './scheduler-types.ts';

export type DecoderFactory = (header: CodecHeaderFrame) => ChunkDecoder;

export interface PlayerOptions extends SchedulerOptions {
  sink: PcmSink;
  clockSync: ClockSync;
  /** how stream frames are decoded (not needed by a player fed PCM with onPcm) */
  decoderFactory?: DecoderFactory;
  /** missing chunks (seq hole, no gap flag) filled by decoder concealment; longer holes stay silent (default 5) */
  maxConcealChunks?: number;
  /** decoded chunks held while the clock is not yet synced (default 250 = 5 s of 20 ms chunks) */
  maxPendingChunks?: number;
}

export interface PlayerStats extends SchedulerStats {
  codec: CodecName | null;
  clockSynced: boolean;
  chunks: number; // audio frames accepted
  concealedChunks: number;
  decodeErrors: number;
  discardedChunks: number; // duplicates, stale reorders, audio before a codec header
  restarts: number; // stream timeline restarted (flush)
}

/**
 * Local playAt of a decoded chunk. The decoder's output lags the source by
 * `codecDelayFrames`: the chunk's first decoded sample carries source content from
 * that many frames BEFORE the chunk's first source sample, so it is due that much
 * EARLIER than the chunk's playAt.
 */
export function decodedPlayAtUs(serverPlayAtUs: number, codecDelayFrames: number, sampleRate: number): number {
  return serverPlayAtUs - (codecDelayFrames * 1e6) / sampleRate;
}

/** where a chunk sits on the stream's timeline */
export interface ChunkPlace {
  seq: number;
  /** server clock, µs */
  playAt: number;
  /** the box skipped ahead (a listener moved to the live edge, or the engine stalled) */
  gap: boolean;
}

/** what the player needs to know of the stream's timing */
interface Timing {
  chunkMs: number;
  codecDelayFrames: number;
}

interface Pending {
  serverPlayAt: number;
  pcm: Int16Array;
  seq: number;
}

const SEQ_HALF = 0x8000_0000;

export class Player {
  readonly scheduler: PlayoutScheduler;
  private readonly sink: PcmSink;
  private readonly clockSync: ClockSync;
  private readonly decoderFactory: DecoderFactory | null;
  private readonly maxConceal: number;
  private readonly maxPending: number;
  private header: CodecHeaderFrame | null = null;

  /** the stream's current codec header (null before the first) */
  get codecHeader(): CodecHeaderFrame | null {
    return this.header;
  }
  private decoder: ChunkDecoder | null = null;
  private timing: Timing | null = null;
  private lastSeq: number | null = null;
  private lastPlayAt = 0; // server clock
  private pending: Pending[] = [];
  private counters = { chunks: 0, concealedChunks: 0, decodeErrors: 0, discardedChunks: 0, restarts: 0 };

  constructor(opts: PlayerOptions) {
    const { sink, clockSync, decoderFactory, maxConcealChunks, maxPendingChunks, ...schedOpts } = opts;
    this.sink = sink;
    this.clockSync = clockSync;
    this.decoderFactory = decoderFactory ?? null;
    this.maxConceal = maxConcealChunks ?? 5;
    this.maxPending = maxPendingChunks ?? 250;
    this.scheduler = new PlayoutScheduler(sink, schedOpts);
  }

  get format(): PcmFormat {
    return this.sink.format;
  }

  /** A (new) codec header: new decoder; the timeline restarts if one was playing. */
  onCodecHeader(h: CodecHeaderFrame): void {
    const f = this.sink.format;
    if (h.sampleRate !== f.sampleRate || h.channels !== f.channels || h.bitsPerSample !== f.bitsPerSample) {
      throw new Error(
        `player: stream format ${h.sampleRate} Hz × ${h.channels} ch × ${h.bitsPerSample} bit does not match the device (${f.sampleRate} Hz × ${f.channels} ch × ${f.bitsPerSample} bit)`,
      );
    }
    if (!this.decoderFactory) throw new Error('player: this player plays local PCM only (no decoderFactory)');
    const decoder = this.decoderFactory(h);
    this.decoder?.close();
    if (this.timing) this.restart();
    this.header = h;
    this.decoder = decoder;
    this.timing = { chunkMs: h.chunkMs, codecDelayFrames: h.codecDelayFrames };
  }

  /** PCM in the sink's format straight from the box's engine, chunks of chunkMs: no codec, no codec delay. */
  playLocal(chunkMs: number): void {
    this.decoder?.close();
    this.decoder = null;
    if (this.timing) this.restart();
    this.header = null;
    this.timing = { chunkMs, codecDelayFrames: 0 };
  }

  onAudio(frame: AudioFrame): void {
    const decoder = this.decoder;
    if (!decoder) {
      this.counters.discardedChunks++;
      return;
    }
    // decoded only once placed: a duplicate decoded out of order would disturb the decoder's state
    this.place(frame, (chunkFrames) => {
      try {
        return decoder.decode(frame.payload);
      } catch {
        this.counters.decodeErrors++;
        return decoder.conceal(chunkFrames);
      }
    });
  }

  /** A chunk of PCM (after playLocal). */
  onPcm(at: ChunkPlace, pcm: Int16Array): void {
    if (!this.timing || this.decoder) {
      this.counters.discardedChunks++;
      return;
    }
    this.place(at, () => pcm);
  }

  /** Puts a chunk on the timeline: drops duplicates, conceals short holes, restarts when the stream did. */
  private place(frame: ChunkPlace, pcmOf: (chunkFrames: number) => Int16Array): void {
    const timing = this.timing!;
    const chunkFrames = framesPerChunk(this.format, timing.chunkMs);
    const chunkUs = timing.chunkMs * 1000;
    if (this.lastSeq !== null) {
      const delta = (frame.seq - this.lastSeq) >>> 0;
      const expectedAt = this.lastPlayAt + chunkUs * (delta < SEQ_HALF ? delta : delta - 2 ** 32);
      const onTime = Math.abs(frame.playAt - expectedAt) < chunkUs / 2;
      const stale = delta === 0 || delta >= SEQ_HALF;
      if (stale && onTime) {
        // duplicate or overtaken chunk: its slot was already decoded or concealed,
        // and an out-of-order decode would disturb the decoder state
        this.counters.discardedChunks++;
        return;
      }
      if (stale || frame.playAt < this.lastPlayAt - chunkUs / 2) {
        this.restart(); // seq or time went backwards: the box started a new stream
      } else if (!frame.gap && delta > 1 && delta - 1 <= this.maxConceal && onTime) {
        for (let i = 1; i < delta; i++) {
          const filler = this.decoder?.conceal(chunkFrames) ?? new Int16Array(chunkFrames * this.format.channels);
          this.enqueue({ serverPlayAt: this.lastPlayAt + i * chunkUs, pcm: filler, seq: (this.lastSeq + i) >>> 0 }, timing);
          this.counters.concealedChunks++;
        }
      }
      // a gap (listener moved to the live edge) or a long hole needs nothing:
      // the jitter buffer places the chunk by time and plays silence before it
    }
    const pcm = pcmOf(chunkFrames);
    this.lastSeq = frame.seq;
    this.lastPlayAt = frame.playAt;
    this.counters.chunks++;
    this.enqueue({ serverPlayAt: frame.playAt, pcm, seq: frame.seq }, timing);
  }

  /** Holds chunks until the clock is synced, then converts server → local time. */
  private enqueue(p: Pending, timing: Timing): void {
    if (p.pcm.length === 0) return;
    this.pending.push(p);
    if (!this.clockSync.synced) {
      if (this.pending.length > this.maxPending) this.pending.shift();
      return;
    }
    for (const q of this.pending) {
      const serverAt = decodedPlayAtUs(q.serverPlayAt, timing.codecDelayFrames, this.format.sampleRate);
      // source position: chunk seq × chunk length, shifted back by the decoder's delay
      const source = q.seq * framesPerChunk(this.format, timing.chunkMs) - timing.codecDelayFrames;
      this.scheduler.push({ playAt: this.clockSync.toClient(serverAt), pcm: q.pcm, seq: q.seq, source });
    }
    this.pending = [];
  }

  private restart(): void {
    this.scheduler.flush();
    this.pending = [];
    this.lastSeq = null;
    this.counters.restarts++;
  }

  setVolume(volume: number): void {
    this.scheduler.setVolume(volume);
  }

  setMuted(muted: boolean): void {
    this.scheduler.setMuted(muted);
  }

  /** Positive = play earlier (compensates a slow DAC or Bluetooth speaker). */
  setLatencyOffsetMs(ms: number): void {
    this.scheduler.setLatencyOffsetMs(ms);
  }

  stats(): PlayerStats {
    return { ...this.scheduler.stats(), ...this.counters, codec: this.header?.codec ?? null, clockSynced: this.clockSync.synced };
  }

  start(): Promise<void> {
    return this.scheduler.start();
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    this.decoder?.close();
    this.decoder = null;
    this.header = null;
    this.timing = null;
    this.pending = [];
  }
}
