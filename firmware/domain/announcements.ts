// Announcements: a file, an http(s) URL, or text spoken by espeak-ng, after an optional chime, mixed
// over the music while it ducks (audio/overlay-mixer.ts). They queue and play one at
// a time; every listener hears them in sync because they are mixed before the FIFO.
// Each is told on the bus as `announcement` (queued, started, done or failed).

import fs from 'node:fs';
import path from 'node:path';
import { dbToGain, type OverlayItem } from '../audio/overlay-mixer.ts';
import type { PcmSource } from '../audio/types.ts';
import type { BoxEvents } from './box-events.ts';
import { ClientError } from './client-error.ts';

export interface AnnouncementRequest {
  text?: string;
  file?: string;
  /** an http(s) address the announcement is fetched from when it plays */
  url?: string;
  chime?: boolean;
  duckDb?: number;
}

export interface AnnouncementsOptions {
  mixer: { play(item: OverlayItem): void; readonly playing: boolean; readonly waiting: number };
  events: BoxEvents;
  /** a decoded source for a file */
  openFile(file: string): PcmSource;
  /** a decoded source for an http(s) URL */
  openUrl(url: string): PcmSource;
  /** the chime played before an announcement */
  chime(): PcmSource[];
  /** speaks text into a file */
  speak(text: string): Promise<string>;
  /** folders an announcement file may come from (the library's and `announce.folders`) */
  folders: string[];
  defaults: { duckDb: number; chime: boolean };
  maxQueue: number;
  /** what listeners hear is this much later than what is mixed now (stream latency) */
  latencyMs: number;
  now?: () => number;
}

let sequence = 0;

export class Announcements {
  constructor(private readonly options: AnnouncementsOptions) {}

  /** the announcement asked for before this one has been queued (they queue in the order asked) */
  private queued: Promise<unknown> = Promise.resolve();

  /** Queues one; resolves with its id and how many are ahead of it. Refusals are ClientErrors. */
  announce(request: AnnouncementRequest): Promise<{ id: string; ahead: number }> {
    const { mixer, maxQueue } = this.options;
    if (mixer.waiting >= maxQueue)
      return Promise.reject(new ClientError(`${mixer.waiting} announcements are already waiting (at most ${maxQueue}); try again when they have played`));
    let file: string | null;
    try {
      file = request.file !== undefined ? this.allowedFile(request.file) : request.url !== undefined ? webAddress(request.url) : null;
    } catch (e) {
      return Promise.reject(e);
    }
    const spoken =
      request.text !== undefined
        ? this.options.speak(request.text).catch((e: Error) => {
            throw new ClientError(`cannot speak the announcement: ${e.message}`);
          })
        : Promise.resolve(null);
    const before = this.queued;
    const queued = (async () => {
      const speech = await spoken;
      await before.catch(() => {});
      return this.enqueue(request, file ?? speech, speech);
    })();
    this.queued = queued;
    return queued;
  }

  private enqueue(request: AnnouncementRequest, content: string | null, spoken: string | null): { id: string; ahead: number } {
    const { mixer } = this.options;
    if (!content) throw new ClientError("an announcement needs 'text', 'file' or 'url'");
    const id = `a${Date.now().toString(36)}${(sequence++).toString(36)}`;
    const title = request.text ?? path.basename(content.replace(/[?#].*$/, ''));
    const file = spoken ? null : content;
    const ahead = mixer.waiting + (mixer.playing ? 1 : 0);
    const sources = [
      ...((request.chime ?? this.options.defaults.chime) ? this.options.chime() : []),
      request.url !== undefined && !spoken ? this.options.openUrl(content) : this.options.openFile(content),
    ];
    const heard = () => (this.options.now ?? Date.now)() + this.options.latencyMs;
    let startedAt = 0;
    mixer.play({
      sources,
      duckGain: dbToGain(request.duckDb ?? this.options.defaults.duckDb),
      started: () => {
        startedAt = heard();
        this.options.events.emit('announcement', { id, state: 'started', title });
      },
      done: (error) => {
        if (spoken) fs.rm(spoken, { force: true }, () => {});
        this.options.events.emit('announcement', {
          id,
          state: error ? 'failed' : 'done',
          title,
          file,
          startedAt,
          endedAt: heard(),
          ...(error ? { error: error.message } : {}),
        });
      },
    });
    this.options.events.emit('announcement', { id, state: 'queued', title, ahead });
    return { id, ahead };
  }

  /** an existing audio file inside one of the allowed folders (an owner's request still cannot read the whole disk) */
  private allowedFile(requested: string): string {
    let real: string;
    try {
      real = fs.realpathSync(requested);
    } catch {
      throw new ClientError(`announcement file '${requested.slice(0, 200)}' does not exist`);
    }
    const inside = this.options.folders.some((folder) => {
      let root: string;
      try {
        root = fs.realpathSync(folder);
      } catch {
        return false;
      }
      return real === root || real.startsWith(root + path.sep);
    });
    if (!inside) throw new ClientError(`announcement files must be in the library or announce.folders (${this.options.folders.join(', ') || 'none configured'})`);
    if (!fs.statSync(real).isFile()) throw new ClientError(`'${requested.slice(0, 200)}' is not a file`);
    return real;
  }
}

/** An http(s) address, refused with the reason otherwise (no file:, no other scheme: an owner's request still cannot read the disk). */
function webAddress(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClientError(`announcement url '${text.slice(0, 200)}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientError(`announcement url must be http or https, not ${url.protocol.slice(0, 20)}`);
  return url.href;
}
