// CPU priority for a process that plays audio. A player at normal priority on a
// loaded machine can miss its turn for tens of milliseconds: its device queue runs
// short, and a sound server's timing updates reach it late. Sound servers and
// players raise theirs for that reason (PulseAudio runs at nice −11, snapclient's
// daemon at −3). Linux keeps a nice value per thread and a new thread takes its
// creator's, so this sets every thread the process has: call it before the audio
// device is opened (ALSA plugins such as `pulse` start their own threads then).

import fs from 'node:fs';
import os from 'node:os';

export type PriorityResult = { ok: true; nice: number } | { ok: false; nice: number; why: string };

/** the nice value an audio player asks for by default */
export const PLAYER_NICE = -10;

/** Sets the nice value of every thread of this process; on refusal (the first thread already refuses: the rights are the same for all), says why. */
export function setProcessNice(nice: number): PriorityResult {
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) return { ok: false, nice: os.getPriority(), why: `nice must be a whole number from -20 to 19, not ${nice}` };
  for (const tid of threadIds()) {
    try {
      os.setPriority(tid, nice);
    } catch (e) {
      const code = (e as { info?: { code?: string } }).info?.code ?? (e as NodeJS.ErrnoException).code; // a SystemError keeps errno's name in info
      if (code === 'ESRCH' && tid !== 0) continue; // a thread that ended meanwhile
      const why =
        code === 'EACCES' || code === 'EPERM'
          ? `raising it takes CAP_SYS_NICE (root has it) or a nice limit that allows ${nice} (ulimit -e; systemd: Nice=${nice}; pam_limits: "nice ${nice}")`
          : (e as Error).message;
      return { ok: false, nice: os.getPriority(), why };
    }
  }
  return { ok: true, nice };
}

/** this process's threads (Linux); elsewhere only the calling one (0) */
function threadIds(): number[] {
  try {
    const ids = fs.readdirSync('/proc/self/task').map(Number).filter(Number.isInteger);
    if (ids.length > 0) return ids;
  } catch {
    // not Linux
  }
  return [0];
}
