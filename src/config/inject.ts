/**
 * `bucket-agent inject` flags: the manifests to read and what the webhook would learn from the
 * cluster (native sidecar support, the agent image, the prefix, the default source). Offline: it
 * reads no kubeconfig and talks to no cluster.
 */
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';
import { SOURCE_KINDS } from '../flags/source.js';
import { DEFAULT_PREFIX, DEFAULT_SOURCE, isValidPrefix } from '../inject/annotations.js';
import type { InjectFacts } from '../inject/mutate.js';
import type { LogOptions } from '../log.js';
import { packageVersion } from '../version.js';
import { logOptionsFrom, type CommonArgs } from './common.js';

/** The image this release publishes; `--image` for a mirror or a pinned digest. */
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/bucket-agent/bucket-agent';
export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

export function defaultImage(): string {
  return `${DEFAULT_IMAGE_REPOSITORY}:${packageVersion()}`;
}

export const INJECT_OPTIONS = {
  filename: { type: 'string', alias: 'f', default: '-', describe: 'Manifest file (YAML, multi-document, or JSON), - for stdin' },
  'native-sidecars': {
    type: 'boolean',
    default: true,
    describe:
      'Inject a native sidecar (an init container with restartPolicy Always; Kubernetes >= 1.29); --no-native-sidecars for older clusters',
  },
  image: { type: 'string', describe: `Agent image (default: ${DEFAULT_IMAGE_REPOSITORY}:<this version>)` },
  'image-pull-policy': { type: 'string', choices: PULL_POLICIES, describe: "Agent containers' imagePullPolicy (default: the cluster's)" },
  prefix: { type: 'string', default: DEFAULT_PREFIX, describe: 'Prefix of the opt-in label and of the annotations' },
  source: {
    type: 'string',
    choices: SOURCE_KINDS,
    default: DEFAULT_SOURCE,
    describe: 'Source for pods without a source annotation (api: needs a Role; volume: none; auto: api when permitted)',
  },
} as const satisfies Record<string, Options>;

export interface InjectArgs extends CommonArgs {
  readonly filename: string;
  readonly 'native-sidecars': boolean;
  readonly image?: string;
  readonly 'image-pull-policy'?: string;
  readonly prefix: string;
  readonly source: string;
}

export interface InjectConfig {
  /** A path, or `-` for stdin. */
  readonly input: string;
  readonly facts: InjectFacts;
  readonly log: LogOptions;
}

export function injectConfigFrom(args: InjectArgs, stderrIsTTY: boolean): InjectConfig {
  const prefix = args.prefix.trim();
  if (!isValidPrefix(prefix))
    throw new UsageError(`--prefix: "${args.prefix}" is not a DNS subdomain followed by "/" (e.g. ${DEFAULT_PREFIX})`);
  const image = args.image?.trim() ?? defaultImage();
  if (image === '' || /\s/.test(image)) throw new UsageError(`--image: "${args.image ?? ''}" is not an image reference`);
  const pullPolicy = PULL_POLICIES.find((p) => p === args['image-pull-policy']);
  const source = SOURCE_KINDS.find((s) => s === args.source) ?? DEFAULT_SOURCE;
  return Object.freeze({
    input: args.filename,
    facts: Object.freeze({
      prefix,
      image,
      nativeSidecars: args['native-sidecars'],
      defaultSource: source,
      ...(pullPolicy === undefined ? {} : { imagePullPolicy: pullPolicy }),
    }),
    log: logOptionsFrom(args, stderrIsTTY),
  });
}
