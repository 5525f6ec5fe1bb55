// Live input from a PulseAudio (or pipewire-pulse) source through libpulse itself:
// the capture behind `capture:pulse` wherever libpulse loads (open-capture.ts).
//
// ALSA's `pulse` PCM reports libpulse's interpolation as its delay: a line corrected
// every 1.5 s once the stream runs, which on a loaded machine wandered milliseconds from
// the sound (README "Live input", test/bench/capture-report.ts). Here the stream asks the server for its timing
// every TIMING_EVERY_US and keeps each answer raw: at the server's clock T it had
// taken `write_index` bytes from the source, which still held `source_usec` of audio
// — so frames captured by T = write_index / frame + source_usec · rate. Each read
// reports, at the instant it returns, the frames captured by then that this reader has
// not taken yet (CaptureReading.delayFrames), as an ALSA capture's snd_pcm_delay does.
//
// libpulse runs on the caller's event loop: a non-blocking pa_mainloop, pumped by
// read() while it waits for frames.

import { monotonicUs } from '../../firmware/util/time.ts';
import type { CaptureDevice, CaptureOpenInfo, CaptureReading } from './alsa-capture.ts';
import {
  libpulse,
  libpulseMissing,
  type Libpulse,
  PA_CONTEXT_FAILED,
  PA_CONTEXT_READY,
  PA_CONTEXT_TERMINATED,
  PA_NONE,
  PA_SAMPLE_S16LE,
  PA_STREAM_ADJUST_LATENCY,
  PA_STREAM_FAILED,
  PA_STREAM_READY,
  PA_STREAM_TERMINATED,
  realtimeOffsetUs,
} from './libpulse.ts';

const CHANNELS = 2;
const FRAME_BYTES = 2 * CHANNELS;
/** the stream's fragment (how often the server sends what it captured) */
const FRAGMENT_US = 10_000;
const TIMING_EVERY_US = 20_000;
const CONNECT_TIMEOUT_US = 5e6;
/** the server keeps at most this much for a reader that does not come (then drops) */
const SERVER_BUFFER_S = 2;
/** audio received but not read beyond this is dropped here, oldest first, and counted as an overrun */
const LOCAL_BUFFER_S = 2;

export interface PulseCaptureOptions {
  rate?: number;
  /** the source (default: PULSE_SOURCE, else the server's default source) */
  source?: string;
  /** the server (default: PULSE_SERVER, else the usual discovery) */
  server?: string;
}

interface Snapshot {
  /** monotonic µs of the server's answer */
  atUs: number;
  /** frames captured by then */
  captured: number;
}

export class PulseCapture implements CaptureDevice {
  lastReading: CaptureReading | null = null;
  private readonly rate: number;
  private pa: Libpulse | null = null;
  private loop: unknown = null;
  private context: unknown = null;
  private stream: unknown = null;
  private queue: Int16Array[] = [];
  private queued = 0; // frames in `queue`
  private readTotal = 0; // frames handed out (and dropped here) since open
  private overruns = 0;
  private snapshot: Snapshot | null = null;
  private lastStamp = Number.NaN;
  private askedAtUs = Number.NEGATIVE_INFINITY;
  private open_ = false;

  constructor(
    readonly name = 'pulse',
    private readonly opts: PulseCaptureOptions = {},
  ) {
    this.rate = opts.rate ?? 48000;
    if (!(Number.isInteger(this.rate) && this.rate >= 8000 && this.rate <= 192000)) throw new RangeError(`PulseCapture: rate 8000…192000 Hz, got ${opts.rate}`);
  }

  async open(): Promise<CaptureOpenInfo> {
    if (this.open_) throw new Error(`PulseAudio capture '${this.name}': already open`);
    const pa = libpulse();
    if (!pa) throw new Error(`PulseAudio capture '${this.name}': libpulse is not available (${libpulseMissing()})`);
    this.pa = pa;
    this.open_ = true;
    this.queue = [];
    this.queued = 0;
    this.readTotal = 0;
    this.overruns = 0;
    this.snapshot = null;
    this.lastStamp = Number.NaN;
    this.lastReading = null;
    try {
      this.loop = pa.mainloopNew();
      this.context = pa.contextNew(pa.mainloopApi(this.loop), 'nearcast capture');
      if (pa.contextConnect(this.context, this.opts.server ?? null, 0, null) < 0) throw new Error(`cannot connect to the sound server: ${pa.error(this.context)}`);
      await this.until(() => this.contextReady(), 'the sound server to accept the connection');
      this.stream = pa.streamNew(this.context, 'nearcast capture', { format: PA_SAMPLE_S16LE, rate: this.rate, channels: CHANNELS }, null);
      if (!this.stream) throw new Error(`cannot create a record stream: ${pa.error(this.context)}`);
      const fragsize = Math.round((FRAGMENT_US / 1e6) * this.rate) * FRAME_BYTES;
      const attr = { maxlength: SERVER_BUFFER_S * this.rate * FRAME_BYTES, tlength: PA_NONE, prebuf: PA_NONE, minreq: PA_NONE, fragsize };
      if (pa.connectRecord(this.stream, this.opts.source ?? null, attr, PA_STREAM_ADJUST_LATENCY) < 0) throw new Error(`cannot record: ${pa.error(this.context)}`);
      await this.until(() => this.streamReady(), 'the record stream to start');
    } catch (e) {
      await this.close();
      throw new Error(`PulseAudio capture '${this.name}': ${(e as Error).message}`);
    }
    return { rate: this.rate, clocked: true, periodFrames: Math.round((FRAGMENT_US / 1e6) * this.rate), interpolatedDelay: false };
  }

  async read(frames: number): Promise<Int16Array> {
    if (!(Number.isInteger(frames) && frames > 0)) throw new RangeError(`PulseAudio capture: frames must be a positive integer, got ${frames}`);
    for (;;) {
      if (!this.open_) throw new Error(`PulseAudio capture '${this.name}': not open`);
      try {
        this.pump();
      } catch (e) {
        throw new Error(`PulseAudio capture '${this.name}': ${(e as Error).message}`);
      }
      // not before the server's first timing answer: a read without it could only be timed by its return
      if (this.queued >= frames && this.snapshot) break;
      // sleep about as long as the missing audio takes to come (the caller bounds the wait: CaptureSource's stall timer)
      await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(((frames - this.queued) * 1000) / this.rate))));
    }
    const out = this.take(frames);
    const nowUs = monotonicUs();
    const s = this.snapshot;
    const delayFrames = s ? s.captured + ((nowUs - s.atUs) * this.rate) / 1e6 - this.readTotal : Number.NaN;
    this.lastReading = { atUs: nowUs, delayFrames, overruns: this.overruns };
    return out;
  }

  async close(): Promise<void> {
    const pa = this.pa;
    this.open_ = false;
    if (!pa) return;
    if (this.stream) {
      pa.streamDisconnect(this.stream);
      pa.streamUnref(this.stream);
      this.stream = null;
    }
    if (this.context) {
      pa.contextDisconnect(this.context);
      pa.contextUnref(this.context);
      this.context = null;
    }
    if (this.loop) {
      pa.mainloopFree(this.loop);
      this.loop = null;
    }
    this.queue = [];
    this.queued = 0;
  }

  /** libpulse's pending work, what the server sent, a timing request when due, and its answer */
  private pump(): void {
    const pa = this.pa!; // open
    for (let i = 0; i < 100 && pa.iterate(this.loop, 0, null) > 0; i++);
    if (!this.contextReady() || !this.streamReady()) throw new Error(`the sound server closed the stream (${pa.error(this.context)})`);
    for (let i = 0; i < 1000; i++) {
      const data: unknown[] = [null];
      const bytes: number[] = [0];
      if (pa.peek(this.stream, data, bytes) < 0) throw new Error(`reading the stream failed (${pa.error(this.context)})`);
      const n = Number(bytes[0]);
      if (n === 0) break;
      // a hole (the server lost audio) comes as a length without data: silence keeps the count
      this.push(data[0] ? pa.samples(data[0], n) : new Int16Array(n >> 1));
      pa.drop(this.stream);
    }
    const nowUs = monotonicUs();
    if (nowUs - this.askedAtUs >= TIMING_EVERY_US) {
      const op = pa.updateTiming(this.stream, null, null);
      if (op) pa.operationUnref(op);
      this.askedAtUs = nowUs;
    }
    const t = pa.timing(this.stream);
    // a stream that has not been sent anything yet (its source not running) anchors nothing: the time
    // from that answer to the first audio is no capture
    if (!t || t.write_index_corrupt || !(Number(t.write_index) > 0)) return;
    const stamp = t.timestamp.sec * 1e6 + t.timestamp.usec;
    if (stamp === this.lastStamp) return;
    this.lastStamp = stamp;
    // the server stamps in wall-clock time: converted with the offset of this moment (libpulse.ts)
    const rtOffsetUs = realtimeOffsetUs(pa);
    // synchronized clocks (the same machine): the server's own instant; else libpulse stamped the reply's
    // arrival, half a round trip after the server's
    const atUs = stamp - rtOffsetUs - (t.synchronized_clocks ? 0 : Number(t.transport_usec));
    this.snapshot = { atUs, captured: Number(t.write_index) / FRAME_BYTES + (Number(t.source_usec) * this.rate) / 1e6 };
  }

  private push(pcm: Int16Array): void {
    this.queue.push(pcm);
    this.queued += pcm.length / CHANNELS;
    const excess = this.queued - LOCAL_BUFFER_S * this.rate;
    if (excess > 0) {
      this.take(excess);
      this.overruns++;
    }
  }

  private take(frames: number): Int16Array {
    const out = new Int16Array(frames * CHANNELS);
    let filled = 0;
    while (filled < frames) {
      const head = this.queue[0]!; // queued ≥ frames
      const n = Math.min(head.length / CHANNELS, frames - filled);
      out.set(head.subarray(0, n * CHANNELS), filled * CHANNELS);
      filled += n;
      if (n * CHANNELS === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n * CHANNELS);
    }
    this.queued -= frames;
    this.readTotal += frames;
    return out;
  }

  private contextReady(): boolean {
    const state = this.pa!.contextState(this.context);
    if (state === PA_CONTEXT_FAILED || state === PA_CONTEXT_TERMINATED) throw new Error(`the sound server connection failed: ${this.pa!.error(this.context)}`);
    return state === PA_CONTEXT_READY;
  }

  private streamReady(): boolean {
    const state = this.pa!.streamState(this.stream);
    if (state === PA_STREAM_FAILED || state === PA_STREAM_TERMINATED) throw new Error(`the record stream failed: ${this.pa!.error(this.context)}`);
    return state === PA_STREAM_READY;
  }

  private async until(ready: () => boolean, what: string): Promise<void> {
    const deadline = monotonicUs() + CONNECT_TIMEOUT_US;
    while (!ready()) {
      if (!this.open_) throw new Error('closed');
      if (monotonicUs() > deadline) throw new Error(`timed out after ${CONNECT_TIMEOUT_US / 1e6} s waiting for ${what}`);
      this.pa!.iterate(this.loop, 0, null);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
