/**
 * The caBundle of a MutatingWebhookConfiguration: which of its webhooks are ours, and the JSON
 * patch that makes each of them trust the CAs of the TLS Secret. Pure.
 *
 * Ours: `clientConfig.service` is our Service in our namespace, or `clientConfig.url`'s host is
 * one of the names in our serving certificate (a webhook called by URL must verify that name).
 * The new caBundle is the union of the Secret's `ca.crt` and what the entry already trusts,
 * expired and unparseable certificates dropped: a CA leaves a bundle only by expiring, so the old
 * and the new CA are both trusted throughout a rotation.
 *
 *   caBundlePatch(config, target, secretBundle, nowMs): {operations, ours, trustsAll(certPem)}
 */
import { bundleContains, mergeCaBundle, sameBundle } from './ca-bundle.js';

export interface WebhookConfigLike {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly webhooks?: readonly {
    readonly name?: string;
    readonly clientConfig?: {
      readonly url?: string;
      readonly caBundle?: string;
      readonly service?: { readonly name?: string; readonly namespace?: string };
    };
  }[];
}

export interface WebhookTarget {
  readonly service: string;
  readonly namespace: string;
  /** The serving certificate's DNS names and IPs. */
  readonly hosts: readonly string[];
}

export interface CaBundlePatch {
  /** Empty when every entry already trusts the bundle. Starts with a `test` of the resourceVersion. */
  readonly operations: readonly object[];
  /** Indexes of our entries. */
  readonly ours: readonly number[];
  /** After the patch: does every entry of ours trust this certificate? */
  trustsAll(certPem: string): boolean;
}

export function caBundlePatch(config: WebhookConfigLike, target: WebhookTarget, secretBundle: string, nowMs: number): CaBundlePatch {
  const webhooks = config.webhooks ?? [];
  const ours = webhooks.flatMap((webhook, index) => (isOurs(webhook.clientConfig, target) ? [index] : []));
  const after = new Map<number, string>();
  const changes: object[] = [];
  for (const index of ours) {
    const current = decode(webhooks[index]?.clientConfig?.caBundle);
    const merged = mergeCaBundle([secretBundle, current], nowMs);
    after.set(index, merged);
    if (merged !== '' && !sameBundle(merged, current)) {
      changes.push({ op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: Buffer.from(merged).toString('base64') });
    }
  }
  const rv = config.metadata?.resourceVersion;
  const operations =
    changes.length === 0 ? [] : [...(rv === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: rv }]), ...changes];
  return {
    operations,
    ours,
    trustsAll: (certPem) => ours.length > 0 && ours.every((index) => bundleContains(after.get(index) ?? '', certPem)),
  };
}

type ClientConfig = NonNullable<NonNullable<WebhookConfigLike['webhooks']>[number]['clientConfig']>;

function isOurs(clientConfig: ClientConfig | undefined, target: WebhookTarget): boolean {
  if (clientConfig === undefined) return false;
  const { service, url } = clientConfig;
  if (service !== undefined) return service.name === target.service && service.namespace === target.namespace;
  if (url === undefined) return false;
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    return target.hosts.some((h) => h.toLowerCase() === host || sameIp(h, host));
  } catch {
    return false;
  }
}

/** `::1` and `0:0:0:0:0:0:0:1`: URL() writes IPv6 hosts compressed, flags may not. */
function sameIp(a: string, b: string): boolean {
  if (!a.includes(':') || !b.includes(':')) return false;
  try {
    return new URL(`https://[${a}]/`).hostname === `[${b}]` || new URL(`https://[${a}]/`).hostname === new URL(`https://[${b}]/`).hostname;
  } catch {
    return false;
  }
}

function decode(caBundle: string | undefined): string {
  return caBundle === undefined ? '' : Buffer.from(caBundle, 'base64').toString('utf8');
}
