// One ffmpeg process decoding some input (a file, its stdin, an HLS URL) to s16le
// 48 kHz stereo on its stdout. The decoded PCM is buffered up to ~3 s ahead; beyond
// that ffmpeg's stdout is paused so memory stays bounded and ffmpeg simply blocks on
// its pipe (and, reading its stdin, stops reading it: backpressure reaches the writer).
// Shared by the file and URL sources.

import { spawn, type ChildProcess } from 'node:child_process';
import { endianness } from 'node:os';
import type { Writable } from 'node:stream';
import { DEFAULT_FORMAT, bytesPerFrame, type PcmFormat } from '../../wire/format.ts';
import { ByteQueue } from './byte-queue.ts';

export interface FfmpegDecoderOptions {
  /** what ffmpeg reads: input options and `-i <input>`; `-i pipe:0` reads `stdin` */
  inputArgs: string[];
  /** what is decoded, for messages (never a secret: it is logged and published) */
  what: string;
  ffmpegPath?: string; // default 'ffmpeg'
  format?: PcmFormat;
  maxBufferMs?: number; // default 3000
}

const STDERR_TAIL = 2000;

export class FfmpegDecoder {
  readonly format: PcmFormat;
  error: Error | null = null;
  /** ffmpeg exited 0: everything it will ever decode is in the buffer */
  finished = false;
  /** where to write the input when inputArgs read `pipe:0` (errors on it are ignored: ffmpeg's exit tells) */
  readonly stdin: Writable;
  private readonly bpf: number;
  private readonly maxBytes: number;
  private readonly buf = new ByteQueue();
  private proc: ChildProcess | null;
  private closed = false;
  private stderrTail = '';
  private readonly waiters = new Set<() => void>();

  constructor(options: FfmpegDecoderOptions) {
    if (endianness() !== 'LE') throw new Error('ffmpeg decoding needs a little-endian host (s16le samples are used in place)');
    this.format = options.format ?? DEFAULT_FORMAT;
    this.bpf = bytesPerFrame(this.format);
    this.maxBytes = Math.round(((options.maxBufferMs ?? 3000) * this.format.sampleRate) / 1000) * this.bpf;
    const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
    const args = [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      ...options.inputArgs,
      '-vn',
      '-f',
      's16le',
      '-acodec',
      'pcm_s16le',
      '-ac',
      String(this.format.channels),
      '-ar',
      String(this.format.sampleRate),
      '-',
    ];
    // -nostdin only stops ffmpeg reading keys from the terminal; `pipe:0` still reads stdin
    const proc = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    this.stdin = proc.stdin!;
    this.stdin.on('error', () => {
      /* EPIPE when ffmpeg exits first: its exit status says why */
    });
    proc.stdout!.on('data', (b: Buffer) => this.onData(b));
    proc.stderr!.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-STDERR_TAIL);
    });
    proc.on('error', (err) => this.fail(new Error(`cannot run ffmpeg '${ffmpeg}' for ${options.what}: ${err.message}`)));
    proc.on('close', (code, signal) => {
      this.proc = null;
      if (this.closed || this.error) return;
      if (code === 0) this.finished = true;
      else this.fail(new Error(`ffmpeg could not decode ${options.what} (${code === null ? `signal ${signal}` : `exit ${code}`}): ${this.stderrTail.trim() || 'no message'}`));
      this.wake();
    });
  }

  get bufferedFrames(): number {
    return Math.floor(this.buf.length / this.bpf);
  }
  /** finished and read out */
  get ended(): boolean {
    return this.finished && this.buf.length < this.bpf;
  }

  read(frames: number): Int16Array {
    if (this.error || this.closed) return new Int16Array(0);
    const out = this.buf.readFrames(frames, this.bpf);
    const stdout = this.proc?.stdout;
    if (stdout?.isPaused() && this.buf.length < this.maxBytes * 0.75) stdout.resume();
    return out;
  }

  /** Resolves once `minFrames` are buffered, the decoding finished or failed, or after timeoutMs. */
  ready(minFrames: number, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.bufferedFrames >= minFrames || this.finished || this.error || this.closed) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve();
      }, timeoutMs);
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
    this.stdin.destroy();
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
    this.stdin.destroy();
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
