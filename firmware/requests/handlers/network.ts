// stations / servers: the owner lists, adds or removes radio stations and music servers
// (domain/network-sources.ts keeps them, checks each entry like the config file, stores
// the change before the reply says ok, and never shows a password or API key).
import { ClientError } from '../../domain/client-error.ts';
import type { NetworkKind } from '../../domain/network-sources.ts';
import type { Handler } from '../context.ts';

function listHandler(kind: NetworkKind): Handler {
  return async (ctx, body) => {
    const network = ctx.box.network;
    if (!network) throw new ClientError(`this box cannot change its ${kind}`);
    const { action, ...entry } = body;
    const fields = Object.keys(entry);
    if (action === 'list') {
      if (fields.length > 0) throw new ClientError(`'list' takes no other field (got ${fields.join(', ')})`);
      return { status: 'ok', data: { [kind]: network.list(kind) } };
    }
    if (typeof entry.name !== 'string') throw new ClientError(`'${String(action)}' needs the 'name' of the ${kind === 'stations' ? 'station' : 'server'}`);
    if (action === 'remove') {
      if (fields.length > 1) throw new ClientError(`'remove' takes only 'name' (got ${fields.join(', ')})`);
      await network.remove(kind, entry.name);
      return { status: 'ok', data: { removed: entry.name, [kind]: network.list(kind) } };
    }
    return { status: 'ok', data: await network.add(kind, entry) };
  };
}

export const stations = listHandler('stations');
export const servers = listHandler('servers');
