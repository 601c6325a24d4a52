/**
 * The agent containers' command lines: `init` and `sidecar` with the flags of DESIGN.md "Sidecar
 * contract", as args (the image's entrypoint is `bucket-agent`), so `kubectl describe pod` shows
 * what runs. Only flags that differ from the agent's defaults are written, except --out and the
 * file mode, which are the injector's decisions. The unit tests parse these with the agent's own
 * config code, so a renamed flag fails there.
 */
import type { InjectPlan } from './plan.js';
import { AGENT_KUBECONFIG_DIR, AGENT_OUT_DIR, AGENT_SECRETS_DIR, usesVolumes } from './volumes.js';

/**
 * Who may read the files (DESIGN.md "Injection contract"): with an fsGroup every container of the
 * pod has that group, so the files are written group-readable with it as group; without one, apps
 * may run as any uid, so they are world-readable, which is safe on a memory volume private to the
 * pod (the kubelet's own Secret volumes are 0644).
 */
export interface FileAccess {
  readonly fileMode: '0440' | '0444';
  readonly gid: number | undefined;
}

export function fileAccessFor(fsGroup: unknown): FileAccess {
  return typeof fsGroup === 'number' && Number.isInteger(fsGroup) && fsGroup >= 0
    ? { fileMode: '0440', gid: fsGroup }
    : { fileMode: '0444', gid: undefined };
}

/** What init and the sidecar share: bucket selection, cluster, source, output. */
function commonArgs(plan: InjectPlan, files: FileAccess): string[] {
  const args = plan.buckets.flatMap((b) => ['--bucket', b.alias === b.name ? b.name : `${b.name}=${b.alias}`]);
  args.push('--out', AGENT_OUT_DIR, '--file-mode', files.fileMode);
  if (files.gid !== undefined) args.push('--gid', String(files.gid));
  if (plan.formats !== undefined) args.push('--formats', plan.formats.join(','));
  if (plan.user !== undefined) args.push('--user', plan.user);
  if (plan.namespace !== undefined) args.push('--namespace', plan.namespace);
  if (plan.kubeconfigSecret !== undefined) args.push('--kubeconfig', AGENT_KUBECONFIG_DIR);
  args.push('--source', plan.source);
  if (usesVolumes(plan)) args.push('--secrets-dir', AGENT_SECRETS_DIR);
  if (!plan.verify) args.push('--no-verify');
  return args;
}

export function initArgs(plan: InjectPlan, files: FileAccess): string[] {
  return ['init', ...commonArgs(plan, files)];
}

export function sidecarArgs(plan: InjectPlan, files: FileAccess): string[] {
  const args = ['sidecar', ...commonArgs(plan, files), '--listen', `:${plan.ports.health}`];
  if (plan.credentialsEndpoint) args.push('--credentials-listen', `127.0.0.1:${plan.ports.credentials}`);
  // Attached with `=`: a flag value is never mistaken for a flag, whatever the action holds.
  for (const action of plan.notify) args.push(`--notify=${action}`);
  return args;
}
