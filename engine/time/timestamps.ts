/**
 * @module time/timestamps
 * ISO 8601 text → epoch milliseconds (UTC), as pure functions. Dates are computed arithmetically in the proleptic
 * Gregorian calendar instead of through `Date.UTC`/`Date.parse`: `Date.UTC` maps years 0–99 to 1900–1999 and both
 * roll impossible dates over (`2026-02-30` → March 2). A date that does not exist is `null`/NaN here, never another
 * date; callers null the value and record why. Years run over the range JavaScript dates hold (±275 759), which
 * covers everything DuckDB and PostgreSQL accept that a JSON producer writes.
 */

const DAY_MS = 86_400_000;
const MAX_MS = 8.64e15; // the range of a JavaScript Date
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** Days in month `m` (1-12) of year `y`. */
export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m - 1]!;
}

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (any year, negative included): Howard
 * Hinnant's `days_from_civil`. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Epoch ms of a validated civil date and time (UTC), or NaN when any part is out of range. */
export function civilMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 59)) return NaN;
  const t = daysFromCivil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + s) * 1000 + ms;
  return Math.abs(t) <= MAX_MS ? t : NaN;
}

/** YYYY-MM-DDTHH:MM:SS[.fff]Z from character codes (`at(i)`), or NaN when not exactly that shape or not a real
 * date. Shared by the string parser and the byte-level JSON scanners (which read bytes without a string). */
export function canonicalUtc(at: (i: number) => number, n: number): number {
  if ((n !== 20 && n !== 24) || at(4) !== 45 || at(7) !== 45 || at(10) !== 84 || at(13) !== 58 || at(16) !== 58 || at(n - 1) !== 90) return NaN;
  const d2 = (i: number) => {
    const a = at(i) - 48;
    const b = at(i + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1000;
  };
  let ms = 0;
  if (n === 24) {
    if (at(19) !== 46) return NaN;
    const a = d2(20);
    const c = at(22) - 48;
    if (a < 0 || c < 0 || c > 9) return NaN;
    ms = a * 10 + c;
  }
  const hi = d2(0);
  const lo = d2(2);
  if (hi < 0 || lo < 0) return NaN;
  return civilMs(hi * 100 + lo, d2(5), d2(8), d2(11), d2(14), d2(17), ms);
}

// Date, optional time (seconds and fraction optional), optional zone (only after a time). `[+-]` years are ISO's
// expanded years; 5-6 digit years without a sign are accepted as DuckDB does.
const ISO = /^\s*([+-]?\d{4,6})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?\s*$/;

/** ISO 8601 → epoch ms; a value without zone is UTC. Digits below the millisecond are truncated (abflow's
 * timestamps are milliseconds). Returns null when unparseable or not a real date and time. */
export function parseTimestamp(s: string): number | null {
  // Fast path for the canonical UTC form JSON producers emit (YYYY-MM-DDTHH:MM:SS[.fff]Z), read from char codes.
  if (s.length === 20 || s.length === 24) {
    const fast = canonicalUtc((i) => s.charCodeAt(i), s.length);
    if (!Number.isNaN(fast)) return fast;
  }
  const m = ISO.exec(s);
  if (!m) return null;
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let t = civilMs(Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? Number(m[4]) : 0, m[5] ? Number(m[5]) : 0, m[6] ? Number(m[6]) : 0, frac);
  const zone = m[8];
  if (zone && zone !== 'Z' && zone !== 'z') {
    const digits = zone.replace(':', '');
    const oh = Number(digits.slice(1, 3));
    const om = digits.length > 3 ? Number(digits.slice(3, 5)) : 0;
    if (oh > 23 || om > 59) return null;
    t -= (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return Number.isNaN(t) || Math.abs(t) > MAX_MS ? null : t;
}

const US_PER_MS = 1000n;

/** ISO 8601 → epoch microseconds, exact (a bigint: microseconds beyond ±2^53 span the years DuckDB and PostgreSQL
 * keep, 1 to 9999 and more). Digits below the microsecond are truncated. Null when `parseTimestamp` is. */
export function parseTimestampMicros(s: string): bigint | null {
  const ms = parseTimestamp(s);
  if (ms === null) return null;
  const frac = ISO.exec(s)?.[7];
  return BigInt(ms) * US_PER_MS + (frac && frac.length > 3 ? BigInt(frac.slice(3, 6).padEnd(3, '0')) : 0n);
}

/** Epoch milliseconds of epoch microseconds, rounded down (exact for every int64 value). */
export function microsToMs(us: number | bigint): number {
  if (typeof us === 'number' && Math.abs(us) < Number.MAX_SAFE_INTEGER) return Math.floor(us / 1000);
  const b = BigInt(us);
  const q = b / US_PER_MS;
  return Number(b < 0n && q * US_PER_MS !== b ? q - 1n : q);
}

/** ISO 8601 text (UTC) of epoch microseconds: `…T10:11:12.168Z`, with three more digits where the microseconds are
 * not whole milliseconds (`….168745Z`). */
export function isoOfMicros(us: number | bigint): string {
  const ms = microsToMs(us);
  const rest = Number(BigInt(us) - BigInt(ms) * US_PER_MS);
  const text = new Date(ms).toISOString();
  return rest ? `${text.slice(0, -1)}${String(rest).padStart(3, '0')}Z` : text;
}
