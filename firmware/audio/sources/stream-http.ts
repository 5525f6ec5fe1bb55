// GET over http/https for the URL source: redirects followed (a bounded number), an
// answer required within a time limit, small bodies (playlists) read with a size and
// time limit. node:http rather than fetch: a response is a Node stream that pauses
// when the decoder is full, so backpressure reaches the server's socket.
// Messages name `what` (a label given by the caller), never the URL: a library
// server's URL carries its credentials.

import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { icyTolerantConnection } from './icy-status.ts';

export interface OpenOptions {
  what: string;
  headers?: Record<string, string>;
  timeoutMs?: number; // default 5000: for the response headers
  maxRedirects?: number; // default 5
}

export interface OpenResponse {
  response: IncomingMessage;
  url: URL;
}

/** Opens `url` and resolves with a 2xx response (its body unread); rejects with a message naming `what`. */
export async function openHttp(url: URL, options: OpenOptions): Promise<OpenResponse> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const response = await getOnce(current, options);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume();
      if (redirects >= (options.maxRedirects ?? 5)) throw new Error(`${options.what}: too many redirects`);
      current = new URL(location, current);
      if (current.protocol !== 'http:' && current.protocol !== 'https:')
        throw new Error(`${options.what}: redirected to a ${current.protocol} URL, only http and https are played`);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw new Error(`${options.what}: HTTP ${status} ${response.statusMessage ?? ''}`.trim());
    }
    return { response, url: current };
  }
}

function getOnce(url: URL, options: OpenOptions): Promise<IncomingMessage> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const get = secure ? https.get : http.get;
    // plain http may be a SHOUTcast v1 server answering `ICY 200 OK` (icy-status.ts)
    const request = get(url, { headers: options.headers, ...(secure ? {} : { createConnection: icyTolerantConnection }) }, (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${options.what}: ${describeNetworkError(e)}`));
    });
  });
}

/** Reads a small body whole: at most maxBytes, within timeoutMs. */
export function readBounded(response: IncomingMessage, what: string, maxBytes = 65_536, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    const fail = (message: string) => {
      clearTimeout(timer);
      response.destroy();
      reject(new Error(`${what}: ${message}`));
    };
    const timer = setTimeout(() => fail(`playlist not read within ${timeoutMs} ms`), timeoutMs);
    response.on('data', (b: Buffer) => {
      length += b.length;
      if (length > maxBytes) fail(`playlist larger than ${maxBytes} bytes`);
      else parts.push(b);
    });
    response.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('utf8'));
    });
    response.on('error', (e) => fail(describeNetworkError(e)));
  });
}

/** "connect ECONNREFUSED 127.0.0.1:8000" → "connection refused"; keeps what a person can act on, drops addresses */
export function describeNetworkError(e: Error & { code?: string }): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'network unreachable';
    default:
      return e.message;
  }
}
