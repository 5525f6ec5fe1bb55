// "moon rivr", "cafe", "月の" → the right song. Everything that can be is done
// once at construction (normalized fields, a word index and a CJK n-gram
// index), so a query only touches the vocabulary and the candidates it hits.
import { itemAt } from '../util/checked-index.ts';
import type { Track } from './track.ts';

export interface SearchHit {
  track: Track;
  /** Higher is better; comparable within one query only. */
  score: number;
}

type FieldName = 'title' | 'artist' | 'album' | 'fileName';

/** How much a match in each field is worth; the match's quality matters more (see fieldFactor). */
const FIELD_WEIGHT: Record<FieldName, number> = { title: 1, fileName: 0.7, artist: 0.6, album: 0.5 };
const FIELDS: FieldName[] = ['title', 'artist', 'album', 'fileName'];

// Match qualities: exact beats prefix beats fuzzy whatever the field.
const EXACT = 1;
const CJK_INSIDE = 0.9;
const PREFIX = 0.8;
const FUZZY1 = 0.6;
const FUZZY2 = 0.5;
const CJK_PARTIAL = 0.5;

const MAX_QUERY_CHARS = 200;
const MAX_TERMS = 16;

interface IndexedField {
  weight: number;
  /** Normalized terms joined by single spaces, for phrase matches. */
  text: string;
  cjkRuns: string[];
  cjkGrams: Set<string>;
}

interface Entry {
  track: Track;
  fields: IndexedField[];
}

interface Term {
  text: string;
  cjk: boolean;
}

/** Quality scales the score; the field only nudges it, so an exact album hit beats a typo'd title. */
function fieldFactor(weight: number): number {
  return 0.7 + 0.3 * weight;
}

export class LibraryIndex {
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, Track>();
  /** word → postings as entry index * 4 + field index. */
  private readonly words = new Map<string, number[]>();
  private readonly sortedWords: string[];
  /** CJK unigram/bigram → entry indexes. */
  private readonly grams = new Map<string, Set<number>>();

  constructor(tracks: Track[]) {
    for (const track of tracks) {
      if (this.byId.has(track.id)) continue; // first one wins; ids are meant to be unique
      const e = this.entries.length;
      const fields: IndexedField[] = FIELDS.map((name, f) => {
        const raw = name === 'fileName' ? stripExtension(track.fileName) : track[name];
        const terms = tokenize(normalizeText(raw ?? ''));
        const cjkRuns = terms.filter((t) => t.cjk).map((t) => t.text);
        const cjkGrams = new Set<string>();
        for (const run of cjkRuns) for (const g of ngrams(run)) cjkGrams.add(g);
        for (const t of terms) if (!t.cjk) addPosting(this.words, t.text, e * 4 + f);
        for (const g of cjkGrams) {
          let s = this.grams.get(g);
          if (!s) {
            s = new Set();
            this.grams.set(g, s);
          }
          s.add(e);
        }
        return { weight: FIELD_WEIGHT[name], text: terms.map((t) => t.text).join(' '), cjkRuns, cjkGrams };
      });
      this.entries.push({ track, fields });
      this.byId.set(track.id, track);
    }
    this.sortedWords = [...this.words.keys()].sort();
  }

  get(id: string): Track | undefined {
    return this.byId.get(id);
  }

  all(): Track[] {
    return this.entries.map((e) => e.track);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The entry an index posting or CJK gram points at; they are made with the entries, so always in range. */
  private entryAt(e: number): Entry {
    return itemAt(this.entries, e, 'library index entry');
  }

  search(query: string, limit = 10): SearchHit[] {
    if (typeof query !== 'string') throw new TypeError('search query must be a string');
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`search limit must be a positive integer, got ${String(limit)}`);
    const terms = tokenize(normalizeText(query.slice(0, MAX_QUERY_CHARS))).slice(0, MAX_TERMS);
    if (terms.length === 0) return [];

    // entry → best score per query term
    const perTerm = new Map<number, Float64Array>();
    const credit = (e: number, t: number, score: number): void => {
      let row = perTerm.get(e);
      if (!row) {
        row = new Float64Array(terms.length);
        perTerm.set(e, row);
      }
      if (score > row[t]!) row[t] = score; // row has one slot per term, t is a term's index
    };
    terms.forEach((term, t) => {
      if (term.cjk) this.matchCjk(term.text, t, credit);
      else this.matchWord(term.text, t, credit);
    });

    const phrase = terms.map((t) => t.text).join(' ');
    const hits: SearchHit[] = [];
    for (const [e, row] of perTerm) {
      let sum = 0;
      let matched = 0;
      for (const s of row) {
        sum += s;
        if (s > 0) matched++;
      }
      let score = sum / terms.length + (matched === terms.length ? 0.1 : 0);
      const entry = this.entryAt(e);
      score += this.phraseBonus(entry, phrase);
      hits.push({ track: entry.track, score });
    }
    // Ties break on title then id so results are deterministic; plain comparison keeps it cheap.
    hits.sort((a, b) => b.score - a.score || cmp(a.track.title, b.track.title) || cmp(a.track.id, b.track.id));
    return hits.slice(0, limit);
  }

  private matchWord(q: string, t: number, credit: (e: number, t: number, s: number) => void): void {
    const apply = (word: string, quality: number): void => {
      for (const p of this.words.get(word) ?? []) {
        const e = Math.floor(p / 4);
        credit(e, t, quality * fieldFactor(itemAt(this.entryAt(e).fields, p % 4, 'library index field').weight));
      }
    };
    if (this.words.has(q)) apply(q, EXACT);
    // Word prefixes, for results while the user is still typing.
    for (let i = lowerBound(this.sortedWords, q); i < this.sortedWords.length; i++) {
      const w = this.sortedWords[i]!; // i < sortedWords.length (the loop's bound)
      if (!w.startsWith(q)) break;
      if (w !== q) apply(w, PREFIX);
    }
    const maxEdits = q.length >= 8 ? 2 : q.length >= 4 ? 1 : 0;
    if (maxEdits === 0) return;
    for (const w of this.sortedWords) {
      if (w === q || Math.abs(w.length - q.length) > maxEdits) continue;
      const d = damerauLevenshtein(q, w, maxEdits);
      if (d <= maxEdits) apply(w, d === 1 ? FUZZY1 : FUZZY2);
    }
  }

  private matchCjk(q: string, t: number, credit: (e: number, t: number, s: number) => void): void {
    const qGrams = q.length === 1 ? [q] : bigrams(q);
    const candidates = new Set<number>();
    for (const g of qGrams) for (const e of this.grams.get(g) ?? []) candidates.add(e);
    for (const e of candidates) {
      for (const f of this.entryAt(e).fields) {
        let quality = 0;
        if (f.cjkRuns.includes(q)) quality = EXACT;
        else if (f.cjkRuns.some((r) => r.includes(q))) quality = CJK_INSIDE;
        else {
          const share = qGrams.filter((g) => f.cjkGrams.has(g)).length / qGrams.length;
          if (share >= 0.5) quality = CJK_PARTIAL * share;
        }
        if (quality > 0) credit(e, t, quality * fieldFactor(f.weight));
      }
    }
  }

  /** The query as a contiguous phrase (or the whole field) is worth more than scattered words. */
  private phraseBonus(entry: Entry, phrase: string): number {
    const hasCjk = CJK_CHAR.test(phrase);
    let best = 0;
    for (const f of entry.fields) {
      if (!f.text) continue;
      let b = 0;
      if (f.text === phrase) b = 0.3;
      else if (` ${f.text} `.includes(` ${phrase} `)) b = 0.2;
      else if (hasCjk && f.text.includes(phrase)) b = 0.15; // CJK has no word boundaries to respect
      if (b > 0) best = Math.max(best, b * fieldFactor(f.weight));
    }
    return best;
  }
}

const FOLDS: Record<string, string> = { ß: 'ss', œ: 'oe', æ: 'ae', ø: 'o', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ı: 'i' };

/**
 * Case-, width- and accent-insensitive form: "ＣＡＦÉ" → "cafe", "Straße" → "strasse".
 * Kana voicing marks are kept (が ≠ か); only marks on other letters are dropped.
 */
export function normalizeText(s: string): string {
  const folded = s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[ßœæøđðłþı]/g, (c) => FOLDS[c] ?? c);
  return folded
    .normalize('NFKD')
    .replace(/(?![\u3099\u309a])\p{M}/gu, '')
    .normalize('NFC')
    .replace(/['’`]/g, ''); // "don't" is one word
}

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc\u3005]/u;
const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Splits normalized text into words and runs of CJK characters (which have no spaces). */
export function tokenize(normalized: string): Term[] {
  const out: Term[] = [];
  let word = '';
  let cjk = '';
  const flush = (): void => {
    if (word) out.push({ text: word, cjk: false });
    if (cjk) out.push({ text: cjk, cjk: true });
    word = '';
    cjk = '';
  };
  for (const ch of normalized) {
    if (CJK_CHAR.test(ch)) {
      if (word) flush();
      cjk += ch;
    } else if (WORD_CHAR.test(ch)) {
      if (cjk) flush();
      word += ch;
    } else flush();
  }
  flush();
  return out;
}

function ngrams(run: string): string[] {
  return [...Array.from(run), ...bigrams(run)];
}

function bigrams(run: string): string[] {
  const chars = Array.from(run);
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/** Optimal-string-alignment distance (adjacent swaps count as one edit); gives up past `max`. */
export function damerauLevenshtein(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  // the three rows hold m + 1 cells and 1 <= j <= m below, so every cell read is in range
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

function addPosting(index: Map<string, number[]>, word: string, posting: number): void {
  const list = index.get(word);
  // Postings arrive in entry/field order, so a duplicate can only be the last one.
  if (!list) index.set(word, [posting]);
  else if (list[list.length - 1] !== posting) list.push(posting);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key)
      lo = mid + 1; // lo <= mid < hi <= sorted.length
    else hi = mid;
  }
  return lo;
}

function stripExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
