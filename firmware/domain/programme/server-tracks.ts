// A music server's songs for the programme's `server` entries. The scheduler picks
// without waiting (it plans items ahead, synchronously), so a server is not asked per
// song: an entry's answer is kept for a while (FRESH_MS) and used as it is; when it
// has aged, or when the programme names a new entry, the server is asked in the
// background and the answer serves the picks after it. Until a first answer arrives,
// and while a server does not answer, the entry means the songs it last gave (none at
// first): the playlist plays its other entries, or the whole library when it has no
// other, never silence. Each failure is reported (log and event), and the server is
// asked again a minute later, not at every pick.

import type { Track } from '../../library/track.ts';
import type { ServerCall, ServerEntry, TrackQuery } from './sources.ts';
import { monotonicMs } from '../../util/time.ts';

/** where a server's songs come from: the box's music library (each call within that server's time limit) or a fake in tests */
export interface ServerSongsBackend {
  songs(server: string, call: ServerCall): Promise<Track[]>;
}

export interface ServerTracksOptions {
  backend: ServerSongsBackend;
  /** a server did not answer (or refused): its name and why */
  onFailure(server: string, problem: string): void;
  now?: () => number;
  /** an answer is used this long before the server is asked again (default 10 minutes) */
  freshMs?: number;
  /** after a failure the server is asked again this long after (default 1 minute) */
  retryMs?: number;
}

const FRESH_MS = 10 * 60_000;
const RETRY_MS = 60_000;
/** entries kept; a programme names far fewer (the ones no programme names any more go first) */
const MAX_ENTRIES = 256;

interface Answer {
  tracks: Track[];
  /** when the server last answered (null: never) and last failed */
  answeredAt: number | null;
  failedAt: number | null;
  pending: Promise<void> | null;
}

export class ServerTracks {
  private readonly answers = new Map<string, Answer>();
  private changes = 0;

  constructor(private readonly options: ServerTracksOptions) {}

  private get now(): number {
    return (this.options.now ?? monotonicMs)();
  }

  /** grows each time an answer changes an entry's songs: a list resolved before is out of date */
  get version(): number {
    return this.changes;
  }

  /** The songs of `entry` known now ([] before the first answer); asks the server in the background when they have aged. */
  readonly songs = (entry: ServerEntry): readonly Track[] => {
    void this.want(entry); // ask() never rejects: failures go to onFailure
    return this.answers.get(entry.key)?.tracks ?? [];
  };

  /** Asks the server for `entry` unless a fresh answer, a recent failure or a request under way makes that needless; resolves when settled. */
  want(entry: ServerEntry): Promise<void> {
    let answer = this.answers.get(entry.key);
    if (!answer) {
      answer = { tracks: [], answeredAt: null, failedAt: null, pending: null };
      this.answers.set(entry.key, answer);
      this.trim();
    }
    if (answer.pending !== null) return answer.pending;
    const now = this.now;
    const fresh = answer.answeredAt !== null && now - answer.answeredAt < (this.options.freshMs ?? FRESH_MS);
    const failedLately = answer.failedAt !== null && now - answer.failedAt < (this.options.retryMs ?? RETRY_MS);
    if (fresh || failedLately) return Promise.resolve();
    const asking = this.ask(entry, answer).finally(() => {
      if (answer) answer.pending = null;
    });
    answer.pending = asking;
    return asking;
  }

  /** Asks for every server entry of `queries` (a programme just set); resolves when all have answered or failed. */
  async prefetch(queries: Iterable<TrackQuery>): Promise<void> {
    const asks: Array<Promise<void>> = [];
    for (const query of queries) for (const entry of query.entries) if (entry.kind === 'server') asks.push(this.want(entry));
    await Promise.all(asks);
  }

  private async ask(entry: ServerEntry, answer: Answer): Promise<void> {
    const results = await Promise.allSettled(entry.calls.map((call) => this.options.backend.songs(entry.server, call)));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [describe(result.reason)] : []));
    const answered = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const now = this.now;
    if (failures.length > 0) {
      answer.failedAt = now;
      this.options.onFailure(entry.server, [...new Set(failures)].join('; '));
    }
    if (answered.length === 0) return; // nothing arrived: the songs it gave last stay
    const seen = new Set<string>();
    const tracks = answered.flat().filter((track) => !seen.has(track.id) && seen.add(track.id));
    if (failures.length === 0) answer.failedAt = null;
    answer.answeredAt = now;
    const same = tracks.length === answer.tracks.length && tracks.every((track, index) => track.id === answer.tracks[index]?.id);
    answer.tracks = tracks;
    if (!same) this.changes++;
  }

  private trim(): void {
    for (const [key, answer] of this.answers) {
      if (this.answers.size <= MAX_ENTRIES) break;
      if (!answer.pending) this.answers.delete(key); // the oldest first
    }
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
