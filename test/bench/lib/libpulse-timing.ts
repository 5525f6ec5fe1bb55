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

import koffi from 'koffi';

const PA_CONTEXT_READY = 4;
const PA_STREAM_READY = 2;
const PA_SAMPLE_S16LE = 3;
const NONE = 0xffffffff; // (uint32_t) -1: the server's choice

const lib = koffi.load('libpulse.so.0');
koffi.opaque('pa_mainloop');
koffi.opaque('pa_mainloop_api');
koffi.opaque('pa_context');
koffi.opaque('pa_stream');
koffi.opaque('pa_operation');
koffi.struct('pa_sample_spec', { format: 'int', rate: 'uint32', channels: 'uint8' });
koffi.struct('pa_buffer_attr', { maxlength: 'uint32', tlength: 'uint32', prebuf: 'uint32', minreq: 'uint32', fragsize: 'uint32' });
koffi.struct('pa_timeval', { sec: 'long', usec: 'long' });
const timingInfo = koffi.struct('pa_timing_info', {
  timestamp: 'pa_timeval',
  synchronized_clocks: 'int',
  sink_usec: 'uint64',
  source_usec: 'uint64',
  transport_usec: 'uint64',
  playing: 'int',
  write_index_corrupt: 'int',
  write_index: 'int64',
  read_index_corrupt: 'int',
  read_index: 'int64',
  configured_sink_usec: 'uint64',
  configured_source_usec: 'uint64',
  since_underrun: 'int64',
});
koffi.struct('pa_timespec', { sec: 'long', nsec: 'long' });

const pa = {
  mainloopNew: lib.func('pa_mainloop *pa_mainloop_new()'),
  mainloopApi: lib.func('pa_mainloop_api *pa_mainloop_get_api(pa_mainloop *m)'),
  iterate: lib.func('int pa_mainloop_iterate(pa_mainloop *m, int block, void *retval)'),
  mainloopFree: lib.func('void pa_mainloop_free(pa_mainloop *m)'),
  contextNew: lib.func('pa_context *pa_context_new(pa_mainloop_api *api, const char *name)'),
  contextConnect: lib.func('int pa_context_connect(pa_context *c, const char *server, int flags, void *api)'),
  contextState: lib.func('int pa_context_get_state(pa_context *c)'),
  contextDisconnect: lib.func('void pa_context_disconnect(pa_context *c)'),
  contextUnref: lib.func('void pa_context_unref(pa_context *c)'),
  streamNew: lib.func('pa_stream *pa_stream_new(pa_context *c, const char *name, const pa_sample_spec *ss, void *map)'),
  connectPlayback: lib.func('int pa_stream_connect_playback(pa_stream *s, const char *dev, const pa_buffer_attr *attr, int flags, void *volume, void *sync)'),
  streamState: lib.func('int pa_stream_get_state(pa_stream *s)'),
  writableSize: lib.func('size_t pa_stream_writable_size(pa_stream *s)'),
  write: lib.func('int pa_stream_write(pa_stream *s, const void *data, size_t nbytes, void *free_cb, int64 offset, int seek)'),
  updateTiming: lib.func('pa_operation *pa_stream_update_timing_info(pa_stream *s, void *cb, void *userdata)'),
  operationUnref: lib.func('void pa_operation_unref(pa_operation *o)'),
  timingInfo: lib.func('const pa_timing_info *pa_stream_get_timing_info(pa_stream *s)'),
  streamDisconnect: lib.func('int pa_stream_disconnect(pa_stream *s)'),
  streamUnref: lib.func('void pa_stream_unref(pa_stream *s)'),
};
const libc = koffi.load('libc.so.6');
const clockGettime = libc.func('int clock_gettime(int clk, _Out_ pa_timespec *ts)');

function clockUs(clk: number): number {
  const ts = { sec: 0, nsec: 0 };
  clockGettime(clk, ts);
  return ts.sec * 1e6 + ts.nsec / 1e3;
}

/** CLOCK_REALTIME − CLOCK_MONOTONIC, µs (libpulse stamps its timing in wall-clock time) */
function realtimeOffsetUs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 50; i++) {
    const a = clockUs(1);
    const r = clockUs(0);
    const b = clockUs(1);
    if (b - a < best) {
      best = b - a;
      offset = r - (a + b) / 2;
    }
  }
  return offset;
}

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
  private readonly rtOffsetUs = realtimeOffsetUs();
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
    const attr = { maxlength: NONE, tlength, prebuf: NONE, minreq: NONE, fragsize: NONE };
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
    const p = pa.timingInfo(this.stream);
    if (!p) return;
    const ti = koffi.decode(p, timingInfo) as {
      timestamp: { sec: number; usec: number };
      synchronized_clocks: number;
      sink_usec: number | bigint;
      transport_usec: number | bigint;
      write_index: number | bigint;
      read_index: number | bigint;
      write_index_corrupt: number;
      read_index_corrupt: number;
    };
    const stamp = ti.timestamp.sec * 1e6 + ti.timestamp.usec;
    if (stamp === this.lastStamp || ti.read_index_corrupt || ti.write_index_corrupt || !ti.synchronized_clocks) return;
    this.lastStamp = stamp;
    const frameBytes = 2 * this.channels;
    this.timings.push({
      atUs: stamp - this.rtOffsetUs + Number(ti.transport_usec),
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
