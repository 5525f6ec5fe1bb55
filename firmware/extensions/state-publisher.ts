// Keeps the retained `state` and `listeners` topics current: republished on
// change (coalesced) and every few seconds so positionMs stays fresh.

export interface StatePublisherDeps {
  publish(topic: string, payload: string, retain: boolean): void;
  stateTopic: string;
  listenersTopic: string;
  state(): object;
  listeners(): unknown[];
  periodMs?: number;
}

export class StatePublisher {
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private lastListeners = '';

  constructor(private d: StatePublisherDeps) {}

  start(): void {
    this.publishNow();
    this.timer = setInterval(() => this.publishNow(), this.d.periodMs ?? 5000);
    this.timer.unref();
  }

  /** Something changed: publish soon (bursts of changes give one message). */
  changed(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => { this.pending = null; this.publishNow(); }, 50);
    this.pending.unref();
  }

  publishNow(): void {
    this.d.publish(this.d.stateTopic, JSON.stringify(this.d.state()), true);
    const l = JSON.stringify(this.d.listeners());
    if (l !== this.lastListeners) {
      this.lastListeners = l;
      this.d.publish(this.d.listenersTopic, l, true);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.timer = this.pending = null;
  }
}
