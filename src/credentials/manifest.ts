import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import { CredentialsError } from '../errors.js';
import { decodeSecret, type SecretData, type SecretObject } from './secret.js';

// Kept apart from secret.ts so that commands reading Secrets from the API (init, sidecar) never
// load the YAML parser: ~10 ms of start-up they have no use for.

/**
 * Secrets from manifest text as `kubectl get secret -o yaml|json` prints it: one Secret, a `List`
 * of them, or several YAML documents. `label` names the input (a file) in errors.
 */
export function parseSecretManifests(text: string, label: string): SecretData[] {
  const objects = parseDocuments(text, label).flatMap((doc) => listItems(doc, label));
  if (objects.length === 0) throw new CredentialsError(label, undefined, 'contains no Secret');
  return objects.map((obj) => decodeSecret(obj, label));
}

function parseDocuments(text: string, label: string): unknown[] {
  // YAML is a superset of JSON, so one parser reads both output formats of kubectl. The core
  // schema: no YAML 1.1 timestamps or binaries, plain strings stay strings. Duplicate keys are errors.
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: CORE_SCHEMA });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    // js-yaml's messages quote the offending line, which may hold a key: report the position only.
    throw new CredentialsError(label, undefined, `is not valid YAML or JSON (line ${err.mark.line + 1})`);
  }
  return docs.filter((value) => value !== null && value !== undefined);
}

function listItems(doc: unknown, label: string): SecretObject[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CredentialsError(label, undefined, 'is not a Kubernetes object (expected a Secret or a List of Secrets)');
  }
  const record = doc as { kind?: unknown; items?: unknown };
  if (record.kind !== 'List' && record.kind !== 'SecretList') return [doc];
  return Array.isArray(record.items) ? record.items.flatMap((item) => listItems(item, label)) : [];
}
