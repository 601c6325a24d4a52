import {
  bucketInfoKeyValues,
  credentialsFromBucketInfo,
  credentialsFromSecret,
  secretKeyValues,
  type BucketCredentials,
} from '../credentials/index.js';
import { parseSecretManifests } from '../credentials/manifest.js';
import type { OutputConfig, RenderConfig, RenderInput } from '../config/render.js';
import { UsageError } from '../errors.js';
import { AtomicWriter, type WriteResult } from '../files/atomic-writer.js';
import type { Logger } from '../log.js';
import { rememberSecrets } from '../redact.js';
import { readInput } from './read-input.js';
import { renderFiles } from '../render/index.js';

/** Reads every input, renders every requested format, writes them as one atomic file set. */
export async function runRender(config: RenderConfig, log: Logger, stdin: NodeJS.ReadableStream): Promise<WriteResult> {
  const buckets: BucketCredentials[] = [];
  for (const input of config.inputs) buckets.push(...credentialsFrom(input, await readInput(input.path, stdin)));
  return writeBuckets(buckets, config.output, log);
}

/** The writer for an output config; the sidecar keeps one for its whole life. */
export function writerFor(output: OutputConfig): AtomicWriter {
  return new AtomicWriter(output.out, { fileMode: output.fileMode, dirMode: output.dirMode, uid: output.uid, gid: output.gid });
}

/** Renders and writes; the one path from credentials to files, shared by every command. */
export function writeBuckets(
  buckets: readonly BucketCredentials[],
  output: OutputConfig,
  log: Logger,
  writer = writerFor(output),
): WriteResult {
  const files = renderFiles(buckets, output.formats);
  const result = writer.write(files);
  for (const warning of result.warnings) log.warn({ out: output.out }, warning);
  log.info(
    { out: output.out, generation: result.generation, files: result.paths.length, buckets: buckets.map((b) => b.alias) },
    result.changed ? 'rendered' : 'unchanged: files already up to date, nothing rewritten',
  );
  return result;
}

function credentialsFrom(input: RenderInput, text: string): BucketCredentials[] {
  const label = `file ${input.path === '-' ? '(stdin)' : input.path}`;
  if (input.kind === 'bucketinfo') {
    rememberSecrets(bucketInfoKeyValues(text));
    return [credentialsFromBucketInfo(text, label, input.alias ?? '')];
  }
  const secrets = parseSecretManifests(text, label);
  for (const secret of secrets) rememberSecrets(secretKeyValues(secret));
  if (input.alias !== undefined && secrets.length > 1) {
    throw new UsageError(`${label} holds ${secrets.length} Secrets but one --alias was given for it`);
  }
  return secrets.map((secret) => credentialsFromSecret(secret, input.alias));
}
