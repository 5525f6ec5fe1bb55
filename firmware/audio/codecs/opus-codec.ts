// Opus chunks: the system libopus through koffi when it is installed, libopus
// compiled to WebAssembly otherwise (opus-backend.ts chooses, once per process).

import { MAX_PACKET_SIZE, type OpusCodecApi } from './opus-native.ts';
import { openOpus } from './opus-backend.ts';
import type { ChunkDecoder, ChunkEncoder } from '../types.ts';
import type { PcmFormat } from '../../wire/format.ts';

export const DEFAULT_OPUS_BITRATE = 128_000;
const OPUS_FRAME_SIZES_MS = [2.5, 5, 10, 20, 40, 60];
type OpusRate = 8000 | 12000 | 16000 | 24000 | 48000;

function checkFormat(format: PcmFormat): OpusRate {
  const rate = format.sampleRate;
  if (rate !== 8000 && rate !== 12000 && rate !== 16000 && rate !== 24000 && rate !== 48000) {
    throw new RangeError(`opus: sample rate ${rate} Hz is not supported (8000, 12000, 16000, 24000 or 48000)`);
  }
  if (format.channels !== 1 && format.channels !== 2) throw new RangeError(`opus: ${format.channels} channels not supported (1 or 2)`);
  return rate;
}

export class OpusEncoder implements ChunkEncoder {
  readonly codec = 'opus' as const;
  readonly codecDelayFrames: number;
  private opus: OpusCodecApi | null;
  private readonly samples: number;

  constructor(
    readonly format: PcmFormat,
    readonly framesPerChunk: number,
    bitrate: number = DEFAULT_OPUS_BITRATE,
  ) {
    const rate = checkFormat(format);
    const ms = (framesPerChunk * 1000) / rate;
    if (!OPUS_FRAME_SIZES_MS.includes(ms)) throw new RangeError(`opus: a ${ms} ms chunk is not an Opus frame size (2.5, 5, 10, 20, 40 or 60 ms)`);
    if (!Number.isInteger(bitrate) || bitrate < 6000 || bitrate > 510_000) throw new RangeError(`opus: bitrate ${bitrate} outside 6000..510000 b/s`);
    this.samples = framesPerChunk * format.channels;
    this.opus = openOpus(rate, format.channels);
    this.opus.setBitrate(bitrate);
    this.opus.constrainVbr();
    this.codecDelayFrames = this.opus.lookahead();
  }

  encode(pcm: Int16Array): Uint8Array {
    if (!this.opus) throw new Error('opus encoder is closed');
    if (pcm.length !== this.samples) {
      throw new RangeError(`opus encoder: chunk has ${pcm.length} samples, expected ${this.samples} (${this.framesPerChunk} frames × ${this.format.channels} channels)`);
    }
    return this.opus.encode(pcm, this.framesPerChunk);
  }

  close(): void {
    this.opus?.close();
    this.opus = null;
  }
}

export class OpusDecoder implements ChunkDecoder {
  readonly codec = 'opus' as const;
  private opus: OpusCodecApi | null;

  constructor(readonly format: PcmFormat) {
    const rate = checkFormat(format);
    this.opus = openOpus(rate, format.channels);
  }

  decode(payload: Uint8Array): Int16Array {
    if (!this.opus) throw new Error('opus decoder is closed');
    if (payload.length === 0) throw new RangeError('opus decoder: empty payload (use conceal() for a lost chunk)');
    if (payload.length > MAX_PACKET_SIZE) throw new RangeError(`opus decoder: payload of ${payload.length} bytes exceeds the ${MAX_PACKET_SIZE}-byte packet limit`);
    try {
      return this.opus.decode(payload);
    } catch (err) {
      throw new Error(`opus decoder: ${(err as Error).message} (${payload.length}-byte payload)`);
    }
  }

  /** Opus packet-loss concealment: decoding an empty packet extrapolates the signal. */
  conceal(frames: number): Int16Array {
    const ch = this.format.channels;
    const want = Math.max(0, Math.floor(frames));
    const out = new Int16Array(want * ch);
    if (!this.opus) return out;
    let filled = 0;
    // both implementations conceal 60 ms per call; bounded by the frames asked for
    for (let guard = 0; filled < want && guard < 1000; guard++) {
      let plc: Int16Array;
      try {
        plc = this.opus.decode(new Uint8Array(0));
      } catch {
        break; // leave silence
      }
      if (plc.length === 0) break;
      const n = Math.min(plc.length / ch, want - filled);
      out.set(plc.subarray(0, n * ch), filled * ch);
      filled += n;
    }
    return out;
  }

  close(): void {
    this.opus?.close();
    this.opus = null;
  }
}
