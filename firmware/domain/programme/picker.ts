// Picking: which of the playlists on the air plays the next song, and which track of a
// list comes next in its order. Both keep their whole memory in small plain objects
// (credits, cursors, the play history) that the scheduler saves, so a box that loses
// power resumes mid-rotation.

import type { Track } from '../../library/track.ts';
import type { Order } from './model.ts';
import { SeededRandom } from './random.ts';
import type { TrackList } from './sources.ts';

/** Where a list's order stands. */
export interface Cursor {
  /** sequential: the index to play next; shuffle: the position in the current permutation */
  position: number;
  /** the track played last from this list: sequential order goes on after it even when the list changed */
  lastId: string | null;
  /** shuffle: the seed of the current permutation, 0 before the first */
  seed: number;
}

export interface PlayedSong {
  id: string;
  at: number;
}

export const newCursor = (): Cursor => ({ position: 0, lastId: null, seed: 0 });

/**
 * Smooth weighted round robin: every playlist on the air earns its weight in credit
 * at each pick, the richest plays and pays the total. Over any run each playlist gets
 * its share of the songs to within one song, and a playlist of weight w among a total
 * W waits at most about W / w songs — where drawing at random by weight lets a
 * weight-1 playlist beside a weight-9 one go unplayed for 50 songs once in 200 such
 * runs. `open` is in configuration order, which breaks ties; credits of playlists that
 * are not on the air are dropped.
 */
export function chooseWeighted<Entry extends { id: string; weight: number }>(open: readonly Entry[], credits: Map<string, number>): Entry | null {
  let best: Entry | null = null;
  let bestCredit = -Infinity;
  let total = 0;
  for (const entry of open) {
    const credit = (credits.get(entry.id) ?? 0) + entry.weight;
    credits.set(entry.id, credit);
    total += entry.weight;
    if (credit > bestCredit) [best, bestCredit] = [entry, credit];
  }
  const openIds = new Set(open.map((entry) => entry.id));
  for (const id of [...credits.keys()]) if (!openIds.has(id)) credits.delete(id);
  if (best) credits.set(best.id, bestCredit - total);
  return best;
}

// A permutation per (list, seed), kept while the list lives: a shuffle is computed once per cycle.
const permutations = new WeakMap<TrackList, Map<number, Uint32Array>>();

function permutation(list: TrackList, seed: number): Uint32Array {
  const bySeed = permutations.get(list) ?? new Map<number, Uint32Array>();
  permutations.set(list, bySeed);
  const known = bySeed.get(seed);
  if (known) return known;
  const order = Uint32Array.from(list.tracks.keys());
  const random = new SeededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const swap = order[i] ?? 0;
    order[i] = order[j] ?? 0;
    order[j] = swap;
  }
  if (bySeed.size >= 4) bySeed.clear(); // a scheduler and its planning copy need two at most
  bySeed.set(seed, order);
  return order;
}

function pickShuffled(list: TrackList, cursor: Cursor, random: SeededRandom): Track | undefined {
  const count = list.tracks.length;
  if (cursor.seed === 0 || cursor.position >= count) {
    // a new cycle; one that would start with the track that just ended gets another seed
    for (let attempt = 0; attempt < 8; attempt++) {
      cursor.seed = random.word() || 1;
      const first = list.tracks[permutation(list, cursor.seed)[0] ?? 0];
      if (count < 2 || first?.id !== cursor.lastId) break;
    }
    cursor.position = 0;
  }
  return list.tracks[permutation(list, cursor.seed)[cursor.position++] ?? 0];
}

function pickSequential(list: TrackList, cursor: Cursor): Track | undefined {
  const last = cursor.lastId === null ? undefined : list.indexOf.get(cursor.lastId);
  const index = (last !== undefined ? last + 1 : Math.max(0, cursor.position)) % list.tracks.length;
  cursor.position = index + 1;
  return list.tracks[index];
}

/** Ids played within the last `songs` songs or the last `ms` before `now`. */
export function recentlyPlayed(history: readonly PlayedSong[], noRepeat: { songs: number; ms: number }, now: number): Set<string> {
  const recent = new Set<string>();
  for (let i = history.length - 1, count = 0; i >= 0; i--, count++) {
    const played = history[i];
    if (!played) break;
    const bySongs = count < noRepeat.songs;
    const byTime = noRepeat.ms > 0 && now - played.at < noRepeat.ms;
    if (!bySongs && !byTime) break; // the history is in time order: older ones are out of both windows
    recent.add(played.id);
  }
  return recent;
}

/** Order random: any track outside the no-repeat window; when every track is in it, the one played longest ago. */
function pickRandom(
  list: TrackList,
  random: SeededRandom,
  noRepeat: { songs: number; ms: number },
  history: readonly PlayedSong[],
  now: number,
): { track?: Track; repeated: boolean } {
  const recent = recentlyPlayed(history, noRepeat, now);
  const fresh = recent.size === 0 ? list.tracks : list.tracks.filter((track) => !recent.has(track.id));
  if (fresh.length > 0) return { track: fresh[random.below(fresh.length)], repeated: false };
  const lastPlayed = new Map<string, number>();
  history.forEach((played, index) => {
    lastPlayed.set(played.id, index);
  });
  let oldest: Track | undefined;
  for (const track of list.tracks) if (!oldest || (lastPlayed.get(track.id) ?? -1) < (lastPlayed.get(oldest.id) ?? -1)) oldest = track;
  return { track: oldest, repeated: true };
}

export interface Picked {
  track: Track;
  /** order random: every track was inside the no-repeat window, so one had to repeat */
  repeated: boolean;
}

/** The next track of `list` in `order`, moving `cursor` on; null for an empty list. */
export function pickTrack(
  list: TrackList,
  order: Order,
  cursor: Cursor,
  random: SeededRandom,
  noRepeat: { songs: number; ms: number },
  history: readonly PlayedSong[],
  now: number,
): Picked | null {
  if (list.tracks.length === 0) return null;
  let picked: { track?: Track; repeated: boolean };
  if (order === 'sequential') picked = { track: pickSequential(list, cursor), repeated: false };
  else if (order === 'shuffle') picked = { track: pickShuffled(list, cursor, random), repeated: false };
  else picked = pickRandom(list, random, noRepeat, history, now);
  if (!picked.track) return null;
  cursor.lastId = picked.track.id;
  return { track: picked.track, repeated: picked.repeated };
}
