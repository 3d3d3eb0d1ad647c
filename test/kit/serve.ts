/** A real `abflow serve` for tests: a child process on free loopback ports, with a token, and a gRPC client built
 * from the repo's .proto as a user's would be. */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CLI, ROOT } from './cli.js';

export interface AbflowClient extends grpc.Client {
  Subscribe(req: { job: string; sink: string }, md: grpc.Metadata): grpc.ClientReadableStream<{ arrow_ipc: Uint8Array }>;
  Ingest(
    md: grpc.Metadata,
    cb: (e: grpc.ServiceError | null, r: { records: number; batches: number }) => void,
  ): grpc.ClientWritableStream<{ job: string; source: string; arrow_ipc: Uint8Array }>;
}

export interface Served {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly grpcPort: number;
  /** The service's working (and data) directory. */
  readonly dataDir: string;
  /** Everything serve wrote to stderr so far. */
  stderr(): string;
  client(): AbflowClient;
}

/** Starts serve in a fresh data directory holding a copy of models/ (a symbolic link out of the data directory is
 * refused for submitted plans); `args` are more options (allow-lists). */
export async function startServe(token: string, args: readonly string[] = []): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), 'abflow-serve-'));
  cpSync(join(ROOT, 'models'), join(dataDir, 'models'), { recursive: true });
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--grpc-port', '0', '--token-env', 'TEST_ABFLOW_TOKEN', ...args], {
    cwd: dataDir,
    env: { ...process.env, TEST_ABFLOW_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const [base, grpcPort] = await new Promise<[string, number]>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /"port":(\d+),"grpcPort":(\d+),"tls":false,"msg":"listening"/.exec(stderr);
      if (m) resolve([`http://127.0.0.1:${m[1]}`, Number(m[2])]);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    base,
    grpcPort,
    dataDir,
    stderr: () => stderr,
    client() {
      const def = protoLoader.loadSync(join(ROOT, 'proto/abflow/v1/abflow.proto'), { longs: Number, defaults: true, keepCase: true });
      const pkg = grpc.loadPackageDefinition(def) as unknown as {
        abflow: { v1: { Abflow: new (addr: string, creds: grpc.ChannelCredentials) => AbflowClient } };
      };
      return new pkg.abflow.v1.Abflow(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    },
  };
}
