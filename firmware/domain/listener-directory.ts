// Accepted listeners: admitted by a join, connected by the stream, gone on
// leave, on stream close, or released when the stream does not connect within
// `connectWithinMs` (or the MQTT connection that joined closes first). A
// listener belongs to the MQTT connection that joined: only that connection has
// a listener's rights and may leave for it.

import { EventEmitter } from 'node:events';
import type { CodecName } from '../wire/format.ts';
import type { JoinRequest } from '../wire/requests.ts';
import type { Caller } from './caller.ts';
import { ClientError } from './client-error.ts';
import type { StreamServer } from '../stream/stream-server.ts';
import type { StreamTokens } from '../stream/stream-tokens.ts';

export interface ListenerDirectory {
  count(): number;
  /** whether this connection joined (and its listener is still there) */
  isListener(caller: Caller): boolean;
  list(): unknown[];
  /** issues a one-time stream token bound to this connection and returns how to reach the stream */
  admit(caller: Caller, request: JoinRequest): JoinGrant;
  /** the caller's own listener leaves */
  leave(caller: Caller, reason: string): boolean;
  remove(clientId: string, reason: string): boolean;
  /** every listener leaves (sharing stopped); returns how many there were */
  removeAll(reason: string): number;
}

export interface JoinGrant {
  listenerId: string;
  stream: { tcpPort: number; wsPath: string; token: string; expiresInMs: number };
  codec: 'opus' | 'pcm';
  format: { sampleRate: number; channels: number; bitsPerSample: number };
  chunkMs: number;
  latencyMs: number;
}

export interface ListenerInfo {
  id: string;
  name: string;
  since: string; // ISO time of admission
  codec: CodecName;
  connected: boolean;
  /** how much audio (ms) the box has already handed this listener ahead of playout */
  bufferMs: number;
  gaps: number;
  bytesSent: number;
  /** as the listener measures it (null until it reports) */
  syncErrorMs: number | null;
  underruns: number | null;
}

export interface DirectoryOptions {
  tokens: StreamTokens;
  stream: StreamServer;
  /** an admitted listener whose stream has not connected within this is released */
  connectWithinMs: number;
  /** counts a join released unconnected */
  onReleased?: () => void;
  defaultCodec: CodecName;
  availableCodecs: CodecName[];
  grantTemplate: () => Omit<JoinGrant, 'listenerId' | 'stream' | 'codec'> & { tcpPort: number; wsPath: string };
}

interface Entry {
  id: string;
  /** the MQTT connection that joined */
  serial: number;
  name: string;
  since: number;
  codec: CodecName;
  expiry: NodeJS.Timeout | null;
}

export class Listeners extends EventEmitter<{ change: [] }> implements ListenerDirectory {
  private entries = new Map<string, Entry>();

  constructor(private readonly options: DirectoryOptions) {
    super();
    options.stream.on('connected', (s) => {
      const e = this.entries.get(s.clientId);
      if (e?.expiry) {
        clearTimeout(e.expiry);
        e.expiry = null;
      }
      this.emit('change');
    });
    options.stream.on('disconnected', (s) => {
      // a listener whose stream ends is gone unless it was replaced by a newer connection
      if (!options.stream.sessions.has(s.clientId)) this.drop(s.clientId);
    });
  }

  count(): number {
    return this.entries.size;
  }

  isListener(caller: Caller): boolean {
    return this.entries.get(caller.clientId)?.serial === caller.serial;
  }

  admit(caller: Caller, req: JoinRequest): JoinGrant {
    const clientId = caller.clientId;
    const codec = req.codec && this.options.availableCodecs.includes(req.codec) ? req.codec : this.options.defaultCodec;
    const prev = this.entries.get(clientId);
    // the id's stream plays for another (earlier) connection: a guest reusing the id may not replace it
    if (prev && prev.serial !== caller.serial && caller.role !== 'owner' && this.options.stream.sessions.has(clientId)) {
      throw new ClientError(`client id '${clientId}' is already listening from another connection: leave there first, or join with another id`);
    }
    if (prev?.expiry) clearTimeout(prev.expiry);
    const entry: Entry = { id: clientId, serial: caller.serial, name: req.name ?? clientId, since: prev?.since ?? Date.now(), codec, expiry: null };
    entry.expiry = setTimeout(() => this.releaseUnconnected(clientId, caller.serial), this.options.connectWithinMs);
    entry.expiry.unref();
    this.entries.set(clientId, entry);
    const token = this.options.tokens.issue(clientId, codec, caller.serial);
    const { tcpPort, wsPath, ...rest } = this.options.grantTemplate();
    this.emit('change');
    return { listenerId: clientId, stream: { tcpPort, wsPath, token, expiresInMs: this.options.connectWithinMs }, codec, ...rest };
  }

  leave(caller: Caller, reason: string): boolean {
    if (!this.isListener(caller)) return false;
    return this.remove(caller.clientId, reason);
  }

  /** The MQTT connection closed: a listener it admitted that has not connected its stream yet is released. */
  connectionClosed(caller: Pick<Caller, 'clientId' | 'serial'>): void {
    const e = this.entries.get(caller.clientId);
    if (e && e.serial === caller.serial && !this.options.stream.sessions.has(caller.clientId)) {
      this.options.tokens.revoke(caller.clientId);
      this.drop(caller.clientId);
    }
  }

  private releaseUnconnected(clientId: string, serial: number): void {
    const e = this.entries.get(clientId);
    if (!e || e.serial !== serial || this.options.stream.sessions.has(clientId)) return;
    this.options.tokens.revoke(clientId);
    this.options.onReleased?.();
    this.drop(clientId);
  }

  remove(clientId: string, reason: string): boolean {
    const had = this.entries.has(clientId);
    this.options.tokens.revoke(clientId);
    this.options.stream.disconnect(clientId, reason);
    this.drop(clientId);
    return had;
  }

  /** Disconnects everybody (long press of the share button). */
  removeAll(reason: string): number {
    const ids = [...this.entries.keys()];
    for (const id of ids) this.remove(id, reason);
    return ids.length;
  }

  list(): ListenerInfo[] {
    return [...this.entries.values()].map((e) => {
      const s = this.options.stream.sessions.get(e.id);
      return {
        id: e.id,
        name: e.name,
        since: new Date(e.since).toISOString(),
        codec: e.codec,
        connected: !!s,
        bufferMs: Math.round(s?.stats.report?.bufferMs ?? s?.stats.aheadMs ?? 0),
        gaps: s?.stats.gaps ?? 0,
        bytesSent: s?.stats.bytesSent ?? 0,
        syncErrorMs: s?.stats.report ? Math.round(s.stats.report.syncErrorUs) / 1000 : null,
        underruns: s?.stats.report?.underruns ?? null,
      };
    });
  }

  private drop(clientId: string): void {
    const e = this.entries.get(clientId);
    if (!e) return;
    if (e.expiry) clearTimeout(e.expiry);
    this.entries.delete(clientId);
    this.emit('change');
  }
}
