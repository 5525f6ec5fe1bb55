import { expect } from 'chai';
import { openSink, parseSinkSpec, describeSinkSpec } from '../../../../hardware/audio/open-sink.ts';
import { VirtualDac } from '../../../../hardware/audio/virtual-dac.ts';
import { AlsaSink } from '../../../../hardware/audio/alsa-sink.ts';
import { PulseSink } from '../../../../hardware/audio/pulse-sink.ts';
import { libpulse } from '../../../../hardware/audio/libpulse.ts';
import { DEFAULT_FORMAT } from '../../../../firmware/wire/format.ts';

describe('openSink', () => {
  it('"none" means no local playback', () => {
    expect(openSink('none', DEFAULT_FORMAT)).to.equal(null);
  });

  it('"sim" and "sim:±ppm" build a virtual DAC with that drift', () => {
    expect((openSink('sim', DEFAULT_FORMAT) as VirtualDac).ppm).to.equal(0);
    const fast = openSink('sim:+50', DEFAULT_FORMAT);
    expect(fast).to.be.instanceOf(VirtualDac);
    expect((fast as VirtualDac).ppm).to.equal(50);
    expect((openSink('sim:-80', DEFAULT_FORMAT) as VirtualDac).ppm).to.equal(-80);
  });

  it('anything else is an ALSA PCM name, opened lazily', () => {
    const s = openSink('plughw:1,0', DEFAULT_FORMAT);
    expect(s).to.be.instanceOf(AlsaSink);
    expect(s!.name).to.equal('plughw:1,0');
  });

  it('"pulse" is PulseAudio through libpulse where it loads (else ALSA\'s plugin); "alsa:NAME" is always the ALSA PCM NAME', () => {
    const pulse = openSink('pulse', DEFAULT_FORMAT);
    if (libpulse()) {
      expect(pulse).to.be.instanceOf(PulseSink);
      expect(pulse!.interpolatedDelay).to.equal(false);
      expect(describeSinkSpec('pulse')).to.equal('PulseAudio (libpulse)');
    } else expect(pulse).to.be.instanceOf(AlsaSink);
    const plugin = openSink('alsa:pulse', DEFAULT_FORMAT);
    expect(plugin).to.be.instanceOf(AlsaSink);
    expect(plugin!.name).to.equal('pulse');
    expect(parseSinkSpec(' alsa:hw:1,0 ')).to.deep.equal({ kind: 'alsa', pcm: 'hw:1,0' });
  });

  it('names the problem in a malformed spec', () => {
    expect(() => parseSinkSpec('alsa:')).to.throw(/ALSA PCM name after "alsa:" is empty/);
    expect(() => parseSinkSpec('')).to.throw(/empty/);
    expect(() => parseSinkSpec('sim:fast')).to.throw(/ppm must be a number/);
    expect(() => parseSinkSpec('sim:+99999')).to.throw(/within ±10000/);
  });

  it('describes specs for logs', () => {
    expect(describeSinkSpec('sim:-80')).to.equal('virtual DAC (-80 ppm)');
    expect(describeSinkSpec('default')).to.equal("ALSA PCM 'default'");
  });
});
