import type { BucketCredentials } from '../credentials/types.js';

/** One output file, path relative to the output directory (e.g. `aws/credentials`). */
export interface RenderedFile {
  readonly path: string;
  readonly content: string;
}

/**
 * Renders every bucket of one render into the files of one format. Pure: no IO.
 * Throws CredentialsError (naming the source and the field) for a value the format cannot carry
 * exactly; never escapes a value into something the reader would read back differently.
 */
export type Renderer = (buckets: readonly BucketCredentials[]) => RenderedFile[];

export const FORMATS = ['aws', 'rclone', 'mc', 'env', 's3cmd', 'restic', 'velero', 'json'] as const;
export type Format = (typeof FORMATS)[number];
