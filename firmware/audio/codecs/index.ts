// Codec factory: one encoder/decoder class per codec, chosen by name.

import type { ChunkDecoder, ChunkEncoder } from '../types.ts';
import { DEFAULT_CHUNK_MS, framesPerChunk, type CodecName, type PcmFormat } from '../../wire/format.ts';
import { PcmDecoder, PcmEncoder } from './pcm-codec.ts';
import { OpusDecoder, OpusEncoder } from './opus-codec.ts';

export interface EncoderOptions {
  chunkMs?: number; // default 20
  bitrate?: number; // opus only, default 128000
}

export function createEncoder(codec: CodecName, format: PcmFormat, opts: EncoderOptions = {}): ChunkEncoder {
  const frames = framesPerChunk(format, opts.chunkMs ?? DEFAULT_CHUNK_MS);
  switch (codec) {
    case 'pcm':
      return new PcmEncoder(format, frames);
    case 'opus':
      return new OpusEncoder(format, frames, opts.bitrate);
    default:
      throw new RangeError(`unknown codec '${String(codec)}' (expected opus or pcm)`);
  }
}

export function createDecoder(codec: CodecName, format: PcmFormat): ChunkDecoder {
  switch (codec) {
    case 'pcm':
      return new PcmDecoder(format);
    case 'opus':
      return new OpusDecoder(format);
    default:
      throw new RangeError(`unknown codec '${String(codec)}' (expected opus or pcm)`);
  }
}

export { PcmDecoder, PcmEncoder } from './pcm-codec.ts';
export { OpusDecoder, OpusEncoder, DEFAULT_OPUS_BITRATE } from './opus-codec.ts';
export { describeOpus, opusImplementation, setOpusPreference, type OpusImplementation } from './opus-backend.ts';
