// MQTT topic contract (README.md "MQTT topics"). Browser-safe.

export const TOPIC_ROOT = 'nearcast';

export const OPS = [
  'join',
  'leave',
  'status',
  'search',
  'play',
  'enqueue',
  'queue',
  'control',
  'volume',
  'source',
  'approve',
  'deny',
  'approvals',
  'share',
  'announce',
  'programme',
  'stations',
  'servers',
  'set-programme',
  'playlist',
  'playlog',
] as const;
export type Op = (typeof OPS)[number];

export function isOp(s: string): s is Op {
  return (OPS as readonly string[]).includes(s);
}

/** Client ids may not contain topic separators or wildcards (they become a topic level). */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;

export interface BoxTopics {
  prefix: string;
  availability: string;
  state: string;
  listeners: string;
  telemetry: string;
  event(name: string): string;
  request(clientId: string, op: string): string;
  response(clientId: string, op: string): string;
  /** subscription filter the box uses to receive every client's requests */
  allRequests: string;
  /** subscription filter a client uses to receive its own replies */
  myResponses(clientId: string): string;
  parseRequest(topic: string): { clientId: string; op: string } | null;
}

export function boxTopics(boxId: string): BoxTopics {
  const prefix = `${TOPIC_ROOT}/${boxId}/`;
  return {
    prefix,
    availability: prefix + 'availability',
    state: prefix + 'state',
    listeners: prefix + 'listeners',
    telemetry: prefix + 'telemetry',
    event: (name) => `${prefix}event/${name}`,
    request: (clientId, op) => `${prefix}client/${clientId}/request/${op}`,
    response: (clientId, op) => `${prefix}client/${clientId}/response/${op}`,
    allRequests: `${prefix}client/+/request/+`,
    myResponses: (clientId) => `${prefix}client/${clientId}/response/+`,
    parseRequest(topic) {
      if (!topic.startsWith(prefix)) return null;
      const parts = topic.slice(prefix.length).split('/');
      if (parts.length !== 4 || parts[0] !== 'client' || parts[2] !== 'request') return null;
      return { clientId: parts[1]!, op: parts[3]! }; // four parts, checked above
    },
  };
}
