// A simulated DAC for player tests: consumes frames on its own clock (local clock
// × (1 + ppm)), reports delay like ALSA's snd_pcm_delay, blocks writes while its
// buffer is full (setTimeout, so sinon fake timers drive it) and records when each
// written frame left. Starts playing on the first write; after running dry it
// counts an underrun and restarts on the next write.

import type { PcmFormat } from '../../firmware/wire/format.ts';
import type { PcmSink, SinkStatus } from '../../hardware/audio/pcm-sink.ts';
import { firstOf, lastOf } from '../../firmware/util/checked-index.ts';

export interface FakeSinkOptions {
  format: PcmFormat;
  now: () => number; // µs
  ppm?: number; // device clock error vs the local clock (+ = consumes faster)
  capacityFrames?: number; // device buffer (default 0.5 s)
  clocked?: boolean; // false models a paced file/null plugin (same behaviour, other label)
  /**
   * error added to each delay reading at local time t, µs (a sound server's coarse, jumpy
   * reports); `stream` counts restarts, `streamStartUs` is when the current run of the
   * stream began playing (NaN before)
   */
  reportErrorUs?: (tUs: number, stream: number, streamStartUs: number) => number;
  /** says its delay is a sound server's interpolation, and can be restarted (a new stream) */
  interpolatedDelay?: boolean;
  /** true: running dry is not reported as an underrun (PulseAudio's ALSA plugin without handle_underrun) */
  silentUnderruns?: boolean;
  /** its report settles this long after the first write (reportSettled(); absent: no such method) */
  settlesAfterUs?: number;
}

interface Segment {
  frame: number; // first frame of this run
  timeUs: number; // when it left the DAC
}

export class FakeSink implements PcmSink {
  readonly name = 'fake';
  readonly format: PcmFormat;
  readonly clocked: boolean;
  readonly interpolatedDelay: boolean;
  underruns = 0;
  /** restart() calls: the stream the reports come from */
  restarts = 0;
  opened = false;
  closed = false;
  readonly segments: Segment[] = [];
  private readonly now: () => number;
  private readonly fps: number; // frames per local µs
  private readonly capacity: number;
  private data: Int16Array;
  private written = 0;
  private consumed = 0;
  private running = false;
  private readonly reportErrorUs: (tUs: number, stream: number, streamStartUs: number) => number;
  private streamStartUs = Number.NaN;
  private readonly silentUnderruns: boolean;
  private reportedUnderruns = 0;
  private firstWriteUs = Number.NaN;
  readonly reportSettled?: () => boolean;

  constructor(opts: FakeSinkOptions) {
    this.format = opts.format;
    this.now = opts.now;
    this.clocked = opts.clocked ?? true;
    this.interpolatedDelay = opts.interpolatedDelay ?? false;
    this.fps = (opts.format.sampleRate * (1 + (opts.ppm ?? 0) * 1e-6)) / 1e6;
    this.capacity = opts.capacityFrames ?? Math.round(opts.format.sampleRate / 2);
    this.data = new Int16Array(opts.format.sampleRate * opts.format.channels);
    this.reportErrorUs = opts.reportErrorUs ?? (() => 0);
    this.silentUnderruns = opts.silentUnderruns ?? false;
    const settlesAfterUs = opts.settlesAfterUs;
    if (settlesAfterUs !== undefined) this.reportSettled = () => this.now() - this.firstWriteUs >= settlesAfterUs;
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private advance(): void {
    if (!this.running) return;
    const seg = lastOf(this.segments, 'fake sink segments (one is added when it starts running)');
    const played = Math.max(0, Math.floor((this.now() - seg.timeUs) * this.fps));
    this.consumed = Math.max(this.consumed, seg.frame + played);
    if (this.consumed >= this.written) {
      this.consumed = this.written;
      this.running = false;
      this.underruns++;
      if (!this.silentUnderruns) this.reportedUnderruns++;
    }
  }

  /** What was queued and not played is dropped (it never leaves); the next write starts afresh. */
  async restart(): Promise<void> {
    this.advance();
    this.written = this.consumed;
    this.running = false;
    this.restarts++;
    this.streamStartUs = Number.NaN;
  }

  /** Device hiccup: the play head stands still for `us` from now. */
  stall(us: number): void {
    this.advance();
    if (this.running) this.segments.push({ frame: this.consumed, timeUs: this.now() + us });
  }

  /** The device ran dry for `us` from now (a sound server whose client wrote late): it stands still and counts an underrun. */
  runDry(us: number): void {
    this.stall(us);
    this.underruns++;
    if (!this.silentUnderruns) this.reportedUnderruns++;
  }

  async status(): Promise<SinkStatus> {
    this.advance();
    const t = this.now();
    const error = Math.round((this.reportErrorUs(t, this.restarts, this.streamStartUs) * this.format.sampleRate) / 1e6);
    return { delayFrames: Math.max(0, this.written - this.consumed + error), atUs: t, underruns: this.reportedUnderruns };
  }

  async write(pcm: Int16Array): Promise<SinkStatus> {
    const ch = this.format.channels;
    const n = pcm.length / ch;
    if (n > this.capacity) throw new Error('fake sink: write larger than the device buffer');
    for (let guard = 0; ; guard++) {
      this.advance();
      if (this.written - this.consumed + n <= this.capacity) break;
      if (guard > 1000) throw new Error('fake sink: device never drained');
      const waitUs = (this.written - this.consumed + n - this.capacity) / this.fps;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(waitUs / 1000))));
    }
    if (Number.isNaN(this.firstWriteUs)) this.firstWriteUs = this.now();
    if (!this.running) {
      this.segments.push({ frame: this.written, timeUs: this.now() });
      this.running = true;
      if (Number.isNaN(this.streamStartUs)) this.streamStartUs = this.now();
    }
    if ((this.written + n) * ch > this.data.length) {
      const bigger = new Int16Array(Math.max(this.data.length * 2, (this.written + n) * ch));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.set(pcm, this.written * ch);
    this.written += n;
    return this.status();
  }

  /** Everything written so far, interleaved. */
  output(): Int16Array {
    return this.data.subarray(0, this.written * this.format.channels);
  }

  get framesWritten(): number {
    return this.written;
  }

  /** Local time (µs) at which written frame `i` left (or will leave) the DAC. */
  outTimeUs(i: number): number {
    let seg = firstOf(this.segments, 'fake sink segments (none before the first write)');
    for (const s of this.segments) if (s.frame <= i) seg = s;
    return seg.timeUs + (i - seg.frame) / this.fps;
  }
}
