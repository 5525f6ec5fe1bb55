// The box's event bus: what happened, told once, for every extension that cares
// (the MQTT event topics, the state topics, the LEDs, the console, Home Assistant).
// Domain parts keep their own small events; `announceDomainEvents` translates them
// here in one place, so an extension never reaches into a part to listen.
// Every event except `changed`, `volume` and `sources` is published as nearcast/<boxId>/event/<name>
// (README.md "MQTT topics"). ARCHITECTURE.md "Control path".

import { EventEmitter } from 'node:events';
import type { ButtonEvent } from '../../hardware/buttons/buttons.ts';
import type { Track } from '../library/track.ts';
import type { StreamServer } from '../stream/stream-server.ts';
import type { JoinManager } from './join-manager.ts';
import type { Listeners } from './listener-directory.ts';
import type { Playback } from './playback.ts';
import type { PlayedAs } from './playback-control.ts';
import type { ShareWindow } from './share-window.ts';
import { monotonicMs } from '../util/time.ts';

export type TrackSummary = Pick<Track, 'id' | 'title' | 'artist' | 'album' | 'durationMs'>;
export interface ShareState {
  open: boolean;
  remainingMs: number;
}
/** what went wrong, in words a person at the box can act on; more fields say where */
export interface BoxError {
  message: string;
  [detail: string]: unknown;
}

export interface BoxEventMap {
  /** something the public state topic shows changed (coalesced by the state publisher) */
  changed: [];
  /** the box volume (the box's own speaker; listeners set their own) */
  volume: [number];
  /** the sources the owner may switch to changed (a station added or removed): Home Assistant's select is announced again */
  sources: [string[]];
  /** the track listeners hear now (emitted when it starts being heard) */
  track: [
    {
      track: TrackSummary | null;
      kind: PlayedAs['kind'];
      playlist: string | null;
      /** wall clock, ms: the instant listeners were scheduled to hear it */
      at?: number;
    },
  ];
  share: [ShareState];
  join: [{ id: string; name: string }];
  leave: [{ id: string; name: string; reason: string }];
  join_pending: [{ id: string; name: string; waiting: number }];
  error: [BoxError];
  /** a button on the box (or its simulated twin) and what it did */
  button: [ButtonEvent & { effect: string }];
  /** an item that played to its end (or was cut): the play log's line */
  played: [object];
  /** an announcement queued, started, done or failed (domain/announcements.ts) */
  announcement: [{ id: string; state: 'queued' | 'started' | 'done' | 'failed'; title: string; [detail: string]: unknown }];
  capture: [object];
  silence: [object];
  /** a radio stream (re)connected: { source, state: 'connected', station, contentType } */
  stream: [object];
  wifi: [object];
  wifi_station_connected: [object];
  wifi_station_disconnected: [object];
  wps: [object];
}
export type BoxEventName = keyof BoxEventMap;

/** the events published on MQTT (all but the internal `changed` and `volume`) */
export const PUBLISHED_EVENTS = [
  'track',
  'played',
  'announcement',
  'share',
  'join',
  'leave',
  'join_pending',
  'error',
  'button',
  'capture',
  'silence',
  'stream',
  'wifi',
  'wifi_station_connected',
  'wifi_station_disconnected',
  'wps',
] as const satisfies readonly BoxEventName[];

export class BoxEvents extends EventEmitter<BoxEventMap> {
  /** when the last `error` was told (the error LED stays lit for a while after it) */
  lastErrorAt = -Infinity;

  constructor(private readonly now: () => number = monotonicMs) {
    super();
    this.setMaxListeners(50);
    // Node throws on an 'error' event without a listener; a box error is news, not a crash
    this.on('error', () => {
      this.lastErrorAt = this.now();
    });
  }
}

export interface DomainParts {
  playback: Playback;
  shareWindow: ShareWindow;
  joins: JoinManager;
  listeners: Listeners;
  stream: StreamServer;
}

/** Tells the bus what the domain parts report. */
export function announceDomainEvents(events: BoxEvents, parts: DomainParts): void {
  const { playback, shareWindow, joins, listeners, stream } = parts;
  const changed = () => events.emit('changed');
  playback.on('change', changed);
  playback.on('volume', (v) => events.emit('volume', v));
  playback.on('sources', (list) => events.emit('sources', list));
  playback.on('problem', (message) => events.emit('error', { message }));
  playback.on('track', (t, as, at) =>
    events.emit('track', {
      track: t && { id: t.id, title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs },
      kind: as.kind,
      playlist: as.playlist,
      at,
    }),
  );
  shareWindow.on('change', (s: ShareState) => {
    events.emit('share', s);
    changed();
  });
  listeners.on('change', changed);
  let waiting = 0;
  joins.on('change', () => {
    const newest = joins.pending.at(-1);
    // a join that just arrived (not one left waiting when another was decided)
    if (newest && joins.pending.length > waiting) events.emit('join_pending', { id: newest.clientId, name: newest.request.name ?? newest.clientId, waiting: joins.pending.length });
    waiting = joins.pending.length;
    changed();
  });
  stream.on('connected', (s) => events.emit('join', { id: s.clientId, name: s.name }));
  stream.on('disconnected', (s, reason) => events.emit('leave', { id: s.clientId, name: s.name, reason: String(reason) }));
}
