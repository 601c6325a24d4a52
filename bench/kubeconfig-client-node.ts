/**
 * The alternative weighed in issue 9 item 3: client-node's own KubeConfig reading a kubeconfig
 * file and GETting the Secret, as bucket-agent would if it loaded KubeConfig for every
 * kubeconfig file. Run by bench/kubeconfig-parity.ts on the corpus; exit 0 when the Secret came
 * back. Usage: node dist/bench/kubeconfig-client-node.js <kubeconfig> <secret>
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

const [file = '', name = ''] = process.argv.slice(2);
try {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  process.stdout.write(`secret/${secret.metadata?.name ?? ''}\n`);
} catch (err) {
  // The class and code only: client-node's messages may quote a response body.
  const code = (err as { code?: unknown }).code;
  process.stderr.write(
    `${err instanceof Error ? err.name : 'error'} ${typeof code === 'string' || typeof code === 'number' ? code : ''}\n`,
  );
  process.exitCode = 1;
}
