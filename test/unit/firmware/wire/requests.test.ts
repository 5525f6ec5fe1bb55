import { expect } from 'chai';
import { parseRequest } from '../../../../firmware/wire/requests.ts';
import { boxTopics, OPS } from '../../../../firmware/wire/topics.ts';

describe('request payloads', () => {
  it('accepts a valid request and echoes its transaction', () => {
    const r = parseRequest('search', '{"query":"moon","limit":5,"transaction":"t1"}');
    expect(r).to.deep.equal({ ok: true, op: 'search', body: { query: 'moon', limit: 5 }, transaction: 't1' });
  });

  it('treats an empty payload as no arguments', () => {
    expect(parseRequest('status', '')).to.deep.include({ ok: true, op: 'status' });
  });

  const cases: Array<[string, string, string]> = [
    ['search', '{"query":', 'malformed JSON'],
    ['search', '[1,2]', 'must be a JSON object, got an array'],
    ['search', '42', 'must be a JSON object'],
    ['search', '{"query":7}', "field 'query' must be a string, got number 7"],
    ['search', '{}', "missing required field 'query'"],
    ['search', '{"query":"x","colour":"red"}', "unknown field 'colour' for 'search'"],
    ['volume', '{"volume":101}', "field 'volume' must be between 0 and 100, got 101"],
    ['volume', '{"volume":50.5}', "field 'volume' must be an integer"],
    ['volume', '{"volume":5,"delta":1}', "exactly one of 'volume' or 'delta'"],
    ['control', '{"action":"explode"}', 'must be one of pause, resume'],
    ['leave', '{"x":1}', 'it takes no fields'],
    ['fly', '{}', "unknown operation 'fly'"],
    ['status', '{"transaction":{}}', "field 'transaction'"],
  ];
  for (const [op, payload, msg] of cases) {
    it(`rejects ${op} ${payload} naming the problem`, () => {
      const r = parseRequest(op, payload);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.contain(msg);
    });
  }

  it('keeps the transaction on a rejected payload so the client can match the error', () => {
    const r = parseRequest('search', '{"transaction":9,"query":3}');
    expect(r).to.include({ ok: false, transaction: 9 });
    // also for an op this box does not know (a fleet asking an older box)
    expect(parseRequest('reboot', '{"transaction":"t1"}')).to.include({ ok: false, transaction: 't1' });
  });

  it('rejects invalid UTF-8 and oversize payloads', () => {
    expect(parseRequest('status', new Uint8Array([0xff, 0xfe]))).to.deep.include({ ok: false, error: 'payload is not valid UTF-8' });
    expect(parseRequest('status', 'x'.repeat(20000)).ok).to.equal(false);
  });

  it('set-programme takes a programme document as it is (the box checks it against the configuration schema), refusing prototype keys and deep nesting', () => {
    const programme = { playlists: [{ id: 'a', items: [{ folder: 'a', years: { from: 1990 } }], windows: [{ days: [1, 2], start: '08:00' }] }] };
    expect(parseRequest('set-programme', JSON.stringify({ programme, transaction: 3 }))).to.deep.equal({ ok: true, op: 'set-programme', body: { programme }, transaction: 3 });
    const poisoned = parseRequest('set-programme', '{"programme":{"playlists":[{"__proto__":{"x":1}}]}}');
    expect(poisoned).to.deep.include({ ok: false, error: "field 'programme.playlists[0].__proto__' is not allowed" });
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(parseRequest('set-programme', JSON.stringify({ programme: { deep } }))).to.include({ ok: false });
    expect(parseRequest('set-programme', '{"programme":[]}')).to.deep.include({ ok: false, error: "field 'programme' must be a JSON object, got an array" });
    expect(parseRequest('set-programme', '{}')).to.deep.include({ ok: false, error: "missing required field 'programme'" });
    // a programme may be bigger than other requests
    const big = { playlists: [{ id: 'a', items: [{ files: Array.from({ length: 800 }, (_, i) => `/music/shop/track-${i}.flac`) }] }] };
    expect(parseRequest('set-programme', JSON.stringify({ programme: big })).ok).to.equal(true);
    expect(parseRequest('playlist', '{"playlist":"Evening"}')).to.deep.include({ ok: true, body: { playlist: 'Evening' } });
  });

  it('parses request topics and nothing else', () => {
    const t = boxTopics('box1');
    expect(t.parseRequest(t.request('c1', 'join'))).to.deep.equal({ clientId: 'c1', op: 'join' });
    expect(t.parseRequest(t.response('c1', 'join'))).to.equal(null);
    expect(t.parseRequest('nearcast/other/client/c1/request/join')).to.equal(null);
    expect(OPS).to.include.members(['join', 'leave', 'status', 'search', 'play', 'enqueue', 'queue', 'control', 'volume', 'approve', 'deny']);
  });
});
