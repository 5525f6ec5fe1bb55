import { expect } from 'chai';
import { MqttPacketGuard } from '../../../../firmware/broker/packet-guard.ts';
import { ConnectionLimits } from '../../../../firmware/security/connection-limits.ts';
import { LoginGuard } from '../../../../firmware/security/login-guard.ts';
import { Refusals } from '../../../../firmware/security/refusals.ts';
import { check } from '../../../../firmware/wire/schema.ts';
import { persistedSchema, publicWifi } from '../../../../firmware/security/public-state.ts';

/** an MQTT packet: type byte, remaining length (variable-length encoding), body */
function mqttHeader(type: number, bodyLength: number): Buffer {
  const len: number[] = [];
  let n = bodyLength;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.from([type, ...len]);
}
const packet = (type: number, bodyLength: number) => Buffer.concat([mqttHeader(type, bodyLength), Buffer.alloc(bodyLength, 7)]);

describe('MQTT packet guard', () => {
  it('follows packet boundaries across arbitrary splits and passes packets within the limit', () => {
    const g = new MqttPacketGuard(1000);
    const stream = Buffer.concat([packet(0x10, 30), packet(0x30, 1000), packet(0xc0, 0), packet(0x30, 200)]);
    for (let i = 0; i < stream.length; i += 7) expect(g.push(stream.subarray(i, i + 7))).to.equal(null);
    expect(g.startedAt, 'between packets').to.equal(null);
  });

  it('refuses a header declaring more than the limit before the body arrives', () => {
    const g = new MqttPacketGuard(32 * 1024);
    const header = mqttHeader(0x30, 200 * 1024 * 1024); // 200 MB declared, nothing sent
    expect(g.push(header)).to.match(/MQTT packet of \d+\+ bytes refused \(limit 32768\)/);
  });

  it('refuses a malformed remaining length, and reports when a packet started (slow senders)', () => {
    expect(new MqttPacketGuard(1 << 30).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).to.match(/malformed|refused/);
    let now = 1000;
    const g = new MqttPacketGuard(1000, () => now);
    g.push(packet(0x30, 100).subarray(0, 10));
    now = 5000;
    expect(g.startedAt).to.equal(1000);
    expect(g.incompleteForMs(), 'incomplete for').to.equal(4000);
  });
});

describe('connection limits', () => {
  it('caps one address, and evicts the oldest connection still in its handshake when the port is full', () => {
    const l = new ConnectionLimits({ perAddress: 2, total: 3 });
    const evicted: string[] = [];
    const a1 = l.admit('10.0.0.1', () => evicted.push('a1'));
    const a2 = l.admit('::ffff:10.0.0.1', () => evicted.push('a2'));
    expect(typeof a1).to.equal('object');
    expect(typeof a2).to.equal('object');
    expect(l.admit('10.0.0.1', () => {})).to.equal('too many connections from 10.0.0.1 (2 allowed)');
    const b = l.admit('10.0.0.2', () => evicted.push('b'));
    if (typeof a1 === 'string' || typeof a2 === 'string' || typeof b === 'string') throw new Error('admitted above');
    a1.established();
    const owner = l.admit('10.0.0.3', () => evicted.push('owner'));
    expect(typeof owner, 'a newcomer finds room on a full port').to.equal('object');
    expect(evicted).to.deep.equal(['a2']);
    expect(l.count).to.equal(3);
    a2.release(); // the evicted socket's close: counted once only
    expect(l.count).to.equal(3);
    b.established();
    if (typeof owner !== 'string') owner.established();
    expect(l.admit('10.0.0.4', () => {})).to.equal('the box has 3 connections, its limit');
  });
});

describe('login guard', () => {
  const make = (good = 'pw') => {
    let now = 0;
    const logs: object[] = [];
    const refusals = new Refusals();
    let running = 0;
    let maxRunning = 0;
    const g = new LoginGuard({
      username: 'owner',
      maxBackoffMs: 60_000,
      refusals,
      now: () => now,
      log: (_l, _m, e) => logs.push(e ?? {}),
      verify: async (pw) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return pw === good;
      },
    });
    return {
      g,
      logs,
      refusals,
      tick: (ms: number) => {
        now += ms;
      },
      maxRunning: () => maxRunning,
    };
  };

  it('after a failure the address waits 1 s, then 2, 4 ... without any hashing; another address is not affected', async () => {
    const { g, logs, refusals, tick } = make();
    expect(await g.check('10.0.0.1', 'c', 'owner', 'bad')).to.include({ ok: false, reason: 'bad username or password' });
    expect((await g.check('10.0.0.1', 'c', 'owner', 'pw')).ok, 'inside the 1 s wait even the right password waits').to.equal(false);
    expect(g.waitOf('10.0.0.1')).to.equal(1000);
    tick(1001);
    await g.check('10.0.0.1', 'c', 'owner', 'bad');
    expect(g.waitOf('10.0.0.1')).to.equal(2000);
    tick(2001);
    await g.check('10.0.0.1', 'c', 'owner', 'bad');
    expect(g.waitOf('10.0.0.1')).to.equal(4000);
    expect((await g.check('10.0.0.2', 'd', 'owner', 'pw')).ok).to.equal(true);
    tick(4001);
    expect((await g.check('10.0.0.1', 'c', 'owner', 'pw')).ok).to.equal(true);
    expect(g.waitOf('10.0.0.1'), 'a success forgets the failures').to.equal(0);
    expect(refusals.get('login_failed')).to.equal(3);
    expect(refusals.get('login_throttled')).to.equal(1);
    expect(logs[2]).to.deep.include({ address: '10.0.0.1', failures: 3, nextAttemptInMs: 4000 });
  });

  it("logins from one address at once (the owner's mosquitto_sub and mosquitto_pub) are all checked, up to four; more are refused", async () => {
    const { g, refusals } = make();
    const verdicts = await Promise.all(Array.from({ length: 6 }, (_, i) => g.check('10.2.0.1', `c${i}`, 'owner', 'pw')));
    expect(verdicts.map((v) => v.ok)).to.deep.equal([true, true, true, true, false, false]);
    expect(refusals.get('login_throttled')).to.equal(2);
    expect((await g.check('10.2.0.1', 'c9', 'owner', 'pw')).ok, 'once they are done, the next is checked').to.equal(true);
  });

  it('a storm from many addresses hashes one at a time and refuses beyond a short queue', async () => {
    const { g, refusals, maxRunning } = make();
    const verdicts = await Promise.all(Array.from({ length: 200 }, (_, i) => g.check(`10.1.${i >> 8}.${i & 255}`, `c${i}`, 'owner', 'wrong')));
    expect(maxRunning()).to.equal(1);
    expect(verdicts.filter((v) => !v.ok && v.busy).length).to.be.greaterThan(150);
    expect(refusals.get('login_busy') + refusals.get('login_failed')).to.equal(200);
  });
});

describe('schema validator and public state', () => {
  it('refuses prototype keys, unknown keys, deep nesting and non-finite numbers; returns a clean copy', () => {
    expect(check(persistedSchema, JSON.parse('{"volume":5,"__proto__":{"volume":"x"}}'))).to.deep.equal({ ok: false, error: "field '__proto__' is not allowed" });
    expect(check(persistedSchema, { volume: 5, extra: 1 }).ok).to.equal(false);
    expect(check(persistedSchema, { volume: NaN }).ok).to.equal(false);
    expect(check(persistedSchema, { volume: '5' }).ok).to.equal(false);
    const deep = { type: 'object', fields: {} } as const;
    let nested: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) nested = { a: nested };
    expect(check({ type: 'array', maxItems: 5, items: { type: 'integer', min: 0, max: 1 } }, [0, 1, 2]).ok).to.equal(false);
    expect(check(deep, nested).ok).to.equal(false);
    const good = check<{ volume: number }>(persistedSchema, { volume: 40, queue: { version: 1, items: ['a'], index: 0, repeat: 'all' } });
    expect(good).to.deep.equal({ ok: true, value: { volume: 40, queue: { version: 1, items: ['a'], index: 0, repeat: 'all' } } });
    expect(check(persistedSchema, { volume: 40, position: { trackId: 'a', ms: 12_000 } }).ok, 'a saved track position').to.equal(true);
    expect(check(persistedSchema, { volume: 40, position: { trackId: 'a', ms: -1 } }).ok).to.equal(false);
    expect(check(persistedSchema, { volume: 40, position: { trackId: '', ms: 1 } }).ok).to.equal(false);
  });

  it('the public view of the radio has no passphrase', () => {
    const state = { state: 'up', group: { iface: 'p2p0', ssid: 'DIRECT-nc', freq: 2437, passphrase: 'hunter22' } };
    expect(JSON.stringify(publicWifi(state))).to.not.contain('hunter22');
    expect(publicWifi(state)).to.deep.equal({ state: 'up', group: { iface: 'p2p0', ssid: 'DIRECT-nc', freq: 2437 } });
    expect(publicWifi({ state: 'down' })).to.deep.equal({ state: 'down' });
  });
});
