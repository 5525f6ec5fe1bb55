import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { KeyboardButtons, parseButtonCommand } from '../../../../hardware/buttons/keyboard-buttons.ts';

describe('keyboard buttons (the simulated twin)', () => {
  it('parses line commands and rejects nonsense', () => {
    expect(parseButtonCommand('share')).to.deep.equal({ button: 'share', gesture: 'click' });
    expect(parseButtonCommand(' share long ')).to.deep.equal({ button: 'share', gesture: 'long' });
    expect(parseButtonCommand('next double')).to.deep.equal({ button: 'next', gesture: 'double' });
    expect(parseButtonCommand('quit')).to.equal('quit');
    expect(parseButtonCommand('launch')).to.equal(null);
    expect(parseButtonCommand('share twice')).to.equal(null);
  });

  it('turns piped lines into presses, unknown lines into a report', () => {
    const input = new PassThrough() as unknown as NodeJS.ReadStream;
    const kb = new KeyboardButtons(input);
    const presses: unknown[] = [];
    const unknown: string[] = [];
    kb.on('press', (e) => presses.push(e));
    kb.on('unknown', (l) => unknown.push(l));
    kb.start();
    (input as unknown as PassThrough).write('share\nplayPause\nbogus\nvolumeUp lo');
    (input as unknown as PassThrough).write('ng\n');
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(presses).to.deep.equal([
          { button: 'share', gesture: 'click' },
          { button: 'playPause', gesture: 'click' },
          { button: 'volumeUp', gesture: 'long' },
        ]);
        expect(unknown).to.deep.equal(['bogus']);
        kb.stop();
        resolve();
      }),
    );
  });
});
