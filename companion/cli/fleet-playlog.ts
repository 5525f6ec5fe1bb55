// `nearcast fleet playlog`: the play logs of many boxes for a range of days, asked
// page by page (the box's `playlog` request answers bounded pages, README "Play
// log"), a few boxes at a time, into one CSV or JSON lines with the box's id on
// every row.

import type { MqttClient } from 'mqtt';
import { type PlayedItem, type PlayLogPage, toCsv } from '../../firmware/wire/play-log.ts';
import { askBox, subscribeReplies } from './fleet-client.ts';

export type FleetPlayedItem = PlayedItem & { box: string };

export interface BoxPlayLog {
  box: string;
  items: FleetPlayedItem[];
  /** why the box's log is missing or incomplete (the items are what came before) */
  error: string | null;
}

/** boxes asked at the same time: enough to hide the round trips, few enough not to flood a broker */
const CONCURRENT_BOXES = 8;
/** pages per box at most (500 items a page: far beyond any shop's year) */
const MAX_PAGES = 10_000;

function isPage(data: unknown): data is PlayLogPage {
  const page = data as PlayLogPage | null;
  return typeof page === 'object' && page !== null && Array.isArray(page.items) && (page.next === null || typeof page.next === 'string');
}

async function boxPlayLog(client: MqttClient, prefix: string, box: string, from: string, to: string, timeoutSeconds: number): Promise<BoxPlayLog> {
  const items: FleetPlayedItem[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    let data: unknown;
    try {
      const reply = await askBox(client, prefix, box, 'playlog', { from, to, ...(cursor !== null ? { cursor } : {}) }, timeoutSeconds, true);
      if (reply.status !== 'ok') return { box, items, error: reply.error ?? reply.status };
      data = reply.data;
    } catch (e) {
      return { box, items, error: (e as Error).message };
    }
    if (!isPage(data)) return { box, items, error: 'the reply is not a play log page' };
    for (const item of data.items) items.push({ box, ...item });
    if (data.next === null) return { box, items, error: null };
    if (data.next === cursor) return { box, items, error: `the box gave the same page twice (${cursor})` };
    cursor = data.next;
  }
  return { box, items, error: `more than ${MAX_PAGES} pages` };
}

/** Every box's play log from..to, in the order of `boxes`. */
export async function collectPlayLogs(client: MqttClient, prefix: string, boxes: string[], from: string, to: string, timeoutSeconds: number): Promise<BoxPlayLog[]> {
  await subscribeReplies(client, prefix, 'playlog');
  const out: BoxPlayLog[] = new Array(boxes.length);
  let next = 0;
  const worker = async () => {
    while (next < boxes.length) {
      const at = next++;
      out[at] = await boxPlayLog(client, prefix, boxes[at]!, from, to, timeoutSeconds);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_BOXES, boxes.length) }, worker));
  return out;
}

export function formatPlayLogs(logs: BoxPlayLog[], format: 'csv' | 'jsonl'): string {
  const items = logs.flatMap((log) => log.items);
  return format === 'csv' ? toCsv(items, { box: true }) : items.map((item) => JSON.stringify(item) + '\n').join('');
}
