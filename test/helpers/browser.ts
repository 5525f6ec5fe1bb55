// Real headless Chromium (Debian's `chromium` through playwright-core). The page is
// loaded from a name that is not localhost (mapped to 127.0.0.1 by the resolver
// rules), so it is NOT a secure context, like a phone on http://192.168.49.1.

import { monotonicUs } from '../../firmware/util/time.ts';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { WebPlayerStats } from '../../companion/web/web-player.ts';

export const PAGE_HOST = 'nearcast-box.test';

declare global {
  interface Window {
    /** what recordSchedule() records in the page: [seq, wall-clock ms out, box µs due] per chunk */
    __sched?: Array<[number, number, number]>;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', `--host-resolver-rules=MAP ${PAGE_HOST} 127.0.0.1`, '--autoplay-policy=no-user-gesture-required'],
  });
}

/** The page player's figures; an error when the page plays no stream. */
export function playerStats(page: Page): Promise<WebPlayerStats> {
  return page.evaluate(() => {
    const stream = window.__nearcast;
    if (!stream) throw new Error('the page plays no stream');
    return stream.player.stats();
  });
}

/** Starts recording, in the page, when each scheduled chunk leaves the speaker (wall clock,
 *  through getOutputTimestamp) and when the box wanted it out (box clock, µs). */
export async function recordSchedule(page: Page): Promise<void> {
  await page.evaluate(() => {
    const stream = window.__nearcast;
    if (!stream) throw new Error('the page plays no stream');
    window.__sched = [];
    stream.player.onScheduled = (seq: number, t: number, dueUs: number) => {
      const ts = stream.ctx.getOutputTimestamp();
      const sched = window.__sched; // scheduleErrors() replaces it: read it at every chunk
      if (sched && sched.length < 20_000) sched.push([seq, performance.timeOrigin + (ts.performanceTime ?? NaN) + (t - (ts.contextTime ?? NaN)) * 1000, dueUs]);
    };
  });
}

/**
 * The page's clock (performance.timeOrigin + performance.now(), what recordSchedule() stamps
 * with) minus this process's CLOCK_MONOTONIC, ms, read at once: the tightest of five brackets.
 * Not Date.now(): the page's origin is the wall clock at its load, and a wall clock that is
 * set (or slewed) afterwards moved every figure by as much (two suites failed together with
 * −30 ms).
 */
export async function pageClockOfMonoMs(page: Page): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: Number.NaN };
  for (let i = 0; i < 5; i++) {
    const before = monotonicUs();
    const pageMs = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = monotonicUs();
    if (after - before < best.rtt) best = { rtt: after - before, offset: pageMs - (before + after) / 2000 };
  }
  return best.offset;
}

/** The recorded chunks' errors in ms (out − due, + late), on the page's clock; the box's clock is
 *  CLOCK_MONOTONIC like this process's, `wallOfMonoMs` is pageClockOfMonoMs(). Clears the record. */
export async function scheduleErrors(page: Page, wallOfMonoMs: number): Promise<number[]> {
  const rows = await page.evaluate(() => {
    const r = window.__sched ?? [];
    window.__sched = [];
    return r;
  });
  return rows.map(([, outWall, dueUs]) => outWall - (dueUs / 1000 + wallOfMonoMs));
}

/** What the page plays now, through an AnalyserNode on its output: the dominant frequency
 *  (from the median interval between rising zero crossings, so a gap in the sound does not
 *  halve it), the peak, and the share of the window that was sound, over `fftSize` frames
 *  after `ms` of listening. */
export function listen(page: Page, ms = 600, fftSize = 16384): Promise<{ hz: number; peak: number; soundFraction: number }> {
  return page.evaluate(
    async ([ms, fftSize]) => {
      const stream = window.__nearcast;
      if (!stream) throw new Error('the page plays no stream');
      const { player, ctx } = stream;
      const an: AnalyserNode = ctx.createAnalyser();
      an.fftSize = fftSize;
      player.gain.connect(an);
      await new Promise((r) => setTimeout(r, ms));
      const d = new Float32Array(an.fftSize);
      an.getFloatTimeDomainData(d);
      player.gain.disconnect(an);
      const crossings: number[] = [];
      let peak = 0;
      let sound = 0;
      for (let i = 1; i < d.length; i++) {
        const v = d[i]!;
        if (d[i - 1]! < 0 && v >= 0) crossings.push(i);
        peak = Math.max(peak, Math.abs(v));
        if (Math.abs(v) > 1e-3) sound++;
      } // 1 <= i < d.length
      const intervals = crossings.slice(1).map((c, k) => c - crossings[k]!);
      intervals.sort((a, b) => a - b);
      const median = intervals[Math.floor(intervals.length / 2)];
      return { hz: median ? ctx.sampleRate / median : 0, peak, soundFraction: sound / d.length };
    },
    [ms, fftSize] as const,
  );
}

/** Waits until the page's message line matches `re`; on timeout the error says what the page showed. */
export async function waitMessage(page: Page, re: RegExp, timeout = 20_000): Promise<void> {
  await page
    .waitForFunction((src) => new RegExp(src).test(document.getElementById('message')?.textContent ?? ''), re.source, { timeout })
    .catch(async (e: Error) => {
      throw new Error(`${e.message} (waiting for ${re}; the page says: ${await page.textContent('#message')})`);
    });
}
