// The system's libopus (Debian / Raspberry Pi OS package libopus0) through koffi,
// the FFI the box already uses for libasound. Native code is 3–4 times faster than
// the WebAssembly build and needs no WebAssembly heap; when the library is missing
// opus-backend.ts falls back to WebAssembly (opus-native.ts).

import koffi from 'koffi';
import type { OpusCodecApi } from './opus-native.ts';

const OPUS_SET_BITRATE = 4002;
const OPUS_SET_VBR_CONSTRAINT = 4020;
const OPUS_GET_LOOKAHEAD = 4027;
const MAX_FRAME_SIZE = 5760; // 120 ms at 48 kHz per channel: the most one packet (or one PLC call) can hold
const MAX_PACKET = 1276 * 3;

type Fn = (...args: unknown[]) => unknown;
interface Binding {
  version: string;
  encoderCreate: Fn;
  encoderCtl: Fn;
  encode: Fn;
  encoderDestroy: Fn;
  decoderCreate: Fn;
  decode: Fn;
  decoderDestroy: Fn;
  strerror: (code: number) => string;
}

let binding: Binding | null | undefined;
let loadError = '';

/** Binds libopus once; null (with libopusError() saying why) when it cannot be loaded. */
export function loadLibopus(file = 'libopus.so.0'): Binding | null {
  if (binding !== undefined && file === 'libopus.so.0') return binding;
  let result: Binding | null = null;
  try {
    const lib = koffi.load(file);
    // koffi keeps type names process-wide: declare the opaque handles only once
    const has = (name: string) => {
      try {
        koffi.resolve(name);
        return true;
      } catch {
        return false;
      }
    };
    if (!has('OpusEncoder')) koffi.opaque('OpusEncoder');
    if (!has('OpusDecoder')) koffi.opaque('OpusDecoder');
    const strerror = lib.func('const char *opus_strerror(int error)') as (code: number) => string;
    result = {
      version: (lib.func('const char *opus_get_version_string(void)') as () => string)(),
      encoderCreate: lib.func('OpusEncoder *opus_encoder_create(int Fs, int channels, int application, _Out_ int *error)'),
      encoderCtl: lib.func('int opus_encoder_ctl(OpusEncoder *st, int request, ...)'),
      encode: lib.func('int opus_encode(OpusEncoder *st, const int16_t *pcm, int frame_size, uint8_t *data, int max_data_bytes)'),
      encoderDestroy: lib.func('void opus_encoder_destroy(OpusEncoder *st)'),
      decoderCreate: lib.func('OpusDecoder *opus_decoder_create(int Fs, int channels, _Out_ int *error)'),
      decode: lib.func('int opus_decode(OpusDecoder *st, const uint8_t *data, int len, int16_t *pcm, int frame_size, int decode_fec)'),
      decoderDestroy: lib.func('void opus_decoder_destroy(OpusDecoder *st)'),
      strerror,
    };
  } catch (e) {
    loadError = `${file}: ${(e as Error).message}`;
    result = null;
  }
  if (file === 'libopus.so.0') binding = result;
  return result;
}

export function libopusError(): string {
  return loadError;
}

interface NativeState {
  enc: unknown;
  dec: unknown;
  lib: Binding;
}
function freeState(st: NativeState): void {
  if (st.enc) st.lib.encoderDestroy(st.enc);
  if (st.dec) st.lib.decoderDestroy(st.dec);
  st.enc = st.dec = null;
}
// A codec dropped without close() still frees its native state (held apart from the codec, so it can be collected).
const finalizer = new FinalizationRegistry<NativeState>(freeState);

/** One libopus encoder and one decoder state for a rate and channel count; the same calls as the WebAssembly OpusCodec. */
export class LibopusCodec implements OpusCodecApi {
  readonly library: string;
  private readonly st: NativeState;
  private closed = false;
  private readonly packet = new Uint8Array(MAX_PACKET);
  private readonly pcm: Int16Array;

  constructor(
    readonly rate: number,
    readonly channels: number,
    private readonly application: number,
    private readonly lib: Binding,
  ) {
    this.library = lib.version;
    this.pcm = new Int16Array(MAX_FRAME_SIZE * channels);
    this.st = { enc: null, dec: null, lib };
    finalizer.register(this, this.st, this);
  }

  private encoder(): unknown {
    if (this.closed) throw new Error('opus codec is closed');
    if (!this.st.enc) {
      const err: [number] = [0];
      const st = this.lib.encoderCreate(this.rate, this.channels, this.application, err);
      if (!st || err[0] !== 0) throw new Error(`opus: cannot create an encoder (${this.rate} Hz, ${this.channels} ch): ${this.lib.strerror(err[0])}`);
      this.st.enc = st;
    }
    return this.st.enc;
  }

  private decoder(): unknown {
    if (this.closed) throw new Error('opus codec is closed');
    if (!this.st.dec) {
      const err: [number] = [0];
      const st = this.lib.decoderCreate(this.rate, this.channels, err);
      if (!st || err[0] !== 0) throw new Error(`opus: cannot create a decoder (${this.rate} Hz, ${this.channels} ch): ${this.lib.strerror(err[0])}`);
      this.st.dec = st;
    }
    return this.st.dec;
  }

  private ctl(request: number, value: number, what: string): void {
    const rc = this.lib.encoderCtl(this.encoder(), request, 'int', value) as number;
    if (rc < 0) throw new Error(`opus: cannot ${what}: ${this.lib.strerror(rc)}`);
  }

  setBitrate(bps: number): void {
    this.ctl(OPUS_SET_BITRATE, bps, `set bitrate ${bps}`);
  }
  constrainVbr(): void {
    this.ctl(OPUS_SET_VBR_CONSTRAINT, 1, 'constrain VBR');
  }

  /** OPUS_GET_LOOKAHEAD: frames by which decoded output lags the input */
  lookahead(): number {
    const out = new Int32Array(1);
    const rc = this.lib.encoderCtl(this.encoder(), OPUS_GET_LOOKAHEAD, 'int *', out) as number;
    if (rc < 0) throw new Error(`opus: cannot read the look-ahead: ${this.lib.strerror(rc)}`);
    return out[0]!;
  }

  encode(pcm: Int16Array, frameSize: number): Uint8Array {
    if (frameSize > MAX_FRAME_SIZE || pcm.length !== frameSize * this.channels)
      throw new RangeError(`opus: ${pcm.length} samples is not ${frameSize} frames of ${this.channels} channels`);
    const len = this.lib.encode(this.encoder(), pcm, frameSize, this.packet, MAX_PACKET) as number;
    if (len < 0) throw new Error(`opus encode: ${this.lib.strerror(len)}`);
    return this.packet.slice(0, len);
  }

  decode(packet: Uint8Array): Int16Array {
    if (packet.length > MAX_PACKET) throw new RangeError(`opus: packet of ${packet.length} bytes exceeds ${MAX_PACKET}`);
    // an empty packet asks for loss concealment (NULL data); 60 ms of it, as the WebAssembly build conceals
    const empty = packet.length === 0;
    const room = empty ? Math.round((this.rate * 60) / 1000) : MAX_FRAME_SIZE;
    const frames = this.lib.decode(this.decoder(), empty ? null : packet, packet.length, this.pcm, room, 0) as number;
    if (frames < 0) throw new Error(`opus decode: ${this.lib.strerror(frames)}`);
    return this.pcm.slice(0, frames * this.channels);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    finalizer.unregister(this);
    freeState(this.st);
  }
}
