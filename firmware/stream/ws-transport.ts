// A listener's stream over WebSocket (browsers): the same binary frames as TCP,
// one or more per message.

import type { WebSocket } from 'ws';
import type { StreamTransport } from './transport.ts';

const HIGH_WATER = 256 * 1024; // queued bytes beyond which the session waits for drain

export function wsTransport(ws: WebSocket, remote: string, clock: () => number): StreamTransport {
  const closers: Array<(reason: string) => void> = [];
  const drains: Array<() => void> = [];
  let closed = false;
  let waiting: NodeJS.Timeout | null = null;
  const finish = (reason: string) => {
    if (closed) return;
    closed = true;
    if (waiting) clearInterval(waiting);
    for (const c of closers) c(reason);
  };
  ws.on('close', (code, why) => finish(why.toString() || `websocket closed (${code})`));
  ws.on('error', (e) => finish(e.message));
  return {
    remote,
    send: (bytes) => {
      if (closed) return false;
      ws.send(bytes, { binary: true });
      if (ws.bufferedAmount < HIGH_WATER) return true;
      // ws has no drain event: watch the queue empty
      waiting ??= setInterval(() => {
        if (ws.bufferedAmount >= HIGH_WATER / 4) return;
        clearInterval(waiting!);
        waiting = null;
        for (const d of drains) d();
      }, 20);
      return false;
    },
    get bufferedBytes() {
      return ws.bufferedAmount;
    },
    onData: (cb) =>
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const at = clock(); // t2 of a time-sync exchange: before anything else
        if (isBinary) cb(new Uint8Array(data.buffer, data.byteOffset, data.length), at);
      }),
    onDrain: (cb) => drains.push(cb),
    onClose: (cb) => closers.push(cb),
    close: () => ws.close(1000, 'bye'),
  };
}
