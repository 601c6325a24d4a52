/**
 * The volumes the injector adds and where each container sees them. The rendered files live in a
 * memory emptyDir (never on the node's disk, gone with the pod); the agent writes it at its own
 * path and apps read it at the mount path. What the agent needs to reach the credentials is
 * mounted into the agent containers only: the service-account token (api/auto source), the
 * candidate Secrets (volume/auto source), a kubeconfig Secret (Buckets in another cluster).
 */
import { secretCandidates } from '../credentials/index.js';
import type { Volume, VolumeMount } from './kube-types.js';
import type { InjectPlan } from './plan.js';

export const VOLUME_FILES = 'bucket-agent';
export const VOLUME_TOKEN = 'bucket-agent-token';
export const VOLUME_KUBECONFIG = 'bucket-agent-kubeconfig';
/** `bucket-agent-secret-<n>`: a Secret name can be 253 characters, a volume name only 63. */
export const VOLUME_SECRET_PREFIX = 'bucket-agent-secret-';

/** The agent's --out, its --secrets-dir and its --kubeconfig: fixed paths inside the agent containers. */
export const AGENT_OUT_DIR = '/var/run/bucket-agent/out';
export const AGENT_SECRETS_DIR = '/var/run/bucket-agent/secrets';
export const AGENT_KUBECONFIG_DIR = '/var/run/bucket-agent/kubeconfig';
/** Where client-node's in-cluster config looks, and where the kubelet would mount it (KEP-1205 layout). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A few KiB per render and at most three generations (current, previous, one retired): 16Mi is ample. */
export const DEFAULT_FILES_SIZE_LIMIT = '16Mi';
/** The kubelet refreshes a projected token at 80% of its life; 3607 s is what it uses for its own. */
export const TOKEN_EXPIRATION_SECONDS = 3607;

/** The candidate Secrets of every bucket, in lookup order, each once. */
export function candidateSecrets(plan: InjectPlan): string[] {
  return [...new Set(plan.buckets.flatMap((bucket) => secretCandidates(bucket.name, plan.user)))];
}

export function usesApi(plan: InjectPlan): boolean {
  return plan.source !== 'volume';
}

export function usesVolumes(plan: InjectPlan): boolean {
  return plan.source !== 'api';
}

export function buildVolumes(plan: InjectPlan): Volume[] {
  const volumes: Volume[] = [{ name: VOLUME_FILES, emptyDir: { medium: 'Memory', sizeLimit: DEFAULT_FILES_SIZE_LIMIT } }];
  if (usesApi(plan)) volumes.push(tokenVolume());
  if (plan.kubeconfigSecret !== undefined) volumes.push({ name: VOLUME_KUBECONFIG, secret: { secretName: plan.kubeconfigSecret } });
  if (usesVolumes(plan)) {
    // optional: a Secret that does not exist (yet) mounts as an empty directory, which the volume
    // source reads as absent; the kubelet fills it in when the platform writes it.
    candidateSecrets(plan).forEach((secretName, i) => volumes.push({ name: secretVolumeName(i), secret: { secretName, optional: true } }));
  }
  return volumes;
}

/** The same three sources as the kubelet's own kube-api-access volume: token, cluster CA, namespace. */
function tokenVolume(): Volume {
  return {
    name: VOLUME_TOKEN,
    projected: {
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

function secretVolumeName(index: number): string {
  return `${VOLUME_SECRET_PREFIX}${index}`;
}

/** Every volume of an agent container: the files read-write, the rest read-only. */
export function agentMounts(plan: InjectPlan): VolumeMount[] {
  const mounts: VolumeMount[] = [{ name: VOLUME_FILES, mountPath: AGENT_OUT_DIR }];
  // A container that already mounts this path is skipped by the ServiceAccount admission plugin,
  // so app containers keep whatever automountServiceAccountToken gives them, and no more.
  if (usesApi(plan)) mounts.push({ name: VOLUME_TOKEN, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true });
  if (plan.kubeconfigSecret !== undefined) mounts.push({ name: VOLUME_KUBECONFIG, mountPath: AGENT_KUBECONFIG_DIR, readOnly: true });
  if (usesVolumes(plan)) {
    candidateSecrets(plan).forEach((secret, i) =>
      mounts.push({ name: secretVolumeName(i), mountPath: `${AGENT_SECRETS_DIR}/${secret}`, readOnly: true }),
    );
  }
  return mounts;
}

/** What an app container gets: the files, read-only. */
export function appMount(plan: InjectPlan): VolumeMount {
  return { name: VOLUME_FILES, mountPath: plan.mountPath, readOnly: true };
}
