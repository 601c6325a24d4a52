import type { BucketCredentials } from '../credentials/types.js';
import { stringifyOrdered } from './json-text.js';
import type { RenderedFile } from './types.js';
import { aliasOf, checkedValue, type CredentialField } from './values.js';

export const MC_PATH = 'mc/config.json';

/**
 * `path: "on"` rather than DESIGN.md's `auto`: mc's `auto` picks virtual-host style for endpoints
 * it recognises (AWS, Google, Aliyun host names) and path style elsewhere, while `on` always uses
 * path style, as aws/config (`addressing_style = path`) and rclone do. SeaweedFS serves
 * virtual-host requests only when started with a domain name, which Cozystack does not promise.
 */
const MC_PATH_STYLE = 'on';

/** mc/config.json (MC_CONFIG_DIR=<out>/mc): one alias per bucket. JSON carries any string. */
export function renderMc(buckets: readonly BucketCredentials[]): RenderedFile[] {
  if (buckets.length === 0) return [];
  const aliases = stringifyOrdered(
    buckets.map((b) => [aliasOf(b, MC_PATH), mcAlias(b)] as const),
    1,
  );
  return [{ path: MC_PATH, content: `{\n  "version": "10",\n  "aliases": ${aliases}\n}\n` }];
}

function mcAlias(b: BucketCredentials): Record<string, string> {
  const value = (field: CredentialField): string => checkedValue(b, { field, file: MC_PATH }, []);
  return { url: value('endpoint'), accessKey: value('accessKeyId'), secretKey: value('secretAccessKey'), api: 'S3v4', path: MC_PATH_STYLE };
}
