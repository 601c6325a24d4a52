/**
 * Velero, run for real next to the test environment: its CRDs installed by the `velero` binary
 * itself (`velero install --crds-only`, which embeds them and waits until they are Established),
 * `velero server` as a local process against the test apiserver with velero-plugin-for-aws from
 * its --plugin-dir, and the `velero` CLI for backups and restores. Nothing of Velero is faked;
 * what differs from a pod is only where the process runs (see startVeleroServer's flags).
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { freePort, run, startProcess, waitUntil, type ManagedProcess, type Run } from './process.js';
import { toolPath } from './tools.js';

export const VELERO_GROUP = 'velero.io';
export const VELERO_VERSION = 'v1';

/** Only PATH and HOME: no AWS_* variable of the machine can lend Velero or its plugin a key. */
function veleroEnv(home: string): Record<string, string> {
  mkdirSync(home, { recursive: true });
  return { PATH: process.env.PATH ?? '', HOME: home };
}

/** The Velero CRDs (BackupStorageLocation, Backup, Restore, ...), installed and Established. */
export async function installVeleroCrds(kubeconfigPath: string, home: string): Promise<void> {
  const r = await run(toolPath('velero'), ['install', '--crds-only', '--kubeconfig', kubeconfigPath], veleroEnv(home), 120_000);
  if (r.code !== 0) throw new Error(`velero install --crds-only failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
}

export interface VeleroOptions {
  readonly kubeconfigPath: string;
  /** Velero's own namespace (BackupStorageLocations, Backups, Restores live there); must exist. */
  readonly namespace: string;
  /** Holds the plugin directory and Velero's HOME. */
  readonly workDir: string;
  readonly logDir: string;
  /**
   * Velero's own Deployment, `velero` in `namespace`, created before the server starts: the
   * server reads it (its pod restore action takes the image of its restore helper from it), so
   * a restore of a namespace with pods fails without it. Its pods stay Pending: no kubelet runs.
   */
  readonly deployment: V1Deployment;
  /** The container's args (`server`, then its flags), e.g. the Deployment's; default `server`. */
  readonly serverArgs?: readonly string[];
  /** How often each BackupStorageLocation is validated (Velero's default is 1m). */
  readonly storeValidationFrequency?: string;
}

export interface VeleroPhase {
  readonly phase: string;
  readonly errors: number;
  readonly warnings: number;
}

/** The status fields of Backup, Restore and BackupStorageLocation read here. */
interface VeleroStatus {
  phase?: string;
  errors?: number;
  warnings?: number;
  lastValidationTime?: string;
  message?: string;
}

export interface BslStatus {
  readonly phase: string;
  /** status.lastValidationTime, as a Date (epoch 0 before the first validation). */
  readonly lastValidated: Date;
  readonly message: string;
}

export interface Velero {
  readonly process: ManagedProcess;
  /** The `velero` CLI against the same apiserver and namespace. */
  cli(args: readonly string[], timeoutMs?: number): Promise<Run>;
  /** `velero backup create NAME --include-namespaces NS --wait`; resolves with the Backup's status. */
  backup(name: string, namespaces: readonly string[]): Promise<VeleroPhase>;
  /** `velero restore create NAME --from-backup BACKUP --wait`; resolves with the Restore's status. */
  restore(name: string, backup: string): Promise<VeleroPhase>;
  bsl(name: string): Promise<BslStatus>;
  /** Waits until the BSL was validated after `since` and is Available. */
  waitAvailable(name: string, since: Date, timeoutMs?: number): Promise<BslStatus>;
  stop(): Promise<void>;
}

/**
 * `velero server` out of cluster, with the args a pod would give it. What that takes beyond them:
 * - `--kubeconfig` and `--namespace` (in a pod: the in-cluster config and VELERO_NAMESPACE);
 * - `--plugin-dir` holding the plugin binary under its image's name, `velero-plugin-for-aws`
 *   (in a pod: the init container copies it to /plugins);
 * - `--metrics-address` on a free loopback port and `--profiler-address=` (off): the defaults
 *   :8085 and localhost:6060 would collide with other processes of the machine. The
 *   controller-runtime metrics listener (:8080, not configurable) is switched off in the build
 *   (scripts/tools/build-velero.sh);
 * - its Deployment object (VeleroOptions.deployment), which a pod would run from;
 * - nothing for volumes: no node-agent runs and no backup asks for file-system backup, so the
 *   server never needs one.
 */
export async function startVeleroServer(opts: VeleroOptions, kc: KubeConfig): Promise<Velero> {
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: opts.namespace, body: opts.deployment });
  const pluginDir = join(opts.workDir, 'plugins');
  mkdirSync(pluginDir, { recursive: true });
  symlinkSync(toolPath('velero-plugin-for-aws'), join(pluginDir, 'velero-plugin-for-aws'));
  const home = join(opts.workDir, 'home');
  const global = ['--kubeconfig', opts.kubeconfigPath, '--namespace', opts.namespace];
  const [command = 'server', ...flags] = opts.serverArgs ?? [];
  const args = [
    command,
    ...flags,
    ...global,
    `--plugin-dir=${pluginDir}`,
    `--metrics-address=127.0.0.1:${await freePort()}`,
    '--profiler-address=',
    `--store-validation-frequency=${opts.storeValidationFrequency ?? '1m'}`,
    '--log-format=json',
  ];
  const proc = startProcess({ name: 'velero-server', command: toolPath('velero'), args, logDir: opts.logDir, env: veleroEnv(home) });
  const started = waitUntil(
    () => proc.tail(200).includes('Server starting...'),
    120_000,
    () => `velero server did not start:\n${proc.tail()}`,
    250,
  );
  const died = proc.exited.then((code) => {
    throw new Error(`velero server exited (${code}) while starting:\n${proc.tail()}`);
  });
  // Only the race below cares; a later exit (stop()) must not be an unhandled rejection.
  void died.catch(() => undefined);
  try {
    await Promise.race([started, died]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const cli = (cliArgs: readonly string[], timeoutMs = 300_000): Promise<Run> =>
    run(toolPath('velero'), [...cliArgs, ...global], veleroEnv(home), timeoutMs);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const read = async (plural: string, name: string): Promise<VeleroStatus> => {
    const obj = (await custom.getNamespacedCustomObject({
      group: VELERO_GROUP,
      version: VELERO_VERSION,
      namespace: opts.namespace,
      plural,
      name,
    })) as { status?: VeleroStatus };
    return obj.status ?? {};
  };
  const finished = async (what: string, plural: string, name: string, r: Run): Promise<VeleroPhase> => {
    if (r.code !== 0) throw new Error(`velero ${what} ${name} failed (${r.code}):\n${r.stderr}\n${r.stdout}\n${proc.tail()}`);
    const s = await read(plural, name);
    return { phase: s.phase ?? '', errors: s.errors ?? 0, warnings: s.warnings ?? 0 };
  };
  const bsl = async (name: string): Promise<BslStatus> => {
    const s = await read('backupstoragelocations', name);
    const validated = s.lastValidationTime === undefined ? new Date(0) : new Date(s.lastValidationTime);
    return { phase: s.phase ?? '', lastValidated: validated, message: s.message ?? '' };
  };
  return {
    process: proc,
    cli,
    backup: async (name, namespaces) =>
      finished(
        'backup create',
        'backups',
        name,
        await cli(['backup', 'create', name, '--include-namespaces', namespaces.join(','), '--wait']),
      ),
    restore: async (name, backup) =>
      finished('restore create', 'restores', name, await cli(['restore', 'create', name, '--from-backup', backup, '--wait'])),
    bsl,
    waitAvailable: async (name, since, timeoutMs = 120_000) => {
      let last: BslStatus | undefined;
      await waitUntil(
        async () => {
          last = await bsl(name);
          // Whole seconds: lastValidationTime has no fraction.
          return last.phase === 'Available' && last.lastValidated.getTime() >= Math.floor(since.getTime() / 1000) * 1000;
        },
        timeoutMs,
        () => `BackupStorageLocation ${name} not validated Available since ${since.toISOString()}: ${JSON.stringify(last)}\n${proc.tail()}`,
        500,
      );
      return last as BslStatus;
    },
    stop: () => proc.stop(),
  };
}
