import { INJECT_OPTIONS, injectConfigFrom, type InjectArgs } from '../config/inject.js';
import type { Command } from './command.js';

/** `bucket-agent inject`: manifests in, manifests with the agent injected out. No cluster needed. */
export const injectCommand: Command<InjectArgs> = {
  name: 'inject',
  describe:
    'Add the agent (native sidecar, or init + sidecar), its volume and env to labelled pods and pod templates in manifests (offline)',
  options: INJECT_OPTIONS,
  examples: [
    ['$0 inject -f deployment.yaml | kubectl apply -f -', 'inject, then apply'],
    ['kubectl get deploy web -o yaml | $0 inject --no-native-sidecars', 'a cluster older than 1.29: init container + classic sidecar'],
  ],
  async run(args, ctx) {
    const config = injectConfigFrom(args, ctx.stderrIsTTY);
    const log = await ctx.logger(config.log);
    const { runInject } = await import('../runtime/inject.js');
    const text = await runInject(config, log.child({ component: 'inject' }), ctx.stdin);
    if (text !== '') ctx.print(text.endsWith('\n') ? text.slice(0, -1) : text);
  },
};
