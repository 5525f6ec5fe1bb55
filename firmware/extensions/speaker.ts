// The box's own speaker: just another synchronized player (ARCHITECTURE.md
// "Playout"), fed the engine's PCM chunks directly — no codec between them — with
// a clock offset of zero. The box volume is the speaker's: listeners get the
// stream at full scale and set their own.
//
// Its playout is told as a companion's is: a resync or an underrun is logged (both are
// audible), and `figures()` gives the counters that telemetry publishes (README "MQTT
// topics": `telemetry.speaker`).

import { Player } from '../../companion/player/player.ts';
import { describeResyncCause } from '../../companion/player/scheduler-types.ts';
import type { PcmSink } from '../../hardware/audio/pcm-sink.ts';
import type { AudioEngine } from '../audio/engine.ts';
import type { Chunk } from '../audio/fifo.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import type { Logger } from '../util/log.ts';
import { ClockSync } from '../wire/clock.ts';
import type { Extension } from './extension.ts';

export interface SpeakerOptions {
  engine: AudioEngine;
  sink: PcmSink;
  /** the output as configured (an ALSA PCM name, `sim`) */
  device: string;
  /** µs, the engine's clock */
  clock: () => number;
  events: BoxEvents;
  volume: number;
  log: Pick<Logger, 'warn'>;
}

/** the speaker's playout as telemetry publishes it: the same counters as a companion's `--json` status */
export interface SpeakerFigures {
  device: string;
  state: string;
  /** error against the device model, smoothed, ms (positive: late) */
  syncErrorMs: number;
  resyncs: number;
  /** of the resyncs, those after the box process was not scheduled in time to feed its device */
  starvedResyncs: number;
  /** of the dropped and inserted frames, those of the starved resyncs */
  starvedFrames: number;
  droppedFrames: number;
  insertedFrames: number;
  underruns: number;
  /** times the device's line moved (a sound server rescheduling, an xrun) */
  deviceSteps: number;
  /** times the device was started afresh before playing because its sound server's report started off */
  deviceRestarts: number;
  /** the device clock against the box clock */
  devicePpm: number;
}

export class Speaker implements Extension {
  readonly name = 'speaker';
  readonly player: Player;
  private readonly onChunk = (chunk: Chunk) => this.player.onPcm({ seq: chunk.seq, playAt: chunk.playAt, gap: chunk.gap === true }, chunk.pcm);
  private readonly onVolume = (volume: number) => this.player.setVolume(volume);
  private startedAtUs = Number.NaN;

  constructor(private readonly options: SpeakerOptions) {
    this.player = new Player({ sink: options.sink, clockSync: ClockSync.local(), now: options.clock });
    this.player.setVolume(options.volume);
    const { scheduler } = this.player;
    scheduler.on('started', () => {
      if (Number.isNaN(this.startedAtUs)) this.startedAtUs = options.clock();
    });
    scheduler.on('resync', (e) =>
      options.log.warn(`speaker resync: ${(e.errorUs / 1000).toFixed(2)} ms off (${describeResyncCause(e.cause, e.starvedMs)})`, {
        device: options.device,
        afterStartMs: Number.isNaN(this.startedAtUs) ? null : Math.round((options.clock() - this.startedAtUs) / 1000),
      }),
    );
    scheduler.on('underrun', () => options.log.warn('speaker underrun: the engine had no audio for the speaker in time', { device: options.device }));
  }

  figures(): SpeakerFigures {
    const s = this.player.stats();
    return {
      device: this.options.device,
      state: s.state,
      syncErrorMs: Math.round(s.syncErrorUs) / 1000,
      resyncs: s.resyncs,
      starvedResyncs: s.starvedResyncs,
      starvedFrames: s.starvedFrames,
      droppedFrames: s.droppedFrames,
      insertedFrames: s.insertedFrames,
      underruns: s.underruns,
      deviceSteps: s.deviceSteps,
      deviceRestarts: s.deviceRestarts,
      devicePpm: Math.round(s.devicePpm * 10) / 10,
    };
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
