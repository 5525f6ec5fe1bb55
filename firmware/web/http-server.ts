// The box's one HTTP port: the web companion, the stream over WebSocket and MQTT
// over WebSocket, behind the per-address and total connection limits.

import http from 'node:http';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import { guardHttpConnections } from '../security/http-limits.ts';
import type { Refusals } from '../security/refusals.ts';
import type { WebServer } from './web-server.ts';

export interface BoxHttpOptions {
  host: string;
  port: number;
  limits: { perAddress: number; total: number };
  refusals: Refusals;
  web: WebServer;
  broker: EmbeddedBroker;
}

export interface BoxHttp {
  port: number;
  /** closes the web companion, and the server once the broker's WebSocket clients are gone */
  close(): Promise<void>;
}

export async function startBoxHttp(o: BoxHttpOptions): Promise<BoxHttp> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 2000 });
  guardHttpConnections(server, o.limits, () => o.refusals.count('ws_connections'));
  o.web.attach(server); // the web companion and the stream over WebSocket
  o.broker.attachWebSocket(server, '/mqtt');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      o.web.close();
      // the broker first: its WebSocket clients hold upgraded HTTP connections that
      // the HTTP server would otherwise wait for
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await o.broker.stop();
      server.closeAllConnections?.();
      await closed;
    },
  };
}
