import { expect } from 'chai';
import { identityOf, mayPublish, maySubscribe, validClientId } from '../../../../firmware/broker/acl.ts';

describe('broker access rules', () => {
  const sub: Array<[string, string, boolean]> = [
    ['bob', 'nearcast/box/state', true],
    ['bob', 'nearcast/box/availability', true],
    ['bob', 'nearcast/+/availability', true],
    ['bob', 'nearcast/box/event/#', true],
    ['bob', 'nearcast/box/event/button', true],
    ['bob', 'nearcast/box/client/bob/response/+', true],
    ['bob', 'nearcast/box/client/bob/#', true],
    ['bob~sub', 'nearcast/box/client/bob/response/#', true],
    ['bob', 'homeassistant/status', true],
    ['bob', '#', false],
    ['bob', 'nearcast/#', false],
    ['bob', 'nearcast/box/#', false],
    ['bob', 'nearcast/box/+', false],
    ['bob', 'nearcast/box/client/alice/response/join', false],
    ['bob', 'nearcast/box/client/+/response/#', false],
    ['bob', 'nearcast/+/client/+/request/+', false],
    ['bob', 'nearcast/box/client/bob2/#', false],
    ['bob', 'nearcast/box/state/#x', false],
    ['$box', '#', true],
  ];
  for (const [id, filter, ok] of sub) {
    it(`${ok ? 'lets' : 'refuses'} ${id} subscribe to ${filter}`, () => expect(maySubscribe(id, filter)).to.equal(ok));
  }

  it('a client publishes only its own request topics, never retained', () => {
    expect(mayPublish('bob', 'nearcast/box/client/bob/request/join', 'box', false)).to.equal(null);
    expect(mayPublish('bob~pub', 'nearcast/box/client/bob/request/join', 'box', false)).to.equal(null);
    expect(mayPublish('bob', 'nearcast/box/client/alice/request/join', 'box', false)).to.contain('may publish only to nearcast/box/client/bob/request/<op>');
    expect(mayPublish('bob', 'nearcast/box/state', 'box', false)).to.be.a('string');
    expect(mayPublish('bob', 'nearcast/box/client/bob/response/join', 'box', false)).to.be.a('string');
    expect(mayPublish('bob', 'nearcast/other/client/bob/request/join', 'box', false)).to.be.a('string');
    expect(mayPublish('bob', 'nearcast/box/client/bob/request/join', 'box', true)).to.equal('requests may not be retained');
    expect(mayPublish(null, 'nearcast/box/state', 'box', true)).to.equal(null);
  });

  it('Home Assistant: anyone may announce homeassistant/status; only the owner may command ha/<entity>/set', () => {
    expect(mayPublish('ha', 'homeassistant/status', 'b1', true)).to.equal(null);
    expect(mayPublish('ha', 'nearcast/b1/ha/volume/set', 'b1', false, 'owner')).to.equal(null);
    expect(mayPublish('ha', 'nearcast/b1/ha/volume/set', 'b1', false, 'guest')).to.match(/only the box owner/);
    expect(mayPublish('ha', 'nearcast/b1/ha/volume/set', 'b1', true, 'owner')).to.match(/retained/);
    expect(mayPublish('ha', 'nearcast/other/ha/volume/set', 'b1', false, 'owner')).to.match(/may publish only/);
    expect(mayPublish('ha', 'homeassistant/number/b1/volume/config', 'b1', true, 'owner')).to.match(/may publish only/);
  });

  it('the owner-only subtree (owner/wifi: the group passphrase) is for the logged-in owner alone', () => {
    expect(maySubscribe('bob', 'nearcast/box/owner/wifi', 'guest')).to.equal(false);
    expect(maySubscribe('bob', 'nearcast/box/owner/#', 'guest')).to.equal(false);
    expect(maySubscribe('bob', 'nearcast/+/owner/wifi', 'guest')).to.equal(false);
    expect(maySubscribe('me', 'nearcast/box/owner/wifi', 'owner')).to.equal(true);
    expect(maySubscribe('me', 'nearcast/box/owner/#', 'owner')).to.equal(true);
  });

  it('validates client ids and maps ~suffixes to their identity', () => {
    expect(validClientId('nc-1a2b')).to.equal(null);
    expect(validClientId('me~sub')).to.equal(null);
    expect(validClientId('a/b')).to.contain('must be 1-64 characters');
    expect(validClientId('a+b')).to.be.a('string');
    expect(validClientId('x'.repeat(65))).to.be.a('string');
    expect(validClientId('')).to.contain('empty client id');
    expect(identityOf('me~sub')).to.equal('me');
    expect(identityOf('me')).to.equal('me');
  });
});
