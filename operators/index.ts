/**
 * The built-in operators: the single registration point for operators (no import side effects).
 */
import type { AnySpec } from '../engine/api.js';
import { anomalyDetect } from './ai/anomaly-detect.js';
import { llmEnrich } from './ai/llm-enrich.js';
import { piiMask } from './ai/pii-mask.js';
import { onnxScore } from './ai/onnx-score.js';
import { lookupJoin } from './lookup/lookup-join.js';
import { dedupe } from './quality/dedupe.js';
import { qualityGate } from './quality/quality-gate.js';
import { cast } from './stateless/cast.js';
import { drop, rename, select } from './stateless/columns.js';
import { derive } from './stateless/derive.js';
import { filter } from './stateless/filter.js';
import { route } from './stateless/route.js';
import { union } from './stateless/union.js';
import { watermark } from './time/watermark.js';
import { windowAggregate } from './windowed/window-aggregate.js';
import { windowJoin } from './windowed/window-join.js';
import { windowTopN } from './windowed/window-top-n.js';

const builtinOperators = [
  filter,
  derive,
  select,
  rename,
  drop,
  cast,
  union,
  route,
  watermark,
  windowAggregate,
  windowTopN,
  windowJoin,
  anomalyDetect,
  llmEnrich,
  piiMask,
  onnxScore,
  qualityGate,
  dedupe,
  lookupJoin,
] as const;

/** Read by the worker pool, which loads components by module URL. */
export const abflowComponents: readonly AnySpec[] = builtinOperators;
