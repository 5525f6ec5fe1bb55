// What a source is: the `--source` forms and the queue's tracks as data (SourceSpec),
// how each is opened by default, and what messages call it. The engine (../engine.ts)
// plays whatever a spec opens; the source opener (./source-opener.ts) adds the
// configuration (credentials, timeouts) before opening.

import type { PcmSource } from '../types.ts';
import { FileSource } from './file-source.ts';
import { PipeSource, DEFAULT_PIPE_PATH } from './pipe-source.ts';
import { CaptureSource } from './capture-source.ts';
import { openCaptureDevice } from '../../../hardware/audio/open-capture.ts';
import { ToneSource } from './tone-source.ts';
import { UrlSource } from './url-source.ts';
import { DEFAULT_FORMAT, type PcmFormat } from '../../wire/format.ts';

export type SourceSpec =
  | {
      kind: 'file';
      path: string;
      trackId?: string;
      startMs?: number;
      /** loudness normalisation (library/loudness.ts) */
      gainDb?: number;
      /** how far ahead the file is decoded (default 3000): a crossfade needs to know the end this early */
      bufferMs?: number;
    }
  | { kind: 'pipe'; path: string }
  | { kind: 'capture'; pcm: string }
  | { kind: 'tone'; hz: number }
  | { kind: 'silence' }
  /**
   * an http(s) stream: radio (`live`, reconnects) or a music server's track (`trackId`, ends).
   * `url` never holds credentials (it shows in messages); `server` names the library
   * server whose credentials are added when the request is made (source-opener.ts).
   */
  | { kind: 'url'; url: string; live: boolean; label?: string; trackId?: string; server?: string };

/** Parses the `--source` forms: `silence`, `tone:440`, `pipe` / `pipe:/path`, `capture:hw:1,0`, `file:/path`, `url:http://…`. */
export function parseSourceSpec(text: string): SourceSpec {
  const [kind, ...rest] = text.split(':');
  const arg = rest.join(':');
  if (kind === 'silence' && !arg) return { kind: 'silence' };
  if (kind === 'tone') {
    const hz = Number(arg);
    if (!arg || !Number.isFinite(hz) || hz <= 0) throw new RangeError(`source '${text}': tone needs a frequency in Hz, e.g. tone:440`);
    return { kind: 'tone', hz };
  }
  if (kind === 'pipe') return { kind: 'pipe', path: arg || DEFAULT_PIPE_PATH };
  if (kind === 'file' && arg) return { kind: 'file', path: arg };
  if (kind === 'capture' && arg.trim()) return { kind: 'capture', pcm: arg.trim() };
  if (kind === 'url') {
    if (!/^https?:\/\/[^/\s]+/i.test(arg)) throw new RangeError(`source '${text}': url needs an http or https URL, e.g. url:http://radio.example/stream`);
    return { kind: 'url', url: arg, live: true };
  }
  throw new RangeError(`unknown source '${text}' (expected silence, tone:<hz>, pipe[:<path>], capture:<ALSA PCM>, file:<path> or url:<http(s) URL>)`);
}

/** a pipe writer handing its audio over up to this late costs no silence (pipe-source.ts) */
const PIPE_RESERVE_MS = 60;

export function defaultOpenSource(spec: SourceSpec, format: PcmFormat = DEFAULT_FORMAT): PcmSource {
  switch (spec.kind) {
    case 'file':
      return new FileSource(spec.path, { format, startMs: spec.startMs, trackId: spec.trackId, maxBufferMs: spec.bufferMs });
    case 'pipe':
      return new PipeSource(spec.path, { format, reserveMs: PIPE_RESERVE_MS });
    case 'capture':
      return new CaptureSource(openCaptureDevice(spec.pcm), { format });
    case 'tone':
      return new ToneSource({ hz: spec.hz, format });
    case 'silence':
      return new ToneSource({ hz: 0, format });
    case 'url':
      return new UrlSource(spec.url, { live: spec.live, label: sourceLabel(spec), trackId: spec.trackId, format });
  }
}

/** what messages call a source */
export function sourceLabel(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'file':
    case 'pipe':
      return spec.path;
    case 'capture':
      return `capture:${spec.pcm}`;
    // a station URL's user:password (rare, but allowed by URLs) stays out of messages
    case 'url':
      return spec.label ?? `url:${spec.url.replace(/^([a-z]+:\/\/)[^/@\s]*@/i, '$1')}`;
    default:
      return spec.kind;
  }
}

/** a track of the play queue (a file, a music server's track): the queue goes on after it */
export function isQueueTrack(spec: SourceSpec): boolean {
  return spec.kind === 'file' || (spec.kind === 'url' && spec.trackId !== undefined);
}

/** the library or music-server track a source plays, if it is one */
export function trackIdOf(spec: SourceSpec): string | null {
  return spec.kind === 'file' || spec.kind === 'url' ? (spec.trackId ?? null) : null;
}
