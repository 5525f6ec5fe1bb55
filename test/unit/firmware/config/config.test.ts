import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, loadConfig } from '../../../../firmware/config/config.ts';

describe('box configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const errorOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('runs with no config at all, on safe defaults', () => {
    const c = loadConfig();
    expect(c).to.deep.include({ name: 'nearcast', source: 'library', stateDir: '.run/state' });
    expect(c.mqtt.port).to.equal(1883);
    expect(c.stream).to.include({ codec: 'opus', latencyMs: 400, chunkMs: 20, fifoSeconds: 5 });
    expect(c.share).to.include({ policy: 'button', windowSeconds: 120 });
    expect(c.permissions).to.deep.equal({ request: 'listeners', control: 'owner', volume: 'owner', source: 'owner' });
    expect(c.sources).to.deep.equal([]);
    expect(c.capture).to.deep.equal({ silenceSeconds: 30, silenceThreshold: 64, silenceFallback: 'none' });
    expect(c.boxId).to.match(/^nearcast-[a-z0-9-]+$/);
  });

  it('reads YAML and JSON files; environment beats the file and flags beat both', () => {
    const y = file('c.yaml', 'boxId: shop1\nmqtt:\n  port: 1884\nshare:\n  policy: approve\n');
    expect(loadConfig({ file: y })).to.deep.include({ boxId: 'shop1' });
    const j = file('c.json', JSON.stringify({ stream: { codec: 'pcm' } }));
    expect(loadConfig({ file: j }).stream.codec).to.equal('pcm');
    const c = loadConfig({
      file: y,
      env: { NEARCAST_MQTT__PORT: '1999', NEARCAST_SHARE__POLICY: 'open', NEARCAST_LIBRARY__FOLDERS: '["/m"]' },
      overrides: { mqtt: { port: 2000 } },
    });
    expect(c.mqtt.port).to.equal(2000);
    expect(c.share.policy).to.equal('open');
    expect(c.library.folders).to.deep.equal(['/m']);
  });

  it('names every problem by its path', () => {
    const msg = errorOf(() => loadConfig({ overrides: { mqtt: { port: 70000, prot: 1 }, share: { policy: 'opne' }, stream: { latencyMs: 50, codec: 7 } } }));
    expect(msg).to.contain('/mqtt/port must be <= 65535 (got 70000)');
    expect(msg).to.contain('unknown key /mqtt/prot');
    expect(msg).to.contain('/share/policy must be one of button, approve, open (got "opne")');
    expect(msg).to.contain('/stream/latencyMs must be >= 100 (got 50)');
    expect(msg).to.contain('/stream/codec must be one of opus, pcm (got 7)');
  });

  it('a syntax error names the file and line; a missing file says so', () => {
    const bad = file('bad.yaml', 'mqtt:\n  port: 1883\n share: [\n');
    expect(errorOf(() => loadConfig({ file: bad }))).to.match(/bad\.yaml:\d+:\d+: invalid YAML/);
    expect(errorOf(() => loadConfig({ file: file('bad.json', '{"a":') }))).to.contain('bad.json: invalid JSON');
    expect(errorOf(() => loadConfig({ file: path.join(dir, 'nope.yaml') }))).to.contain('cannot read the config file (ENOENT)');
  });

  it('config/default.yaml, the documented example, equals the schema defaults', () => {
    const { boxId: _a, ...fromFile } = loadConfig({ file: path.resolve('config/default.yaml') });
    const { boxId: _b, ...defaults } = loadConfig();
    expect(fromFile).to.deep.equal(defaults);
    // and it spells every setting out (a key missing from the file would be filled in by the defaults above)
    const raw = YAML.parse(readFileSync(path.resolve('config/default.yaml'), 'utf8')) as Record<string, unknown>;
    const missing: string[] = [];
    const walk = (d: Record<string, unknown>, r: Record<string, unknown>, at: string) => {
      for (const [k, v] of Object.entries(d)) {
        if (!(k in r)) missing.push(at + k);
        else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) walk(v as Record<string, unknown>, r[k] as Record<string, unknown>, `${at}${k}.`);
      }
    };
    walk(defaults as Record<string, unknown>, raw, '');
    expect(missing, 'settings missing from config/default.yaml').to.deep.equal([]);
  });

  it('a string setting from the environment keeps its text; null is null where the setting may be null', () => {
    const c = loadConfig({ env: { NEARCAST_WIFI__PASSPHRASE: '12345678', NEARCAST_WIFI__DEVICENAME: 'null', NEARCAST_NAME: '42', NEARCAST_STREAM__LATENCYMS: '500' } });
    expect(c.wifi).to.include({ passphrase: '12345678', deviceName: null });
    expect(c.name).to.equal('42');
    expect(c.stream.latencyMs).to.equal(500);
    expect(errorOf(() => loadConfig({ env: { NEARCAST_WIFI__PASSPHRASE: '1234' } }))).to.contain('/wifi/passphrase must NOT have fewer than 8 characters (got "1234")');
  });

  it('an unknown environment setting is an error, not silently ignored', () => {
    expect(errorOf(() => loadConfig({ env: { NEARCAST_MQTT__PROT: '1' } }))).to.contain('NEARCAST_MQTT__PROT: no setting /mqtt/prot');
  });
});
