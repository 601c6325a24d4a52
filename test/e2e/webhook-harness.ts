/**
 * What the webhook e2e tests share: the shipped bundle run as `bucket-agent webhook` with
 * self-managed TLS against a real control plane, a MutatingWebhookConfiguration calling it by URL
 * (https://127.0.0.1:<port>/mutate) whose caBundle the webhook itself keeps, and a plain https
 * client with the admin kubeconfig's client certificate. Each scenario takes its own namespace and
 * webhook configuration (namespaceSelector on the namespace's name), so they cannot see each
 * other's pods.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { ControlPlane } from '../env/control-plane.js';
import { freePort, waitUntil } from '../env/process.js';
import { REPO_ROOT } from '../env/tools.js';
import { startCli, type Running } from './cli-runs.js';

export const BUNDLE = join(REPO_ROOT, 'dist/bundle/bucket-agent.js');
export const SYSTEM_NS = 'bucket-agent-system';
export const LABEL = 'bucket-agent.io/inject';
export const INJECTED = 'bucket-agent.io/status';

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A plain https client with the admin kubeconfig's client certificate. */
export class Kube {
  private readonly agent: https.Agent;
  private readonly server: URL;
  constructor(kubeconfigPath: string) {
    const config = JSON.parse(readFileSync(kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
    };
    const b64 = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64');
    this.server = new URL(config.clusters[0]?.cluster.server ?? '');
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: b64(config.clusters[0]?.cluster['certificate-authority-data']),
      cert: b64(config.users[0]?.user['client-certificate-data']),
      key: b64(config.users[0]?.user['client-key-data']),
    });
  }
  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.server.hostname,
          port: this.server.port,
          path,
          method,
          agent: this.agent,
          headers: payload === undefined ? {} : { 'content-type': contentType },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
  close(): void {
    this.agent.destroy();
  }
}

export interface Webhook {
  readonly running: Running;
  readonly port: number;
  readonly health: string;
}

export function pod(name: string, labels: Record<string, string>, annotations: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, annotations },
    spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', env: [{ name: 'GREETING', value: 'hello' }] }] },
  };
}

export function annotationsOf(answer: Answer): Record<string, string> {
  return (answer.body.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
}

/** Webhooks, their configurations and namespaces on one control plane; cleanup() stops the webhooks. */
export class WebhookHarness {
  readonly kube: Kube;
  private readonly cleanups: (() => Promise<unknown>)[] = [];

  private constructor(readonly cp: ControlPlane) {
    this.kube = new Kube(cp.kubeconfigPath);
  }

  /** A harness on `cp`, with the webhooks' own namespace (their Secrets and Leases) created. */
  static async on(cp: ControlPlane): Promise<WebhookHarness> {
    await cp.createNamespace(SYSTEM_NS);
    return new WebhookHarness(cp);
  }

  async newNamespace(prefix: string): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await this.cp.createNamespace(name);
    return name;
  }

  /**
   * The bundle's webhook with self-managed TLS for Service `names.service`, on `names.port` (else a
   * free one); resolves once /readyz is 200. It looks for its MutatingWebhookConfiguration at start
   * and then once a minute (RECONCILE_EVERY_MS), so a configuration created before it (pass the port
   * it will listen on) gets its caBundle at once.
   */
  async startWebhook(names: { service: string; port?: number }, extra: string[] = []): Promise<Webhook> {
    const [port, healthPort] = [names.port ?? (await freePort()), await freePort()];
    const args = [
      'webhook',
      ...['--agent-image', 'registry.example.org/bucket-agent:0.1.0', '--tls', 'self', '--kubeconfig', this.cp.kubeconfigPath],
      ...['--namespace', SYSTEM_NS, '--service', names.service, '--tls-san', '127.0.0.1', '--trust-delay', '2s'],
      ...['--listen', `127.0.0.1:${port}`, '--health-listen', `127.0.0.1:${healthPort}`, '--shutdown-delay', '0', '--log-format', 'json'],
      ...extra,
    ];
    const running = startCli(args, {}, BUNDLE);
    this.cleanups.push(() => running.stop());
    const health = `http://127.0.0.1:${healthPort}`;
    await waitUntil(
      async () => (await fetch(`${health}/readyz`)).ok,
      30_000,
      () => `webhook not ready:\n${running.stderrSoFar()}`,
      200,
    );
    return { running, port, health };
  }

  /** A MutatingWebhookConfiguration for one namespace, calling `port` by URL; no caBundle (the webhook patches it). */
  async createWebhookConfig(name: string, namespace: string, port: number, failurePolicy: 'Fail' | 'Ignore'): Promise<void> {
    const answer = await this.kube.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: 'inject.bucket-agent.io',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy,
          timeoutSeconds: 10,
          reinvocationPolicy: 'Never',
          clientConfig: { url: `https://127.0.0.1:${port}/mutate` },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
          objectSelector: { matchLabels: { [LABEL]: 'true' } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        },
      ],
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
  }

  createPod(namespace: string, body: object, dryRun = false): Promise<Answer> {
    return this.kube.request('POST', `/api/v1/namespaces/${namespace}/pods${dryRun ? '?dryRun=All' : ''}`, body);
  }

  /** Until the apiserver calls the webhook with a caBundle that trusts it: a labelled dry-run pod comes back injected. */
  async untilAdmitting(namespace: string, timeoutMs = 30_000): Promise<void> {
    const probe = pod('probe', { [LABEL]: 'true' }, { 'bucket-agent.io/buckets': 'data' });
    let last: Answer | undefined;
    await waitUntil(
      async () => {
        last = await this.createPod(namespace, probe, true);
        return last.status === 201 && annotationsOf(last)[INJECTED] === 'injected';
      },
      timeoutMs,
      () => `the apiserver does not get mutated pods from the webhook: ${JSON.stringify(last?.body).slice(0, 400)}`,
      250,
    );
  }

  /** Stops every webhook started, newest first. */
  async cleanup(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    this.kube.close();
  }
}
