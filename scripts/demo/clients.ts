/**
 * The two apps that keep writing while the keys rotate, each the way a real pod would get its keys:
 *  - bench/rotation-sdk-app.ts (a real @aws-sdk/client-s3 app) given only the container-credentials
 *    variables, writing an object every SDK_INTERVAL_MS through the sidecar's endpoint;
 *  - rclone (the version users install, toolPath('rclone')) with RCLONE_CONFIG pointing at the
 *    rendered rclone.conf, uploading with `rclone rcat` every RCLONE_INTERVAL_MS, one process per
 *    upload, so each one reads the files as they are at that moment.
 * Each attempt is kept with its time, the key it used and whether it worked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { renderedKeyId } from '../../test/e2e/cli-runs.js';
import { REPO_ROOT, toolPath } from '../../test/env/tools.js';
import { RCLONE_INTERVAL_MS, SDK_INTERVAL_MS } from './options.js';

export interface Attempt {
  /** Date.now() when the request's answer came. */
  readonly at: number;
  /** The access key id it was signed with (as far as the client tells). */
  readonly key: string;
  readonly ok: boolean;
  /** The error's name (never its message: nothing quoted from a request goes to the transcript). */
  readonly error?: string;
}

export interface ClientRun {
  readonly name: string;
  readonly attempts: Attempt[];
  readonly stop: () => Promise<void>;
  /** Synchronous, for an exit that cannot wait. */
  readonly kill: () => void;
}

const SDK_APP = join(REPO_ROOT, 'dist/bench/rotation-sdk-app.js');

export interface SdkTarget {
  readonly s3Endpoint: string;
  readonly bucketName: string;
  readonly credentialsUrl: string;
  readonly tokenFile: string;
  readonly logFile: string;
}

export function startSdkApp(t: SdkTarget): ClientRun {
  const child = spawn(process.execPath, [SDK_APP, t.s3Endpoint, t.bucketName, 'put', String(SDK_INTERVAL_MS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: t.credentialsUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: t.tokenFile,
      // Nothing else in the SDK's chain may answer: no shared files, no keys in the environment.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  });
  const attempts: Attempt[] = [];
  const log = createWriteStream(t.logFile);
  child.stderr.pipe(log);
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) attempts.push(JSON.parse(line) as Attempt);
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    name: 'SDK app',
    attempts,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
    },
    kill: () => void child.kill('SIGKILL'),
  };
}

export interface RcloneTarget {
  readonly out: string;
  readonly alias: string;
  readonly bucketName: string;
  readonly logFile: string;
}

export function startRcloneLoop(t: RcloneTarget): ClientRun {
  const rclone = toolPath('rclone');
  const attempts: Attempt[] = [];
  const log = createWriteStream(t.logFile);
  const state: UploadState = { stopping: false, current: undefined };
  const loop = (async () => {
    for (let n = 0; !state.stopping; n += 1) {
      const began = Date.now();
      attempts.push(await upload({ rclone, target: t, log, state }, n));
      await new Promise((resolve) => setTimeout(resolve, Math.max(50, RCLONE_INTERVAL_MS - (Date.now() - began))));
    }
  })();
  return {
    name: 'rclone',
    attempts,
    stop: async () => {
      state.stopping = true;
      await loop;
      log.end();
    },
    kill: () => void state.current?.kill('SIGKILL'),
  };
}

interface UploadState {
  stopping: boolean;
  current: ChildProcess | undefined;
}

interface Uploader {
  readonly rclone: string;
  readonly target: RcloneTarget;
  readonly log: WriteStream;
  readonly state: UploadState;
}

/** One `rclone rcat`: no retries, so a refused key is one failure, seen at once. */
function upload({ rclone, target: t, log, state }: Uploader, n: number): Promise<Attempt> {
  // The key in the files this upload starts with: rclone reads rclone.conf right after (the swap is atomic).
  const key = renderedKeyId(t.out, t.alias) ?? '';
  const remote = `${t.alias}:${t.bucketName}/rclone/${String(n).padStart(6, '0')}.txt`;
  const child = spawn(rclone, ['rcat', remote, '--retries', '1', '--low-level-retries', '1', '--timeout', '10s'], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RCLONE_CONFIG: join(t.out, 'rclone/rclone.conf') },
  });
  state.current = child;
  child.stderr.pipe(log, { end: false });
  child.stdin.end(`upload ${n}\n`);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      state.current = undefined;
      resolve(code === 0 ? { at: Date.now(), key, ok: true } : { at: Date.now(), key, ok: false, error: `exit ${code ?? 'signal'}` });
    }),
  );
}
