// What ships runs: the box's and the CLI's bundles (firmware/build.ts) in a tree
// whose node_modules holds the production dependencies only (what `make install`
// installs with `npm ci --omit=dev`): no tsx, no esbuild. The box starts, says which
// Opus implementation it runs (log and telemetry), serves the web page's prebuilt
// script, and a listener plays through the bundled CLI.

import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import mqtt from 'mqtt';
import { buildBox, ROOT } from '../../firmware/build.ts';
import type { TelemetryMessage } from '../../firmware/extensions/telemetry.ts';
import { LOOPBACK_BOX_ARGS, SERVING_BOX_ARGS } from '../helpers/box-process.ts';

describe('the built box and CLI run with production dependencies only', function () {
  this.timeout(120_000);
  let tree: string;
  let box: ChildProcess | null = null;
  const log: Array<Record<string, unknown>> = [];
  // our environment without NEARCAST_* settings (the box refuses unknown ones)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARCAST_')));

  before(async () => {
    await buildBox();
    tree = mkdtempSync(path.join(os.tmpdir(), 'nearcast-ship-'));
    for (const f of ['package.json', 'dist', 'firmware', 'companion', 'hardware', 'config']) cpSync(path.join(ROOT, f), path.join(tree, f), { recursive: true });
    // npm's own list of what a production install holds, hard-linked from this checkout
    const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
    const dirs = ls.stdout.split('\n').filter((d) => d.startsWith(path.join(ROOT, 'node_modules') + path.sep));
    expect(dirs.length, `npm ls --omit=dev: ${ls.stderr}`).to.be.above(10);
    for (const d of dirs.sort()) {
      const to = path.join(tree, path.relative(ROOT, d));
      if (existsSync(to)) continue; // a parent package copied it already
      mkdirSync(path.dirname(to), { recursive: true });
      cpSync(d, to, { recursive: true });
    }
  });
  after(() => {
    box?.kill('SIGKILL');
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  it('holds no tsx and no esbuild', () => {
    for (const dev of ['tsx', 'esbuild', 'playwright-core', 'typescript', 'mocha']) expect(existsSync(path.join(tree, 'node_modules', dev)), dev).to.equal(false);
    expect(existsSync(path.join(tree, 'node_modules', 'koffi')), 'koffi').to.equal(true);
  });

  it('nearcast-box starts from the bundle, logs its Opus, serves the prebuilt page script, and a bundled CLI listener plays', async () => {
    mkdirSync(path.join(tree, 'music')); // an empty library: no demo tracks to generate
    box = spawn(
      process.execPath,
      [
        path.join(tree, 'firmware/bin/nearcast-box.js'),
        ...LOOPBACK_BOX_ARGS,
        ...SERVING_BOX_ARGS,
        '--source',
        'tone:440',
        '--state-dir',
        path.join(tree, 'state'),
        '--music',
        path.join(tree, 'music'),
      ],
      { cwd: tree, env: { ...env, NEARCAST_MDNS__ENABLED: 'false', NEARCAST_TELEMETRY__INTERVALSECONDS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no 'box ready' within 30 s; log: ${JSON.stringify(log.slice(-5))}`)), 30_000);
      readline.createInterface({ input: box!.stderr! }).on('line', (l) => {
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(l);
        } catch {
          log.push({ text: l });
          return;
        }
        log.push(j);
        if (j.msg === 'box ready') {
          clearTimeout(t);
          resolve(j);
        }
      });
      box!.once('exit', (code) => reject(new Error(`the box exited (${code}); log: ${JSON.stringify(log.slice(-5))}`)));
    });
    expect(
      log.find((j) => j.msg === 'opus codec'),
      'the Opus implementation is logged',
    ).to.include({ implementation: 'libopus' });

    const page = await fetch(`http://127.0.0.1:${ready.http}/app.js`);
    expect(page.status).to.equal(200);
    expect((await page.text()).length, 'the prebuilt script, without esbuild').to.be.above(10_000);

    // the CLI through its bin, which runs the bundle: join, decode Opus, play on a virtual DAC
    const cli = spawn(
      process.execPath,
      [path.join(tree, 'companion/bin/nearcast.js'), '--box', `127.0.0.1:${ready.mqtt}`, 'join', '--codec', 'opus', '--device', 'sim', '--json', '--name', 'shipped'],
      { cwd: tree, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let errText = '';
    cli.stderr!.on('data', (b) => {
      errText += b;
    });
    try {
      const playing = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the CLI did not play within 30 s: ${errText}`)), 30_000);
        let seen = 0;
        readline.createInterface({ input: cli.stdout! }).on('line', (l) => {
          let j: Record<string, unknown>;
          try {
            j = JSON.parse(l);
          } catch {
            return;
          }
          if (j.state === 'playing' && ++seen >= 2) {
            clearTimeout(t);
            resolve(j);
          } // a second playing second: it keeps playing
        });
        cli.once('exit', (code) => reject(new Error(`the CLI exited (${code}): ${errText}`)));
      });
      expect(playing.decodeErrors, 'Opus decode errors').to.equal(0);
      // telemetry says which Opus runs and that Opus (only) is being encoded for this listener
      const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${ready.mqtt}`, { clientId: 'ship-watch', protocolVersion: 4 });
      try {
        const tel = new Promise<TelemetryMessage>((resolve) => watcher.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as TelemetryMessage)));
        await watcher.subscribeAsync(`nearcast/${ready.boxId}/telemetry`);
        const m = await Promise.race([tel, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no telemetry within 10 s')), 10_000))]);
        expect(m.stream).to.deep.include({ opus: 'libopus', encoding: ['opus'] });
      } finally {
        await watcher.endAsync();
      }
      expect(errText, 'the CLI says which Opus decodes').to.match(/opus decoder: native libopus \d/);
    } finally {
      cli.kill('SIGINT');
    }
  });
});
