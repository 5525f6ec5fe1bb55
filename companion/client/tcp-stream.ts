// Connects the transport-free StreamProtocol to a TCP socket.

import net from 'node:net';
import type { ClockSync } from '../../firmware/wire/clock.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import { StreamProtocol, type StreamProtocolHandlers } from './stream-protocol.ts';

export interface TcpStream {
  protocol: StreamProtocol;
  closed: Promise<string>;
  close(): void;
}

export function connectTcpStream(host: string, port: number, token: string, name: string | undefined, sync: ClockSync, h: StreamProtocolHandlers): Promise<TcpStream> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const protocol = new StreamProtocol((b) => socket.write(b), monotonicUs, h, sync);
    let lastError = '';
    const closed = new Promise<string>((r) => socket.on('close', () => { protocol.stop(); r(lastError || 'stream closed by the box'); }));
    socket.on('data', (b: Buffer) => protocol.receive(new Uint8Array(b.buffer, b.byteOffset, b.length), monotonicUs()));
    socket.once('connect', () => {
      protocol.start(token, name);
      resolve({ protocol, closed, close: () => { protocol.stop(); socket.end(); setTimeout(() => socket.destroy(), 300).unref(); } });
    });
    socket.on('error', (e) => { lastError = e.message; reject(new Error(`stream connection to ${host}:${port} failed: ${e.message}`)); });
  });
}
