import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JoinManager } from '../../../../firmware/domain/join-manager.ts';
import { RememberedListeners } from '../../../../firmware/domain/remembered-listeners.ts';
import { ShareWindow } from '../../../../firmware/domain/share-window.ts';
import type { Caller } from '../../../../firmware/domain/caller.ts';

const DAY = 24 * 3600 * 1000;
const KEY_A = 'a'.repeat(43);
const KEY_B = 'b'.repeat(43);
let serial = 0;
const guest = (clientId: string): Caller => ({ clientId, serial: ++serial, address: `10.0.0.${serial}`, role: 'guest' });

describe('RememberedListeners (approvals kept across restarts)', () => {
  let dir: string;
  let now: number;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-remembered-'));
    now = 1_700_000_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const open = (days = 30, max = 200) => new RememberedListeners({ stateDir: dir, days, max, now: () => now });

  it('keeps an approved key across a restart, stores only its hash (0600), and forgets it after `days` without a join', async () => {
    const r = open();
    r.remember(KEY_A, 'Ann');
    await r.settled();
    const file = path.join(dir, 'remembered-listeners.json');
    const text = readFileSync(file, 'utf8');
    expect(text).to.not.contain(KEY_A);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    now += 29 * DAY;
    const again = open();
    expect(again.knows(KEY_A), 'known after a restart, 29 days on').to.equal(true);
    expect(again.knows(KEY_B), 'another key').to.equal(false);
    await again.settled();
    now += 29 * DAY; // 29 days after the last join, 58 after the approval: still known
    expect(open().knows(KEY_A)).to.equal(true);
    now += 30 * DAY + 1;
    const late = open();
    expect(late.knows(KEY_A), '30 days after its last join').to.equal(false);
    expect(late.list()).to.deep.equal([]);
  });

  it('keeps at most `max`, the least recently seen making room; lists without keys; forgets by id or all', () => {
    const r = open(30, 2);
    r.remember(KEY_A, 'Ann');
    now += 1000;
    r.remember(KEY_B, 'Bob');
    now += 1000;
    expect(r.knows(KEY_A)).to.equal(true); // Ann seen after Bob
    now += 1000;
    r.remember('c'.repeat(43), 'Cy');
    expect(r.list().map((l) => l.name)).to.deep.equal(['Cy', 'Ann']);
    expect(JSON.stringify(r.list())).to.not.contain(KEY_A);
    const ann = r.list().find((l) => l.name === 'Ann')!;
    expect(ann.expiresAt).to.equal(new Date(now - 1000 + 30 * DAY).toISOString());
    expect(r.forget(ann.id)).to.equal(1);
    expect(r.knows(KEY_A)).to.equal(false);
    expect(r.forget('nope')).to.equal(0);
    expect(r.forget()).to.equal(1);
    expect(r.list()).to.deep.equal([]);
  });

  it('days 0 remembers nobody; a short or malformed key is never remembered', () => {
    const off = open(0);
    off.remember(KEY_A, 'Ann');
    expect(off.knows(KEY_A)).to.equal(false);
    const r = open();
    r.remember('short', 'Ann');
    r.remember('x'.repeat(30) + '/', 'Ann');
    expect(r.list()).to.deep.equal([]);
  });

  it('a corrupt file is set aside and the box starts with nobody remembered', () => {
    writeFileSync(path.join(dir, 'remembered-listeners.json'), '{"listeners":[{"keyHash":"zz"}]}');
    const problems: string[] = [];
    const r = new RememberedListeners({ stateDir: dir, days: 30, max: 10, now: () => now, onProblem: (m) => problems.push(m) });
    expect(r.list()).to.deep.equal([]);
    expect(problems.join()).to.match(/unreadable/);
  });

  it('JoinManager, policy button: approval and the open window remember the key; the key, not the id or name, lets in again', () => {
    const r = open();
    const w = new ShareWindow(120);
    const jm = new JoinManager(
      'button',
      w,
      () => ({ listeners: 0, max: 10 }),
      Date.now,
      2,
      () => {},
      r,
    );
    expect(jm.request(guest('ann'), { name: 'Ann', listenerKey: KEY_A }, 't').kind).to.equal('pending');
    expect(jm.approve()?.clientId).to.equal('ann');
    expect(jm.request(guest('ann'), { name: 'Ann', listenerKey: KEY_A }, 't').kind, 'approved key').to.equal('accept');
    expect(jm.request(guest('ann'), { name: 'Ann' }, 't').kind, 'same id and name, no key').to.equal('pending');
    expect(jm.request(guest('eve'), { name: 'Ann', listenerKey: KEY_B }, 't').kind, 'another key').to.equal('pending');
    w.open();
    expect(jm.request(guest('bob'), { name: 'Bob', listenerKey: KEY_B }, 't').kind).to.equal('accept');
    w.close();
    expect(jm.request(guest('bob2'), { name: 'Bob', listenerKey: KEY_B }, 't').kind, 'let in by the window, remembered').to.equal('accept');
    const approveOnly = new JoinManager(
      'approve',
      w,
      () => ({ listeners: 0, max: 10 }),
      Date.now,
      2,
      () => {},
      r,
    );
    expect(approveOnly.request(guest('ann3'), { name: 'Ann', listenerKey: KEY_A }, 't').kind, 'policy approve always asks').to.equal('pending');
    const full = new JoinManager(
      'button',
      w,
      () => ({ listeners: 10, max: 10 }),
      Date.now,
      2,
      () => {},
      r,
    );
    expect(full.request(guest('ann4'), { listenerKey: KEY_A }, 't').kind, 'a full box').to.equal('reject');
  });
});
