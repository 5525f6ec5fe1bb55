// Playout in the browser, on plain HTTP from a LAN address (not a secure context:
// no AudioWorklet, no WebCodecs): Opus decoded by WebAssembly (opus-decoder), PCM
// as is, each chunk an AudioBufferSourceNode started at the AudioContext time that
// its playAt maps to. The map: box clock → this page's clock (ClockSync over the
// stream's time frames) → AudioContext time through getOutputTimestamp(), which
// pairs a context time with the performance.now() at which it leaves the speaker.

import { OpusDecoder } from 'opus-decoder';
import type { ClockSync } from '../../firmware/wire/clock.ts';
import type { AudioFrame, CodecHeaderFrame } from '../../firmware/wire/frames.ts';

const CONTIGUOUS_S = 0.002; // closer than this to the previous chunk's end: play seamlessly after it
const MIN_LEAD_S = 0.01; // a chunk due sooner than this is late

export interface WebPlayerStats { syncErrorMs: number; bufferMs: number; underruns: number; late: number; resyncs: number; chunks: number }

export class WebPlayer {
  readonly gain: GainNode;
  private header: CodecHeaderFrame | null = null;
  private opus: OpusDecoder | null = null;
  private nextWhen = 0; // context time the next contiguous chunk would start at
  private lastSeq = -1;
  private offsetMs = 0;
  private readonly stat: WebPlayerStats = { syncErrorMs: 0, bufferMs: 0, underruns: 0, late: 0, resyncs: 0, chunks: 0 };
  private pending: AudioFrame[] = [];
  /** called with each chunk's sequence number and the context time it starts at (measurement) */
  onScheduled: ((seq: number, contextTime: number) => void) | null = null;

  constructor(readonly ctx: AudioContext, private readonly sync: ClockSync) {
    this.gain = ctx.createGain();
    this.gain.connect(ctx.destination);
  }

  async onCodecHeader(h: CodecHeaderFrame): Promise<void> {
    this.header = h;
    this.opus?.free();
    this.opus = null;
    if (h.codec === 'opus') {
      const d = new OpusDecoder({ channels: h.channels, preSkip: 0 });
      await d.ready;
      this.opus = d;
    }
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
    this.nextWhen = 0; // re-anchor on the next chunk
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
    const h = this.header;
    if (!h || (h.codec === 'opus' && !this.opus) || !this.sync.synced) {
      if (this.pending.length < 50) this.pending.push(f);
      return;
    }
    const buf = this.decode(h, f.payload);
    if (!buf) return;
    this.stat.chunks++;
    const delayUs = (h.codecDelayFrames * 1e6) / h.sampleRate; // the decoder's output lags its input
    const when = this.contextTimeOf(f.playAt - delayUs);
    const contiguous = f.seq === this.lastSeq + 1 && !f.gap && Math.abs(when - this.nextWhen) < CONTIGUOUS_S;
    this.stat.syncErrorMs = contiguous ? (this.nextWhen - when) * 1000 : 0;
    let start = contiguous ? this.nextWhen : when;
    if (!contiguous && this.lastSeq >= 0) this.stat.resyncs++;
    this.lastSeq = f.seq;
    const now = this.ctx.currentTime;
    let offset = 0;
    if (start < now + MIN_LEAD_S) {
      // late: play what is still ahead of now, if anything
      offset = now + MIN_LEAD_S - start;
      if (offset >= buf.duration) { this.stat.late++; this.nextWhen = start + buf.duration; return; }
      start += offset;
      if (this.nextWhen > 0) this.stat.underruns++;
    }
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.gain);
    src.start(start, offset);
    this.onScheduled?.(f.seq, start - offset);
    this.nextWhen = start + buf.duration - offset;
  }

  private decode(h: CodecHeaderFrame, payload: Uint8Array): AudioBuffer | null {
    const ch = h.channels;
    if (h.codec === 'opus') {
      const d = this.opus!.decodeFrame(payload);
      if (!d.samplesDecoded) return null;
      const b = this.ctx.createBuffer(ch, d.samplesDecoded, h.sampleRate);
      for (let c = 0; c < ch; c++) b.copyToChannel(d.channelData[Math.min(c, d.channelData.length - 1)] as Float32Array<ArrayBuffer>, c);
      return b;
    }
    const s = new Int16Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + (payload.byteLength & ~1)));
    const frames = Math.floor(s.length / ch);
    if (!frames) return null;
    const b = this.ctx.createBuffer(ch, frames, h.sampleRate);
    for (let c = 0; c < ch; c++) {
      const out = b.getChannelData(c);
      for (let i = 0; i < frames; i++) out[i] = s[i * ch + c] / 32768;
    }
    return b;
  }

  close(): void {
    this.opus?.free();
    this.opus = null;
    this.gain.disconnect();
  }
}
