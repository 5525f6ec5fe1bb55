// A library file decoded by ffmpeg (ffmpeg-decoder.ts: bounded buffer, backpressure).

import type { PcmSource } from '../types.ts';
import type { PcmFormat } from '../../wire/format.ts';
import { FfmpegDecoder } from './ffmpeg-decoder.ts';

export interface FileSourceOptions {
  ffmpegPath?: string; // default 'ffmpeg'
  startMs?: number; // seek before decoding
  format?: PcmFormat;
  maxBufferMs?: number; // default 3000
  trackId?: string;
}

export class FileSource implements PcmSource {
  readonly kind = 'file' as const;
  readonly description: string;
  readonly format: PcmFormat;
  readonly trackId?: string;
  private readonly decoder: FfmpegDecoder;

  constructor(
    readonly path: string,
    opts: FileSourceOptions = {},
  ) {
    this.trackId = opts.trackId;
    this.description = `file ${path}`;
    if (typeof path !== 'string' || path === '') throw new TypeError('FileSource: path must be a non-empty string');
    const inputArgs: string[] = [];
    if (opts.startMs !== undefined) {
      if (!Number.isFinite(opts.startMs) || opts.startMs < 0) throw new RangeError(`FileSource: startMs must be ≥ 0, got ${opts.startMs}`);
      if (opts.startMs > 0) inputArgs.push('-ss', (opts.startMs / 1000).toFixed(3));
    }
    // 'file:' so a name like "-x" or "http:..." is always read as a local file
    inputArgs.push('-i', `file:${path}`);
    this.decoder = new FfmpegDecoder({ inputArgs, what: path, ffmpegPath: opts.ffmpegPath, format: opts.format, maxBufferMs: opts.maxBufferMs });
    this.format = this.decoder.format;
  }

  get error(): Error | null {
    return this.decoder.error;
  }
  get ended(): boolean {
    return this.decoder.ended;
  }
  get bufferedFrames(): number {
    return this.decoder.bufferedFrames;
  }

  /** frames left before the end once ffmpeg has finished; null while it is still decoding */
  remainingFrames(): number | null {
    return this.decoder.finished ? this.decoder.bufferedFrames : null;
  }

  read(frames: number): Int16Array {
    return this.decoder.read(frames);
  }

  /** Resolves once `minFrames` are buffered, the source ended or failed, or after timeoutMs. */
  ready(minFrames: number, timeoutMs = 5000): Promise<void> {
    return this.decoder.ready(minFrames, timeoutMs);
  }

  close(): void {
    this.decoder.close();
  }
}
