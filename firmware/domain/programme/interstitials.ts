// When jingles, ads and news are due. Rules are only ever asked at a song boundary, so
// an every-N-songs or every-N-minutes rule that comes due mid-song simply waits for the
// song to end. Fixed times ("12:00", minute 0 of every hour) are appointments: they
// wait for the boundary too unless the rule says `interrupt: fade`, in which case the
// scheduler cuts the song at the appointed instant (firstInterrupt below); they do not
// wait for the minimum gap between interstitials, and one that comes too late (the box
// was closed, off, or a long song ran over by more than lateMinutes) is skipped.

import { formatClockTime, DAY_MS, HOUR_MS, type WallTime, type ZoneClock } from './calendar.ts';
import { triggerMinutes, type InterstitialRule } from './model.ts';
import type { RuleState } from './state.ts';
import { firstWindowAt, readings } from './windows.ts';

export interface DueRule {
  rule: InterstitialRule;
  /** fixed-time rules: the occurrence this plays for */
  slot: number | null;
  why: string;
}

export interface Skipped {
  rule: InterstitialRule;
  slot: number;
  lateMs: number;
}

export function stateOf(states: Map<string, RuleState>, rule: InterstitialRule): RuleState {
  const known = states.get(rule.id);
  if (known) return known;
  const state: RuleState = { songs: 0, lastFiredAt: null, armedAt: null, lastSlot: null };
  states.set(rule.id, state);
  return state;
}

export const isFixedTime = (rule: InterstitialRule) => rule.trigger.type === 'daily' || rule.trigger.type === 'hourly';

/** "2 min 5 s" */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
}

export function describeTrigger(rule: InterstitialRule): string {
  const trigger = rule.trigger;
  switch (trigger.type) {
    case 'songs':
      return `every ${trigger.count} song${trigger.count === 1 ? '' : 's'}`;
    case 'minutes':
      return `every ${formatDuration(trigger.ms)}`;
    case 'daily':
      return `daily at ${trigger.minutes.map(formatClockTime).join(', ')}`;
    case 'hourly':
      return `at minute ${trigger.minute} of every hour`;
  }
}

/**
 * The instants in (after, until] at which a fixed-time rule falls due. A daily time
 * falls due once, when the wall clock first shows it (or jumps past it); minute M of
 * every hour falls due in every real hour, twice in the hour the clock is set back.
 */
export function occurrences(clock: ZoneClock, rule: InterstitialRule, after: number, until: number): number[] {
  const found = readings(clock, triggerMinutes(rule.trigger), after, until);
  if (rule.trigger.type === 'hourly') return found.map((reading) => reading.instant);
  return found.filter((reading) => reading.instant === clock.firstInstantAt(reading.localMs)).map((reading) => reading.instant);
}

/**
 * The next occurrence of a fixed-time rule after an instant, remembered: at nearly
 * every song boundary the question is "has the slot after the last one come yet?",
 * asked with the same last slot, and a plan on a copy of the state asks it again.
 */
export class Slots {
  private readonly known = new Map<string, number | null>();

  constructor(readonly clock: ZoneClock) {}

  /** The first occurrence after `instant`, null when there is none within two days (a rule whose times were all skipped). */
  after(rule: InterstitialRule, instant: number): number | null {
    const key = `${rule.id}@${instant}`;
    let next = this.known.get(key);
    if (next === undefined) {
      // most rules recur within hours: look three hours ahead before looking two days ahead
      next = occurrences(this.clock, rule, instant, instant + 3 * HOUR_MS)[0] ?? occurrences(this.clock, rule, instant + 3 * HOUR_MS, instant + 2 * DAY_MS)[0] ?? null;
      if (this.known.size >= 10_000) this.known.clear();
      this.known.set(key, next);
    }
    return next;
  }
}

export interface DueContext {
  slots: Slots;
  wall: WallTime;
  minGapMs: number;
  lastInterstitialEnd: number | null;
}

/**
 * The rules due at the song boundary `at`, highest priority first (configuration order
 * breaks ties), and the fixed-time occurrences that came too late to play. Arms the
 * every-minutes rules that had no starting point yet; a fixed-time rule seen for the
 * first time plays an occurrence only if it is not yet late.
 */
export function dueRules(rules: readonly InterstitialRule[], states: Map<string, RuleState>, at: number, context: DueContext): { due: DueRule[]; skipped: Skipped[] } {
  const due: DueRule[] = [];
  const skipped: Skipped[] = [];
  // the item asked for at `at` starts after the interstitial before it ended: one that ended sooner than
  // planned (an item from a URL, whose length is known only once fetched) ended at `at` at the latest
  const gapKept = context.lastInterstitialEnd === null || at - Math.min(context.lastInterstitialEnd, at) >= context.minGapMs;
  for (const rule of rules) {
    const state = stateOf(states, rule);
    const inWindows = rule.windows.length === 0 || firstWindowAt(rule.windows, context.wall) !== -1;
    const trigger = rule.trigger;
    if (trigger.type === 'songs') {
      if (inWindows && state.songs >= trigger.count && gapKept) due.push({ rule, slot: null, why: `${describeTrigger(rule)} (${state.songs} since it last played)` });
    } else if (trigger.type === 'minutes') {
      const since = state.lastFiredAt ?? state.armedAt;
      if (since === null) state.armedAt = at;
      else if (inWindows && at - since >= trigger.ms && gapKept) {
        due.push({ rule, slot: null, why: `${describeTrigger(rule)} (${formatDuration(at - since)} since ${state.lastFiredAt === null ? 'the start' : 'it last played'})` });
      }
    } else {
      state.lastSlot ??= at - rule.lateMs - 1;
      const next = context.slots.after(rule, state.lastSlot);
      if (next === null || next > at) continue;
      // one occurrence or more has come since the last: the latest one decides
      const slot = occurrences(context.slots.clock, rule, Math.max(state.lastSlot, at - DAY_MS), at).at(-1) ?? next;
      const delay = at - slot;
      if (!inWindows)
        state.lastSlot = slot; // out of its windows: passes unplayed and unreported
      else if (delay <= rule.lateMs) due.push({ rule, slot, why: `${describeTrigger(rule)} (due ${delay < 1000 ? 'now' : `${formatDuration(delay)} ago`})` });
      else skipped.push({ rule, slot, lateMs: delay });
    }
  }
  due.sort((a, b) => b.rule.priority - a.rule.priority || rules.indexOf(a.rule) - rules.indexOf(b.rule));
  return { due, skipped };
}

/**
 * The first instant in (from, to) at which an `interrupt: fade` rule falls due, for an
 * item planned over that stretch: the item fades out to end there. Rules whose windows
 * are shut at that instant do not interrupt.
 */
export function firstInterrupt(
  rules: readonly InterstitialRule[],
  states: Map<string, RuleState>,
  slots: Slots,
  from: number,
  to: number,
): { at: number; rule: InterstitialRule } | null {
  let first: { at: number; rule: InterstitialRule } | null = null;
  for (const rule of rules) {
    if (!rule.interrupt || !isFixedTime(rule)) continue;
    // from the last slot (a question already answered) on to the first one after `from`
    let slot = slots.after(rule, states.get(rule.id)?.lastSlot ?? from);
    for (let step = 0; slot !== null && slot <= from && step < 4; step++) slot = slots.after(rule, slot);
    if (slot !== null && slot <= from) slot = slots.after(rule, from);
    if (slot === null || slot >= to || (first && slot > first.at)) continue;
    if (rule.windows.length > 0 && firstWindowAt(rule.windows, slots.clock.wall(slot)) === -1) continue;
    if (!first || slot < first.at || rule.priority > first.rule.priority) first = { at: slot, rule };
  }
  return first;
}

/** Records that a rule fired at `at` (for the fixed-time occurrence `slot`). */
export function markFired(state: RuleState, at: number, slot: number | null): void {
  state.songs = 0;
  state.lastFiredAt = at;
  if (slot !== null) state.lastSlot = slot;
}
