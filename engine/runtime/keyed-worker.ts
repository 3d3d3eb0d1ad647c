// Stryker disable all: a thread entry; Stryker activates mutants only on the test's thread, so none here could be
// killed. The threaded golden, CLI and crash tests run it.
/**
 * @module runtime/keyed-worker
 * Entry of a keyed thread (partition k of every keyed vertex): requests arrive in order on the parent port and are
 * handled one at a time (a partition's state is touched by exactly one request at any moment).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { KeyedRequest } from './keyed-host.js';
import { importModule, siblingUrl } from './loader.js';

const hostModule = (await importModule(siblingUrl(import.meta.url, 'keyed-host'))) as typeof import('./keyed-host.js');
const handle = await hostModule.createKeyedHost(workerData, importModule);
let queue = Promise.resolve();
parentPort!.on('message', (req: KeyedRequest) => {
  queue = queue.then(async () => {
    const { reply, transfer } = await handle(req);
    parentPort!.postMessage(reply, transfer);
  });
});
parentPort!.postMessage({ ready: true });
