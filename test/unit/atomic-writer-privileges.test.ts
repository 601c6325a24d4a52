/**
 * Failures root cannot provoke in-process (EACCES, EPERM on chown, a full disk) and the non-root
 * case the product runs in (injected containers are non-root, and a 0550 dir cannot be written
 * into by its non-root owner). The writer runs in a child process with dropped privileges or a
 * file size limit; the checks run here.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileSet } from '../../src/files/atomic-writer.js';
import type { RenderedFile } from '../../src/render/types.js';
import { snapshotTree } from './tree-snapshot.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
const COMPILED_SRC = new URL('../../src/', import.meta.url);
const IS_ROOT = process.getuid?.() === 0;
/** The unprivileged identity the child runs as: nobody when we are root, else ourselves. */
const CHILD_ID = IS_ROOT ? { uid: 65534, gid: 65534 } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

// The child writes one set and prints the outcome as JSON; the error message is what a user sees.
const CHILD_CODE = `
const { writeFileSet } = await import(process.argv[1]);
const { outDir, files, options } = JSON.parse(process.argv[2]);
try {
  const result = writeFileSet(outDir, files, options);
  process.stdout.write(JSON.stringify({ ok: true, result }));
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, name: error.name, code: error.code, message: error.message }));
}
`;

interface ChildOutcome {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  result?: { changed: boolean; generation: string };
}

interface ChildRequest {
  outDir: string;
  files: readonly RenderedFile[];
  options?: Record<string, number>;
  /** `ulimit -f` in 1024-byte blocks: writes beyond it fail with EFBIG (Node ignores SIGXFSZ). */
  fileSizeBlocks?: number;
}

function runChild(request: ChildRequest): ChildOutcome {
  const payload = JSON.stringify({ outDir: request.outDir, files: request.files, options: request.options ?? {} });
  const nodeArgs = ['--input-type=module', '-e', CHILD_CODE, writerUrl, payload];
  const spawnOptions: SpawnSyncOptions = { encoding: 'utf8', uid: CHILD_ID.uid, gid: CHILD_ID.gid, timeout: 30_000 };
  const child =
    request.fileSizeBlocks === undefined
      ? spawnSync(childNode, nodeArgs, spawnOptions)
      : spawnSync('bash', ['-c', `ulimit -f ${request.fileSizeBlocks} && exec "$0" "$@"`, childNode, ...nodeArgs], spawnOptions);
  assert.equal(child.status, 0, `writer child failed (${child.error?.message ?? `exit ${String(child.status)}`}): ${String(child.stderr)}`);
  return JSON.parse(String(child.stdout)) as ChildOutcome;
}

function set(tag: string, extra: RenderedFile[] = []): RenderedFile[] {
  return [
    { path: 'aws/credentials', content: `[backup]\naws_secret_access_key = ${SECRET}-${tag}\n` },
    { path: 'aws/config', content: `[profile backup]\n# ${tag}\n` },
    { path: `env/${tag}.env`, content: `AWS_SECRET_ACCESS_KEY=${SECRET}-${tag}\n` },
    ...extra,
  ];
}

function assertRefused(outcome: ChildOutcome, pattern: RegExp): void {
  assert.equal(outcome.ok, false, 'the write must fail');
  assert.equal(outcome.name, 'OutputError');
  assert.equal(outcome.code, 'E_OUTPUT');
  assert.match(outcome.message ?? '', pattern);
  assert.ok(!(outcome.message ?? '').includes(SECRET), 'error message must not contain file contents');
}

let root: string;
let counter = 0;

let writerUrl: string;
/** The node binary the child runs: ours, or a copy where the child's identity can execute it. */
let childNode = process.execPath;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'atomic-writer-priv-'));
  await chmod(root, 0o755);
  // The checkout may sit where nobody cannot read it (CI clones anywhere), so the child imports
  // a copy of the compiled writer; it needs only src/files/ and src/errors.js.
  const copy = join(root, 'writer');
  await cp(fileURLToPath(new URL('files/', COMPILED_SRC)), join(copy, 'src/files'), { recursive: true });
  await cp(fileURLToPath(new URL('errors.js', COMPILED_SRC)), join(copy, 'src/errors.js'));
  await writeFile(join(copy, 'package.json'), '{"type":"module"}\n');
  writerUrl = pathToFileURL(join(copy, 'src/files/atomic-writer.js')).href;
  // Likewise node itself: CI's Node 24 lives under root's 0700 home (~/.cache), as nvm's does.
  const probe = spawnSync(childNode, ['-e', '0'], { uid: CHILD_ID.uid, gid: CHILD_ID.gid, timeout: 30_000 });
  if (probe.status !== 0) {
    childNode = join(root, 'node');
    await cp(process.execPath, childNode);
    await chmod(childNode, 0o755);
  }
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** An output dir owned by the child's identity, as an emptyDir is for the pod's user. */
async function childOwnedDir(): Promise<string> {
  counter += 1;
  const outDir = join(root, `out-${counter}`);
  await mkdir(outDir);
  await chown(outDir, CHILD_ID.uid, CHILD_ID.gid);
  return outDir;
}

test('a non-root owner rewrites 0550 generations again and again, old ones are removed', async () => {
  const outDir = await childOwnedDir();
  const generations: string[] = [];
  for (const tag of ['a', 'b', 'a', 'b', 'a']) {
    const outcome = runChild({ outDir, files: set(tag) });
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.result?.changed, true);
    generations.push(outcome.result?.generation ?? '');
  }
  const hidden = readdirSync(outDir).filter((n) => n.startsWith('..') && n !== '..data' && n !== '..prev');
  assert.deepEqual(hidden.sort(), generations.slice(-2).sort());
  assert.equal(readFileSync(join(outDir, 'aws/config'), 'utf8'), '[profile backup]\n# a\n');
  assert.equal(lstatSync(join(outDir, 'env/a.env')).mode & 0o777, 0o440);
  assert.equal(lstatSync(join(outDir, 'env/a.env')).uid, CHILD_ID.uid);
  assert.equal(lstatSync(join(outDir, 'env/b.env'), { throwIfNoEntry: false }), undefined);
});

test('a non-root sidecar takes over a dir an init container (root, --uid/--gid) created: it writes and prunes', async () => {
  counter += 1;
  // Not there yet: the init container's writer creates it, and must hand it to --uid/--gid.
  const outDir = join(root, `init-made-${counter}`, 'bucket');
  const first = writeFileSet(outDir, set('a'), { uid: CHILD_ID.uid, gid: CHILD_ID.gid });
  assert.equal(lstatSync(outDir).uid, CHILD_ID.uid, 'the output dir belongs to --uid');
  await chmod(join(outDir, '..'), 0o755);
  const outcome = runChild({ outDir, files: set('b'), options: { retiredGraceMs: 0 } });
  assert.equal(outcome.ok, true, outcome.message);
  const second = runChild({ outDir, files: set('a'), options: { retiredGraceMs: 0 } });
  assert.equal(second.ok, true, second.message);
  const hidden = readdirSync(outDir).filter((n) => n.startsWith('..') && n !== '..data' && n !== '..prev');
  assert.ok(!hidden.includes(first.generation), `init's generation ${first.generation} was pruned: ${hidden.join(', ')}`);
  assert.equal(readFileSync(join(outDir, 'aws/config'), 'utf8'), '[profile backup]\n# a\n');
});

test('uid/gid without root or CAP_CHOWN: clear error, previous files intact, no litter', async () => {
  const outDir = await childOwnedDir();
  assert.equal(runChild({ outDir, files: set('a') }).ok, true);
  assert.equal(runChild({ outDir, files: set('b') }).ok, true);
  const before = snapshotTree(outDir);
  const outcome = runChild({ outDir, files: set('c'), options: { uid: 0, gid: 0 } });
  assertRefused(outcome, /cannot chown .* to 0:0: EPERM \(setting uid\/gid needs root or CAP_CHOWN\)/);
  assert.deepEqual(snapshotTree(outDir), before);
});

test('an output dir the writer may not write to (EACCES): previous files intact, no litter', async () => {
  const outDir = await childOwnedDir();
  assert.equal(runChild({ outDir, files: set('a') }).ok, true);
  await chmod(outDir, 0o555);
  try {
    const before = snapshotTree(outDir);
    const refusal = new RegExp(`cannot create directory ${outDir}/\\.\\.[^:]+: EACCES`);
    assertRefused(runChild({ outDir, files: set('b') }), refusal);
    assert.deepEqual(snapshotTree(outDir), before);
  } finally {
    await chmod(outDir, 0o755);
  }
});

test('a full disk in the middle of a render (EFBIG past ulimit -f): previous files intact, no litter', async () => {
  const outDir = await childOwnedDir();
  assert.equal(runChild({ outDir, files: set('a') }).ok, true);
  assert.equal(runChild({ outDir, files: set('b') }).ok, true);
  const before = snapshotTree(outDir);
  // 'zz/' sorts last: the small files are already written when the big one hits the limit.
  const big = { path: 'zz/big.json', content: 'x'.repeat(64 * 1024) };
  const outcome = runChild({ outDir, files: set('c', [big]), fileSizeBlocks: 16 });
  assertRefused(outcome, /cannot write .*\/zz\/big\.json: EFBIG/);
  assert.deepEqual(snapshotTree(outDir), before);
});
