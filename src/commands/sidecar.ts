import { SIDECAR_OPTIONS, sidecarConfigFrom, type SidecarArgs } from '../config/sidecar.js';
import type { Command } from './command.js';

/** Signals that end the sidecar: the kubelet's SIGTERM, and Ctrl-C when run by hand. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** `bucket-agent sidecar`: keep the files current as keys rotate, notify the app, serve health and credentials. */
export const sidecarCommand: Command<SidecarArgs> = {
  name: 'sidecar',
  describe: 'Keep the config files current as keys rotate, tell the app, serve /healthz, /readyz, /metrics and AWS container credentials',
  options: SIDECAR_OPTIONS,
  examples: [
    ['$0 sidecar --bucket backup-prod --out /bucket --notify signal:HUP:nginx', 'in a pod: watch the Secret, SIGHUP nginx on rotation'],
    [
      '$0 sidecar --bucket data --out /bucket --credentials-listen 127.0.0.1:9911',
      'serve the keys to AWS SDKs (AWS_CONTAINER_CREDENTIALS_FULL_URI)',
    ],
    [
      '$0 sidecar --bucket data --out /bucket --source volume --secrets-dir /secrets',
      'read kubelet-mounted Secret volumes: no RBAC needed',
    ],
  ],
  async run(args, ctx) {
    const config = sidecarConfigFrom(args, ctx.stderrIsTTY);
    const log = await ctx.logger(config.log);
    const { runSidecar } = await import('../runtime/sidecar.js');
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
    try {
      await runSidecar(config, log, stop.signal);
    } finally {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    }
  },
};
