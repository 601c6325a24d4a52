import type { BucketCredentials } from '../credentials/types.js';
import type { RenderedFile } from './types.js';
import { aliasOf, checkedValue, type CredentialField } from './values.js';

/**
 * json/<alias>.json: the normalized record, for programs that would rather not parse any of the
 * other formats. Absent source details are `null`, so every file has the same shape.
 */
export function renderJson(buckets: readonly BucketCredentials[]): RenderedFile[] {
  return buckets.map((b) => {
    const path = `json/${aliasOf(b, 'json/')}.json`;
    return { path, content: `${JSON.stringify(record(b, path), null, 2)}\n` };
  });
}

function record(b: BucketCredentials, file: string): Record<string, unknown> {
  const value = (field: CredentialField): string => checkedValue(b, { field, file }, []);
  return {
    alias: value('alias'),
    bucketName: value('bucketName'),
    endpoint: value('endpoint'),
    region: value('region'),
    accessKeyId: value('accessKeyId'),
    secretAccessKey: value('secretAccessKey'),
    source: {
      name: b.source.name,
      namespace: b.source.namespace ?? null,
      uid: b.source.uid ?? null,
      resourceVersion: b.source.resourceVersion ?? null,
      layout: b.source.layout,
    },
  };
}
