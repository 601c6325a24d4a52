/**
 * The Go-built programs the demo runs: kube-apiserver and kine (the control plane), weed
 * (SeaweedFS) and rclone. `npm run demo` is meant to be the third command a newcomer types, so a
 * missing one is built here, with its progress shown, by the same per-tool script
 * scripts/build-tools.sh runs (only those the demo needs; each skips what is cached, and an
 * interrupted build never looks cached). --no-build stops instead, with the command to run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, REPO_ROOT, requireProgram, toolPath, type GoTool } from '../../test/env/tools.js';
import type { Reporter } from './report.js';
import type { Teardown } from './teardown.js';

export const DEMO_TOOLS: readonly GoTool[] = ['kube-apiserver', 'kine', 'weed', 'rclone'];

/**
 * First builds on this project's 2-core machine, shared with other work (scripts/build-tools.sh's
 * own "built in" lines, 2026-12-02: kube-apiserver 1125 s, kine 124 s, weed 560 s, rclone 245 s):
 * what the user is told to expect, per tool. Later runs find them cached.
 */
const FIRST_BUILD_MINUTES: Record<string, number> = { 'kube-apiserver': 19, kine: 2, weed: 9, rclone: 4 };

export class DemoToolsError extends Error {}

export function missingTools(): GoTool[] {
  return DEMO_TOOLS.filter((tool) => {
    try {
      toolPath(tool);
      return false;
    } catch {
      return true;
    }
  });
}

const minutes = (tools: readonly GoTool[]): number => tools.reduce((sum, t) => sum + (FIRST_BUILD_MINUTES[t] ?? 5), 0);

/** Builds what is missing, or throws with the command when `build` is false. */
export async function ensureTools(build: boolean, report: Reporter, teardown: Teardown): Promise<void> {
  const missing = missingTools();
  if (missing.length === 0) return;
  const cache = join(cacheDir(), 'bin');
  if (!build)
    throw new DemoToolsError(
      `${missing.join(', ')} not built yet (the demo runs them; they are built from source once and cached in ${cache}). ` +
        `Build them with: bash scripts/build-tools.sh (every test tool: about 45 minutes the first time on 2 cores), ` +
        `or run npm run demo without --no-build to build only these (about ${minutes(missing)} minutes)`,
    );
  requireProgram('go', 'Go >= 1.24 from https://go.dev/dl/ (the tools are built from source)');
  report.step(`building ${missing.join(', ')} from source (once: about ${minutes(missing)} minutes on 2 cores; cached in ${cache})`);
  const logDir = join(cacheDir(), 'logs');
  mkdirSync(logDir, { recursive: true });
  for (const tool of missing) await buildOne(tool, join(logDir, `build-${tool}.log`), report, teardown);
  const still = missingTools();
  if (still.length > 0) throw new DemoToolsError(`${still.join(', ')} still missing after the build; see ${logDir}`);
}

async function buildOne(tool: GoTool, logFile: string, report: Reporter, teardown: Teardown): Promise<void> {
  const started = Date.now();
  report.info(`${tool}: bash scripts/tools/build-${tool}.sh (full log: ${logFile})`);
  const log = createWriteStream(logFile);
  // Its own process group, so that stopping the demo stops the go compilers under it too.
  const child = spawn('bash', [join(REPO_ROOT, 'scripts/tools', `build-${tool}.sh`)], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killGroup = (): void => killProcessGroup(child);
  teardown.add(`build of ${tool}`, killGroup, killGroup);
  let packages = 0;
  const onData = (chunk: Buffer): void => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.startsWith('[tools]')) report.info(line);
      else if (line.trim() !== '') {
        packages += 1;
        report.status(`${tool}: ${packages} packages compiled, ${Math.round((Date.now() - started) / 1000)} s`);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  log.end();
  if (code !== 0) throw new DemoToolsError(`building ${tool} failed (exit ${code}); see ${logFile}`);
  report.ok(`${tool} ready after ${Math.round((Date.now() - started) / 1000)} s`);
}

function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}
