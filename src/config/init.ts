import { delimiter, join } from 'node:path';
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';
import { isObjectName, OBJECT_NAME_RULE, parseBucketItems, type BucketRequest } from '../flags/buckets.js';
import { ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_POD_UID } from '../flags/pod-env.js';
import { isSourceChoice, SOURCE_KINDS, type SourceChoice } from '../flags/source.js';
import type { PodRef } from '../kube/events.js';
import type { KubeSource } from '../kube/kubeconfig.js';
import type { ProxyEnvironment } from '../kube/proxy-env.js';
import type { LogOptions } from '../log.js';
import { logOptionsFrom, parseList, type CommonArgs } from './common.js';
import { OUTPUT_OPTIONS, outputConfigFrom, type OutputArgs, type OutputConfig } from './render.js';

export const DEFAULT_INIT_TIMEOUT = '10m';
export const DEFAULT_VERIFY_TIMEOUT = '30s';
export const DEFAULT_PROGRESS_INTERVAL = '15s';
/** Downward API variables naming the pod Events are recorded on (declared in flags/, which inject/ shares). */
export { ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_POD_UID } from '../flags/pod-env.js';
/** Set by the kubelet in every container; tells a pod from a workstation. */
export const ENV_KUBERNETES_SERVICE_HOST = 'KUBERNETES_SERVICE_HOST';
export const ENV_KUBERNETES_SERVICE_PORT = 'KUBERNETES_SERVICE_PORT';
/** kubectl's lookup outside a pod: KUBECONFIG's files, else ~/.kube/config. */
export const ENV_KUBECONFIG = 'KUBECONFIG';
export const ENV_HOME = 'HOME';
/**
 * The proxy variables Go's http.ProxyFromEnvironment reads (kubectl uses it when the cluster has
 * no proxy-url), each name before its lower-case form; REQUEST_METHOD marks a CGI environment.
 */
export const ENV_HTTPS_PROXY = ['HTTPS_PROXY', 'https_proxy'] as const;
export const ENV_HTTP_PROXY = ['HTTP_PROXY', 'http_proxy'] as const;
export const ENV_NO_PROXY = ['NO_PROXY', 'no_proxy'] as const;
export const ENV_REQUEST_METHOD = 'REQUEST_METHOD';

export type { BucketRequest } from '../flags/buckets.js';

export { SOURCE_KINDS, type SourceChoice } from '../flags/source.js';
/** Where the kubelet-mounted Secret volumes are, one directory per Secret (volume source). */
export const DEFAULT_SECRETS_DIR = '/var/run/bucket-agent/secrets';

export const INIT_OPTIONS = {
  bucket: {
    type: 'string',
    array: true,
    demandOption: true,
    describe: 'Bucket to wait for, as <name> or <name>=<alias> (alias: profile/remote/file name, default the name); repeatable',
  },
  user: { type: 'string', describe: 'Bucket user (Cozystack >= 1.1 per-user access): prefer Secret bucket-<name>-<user>' },
  namespace: { type: 'string', describe: "Namespace of the Buckets (default: the kubeconfig context's; in a pod: its own)" },
  kubeconfig: {
    type: 'string',
    describe:
      'Kubeconfig file, or a directory with a kubeconfig/value/config key (a mounted Secret), for Buckets in another cluster (default: in-cluster)',
  },
  timeout: {
    type: 'string',
    default: DEFAULT_INIT_TIMEOUT,
    describe: 'Give up waiting for the credentials after this long (e.g. 90s, 10m, 1h)',
  },
  verify: { type: 'boolean', default: true, describe: 'List the bucket with the keys before rendering (--no-verify to skip)' },
  'verify-timeout': {
    type: 'string',
    default: DEFAULT_VERIFY_TIMEOUT,
    describe: 'Keep retrying a failed verification this long (new keys take a moment to propagate)',
  },
  'ca-file': { type: 'string', describe: 'PEM CA bundle trusted (besides the system CAs) when verifying against an https S3 endpoint' },
  'insecure-skip-tls-verify': {
    type: 'boolean',
    default: false,
    describe: "Verify without checking the S3 server's certificate (test setups only)",
  },
  'progress-interval': { type: 'string', default: DEFAULT_PROGRESS_INTERVAL, describe: 'How often to log what is being waited for' },
  source: {
    type: 'string',
    choices: SOURCE_KINDS,
    default: 'api',
    describe:
      'api: read the Secrets through the apiserver; volume: from kubelet-mounted Secret volumes (no RBAC); auto: api when permitted, else volume',
  },
  'secrets-dir': { type: 'string', default: DEFAULT_SECRETS_DIR, describe: 'volume source: the Secret named S is mounted at <dir>/S/' },
  ...OUTPUT_OPTIONS,
} as const satisfies Record<string, Options>;

export interface InitArgs extends CommonArgs, OutputArgs {
  readonly bucket: readonly string[];
  readonly user?: string;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly timeout: string;
  readonly verify: boolean;
  readonly 'verify-timeout': string;
  readonly 'ca-file'?: string;
  readonly 'insecure-skip-tls-verify': boolean;
  readonly 'progress-interval': string;
  readonly source: string;
  readonly 'secrets-dir': string;
}

export interface VerifyConfig {
  readonly caFile: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
  /** How long failed verifications are retried. */
  readonly windowMs: number;
}

export interface InitConfig {
  readonly buckets: readonly BucketRequest[];
  readonly user: string | undefined;
  readonly namespace: string | undefined;
  readonly kube: KubeSource;
  /**
   * Where Events about the pod go: its own cluster. That is the in-cluster service account when
   * --kubeconfig points at another (management) cluster from inside a pod.
   */
  readonly eventsKube: KubeSource;
  /** HTTPS_PROXY, NO_PROXY, ...: used for the apiserver when its cluster sets no proxy-url. */
  readonly proxyEnv: ProxyEnvironment;
  readonly timeoutMs: number;
  readonly progressIntervalMs: number;
  /** Undefined with --no-verify. */
  readonly verify: VerifyConfig | undefined;
  /** The pod to record Events on, when the downward API variables are set. */
  readonly pod: PodRef | undefined;
  readonly output: OutputConfig;
  readonly log: LogOptions;
  readonly source: SourceChoice;
  readonly secretsDir: string;
}

export function initConfigFrom(args: InitArgs, stderrIsTTY: boolean, env: NodeJS.ProcessEnv = process.env): InitConfig {
  if (args['ca-file'] !== undefined && args['insecure-skip-tls-verify']) {
    throw new UsageError('--ca-file and --insecure-skip-tls-verify exclude each other: give one');
  }
  return Object.freeze({
    buckets: parseBuckets(args.bucket),
    user: optionalName(args.user, 'user'),
    namespace: optionalName(args.namespace, 'namespace'),
    kube: kubeSourceFrom(args.kubeconfig, env),
    eventsKube: eventsSourceFrom(args.kubeconfig, env),
    proxyEnv: proxyEnvironmentFrom(env),
    timeoutMs: parseDuration(args.timeout, 'timeout'),
    progressIntervalMs: parseDuration(args['progress-interval'], 'progress-interval'),
    verify: args.verify
      ? {
          caFile: args['ca-file'],
          insecureSkipTlsVerify: args['insecure-skip-tls-verify'],
          windowMs: parseDuration(args['verify-timeout'], 'verify-timeout'),
        }
      : undefined,
    pod: podFrom(env),
    output: outputConfigFrom(args),
    log: logOptionsFrom(args, stderrIsTTY),
    source: parseSource(args.source),
    secretsDir: args['secrets-dir'],
  });
}

function parseSource(value: string): SourceChoice {
  if (!isSourceChoice(value)) throw new UsageError(`--source: "${value}" is not one of ${SOURCE_KINDS.join(', ')}`);
  return value;
}

/** `--bucket a --bucket b=x,c` -> [{a,a}, {b,x}, {c,c}]; names and aliases checked, aliases unique. */
export function parseBuckets(values: readonly string[] | undefined): BucketRequest[] {
  const items = parseList(values);
  if (items.length === 0) throw new UsageError('give at least one --bucket <name>[=<alias>]');
  return parseBucketItems(items, (problem, item) => {
    throw new UsageError(item === undefined ? `--bucket: ${problem}` : `--bucket "${item}": ${problem}`);
  });
}

/** `90s`, `10m`, `1h30m`, `500ms`, or a plain number of seconds -> milliseconds (> 0). */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  const plain = /^\d+(?:\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : undefined;
  const ms = plain ?? compoundDuration(trimmed);
  if (ms === undefined || !(ms > 0) || !Number.isFinite(ms))
    throw new UsageError(`--${flag}: "${text}" is not a duration like 90s, 10m or 1h30m`);
  return Math.round(ms);
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function compoundDuration(text: string): number | undefined {
  if (!/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? NaN);
  return total;
}

export function kubeSourceFrom(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): KubeSource {
  if (kubeconfig !== undefined && kubeconfig !== '') return { kind: 'kubeconfig', path: kubeconfig };
  const host = env[ENV_KUBERNETES_SERVICE_HOST] ?? '';
  if (host !== '') return { kind: 'in-cluster', host, port: env[ENV_KUBERNETES_SERVICE_PORT] ?? '' };
  return { kind: 'default', paths: defaultKubeconfigPaths(env) };
}

/** KUBECONFIG's files in order (empty entries dropped, as kubectl does), else ~/.kube/config. */
function defaultKubeconfigPaths(env: NodeJS.ProcessEnv): string[] {
  const listed = (env[ENV_KUBECONFIG] ?? '').split(delimiter).filter((path) => path !== '');
  if (listed.length > 0) return listed;
  const home = env[ENV_HOME] ?? '';
  return home === '' ? [] : [join(home, '.kube', 'config')];
}

/** Go's getEnvAny: the first of the names that is set and not empty. */
export function proxyEnvironmentFrom(env: NodeJS.ProcessEnv): ProxyEnvironment {
  const any = (names: readonly string[]): string => names.map((name) => env[name] ?? '').find((value) => value !== '') ?? '';
  return {
    httpsProxy: any(ENV_HTTPS_PROXY),
    httpProxy: any(ENV_HTTP_PROXY),
    noProxy: any(ENV_NO_PROXY),
    cgi: (env[ENV_REQUEST_METHOD] ?? '') !== '',
  };
}

function eventsSourceFrom(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): KubeSource {
  const own = kubeSourceFrom(undefined, env);
  return own.kind === 'in-cluster' ? own : kubeSourceFrom(kubeconfig, env);
}

function podFrom(env: NodeJS.ProcessEnv): PodRef | undefined {
  const name = env[ENV_POD_NAME]?.trim() ?? '';
  const namespace = env[ENV_POD_NAMESPACE]?.trim() ?? '';
  if (name === '' || namespace === '') return undefined;
  const uid = env[ENV_POD_UID]?.trim();
  return { name, namespace, uid: uid === '' ? undefined : uid };
}

function optionalName(value: string | undefined, flag: string): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!isObjectName(value.trim())) throw new UsageError(`--${flag}: "${value}" is not a valid name (${OBJECT_NAME_RULE})`);
  return value.trim();
}
