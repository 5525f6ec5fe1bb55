// Playout in the browser. Two decoding paths, one schedule:
// - a page opened over plain HTTP from a LAN address (http://192.168.49.1) is not a
//   secure context: no WebCodecs, no AudioWorklet. Opus is decoded by WebAssembly
//   (opus-decoder), on the main thread.
// - where WebCodecs is available (https, localhost) and its AudioDecoder takes Opus,
//   the browser's own libopus decodes off the main thread.
// Either way each chunk becomes an AudioBufferSourceNode started at the AudioContext
// time its playAt maps to: box clock → this page's clock (ClockSync over the stream's
// time frames) → AudioContext time through getOutputTimestamp(), which pairs a
// context time with the performance.now() at which it leaves the speaker. Buffer
// sources start sample-accurately on the audio thread, so an AudioWorklet would add
// nothing to the schedule. Chunks follow each other seamlessly; the page's audio clock
// drifting from the box's is corrected inaudibly by playing a chunk at most 0.1 %
// faster or slower, and a larger error (a stalled tab) by a hard re-anchor.

import { OpusDecoder } from 'opus-decoder';
import type { ClockSync } from '../../firmware/wire/clock.ts';
import type { AudioFrame, CodecHeaderFrame } from '../../firmware/wire/frames.ts';

const CONTIGUOUS_S = 0.003; // within this of the previous chunk's end: play on after it
const DEADBAND_S = 0.00025; // errors below this are left alone
const MAX_RATE = 0.001; // soft correction: at most 0.1 % faster or slower
const MIN_LEAD_S = 0.01; // a chunk due sooner than this is late

export type DecodePath = 'webcodecs' | 'wasm' | 'pcm';
export interface WebPlayerStats {
  path: DecodePath | null;
  syncErrorMs: number;
  bufferMs: number;
  underruns: number;
  late: number;
  resyncs: number;
  corrections: number;
  chunks: number;
  decodeErrors: number;
}

interface Decoder {
  decode(f: AudioFrame): void;
  close(): void;
}

/** whether this page can decode Opus through WebCodecs (secure contexts only) */
export async function webCodecsOpus(sampleRate: number, channels: number): Promise<boolean> {
  // WebCodecs exists only in secure contexts of recent browsers, whatever the DOM typings say
  const AD = (globalThis as { AudioDecoder?: typeof AudioDecoder }).AudioDecoder;
  if (typeof AD !== 'function') return false;
  try {
    return (await AD.isConfigSupported({ codec: 'opus', sampleRate, numberOfChannels: channels })).supported === true;
  } catch {
    return false;
  }
}

export class WebPlayer {
  readonly gain: GainNode;
  private header: CodecHeaderFrame | null = null;
  private decoder: Decoder | null = null;
  private nextWhen = 0; // context time the next contiguous chunk would start at
  private lastSeq = -1;
  private offsetMs = 0;
  private readonly stat: WebPlayerStats = { path: null, syncErrorMs: 0, bufferMs: 0, underruns: 0, late: 0, resyncs: 0, corrections: 0, chunks: 0, decodeErrors: 0 };
  private pending: AudioFrame[] = [];
  private readonly sources = new Set<AudioBufferSourceNode>();
  /** measurement: each chunk's sequence number, the context time it starts at, and the box-clock
   *  instant it is due out of the speaker (playAt less the decoder's delay) */
  onScheduled: ((seq: number, contextTime: number, dueUs: number) => void) | null = null;

  constructor(
    readonly ctx: AudioContext,
    private readonly sync: ClockSync,
  ) {
    this.gain = ctx.createGain();
    this.gain.connect(ctx.destination);
  }

  async onCodecHeader(h: CodecHeaderFrame): Promise<void> {
    this.header = null;
    this.decoder?.close();
    this.decoder = null;
    if (h.codec === 'opus') {
      this.decoder = (await webCodecsOpus(h.sampleRate, h.channels)) ? this.webCodecsDecoder(h) : await this.wasmDecoder(h);
    } else {
      this.decoder = this.pcmDecoder(h);
    }
    this.header = h;
    const queued = this.pending;
    this.pending = [];
    for (const f of queued) this.onAudio(f);
  }

  setVolume(percent: number): void {
    this.gain.gain.setTargetAtTime(Math.max(0, Math.min(100, percent)) / 100, this.ctx.currentTime, 0.02);
  }

  /** positive: play earlier (a slow Bluetooth speaker) */
  setLatencyOffsetMs(ms: number): void {
    this.offsetMs = ms;
    this.resync();
  }

  /** re-anchor on the next chunk (after a stall: a tab back from the background) */
  resync(): void {
    this.nextWhen = 0;
  }

  stats(): WebPlayerStats {
    return { ...this.stat, bufferMs: Math.max(0, (this.nextWhen - this.ctx.currentTime) * 1000) };
  }

  /** context time at which a box-clock instant leaves the speaker */
  private contextTimeOf(serverUs: number): number {
    const ts = this.ctx.getOutputTimestamp();
    const localMs = this.sync.toClient(serverUs) / 1000 - this.offsetMs;
    return (ts.contextTime ?? this.ctx.currentTime) + (localMs - (ts.performanceTime ?? performance.now())) / 1000;
  }

  onAudio(f: AudioFrame): void {
    if (!this.header || !this.decoder || !this.sync.synced) {
      if (this.pending.length < 50) this.pending.push(f);
      return;
    }
    this.decoder.decode(f);
  }

  /** plays a decoded chunk at its time */
  private schedule(f: AudioFrame, buf: AudioBuffer): void {
    const h = this.header;
    if (!h) return;
    this.stat.chunks++;
    // box clock: this buffer's first sample out (the decoder's output lags its input)
    const dueUs = f.playAt - (h.codecDelayFrames * 1e6) / h.sampleRate;
    const when = this.contextTimeOf(dueUs);
    const contiguous = f.seq === this.lastSeq + 1 && !f.gap && this.nextWhen > 0 && Math.abs(when - this.nextWhen) < CONTIGUOUS_S;
    const error = contiguous ? this.nextWhen - when : 0; // > 0: this page plays late
    this.stat.syncErrorMs = error * 1000;
    let start = contiguous ? this.nextWhen : when;
    if (!contiguous && this.lastSeq >= 0) this.stat.resyncs++;
    this.lastSeq = f.seq;
    // soft correction: late → a touch faster, early → a touch slower; never past the error itself
    let rate = 1;
    if (Math.abs(error) > DEADBAND_S) {
      rate = 1 + Math.sign(error) * Math.min(MAX_RATE, Math.abs(error) / buf.duration);
      this.stat.corrections++;
    }
    const now = this.ctx.currentTime;
    let offset = 0;
    if (start < now + MIN_LEAD_S) {
      // late: play what is still ahead of now, if anything
      offset = (now + MIN_LEAD_S - start) * rate;
      if (offset >= buf.duration) {
        this.stat.late++;
        this.nextWhen = 0;
        return;
      }
      start = now + MIN_LEAD_S;
      if (this.nextWhen > 0) this.stat.underruns++;
    }
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.playbackRate.value = rate;
    src.connect(this.gain);
    src.onended = () => {
      this.sources.delete(src);
      src.disconnect();
    };
    this.sources.add(src);
    src.start(start, offset);
    this.onScheduled?.(f.seq, start - offset / rate, dueUs);
    this.nextWhen = start + (buf.duration - offset) / rate;
  }

  private async wasmDecoder(h: CodecHeaderFrame): Promise<Decoder> {
    const d = new OpusDecoder({ channels: h.channels, preSkip: 0 });
    await d.ready;
    this.stat.path = 'wasm';
    return {
      decode: (f) => {
        const out = d.decodeFrame(f.payload);
        if (out.errors?.length) this.stat.decodeErrors++;
        if (!out.samplesDecoded) return;
        const b = this.ctx.createBuffer(h.channels, out.samplesDecoded, h.sampleRate);
        for (let c = 0; c < h.channels; c++) b.copyToChannel(out.channelData[Math.min(c, out.channelData.length - 1)] as Float32Array<ArrayBuffer>, c);
        this.schedule(f, b);
      },
      close: () => d.free(),
    };
  }

  private webCodecsDecoder(h: CodecHeaderFrame): Decoder {
    // outputs come in decode order; their timestamps may come back rounded (1800000 → 1799999 µs)
    const inFlight: Array<{ stamp: number; f: AudioFrame }> = [];
    const stampOf = (f: AudioFrame) => f.seq * h.chunkMs * 1000; // µs of stream time
    // called only where webCodecsOpus() found AudioDecoder
    let dec: AudioDecoder | null = null;
    const open = (): AudioDecoder => {
      const opened = new AudioDecoder({
        output: (data) => {
          while (inFlight[0] && inFlight[0].stamp < data.timestamp - 1000) inFlight.shift(); // the decoder skipped it
          const next = inFlight[0];
          const f = next && Math.abs(next.stamp - data.timestamp) <= 1000 ? inFlight.shift()!.f : null;
          try {
            if (!f || !data.numberOfFrames) return;
            const b = this.ctx.createBuffer(h.channels, data.numberOfFrames, h.sampleRate);
            const plane = new Float32Array(data.numberOfFrames);
            for (let c = 0; c < h.channels; c++) {
              data.copyTo(plane, { planeIndex: Math.min(c, data.numberOfChannels - 1), format: 'f32-planar' });
              b.copyToChannel(plane, c);
            }
            this.schedule(f, b);
          } finally {
            data.close();
          }
        },
        // a corrupt packet closes a WebCodecs decoder: count it and open a fresh one
        error: () => {
          this.stat.decodeErrors++;
          inFlight.length = 0;
          dec = null;
        },
      });
      opened.configure({ codec: 'opus', sampleRate: h.sampleRate, numberOfChannels: h.channels });
      dec = opened;
      return opened;
    };
    open();
    this.stat.path = 'webcodecs';
    return {
      decode: (f) => {
        const decoder = !dec || dec.state === 'closed' ? open() : dec;
        const stamp = stampOf(f);
        inFlight.push({ stamp, f });
        if (inFlight.length > 100) inFlight.shift(); // a decoder that stopped answering
        try {
          decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: stamp, data: f.payload }));
        } catch {
          this.stat.decodeErrors++;
          inFlight.pop();
        }
      },
      close: () => {
        if (dec && dec.state !== 'closed') dec.close();
      },
    };
  }

  private pcmDecoder(h: CodecHeaderFrame): Decoder {
    this.stat.path = 'pcm';
    const ch = h.channels;
    return {
      decode: (f) => {
        const p = f.payload;
        const s = new Int16Array(p.buffer.slice(p.byteOffset, p.byteOffset + (p.byteLength & ~1)));
        const frames = Math.floor(s.length / ch);
        if (!frames) return;
        const b = this.ctx.createBuffer(ch, frames, h.sampleRate);
        for (let c = 0; c < ch; c++) {
          const out = b.getChannelData(c);
          for (let i = 0; i < frames; i++) out[i] = s[i * ch + c]! / 32768;
        }
        this.schedule(f, b);
      },
      close: () => undefined,
    };
  }

  /** stops everything scheduled (leave, a new stream) */
  close(): void {
    for (const s of this.sources) {
      try {
        s.stop();
      } catch {
        /* not started */
      }
    }
    this.sources.clear();
    this.decoder?.close();
    this.decoder = null;
    this.gain.disconnect();
  }
}
