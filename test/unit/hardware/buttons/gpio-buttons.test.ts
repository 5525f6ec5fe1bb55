import { expect } from 'chai';
import { GpioButtons } from '../../../../hardware/buttons/gpio-buttons.ts';
import type { GpioBackend } from '../../../../hardware/gpio/gpio-backend.ts';

/** a backend that records its watches and lets the test drive edges */
function recordingBackend() {
  const watches: Array<{ lines: number[]; onEdge: (line: number, pressed: boolean) => void }> = [];
  const backend: GpioBackend = {
    kind: 'gpiod',
    watch: async (lines, onEdge) => {
      watches.push({ lines, onEdge });
    },
    setLed: () => undefined,
    close: async () => undefined,
  };
  return { backend, watches };
}

describe('GpioButtons', () => {
  it('watches the lines once although the panel starts it and the buttons extension starts it again', async () => {
    const { backend, watches } = recordingBackend();
    const buttons = new GpioButtons(backend, { share: 17, playPause: 27, next: 22, volumeUp: 23, volumeDown: 24 });
    await buttons.startWatching();
    buttons.start();
    await buttons.startWatching();
    expect(watches.map((w) => w.lines)).to.deep.equal([[17, 27, 22, 23, 24]]);
    buttons.stop();
  });
});
