// The audio stream endpoint (TCP; the WebSocket endpoint feeds the same
// `accept()`): waits for a hello carrying a token from an accepted join, then
// hands the connection to a ListenerSession.
//
// Before the hello a connection may send only a small frame, within
// `helloTimeoutMs`, and it holds a slot that a newcomer may take when the port
// is full (see ConnectionLimits): idle or half-sent connections cannot lock real
// listeners out. A token is good only while the MQTT connection it was issued
// to is still open (`grantValid`).

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { FifoRing } from '../audio/fifo.ts';
import type { CodecDemand } from '../audio/codecs/on-demand-encoders.ts';
import { ConnectionLimits, type Admission } from '../security/connection-limits.ts';
import type { Refusals } from '../security/refusals.ts';
import type { CodecName } from '../wire/format.ts';
import { encodeFrame, ErrorCode, FrameDecoder, FrameError, FrameType, PROTOCOL_VERSION, type CodecHeaderFrame } from '../wire/frames.ts';
import { ListenerSession } from './listener-session.ts';
import type { Grant, StreamTokens } from './stream-tokens.ts';
import { tcpTransport, type StreamTransport } from './transport.ts';

/** a hello is a few hundred bytes; after it a listener sends only small control frames */
const MAX_HELLO_BYTES = 1024;
const MAX_LISTENER_FRAME_BYTES = 4096;

export interface StreamServerOptions {
  fifo: FifoRing;
  tokens: StreamTokens;
  header: (codec: CodecName) => CodecHeaderFrame;
  clock: () => number;
  joinLeadUs: number;
  /** the engine, which encodes a codec only while someone listens in it */
  encoding?: CodecDemand;
  /** whether a token's MQTT connection is still open (default: always) */
  grantValid?: (g: Grant) => boolean;
  limits?: { perAddress: number; total: number; helloTimeoutMs: number };
  refusals?: Refusals;
  log?: (msg: string, extra?: object) => void;
}

export interface StreamServerEvents {
  connected: [ListenerSession];
  disconnected: [ListenerSession, string];
}

export class StreamServer extends EventEmitter<StreamServerEvents> {
  private server: net.Server | null = null;
  private slots: ConnectionLimits;
  readonly sessions = new Map<string, ListenerSession>();

  constructor(private readonly options: StreamServerOptions) {
    super();
    this.slots = new ConnectionLimits({ perAddress: options.limits?.perAddress ?? 16, total: options.limits?.total ?? 256 });
  }

  async listen(port: number, host: string): Promise<number> {
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      const admission = this.slots.admit(socket.remoteAddress, () => socket.destroy());
      if (typeof admission === 'string') {
        this.options.refusals?.count('stream_connections');
        this.options.log?.('stream connection refused', { remote: socket.remoteAddress, reason: admission });
        socket.end(encodeFrame({ type: FrameType.Error, code: ErrorCode.Busy, reason: admission }));
        setTimeout(() => socket.destroy(), 500).unref();
        return;
      }
      socket.once('close', () => admission.release());
      this.accept(tcpTransport(socket, this.options.clock), admission);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  }

  /** Takes a fresh connection (TCP or WebSocket) through the hello handshake. */
  accept(t: StreamTransport, admission?: Admission): void {
    const decoder = new FrameDecoder(MAX_HELLO_BYTES);
    let session: ListenerSession | null = null;
    let listenerDecoder: FrameDecoder | null = null;
    const helloMs = this.options.limits?.helloTimeoutMs ?? 3000;
    const timer = setTimeout(() => refuse(ErrorCode.Timeout, `no hello within ${helloMs / 1000} s`), helloMs);
    const refuse = (code: number, reason: string) => {
      clearTimeout(timer);
      this.options.refusals?.count(code === ErrorCode.BadToken ? 'stream_token' : 'stream_hello');
      this.options.log?.('stream connection refused', { remote: t.remote, reason });
      t.send(encodeFrame({ type: FrameType.Error, code, reason }));
      t.close();
    };
    t.onClose(() => clearTimeout(timer));
    t.onData((bytes, rxUs) => {
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = (listenerDecoder ?? decoder).push(bytes);
      } catch (e) {
        const reason = e instanceof FrameError ? e.message : 'bad frame';
        if (session) session.kick(ErrorCode.BadFrame, reason);
        else refuse(ErrorCode.BadFrame, reason);
        return;
      }
      for (const f of frames) {
        if (session) {
          session.handle(f, rxUs);
          continue;
        }
        if (f.type !== FrameType.Hello) return refuse(ErrorCode.BadFrame, 'the first frame must be a hello');
        if (f.version !== PROTOCOL_VERSION) return refuse(ErrorCode.UnsupportedVersion, `protocol version ${f.version} not supported (box speaks ${PROTOCOL_VERSION})`);
        const grant = this.options.tokens.consume(f.token);
        if (!grant) return refuse(ErrorCode.BadToken, 'unknown, used or expired stream token: send a join request first');
        if (this.options.grantValid && !this.options.grantValid(grant)) return refuse(ErrorCode.BadToken, 'the MQTT connection that joined has closed: join again');
        clearTimeout(timer);
        admission?.established();
        // the rest of what arrived with the hello is read with the listener's (larger) frame limit
        listenerDecoder = new FrameDecoder(MAX_LISTENER_FRAME_BYTES);
        session = this.open(t, grant.clientId, f.name ?? grant.clientId, grant.codec);
      }
    });
  }

  private open(t: StreamTransport, clientId: string, name: string, codec: CodecName): ListenerSession {
    this.sessions.get(clientId)?.kick(ErrorCode.Kicked, 'replaced by a newer connection of the same client');
    const s = new ListenerSession({
      clientId,
      name,
      codec,
      transport: t,
      fifo: this.options.fifo,
      header: () => this.options.header(codec),
      clock: this.options.clock,
      joinLeadUs: this.options.joinLeadUs,
      encoding: this.options.encoding,
      onDroppedReply: () => this.options.refusals?.count('stream_control_replies'),
    });
    this.sessions.set(clientId, s);
    s.on('close', (reason) => {
      if (this.sessions.get(clientId) === s) this.sessions.delete(clientId);
      this.emit('disconnected', s, reason);
    });
    s.start();
    this.emit('connected', s);
    return s;
  }

  /** Feeds every session; called for each new chunk. */
  pumpAll(): void {
    for (const s of this.sessions.values()) s.pump();
  }

  disconnect(clientId: string, reason: string): boolean {
    const s = this.sessions.get(clientId);
    s?.kick(ErrorCode.Kicked, reason);
    return !!s;
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) s.kick(ErrorCode.ServerShutdown, 'the box is shutting down');
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
