// `nearcast-box`: command line → config → controller. Every flag is also a
// config key and an environment variable (NEARCAST_<SECTION>__<KEY>).

import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, ConfigError } from './config/config.ts';
import { hashPassword } from './config/password.ts';
import path from 'node:path';
import { Controller } from './controller.ts';
import { exportPlayLog, parseDay } from './extensions/play-log-export.ts';
import { createLogger } from './util/log.ts';
import { setProcessNice } from './util/priority.ts';
import { exitNow, exitProcess } from '../hardware/process-exit.ts';

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 0 || n > 65535) throw new InvalidArgumentError(`'${v}' is not a port number (0-65535)`);
  return n;
}
function intIn(lo: number, hi: number) {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || n < lo || n > hi) throw new InvalidArgumentError(`'${v}' must be a whole number from ${lo} to ${hi}`);
    return n;
  };
}
const collect = (v: string, prev: string[] = []) => [...prev, v];
function dayArgument(v: string): string {
  try {
    return parseDay(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Each flag is a config key (and so also an environment variable). */
const FLAG_TO_CONFIG: Array<[string, string]> = [
  ['music', 'library.folders'],
  ['boxId', 'boxId'],
  ['name', 'name'],
  ['host', 'network.host'],
  ['mqttPort', 'mqtt.port'],
  ['httpPort', 'http.port'],
  ['streamPort', 'stream.port'],
  ['audioDevice', 'audio.device'],
  ['source', 'source'],
  ['codec', 'stream.codec'],
  ['latency', 'stream.latencyMs'],
  ['policy', 'share.policy'],
  ['stateDir', 'stateDir'],
];

const program = new Command('nearcast-box')
  .description('the nearcast box: plays music and shares it, in sync, with nearby listeners')
  .option('-c, --config <file>', 'config file (JSON or YAML)')
  .option('-m, --music <dir>', 'music folder (repeatable)', collect)
  .option('--box-id <id>', 'box id used in MQTT topics')
  .option('--name <name>', 'display name')
  .option('--host <addr>', 'address to listen on (0.0.0.0 for every interface)')
  .option('--mqtt-port <n>', 'MQTT TCP port', port)
  .option('--http-port <n>', 'HTTP port (MQTT over WebSocket at /mqtt)', port)
  .option('--stream-port <n>', 'audio stream TCP port', port)
  .option('--audio-device <pcm>', "the box's own speaker: 'auto', an ALSA PCM name, 'pulse' (PulseAudio through libpulse), 'alsa:PCM' (always ALSA), 'sim' or 'none'")
  .option('--source <spec>', 'what the box plays: library | pipe:/tmp/snapfifo | capture:<ALSA PCM, e.g. plughw:1,0> | tone:440 | silence')
  .addOption(new Option('--codec <codec>', 'default codec for listeners').choices(['opus', 'pcm']))
  .option('--latency <ms>', 'playout latency in ms', intIn(100, 5000))
  .addOption(new Option('--policy <policy>', 'share policy').choices(['button', 'approve', 'open']))
  .option('--state-dir <dir>', 'where state that survives restarts is kept')
  .option('--sim', 'simulated hardware (virtual DAC, keyboard buttons)')
  .option('--no-keyboard', 'no keyboard buttons even when simulated')
  .showHelpAfterError();

program
  .command('hash-password')
  .description('print the hash of a password for owner.passwordHash (reads the password from stdin)')
  .action(async () => {
    let pw = '';
    for await (const c of process.stdin) pw += c;
    pw = pw.replace(/\r?\n$/, '');
    if (!pw) {
      console.error('error: empty password on stdin');
      process.exit(2);
    }
    console.log(hashPassword(pw));
    process.exit(0);
  });

program
  .command('playlog')
  .description('print the play log of a range of days (README "Play log")')
  .requiredOption('--from <day>', 'first day, YYYY-MM-DD (local)', dayArgument)
  .option('--to <day>', 'last day, YYYY-MM-DD (default: --from)', dayArgument)
  .addOption(new Option('--format <format>', 'output format').choices(['csv', 'jsonl']).default('csv'))
  .action((opts: { from: string; to?: string; format: 'csv' | 'jsonl' }) => {
    const parent = program.opts() as { config?: string; stateDir?: string };
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig({ file: parent.config, env: process.env, overrides: parent.stateDir ? { stateDir: parent.stateDir } : {} });
    } catch (e) {
      console.error(e instanceof ConfigError ? `nearcast-box: invalid configuration\n${e.message}` : `nearcast-box: ${(e as Error).message}`);
      process.exit(2);
    }
    try {
      process.stdout.write(exportPlayLog(path.join(config.stateDir, 'playlog'), opts.from, opts.to ?? opts.from, opts.format));
    } catch (e) {
      console.error(`nearcast-box playlog: ${(e as Error).message}`);
      process.exit(2);
    }
  });

program.action(async (opts) => {
  const overrides: Record<string, unknown> = {};
  const set = (path: string, v: unknown) => {
    if (v === undefined) return;
    const keys = path.split('.');
    let o = overrides as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) {
      o[k] ??= {};
      o = o[k] as Record<string, unknown>;
    }
    o[keys[keys.length - 1]!] = v; // split() returns at least one key
  };
  for (const [flag, path] of FLAG_TO_CONFIG) set(path, opts[flag]);
  if (opts.sim) set('hardware.sim', true);
  if (opts.keyboard === false) set('hardware.keyboard', false);

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file: opts.config, env: process.env, overrides });
  } catch (e) {
    console.error(e instanceof ConfigError ? `nearcast-box: invalid configuration\n${e.message}` : `nearcast-box: ${(e as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(config.log.level);
  if (config.audio.priority !== 0) {
    // before the speaker and capture devices open: the threads their ALSA plugins start take it
    const p = setProcessNice(config.audio.priority);
    if (!p.ok) log.warn('running at a lower CPU priority than audio.priority', { nice: p.nice, asked: config.audio.priority, why: p.why });
  }
  const controller = new Controller(config, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const force = setTimeout(() => {
      log.error('did not stop within 5 s: exiting without waiting');
      exitNow(1);
    }, 5000);
    force.unref();
    await controller.stop();
    await exitProcess(0, { onStuck: (names) => log.error('threads stuck in a native call (an audio library that lost its server?): exiting without them', { threads: names }) });
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await controller.start();
  } catch (e) {
    log.error('could not start', { error: (e as Error).message });
    await controller.stop().catch(() => {});
    await exitProcess(1, { onStuck: (names) => log.error('threads stuck in a native call: exiting without them', { threads: names }) });
  }
});

await program.parseAsync(process.argv);
