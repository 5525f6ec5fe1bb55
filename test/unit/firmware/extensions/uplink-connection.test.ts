import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../../firmware/config/config.ts';
import { protocolVersions, reconnectDelayMs, type UplinkConfig, uplinkClientOptions, urlForLogs } from '../../../../firmware/extensions/uplink-connection.ts';

const WILL = { topic: 'nearcast/b1/availability', payload: '{"state":"offline"}' };

describe('uplink connection settings', () => {
  let dir: string;
  let base: UplinkConfig;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-'));
    base = { ...loadConfig({ env: {} }).mqtt.uplink, url: 'mqtt://127.0.0.1:1883' };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: no uplink, MQTT 5 then 3.1.1, prefix nearcast, Home Assistant discovery on', () => {
    const { uplink } = loadConfig({ env: {} }).mqtt;
    expect(uplink).to.include({ url: null, protocol: 'auto', prefix: 'nearcast', homeassistant: true, keepaliveSeconds: 30, queueEvents: 1000 });
    expect(protocolVersions(uplink)).to.deep.equal([5, 4]);
    expect(protocolVersions({ ...uplink, protocol: '5' })).to.deep.equal([5]);
    expect(protocolVersions({ ...uplink, protocol: '3.1.1' })).to.deep.equal([4]);
  });

  it('the config refuses other schemes and prefixes with wildcards, naming the setting', () => {
    expect(() => loadConfig({ env: { NEARCAST_MQTT__UPLINK__URL: 'http://broker' } })).to.throw(/\/mqtt\/uplink\/url/);
    expect(() => loadConfig({ env: { NEARCAST_MQTT__UPLINK__PREFIX: 'shops/+' } })).to.throw(/\/mqtt\/uplink\/prefix/);
    expect(loadConfig({ env: { NEARCAST_MQTT__UPLINK__URL: 'wss://broker.example:8884/mqtt', NEARCAST_MQTT__UPLINK__PROTOCOL: '5' } }).mqtt.uplink).to.include({
      url: 'wss://broker.example:8884/mqtt',
      protocol: '5',
    });
  });

  it('the password comes from the config (or its environment variable), else from the first line of passwordFile', () => {
    expect(uplinkClientOptions({ ...base, username: 'box', password: 'p1' }, 'b1', 5, WILL).options).to.include({ username: 'box', password: 'p1' });
    const env = loadConfig({ env: { NEARCAST_MQTT__UPLINK__PASSWORD: '12345678' } }).mqtt.uplink;
    expect(env.password, 'a password of digits stays text').to.equal('12345678');
    writeFileSync(path.join(dir, 'pw'), 's3cret\nignored\n');
    expect(uplinkClientOptions({ ...base, passwordFile: path.join(dir, 'pw') }, 'b1', 5, WILL).options.password).to.equal('s3cret');
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(() => uplinkClientOptions({ ...base, passwordFile: path.join(dir, 'empty') }, 'b1', 5, WILL)).to.throw(/mqtt.uplink.passwordFile: .* is empty/);
    expect(() => uplinkClientOptions({ ...base, passwordFile: path.join(dir, 'nope') }, 'b1', 5, WILL)).to.throw(/mqtt.uplink.passwordFile: cannot read .*nope \(ENOENT\)/);
  });

  it('certificates: read from their files, only over TLS, cert and key together', () => {
    for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(path.join(dir, name), `-----${name}-----\n`);
    const tls = { ...base, url: 'mqtts://127.0.0.1:8883', ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    expect(uplinkClientOptions(tls, 'b1', 5, WILL).options).to.include({ ca: '-----ca.pem-----\n', cert: '-----cert.pem-----\n', key: '-----key.pem-----\n' });
    expect(() => uplinkClientOptions({ ...tls, key: null }, 'b1', 5, WILL)).to.throw(/cert and mqtt.uplink.key go together/);
    expect(() => uplinkClientOptions({ ...tls, url: 'mqtt://127.0.0.1:1883' }, 'b1', 5, WILL)).to.throw(/need an encrypted url/);
    expect(() => uplinkClientOptions({ ...tls, ca: path.join(dir, 'missing.pem') }, 'b1', 5, WILL)).to.throw(/mqtt.uplink.ca: cannot read/);
  });

  it('client id, keepalive, protocol and the retained last will', () => {
    const { options } = uplinkClientOptions({ ...base, keepaliveSeconds: 45 }, 'b1', 4, WILL);
    expect(options).to.include({ clientId: 'nearcast-b1', keepalive: 45, protocolVersion: 4, reconnectPeriod: 0 });
    expect(options.will).to.deep.include({ topic: WILL.topic, qos: 1, retain: true });
    expect(String(options.will!.payload)).to.equal(WILL.payload);
    expect(uplinkClientOptions({ ...base, clientId: 'shop-a-1' }, 'b1', 5, WILL).options.clientId).to.equal('shop-a-1');
    expect(uplinkClientOptions(base, 'b1', 5, WILL).options.properties, 'MQTT 5 bounds what the broker may send').to.deep.equal({ maximumPacketSize: 65536 });
    expect(options.properties, '3.1.1 has no such property').to.equal(undefined);
  });

  it('reconnect delays double up to the maximum, with half of each random', () => {
    expect([0, 1, 2, 3, 10].map((n) => reconnectDelayMs(n, 1, 60, () => 1))).to.deep.equal([1000, 2000, 4000, 8000, 60000]);
    expect([0, 1, 2, 3, 10].map((n) => reconnectDelayMs(n, 1, 60, () => 0))).to.deep.equal([500, 1000, 2000, 4000, 30000]);
    const spread = new Set(Array.from({ length: 50 }, () => reconnectDelayMs(4, 1, 60)));
    expect(spread.size, 'boxes that lost the broker together do not return together').to.be.greaterThan(30);
    for (const delay of spread) expect(delay).to.be.within(8000, 16000);
    expect(
      reconnectDelayMs(1000, 1, 60, () => 1),
      'no overflow after many attempts',
    ).to.equal(60000);
  });

  it('logs never show a password written into the url', () => {
    expect(urlForLogs('mqtts://box:s3cr:et@broker.example:8883/x')).to.equal('mqtts://box:***@broker.example:8883/x');
    expect(urlForLogs('wss://broker.example/mqtt')).to.equal('wss://broker.example/mqtt');
    expect(urlForLogs('mqtt://user@broker:1883')).to.equal('mqtt://user@broker:1883');
    expect(urlForLogs(null)).to.equal(null);
  });
});
