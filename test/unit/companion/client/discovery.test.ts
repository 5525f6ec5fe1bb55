import { expect } from 'chai';
import { parseBoxAddress, parseStreamAddress, serviceToBox } from '../../../../companion/client/discovery.ts';

describe('finding a box', () => {
  it('parses --box HOST, HOST:PORT and [v6]:PORT', () => {
    expect(parseBoxAddress('192.0.2.7')).to.deep.equal({ host: '192.0.2.7', mqttPort: 1883 });
    expect(parseBoxAddress('box.local:1884')).to.deep.equal({ host: 'box.local', mqttPort: 1884 });
    expect(parseBoxAddress('[::1]:1885')).to.deep.equal({ host: '::1', mqttPort: 1885 });
    expect(() => parseBoxAddress('box:99999')).to.throw('port must be 1-65535');
    expect(() => parseBoxAddress('a b')).to.throw('is not HOST or HOST:PORT');
  });

  it('parses --stream HOST:PORT and [v6]:PORT, the port required', () => {
    expect(parseStreamAddress('127.0.0.1:4953')).to.deep.equal({ host: '127.0.0.1', port: 4953 });
    expect(parseStreamAddress('[::1]:7000')).to.deep.equal({ host: '::1', port: 7000 });
    expect(() => parseStreamAddress('127.0.0.1')).to.throw('is not HOST:PORT');
    expect(() => parseStreamAddress('relay:0')).to.throw('port must be 1-65535');
    expect(() => parseStreamAddress('relay:70000')).to.throw('port must be 1-65535');
  });

  it('reads a box from an mDNS service record (IPv4 first, ports from TXT)', () => {
    const b = serviceToBox({
      name: 'shop (nearcast-shop)',
      host: 'pi.local',
      port: 1883,
      addresses: ['fe80::1', '192.0.2.9'],
      txt: { id: 'nearcast-shop', mqtt: '1999' },
    } as never);
    expect(b).to.deep.equal({ host: '192.0.2.9', mqttPort: 1999, boxId: 'nearcast-shop', name: 'shop (nearcast-shop)' });
    expect(serviceToBox({ name: 'x', host: '', port: 1, addresses: [], txt: {} } as never)).to.equal(null);
  });
});
