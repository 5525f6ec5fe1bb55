import { expect } from 'chai';
import { openSink, parseSinkSpec, describeSinkSpec } from '../../../../hardware/audio/open-sink.ts';
import { VirtualDac } from '../../../../hardware/audio/virtual-dac.ts';
import { AlsaSink } from '../../../../hardware/audio/alsa-sink.ts';
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

  it('names the problem in a malformed spec', () => {
    expect(() => parseSinkSpec('')).to.throw(/empty/);
    expect(() => parseSinkSpec('sim:fast')).to.throw(/ppm must be a number/);
    expect(() => parseSinkSpec('sim:+99999')).to.throw(/within ±10000/);
  });

  it('describes specs for logs', () => {
    expect(describeSinkSpec('sim:-80')).to.equal('virtual DAC (-80 ppm)');
    expect(describeSinkSpec('default')).to.equal("ALSA PCM 'default'");
  });
});
