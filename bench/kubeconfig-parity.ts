/**
 * bench/kubeconfig-parity: how often each way of reading kubeconfigs agrees with kubectl on the
 * corpus of test/env/kubeconfig-corpus.ts, against the real apiserver: bucket-agent's own loader
 * (the choice made) and client-node's KubeConfig (the alternative). A case is right when the
 * program works exactly when kubectl does, and goes through the proxy exactly when kubectl does;
 * a failure also counts as right only when it comes within 8 s (init would otherwise retry it
 * until --timeout, which is what issue 9 reported). Prints the counts and the cases each gets
 * wrong, and writes bench/results/kubeconfig-parity.json.
 * Usage: node dist/bench/kubeconfig-parity.js
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CorpusCase } from '../test/env/kubeconfig-corpus.js';
import { BUCKET, caseEnv, run, runKubectl, runOurs, startDifferential, type Run } from '../test/env/kubeconfig-differential.js';
import { REPO_ROOT } from '../test/env/tools.js';

const CLIENT_NODE = join(REPO_ROOT, 'dist/bench/kubeconfig-client-node.js');
const AT_ONCE_MS = 8_000;

interface Verdict {
  readonly works: boolean;
  readonly proxied: boolean;
  readonly ms: number;
}

interface Row {
  readonly name: string;
  readonly kubectl: Verdict;
  readonly ours: Verdict;
  readonly clientNode: Verdict;
  readonly oursAgrees: boolean;
  readonly clientNodeAgrees: boolean;
}

type Runner = (c: CorpusCase, home: string, out: string) => Promise<Run>;

async function verdict(c: CorpusCase, runner: Runner, home: string, out: string): Promise<Verdict> {
  const before = c.via?.proxy.tunnels.length ?? 0;
  const result = await runner(c, home, out);
  return { works: result.code === 0, proxied: (c.via?.proxy.tunnels.length ?? 0) > before, ms: result.ms };
}

function agrees(kubectl: Verdict, other: Verdict): boolean {
  return kubectl.works === other.works && kubectl.proxied === other.proxied && (other.works || other.ms < AT_ONCE_MS);
}

const clientNode: Runner = (c, home) => run(process.execPath, [CLIENT_NODE, c.kubeconfig, `bucket-${BUCKET}`], caseEnv(c, home), 30_000);

const diff = await startDifferential(mkdtempSync(join(tmpdir(), 'kubeconfig-parity-logs-')));
try {
  const rows: Row[] = [];
  for (const [index, c] of diff.corpus.entries()) {
    const home = join(diff.work, `home-${index}`);
    const out = join(diff.work, `out-${index}`);
    const kubectl = await verdict(c, (k, h) => runKubectl(k, h), home, out);
    const ours = await verdict(c, runOurs, home, `${out}-ours`);
    const theirs = await verdict(c, clientNode, home, out);
    rows.push({
      name: c.name,
      kubectl,
      ours,
      clientNode: theirs,
      oursAgrees: agrees(kubectl, ours),
      clientNodeAgrees: agrees(kubectl, theirs),
    });
  }
  const count = (key: 'oursAgrees' | 'clientNodeAgrees'): number => rows.filter((row) => row[key]).length;
  console.log(`corpus: ${rows.length} kubeconfigs`);
  console.log(`bucket-agent loader agrees with kubectl: ${count('oursAgrees')}/${rows.length}`);
  console.log(`client-node KubeConfig agrees with kubectl: ${count('clientNodeAgrees')}/${rows.length}`);
  for (const row of rows.filter((r) => !r.oursAgrees || !r.clientNodeAgrees)) {
    const show = (v: Verdict): string => `${v.works ? 'works' : 'fails'}${v.proxied ? ' via proxy' : ''} ${v.ms} ms`;
    console.log(`  ${row.name}: kubectl ${show(row.kubectl)}; ours ${show(row.ours)}; client-node ${show(row.clientNode)}`);
  }
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(REPO_ROOT, 'bench/results/kubeconfig-parity.json'),
    `${JSON.stringify({ ours: count('oursAgrees'), clientNode: count('clientNodeAgrees'), total: rows.length, rows }, null, 2)}\n`,
  );
} finally {
  await diff.stop();
}
