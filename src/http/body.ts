import { HttpRefusal, invalidBody } from './refusal';
import { jsonShapeScanner, type JsonShapeBreach } from './json-shape';
import { duplicateKey } from './json-keys';
import { notJsonBecause } from './media-type';
import { cut } from '../schemas/issues';
import { web, type WebRequest } from './web';

export interface BodyLimits {
  /** Bytes of body accepted. */
  maxBodyBytes: number;
  /** Nesting of objects and arrays accepted (the top level is 1). */
  maxDepth: number;
  /** Keys accepted in one object. */
  maxKeys: number;
}

/**
 * The request's JSON body, checked in the order that costs least: the media type, the declared
 * length, the bytes as they arrive (never more than `maxBodyBytes` held, and the nesting depth
 * and the keys of each object watched as they come: reading stops at the first breach); then
 * UTF-8 (`decodeJsonBody`), and `JSON.parse` and a key named twice in one object (`parseJsonText`;
 * refused: the parse keeps one). Reading waits on the network and parsing is work, so the handler parses in
 * the caller's turn.
 */
export async function readJsonBody(request: WebRequest, limits: BodyLimits): Promise<Uint8Array> {
  const notJson = notJsonBecause(request.headers.get('content-type'));
  if (notJson !== undefined) {
    throw new HttpRefusal(415, 'UNSUPPORTED_MEDIA_TYPE', `The body must be JSON, but ${notJson}: send "Content-Type: application/json" and a JSON object.`, {
      accepted: ['application/json'],
    });
  }
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
  return readCapped(request, limits);
}

/** The text of a body `readJsonBody` read (refused unless it is UTF-8), for `parseJsonText`. */
export function decodeJsonBody(bytes: Uint8Array): string {
  try {
    return new web.TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidBody('is not valid UTF-8 text');
  }
}

/** The JSON value of a body's text (see `decodeJsonBody`). */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') throw invalidBody('is empty: send a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidBody(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const repeated = duplicateKey(text);
  if (repeated !== undefined) {
    const shown = cut(repeated, 100);
    throw invalidBody(`names the key ${JSON.stringify(shown)} twice in one object: send each key once`, { key: shown });
  }
  return parsed;
}

function shapeRefusal(breach: JsonShapeBreach, limits: BodyLimits): HttpRefusal {
  return breach.limit === 'maxDepth'
    ? invalidBody(`nests deeper than ${limits.maxDepth} levels of objects and arrays (the maxDepth limit)`, { limit: limits.maxDepth })
    : invalidBody(`has an object of more than ${limits.maxKeys} keys (the maxKeys limit)`, { limit: limits.maxKeys });
}

async function readCapped(request: WebRequest, limits: BodyLimits): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const max = limits.maxBodyBytes;
  const shape = jsonShapeScanner(limits);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(incomplete);
    if (done) break;
    if (!value) continue;
    size += value.byteLength;
    if (size > max) {
      // Stop reading: the rest is never buffered. The runtime discards it.
      await reader.cancel('body too large').catch(() => undefined);
      throw tooLarge(max);
    }
    const breach = shape.push(value);
    if (breach) {
      // Stop reading here too: nothing after the breach is held, decoded or parsed.
      await reader.cancel('body refused').catch(() => undefined);
      throw shapeRefusal(breach, limits);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * A body that could not be read to its end: a refusal the server made while it arrived (too
 * slow, too many bytes held) is the answer; otherwise the client went away mid-upload, which is
 * the client's doing, not the server's fault (no 500, nothing for `onError`).
 */
function incomplete(error: unknown): never {
  if (error instanceof HttpRefusal) throw error;
  throw new HttpRefusal(400, 'REQUEST_ABORTED', 'The request body ended before it was complete (the connection closed); nothing was changed. Send it again.');
}

function tooLarge(max: number): HttpRefusal {
  return new HttpRefusal(413, 'PAYLOAD_TOO_LARGE', `The body is larger than ${max} bytes (the maxBodyBytes limit): send less, e.g. fewer or shorter steps per request.`, {
    limit: max,
  });
}
