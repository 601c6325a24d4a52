import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, statfsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OutputError } from '../../src/errors.js';
import { AtomicWriter, DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, writeFileSet } from '../../src/files/atomic-writer.js';
import type { RenderedFile } from '../../src/render/types.js';
import { snapshotTree } from './tree-snapshot.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

const SET_A: RenderedFile[] = [
  { path: 'aws/credentials', content: `[backup]\naws_access_key_id = AKIA-A\naws_secret_access_key = ${SECRET}-A\n` },
  { path: 'aws/config', content: '[profile backup]\nregion = us-east-1\n' },
  { path: 'env/backup.env', content: `AWS_SECRET_ACCESS_KEY=${SECRET}-A\n` },
  { path: 'rclone/rclone.conf', content: '[backup]\ntype = s3\n' },
];

const SET_B: RenderedFile[] = [
  { path: 'aws/credentials', content: `[backup]\naws_access_key_id = AKIA-B\naws_secret_access_key = ${SECRET}-B\n` },
  { path: 'aws/config', content: '[profile backup]\nregion = eu-west-1\n' },
  { path: 'env/logs.env', content: `AWS_SECRET_ACCESS_KEY=${SECRET}-B\n` },
  { path: 'mc/config.json', content: '{"version":"10"}\n' },
];

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'atomic-writer-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshDir(): string {
  counter += 1;
  return join(root, `out-${counter}`);
}

/** Contents a reader gets through the visible links, keyed by relative path. */
function readVisible(outDir: string, files: readonly RenderedFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, readFileSync(join(outDir, f.path), 'utf8')]));
}

function hiddenEntries(outDir: string): string[] {
  return readdirSync(outDir)
    .filter((name) => name.startsWith('..'))
    .sort();
}

function generations(outDir: string): string[] {
  return hiddenEntries(outDir).filter((name) => name !== '..data' && name !== '..prev');
}

function mode(path: string): number {
  return lstatSync(path).mode & 0o7777;
}

function isOutputError(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(error instanceof OutputError, `expected OutputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes(SECRET), 'error message must not contain file contents');
    assert.equal(error.exitCode, 4);
    return true;
  };
}

describe('writeFileSet: first write', () => {
  test('creates the output dir, one generation, ..data and one link per top-level name', () => {
    const outDir = freshDir();
    const result = writeFileSet(outDir, SET_A);

    assert.equal(result.changed, true);
    assert.match(result.generation, /^\.\.\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{12}$/);
    assert.deepEqual(result.paths, ['aws/config', 'aws/credentials', 'env/backup.env', 'rclone/rclone.conf']);
    assert.deepEqual(result.warnings, []);
    assert.equal(readlinkSync(join(outDir, '..data')), result.generation);
    for (const name of ['aws', 'env', 'rclone']) assert.equal(readlinkSync(join(outDir, name)), `..data/${name}`);
    assert.deepEqual(hiddenEntries(outDir), ['..data', result.generation].sort());
    assert.deepEqual(readVisible(outDir, SET_A), new Map(SET_A.map((f) => [f.path, f.content])));
    assert.equal(mode(outDir), 0o755);
  });

  test('sets file mode 0440 and dir mode 0550 by default, and custom modes on request', () => {
    const outDir = freshDir();
    const { generation } = writeFileSet(outDir, SET_A);
    const genDir = join(outDir, generation);
    assert.equal(DEFAULT_FILE_MODE, 0o440);
    assert.equal(DEFAULT_DIR_MODE, 0o550);
    assert.equal(mode(genDir), 0o550);
    assert.equal(mode(join(genDir, 'aws')), 0o550);
    assert.equal(mode(join(genDir, 'aws/credentials')), 0o440);

    const custom = writeFileSet(outDir, SET_A, { fileMode: 0o400, dirMode: 0o500 });
    assert.equal(custom.changed, true, 'a mode change is a change');
    assert.equal(mode(join(outDir, custom.generation, 'env/backup.env')), 0o400);
    assert.equal(mode(join(outDir, custom.generation, 'env')), 0o500);
  });

  test('chowns files and dirs when uid/gid are given (root)', { skip: process.getuid?.() !== 0 }, () => {
    const outDir = freshDir();
    const { generation } = writeFileSet(outDir, SET_A, { uid: 1234, gid: 4321 });
    for (const path of ['', 'aws', 'aws/credentials']) {
      const stats = statSync(join(outDir, generation, path));
      assert.deepEqual([stats.uid, stats.gid], [1234, 4321], path);
    }
    const same = writeFileSet(outDir, SET_A, { uid: 1234, gid: 4321 });
    assert.equal(same.changed, false);
    const regrouped = writeFileSet(outDir, SET_A, { uid: 1234, gid: 1 });
    assert.equal(regrouped.changed, true, 'an owner change is a change');
  });
});

describe('writeFileSet: rewrites', () => {
  test('a changed set replaces the files: new ones there, removed ones gone, modes right', () => {
    const outDir = freshDir();
    const first = writeFileSet(outDir, SET_A);
    const second = writeFileSet(outDir, SET_B);

    assert.equal(second.changed, true);
    assert.notEqual(second.generation, first.generation);
    assert.deepEqual(readVisible(outDir, SET_B), new Map(SET_B.map((f) => [f.path, f.content])));
    assert.equal(existsSync(join(outDir, 'env/backup.env')), false, 'a file removed from the set is gone');
    assert.equal(existsSync(join(outDir, 'rclone')), false, 'a top-level name removed from the set is gone');
    assert.equal(lstatSync(join(outDir, 'mc')).isSymbolicLink(), true, 'a new top-level name is linked');
    assert.equal(mode(join(outDir, 'mc/config.json')), 0o440);
    assert.equal(mode(realpathSync(join(outDir, 'mc'))), 0o550);
  });

  test('keeps the previous generation for readers that resolved ..data, removes older ones', () => {
    const outDir = freshDir();
    const noGrace = { retiredGraceMs: 0 };
    const first = writeFileSet(outDir, SET_A, noGrace);
    const second = writeFileSet(outDir, SET_B, noGrace);
    assert.deepEqual(generations(outDir), [first.generation, second.generation].sort());
    assert.equal(readlinkSync(join(outDir, '..prev')), first.generation);
    assert.equal(readFileSync(join(outDir, first.generation, 'aws/credentials'), 'utf8'), SET_A[0]?.content);

    const third = writeFileSet(outDir, SET_A, noGrace);
    assert.deepEqual(generations(outDir), [second.generation, third.generation].sort());
    assert.equal(readlinkSync(join(outDir, '..prev')), second.generation);
  });

  test('in a burst, older generations are kept for the grace period, then removed', async () => {
    const outDir = freshDir();
    // One long-lived writer (the sidecar): it knows what it retired and when.
    const writer = new AtomicWriter(outDir, { retiredGraceMs: 300 });
    const first = writer.write(SET_A);
    const second = writer.write(SET_B);
    const third = writer.write(SET_A);
    assert.deepEqual(generations(outDir), [first.generation, second.generation, third.generation].sort());
    await sleep(350);
    const fourth = writer.write(SET_B);
    assert.deepEqual(generations(outDir), [third.generation, fourth.generation].sort());
  });

  test('a new writer (a restarted sidecar) keeps no retired generation of another: no reader of its own holds one', () => {
    const outDir = freshDir();
    const grace = { retiredGraceMs: 60_000 };
    const old = new AtomicWriter(outDir, grace);
    old.write(SET_A);
    old.write(SET_B);
    const third = old.write(SET_A);
    assert.equal(generations(outDir).length, 3, 'the old writer keeps its burst');
    const fourth = new AtomicWriter(outDir, grace).write(SET_B);
    assert.deepEqual(generations(outDir), [third.generation, fourth.generation].sort());
  });

  test('an identical rewrite is a no-op: same generation, nothing touched', () => {
    const outDir = freshDir();
    const first = writeFileSet(outDir, SET_A);
    const file = join(outDir, 'aws/credentials');
    const mtimes = (): bigint[] => [file, join(outDir, first.generation)].map((path) => statSync(path, { bigint: true }).mtimeNs);
    const before = mtimes();
    const snap = snapshotTree(outDir);

    const again = writeFileSet(outDir, [...SET_A].reverse());
    assert.deepEqual(again, { changed: false, generation: first.generation, paths: first.paths, warnings: [] });
    assert.deepEqual(snapshotTree(outDir), snap);
    assert.deepEqual(mtimes(), before);
  });

  test('a visible link deleted by hand is restored by the next write', async () => {
    const outDir = freshDir();
    const first = writeFileSet(outDir, SET_A);
    await rm(join(outDir, 'aws'));
    const again = writeFileSet(outDir, SET_A);
    assert.equal(again.changed, true);
    assert.notEqual(again.generation, first.generation);
    assert.equal(readFileSync(join(outDir, 'aws/config'), 'utf8'), SET_A[1]?.content);
  });

  test('calls in one process cannot interleave: each one swaps a complete set', () => {
    const outDir = freshDir();
    const noGrace = { retiredGraceMs: 0 };
    const results = [SET_A, SET_B, SET_A].map((files) => writeFileSet(outDir, files, noGrace));
    assert.deepEqual(
      results.map((r) => r.changed),
      [true, true, true],
    );
    assert.equal(readlinkSync(join(outDir, '..data')), results[2]?.generation);
    assert.deepEqual(readVisible(outDir, SET_A), new Map(SET_A.map((f) => [f.path, f.content])));
    assert.equal(generations(outDir).length, 2);
  });
});

describe('writeFileSet: refusals leave everything as it was', () => {
  const badPaths: Array<[string, string, RegExp]> = [
    ['absolute path', '/etc/passwd', /must be relative/],
    ['parent segment', 'aws/../../escape', /segment "\.\."/],
    ['leading parent', '../escape', /segment "\.\."/],
    ['dot segment', 'aws/./credentials', /segment "\."/],
    ['empty segment', 'aws//credentials', /empty path segment/],
    ['trailing slash', 'aws/', /empty path segment/],
    ['empty path', '', /empty path/],
    ['NUL', 'aws/cred\0entials', /NUL/],
    ['reserved ..data', '..data/aws/credentials', /reserved/],
    ['reserved hidden prefix', '..2020/x', /reserved/],
  ];
  for (const [name, path, pattern] of badPaths) {
    test(`refuses a bad relative path: ${name}`, () => {
      const outDir = freshDir();
      writeFileSet(outDir, SET_A);
      const snap = snapshotTree(outDir);
      assert.throws(() => writeFileSet(outDir, [...SET_B, { path, content: SECRET }]), isOutputError(pattern));
      assert.deepEqual(snapshotTree(outDir), snap);
    });
  }

  test('refuses duplicates, a path that is both file and dir, and an empty set, before creating anything', () => {
    const outDir = freshDir();
    const cases: Array<[RenderedFile[], RegExp]> = [
      [[...SET_A, { path: 'aws/config', content: SECRET }], /twice/],
      [[...SET_A, { path: 'aws', content: SECRET }], /both a file and a directory/],
      [
        [
          { path: 'a/b', content: SECRET },
          { path: 'a/b/c', content: SECRET },
        ],
        /both a file and a directory/,
      ],
      [[], /empty file set/],
    ];
    for (const [files, pattern] of cases) assert.throws(() => writeFileSet(outDir, files), isOutputError(pattern));
    assert.equal(existsSync(outDir), false);
  });

  test('refuses bad modes and ids', () => {
    const outDir = freshDir();
    assert.throws(() => writeFileSet(outDir, SET_A, { fileMode: 0o4755 }), isOutputError(/fileMode/));
    assert.throws(() => writeFileSet(outDir, SET_A, { dirMode: -1 }), isOutputError(/dirMode/));
    assert.throws(() => writeFileSet(outDir, SET_A, { uid: 1.5 }), isOutputError(/uid/));
    assert.throws(() => writeFileSet(outDir, SET_A, { gid: 2 ** 32 }), isOutputError(/gid/));
    assert.throws(() => writeFileSet(outDir, SET_A, { retiredGraceMs: -1 }), isOutputError(/retiredGraceMs/));
    assert.equal(existsSync(outDir), false);
  });

  test('refuses to replace a visible entry that is not its own link (dir, file, foreign symlink)', async () => {
    const outDir = freshDir();
    writeFileSet(outDir, SET_A);
    await mkdir(join(outDir, 'mc'));
    await writeFile(join(outDir, 'mc', 'keep-me'), 'user data');
    await writeFile(join(outDir, 'env2'), 'user file');
    await symlink('/etc', join(outDir, 'etc'));
    const snap = snapshotTree(outDir);
    const attempts: Array<[RenderedFile, RegExp]> = [
      [{ path: 'mc/config.json', content: SECRET }, /"mc".*\/mc exists and is not a bucket-agent link/],
      [{ path: 'env2/x.env', content: SECRET }, /\/env2 exists and is not a bucket-agent link/],
      [{ path: 'etc/passwd', content: SECRET }, /\/etc exists and is not a bucket-agent link/],
    ];
    for (const [extra, pattern] of attempts) {
      assert.throws(() => writeFileSet(outDir, [...SET_A, extra]), isOutputError(pattern));
      assert.deepEqual(snapshotTree(outDir), snap);
    }
  });

  test('refuses a ..data that is not its own symlink', async () => {
    const outDir = freshDir();
    await mkdir(join(outDir, '..data'), { recursive: true });
    assert.throws(() => writeFileSet(outDir, SET_A), isOutputError(/\.\.data: it exists and is not a symlink/));
    await rm(join(outDir, '..data'), { recursive: true });
    await symlink('/etc', join(outDir, '..data'));
    assert.throws(() => writeFileSet(outDir, SET_A), isOutputError(/points to "\/etc", not a generation dir/));
    assert.deepEqual(readdirSync(outDir), ['..data']);
  });

  test('refuses an output dir that is a file, or below a file', async () => {
    const file = join(freshDir() + '-file');
    await writeFile(file, 'not a dir');
    assert.throws(() => writeFileSet(file, SET_A), isOutputError(/is not a directory|EEXIST|ENOTDIR/));
    assert.throws(() => writeFileSet(join(file, 'out'), SET_A), isOutputError(/ENOTDIR/));
    assert.equal(readFileSync(file, 'utf8'), 'not a dir');
  });

  test('an IO failure in the middle of a render leaves the previous files byte-identical, no litter', () => {
    const outDir = freshDir();
    writeFileSet(outDir, SET_A);
    writeFileSet(outDir, SET_B); // so that ..prev exists too
    const snap = snapshotTree(outDir);
    // The kernel refuses a name over 255 bytes (ENAMETOOLONG) after the other files are written:
    // a real failure mid-generation, and one root cannot bypass.
    const tooLong = { path: `zz/${'n'.repeat(300)}`, content: SECRET };
    assert.throws(() => writeFileSet(outDir, [...SET_A, tooLong]), isOutputError(/ENAMETOOLONG/));
    assert.deepEqual(snapshotTree(outDir), snap);
    const newTopLevel = { path: `${'t'.repeat(300)}/x`, content: SECRET };
    assert.throws(() => writeFileSet(outDir, [...SET_A, newTopLevel]), isOutputError(/ENAMETOOLONG/));
    assert.deepEqual(snapshotTree(outDir), snap);
  });
});

describe('writeFileSet: stale leftovers', () => {
  test('temp links, partial generations and dangling own links of a crashed run are cleaned', async () => {
    const outDir = freshDir();
    writeFileSet(outDir, SET_B);
    const current = writeFileSet(outDir, SET_A);
    const previous = readlinkSync(join(outDir, '..prev'));
    // What a crash can leave: a half-built generation (already 0550, which a non-root owner
    // could not delete from without restoring write permission), temp links, a link made
    // just before a swap that never happened.
    const partial = join(outDir, '..20200101T000000.000Z-0123456789ab');
    await mkdir(join(partial, 'aws'), { recursive: true });
    await writeFile(join(partial, 'aws', 'credentials'), SECRET.slice(0, 7));
    await chmod(join(partial, 'aws'), 0o550);
    await chmod(partial, 0o550);
    await symlink(current.generation, join(outDir, '..tmp-data-0123456789ab'));
    await symlink('..data/s3cmd', join(outDir, 's3cmd'));
    await writeFile(join(outDir, 'README'), 'left alone');

    const again = writeFileSet(outDir, SET_A);
    assert.equal(again.changed, false, 'leftovers alone do not make a new generation');
    assert.deepEqual(hiddenEntries(outDir), ['..data', '..prev', current.generation, previous].sort());
    assert.throws(() => lstatSync(join(outDir, 's3cmd')), /ENOENT/, 'the dangling link is removed');
    assert.equal(readFileSync(join(outDir, 'README'), 'utf8'), 'left alone');
  });

  test('leftovers are also cleaned when the next write changes content', async () => {
    const outDir = freshDir();
    writeFileSet(outDir, SET_A);
    await mkdir(join(outDir, '..20200101T000000.000Z-ffffffffffff'));
    await symlink('nowhere', join(outDir, '..tmp-prev-ffffffffffff'));
    const next = writeFileSet(outDir, SET_B);
    assert.equal(next.changed, true);
    assert.equal(generations(outDir).length, 2);
    assert.ok(!hiddenEntries(outDir).some((name) => name.includes('ffffffffffff')));
  });
});

describe('writeFileSet: memory-backed output dir', () => {
  const TMPFS_MAGIC = 0x01021994;
  const isTmpfs = (path: string): boolean => existsSync(path) && statfsSync(path).type === TMPFS_MAGIC;
  const skip = !isTmpfs('/dev/shm') || isTmpfs(tmpdir()) ? 'needs /dev/shm on tmpfs and tmpdir() on a disk' : false;

  // fsync is skipped on tmpfs; nothing else may differ from what a disk-backed dir gets.
  test('renders, a failed render and cleanup leave the same tree on tmpfs as on a disk', { skip }, async () => {
    const shm = await mkdtemp('/dev/shm/atomic-writer-');
    try {
      const onDisk = renderSequence(freshDir());
      const inMemory = renderSequence(join(shm, 'out'));
      assert.deepEqual(inMemory, onDisk);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});

/**
 * Writes A, B, a render that fails half-way, then A again, checking what a reader sees on the
 * way. Returns the final tree with generation names replaced by their order of creation.
 */
function renderSequence(outDir: string): Record<string, string> {
  const noGrace = { retiredGraceMs: 0 };
  const generations: string[] = [];
  for (const files of [SET_A, SET_B]) generations.push(writeFileSet(outDir, files, noGrace).generation);
  const before = snapshotTree(outDir);
  const tooLong = { path: `zz/${'n'.repeat(300)}`, content: SECRET };
  assert.throws(() => writeFileSet(outDir, [...SET_A, tooLong], noGrace), isOutputError(/ENAMETOOLONG/));
  assert.deepEqual(snapshotTree(outDir), before, 'a failed render leaves the previous files as they were');
  generations.push(writeFileSet(outDir, SET_A, noGrace).generation);
  assert.deepEqual(readVisible(outDir, SET_A), new Map(SET_A.map((f) => [f.path, f.content])));
  const numbered = generations.reduce((text, name, i) => text.replaceAll(name, `..generation-${i}`), JSON.stringify(snapshotTree(outDir)));
  return JSON.parse(numbered) as Record<string, string>;
}
