/**
 * `bucket-agent webhook` flags; every flag is also BUCKET_AGENT_<FLAG>. Two listeners: the
 * AdmissionReviews over TLS on --listen, and /healthz, /readyz, /metrics in plain http on
 * --health-listen (kubelet probes and Prometheus need no CA, and the probes answer while the
 * TLS port has no certificate yet). Two TLS modes: `self` (a CA and serving certificate kept in
 * a Secret, the caBundle patched, replicas agreeing through a Lease) and `files` (cert-manager).
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { Options } from 'yargs';
import { isDns1123Label } from '../credentials/index.js';
import { UsageError } from '../errors.js';
import type { KubeSource } from '../kube/kubeconfig.js';
import type { ProxyEnvironment } from '../kube/proxy-env.js';
import type { LogOptions } from '../log.js';
import { logOptionsFrom, type CommonArgs } from './common.js';
import {
  ENV_POD_NAME,
  ENV_POD_NAMESPACE,
  kubeSourceFrom,
  parseDuration,
  proxyEnvironmentFrom,
  SOURCE_KINDS,
  type SourceChoice,
} from './init.js';
import { parseListen, type ListenAddress } from './listen.js';

/** As inject's default (src/inject/mutate.ts DEFAULT_SOURCE): works without RBAC, uses the API when permitted. */
export const DEFAULT_INJECT_SOURCE: SourceChoice = 'auto';
export const DEFAULT_WEBHOOK_LISTEN = ':8443';
export const DEFAULT_WEBHOOK_HEALTH_LISTEN = ':8080';
export const DEFAULT_SERVICE = 'bucket-agent-webhook';
export const DEFAULT_PREFIX = 'bucket-agent.io/';
/** Below the 10 s the MutatingWebhookConfiguration's timeoutSeconds defaults to (and its maximum, 30 s). */
export const DEFAULT_REVIEW_TIMEOUT = '8s';
/** A year: renewed at 2/3 (8 months), so a renewal that keeps failing has 4 months to be noticed. */
export const DEFAULT_CERT_VALIDITY = '8760h';
/** The CA lives this many serving certificates; renewed when less than two serving lifetimes remain. */
export const CA_VALIDITY_FACTOR = 4;
/**
 * After a new CA enters the caBundle, how long before a certificate it signed is served: the
 * apiserver takes the new configuration from its watch in well under a second; every apiserver
 * of an HA control plane must have it.
 */
export const DEFAULT_TRUST_DELAY = '30s';
/** On SIGTERM: /readyz fails at once, reviews are still served this long (endpoints catch up), then the server closes. */
export const DEFAULT_SHUTDOWN_DELAY = '5s';
export const TLS_MODES = ['self', 'files'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export const WEBHOOK_OPTIONS = {
  listen: {
    type: 'string',
    default: DEFAULT_WEBHOOK_LISTEN,
    describe: 'AdmissionReviews (POST /mutate) over TLS on HOST:PORT ([::]:8443 for IPv6)',
  },
  'health-listen': {
    type: 'string',
    default: DEFAULT_WEBHOOK_HEALTH_LISTEN,
    describe: '/healthz, /readyz and /metrics over plain http on HOST:PORT',
  },
  tls: {
    type: 'string',
    choices: TLS_MODES,
    default: 'self',
    describe: 'self: own CA kept in a Secret, caBundle patched; files: --tls-cert-file/--tls-key-file (cert-manager), reloaded on change',
  },
  'tls-cert-file': { type: 'string', describe: '--tls files: the serving certificate (PEM)' },
  'tls-key-file': { type: 'string', describe: '--tls files: its private key (PEM)' },
  namespace: { type: 'string', describe: "The webhook's namespace: its Service, Secret and Lease (default: POD_NAMESPACE, else default)" },
  kubeconfig: { type: 'string', describe: '--tls self: kubeconfig file (default: in-cluster)' },
  service: {
    type: 'string',
    default: DEFAULT_SERVICE,
    describe: 'The Service in front of the webhook: the certificate names and the caBundle entries to patch',
  },
  'tls-secret': { type: 'string', describe: '--tls self: the Secret holding the CA and serving certificate (default: <service>-tls)' },
  'webhook-config': {
    type: 'string',
    describe: '--tls self: the MutatingWebhookConfiguration whose caBundle is patched (default: <service>)',
  },
  lease: { type: 'string', describe: '--tls self: the Lease the replicas agree through (default: <service>-tls)' },
  'tls-san': { type: 'string', array: true, describe: '--tls self: extra DNS name or IP in the serving certificate; repeatable' },
  'cert-validity': {
    type: 'string',
    default: DEFAULT_CERT_VALIDITY,
    describe: '--tls self: serving certificate lifetime, renewed at 2/3 of it',
  },
  'ca-validity': { type: 'string', describe: `--tls self: CA lifetime (default ${CA_VALIDITY_FACTOR}x --cert-validity)` },
  'trust-delay': {
    type: 'string',
    default: DEFAULT_TRUST_DELAY,
    describe: '--tls self: wait this long after a new CA enters the caBundle before serving a certificate it signed',
  },
  'review-timeout': {
    type: 'string',
    default: DEFAULT_REVIEW_TIMEOUT,
    describe: 'Answer 503 to a review not received in time (keep it below timeoutSeconds)',
  },
  'shutdown-delay': {
    type: 'string',
    default: DEFAULT_SHUTDOWN_DELAY,
    describe: 'On SIGTERM, keep serving this long with /readyz failing (0 for none), then finish the reviews in flight',
  },
  prefix: { type: 'string', default: DEFAULT_PREFIX, describe: 'Annotation prefix' },
  'agent-image': { type: 'string', demandOption: true, describe: 'Image of the injected bucket-agent containers' },
  'image-pull-policy': {
    type: 'string',
    choices: ['Always', 'IfNotPresent', 'Never'],
    describe: 'imagePullPolicy of the injected containers',
  },
  'native-sidecars': {
    type: 'string',
    choices: ['true', 'false'],
    default: 'true',
    describe: 'Inject a native sidecar (Kubernetes >= 1.29) or a classic one',
  },
  source: {
    type: 'string',
    choices: SOURCE_KINDS,
    default: DEFAULT_INJECT_SOURCE,
    describe: 'Default --source of the injected containers (the source annotation wins)',
  },
} as const satisfies Record<string, Options>;

export interface WebhookArgs extends CommonArgs {
  readonly listen: string;
  readonly 'health-listen': string;
  readonly tls: string;
  readonly 'tls-cert-file'?: string;
  readonly 'tls-key-file'?: string;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly service: string;
  readonly 'tls-secret'?: string;
  readonly 'webhook-config'?: string;
  readonly lease?: string;
  readonly 'tls-san'?: readonly string[];
  readonly 'cert-validity': string;
  readonly 'ca-validity'?: string;
  readonly 'trust-delay': string;
  readonly 'review-timeout': string;
  readonly 'shutdown-delay': string;
  readonly prefix: string;
  readonly 'agent-image': string;
  readonly 'image-pull-policy'?: string;
  readonly 'native-sidecars': string;
  readonly source: string;
}

export interface SelfTlsConfig {
  readonly mode: 'self';
  readonly kube: KubeSource;
  readonly proxyEnv: ProxyEnvironment;
  readonly secret: string;
  readonly webhookConfig: string;
  readonly lease: string;
  /** The Service's DNS names, then the extra --tls-san values. */
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly certValidityMs: number;
  readonly caValidityMs: number;
  readonly trustDelayMs: number;
  /** The Lease holder identity: POD_NAME, else hostname-pid. */
  readonly identity: string;
}

export interface FilesTlsConfig {
  readonly mode: 'files';
  readonly certFile: string;
  readonly keyFile: string;
}

/** What the webhook tells the mutation (src/inject/mutate.ts InjectFacts). */
export interface WebhookFacts {
  readonly prefix: string;
  readonly image: string;
  readonly nativeSidecars: boolean;
  readonly imagePullPolicy?: string;
  readonly defaultSource: SourceChoice;
}

export interface WebhookConfig {
  readonly listen: ListenAddress;
  readonly healthListen: ListenAddress;
  readonly namespace: string;
  readonly service: string;
  readonly tls: SelfTlsConfig | FilesTlsConfig;
  readonly reviewTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly facts: WebhookFacts;
  readonly log: LogOptions;
}

export function webhookConfigFrom(args: WebhookArgs, stderrIsTTY: boolean, env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const namespace = nameFlag(args.namespace ?? env[ENV_POD_NAMESPACE] ?? 'default', 'namespace');
  const service = nameFlag(args.service, 'service');
  const reviewTimeoutMs = parseDuration(args['review-timeout'], 'review-timeout');
  if (reviewTimeoutMs >= 30_000)
    throw new UsageError(`--review-timeout: "${args['review-timeout']}" must be below 30s, the apiserver's longest timeoutSeconds`);
  return Object.freeze({
    listen: parseListen(args.listen, 'listen'),
    healthListen: parseListen(args['health-listen'], 'health-listen'),
    namespace,
    service,
    tls: args.tls === 'files' ? filesConfig(args) : selfConfig(args, { namespace, service }, env),
    reviewTimeoutMs,
    shutdownDelayMs: parseDurationOrZero(args['shutdown-delay'], 'shutdown-delay'),
    facts: Object.freeze({
      prefix: parsePrefix(args.prefix),
      image: nonEmpty(args['agent-image'], 'agent-image'),
      nativeSidecars: args['native-sidecars'] === 'true',
      ...(args['image-pull-policy'] === undefined ? {} : { imagePullPolicy: args['image-pull-policy'] }),
      defaultSource: SOURCE_KINDS.find((kind) => kind === args.source) ?? DEFAULT_INJECT_SOURCE,
    }),
    log: logOptionsFrom(args, stderrIsTTY),
  });
}

function filesConfig(args: WebhookArgs): FilesTlsConfig {
  const certFile = args['tls-cert-file'];
  const keyFile = args['tls-key-file'];
  if (certFile === undefined || keyFile === undefined || certFile === '' || keyFile === '') {
    throw new UsageError('--tls files needs --tls-cert-file and --tls-key-file');
  }
  return { mode: 'files', certFile, keyFile };
}

function selfConfig(args: WebhookArgs, where: { namespace: string; service: string }, env: NodeJS.ProcessEnv): SelfTlsConfig {
  if (args['tls-cert-file'] !== undefined || args['tls-key-file'] !== undefined) {
    throw new UsageError('--tls-cert-file/--tls-key-file go with --tls files; --tls self makes its own certificate');
  }
  const { namespace, service } = where;
  const certValidityMs = parseDuration(args['cert-validity'], 'cert-validity');
  const caValidityMs =
    args['ca-validity'] === undefined ? certValidityMs * CA_VALIDITY_FACTOR : parseDuration(args['ca-validity'], 'ca-validity');
  if (caValidityMs < 2 * certValidityMs) throw new UsageError('--ca-validity must be at least twice --cert-validity');
  const { dns, ips } = parseSans(args['tls-san'] ?? []);
  const svc = `${service}.${namespace}.svc`;
  return {
    mode: 'self',
    kube: kubeSourceFrom(args.kubeconfig, env),
    proxyEnv: proxyEnvironmentFrom(env),
    secret: nameFlag(args['tls-secret'] ?? `${service}-tls`, 'tls-secret'),
    webhookConfig: nameFlag(args['webhook-config'] ?? service, 'webhook-config'),
    lease: nameFlag(args.lease ?? `${service}-tls`, 'lease'),
    dnsNames: [...new Set([service, `${service}.${namespace}`, svc, `${svc}.cluster.local`, ...dns])],
    ipAddresses: [...new Set(ips)],
    certValidityMs,
    caValidityMs,
    trustDelayMs: parseDurationOrZero(args['trust-delay'], 'trust-delay'),
    identity: identityFrom(env),
  };
}

/** `--tls-san` values, repeatable and comma-separated: IP literals apart from DNS names. */
function parseSans(values: readonly string[]): { dns: string[]; ips: string[] } {
  const extra = values
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const ips = extra.filter((s) => isIP(s) !== 0);
  const dns = extra.filter((s) => isIP(s) === 0);
  for (const name of dns)
    if (!/^[a-z0-9*]([a-z0-9.-]*[a-z0-9])?$/i.test(name)) throw new UsageError(`--tls-san: "${name}" is not a DNS name or an IP address`);
  return { dns, ips };
}

function identityFrom(env: NodeJS.ProcessEnv): string {
  const pod = env[ENV_POD_NAME]?.trim() ?? '';
  return pod !== '' ? pod : `${hostname()}-${process.pid}`;
}

/** `0` or `0s` is allowed here (no delay); anything else as parseDuration. */
function parseDurationOrZero(text: string, flag: string): number {
  return /^\s*0(?:ms|s|m|h)?\s*$/.test(text) ? 0 : parseDuration(text, flag);
}

function parsePrefix(text: string): string {
  const prefix = text.trim();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/$/.test(prefix))
    throw new UsageError(`--prefix: "${text}" is not an annotation prefix like bucket-agent.io/`);
  return prefix;
}

function nameFlag(value: string, flag: string): string {
  const name = value.trim();
  if (!isDns1123Label(name)) throw new UsageError(`--${flag}: "${value}" is not a DNS-1123 label (lower-case letters, digits, '-')`);
  return name;
}

function nonEmpty(value: string, flag: string): string {
  if (value.trim() === '') throw new UsageError(`--${flag} is empty`);
  return value.trim();
}
