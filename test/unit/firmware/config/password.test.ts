import { expect } from 'chai';
import { hashPassword, verifyPassword } from '../../../../firmware/config/password.ts';

describe('owner password hashing', () => {
  it('verifies the right password and refuses a wrong one; hashes are salted', () => {
    const h = hashPassword('correct horse');
    expect(h).to.match(/^scrypt\$16384\$8\$1\$/);
    expect(verifyPassword('correct horse', h)).to.equal(true);
    expect(verifyPassword('correct horsE', h)).to.equal(false);
    expect(hashPassword('correct horse')).to.not.equal(h);
  });

  it('treats a missing or malformed hash as a refusal, never a crash', () => {
    for (const bad of [null, undefined, '', 'plain', 'scrypt$1$1$1$x$y', 'scrypt$16384$8$1$!!$??', `scrypt$${2 ** 30}$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==`]) {
      expect(verifyPassword('x', bad as string)).to.equal(false);
    }
  });
});
