// Where the box's programme comes from: the configuration's `programme` section, or the
// one the owner sent over MQTT (`set-programme`, firmware/wire/PROTOCOL.md), which is
// kept next to the box's other state so that it survives a restart and wins over the
// configuration's until another one is sent. A programme is checked in full — the
// configuration schema for the section, then everything validate.ts checks — before it
// is written (atomically) and before it is applied, so a bad one never replaces a good
// one, on disk or on the air.

import fs from 'node:fs';
import path from 'node:path';
import { checkSection } from '../../config/config.ts';
import { writeAtomic } from '../../util/state-store.ts';
import type { Programme, ProgrammeConfig } from './model.ts';
import { compileProgramme } from './validate.ts';

export type CheckedProgramme = { ok: true; config: ProgrammeConfig; programme: Programme | null } | { ok: false; errors: string[] };

/** where the box's programme came from */
export type ProgrammeOrigin = { from: 'config' } | { from: 'set'; setAt: string };

/** A programme section that names nothing to schedule: the box plays its queue as it does without one. */
export function isEmptyProgramme(config: ProgrammeConfig): boolean {
  return config.playlists.length === 0 && config.interstitials.length === 0 && config.openingHours.length === 0 && config.closures.length === 0;
}

/** Checks a `programme` section given on its own: schema (defaults filled in), then the compiler; every problem with its path. */
export function checkProgramme(section: unknown): CheckedProgramme {
  const checked = checkSection('programme', section);
  if (!checked.ok) return checked;
  if (isEmptyProgramme(checked.value)) return { ok: true, config: checked.value, programme: null };
  const compiled = compileProgramme(checked.value);
  return compiled.ok ? { ok: true, config: checked.value, programme: compiled.programme } : { ok: false, errors: compiled.errors };
}

interface SavedProgramme {
  setAt: string;
  programme: unknown;
}

export class ProgrammeStore {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly log: (level: 'info' | 'warn', msg: string, extra?: object) => void,
  ) {
    this.file = path.join(stateDir, 'programme-set.json');
  }

  /**
   * The programme the box starts with: the one set over MQTT when there is one and it
   * still passes the checks (a newer box may check more), else the configuration's.
   * A configuration programme with problems throws, naming each with its path.
   */
  initial(config: ProgrammeConfig): { programme: Programme | null; origin: ProgrammeOrigin } {
    const saved = this.read();
    if (saved) {
      const checked = checkProgramme(saved.programme);
      if (checked.ok) {
        this.log('info', 'playing the programme set over MQTT (it replaces the configuration section `programme`)', { setAt: saved.setAt });
        return { programme: checked.programme, origin: { from: 'set', setAt: saved.setAt } };
      }
      this.setAside(`it no longer passes the checks: ${checked.errors.join('; ')}`);
    }
    if (isEmptyProgramme(config)) return { programme: null, origin: { from: 'config' } };
    const compiled = compileProgramme(config);
    if (!compiled.ok) throw new Error(`the programme has problems:\n  ${compiled.errors.join('\n  ')}`);
    return { programme: compiled.programme, origin: { from: 'config' } };
  }

  /** Writes a checked programme section (temp file, fsync, rename); throws when the disk refuses. */
  save(config: ProgrammeConfig, setAt: Date): void {
    const saved: SavedProgramme = { setAt: setAt.toISOString(), programme: config };
    writeAtomic(this.file, JSON.stringify(saved, null, 1));
  }

  private read(): SavedProgramme | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && 'setAt' in value && typeof value.setAt === 'string' && 'programme' in value)
        return { setAt: value.setAt, programme: value.programme };
      this.setAside('it is not a saved programme');
    } catch (error) {
      this.setAside(`it is not JSON (${(error as Error).message})`);
    }
    return null;
  }

  /** a saved programme that cannot be used is kept aside, never deleted, and the configuration's used */
  private setAside(why: string): void {
    const aside = `${this.file}.bad-${Date.now()}`;
    try {
      fs.renameSync(this.file, aside);
    } catch {
      /* left where it is: it is checked again at the next start */
    }
    this.log('warn', `the programme set over MQTT cannot be used (${why}); kept as ${aside}, playing the configuration's`);
  }
}
