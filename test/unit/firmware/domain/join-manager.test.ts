import { expect } from 'chai';
import sinon from 'sinon';
import { JoinManager } from '../../../../firmware/domain/join-manager.ts';
import { ShareWindow } from '../../../../firmware/domain/share-window.ts';
import type { Caller } from '../../../../firmware/domain/caller.ts';

let serial = 0;
/** a connection: each from its own address unless told */
const who = (clientId: string, role: 'owner' | 'guest' = 'guest', address = `10.0.0.${++serial}`): Caller => ({ clientId, serial: ++serial, address, role });

describe('JoinManager and ShareWindow', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => clock.restore());

  const make = (policy: 'button' | 'approve' | 'open', listeners = 0) => {
    const w = new ShareWindow(120);
    return { w, jm: new JoinManager(policy, w, () => ({ listeners, max: 3 })) };
  };

  it('policy button: a join with the window closed is pending until approved', () => {
    const { jm } = make('button');
    expect(jm.request(who('a'), {}, 't1')).to.deep.equal({ kind: 'pending', position: 1 });
    const decided = sinon.spy();
    jm.on('decided', decided);
    expect(jm.approve()?.clientId).to.equal('a');
    expect(decided.firstCall.args[0]).to.deep.include({ approved: true });
    expect(decided.firstCall.args[0].pending.transaction).to.equal('t1');
    expect(jm.pending).to.have.length(0);
  });

  it('policy button: joins inside the open window are accepted, and the window closes by itself', () => {
    const { w, jm } = make('button');
    const changes: Array<{ open: boolean }> = [];
    w.on('change', (s) => changes.push(s));
    w.open();
    expect(jm.request(who('a'), {}, undefined).kind).to.equal('accept');
    expect(w.remainingMs).to.equal(120_000);
    clock.tick(120_001);
    expect(w.isOpen).to.equal(false);
    expect(
      changes.map((c) => c.open),
      'closing by itself is announced (state, WPS, LEDs follow it)',
    ).to.deep.equal([true, false]);
    expect(jm.request(who('b'), {}, undefined).kind).to.equal('pending');
  });

  it('policy approve always asks, except for the owner; policy open accepts everyone', () => {
    const a = make('approve');
    a.w.open();
    expect(a.jm.request(who('x'), {}, undefined).kind).to.equal('pending');
    expect(a.jm.request(who('owner', 'owner'), {}, undefined).kind).to.equal('accept');
    expect(make('open').jm.request(who('y'), {}, undefined).kind).to.equal('accept');
  });

  it('approves the oldest first, denies with a reason, and forgets a client that withdraws', () => {
    const { jm } = make('approve');
    const a = who('a');
    jm.request(a, {}, undefined);
    jm.request(who('b'), {}, undefined);
    jm.request(who('c'), {}, undefined);
    jm.withdraw(a);
    const decided = sinon.spy();
    jm.on('decided', decided);
    expect(jm.deny('c', 'not today')?.clientId).to.equal('c');
    expect(decided.firstCall.args[0]).to.deep.include({ approved: false, reason: 'not today' });
    expect(jm.approve()?.clientId).to.equal('b');
    expect(jm.approve()).to.equal(undefined);
  });

  it('a full box rejects joins with the reason', () => {
    const { jm } = make('open', 3);
    expect(jm.request(who('z'), {}, undefined)).to.deep.equal({ kind: 'reject', reason: 'the box is full (3 listeners)' });
    expect(jm.request(who('me', 'owner'), {}, undefined).kind, 'the owner always finds a place').to.equal('accept');
  });

  it('one address may have only a few joins waiting, so strangers cannot fill the queue the share button approves from', () => {
    const refused: string[] = [];
    const w = new ShareWindow(120);
    const jm = new JoinManager(
      'button',
      w,
      () => ({ listeners: 0, max: 100 }),
      Date.now,
      2,
      (k) => refused.push(k),
    );
    const verdicts = Array.from({ length: 50 }, (_, i) => jm.request(who(`fake${i}`, 'guest', '10.9.9.9'), {}, undefined).kind);
    expect(
      verdicts.filter((v) => v === 'pending'),
      verdicts.join(','),
    ).to.have.length(2);
    expect(refused).to.have.length(48);
    expect(jm.request(who('friend', 'guest', '10.1.1.1'), {}, undefined).kind).to.equal('pending');
    expect(jm.pending.map((p) => p.clientId)).to.deep.equal(['fake0', 'fake1', 'friend']);
  });
});
