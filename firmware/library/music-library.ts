// The box's library made of backends: its own files (LibraryIndex) and the music
// servers of config `servers` (SubsonicServer). A search asks every backend at once;
// each server has its own time limit (about a second), so a slow or dead server never
// holds up the answer: what is reachable in time is merged, and the servers that did
// not answer are named. Ranking: every server's songs are scored by the same rules as
// the box's own (search.ts) for the same query, so scores compare; on a tie the box's
// own copy comes first. Songs a search found on a server are remembered (a bounded
// cache), so a later `play` by id, the queue and now-playing know them.

import { readFileSync } from 'node:fs';
import { LibraryIndex } from './search.ts';
import { SubsonicServer } from './subsonic-client.ts';
import type { Track } from './track.ts';

/** a search result: the track, its score (comparable within one query) and where it lives ('box' or a server's name) */
export interface LocatedHit {
  track: Track;
  score: number;
  where: string;
}
export interface FindResult {
  hits: LocatedHit[];
  unreachable: Array<{ server: string; error: string }>;
}

export const ON_THE_BOX = 'box';
const DEFAULT_CACHE = 5000;
/** the most songs a programme entry takes from one call to a server (getSongsByGenre's own maximum) */
const SERVER_SONGS_MAX = 500;

export interface MusicLibraryOptions {
  local: LibraryIndex;
  servers?: SubsonicServer[];
  /** how many server songs are remembered (default 5000) */
  cacheSize?: number;
}

export class MusicLibrary {
  readonly local: LibraryIndex;
  private serverList: SubsonicServer[] = [];
  private readonly remote = new Map<string, Track>(); // insertion order = least recently found first
  private readonly cacheSize: number;

  constructor(options: MusicLibraryOptions) {
    this.local = options.local;
    this.cacheSize = options.cacheSize ?? DEFAULT_CACHE;
    this.setServers(options.servers ?? []);
  }

  get servers(): readonly SubsonicServer[] {
    return this.serverList;
  }

  /** The servers searched from now on (the owner added or removed one); a search under way keeps the ones it asked. */
  setServers(servers: SubsonicServer[]): void {
    const names = new Set<string>();
    for (const s of servers) {
      if (names.has(s.name) || s.name === ON_THE_BOX) throw new RangeError(`server name '${s.name}' is used twice (or is '${ON_THE_BOX}'): each server needs its own name`);
      names.add(s.name);
    }
    this.serverList = [...servers];
  }

  /** Server tracks the box saved (a queue across a restart): known again by id, so the queue keeps them. */
  rememberAll(tracks: Track[]): void {
    for (const track of tracks) if (track.server) this.remember(track);
  }

  get(id: string): Track | undefined {
    return this.local.get(id) ?? this.remote.get(id);
  }

  /** the box's own tracks (what the queue loops over when it runs out) */
  all(): Track[] {
    return this.local.all();
  }

  get size(): number {
    return this.local.size;
  }

  /** `url` with the named server's credentials (for the URL source, at the moment of the request) */
  authorize(server: string, url: URL): URL {
    const s = this.servers.find((x) => x.name === server);
    if (!s) throw new Error(`no music server named '${server}' (config servers)`);
    return s.authorize(url);
  }

  /** the cover art of a server's song the box knows (null: none, or not a server's song) */
  async coverArt(id: string): Promise<{ data: Uint8Array; type: string } | null> {
    const track = this.remote.get(id);
    const server = track && this.servers.find((s) => s.name === track.server);
    return server && track.coverId ? server.coverArt(track.coverId) : null;
  }

  /** Searches the box and every server; each server gets its own time limit. */
  async find(query: string, limit = 10): Promise<FindResult> {
    const local: LocatedHit[] = this.local.search(query, limit).map((h) => ({ ...h, where: ON_THE_BOX }));
    const unreachable: FindResult['unreachable'] = [];
    const servers = this.serverList; // the owner may change the list while this search waits
    const answers = await Promise.all(
      servers.map(async (server) => {
        try {
          return { server, tracks: await withDeadline(server.search(query, limit, AbortSignal.timeout(server.timeoutMs)), server.timeoutMs + 100, server.name) };
        } catch (e) {
          unreachable.push({ server: server.name, error: (e as Error).message });
          return { server, tracks: [] as Track[] };
        }
      }),
    );
    const remote: LocatedHit[] = [];
    for (const { server, tracks } of answers) {
      const scored = new Map(new LibraryIndex(tracks).search(query, tracks.length || 1).map((h) => [h.track.id, h.score]));
      // a song the server matched on something we do not index (a genre, a comment) still counts, last
      for (const track of tracks) remote.push({ track, score: scored.get(track.id) ?? 0, where: server.name });
    }
    const order = new Map(servers.map((s, i) => [s.name, i + 1]));
    const hits = [...local, ...remote].sort((a, b) => b.score - a.score || (order.get(a.where) ?? 0) - (order.get(b.where) ?? 0)).slice(0, limit);
    for (const hit of hits) if (hit.where !== ON_THE_BOX) this.remember(hit.track);
    return { hits, unreachable };
  }

  /**
   * One server's songs for a programme entry: a search (search3) or a genre's songs
   * (getSongsByGenre), up to `limit`, within that server's time limit. Rejects naming the
   * server and why (unknown, unreachable, refused); the songs are remembered like a
   * search's, so the queue, now-playing and the play log know them.
   */
  async serverSongs(name: string, call: { search: string } | { genre: string }, limit = SERVER_SONGS_MAX): Promise<Track[]> {
    const server = this.serverList.find((s) => s.name === name);
    if (!server) throw new Error(`no music server named '${name}' (config servers, or added over MQTT)`);
    const signal = AbortSignal.timeout(server.timeoutMs);
    const asking = 'genre' in call ? server.songsByGenre(call.genre, limit, signal) : server.search(call.search, limit, signal);
    const tracks = await withDeadline(asking, server.timeoutMs + 100, server.name);
    for (const track of tracks) this.remember(track);
    return tracks;
  }

  private remember(track: Track): void {
    this.remote.delete(track.id);
    this.remote.set(track.id, track);
    while (this.remote.size > this.cacheSize) {
      const oldest = this.remote.keys().next().value;
      if (oldest === undefined) break;
      this.remote.delete(oldest);
    }
  }
}

/** rejects after ms even if the promise never settles (a body that trickles in) */
function withDeadline<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`server '${name}': no answer in time`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export interface ServerConfig {
  name: string;
  url: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  passwordEnv?: string;
  apiKey?: string;
  apiKeyFile?: string;
  apiKeyEnv?: string;
  timeoutMs?: number;
}

/** the keys of a server entry that hold or point at its secret (a list shows the file and variable names, never a value) */
export const SECRET_KEYS = ['password', 'apiKey'] as const;

/** The servers of config `servers`, each with its password or API key from the file, the environment or the config itself. */
export function openServers(configs: ServerConfig[], env: NodeJS.ProcessEnv = process.env, readFile = (p: string) => readFileSync(p, 'utf8')): SubsonicServer[] {
  return configs.map((c, i) => openServer(c, `config servers[${i}] ('${c.name}')`, env, readFile));
}

/** One server entry opened: its secret read from wherever the entry says; a RangeError/Error naming `where` and the problem otherwise. */
export function openServer(c: ServerConfig, where: string, env: NodeJS.ProcessEnv = process.env, readFile = (p: string) => readFileSync(p, 'utf8')): SubsonicServer {
  const password = [c.password, c.passwordFile, c.passwordEnv].filter((x) => x !== undefined).length;
  const apiKey = [c.apiKey, c.apiKeyFile, c.apiKeyEnv].filter((x) => x !== undefined).length;
  if (password + apiKey !== 1) throw new RangeError(`${where}: give exactly one of password, passwordFile, passwordEnv (with username) or one of apiKey, apiKeyFile, apiKeyEnv`);
  if (password === 1 && c.username === undefined) throw new RangeError(`${where}: a password needs a username`);
  if (apiKey === 1 && c.username !== undefined) throw new RangeError(`${where}: an API key goes without a username (OpenSubsonic refuses both at once)`);
  const secret = (kind: 'password' | 'apiKey', value: string | undefined, file: string | undefined, variable: string | undefined): string => {
    let found = value;
    if (file !== undefined) {
      try {
        found = readFile(file).split(/\r?\n/)[0] ?? '';
      } catch (e) {
        throw new Error(`${where}: cannot read ${kind}File ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    if (variable !== undefined) found = env[variable];
    if (!found)
      throw new RangeError(`${where}: the ${kind === 'apiKey' ? 'API key' : 'password'} is empty${variable !== undefined ? ` (environment variable ${variable} is not set)` : ''}`);
    return found;
  };
  const credentials =
    apiKey === 1
      ? { apiKey: secret('apiKey', c.apiKey, c.apiKeyFile, c.apiKeyEnv) }
      : { username: c.username, password: secret('password', c.password, c.passwordFile, c.passwordEnv) };
  return new SubsonicServer({ name: c.name, url: c.url, timeoutMs: c.timeoutMs, ...credentials });
}
