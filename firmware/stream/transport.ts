// A listener's byte pipe: TCP socket or WebSocket, same frames on both.

import type { Socket } from 'node:net';

export interface StreamTransport {
  readonly remote: string;
  /** Queues bytes; returns false once the transport wants the sender to wait for 'drain'. */
  send(bytes: Uint8Array): boolean;
  /** bytes queued in user space and not yet handed to the kernel */
  readonly bufferedBytes: number;
  onData(cb: (bytes: Uint8Array, atUs: number) => void): void;
  onDrain(cb: () => void): void;
  onClose(cb: (reason: string) => void): void;
  close(): void;
}

export function tcpTransport(socket: Socket, clock: () => number): StreamTransport {
  socket.setNoDelay(true);
  const closers: Array<(reason: string) => void> = [];
  let closed = false;
  let lastError = '';
  socket.on('error', (e) => {
    lastError = e.message;
  });
  socket.on('close', () => {
    if (closed) return;
    closed = true;
    for (const c of closers) c(lastError || 'connection closed');
  });
  return {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    send: (bytes) => (closed ? false : socket.write(bytes)),
    get bufferedBytes() {
      return socket.writableLength;
    },
    // the receive time is taken before anything else runs: it is t2 of a time-sync exchange
    onData: (cb) => socket.on('data', (b: Buffer) => cb(new Uint8Array(b.buffer, b.byteOffset, b.length), clock())),
    onDrain: (cb) => socket.on('drain', cb),
    onClose: (cb) => closers.push(cb),
    close: () => {
      socket.end();
      setTimeout(() => socket.destroy(), 500).unref();
    },
  };
}
