import { RENDER_OPTIONS, renderConfigFrom, type RenderArgs } from '../config/render.js';
import type { Command } from './command.js';
import { printWritten } from './context.js';

/** `bucket-agent render`: Secret/BucketInfo file(s) in, config files out. No cluster needed. */
export const renderCommand: Command<RenderArgs> = {
  name: 'render',
  describe: 'Render Secret/BucketInfo files into config files for every S3 tool (offline)',
  options: RENDER_OPTIONS,
  examples: [
    ['$0 render --secret-file examples/bucket-backup-prod.yaml --out ./out', 'render every format for one bucket'],
    ['kubectl get secret bucket-x -o yaml | $0 render --secret-file - --out ./out --formats aws,env', 'read stdin'],
  ],
  async run(args, ctx) {
    const config = renderConfigFrom(args, ctx.stderrIsTTY);
    const log = await ctx.logger(config.log);
    const { runRender } = await import('../runtime/render.js');
    const result = await runRender(config, log.child({ component: 'render' }), ctx.stdin);
    printWritten(ctx, config.output.out, result);
  },
};
