// SHOUTcast v1 servers answer `ICY 200 OK` where HTTP says `HTTP/1.0 200 OK`; the rest
// of their answer (header lines, a blank line, then the audio with ICY metadata blocks)
// is HTTP/1.0 in all but name. Node's HTTP parser refuses that status line, so for
// plain http the box connects through this small stream: a TCP socket whose first
// bytes, when they are `ICY `, reach the parser as `HTTP/1.0 `. Nothing else changes:
// headers, redirects, time limits and backpressure stay node:http's (stream-http.ts).
// https is left alone: SHOUTcast v1 predates it.

import net from 'node:net';
import { Duplex } from 'node:stream';

const ICY = Buffer.from('ICY ', 'latin1');
const HTTP10 = Buffer.from('HTTP/1.0 ', 'latin1');

/** A `createConnection` for node:http: a TCP connection to host:port that reads an `ICY` status line as HTTP/1.0. */
export function icyTolerantConnection(options: { host?: string | null; hostname?: string | null; port?: number | string | null }): Duplex {
  const host = options.hostname ?? options.host ?? 'localhost';
  const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port: Number(options.port ?? 80) });
  let head: Buffer | null = Buffer.alloc(0); // the first bytes, until they tell whether the status line is ICY's
  const connection = new Duplex({
    write(chunk: Buffer, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    read() {
      socket.resume();
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  const forward = (bytes: Buffer) => {
    if (!connection.push(bytes)) socket.pause();
  };
  socket.on('data', (bytes: Buffer) => {
    if (head === null) return forward(bytes);
    head = Buffer.concat([head, bytes]);
    if (head.length < ICY.length && ICY.subarray(0, head.length).equals(head)) return; // could still be `ICY `
    const first = head.subarray(0, ICY.length).equals(ICY) ? Buffer.concat([HTTP10, head.subarray(ICY.length)]) : head;
    head = null;
    forward(first);
  });
  socket.on('end', () => {
    if (head && head.length > 0) forward(head);
    head = null;
    connection.push(null);
  });
  socket.on('error', (error) => connection.destroy(error));
  socket.on('connect', () => connection.emit('connect'));
  return connection;
}
