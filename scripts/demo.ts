/**
 * `npm run demo` (issue 13): the whole product on this machine, no cluster needed. A real
 * kube-apiserver (+kine) and SeaweedFS from test/env, a Bucket, `bucket-agent init` and
 * `bucket-agent sidecar` as local processes, an AWS SDK app on the sidecar's credentials endpoint
 * and an rclone loop on the rendered files writing all along while the keys rotate three times;
 * each step printed as it happens, a summary, then everything stopped (on Ctrl-C too).
 * Exit: 0 all well; 1 something failed (a write, a rotation, a process left behind); 2 bad flags;
 * 130 interrupted. The steps: scripts/demo/flow.ts.
 */
import { createReporter, ms, type Reporter } from './demo/report.js';
import { runDemo } from './demo/flow.js';
import { DemoUsageError, parseDemoArgs, USAGE, type DemoOptions } from './demo/options.js';
import { printSummary, type DemoSummary, type FinalSummary } from './demo/summary.js';
import { killLeftovers, onInterrupt, Teardown } from './demo/teardown.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function options(): DemoOptions | undefined {
  try {
    const parsed = parseDemoArgs(process.argv.slice(2));
    if (parsed !== 'help') return parsed;
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  } catch (err) {
    if (!(err instanceof DemoUsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exit(EXIT_USAGE);
  }
}

/** Stops everything once, checks /proc for anything left, prints the end, exits. */
function finisher(opts: DemoOptions, report: Reporter, teardown: Teardown): (code: number, summary?: DemoSummary) => Promise<never> {
  let finishing: Promise<never> | undefined;
  return (code, summary) =>
    (finishing ??= (async () => {
      report.step('stopping everything');
      const started = Date.now();
      const failed = await teardown.run();
      const left = (await killLeftovers()).map((p) => `${p.name} (pid ${p.pid})`);
      const stopMs = Date.now() - started;
      if (failed.length > 0) report.fail(`could not stop cleanly: ${failed.join(', ')}`);
      if (left.length > 0) report.fail(`still running after the stop, so killed (SIGKILL): ${left.join(', ')}`);
      else report.ok(`stopped in ${ms(stopMs)}; no process left behind (checked /proc)`);
      const wallMs = report.elapsedMs();
      report.info(`demo ${code === 0 && left.length === 0 ? 'done' : 'ended'} in ${ms(wallMs)}`);
      if (opts.json && summary !== undefined) {
        const final: FinalSummary = { ...summary, stopMs, leftovers: left, wallMs };
        process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
      }
      process.exit(left.length > 0 || failed.length > 0 ? Math.max(code, EXIT_FAILED) : code);
    })());
}

async function main(): Promise<void> {
  const opts = options();
  if (opts === undefined) return;
  const report = createReporter(opts.json ? process.stderr : process.stdout, Date.now());
  const teardown = new Teardown();
  const finish = finisher(opts, report, teardown);
  let interrupted = false;
  onInterrupt(teardown, (signal) => {
    interrupted = true;
    report.fail(`${signal}: interrupted`);
    void finish(EXIT_INTERRUPTED);
  });
  try {
    const summary = await runDemo(opts, report, teardown);
    printSummary(report, summary);
    if (!summary.ok) report.fail('not everything went as it should: see the FAILED lines above');
    await finish(summary.ok ? 0 : EXIT_FAILED, summary);
  } catch (err) {
    // Once interrupted, what fails is what the teardown is stopping underneath: not news.
    if (!interrupted) report.fail(err instanceof Error ? err.message : String(err));
    await finish(interrupted ? EXIT_INTERRUPTED : EXIT_FAILED);
  }
}

await main();
