import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as files (for the Go binaries) and PEM text (for node). */
export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertRequest {
  /** File stem under the PKI directory: `<name>.crt`, `<name>.key`. */
  name: string;
  commonName: string;
  /** Subject O=; Kubernetes maps it to groups for client certificates (system:masters = admin). */
  organization?: string;
  usage: 'server' | 'client';
  dnsNames?: readonly string[];
  ips?: readonly string[];
}

/** Certificate authority of one test environment; everything in it trusts only this CA. */
export interface TestCa {
  readonly dir: string;
  readonly ca: KeyPair;
  issue(req: CertRequest): Promise<KeyPair>;
}

// The openssl CLI instead of a library: node:crypto cannot create X.509 certificates and the brief
// forbids new packages. P-256 keys because they are generated in milliseconds, unlike RSA.
const KEY_ARGS = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const VALID_DAYS = '7';

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim()}`, { cause: err });
  }
}

async function readPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certFile, keyFile, certPem, keyPem };
}

// Random serials instead of -CAcreateserial: certificates are issued concurrently and a shared
// serial file would race.
function serial(): string {
  return `0x${randomBytes(12).toString('hex')}`;
}

function extensions(req: CertRequest): string {
  const sans = [...(req.dnsNames ?? []).map((d) => `DNS:${d}`), ...(req.ips ?? []).map((ip) => `IP:${ip}`)];
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(',')}`);
  return `${lines.join('\n')}\n`;
}

function subject(req: CertRequest): string {
  return req.organization === undefined ? `/CN=${req.commonName}` : `/O=${req.organization}/CN=${req.commonName}`;
}

async function issue(dir: string, ca: KeyPair, req: CertRequest): Promise<KeyPair> {
  const base = join(dir, req.name);
  await openssl(['genpkey', ...KEY_ARGS, '-out', `${base}.key`]);
  await openssl(['req', '-new', '-key', `${base}.key`, '-subj', subject(req), '-out', `${base}.csr`]);
  await writeFile(`${base}.ext`, extensions(req));
  await openssl([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    serial(),
    '-days',
    VALID_DAYS,
    '-extfile',
    `${base}.ext`,
    '-out',
    `${base}.crt`,
  ]);
  return readPair(`${base}.crt`, `${base}.key`);
}

/** Creates a fresh CA in `dir`; every start gets its own, so no state leaks between runs. */
export async function createTestCa(dir: string): Promise<TestCa> {
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  await openssl(['genpkey', ...KEY_ARGS, '-out', keyFile]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-subj',
    '/CN=bucket-agent-test-ca',
    '-days',
    VALID_DAYS,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    certFile,
  ]);
  const ca = await readPair(certFile, keyFile);
  return { dir, ca, issue: (req) => issue(dir, ca, req) };
}

/** Service-account token signing key pair: private key for signing, public key for verifying. */
export async function createSigningKey(dir: string): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const privateKeyFile = join(dir, 'sa.key');
  const publicKeyFile = join(dir, 'sa.pub');
  await openssl(['genpkey', ...KEY_ARGS, '-out', privateKeyFile]);
  await openssl(['pkey', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile]);
  return { privateKeyFile, publicKeyFile };
}
