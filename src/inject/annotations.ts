/**
 * The injection contract's keys (DESIGN.md "Injection contract"), declared once: the opt-in label
 * and every annotation, all under one configurable prefix (default `bucket-agent.io/`). Reading
 * them here checks only that they are strings and warns about unknown ones; what each value means
 * is plan.ts's concern.
 */
import { AnnotationError } from '../errors.js';
import { isObjectName } from '../flags/buckets.js';
import type { SourceChoice } from '../flags/source.js';

export const DEFAULT_PREFIX = 'bucket-agent.io/';
/**
 * The `source` when neither the pod nor the caller says: it needs no RBAC (the candidate Secrets
 * are mounted) and uses the API, rotation within milliseconds, once the Role allows it.
 */
export const DEFAULT_SOURCE: SourceChoice = 'auto';

/** The opt-in is a label, so the webhook's objectSelector keeps every other pod away from it. */
export const LABEL_INJECT = 'inject';
export const LABEL_INJECT_VALUE = 'true';

export const ANNOTATION_BUCKETS = 'buckets';
export const ANNOTATION_USER = 'user';
export const ANNOTATION_NAMESPACE = 'namespace';
export const ANNOTATION_FORMATS = 'formats';
export const ANNOTATION_SOURCE = 'source';
export const ANNOTATION_NOTIFY = 'notify';
export const ANNOTATION_CREDENTIALS_ENDPOINT = 'credentials-endpoint';
export const ANNOTATION_VERIFY = 'verify';
export const ANNOTATION_MODE = 'mode';
export const ANNOTATION_MOUNT_PATH = 'mount-path';
export const ANNOTATION_CONTAINERS = 'containers';
export const ANNOTATION_KUBECONFIG_SECRET = 'kubeconfig-secret';
export const ANNOTATION_HEALTH_PORT = 'health-port';
export const ANNOTATION_CREDENTIALS_PORT = 'credentials-port';
/** Written by the injector; a pod that carries it (whatever its value) is left alone. */
export const ANNOTATION_STATUS = 'status';
export const STATUS_INJECTED = 'injected';

/** Every annotation the injector knows, in the order of docs/annotations.md. */
export const ANNOTATIONS = [
  ANNOTATION_BUCKETS,
  ANNOTATION_USER,
  ANNOTATION_NAMESPACE,
  ANNOTATION_FORMATS,
  ANNOTATION_SOURCE,
  ANNOTATION_NOTIFY,
  ANNOTATION_CREDENTIALS_ENDPOINT,
  ANNOTATION_VERIFY,
  ANNOTATION_MODE,
  ANNOTATION_MOUNT_PATH,
  ANNOTATION_CONTAINERS,
  ANNOTATION_KUBECONFIG_SECRET,
  ANNOTATION_HEALTH_PORT,
  ANNOTATION_CREDENTIALS_PORT,
  ANNOTATION_STATUS,
] as const;

export type AnnotationName = (typeof ANNOTATIONS)[number];

/** A label/annotation key prefix: a DNS subdomain and a slash, as Kubernetes requires of key prefixes. */
export function isValidPrefix(prefix: string): boolean {
  return prefix.endsWith('/') && isObjectName(prefix.slice(0, -1));
}

/** The annotations under the prefix of one pod, by name; `fail` raises the error naming the full key. */
export class PodAnnotations {
  readonly prefix: string;
  private readonly values: ReadonlyMap<AnnotationName, string>;

  constructor(prefix: string, values: ReadonlyMap<AnnotationName, string>) {
    this.prefix = prefix;
    this.values = values;
  }

  key(name: AnnotationName): string {
    return `${this.prefix}${name}`;
  }

  get(name: AnnotationName): string | undefined {
    return this.values.get(name);
  }

  fail(name: AnnotationName, problem: string): never {
    throw new AnnotationError(this.key(name), problem);
  }
}

export interface ReadAnnotations {
  readonly annotations: PodAnnotations;
  /** Unknown keys under the prefix. */
  readonly warnings: readonly string[];
}

/** The pod's annotations under `prefix`; a known one that is not a string is refused, an unknown one is a warning. */
export function readAnnotations(all: Readonly<Record<string, unknown>> | undefined, prefix: string): ReadAnnotations {
  const values = new Map<AnnotationName, string>();
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(all ?? {})) {
    if (!key.startsWith(prefix)) continue;
    const name = ANNOTATIONS.find((known) => `${prefix}${known}` === key);
    if (name === undefined) {
      warnings.push(unknownKeyWarning(key, prefix));
      continue;
    }
    if (typeof value !== 'string') {
      throw new AnnotationError(key, `must be a string, not ${JSON.stringify(value)} (quote it in YAML: "${String(value)}")`);
    }
    values.set(name, value);
  }
  return { annotations: new PodAnnotations(prefix, values), warnings };
}

function unknownKeyWarning(key: string, prefix: string): string {
  if (key === `${prefix}${LABEL_INJECT}`) return `${key} is read as a label, not an annotation: this annotation is ignored`;
  return `${key}: unknown annotation, ignored (known: ${ANNOTATIONS.join(', ')})`;
}

export type OptIn = { readonly optedIn: true } | { readonly optedIn: false; readonly warning?: string };

/** Whether the pod asks for injection: the label `<prefix>inject: "true"`, nothing else. */
export function optInOf(labels: Readonly<Record<string, unknown>> | undefined, prefix: string): OptIn {
  const key = `${prefix}${LABEL_INJECT}`;
  const value = labels?.[key];
  if (value === LABEL_INJECT_VALUE) return { optedIn: true };
  if (value === undefined || value === 'false') return { optedIn: false };
  return { optedIn: false, warning: `${key}: ${JSON.stringify(value)} is not "true": not injected` };
}
