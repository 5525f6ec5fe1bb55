// A PulseAudio playback stream through libpulse itself (koffi), for measuring what a
// player could know about its sound: it asks the server for timing every `updateMs`
// and keeps each answer raw — no interpolation (PA_STREAM_INTERPOLATE_TIMING off).
//
// ALSA's `pulse` PCM reports pa_stream_get_latency() of a stream that interpolates:
// libpulse asks for timing at intervals that double from 10 ms to 1.5 s and fills the
// time between with a filtered line, so a player reading snd_pcm_delay sees a fresh
// measurement only every 1.5 s. Here every answer is one: the server's clock when it
// answered (the client's send time plus `transport_usec`, exact on one machine:
// `synchronized_clocks`), the stream's read index then, and the sink's latency — the
// frame at the read index leaves the sink `sink_usec` later.
//
// The caller drives it from its event loop (`pump()`, non-blocking), so one process
// can run it beside the recorder whose read times it is judged against.

import { libpulse, PA_CONTEXT_READY, PA_NONE, PA_SAMPLE_S16LE, PA_STREAM_READY, realtimeOffsetUs, type Libpulse } from '../../../hardware/audio/libpulse.ts';

function bindings(): Libpulse {
  const pa = libpulse();
  if (!pa) throw new Error('libpulse-timing: libpulse is not available');
  return pa;
}
const pa = bindings();

export interface RawTiming {
  /** the server's clock when it answered, monotonic µs */
  atUs: number;
  /** frames the server had taken from the stream then */
  readFrames: number;
  /** frames written to the stream then */
  writeFrames: number;
  /** the sink's latency then, µs: the frame at `readFrames` leaves `sinkUs` after `atUs` */
  sinkUs: number;
  transportUs: number;
}

export class LibpulseTimingStream {
  readonly timings: RawTiming[] = [];
  written = 0;
  private readonly loop: unknown;
  private readonly context: unknown;
  private stream: unknown = null;
  private lastStamp = NaN;
  private lastAskUs = -Infinity;

  private constructor(
    server: string,
    private readonly updateMs: number,
    private readonly channels: number,
  ) {
    this.loop = pa.mainloopNew();
    this.context = pa.contextNew(pa.mainloopApi(this.loop), 'nearcast-bench');
    if (pa.contextConnect(this.context, server, 0, null) < 0) throw new Error(`libpulse: cannot connect to ${server}`);
  }

  /** Connects a playback stream to `sink` with `queueMs` of target buffer. */
  static async open(o: { server: string; sink: string; rate: number; channels: number; queueMs: number; updateMs: number }): Promise<LibpulseTimingStream> {
    const s = new LibpulseTimingStream(o.server, o.updateMs, o.channels);
    await s.until(() => pa.contextState(s.context) === PA_CONTEXT_READY, 'the context to connect');
    s.stream = pa.streamNew(s.context, 'nearcast-bench', { format: PA_SAMPLE_S16LE, rate: o.rate, channels: o.channels }, null);
    const tlength = Math.round((o.queueMs / 1000) * o.rate) * 2 * o.channels;
    const attr = { maxlength: PA_NONE, tlength, prebuf: PA_NONE, minreq: PA_NONE, fragsize: PA_NONE };
    if (pa.connectPlayback(s.stream, o.sink, attr, 0, null, null) < 0) throw new Error(`libpulse: cannot play to ${o.sink}`);
    await s.until(() => pa.streamState(s.stream) === PA_STREAM_READY, 'the stream to be ready');
    return s;
  }

  /** Runs libpulse's pending work, fills the stream from `fill(firstFrame, frames)`, asks for timing when due and keeps any new answer. */
  pump(fill: (firstFrame: number, frames: number) => Int16Array, nowUs: number): void {
    for (let i = 0; i < 20 && pa.iterate(this.loop, 0, null) > 0; i++);
    const frames = Math.floor(Number(pa.writableSize(this.stream)) / (2 * this.channels));
    if (frames > 0) {
      pa.write(this.stream, fill(this.written, frames), frames * 2 * this.channels, null, 0, 0);
      this.written += frames;
    }
    if (nowUs - this.lastAskUs >= this.updateMs * 1000) {
      const op = pa.updateTiming(this.stream, null, null);
      if (op) pa.operationUnref(op);
      this.lastAskUs = nowUs;
    }
    const ti = pa.timing(this.stream);
    if (!ti) return;
    const stamp = ti.timestamp.sec * 1e6 + ti.timestamp.usec;
    if (stamp === this.lastStamp || ti.read_index_corrupt || ti.write_index_corrupt || !ti.synchronized_clocks) return;
    this.lastStamp = stamp;
    const rtOffsetUs = realtimeOffsetUs(pa); // the wall clock's offset now: it is set and slewed under a run
    const frameBytes = 2 * this.channels;
    this.timings.push({
      atUs: stamp - rtOffsetUs + Number(ti.transport_usec),
      readFrames: Number(ti.read_index) / frameBytes,
      writeFrames: Number(ti.write_index) / frameBytes,
      sinkUs: Number(ti.sink_usec),
      transportUs: Number(ti.transport_usec),
    });
  }

  close(): void {
    if (this.stream) {
      pa.streamDisconnect(this.stream);
      pa.streamUnref(this.stream);
      this.stream = null;
    }
    pa.contextDisconnect(this.context);
    pa.contextUnref(this.context);
    pa.mainloopFree(this.loop);
  }

  private async until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 2500 && !cond(); i++) {
      pa.iterate(this.loop, 0, null);
      await new Promise((r) => setTimeout(r, 2));
    }
    if (!cond()) throw new Error(`libpulse: timed out waiting for ${what}`);
  }
}
