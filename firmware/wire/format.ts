// Audio format shared by the box and every player. Browser-safe: no Node APIs.

export type CodecName = 'opus' | 'pcm';
export const CODECS: readonly CodecName[] = ['opus', 'pcm'];

export interface PcmFormat {
  sampleRate: number; // frames per second
  channels: number;
  bitsPerSample: 16; // signed little-endian interleaved
}

export const DEFAULT_FORMAT: PcmFormat = { sampleRate: 48000, channels: 2, bitsPerSample: 16 };
export const DEFAULT_CHUNK_MS = 20;

export function bytesPerFrame(f: PcmFormat): number {
  return f.channels * (f.bitsPerSample / 8);
}

export function framesPerChunk(f: PcmFormat, chunkMs: number = DEFAULT_CHUNK_MS): number {
  return Math.round((f.sampleRate * chunkMs) / 1000);
}

/** Duration of `frames` frames, in microseconds. */
export function framesToUs(frames: number, f: PcmFormat): number {
  return (frames * 1_000_000) / f.sampleRate;
}

export function usToFrames(us: number, f: PcmFormat): number {
  return (us * f.sampleRate) / 1_000_000;
}
