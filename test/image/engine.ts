/**
 * Running the built image (scripts/build-image.sh) with podman, as the project configures it:
 * every call goes through scripts/image/podman.sh (the store and configuration under the cache dir,
 * runc, the machine's ulimits). A missing engine or image fails with the command that provides it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, requireProgram } from '../env/tools.js';

export const PODMAN_SH = join(REPO_ROOT, 'scripts/image/podman.sh');
export const INSTALL_ENGINE = 'apt-get install -y --no-install-recommends podman runc catatonit debootstrap';
export const BUILD_IMAGE = 'bash scripts/build-image.sh';
export const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const IMAGE = `localhost/bucket-agent:${VERSION}`;

/** How the image is meant to run (Kubernetes' restricted profile), on the host network to reach the test env. */
export const HARDENED = [
  '--read-only',
  '--user',
  '65532:65532',
  '--cap-drop=ALL',
  '--security-opt',
  'no-new-privileges',
  '--network',
  'host',
] as const;

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** NAME=value lines of scripts/image/versions.env (or another such file). */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

/** podman with the project's configuration; never throws, the caller asserts on the run. */
export function podman(args: readonly string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PODMAN_SH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The engine is installed and the image is built; otherwise an error naming the command to run. */
export async function requireImage(): Promise<void> {
  requireProgram('podman', INSTALL_ENGINE);
  requireProgram('runc', INSTALL_ENGINE);
  const exists = await podman(['image', 'exists', IMAGE]);
  if (exists.code !== 0) {
    throw new Error(
      `no image ${IMAGE} in the project's store (${exists.stderr.trim() || `exit ${exists.code}`}). Build it with: ${BUILD_IMAGE}`,
    );
  }
}

export interface RunOptions {
  /** `-v` specs, `host:container[:ro]`. */
  readonly volumes?: readonly string[];
  readonly entrypoint?: string;
  /** Replaces HARDENED (the run flags before the image). */
  readonly flags?: readonly string[];
  readonly timeoutMs?: number;
}

function runFlags(opts: RunOptions): string[] {
  const flags = [...(opts.flags ?? [...HARDENED, '--init'])];
  for (const volume of opts.volumes ?? []) flags.push('-v', volume);
  if (opts.entrypoint !== undefined) flags.push('--entrypoint', opts.entrypoint);
  return flags;
}

/** `podman run --rm` of the image, hardened unless told otherwise, to its end. */
export function runImage(args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return podman(['run', '--rm', ...runFlags(opts), IMAGE, ...args], opts.timeoutMs);
}

/** A script for the image's own node (the image has no shell). */
export function runNode(script: string, opts: RunOptions = {}): Promise<Run> {
  return runImage(['-e', script], { ...opts, entrypoint: 'node' });
}

export interface Container {
  readonly name: string;
  logs(): Promise<string>;
  /** `podman kill --signal`, then waits for the exit; resolves with the exit code and the ms it took. */
  signalAndWait(signal: string): Promise<{ code: number; ms: number }>;
  remove(): Promise<void>;
}

/** A detached container (`podman run -d`), named so that the test can signal and remove it. */
export async function startContainer(args: readonly string[], opts: RunOptions = {}): Promise<Container> {
  const name = `bucket-agent-test-${randomBytes(4).toString('hex')}`;
  const started = await podman(['run', '-d', '--name', name, ...runFlags(opts), IMAGE, ...args]);
  if (started.code !== 0) throw new Error(`podman run -d failed (exit ${started.code}): ${started.stderr}`);
  const logs = async (): Promise<string> => {
    const run = await podman(['logs', name]);
    return run.stdout + run.stderr;
  };
  const signalAndWait = async (signal: string): Promise<{ code: number; ms: number }> => {
    const t0 = Date.now();
    const killed = await podman(['kill', '--signal', signal, name]);
    if (killed.code !== 0) throw new Error(`podman kill failed: ${killed.stderr}`);
    const waited = await podman(['wait', name]);
    const ms = Date.now() - t0;
    if (waited.code !== 0) throw new Error(`podman wait failed: ${waited.stderr}`);
    return { code: Number(waited.stdout.trim()), ms };
  };
  const remove = async (): Promise<void> => void (await podman(['rm', '--force', '--time', '0', name]));
  return { name, logs, signalAndWait, remove };
}
