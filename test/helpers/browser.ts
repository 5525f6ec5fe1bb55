// Real headless Chromium (Debian's `chromium` through playwright-core). The page is
// loaded from a name that is not localhost (mapped to 127.0.0.1 by the resolver
// rules), so it is NOT a secure context, like a phone on http://192.168.49.1.

import { chromium, type Browser } from 'playwright-core';

export const PAGE_HOST = 'nearcast-box.test';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', `--host-resolver-rules=MAP ${PAGE_HOST} 127.0.0.1`,
      '--autoplay-policy=no-user-gesture-required'],
  });
}
