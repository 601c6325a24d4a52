/**
 * Follows one Bucket's credentials: every Secret candidate at once through a SecretSource (api
 * or volume), and the Bucket object (for words, never as a gate). The first candidate in
 * DESIGN.md order that exists wins (credentials/candidates.ts). A Secret that appears, is
 * replaced or changes is re-read; one with an unusable payload is reported and waited past. A
 * candidate the service account may not read counts as absent: a Role that grants a user's own
 * Secrets by `resourceNames` is the normal per-user setup.
 *
 * `init` takes the first usable credentials (`ready`); the sidecar keeps following (`onUpdate`).
 */
import {
  chooseCandidate,
  credentialsFromSecret,
  decodeSecret,
  describeSecret,
  isFailed,
  readyConditionOf,
  secretCandidates,
  secretKeyValues,
  type BucketCredentials,
  type CandidateState,
  type SecretObject,
} from '../credentials/index.js';
import { CredentialsError, type BucketAgentError } from '../errors.js';
import type { BucketRequest } from '../config/init.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError, type KubeConnectionError } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import { BUCKETS } from '../kube/resources.js';
import { watchObject } from '../kube/watch-object.js';
import type { Logger } from '../log.js';
import { rememberSecrets } from '../redact.js';
import { failedMessage, waitingMessage, type BucketApiState, type BucketView } from './init-report.js';
import type { SecretFollower, SecretSource } from './secret-source.js';

export interface WaiterContext {
  readonly source: SecretSource;
  /** For the Bucket object's status; undefined when there is no API access (volume source). */
  readonly client: KubeClient | undefined;
  readonly namespace: string;
  readonly user: string | undefined;
  readonly log: Logger;
  readonly events: EventRecorder;
  /** Called when the Bucket API cannot be read; logs the fallback once per run. */
  bucketApiUnreadable(why: string): void;
  /** After every change of what is known (a Secret, the Bucket): the sidecar re-renders from `current()`. */
  onUpdate?(waiter: BucketWaiter): void;
}

interface Candidate {
  readonly name: string;
  state: CandidateState<SecretObject>;
  /** Why it cannot be read, while it cannot. */
  denial: BucketAgentError | undefined;
}

interface Stoppable {
  stop(): void;
}

export class BucketWaiter {
  readonly request: BucketRequest;
  /** Resolves with the first usable credentials; rejects when every candidate is denied (missing RBAC). */
  readonly ready: Promise<BucketCredentials>;
  private readonly ctx: WaiterContext;
  private readonly log: Logger;
  private readonly candidates: Candidate[];
  private readonly followers: SecretFollower[] = [];
  private readonly watches: Stoppable[] = [];
  private bucket: BucketApiState = { kind: 'unknown' };
  private bucketWatched = false;
  private credentials: BucketCredentials | undefined;
  private lastGood: BucketCredentials | undefined;
  /** Whether keepLastGood() has spoken since the last usable credentials. */
  private keptLastGood = false;
  private problem: string | undefined;
  private trouble: string | undefined;
  private announced = false;
  /** Resolves once every candidate was listed and evaluated; watches wait for it. */
  private readonly allListed: Promise<void>;
  private listed!: () => void;
  private settle!: { resolve(creds: BucketCredentials): void; reject(err: BucketAgentError): void };

  constructor(request: BucketRequest, ctx: WaiterContext) {
    this.request = request;
    this.ctx = ctx;
    this.log = ctx.log.child({ bucket: request.name, alias: request.alias, namespace: ctx.namespace });
    this.candidates = secretCandidates(request.name, ctx.user).map((name) => ({ name, state: { kind: 'unknown' }, denial: undefined }));
    if (ctx.client === undefined) this.bucket = { kind: 'unreadable', why: `reading ${ctx.source.description}, not the Bucket API` };
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
    this.followers.push(...this.candidates.map((candidate) => this.followSecret(candidate)));
  }

  stop(): void {
    for (const watch of [...this.followers.splice(0), ...this.watches.splice(0)]) watch.stop();
  }

  /** The followers of this bucket's Secret candidates, for liveness. */
  secretFollowers(): readonly SecretFollower[] {
    return this.followers;
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
      denied: this.candidates.filter((c) => c.state.kind === 'unreadable').map((c) => c.name),
      problem: this.problem,
      trouble: this.trouble,
    };
  }

  private watchBucket(client: KubeClient): Stoppable {
    return watchObject({
      client,
      resource: BUCKETS,
      namespace: this.ctx.namespace,
      name: this.request.name,
      onState: (object) => this.onBucket(object === undefined ? { kind: 'absent' } : { kind: 'present', ready: readyConditionOf(object) }),
      onFatal: (err) => {
        this.ctx.bucketApiUnreadable(err.message);
        this.onBucket({ kind: 'unreadable', why: bucketUnreadable(err) });
      },
      onRetry: (err, retryInMs) => {
        this.onBucket({ kind: 'trouble', why: errorWords(err) });
        this.log.debug({ retryInMs }, `reading the Bucket failed, retrying: ${errorWords(err)}`);
      },
    });
  }

  private followSecret(candidate: Candidate): SecretFollower {
    return this.ctx.source.follow(
      candidate.name,
      {
        onState: (object) => {
          candidate.state = object === undefined ? { kind: 'absent' } : { kind: 'present', secret: object };
          candidate.denial = undefined;
          this.trouble = undefined;
          this.evaluate();
        },
        onUnreadable: (err) => this.onUnreadable(candidate, err),
        onRetry: (err, retryInMs) => {
          if (this.trouble === undefined)
            this.log.warn({ retryInMs }, `reading Secret ${candidate.name} failed, retrying: ${errorWords(err)}`);
          this.trouble = errorWords(err);
        },
      },
      // Found at once (the common case): the caller stops us before any watch is opened.
      { beforeWatch: () => this.allListed.then(() => new Promise((resolve) => setImmediate(resolve))) },
    );
  }

  /** Denied (or not served): counts as absent; only every candidate denied is a denial. */
  private onUnreadable(candidate: Candidate, err: BucketAgentError): void {
    if (candidate.denial === undefined) {
      this.log.info({ secret: candidate.name }, `Secret ${candidate.name} cannot be read, so it is not a candidate: ${err.message}`);
    }
    candidate.state = { kind: 'unreadable' };
    candidate.denial = err;
    this.evaluate();
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

  /** Re-chooses after every change; see chooseCandidate for the rules. */
  private evaluate(): void {
    if (this.candidates.every((c) => c.state.kind !== 'unknown')) this.listed();
    const choice = chooseCandidate(this.candidates.map((c) => c.state));
    if (choice.kind === 'wait') return;
    const chosen = choice.kind === 'chosen' ? this.candidates[choice.index] : undefined;
    this.credentials = chosen === undefined ? undefined : this.parse(chosen);
    if (choice.kind === 'none' && choice.denied) this.settle.reject(this.candidates[0]?.denial as BucketAgentError);
    this.settleWith(this.credentials);
    this.ctx.onUpdate?.(this);
  }

  private settleWith(credentials: BucketCredentials | undefined): void {
    if (credentials === undefined) {
      if (this.lastGood === undefined) this.waitLonger();
      else if (!this.keptLastGood && this.candidates.every((c) => c.state.kind !== 'present')) this.keepLastGood();
      return;
    }
    this.keptLastGood = false;
    this.lastGood = credentials;
    this.settle.resolve(credentials);
  }

  /** Said once per spell: every candidate is gone (or denied); the last good files stay. A bad update is reported elsewhere. */
  private keepLastGood(): void {
    this.keptLastGood = true;
    const names = this.candidates.map((c) => c.name);
    // info, not warn: COSI rotates by delete + create, so this is routine for a moment.
    this.log.info(
      { secrets: names },
      `the Secret of bucket ${this.request.name} is gone (${names.join(', ')}: none readable); keeping the last good files until it is back`,
    );
  }

  private parse(candidate: Candidate): BucketCredentials | undefined {
    const label = describeSecret(candidate.name, this.ctx.namespace);
    if (candidate.state.kind !== 'present') return undefined;
    try {
      const secret = decodeSecret(candidate.state.secret, label);
      // Masked in every output from now on, even if the payload is refused below.
      rememberSecrets(secretKeyValues(secret));
      const creds = credentialsFromSecret(secret, this.request.alias);
      if (this.credentials === undefined)
        this.log.info({ secret: candidate.name, layout: creds.source.layout }, `found Secret ${candidate.name}`);
      this.problem = undefined;
      return creds;
    } catch (err) {
      if (!(err instanceof CredentialsError)) throw err;
      if (this.problem !== err.message)
        this.log.warn({ secret: candidate.name }, `Secret ${candidate.name} cannot be used yet, waiting for a change: ${err.message}`);
      this.problem = err.message;
      return undefined;
    }
  }

  private waitLonger(): void {
    if (!this.bucketWatched && this.followers.length > 0 && this.ctx.client !== undefined) {
      this.bucketWatched = true;
      this.watches.push(this.watchBucket(this.ctx.client));
    }
    this.announce();
  }

  /** Says once, as soon as the state is known, that this bucket has to be waited for. */
  private announce(): void {
    if (this.announced || this.credentials !== undefined || this.bucket.kind === 'unknown') return;
    if (this.candidates.some((c) => c.state.kind === 'unknown')) return;
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

/** Why the Bucket cannot be read, in the words of the waiting message. */
function bucketUnreadable(err: KubeApiError | KubeConnectionError): string {
  if (!(err instanceof KubeApiError)) return 'the apiserver is not trusted';
  return err.status === 404 ? 'the Bucket API is not served' : 'access to Buckets is denied';
}
