import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { webhookConfigFrom, type WebhookArgs } from '../../../src/config/webhook.js';

const base: WebhookArgs = {
  'log-level': 'info',
  'log-format': 'json',
  listen: ':8443',
  'health-listen': ':8080',
  tls: 'self',
  service: 'bucket-agent-webhook',
  'cert-validity': '8760h',
  'trust-delay': '30s',
  'review-timeout': '8s',
  'shutdown-delay': '5s',
  prefix: 'bucket-agent.io/',
  'agent-image': 'registry.example.org/bucket-agent:0.1.0',
  'native-sidecars': 'true',
  source: 'auto',
};

describe('webhook config', () => {
  it('self mode: names from --service and POD_NAMESPACE, the Service SANs plus --tls-san, CA 4x, identity POD_NAME', () => {
    const config = webhookConfigFrom({ ...base, 'tls-san': ['127.0.0.1,localhost', '::1'] }, false, {
      POD_NAMESPACE: 'sys',
      POD_NAME: 'hook-0',
    });
    assert.equal(config.namespace, 'sys');
    assert.equal(config.reviewTimeoutMs, 8000);
    assert.deepEqual(config.listen, { host: undefined, port: 8443 });
    assert.deepEqual(config.facts, {
      prefix: 'bucket-agent.io/',
      image: 'registry.example.org/bucket-agent:0.1.0',
      nativeSidecars: true,
      defaultSource: 'auto',
    });
    assert.equal(config.tls.mode, 'self');
    if (config.tls.mode !== 'self') return;
    assert.deepEqual(config.tls.dnsNames, [
      'bucket-agent-webhook',
      'bucket-agent-webhook.sys',
      'bucket-agent-webhook.sys.svc',
      'bucket-agent-webhook.sys.svc.cluster.local',
      'localhost',
    ]);
    assert.deepEqual(config.tls.ipAddresses, ['127.0.0.1', '::1']);
    assert.deepEqual(
      [config.tls.secret, config.tls.webhookConfig, config.tls.lease],
      ['bucket-agent-webhook-tls', 'bucket-agent-webhook', 'bucket-agent-webhook-tls'],
    );
    assert.equal(config.tls.caValidityMs, 4 * config.tls.certValidityMs);
    assert.equal(config.tls.identity, 'hook-0');
  });

  it('files mode needs both files; a zero shutdown delay is allowed', () => {
    const config = webhookConfigFrom(
      { ...base, tls: 'files', 'tls-cert-file': '/tls/tls.crt', 'tls-key-file': '/tls/tls.key', 'shutdown-delay': '0' },
      false,
      {},
    );
    assert.deepEqual(config.tls, { mode: 'files', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
    assert.equal(config.shutdownDelayMs, 0);
    assert.equal(config.namespace, 'default');
  });

  const refused: [string, Partial<WebhookArgs>, RegExp][] = [
    ['files without the key', { tls: 'files', 'tls-cert-file': '/a' }, /--tls files needs --tls-cert-file and --tls-key-file/],
    ['files flags in self mode', { 'tls-cert-file': '/a' }, /go with --tls files/],
    ['a review timeout the apiserver never waits for', { 'review-timeout': '30s' }, /below 30s/],
    ['a CA shorter than two serving lifetimes', { 'cert-validity': '1h', 'ca-validity': '90m' }, /at least twice/],
    ['a bad SAN', { 'tls-san': ['bad name'] }, /--tls-san: "bad name"/],
    ['a bad prefix', { prefix: 'Bucket Agent' }, /--prefix/],
    ['a bad service name', { service: 'Hook_1' }, /--service/],
  ];
  for (const [name, args, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => webhookConfigFrom({ ...base, ...args }, false, {}),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
      );
    });
  }
});
