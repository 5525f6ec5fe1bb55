// README.md's own examples, run in order against a box started by `make run`
// (test/helpers/readme-runner.ts), in a network namespace of the test's own so the
// box can take its default ports on a loopback nobody else uses.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Step {
  cmd: string;
  ok: boolean;
  code?: number | null;
  out?: string;
}

describe('README examples (make run, then every command of "Try it" and the Mosquitto examples)', function () {
  this.timeout(600_000);
  let steps: Step[] = [];
  let prefix = '';

  before(async () => {
    prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-readme-'));
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('unshare', ['-n', 'bash', '-c', `ip link set lo up && exec node --import tsx test/helpers/readme-runner.ts ${prefix}`], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      p.on('error', reject);
      p.on('exit', () => resolve(text));
    });
    steps = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Step);
  });

  after(() => fs.rmSync(prefix, { recursive: true, force: true }));

  it('runs every command successfully, in order', () => {
    const failed = steps.filter((s) => !s.ok);
    expect(failed, JSON.stringify(failed, null, 1)).to.deep.equal([]);
    const cmds = steps.map((s) => s.cmd);
    for (const c of ['make run', 'make install-companion', 'nearcast play "月の光"', 'nearcast volume 40 --user owner', 'box console']) expect(cmds).to.include(c);
    expect(cmds.filter((c) => c.startsWith('nearcast join'))).to.have.length(2);
  });

  it('each command did what the README says', () => {
    const out = (cmd: string) => steps.find((s) => s.cmd === cmd)?.out ?? '';
    expect(out('nearcast play "月の光"')).to.match(/playing 月の光/);
    expect(out('nearcast enqueue "moon rivr"')).to.match(/queued Moon River/);
    expect(out('nearcast volume 40 --user owner')).to.match(/volume 40/);
    const console = out('box console');
    expect(console).to.match(/Ann wants to join: press s/);
    expect(console).to.match(/\[s\] share: approved Ann's join/);
    expect(console).to.match(/Ann joined: 1 listener/);
    expect(console).to.match(/Bob joined/);
    expect(console).to.match(/now playing: 月の光/);
  });

  it('the installed nearcast runs from a folder outside the checkout', async () => {
    const away = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-away-'));
    const r = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const p = spawn(path.join(prefix, 'bin', 'nearcast'), ['status', '--box', '127.0.0.1:9'], { cwd: away, env: { ...process.env, HOME: away } });
      let text = '';
      p.stdout.on('data', (d: Buffer) => {
        text += d;
      });
      p.stderr.on('data', (d: Buffer) => {
        text += d;
      });
      p.on('exit', (code) => resolve({ code, text }));
    });
    fs.rmSync(away, { recursive: true, force: true });
    expect(r.code, r.text).to.equal(1);
    expect(r.text).to.match(/nothing listens on 127\.0\.0\.1:9/);
  });
});
