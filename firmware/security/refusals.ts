// Counts what the box refused and why (connection limits, oversized packets,
// failed logins, rate limits ...), for the `telemetry` topic: an attack nearby
// shows up there as numbers instead of only as log lines.

export type RefusalKind =
  | 'mqtt_connections'
  | 'mqtt_packet_size'
  | 'mqtt_packet_timeout'
  | 'mqtt_topic_depth'
  | 'mqtt_subscriptions'
  | 'mqtt_client_id'
  | 'mqtt_takeover'
  | 'login_failed'
  | 'login_throttled'
  | 'login_busy'
  | 'ws_connections'
  | 'stream_connections'
  | 'stream_hello'
  | 'stream_token'
  | 'stream_control_replies'
  | 'rate_limit'
  | 'pending_joins'
  | 'joins_released'
  | 'bad_request'
  | 'bad_state';

export class Refusals {
  private counts = new Map<RefusalKind, number>();

  count(kind: RefusalKind, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  get(kind: RefusalKind): number {
    return this.counts.get(kind) ?? 0;
  }

  snapshot(): Partial<Record<RefusalKind, number>> {
    return Object.fromEntries(this.counts);
  }
}
