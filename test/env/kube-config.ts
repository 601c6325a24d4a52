import { writeFile } from 'node:fs/promises';

/** How a kubeconfig user authenticates: a client certificate or a bearer token. */
export type KubeCredentials = { certPem: string; keyPem: string } | { token: string };

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  credentials: KubeCredentials;
  /** Context, cluster and user name; shows up in kubectl output. */
  name: string;
  namespace?: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function user(credentials: KubeCredentials): Record<string, string> {
  if ('token' in credentials) return { token: credentials.token };
  return { 'client-certificate-data': b64(credentials.certPem), 'client-key-data': b64(credentials.keyPem) };
}

/** Renders a self-contained kubeconfig (data inlined, so the file can be copied anywhere). */
export function buildKubeconfig(spec: KubeconfigSpec): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: spec.name, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) } }],
    users: [{ name: spec.name, user: user(spec.credentials) }],
    contexts: [
      {
        name: spec.name,
        context: { cluster: spec.name, user: spec.name, ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }) },
      },
    ],
    'current-context': spec.name,
  };
  // JSON is YAML: kubectl, client-go and client-node all read it, and no YAML writer is needed.
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Writes the kubeconfig with mode 0600: it holds a private key or a token. */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<string> {
  await writeFile(path, buildKubeconfig(spec), { mode: 0o600 });
  return path;
}
