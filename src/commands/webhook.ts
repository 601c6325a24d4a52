import { WEBHOOK_OPTIONS, webhookConfigFrom, type WebhookArgs } from '../config/webhook.js';
import type { Command } from './command.js';

/** The kubelet's SIGTERM, and Ctrl-C when run by hand. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** `bucket-agent webhook`: the mutating admission webhook doing `inject`'s mutation for labelled pods. */
export const webhookCommand: Command<WebhookArgs> = {
  name: 'webhook',
  describe: 'Mutating admission webhook: inject the agent into labelled pods (AdmissionReview v1 on POST /mutate over TLS)',
  options: WEBHOOK_OPTIONS,
  examples: [
    [
      '$0 webhook --agent-image registry.example.org/bucket-agent:0.1.0',
      'in a Deployment: self-managed TLS (Secret bucket-agent-webhook-tls, caBundle patched, Lease shared by the replicas)',
    ],
    [
      '$0 webhook --agent-image IMAGE --tls files --tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key',
      "cert-manager's certificate, reloaded when it is renewed",
    ],
  ],
  async run(args, ctx) {
    const config = webhookConfigFrom(args, ctx.stderrIsTTY);
    const log = await ctx.logger(config.log);
    const { runWebhook } = await import('../runtime/webhook.js');
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
    try {
      await runWebhook(config, log, stop.signal);
    } finally {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    }
  },
};
