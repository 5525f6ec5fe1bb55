// Connections one port accepts: at most `perAddress` from one address and `total`
// in all. A connection that has not finished its handshake yet (MQTT CONNECT,
// stream hello) may be evicted, oldest first, to make room for a newcomer when
// the port is full: idle sockets opened by someone nearby then cannot keep the
// owner (or anybody) out, they can only push each other out.

export interface Admission {
  /** the connection finished its handshake: from now on it is never evicted */
  established(): void;
  /** the connection is gone (safe to call more than once) */
  release(): void;
}

interface Entry {
  address: string;
  evict: () => void;
  released: boolean;
}

export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export class ConnectionLimits {
  private byAddress = new Map<string, number>();
  private open = 0;
  private handshaking = new Set<Entry>(); // insertion order: oldest first

  constructor(private readonly options: { perAddress: number; total: number }) {}

  get count(): number {
    return this.open;
  }

  countOf(address: string): number {
    return this.byAddress.get(normalizeAddress(address)) ?? 0;
  }

  /** Admits a connection, or returns why not. `evict` closes it when a newcomer needs its place. */
  admit(rawAddress: string | undefined, evict: () => void): Admission | string {
    const address = normalizeAddress(rawAddress);
    const mine = this.byAddress.get(address) ?? 0;
    if (mine >= this.options.perAddress) return `too many connections from ${address} (${this.options.perAddress} allowed)`;
    if (this.open >= this.options.total) {
      const oldest = this.handshaking.values().next().value as Entry | undefined;
      if (!oldest) return `the box has ${this.open} connections, its limit`;
      this.drop(oldest);
      oldest.evict();
    }
    const entry: Entry = { address, evict, released: false };
    this.open++;
    this.byAddress.set(address, mine + 1);
    this.handshaking.add(entry);
    return {
      established: () => {
        this.handshaking.delete(entry);
      },
      release: () => this.drop(entry),
    };
  }

  private drop(e: Entry): void {
    if (e.released) return;
    e.released = true;
    this.handshaking.delete(e);
    this.open--;
    const n = (this.byAddress.get(e.address) ?? 1) - 1;
    if (n <= 0) this.byAddress.delete(e.address);
    else this.byAddress.set(e.address, n);
  }
}
