import { spawn } from 'node:child_process';
import { reapOnExit } from './process.js';
import type { S3Keys } from './s3-keys.js';

/**
 * Runtime identity management through `weed shell s3.configure`, which talks to the filer's IAM
 * gRPC service — the same store the SeaweedFS COSI driver writes to in Cozystack. The S3 server
 * follows that store through a filer metadata subscription, so a change is enforced without a
 * restart. Measured on 4.53: a `weed shell` call takes 0.2-0.4 s, and the first S3 request after
 * it returns already sees the change (deleted key -> InvalidAccessKeyId).
 */

/** Where `weed shell` connects: the master for cluster state, the filer that holds IAM. */
export interface WeedShellTarget {
  readonly weed: string;
  /** `host:port.grpcPort` of the master; without `.grpcPort` the shell dials port+10000. */
  readonly master: string;
  /** `host:port.grpcPort` of the filer, so the shell skips filer discovery. */
  readonly filer: string;
}

/**
 * What a bucket user may do, scoped to its one bucket: exactly what the SeaweedFS COSI driver that
 * Cozystack deploys grants for its default `readwrite` access policy (actionsForPolicy in
 * seaweedfs-cosi-driver pkg/driver/provisioner.go). No *Acp actions, so a client that sends
 * `X-Amz-Acl` is refused here as it would be there.
 */
const BUCKET_USER_ACTIONS = 'Read,Write,List,Tagging';
const SHELL_TIMEOUT_MS = 30_000;
/** The shell splits lines on whitespace and `;`, so names must not carry either. */
const SAFE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Keys go on a shell line too: the base64 alphabet plus `=` is safe there. */
const SAFE_KEY = /^[A-Za-z0-9/+=]+$/;

export async function putBucketUser(target: WeedShellTarget, name: string, bucket: string, keys: S3Keys): Promise<void> {
  assertToken('identity name', name, SAFE_TOKEN);
  assertToken('bucket name', bucket, SAFE_TOKEN);
  assertToken('access key', keys.accessKeyId, SAFE_KEY);
  assertToken('secret key', keys.secretAccessKey, SAFE_KEY);
  const line =
    `s3.configure -user=${name} -actions=${BUCKET_USER_ACTIONS} -buckets=${bucket}` +
    ` -access_key=${keys.accessKeyId} -secret_key=${keys.secretAccessKey} -apply`;
  await runWeedShell(target, line, [keys.secretAccessKey]);
}

export async function deleteUser(target: WeedShellTarget, name: string): Promise<void> {
  assertToken('identity name', name, SAFE_TOKEN);
  // -delete with no actions, keys or buckets removes the whole user.
  await runWeedShell(target, `s3.configure -user=${name} -delete -apply`, []);
}

function assertToken(what: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot be passed to weed shell`);
}

/**
 * Runs one `weed shell` script read from stdin (secrets stay out of argv and `ps`). The shell
 * exits 1 when a command failed; its output, with `secrets` masked, goes into the error because
 * s3.configure echoes the whole identity, keys included.
 */
export async function runWeedShell(target: WeedShellTarget, script: string, secrets: readonly string[]): Promise<string> {
  const args = ['shell', `-master=${target.master}`, `-filer=${target.filer}`];
  const child = spawn(target.weed, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  reapOnExit(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stdin.end(`${script}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), SHELL_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  const masked = secrets.reduce((text, secret) => text.split(secret).join('***'), output);
  if (code !== 0) {
    const command = script.split(' ')[0] ?? script;
    throw new Error(`weed shell ${command} failed (exit ${String(code)}):\n${masked.trim()}`);
  }
  return masked;
}
