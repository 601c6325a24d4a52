import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KubeAccessError } from '../../src/errors.js';
import { loadKubeConfig, type KubeSource, type LoadedKubeConfig } from '../../src/kube/kubeconfig.js';
import { REPO_ROOT } from '../env/tools.js';

/** Real PEM (test/fixtures/tls): kubeconfig material must parse, as kubectl requires. */
const pem = (name: string): string => readFileSync(join(REPO_ROOT, 'test/fixtures/tls', name), 'utf8');
const CA_PEM = pem('a.crt');
const CERT_PEM = pem('b.crt');
const KEY_PEM = pem('b.key');
const OTHER_CERT_PEM = pem('a.crt');
const OTHER_KEY_PEM = pem('a.key');

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
  dirs.push(dir);
  return dir;
}

/** Writes each file (parent directories too) under a new temp dir; returns the dir. */
async function fixture(files: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

interface Parts {
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
  current?: string | null;
}

/** A one-context kubeconfig as JSON (which is YAML); `current: null` leaves current-context out. */
function kubeconfig(parts: Parts = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: parts.cluster ?? { server: 'https://mgmt.example:6443' } }],
    users: [{ name: 'u', user: parts.user ?? { token: 'static-token' } }],
    contexts: [{ name: 'ctx', context: parts.context ?? { cluster: 'c', user: 'u', namespace: 'tenant-a' } }],
    ...(parts.current === null ? {} : { 'current-context': parts.current ?? 'ctx' }),
  });
}

const b64 = (plain: string): string => Buffer.from(plain).toString('base64');
/** TLS material as node got it: a Buffer (or a string, from client-node's exec credentials). */
const text = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value));

async function applied(loaded: LoadedKubeConfig): Promise<https.RequestOptions> {
  const options: https.RequestOptions = { headers: { Accept: 'application/json' } };
  await loaded.auth.apply(options);
  return options;
}

function authorization(options: https.RequestOptions): unknown {
  return (options.headers as Record<string, unknown>).Authorization;
}

async function loadFile(text: string, namespaceFlag?: string): Promise<LoadedKubeConfig> {
  const dir = await fixture({ config: text });
  return loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'config') }, namespaceFlag);
}

function rejectsWith(pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => err instanceof KubeAccessError && pattern.test(err.message);
}

describe('kubeconfig file: what a request gets', () => {
  it('inline data: CA, client certificate and key, TLS server name; headers kept', async () => {
    const loaded = await loadFile(
      kubeconfig({
        cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64(CA_PEM), 'tls-server-name': 'kubernetes' },
        user: { 'client-certificate-data': b64(CERT_PEM), 'client-key-data': b64(KEY_PEM) },
      }),
    );
    assert.equal(loaded.server, 'https://10.0.0.1:6443');
    assert.match(loaded.description, /^kubeconfig \/.*\/config \(context ctx\)$/);
    const options = await applied(loaded);
    assert.deepEqual([text(options.ca), text(options.cert), text(options.key)], [CA_PEM, CERT_PEM, KEY_PEM]);
    assert.equal(options.servername, 'kubernetes');
    assert.equal(options.rejectUnauthorized, true);
    assert.deepEqual(options.headers, { Accept: 'application/json' }, 'no Authorization without a token or password');
  });

  it('file paths relative to the kubeconfig directory, not the working directory', async () => {
    const dir = await fixture({ 'pki/ca.crt': CA_PEM, 'pki/client.crt': CERT_PEM, 'client.key': KEY_PEM, 'kube/.keep': '' });
    // An absolute path stays as it is.
    await writeFile(
      join(dir, 'kube/config'),
      kubeconfig({
        cluster: { server: 'https://mgmt.example:6443', 'certificate-authority': '../pki/ca.crt' },
        user: { 'client-certificate': '../pki/client.crt', 'client-key': join(dir, 'client.key') },
      }),
    );
    const options = await applied(await loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'kube/config') }, undefined));
    assert.deepEqual([text(options.ca), text(options.cert), text(options.key)], [CA_PEM, CERT_PEM, KEY_PEM]);
  });

  it('tokenFile over token, files read again on every request (rotation)', async () => {
    const dir = await fixture({ token: 'first-token\n', 'client.crt': CERT_PEM, 'client.key': KEY_PEM });
    await writeFile(
      join(dir, 'config'),
      kubeconfig({
        cluster: { server: 'https://mgmt.example:6443', 'certificate-authority-data': b64(CA_PEM) },
        user: { tokenFile: 'token', token: 'static-token', 'client-certificate': 'client.crt', 'client-key': 'client.key' },
      }),
    );
    const loaded = await loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'config') }, undefined);
    const first = await applied(loaded);
    assert.equal(text(first.ca), CA_PEM);
    assert.equal(authorization(first), 'Bearer first-token');
    await writeFile(join(dir, 'token'), 'rotated-token');
    await writeFile(join(dir, 'client.crt'), OTHER_CERT_PEM);
    await writeFile(join(dir, 'client.key'), OTHER_KEY_PEM);
    const second = await applied(loaded);
    assert.equal(authorization(second), 'Bearer rotated-token');
    assert.equal(text(second.cert), OTHER_CERT_PEM);
  });

  it('a static token; basic auth; a token wins over basic; as impersonates; insecure-skip-tls-verify', async () => {
    assert.equal(authorization(await applied(await loadFile(kubeconfig()))), 'Bearer static-token');
    const basic = await applied(await loadFile(kubeconfig({ user: { username: 'admin', password: 'pa:ss' } })));
    assert.equal(authorization(basic), `Basic ${b64('admin:pa:ss')}`);
    const as = await applied(await loadFile(kubeconfig({ user: { token: 't', as: 'jane' } })));
    assert.equal(authorization(as), 'Bearer t');
    assert.equal((as.headers as Record<string, unknown>)['Impersonate-User'], 'jane');
    const insecure = await applied(await loadFile(kubeconfig({ cluster: { server: 'https://x:6443', 'insecure-skip-tls-verify': true } })));
    assert.equal(insecure.rejectUnauthorized, false);
  });

  it('impersonation: as-uid, as-groups and as-user-extra go with as, extra keys escaped as client-go does', async () => {
    const user = {
      token: 't',
      as: 'jane',
      'as-uid': 'uid-1',
      'as-groups': ['devs', 'system:authenticated'],
      'as-user-extra': { reason: ['audit'], 'example.com/team name%': ['a', 'b'], ü: ['x'], empty: null },
    };
    const headers = (await applied(await loadFile(kubeconfig({ user })))).headers as Record<string, unknown>;
    assert.deepEqual(Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('Impersonate-'))), {
      'Impersonate-User': 'jane',
      'Impersonate-Uid': 'uid-1',
      'Impersonate-Group': ['devs', 'system:authenticated'],
      'Impersonate-Extra-reason': ['audit'],
      'Impersonate-Extra-example.com%2Fteam%20name%25': ['a', 'b'],
      'Impersonate-Extra-%C3%BC': ['x'],
    });
  });

  it('impersonation fields of the wrong shape, or without as, are refused naming the field', async () => {
    const refused = async (user: Record<string, unknown>, pattern: RegExp): Promise<void> => {
      await assert.rejects(loadFile(kubeconfig({ user: { token: 't', ...user } })), rejectsWith(pattern));
    };
    await refused({ 'as-groups': ['devs'] }, /user "u" sets as-uid, as-groups or as-user-extra without as/);
    await refused({ as: 'jane', 'as-groups': 'devs' }, /user "u": as-groups must be a list of strings$/);
    await refused(
      { as: 'jane', 'as-user-extra': { reason: 'audit' } },
      /user "u": as-user-extra must be a mapping of names to lists of strings$/,
    );
    await refused({ as: 'jane', 'as-user-extra': ['audit'] }, /as-user-extra must be a mapping/);
  });

  it('namespace: the flag, else the context, else default', async () => {
    assert.equal((await loadFile(kubeconfig())).namespace, 'tenant-a');
    assert.equal((await loadFile(kubeconfig(), 'other')).namespace, 'other');
    assert.equal((await loadFile(kubeconfig({ context: { cluster: 'c', user: 'u', namespace: ' ' } }))).namespace, 'default');
  });

  for (const key of ['kubeconfig', 'value', 'config']) {
    it(`a mounted Secret directory with key "${key}"`, async () => {
      const dir = await fixture({ [key]: kubeconfig(), '..2025_01_01/x': '' });
      const loaded = await loadKubeConfig({ kind: 'kubeconfig', path: dir }, undefined);
      assert.equal(loaded.server, 'https://mgmt.example:6443');
      assert.match(loaded.description, new RegExp(`${key} \\(context ctx\\)$`));
    });
  }
});

describe('kubeconfig file: errors name what is wrong, never a credential', () => {
  const broken: [string, string, RegExp][] = [
    ['no current-context', kubeconfig({ current: null }), /: no current-context is set$/],
    ['an unknown current-context', kubeconfig({ current: 'nope' }), /: current-context "nope" is not among its contexts$/],
    [
      'an unknown cluster',
      kubeconfig({ context: { cluster: 'gone', user: 'u' } }),
      /context "ctx" names cluster "gone", which no kubeconfig file defines$/,
    ],
    [
      'an unknown user',
      kubeconfig({ context: { cluster: 'c', user: 'gone' } }),
      /context "ctx" names user "gone", which no kubeconfig file defines$/,
    ],
    ['a context without a user', kubeconfig({ context: { cluster: 'c' } }), /context "ctx" names no user$/],
    ['a cluster without a server', kubeconfig({ cluster: { 'insecure-skip-tls-verify': true } }), /cluster "c" has no server$/],
    ['a token that is not a string', kubeconfig({ user: { token: 12345 } }), /user "u": token must be a string$/],
    ['not a mapping', '- just\n- a list\n', /not a kubeconfig/],
  ];
  for (const [what, text, message] of broken) {
    it(what, async () => assert.rejects(loadFile(text), rejectsWith(message)));
  }

  it('an unreadable referenced file fails at load, naming the file and the errno code', async () => {
    const dir = await fixture({ config: kubeconfig({ user: { 'client-certificate': 'certs/missing.crt', 'client-key-data': b64('k') } }) });
    await assert.rejects(
      loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'config') }, undefined),
      rejectsWith(new RegExp(`^cannot read the client certificate ${join(dir, 'certs/missing.crt')} \\(ENOENT\\)$`)),
    );
  });

  const SECRET = 's3cr3t-token-value';
  const malformed: [string, string][] = [
    ['an unclosed flow collection', `users: [\n  token: ${SECRET}`],
    ['bad indentation', `users:\n- name: u\n  user:\n    token: ${SECRET}\n   bad: indent\n`],
    ['an unknown tag', `users:\n- name: u\n  user: { token: !<${SECRET}> x }\n`],
    ['an undefined alias', `users:\n- name: u\n  user: { token: *${SECRET} }\n`],
  ];
  for (const [what, text] of malformed) {
    it(`malformed YAML (${what}): file and line, never the line's content`, async () => {
      await assert.rejects(loadFile(text), (err: unknown) => {
        assert.ok(err instanceof KubeAccessError);
        assert.match(err.message, /config: not valid YAML at line \d+ \([a-z ]+\)$/);
        assert.ok(!JSON.stringify({ message: err.message, stack: err.stack, cause: err.cause }).includes(SECRET), err.message);
        return true;
      });
    });
  }

  it('a directory without a kubeconfig key; a missing path', async () => {
    const dir = await fixture({ token: 'x' });
    await assert.rejects(
      loadKubeConfig({ kind: 'kubeconfig', path: dir }, undefined),
      /is a directory without a kubeconfig key \(kubeconfig, value, config\): it holds token/,
    );
    await assert.rejects(loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'nope') }, undefined), rejectsWith(/ENOENT/));
  });
});

describe('default lookup: KUBECONFIG merged as kubectl merges it', () => {
  it('the first file to define a name wins, and the first current-context; missing files are skipped', async () => {
    const first = JSON.stringify({
      clusters: [{ name: 'shared', cluster: { server: 'https://first:6443' } }],
      users: [{ name: 'shared', user: { token: 'first-token' } }],
    });
    const second = JSON.stringify({
      clusters: [
        { name: 'shared', cluster: { server: 'https://second:6443' } },
        { name: 'only-second', cluster: { server: 'https://only:6443' } },
      ],
      users: [{ name: 'shared', user: { token: 'second-token' } }],
      contexts: [{ name: 'work', context: { cluster: 'shared', user: 'shared', namespace: 'from-second' } }],
      'current-context': 'work',
    });
    const third = JSON.stringify({
      contexts: [{ name: 'work', context: { cluster: 'only-second', user: 'shared' } }],
      'current-context': 'other',
    });
    const dir = await fixture({ a: first, b: second, c: third });
    const paths = [join(dir, 'a'), join(dir, 'missing'), join(dir, 'b'), join(dir, 'c')];
    const loaded = await loadKubeConfig({ kind: 'default', paths }, undefined);
    assert.equal(loaded.server, 'https://first:6443');
    assert.equal(loaded.namespace, 'from-second');
    assert.equal(authorization(await applied(loaded)), 'Bearer first-token');
    assert.equal(loaded.description, `default kubeconfig ${join(dir, 'a')}:${join(dir, 'b')}:${join(dir, 'c')} (context work)`);
  });

  it('nothing found: the same hint as before', async () => {
    const dir = await tempDir();
    for (const paths of [[], [join(dir, 'missing')]]) {
      await assert.rejects(
        loadKubeConfig({ kind: 'default', paths }, undefined),
        rejectsWith(/^no Kubernetes credentials: not in a pod, no KUBECONFIG, no ~\/\.kube\/config; pass --kubeconfig$/),
      );
    }
  });
});

describe('in-cluster service account', () => {
  const source = (host: string): KubeSource => ({ kind: 'in-cluster', host, port: '443' });

  it('server from host and port (IPv6 in brackets), CA and token from the mount, token re-read', async () => {
    const dir = await fixture({ 'ca.crt': 'CLUSTER CA', token: 'sa-token-1', namespace: 'tenant-a\n' });
    const loaded = await loadKubeConfig(source('fd00:10:96::1'), undefined, { serviceAccountDir: dir });
    assert.equal(loaded.server, 'https://[fd00:10:96::1]:443');
    assert.equal(loaded.namespace, 'tenant-a');
    assert.equal(loaded.description, 'in-cluster service account');
    const options = await applied(loaded);
    assert.equal(text(options.ca), 'CLUSTER CA');
    assert.equal(authorization(options), 'Bearer sa-token-1');
    await writeFile(join(dir, 'token'), 'sa-token-2');
    assert.equal(authorization(await applied(loaded)), 'Bearer sa-token-2');
    assert.equal((await loadKubeConfig(source('10.96.0.1'), 'flag-ns', { serviceAccountDir: dir })).server, 'https://10.96.0.1:443');
    assert.equal((await loadKubeConfig(source('10.96.0.1'), 'flag-ns', { serviceAccountDir: dir })).namespace, 'flag-ns');
  });

  it('no namespace file: default; no token: an error naming the file; no port: an error', async () => {
    const dir = await fixture({ 'ca.crt': 'CA', token: 't' });
    assert.equal((await loadKubeConfig(source('10.96.0.1'), undefined, { serviceAccountDir: dir })).namespace, 'default');
    await rm(join(dir, 'token'));
    await assert.rejects(
      loadKubeConfig(source('10.96.0.1'), undefined, { serviceAccountDir: dir }),
      rejectsWith(/^cannot read the service-account token .*\/token \(ENOENT\)$/),
    );
    await assert.rejects(
      loadKubeConfig({ kind: 'in-cluster', host: '10.96.0.1', port: '' }, undefined, { serviceAccountDir: dir }),
      rejectsWith(/KUBERNETES_SERVICE_PORT is not/),
    );
  });
});

describe('exec plugin users: client-node runs the plugin', () => {
  it('runs the command and sends the token of the ExecCredential it prints', async () => {
    const dir = await tempDir();
    const plugin = join(dir, 'credential-plugin.sh');
    // The plugin reads its argument and an env var, as real ones (aws eks get-token ...) do.
    await writeFile(
      plugin,
      [
        '#!/bin/sh',
        'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s"}}\' "$1" "$PLUGIN_SUFFIX"',
        '',
      ].join('\n'),
    );
    await chmod(plugin, 0o755);
    await writeFile(join(dir, 'ca.crt'), CA_PEM);
    const loaded = await loadFile(
      kubeconfig({
        cluster: { server: 'https://eks.example:443', 'certificate-authority': join(dir, 'ca.crt') },
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: plugin,
            args: ['exec-token'],
            env: [{ name: 'PLUGIN_SUFFIX', value: 'xyz' }],
            interactiveMode: 'Never',
          },
          as: 'jane',
          'as-groups': ['devs'],
        },
      }),
    );
    assert.equal(loaded.server, 'https://eks.example:443');
    const options = await applied(loaded);
    assert.equal(authorization(options), 'Bearer exec-token-xyz');
    assert.equal((options.headers as Record<string, unknown>)['Impersonate-User'], 'jane');
    assert.deepEqual((options.headers as Record<string, unknown>)['Impersonate-Group'], ['devs']);
    assert.equal(text(options.ca), CA_PEM);
    assert.equal(options.agent, undefined, "the client's own agent pool serves the request");
  });

  it("runs a command given with a relative path from the kubeconfig's directory, as client-go does", async () => {
    const dir = await fixture({
      'bin/plugin.sh':
        '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"relative-plugin"}}\'\n',
      config: kubeconfig({
        user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './bin/plugin.sh', interactiveMode: 'Never' } },
      }),
    });
    await chmod(join(dir, 'bin/plugin.sh'), 0o755);
    // The working directory holds no ./bin/plugin.sh: only the kubeconfig's directory does.
    assert.notEqual(process.cwd(), dir);
    const loaded = await loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'config') }, undefined);
    assert.equal(authorization(await applied(loaded)), 'Bearer relative-plugin');
  });
});
