// Connects the transport-free StreamProtocol to a TCP socket.

import net from 'node:net';
import type { ClockSync } from '../../firmware/wire/clock.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import { StreamProtocol, type StreamProtocolHandlers } from './stream-protocol.ts';

export interface TcpStream {
  protocol: StreamProtocol;
  closed: Promise<string>;
  /** when bytes last arrived (monotonic µs): a box that went away without closing sends nothing */
  lastReceiveUs(): number;
  close(): void;
}

export function connectTcpStream(host: string, port: number, token: string, name: string | undefined, sync: ClockSync, h: StreamProtocolHandlers): Promise<TcpStream> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const protocol = new StreamProtocol((b) => socket.write(b), monotonicUs, h, sync);
    let lastError = '';
    let receivedAt = monotonicUs();
    const closed = new Promise<string>((r) =>
      socket.on('close', () => {
        protocol.stop();
        r(lastError || 'stream closed by the box');
      }),
    );
    socket.on('data', (b: Buffer) => {
      receivedAt = monotonicUs();
      protocol.receive(new Uint8Array(b.buffer, b.byteOffset, b.length), receivedAt);
    });
    socket.once('connect', () => {
      receivedAt = monotonicUs();
      protocol.start(token, name);
      resolve({
        protocol,
        closed,
        lastReceiveUs: () => receivedAt,
        close: () => {
          protocol.stop();
          socket.end();
          setTimeout(() => socket.destroy(), 300).unref();
        },
      });
    });
    socket.on('error', (e) => {
      lastError = e.message;
      reject(new Error(`stream connection to ${host}:${port} failed: ${e.message}`));
    });
  });
}
