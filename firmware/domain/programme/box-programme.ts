// Builds the box's programme runner: the programme from its store (set over MQTT, or
// the configuration's), the scheduler state saved before a restart, and where both are
// kept, and where a playlist's music-server entries get their songs. The controller
// calls this once; it holds no behaviour of its own.

import type { Track } from '../../library/track.ts';
import { StateStore } from '../../util/state-store.ts';
import type { BoxEvents } from '../box-events.ts';
import type { ProgrammeConfig } from './model.ts';
import { ProgrammeRunner } from './programme-runner.ts';
import { checkProgramme, ProgrammeStore } from './programme-store.ts';
import { ServerTracks, type ServerSongsBackend } from './server-tracks.ts';

export interface BoxProgrammeOptions {
  config: ProgrammeConfig;
  stateDir: string;
  library(): readonly Track[];
  /** the box's music library: the servers' songs for playlist entries that name a server */
  servers: ServerSongsBackend;
  events: BoxEvents;
  log(level: 'info' | 'warn', msg: string, extra?: object): void;
}

/** The runner, and what to do at shutdown (write the scheduler's state). Throws when the configuration's programme has problems. */
export function boxProgramme(options: BoxProgrammeOptions): { runner: ProgrammeRunner; flush(): void } {
  const programmes = new ProgrammeStore(options.stateDir, options.log);
  const { programme, origin } = programmes.initial(options.config);
  const state = new StateStore<object>(
    options.stateDir,
    'programme',
    (v) => (v && typeof v === 'object' ? v : null),
    (m) => options.log('warn', m),
  );
  const servers = new ServerTracks({
    backend: options.servers,
    onFailure: (server, problem) => {
      options.log('warn', 'programme: a music server gave no songs; its playlist entries play what it gave last (or nothing)', { server, problem });
      options.events.emit('error', { message: `programme: music server '${server}' gave no songs: ${problem}` });
    },
  });
  const runner = new ProgrammeRunner({
    servers,
    programme,
    origin,
    saved: programme ? state.load({}) : {},
    library: options.library,
    check: checkProgramme,
    persist: (config, setAt) => programmes.save(config, setAt),
    events: options.events,
    save: (saved) => state.save(saved as object),
    log: options.log,
  });
  return { runner, flush: () => state.flush() };
}
