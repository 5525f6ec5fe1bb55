// Runs README.md's "Try it" and Mosquitto examples in order, as a person would
// paste them: `make run` in the checkout (the box), then each line of the other
// blocks in a shell with the installed `nearcast` on PATH. A `nearcast join` runs
// in the background, like a second terminal: the runner presses `s` on the box
// when the join waits, and Ctrl-C's it before the next join. Its one change to the
// text: a join without `--device` gets `--device null` (this machine has no sound
// card). Run inside a network namespace of its own (the box takes the default
// ports); prints one JSON line per command on stdout.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupOf } from '../../firmware/util/checked-index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [prefix] = process.argv.slice(2);

/** The ```sh blocks of a README section (from its heading to the next `## `). */
export function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no section '${heading}'`);
  const end = readme.indexOf('\n## ', start + heading.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => groupOf(m, 1));
}

const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
// the companions' listener keys in a folder of this run: Ann joins as the README's first-time listener,
// even in a checkout whose box (`make run`, state in .run/) remembers an Ann from an earlier run
const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${prefix}/bin:${process.env.PATH}`, COMPANION_PREFIX: prefix, XDG_CONFIG_HOME: `${prefix}/config` };

function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms: number, seen: { text: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const check = () => {
      if (re.test(seen.text)) {
        done(true);
      }
    };
    const timer = setTimeout(() => done(false), ms);
    const onData = (d: Buffer) => {
      seen.text += d.toString();
      check();
    };
    const done = (v: boolean) => {
      clearTimeout(timer);
      proc[stream]!.off('data', onData);
      proc.off('exit', onExit);
      resolve(v);
    };
    const onExit = () => done(re.test(seen.text));
    proc[stream]!.on('data', onData);
    proc.on('exit', onExit);
    check();
  });
}

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const [boxBlock, ...cliBlocks] = shellBlocks(readme, '## Try it');
const mqttBlocks = shellBlocks(readme, '## MQTT topics');
if (boxBlock?.trim() !== 'make run') throw new Error(`the first block of 'Try it' should start the box, found: ${boxBlock}`);

// the box, exactly as the README starts it; stdin is its keyboard (one key command per line)
const box = spawn('bash', ['-c', boxBlock], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
const boxOut = { text: '' };
box.stdout!.on('data', (d: Buffer) => {
  boxOut.text += d.toString();
});
box.stderr!.resume();
const ready = await waitFor(box, 'stdout', /Keys: /, 240_000, boxOut);
say({ cmd: boxBlock.trim(), ok: ready, out: boxOut.text.slice(-2000) });
if (!ready) process.exit(1);

let join: { proc: ChildProcess; line: string; err: { text: string } } | null = null;
async function stopJoin(): Promise<void> {
  if (!join) return;
  const j = join;
  join = null;
  const code = await new Promise<number | null>((resolve) => {
    j.proc.once('exit', (c) => resolve(c));
    j.proc.kill('SIGINT');
  });
  say({ cmd: `Ctrl-C: ${j.line}`, ok: code === 0, code, out: j.err.text.slice(-800) });
}

const background: ChildProcess[] = [];
for (const block of [...cliBlocks, ...mqttBlocks]) {
  for (const raw of block.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (/^nearcast join\b/.test(line)) {
      await stopJoin();
      const cmd = /--device\b/.test(line) ? line : line.replace(/^nearcast join/, 'nearcast join --device null');
      const proc = spawn('bash', ['-c', `exec ${cmd}`], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
      const err = { text: '' };
      join = { proc, line, err };
      const before = boxOut.text.length;
      const waiting = waitFor(proc, 'stderr', /waiting for the owner|song request|playing your song/, 60_000, err);
      // a join that waits gets the share button, like the README says
      if ((await waiting) && /waiting for the owner/.test(err.text)) box.stdin!.write('share\n');
      const joined = await waitFor(box, 'stdout', /joined: \d+ listener/, 60_000, { text: boxOut.text.slice(before) });
      say({ cmd: cmd, ok: joined && proc.exitCode === null, out: err.text.slice(-800) });
      continue;
    }
    if (/&\s*$/.test(line)) {
      background.push(spawn('bash', ['-c', line.replace(/&\s*$/, '')], { cwd: ROOT, env, stdio: 'ignore' }));
      say({ cmd: line, ok: true });
      continue;
    }
    // a variable set here (export X=…, X=$(…)) stays set for the lines after it, as in one shell
    const assign = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    const script = assign ? `${line}; printf '%s' "$${assign[1]}"` : line;
    const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    if (assign && r.status === 0) env[groupOf(assign, 1)] = r.stdout;
    say({ cmd: line, ok: r.status === 0, code: r.status, out: assign ? '(set)' : (r.stdout + r.stderr).slice(-1500) });
  }
}
await stopJoin();
for (const b of background) b.kill('SIGTERM');
box.stdin!.write('quit\n');
const boxExit = await new Promise<number | null>((resolve) => {
  const t = setTimeout(() => {
    try {
      process.kill(-box.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    resolve(null);
  }, 15_000);
  box.once('exit', (c) => {
    clearTimeout(t);
    resolve(c);
  });
});
say({ cmd: 'box console', ok: boxExit === 0, code: boxExit, out: boxOut.text.slice(-4000) });
