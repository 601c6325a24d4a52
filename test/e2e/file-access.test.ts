/**
 * DESIGN.md "Injection contract", last paragraph: the rendered files must be readable by app
 * containers that run as another uid than the agent; the agent writes them with the pod's fsGroup
 * as group when the pod has one, else with mode 0444; a test runs the app container as a
 * different uid and reads them. This is that test.
 *
 * No kubelet here, so the containers are real processes with real uids (the test runs as root and
 * drops to them with util-linux's `setpriv`). Everything the kubelet would take from the pod comes
 * from the REAL mutation: `bucket-agent inject` (the bundle) on a Pod with and without
 * `securityContext.fsGroup`; the agent container's args are run as they are, with the pod paths of
 * its volumes mapped to directories here (its emptyDir and its Secret volumes), as the uid/gid of
 * its securityContext; the app's uid is its container's `runAsUser`. What the kubelet adds is
 * modelled as it does it: with an fsGroup, every container gets it as a supplementary group, and
 * the emptyDir is created 0777 and then given to the fsGroup with the setgid bit (0777 | 02000,
 * SetVolumeOwnership); without, a 0777 root-owned directory. A plain 0777 directory with fsGroup
 * too, to show that the group of the files is the agent's doing (`--gid`), not the setgid bit's.
 *
 * Both agents that write the files: `init` (classic mode) and `sidecar` (native mode; it is ready,
 * as its startupProbe asks, once the files exist). The app then lists and reads every file through
 * every path (`find -L`: the visible links, `..data`, the generation directory): all of them as the
 * app's uid with the fsGroup, none of them without the group (the mode and group are what let it
 * in), and all of them without fsGroup (mode 0444) with no group at all.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  cpSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { freePort, waitUntil } from '../env/process.js';
import { REPO_ROOT } from '../env/tools.js';

const BUNDLE_DIR = join(REPO_ROOT, 'dist/bundle');
const FS_GROUP = 2345;
const APP_UID = 1000;

let base: string;
/** node and the bundle, where the agent's uid can run them (a copy when the originals sit under a private dir such as /root). */
let node: string;
let bundle: string;

interface Identity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/** setpriv's args to run as `who`: no capabilities are left once every uid is non-zero. */
function setprivArgs(who: Identity): string[] {
  const groups = who.groups.length === 0 ? ['--clear-groups'] : ['--groups', who.groups.join(',')];
  return ['--reuid', String(who.uid), '--regid', String(who.gid), ...groups, '--'];
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runAs(who: Identity, command: string, args: readonly string[]): Run {
  const r = spawnSync('setpriv', [...setprivArgs(who), command, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: '/usr/bin:/bin' },
  });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function requireSetpriv(): void {
  const r = spawnSync('setpriv', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0)
    throw new Error('setpriv (util-linux) is not installed; it runs the containers as their uids: apt-get install -y util-linux');
  if (process.getuid?.() !== 0) throw new Error('this test runs processes as other uids and needs root (CI runs it as root)');
}

/** `path` itself if `who` can run it, else a link (same filesystem) or copy under `base`, 0755. */
function runnable(who: Identity, path: string, name: string): string {
  if (runAs(who, 'test', ['-x', path]).code === 0) return path;
  const staged = join(base, name);
  try {
    linkSync(path, staged);
  } catch {
    cpSync(path, staged);
  }
  return staged;
}

/** The bundle's `inject` on `pod` (JSON in, JSON out). */
function inject(pod: object, flags: string[]): V1Pod {
  const r = spawnSync(process.execPath, [join(BUNDLE_DIR, 'bucket-agent.js'), 'inject', '--log-level', 'error', ...flags], {
    input: JSON.stringify(pod),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as V1Pod;
}

/** A Pod asking for bucket `data` from Secret volumes (no apiserver here), no S3 check, its app as APP_UID. */
function podManifest(fsGroup: number | undefined): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'reader',
      labels: { 'bucket-agent.io/inject': 'true' },
      annotations: { 'bucket-agent.io/buckets': 'data', 'bucket-agent.io/source': 'volume', 'bucket-agent.io/verify': 'false' },
    },
    spec: {
      ...(fsGroup === undefined ? {} : { securityContext: { fsGroup } }),
      containers: [{ name: 'app', image: 'registry.invalid/app:1', securityContext: { runAsUser: APP_UID, runAsGroup: APP_UID } }],
    },
  };
}

/**
 * The agent's args for its container's filesystem laid out under `rootfs` (every absolute path:
 * `--out`, `--secrets-dir`), and its listener on loopback.
 */
function mapArgs(agent: V1Container, rootfs: string, listen: string): string[] {
  const args = agent.args ?? [];
  for (const flag of ['--out', '--secrets-dir']) assert.ok(args.includes(flag), `${agent.name}: no ${flag} in ${args.join(' ')}`);
  return args.map((arg, i) => (args[i - 1] === '--listen' ? listen : arg.startsWith('/') ? join(rootfs, arg) : arg));
}

/** The Secrets that exist: the bucket's flat Cozystack Secret (an `optional` Secret volume of another name stays empty). */
const SECRETS: Record<string, Record<string, string>> = {
  'bucket-data-credentials': {
    accessKey: 'AKIAFILEACCESS0001',
    secretKey: 'file-access-secret-key-0001',
    endpoint: 's3.example.org:8443',
    bucketName: 'data-0001',
  },
};

/**
 * The agent container's filesystem as the kubelet would mount it, under a fresh `rootfs`: its
 * emptyDir and its Secret volumes at their mount paths. Returns the rootfs and the emptyDir.
 */
function volumes(pod: V1Pod, agent: V1Container, volumeKind: VolumeKind): { rootfs: string; out: string } {
  const rootfs = mkdtempSync(join(base, 'rootfs-'));
  chmodSync(rootfs, 0o755);
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  let out = '';
  for (const mount of agent.volumeMounts ?? []) {
    const here = join(rootfs, mount.mountPath);
    mkdirSync(dirname(here), { recursive: true, mode: 0o755 });
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    if (volume?.emptyDir !== undefined) {
      assert.equal(volume.emptyDir.medium, 'Memory');
      emptyDir(here, volumeKind === 'kubelet' ? fsGroup : undefined);
      out = here;
    } else if (volume?.secret !== undefined) {
      assert.equal(volume.secret.optional, true, `${mount.name} is optional`);
      secretVolume(here, SECRETS[volume.secret.secretName ?? ''] ?? {}, fsGroup);
    } else assert.fail(`unexpected volume ${JSON.stringify(volume)} for source volume`);
  }
  assert.ok(out !== '', 'the agent mounts its emptyDir');
  return { rootfs, out };
}

/** kubelet's emptyDir: 0777; with an fsGroup, SetVolumeOwnership gives it the group and the setgid bit. */
function emptyDir(path: string, fsGroup: number | undefined): void {
  mkdirSync(path);
  chmodSync(path, 0o777);
  if (fsGroup === undefined) return;
  chownSync(path, 0, fsGroup);
  chmodSync(path, 0o2777);
}

/** A Secret volume: one file per key, 0644 (the kubelet's defaultMode), the fsGroup's when there is one. */
function secretVolume(path: string, data: Record<string, string>, fsGroup: number | undefined): void {
  mkdirSync(path, { mode: 0o755 });
  for (const [key, value] of Object.entries(data)) {
    const file = join(path, key);
    writeFileSync(file, value);
    chmodSync(file, 0o644);
    if (fsGroup !== undefined) chownSync(file, 0, fsGroup);
  }
}

function identityOf(c: V1Container | undefined, pod: V1Pod): Identity {
  const uid = c?.securityContext?.runAsUser;
  assert.ok(uid !== undefined && uid !== 0, `${c?.name}: a non-root runAsUser`);
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  return { uid, gid: c?.securityContext?.runAsGroup ?? uid, groups: fsGroup === undefined ? [] : [fsGroup] };
}

/** Runs the agent as its uid until its files are there: init to its exit, the sidecar until /readyz (its startupProbe) says so. */
async function runAgent(agent: V1Container, who: Identity, args: string[], listen: string): Promise<() => Promise<void>> {
  if (args[0] === 'init') {
    const r = runAs(who, node, [bundle, ...args]);
    assert.equal(r.code, 0, `init as ${who.uid}: ${r.stderr}`);
    return () => Promise.resolve();
  }
  const child = spawn('setpriv', [...setprivArgs(who), node, bundle, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: '/usr/bin:/bin' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const probe = agent.startupProbe?.httpGet?.path ?? '';
    assert.equal(probe, '/readyz');
    await waitUntil(
      async () => (await fetch(`http://${listen}${probe}`)).ok,
      20_000,
      () => `${agent.name} never ready:\n${stderr}`,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}

interface Entry {
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** Every directory and file of the generations, by lstat (root's view). */
function tree(dir: string): Entry[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return [];
    const entry = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    return st.isDirectory() ? [entry, ...tree(path)] : [entry];
  });
}

/** What `who` finds under `out` following links (sorted), or the error. */
function findAs(who: Identity, out: string): Run {
  return runAs(who, 'find', ['-L', out, '-type', 'f']);
}

const sorted = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .sort();

type VolumeKind = 'kubelet' | 'plain';

interface Case {
  readonly fsGroup: number | undefined;
  readonly native: boolean;
  readonly volume: VolumeKind;
}

const CASES: Case[] = [
  ...[false, true].flatMap((native) => [
    { fsGroup: FS_GROUP, native, volume: 'kubelet' as const },
    { fsGroup: FS_GROUP, native, volume: 'plain' as const },
    { fsGroup: undefined, native, volume: 'kubelet' as const },
  ]),
];

before(() => {
  requireSetpriv();
  base = mkdtempSync(join(tmpdir(), 'bucket-agent-file-access-'));
  chmodSync(base, 0o755);
  const nobody: Identity = { uid: 65532, gid: 65532, groups: [] };
  node = runnable(nobody, process.execPath, 'node');
  const bundleHere = join(BUNDLE_DIR, 'bucket-agent.js');
  if (runAs(nobody, 'test', ['-r', bundleHere]).code === 0) bundle = bundleHere;
  else {
    cpSync(BUNDLE_DIR, join(base, 'bundle'), { recursive: true });
    bundle = join(base, 'bundle', 'bucket-agent.js');
  }
  accessSync(bundle, constants.R_OK);
});

after(() => {
  if (base !== undefined) rmSync(base, { recursive: true, force: true });
});

describe('rendered files and an app container of another uid (real processes, real uids)', () => {
  for (const c of CASES) {
    const command = c.native ? 'sidecar (native)' : 'init (classic)';
    const pod =
      c.fsGroup === undefined
        ? 'a pod without fsGroup'
        : `fsGroup ${c.fsGroup}, ${c.volume === 'kubelet' ? "the kubelet's setgid emptyDir" : 'a plain 0777 dir'}`;
    it(`${pod}, written by ${command}: ${c.fsGroup === undefined ? 'mode 0444, the app reads every file' : 'group and 0440: the app reads every file with the group, none without'}`, async () => {
      const mutated = inject(podManifest(c.fsGroup), c.native ? [] : ['--no-native-sidecars']);
      const containers = [...(mutated.spec?.initContainers ?? []), ...(mutated.spec?.containers ?? [])];
      const agent = containers.find((x) => x.args?.[0] === (c.native ? 'sidecar' : 'init'));
      assert.ok(agent !== undefined, `no agent container running ${command}`);
      const args = agent.args ?? [];
      const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
      // The contract, as the mutation states it in the args.
      assert.deepEqual(
        { fileMode: flag('--file-mode'), gid: flag('--gid'), uid: flag('--uid') },
        c.fsGroup === undefined
          ? { fileMode: '0444', gid: undefined, uid: undefined }
          : { fileMode: '0440', gid: String(c.fsGroup), uid: undefined },
        args.join(' '),
      );
      const agentId = identityOf(agent, mutated);
      assert.deepEqual([agentId.uid, agentId.gid], [65532, 65532], 'the agent runs as the image user');
      const appId = identityOf(
        mutated.spec?.containers.find((x) => x.name === 'app'),
        mutated,
      );
      assert.notEqual(appId.uid, agentId.uid);

      const { rootfs, out } = volumes(mutated, agent, c.volume);
      const listen = `127.0.0.1:${await freePort()}`;
      const stop = await runAgent(agent, agentId, mapArgs(agent, rootfs, listen), listen);
      try {
        assertWritten(out, c, agentId);
        assertAppAccess(out, c, appId);
      } finally {
        await stop();
      }
    });
  }
});

/** The files and directories as the agent left them: its uid, the fsGroup (or its own gid), the mode the args asked for. */
function assertWritten(out: string, c: Case, agent: Identity): void {
  const data = readlinkSync(join(out, '..data'));
  assert.match(data, /^\.\.[^/]+$/, '..data points at a generation dir beside it');
  const entries = tree(out);
  const files = entries.filter((e) => !isDir(e.path));
  assert.ok(files.length >= 8, `rendered files: ${files.map((e) => e.path).join(', ')}`);
  const gid = c.fsGroup ?? agent.gid;
  const fileMode = c.fsGroup === undefined ? 0o444 : 0o440;
  const dirMode = c.fsGroup === undefined ? 0o555 : 0o550;
  for (const e of entries) {
    const want = { mode: isDir(e.path) ? dirMode : fileMode, uid: agent.uid, gid };
    assert.deepEqual({ mode: e.mode & 0o777, uid: e.uid, gid: e.gid }, want, `${e.path.slice(out.length)}: mode ${e.mode.toString(8)}`);
  }
}

const isDir = (path: string): boolean => lstatSync(path).isDirectory();

/** The app lists every file through every path (`..data`, the generation, the visible links) and reads each; or cannot, without the group. */
function assertAppAccess(out: string, c: Case, app: Identity): void {
  const expected = sorted(spawnSync('find', ['-L', out, '-type', 'f'], { encoding: 'utf8' }).stdout);
  const data = readlinkSync(join(out, '..data'));
  for (const prefix of ['aws/', '..data/aws/', `${data}/aws/`])
    assert.ok(expected.includes(join(out, prefix, 'credentials')), `${prefix}credentials among ${expected.join(', ')}`);
  const member: Identity = { ...app, groups: c.fsGroup === undefined ? [] : [c.fsGroup] };
  const found = findAs(member, out);
  assert.deepEqual(
    [found.code, found.stderr, sorted(found.stdout)],
    [0, '', expected],
    `find -L as uid ${app.uid} groups ${member.groups.join(',')}`,
  );
  for (const file of expected) {
    const r = runAs(member, 'cat', [file]);
    assert.deepEqual([r.code, r.stderr], [0, ''], `uid ${app.uid} reads ${file}`);
    assert.equal(r.stdout, readFileSync(file, 'utf8'), file);
  }
  if (c.fsGroup === undefined) return;
  const stranger: Identity = { ...app, groups: [] };
  for (const file of expected) {
    const r = runAs(stranger, 'cat', [file]);
    assert.notEqual(r.code, 0, `uid ${app.uid} without group ${c.fsGroup} read ${file}`);
    assert.match(r.stderr, /Permission denied/, file);
  }
}
