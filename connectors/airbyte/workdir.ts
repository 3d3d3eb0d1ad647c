/**
 * Private temp folders for a connector's config, catalog and state files. The config holds credentials, so a folder
 * must not outlive its run: it is removed when the run ends, and a run that was killed (SIGKILL, OOM) cannot remove
 * its own, so every new folder first sweeps the folders of processes that are gone. The owner's pid is in the name.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'abflow-airbyte-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, as another user's process
  }
}

/** Removes folders left by abflow processes that no longer run. */
export function sweepStaleDirs(root = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = name.startsWith(PREFIX) ? Number(name.slice(PREFIX.length).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(root, name), { recursive: true, force: true });
  }
}

export interface WorkDir {
  readonly dir: string;
  path(name: string): string;
  remove(): void;
}

/** A fresh folder (mode 0700) holding `files` (mode 0600). */
export function workDir(files: Record<string, string>, root = tmpdir()): WorkDir {
  sweepStaleDirs(root);
  const dir = mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
