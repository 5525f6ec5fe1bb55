import { expect } from 'chai';
import { canonicalZone, DAY_MS, formatClockTime, HOUR_MS, MINUTE_MS, parseClockTime, parseDate, weekdayOf, ZoneClock } from '../../../../../firmware/domain/programme/calendar.ts';
import { boundaryMinutes, everOpens, EVERY_DAY, firstChange, inWindow, readings, type Window } from '../../../../../firmware/domain/programme/windows.ts';
import { localTime, wallText } from './fixtures.ts';

const BERLIN = 'Europe/Berlin';
const iso = (instant: number) => new Date(instant).toISOString();
const day = (text: string) => parseDate(text) ?? NaN;
const window = (start: string, end: string, more: Partial<Window> = {}): Window => ({
  weekdays: EVERY_DAY,
  start: parseClockTime(start) ?? NaN,
  end: parseClockTime(end, true) ?? NaN,
  from: null,
  to: null,
  ...more,
});

describe('programme calendar: wall-clock time in the programme zone', () => {
  const clock = new ZoneClock(BERLIN);

  it('parses times and dates strictly: 24:00 only as an end, no 25:00, no 30 February', () => {
    expect([parseClockTime('00:00'), parseClockTime('23:59'), parseClockTime('24:00', true)]).to.deep.equal([0, 1439, 1440]);
    expect([parseClockTime('24:00'), parseClockTime('25:00', true), parseClockTime('12:60'), parseClockTime('7:30')]).to.deep.equal([null, null, null, null]);
    expect(parseDate('2026-02-28')).to.be.a('number');
    expect([parseDate('2026-02-29'), parseDate('2026-13-01'), parseDate('2026-1-1')]).to.deep.equal([null, null, null]);
    expect(weekdayOf(day('2026-03-29')), '2026-03-29 is a Sunday').to.equal(7);
    expect(weekdayOf(day('2026-03-30')), '2026-03-30 is a Monday').to.equal(1);
    expect(formatClockTime(450)).to.equal('07:30');
  });

  it('knows IANA zones by their canonical name and refuses unknown ones', () => {
    expect(canonicalZone('europe/berlin')).to.equal(BERLIN);
    expect(canonicalZone('UTC')).to.equal('UTC');
    expect(canonicalZone('Mars/Olympus_Mons')).to.equal(null);
    expect(canonicalZone('')).to.equal(null);
  });

  it('reads the wall clock on both sides of each DST change in Berlin', () => {
    expect(wallText(BERLIN, Date.UTC(2026, 2, 29, 0, 59, 59))).to.equal('2026-03-29 01:59:59 +01:00');
    expect(wallText(BERLIN, Date.UTC(2026, 2, 29, 1, 0, 0))).to.equal('2026-03-29 03:00:00 +02:00');
    expect(wallText(BERLIN, Date.UTC(2026, 9, 25, 0, 59, 59))).to.equal('2026-10-25 02:59:59 +02:00');
    expect(wallText(BERLIN, Date.UTC(2026, 9, 25, 1, 0, 0))).to.equal('2026-10-25 02:00:00 +01:00');
    expect(clock.offsetChanges(Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1)).map(iso)).to.deep.equal(['2026-03-29T01:00:00.000Z', '2026-10-25T01:00:00.000Z']);
  });

  it('maps a local time to its instants: none skipped but the jump in spring, two in the autumn hour, one otherwise', () => {
    const at = (date: string, time: string) => clock.instantsAt(day(date) * DAY_MS + (parseClockTime(time) ?? NaN) * MINUTE_MS).map(iso);
    expect(at('2026-03-29', '02:30'), 'skipped: the instant the clock jumps past it').to.deep.equal(['2026-03-29T01:00:00.000Z']);
    expect(at('2026-03-29', '03:00')).to.deep.equal(['2026-03-29T01:00:00.000Z']);
    expect(at('2026-10-25', '02:30'), 'shown twice').to.deep.equal(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']);
    expect(at('2026-10-25', '03:00')).to.deep.equal(['2026-10-25T02:00:00.000Z']);
    expect(at('2026-07-01', '12:00')).to.deep.equal(['2026-07-01T10:00:00.000Z']);
    // a zone with half-hour offsets and none of DST
    expect(new ZoneClock('Asia/Kolkata').instantsAt(day('2026-07-01') * DAY_MS + 12 * HOUR_MS).map(iso)).to.deep.equal(['2026-07-01T06:30:00.000Z']);
  });

  it('finds every instant a reading is shown in a stretch, jumps and repeats included', () => {
    const autumn = readings(clock, [120, 150, 180], Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 9, 25, 3)).map((reading) => iso(reading.instant));
    expect(autumn).to.deep.equal(['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z']);
    const spring = readings(clock, [120, 150, 180], Date.UTC(2026, 2, 28, 22), Date.UTC(2026, 2, 29, 3)).map((reading) => iso(reading.instant));
    expect(spring).to.deep.equal(['2026-03-29T01:00:00.000Z']);
    expect(readings(clock, [600], Date.UTC(2026, 6, 1, 8), Date.UTC(2026, 6, 1, 8)), 'an empty stretch').to.deep.equal([]);
  });
});

describe('programme windows: weekly, crossing midnight, with dates', () => {
  const clock = new ZoneClock(BERLIN);
  const wallAt = (text: string) => clock.wall(localTime(BERLIN, text));

  it('a window crossing midnight belongs to the day it starts on', () => {
    const friday = window('22:00', '02:00', { weekdays: 1 << 4 }); // Friday
    const cases: Array<[string, boolean]> = [
      ['2026-05-15 21:59', false],
      ['2026-05-15 22:00', true],
      ['2026-05-16 01:59', true],
      ['2026-05-16 02:00', false],
      ['2026-05-16 23:00', false],
      ['2026-05-15 01:00', false],
    ];
    for (const [text, open] of cases) expect(inWindow(friday, wallAt(text)), `${text} (Friday 2026-05-15 22:00 to Saturday 02:00)`).to.equal(open);
  });

  it('dates bound the days a window starts on; a range without one of its weekdays never opens', () => {
    const advent = window('10:00', '12:00', { from: day('2026-12-01'), to: day('2026-12-24') });
    expect(inWindow(advent, wallAt('2026-11-30 11:00'))).to.equal(false);
    expect(inWindow(advent, wallAt('2026-12-01 11:00'))).to.equal(true);
    expect(inWindow(advent, wallAt('2026-12-24 11:59'))).to.equal(true);
    expect(inWindow(advent, wallAt('2026-12-25 11:00'))).to.equal(false);
    expect(everOpens(window('10:00', '12:00', { weekdays: 1 << 5, from: day('2026-12-01'), to: day('2026-12-04') })), 'Tue-Fri holds no Saturday').to.equal(false);
    expect(everOpens(window('10:00', '12:00', { weekdays: 1 << 5, from: day('2026-12-01'), to: day('2026-12-05') }))).to.equal(true);
  });

  it('on the spring-forward day a 02:00-03:00 window never opens; on the fall-back day it is open for two real hours', () => {
    const night = [window('02:00', '03:00')];
    const minutes = boundaryMinutes(night);
    const isOn = (at: number) => inWindow(night[0] as Window, clock.wall(at));
    // spring: from Sunday 00:00 the next change is Monday 02:00 (+02:00)
    const spring = firstChange(clock, minutes, localTime(BERLIN, '2026-03-29 00:00'), localTime(BERLIN, '2026-04-01 00:00'), isOn, (a, b) => a === b);
    expect(spring && wallText(BERLIN, spring)).to.equal('2026-03-30 02:00:00 +02:00');
    const opens = firstChange(clock, minutes, localTime(BERLIN, '2026-10-25 00:00'), localTime(BERLIN, '2026-10-26 00:00'), isOn, (a, b) => a === b) ?? NaN;
    const closes = firstChange(clock, minutes, opens, localTime(BERLIN, '2026-10-26 00:00'), isOn, (a, b) => a === b) ?? NaN;
    expect(wallText(BERLIN, opens)).to.equal('2026-10-25 02:00:00 +02:00');
    expect(wallText(BERLIN, closes)).to.equal('2026-10-25 03:00:00 +01:00');
    expect((closes - opens) / HOUR_MS, 'hours open').to.equal(2);
  });

  it('a window crossing midnight lasts nine real hours on the night the clock goes back, eight otherwise', () => {
    const late = [window('22:00', '06:00', { weekdays: 1 << 5 })]; // Saturday nights
    const isOn = (at: number) => inWindow(late[0] as Window, clock.wall(at));
    const hoursOn = (saturday: string) => {
      const opens =
        firstChange(clock, boundaryMinutes(late), localTime(BERLIN, `${saturday} 12:00`), localTime(BERLIN, `${saturday} 12:00`) + 2 * DAY_MS, isOn, (a, b) => a === b) ?? NaN;
      const closes = firstChange(clock, boundaryMinutes(late), opens, opens + DAY_MS, isOn, (a, b) => a === b) ?? NaN;
      return (closes - opens) / HOUR_MS;
    };
    expect(hoursOn('2026-10-17'), 'an ordinary Saturday night').to.equal(8);
    expect(hoursOn('2026-10-24'), 'the night of 24 to 25 October 2026').to.equal(9);
    expect(hoursOn('2026-03-28'), 'the night of 28 to 29 March 2026').to.equal(7);
  });
});
