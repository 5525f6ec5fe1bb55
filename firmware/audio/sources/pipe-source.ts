// Snapcast's `snapfifo` convention: MPD, librespot or shairport-sync write raw
// s16le 48 kHz stereo into a named pipe in real time. We hold the pipe open
// read-write and non-blocking: open() never waits for a writer, and a writer
// closing does not give us EOF (we are a writer ourselves), so the source lives
// for ever. Reads go through a libuv pipe handle (net.Socket on the fd) — epoll,
// not the threadpool, which fs.createReadStream would tie up on an idle pipe.
//
// A writer is "real time" only on average: a decoder on a busy machine hands its audio
// over late now and then (the device-sync bench's ffmpeg, beside a busy loop, once
// 8 ms late: silence in the stream for every listener). With `reserveMs` the source
// starts handing audio out only once that much more than asked for is in, and keeps
// it in reserve, so a writer that late is absorbed; it primes again after running dry.

import { spawn } from 'node:child_process';
import { constants, openSync, closeSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { endianness } from 'node:os';
import type { PcmSource } from '../types.ts';
import { DEFAULT_FORMAT, bytesPerFrame, type PcmFormat } from '../../wire/format.ts';
import { ByteQueue } from './byte-queue.ts';

export const DEFAULT_PIPE_PATH = '/tmp/snapfifo';

export interface PipeSourceOptions {
  format?: PcmFormat;
  maxBufferMs?: number; // default 1000: older audio is dropped so latency stays bounded
  /** audio held back as a reserve against a late writer, ms (default 0: none) */
  reserveMs?: number;
  mkfifoPath?: string; // default 'mkfifo'
}

export class PipeSource implements PcmSource {
  readonly kind = 'pipe' as const;
  readonly description: string;
  readonly ended = false;
  readonly format: PcmFormat;
  error: Error | null = null;
  /** times the buffer overflowed and the oldest audio was dropped */
  overflows = 0;
  droppedFrames = 0;
  /** resolves once the pipe is open (or opening failed: see `error`) */
  readonly opened: Promise<void>;
  private readonly bpf: number;
  private readonly maxBytes: number;
  private readonly reserveFrames: number;
  private primed = false;
  private readonly buf = new ByteQueue();
  private sock: Socket | null = null;
  private closed = false;

  constructor(
    readonly path: string = DEFAULT_PIPE_PATH,
    opts: PipeSourceOptions = {},
  ) {
    if (endianness() !== 'LE') throw new Error('PipeSource needs a little-endian host (s16le samples are used in place)');
    this.format = opts.format ?? DEFAULT_FORMAT;
    this.bpf = bytesPerFrame(this.format);
    this.maxBytes = Math.round(((opts.maxBufferMs ?? 1000) * this.format.sampleRate) / 1000) * this.bpf;
    const reserveMs = opts.reserveMs ?? 0;
    if (!(Number.isFinite(reserveMs) && reserveMs >= 0 && reserveMs <= (opts.maxBufferMs ?? 1000) / 2)) {
      throw new RangeError(`PipeSource: reserveMs must be 0…${(opts.maxBufferMs ?? 1000) / 2} (half the buffer), got ${opts.reserveMs}`);
    }
    this.reserveFrames = Math.round((reserveMs * this.format.sampleRate) / 1000);
    this.description = `pipe ${path}`;
    this.opened = this.open(opts.mkfifoPath ?? 'mkfifo').catch((err: Error) => {
      this.error = err;
    });
  }

  get bufferedFrames(): number {
    return Math.floor(this.buf.length / this.bpf);
  }

  read(frames: number): Int16Array {
    if (this.error || this.closed) return new Int16Array(0);
    const buffered = this.bufferedFrames;
    if (this.reserveFrames > 0) {
      if (!this.primed) {
        if (buffered < this.reserveFrames + frames) return new Int16Array(0); // not enough in yet: the caller plays silence
        this.primed = true;
      } else if (buffered < frames) this.primed = false; // ran dry: the reserve is built up again
    }
    return this.buf.readFrames(frames, this.bpf);
  }

  close(): void {
    this.closed = true;
    this.buf.clear();
    this.sock?.destroy(); // closes the fd
    this.sock = null;
  }

  private async open(mkfifo: string): Promise<void> {
    let isFifo: boolean | null = null;
    try {
      isFifo = statSync(this.path).isFIFO();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot use pipe ${this.path}: ${(err as Error).message}`);
    }
    if (isFifo === false) throw new Error(`${this.path} exists but is not a named pipe (FIFO); remove it or choose another path`);
    if (isFifo === null) await runMkfifo(mkfifo, this.path);
    if (this.closed) return;
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDWR | constants.O_NONBLOCK);
    } catch (err) {
      throw new Error(`cannot open pipe ${this.path}: ${(err as Error).message}`);
    }
    if (this.closed) {
      closeSync(fd);
      return;
    }
    const sock = new Socket({ fd, readable: true, writable: false });
    this.sock = sock;
    sock.on('data', (b: Buffer) => this.onData(b));
    sock.on('error', (err) => {
      if (!this.closed) this.error = new Error(`reading pipe ${this.path} failed: ${err.message}`);
    });
  }

  private onData(b: Buffer): void {
    if (this.closed) return;
    this.buf.push(b);
    const over = this.buf.length - this.maxBytes;
    if (over > 0) {
      // drop whole frames from the front: the oldest audio goes, alignment stays
      const drop = Math.ceil(over / this.bpf) * this.bpf;
      this.buf.take(drop);
      this.overflows++;
      this.droppedFrames += drop / this.bpf;
    }
  }
}

function runMkfifo(mkfifo: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const p = spawn(mkfifo, ['--', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-500);
    });
    p.on('error', (err) => reject(new Error(`cannot run '${mkfifo}' to create ${path}: ${err.message}`)));
    p.on('close', (code) => {
      if (code === 0) resolve();
      // another process may have created it meanwhile
      else if (safeIsFifo(path)) resolve();
      else reject(new Error(`mkfifo ${path} failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}

function safeIsFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false;
  }
}
