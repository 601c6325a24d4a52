/**
 * kubectl parity of the kubeconfig loader, table-driven: what client-go's clientcmd refuses is
 * refused at load naming the file, entry and field (never a credential); scheme-less servers as
 * rest.DefaultServerURL reads them; proxies as clientcmd (proxy-url) and Go's
 * http.ProxyFromEnvironment (HTTPS_PROXY / NO_PROXY) choose them. test/e2e/kubeconfig-kubectl.test.ts
 * checks the same against the real kubectl.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { proxyEnvironmentFrom } from '../../src/config/init.js';
import { KubeAccessError } from '../../src/errors.js';
import { KubeConnectionError, isTransient } from '../../src/kube/errors.js';
import { loadKubeConfig, type LoadedKubeConfig } from '../../src/kube/kubeconfig.js';
import { ProxyConnectError } from '../../src/kube/proxy.js';
import { SECRETS } from '../../src/kube/resources.js';
import { parseEnvProxy, proxyFromEnvironment, type ProxyEnvironment } from '../../src/kube/proxy-env.js';
import { REPO_ROOT } from '../env/tools.js';

const pem = (name: string): string => readFileSync(join(REPO_ROOT, 'test/fixtures/tls', name), 'utf8');
const b64 = (plain: string): string => Buffer.from(plain).toString('base64');
const CA = b64(pem('a.crt'));
const CERT = b64(pem('b.crt'));
const KEY = b64(pem('b.key'));
/** Appears in fields that are refused: no message may quote it. */
const SECRET = 'SeCrEtVaLuE0123456789';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function load(
  cluster: Record<string, unknown>,
  user: Record<string, unknown> = { token: SECRET },
  proxyEnv?: ProxyEnvironment,
): Promise<LoadedKubeConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-parity-'));
  dirs.push(dir);
  await writeFile(join(dir, 'ca.crt'), pem('a.crt'));
  const text = JSON.stringify({
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  });
  await writeFile(join(dir, 'config'), text);
  return loadKubeConfig({ kind: 'kubeconfig', path: join(dir, 'config') }, undefined, { proxyEnv });
}

function refusal(pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof KubeAccessError, String(err));
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes(SECRET) && !err.message.includes(CA.slice(0, 20)), `message quotes a value: ${err.message}`);
    return true;
  };
}

describe('server: as kubectl reads it', () => {
  // kubectl v1.37 sends `GET http://10.0.0.1:6443/api` for `server: 10.0.0.1:6443`, CA or not.
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'host:port gets http://, even with a CA (kubectl decides before it reads TLS settings)',
      { server: '10.0.0.1:6443', 'certificate-authority-data': CA },
      'http://10.0.0.1:6443',
    ],
    [
      'host:port with insecure-skip-tls-verify: http:// too',
      { server: 'mgmt.example:6443', 'insecure-skip-tls-verify': true },
      'http://mgmt.example:6443',
    ],
    [
      'localhost:port (a URL scheme to WHATWG, not to Go) gets http://',
      { server: 'localhost:6443', 'certificate-authority': 'ca.crt' },
      'http://localhost:6443',
    ],
    ['[v6]:port gets http://', { server: '[fd00::1]:6443' }, 'http://[fd00::1]:6443'],
    [
      'a URL is kept as written, default port too',
      { server: 'https://mgmt.example:443/', 'certificate-authority-data': CA },
      'https://mgmt.example:443',
    ],
    [
      'a path is a prefix (Rancher-style)',
      { server: 'https://rancher.example/k8s/clusters/c-1', 'certificate-authority-data': CA },
      'https://rancher.example/k8s/clusters/c-1',
    ],
  ];
  for (const [what, cluster, server] of cases) {
    it(what, async () => assert.equal((await load(cluster)).server, server));
  }

  it('over http, as kubectl: no token, no client certificate, no plugin run; impersonation headers only', async () => {
    const options: https.RequestOptions = {};
    await (await load({ server: '10.0.0.1:6443', 'certificate-authority-data': CA }, { token: SECRET, as: 'jane' })).auth.apply(options);
    assert.deepEqual(options.headers, { 'Impersonate-User': 'jane' });
    assert.equal(options.ca, undefined);
    const plugin = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/nonexistent/plugin', interactiveMode: 'Never' } };
    const viaPlugin: https.RequestOptions = {};
    await (await load({ server: 'http://10.0.0.1:8080' }, plugin)).auth.apply(viaPlugin);
    assert.equal(viaPlugin.headers, undefined, 'the plugin was not run');
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    [
      'a path without a scheme',
      { server: '10.0.0.1:6443/api', 'certificate-authority-data': CA },
      /cluster "c": server is not a URL or a host:port pair \(a path needs a scheme\)$/,
    ],
    ['another scheme', { server: 'ftp://10.0.0.1:6443' }, /cluster "c": server has the scheme ftp, not https or http$/],
    [
      'not a URL at all',
      { server: 'https://[bad', 'certificate-authority-data': CA },
      /cluster "c": server is not a URL or a host:port pair$/,
    ],
  ];
  for (const [what, cluster, pattern] of refused) {
    it(`refused: ${what}`, async () => assert.rejects(load(cluster), refusal(pattern)));
  }
});

describe('what kubectl refuses is refused at load, naming file, entry and field', () => {
  const server = 'https://127.0.0.1:6443';
  const cases: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [
      'insecure-skip-tls-verify with a CA',
      { server, 'insecure-skip-tls-verify': true, 'certificate-authority-data': CA },
      { token: SECRET },
      /config: cluster "c" sets insecure-skip-tls-verify together with a certificate authority/,
    ],
    [
      'insecure-skip-tls-verify with a CA file',
      { server, 'insecure-skip-tls-verify': true, 'certificate-authority': 'ca.crt' },
      { token: SECRET },
      /cluster "c" sets insecure-skip-tls-verify together with a certificate authority/,
    ],
    [
      'a CA as file and data',
      { server, 'certificate-authority': 'ca.crt', 'certificate-authority-data': CA },
      { token: SECRET },
      /cluster "c" sets both certificate-authority and certificate-authority-data/,
    ],
    [
      'a client certificate as file and data',
      { server, 'certificate-authority-data': CA },
      { 'client-certificate': 'x.crt', 'client-certificate-data': CERT, 'client-key-data': KEY },
      /user "u" sets both client-certificate and client-certificate-data/,
    ],
    [
      'a client key as file and data',
      { server, 'certificate-authority-data': CA },
      { 'client-certificate-data': CERT, 'client-key': 'x.key', 'client-key-data': KEY },
      /user "u" sets both client-key and client-key-data/,
    ],
    [
      'a client certificate without a key',
      { server, 'certificate-authority-data': CA },
      { 'client-certificate-data': CERT },
      /user "u" has a client certificate but no client-key or client-key-data/,
    ],
    [
      'a token and a password',
      { server },
      { token: SECRET, username: 'admin', password: SECRET },
      /user "u" sets both token and username\/password/,
    ],
    [
      'bad base64 in certificate-authority-data',
      { server, 'certificate-authority-data': `${SECRET}!!` },
      { token: SECRET },
      /config: cluster "c": certificate-authority-data is not valid base64/,
    ],
    [
      'unpadded base64 in client-certificate-data',
      { server },
      { 'client-certificate-data': CERT.replace(/=+$/, '').slice(0, -1), 'client-key-data': KEY },
      /user "u": client-certificate-data is not valid base64/,
    ],
    [
      'spaces in client-key-data',
      { server },
      { 'client-certificate-data': CERT, 'client-key-data': `${KEY.slice(0, 8)} ${KEY.slice(8)}` },
      /user "u": client-key-data is not valid base64/,
    ],
    [
      'base64 that is not a certificate',
      { server, 'certificate-authority-data': b64(SECRET) },
      { token: SECRET },
      /the certificate-authority-data of cluster "c" in .*config holds no PEM certificate$/,
    ],
    [
      'a key that does not match the certificate',
      { server },
      { 'client-certificate-data': CERT, 'client-key-data': b64(pem('a.key')) },
      /the client-certificate-data of user "u" in .*config and the client-key-data of user "u" in .*config do not form a usable pair \(key values mismatch\)$/,
    ],
    [
      'exec v1 without interactiveMode',
      { server },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } },
      /user "u": exec.interactiveMode must be set \(Never, IfAvailable or Always\)/,
    ],
    [
      'exec without a command',
      { server },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Never' } },
      /user "u": exec.command must be set/,
    ],
    [
      'exec and auth-provider',
      { server },
      {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Never' },
        'auth-provider': { name: 'oidc' },
      },
      /user "u" sets both exec and auth-provider/,
    ],
    [
      'an https:// proxy-url (kubectl has it, we do not)',
      { server, 'proxy-url': `https://user:${SECRET}@proxy:3128` },
      { token: SECRET },
      /cluster "c": proxy-url is a https:\/\/ proxy: kubectl supports it, bucket-agent only http:\/\/ proxies$/,
    ],
    [
      'a socks5:// proxy-url (kubectl has it, we do not)',
      { server, 'proxy-url': 'socks5://proxy:1080' },
      { token: SECRET },
      /proxy-url is a socks5:\/\/ proxy/,
    ],
    [
      'a proxy-url of another scheme',
      { server, 'proxy-url': `ftp://${SECRET}@proxy` },
      { token: SECRET },
      /proxy-url has the unsupported scheme ftp/,
    ],
    [
      'a proxy-url that is not a URL',
      { server, 'proxy-url': `${SECRET} proxy` },
      { token: SECRET },
      /cluster "c": proxy-url is not a URL$/,
    ],
  ];
  for (const [what, cluster, user, pattern] of cases) {
    it(what, async () => assert.rejects(load(cluster, user), refusal(pattern)));
  }

  it('exec of client.authentication.k8s.io/v1beta1 defaults interactiveMode, as kubectl', async () => {
    const loaded = await load(
      { server, 'certificate-authority-data': CA },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'true' } },
    );
    assert.equal(loaded.server, server);
  });

  it('base64 broken across lines (CR LF) is valid, as for Go', async () => {
    const wrapped = CA.replace(/(.{64})/g, '$1\r\n');
    assert.equal((await load({ server, 'certificate-authority-data': wrapped })).server, server);
  });
});

const env = (values: Partial<ProxyEnvironment>): ProxyEnvironment => ({
  httpProxy: '',
  httpsProxy: '',
  noProxy: '',
  cgi: false,
  ...values,
});

describe('environment proxies: Go http.ProxyFromEnvironment', () => {
  const proxy = 'http://proxy.corp:3128';
  const cases: [string, Partial<ProxyEnvironment>, string, string | undefined][] = [
    ['https server: HTTPS_PROXY', { httpsProxy: proxy }, 'https://mgmt.example:6443', 'http://proxy.corp:3128/'],
    ['https server: HTTP_PROXY is not used', { httpProxy: proxy }, 'https://mgmt.example:6443', undefined],
    ['http server: HTTP_PROXY', { httpProxy: proxy }, 'http://mgmt.example:8080', 'http://proxy.corp:3128/'],
    ['http server in CGI: HTTP_PROXY refused (httpoxy)', { httpProxy: proxy, cgi: true }, 'http://mgmt.example:8080', undefined],
    ['no scheme on the proxy: http://', { httpsProxy: 'proxy.corp:3128' }, 'https://mgmt.example', 'http://proxy.corp:3128/'],
    ['an IP proxy without scheme', { httpsProxy: '10.1.1.1:3128' }, 'https://mgmt.example', 'http://10.1.1.1:3128/'],
    ['localhost is never proxied', { httpsProxy: proxy }, 'https://localhost:6443', undefined],
    ['127.0.0.0/8 is never proxied', { httpsProxy: proxy }, 'https://127.1.2.3:6443', undefined],
    ['::1 is never proxied', { httpsProxy: proxy }, 'https://[::1]:6443', undefined],
    ['IPv4-mapped loopback is never proxied', { httpsProxy: proxy }, 'https://[::ffff:127.0.0.1]:6443', undefined],
    ['0.0.0.0 is not loopback to Go', { httpsProxy: proxy }, 'https://0.0.0.0:6443', 'http://proxy.corp:3128/'],
    ['NO_PROXY=*', { httpsProxy: proxy, noProxy: '*' }, 'https://mgmt.example', undefined],
    ['NO_PROXY domain matches itself', { httpsProxy: proxy, noProxy: 'mgmt.example' }, 'https://mgmt.example:6443', undefined],
    ['NO_PROXY domain matches subdomains', { httpsProxy: proxy, noProxy: 'example' }, 'https://mgmt.example:6443', undefined],
    [
      'NO_PROXY domain does not match a longer name',
      { httpsProxy: proxy, noProxy: 'example' },
      'https://mgmt.myexample:6443',
      'http://proxy.corp:3128/',
    ],
    ['NO_PROXY .domain: subdomains only', { httpsProxy: proxy, noProxy: '.example' }, 'https://example:6443', 'http://proxy.corp:3128/'],
    ['NO_PROXY .domain: a subdomain', { httpsProxy: proxy, noProxy: '.example' }, 'https://a.example:6443', undefined],
    ['NO_PROXY *.domain is .domain', { httpsProxy: proxy, noProxy: '*.example' }, 'https://a.b.example', undefined],
    ['NO_PROXY domain:port, port matches', { httpsProxy: proxy, noProxy: 'mgmt.example:6443' }, 'https://mgmt.example:6443', undefined],
    [
      'NO_PROXY domain:port, other port',
      { httpsProxy: proxy, noProxy: 'mgmt.example:6443' },
      'https://mgmt.example:443',
      'http://proxy.corp:3128/',
    ],
    ['NO_PROXY domain:port, default port of https', { httpsProxy: proxy, noProxy: 'mgmt.example:443' }, 'https://mgmt.example', undefined],
    [
      'NO_PROXY case, spaces and empty entries',
      { httpsProxy: proxy, noProxy: ' , Other.Example ,MGMT.example ,' },
      'https://mgmt.EXAMPLE',
      undefined,
    ],
    ['NO_PROXY IP', { httpsProxy: proxy, noProxy: '10.0.0.1' }, 'https://10.0.0.1:6443', undefined],
    ['NO_PROXY IP:port, other port', { httpsProxy: proxy, noProxy: '10.0.0.1:443' }, 'https://10.0.0.1:6443', 'http://proxy.corp:3128/'],
    ['NO_PROXY IPv4 CIDR', { httpsProxy: proxy, noProxy: '10.0.0.0/8' }, 'https://10.200.3.4:6443', undefined],
    ['NO_PROXY IPv4 CIDR, outside', { httpsProxy: proxy, noProxy: '10.0.0.0/8' }, 'https://11.0.0.1:6443', 'http://proxy.corp:3128/'],
    ['NO_PROXY IPv6 CIDR', { httpsProxy: proxy, noProxy: 'fd00::/8' }, 'https://[fd00:10:96::1]:443', undefined],
    ['NO_PROXY [IPv6]:port', { httpsProxy: proxy, noProxy: '[fd00::1]:6443' }, 'https://[fd00::1]:6443', undefined],
    ['NO_PROXY IP does not match a name', { httpsProxy: proxy, noProxy: '10.0.0.1' }, 'https://mgmt.example', 'http://proxy.corp:3128/'],
    [
      'NO_PROXY as text suffix on an IP host (a Go quirk kept)',
      { httpsProxy: proxy, noProxy: '0.0.1' },
      'https://10.0.0.1:6443',
      undefined,
    ],
    ['NO_PROXY malformed entry ignored', { httpsProxy: proxy, noProxy: ':6443' }, 'https://mgmt.example:6443', 'http://proxy.corp:3128/'],
  ];
  for (const [what, values, server, expected] of cases) {
    it(what, () => assert.equal(proxyFromEnvironment(env(values), new URL(server))?.href, expected));
  }

  it('an unparseable proxy value means no proxy, as Go ignores it', () => {
    assert.equal(parseEnvProxy('%zz'), undefined);
    assert.equal(parseEnvProxy(''), undefined);
  });

  it('variables: the upper-case name first, the lower-case one when it is unset or empty; REQUEST_METHOD is CGI', () => {
    assert.deepEqual(proxyEnvironmentFrom({ HTTPS_PROXY: 'http://a:1', https_proxy: 'http://b:1', no_proxy: 'x', NO_PROXY: '' }), {
      httpsProxy: 'http://a:1',
      httpProxy: '',
      noProxy: 'x',
      cgi: false,
    });
    assert.deepEqual(proxyEnvironmentFrom({ https_proxy: 'http://b:1', http_proxy: 'http://c:1', REQUEST_METHOD: 'GET' }), {
      httpsProxy: 'http://b:1',
      httpProxy: 'http://c:1',
      noProxy: '',
      cgi: true,
    });
  });
});

describe('which proxy a loaded kubeconfig uses', () => {
  const cluster = { server: 'https://mgmt.example:6443', 'certificate-authority-data': CA };

  it('proxy-url, for every server (loopback too) and over the environment', async () => {
    const loaded = await load(
      { ...cluster, server: 'https://127.0.0.1:6443', 'proxy-url': `http://user:${SECRET}@cluster-proxy:3128` },
      undefined,
      env({ httpsProxy: 'http://env-proxy:1' }),
    );
    assert.equal(loaded.proxy?.host, 'cluster-proxy:3128');
    assert.equal(loaded.proxy?.password, SECRET, 'the proxy keeps its credentials for Proxy-Authorization');
  });

  it('proxy-url applies to exec-plugin users as well', async () => {
    const user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true', interactiveMode: 'Never' } };
    assert.equal((await load({ ...cluster, 'proxy-url': 'http://cluster-proxy:3128' }, user)).proxy?.host, 'cluster-proxy:3128');
  });

  it('the environment otherwise, with NO_PROXY', async () => {
    assert.equal((await load(cluster, undefined, env({ httpsProxy: 'http://env-proxy:3128' }))).proxy?.host, 'env-proxy:3128');
    assert.equal((await load(cluster, undefined, env({ httpsProxy: 'http://env-proxy:3128', noProxy: '.example' }))).proxy, undefined);
    assert.equal((await load(cluster)).proxy, undefined);
  });

  it('an https:// or socks5:// environment proxy is refused, naming the variable and not its credentials', async () => {
    await assert.rejects(
      load(cluster, undefined, env({ httpsProxy: `socks5://u:${SECRET}@p:1080` })),
      refusal(/is a socks5:\/\/ proxy \(HTTPS_PROXY\/HTTP_PROXY\)/),
    );
  });

  it("in a pod: the environment proxy too, as client-go's InClusterConfig", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-parity-sa-'));
    dirs.push(dir);
    await writeFile(join(dir, 'ca.crt'), pem('a.crt'));
    await writeFile(join(dir, 'token'), 'sa-token');
    const source = { kind: 'in-cluster', host: '10.96.0.1', port: '443' } as const;
    const proxyEnv = env({ httpsProxy: 'http://env-proxy:3128' });
    assert.equal((await loadKubeConfig(source, undefined, { serviceAccountDir: dir, proxyEnv })).proxy?.host, 'env-proxy:3128');
    const bypass = env({ httpsProxy: 'http://env-proxy:3128', noProxy: '10.96.0.0/12' });
    assert.equal((await loadKubeConfig(source, undefined, { serviceAccountDir: dir, proxyEnv: bypass })).proxy, undefined);
  });
});

describe('connection failures no retry mends are final (exit 6 at once), the rest transient', () => {
  const list = { verb: 'list', resource: SECRETS, namespace: 'tenant-a' } as const;
  const coded = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  const cases: [string, unknown, boolean, RegExp][] = [
    [
      'a CA that did not sign the server certificate',
      coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      false,
      /^cannot list secrets in namespace tenant-a: the certificate of apiserver https:\/\/k:6443 is not trusted: .*check certificate-authority\(-data\) and tls-server-name/,
    ],
    [
      'a name the certificate does not hold',
      coded('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      false,
      /is not trusted.*tls-server-name/,
    ],
    ['a self-signed server', coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), false, /is not trusted/],
    [
      'an expired certificate (it gets renewed)',
      coded('CERT_HAS_EXPIRED', 'certificate has expired'),
      true,
      /unreachable: certificate has expired/,
    ],
    ['a refused connection', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), true, /unreachable/],
    [
      'a proxy that wants credentials',
      new ProxyConnectError(407, 'http://proxy:3128'),
      false,
      /proxy http:\/\/proxy:3128 refused the tunnel: HTTP 407.*check the proxy \(proxy-url/,
    ],
    ['a proxy that denies the target', new ProxyConnectError(403, 'http://proxy:3128'), false, /HTTP 403/],
    [
      'a proxy without a route (502)',
      new ProxyConnectError(502, 'http://proxy:3128'),
      true,
      /unreachable: proxy http:\/\/proxy:3128 refused the tunnel: HTTP 502/,
    ],
  ];
  for (const [what, cause, transient, pattern] of cases) {
    it(what, () => {
      const err = new KubeConnectionError('https://k:6443', list, cause);
      assert.equal(err.transient, transient);
      assert.equal(isTransient(err), transient);
      assert.match(err.message, pattern);
      assert.equal(err.exitCode, 6);
    });
  }
});
