import { parseAllDocuments } from 'yaml';
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
  // YAML is a superset of JSON, so one parser reads both output formats of kubectl.
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const first = doc.errors[0];
    // yaml's messages quote the offending line, which may hold a key: report the position only.
    if (first !== undefined) throw new CredentialsError(label, undefined, `is not valid YAML or JSON (line ${first.linePos?.[0].line ?? '?'})`);
  }
  return list.map((doc) => doc.toJS() as unknown).filter((value) => value !== null && value !== undefined);
}

function listItems(doc: unknown, label: string): SecretObject[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CredentialsError(label, undefined, 'is not a Kubernetes object (expected a Secret or a List of Secrets)');
  }
  const record = doc as { kind?: unknown; items?: unknown };
  if (record.kind !== 'List' && record.kind !== 'SecretList') return [doc];
  return Array.isArray(record.items) ? record.items.flatMap((item) => listItems(item, label)) : [];
}
