// Who acts on the box. Requests, buttons and Home Assistant commands all act as a
// Caller; the domain keeps rights (a listener's, the owner's) with the Caller that
// earned them. ARCHITECTURE.md "Control path".

export type Role = 'owner' | 'guest';

/**
 * One MQTT connection, or the box itself (its buttons, Home Assistant commands).
 * `serial` tells two connections with the same client id apart (one that left and
 * a later one), so a reply, a stream token or a listener's rights stay with the
 * connection that earned them. The box's own callers have serial 0.
 */
export interface Caller {
  readonly clientId: string;
  readonly serial: number;
  readonly address: string;
  readonly role: Role;
}

/** who may do a thing the owner can share (config `permissions`) */
export type PermissionLevel = 'owner' | 'listeners' | 'nobody';

/** serial of the callers that are the box itself (no MQTT connection) */
export const BOX_SERIAL = 0;

/** the box's own controls (buttons on its case, the simulated console): they act with the owner's rights */
export const BUTTONS: Caller = { clientId: 'buttons', serial: BOX_SERIAL, address: 'box', role: 'owner' };
/** Home Assistant's commands (only the owner's connection may publish them) */
export const HOME_ASSISTANT: Caller = { clientId: 'homeassistant', serial: BOX_SERIAL, address: 'box', role: 'owner' };
/** the owner's commands arriving over the uplink (the external broker's access rules decide who may send them) */
export const UPLINK: Caller = { clientId: 'uplink', serial: BOX_SERIAL, address: 'uplink', role: 'owner' };
/** nobody in particular: what the public state topic shows */
export const NOBODY: Caller = { clientId: '', serial: -1, address: '', role: 'guest' };
