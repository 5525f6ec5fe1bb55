// A delaying TCP proxy on loopback: every chunk read from either side is passed
// on after its own random delay in [minMs, maxMs], never overtaking the chunk
// before it (TCP order is kept). Stands in for a jittery Wi-Fi hop.
//
// `blackhole(true)` stands in for a network that vanishes (a phone out of Wi-Fi
// range): nothing is forwarded either way and nothing is closed. The proxy stops
// reading both sides, so what the ends write piles up in their socket buffers as
// it would unacknowledged; a close or reset from either end is not passed on.
// `blackhole(false)` is the network coming back: a connection whose other end
// closed meanwhile is reset (as the peer's stack would answer the next segment),
// connections made during the hole (they never reached the target) are reset too,
// the others carry on.

import net from 'node:net';

export interface JitterProxy {
  port: number;
  /** true: forward nothing, close nothing (a network that vanished); false: the network is back */
  blackhole(on: boolean): void;
  /** connections accepted so far */
  readonly connections: number;
  close(): Promise<void>;
}

export interface JitterProxyOptions {
  targetPort: number;
  maxMs: number;
  minMs?: number;
  random?: () => number;
  /** the address each connection to the target comes from (default: the system's choice) */
  localAddress?: () => string;
}

export async function startJitterProxy(o: JitterProxyOptions): Promise<JitterProxy> {
  const rnd = o.random ?? Math.random;
  const minUs = (o.minMs ?? 0) * 1000;
  const spanUs = o.maxMs * 1000 - minUs;
  const sockets = new Set<net.Socket>();
  let hole = false;
  let accepted = 0;
  /** one proxied connection: `brokenInHole` when an end closed or failed while the network was gone */
  interface Pair {
    client: net.Socket;
    upstream: net.Socket | null;
    brokenInHole: boolean;
  }
  const pairs = new Set<Pair>();
  /** Forwards a → b with per-chunk delay; chunks leave in arrival order. */
  const pipe = (a: net.Socket, b: net.Socket, pair: Pair) => {
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
    // during a blackhole the other end hears nothing of a close: it learns when the network is back
    const passOn = (act: () => void) => {
      if (hole) pair.brokenInHole = true;
      else act();
    };
    a.on('end', () => passOn(() => setTimeout(() => b.end(), o.maxMs + 1)));
    a.on('error', () => passOn(() => b.destroy()));
    a.on('close', () => passOn(() => setTimeout(() => b.destroy(), o.maxMs + 5)));
  };
  const connectPair = (p: Pair) => {
    const upstream = net.connect({ host: '127.0.0.1', port: o.targetPort, noDelay: true, localAddress: o.localAddress?.() });
    p.upstream = upstream;
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    pipe(p.client, upstream, p);
    pipe(upstream, p.client, p);
  };
  const server = net.createServer((client) => {
    accepted++;
    client.setNoDelay(true);
    sockets.add(client);
    const p: Pair = { client, upstream: null, brokenInHole: false };
    pairs.add(p);
    client.on('close', () => {
      sockets.delete(client);
      if (!hole) pairs.delete(p);
    });
    client.on('error', () => {});
    // a connection made while the network is gone never reaches the target: it is held, unread
    if (hole) {
      client.pause();
      p.brokenInHole = true;
      return;
    }
    connectPair(p);
  });
  const setHole = (on: boolean) => {
    if (on === hole) return;
    hole = on;
    for (const p of pairs) {
      for (const s of [p.client, p.upstream]) if (s && !s.destroyed) on ? s.pause() : s.resume();
      if (!on && (p.brokenInHole || p.client.destroyed || p.upstream?.destroyed)) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      if (!on && (p.client.destroyed || !p.upstream)) pairs.delete(p);
    }
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole: setHole,
    get connections() {
      return accepted;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
