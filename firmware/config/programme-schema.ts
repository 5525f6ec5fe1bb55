// The configuration's `programme` section, the kiosk's day (playlists, interstitials,
// opening hours, volume), which config-schema.ts places under `programme`. Build time only,
// like config-schema.ts: the box never imports it (that file says why).
//
// Times are local wall-clock times in `programme.timeZone`; what the patterns cannot say
// (calendar dates, references between entries, windows that never open, zones) is checked
// when the programme is compiled (firmware/domain/programme/validate.ts), with the same paths.

import { Type } from '@sinclair/typebox';
import { Nullable, OneOf, Section } from './schema-builders.ts';

const CLOCK_TIME = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
const ProgrammeId = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });
const TagValues = (what: string) =>
  Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      minItems: 1,
      maxItems: 64,
      description: `tracks whose ${what} is one of these (case and accents ignored)`,
    }),
  );
const Year = Type.Integer({ minimum: 0, maximum: 9999 });
const WindowFields = {
  days: Type.Optional(
    Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
      description: 'ISO weekdays the window starts on, 1 Monday ... 7 Sunday; absent: every day',
    }),
  ),
  start: Type.String({ pattern: CLOCK_TIME, default: '00:00', description: 'local time HH:MM' }),
  end: Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$', default: '24:00', description: 'local time HH:MM, exclusive; before start: the window crosses midnight' }),
  from: Type.Optional(Type.String({ pattern: DATE, description: 'first date (YYYY-MM-DD) the window starts on' })),
  to: Type.Optional(Type.String({ pattern: DATE, description: 'last date the window starts on (inclusive)' })),
};
const Windows = (description: string) => Type.Array(Type.Object(WindowFields, { additionalProperties: false }), { maxItems: 64, default: [], description });
/** Which tracks an entry means: the library tracks that pass every filter it names, URL items, or a music server's songs. */
const TrackQuery = {
  folder: Type.Optional(Type.String({ minLength: 1, description: 'an absolute folder, or a relative one (a folder of that name anywhere in the library)' })),
  glob: Type.Optional(Type.String({ minLength: 1, description: 'path pattern with * ** ? [...] {a,b}; a relative one matches the end of the path' })),
  files: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 10000, description: 'files in this order (sequential playlists keep it)' })),
  genre: TagValues('genre'),
  artist: TagValues('artist'),
  album: TagValues('album'),
  years: Type.Optional(Type.Object({ from: Type.Optional(Year), to: Type.Optional(Year) }, { additionalProperties: false, minProperties: 1 })),
  urls: Type.Optional(
    Type.Array(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }), {
      minItems: 1,
      maxItems: 64,
      uniqueItems: true,
      description: 'http(s) URLs of the items (a news bulletin, an ad server, a stream of songs), fetched when they play; alone in the entry',
    }),
  ),
  server: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'a music server (config servers, or added over MQTT): its songs of search, else of genre, else of artist/album (filtered by the tags named)',
    }),
  ),
  search: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "with server: the server's search for this text" })),
  station: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'a radio station by name (config stations, or added over MQTT), played for minutes' })),
  minutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1440, description: 'with station: how long it plays each time it is picked' })),
};
const ORDERS = ['shuffle', 'sequential', 'random'] as const;

const Playlist = Type.Object(
  {
    id: Type.Optional(ProgrammeId),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    items: Type.Array(Type.Object(TrackQuery, { additionalProperties: false, minProperties: 1 }), { maxItems: 256, default: [] }),
    windows: Windows('when the playlist is on; none: always'),
    weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'share of the songs among the playlists on at the same time' }),
    order: OneOf(ORDERS, { default: 'shuffle' }),
    noRepeat: Type.Optional(
      Type.Object(
        {
          songs: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          minutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10080 })),
        },
        { additionalProperties: false, minProperties: 1, description: 'order random: a track is not picked again within this many songs and/or minutes' },
      ),
    ),
  },
  { additionalProperties: false },
);

const Interstitial = Type.Object(
  {
    id: Type.Optional(ProgrammeId),
    kind: OneOf(['jingle', 'ad', 'news', 'announcement'], { default: 'jingle' }),
    source: Type.Optional(
      Type.Object(
        {
          ...TrackQuery,
          playlist: Type.Optional(ProgrammeId),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
    everySongs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'after this many songs' })),
    everyMinutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10080, description: 'this long after the last time, at the next song boundary' })),
    at: Type.Optional(Type.Array(Type.String({ pattern: CLOCK_TIME }), { minItems: 1, maxItems: 96, uniqueItems: true, description: 'daily at these local times' })),
    atMinute: Type.Optional(Type.Integer({ minimum: 0, maximum: 59, description: 'at this minute of every hour' })),
    interrupt: OneOf(['none', 'fade'], { default: 'none', description: 'at/atMinute: none waits for the song to end; fade fades the song out to start on time' }),
    priority: Type.Integer({ minimum: 0, maximum: 100, default: 0, description: 'the higher plays first when two are due' }),
    order: OneOf(ORDERS, { default: 'sequential' }),
    windows: Windows('when the rule applies; none: always'),
    lateMinutes: Type.Number({ minimum: 0, maximum: 1440, default: 10, description: 'at/atMinute: a time passed longer ago than this at the song boundary is skipped' }),
  },
  { additionalProperties: false },
);

export const Programme = Section({
  timeZone: Nullable(Type.String({ minLength: 1, maxLength: 64 }), { default: null, description: "IANA time zone of every time in the programme; null: the system's" }),
  playlists: Type.Array(Playlist, { maxItems: 64, default: [], description: 'none: the box plays its library queue as it does without a programme' }),
  interstitials: Type.Array(Interstitial, { maxItems: 64, default: [], description: 'jingles, ads, news between songs' }),
  minGapMinutes: Type.Number({ minimum: 0, maximum: 1440, default: 0, description: 'between two interstitials of every-songs/every-minutes rules (fixed-time ones are exempt)' }),
  fadeMs: Type.Integer({ minimum: 0, maximum: 30000, default: 2000, description: 'fade-out before an interrupting interstitial and at closing time' }),
  openingHours: Windows('when the box plays; none: always'),
  closures: Type.Array(
    Type.Object(
      {
        from: Type.Optional(Type.String({ pattern: DATE })),
        to: Type.Optional(Type.String({ pattern: DATE, description: 'last closed date (inclusive); absent: from only' })),
        note: Type.Optional(Type.String({ maxLength: 128 })),
      },
      { additionalProperties: false },
    ),
    { maxItems: 366, default: [], description: 'whole local days the box stays silent' },
  ),
  volume: Section({
    max: Type.Integer({ minimum: 0, maximum: 100, default: 100, description: 'buttons and requests cannot set the speaker louder' }),
    windows: Type.Array(Type.Object({ ...WindowFields, volume: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) }, { additionalProperties: false }), {
      maxItems: 64,
      default: [],
      description: 'the speaker volume from each window start; the first window that matches wins',
    }),
  }),
});
