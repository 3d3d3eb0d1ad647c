/**
 * Every registered component documents itself with at least one example, and every example's config is valid for
 * its kind (so the docs cannot drift from the schemas).
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadComponents } from '../../engine/builtins.js';

const { registry } = await loadComponents();

describe('component examples', () => {
  it.each(registry.list().map((s) => [`${s.role} ${s.kind}`, s] as const))('%s', (_name, spec) => {
    expect(spec.summary.length).toBeGreaterThan(10);
    expect(spec.examples.length).toBeGreaterThan(0);
    for (const ex of spec.examples) {
      const node = parse(ex.yaml) as { kind: string; config?: unknown };
      expect(node.kind).toBe(spec.kind);
      const r = spec.config.safeParse(node.config ?? {});
      expect(r.success, `${ex.title}: ${r.error?.message}`).toBe(true);
    }
  });
});
