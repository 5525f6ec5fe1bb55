// Board pin maps (config/boards/<id>.json): which GPIO line each button and LED is
// on, and which GPIO chip holds them. Config may remap single lines.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ButtonName } from '../buttons/buttons.ts';

export type LedName = 'share' | 'status';
export const BOARDS = ['pi3', 'pi4', 'pi5', 'zero2w'] as const;
export type BoardId = (typeof BOARDS)[number];
const BUTTON_NAMES: ButtonName[] = ['share', 'playPause', 'next', 'volumeUp', 'volumeDown'];
const LED_NAMES: LedName[] = ['share', 'status'];

export interface Board {
  id: BoardId;
  name: string;
  /** the GPIO chip's label (sysfs and gpiod name it differently; the label is stable) and its chardev name */
  gpiochip: { label: string; chardev: string };
  buttons: Record<ButtonName, number>;
  leds: Record<LedName, number>;
}

const BOARDS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/boards');

/** /proc/device-tree/model → board id (pi4 when unknown) */
export function detectBoard(model: string | null): BoardId {
  const m = model ?? '';
  if (/Raspberry Pi 5/.test(m)) return 'pi5';
  if (/Raspberry Pi Zero 2/.test(m)) return 'zero2w';
  if (/Raspberry Pi 3/.test(m)) return 'pi3';
  return 'pi4';
}

function readModel(): string | null {
  try {
    return readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '');
  } catch {
    return null;
  }
}

function checkLine(where: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 511) throw new Error(`${where}: a GPIO line must be a whole number 0-511, got ${JSON.stringify(v)}`);
  return v as number;
}

export function loadBoard(id: BoardId | 'auto', overrides: { buttons?: Partial<Record<string, number>>; leds?: Partial<Record<string, number>> } = {}, dir = BOARDS_DIR): Board {
  const board = id === 'auto' ? detectBoard(readModel()) : id;
  if (!BOARDS.includes(board)) throw new Error(`unknown board '${board}' (known: ${BOARDS.join(', ')}, auto)`);
  const file = path.join(dir, `${board}.json`);
  let raw: { name?: unknown; gpiochip?: { label?: unknown; chardev?: unknown }; buttons?: Record<string, unknown>; leds?: Record<string, unknown> };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`board file ${file}: ${(e as Error).message}`);
  }
  const label = raw.gpiochip?.label;
  const chardev = raw.gpiochip?.chardev;
  if (typeof label !== 'string' || typeof chardev !== 'string') throw new Error(`board file ${file}: gpiochip.label and gpiochip.chardev must be strings`);
  const pick = <K extends string>(kind: 'buttons' | 'leds', names: K[]): Record<K, number> => {
    const out = {} as Record<K, number>;
    for (const k of Object.keys(overrides[kind] ?? {}))
      if (!names.includes(k as K)) throw new Error(`hardware.${kind}.map: unknown ${kind === 'buttons' ? 'button' : 'LED'} '${k}' (known: ${names.join(', ')})`);
    for (const n of names) out[n] = checkLine(overrides[kind]?.[n] !== undefined ? `hardware.${kind}.map.${n}` : `${file}: ${kind}.${n}`, overrides[kind]?.[n] ?? raw[kind]?.[n]);
    const used = Object.values(out) as number[];
    if (new Set(used).size !== used.length) throw new Error(`${kind}: two ${kind} on one GPIO line (${JSON.stringify(out)})`);
    return out;
  };
  return { id: board, name: String(raw.name), gpiochip: { label, chardev }, buttons: pick('buttons', BUTTON_NAMES), leds: pick('leds', LED_NAMES) };
}
