import assert from 'node:assert/strict';
import jsonPatch from 'fast-json-patch';
import { AnnotationError } from '../../../src/errors.js';
import type { Container, Pod } from '../../../src/inject/kube-types.js';
import { DEFAULT_PREFIX, mutatePod, type InjectContext, type InjectFacts, type PodMutation } from '../../../src/inject/mutate.js';

export const FACTS: InjectFacts = { prefix: DEFAULT_PREFIX, image: 'registry.test/bucket-agent:1', nativeSidecars: true };
export const CLASSIC: InjectFacts = { ...FACTS, nativeSidecars: false };

export interface PodOptions {
  annotations?: Record<string, unknown>;
  labels?: Record<string, unknown>;
  spec?: Partial<Pod['spec']>;
  metadata?: Record<string, unknown>;
}

/** A labelled pod with one app container and the given annotations (short names get the prefix). */
export function pod(annotations: Record<string, unknown> = { buckets: 'backup' }, options: PodOptions = {}): Pod {
  const prefixed = Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k.includes('/') ? k : `${DEFAULT_PREFIX}${k}`, v]));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'app',
      namespace: 'tenant',
      labels: options.labels ?? { [`${DEFAULT_PREFIX}inject`]: 'true' },
      annotations: prefixed,
      ...options.metadata,
    },
    spec: { containers: [{ name: 'app', image: 'registry.test/app:1' }], ...options.spec },
  };
}

/** mutatePod, checking on every call what must always hold: the input untouched, the patch reproducing the result. */
export function mutate(input: unknown, facts: InjectFacts = FACTS, context?: InjectContext): PodMutation {
  const before = structuredClone(input);
  const result = mutatePod(input, facts, context);
  assert.deepEqual(input, before, 'the input pod was modified');
  // Through JSON, as the webhook sends it: no undefined values, nothing the wire would drop.
  const patch = JSON.parse(JSON.stringify(result.patch)) as jsonPatch.Operation[];
  const patched = jsonPatch.applyPatch(structuredClone(input), patch, true, false).newDocument;
  assert.deepEqual(patched, result.pod, 'the patch applied to the original is not the mutated pod');
  assert.deepEqual(JSON.parse(JSON.stringify(result.pod)), result.pod, 'the pod does not survive JSON');
  return result;
}

export function mutated(input: unknown, facts: InjectFacts = FACTS, context?: InjectContext): Pod {
  const result = mutate(input, facts, context);
  assert.equal(result.injected, true, `not injected: ${result.warnings.join('; ')}`);
  return result.pod as Pod;
}

export function refused(
  input: unknown,
  annotation: string,
  says: RegExp,
  { facts = FACTS, context }: { facts?: InjectFacts; context?: InjectContext } = {},
): void {
  assert.throws(
    () => mutatePod(input, facts, context),
    (err: unknown) => {
      assert.ok(err instanceof AnnotationError, `not an AnnotationError: ${String(err)}`);
      const key = annotation.includes('/') ? annotation : `${DEFAULT_PREFIX}${annotation}`;
      assert.equal(err.annotation, key);
      assert.ok(err.message.startsWith(`${key}: `), err.message);
      assert.match(err.message, says);
      return true;
    },
  );
}

export function container(p: Pod, name: string): Container {
  const found = [...p.spec.containers, ...(p.spec.initContainers ?? [])].find((c) => c.name === name);
  assert.ok(found !== undefined, `no container ${name}`);
  return found;
}

export function envOf(c: Container): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((v) => [v.name, v.value]));
}

/** The value after a flag in an agent's args (the last one, for repeated flags use flagValues). */
export function flagValues(c: Container, flag: string): string[] {
  const args = c.args ?? [];
  const values: string[] = [];
  args.forEach((arg, i) => {
    if (arg === flag && args[i + 1] !== undefined) values.push(args[i + 1] ?? '');
    if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
  });
  return values;
}

export const names = (list: readonly { name: string }[] | undefined): string[] => (list ?? []).map((x) => x.name);
