// What may be shown to everybody, and the shape of what the box saves.
// The Wi-Fi group's passphrase is secret: it would undo the push-button pairing.
// Public `state` and `status` replies carry the radio's state without it; the
// owner reads the whole state on `nearcast/<boxId>/owner/wifi` (owner-only).

import type { Schema } from '../wire/schema.ts';

export function publicWifi(state: unknown): unknown {
  if (!state || typeof state !== 'object') return state;
  const s = state as { group?: unknown };
  if (!s.group || typeof s.group !== 'object') return state;
  const { passphrase: _secret, ...group } = s.group as Record<string, unknown>;
  return { ...state, group };
}

/** the saved playback state (util/state-store.ts validates with it before every write and at load) */
export const persistedSchema: Schema = {
  type: 'object',
  required: ['volume'],
  fields: {
    volume: { type: 'integer', min: 0, max: 100 },
    queue: {
      type: 'object',
      required: ['version', 'items', 'index', 'repeat'],
      fields: {
        version: { type: 'literal', value: 1 },
        items: { type: 'array', maxItems: 10_000, items: { type: 'string', min: 1, max: 4096 } },
        index: { type: 'integer', min: -1, max: 10_000 },
        repeat: { type: 'string', max: 8, enum: ['all', 'none'] },
      },
    },
    // a music server's tracks in the queue, whole: after a restart the box knows them only from here
    remote: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        required: ['id', 'path', 'title', 'artist', 'album', 'durationMs', 'fileName', 'hasArtwork', 'server', 'remoteId'],
        fields: {
          id: { type: 'string', min: 1, max: 64 },
          path: { type: 'string', min: 1, max: 4096 },
          title: { type: 'string', max: 1000 },
          artist: { type: 'string', max: 1000 },
          album: { type: 'string', max: 1000 },
          durationMs: { type: 'integer', min: 0, max: 864_000_000 },
          fileName: { type: 'string', max: 2000 },
          hasArtwork: { type: 'boolean' },
          server: { type: 'string', min: 1, max: 64 },
          remoteId: { type: 'string', min: 1, max: 1000 },
          coverId: { type: 'string', min: 1, max: 1000 },
        },
      },
    },
    // where the playing track was (saved every few seconds): a restarted box continues it there
    position: {
      type: 'object',
      required: ['trackId', 'ms'],
      fields: {
        trackId: { type: 'string', min: 1, max: 4096 },
        ms: { type: 'integer', min: 0, max: 86_400_000 },
      },
    },
  },
};
