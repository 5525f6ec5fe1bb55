// Which Opus implementation a process uses: the system's libopus when it loads
// (opus-libopus.ts), otherwise libopus compiled to WebAssembly (opus-native.ts). The
// choice is made once per process, is logged by the box and the CLI, and the box
// reports it in telemetry (README "Performance" has what it costs).

import { OPUS_APPLICATION_AUDIO, OpusCodec, type OpusCodecApi } from './opus-native.ts';
import { LibopusCodec, libopusError, loadLibopus } from './opus-libopus.ts';

export type OpusPreference = 'auto' | 'libopus' | 'wasm';

export interface OpusImplementation {
  kind: 'libopus' | 'wasm';
  /** the library's own version string, or what the WebAssembly build is */
  version: string;
  /** why the WebAssembly build runs, when it does */
  reason?: string;
}

let preference: OpusPreference = 'auto';
let chosen: OpusImplementation | null = null;

/**
 * Sets which implementation later codecs use ('auto': libopus when present). For
 * tests and a what-if; codecs already open keep theirs.
 */
export function setOpusPreference(p: OpusPreference): void {
  if (p !== 'auto' && p !== 'libopus' && p !== 'wasm') throw new RangeError(`opus implementation '${String(p)}' (expected auto, libopus or wasm)`);
  preference = p;
  chosen = null;
}

/** The implementation new codecs get, decided on first use. */
export function opusImplementation(): OpusImplementation {
  if (chosen) return chosen;
  if (preference === 'wasm') {
    chosen = { kind: 'wasm', version: 'libopus (WebAssembly, opusscript)', reason: 'WebAssembly asked for' };
    return chosen;
  }
  const lib = loadLibopus();
  if (lib) chosen = { kind: 'libopus', version: lib.version };
  else if (preference === 'libopus') throw new Error(`opus: the system libopus is required but does not load (${libopusError()}); install it: apt-get install libopus0`);
  else chosen = { kind: 'wasm', version: 'libopus (WebAssembly, opusscript)', reason: `system libopus not found (${libopusError()})` };
  return chosen;
}

/** A codec state (encoder and/or decoder) on the chosen implementation. */
export function openOpus(rate: number, channels: number, application = OPUS_APPLICATION_AUDIO): OpusCodecApi {
  const impl = opusImplementation();
  const lib = impl.kind === 'libopus' ? loadLibopus() : null;
  return lib ? new LibopusCodec(rate, channels, application, lib) : new OpusCodec(rate, channels, application);
}

/** One line for a log: which Opus runs and, for the fallback, why. */
export function describeOpus(): string {
  const impl = opusImplementation();
  return impl.kind === 'libopus' ? `native ${impl.version}` : `${impl.version}: ${impl.reason}`;
}
