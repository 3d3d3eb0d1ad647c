/**
 * @module plan/duration
 * Durations in plans are strings such as "500ms", "30s", "5m", "1h30m" (or plain milliseconds); inside the engine
 * they are numbers of milliseconds and the field names say so (`lingerMs`).
 */
import { z } from 'zod';
import { parseDurationMs } from '../expr/functions.js';

export function duration() {
  return z
    .union([z.string(), z.number().int().nonnegative()])
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const ms = parseDurationMs(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${v}": use e.g. "500ms", "30s", "5m", "1h"` });
        return z.NEVER;
      }
      return ms;
    })
    .describe('A duration such as "500ms", "30s", "5m", "1h" (or milliseconds).');
}

/** A duration that may be negative ("-8h"), for window offsets. */
export function signedDuration() {
  return z
    .union([z.string(), z.number().int()])
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const neg = v.trim().startsWith('-');
      const ms = parseDurationMs(neg ? v.trim().slice(1) : v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${v}": use e.g. "30s", "-8h"` });
        return z.NEVER;
      }
      return neg ? -ms : ms;
    })
    .describe('A duration, possibly negative, such as "-8h" (or milliseconds).');
}
