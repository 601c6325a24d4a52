/**
 * An example's pod, run on this machine. The real `bucket-agent inject` decides the agent
 * container(s) for a manifest under examples/; their own args, re-pointed at local paths and ports,
 * run as local processes against the test apiserver, and the app container's command runs with the
 * agent's mount path mapped to the local output directory. A journey test so proves the manifest a
 * user copies, not a hand-written twin of it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { freePort } from '../env/process.js';
import { REPO_ROOT } from '../env/tools.js';
import { runCli, startCli, type Run, type Running } from '../e2e/cli-runs.js';

export const EXAMPLES = join(REPO_ROOT, 'examples');
/** Where the injected agent writes, inside its own container. */
const AGENT_OUT = '/var/run/bucket-agent/out';
const AGENT_VOLUME = 'bucket-agent';

export interface Manifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  return (loadAll(text) as (Manifest | null)[]).filter((doc): doc is Manifest => doc !== null);
}

/** examples/<journey>/<file>, as documents. */
export function readExample(journey: string, file: string): Manifest[] {
  return parseManifests(readFileSync(join(EXAMPLES, journey, file), 'utf8'));
}

/** The documents of an example file after the real `bucket-agent inject -f` (exit 0 asserted). */
export async function injectExample(journey: string, file: string, flags: readonly string[] = []): Promise<Manifest[]> {
  const run: Run = await runCli(['inject', '--log-level', 'error', '-f', join(EXAMPLES, journey, file), ...flags]);
  assert.equal(run.code, 0, `inject examples/${journey}/${file}: ${run.stderr}`);
  return parseManifests(run.stdout);
}

/** The one document of `kind` (and `name`, when given). */
export function findManifest(docs: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((doc) => doc.kind === kind && (name === undefined || doc.metadata?.name === name));
  assert.equal(found.length, 1, `expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0] as Manifest;
}

/** The pod spec of a Pod, a CronJob, or any workload with spec.template. */
export function podSpecOf(doc: Manifest): V1PodSpec {
  const spec = doc.spec as { template?: { spec?: V1PodSpec }; jobTemplate?: { spec?: { template?: { spec?: V1PodSpec } } } } | undefined;
  const pod = doc.kind === 'Pod' ? (doc.spec as V1PodSpec | undefined) : (spec?.jobTemplate?.spec?.template?.spec ?? spec?.template?.spec);
  assert.ok(pod !== undefined, `${doc.kind} ${doc.metadata?.name}: no pod spec`);
  return pod;
}

export function containerOf(pod: V1PodSpec, name: string): V1Container {
  const found = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === name);
  assert.ok(found !== undefined, `no container ${name} in the pod`);
  return found;
}

/** The agent containers inject added: the init container, the sidecar (native or classic), or both. */
export function agentContainers(pod: V1PodSpec): V1Container[] {
  const agents = [...(pod.initContainers ?? []), ...pod.containers].filter((c) => c.name.startsWith('bucket-agent'));
  assert.ok(agents.length > 0, 'inject added no agent container');
  return agents;
}

/** This machine's stand-ins for what the kubelet gives the pod. */
export interface LocalPod {
  /** The shared in-memory volume. */
  readonly out: string;
  /** The pod's ServiceAccount token, as a kubeconfig (test env serviceAccountKubeconfig). */
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly name: string;
  /** Container port -> local port, for the agent's listeners (health, credentials endpoint). */
  readonly ports: ReadonlyMap<number, number>;
}

/** A LocalPod whose agent ports are free ports of this machine. */
export async function localPod(fields: Omit<LocalPod, 'ports'>, agentPorts: readonly number[] = [9910, 9911]): Promise<LocalPod> {
  const ports = new Map<number, number>();
  for (const port of agentPorts) ports.set(port, await freePort());
  return { ...fields, ports };
}

/** A container's text with the pod's paths and ports replaced by the local ones. */
function localize(text: string, mountPath: string | undefined, local: LocalPod): string {
  let out = mapPaths(
    text,
    [AGENT_OUT, mountPath].flatMap((path) => (path === undefined ? [] : [[path, local.out] as const])),
  );
  for (const [from, to] of local.ports) {
    // `:9910` (a listen flag: every interface) or a loopback address with the port.
    out = out.replace(new RegExp(`^:${from}$|(127\\.0\\.0\\.1|localhost):${from}(?!\\d)`, 'g'), `127.0.0.1:${to}`);
  }
  return out;
}

/**
 * `text` with each container path replaced by its local directory where it stands as a path of its
 * own, not as the tail of a longer one: `"remote:$BUCKET/data"` keeps its `/data` when `/data` is
 * mapped, `file:///data/x` and `>/data/x` do not.
 */
function mapPaths(text: string, mounts: readonly (readonly [string, string])[]): string {
  let out = text;
  for (const [path, dir] of mounts) out = out.replace(new RegExp(`(?<![\\w.~$}-])${escape(path)}(?=$|[/\\s'";:])`, 'g'), dir);
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Flags whose value only makes sense inside the pod: the volume source's mounts, the kubelet's uid. */
const POD_ONLY_FLAGS = new Set(['--secrets-dir', '--uid', '--gid']);

/**
 * The agent container's args as a local command line: paths and ports localized, the Secret source
 * the apiserver (volume mounts do not exist here), and the pod's ServiceAccount as --kubeconfig
 * (or, when the pod gives one, a `kubeconfig-secret` mount, local.kubeconfig standing for it).
 */
export function localAgentArgs(agent: V1Container, local: LocalPod): string[] {
  const args = [...(agent.command?.slice(1) ?? []), ...(agent.args ?? [])];
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (POD_ONLY_FLAGS.has(arg)) i++;
    else if (arg === '--source') out.push(arg, (i++, 'api'));
    else if (arg === '--kubeconfig') out.push(arg, (i++, local.kubeconfig));
    else out.push(localize(arg, undefined, local));
  }
  return out.includes('--kubeconfig') ? out : [...out, '--kubeconfig', local.kubeconfig];
}

/** The Downward API env the injected agent reads. */
function agentEnv(local: LocalPod): Record<string, string> {
  return { POD_NAME: local.name, POD_NAMESPACE: local.namespace, POD_UID: `local-${local.name}` };
}

/** Starts an injected agent container (init or sidecar) as a local `bucket-agent` process. */
export function startAgent(agent: V1Container, local: LocalPod): Running {
  return startCli(localAgentArgs(agent, local), agentEnv(local));
}

export interface AppCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Run as this uid/gid (see asContainerUser); unset: as the test's own user. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/**
 * The app container's command, args and literal env, with the agent's mount path mapped locally.
 * `volumes` maps the app's other volumes by name (a PVC, an emptyDir) to local directories: their
 * mount paths in the command and env are replaced the same way.
 */
export function localAppCommand(app: V1Container, local: LocalPod, volumes: Readonly<Record<string, string>> = {}): AppCommand {
  const mountPath = app.volumeMounts?.find((m) => m.name === AGENT_VOLUME)?.mountPath;
  assert.ok(mountPath !== undefined, `container ${app.name} does not mount the agent's volume`);
  const mounts = Object.entries(volumes).map(([volume, dir]): [string, string] => {
    const path = app.volumeMounts?.find((m) => m.name === volume)?.mountPath;
    assert.ok(path !== undefined, `container ${app.name} does not mount volume ${volume}`);
    return [path, dir];
  });
  const map = (text: string): string => mapPaths(localize(text, mountPath, local), mounts);
  const argv = [...(app.command ?? []), ...(app.args ?? [])].map(map);
  assert.ok(argv.length > 0, `container ${app.name} has no command: the test cannot know what its image runs`);
  const env: Record<string, string> = {};
  for (const e of app.env ?? []) if (e.value !== undefined) env[e.name] = map(e.value);
  return { argv, env };
}

/**
 * The command run as the container's `securityContext.runAsUser`/`runAsGroup` (the group defaults
 * to the uid), as the kubelet would; needs root. Where a client's behaviour depends on what it may
 * write (a read-only mount), running it as root here would hide what happens in the pod.
 */
export function asContainerUser(command: AppCommand, app: V1Container): AppCommand {
  const uid = app.securityContext?.runAsUser;
  assert.ok(uid !== undefined && uid !== 0, `container ${app.name}: no non-root runAsUser`);
  assert.equal(process.getuid?.(), 0, 'running an app container as its own uid needs root (CI runs the tests as root)');
  return { ...command, user: { uid, gid: app.securityContext?.runAsGroup ?? uid } };
}

export interface AppRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

export interface RunningApp {
  readonly pid: number;
  readonly done: Promise<AppRun>;
  output(): string;
  stop(): Promise<AppRun>;
}

/** Starts an app command (its argv[0] found on PATH); `extraEnv` adds to PATH/HOME and the command's env. */
export function startApp(command: AppCommand, extraEnv: Record<string, string> = {}): RunningApp {
  const [file, ...args] = command.argv as [string, ...string[]];
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extraEnv, ...command.env };
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(command.user ?? {}) });
  let output = '';
  const append = (chunk: Buffer): void => void (output += chunk.toString('utf8'));
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const done = new Promise<AppRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })));
  let exited = false;
  void done.then(() => (exited = true));
  return {
    pid: child.pid ?? -1,
    done,
    output: () => output,
    stop: () => {
      if (!exited) child.kill('SIGTERM');
      return done;
    },
  };
}

/** Runs an app command to its end, stopped (SIGTERM) after `timeoutMs`; any exit code. */
export async function runAppToEnd(command: AppCommand, extraEnv: Record<string, string> = {}, timeoutMs = 120_000): Promise<AppRun> {
  const app = startApp(command, extraEnv);
  const timer = setTimeout(() => void app.stop(), timeoutMs);
  const run = await app.done;
  clearTimeout(timer);
  return run;
}

/** Runs an app command to its end (a Job's container): asserts exit 0 within `timeoutMs`. */
export async function runApp(command: AppCommand, extraEnv: Record<string, string> = {}, timeoutMs = 120_000): Promise<AppRun> {
  const run = await runAppToEnd(command, extraEnv, timeoutMs);
  assert.equal(run.code, 0, `${command.argv.join(' ')} exited ${run.code ?? run.signal}:\n${run.output}`);
  return run;
}
