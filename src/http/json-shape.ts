import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-chars';

/** What a JSON body exceeds first: its nesting, or the keys of one of its objects. */
export type JsonShapeBreach = { readonly limit: 'maxDepth' } | { readonly limit: 'maxKeys' };

export interface JsonShapeScanner {
  /** Reads the next bytes of the body; the first breach found, or undefined (so far). */
  push(bytes: Uint8Array): JsonShapeBreach | undefined;
}

/**
 * Watches a JSON body's bytes as they arrive for nesting deeper than `maxDepth` (`{}` and `[]`
 * at the top are depth 1) or an object of more than `maxKeys` keys, without decoding or parsing
 * it: the bytes of JSON's structure are ASCII, and no byte of a multi-byte UTF-8 character is, so
 * the bytes say where strings, objects, arrays and commas are. The reader stops at the first
 * breach, before the rest is held, decoded or parsed: a deeply nested body could exhaust the
 * recursion of the parse and the schemas, and a body of tens of thousands of keys costs every
 * later step (decoding, the parse, the duplicate-key scan, copying and checking) far more than
 * the scan of its first thousand.
 */
export function jsonShapeScanner({ maxDepth, maxKeys }: { maxDepth: number; maxKeys: number }): JsonShapeScanner {
  // One entry per open object or array: an object's keys so far, -1 for an array.
  const open: number[] = [];
  let inString = false;
  // The last byte was a backslash inside a string (possibly at the end of the previous chunk).
  let escaped = false;

  /** Inside a string from `index`: the index just past its closing quote, or the chunk's length when the string goes on. */
  const skipString = (bytes: Uint8Array, index: number): number => {
    if (escaped) {
      if (index >= bytes.length) return bytes.length; // an empty chunk: the escaped byte is still to come
      escaped = false;
      index++; // the escaped byte cannot end the string
    }
    const from = index;
    for (;;) {
      const quote = bytes.indexOf(QUOTE, index);
      // A quote ends the string unless an odd run of backslashes stands right before it.
      const end = quote === -1 ? bytes.length : quote;
      let run = 0;
      while (end - run > from && bytes[end - run - 1] === BACKSLASH) run++;
      if (quote === -1) {
        escaped = run % 2 === 1;
        return bytes.length;
      }
      if (run % 2 === 0) {
        inString = false;
        return quote + 1;
      }
      index = quote + 1;
    }
  };

  return {
    push(bytes) {
      let index = inString ? skipString(bytes, 0) : 0;
      for (; index < bytes.length; index++) {
        const byte = bytes[index]!;
        if (byte === QUOTE) {
          // A string right after "{" is the object's first key; the next ones follow commas.
          if (open[open.length - 1] === 0) {
            open[open.length - 1] = 1;
            if (maxKeys < 1) return { limit: 'maxKeys' };
          }
          inString = true;
          index = skipString(bytes, index + 1) - 1;
        } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          if (open.push(byte === OPEN_BRACE ? 0 : -1) > maxDepth) return { limit: 'maxDepth' };
        } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          open.pop();
        } else if (byte === COMMA && open.length > 0 && open[open.length - 1]! > 0) {
          if (++open[open.length - 1]! > maxKeys) return { limit: 'maxKeys' };
        }
      }
      return undefined;
    },
  };
}
