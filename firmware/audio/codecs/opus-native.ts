// A correct binding to opusscript's WebAssembly libopus. opusscript's native side
// exchanges PCM as one byte per 16-bit slot (the little-endian bytes of the
// samples, each widened to a u16). Its JavaScript wrapper builds those views with
// HEAPU16.subarray(bytePointer, ...), using a byte address as a 16-bit index: the
// view lands at twice the allocated address, on memory that belongs to other
// allocations, so two or more codec instances in one process (an encoder and a
// decoder, several decoders) corrupt each other at random. Here the slots live in
// memory we allocated for them, and views are made per call on the current heap.

import { createRequire } from 'node:module';

interface NativeHandler {
  _encode(pcmPtr: number, bytes: number, outPtr: number, frameSize: number): number;
  _decode(pktPtr: number, bytes: number, outPtr: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
  _decoder_ctl(ctl: number, arg: number): number;
}

interface NativeModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  OpusScriptHandler: { new (rate: number, channels: number, application: number): NativeHandler; destroy_handler(h: NativeHandler): void };
}

/** What every Opus implementation offers the codec classes (this WebAssembly one, and opus-libopus.ts). */
export interface OpusCodecApi {
  /** which libopus build runs, for logs and telemetry */
  readonly library: string;
  setBitrate(bps: number): void;
  constrainVbr(): void;
  /** frames by which decoded output lags the encoder's input */
  lookahead(): number;
  encode(pcm: Int16Array, frameSize: number): Uint8Array;
  /** an empty packet asks for loss concealment */
  decode(packet: Uint8Array): Int16Array;
  close(): void;
}

let native: NativeModule | null = null;
function load(): NativeModule {
  if (!native) {
    const require = createRequire(import.meta.url);
    const factory = require('opusscript/build/opusscript_native_wasm.js') as () => NativeModule;
    native = factory();
  }
  return native;
}

const MAX_FRAME_SIZE = 2880; // 60 ms at 48 kHz, per channel
export const MAX_PACKET_SIZE = 1276 * 3;
export const OPUS_APPLICATION_AUDIO = 2049;
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_VBR_CONSTRAINT = 4020;
const ERRORS: Record<number, string> = {
  [-1]: 'bad argument',
  [-2]: 'buffer too small',
  [-3]: 'internal error',
  [-4]: 'invalid packet',
  [-5]: 'unimplemented',
  [-6]: 'invalid state',
  [-7]: 'memory allocation failed',
};

// A codec that is dropped without close() still gives its WebAssembly memory back:
// the heap cannot grow, and a long-running box must not run out of it.
const finalizer = new FinalizationRegistry<{ m: NativeModule; handler: NativeHandler; ptrs: number[] }>(({ m, handler, ptrs }) => {
  m.OpusScriptHandler.destroy_handler(handler);
  for (const p of ptrs) m._free(p);
});

/**
 * Encoder look-ahead at 48 kHz (2.5 ms + 4 ms delay compensation). opusscript's
 * encoderCTL only passes integers, not the out-pointer OPUS_GET_LOOKAHEAD needs, so
 * this is libopus's fixed value for the AUDIO application (the codec tests measure it).
 */
const LOOKAHEAD_48K = 312;

export class OpusCodec implements OpusCodecApi {
  readonly library = 'libopus (WebAssembly, opusscript)';
  private readonly native: NativeModule;
  private handler: NativeHandler | null;
  private readonly pcmPtr: number;
  private readonly pktPtr: number;

  constructor(
    readonly rate: number,
    readonly channels: number,
    application = OPUS_APPLICATION_AUDIO,
  ) {
    this.native = load();
    this.handler = new this.native.OpusScriptHandler(rate, channels, application);
    // a u16 slot per PCM byte; loss concealment writes beyond one 60 ms frame of slots, so twice that
    this.pcmPtr = this.native._malloc(MAX_FRAME_SIZE * channels * 2 * 2 * 2);
    this.pktPtr = this.native._malloc(MAX_PACKET_SIZE);
    if (!this.pcmPtr || !this.pktPtr) {
      this.native.OpusScriptHandler.destroy_handler(this.handler);
      if (this.pcmPtr) this.native._free(this.pcmPtr);
      if (this.pktPtr) this.native._free(this.pktPtr);
      this.handler = null;
      throw new Error('opus: out of WebAssembly memory (too many codecs open at once)');
    }
    finalizer.register(this, { m: this.native, handler: this.handler, ptrs: [this.pcmPtr, this.pktPtr] }, this);
  }

  /** the open handler; throws once closed */
  private open(): NativeHandler {
    if (!this.handler) throw new Error('opus codec is closed');
    return this.handler;
  }

  setBitrate(bps: number): void {
    const rc = this.open()._encoder_ctl(OPUS_SET_BITRATE, bps);
    if (rc < 0) throw new Error(`opus: cannot set bitrate ${bps}: ${ERRORS[rc] ?? rc}`);
  }

  /** Constrained VBR: every packet stays near the set bitrate (a stream's bandwidth is its bitrate, not 10 % more on busy music) */
  constrainVbr(): void {
    const rc = this.open()._encoder_ctl(OPUS_SET_VBR_CONSTRAINT, 1);
    if (rc < 0) throw new Error(`opus: cannot constrain VBR: ${ERRORS[rc] ?? rc}`);
  }

  lookahead(): number {
    return Math.round((LOOKAHEAD_48K * this.rate) / 48000);
  }

  /** Encodes `frameSize` frames of interleaved samples into one packet (a copy). */
  encode(pcm: Int16Array, frameSize: number): Uint8Array {
    const h = this.open();
    if (frameSize > MAX_FRAME_SIZE || pcm.length !== frameSize * this.channels)
      throw new RangeError(`opus: ${pcm.length} samples is not ${frameSize} frames of ${this.channels} channels`);
    const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength); // little-endian host (x64, arm64)
    new Uint16Array(this.native.HEAPU8.buffer, this.pcmPtr, bytes.length).set(bytes);
    const len = h._encode(this.pcmPtr, bytes.length, this.pktPtr, frameSize);
    if (len < 0) throw new Error(`opus encode: ${ERRORS[len] ?? len}`);
    return this.native.HEAPU8.slice(this.pktPtr, this.pktPtr + len);
  }

  /** Decodes one packet (an empty one asks for loss concealment) into interleaved samples (a copy). */
  decode(packet: Uint8Array): Int16Array {
    const h = this.open();
    if (packet.length > MAX_PACKET_SIZE) throw new RangeError(`opus: packet of ${packet.length} bytes exceeds ${MAX_PACKET_SIZE}`);
    this.native.HEAPU8.set(packet, this.pktPtr);
    const frames = h._decode(this.pktPtr, packet.length, this.pcmPtr);
    if (frames < 0) throw new Error(`opus decode: ${ERRORS[frames] ?? frames}`);
    const slots = new Uint16Array(this.native.HEAPU8.buffer, this.pcmPtr, frames * this.channels * 2);
    const out = new Int16Array(frames * this.channels);
    new Uint8Array(out.buffer).set(slots); // narrows each slot back to its byte
    return out;
  }

  close(): void {
    if (!this.handler) return;
    finalizer.unregister(this);
    this.native.OpusScriptHandler.destroy_handler(this.handler);
    this.native._free(this.pcmPtr);
    this.native._free(this.pktPtr);
    this.handler = null;
  }
}
