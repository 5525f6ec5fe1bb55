// What a request handler sees: who asks, and the box services it may use.

import type { Track } from '../library/track.ts';
import type { LibraryIndex } from '../library/search.ts';
import type { JoinManager } from '../share/join-manager.ts';
import type { ShareWindow } from '../share/share-window.ts';
import type { Op } from '../wire/topics.ts';
import type { ControlAction, JoinRequest, Reply, Transaction } from '../wire/requests.ts';

export type Role = 'owner' | 'guest';

/**
 * Who sends a request: one MQTT connection. `serial` tells two connections with
 * the same client id apart (one that left and a later one), so a reply, a stream
 * token or a listener's rights stay with the connection that earned them.
 */
export interface Caller {
  readonly clientId: string;
  readonly serial: number;
  readonly address: string;
  readonly role: Role;
}
export type PermissionLevel = 'owner' | 'listeners' | 'nobody';

export interface NowPlaying {
  state: 'playing' | 'paused' | 'idle';
  track: Pick<Track, 'id' | 'title' | 'artist' | 'album' | 'durationMs'> | null;
  positionMs: number;
  volume: number;
  source: string;
}

/** The playback side as handlers use it (implemented by firmware/playback.ts). */
export interface PlaybackControl {
  nowPlaying(): NowPlaying;
  playNow(track: Track): void;
  enqueue(track: Track): number; // position in the queue
  queue(): Track[];
  control(action: ControlAction): void;
  setVolume(volume: number): number;
  /** switches what the box plays: 'library' or one of sources(); throws a RangeError naming the choices otherwise */
  selectSource(source: string): string;
  /** what selectSource accepts */
  sources(): string[];
}

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
}

export interface JoinGrant {
  listenerId: string;
  stream: { tcpPort: number; wsPath: string; token: string; expiresInMs: number };
  codec: 'opus' | 'pcm';
  format: { sampleRate: number; channels: number; bitsPerSample: number };
  chunkMs: number;
  latencyMs: number;
}

export interface BoxServices {
  boxId: string;
  name: string;
  permissions: Record<'request' | 'control' | 'volume' | 'source', PermissionLevel>;
  library: LibraryIndex;
  playback: PlaybackControl;
  joins: JoinManager;
  shareWindow: ShareWindow;
  listeners: ListenerDirectory;
  /** the Wi-Fi Direct radio's state, when the box runs one */
  radio?: () => unknown;
  /** sends a reply outside the request/response cycle (the final answer to a pending join) */
  reply(to: Caller, op: Op, reply: Reply): void;
  /** resolves once every change made so far is on disk (replies wait for it) */
  persisted(): Promise<void>;
}

export interface RequestContext {
  clientId: string;
  role: Role;
  caller: Caller;
  transaction?: Transaction;
  box: BoxServices;
}

export type HandlerResult = { status: 'ok'; data?: unknown } | { status: 'pending'; data?: unknown };
export type Handler = (ctx: RequestContext, body: Record<string, unknown>) => HandlerResult | Promise<HandlerResult>;

/** A refusal with a message meant for the client. */
export class RequestError extends Error {}
