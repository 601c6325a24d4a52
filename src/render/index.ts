import type { BucketCredentials } from '../credentials/types.js';
import { CredentialsError } from '../errors.js';
import { renderAws } from './aws.js';
import { renderEnv } from './env.js';
import { renderJson } from './json.js';
import { renderMc } from './mc.js';
import { renderRclone } from './rclone.js';
import { renderRestic } from './restic.js';
import { renderS3cmd } from './s3cmd.js';
import type { Format, RenderedFile, Renderer } from './types.js';
import { aliasOf, describeSource } from './values.js';
import { renderVelero } from './velero.js';

export { FORMATS, type Format, type RenderedFile, type Renderer } from './types.js';

/** One renderer per format; a format added to FORMATS does not compile until it has one here. */
export const RENDERERS: { readonly [F in Format]: Renderer } = {
  aws: renderAws,
  rclone: renderRclone,
  mc: renderMc,
  env: renderEnv,
  s3cmd: renderS3cmd,
  restic: renderRestic,
  velero: renderVelero,
  json: renderJson,
};

/**
 * Every file of every requested format (each format once, in the order given), or a
 * CredentialsError before anything is returned: a caller never gets part of a render.
 */
export function renderFiles(buckets: readonly BucketCredentials[], formats: readonly Format[]): RenderedFile[] {
  checkAliasesUnique(buckets);
  return [...new Set(formats)].flatMap((format) => RENDERERS[format](buckets));
}

/** Two buckets with one alias would share a profile, a remote and file names. */
function checkAliasesUnique(buckets: readonly BucketCredentials[]): void {
  const seen = new Map<string, BucketCredentials>();
  for (const b of buckets) {
    const alias = aliasOf(b, 'any output');
    const first = seen.get(alias);
    if (first !== undefined) {
      throw new CredentialsError(
        describeSource(b),
        'alias',
        `"${alias}" is already the alias of ${describeSource(first)}; give one of them another alias`,
      );
    }
    seen.set(alias, b);
  }
}
