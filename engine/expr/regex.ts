/**
 * @module expr/regex
 * Regular expressions that come from plans (the `regexp_*` functions, `quality_gate` regex rules) run on RE2's
 * linear-time engine (re2js, the maintained JavaScript port), never on V8's backtracking one: a pattern such as
 * `^(a+)+$` over 'a'×40 + '!' takes V8 hours and RE2 microseconds, so no plan can stall a job with one. RE2 has no
 * backreferences or lookaround; a pattern that needs them is refused when the plan compiles, with RE2's reason.
 */
import type { RE2JS as RE2 } from 're2js';
import { lazyRequire } from '../lazy.js';

const re2 = lazyRequire<typeof import('re2js')>(import.meta.url, 're2js');

export class PlanRegex {
  private constructor(
    private readonly re: RE2,
    /** Capture groups in the pattern. */
    readonly groups: number,
  ) {}

  /** Compiles `pattern`; throws an Error saying why RE2 cannot run it. */
  static compile(pattern: string): PlanRegex {
    try {
      const re = re2().RE2JS.compile(pattern);
      return new PlanRegex(re, re.groupCount());
    } catch (e) {
      throw new Error(`${(e as Error).message} (patterns run on RE2: no backreferences or lookaround)`, { cause: e });
    }
  }

  /** Whether the pattern matches anywhere in `s`. */
  test(s: string): boolean {
    return this.re.matcher(s).find();
  }

  /** Group `group` (0: the whole match) of the first match in `s`, or null. */
  extract(s: string, group: number): string | null {
    const m = this.re.matcher(s);
    return m.find() ? m.group(group) : null;
  }

  /** `s` with every match replaced by `replacement` (`$1` … name groups, `$$` is a dollar sign). */
  replaceAll(s: string, replacement: string): string {
    return this.re.matcher(s).replaceAll(replacement);
  }
}
