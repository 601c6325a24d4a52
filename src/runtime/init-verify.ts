/**
 * Verifies every bucket's keys against S3 before anything is written, retrying for a bounded time:
 * freshly created keys and buckets can take a moment to reach every S3 gateway. Each attempt uses
 * the newest credentials the watch has seen, so keys rotated meanwhile are picked up.
 */
import { readFile } from 'node:fs/promises';
import type { VerifyConfig } from '../config/init.js';
import type { BucketCredentials } from '../credentials/index.js';
import { UsageError, VerifyError } from '../errors.js';
import { Backoff, sleep } from '../backoff.js';
import type { Logger } from '../log.js';
import { classifyVerifyError, type VerifyProblem } from '../s3/classify.js';
import type { ProbeOptions } from '../s3/verify.js';
import { formatDuration } from './init-report.js';

/** One S3 request may take this long before it counts as a connection failure. */
export const PROBE_TIMEOUT_MS = 10_000;

export interface VerifySubject {
  readonly request: { readonly name: string; readonly alias: string };
  current(): BucketCredentials | undefined;
}

export interface VerifyPlan {
  readonly probe: ProbeOptions;
  readonly windowMs: number;
}

/** Reads --ca-file up front, so a wrong path fails before any waiting. */
export async function verifyPlanFrom(config: VerifyConfig): Promise<VerifyPlan> {
  let ca: Buffer | undefined;
  if (config.caFile !== undefined) {
    ca = await readFile(config.caFile).catch((err: unknown) => {
      throw new UsageError(`cannot read --ca-file ${config.caFile}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`, {
        cause: err,
      });
    });
  }
  return { probe: { ca, insecureSkipTlsVerify: config.insecureSkipTlsVerify, timeoutMs: PROBE_TIMEOUT_MS }, windowMs: config.windowMs };
}

/** Verifies all buckets at once; the first definitive failure stops the others. */
export async function verifyAll(subjects: readonly VerifySubject[], plan: VerifyPlan, log: Logger): Promise<BucketCredentials[]> {
  const controller = new AbortController();
  try {
    return await Promise.all(subjects.map((subject) => verifyOne(subject, plan, log, controller.signal)));
  } finally {
    controller.abort();
  }
}

async function verifyOne(subject: VerifySubject, plan: VerifyPlan, log: Logger, signal: AbortSignal): Promise<BucketCredentials> {
  const { probeBucket } = await import('../s3/verify.js');
  const until = Date.now() + plan.windowMs;
  const backoff = new Backoff(500, 5_000);
  const bucketLog = log.child({ bucket: subject.request.name, alias: subject.request.alias });
  for (let attempt = 1; ; attempt++) {
    const creds = currentOf(subject);
    try {
      await probeBucket(creds, plan.probe);
      bucketLog.info({ attempt }, `keys verified: listed S3 bucket ${creds.bucketName} at ${creds.endpoint.url}`);
      return creds;
    } catch (err) {
      const problem = classifyVerifyError(err);
      const delay = backoff.next();
      if (!problem.retryable || Date.now() + delay > until || signal.aborted) throw verifyError(subject, creds, problem, attempt);
      bucketLog.warn(
        { attempt, reason: problem.reason },
        `verifying the keys failed, retrying in ${formatDuration(delay)} (new keys can take a moment to propagate): ${problem.words}`,
      );
      await sleep(delay, signal);
    }
  }
}

function currentOf(subject: VerifySubject): BucketCredentials {
  const creds = subject.current();
  // The waiter resolved before verification starts, so it always holds credentials by now.
  if (creds === undefined) throw new Error(`no credentials for bucket ${subject.request.name}`);
  return creds;
}

function verifyError(subject: VerifySubject, creds: BucketCredentials, problem: VerifyProblem, attempts: number): VerifyError {
  const where = `S3 bucket ${creds.bucketName} at ${creds.endpoint.url}`;
  const secret = `${creds.source.namespace ?? ''}/${creds.source.name}`;
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  return new VerifyError(
    problem.reason,
    `keys of bucket ${subject.request.name} (Secret ${secret}) failed verification against ${where}: ${problem.words}${tries}`,
  );
}
