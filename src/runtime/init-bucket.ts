/**
 * Waits for one Bucket's credentials: watches the Bucket object (for words, never as a gate) and
 * every Secret candidate at once; the first candidate in DESIGN.md order that exists wins, once all
 * have been listed. A Secret that appears, is replaced or changes while waiting is re-read; one
 * with an unusable payload is reported and waited past.
 */
import { CredentialsError, type KubeAccessError } from '../errors.js';
import { credentialsFromSecret, decodeSecret, describeSecret, type BucketCredentials, type SecretObject } from '../credentials/index.js';
import type { BucketRequest } from '../config/init.js';
import { isFailed, readyConditionOf } from '../kube/bucket.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import { BUCKETS, SECRETS } from '../kube/resources.js';
import { watchObject, type KubeObject, type ObjectWatch } from '../kube/watch-object.js';
import type { Logger } from '../log.js';
import { failedMessage, waitingMessage, type BucketApiState, type BucketView } from './init-report.js';

export interface WaiterContext {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly user: string | undefined;
  readonly log: Logger;
  readonly events: EventRecorder;
  /** Called when the Bucket API cannot be read; logs the fallback once per run. */
  bucketApiUnreadable(why: string): void;
}

/** Secret names for Bucket `name` (and user), in lookup order (DESIGN.md "Where credentials come from"). */
export function secretCandidates(name: string, user: string | undefined): string[] {
  if (user === undefined) return [`bucket-${name}`, `bucket-${name}-credentials`];
  return [`bucket-${name}-${user}`, `bucket-${name}`, `bucket-${name}-${user}-credentials`];
}

interface Candidate {
  readonly name: string;
  synced: boolean;
  object: KubeObject | undefined;
}

export class BucketWaiter {
  readonly request: BucketRequest;
  /** Resolves with the first usable credentials; rejects on a denial (missing RBAC). */
  readonly ready: Promise<BucketCredentials>;
  private readonly ctx: WaiterContext;
  private readonly log: Logger;
  private readonly candidates: Candidate[];
  private readonly watches: ObjectWatch[] = [];
  private bucket: BucketApiState = { kind: 'unknown' };
  private bucketWatched = false;
  private credentials: BucketCredentials | undefined;
  private lastGood: BucketCredentials | undefined;
  private problem: string | undefined;
  private trouble: string | undefined;
  private announced = false;
  /** Resolves once every candidate was listed and evaluated; watches wait for it. */
  private readonly allListed: Promise<void>;
  private listed!: () => void;
  private settle!: { resolve(creds: BucketCredentials): void; reject(err: KubeAccessError): void };

  constructor(request: BucketRequest, ctx: WaiterContext) {
    this.request = request;
    this.ctx = ctx;
    this.log = ctx.log.child({ bucket: request.name, alias: request.alias, namespace: ctx.namespace });
    this.candidates = secretCandidates(request.name, ctx.user).map((name) => ({ name, synced: false, object: undefined }));
    this.ready = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.allListed = new Promise((resolve) => (this.listed = resolve));
    // Observed by the caller through Promise.all/race; this keeps a late rejection from going unhandled.
    this.ready.catch(() => undefined);
  }

  /**
   * Watches the Secret candidates. The Bucket is only watched once they show nothing usable: when
   * the Secret is already there (the common case, and every init container restart) its status
   * adds nothing, and skipping it saves a request on the start-up path.
   */
  start(): void {
    this.watches.push(...this.candidates.map((candidate) => this.watchSecret(candidate)));
  }

  stop(): void {
    for (const watch of this.watches.splice(0)) watch.stop();
  }

  /** The newest usable credentials (they may change while keys are verified), else the last good ones. */
  current(): BucketCredentials | undefined {
    return this.credentials ?? this.lastGood;
  }

  view(): BucketView {
    return {
      name: this.request.name,
      namespace: this.ctx.namespace,
      candidates: this.candidates.map((c) => c.name),
      bucket: this.bucket,
      secret: this.credentials?.source.name,
      problem: this.problem,
      trouble: this.trouble,
    };
  }

  private watchBucket(): ObjectWatch {
    return watchObject({
      client: this.ctx.client,
      resource: BUCKETS,
      namespace: this.ctx.namespace,
      name: this.request.name,
      onState: (object) => this.onBucket(object === undefined ? { kind: 'absent' } : { kind: 'present', ready: readyConditionOf(object) }),
      onFatal: (err) => {
        this.ctx.bucketApiUnreadable(err.message);
        this.onBucket({ kind: 'unreadable', why: !(err instanceof KubeApiError) ? 'the apiserver is not trusted' : err.status === 404 ? 'the Bucket API is not served' : 'access to Buckets is denied' });
      },
      onRetry: (err, retryInMs) => {
        this.onBucket({ kind: 'trouble', why: errorWords(err) });
        this.log.debug({ retryInMs }, `reading the Bucket failed, retrying: ${errorWords(err)}`);
      },
    });
  }

  private watchSecret(candidate: Candidate): ObjectWatch {
    return watchObject({
      client: this.ctx.client,
      resource: SECRETS,
      namespace: this.ctx.namespace,
      name: candidate.name,
      onState: (object) => {
        candidate.synced = true;
        candidate.object = object;
        this.trouble = undefined;
        this.evaluate();
      },
      onFatal: (err) => this.settle.reject(err),
      // Found at once (the common case): the caller stops us before any watch is opened.
      beforeWatch: () => this.allListed.then(() => new Promise((resolve) => setImmediate(resolve))),
      onRetry: (err, retryInMs) => {
        if (this.trouble === undefined) this.log.warn({ retryInMs }, `watching Secret ${candidate.name} failed, retrying: ${errorWords(err)}`);
        this.trouble = errorWords(err);
      },
    });
  }

  private onBucket(next: BucketApiState): void {
    const before = this.bucket;
    this.bucket = next;
    if (next.kind === 'present' && isFailed(next.ready) && !sameFailure(before, next)) this.reportFailed(next);
    if (next.kind === 'present' && before.kind === 'absent') this.log.info(`Bucket ${this.request.name} appeared`);
    this.announce();
  }

  private reportFailed(state: Extract<BucketApiState, { kind: 'present' }>): void {
    if (state.ready === undefined || this.credentials !== undefined) return;
    const message = failedMessage(this.view(), state.ready);
    // Failed is reported, not fatal: Cozystack may retry the release (DESIGN.md "Provisioning signals").
    this.log.warn(`${message}; still waiting`);
    this.ctx.events.record('Warning', 'BucketFailed', message);
  }

  /**
   * Picks the first existing candidate as soon as every candidate before it is known to be absent:
   * when the first one is there (the common case) the others' lists are not waited for.
   */
  private evaluate(): void {
    if (this.candidates.every((c) => c.synced)) this.listed();
    const chosen = this.candidates.find((c) => !c.synced || c.object !== undefined);
    if (chosen !== undefined && !chosen.synced) return;
    this.credentials = chosen === undefined ? undefined : this.parse(chosen);
    if (this.credentials === undefined) return this.lastGood === undefined ? this.waitLonger() : undefined;
    this.lastGood = this.credentials;
    this.settle.resolve(this.credentials);
  }

  private parse(candidate: Candidate): BucketCredentials | undefined {
    const label = describeSecret(candidate.name, this.ctx.namespace);
    try {
      const creds = credentialsFromSecret(decodeSecret(candidate.object as SecretObject, label), this.request.alias);
      if (this.credentials === undefined) this.log.info({ secret: candidate.name, layout: creds.source.layout }, `found Secret ${candidate.name}`);
      this.problem = undefined;
      return creds;
    } catch (err) {
      if (!(err instanceof CredentialsError)) throw err;
      if (this.problem !== err.message) this.log.warn({ secret: candidate.name }, `Secret ${candidate.name} cannot be used yet, waiting for a change: ${err.message}`);
      this.problem = err.message;
      return undefined;
    }
  }

  private waitLonger(): void {
    if (!this.bucketWatched && this.watches.length > 0) {
      this.bucketWatched = true;
      this.watches.push(this.watchBucket());
    }
    this.announce();
  }

  /** Says once, as soon as the state is known, that this bucket has to be waited for. */
  private announce(): void {
    if (this.announced || this.credentials !== undefined || this.bucket.kind === 'unknown') return;
    if (!this.candidates.every((c) => c.synced)) return;
    this.announced = true;
    const message = waitingMessage(this.view());
    this.log.info(message);
    this.ctx.events.record('Normal', 'BucketWaiting', message);
  }
}

function sameFailure(before: BucketApiState, after: Extract<BucketApiState, { kind: 'present' }>): boolean {
  return before.kind === 'present' && before.ready?.reason === after.ready?.reason && before.ready?.message === after.ready?.message;
}

function errorWords(err: unknown): string {
  return err instanceof Error ? err.message : 'unknown error';
}

