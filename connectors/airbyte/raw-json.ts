/**
 * Byte-preserving edits of JSON text. Airbyte state blobs are opaque: a destination must hand back exactly what it
 * received, and re-encoding parsed JSON changes numbers beyond 2^53, key order and escapes. So members are located
 * in the original text and only the member being changed is rewritten. Hand-written (no library locates member
 * spans), for correctness; the input is always text `JSON.parse` already accepted.
 */

/** A member of a JSON object text: its key, where its key text starts, and its value's [start, end). */
export type MemberSpan = readonly [key: string, keyStart: number, valueStart: number, valueEnd: number];

/** Top-level members of the JSON object text `text[start, end)`, in order (a repeated key appears twice). */
export function memberSpans(text: string, start = 0, end = text.length): MemberSpan[] {
  const out: MemberSpan[] = [];
  let i = skipSpace(text, start, end);
  if (text[i] !== '{') throw new Error('not a JSON object');
  i++;
  for (;;) {
    i = skipSpace(text, i, end);
    if (text[i] === '}') return out;
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd, end);
    i = skipSpace(text, i + 1, end); // the colon
    const valueEnd = skipValue(text, i, end);
    out.push([key, keyStart, i, valueEnd]);
    i = skipSpace(text, valueEnd, end);
    if (text[i] === ',') i++;
  }
}

/** Top-level members of the JSON object text `text[start, end)`: key → [valueStart, valueEnd). */
export function members(text: string, start = 0, end = text.length): Map<string, [number, number]> {
  return new Map(memberSpans(text, start, end).map(([key, , s, e]) => [key, [s, e]]));
}

/** Elements of the JSON array text `text`: [start, end) of each. */
export function elements(text: string): [number, number][] {
  const out: [number, number][] = [];
  let i = skipSpace(text, 0, text.length);
  if (text[i] !== '[') throw new Error('not a JSON array');
  i = skipSpace(text, i + 1, text.length);
  while (text[i] !== ']') {
    const end = skipValue(text, i, text.length);
    out.push([i, end]);
    i = skipSpace(text, end, text.length);
    if (text[i] === ',') i = skipSpace(text, i + 1, text.length);
  }
  return out;
}

/** The text of `obj` with member `key` set to `valueJson` (replaced in place, or appended). */
export function setMember(obj: string, key: string, valueJson: string): string {
  const m = members(obj);
  const at = m.get(key);
  if (at) return obj.slice(0, at[0]) + valueJson + obj.slice(at[1]);
  const close = obj.lastIndexOf('}');
  const empty = m.size === 0;
  return obj.slice(0, close) + (empty ? '' : ',') + JSON.stringify(key) + ':' + valueJson + obj.slice(close);
}

function skipSpace(t: string, i: number, end: number): number {
  while (i < end) {
    const c = t.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

function skipString(t: string, i: number): number {
  for (let j = i + 1; ; j++) {
    const c = t.charCodeAt(j);
    if (c === 92)
      j++; // backslash: skip the escaped character
    else if (c === 34) return j + 1;
    else if (Number.isNaN(c)) throw new Error('unterminated string');
  }
}

function skipValue(t: string, i: number, end: number): number {
  const c = t[i];
  if (c === '"') return skipString(t, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const d = t[j];
      if (d === '"') j = skipString(t, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        if (--depth === 0) return j + 1;
      }
    }
    throw new Error('unterminated value');
  }
  let j = i;
  while (j < end && !',}] \t\r\n'.includes(t[j]!)) j++;
  return j;
}
