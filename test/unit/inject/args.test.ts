/**
 * The agent containers' command lines are read by the agent's own parsers (the strict fast path
 * and yargs) and config code, so a renamed or mistyped flag fails here, not in a pod.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStrict } from '../../../src/argv/strict.js';
import { parseWithYargs } from '../../../src/argv/yargs.js';
import { COMMANDS } from '../../../src/commands/index.js';
import { COMMON_OPTIONS, ENV_PREFIX } from '../../../src/config/common.js';
import { initConfigFrom, type InitArgs } from '../../../src/config/init.js';
import { sidecarConfigFrom, type SidecarArgs } from '../../../src/config/sidecar.js';
import type { Container, Pod } from '../../../src/inject/kube-types.js';
import { container, mutated, pod, CLASSIC } from './helpers.js';

const GRAMMAR = { commands: COMMANDS, common: COMMON_OPTIONS, envPrefix: ENV_PREFIX };
const POD_ENV = {
  POD_NAME: 'app',
  POD_NAMESPACE: 'tenant',
  POD_UID: 'u-1',
  KUBERNETES_SERVICE_HOST: '10.0.0.1',
  KUBERNETES_SERVICE_PORT: '443',
};

async function parsed(c: Container): Promise<{ name: string; args: object }> {
  const argv = c.args ?? [];
  const fast = parseStrict(GRAMMAR, argv, {});
  assert.ok(fast !== undefined, `the strict fast path declined ${JSON.stringify(argv)}`);
  const full = await parseWithYargs(GRAMMAR, argv, { columns: 100, version: '0.0.0-test' });
  assert.equal(full?.command.name, fast.command.name);
  return { name: fast.command.name, args: fast.args };
}

describe('inject: agent command lines parse as the agent reads them', () => {
  const annotations = {
    buckets: 'data=main,logs',
    user: 'alice',
    namespace: 'mgmt',
    formats: 'aws,rclone',
    source: 'auto',
    notify: 'signal:HUP:pidfile:/run/a.pid\nhttp:POST:http://127.0.0.1:8080/-/reload\nexec:echo --not-a-flag',
    'credentials-endpoint': 'true',
    verify: 'false',
    'kubeconfig-secret': 'mgmt-kc',
  };
  const spec: Partial<Pod['spec']> = { containers: [{ name: 'app' }], securityContext: { fsGroup: 3000 } };

  it('classic init: every setting arrives', async () => {
    const p = mutated(pod(annotations, { spec }), CLASSIC);
    const { name, args } = await parsed(container(p, 'bucket-agent-init'));
    assert.equal(name, 'init');
    const config = initConfigFrom(args as InitArgs, false, POD_ENV);
    assert.deepEqual(config.buckets, [
      { name: 'data', alias: 'main' },
      { name: 'logs', alias: 'logs' },
    ]);
    assert.equal(config.user, 'alice');
    assert.equal(config.namespace, 'mgmt');
    assert.deepEqual(config.kube, { kind: 'kubeconfig', path: '/var/run/bucket-agent/kubeconfig' });
    assert.deepEqual(config.output, {
      out: '/var/run/bucket-agent/out',
      formats: ['aws', 'rclone'],
      fileMode: 0o440,
      dirMode: 0o550,
      uid: undefined,
      gid: 3000,
    });
    assert.equal(config.verify, undefined);
    assert.equal(config.source, 'auto');
    assert.equal(config.secretsDir, '/var/run/bucket-agent/secrets');
    assert.deepEqual(config.pod, { name: 'app', namespace: 'tenant', uid: 'u-1' });
  });

  it('classic sidecar: listeners and notify actions too', async () => {
    const p = mutated(pod(annotations, { spec }), CLASSIC);
    const { name, args } = await parsed(container(p, 'bucket-agent'));
    assert.equal(name, 'sidecar');
    const config = sidecarConfigFrom(args as SidecarArgs, false, POD_ENV);
    assert.deepEqual(config.listen, { host: undefined, port: 9910 });
    assert.deepEqual(config.credentialsListen, { host: '127.0.0.1', port: 9911 });
    assert.deepEqual(
      config.notify.map((a) => a.kind),
      ['signal', 'http', 'exec'],
    );
    assert.deepEqual(config.notify[2], { kind: 'exec', command: 'echo --not-a-flag' });
  });

  it('native sidecar with defaults: world-readable files, verify on', async () => {
    const p = mutated(pod({ buckets: 'b' }));
    const { name, args } = await parsed(container(p, 'bucket-agent'));
    assert.equal(name, 'sidecar');
    const config = sidecarConfigFrom(args as SidecarArgs, false, POD_ENV);
    assert.equal(config.output.fileMode, 0o444);
    assert.equal(config.output.dirMode, 0o555);
    assert.equal(config.output.gid, undefined);
    assert.ok(config.verify !== undefined);
    assert.deepEqual(config.kube, { kind: 'in-cluster', host: '10.0.0.1', port: '443' });
  });
});
