// `nearcast`: the PC companion. join / search / play / enqueue / queue / control /
// volume / status, and fleet (boxes on a central broker).

import { listenerKeyFor } from './listener-key.ts';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CONTROL_ACTIONS } from '../../firmware/wire/requests.ts';
import type { BoxClient } from '../client/box-client.ts';
import { parseStreamAddress } from '../client/discovery.ts';
import { PLAYER_NICE } from '../../firmware/util/priority.ts';
import type { Reply } from '../../firmware/wire/requests.ts';
import { connectToBox, runningListener, type CommonOptions } from './connect.ts';
import { fleetCommand } from './fleet-command.ts';
import { runJoin } from './join-command.ts';
import { relayRequest, startListenerRelay } from './listener-session.ts';
import { exitProcess } from '../../hardware/process-exit.ts';

function intIn(lo: number, hi: number, what: string) {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || n < lo || n > hi) throw new InvalidArgumentError(`${what} must be a whole number from ${lo} to ${hi}`);
    return n;
  };
}

/** Rights-needing requests act as the owner (`--user`), else as a running `nearcast join` on this machine. */
const NEEDS_RIGHTS = new Set(['play', 'enqueue', 'control', 'volume']);

/** The parts of the box's replies (README "MQTT topics") that these commands print. */
interface TrackLine {
  title: string;
  artist: string;
  album: string;
  durationMs: number;
}
interface SearchData {
  results: Array<TrackLine & { id: string }>;
}
interface PlayData {
  playing: TrackLine;
}
interface EnqueueData {
  queued: TrackLine;
  position: number;
}
interface QueueData {
  nowPlaying: TrackLine | null;
  queue: TrackLine[];
}
interface ControlData {
  state: string;
  track: TrackLine | null;
}
interface VolumeData {
  volume: number;
}
interface StatusData {
  box: { name: string; id: string };
  state: string;
  track: TrackLine | null;
  positionMs: number;
  volume: number;
  source: string;
  policy: string;
  sharing: { open: boolean; remainingMs: number };
  listeners: number;
  pending: number;
}

/** `Data`: what the box's reply to `op` carries; the box's reply schema is not checked here, only printed. */
async function oneShot<Data>(o: CommonOptions, op: string, body: object, print: (data: Data) => void): Promise<void> {
  const listener = NEEDS_RIGHTS.has(op) ? await runningListener(o) : null;
  let r: Reply;
  if (listener) r = await relayRequest(listener, op, body);
  else {
    const { client } = await connectToBox(o);
    try {
      r = await client.request(op, body);
    } finally {
      await client.close();
    }
  }
  if (r.status !== 'ok') {
    let why = r.error ?? `'${op}' failed`;
    if (/join first/.test(why) && !listener) {
      why +=
        ': run `nearcast join` in another terminal on this machine (this command then asks through it, as that listener), or log in as the owner with --user owner (password from NEARCAST_PASSWORD or a prompt)';
    }
    throw new Error(why);
  }
  print(r.data as Data);
}

const trackLine = (t: TrackLine) => `${t.title}${t.artist ? ' — ' + t.artist : ''}${t.album ? ` (${t.album})` : ''} [${Math.round(t.durationMs / 1000)} s]`;

const program = new Command('nearcast')
  .description('join a nearcast box and hear what it plays, in sync')
  .option('--box <host[:port]>', 'the box (MQTT port, default 1883); default: a box on this machine, else found by mDNS')
  .option('--user <name>', 'log in as the owner (password from NEARCAST_PASSWORD, or asked for)')
  .option('--password <pw>', 'owner password (visible to other users: prefer NEARCAST_PASSWORD or the prompt)')
  .showHelpAfterError();

program
  .command('join')
  .description('join the box and play its stream')
  .option('--name <name>', 'how the box lists you')
  .option('--song <name>', 'ask the box to play this song')
  .option('--device <pcm>', "ALSA PCM to play to, 'pulse' (PulseAudio through libpulse), 'alsa:PCM' (always ALSA), 'sim' for a virtual DAC, 'null'", 'default')
  .option('--latency-offset <ms>', 'play this much earlier (slow DAC, Bluetooth)', intIn(-2000, 2000, '--latency-offset'), 0)
  .option('--volume <0-100>', 'local volume', intIn(0, 100, '--volume'), 100)
  .option('--wait <s>', 'how long to wait for the owner to approve (0: not at all)', intIn(0, 86_400, '--wait'), 120)
  .option('--rejoin-timeout <s>', 'when the box goes away (restart, network drop), keep joining it again this long (0: exit at once)', intIn(0, 86_400, '--rejoin-timeout'), 300)
  .option(
    '--priority <nice>',
    `CPU priority of the player, as a nice value (0: leave it as it is); raising it needs root, CAP_SYS_NICE or a nice limit`,
    intIn(-20, 19, '--priority'),
    PLAYER_NICE,
  )
  .option('--json', 'print status as JSON lines')
  .addOption(new Option('--codec <codec>', 'opus or pcm (default: the box decides)').choices(['opus', 'pcm']))
  .option('--stream <host:port>', "reach the audio stream here instead of the box's stream port (a relay or proxy)", (v: string) => {
    try {
      return parseStreamAddress(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  })
  .action(async (o) => {
    const { client, box, reconnect } = await connectToBox(program.opts<CommonOptions>(), { join: true });
    const onJoined = (joined: BoxClient) =>
      startListenerRelay(box.host, box.mqttPort, { clientId: joined.clientId, boxId: joined.boxId, pid: process.pid }, (op, body) => joined.request(op, body));
    const listenerKey = listenerKeyFor(client.boxId, process.env, (line) => process.stderr.write(line + '\n')) ?? undefined;
    const code = await runJoin(client, box, { ...o, onJoined, reconnect, listenerKey });
    // the device's thread may be stuck in its audio library (a sound server that went away): not waited for
    await exitProcess(code, { onStuck: (names) => process.stderr.write(`nearcast: exiting without threads stuck in a native call: ${names.join(', ')}\n`) });
  });

program
  .command('search <query...>')
  .description("search the box's library")
  .option('--limit <n>', 'results', intIn(1, 50, '--limit'), 10)
  .action((words: string[], o) =>
    oneShot<SearchData>(program.opts(), 'search', { query: words.join(' '), limit: o.limit }, (d) => {
      if (!d.results.length) console.log('no match');
      for (const r of d.results) console.log(`${r.id}  ${trackLine(r)}`);
    }),
  );

program
  .command('play <query...>')
  .description('play the best match now (owner, or a listener: a `nearcast join` running on this machine)')
  .action((words: string[]) => oneShot<PlayData>(program.opts(), 'play', { query: words.join(' ') }, (d) => console.log(`playing ${trackLine(d.playing)}`)));

program
  .command('enqueue <query...>')
  .description('add the best match to the queue (owner or listener, like play)')
  .action((words: string[]) =>
    oneShot<EnqueueData>(program.opts(), 'enqueue', { query: words.join(' ') }, (d) => console.log(`queued ${trackLine(d.queued)} at position ${d.position}`)),
  );

program
  .command('queue')
  .description("the box's queue")
  .action(() =>
    oneShot<QueueData>(program.opts(), 'queue', {}, (d) => {
      console.log(d.nowPlaying ? `now: ${trackLine(d.nowPlaying)}` : 'now: nothing');
      for (const [i, t] of d.queue.entries()) console.log(`${i + 1}. ${trackLine(t)}`);
    }),
  );

program
  .command('control <action>')
  .description(`${CONTROL_ACTIONS.join(' | ')} (owner by default)`)
  .action((action: string) => {
    if (!(CONTROL_ACTIONS as readonly string[]).includes(action)) throw new InvalidArgumentError(`'${action}' is not one of ${CONTROL_ACTIONS.join(', ')}`);
    return oneShot<ControlData>(program.opts(), 'control', { action }, (d) => console.log(`${d.state}${d.track ? ` — ${trackLine(d.track)}` : ''}`));
  });

program
  .command('volume <level>')
  .description("the box's volume: 0-100, or +N / -N to change it (owner by default)")
  .action((level: string) => {
    const m = /^([+-]?)(\d{1,3})$/.exec(level);
    if (!m || (!m[1] && Number(m[2]) > 100)) throw new InvalidArgumentError(`volume '${level}' must be 0-100, +N or -N`);
    const body = m[1] ? { delta: Number(m[1] + m[2]) } : { volume: Number(m[2]) };
    return oneShot<VolumeData>(program.opts(), 'volume', body, (d) => console.log(`volume ${d.volume}`));
  });

program
  .command('status')
  .description('what the box is doing')
  .option('--json', 'raw JSON')
  .action((o) =>
    oneShot<StatusData>(program.opts(), 'status', {}, (d) => {
      if (o.json) {
        console.log(JSON.stringify(d));
        return;
      }
      console.log(`${d.box.name} (${d.box.id}): ${d.state}${d.track ? ` — ${trackLine(d.track)} at ${Math.round(d.positionMs / 1000)} s` : ''}`);
      console.log(
        `volume ${d.volume} · source ${d.source} · policy ${d.policy} · share window ${d.sharing.open ? `open (${Math.round(d.sharing.remainingMs / 1000)} s)` : 'closed'} · ${d.listeners} listener(s), ${d.pending} pending`,
      );
    }),
  );

program.addCommand(fleetCommand(() => program.opts<CommonOptions>()));

/** Runs the CLI; the bin script, `npm run nearcast` and the one-file bundle all start here. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    console.error(`nearcast: ${(e as Error).message}`);
    process.exit(1);
  }
}

/** defined (true) in the one-file bundle, whose entry calls main() itself */
declare const NEARCAST_ONE_FILE: boolean | undefined;
// run directly (`node --import tsx companion/cli/main.ts`); no top-level await, so a bundle may import this lazily
const isEntry = typeof NEARCAST_ONE_FILE === 'undefined' && !!process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isEntry) void main();
