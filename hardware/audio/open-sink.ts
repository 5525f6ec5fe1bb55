// Chooses the playback backend from a one-word spec, so the CLI and the config file
// say "none", "sim", "sim:+50" or an ALSA PCM name ("default", "hw:1,0", "plughw:0").
// `pulse` is played through libpulse itself wherever libpulse loads (pulse-sink.ts:
// the server's raw timing, not the ALSA plugin's interpolated delay), as live input
// reads it (open-capture.ts); `alsa:NAME` always means the ALSA PCM NAME, so
// `alsa:pulse` reaches ALSA's plugin.

import type { PcmFormat } from '../../firmware/wire/format.ts';
import type { PcmSink } from './pcm-sink.ts';
import { AlsaSink } from './alsa-sink.ts';
import { libpulse, libpulseMissing } from './libpulse.ts';
import { PulseSink } from './pulse-sink.ts';
import { VirtualDac } from './virtual-dac.ts';
import type { SinkClock } from './paced-clock.ts';

export interface OpenSinkOptions {
  /** device buffer / latency, ms (default 100) */
  bufferMs?: number;
  /** virtual DAC only: keep written samples */
  keepSamples?: boolean;
  /** injected clock for the virtual DAC and ALSA pacing (tests) */
  clock?: SinkClock;
}

export type SinkSpec =
  | { kind: 'none' }
  | { kind: 'sim'; ppm: number }
  /** fallback: why `pulse` is ALSA's plugin here (libpulse did not load) */
  | { kind: 'alsa'; pcm: string; fallback?: string }
  | { kind: 'pulse' };

/** Parses a sink spec; throws a specific error on malformed input. */
export function parseSinkSpec(spec: string): SinkSpec {
  const s = spec.trim();
  if (s === '') throw new Error('sink spec is empty (use "none", "sim", "sim:+50", "pulse" or an ALSA PCM name)');
  if (s === 'none') return { kind: 'none' };
  if (s === 'pulse') return libpulse() ? { kind: 'pulse' } : { kind: 'alsa', pcm: s, fallback: `libpulse is not available (${libpulseMissing()})` };
  if (s.startsWith('alsa:')) {
    const pcm = s.slice(5).trim();
    if (pcm === '') throw new Error(`sink spec '${spec}': the ALSA PCM name after "alsa:" is empty, e.g. alsa:pulse or alsa:hw:1,0`);
    return { kind: 'alsa', pcm };
  }
  if (s === 'sim') return { kind: 'sim', ppm: 0 };
  if (s.startsWith('sim:')) {
    const text = s.slice(4);
    const ppm = Number(text);
    if (!/^[+-]?\d+(\.\d+)?$/.test(text) || !Number.isFinite(ppm) || Math.abs(ppm) > 10_000) {
      throw new Error(`sink spec '${spec}': ppm must be a number within ±10000, e.g. sim:+50 or sim:-80`);
    }
    return { kind: 'sim', ppm };
  }
  return { kind: 'alsa', pcm: s };
}

/** Human-readable description, for logs and status. */
export function describeSinkSpec(spec: string): string {
  const p = parseSinkSpec(spec);
  switch (p.kind) {
    case 'none':
      return 'no local playback';
    case 'sim':
      return `virtual DAC (${p.ppm >= 0 ? '+' : ''}${p.ppm} ppm)`;
    case 'alsa':
      return `ALSA PCM '${p.pcm}'${p.fallback ? ` (${p.fallback}: its delay is the plugin's interpolation, README "Sync where the listener hears it")` : ''}`;
    case 'pulse':
      return 'PulseAudio (libpulse)';
  }
}

/** Builds (does not open) the sink for a spec; null for "none". */
export function openSink(spec: string, format: PcmFormat, opts: OpenSinkOptions = {}): PcmSink | null {
  const p = parseSinkSpec(spec);
  switch (p.kind) {
    case 'none':
      return null;
    case 'sim':
      return new VirtualDac(format, { ppm: p.ppm, bufferMs: opts.bufferMs, keepSamples: opts.keepSamples, clock: opts.clock, name: spec.trim() });
    case 'alsa':
      return new AlsaSink(p.pcm, format, { latencyMs: opts.bufferMs, clock: opts.clock });
    case 'pulse':
      return new PulseSink('pulse', format);
  }
}
