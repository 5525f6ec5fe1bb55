// `make install` into a temporary root (DESTDIR): the tree a Raspberry Pi gets, a
// unit systemd accepts, settings kept on reinstall, and the installed box runs from
// its bundle with production dependencies only. (NODE_MODULES=link hard-links this
// checkout's production packages instead of downloading them: the same set
// `npm ci --omit=dev` installs; test/bench/install-size.ts measures the real one.)

import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startBox } from '../helpers/box-process.ts';
import { developmentOnlyPackages, installedPackages } from '../helpers/installed-packages.ts';
import { BOX_NODE_FLAGS } from '../../firmware/build.ts';

function make(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('make', ['-s', ...args], { cwd: ROOT, timeout: 120_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
  );
}

describe('make install (DESTDIR)', function () {
  this.timeout(180_000);
  let root: string;
  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'nearcast-install-'));
    await make(['install', `DESTDIR=${root}`, 'NODE_MODULES=link']);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('lays down the app, the unit, the system user, and /etc/nearcast with the P2P and DHCP configs', () => {
    for (const f of [
      'opt/nearcast/dist/firmware/nearcast-box.mjs',
      'opt/nearcast/dist/firmware/alsa-worker.js',
      'opt/nearcast/dist/web/app.js',
      'opt/nearcast/dist/companion/nearcast.mjs',
      'opt/nearcast/config/schema.json',
      'opt/nearcast/config/boards/pi5.json',
      'opt/nearcast/node_modules/aedes/package.json',
      'lib/systemd/system/nearcast.service',
      'usr/lib/sysusers.d/nearcast.conf',
      'etc/nearcast/config.yaml',
      'etc/nearcast/wpa_supplicant-p2p.conf',
      'etc/nearcast/dnsmasq-p2p.conf',
    ]) {
      expect(existsSync(path.join(root, f)), f).to.equal(true);
    }
    const unit = readFileSync(path.join(root, 'lib/systemd/system/nearcast.service'), 'utf8');
    expect(unit).to.match(/^Restart=on-failure$/m);
    expect(unit).to.match(/^Environment=MALLOC_ARENA_MAX=2$/m);
    expect(unit).to.match(/^User=nearcast$/m);
    expect(unit).to.match(/^SupplementaryGroups=audio gpio netdev$/m);
    expect(unit).to.include(
      'ExecStart=/usr/bin/node --max-semi-space-size=1 --optimize-for-size --v8-pool-size=1 /opt/nearcast/dist/firmware/nearcast-box.mjs --config /etc/nearcast/config.yaml',
    );
    expect(unit).not.to.include('@PREFIX@');
    expect(readFileSync(path.join(root, 'etc/nearcast/wpa_supplicant-p2p.conf'), 'utf8')).to.match(
      /p2p_go_intent=15[\s\S]*persistent_reconnect=1|persistent_reconnect=1[\s\S]*p2p_go_intent=15/,
    );
  });

  it('systemd accepts the unit (systemd-analyze verify)', function () {
    if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) this.skip();
    const unitDir = path.join(root, 'lib/systemd/system');
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', path.join(unitDir, 'nearcast.service')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr.trim(), 'no warnings').to.equal('');
  });

  it('the installed box runs from its own tree (--help, and a bad config is refused clearly)', () => {
    const box = path.join(root, 'opt/nearcast/dist/firmware/nearcast-box.mjs');
    const help = spawnSync(process.execPath, [box, '--help'], { encoding: 'utf8' });
    expect(help.status).to.equal(0);
    expect(help.stdout).to.include('--source <spec>');
    const bad = path.join(root, 'bad.yaml');
    writeFileSync(bad, 'share:\n  policy: sometimes\n');
    const r = spawnSync(process.execPath, [box, '--config', bad], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/\/share\/policy must be one of button, approve, open/);
  });

  it('node_modules holds production packages only, and every production dependency is one the shipped bundles use', () => {
    const app = path.join(root, 'opt/nearcast');
    const installed = installedPackages(app);
    expect(installed.length, 'packages installed').to.be.above(20);
    expect(developmentOnlyPackages(app, path.join(ROOT, 'package-lock.json')), 'packages only development needs').to.deep.equal([]);
    for (const tool of ['tsx', 'esbuild', 'typescript', 'mocha', 'playwright-core', '@sinclair/typebox']) expect(installed, tool).not.to.include(`node_modules/${tool}`);
    expect(existsSync(path.join(app, 'dist/nearcast.mjs')), 'the one-file companion is for other machines').to.equal(false);
    // a package in `dependencies` that no shipped bundle names is a tool (or dead weight) installed on every box
    const { dependencies } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const bundles = ['dist/firmware', 'dist/companion']
      .flatMap((dir) =>
        readdirSync(path.join(app, dir))
          .filter((f) => /\.m?js$/.test(f))
          .map((f) => readFileSync(path.join(app, dir, f), 'utf8')),
      )
      .join('\n');
    const unused = Object.keys(dependencies).filter((name) => !bundles.includes(`"${name}"`) && !bundles.includes(`"${name}/`));
    expect(unused, 'production dependencies no shipped bundle imports').to.deep.equal([]);
  });

  it('the installed box starts as its unit runs it (the bundle, the installed config) and stops cleanly on SIGTERM', async () => {
    const app = path.join(root, 'opt/nearcast');
    const state = path.join(root, 'var/lib/nearcast');
    mkdirSync(path.join(state, 'music'), { recursive: true }); // an empty library: no demo tracks to generate
    // ExecStart's command line, with loopback and ephemeral ports added by startBox; no speaker, a tone to play
    const box = await startBox(
      [
        '--config',
        path.join(root, 'etc/nearcast/config.yaml'),
        '--state-dir',
        state,
        '--music',
        path.join(state, 'music'),
        '--audio-device',
        'none',
        '--source',
        'tone:440',
        '--no-keyboard',
      ],
      { MALLOC_ARENA_MAX: '2' },
      30_000,
      [...BOX_NODE_FLAGS, path.join(app, 'dist/firmware/nearcast-box.mjs')],
    );
    const exited = new Promise<number | null>((resolve) => box.proc.once('exit', (code) => resolve(code)));
    try {
      expect(box.ports.mqtt).to.be.above(0);
      expect(
        box.logs.some((line) => line.includes('"opus codec"')),
        'it says which Opus it runs',
      ).to.equal(true);
    } finally {
      box.proc.kill('SIGTERM');
    }
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running 10 s after SIGTERM'), 10_000))]);
    if (code !== 0) box.proc.kill('SIGKILL');
    expect(code, box.logs.slice(-5).join('\n')).to.equal(0);
  });

  it("a reinstall keeps the owner's settings in /etc/nearcast", async () => {
    const cfg = path.join(root, 'etc/nearcast/config.yaml');
    writeFileSync(cfg, 'name: Shop speaker\n');
    const out = await make(['install', `DESTDIR=${root}`, 'NODE_MODULES=link']);
    expect(out).to.include('keeping');
    expect(readFileSync(cfg, 'utf8')).to.equal('name: Shop speaker\n');
  });
});
