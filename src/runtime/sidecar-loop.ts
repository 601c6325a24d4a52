/**
 * The sidecar's render loop. The bucket waiters (init-bucket.ts) follow the Secret candidates and
 * call `schedule()` after every change; the loop then renders every bucket's current credentials
 * as one atomic file set, and when that changed the files, runs the notify actions.
 *
 * - The first render waits for every bucket (all or none, as init); no notification then: the
 *   app has not started yet (a native sidecar holds it until /readyz).
 * - New keys are authoritative: they are rendered at once; verification, when on, runs after and
 *   only reports.
 * - A bad update (an unusable payload, a value no format can carry, a failed write) keeps the last
 *   good files and is reported once per distinct problem: log, metric, Event, /readyz.
 * - A Secret gone (deleted, or all candidates gone) keeps the last good files too: COSI rotation
 *   deletes and re-creates, and the old keys usually still work in between.
 */
import type { OutputConfig } from '../config/render.js';
import type { BucketCredentials } from '../credentials/index.js';
import { BucketAgentError, CredentialsError, VerifyError } from '../errors.js';
import type { AtomicWriter } from '../files/atomic-writer.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import { AWS_CONTAINER_TOKEN_PATH } from '../render/aws.js';
import { renderFiles } from '../render/index.js';
import type { RenderedFile } from '../render/types.js';
import type { NotifyAction } from '../config/notify.js';
import type { BucketWaiter } from './init-bucket.js';
import { verifyAll, type VerifyPlan } from './init-verify.js';
import type { BadUpdateReason, SidecarMetrics, VerifyReason } from './metrics.js';
import { runNotifications } from './notify.js';

/** Relative to --out: the token the credentials endpoint wants (DESIGN.md "Sidecar contract"). */
export const CONTAINER_TOKEN_PATH = AWS_CONTAINER_TOKEN_PATH;

export interface LoopOptions {
  readonly waiters: readonly BucketWaiter[];
  readonly writer: AtomicWriter;
  readonly output: OutputConfig;
  readonly notify: readonly NotifyAction[];
  /** The credentials endpoint's token, written with the files; undefined when it is off. */
  readonly token: string | undefined;
  readonly verify: VerifyPlan | undefined;
  readonly metrics: SidecarMetrics;
  readonly events: EventRecorder;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** The notify runner names its own component. */
  readonly notifyLog: Logger;
}

/** What /readyz says of one bucket (a type, not an interface: it is JSON data). */
export type BucketReport = {
  readonly state: 'waiting' | 'rendered';
  readonly secret: string | null;
  /** The reason code of the last bad update not yet followed by a good one. */
  readonly badUpdate: BadUpdateReason | null;
};

export class SidecarLoop {
  private readonly options: LoopOptions;
  private readonly log: Logger;
  private scheduled = false;
  /** What the files hold now, by alias. */
  private rendered: ReadonlyMap<string, BucketCredentials> | undefined;
  private renderedKey = '';
  /** Per alias: the bad update being reported (reason and message), until a good render. */
  private readonly bad = new Map<string, { reason: BadUpdateReason; message: string }>();

  constructor(options: LoopOptions) {
    this.options = options;
    this.log = options.log;
  }

  /** Coalesces a burst of changes (several candidates, several buckets) into one render. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.renderNow();
    });
  }

  get ready(): boolean {
    return this.rendered !== undefined;
  }

  /** The keys the files hold now: what the credentials endpoint serves. */
  credentialsOf(alias: string): BucketCredentials | undefined {
    return this.rendered?.get(alias);
  }

  report(): Record<string, BucketReport> {
    const out: Record<string, BucketReport> = {};
    for (const waiter of this.options.waiters) {
      const alias = waiter.request.alias;
      const creds = this.rendered?.get(alias);
      out[alias] = {
        state: creds === undefined ? 'waiting' : 'rendered',
        secret: creds?.source.name ?? null,
        badUpdate: this.bad.get(alias)?.reason ?? null,
      };
    }
    return out;
  }

  private renderNow(): void {
    this.noteProblems();
    const current = this.options.waiters.map((waiter) => waiter.current());
    if (current.some((creds) => creds === undefined)) return;
    const buckets = current as BucketCredentials[];
    const key = buckets.map(fingerprint).join('\n');
    if (key === this.renderedKey) return;
    const files = this.filesFor(buckets);
    if (files === undefined || !this.write(buckets, files)) return;
    const before = this.rendered;
    // What the app cares about: keys, bucket, endpoint, region. A re-created Secret with the same
    // payload (new uid) is rendered (json/ names the uid) but is no news to the app.
    const changed = buckets.filter((b) => before === undefined || fingerprintOf(b, false) !== fingerprintOf(before.get(b.alias), false));
    this.rendered = new Map(buckets.map((b) => [b.alias, b]));
    this.renderedKey = key;
    this.afterRender(
      before === undefined,
      changed,
      buckets.filter((b) => !sameKeys(before?.get(b.alias), b)),
    );
  }

  private filesFor(buckets: readonly BucketCredentials[]): RenderedFile[] | undefined {
    try {
      const files = renderFiles(buckets, this.options.output.formats);
      return this.options.token === undefined ? files : [...files, { path: CONTAINER_TOKEN_PATH, content: this.options.token }];
    } catch (err) {
      if (!(err instanceof CredentialsError)) throw err;
      // A renderer refused a value: which bucket is in the message's source, not worth parsing.
      for (const b of buckets) if (err.source.includes(b.source.name)) this.badUpdate(b.alias, reasonOf(err.message), err.message);
      return undefined;
    }
  }

  private write(buckets: readonly BucketCredentials[], files: readonly RenderedFile[]): boolean {
    try {
      const result = this.options.writer.write(files);
      for (const warning of result.warnings) this.log.warn({ out: this.options.output.out }, warning);
      return true;
    } catch (err) {
      if (!(err instanceof BucketAgentError)) throw err;
      for (const b of buckets) this.badUpdate(b.alias, 'write-failed', err.message);
      return false;
    }
  }

  private afterRender(first: boolean, changed: readonly BucketCredentials[], rotated: readonly BucketCredentials[]): void {
    this.count(first, rotated);
    for (const b of changed) this.bad.delete(b.alias);
    if (changed.length === 0)
      return this.log.info({ out: this.options.output.out }, 'rendered again: only the Secret object changed (same payload)');
    const words = `${first ? 'rendered' : 'new credentials rendered'} into ${this.options.output.out}: ${this.describe(changed)}`;
    this.log.info({ out: this.options.output.out, buckets: changed.map((b) => b.alias), first }, words);
    this.options.events.record('Normal', first ? 'CredentialsRendered' : 'CredentialsRotated', words);
    const work: Promise<unknown>[] = [];
    if (!first && this.options.notify.length > 0) work.push(this.notify(changed.map((b) => b.alias)));
    if (this.options.verify !== undefined && rotated.length > 0) work.push(this.verify(rotated, this.options.verify));
    // Neither rejects on the app's or S3's account; anything else is a bug, said once, not a crash.
    void Promise.all(work).catch((err: unknown) =>
      this.log.error(`after the render: ${err instanceof Error ? err.message : 'unknown error'}`),
    );
  }

  private count(first: boolean, rotated: readonly BucketCredentials[]): void {
    const { metrics } = this.options;
    metrics.renders.inc({});
    metrics.rendered();
    for (const b of rotated) {
      if (!first) metrics.rotations.inc({ alias: b.alias });
      metrics.keysObserved(b.alias, Date.now());
    }
  }

  private describe(buckets: readonly BucketCredentials[]): string {
    return buckets.map((b) => `${b.alias} (Secret ${b.source.name})`).join(', ');
  }

  private async notify(aliases: readonly string[]): Promise<void> {
    const outcomes = await runNotifications(this.options.notify, {
      out: this.options.output.out,
      aliases,
      env: this.options.env,
      log: this.options.notifyLog,
    });
    for (const outcome of outcomes) this.options.metrics.recordNotify(outcome);
  }

  /** Reports keys S3 refuses; never holds back a render (new keys are authoritative). */
  private async verify(buckets: readonly BucketCredentials[], plan: VerifyPlan): Promise<void> {
    const subjects = this.options.waiters.filter((w) => buckets.some((b) => b.alias === w.request.alias));
    await Promise.all(
      subjects.map((subject) =>
        verifyAll([subject], plan, this.log).catch((err: unknown) => {
          if (!(err instanceof VerifyError)) throw err;
          this.options.metrics.verifyFailures.inc({ alias: subject.request.alias, reason: err.reason as VerifyReason });
          this.log.warn(
            { alias: subject.request.alias, reason: err.reason },
            `rendered all the same (new keys are authoritative): ${err.message}`,
          );
          this.options.events.record('Warning', 'CredentialsVerifyFailed', err.message);
        }),
      ),
    );
  }

  /** Payload problems the waiters saw since the last look, reported once each. */
  private noteProblems(): void {
    for (const waiter of this.options.waiters) {
      const problem = waiter.view().problem;
      // Before the first render a problem is still "waiting", which the waiter reports itself.
      if (problem !== undefined && this.rendered?.has(waiter.request.alias) === true)
        this.badUpdate(waiter.request.alias, reasonOf(problem), problem);
    }
  }

  private badUpdate(alias: string, reason: BadUpdateReason, message: string): void {
    if (this.bad.get(alias)?.message === message) return;
    this.bad.set(alias, { reason, message });
    this.options.metrics.badUpdates.inc({ alias, reason });
    const words = `bad update for ${alias}, keeping the last good files: ${message}`;
    this.log.warn({ alias, reason }, words);
    this.options.events.record('Warning', 'CredentialsBadUpdate', words);
  }
}

/**
 * What a render of one bucket depends on, as one comparable string (kept in memory only). Not
 * the resourceVersion: an update that changes nothing rendered (a label) is not a render.
 */
function fingerprint(b: BucketCredentials): string {
  return fingerprintOf(b, true);
}

function fingerprintOf(b: BucketCredentials | undefined, withSource: boolean): string {
  if (b === undefined) return '';
  const payload = [b.alias, b.bucketName, b.endpoint.url, b.region, b.accessKeyId, b.secretAccessKey];
  return JSON.stringify(withSource ? [...payload, b.source.name, b.source.uid] : payload);
}

function sameKeys(a: BucketCredentials | undefined, b: BucketCredentials): boolean {
  return a !== undefined && a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey;
}

/** A CredentialsError message -> its class of fault (a metric label: never the text itself). */
export function reasonOf(message: string): BadUpdateReason {
  if (/is missing|is empty/.test(message)) return 'missing-field';
  if (/not valid (JSON|YAML|base64|UTF-8)|none of the supported layouts|must be (a|an) /.test(message)) return 'malformed';
  if (/unsupported/.test(message)) return 'unsupported';
  return 'invalid-value';
}
