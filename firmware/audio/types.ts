// Interfaces of the box's data path: source → FIFO → encoder → sessions.

import type { CodecName, PcmFormat } from '../wire/format.ts';

/** what a live stream says it plays now (ICY StreamTitle "Artist - Title"), and the station's name */
export interface StreamTitle {
  title: string;
  artist: string;
  station: string;
}

/** A decoded PCM source (library file, snapfifo pipe, tone...). Never blocks. */
export interface PcmSource {
  readonly kind: 'file' | 'pipe' | 'tone' | 'silence' | 'capture' | 'url';
  readonly description: string;
  /**
   * Takes up to `frames` interleaved s16 frames that are ready now. Returns fewer
   * (possibly an empty array) when the producer is behind. `atUs` is the box-clock
   * instant the first of them stands for (its playAt minus the latency): a live
   * input hands out what it captured then.
   */
  read(frames: number, atUs?: number): Int16Array;
  /** a live input's frames exist only this long after their instant: the engine produces its slots that much later (µs) */
  readonly inputDelayUs?: number;
  /**
   * a live input: the box-clock instant its frames have been read up to (undefined while it
   * cannot tell). A slot whose frames are not read yet (the read loop fell behind a stalled
   * event loop) waits for them a little instead of going out as silence.
   */
  readonly capturedUntilUs?: number | undefined;
  /** true once the source has delivered everything it ever will (end of file) */
  readonly ended: boolean;
  /** set when the source failed (corrupt file, ffmpeg error); read() then returns nothing */
  readonly error: Error | null;
  /** a stream's current title, when it tells one (a new object at each change) */
  readonly streamTitle?: StreamTitle | null;
  close(): void;
}

/** Encodes one chunk of PCM. Stateful: feed every chunk, in order, exactly once. */
export interface ChunkEncoder {
  readonly codec: CodecName;
  readonly format: PcmFormat;
  /** frames by which decoded output lags the input (Opus look-ahead) */
  readonly codecDelayFrames: number;
  encode(pcm: Int16Array): Uint8Array;
  close(): void;
}

/** Decodes chunks produced by the matching ChunkEncoder (used by every player). */
export interface ChunkDecoder {
  readonly codec: CodecName;
  decode(payload: Uint8Array): Int16Array;
  /** Produces `frames` frames of concealment for a lost chunk. */
  conceal(frames: number): Int16Array;
  close(): void;
}
