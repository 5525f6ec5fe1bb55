// Real headless Chromium (Debian's `chromium` through playwright-core). The page is
// loaded from a name that is not localhost (mapped to 127.0.0.1 by the resolver
// rules), so it is NOT a secure context, like a phone on http://192.168.49.1.

import { chromium, type Browser, type Page } from 'playwright-core';

export const PAGE_HOST = 'nearcast-box.test';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', `--host-resolver-rules=MAP ${PAGE_HOST} 127.0.0.1`,
      '--autoplay-policy=no-user-gesture-required'],
  });
}

/** Starts recording, in the page, when each scheduled chunk leaves the speaker (wall clock,
 *  through getOutputTimestamp) and when the box wanted it out (box clock, µs). */
export async function recordSchedule(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__sched = [];
    w.__nearcast.player.onScheduled = (seq: number, t: number, dueUs: number) => {
      const ts = w.__nearcast.ctx.getOutputTimestamp();
      if (w.__sched.length < 20_000) w.__sched.push([seq, performance.timeOrigin + ts.performanceTime + (t - ts.contextTime) * 1000, dueUs]);
    };
  });
}

/** The recorded chunks' errors in ms (out − due, + late), on the wall clock; the box's clock is
 *  CLOCK_MONOTONIC like this process's, `wallOfMonoMs` is Date.now() − that clock in ms. Clears the record. */
export async function scheduleErrors(page: Page, wallOfMonoMs: number): Promise<number[]> {
  const rows = (await page.evaluate(() => { const w = window as any; const r = w.__sched; w.__sched = []; return r; })) as Array<[number, number, number]>;
  return rows.map(([, outWall, dueUs]) => outWall - (dueUs / 1000 + wallOfMonoMs));
}

/** What the page plays now, through an AnalyserNode on its output: the dominant frequency
 *  (zero crossings) and the peak, over `fftSize` frames after `ms` of listening. */
export function listen(page: Page, ms = 600, fftSize = 16384): Promise<{ hz: number; peak: number }> {
  return page.evaluate(async ([ms, fftSize]) => {
    const { player, ctx } = (window as any).__nearcast;
    const an: AnalyserNode = ctx.createAnalyser();
    an.fftSize = fftSize;
    player.gain.connect(an);
    await new Promise((r) => setTimeout(r, ms));
    const d = new Float32Array(an.fftSize);
    an.getFloatTimeDomainData(d);
    player.gain.disconnect(an);
    let crossings = 0;
    let peak = 0;
    for (let i = 1; i < d.length; i++) { const v = d[i]!; if (d[i - 1]! < 0 && v >= 0) crossings++; peak = Math.max(peak, Math.abs(v)); } // 1 <= i < d.length
    return { hz: (crossings * ctx.sampleRate) / d.length, peak };
  }, [ms, fftSize] as const);
}

/** Waits until the page's message line matches `re`; on timeout the error says what the page showed. */
export async function waitMessage(page: Page, re: RegExp, timeout = 20_000): Promise<void> {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('message')?.textContent ?? ''), re.source, { timeout })
    .catch(async (e: Error) => { throw new Error(`${e.message} (waiting for ${re}; the page says: ${await page.textContent('#message')})`); });
}
