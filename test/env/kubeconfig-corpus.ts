import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HttpProxy } from './http-proxy.js';

/**
 * The kubeconfigs on which bucket-agent must agree with kubectl (test/e2e/kubeconfig-kubectl.test.ts):
 * each is a file of its own, with the variables it runs under, what kubectl does with it (checked,
 * so a drifting corpus fails too) and, for failures, what our message must name.
 */
export interface CorpusCase {
  readonly name: string;
  readonly kubeconfig: string;
  /** Extra environment for both programs (HTTPS_PROXY ...). */
  readonly env: Readonly<Record<string, string>>;
  readonly kubectl: 'works' | 'fails';
  /** Our error must match (it names the field or file); required when kubectl fails. */
  readonly ours?: RegExp;
  /** Traffic must (or must not) go through this proxy, for both programs. */
  readonly via?: { readonly proxy: HttpProxy; readonly tunnels: boolean };
  /** Where we disagree with kubectl on purpose, and why. */
  readonly deliberate?: string;
}

export interface CorpusSetup {
  readonly dir: string;
  readonly namespace: string;
  /** `https://127.0.0.1:<port>`, whose certificate names 127.0.0.1, localhost, kubernetes(.default.svc). */
  readonly server: string;
  readonly port: number;
  /** The apiserver through a plain-http front that authenticates as admin (as `kubectl proxy` does). */
  readonly httpPort: number;
  /** The same apiserver on a non-loopback address (which Go's env proxies do not skip). */
  readonly lanServer: string;
  readonly lanIp: string;
  readonly caPem: string;
  /** Admin (system:masters) client certificate. */
  readonly certPem: string;
  readonly keyPem: string;
  /** A service-account token allowed to read the namespace's Secrets and Buckets. */
  readonly token: string;
  /** A CA that did not sign the apiserver's certificate. */
  readonly otherCaPem: string;
  readonly proxy: HttpProxy;
  /** A proxy that wants `Proxy-Authorization` for `PROXY_USER`:`PROXY_PASSWORD`. */
  readonly authProxy: HttpProxy;
}

export const PROXY_USER = 'kube-proxy-user';
export const PROXY_PASSWORD = 'pr0xy-p@ss';

type Fields = Record<string, unknown>;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export async function buildCorpus(s: CorpusSetup): Promise<CorpusCase[]> {
  let seq = 0;
  const ca = { 'certificate-authority-data': b64(s.caPem) };
  const admin = { 'client-certificate-data': b64(s.certPem), 'client-key-data': b64(s.keyPem) };
  const token = { token: s.token };
  const write = async (cluster: Fields, user: Fields, files: Record<string, string> = {}): Promise<string> => {
    const dir = join(s.dir, `case-${++seq}`);
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o700 });
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: s.namespace } }],
      'current-context': 'ctx',
    };
    await writeFile(join(dir, 'config'), JSON.stringify(config, null, 2), { mode: 0o600 });
    return join(dir, 'config');
  };
  const plugin = `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' '${s.token}'\n`;
  const exec = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './get-token.sh', interactiveMode: 'Never' } };
  const pluginFiles = { 'get-token.sh': plugin };
  const authProxyUrl = (password: string): string => `http://${PROXY_USER}:${encodeURIComponent(password)}@127.0.0.1:${s.authProxy.port}`;
  const broken = (valid: string): string => `${valid.slice(0, 12)}*${valid.slice(13)}`;
  const corpus: CorpusCase[] = [];
  const add = (c: Omit<CorpusCase, 'env'> & { env?: Record<string, string> }): void => void corpus.push({ env: {}, ...c });
  const server = s.server;

  add({ name: 'client certificate data', kubeconfig: await write({ server, ...ca }, admin), kubectl: 'works' });
  add({
    name: 'client certificate files, relative to the kubeconfig',
    kubeconfig: await write(
      { server, 'certificate-authority': 'ca.crt' },
      { 'client-certificate': 'admin.crt', 'client-key': 'admin.key' },
      { 'ca.crt': s.caPem, 'admin.crt': s.certPem, 'admin.key': s.keyPem },
    ),
    kubectl: 'works',
  });
  add({ name: 'token', kubeconfig: await write({ server, ...ca }, token), kubectl: 'works' });
  add({ name: 'token file', kubeconfig: await write({ server, ...ca }, { tokenFile: 'token' }, { token: s.token }), kubectl: 'works' });
  add({ name: 'exec plugin (relative command)', kubeconfig: await write({ server, ...ca }, exec, pluginFiles), kubectl: 'works' });
  add({
    name: 'impersonation into system:masters',
    kubeconfig: await write({ server, ...ca }, { ...admin, as: 'jane', 'as-groups': ['system:masters'] }),
    kubectl: 'works',
  });
  add({
    name: 'impersonation of a user without rights',
    kubeconfig: await write({ server, ...ca }, { ...admin, as: 'bucket-agent-nobody' }),
    kubectl: 'fails',
    ours: /permission denied: cannot (get|list) secrets/,
  });
  add({
    name: 'insecure-skip-tls-verify without a CA',
    kubeconfig: await write({ server, 'insecure-skip-tls-verify': true }, token),
    kubectl: 'works',
  });
  add({
    name: 'tls-server-name',
    kubeconfig: await write({ server: s.lanServer, ...ca, 'tls-server-name': 'kubernetes' }, token),
    kubectl: 'works',
  });

  // Server URLs.
  // kubectl reads `host:port` as http:// and then sends no credentials (see normalizeServer).
  add({
    name: 'scheme-less server with a CA (kubectl speaks http to it)',
    kubeconfig: await write({ server: `127.0.0.1:${s.port}`, ...ca }, token),
    kubectl: 'fails',
    ours: /HTTP 400 without a Kubernetes Status: check the scheme of the kubeconfig's server/,
  });
  add({
    name: 'scheme-less server reaching an http endpoint (kubectl proxy style)',
    kubeconfig: await write({ server: `127.0.0.1:${s.httpPort}` }, token),
    kubectl: 'works',
  });
  add({
    name: 'a path without a scheme',
    kubeconfig: await write({ server: `127.0.0.1:${s.port}/api`, ...ca }, token),
    kubectl: 'fails',
    ours: /cluster "c": server is not a URL or a host:port pair/,
  });

  // Proxies.
  add({
    name: 'proxy-url (loopback server: proxy-url applies anyway)',
    kubeconfig: await write({ server, ...ca, 'proxy-url': s.proxy.url }, token),
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: true },
  });
  add({
    name: 'proxy-url with an exec-plugin user',
    kubeconfig: await write({ server, ...ca, 'proxy-url': s.proxy.url }, exec, pluginFiles),
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: true },
  });
  add({
    name: 'proxy-url with credentials',
    kubeconfig: await write({ server, ...ca, 'proxy-url': authProxyUrl(PROXY_PASSWORD) }, token),
    kubectl: 'works',
    via: { proxy: s.authProxy, tunnels: true },
  });
  add({
    name: 'proxy-url with wrong credentials (407)',
    kubeconfig: await write({ server, ...ca, 'proxy-url': authProxyUrl('wrong-password') }, token),
    kubectl: 'fails',
    ours: /refused the tunnel: HTTP 407; check the proxy \(proxy-url/,
    via: { proxy: s.authProxy, tunnels: false },
  });
  const svc = `https://kubernetes.default.svc:${s.port}`;
  add({
    name: 'HTTPS_PROXY: a name only the proxy resolves',
    kubeconfig: await write({ server: svc, ...ca }, token),
    env: { HTTPS_PROXY: s.proxy.url },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: true },
  });
  add({
    name: 'https_proxy (lower case)',
    kubeconfig: await write({ server: svc, ...ca }, token),
    env: { https_proxy: s.proxy.url },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: true },
  });
  add({
    name: 'HTTPS_PROXY, non-loopback server',
    kubeconfig: await write({ server: s.lanServer, ...ca, 'tls-server-name': 'kubernetes' }, token),
    env: { HTTPS_PROXY: s.proxy.url },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: true },
  });
  add({
    name: 'HTTPS_PROXY with NO_PROXY naming the server',
    kubeconfig: await write({ server: s.lanServer, ...ca, 'tls-server-name': 'kubernetes' }, token),
    env: { HTTPS_PROXY: s.proxy.url, NO_PROXY: `example.org, ${s.lanIp}` },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: false },
  });
  add({
    name: 'HTTPS_PROXY with no_proxy as a CIDR',
    kubeconfig: await write({ server: s.lanServer, ...ca, 'tls-server-name': 'kubernetes' }, token),
    env: { HTTPS_PROXY: s.proxy.url, no_proxy: `${s.lanIp.split('.').slice(0, 3).join('.')}.0/24` },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: false },
  });
  add({
    name: 'HTTPS_PROXY is not used for a loopback server',
    kubeconfig: await write({ server, ...ca }, token),
    env: { HTTPS_PROXY: s.proxy.url },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: false },
  });
  add({
    name: 'HTTP_PROXY is not used for an https server',
    kubeconfig: await write({ server: s.lanServer, ...ca, 'tls-server-name': 'kubernetes' }, token),
    env: { HTTP_PROXY: s.proxy.url },
    kubectl: 'works',
    via: { proxy: s.proxy, tunnels: false },
  });
  add({
    name: 'a socks5 proxy-url',
    kubeconfig: await write({ server, ...ca, 'proxy-url': `socks5://127.0.0.1:${s.proxy.port}` }, token),
    kubectl: 'fails',
    ours: /proxy-url is a socks5:\/\/ proxy: kubectl supports it, bucket-agent only http:\/\/ proxies/,
    deliberate:
      'kubectl speaks SOCKS5 (it fails here only because the port is an HTTP proxy); we refuse socks5:// at load rather than bypass it',
  });

  // What kubectl refuses.
  add({
    name: 'insecure-skip-tls-verify with a CA',
    kubeconfig: await write({ server, ...ca, 'insecure-skip-tls-verify': true }, token),
    kubectl: 'fails',
    ours: /cluster "c" sets insecure-skip-tls-verify together with a certificate authority/,
  });
  add({
    name: 'broken base64 in certificate-authority-data',
    kubeconfig: await write({ server, 'certificate-authority-data': broken(b64(s.caPem)) }, token),
    kubectl: 'fails',
    ours: /cluster "c": certificate-authority-data is not valid base64/,
  });
  add({
    name: 'broken base64 in client-certificate-data',
    kubeconfig: await write({ server, ...ca }, { ...admin, 'client-certificate-data': broken(b64(s.certPem)) }),
    kubectl: 'fails',
    ours: /user "u": client-certificate-data is not valid base64/,
  });
  add({
    name: 'broken base64 in client-key-data',
    kubeconfig: await write({ server, ...ca }, { ...admin, 'client-key-data': broken(b64(s.keyPem)) }),
    kubectl: 'fails',
    ours: /user "u": client-key-data is not valid base64/,
  });
  add({
    name: 'base64 of something that is not a certificate',
    kubeconfig: await write({ server, 'certificate-authority-data': b64('not a certificate') }, token),
    kubectl: 'fails',
    ours: /certificate-authority-data of cluster "c" in .*config holds no PEM certificate/,
  });
  add({
    name: 'a CA as file and data',
    kubeconfig: await write({ server, ...ca, 'certificate-authority': 'ca.crt' }, token, { 'ca.crt': s.caPem }),
    kubectl: 'fails',
    ours: /sets both certificate-authority and certificate-authority-data/,
  });
  add({
    name: 'a token and a password',
    kubeconfig: await write({ server, ...ca }, { ...token, username: 'admin', password: 'x' }),
    kubectl: 'fails',
    ours: /sets both token and username\/password/,
  });
  add({
    name: 'exec v1 without interactiveMode',
    kubeconfig: await write({ server, ...ca }, { exec: { ...exec.exec, interactiveMode: undefined } }, pluginFiles),
    kubectl: 'fails',
    ours: /exec.interactiveMode must be set/,
  });
  add({
    name: 'a missing CA file',
    kubeconfig: await write({ server, 'certificate-authority': 'missing-ca.crt' }, token),
    kubectl: 'fails',
    ours: /cannot read the certificate authority \/.*missing-ca\.crt \(ENOENT\)/,
  });
  add({
    name: 'a missing client certificate file',
    kubeconfig: await write({ server, ...ca }, { 'client-certificate': 'missing.crt', 'client-key-data': b64(s.keyPem) }),
    kubectl: 'fails',
    ours: /cannot read the client certificate \/.*missing\.crt \(ENOENT\)/,
  });
  add({
    name: 'a missing token file',
    kubeconfig: await write({ server, ...ca }, { tokenFile: 'missing-token' }),
    kubectl: 'fails',
    ours: /cannot read the token file \/.*missing-token \(ENOENT\)/,
  });
  add({
    name: 'a missing kubeconfig',
    kubeconfig: join(s.dir, 'no-such-kubeconfig'),
    kubectl: 'fails',
    ours: /--kubeconfig \/.*no-such-kubeconfig: cannot read it \(ENOENT\)/,
  });
  add({
    name: 'a CA that did not sign the server certificate',
    kubeconfig: await write({ server, 'certificate-authority-data': b64(s.otherCaPem) }, token),
    kubectl: 'fails',
    ours: /is not trusted: .*check certificate-authority\(-data\) and tls-server-name/,
  });
  add({
    name: 'a tls-server-name the certificate does not hold',
    kubeconfig: await write({ server, ...ca, 'tls-server-name': 'not-in-the-cert' }, token),
    kubectl: 'fails',
    ours: /is not trusted: .*tls-server-name/,
  });
  await chmod(s.dir, 0o700);
  return corpus;
}
