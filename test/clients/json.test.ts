import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RENDERERS } from '../../src/render/index.js';
import { REAL_ACCESS_KEY } from '../unit/render-fixtures.js';
import { acceptedBy, itRefuses, show } from './readers.js';

/**
 * mc (Go encoding/json) and the json/ consumers read plain JSON: JSON.parse is the reader here.
 * There is no mc binary in Debian (its `mc` package is Midnight Commander).
 */

interface McConfig {
  version: string;
  aliases: Record<string, { url: string; accessKey: string; secretKey: string; api: string; path: string } | undefined>;
}

describe('JSON readers: mc/config.json', () => {
  const accepted = acceptedBy('mc');
  const [file] = RENDERERS.mc(accepted.map((a) => a.bucket));
  const config = JSON.parse(file?.content ?? '') as McConfig;

  it('version 10, every alias in input order', () => {
    assert.equal(config.version, '10');
    assert.deepEqual(Object.keys(config.aliases).sort(), accepted.map((a) => a.bucket.alias).sort());
  });
  for (const { hostile, bucket: b } of accepted) {
    it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => {
      assert.deepEqual(config.aliases[b.alias], {
        url: b.endpoint.url,
        accessKey: REAL_ACCESS_KEY,
        secretKey: hostile.value,
        api: 'S3v4',
        path: 'on',
      });
    });
  }
  itRefuses('mc');
});

describe('JSON readers: json/<alias>.json', () => {
  const accepted = acceptedBy('json');
  const files = RENDERERS.json(accepted.map((a) => a.bucket));
  accepted.forEach(({ hostile, bucket: b }, i) => {
    it(`carries ${hostile.name} ${show(hostile.value)} byte-exactly`, () => {
      const record = JSON.parse(files[i]?.content ?? '') as Record<string, unknown>;
      assert.equal(files[i]?.path, `json/${b.alias}.json`);
      assert.deepEqual(record, {
        alias: b.alias,
        bucketName: b.bucketName,
        endpoint: b.endpoint.url,
        region: b.region,
        accessKeyId: b.accessKeyId,
        secretAccessKey: hostile.value,
        source: { ...b.source },
      });
    });
  });
  itRefuses('json');
});
