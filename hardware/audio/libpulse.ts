// libpulse through koffi: a PulseAudio client (PulseAudio itself, or PipeWire's
// pipewire-pulse) driven from the event loop with a non-blocking pa_mainloop.
// Loaded on first use: a machine without libpulse gets null and its callers fall
// back to ALSA (see ARCHITECTURE.md, "Live input").
//
// Why not through ALSA's `pulse` plugin: the delay that plugin reports is
// libpulse's interpolation (PA_STREAM_INTERPOLATE_TIMING), a filtered line between
// timing updates that libpulse spaces out to 1.5 s; here every timing update is
// asked for and kept raw, each one stamped by the server's own clock.

import koffi from 'koffi';

export const PA_CONTEXT_READY = 4;
export const PA_CONTEXT_FAILED = 5;
export const PA_CONTEXT_TERMINATED = 6;
export const PA_STREAM_READY = 2;
export const PA_STREAM_FAILED = 3;
export const PA_STREAM_TERMINATED = 4;
export const PA_SAMPLE_S16LE = 3;
export const PA_STREAM_ADJUST_LATENCY = 0x2000;
/** (uint32_t) −1: the server's choice */
export const PA_NONE = 0xffffffff;

export interface PaTimingInfo {
  timestamp: { sec: number; usec: number };
  synchronized_clocks: number;
  sink_usec: number | bigint;
  source_usec: number | bigint;
  transport_usec: number | bigint;
  playing: number;
  write_index: number | bigint;
  read_index: number | bigint;
  write_index_corrupt: number;
  read_index_corrupt: number;
  since_underrun: number | bigint;
}

function bind() {
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
  // the head of pa_server_info: its first four fields, all this needs (the struct is only read through a pointer)
  const serverInfoHead = koffi.struct('pa_server_info_head', {
    user_name: 'const char *',
    host_name: 'const char *',
    server_version: 'const char *',
    server_name: 'const char *',
  });
  const serverInfoCb = koffi.proto('void pa_server_info_cb_t(pa_context *c, void *info, void *userdata)');
  const getServerInfo = lib.func('pa_operation *pa_context_get_server_info(pa_context *c, pa_server_info_cb_t *cb, void *userdata)');
  const operationCancel = lib.func('void pa_operation_cancel(pa_operation *o)');
  const libc = koffi.load('libc.so.6');
  const clockGettime = libc.func('int clock_gettime(int clk, _Out_ pa_timespec *ts)');
  const timingInfoOf = lib.func('const pa_timing_info *pa_stream_get_timing_info(pa_stream *s)');
  const strerror = lib.func('const char *pa_strerror(int error)');
  const errno = lib.func('int pa_context_errno(pa_context *c)');
  const operationUnref = lib.func('void pa_operation_unref(pa_operation *o)');
  return {
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
    connectRecord: lib.func('int pa_stream_connect_record(pa_stream *s, const char *dev, const pa_buffer_attr *attr, int flags)'),
    streamState: lib.func('int pa_stream_get_state(pa_stream *s)'),
    writableSize: lib.func('size_t pa_stream_writable_size(pa_stream *s)'),
    write: lib.func('int pa_stream_write(pa_stream *s, const void *data, size_t nbytes, void *free_cb, int64 offset, int seek)'),
    peek: lib.func('int pa_stream_peek(pa_stream *s, _Out_ void **data, _Out_ size_t *nbytes)'),
    drop: lib.func('int pa_stream_drop(pa_stream *s)'),
    updateTiming: lib.func('pa_operation *pa_stream_update_timing_info(pa_stream *s, void *cb, void *userdata)'),
    operationUnref,
    streamDisconnect: lib.func('int pa_stream_disconnect(pa_stream *s)'),
    streamUnref: lib.func('void pa_stream_unref(pa_stream *s)'),
    /** the stream's latest timing answer, decoded (null before the first) */
    timing(stream: unknown): PaTimingInfo | null {
      const p = timingInfoOf(stream);
      return p ? (koffi.decode(p, timingInfo) as PaTimingInfo) : null;
    },
    /** `bytes` of the memory at `ptr` as s16 samples (copied) */
    samples(ptr: unknown, bytes: number): Int16Array {
      return Int16Array.from(koffi.decode(ptr, koffi.array('int16', bytes >> 1)) as number[]);
    },
    /**
     * Asks the server's name (pa_server_info.server_name: "pulseaudio", or "PulseAudio (on PipeWire
     * 1.0.5)" from pipewire-pulse); `done` gets it from within pa_mainloop_iterate. Returns the call
     * that ends the request (cancelled if unanswered) and frees its callback; null when it could not be sent.
     */
    askServerName(context: unknown, done: (name: string) => void): (() => void) | null {
      const cb = koffi.register((_c: unknown, info: unknown) => {
        done(info ? String((koffi.decode(info, serverInfoHead) as { server_name: string | null }).server_name ?? '') : '');
      }, koffi.pointer(serverInfoCb));
      const op = getServerInfo(context, cb, null);
      if (!op) {
        koffi.unregister(cb);
        return null;
      }
      return () => {
        operationCancel(op); // no callback after this, answered or not
        operationUnref(op);
        koffi.unregister(cb);
      };
    },
    /** the context's last error, in words */
    error(context: unknown): string {
      return String(strerror(errno(context)));
    },
    clockUs(clk: number): number {
      const ts = { sec: 0, nsec: 0 };
      clockGettime(clk, ts);
      return ts.sec * 1e6 + ts.nsec / 1e3;
    },
  };
}

export type Libpulse = ReturnType<typeof bind>;

let loaded: Libpulse | null | undefined;
let loadError = '';

/** The bindings, or null when libpulse cannot be loaded here (then `libpulseMissing()` says why). */
export function libpulse(): Libpulse | null {
  if (loaded === undefined) {
    try {
      loaded = bind();
    } catch (e) {
      loaded = null;
      loadError = (e as Error).message;
    }
  }
  return loaded;
}

export function libpulseMissing(): string {
  libpulse();
  return loadError;
}

/**
 * CLOCK_REALTIME − CLOCK_MONOTONIC, µs: libpulse stamps its timing in wall-clock time. The
 * tightest of `tries` bracketing pairs. Measure it with every answer: the wall clock is set
 * and slewed under a running box (seen here: steps of 1 and 8.8 s, then a slew of 0.5 % for
 * minutes), and an offset 10 s old put a capture 30–37 ms off.
 */
export function realtimeOffsetUs(pa: Libpulse, tries = 3): number {
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < tries; i++) {
    const a = pa.clockUs(1);
    const r = pa.clockUs(0);
    const b = pa.clockUs(1);
    if (b - a < best) {
      best = b - a;
      offset = r - (a + b) / 2;
    }
  }
  return offset;
}
