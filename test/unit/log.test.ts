import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../env/tools.js';

const LOG_MODULE = pathToFileURL(join(REPO_ROOT, 'dist/src/log.js')).href;
const KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** Logs `object` through the real root logger in a child process and returns its stderr lines. */
function logged(object: unknown, format: 'json' | 'pretty'): string {
  const code = `const { createLogger } = await import(${JSON.stringify(LOG_MODULE)});
    const log = await createLogger({ level: 'info', pretty: ${format === 'pretty'} });
    log.child({ component: 'test' }).info(JSON.parse(process.argv[1]), 'hello');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, JSON.stringify(object)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

describe('log redaction', () => {
  const objects: { name: string; object: unknown }[] = [
    { name: 'credentials fields', object: { secretAccessKey: KEY, accessKeyId: KEY } },
    { name: 'a nested bucket record', object: { bucket: { alias: 'a', secretAccessKey: KEY } } },
    { name: 'two levels down', object: { result: { bucket: { accessKeyId: KEY } } } },
    { name: 'Secret data and stringData', object: { secret: { data: { BucketInfo: KEY }, stringData: { k: KEY } } } },
    { name: 'authorization headers and tokens', object: { req: { headers: { authorization: `Bearer ${KEY}` } }, token: KEY } },
  ];
  for (const { name, object } of objects) {
    for (const format of ['json', 'pretty'] as const) {
      it(`blanks ${name} (${format})`, () => {
        const out = logged(object, format);
        assert.match(out, /hello/);
        assert.match(out, /\[redacted\]/);
        assert.ok(!out.includes(KEY), `a key reached the log:\n${out}`);
      });
    }
  }
});
