import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadServingPair, TlsMaterialError } from '../../../src/runtime/webhook-certificate.js';
import { mergeCaBundle, splitPem } from '../../../src/webhook/ca-bundle.js';
import { generateCa, issueServing } from '../../../src/webhook/certificates.js';
import { parseTlsSecret, tlsSecretData } from '../../../src/webhook/tls-secret.js';
import { caBundlePatch } from '../../../src/webhook/webhook-config.js';

const MIN = 60_000;
const NOW = Date.now();
const names = {
  dnsNames: ['hook', 'hook.sys', 'hook.sys.svc', 'hook.sys.svc.cluster.local', 'localhost'],
  ipAddresses: ['127.0.0.1', '::1'],
};

describe('self-managed certificates', async () => {
  const ca = await generateCa({ commonName: 'hook-ca@1', validityMs: 120 * MIN, nowMs: NOW });
  const serving = await issueServing(ca, { ...names, validityMs: 30 * MIN, nowMs: NOW });

  it('the CA is a P-256 CA certificate valid for the asked lifetime', () => {
    const cert = new X509Certificate(ca.cert);
    assert.equal(cert.ca, true);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(Date.parse(cert.validTo), Math.floor((NOW + 120 * MIN) / 1000) * 1000);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
  });

  it('the serving certificate carries the Service names and the extra SANs, and chains to the CA', () => {
    const leaf = new X509Certificate(serving.cert);
    const caCert = new X509Certificate(ca.cert);
    assert.equal(leaf.ca, false);
    assert.equal(
      leaf.subjectAltName,
      'DNS:hook, DNS:hook.sys, DNS:hook.sys.svc, DNS:hook.sys.svc.cluster.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    assert.ok(leaf.checkIssued(caCert));
    assert.ok(leaf.verify(caCert.publicKey));
    assert.equal(leaf.checkHost('hook.sys.svc'), 'hook.sys.svc');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(Date.parse(leaf.validFrom) < NOW, 'backdated for clock skew');
    assert.equal(Date.parse(leaf.validTo), Math.floor((NOW + 30 * MIN) / 1000) * 1000);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('a serving certificate never outlives its CA', async () => {
    const late = await issueServing(ca, { ...names, validityMs: 500 * MIN, nowMs: NOW });
    assert.equal(new X509Certificate(late.cert).validTo, new X509Certificate(ca.cert).validTo);
  });

  it('loadServingPair takes the pair and refuses a mismatched or broken one without quoting it', async () => {
    const other = await issueServing(ca, { ...names, validityMs: 30 * MIN, nowMs: NOW });
    assert.equal(loadServingPair(serving.cert, serving.key).serial, new X509Certificate(serving.cert).serialNumber);
    for (const [cert, key] of [
      [serving.cert, other.key],
      [serving.cert.slice(0, 200), serving.key],
      ['', serving.key],
      [serving.cert, 'not a key'],
    ] as const) {
      assert.throws(
        () => loadServingPair(cert, key),
        (err: unknown) =>
          err instanceof TlsMaterialError &&
          !err.message.includes('-----BEGIN') &&
          (key.length < 80 || !err.message.includes(key.slice(40, 80))),
      );
    }
    assert.throws(() => loadServingPair(serving.cert, serving.key, NOW + 31 * MIN), /expired/);
  });

  it('the Secret round-trips: the signer found by its key, the serving pair checked against it and the names', () => {
    const secret = { data: tlsSecretData({ servingCert: serving.cert, servingKey: serving.key, caBundle: ca.cert, caKey: ca.key }) };
    const state = parseTlsSecret(secret, names, NOW);
    assert.equal(state.signer?.cert, ca.cert);
    assert.equal(state.serving?.signedBySigner, true);
    assert.equal(state.serving?.namesMatch, true);
    assert.equal(parseTlsSecret(secret, { ...names, ipAddresses: ['127.0.0.1'] }, NOW).serving?.namesMatch, false);
    assert.equal(parseTlsSecret(secret, names, NOW + 121 * MIN).signer, undefined, 'an expired CA does not sign');
    assert.deepEqual(parseTlsSecret(undefined, names, NOW), { caBundle: '', signer: undefined, serving: undefined });
  });

  it('caBundle merge: union of old and new, deduplicated, expired dropped, oldest first', async () => {
    const older = await generateCa({ commonName: 'old', validityMs: 70 * MIN, nowMs: NOW - 60 * MIN });
    const expired = await generateCa({ commonName: 'gone', validityMs: 10 * MIN, nowMs: NOW - 200 * MIN });
    const merged = mergeCaBundle([ca.cert + expired.cert, older.cert + ca.cert, 'garbage'], NOW);
    assert.deepEqual(
      splitPem(merged).map((pem) => new X509Certificate(pem).subject),
      ['CN=old', 'CN=hook-ca@1'],
    );
    assert.equal(mergeCaBundle([merged], NOW + 11 * MIN), ca.cert, 'the old CA leaves once expired');
  });

  it('caBundlePatch touches only our entries (service or URL host), with a resourceVersion test, and keeps the old CA', async () => {
    const old = await generateCa({ commonName: 'old', validityMs: 120 * MIN, nowMs: NOW - MIN });
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const config = {
      metadata: { resourceVersion: '42' },
      webhooks: [
        { name: 'a', clientConfig: { service: { name: 'hook', namespace: 'sys' }, caBundle: b64(old.cert) } },
        { name: 'b', clientConfig: { service: { name: 'other', namespace: 'sys' } } },
        { name: 'c', clientConfig: { url: 'https://127.0.0.1:8443/mutate' } },
        { name: 'd', clientConfig: { url: 'https://[::1]:8443/mutate', caBundle: b64(old.cert + ca.cert) } },
        { name: 'e', clientConfig: { url: 'https://evil.example/mutate' } },
      ],
    };
    const patch = caBundlePatch(
      config,
      { service: 'hook', namespace: 'sys', hosts: [...names.dnsNames, ...names.ipAddresses] },
      ca.cert,
      NOW,
    );
    assert.deepEqual(patch.ours, [0, 2, 3]);
    const ops = patch.operations as { op: string; path: string; value: string }[];
    assert.deepEqual(ops[0], { op: 'test', path: '/metadata/resourceVersion', value: '42' });
    assert.deepEqual(
      ops.slice(1).map((o) => o.path),
      ['/webhooks/0/clientConfig/caBundle', '/webhooks/2/clientConfig/caBundle'],
    );
    assert.equal(splitPem(Buffer.from(ops[1]?.value ?? '', 'base64').toString()).length, 2, 'old and new CA both trusted');
    assert.ok(patch.trustsAll(ca.cert));
    assert.ok(!patch.trustsAll(serving.cert));
    const settled = caBundlePatch(
      {
        ...config,
        webhooks: config.webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: b64(old.cert + ca.cert) } })),
      },
      { service: 'hook', namespace: 'sys', hosts: names.ipAddresses },
      ca.cert,
      NOW,
    );
    assert.deepEqual(settled.operations, [], 'nothing to do once trusted');
  });
});
