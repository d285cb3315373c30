import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-chars';

/**
 * The first key that an object of the JSON text names twice, or undefined. `JSON.parse` keeps
 * the last of two equal keys and drops the first without a word (`{"plan_id": A, "plan_id": B}`
 * would update B), so a body is refused before that. One pass over text that `JSON.parse`
 * accepted; keys are compared after their escapes are decoded ("a" and "\u0061" are one key).
 */
export function duplicateKey(text: string): string | undefined {
  // One entry per open object or array: the keys of an object, null for an array.
  const open: (Set<string> | null)[] = [];
  // Whether the next string in the innermost object is a key (after `{` or `,`).
  let expectKey = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === QUOTE) {
      const start = index;
      // The closing quote: the next one without an odd run of backslashes right before it.
      for (;;) {
        index = text.indexOf('"', index + 1);
        if (index === -1) return undefined; // not JSON: JSON.parse refused it already
        let run = 0;
        while (text.charCodeAt(index - run - 1) === BACKSLASH) run++;
        if (run % 2 === 0) break;
      }
      const keys = open.at(-1);
      if (expectKey && keys) {
        const raw = text.slice(start, index + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (char === OPEN_BRACE) {
      open.push(new Set());
      expectKey = true;
    } else if (char === OPEN_BRACKET) {
      open.push(null);
      expectKey = false;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      open.pop();
      expectKey = false;
    } else if (char === COMMA) {
      expectKey = open.at(-1) instanceof Set;
    }
  }
  return undefined;
}
