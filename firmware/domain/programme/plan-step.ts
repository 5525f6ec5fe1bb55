// What Playback asks of a programme and what it gets back: the one meeting point of
// domain/playback.ts and programme-runner.ts, so that neither imports the other.

import type { Track } from '../../library/track.ts';
import type { InterstitialKind } from './model.ts';

/** what Playback plays next, and as what */
export type PlanStep =
  | { kind: 'song' | InterstitialKind; track: Track; playlist: string | null; cut: { at: number; fadeMs: number; because: 'interstitial' | 'closing' | 'duration' } | null }
  /** nothing now (closed, or nothing to play); Playback tries again at `until` */
  | { kind: 'silence'; until: number | null; reason: string };

/** the part of a programme Playback asks (ProgrammeRunner implements it) */
export interface ProgrammeSteps {
  /** false while the box runs no programme: Playback plays its queue */
  active(): boolean;
  next(at: number): PlanStep;
  maxVolume(): number;
}
