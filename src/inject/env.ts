/**
 * Environment variables: the downward-API variables the agent records Events with, and what
 * points each app's tools at the rendered files (DESIGN.md "Injection contract"). A variable an app
 * container already sets is never replaced.
 */
import { ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_POD_UID } from '../flags/pod-env.js';
import { AWS_CONFIG_PATH, AWS_CONTAINER_TOKEN_PATH, AWS_CREDENTIALS_PATH } from '../render/aws.js';
import { MC_PATH } from '../render/mc.js';
import { RCLONE_PATH } from '../render/rclone.js';
import { FORMATS, type Format } from '../render/types.js';
import type { Container, EnvVar } from './kube-types.js';
import type { InjectPlan } from './plan.js';

export const ENV_AWS_SHARED_CREDENTIALS_FILE = 'AWS_SHARED_CREDENTIALS_FILE';
export const ENV_AWS_CONFIG_FILE = 'AWS_CONFIG_FILE';
export const ENV_RCLONE_CONFIG = 'RCLONE_CONFIG';
export const ENV_MC_CONFIG_DIR = 'MC_CONFIG_DIR';
export const ENV_AWS_CONTAINER_CREDENTIALS_FULL_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
export const ENV_AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';

const fieldRef = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

/** The pod the agent records Events on (config/init.ts reads them). */
export function agentEnv(): EnvVar[] {
  return [
    fieldRef(ENV_POD_NAME, 'metadata.name'),
    fieldRef(ENV_POD_NAMESPACE, 'metadata.namespace'),
    fieldRef(ENV_POD_UID, 'metadata.uid'),
  ];
}

/** Per format, the variables its tools read; a format not rendered sets none (mc would try to create a missing config dir). */
const FORMAT_ENV: { readonly [F in Format]?: (mount: string) => EnvVar[] } = {
  aws: (mount) => [
    { name: ENV_AWS_SHARED_CREDENTIALS_FILE, value: `${mount}/${AWS_CREDENTIALS_PATH}` },
    { name: ENV_AWS_CONFIG_FILE, value: `${mount}/${AWS_CONFIG_PATH}` },
  ],
  rclone: (mount) => [{ name: ENV_RCLONE_CONFIG, value: `${mount}/${RCLONE_PATH}` }],
  mc: (mount) => [{ name: ENV_MC_CONFIG_DIR, value: `${mount}/${MC_PATH.slice(0, MC_PATH.lastIndexOf('/'))}` }],
};

/**
 * What every target app container gets. The credentials endpoint serves one URL per alias and an
 * SDK takes one: the first bucket's (an app using another sets the variable itself, which wins).
 * With the endpoint, AWS_SHARED_CREDENTIALS_FILE is left out: every AWS credential chain reads that
 * file before the endpoint and keeps its keys for the life of the process, so a long-running SDK
 * would never see a rotation. The file is still rendered, for a tool pointed at it on purpose.
 */
export function appEnv(plan: InjectPlan): EnvVar[] {
  const env = (plan.formats ?? FORMATS)
    .flatMap((format) => FORMAT_ENV[format]?.(plan.mountPath) ?? [])
    .filter((v) => !(plan.credentialsEndpoint && v.name === ENV_AWS_SHARED_CREDENTIALS_FILE));
  const first = plan.buckets[0];
  if (plan.credentialsEndpoint && first !== undefined) {
    env.push(
      { name: ENV_AWS_CONTAINER_CREDENTIALS_FULL_URI, value: `http://127.0.0.1:${plan.ports.credentials}/v1/credentials/${first.alias}` },
      { name: ENV_AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, value: `${plan.mountPath}/${AWS_CONTAINER_TOKEN_PATH}` },
    );
  }
  return env;
}

/**
 * Appends the variables the container does not set itself. `envFrom` cannot be seen into (a
 * ConfigMap's keys are not in the pod), and an explicit `env` entry wins over it, so a container
 * with envFrom gets a warning saying so.
 */
export function addEnv(container: Container, vars: readonly EnvVar[]): string[] {
  const own = new Set((container.env ?? []).map((v) => v.name));
  const added = vars.filter((v) => !own.has(v.name));
  if (added.length > 0) container.env = [...(container.env ?? []), ...added];
  if (added.length === 0 || (container.envFrom ?? []).length === 0) return [];
  return [
    `container "${container.name}" has envFrom: the injected ${added.map((v) => v.name).join(', ')} take precedence over the same names from it (set them under env to keep yours)`,
  ];
}
