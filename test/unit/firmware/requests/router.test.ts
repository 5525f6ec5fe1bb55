import { expect } from 'chai';
import sinon from 'sinon';
import type { Caller } from '../../../../firmware/domain/caller.ts';
import type { NowPlaying } from '../../../../firmware/domain/playback-control.ts';
import type { BoxServices } from '../../../../firmware/requests/context.ts';
import { RateLimiter } from '../../../../firmware/requests/rate-limit.ts';
import { replyOp, RequestRouter } from '../../../../firmware/requests/router.ts';
import { JoinManager } from '../../../../firmware/domain/join-manager.ts';
import { ShareWindow } from '../../../../firmware/domain/share-window.ts';
import type { Reply } from '../../../../firmware/wire/requests.ts';

const moon = { id: 't1', path: '/m/moon.mp3', title: 'Moon River', artist: 'Demo Quartet', album: 'Demo', durationMs: 30000, fileName: 'moon.mp3', hasArtwork: false };

const callers = new Map<string, Caller>();
/** one connection per client id and role (a stable serial), all from one address unless told */
function callerOf(clientId: string, role: 'owner' | 'guest' = 'guest', address = '10.0.0.1'): Caller {
  const key = `${clientId}/${role}/${address}`;
  if (!callers.has(key)) callers.set(key, { clientId, role, address, serial: callers.size + 1 });
  return callers.get(key)!;
}

function makeBox(permissions: BoxServices['permissions'] = { request: 'listeners', control: 'owner', volume: 'owner', source: 'owner' }) {
  const listeners = new Set<string>();
  const np: NowPlaying = { state: 'playing', track: null, positionMs: 0, volume: 50, source: 'library' };
  const w = new ShareWindow(120);
  const box = {
    boxId: 'b',
    name: 'Box',
    permissions,
    library: {
      find: async (q: string) => ({ hits: q.includes('moon') ? [{ track: moon, score: 1, where: 'box' }] : [], unreachable: [] }),
      get: (id: string) => (id === 't1' ? moon : undefined),
    },
    playback: {
      nowPlaying: () => np,
      playNow: sinon.spy(),
      enqueue: sinon.stub().returns(1),
      queue: () => [moon],
      control: sinon.spy(),
      setVolume: sinon.stub().callsFake((v: number) => (np.volume = v)),
      sources: () => ['library', 'capture:hw:1,0'],
      selectSource: sinon.stub().callsFake((s: string) => {
        if (!['library', 'capture:hw:1,0'].includes(s)) throw new RangeError(`source '${s}' is not one of this box's sources: library, capture:hw:1,0`);
        return s;
      }),
    },
    joins: new JoinManager('button', w, () => ({ listeners: listeners.size, max: 10 })),
    shareWindow: w,
    listeners: {
      count: () => listeners.size,
      isListener: (c: Caller) => listeners.has(c.clientId),
      list: () => [],
      leave: (c: Caller) => listeners.delete(c.clientId),
      admit: (c: Caller) => {
        const id = c.clientId;
        listeners.add(id);
        return {
          listenerId: id,
          stream: { tcpPort: 1, wsPath: '/stream', token: 'tok', expiresInMs: 1 },
          codec: 'opus' as const,
          format: { sampleRate: 48000, channels: 2, bitsPerSample: 16 },
          chunkMs: 20,
          latencyMs: 400,
        };
      },
      remove: (id: string) => listeners.delete(id),
    },
    persisted: () => Promise.resolve(),
  };
  return box as unknown as BoxServices & { playback: { playNow: sinon.SinonSpy; control: sinon.SinonSpy } };
}

function setup(box = makeBox(), limiter = new RateLimiter(600, 100), addressLimiter?: RateLimiter) {
  const sent: Array<{ clientId: string; serial: number; op: string; reply: Reply }> = [];
  const router = new RequestRouter({ box, limiter, addressLimiter, log: () => {} });
  const ask = async (op: string, payload: string, clientId = 'c1', role: 'owner' | 'guest' = 'guest', address = '10.0.0.1') => {
    const to = callerOf(clientId, role, address);
    const reply = await router.handle(to, op, new TextEncoder().encode(payload));
    sent.push({ clientId: to.clientId, serial: to.serial, op: replyOp(op), reply });
    return sent[sent.length - 1]!;
  };
  return { box, router, sent, ask };
}

describe('RequestRouter', () => {
  it('answers every malformed request with an error naming the problem, echoing the transaction', async () => {
    const { ask } = setup();
    expect((await ask('search', '{nope')).reply.error).to.match(/^malformed JSON/);
    expect((await ask('search', '{"query":1,"transaction":"x"}')).reply).to.deep.equal({
      status: 'error',
      error: "field 'query' must be a string, got number 1",
      transaction: 'x',
    });
    expect((await ask('volume', '{"volume":10,"extra":true}', 'c1', 'owner')).reply.error).to.contain("unknown field 'extra'");
    const unknown = await ask('teleport', '{}');
    expect(unknown.op).to.equal('teleport');
    expect(unknown.reply.error).to.contain("unknown operation 'teleport'");
  });

  it('search finds by name and returns summaries', async () => {
    const { ask } = setup();
    const r = await ask('search', '{"query":"moon","transaction":7}');
    expect(r.reply.status).to.equal('ok');
    expect(r.reply.transaction).to.equal(7);
    expect((r.reply.data as { results: Array<{ title: string }> }).results[0]?.title).to.equal('Moon River');
  });

  it('song requests need a listener under `listeners`; control needs the owner', async () => {
    const { ask, box } = setup();
    expect((await ask('play', '{"query":"moon"}')).reply.error).to.equal("'play' is for listeners: join first");
    box.listeners.admit(callerOf('c1'), {});
    expect((await ask('play', '{"query":"moon"}')).reply.status).to.equal('ok');
    expect(box.playback.playNow.calledOnceWith(moon)).to.equal(true);
    expect((await ask('control', '{"action":"pause"}')).reply.error).to.contain('owner');
    expect((await ask('control', '{"action":"pause"}', 'o', 'owner')).reply.status).to.equal('ok');
    expect(box.playback.control.calledOnceWith('pause')).to.equal(true);
  });

  it('`nobody` disables an operation even for the owner', async () => {
    const { ask } = setup(setup().box && makeBox({ request: 'listeners', control: 'nobody', volume: 'owner', source: 'owner' }));
    expect((await ask('control', '{"action":"next"}', 'o', 'owner')).reply.error).to.equal("'control' is disabled on this box");
  });

  it('a join under policy button with the window closed is pending; approve is owner-only', async () => {
    const { ask, box } = setup();
    const r = await ask('join', '{"name":"Bob","transaction":"j"}', 'bob');
    expect(r.reply).to.deep.include({ status: 'pending', transaction: 'j' });
    expect((await ask('approve', '{}', 'bob')).reply.error).to.contain('owner');
    const a = await ask('approve', '{}', 'o', 'owner');
    expect(a.reply).to.deep.include({ status: 'ok', data: { approved: 'bob', name: 'Bob' } });
    expect((await ask('approve', '{}', 'o', 'owner')).reply.error).to.equal('no join is waiting for approval');
    void box;
  });

  it('a join with a song plays the best match and reports it', async () => {
    const { ask, box } = setup();
    box.shareWindow.open();
    const r = await ask('join', '{"song":"moon"}', 'bob');
    expect(r.reply.status).to.equal('ok');
    expect((r.reply.data as { song: { title: string } }).song.title).to.equal('Moon River');
    expect(box.playback.playNow.calledOnce).to.equal(true);
    const r2 = await ask('join', '{"song":"zzz"}', 'eve');
    expect((r2.reply.data as { song: { error: string } }).song.error).to.equal('no song matches "zzz"');
  });

  it('source: the owner switches to a configured live source; guests, unknown sources and bad payloads are refused', async () => {
    const box = makeBox();
    const { ask } = setup(box);
    const ok = await ask('source', '{"source":"capture:hw:1,0"}', 'own', 'owner');
    expect(ok.reply).to.deep.include({ status: 'ok', data: { source: 'capture:hw:1,0', sources: ['library', 'capture:hw:1,0'] } });
    expect((await ask('source', '{"source":"capture:hw:1,0"}', 'guest')).reply.error).to.match(/owner/);
    expect((await ask('source', '{"source":"pipe:/etc/passwd"}', 'own', 'owner')).reply.error).to.match(/not one of this box's sources: library, capture:hw:1,0/);
    expect((await ask('source', '{"source":7}', 'own', 'owner')).reply.error).to.match(/source/);
    expect((await ask('source', '{}', 'own', 'owner')).reply.error).to.match(/source/);
  });

  it('rate-limits a flooding client without affecting others', async () => {
    const { ask } = setup(makeBox(), new RateLimiter(60, 2));
    await ask('status', '');
    await ask('status', '');
    expect((await ask('status', '')).reply.error).to.match(/^rate limit/);
    expect((await ask('status', '', 'c2')).reply.status).to.equal('ok');
  });

  it('rate-limits an address across all its client ids', async () => {
    const { ask } = setup(makeBox(), new RateLimiter(600, 100), new RateLimiter(60, 5));
    const replies = [];
    for (let i = 0; i < 20; i++) replies.push((await ask('status', '', `id${i}`, 'guest', '10.6.6.6')).reply);
    expect(
      replies.filter((r) => r.status === 'ok'),
      JSON.stringify(replies.map((r) => r.status)),
    ).to.have.length(5);
    expect(replies[19]?.error).to.match(/^rate limit/);
    expect((await ask('status', '', 'neighbour', 'guest', '10.7.7.7')).reply.status).to.equal('ok');
  });

  it('prototype keys never reach a handler or the playback state', async () => {
    const box = makeBox();
    const { ask } = setup(box);
    for (const payload of ['{"__proto__":{"volume":"x"}}', '{"constructor":{"prototype":{"volume":1}}}', '{"volume":5,"toString":1}', '{"volume":5,"__proto__":null}']) {
      const r = await ask('volume', payload, 'o', 'owner');
      expect(r.reply.status, payload).to.equal('error');
      expect(r.reply.error, payload).to.match(/not allowed|unknown field|exactly one/);
    }
    expect((box.playback.setVolume as unknown as sinon.SinonStub).called).to.equal(false);
    expect(box.playback.nowPlaying().volume).to.equal(50);
  });

  it('a handler that throws gets an internal-error reply, not a crash', async () => {
    const box = makeBox();
    box.playback.nowPlaying = () => {
      throw new Error('boom');
    };
    const { ask } = setup(box);
    expect((await ask('status', '')).reply).to.deep.equal({ status: 'error', error: "internal error while handling 'status'" });
  });

  it('share: the owner opens, closes and stops sharing (refusing waiting joins, disconnecting listeners); others may not', async () => {
    const { ask, box } = setup();
    const removeAll = sinon.stub().returns(3);
    (box.listeners as unknown as { removeAll: sinon.SinonStub }).removeAll = removeAll;
    expect((await ask('share', '{"action":"open"}', 'g1')).reply.error).to.contain('owner');
    expect((await ask('share', '{"action":"wide"}', 'o', 'owner')).reply.error).to.contain("'action'");
    const opened = await ask('share', '{"action":"open","seconds":60}', 'o', 'owner');
    expect(opened.reply.status, JSON.stringify(opened.reply)).to.equal('ok');
    expect((opened.reply.data as { open: boolean; remainingMs: number }).open).to.equal(true);
    expect((opened.reply.data as { remainingMs: number }).remainingMs).to.be.within(59_000, 60_000);
    expect((await ask('share', '{"action":"close"}', 'o', 'owner')).reply.data).to.deep.include({ open: false });
    await ask('join', '{"name":"Carol"}', 'carol');
    expect(box.joins.pending.map((p) => p.clientId)).to.deep.equal(['carol']);
    const stopped = await ask('share', '{"action":"stop"}', 'o', 'owner');
    expect(stopped.reply.data, JSON.stringify(stopped.reply)).to.deep.include({ open: false, refused: 1, disconnected: 3 });
    expect(box.joins.pending).to.have.length(0);
    expect(removeAll.calledOnceWith('sharing stopped on the box')).to.equal(true);
  });

  it("the box's own callers (buttons, Home Assistant) are checked like anyone but not rate-limited", async () => {
    const { router } = setup(makeBox(), new RateLimiter(60, 2));
    const buttons = { clientId: 'buttons', serial: 0, address: 'box', role: 'owner' as const };
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(await router.ask(buttons, 'volume', { delta: 5 }));
    expect(
      replies.map((r) => r.status),
      JSON.stringify(replies.find((r) => r.status !== 'ok')),
    ).to.deep.equal(Array(10).fill('ok'));
    const guest = { clientId: 'g', serial: 0, address: 'box', role: 'guest' as const };
    expect((await router.ask(guest, 'volume', { delta: 5 })).error).to.contain('owner');
  });
});
