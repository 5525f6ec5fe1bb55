// What the scheduler remembers between songs, and its saved form. Saved with the box's
// other state (util/state-store.ts, README.md "Reliability") after each pick, it lets
// the box resume after a power cut where it was: the same place in sequential and
// shuffled playlists, the same no-repeat history, the same counts towards the next
// jingle, the same random sequence. A saved state is checked with the one validator for
// outside data (wire/schema.ts); entries for playlists and rules the programme no
// longer has are dropped.

import { check, type Schema } from '../../wire/schema.ts';
import { LAST_INSTANT } from './calendar.ts';
import type { Cursor, PlayedSong } from './picker.ts';
import { SeededRandom, type RandomState } from './random.ts';

/** At most this many songs are remembered for no-repeat windows (and saved). */
export const HISTORY_LIMIT = 1000;

export interface RuleState {
  /** songs since the rule last fired */
  songs: number;
  lastFiredAt: number | null;
  /** every-minutes rules count from here until they first fire (start, or reopening) */
  armedAt: number | null;
  /** fixed-time rules: the occurrence last played or skipped */
  lastSlot: number | null;
}

export interface LiveState {
  random: SeededRandom;
  /** weighted rotation credits by playlist id */
  credits: Map<string, number>;
  /** by list: 'playlist:<id>', 'rule:<id>', 'library' */
  cursors: Map<string, Cursor>;
  /** songs (not interstitials) in the order they started, oldest first */
  history: PlayedSong[];
  rules: Map<string, RuleState>;
  /** planned end of the last interstitial, for the minimum gap */
  lastInterstitialEnd: number | null;
  /** the last answer was silence (closed): minute rules start counting again at reopening */
  silent: boolean;
}

export interface SavedState {
  version: 1;
  random: number[];
  credits: Array<{ playlist: string; credit: number }>;
  cursors: Array<{ list: string; position: number; lastId?: string; seed: number }>;
  history: PlayedSong[];
  rules: Array<{ rule: string; songs: number; lastFiredAt?: number; armedAt?: number; lastSlot?: number }>;
  lastInterstitialEnd?: number;
  silent: boolean;
}

const INSTANT: Schema = { type: 'number', min: 0, max: LAST_INSTANT };
const WORD: Schema = { type: 'integer', min: 0, max: 0xffff_ffff };
const NAME: Schema = { type: 'string', min: 1, max: 80 };

export const SAVED_STATE_SCHEMA: Schema = {
  type: 'object',
  required: ['version', 'random', 'credits', 'cursors', 'history', 'rules', 'silent'],
  fields: {
    version: { type: 'literal', value: 1 },
    random: { type: 'array', items: WORD, maxItems: 4 },
    credits: {
      type: 'array',
      maxItems: 64,
      items: { type: 'object', required: ['playlist', 'credit'], fields: { playlist: NAME, credit: { type: 'integer', min: -1e7, max: 1e7 } } },
    },
    cursors: {
      type: 'array',
      maxItems: 256,
      items: { type: 'object', required: ['list', 'position', 'seed'], fields: { list: NAME, position: { type: 'integer', min: 0, max: 1e7 }, lastId: NAME, seed: WORD } },
    },
    history: { type: 'array', maxItems: HISTORY_LIMIT, items: { type: 'object', required: ['id', 'at'], fields: { id: NAME, at: INSTANT } } },
    rules: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        required: ['rule', 'songs'],
        fields: { rule: NAME, songs: { type: 'integer', min: 0, max: 1e9 }, lastFiredAt: INSTANT, armedAt: INSTANT, lastSlot: INSTANT },
      },
    },
    lastInterstitialEnd: INSTANT,
    silent: { type: 'boolean' },
  },
};

export function freshState(seed: number): LiveState {
  return { random: new SeededRandom(seed), credits: new Map(), cursors: new Map(), history: [], rules: new Map(), lastInterstitialEnd: null, silent: false };
}

/** Adds a song to the history, keeping what the largest no-repeat window needs (and at most HISTORY_LIMIT). */
export function rememberSong(state: LiveState, id: string, now: number, keep: { songs: number; ms: number }): void {
  state.history.push({ id, at: now });
  let keepFrom = Math.max(0, state.history.length - HISTORY_LIMIT);
  while (keepFrom < state.history.length - keep.songs && now - (state.history[keepFrom]?.at ?? now) >= keep.ms) keepFrom++;
  if (keepFrom > 0) state.history.splice(0, keepFrom);
}

export function copyState(state: LiveState): LiveState {
  return {
    random: state.random.copy(),
    credits: new Map(state.credits),
    cursors: new Map([...state.cursors].map(([list, cursor]) => [list, { ...cursor }])),
    history: [...state.history],
    rules: new Map([...state.rules].map(([rule, ruleState]) => [rule, { ...ruleState }])),
    lastInterstitialEnd: state.lastInterstitialEnd,
    silent: state.silent,
  };
}

export function saveState(state: LiveState): SavedState {
  const saved: SavedState = {
    version: 1,
    random: state.random.state(),
    credits: [...state.credits].map(([playlist, credit]) => ({ playlist, credit })),
    cursors: [...state.cursors].map(([list, cursor]) => {
      const entry: SavedState['cursors'][number] = { list, position: cursor.position, seed: cursor.seed };
      if (cursor.lastId !== null) entry.lastId = cursor.lastId;
      return entry;
    }),
    history: state.history.map((played) => ({ ...played })),
    rules: [...state.rules].map(([rule, ruleState]) => {
      const entry: SavedState['rules'][number] = { rule, songs: ruleState.songs };
      if (ruleState.lastFiredAt !== null) entry.lastFiredAt = ruleState.lastFiredAt;
      if (ruleState.armedAt !== null) entry.armedAt = ruleState.armedAt;
      if (ruleState.lastSlot !== null) entry.lastSlot = ruleState.lastSlot;
      return entry;
    }),
    silent: state.silent,
  };
  if (state.lastInterstitialEnd !== null) saved.lastInterstitialEnd = state.lastInterstitialEnd;
  return saved;
}

/** A saved state back in memory, keeping only what the programme still has; an error message when it is not one. */
export function restoreState(saved: unknown, known: { playlists: ReadonlySet<string>; rules: ReadonlySet<string> }): LiveState | string {
  const checked = check<SavedState>(SAVED_STATE_SCHEMA, saved, 'the programme state');
  if (!checked.ok) return checked.error;
  const value = checked.value;
  if (value.random.length !== 4) return `field 'random' must hold 4 words, got ${value.random.length}`;
  const listKnown = (list: string) =>
    list === 'library' || (list.startsWith('playlist:') && known.playlists.has(list.slice(9))) || (list.startsWith('rule:') && known.rules.has(list.slice(5)));
  return {
    random: SeededRandom.restore(value.random as RandomState),
    credits: new Map(value.credits.filter((entry) => known.playlists.has(entry.playlist)).map((entry) => [entry.playlist, entry.credit])),
    cursors: new Map(
      value.cursors.filter((entry) => listKnown(entry.list)).map((entry) => [entry.list, { position: entry.position, lastId: entry.lastId ?? null, seed: entry.seed }]),
    ),
    history: [...value.history].sort((a, b) => a.at - b.at),
    rules: new Map(
      value.rules
        .filter((entry) => known.rules.has(entry.rule))
        .map((entry) => [
          entry.rule,
          {
            songs: entry.songs,
            lastFiredAt: entry.lastFiredAt ?? null,
            armedAt: entry.armedAt ?? null,
            lastSlot: entry.lastSlot ?? null,
          },
        ]),
    ),
    lastInterstitialEnd: value.lastInterstitialEnd ?? null,
    silent: value.silent,
  };
}
