// `nearcast fleet`: the boxes uplinked to one central MQTT broker (README.md
// "Fleet"). `list` reads every box's retained `availability` and `state` under the
// prefix; the other commands ask boxes requests over their uplink
// (fleet-client.ts), one answer line per box.

import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { MqttClient } from 'mqtt';
import { parseDay } from '../../firmware/wire/play-log.ts';
import type { CredentialOptions } from './credentials.ts';
import { askBox, askEach, BOX_ID, connectFleet, type FleetBox, type FleetOptions, listFleet, PREFIX, resolveTargets, type StatusData, targetProblem } from './fleet-client.ts';
import { collectPlayLogs, formatPlayLogs } from './fleet-playlog.ts';

const dash = (value: unknown) => (value === null || value === undefined ? '-' : String(value));

function table(boxes: FleetBox[]): string {
  const rows = [
    ['BOX', 'ONLINE', 'VERSION', 'STATE', 'LISTENERS', 'VOLUME', 'NOW PLAYING'],
    ...boxes.map((b) => [b.id, b.online === null ? '?' : b.online ? 'yes' : 'no', dash(b.version), dash(b.state), dash(b.listeners), dash(b.volume), dash(b.nowPlaying)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

/**
 * One request to the target boxes at once (resolveTargets); prints one line per box,
 * `<box>  ok  <what>` or `<box>  error  <why>`, and returns how many did not say ok.
 */
async function fanOut(client: MqttClient, o: FleetOptions, target: string, op: string, body: object, done: (data: unknown) => string): Promise<number> {
  const ids = await resolveTargets(client, o.prefix, target);
  const answers = await askEach(client, o.prefix, ids, op, body, o.timeout);
  const width = Math.max(...ids.map((id) => id.length));
  let failed = 0;
  for (const answer of answers) {
    const id = answer.box.padEnd(width);
    if ('reply' in answer && answer.reply.status === 'ok') console.log(`${id}  ok     ${done(answer.reply.data)}`);
    else {
      failed++;
      console.log(`${id}  error  ${'error' in answer ? answer.error : (answer.reply.error ?? answer.reply.status)}`);
    }
  }
  return failed;
}

function checkTarget(target: string): void {
  const problem = targetProblem(target);
  if (problem) throw new InvalidArgumentError(problem);
}

/** the largest request the broker passes to a box (the uplink's MQTT 5 maximum packet size, 64 KiB, less the topic and framing) */
const MAX_REQUEST_BYTES = 60 * 1024;

/**
 * A programme file (YAML or JSON): either the programme itself or a configuration
 * holding it under `programme:` (so a box's config file works as it is).
 */
export async function readProgrammeFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the programme file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let document: unknown;
  // loaded here, not at start-up: every other command of the CLI would pay for it
  const { parse: parseYaml } = await import('yaml');
  try {
    document = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new Error(`${file} is not YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(document)) throw new Error(`${file} must hold a programme (an object with playlists, interstitials, openingHours...)`);
  const programme = isObject(document.programme) ? document.programme : document;
  const bytes = Buffer.byteLength(JSON.stringify({ programme }));
  if (bytes > MAX_REQUEST_BYTES) throw new Error(`the programme in ${file} is ${bytes} bytes as JSON; a request to a box may be at most ${MAX_REQUEST_BYTES}`);
  return programme;
}

/** `nearcast fleet ...`; `credentials` reads the program's --user/--password when the command runs. */
export function fleetCommand(credentials: () => CredentialOptions): Command {
  const fleet = new Command('fleet')
    .description('boxes uplinked to a central MQTT broker (see README "Fleet")')
    .option('--broker <url>', 'the central broker: mqtt://, mqtts://, ws://, wss:// (default NEARCAST_FLEET_BROKER)')
    .option('--prefix <prefix>', "the boxes' mqtt.uplink.prefix (a shop: nearcast/shop-a)", 'nearcast')
    .option(
      '--timeout <s>',
      'how long to wait for the broker and the boxes',
      (v: string) => {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 600) throw new InvalidArgumentError('--timeout must be a whole number of seconds from 1 to 600');
        return n;
      },
      10,
    );
  const options = (): FleetOptions => {
    const o = fleet.opts<{ broker?: string; prefix: string; timeout: number }>();
    const broker = o.broker ?? process.env.NEARCAST_FLEET_BROKER;
    if (!broker) throw new Error('which broker? pass --broker mqtt://HOST:PORT or set NEARCAST_FLEET_BROKER');
    if (!/^(mqtt|mqtts|ws|wss):\/\/\S+$/.test(broker)) throw new Error(`--broker '${broker}' must be an mqtt://, mqtts://, ws:// or wss:// url`);
    if (!PREFIX.test(o.prefix)) throw new Error(`--prefix '${o.prefix}' must be topic levels of letters, digits and _ . - (no wildcards)`);
    return { broker, prefix: o.prefix, timeout: o.timeout };
  };
  const withClient = async (work: (client: MqttClient, o: FleetOptions) => Promise<void>) => {
    const o = options();
    const client = await connectFleet(o, credentials());
    try {
      await work(client, o);
    } finally {
      await client.endAsync();
    }
  };

  fleet
    .command('list')
    .description('every box under the prefix: online, version, what it plays, listeners')
    .option('--json', 'one JSON array')
    .action((cmd: { json?: boolean }) =>
      withClient(async (client, o) => {
        const boxes = await listFleet(client, o.prefix);
        if (cmd.json) return console.log(JSON.stringify(boxes));
        console.log(boxes.length ? table(boxes) : `no boxes under ${o.prefix}/ (or this login may not read them)`);
      }),
    );

  fleet
    .command('status <box>')
    .description("one box's status, asked over the broker")
    .option('--json', 'raw JSON')
    .action((boxId: string, cmd: { json?: boolean }) => {
      if (!BOX_ID.test(boxId)) throw new InvalidArgumentError(`box id '${boxId}' must be 1-64 letters, digits, _ or -`);
      return withClient(async (client, o) => {
        const reply = await askBox(client, o.prefix, boxId, 'status', {}, o.timeout).catch((e: unknown) => {
          throw new Error(`box '${boxId}': ${(e as Error).message}`);
        });
        if (reply.status !== 'ok') throw new Error(`box '${boxId}': ${reply.error ?? reply.status}`);
        const d = reply.data as StatusData;
        if (cmd.json) {
          console.log(JSON.stringify(d));
          return;
        }
        console.log(`${d.box?.name} (${d.box?.id}): ${d.state}${d.track ? ` — ${d.track.title}${d.track.artist ? ` — ${d.track.artist}` : ''}` : ''}`);
        console.log(`volume ${d.volume} · source ${d.source} · share window ${d.sharing?.open ? 'open' : 'closed'} · ${d.listeners} listener(s), ${d.pending} pending`);
      });
    });
  fleet
    .command('volume <box> <level>')
    .description('set the volume of one box, several (a,b), the online boxes matching a pattern (shop-*), or every online box (all); each box answers')
    .action((target: string, level: string) => {
      checkTarget(target);
      if (!/^\d{1,3}$/.test(level) || Number(level) > 100) throw new InvalidArgumentError(`volume '${level}' must be 0-100`);
      return withClient(async (client, o) => {
        const failed = await fanOut(client, o, target, 'volume', { volume: Number(level) }, (data) => `volume ${(data as { volume?: number }).volume}`);
        if (failed > 0) process.exitCode = 1;
      });
    });

  fleet
    .command('announce <box> <text...>')
    .description('speak a text over the music on one box, several (a,b), a pattern (shop-*) or every online box (all)')
    .action((target: string, words: string[]) => {
      checkTarget(target);
      const text = words.join(' ');
      if (text.length > 500) throw new InvalidArgumentError(`the text has ${text.length} characters; at most 500`);
      return withClient(async (client, o) => {
        const failed = await fanOut(client, o, target, 'announce', { text }, () => 'announced');
        if (failed > 0) process.exitCode = 1;
      });
    });
  fleet
    .command('set-programme <box> <file>')
    .description(
      "replace the kiosk programme (YAML or JSON, as the config's `programme:` section) on one box, several (a,b), a pattern (shop-*) or every online box (all); each box answers ok or why not",
    )
    .action((target: string, file: string) => {
      checkTarget(target);
      // the file is read and checked before the broker is asked anything
      return readProgrammeFile(file).then((programme) =>
        withClient(async (client, o) => {
          const failed = await fanOut(client, o, target, 'set-programme', { programme }, () => 'programme set');
          if (failed > 0) process.exitCode = 1;
        }),
      );
    });

  fleet
    .command('playlog [box]')
    .description('the play logs of the boxes for a range of days, collected over the broker into one CSV (or JSON lines) with a box column')
    .requiredOption('--from <day>', "first day, YYYY-MM-DD (each box's local day)", day)
    .option('--to <day>', 'last day, YYYY-MM-DD (default: --from)', day)
    .option('--format <format>', 'csv or jsonl', 'csv')
    .option('--output <file>', 'write here instead of to stdout')
    .action((target: string | undefined, cmd: { from: string; to?: string; format: string; output?: string }) => {
      // one box, several (a,b), a pattern (shop-*) or all: the online ones, the offline ones reported as not collected
      const boxTarget = target ?? 'all';
      const to = cmd.to ?? cmd.from;
      if (cmd.from > to) throw new InvalidArgumentError(`--from ${cmd.from} is after --to ${to}`);
      if (cmd.format !== 'csv' && cmd.format !== 'jsonl') throw new InvalidArgumentError(`--format '${cmd.format}' must be csv or jsonl`);
      const format = cmd.format;
      checkTarget(boxTarget);
      return withClient(async (client, o) => {
        let boxes: string[];
        const missing: Array<{ box: string; error: string }> = [];
        if (boxTarget === 'all') {
          const fleetBoxes = await listFleet(client, o.prefix);
          boxes = fleetBoxes.filter((b) => b.online).map((b) => b.id);
          for (const b of fleetBoxes) if (!b.online) missing.push({ box: b.id, error: 'offline: its play log was not collected' });
          if (fleetBoxes.length === 0) throw new Error(`no boxes under ${o.prefix}/ (or this login may not read them)`);
        } else boxes = await resolveTargets(client, o.prefix, boxTarget);
        const logs = await collectPlayLogs(client, o.prefix, boxes, cmd.from, to, o.timeout);
        const text = formatPlayLogs(logs, format);
        if (cmd.output) fs.writeFileSync(cmd.output, text);
        else process.stdout.write(text);
        // the summary goes to stderr, so that stdout is the report alone
        const results = [...logs.map((log) => ({ box: log.box, error: log.error, count: log.items.length })), ...missing.map((m) => ({ ...m, count: 0 }))];
        const width = Math.max(...results.map((r) => r.box.length));
        for (const r of results) console.error(`${r.box.padEnd(width)}  ${r.error === null ? 'ok   ' : 'error'}  ${r.count} item(s)${r.error === null ? '' : ` — ${r.error}`}`);
        if (results.some((r) => r.error !== null)) process.exitCode = 1;
      });
    });
  return fleet;
}

function day(value: string): string {
  try {
    return parseDay(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
