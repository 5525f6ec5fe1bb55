// Radio playlists: what a station's "listen" link usually is. An .m3u/.pls file names
// the stream URL(s); an HLS playlist (.m3u8 with #EXT-X- tags) is itself the stream,
// for ffmpeg to read. Fetched with a bounded size and time (stream-http.ts).

export type PlaylistKind = 'm3u' | 'pls';

const M3U_TYPES = ['audio/x-mpegurl', 'audio/mpegurl', 'application/x-mpegurl', 'application/vnd.apple.mpegurl', 'audio/m3u'];
const PLS_TYPES = ['audio/x-scpls', 'application/pls+xml', 'audio/scpls'];

/** The playlist kind a response is, from its content type or else the URL's extension; null: it is audio. */
export function playlistKind(contentType: string | undefined, url: URL): PlaylistKind | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (M3U_TYPES.includes(type)) return 'm3u';
  if (PLS_TYPES.includes(type)) return 'pls';
  if (type.startsWith('audio/') && type !== 'audio/x-mpegurl') return null;
  const pathname = url.pathname.toLowerCase();
  if (pathname.endsWith('.m3u') || pathname.endsWith('.m3u8')) return 'm3u';
  if (pathname.endsWith('.pls')) return 'pls';
  return null;
}

/** HLS: an m3u8 whose tags describe media segments rather than a list of streams */
export function isHls(text: string): boolean {
  return /^\s*#EXTM3U/.test(text) && /#EXT-X-(TARGETDURATION|STREAM-INF|MEDIA-SEQUENCE|VERSION)/.test(text);
}

/** The http(s) URLs a playlist names, in order, resolved against where it came from; other schemes are left out. */
export function playlistEntries(kind: PlaylistKind, text: string, base: URL): string[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const raw: string[] = [];
  if (kind === 'pls') {
    const numbered: Array<{ n: number; url: string }> = [];
    for (const line of lines) {
      const m = /^File(\d+)\s*=\s*(.+)$/i.exec(line);
      if (m) numbered.push({ n: Number(m[1]), url: (m[2] ?? '').trim() });
    }
    raw.push(...numbered.sort((a, b) => a.n - b.n).map((e) => e.url));
  } else {
    raw.push(...lines.filter((l) => !l.startsWith('#')));
  }
  const out: string[] = [];
  for (const entry of raw) {
    try {
      const url = new URL(entry, base);
      if (url.protocol === 'http:' || url.protocol === 'https:') out.push(url.href);
    } catch {
      /* not a URL: skipped */
    }
  }
  return out;
}
