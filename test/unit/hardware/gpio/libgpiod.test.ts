// The libgpiod binding against the real library this machine has (the Debian
// package gpiod brings libgpiod2 on bookworm, libgpiod3 on trixie): every
// function the LEDs use must bind by name in it. There is no GPIO chip here, so
// opening one must fail with a clear error; the LED writes themselves are tested
// against a stand-in library in gpiod-backend.test.ts.

import { expect } from 'chai';
import koffi from 'koffi';
import { LIBGPIOD_LIBRARIES, openOutputLines } from '../../../../hardware/gpio/libgpiod.ts';

/** the library this machine has, by the names the backend tries */
function installedLibgpiod(): { file: string; api: 1 | 2 } {
  for (const candidate of LIBGPIOD_LIBRARIES) {
    try {
      koffi.load(candidate.file).unload();
      return candidate;
    } catch {
      /* not this one */
    }
  }
  throw new Error(`no libgpiod here (tried ${LIBGPIOD_LIBRARIES.map((l) => l.file).join(', ')}): install the Debian package gpiod (make test-setup does)`);
}

describe('libgpiod through koffi (the real library, no chip)', () => {
  it('binds every function it uses and says which chip it could not open and why', () => {
    const installed = installedLibgpiod();
    expect(() => openOutputLines('/dev/nearcast-no-such-chip', [installed])).to.throw(/^libgpiod: gpiod_chip_open\(\/dev\/nearcast-no-such-chip\) failed: ENOENT$/);
    // the default search finds the same library
    expect(() => openOutputLines('/dev/nearcast-no-such-chip')).to.throw(/gpiod_chip_open\(\/dev\/nearcast-no-such-chip\) failed: ENOENT/);
  });

  it('a library whose version is not the API its file name promises is refused, naming both', () => {
    const installed = installedLibgpiod();
    const other = installed.api === 1 ? 2 : 1;
    expect(() => openOutputLines('/dev/gpiochip0', [{ file: installed.file, api: other }])).to.throw(
      new RegExp(`${installed.file.replace(/\./g, '\\.')}: is libgpiod ${installed.api}\\.\\d+\\.\\d+, expected ${other}\\.x`),
    );
  });

  it('no libgpiod at all: says what was tried and which package brings it', () => {
    expect(() =>
      openOutputLines('/dev/gpiochip0', [
        { file: 'libgpiod-nearcast-absent.so.3', api: 2 },
        { file: '/nonexistent/libgpiod.so.2', api: 1 },
      ]),
    ).to.throw(
      /^libgpiod not found \(install the Debian package gpiod, which brings libgpiod2 or libgpiod3\): libgpiod-nearcast-absent\.so\.3: .+; \/nonexistent\/libgpiod\.so\.2: .+/,
    );
  });
});
