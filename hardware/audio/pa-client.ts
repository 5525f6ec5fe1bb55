// One libpulse client on the caller's event loop: a non-blocking pa_mainloop, its
// context, and one stream at a time — what the libpulse capture (pulse-capture.ts) and
// playback sink (pulse-sink.ts) share. Each asks the server for its stream's timing
// every TIMING_EVERY_US and takes the answers raw (libpulse.ts says why).

import { monotonicUs } from '../../firmware/util/time.ts';
import {
  libpulse,
  libpulseMissing,
  type Libpulse,
  type PaTimingInfo,
  PA_CONTEXT_FAILED,
  PA_CONTEXT_READY,
  PA_CONTEXT_TERMINATED,
  PA_STREAM_FAILED,
  PA_STREAM_READY,
  PA_STREAM_TERMINATED,
  realtimeOffsetUs,
} from './libpulse.ts';

const TIMING_EVERY_US = 20_000;
const CONNECT_TIMEOUT_US = 5e6;
/** how long a timing answer may stand for the line (TimingLine): a late one is outvoted within it */
const LINE_WINDOW_US = 300_000;

export interface TimingAnswer {
  info: PaTimingInfo;
  /** the server's instant of the answer, monotonic µs */
  atUs: number;
}

/**
 * A playback stream's frame count (frames out of the sink) against the
 * server's clock, from its raw timing answers. An answer is never stamped early, often
 * late: the server's IO thread measures, and its main thread stamps the reply once it
 * runs again. On a busy machine answers sit up to ~5 ms below the line the others keep
 * within 0.05 ms, and none above it (measured 2026-12-04 beside a second test suite;
 * ARCHITECTURE.md "Playout"). So the line is the upper envelope of the last
 * LINE_WINDOW_US of answers, each run on at the nominal rate: a late answer moves
 * nothing, a real move forward counts at once, a real move back once no answer from
 * before it is left in the window. The capture (pulse-capture.ts) still takes its latest
 * answer: this envelope moved its clicks ~0.5 ms earlier against the recording, whose own
 * error is up to 2 ms (README "Live input"), and live input is held to 2 ms.
 */
export class TimingLine {
  private answers: Array<{ atUs: number; frames: number }> = [];

  constructor(
    private readonly rate: number,
    private readonly windowUs = LINE_WINDOW_US,
  ) {}

  /** the count stopped or jumped (the stream ran dry, a new stream): answers before this one say nothing */
  reset(): void {
    this.answers = [];
  }

  add(atUs: number, frames: number): void {
    this.answers.push({ atUs, frames });
    let old = 0;
    while (old < this.answers.length - 1 && this.answers[old]!.atUs < atUs - this.windowUs) old++;
    if (old) this.answers.splice(0, old);
  }

  get empty(): boolean {
    return this.answers.length === 0;
  }

  /** from the oldest answer kept to the newest, µs (0: none or one) */
  get spanUs(): number {
    const first = this.answers[0];
    const last = this.answers.at(-1);
    return first && last ? last.atUs - first.atUs : 0;
  }

  /** the count at `nowUs` (monotonic µs); NaN before the first answer */
  at(nowUs: number): number {
    let best = Number.NaN;
    for (const a of this.answers) {
      const frames = a.frames + ((nowUs - a.atUs) * this.rate) / 1e6;
      if (!(frames <= best)) best = frames;
    }
    return best;
  }
}

export class PaClient {
  private loop: unknown = null;
  private context: unknown = null;
  stream: unknown = null;
  private streamKind = 'playback'; // for messages: 'playback' or 'record'
  private lastStamp = Number.NaN;
  private askedAtUs = Number.NEGATIVE_INFINITY;
  private closed = false;

  private constructor(readonly pa: Libpulse) {}

  /** Connects to the server (`server`: default PULSE_SERVER, else the usual discovery); throws what went wrong. */
  static async connect(name: string, server: string | undefined): Promise<PaClient> {
    const pa = libpulse();
    if (!pa) throw new Error(`libpulse is not available (${libpulseMissing()})`);
    const c = new PaClient(pa);
    try {
      c.loop = pa.mainloopNew();
      c.context = pa.contextNew(pa.mainloopApi(c.loop), name);
      if (pa.contextConnect(c.context, server ?? null, 0, null) < 0) throw new Error(`cannot connect to the sound server: ${c.error()}`);
      await c.until(() => c.contextReady(), 'the sound server to accept the connection');
      c.serverName = await c.askServerName();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** the server's own name: "pulseaudio", or "PulseAudio (on PipeWire x.y.z)" from pipewire-pulse */
  serverName = '';

  /** true when the server is PipeWire's pipewire-pulse (its timing answers differ: pulse-sink.ts) */
  get onPipewire(): boolean {
    return /\bon PipeWire\b/.test(this.serverName);
  }

  private async askServerName(): Promise<string> {
    let name: string | null = null;
    const end = this.pa.askServerName(this.context, (n) => {
      name = n;
    });
    if (!end) throw new Error(`cannot ask the sound server its name: ${this.error()}`);
    try {
      await this.until(() => name !== null, "the sound server's name");
    } finally {
      end();
    }
    return name ?? '';
  }

  /** the context's last error, in words */
  error(): string {
    return this.pa.error(this.context);
  }

  /** Creates the stream with `connect` (a pa_stream_connect_* call, < 0 on failure) and waits until it is ready. */
  async openStream(name: string, spec: { format: number; rate: number; channels: number }, connect: (stream: unknown) => number, what: string): Promise<void> {
    this.dropStream();
    this.streamKind = what;
    this.stream = this.pa.streamNew(this.context, name, spec, null);
    if (!this.stream) throw new Error(`cannot create a ${what} stream: ${this.error()}`);
    this.lastStamp = Number.NaN;
    this.askedAtUs = Number.NEGATIVE_INFINITY;
    try {
      if (connect(this.stream) < 0) throw new Error(`cannot ${what === 'record' ? 'record' : 'play'}: ${this.error()}`);
      await this.until(() => this.streamReady(), `the ${what} stream to start`);
    } catch (e) {
      this.dropStream(); // a half-made stream is no stream: the caller sees "not open", not a stale one
      throw e;
    }
  }

  dropStream(): void {
    if (!this.stream) return;
    this.pa.streamDisconnect(this.stream);
    this.pa.streamUnref(this.stream);
    this.stream = null;
  }

  /** libpulse's pending work; throws when the server closed the connection or the stream */
  pump(): void {
    for (let i = 0; i < 100 && this.pa.iterate(this.loop, 0, null) > 0; i++);
    if (!this.contextReady() || !this.streamReady()) throw new Error(`the sound server closed the stream (${this.error()})`);
  }

  /** A timing request when one is due, and the latest answer if it is new (null: none new). */
  timing(): TimingAnswer | null {
    const nowUs = monotonicUs();
    if (nowUs - this.askedAtUs >= TIMING_EVERY_US) {
      const op = this.pa.updateTiming(this.stream, null, null);
      if (op) this.pa.operationUnref(op);
      this.askedAtUs = nowUs;
    }
    const info = this.pa.timing(this.stream);
    if (!info) return null;
    const stamp = info.timestamp.sec * 1e6 + info.timestamp.usec;
    if (stamp === this.lastStamp) return null;
    this.lastStamp = stamp;
    // the server stamps in wall-clock time: converted with the offset of this moment (libpulse.ts).
    // With synchronized clocks (the same machine) it is the server's own instant; otherwise libpulse
    // has already put it at the request's send time plus half the round trip
    const atUs = stamp - realtimeOffsetUs(this.pa);
    return { info, atUs };
  }

  close(): void {
    this.closed = true;
    this.dropStream();
    if (this.context) {
      this.pa.contextDisconnect(this.context);
      this.pa.contextUnref(this.context);
      this.context = null;
    }
    if (this.loop) {
      this.pa.mainloopFree(this.loop);
      this.loop = null;
    }
  }

  private contextReady(): boolean {
    const state = this.pa.contextState(this.context);
    if (state === PA_CONTEXT_FAILED || state === PA_CONTEXT_TERMINATED) throw new Error(`the sound server connection failed: ${this.error()}`);
    return state === PA_CONTEXT_READY;
  }

  private streamReady(): boolean {
    const state = this.pa.streamState(this.stream);
    if (state === PA_STREAM_FAILED || state === PA_STREAM_TERMINATED) throw new Error(`the ${this.streamKind} stream failed: ${this.error()}`);
    return state === PA_STREAM_READY;
  }

  private async until(ready: () => boolean, what: string): Promise<void> {
    const deadline = monotonicUs() + CONNECT_TIMEOUT_US;
    // closed first: close() frees the handles that ready() asks about (libpulse asserts on a freed one)
    while (!this.closed && !ready()) {
      if (monotonicUs() > deadline) throw new Error(`timed out after ${CONNECT_TIMEOUT_US / 1e6} s waiting for ${what}`);
      this.pa.iterate(this.loop, 0, null);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (this.closed) throw new Error('closed');
  }
}
