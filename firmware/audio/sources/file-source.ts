// A library file decoded by ffmpeg to s16le 48 kHz stereo on its stdout. The
// decoded PCM is buffered up to ~3 s ahead; beyond that ffmpeg's stdout is paused
// so memory stays bounded and ffmpeg simply blocks on its pipe.

import { spawn, type ChildProcess } from 'node:child_process';
import { endianness } from 'node:os';
import type { PcmSource } from '../types.ts';
import { DEFAULT_FORMAT, bytesPerFrame, type PcmFormat } from '../../wire/format.ts';

/** FIFO of byte chunks read out in whole frames. Shared with PipeSource. */
export class ByteQueue {
  private parts: Buffer[] = [];
  private offset = 0; // consumed bytes of parts[0]
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }

  /** Copies out `bytes` (≤ length) into `dst` starting at dstOffset. */
  take(bytes: number, dst?: Uint8Array, dstOffset = 0): void {
    let left = Math.min(bytes, this.length);
    this.length -= left;
    while (left > 0) {
      const head = this.parts[0];
      if (!head) throw new Error(`file source: ${left} bytes counted but not held (byte queue out of step)`);
      const n = Math.min(left, head.length - this.offset);
      if (dst) dst.set(head.subarray(this.offset, this.offset + n), dstOffset);
      dstOffset += n;
      left -= n;
      this.offset += n;
      if (this.offset === head.length) {
        this.parts.shift();
        this.offset = 0;
      }
    }
  }

  /** Reads up to `frames` whole frames as samples. */
  readFrames(frames: number, bpf: number): Int16Array {
    const n = Math.max(0, Math.min(Math.floor(frames), Math.floor(this.length / bpf)));
    const out = new Int16Array((n * bpf) / 2);
    this.take(n * bpf, new Uint8Array(out.buffer));
    return out;
  }

  clear(): void {
    this.parts = [];
    this.offset = 0;
    this.length = 0;
  }
}

export interface FileSourceOptions {
  ffmpegPath?: string; // default 'ffmpeg'
  startMs?: number; // seek before decoding
  format?: PcmFormat;
  maxBufferMs?: number; // default 3000
  trackId?: string;
}

const STDERR_TAIL = 2000;

export class FileSource implements PcmSource {
  readonly kind = 'file' as const;
  readonly description: string;
  readonly format: PcmFormat;
  readonly trackId?: string;
  error: Error | null = null;
  private readonly bpf: number;
  private readonly maxBytes: number;
  private readonly buf = new ByteQueue();
  private proc: ChildProcess | null;
  private decoded = false; // ffmpeg exited 0: everything is in the buffer
  private closed = false;
  private stderrTail = '';
  private waiters = new Set<() => void>();

  constructor(readonly path: string, opts: FileSourceOptions = {}) {
    if (endianness() !== 'LE') throw new Error('FileSource needs a little-endian host (s16le samples are used in place)');
    this.format = opts.format ?? DEFAULT_FORMAT;
    this.trackId = opts.trackId;
    this.bpf = bytesPerFrame(this.format);
    this.maxBytes = Math.round(((opts.maxBufferMs ?? 3000) * this.format.sampleRate) / 1000) * this.bpf;
    this.description = `file ${path}`;
    if (typeof path !== 'string' || path === '') throw new TypeError('FileSource: path must be a non-empty string');
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
    if (opts.startMs !== undefined) {
      if (!Number.isFinite(opts.startMs) || opts.startMs < 0) throw new RangeError(`FileSource: startMs must be ≥ 0, got ${opts.startMs}`);
      if (opts.startMs > 0) args.push('-ss', (opts.startMs / 1000).toFixed(3));
    }
    // 'file:' so a name like "-x" or "http:..." is always read as a local file
    args.push('-i', `file:${path}`, '-vn', '-f', 's16le', '-acodec', 'pcm_s16le',
      '-ac', String(this.format.channels), '-ar', String(this.format.sampleRate), '-');
    const proc = spawn(opts.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (b: Buffer) => this.onData(b));
    proc.stderr!.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-STDERR_TAIL);
    });
    proc.on('error', (err) => this.fail(new Error(`cannot run ffmpeg '${opts.ffmpegPath ?? 'ffmpeg'}' for ${path}: ${err.message}`)));
    proc.on('close', (code, signal) => {
      this.proc = null;
      if (this.closed || this.error) return;
      if (code === 0) this.decoded = true;
      else this.fail(new Error(`ffmpeg could not decode ${path} (${code === null ? `signal ${signal}` : `exit ${code}`}): ${this.stderrTail.trim() || 'no message'}`));
      this.wake();
    });
  }

  get ended(): boolean { return this.decoded && this.buf.length < this.bpf; }
  get bufferedFrames(): number { return Math.floor(this.buf.length / this.bpf); }

  /** frames left before the end once ffmpeg has finished; null while it is still decoding */
  remainingFrames(): number | null {
    return this.decoded ? this.bufferedFrames : null;
  }

  read(frames: number): Int16Array {
    if (this.error || this.closed) return new Int16Array(0);
    const out = this.buf.readFrames(frames, this.bpf);
    const stdout = this.proc?.stdout;
    if (stdout?.isPaused() && this.buf.length < this.maxBytes * 0.75) stdout.resume();
    return out;
  }

  /** Resolves once `minFrames` are buffered, the source ended or failed, or after timeoutMs. */
  ready(minFrames: number, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.bufferedFrames >= minFrames || this.decoded || this.error || this.closed) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => { this.waiters.delete(check); resolve(); }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buf.clear();
    // SIGKILL: ffmpeg may be blocked writing to a paused pipe
    this.proc?.kill('SIGKILL');
    this.proc?.stdout?.destroy();
    this.wake();
  }

  private onData(b: Buffer): void {
    if (this.closed) return;
    this.buf.push(b);
    if (this.buf.length > this.maxBytes) this.proc?.stdout?.pause();
    this.wake();
  }

  private fail(err: Error): void {
    if (this.error || this.closed) return;
    this.error = err;
    this.buf.clear();
    this.proc?.kill('SIGKILL');
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
