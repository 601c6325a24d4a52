import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import type { BucketCredentials } from '../../src/credentials/types.js';
import { CredentialsError } from '../../src/errors.js';
import { RENDERERS, renderFiles } from '../../src/render/index.js';
import type { Format, RenderedFile } from '../../src/render/types.js';
import { REPO_ROOT } from '../env/tools.js';
import { HOSTILE_VALUES, bucket, type HostileValue } from '../unit/render-fixtures.js';
import type { Request as JsSdkRequest } from './aws-sdk-js-reader.js';

/**
 * Helpers for the real-reader suite: rendered files go to a temp dir with plain fs, then the real
 * program (aws CLI, rclone, s3cmd, dash, bash) or library (dotenv) reads them back.
 */

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is left alone. */
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs a program without a shell; rejects with its stderr on a non-zero exit. */
export function run(program: string, args: readonly string[], env: NodeJS.ProcessEnv, options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const execOptions = {
      env,
      cwd: options.cwd,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: options.timeoutMs ?? 60_000,
    } as const;
    const child = execFile(program, [...args], execOptions, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${program} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** process.env without the variables through which a reader could take values from elsewhere. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(AWS_|RCLONE_|S3CMD|BUCKET_|RESTIC_)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Maps with at most `limit` calls in flight: the aws CLI takes ~1 s to start, there are 2 cores. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface AwsFiles {
  readonly config: string;
  readonly credentials: string;
}

/**
 * Runs ./aws-sdk-js-reader.ts as a Node app would run: a process of its own whose AWS_CONFIG_FILE
 * and AWS_SHARED_CREDENTIALS_FILE point at `files`. Resolves to its answers, in query order.
 */
export async function readWithJsSdk(files: AwsFiles, request: JsSdkRequest, extraEnv: NodeJS.ProcessEnv = {}): Promise<unknown[]> {
  const env = cleanEnv({ AWS_CONFIG_FILE: files.config, AWS_SHARED_CREDENTIALS_FILE: files.credentials, ...extraEnv });
  const reader = join(REPO_ROOT, 'dist/test/clients/aws-sdk-js-reader.js');
  const { stdout } = await run(process.execPath, [reader], env, { input: JSON.stringify(request) });
  return JSON.parse(stdout) as unknown[];
}

export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `bucket-agent-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(dir: string, files: readonly RenderedFile[]): void {
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
}

export interface AcceptedValue {
  readonly hostile: HostileValue;
  readonly bucket: BucketCredentials;
}

/** The hostile values `format` must carry, one bucket each (aliases v0, v1, ...). */
export function acceptedBy(format: Format): AcceptedValue[] {
  return HOSTILE_VALUES.filter((h) => !h.refusedBy.includes(format)).map((hostile, i) => ({
    hostile,
    bucket: bucket(`v${i}`, { secretAccessKey: hostile.value }),
  }));
}

export function refusedBy(format: Format): HostileValue[] {
  return HOSTILE_VALUES.filter((h) => h.refusedBy.includes(format));
}

/** The renderer's CredentialsError for a value it must refuse (undefined if it rendered). */
export function refusalOf(format: Format, value: string): CredentialsError | undefined {
  try {
    RENDERERS[format]([bucket('r', { secretAccessKey: value })]);
    return undefined;
  } catch (err) {
    if (err instanceof CredentialsError) return err;
    throw err;
  }
}

/** A short printable name for a value in test titles and messages (values here are test data). */
export function show(value: string): string {
  return JSON.stringify(value);
}

/** One test per value `format` must refuse: a CredentialsError naming secretAccessKey, no value. */
export function itRefuses(format: Format): void {
  for (const hostile of refusedBy(format)) {
    it(`refuses ${hostile.name} ${show(hostile.value)} before anything is written`, () => {
      const err = refusalOf(format, hostile.value);
      assert.ok(err !== undefined, `${format} rendered ${show(hostile.value)}`);
      assert.equal(err.field, 'secretAccessKey');
      if (hostile.value.length > 1) assert.ok(!err.message.includes(hostile.value));
      assert.throws(() => renderFiles([bucket('ok'), bucket('r', { secretAccessKey: hostile.value })], [format]), CredentialsError);
    });
  }
}
