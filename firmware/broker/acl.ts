// Who may read and write which topics (like Mosquitto's %c patterns): a client
// reads the boxes' public topics and its own `client/<id>/` subtree, and writes
// only its own request topics (plus Home Assistant's status, and for the owner the
// `ha/<entity>/set` command topics of its discovery). Pure functions, no broker here.
//
// The logged-in owner may use a client id with a `~suffix` (`me~sub`): it then
// shares the subtree of `me`, so that mosquitto_sub and mosquitto_pub, which
// cannot share one id at the same time, can talk to the box together. The broker
// refuses `~` ids from anybody else (a guest could otherwise read another
// guest's replies). `nearcast/<box>/owner/...` is readable by the owner only.

import { CLIENT_ID_PATTERN } from '../wire/topics.ts';

export const BOX_CLIENT_ID = '$box';

/** The id whose `client/<id>/` subtree a connected client owns. */
export function identityOf(clientId: string): string {
  const i = clientId.indexOf('~');
  return i > 0 ? clientId.slice(0, i) : clientId;
}

export function validClientId(clientId: string): string | null {
  if (!clientId) return 'an empty client id is not accepted: choose one (it names your reply topics)';
  if (!CLIENT_ID_PATTERN.test(clientId.replace('~', '')) || clientId.length > 64) {
    return `client id '${clientId.slice(0, 80)}' must be 1-64 characters of letters, digits and _ . : @ - (one ~ allowed)`;
  }
  return null;
}

// '*' any one level, '**' any remainder (including nothing)
const PUBLIC: string[][] = [
  ['nearcast', '*', 'availability'],
  ['nearcast', '*', 'state'],
  ['nearcast', '*', 'listeners'],
  ['nearcast', '*', 'telemetry'],
  ['nearcast', '*', 'event', '**'],
  ['homeassistant', '**'],
];
const OWNER_ONLY: string[][] = [['nearcast', '*', 'owner', '**']];

/** MQTT topic filter matching ('+' one level, '#' the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** Every topic the filter can match is covered by the template. */
function covers(template: string[], filter: string[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    const t = template[i];
    const f = filter[i];
    if (t === '**') return true;
    if (t === undefined) return false;
    if (f === '#') return false; // '#' reaches deeper than any non-'**' template
    if (t === '*') continue;
    if (f !== t) return false; // a literal template level admits only itself, not '+'
  }
  return filter.length === template.length || template[filter.length] === '**';
}

export function maySubscribe(clientId: string, filter: string, role: 'owner' | 'guest' = 'guest'): boolean {
  if (clientId === BOX_CLIENT_ID) return true;
  const f = filter.split('/');
  if (f.some((l, i) => (l.includes('#') && (l !== '#' || i !== f.length - 1)) || (l.includes('+') && l !== '+'))) return false;
  const own = ['nearcast', '*', 'client', identityOf(clientId), '**'];
  return PUBLIC.some((t) => covers(t, f)) || covers(own, f) || (role === 'owner' && OWNER_ONLY.some((t) => covers(t, f)));
}

export function mayPublish(clientId: string | null, topic: string, boxId: string, retain: boolean, role: 'owner' | 'guest' = 'guest'): string | null {
  if (clientId === null || clientId === BOX_CLIENT_ID) return null; // the box itself
  const parts = topic.split('/');
  // Home Assistant: its birth message, and (logged in as the owner) its entity commands
  if (topic === 'homeassistant/status') return null;
  // simulated buttons (subscribed only on simulated hardware): the owner presses them
  if (topic === `nearcast/${boxId}/sim/button`)
    return role === 'owner' ? (retain ? 'button presses may not be retained' : null) : `only the box owner may press simulated buttons ('${topic}')`;
  if (parts.length === 5 && parts[0] === 'nearcast' && parts[1] === boxId && parts[2] === 'ha' && parts[4] === 'set') {
    if (role !== 'owner') return `only the box owner may command '${topic.slice(0, 120)}' (log in with the owner's username and password)`;
    return retain ? 'commands may not be retained' : null;
  }
  const mine =
    parts.length === 6 &&
    parts[0] === 'nearcast' &&
    parts[1] === boxId &&
    parts[2] === 'client' &&
    parts[3] === identityOf(clientId) &&
    parts[4] === 'request' &&
    parts[5]!.length > 0;
  if (!mine) return `client '${clientId}' may publish only to nearcast/${boxId}/client/${identityOf(clientId)}/request/<op>, not to '${topic.slice(0, 120)}'`;
  if (retain) return 'requests may not be retained';
  return null;
}
