/**
 * @module policy
 * What a plan submitted over the service's API may touch. The CLI runs plans with the power of the user who typed
 * the command; the service runs plans from whoever holds its token, so it opens only what its operator allowed:
 * files inside its data directory (relative paths, no `..`, no symlink out of it) and, only when listed, connector
 * executables (`serve --allow-command PATH`) and plugin modules (`--allow-plugins`). Components declare what their
 * config touches (`SpecBase.resources`); the compiler checks every declared resource against the policy before
 * anything runs, so a refused plan never spawns a process (not even a connector's `discover`) nor opens a file.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { AbflowError } from './errors.js';

/** A file a component reads or writes, or a command it runs, and where its config names it. */
export type Resource =
  | { readonly kind: 'read' | 'write'; readonly path: string; readonly at: readonly (string | number)[] }
  | { readonly kind: 'exec'; readonly argv: readonly string[]; readonly at: readonly (string | number)[] };

export interface SubmissionPolicy {
  /** Files resolve inside this directory (the service's working directory). */
  readonly dataDir: string;
  /** Executables plans may run (resolved absolute paths); empty: none. */
  readonly allowCommands: readonly string[];
  readonly allowPlugins: boolean;
}

function forbidden(message: string, at: readonly (string | number)[]): AbflowError {
  return new AbflowError('forbidden', message, {
    path: at,
    hint: 'plans submitted to the service may use only what `abflow serve` was started to allow (see the README, Service)',
  });
}

/** `p` itself if it exists, else its nearest existing ancestor (where creating `p` would start). */
export function nearestExisting(p: string): string {
  let at = resolve(p);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** The real path of `p`: its nearest existing ancestor's real path (symbolic links resolved), the rest appended. */
function realOrAncestor(p: string): string {
  const existing = nearestExisting(p);
  return join(realpathSync(existing), relative(existing, resolve(p)));
}

/** Throws unless `r` is allowed by `policy`. */
export function checkResource(policy: SubmissionPolicy, r: Resource): void {
  if (r.kind === 'exec') {
    const exe = r.argv[0] ?? '';
    const resolved = isAbsolute(exe) ? normalize(exe) : exe;
    if (!policy.allowCommands.includes(resolved))
      throw forbidden(
        `running \`${exe}\` is not allowed${policy.allowCommands.length ? ` (allowed: ${policy.allowCommands.join(', ')})` : ': the service was started without --allow-command'}`,
        r.at,
      );
    return;
  }
  const p = r.path;
  if (isAbsolute(p) || p.split(/[\\/]/).includes('..'))
    throw forbidden(
      `${r.kind === 'read' ? 'reading' : 'writing'} \`${p}\` is not allowed: paths must be relative to the service's data directory, without \`..\``,
      r.at,
    );
  const root = realpathSync(policy.dataDir);
  const real = realOrAncestor(resolve(policy.dataDir, p));
  if (real !== root && !real.startsWith(root + sep)) throw forbidden(`\`${p}\` leads outside the service's data directory (through a symbolic link)`, r.at);
}
