import { expect } from 'chai';
import { deviceConfig, homeAssistantCommand, perComponentConfigs, type DiscoverySpec } from '../../../../firmware/extensions/home-assistant-discovery.ts';
import { componentProblems, deviceDiscoveryProblems } from '../../../helpers/ha-discovery-check.ts';

const spec = (triggerMatch: DiscoverySpec['triggerMatch']): DiscoverySpec => ({
  boxId: 'b1',
  name: 'Shop',
  version: '1.2.3',
  sources: ['library', 'tone:440'],
  triggerMatch,
  topics: { state: 'p/b1/state', availability: 'p/b1/availability', buttonEvent: 'p/b1/event/button', command: (entity) => `p/b1/ha/${entity}/set` },
});

describe('Home Assistant discovery model', () => {
  it('one model, two envelopes: per component (embedded broker) and one device config (uplink), both acceptable to Home Assistant', () => {
    const perComponent = perComponentConfigs(spec('payload'));
    const device = deviceConfig(spec('template'));
    expect(device.topic).to.equal('homeassistant/device/b1/config');
    expect(deviceDiscoveryProblems(device.payload)).to.deep.equal([]);
    const cmps = (device.payload as { cmps: Record<string, { p: string }> }).cmps;
    expect(perComponent.size).to.equal(Object.keys(cmps).length);
    for (const [topic, config] of perComponent) {
      const [, platform, , key] = topic.split('/');
      expect(cmps[key!]!.p, topic).to.equal(platform);
      expect(componentProblems(topic, platform!, config as Record<string, unknown>)).to.deep.equal([]);
    }
  });

  it('button triggers match the exact payload on the embedded broker, and through a template on the uplink (whose events carry an id)', () => {
    const exact = perComponentConfigs(spec('payload')).get('homeassistant/device_automation/b1/share_long/config');
    expect(exact).to.include({ payload: '{"button":"share","gesture":"long"}', type: 'button_long_press', subtype: 'share' });
    expect(exact).to.not.have.property('value_template');
    const templated = (deviceConfig(spec('template')).payload as { cmps: Record<string, object> }).cmps.share_long;
    expect(templated).to.include({ payload: 'share_long', value_template: '{{ value_json.button }}_{{ value_json.gesture }}' });
  });

  it('a cover image entity when the spec has a cover topic (the uplink), none without (the embedded broker)', () => {
    const withCover = { ...spec('template'), topics: { ...spec('template').topics, cover: 'p/b1/cover' } };
    const device = deviceConfig(withCover).payload as { cmps: Record<string, Record<string, unknown>> };
    expect(device.cmps.cover).to.include({ p: 'image', image_topic: 'p/b1/cover', content_type: 'image/jpeg', unique_id: 'nearcast_b1_cover' });
    expect(deviceDiscoveryProblems(device)).to.deep.equal([]);
    expect((deviceConfig(spec('template')).payload as { cmps: object }).cmps).to.not.have.property('cover');
  });

  it("the HA-like check refuses what Home Assistant refuses in an image's config", () => {
    const base = { unique_id: 'u' };
    expect(componentProblems('c', 'image', { ...base })).to.deep.equal(['c: image needs exactly one of image_topic and url_topic, got neither']);
    expect(componentProblems('c', 'image', { ...base, image_topic: 'a', url_topic: 'b' })).to.deep.equal([
      'c: image needs exactly one of image_topic and url_topic, got image_topic and url_topic',
    ]);
    expect(componentProblems('c', 'image', { ...base, url_topic: 'b', content_type: 'image/png' })).to.deep.equal(['c: image content_type cannot go with url_topic']);
    expect(componentProblems('c', 'image', { ...base, image_topic: 'a/#' })).to.deep.equal(["c: image_topic 'a/#' holds a wildcard"]);
    expect(componentProblems('c', 'image', { ...base, image_topic: 'a', content_type: 'text/plain', image_encoding: 'hex' })).to.deep.equal([
      'c: image content_type must be an image/* type',
      "c: image_encoding may only be 'b64'",
    ]);
    expect(componentProblems('c', 'image', { image_topic: 'a' })).to.deep.equal(['c: unique_id is required in device discovery']);
    expect(componentProblems('c', 'image', { ...base, url_topic: 'b' })).to.deep.equal([]);
  });

  it("turns Home Assistant's commands into the owner's requests, and says what is wrong with a bad one", () => {
    expect(homeAssistantCommand('volume', '37.6')).to.deep.equal({ op: 'volume', body: { volume: 38 } });
    expect(homeAssistantCommand('volume', '150')).to.deep.equal({ op: 'volume', body: { volume: 100 } });
    expect(homeAssistantCommand('volume', 'loud')).to.deep.equal({ error: "volume command 'loud' is not a number" });
    expect(homeAssistantCommand('volume', '')).to.have.property('error');
    expect(homeAssistantCommand('source', 'tone:440')).to.deep.equal({ op: 'source', body: { source: 'tone:440' } });
    expect(homeAssistantCommand('previous', 'PRESS')).to.deep.equal({ op: 'control', body: { action: 'previous' } });
    expect(homeAssistantCommand('share', 'ON')).to.deep.equal({ op: 'share', body: { action: 'open' } });
    expect(homeAssistantCommand('share', 'OFF')).to.deep.equal({ op: 'share', body: { action: 'close' } });
    expect(homeAssistantCommand('share', 'maybe')).to.deep.equal({ error: "share command 'maybe' must be ON or OFF" });
    expect(homeAssistantCommand('announce', 'Closing in ten minutes')).to.deep.equal({ op: 'announce', body: { text: 'Closing in ten minutes' } });
    expect(homeAssistantCommand('announce', '')).to.deep.equal({ error: 'announce command is empty: type what the box should say' });
    expect(homeAssistantCommand('playlist', 'Evening')).to.deep.equal({ op: 'playlist', body: { playlist: 'Evening' } });
    expect(homeAssistantCommand('playlist', '')).to.deep.equal({ error: 'playlist command is empty: name a playlist of the programme' });
    expect(homeAssistantCommand('colour', 'red')).to.deep.equal({ error: "unknown Home Assistant command topic 'ha/colour/set'" });
  });
});
