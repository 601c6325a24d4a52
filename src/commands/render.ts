import type { Argv, CommandModule } from 'yargs';
import { RENDER_OPTIONS, renderConfigFrom, type RenderArgs } from '../config/render.js';
import { printWritten, type CommandContext } from './context.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

/** `bucket-agent render`: Secret/BucketInfo file(s) in, config files out. No cluster needed. */
export function renderCommand(ctx: CommandContext): CommandModule<object, RenderArgs> {
  return {
    command: 'render',
    describe: 'Render Secret/BucketInfo files into config files for every S3 tool (offline)',
    builder: (yargs: Argv) =>
      yargs
        .options(RENDER_OPTIONS)
        .example('$0 render --secret-file examples/bucket-backup-prod.yaml --out ./out', 'render every format for one bucket')
        .example('kubectl get secret bucket-x -o yaml | $0 render --secret-file - --out ./out --formats aws,env', 'read stdin')
        .epilog(EXIT_CODES_HELP) as unknown as Argv<RenderArgs>,
    handler: async (args) => {
      const config = renderConfigFrom(args, ctx.stderrIsTTY);
      const log = await ctx.logger(config.log);
      const { runRender } = await import('../runtime/render.js');
      const result = await runRender(config, log.child({ component: 'render' }), ctx.stdin);
      printWritten(ctx, config.output.out, result);
    },
  };
}
