// Encoding on demand: the FIFO holds PCM, and a codec's payloads are made only
// while someone listens in that codec. The first listener of a codec gets the
// FIFO's backlog (from its start chunk to the newest) encoded on the spot; later
// chunks are encoded as they are produced; when the codec's last listener leaves,
// its encoder is closed. A box nobody listens to in Opus never runs Opus.
//
// An encoder is stateful (each packet depends on the ones before), so one "run"
// of a codec is a contiguous range of seqs encoded by one encoder: a listener
// joining a run already under way starts no earlier than the run's first chunk.

import type { ChunkEncoder } from '../types.ts';
import type { Chunk, FifoRing } from '../fifo.ts';
import type { CodecName } from '../../wire/format.ts';

/** What the stream server asks of the engine for each listener (firmware/stream/listener-session.ts). */
export interface CodecDemand {
  /**
   * A listener in `codec` wants chunks from `fromSeq` on: makes sure they are (and
   * stay) encoded; returns the first seq that has a payload in that codec.
   */
  acquire(codec: CodecName, fromSeq: number): number;
  /** that listener left */
  release(codec: CodecName): void;
}

interface Lane {
  encoder: ChunkEncoder | null;
  listeners: number;
  /** first seq of the current run */
  from: number;
  /** the next seq this run encodes */
  next: number;
  /** chunks encoded in this codec since the box started (telemetry, tests) */
  encoded: number;
}

export class OnDemandEncoders implements CodecDemand {
  private readonly lanes = new Map<CodecName, Lane>();
  private readonly delays = new Map<CodecName, number>();

  constructor(
    private readonly fifo: FifoRing,
    codecs: CodecName[],
    private readonly make: (codec: CodecName) => ChunkEncoder,
  ) {
    for (const codec of codecs) {
      // one encoder made up front checks the settings (a bad bitrate fails at start-up) and gives the codec delay
      const probe = make(codec);
      this.delays.set(codec, probe.codecDelayFrames);
      probe.close();
      this.lanes.set(codec, { encoder: null, listeners: 0, from: 0, next: 0, encoded: 0 });
    }
  }

  codecDelayFrames(codec: CodecName): number {
    const d = this.delays.get(codec);
    if (d === undefined) throw new RangeError(`codec ${codec} is not enabled in the engine`);
    return d;
  }

  /** codecs being encoded now (someone listens in them) */
  get active(): CodecName[] {
    return [...this.lanes].filter(([, l]) => l.listeners > 0).map(([c]) => c);
  }

  encodedChunks(codec: CodecName): number {
    return this.lanes.get(codec)?.encoded ?? 0;
  }

  acquire(codec: CodecName, fromSeq: number): number {
    const lane = this.lane(codec);
    lane.listeners++;
    if (lane.listeners > 1 && lane.encoder) return Math.max(fromSeq, lane.from);
    // the codec's first listener: a fresh encoder, and the backlog it will read, now
    const from = Math.max(fromSeq, this.fifo.oldestSeq);
    lane.encoder?.close();
    lane.encoder = this.make(codec);
    lane.from = lane.next = from;
    for (let seq = from; seq <= this.fifo.newestSeq; seq++) this.encodeInto(lane, codec, this.fifo.get(seq)!);
    return from;
  }

  release(codec: CodecName): void {
    const lane = this.lane(codec);
    if (lane.listeners === 0) return;
    if (--lane.listeners > 0) return;
    lane.encoder?.close();
    lane.encoder = null;
  }

  /** A new chunk entered the FIFO: encode it in every codec someone listens to. */
  push(chunk: Chunk): void {
    for (const [codec, lane] of this.lanes) {
      if (lane.encoder && chunk.seq >= lane.next) this.encodeInto(lane, codec, chunk);
    }
  }

  close(): void {
    for (const lane of this.lanes.values()) {
      lane.encoder?.close();
      lane.encoder = null;
      lane.listeners = 0;
    }
  }

  private encodeInto(lane: Lane, codec: CodecName, chunk: Chunk): void {
    chunk.payloads.set(codec, lane.encoder!.encode(chunk.pcm));
    lane.next = chunk.seq + 1;
    lane.encoded++;
  }

  private lane(codec: CodecName): Lane {
    const lane = this.lanes.get(codec);
    if (!lane) throw new RangeError(`codec ${codec} is not enabled in the engine`);
    return lane;
  }
}
