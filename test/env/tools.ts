import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from this file's compiled location (dist/test/env) or its source. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export type GoTool =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kubectl'
  | 'kine'
  | 'weed'
  | 'helm'
  | 'rclone'
  | 'actionlint'
  | 'velero'
  | 'velero-plugin-for-aws'
  | 'mc';

const VERSION_KEYS: Record<GoTool, string> = {
  'kube-apiserver': 'KUBE_VERSION',
  'kube-controller-manager': 'KUBE_VERSION',
  kubectl: 'KUBE_VERSION',
  kine: 'KINE_VERSION',
  weed: 'WEED_VERSION',
  helm: 'HELM_VERSION',
  rclone: 'RCLONE_VERSION',
  actionlint: 'ACTIONLINT_VERSION',
  velero: 'VELERO_VERSION',
  'velero-plugin-for-aws': 'VELERO_AWS_PLUGIN_VERSION',
  mc: 'MC_VERSION',
};

function readVersions(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'scripts/tools/versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

export function cacheDir(): string {
  return process.env.BUCKET_AGENT_CACHE ?? join(homedir(), '.cache', 'bucket-agent');
}

/** Path of a Go-built tool; throws with the command that builds it when it is missing. */
export function toolPath(tool: GoTool): string {
  const version = readVersions()[VERSION_KEYS[tool]];
  if (version === undefined || version === '') throw new Error(`scripts/tools/versions.env has no ${VERSION_KEYS[tool]}`);
  const bin = join(cacheDir(), 'bin', `${tool}-${version}`);
  if (!existsSync(bin)) {
    throw new Error(`${tool} ${version} is not built (${bin} missing). Build it with: bash scripts/build-tools.sh`);
  }
  return bin;
}

/** Path of a program expected on PATH (apt/pip installed); throws with the install command. */
export function requireProgram(name: string, install: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} is not installed. Install it with: ${install} (or run: bash .ci/run)`);
}
