// What the uplink sends with acknowledgement (README.md "MQTT uplink"): the events
// and the telemetry, each in its own outbox on disk (uplink-outbox.ts), sent oldest
// first — the events before the telemetry — a bounded number at a time, each
// leaving its queue only when the broker acknowledged it (QoS 1). While the uplink
// is down they wait; on reconnect `pump()` sends them.

import { type QueuedEvent, UplinkOutbox } from './uplink-outbox.ts';

/** messages sent and not yet acknowledged at once */
const MAX_IN_FLIGHT = 32;

/** publishes one queued message (QoS 1) and calls `done` when the broker acknowledged it, or with the error */
export type SendQueued = (topic: string, message: QueuedEvent, done: (error?: Error) => void) => void;

export interface UplinkQueuesOptions {
  stateDir: string;
  /** most events kept (0: none; events are then sent only while connected) */
  queueEvents: number;
  /** most telemetry messages kept (0: none) */
  queueTelemetry: number;
  onProblem(message: string): void;
  /** the way to the broker now, null while the uplink is down */
  sender(): SendQueued | null;
}

export class UplinkQueues {
  readonly events: UplinkOutbox;
  /** telemetry, like the events but in its own queue (a long outage keeps the newest) */
  readonly telemetry: UplinkOutbox;
  private readonly inFlight = new Set<string>();
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly options: UplinkQueuesOptions) {
    this.events = new UplinkOutbox({ stateDir: options.stateDir, max: options.queueEvents, onProblem: options.onProblem });
    this.telemetry = new UplinkOutbox({ stateDir: options.stateDir, file: 'uplink-telemetry', max: options.queueTelemetry, onProblem: options.onProblem });
  }

  /** each queue with the topic its messages go on */
  private queues(): Array<[UplinkOutbox, (message: QueuedEvent) => string]> {
    return [
      [this.events, (event) => 'event/' + event.name],
      [this.telemetry, () => 'telemetry'],
    ];
  }

  /** Queues an event (with its id) and sends what can be sent; with no event queue it is sent now or never. */
  addEvent(name: string, payload: object): void {
    const event = this.events.add(name, payload);
    if (this.options.queueEvents === 0) this.options.sender()?.('event/' + name, event, () => {});
    else void this.pump();
  }

  /** Queues a telemetry reading; with no telemetry queue it is sent now or never. */
  addTelemetry(reading: object): void {
    const message = this.telemetry.add('telemetry', reading);
    if (this.options.queueTelemetry === 0) this.options.sender()?.('telemetry', message, () => {});
    else void this.pump();
  }

  /** the connection went: what was in flight is sent again after the reconnect */
  disconnected(): void {
    this.inFlight.clear();
  }

  /** Sends the oldest queued messages (once they are on disk), a bounded number at a time. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await Promise.all([this.events.settled(), this.telemetry.settled()]);
        const send = this.options.sender();
        if (!send) return;
        for (const [outbox, topic] of this.queues()) {
          for (const message of outbox.oldest(MAX_IN_FLIGHT)) {
            if (this.inFlight.size >= MAX_IN_FLIGHT) break;
            if (this.inFlight.has(message.id)) continue;
            this.inFlight.add(message.id);
            send(topic(message), message, (error) => {
              this.inFlight.delete(message.id);
              if (error) return; // the connection went: it is sent again after the reconnect
              outbox.acknowledged(message.id);
              void this.pump();
            });
          }
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** writes what is pending now, synchronously (shutdown) */
  flush(): void {
    this.events.flush();
    this.telemetry.flush();
  }
}
