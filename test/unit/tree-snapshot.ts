import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Everything under `root` — link targets, file bytes, modes and owners — keyed by relative path,
 * so "the previous files are byte-for-byte intact" is one deepEqual of two snapshots.
 */
export function snapshotTree(root: string): Record<string, string> {
  const result: Record<string, string> = {};
  const visit = (relative: string): void => {
    const full = join(root, relative);
    const stats = lstatSync(full);
    const meta = `${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid}`;
    if (stats.isSymbolicLink()) result[relative] = `link ${readlinkSync(full)}`;
    else if (stats.isFile()) result[relative] = `file ${meta} ${readFileSync(full).toString('base64')}`;
    else {
      result[relative] = `dir ${meta}`;
      for (const name of readdirSync(full)) visit(relative === '' ? name : `${relative}/${name}`);
    }
  };
  visit('');
  return result;
}
