// The box's own speaker: just another synchronized player (ARCHITECTURE.md
// "Playout"), fed the engine's PCM chunks directly — no codec between them — with
// a clock offset of zero. The box volume is the speaker's: listeners get the
// stream at full scale and set their own.

import { Player } from '../../companion/player/player.ts';
import type { PcmSink } from '../../hardware/audio/pcm-sink.ts';
import type { AudioEngine } from '../audio/engine.ts';
import type { Chunk } from '../audio/fifo.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import { ClockSync } from '../wire/clock.ts';
import type { Extension } from './extension.ts';

export interface SpeakerOptions {
  engine: AudioEngine;
  sink: PcmSink;
  /** µs, the engine's clock */
  clock: () => number;
  events: BoxEvents;
  volume: number;
}

export class Speaker implements Extension {
  readonly name = 'speaker';
  readonly player: Player;
  private readonly onChunk = (chunk: Chunk) => this.player.onPcm({ seq: chunk.seq, playAt: chunk.playAt, gap: chunk.gap === true }, chunk.pcm);
  private readonly onVolume = (volume: number) => this.player.setVolume(volume);

  constructor(private readonly options: SpeakerOptions) {
    this.player = new Player({ sink: options.sink, clockSync: ClockSync.local(), now: options.clock });
    this.player.setVolume(options.volume);
  }

  async start(): Promise<void> {
    this.player.playLocal(this.options.engine.chunkMs);
    this.options.engine.on('chunk', this.onChunk);
    this.options.events.on('volume', this.onVolume);
    await this.player.start();
  }

  async stop(): Promise<void> {
    this.options.engine.off('chunk', this.onChunk);
    this.options.events.off('volume', this.onVolume);
    await this.player.stop();
  }
}
