// Player: stream frames in, synchronized sound out. Decodes each chunk once, maps
// its server playAt to the local clock and hands it to the PlayoutScheduler.
// No networking: the stream client feeds onCodecHeader/onAudio and runs the
// time-sync exchanges that keep `clockSync` current.

import type { ClockSync } from '../../firmware/wire/clock.ts';
import type { AudioFrame, CodecHeaderFrame } from '../../firmware/wire/frames.ts';
import { framesPerChunk, type CodecName, type PcmFormat } from '../../firmware/wire/format.ts';
import type { ChunkDecoder } from '../../firmware/audio/types.ts';
import type { PcmSink } from '../../hardware/audio/pcm-sink.ts';
import { PlayoutScheduler, type SchedulerOptions, type SchedulerStats } from './scheduler.ts';

export type DecoderFactory = (header: CodecHeaderFrame) => ChunkDecoder;

export interface PlayerOptions extends SchedulerOptions {
  sink: PcmSink;
  clockSync: ClockSync;
  decoderFactory: DecoderFactory;
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
  private readonly decoderFactory: DecoderFactory;
  private readonly maxConceal: number;
  private readonly maxPending: number;
  private header: CodecHeaderFrame | null = null;

  /** the stream's current codec header (null before the first) */
  get codecHeader(): CodecHeaderFrame | null {
    return this.header;
  }
  private decoder: ChunkDecoder | null = null;
  private lastSeq: number | null = null;
  private lastPlayAt = 0; // server clock
  private pending: Pending[] = [];
  private counters = { chunks: 0, concealedChunks: 0, decodeErrors: 0, discardedChunks: 0, restarts: 0 };

  constructor(opts: PlayerOptions) {
    const { sink, clockSync, decoderFactory, maxConcealChunks, maxPendingChunks, ...schedOpts } = opts;
    this.sink = sink;
    this.clockSync = clockSync;
    this.decoderFactory = decoderFactory;
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
      throw new Error(`player: stream format ${h.sampleRate} Hz × ${h.channels} ch × ${h.bitsPerSample} bit does not match the device (${f.sampleRate} Hz × ${f.channels} ch × ${f.bitsPerSample} bit)`);
    }
    const decoder = this.decoderFactory(h);
    this.decoder?.close();
    if (this.header) this.restart();
    this.header = h;
    this.decoder = decoder;
  }

  onAudio(frame: AudioFrame): void {
    const h = this.header;
    const dec = this.decoder;
    if (!h || !dec) {
      this.counters.discardedChunks++;
      return;
    }
    const chunkFrames = framesPerChunk(this.format, h.chunkMs);
    const chunkUs = h.chunkMs * 1000;
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
          this.enqueue({ serverPlayAt: this.lastPlayAt + i * chunkUs, pcm: dec.conceal(chunkFrames), seq: (this.lastSeq + i) >>> 0 }, h);
          this.counters.concealedChunks++;
        }
      }
      // a gap (listener moved to the live edge) or a long hole needs nothing:
      // the jitter buffer places the chunk by time and plays silence before it
    }
    let pcm: Int16Array;
    try {
      pcm = dec.decode(frame.payload);
    } catch {
      this.counters.decodeErrors++;
      pcm = dec.conceal(chunkFrames);
    }
    this.lastSeq = frame.seq;
    this.lastPlayAt = frame.playAt;
    this.counters.chunks++;
    this.enqueue({ serverPlayAt: frame.playAt, pcm, seq: frame.seq }, h);
  }

  /** Holds chunks until the clock is synced, then converts server → local time. */
  private enqueue(p: Pending, h: CodecHeaderFrame): void {
    if (p.pcm.length === 0) return;
    this.pending.push(p);
    if (!this.clockSync.synced) {
      if (this.pending.length > this.maxPending) this.pending.shift();
      return;
    }
    for (const q of this.pending) {
      const serverAt = decodedPlayAtUs(q.serverPlayAt, h.codecDelayFrames, h.sampleRate);
      // source position: chunk seq × chunk length, shifted back by the decoder's delay
      const source = q.seq * framesPerChunk(this.format, h.chunkMs) - h.codecDelayFrames;
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
    this.pending = [];
  }
}
