// AF_UNIX datagram sockets, which Node's net and dgram modules do not offer, through
// libc (koffi). wpa_supplicant's control interface is one. Every call is
// non-blocking (SOCK_NONBLOCK): callers poll, so nothing ever waits on the event loop.

import koffi from 'koffi';
import { unlinkSync } from 'node:fs';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const EAGAIN = 11;
const SUN_PATH_MAX = 108;
const ADDR_LEN = 2 + SUN_PATH_MAX;

const libc = koffi.load('libc.so.6');
const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, const void *addr, uint32_t len)'),
  connect: libc.func('int connect(int fd, const void *addr, uint32_t len)'),
  send: libc.func('intptr_t send(int fd, const void *buf, size_t len, int flags)'),
  recv: libc.func('intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)'),
  sendto: libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)'),
  recvfrom: libc.func('intptr_t recvfrom(int fd, _Out_ void *buf, size_t len, int flags, _Out_ void *addr, _Inout_ uint32_t *alen)'),
  close: libc.func('int close(int fd)'),
  strerror: libc.func('const char *strerror(int errnum)'),
};

function sockaddr(path: string): Buffer {
  const p = Buffer.from(path);
  if (p.length >= SUN_PATH_MAX) throw new Error(`unix socket path too long (${p.length} bytes, max ${SUN_PATH_MAX - 1}): ${path}`);
  const a = Buffer.alloc(ADDR_LEN);
  a.writeUInt16LE(AF_UNIX, 0);
  p.copy(a, 2);
  return a;
}

function check(what: string, rc: number): number {
  if (rc < 0) {
    const e = koffi.errno();
    throw Object.assign(new Error(`${what}: ${c.strerror(e) as string}`), { errno: e });
  }
  return rc;
}

export class UnixDgramSocket {
  private fd: number;
  private closed = false;
  private readonly buf = Buffer.alloc(8192);

  /** A socket bound to `localPath` (a file the socket creates; removed on close). */
  constructor(readonly localPath: string) {
    this.fd = check('socket(AF_UNIX, SOCK_DGRAM)', c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number);
    try {
      unlinkSync(localPath);
    } catch {
      /* not there */
    }
    try {
      check(`bind ${localPath}`, c.bind(this.fd, sockaddr(localPath), ADDR_LEN) as number);
    } catch (e) {
      c.close(this.fd);
      throw e;
    }
  }

  /** Sends to `peer` only from now on (and receives only from it). */
  connect(peer: string): void {
    check(`connect ${peer}`, c.connect(this.fd, sockaddr(peer), ADDR_LEN) as number);
  }

  send(data: string | Buffer): void {
    const b = Buffer.from(data);
    check('send', Number(c.send(this.fd, b, b.length, 0)));
  }

  sendTo(data: string | Buffer, peer: Buffer): void {
    const b = Buffer.from(data);
    check('sendto', Number(c.sendto(this.fd, b, b.length, 0, peer, peer.length)));
  }

  /** The next datagram, or null when none is waiting. */
  recv(): Buffer | null {
    const n = Number(c.recv(this.fd, this.buf, this.buf.length, 0));
    if (n < 0) {
      if (koffi.errno() === EAGAIN) return null;
      check('recv', n);
    }
    return Buffer.from(this.buf.subarray(0, n));
  }

  /** The next datagram with its sender's address (to answer with sendTo), or null. */
  recvFrom(): { data: Buffer; from: Buffer } | null {
    const from = Buffer.alloc(ADDR_LEN);
    const len = [ADDR_LEN];
    const n = Number(c.recvfrom(this.fd, this.buf, this.buf.length, 0, from, len));
    if (n < 0) {
      if (koffi.errno() === EAGAIN) return null;
      check('recvfrom', n);
    }
    return { data: Buffer.from(this.buf.subarray(0, n)), from: from.subarray(0, len[0]) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    c.close(this.fd);
    try {
      unlinkSync(this.localPath);
    } catch {
      /* gone */
    }
  }
}
