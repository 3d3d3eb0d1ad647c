// Stryker disable all: a thread entry; Stryker activates mutants only on the test's thread, so none here could be
// killed. The threaded golden, CLI and crash tests run it.
/**
 * @module runtime/worker
 * Pool worker entry. Deliberately tiny: it loads worker-host and the component modules through one loader, then
 * hands results back with their IPC buffers moved rather than copied.
 */
import { Piscina, workerData } from 'piscina';
import { importModule, siblingUrl } from './loader.js';
import type { HostResult } from './worker-host.js';
import type { WorkerData } from './protocol.js';

let host: Promise<(task: unknown) => Promise<HostResult>> | undefined;

export default async function run(task: unknown): Promise<unknown> {
  host ??= (importModule(siblingUrl(import.meta.url, 'worker-host')) as Promise<typeof import('./worker-host.js')>).then((m) =>
    m.createHost(workerData as WorkerData, importModule),
  );
  const r = await (await host)(task);
  if ('error' in r) return r;
  const { result, transfer } = r;
  // A movable wrapper: piscina transfers `transfer` and hands `result` to the caller (no copy of batch bytes).
  return Piscina.move({
    get [Piscina.transferableSymbol]() {
      return transfer;
    },
    get [Piscina.valueSymbol]() {
      return result;
    },
  } as never);
}
