// Live input from a PulseAudio (or pipewire-pulse) source through libpulse itself:
// the capture behind `capture:pulse` wherever libpulse loads (open-capture.ts).
//
// ALSA's `pulse` PCM reports libpulse's interpolation as its delay: a line corrected
// every 1.5 s once the stream runs, which on a loaded machine wandered milliseconds from
// the sound (README "Live input", test/bench/capture-report.ts). Here the stream asks the server for its timing
// every 20 ms (pa-client.ts) and keeps each answer raw: at the server's clock T it had
// taken `write_index` bytes from the source, which still held `source_usec` of audio
// — so frames captured by T = write_index / frame + source_usec · rate. Each read
// reports, at the instant it returns, the frames captured by then that this reader has
// not taken yet (CaptureReading.delayFrames), as an ALSA capture's snd_pcm_delay does.
//
// libpulse runs on the caller's event loop: a non-blocking pa_mainloop, pumped by
// read() while it waits for frames.

import { monotonicUs } from '../../firmware/util/time.ts';
import type { CaptureDevice, CaptureOpenInfo, CaptureReading } from './alsa-capture.ts';
import { PA_NONE, PA_SAMPLE_S16LE, PA_STREAM_ADJUST_LATENCY } from './libpulse.ts';
import { PaClient } from './pa-client.ts';

const CHANNELS = 2;
const FRAME_BYTES = 2 * CHANNELS;
/** the stream's fragment (how often the server sends what it captured) */
const FRAGMENT_US = 10_000;
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
  private client: PaClient | null = null;
  private queue: Int16Array[] = [];
  private queued = 0; // frames in `queue`
  private readTotal = 0; // frames handed out (and dropped here) since open
  private overruns = 0;
  private snapshot: Snapshot | null = null;
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
    this.open_ = true;
    this.queue = [];
    this.queued = 0;
    this.readTotal = 0;
    this.overruns = 0;
    this.snapshot = null;
    this.lastReading = null;
    try {
      const client = await PaClient.connect('nearcast capture', this.opts.server);
      this.client = client;
      if (!this.open_) throw new Error('closed');
      const fragsize = Math.round((FRAGMENT_US / 1e6) * this.rate) * FRAME_BYTES;
      const attr = { maxlength: SERVER_BUFFER_S * this.rate * FRAME_BYTES, tlength: PA_NONE, prebuf: PA_NONE, minreq: PA_NONE, fragsize };
      await client.openStream(
        'nearcast capture',
        { format: PA_SAMPLE_S16LE, rate: this.rate, channels: CHANNELS },
        (stream) => client.pa.connectRecord(stream, this.opts.source ?? null, attr, PA_STREAM_ADJUST_LATENCY),
        'record',
      );
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
    this.open_ = false;
    this.client?.close();
    this.client = null;
    this.queue = [];
    this.queued = 0;
  }

  /** libpulse's pending work, what the server sent, a timing request when due, and its answer */
  private pump(): void {
    const client = this.client!; // open
    const pa = client.pa;
    client.pump();
    for (let i = 0; i < 1000; i++) {
      const data: unknown[] = [null];
      const bytes: number[] = [0];
      if (pa.peek(client.stream, data, bytes) < 0) throw new Error(`reading the stream failed (${client.error()})`);
      const n = Number(bytes[0]);
      if (n === 0) break;
      // a hole (the server lost audio) comes as a length without data: silence keeps the count
      this.push(data[0] ? pa.samples(data[0], n) : new Int16Array(n >> 1));
      pa.drop(client.stream);
    }
    const answer = client.timing();
    // a stream that has not been sent anything yet (its source not running) anchors nothing: the time
    // from that answer to the first audio is no capture
    if (!answer || answer.info.write_index_corrupt || !(Number(answer.info.write_index) > 0)) return;
    const t = answer.info;
    this.snapshot = { atUs: answer.atUs, captured: Number(t.write_index) / FRAME_BYTES + (Number(t.source_usec) * this.rate) / 1e6 };
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
}
