/**
 * ONNX model files: reading a model's interface and abflow metadata (synchronously, at plan compile time), and the
 * graph-building helpers `abflow model fit` writes models with (onnx-proto, so no Python is needed). Metadata keys
 * abflow reads and writes (ModelProto.metadata_props, strings):
 * - `abflow.features`: JSON array of the input column names, in tensor order;
 * - `abflow.scaling`: JSON `{mean: number[], std: number[]}` applied as (x − mean) / std before inference;
 * - `abflow.name`, `abflow.version`: model identity stamped on outputs;
 * - `abflow.threshold`: the score above which a row is anomalous, from training.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { onnx } from 'onnx-proto';
import { AbflowError, lazyRequire } from '../../../engine/api.js';

const protoLib = lazyRequire<typeof import('onnx-proto')>(import.meta.url, 'onnx-proto');
/** The ONNX protobuf classes, loaded on first use (see engine/lazy.ts). */
const pb = () => protoLib().onnx;

export interface TensorInfo {
  readonly name: string;
  /** ONNX element type (1 float, 7 int64, 8 string, 11 double, …). */
  readonly elemType: number;
  /** Dimensions; -1 where symbolic (the batch). */
  readonly dims: readonly number[];
}

export interface ModelInfo {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly name: string;
  readonly version: string;
}

export const ELEM = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;

/** Reads a model and checks its digest: a model swapped on disk must not silently change a plan's results. */
export function readModel(path: string, sha256: string | undefined): ModelInfo {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new AbflowError('config', `cannot read model ${path}: ${(e as Error).message}`, { path: ['model'] });
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== undefined && sha256.toLowerCase() !== digest)
    throw new AbflowError('config', `model ${path} has sha256 ${digest}, but the plan expects ${sha256}`, {
      path: ['sha256'],
      hint: 'the file changed since the plan was written: check it, then update `sha256`',
    });
  let m: InstanceType<typeof onnx.ModelProto>;
  try {
    m = pb().ModelProto.decode(bytes);
  } catch (e) {
    throw new AbflowError('config', `${path} is not an ONNX model: ${(e as Error).message}`, { path: ['model'] });
  }
  const info = (v: onnx.IValueInfoProto): TensorInfo => ({
    name: v.name ?? '',
    elemType: v.type?.tensorType?.elemType ?? 0,
    dims: (v.type?.tensorType?.shape?.dim ?? []).map((d: onnx.TensorShapeProto.IDimension) =>
      d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1,
    ),
  });
  const initializers = new Set((m.graph?.initializer ?? []).map((t) => t.name));
  const metadata = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key, p.value]));
  return {
    path,
    bytes,
    sha256: digest,
    inputs: (m.graph?.input ?? []).filter((v) => !initializers.has(v.name)).map(info),
    outputs: (m.graph?.output ?? []).map(info),
    metadata,
    name: metadata['abflow.name'] ?? basename(path).replace(/\.onnx$/, ''),
    version: metadata['abflow.version'] ?? digest.slice(0, 12),
  };
}

// ---- building graphs -------------------------------------------------------------------------------------------

type Attr = number | string | readonly number[] | readonly string[];

function attribute(name: string, v: Attr): InstanceType<typeof onnx.AttributeProto> {
  const T = pb().AttributeProto.AttributeType;
  if (typeof v === 'string') return pb().AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === 'number')
    return Number.isInteger(v) ? pb().AttributeProto.create({ name, type: T.INT, i: v }) : pb().AttributeProto.create({ name, type: T.FLOAT, f: v });
  if (v.length && typeof v[0] === 'string')
    return pb().AttributeProto.create({ name, type: T.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) });
  return pb().AttributeProto.create({ name, type: T.INTS, ints: [...(v as number[])] });
}

/** Float attributes must be tagged explicitly: a float list of whole numbers would otherwise be taken for ints. */
export function floats(name: string, v: readonly number[]): InstanceType<typeof onnx.AttributeProto> {
  return pb().AttributeProto.create({ name, type: pb().AttributeProto.AttributeType.FLOATS, floats: [...v] });
}

export function node(
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, Attr | InstanceType<typeof onnx.AttributeProto>> = {},
  domain = '',
): InstanceType<typeof onnx.NodeProto> {
  return pb().NodeProto.create({
    opType: op,
    input: inputs,
    output: outputs,
    domain,
    attribute: Object.entries(attrs).map(([k, v]) => (v instanceof pb().AttributeProto ? v : attribute(k, v as Attr))),
  });
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): InstanceType<typeof onnx.TensorProto> {
  return pb().TensorProto.create({ name, dataType: ELEM.FLOAT, dims, floatData: Array.from(values) });
}

export function int64Tensor(name: string, dims: number[], values: number[]): InstanceType<typeof onnx.TensorProto> {
  return pb().TensorProto.create({ name, dataType: ELEM.INT64, dims, int64Data: values });
}

function valueInfo(name: string, dims: (number | string)[]): InstanceType<typeof onnx.ValueInfoProto> {
  return pb().ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: ELEM.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
}

export interface GraphSpec {
  readonly features: number;
  readonly nodes: InstanceType<typeof onnx.NodeProto>[];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[];
  /** Output names; each is [N, 1] float. */
  readonly outputs: string[];
  readonly metadata: Record<string, string>;
  readonly usesMl?: boolean;
}

/** A model with one float input `features` [N, features]. */
export function buildModel(g: GraphSpec): Uint8Array {
  const model = pb().ModelProto.create({
    irVersion: 8,
    producerName: 'abflow',
    opsetImport: [{ domain: '', version: 13 }, ...(g.usesMl ? [{ domain: 'ai.onnx.ml', version: 1 }] : [])],
    metadataProps: Object.entries(g.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'abflow',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo('features', ['N', g.features])],
      output: g.outputs.map((o) => valueInfo(o, ['N', 1])),
    },
  });
  return pb().ModelProto.encode(model).finish();
}
