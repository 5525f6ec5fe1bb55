// What a request handler sees: who asks, and the box services it may use.

import type { RememberedListeners } from '../domain/remembered-listeners.ts';
import type { Caller, PermissionLevel, Role } from '../domain/caller.ts';
import type { Announcements } from '../domain/announcements.ts';
import type { JoinManager } from '../domain/join-manager.ts';
import type { ListenerDirectory } from '../domain/listener-directory.ts';
import type { PlaybackControl } from '../domain/playback-control.ts';
import type { ProgrammeRunner } from '../domain/programme/programme-runner.ts';
import type { ShareWindow } from '../domain/share-window.ts';
import type { MusicLibrary } from '../library/music-library.ts';
import type { NetworkSources } from '../domain/network-sources.ts';
import type { PlayLogPage } from '../wire/play-log.ts';
import type { Transaction } from '../wire/requests.ts';

/** the rights the owner can share with listeners (config `permissions`) */
export type SharedRight = 'request' | 'control' | 'volume' | 'source';

export interface BoxServices {
  boxId: string;
  name: string;
  permissions: Record<SharedRight, PermissionLevel>;
  /** the box's files and its music servers (library/music-library.ts) */
  library: Pick<MusicLibrary, 'get' | 'find'>;
  playback: PlaybackControl;
  joins: JoinManager;
  /** listeners remembered as approved (absent on a box built without them, e.g. in tests) */
  remembered?: Pick<RememberedListeners, 'list' | 'forget'>;
  shareWindow: ShareWindow;
  listeners: ListenerDirectory;
  /** announcements over the music (absent on a box built without them, e.g. in tests) */
  announcements?: Pick<Announcements, 'announce'>;
  /** the kiosk's programme (inactive while the box runs none; one can be set over MQTT) */
  programme?: Pick<ProgrammeRunner, 'active' | 'status' | 'upcoming' | 'set' | 'choose' | 'playlistName'>;
  /** the radio stations and music servers the owner may change (absent on a box built without them, e.g. in tests) */
  network?: Pick<NetworkSources, 'list' | 'add' | 'remove'>;
  /** the play log's pages (extensions/play-log-export.ts), when the box keeps one */
  playLog?: { page(from: string, to: string, cursor?: string): PlayLogPage };
  /** the Wi-Fi Direct radio's state without its secrets, when the box runs one */
  radio?: () => unknown;
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
