// The radio stations and music servers the box knows: those of the config file, plus
// what the owner added or removed over MQTT (the `stations` and `servers` requests,
// README.md "Radio and music servers"). The owner's changes are kept apart from the
// config file, in <stateDir>/network.json (written atomically, readable by the box's
// user only: it may hold a server's password), as additions and removals over the
// config's lists, so an edit of the file still shows while the owner's changes stay.
// An entry is checked by the config's own schema and rules before anything changes:
// a bad one is refused with the reason and nothing stored is touched. A change
// applies at once: a station is offered by name (`source`, Home Assistant's select),
// a server is searched from the next request on.
// Secrets never leave: `list` shows where a password or key comes from, never its value.

import { EventEmitter } from 'node:events';
import { checkListEntry } from '../config/config.ts';
import { ON_THE_BOX, openServer, openServers, type ServerConfig } from '../library/music-library.ts';
import type { SubsonicServer } from '../library/subsonic-client.ts';
import { StateStore } from '../util/state-store.ts';
import { check, type Schema } from '../wire/schema.ts';
import { SERVER_ENTRY_FIELDS } from '../wire/requests.ts';
import { ClientError } from './client-error.ts';

export interface Station {
  name: string;
  url: string;
}

/** what the owner changed over the config's lists (the saved file's shape) */
export interface NetworkChanges {
  version: 1;
  stations: Station[];
  servers: ServerConfig[];
  removed: { stations: string[]; servers: string[] };
}

export type NetworkKind = 'stations' | 'servers';

export interface NetworkSourcesOptions {
  configured: { stations: Station[]; servers: ServerConfig[] };
  /** the opened servers of the config file (opened at start, where a bad one stops the box) */
  configuredServers: SubsonicServer[];
  saved: NetworkChanges;
  /** stores the changes atomically; false when refused */
  save(changes: NetworkChanges): boolean;
  /** resolves once the last change is on disk */
  settled(): Promise<void>;
  /** the config's schema for one entry: null or the problems */
  checkEntry(kind: NetworkKind, entry: unknown): string | null;
  /** opens a server entry (reads its secret); throws naming `where` and the problem */
  openServer(entry: ServerConfig, where: string): SubsonicServer;
  log(level: 'info' | 'warn', msg: string, extra?: object): void;
}

export interface NetworkSourcesEvents {
  stations: [Station[]];
  servers: [SubsonicServer[]];
}

/** as many as the config schema allows */
const MAX = { stations: 64, servers: 8 } as const;
/** how long an added server gets to answer the box's check */
const PROBE_MS = 3000;

export const EMPTY_CHANGES: NetworkChanges = { version: 1, stations: [], servers: [], removed: { stations: [], servers: [] } };

export class NetworkSources extends EventEmitter<NetworkSourcesEvents> {
  private changes: NetworkChanges;
  /** the servers the owner added, opened (one that could not be opened is left out and was logged) */
  private readonly added = new Map<string, SubsonicServer>();

  constructor(private readonly options: NetworkSourcesOptions) {
    super();
    this.changes = structuredClone(options.saved);
    // an entry edited by hand into something the config would refuse is left out (and dropped at the next change)
    for (const kind of ['stations', 'servers'] as const) {
      const entries: Array<Station | ServerConfig> = this.changes[kind];
      const valid = entries.filter((entry) => {
        const problem = options.checkEntry(kind, entry);
        if (problem) options.log('warn', `a saved ${kind === 'stations' ? 'station' : 'server'} is not valid and is left out`, { name: entry.name, problem });
        return !problem;
      });
      if (kind === 'stations') this.changes.stations = valid as Station[];
      else this.changes.servers = valid as ServerConfig[];
    }
    for (const entry of this.changes.servers) {
      try {
        this.added.set(entry.name, options.openServer(entry, `server '${entry.name}' (added over MQTT)`));
      } catch (e) {
        options.log('warn', 'a music server the owner added cannot be used', { server: entry.name, error: (e as Error).message });
      }
    }
  }

  stations(): Station[] {
    const removed = new Set(this.changes.removed.stations);
    return [...this.options.configured.stations.filter((s) => !removed.has(s.name)), ...this.changes.stations];
  }

  servers(): SubsonicServer[] {
    const removed = new Set(this.changes.removed.servers);
    return [...this.options.configuredServers.filter((s) => !removed.has(s.name)), ...this.added.values()];
  }

  private entries(kind: NetworkKind): Array<{ entry: Station | ServerConfig; from: 'config' | 'owner' }> {
    const removed = new Set(this.changes.removed[kind]);
    const configured: Array<Station | ServerConfig> = this.options.configured[kind];
    const owner: Array<Station | ServerConfig> = this.changes[kind];
    return [...configured.filter((e) => !removed.has(e.name)).map((entry) => ({ entry, from: 'config' as const })), ...owner.map((entry) => ({ entry, from: 'owner' as const }))];
  }

  /** What the owner sees: each entry, where it comes from, and no secret (a password or key shows as hidden). */
  list(kind: NetworkKind): Array<Record<string, unknown>> {
    return this.entries(kind).map(({ entry, from }) => ({ ...redacted(entry), from }));
  }

  /** Adds a station or server; resolves once it is stored and applied. A server is asked whether it answers (reported, not required). */
  async add(kind: NetworkKind, entry: Record<string, unknown>): Promise<Record<string, unknown>> {
    const problem = this.options.checkEntry(kind, entry);
    const name = typeof entry.name === 'string' ? entry.name : '';
    const what = kind === 'stations' ? 'station' : 'server';
    if (problem) throw new ClientError(`${what} '${name}': ${problem}`);
    this.ensureRoom(kind, name);
    let reply: Record<string, unknown> = {};
    let server: SubsonicServer | null = null;
    if (kind === 'servers') {
      try {
        server = this.options.openServer(entry as unknown as ServerConfig, `server '${name}'`);
      } catch (e) {
        throw new ClientError((e as Error).message);
      }
      reply = await probe(server);
      this.ensureRoom(kind, name); // another request may have added one while the server was asked
    }
    const next = structuredClone(this.changes);
    if (kind === 'stations') next.stations.push(entry as unknown as Station);
    else next.servers.push(entry as unknown as ServerConfig);
    this.commit(next);
    if (server) this.added.set(name, server);
    this.announce(kind);
    await this.options.settled();
    this.options.log('info', `the owner added the ${what} '${name}'`);
    return { [what]: { ...redacted(entry as unknown as Station | ServerConfig), from: 'owner' }, ...reply };
  }

  private ensureRoom(kind: NetworkKind, name: string): void {
    const what = kind === 'stations' ? 'station' : 'server';
    const present = this.entries(kind);
    if (present.some((e) => e.entry.name === name) || (kind === 'servers' && name === ON_THE_BOX))
      throw new ClientError(`a ${what} named '${name}' exists already${name === ON_THE_BOX ? " ('box' names the box's own files)" : ''}: remove it first or pick another name`);
    if (present.length >= MAX[kind]) throw new ClientError(`the box holds at most ${MAX[kind]} ${kind}: remove one first`);
  }

  /** Removes a station or server by name (the config's too: it stays hidden until added again). */
  async remove(kind: NetworkKind, name: string): Promise<void> {
    const what = kind === 'stations' ? 'station' : 'server';
    const present = this.entries(kind);
    const found = present.find((e) => e.entry.name === name);
    if (!found) throw new ClientError(`no ${what} named '${name}'; the box has: ${present.map((e) => e.entry.name).join(', ') || 'none'}`);
    const next = structuredClone(this.changes);
    if (found.from === 'owner') {
      if (kind === 'stations') next.stations = next.stations.filter((s) => s.name !== name);
      else next.servers = next.servers.filter((s) => s.name !== name);
    } else next.removed[kind].push(name);
    this.commit(next);
    if (kind === 'servers') this.added.delete(name);
    this.announce(kind);
    await this.options.settled();
    this.options.log('info', `the owner removed the ${what} '${name}'`);
  }

  private commit(next: NetworkChanges): void {
    if (!this.options.save(next)) throw new Error('the change could not be stored; nothing changed');
    this.changes = next;
  }

  private announce(kind: NetworkKind): void {
    if (kind === 'stations') this.emit('stations', this.stations());
    else this.emit('servers', this.servers());
  }
}

/** an entry as shown: secrets hidden, a URL's user:password left out */
function redacted(entry: Station | ServerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...entry, url: withoutUserInfo(entry.url) };
  if ('password' in out) out.password = '(hidden)';
  if ('apiKey' in out) out.apiKey = '(hidden)';
  return out;
}

function withoutUserInfo(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}

/**
 * Whether a server just added answers and takes its credentials; an API key is used
 * only with a server that lists the `apiKeyAuthentication` extension, so a server that
 * answers without it is refused at once with that reason. An unreachable server is
 * still added (it may be switched off now) and the reply says so.
 */
async function probe(server: SubsonicServer): Promise<Record<string, unknown>> {
  try {
    if (server.auth === 'apiKey') {
      const extensions = await server.extensions(AbortSignal.timeout(PROBE_MS));
      if (!extensions.includes('apiKeyAuthentication'))
        throw new ClientError(
          `server '${server.name}' does not offer API keys (its getOpenSubsonicExtensions lists no 'apiKeyAuthentication'): give username and password instead`,
        );
    }
    await server.ping(AbortSignal.timeout(PROBE_MS));
    return { reachable: true };
  } catch (e) {
    if (e instanceof ClientError) throw e;
    return { reachable: false, error: (e as Error).message };
  }
}

const text = (max: number): Schema => ({ type: 'string', min: 1, max });

/** the saved file's shape (util/state-store.ts checks it at load and before every write; each entry is checked again by the config's schema) */
export const networkChangesSchema: Schema = {
  type: 'object',
  required: ['version', 'stations', 'servers', 'removed'],
  fields: {
    version: { type: 'literal', value: 1 },
    stations: { type: 'array', maxItems: MAX.stations, items: { type: 'object', required: ['name', 'url'], fields: { name: text(64), url: text(2000) } } },
    servers: {
      type: 'array',
      maxItems: MAX.servers,
      items: {
        type: 'object',
        required: ['name', 'url'],
        fields: SERVER_ENTRY_FIELDS,
      },
    },
    removed: {
      type: 'object',
      required: ['stations', 'servers'],
      fields: { stations: { type: 'array', maxItems: 1000, items: text(64) }, servers: { type: 'array', maxItems: 1000, items: text(64) } },
    },
  },
};

/**
 * The box's stations and servers: the config's (a bad server there stops the start, as
 * before) and the owner's changes from <stateDir>/network.json (0600: it may hold a
 * password). An unreadable file is set aside and reported, and the config's lists hold.
 */
export function openNetworkSources(
  config: { stateDir: string; stations: Station[]; servers: ServerConfig[] },
  log: (level: 'info' | 'warn', msg: string, extra?: object) => void,
): NetworkSources {
  const store = new StateStore<NetworkChanges>(
    config.stateDir,
    'network',
    (v) => {
      const checked = check<NetworkChanges>(networkChangesSchema, v);
      return checked.ok ? checked.value : null;
    },
    (message) => log('warn', message),
    0o600,
  );
  return new NetworkSources({
    configured: { stations: config.stations, servers: config.servers },
    configuredServers: openServers(config.servers),
    saved: store.load(EMPTY_CHANGES),
    save: (changes) => store.save(changes),
    settled: () => store.settled(),
    checkEntry: checkListEntry,
    openServer: (entry, where) => openServer(entry, where),
    log,
  });
}
