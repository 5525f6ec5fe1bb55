// A delaying TCP proxy on loopback: every chunk read from either side is passed
// on after its own random delay in [minMs, maxMs], never overtaking the chunk
// before it (TCP order is kept). Stands in for a jittery Wi-Fi hop.

import net from 'node:net';

export interface JitterProxy {
  port: number;
  close(): Promise<void>;
}

export interface JitterProxyOptions {
  targetPort: number;
  maxMs: number;
  minMs?: number;
  random?: () => number;
}

export async function startJitterProxy(o: JitterProxyOptions): Promise<JitterProxy> {
  const rnd = o.random ?? Math.random;
  const minUs = (o.minMs ?? 0) * 1000;
  const spanUs = o.maxMs * 1000 - minUs;
  const sockets = new Set<net.Socket>();
  /** Forwards a → b with per-chunk delay; chunks leave in arrival order. */
  const pipe = (a: net.Socket, b: net.Socket) => {
    // one queue and one timer per direction: timers of nearly equal deadlines may
    // fire out of order, a queue drained from its head cannot
    const queue: Array<{ at: number; chunk: Buffer }> = [];
    let releaseAt = 0; // ms (performance clock) when the previous chunk leaves
    let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
    const drain = () => {
      timer = null;
      const now = performance.now();
      while (queue[0] && queue[0].at <= now + 0.05) {
        const { chunk } = queue.shift()!;
        if (!b.destroyed) b.write(chunk);
      }
      arm();
    };
    const arm = () => {
      const next = queue[0];
      if (timer || !next) return;
      const waitMs = next.at - performance.now();
      // setTimeout cannot wait less than 1 ms: shorter delays go out on the next turn
      timer = waitMs < 1 ? setImmediate(drain) : setTimeout(drain, waitMs);
    };
    a.on('data', (chunk: Buffer) => {
      const now = performance.now();
      releaseAt = Math.max(releaseAt, now + (minUs + rnd() * spanUs) / 1000);
      queue.push({ at: releaseAt, chunk });
      arm();
    });
    a.on('end', () => setTimeout(() => b.end(), o.maxMs + 1));
    a.on('error', () => b.destroy());
    a.on('close', () => setTimeout(() => b.destroy(), o.maxMs + 5));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: o.targetPort, noDelay: true });
    client.setNoDelay(true);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
