// The nice value of every thread of a process (Linux /proc): field 19 of each
// thread's stat line, counted after the parenthesised command name.

import { readdirSync, readFileSync } from 'node:fs';

export function threadNices(pid: number | 'self' = 'self'): number[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => Number(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
}
