// Raw PCM "codec": s16 little-endian interleaved bytes. Browser-safe (no Buffer).

import type { ChunkDecoder, ChunkEncoder } from '../types.ts';
import { bytesPerFrame, type PcmFormat } from '../../wire/format.ts';

// On a little-endian host an Int16Array's bytes already are the wire order, so a
// byte copy suffices; elsewhere we go through DataView.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function int16ToLeBytes(pcm: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
  const out = new Uint8Array(pcm.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, true);
  return out;
}

/** Copies (payloads may sit at odd offsets inside a frame) little-endian bytes into samples. */
export function leBytesToInt16(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) throw new RangeError(`PCM payload of ${bytes.length} bytes is not a whole number of 16-bit samples`);
  const out = new Int16Array(bytes.length / 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

export class PcmEncoder implements ChunkEncoder {
  readonly codec = 'pcm' as const;
  readonly codecDelayFrames = 0;
  /** samples (frames × channels) every chunk must hold */
  private readonly samples: number;

  constructor(
    readonly format: PcmFormat,
    readonly framesPerChunk: number,
  ) {
    this.samples = framesPerChunk * format.channels;
  }

  /** The chunk's bytes: on a little-endian host a view of `pcm` itself (no copy: the engine never changes a chunk's PCM once made). */
  encode(pcm: Int16Array): Uint8Array {
    if (pcm.length !== this.samples) {
      throw new RangeError(`pcm encoder: chunk has ${pcm.length} samples, expected ${this.samples} (${this.framesPerChunk} frames × ${this.format.channels} channels)`);
    }
    return LITTLE_ENDIAN ? new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength) : int16ToLeBytes(pcm);
  }

  close(): void {}
}

export class PcmDecoder implements ChunkDecoder {
  readonly codec = 'pcm' as const;

  constructor(readonly format: PcmFormat) {}

  decode(payload: Uint8Array): Int16Array {
    const bpf = bytesPerFrame(this.format);
    if (payload.length % bpf !== 0) throw new RangeError(`pcm decoder: payload of ${payload.length} bytes is not a whole number of ${bpf}-byte frames`);
    return leBytesToInt16(payload);
  }

  conceal(frames: number): Int16Array {
    return new Int16Array(Math.max(0, Math.floor(frames)) * this.format.channels);
  }

  close(): void {}
}
