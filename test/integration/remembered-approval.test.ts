// Share policy `button` across a restart (README.md "Security and limits"): a listener
// the owner approved is let in again without asking after the box was killed and
// started again, by its listener key (kept by the real companion in its config
// folder), not by its name or client id; the owner lists and forgets it.

import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoxClient } from '../../companion/client/box-client.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';

const said = (c: CompanionProcess) => `${c.stderr.slice(-20).join('\n')}${c.proc.exitCode !== null ? `\n(exited with ${c.proc.exitCode})` : ''}`;
const playing = (c: CompanionProcess) => c.status().some((s) => s.state === 'playing');
const asked = (c: CompanionProcess) => c.stderr.some((l) => l.startsWith('waiting for the owner to approve the join'));

describe('share policy button: an approved listener is remembered across a box restart (real box and companions)', function () {
  this.timeout(150_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let owner: BoxClient | null = null;
  const companions: CompanionProcess[] = [];
  const configOf = (who: string) => ({ ...process.env, XDG_CONFIG_HOME: path.join(dir, `config-${who}`) });

  const start = async () => {
    box = await startBox(['--music', path.join(dir, 'music'), '--box-id', 'remember', '--policy', 'button', '--audio-device', 'none', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_HARDWARE__SIM: 'true',
    });
    owner = await BoxClient.connect({ url: `mqtt://127.0.0.1:${box.ports.mqtt}`, boxId: 'remember', username: 'owner', password: 'pw' });
    return box;
  };
  const kill = async () => {
    await owner?.close();
    owner = null;
    const gone = new Promise((r) => box!.proc.once('exit', r));
    box!.proc.kill('SIGKILL');
    await gone;
    box = null;
  };
  const join = (who: string, name: string, wait: number) => {
    const c = runCompanion(['--box', `127.0.0.1:${box!.ports.mqtt}`, 'join', '--json', '--name', name, '--device', 'null', '--wait', String(wait)], configOf(who));
    companions.push(c);
    return c;
  };

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-remember-'));
    makeTestMusic(path.join(dir, 'music'), 20);
  });
  after(async () => {
    await Promise.all(companions.map((c) => c.interrupt()));
    await owner?.close();
    if (box) await box.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('approved once, let in after kill -9 and a restart; a stranger with the same name is asked about; the owner forgets it', async () => {
    await start();
    const ann = join('ann', 'Ann', 60);
    await waitFor('Ann waiting for approval', () => asked(ann), 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(ann)}`);
    });
    const approved = await owner!.request('approve', {});
    expect(approved.status, JSON.stringify(approved)).to.equal('ok');
    await waitFor('Ann playing once approved', () => playing(ann), 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(ann)}`);
    });
    const keyFile = path.join(dir, 'config-ann', 'nearcast', 'listener-keys.json');
    const key = (JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, string>).remember ?? '';
    expect(key, 'the companion keeps a key for this box').to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(keyFile).mode & 0o777, 'the key file is private').to.equal(0o600);
    expect(await ann.interrupt()).to.equal(0);

    // the approval's reply came after it was on disk: kill -9 at once
    await kill();
    const stateFiles = readdirSync(path.join(dir, 'state')).map((f) => readFileSync(path.join(dir, 'state', f), 'latin1'));
    expect(
      stateFiles.some((t) => t.includes('"Ann"')),
      'the box remembers Ann',
    ).to.equal(true);
    expect(
      stateFiles.filter((t) => t.includes(key)),
      'the key itself is not stored on the box',
    ).to.have.length(0);
    await start();

    const annAgain = join('ann', 'Ann', 60);
    const t0 = Date.now();
    await waitFor('Ann playing again without approval', () => playing(annAgain), 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(annAgain)}`);
    });
    const tookMs = Date.now() - t0;
    expect(asked(annAgain), `Ann was not asked about again: ${said(annAgain)}`).to.equal(false);

    // a stranger using Ann's name (its own config folder, so its own key) is asked about
    const eve = join('eve', 'Ann', 0);
    const eveCode = await Promise.race([eve.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(eveCode, said(eve)).to.equal(2);
    expect(said(eve)).to.contain('the box wants the owner to approve the join');
    expect(playing(eve)).to.equal(false);

    const list = await owner!.request<{ listeners: Array<{ id: string; name: string; expiresAt: string }> }>('approvals', { action: 'list' });
    expect(list.status, JSON.stringify(list)).to.equal('ok');
    expect(list.data!.listeners.map((l) => l.name)).to.deep.equal(['Ann']);
    const expiresInDays = (Date.parse(list.data!.listeners[0]!.expiresAt) - Date.now()) / 86_400_000;
    expect(expiresInDays, 'default expiry 30 days after the last join').to.be.within(29.9, 30.1);
    expect(JSON.stringify(list), 'no key in the list').to.not.contain(key);
    const guest = await BoxClient.connect({ url: `mqtt://127.0.0.1:${box!.ports.mqtt}`, boxId: 'remember' });
    const refused = await guest.request('approvals', { action: 'list' });
    await guest.close();
    expect(refused, 'a guest may not list them').to.deep.include({ status: 'error' });

    const forgot = await owner!.request('approvals', { action: 'forget', id: list.data!.listeners[0]!.id });
    expect(forgot, JSON.stringify(forgot)).to.deep.include({ status: 'ok' });
    expect(await annAgain.interrupt()).to.equal(0);
    const annForgotten = join('ann', 'Ann', 0);
    const code = await Promise.race([annForgotten.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code, `forgotten, Ann is asked about again: ${said(annForgotten)}`).to.equal(2);
    expect(
      box!.logs.filter((l) => l.includes(key)),
      'the key is in no log line',
    ).to.have.length(0);
    console.log(`      Ann let in ${(tookMs / 1000).toFixed(1)} s after starting, without approval, after kill -9 and a restart`);
  });
});
