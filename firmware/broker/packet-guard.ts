// MQTT packet size, checked before anything is buffered. aedes (1.x) reads a
// whole packet into memory before it looks at it, so a PUBLISH declaring 200 MB
// would be buffered as it arrives. This sits between the socket and aedes: it
// follows the packet boundaries in the byte stream (fixed header: type byte and
// the 1-4 byte "remaining length", MQTT 3.1.1 §2.2) and closes the connection as
// soon as a header declares more than the limit, or a packet stays half-sent
// for longer than `packetTimeoutMs` (slow-loris).

import { Duplex } from 'node:stream';
import { monotonicMs } from '../util/time.ts';

export class MqttPacketGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private lengthBytes = 0;
  private bodyLeft = 0;
  /** when the packet being received started (ms), or null between packets */
  startedAt: number | null = null;

  constructor(
    private readonly maxPacketBytes: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  /** how long (ms) the packet being received has been incomplete; 0 between packets */
  incompleteForMs(): number {
    return this.startedAt === null ? 0 : this.now() - this.startedAt;
  }

  /** Follows `chunk`; returns why the stream must be closed, or null. */
  push(chunk: Uint8Array): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        this.startedAt = this.now();
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
        i++;
      } else if (this.state === 'length') {
        const b = chunk[i++]!; // i < chunk.length (the loop's bound)
        this.length += (b & 0x7f) * 128 ** this.lengthBytes;
        this.lengthBytes++;
        if (this.length > this.maxPacketBytes) return `MQTT packet of ${this.length}+ bytes refused (limit ${this.maxPacketBytes})`;
        if (b & 0x80) {
          if (this.lengthBytes >= 4) return 'malformed MQTT remaining length (more than 4 bytes)';
          continue;
        }
        this.bodyLeft = this.length;
        if (this.bodyLeft === 0) this.endPacket();
        else this.state = 'body';
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.endPacket();
      }
    }
    return null;
  }

  private endPacket(): void {
    this.state = 'type';
    this.startedAt = null;
  }
}

export interface GuardOptions {
  maxPacketBytes: number;
  packetTimeoutMs: number;
  /** the connection is being closed for this reason (count it, log it) */
  onRefuse(reason: string, kind: 'size' | 'timeout'): void;
}

/** Wraps a connection so that aedes only ever reads bytes of packets within the limits. */
export function guardMqttStream(inner: Duplex, o: GuardOptions): Duplex {
  const guard = new MqttPacketGuard(o.maxPacketBytes);
  let refused = false;
  const outer = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      inner.write(chunk, (e) => cb(e ?? null));
    },
    final(cb) {
      inner.end();
      cb();
    },
    destroy(err, cb) {
      clearInterval(timer);
      inner.destroy();
      cb(err);
    },
  });
  const refuse = (reason: string, kind: 'size' | 'timeout') => {
    if (refused) return;
    refused = true;
    o.onRefuse(reason, kind);
    inner.destroy();
    outer.destroy();
  };
  const timer = setInterval(
    () => {
      if (guard.incompleteForMs() > o.packetTimeoutMs) refuse(`an MQTT packet stayed incomplete for more than ${o.packetTimeoutMs / 1000} s`, 'timeout');
    },
    Math.max(250, Math.min(5000, o.packetTimeoutMs / 4)),
  );
  timer.unref();
  inner.on('data', (d: Buffer) => {
    if (refused) return;
    const bad = guard.push(d);
    if (bad) return refuse(bad, 'size');
    if (!outer.push(d)) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('error', (e) => outer.destroy(e));
  inner.on('close', () => {
    clearInterval(timer);
    if (!outer.destroyed) outer.destroy();
  });
  inner.pause();
  return outer;
}
