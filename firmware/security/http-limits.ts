// Connection limits on the HTTP port (web companion, MQTT and the stream over
// WebSocket): the same per-address and total bounds as the other ports. A socket
// counts as established once a request (or upgrade) has arrived on it; before
// that it may be evicted for a newcomer when the port is full.

import type http from 'node:http';
import type { Socket } from 'node:net';
import { ConnectionLimits, type Admission } from './connection-limits.ts';

export function guardHttpConnections(server: http.Server, limits: { perAddress: number; total: number }, onRefuse: (reason: string) => void): ConnectionLimits {
  const slots = new ConnectionLimits(limits);
  const admissions = new WeakMap<Socket, Admission>();
  server.on('connection', (socket: Socket) => {
    const admission = slots.admit(socket.remoteAddress, () => socket.destroy());
    if (typeof admission === 'string') {
      onRefuse(admission);
      socket.destroy();
      return;
    }
    admissions.set(socket, admission);
    socket.once('close', () => admission.release());
  });
  const established = (req: http.IncomingMessage) => admissions.get(req.socket)?.established();
  server.prependListener('request', established);
  server.prependListener('upgrade', established);
  return slots;
}
