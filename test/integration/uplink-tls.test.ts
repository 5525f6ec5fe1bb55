// The uplink over TLS to Debian's Mosquitto 2, logging in with a client certificate
// (mqtts://, the broker checks the certificate against its CA and takes the box's
// login from its common name): it connects with the right CA and certificate, and
// refuses a broker whose certificate its CA did not sign. The box's uplink code in
// process; certificates made by openssl for the test.

import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/box-process.ts';
import { inProcessBox } from '../helpers/in-process-uplink.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { makeCertificates, type TestCertificates } from '../helpers/test-certificates.ts';

describe('uplink over TLS with a client certificate (Mosquitto 2)', function () {
  this.timeout(60_000);
  let dir: string;
  let broker: Mosquitto;
  let certs: TestCertificates;
  let tlsUrl: string;
  let watcher: mqtt.MqttClient;
  const seen: Array<{ topic: string; text: string }> = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-tls-'));
    mkdirSync(path.join(dir, 'pki'));
    certs = makeCertificates(path.join(dir, 'pki'));
    broker = await startMosquitto({
      users: { watcher: 'w' },
      listeners: [
        (port) => [
          `listener ${port} 127.0.0.1`,
          `cafile ${certs.ca}`,
          `certfile ${certs.serverCert}`,
          `keyfile ${certs.serverKey}`,
          'require_certificate true',
          'use_identity_as_username true',
        ],
      ],
    });
    tlsUrl = `mqtts://127.0.0.1:${broker.extraPorts[0]}`;
    watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'watcher', username: 'watcher', password: 'w', reconnectPeriod: 0 });
    watcher.on('message', (topic, p) => seen.push({ topic, text: p.toString() }));
    await watcher.subscribeAsync('nearcast/#', { qos: 1 });
  });

  after(async () => {
    watcher?.end(true);
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with its certificate and the CA, and its topics arrive', async () => {
    const client = certs.client('box-t1');
    const box = inProcessBox('t1', dir, { url: tlsUrl, ca: certs.ca, cert: client.cert, key: client.key });
    await box.uplink.start();
    try {
      await waitFor('connected over TLS', () => box.uplink.connected, 15_000);
      await waitFor(
        'online and the state on the broker',
        () => seen.some((m) => m.topic === 'nearcast/t1/availability' && m.text.includes('online')) && seen.some((m) => m.topic === 'nearcast/t1/state'),
        10_000,
      );
      expect(
        broker.logs.some((line) => /New client connected .* as nearcast-t1 .*u'box-t1'/.test(line)),
        `the broker took the login from the certificate:\n${broker.logs.join('\n')}`,
      ).to.equal(true);
    } finally {
      await box.uplink.stop();
    }
  });

  it('refuses a broker whose certificate its CA did not sign, and keeps trying', async () => {
    mkdirSync(path.join(dir, 'other-pki'));
    const other = makeCertificates(path.join(dir, 'other-pki'));
    const client = certs.client('box-t2');
    const box = inProcessBox('t2', dir, { url: tlsUrl, ca: other.ca, cert: client.cert, key: client.key });
    await box.uplink.start();
    try {
      await waitFor('two refused attempts', () => box.logs.filter((l) => l.msg === 'uplink connection problem').length >= 2, 15_000);
      const errors = box.logs.filter((l) => l.msg === 'uplink connection problem').map((l) => String(l.extra?.error));
      expect(errors[0]).to.match(/certificate/i);
      expect(box.uplink.connected).to.equal(false);
      expect(seen.some((m) => m.topic.startsWith('nearcast/t2/'))).to.equal(false);
    } finally {
      await box.uplink.stop();
    }
  });
});
