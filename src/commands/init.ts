import type { Argv, CommandModule } from 'yargs';
import { INIT_OPTIONS, initConfigFrom, type InitArgs } from '../config/init.js';
import { printWritten, type CommandContext } from './context.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

/** `bucket-agent init`: wait for the named Buckets' credentials, verify them, render, exit. */
export function initCommand(ctx: CommandContext): CommandModule<object, InitArgs> {
  return {
    command: 'init',
    describe: 'Wait for Bucket credentials in the cluster, verify them against S3, render config files, exit (init container)',
    builder: (yargs: Argv) =>
      yargs
        .options(INIT_OPTIONS)
        .example('$0 init --bucket backup-prod --out /bucket', 'in a pod: its own namespace and service account')
        .example('$0 init --bucket data=main --bucket logs --kubeconfig /mgmt --namespace tenant-a --out /bucket', 'Buckets in another cluster')
        .epilog(EXIT_CODES_HELP) as unknown as Argv<InitArgs>,
    handler: async (args) => {
      const config = initConfigFrom(args, ctx.stderrIsTTY);
      const log = await ctx.logger(config.log);
      const { runInit } = await import('../runtime/init.js');
      const result = await runInit(config, log.child({ component: 'init' }));
      printWritten(ctx, config.output.out, result);
    },
  };
}
