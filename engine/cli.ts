#!/usr/bin/env node
/**
 * @module cli
 * The `abflow` command. Each command is a module of engine/cli/ (the application layer: with engine/service/ and the
 * composition root, the only part of engine/ that reaches concrete components).
 * Exit codes: 0 success (including a graceful stop), 1 the job failed, 2 the plan is invalid.
 */
import { Command } from 'commander';
import * as airbyte from './cli/airbyte.js';
import * as approvals from './cli/approvals.js';
import * as bench from './cli/bench.js';
import * as checkpoints from './cli/checkpoints.js';
import * as docs from './cli/docs.js';
import * as explain from './cli/explain.js';
import * as model from './cli/model.js';
import * as newComponent from './cli/new.js';
import * as run from './cli/run.js';
import * as schema from './cli/schema.js';
import * as serve from './cli/serve.js';
import * as validate from './cli/validate.js';
import { isAbflowError } from './errors.js';
import { redactSecrets } from './redact.js';

const program = new Command();
program.name('abflow').description('Streaming dataflow engine: YAML plans over Arrow batches on worker threads.').version('0.1.0');
for (const command of [validate, explain, run, checkpoints, airbyte, approvals, model, serve, newComponent, docs, bench, schema]) command.register(program);

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`error: ${isAbflowError(e) ? e.format() : redactSecrets((e as Error).message)}\n`);
  process.exit(isAbflowError(e) && e.domain === 'user' ? 2 : 1);
});
