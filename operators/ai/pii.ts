/**
 * PII detectors for `pii_mask`: a pattern per kind, and a checksum where the kind has one (Luhn for card numbers,
 * ISO 7064 mod-97 for IBANs, the SSA's never-issued ranges for US SSNs), so that order numbers and amounts are not
 * taken for cards. Kinds run in a fixed order over the text and each replaces what it found, so a later kind never
 * sees an earlier one's digits (an IBAN is not re-read as a phone number).
 */

export const PII_KINDS = ['email', 'iban', 'card', 'national_id', 'ip', 'phone'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

interface Detector {
  readonly pattern: RegExp;
  readonly valid?: (match: string) => boolean;
  /** The canonical form hashed, so that formatting differences give the same hash. */
  readonly canonical: (match: string) => string;
}

const digits = (s: string) => s.replace(/\D/g, '');

export function luhn(num: string): boolean {
  let sum = 0;
  for (let i = 0; i < num.length; i++) {
    let d = num.charCodeAt(num.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function ibanValid(raw: string): boolean {
  const s = raw.replace(/[\s-]/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

function ssnValid(s: string): boolean {
  const d = digits(s);
  const area = Number(d.slice(0, 3));
  return area !== 0 && area !== 666 && area < 900 && d.slice(3, 5) !== '00' && d.slice(5) !== '0000';
}

const IPV4 = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}`;
const H = '[0-9A-Fa-f]{1,4}';
const IPV6 = String.raw`(?:${H}:){7}${H}|(?:${H}:){1,7}:(?:${H}(?::${H}){0,6})?|::(?:${H}(?::${H}){0,6})`;

export const DETECTORS: Readonly<Record<PiiKind, Detector>> = {
  // Also the "name (at) domain (dot) com" spellings people use to dodge filters. The look-behind starts a match only
  // where a local part can start (the leftmost match starts there anyway): without it, a long run of local-part
  // characters with no @ was scanned once from each of its positions, quadratic (50 kB took 4 s).
  email: {
    pattern:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+(?:@|\s*[[(]\s*at\s*[\])]\s*)[A-Za-z0-9-]+(?:(?:\.|\s*[[(]\s*dot\s*[\])]\s*)[A-Za-z0-9-]+)*(?:\.|\s*[[(]\s*dot\s*[\])]\s*)[A-Za-z]{2,}/gi,
    canonical: (m) =>
      m
        .toLowerCase()
        .replace(/\s*[[(]\s*at\s*[\])]\s*/g, '@')
        .replace(/\s*[[(]\s*dot\s*[\])]\s*/g, '.'),
  },
  // Upper case as IBANs are printed, or all lower case without spaces: a case-insensitive spaced pattern would run
  // on into the next words ("… 0130 00 please") and then fail its checksum.
  iban: {
    pattern: /\b(?:[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}|[a-z]{2}\d{2}[a-z0-9]{11,30})\b/g,
    valid: ibanValid,
    canonical: (m) => m.replace(/[\s-]/g, '').toUpperCase(),
  },
  card: {
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    valid: (m) => luhn(digits(m)),
    canonical: digits,
  },
  national_id: {
    // US SSN; UK National Insurance number.
    pattern: /\b\d{3}[- ]\d{2}[- ]\d{4}\b|\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
    valid: (m) => !/^\d/.test(m) || ssnValid(m),
    canonical: (m) => m.replace(/[\s-]/g, '').toUpperCase(),
  },
  ip: { pattern: new RegExp(String.raw`(?<![\w:]|\d\.)(?:${IPV4}|${IPV6})(?![\w:]|\.\d)`, 'g'), canonical: (m) => m.toLowerCase() },
  phone: {
    // International (+country), bracketed area codes and separated groups; 9–15 digits (E.164), or 7–8 with a
    // + or brackets. ISO dates and times look like separated digit groups and are excluded.
    pattern: /(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,5}(?!\w)/g,
    valid: (m) => {
      const n = digits(m).length;
      if (/^\d{4}-\d{2}-\d{2}$/.test(m)) return false;
      return (n >= 9 && n <= 15) || (n >= 7 && /[+(]/.test(m));
    },
    canonical: digits,
  },
};

/** Replaces every PII match of `kinds` in `text`; `replace` gets the kind and match. Returns the kinds found. */
export function scrub(text: string, kinds: readonly PiiKind[], replace: (kind: PiiKind, match: string) => string): { text: string; found: PiiKind[] } {
  const found: PiiKind[] = [];
  for (const kind of kinds) {
    const d = DETECTORS[kind];
    text = text.replace(d.pattern, (m) => {
      if (d.valid && !d.valid(m)) return m;
      if (!found.includes(kind)) found.push(kind);
      return replace(kind, m);
    });
  }
  return { text, found };
}
