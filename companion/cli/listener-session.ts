// A running `nearcast join` lets one-shot commands from another terminal of the
// same user (`nearcast play …`) act as its listener: it listens on a Unix socket
// in a directory only this user can enter, and sends what arrives there as its
// own request, on its own MQTT connection. The box sees the listener asking; no
// other client id or credential is involved (the box gives a guest's replies only
// to the connection that asked: README "Security and limits").

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Reply } from '../../firmware/wire/requests.ts';

export interface ListenerNote {
  clientId: string;
  boxId: string;
  pid: number;
  /** the relay's Unix socket */
  socket: string;
}

/** What the relay forwards: one request per connection, one JSON line each way. */
interface RelayRequest {
  op: string;
  body: object;
}

/** The listener's request function (BoxClient.request). */
export type Requester = (op: string, body: object) => Promise<Reply>;

const MAX_LINE = 64 * 1024;
const RELAYED_OPS = new Set(['play', 'enqueue', 'control', 'volume', 'search', 'queue', 'status']);

function sessionDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `nearcast-${os.userInfo().uid}`);
  return path.join(base, 'nearcast');
}

function baseName(host: string, port: number): string {
  return `listener-${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}`;
}

/**
 * Starts the relay and writes the note (both readable by this user only); returns
 * a function that stops the relay and removes both.
 */
export function startListenerRelay(host: string, port: number, note: Omit<ListenerNote, 'socket'>, request: Requester, env?: NodeJS.ProcessEnv): () => void {
  const dir = sessionDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, `${baseName(host, port)}.json`);
  const socket = path.join(dir, `${baseName(host, port)}-${note.pid}.sock`);
  fs.rmSync(socket, { force: true });
  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('error', () => undefined);
    conn.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_LINE) return void conn.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const answer = (r: Reply) => conn.end(JSON.stringify(r) + '\n');
      let req: RelayRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as RelayRequest;
      } catch {
        return answer({ status: 'error', error: 'relay: a request is one JSON line {op, body}' });
      }
      if (typeof req?.op !== 'string' || !RELAYED_OPS.has(req.op) || typeof req.body !== 'object' || req.body === null) {
        return answer({ status: 'error', error: `relay: '${String(req?.op)}' is not relayed (only ${[...RELAYED_OPS].join(', ')})` });
      }
      request(req.op, req.body).then(answer, (e: Error) => answer({ status: 'error', error: e.message }));
    });
  });
  server.listen(socket);
  fs.writeFileSync(file, JSON.stringify({ ...note, socket }), { mode: 0o600 });
  return () => {
    server.close();
    fs.rmSync(socket, { force: true });
    try {
      const now = JSON.parse(fs.readFileSync(file, 'utf8')) as ListenerNote;
      if (now.pid === note.pid) fs.rmSync(file);
    } catch {
      /* already gone */
    }
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The note of a `nearcast join` still running against this box, or null. */
export function findListenerNote(host: string, port: number, env?: NodeJS.ProcessEnv): ListenerNote | null {
  const file = path.join(sessionDir(env), `${baseName(host, port)}.json`);
  let note: ListenerNote;
  try {
    note = JSON.parse(fs.readFileSync(file, 'utf8')) as ListenerNote;
  } catch {
    return null;
  }
  if (typeof note?.clientId !== 'string' || typeof note.socket !== 'string' || typeof note.pid !== 'number' || !alive(note.pid)) return null;
  return note;
}

/** Sends one request through a running join's relay. */
export function relayRequest(note: ListenerNote, op: string, body: object, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(note.socket);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`the running 'nearcast join' (pid ${note.pid}) did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ op, body }) + '\n'));
    conn.on('data', (d: string) => {
      buf += d;
    });
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the running 'nearcast join' (pid ${note.pid}): ${e.message}`));
    });
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as Reply);
      } catch {
        reject(new Error(`the running 'nearcast join' (pid ${note.pid}) gave no reply`));
      }
    });
  });
}
