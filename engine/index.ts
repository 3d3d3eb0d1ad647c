/**
 * @module abflow
 * Library entry: load and compile plans, run them, render them. Plugins extend the registry with `loadComponents`.
 *
 * @example
 * ```ts
 * import { loadComponents, loadPlanFile, compilePlan, runJob } from 'abflow';
 * const { registry, modules } = await loadComponents();
 * const plan = await compilePlan(loadPlanFile('plans/payments.yaml'), registry);
 * const result = await runJob(plan, { modules });
 * ```
 */
export { loadComponents, BUILTIN_MODULES, type Components } from './builtins.js';
export { compilePlan, type CompiledPlan, type CompileOptions, type PhysicalPlan } from './compile/compile.js';
export { renderMermaid, renderText } from './compile/render.js';
export { AbflowError, PlanErrors } from './errors.js';
export { loadPlanFile, loadPlanText, type LoadedPlan } from './plan/load.js';
export { planSchema, type PlanSpec } from './plan/schema.js';
export { Registry } from './registry.js';
export { Job, runJob, type JobResult, type NodeMetrics, type Progress, type RunOptions } from './runtime/job.js';
