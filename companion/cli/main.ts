// `nearcast`: the PC companion. join / search / play / status.

import { Command, InvalidArgumentError } from 'commander';
import { BoxClient } from '../client/box-client.ts';
import { discoverBoxes, parseBoxAddress, parseStreamAddress, type BoxAddress } from '../client/discovery.ts';
import { runJoin } from './join-command.ts';

interface Common { box?: string; user?: string; password?: string }

function intIn(lo: number, hi: number, what: string) {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || n < lo || n > hi) throw new InvalidArgumentError(`${what} must be a whole number from ${lo} to ${hi}`);
    return n;
  };
}

async function resolveBox(spec: string | undefined): Promise<BoxAddress> {
  if (spec) return parseBoxAddress(spec);
  const boxes = await discoverBoxes(3000);
  if (boxes.length === 0) throw new Error('no nearcast box found by mDNS on this network; pass --box HOST[:PORT]');
  if (boxes.length > 1) console.error(`found ${boxes.length} boxes; using ${boxes[0].name ?? boxes[0].host} (pick one with --box)`);
  return boxes[0];
}

async function connect(o: Common): Promise<{ client: BoxClient; box: BoxAddress }> {
  const box = await resolveBox(o.box);
  const client = await BoxClient.connect({
    url: `mqtt://${box.host.includes(':') ? `[${box.host}]` : box.host}:${box.mqttPort}`,
    boxId: box.boxId,
    username: o.user,
    password: o.password ?? process.env.NEARCAST_PASSWORD,
  });
  return { client, box };
}

async function oneShot(o: Common, op: string, body: object, print: (data: any) => void): Promise<void> {
  const { client } = await connect(o);
  try {
    const r = await client.request(op, body);
    if (r.status !== 'ok') throw new Error(r.error ?? `'${op}' failed`);
    print(r.data);
  } finally {
    await client.close();
  }
}

const trackLine = (t: { title: string; artist: string; album: string; durationMs: number }) =>
  `${t.title}${t.artist ? ' — ' + t.artist : ''}${t.album ? ` (${t.album})` : ''} [${Math.round(t.durationMs / 1000)} s]`;

const program = new Command('nearcast')
  .description('join a nearcast box and hear what it plays, in sync')
  .option('--box <host[:port]>', 'the box (MQTT port, default 1883); found by mDNS when omitted')
  .option('--user <name>', 'owner username (for owner-only operations)')
  .option('--password <pw>', 'owner password (or NEARCAST_PASSWORD)')
  .showHelpAfterError();

program.command('join')
  .description('join the box and play its stream')
  .option('--name <name>', 'how the box lists you')
  .option('--song <name>', 'ask the box to play this song')
  .option('--device <pcm>', "ALSA PCM to play to, 'sim' for a virtual DAC", 'default')
  .option('--latency-offset <ms>', 'play this much earlier (slow DAC, Bluetooth)', intIn(-2000, 2000, '--latency-offset'), 0)
  .option('--volume <0-100>', 'local volume', intIn(0, 100, '--volume'), 100)
  .option('--json', 'print status as JSON lines')
  .option('--codec <codec>', 'opus or pcm (default: the box decides)')
  .option('--stream <host:port>', "reach the audio stream here instead of the box's stream port (a relay or proxy)", (v: string) => {
    try { return parseStreamAddress(v); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
  })
  .action(async (o) => {
    const common = program.opts<Common>();
    const { client, box } = await connect(common);
    const code = await runJoin(client, box, o);
    process.exit(code);
  });

program.command('search <query...>')
  .description("search the box's library")
  .option('--limit <n>', 'results', intIn(1, 50, '--limit'), 10)
  .action((words: string[], o) => oneShot(program.opts(), 'search', { query: words.join(' '), limit: o.limit }, (d) => {
    if (!d.results.length) console.log('no match');
    for (const r of d.results) console.log(`${r.id}  ${trackLine(r)}`);
  }));

program.command('play <query...>')
  .description('play the best match now')
  .action((words: string[]) => oneShot(program.opts(), 'play', { query: words.join(' ') }, (d) => console.log(`playing ${trackLine(d.playing)}`)));

program.command('status')
  .description('what the box is doing')
  .option('--json', 'raw JSON')
  .action((o) => oneShot(program.opts(), 'status', {}, (d) => {
    if (o.json) return console.log(JSON.stringify(d));
    console.log(`${d.box.name} (${d.box.id}): ${d.state}${d.track ? ` — ${trackLine(d.track)} at ${Math.round(d.positionMs / 1000)} s` : ''}`);
    console.log(`volume ${d.volume} · source ${d.source} · policy ${d.policy} · share window ${d.sharing.open ? `open (${Math.round(d.sharing.remainingMs / 1000)} s)` : 'closed'} · ${d.listeners} listener(s), ${d.pending} pending`);
  }));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`nearcast: ${(e as Error).message}`);
  process.exit(1);
}
