/** `abflow serve` with TLS (HTTPS and gRPC over TLS) and the token read from a file (a mounted secret). */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from '../kit/cli.js';

function httpsGet(url: string, ca: Buffer, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) =>
    get(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject),
  );
}

it('serves HTTPS and gRPC over TLS; the token comes from a file', async () => {
  const dir = tempDir('abflow-tls-');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
  writeFileSync(join(dir, 'token'), 'file-token\n');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--port',
      '0',
      '--grpc-port',
      '0',
      '--token-file',
      join(dir, 'token'),
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    let log = '';
    const [port, grpcPort] = await new Promise<[number, number]>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        const m = /"port":(\d+),"grpcPort":(\d+),"tls":true,"msg":"listening"/.exec((log += d.toString()));
        if (m) resolve([Number(m[1]), Number(m[2])]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
    });
    const ca = readFileSync(join(dir, 'cert.pem'));
    expect((await httpsGet(`https://127.0.0.1:${port}/jobs`, ca)).status).toBe(401);
    expect(await httpsGet(`https://127.0.0.1:${port}/jobs`, ca, 'file-token')).toEqual({ status: 200, body: '[]\n' });
    const def = protoLoader.loadSync(join(ROOT, 'proto/abflow/v1/abflow.proto'), { keepCase: true, longs: Number, defaults: true });
    const Abflow = (
      grpc.loadPackageDefinition(def) as unknown as {
        abflow: {
          v1: {
            Abflow: new (
              a: string,
              c: grpc.ChannelCredentials,
            ) => grpc.Client & { ListJobs: (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, v: { jobs: unknown[] }) => void) => void };
          };
        };
      }
    ).abflow.v1.Abflow;
    const client = new Abflow(`127.0.0.1:${grpcPort}`, grpc.credentials.createSsl(ca));
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer file-token');
    const r = await new Promise<{ jobs: unknown[] }>((resolve, reject) => client.ListJobs({}, md, (e, v) => (e ? reject(e) : resolve(v))));
    expect(r.jobs).toEqual([]);
    client.close();
  } finally {
    child.kill('SIGTERM');
  }
});
