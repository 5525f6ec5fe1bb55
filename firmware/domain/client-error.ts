/**
 * A refusal whose message is meant for the client that asked (a song not found,
 * a full box, a listener that is not yours). The request router turns it into an
 * error reply; any other error is an internal one and is logged.
 */
export class ClientError extends Error {}
