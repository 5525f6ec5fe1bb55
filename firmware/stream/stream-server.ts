// The audio stream endpoint (TCP; the WebSocket endpoint feeds the same
// `accept()`): waits for a hello carrying a token from an accepted join, then
// hands the connection to a ListenerSession.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { FifoRing } from '../audio/fifo.ts';
import type { CodecDemand } from '../audio/codecs/on-demand-encoders.ts';
import type { CodecName } from '../wire/format.ts';
import { encodeFrame, ErrorCode, FrameDecoder, FrameError, FrameType, PROTOCOL_VERSION, type CodecHeaderFrame } from '../wire/frames.ts';
import { ListenerSession } from './listener-session.ts';
import type { StreamTokens } from './stream-tokens.ts';
import { tcpTransport, type StreamTransport } from './transport.ts';

const HELLO_TIMEOUT_MS = 5000;

export interface StreamServerOptions {
  fifo: FifoRing;
  tokens: StreamTokens;
  header: (codec: CodecName) => CodecHeaderFrame;
  clock: () => number;
  joinLeadUs: number;
  /** the engine, which encodes a codec only while someone listens in it */
  encoding?: CodecDemand;
  log?: (msg: string, extra?: object) => void;
}

export interface StreamServerEvents {
  connected: [ListenerSession];
  disconnected: [ListenerSession, string];
}

export class StreamServer extends EventEmitter<StreamServerEvents> {
  private server: net.Server | null = null;
  readonly sessions = new Map<string, ListenerSession>();

  constructor(private o: StreamServerOptions) {
    super();
  }

  async listen(port: number, host: string): Promise<number> {
    const server = net.createServer((socket) => this.accept(tcpTransport(socket, this.o.clock)));
    server.maxConnections = 1000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    return (server.address() as net.AddressInfo).port;
  }

  /** Takes a fresh connection (TCP or WebSocket) through the hello handshake. */
  accept(t: StreamTransport): void {
    const decoder = new FrameDecoder();
    let session: ListenerSession | null = null;
    const timer = setTimeout(() => refuse(ErrorCode.Timeout, 'no hello within 5 s'), HELLO_TIMEOUT_MS);
    const refuse = (code: number, reason: string) => {
      clearTimeout(timer);
      this.o.log?.('stream connection refused', { remote: t.remote, reason });
      t.send(encodeFrame({ type: FrameType.Error, code, reason }));
      t.close();
    };
    t.onClose(() => clearTimeout(timer));
    t.onData((bytes, rxUs) => {
      let frames;
      try {
        frames = decoder.push(bytes);
      } catch (e) {
        const reason = e instanceof FrameError ? e.message : 'bad frame';
        if (session) session.kick(ErrorCode.BadFrame, reason);
        else refuse(ErrorCode.BadFrame, reason);
        return;
      }
      for (const f of frames) {
        if (session) { session.handle(f, rxUs); continue; }
        if (f.type !== FrameType.Hello) return refuse(ErrorCode.BadFrame, 'the first frame must be a hello');
        if (f.version !== PROTOCOL_VERSION) return refuse(ErrorCode.UnsupportedVersion, `protocol version ${f.version} not supported (box speaks ${PROTOCOL_VERSION})`);
        const grant = this.o.tokens.consume(f.token);
        if (!grant) return refuse(ErrorCode.BadToken, 'unknown, used or expired stream token: send a join request first');
        clearTimeout(timer);
        session = this.open(t, grant.clientId, f.name ?? grant.clientId, grant.codec);
      }
    });
  }

  private open(t: StreamTransport, clientId: string, name: string, codec: CodecName): ListenerSession {
    this.sessions.get(clientId)?.kick(ErrorCode.Kicked, 'replaced by a newer connection of the same client');
    const s = new ListenerSession({
      clientId, name, codec, transport: t, fifo: this.o.fifo,
      header: () => this.o.header(codec), clock: this.o.clock, joinLeadUs: this.o.joinLeadUs, encoding: this.o.encoding,
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
