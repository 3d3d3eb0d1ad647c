/**
 * @module registry
 * The one explicit registry of component kinds. Built from arrays of specs (no registration by import side
 * effects); `with()` derives a new registry for plugins and tests. Kinds are unique per role, so a `jsonl` source and
 * a `jsonl` sink can coexist.
 */
import { AbflowError } from './errors.js';
import type { AnySpec, OperatorSpec, Role, SinkSpec, SourceSpec } from './operator.js';

type SpecOf<R extends Role> = R extends 'operator' ? OperatorSpec : R extends 'source' ? SourceSpec : SinkSpec;

export class Registry {
  private readonly specs = new Map<string, AnySpec>();

  constructor(specs: readonly AnySpec[] = [], opts: { override?: boolean } = {}) {
    for (const s of specs) this.add(s, opts);
  }

  private add(spec: AnySpec, opts: { override?: boolean }): void {
    const key = `${spec.role}:${spec.kind}`;
    if (this.specs.has(key) && !opts.override)
      throw new AbflowError('config', `${spec.role} kind \`${spec.kind}\` is already registered; pass { override: true } to replace it`);
    this.specs.set(key, spec);
  }

  with(specs: readonly AnySpec[], opts: { override?: boolean } = {}): Registry {
    const r = new Registry([...this.specs.values()]);
    for (const s of specs) r.add(s, opts);
    return r;
  }

  get<R extends Role>(role: R, kind: string): SpecOf<R> | undefined {
    return this.specs.get(`${role}:${kind}`) as SpecOf<R> | undefined;
  }

  kinds(role: Role): string[] {
    return [...this.specs.values()]
      .filter((s) => s.role === role)
      .map((s) => s.kind)
      .sort();
  }

  list(): AnySpec[] {
    return [...this.specs.values()];
  }
}
