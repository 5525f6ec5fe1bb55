// The box's own speaker: just another synchronized player (DESIGN §5), fed
// straight from the engine's chunks, with a clock offset of zero.

import { Player } from '../companion/player/player.ts';
import type { PcmSink } from '../hardware/audio/pcm-sink.ts';
import { createDecoder } from './audio/codecs/index.ts';
import { int16ToLeBytes } from './audio/codecs/pcm-codec.ts';
import type { AudioEngine } from './audio/engine.ts';
import type { Chunk } from './audio/fifo.ts';
import { ClockSync } from './wire/clock.ts';
import { FrameType, PROTOCOL_VERSION } from './wire/frames.ts';

export class Speaker {
  readonly player: Player;
  private onChunk = (c: Chunk) => {
    const payload = c.payloads.get('pcm') ?? int16ToLeBytes(c.pcm);
    this.player.onAudio({ type: FrameType.Audio, seq: c.seq, playAt: c.playAt, gap: c.gap === true, payload });
  };

  constructor(private engine: AudioEngine, sink: PcmSink, clock: () => number) {
    this.player = new Player({
      sink, clockSync: ClockSync.local(), now: clock,
      decoderFactory: (h) => createDecoder(h.codec, { sampleRate: h.sampleRate, channels: h.channels, bitsPerSample: 16 }),
    });
  }

  async start(): Promise<void> {
    const f = this.engine.format;
    this.player.onCodecHeader({
      type: FrameType.CodecHeader, version: PROTOCOL_VERSION, codec: 'pcm', sampleRate: f.sampleRate, channels: f.channels,
      bitsPerSample: 16, chunkMs: this.engine.chunkMs, codecDelayFrames: 0, latencyMs: this.engine.latencyMs,
    });
    this.engine.on('chunk', this.onChunk);
    await this.player.start();
  }

  async stop(): Promise<void> {
    this.engine.off('chunk', this.onChunk);
    await this.player.stop();
  }
}
