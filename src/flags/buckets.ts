/**
 * The grammar of a bucket selection (`--bucket NAME[=ALIAS]`, the `buckets` annotation) and of
 * object names (`--user`, `--namespace`, the `user` and `kubeconfig-secret` annotations). Pure, so
 * init, the sidecar and the injector accept the same values; each caller turns a problem into its
 * own error through `fail`, with `item` the list item at fault when there is one.
 */
import { isDns1123Label } from '../credentials/index.js';

export interface BucketRequest {
  /** The Bucket object's name (`bucket-<name>` Secrets). */
  readonly name: string;
  /** Profile/remote/file name in the output: a DNS-1123 label. */
  readonly alias: string;
}

/** Says what is wrong (and with which item of a list); never returns. */
export type ItemFail = (problem: string, item?: string) => never;

export const OBJECT_NAME_RULE = "lower-case letters, digits, '-', '.'";

/** `['a', 'b=x']` -> [{a,a}, {b,x}]; names and aliases checked, aliases unique. Empty items are the caller's to drop. */
export function parseBucketItems(items: readonly string[], fail: ItemFail): BucketRequest[] {
  const buckets = items.map((item) => parseBucketItem(item, fail));
  const seen = new Set<string>();
  for (const { alias } of buckets) {
    if (seen.has(alias)) fail(`alias "${alias}" is used twice; give each bucket its own alias with <name>=<alias>`);
    seen.add(alias);
  }
  return buckets;
}

function parseBucketItem(item: string, fail: ItemFail): BucketRequest {
  const [name = '', alias, ...rest] = item.split('=').map((part) => part.trim());
  if (rest.length > 0) fail('expected <name> or <name>=<alias>', item);
  if (!isObjectName(name)) fail(`"${name}" is not a valid Bucket name (${OBJECT_NAME_RULE})`, item);
  const chosen = alias ?? name;
  if (!isDns1123Label(chosen)) {
    const hint = alias === undefined ? `; give an alias that is one: ${name}=<alias>` : '';
    fail(`alias "${chosen}" is not a DNS-1123 label (lower-case letters, digits, '-', at most 63)${hint}`, item);
  }
  return { name, alias: chosen };
}

/** A DNS-1123 subdomain: what Kubernetes accepts as an object name. */
export function isObjectName(value: string): boolean {
  return value.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value);
}
