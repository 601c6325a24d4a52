import { INIT_OPTIONS, initConfigFrom, type InitArgs } from '../config/init.js';
import type { Command } from './command.js';
import { printWritten } from './context.js';

/** `bucket-agent init`: wait for the named Buckets' credentials, verify them, render, exit. */
export const initCommand: Command<InitArgs> = {
  name: 'init',
  describe: 'Wait for Bucket credentials in the cluster, verify them against S3, render config files, exit (init container)',
  options: INIT_OPTIONS,
  examples: [
    ['$0 init --bucket backup-prod --out /bucket', 'in a pod: its own namespace and service account'],
    ['$0 init --bucket data=main --bucket logs --kubeconfig /mgmt --namespace tenant-a --out /bucket', 'Buckets in another cluster'],
  ],
  async run(args, ctx) {
    const config = initConfigFrom(args, ctx.stderrIsTTY);
    const log = await ctx.logger(config.log);
    const { runInit } = await import('../runtime/init.js');
    const result = await runInit(config, log.child({ component: 'init' }));
    printWritten(ctx, config.output.out, result);
  },
};
