import { CredentialsError } from '../errors.js';

/** A Secret reduced to what the parsers need, `data` already base64-decoded. */
export interface SecretData {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly data: Readonly<Record<string, string>>;
}

/** The parts of a Kubernetes Secret object (client-node V1Secret or a parsed manifest) read here. */
export interface SecretObject {
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown; readonly uid?: unknown; readonly resourceVersion?: unknown };
  readonly data?: unknown;
  readonly stringData?: unknown;
}

// Standard base64 as the apiserver emits it; Buffer.from() would silently skip anything else.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** How a Secret is named in errors: `secret <ns>/<name>` or `secret <name>`. */
export function describeSecret(name: string, namespace: string | undefined): string {
  return `secret ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

/** A Secret object (from the API or a manifest) with `data` decoded; `stringData` wins per key, as in the apiserver. */
export function decodeSecret(obj: SecretObject, label: string): SecretData {
  if (obj.kind !== undefined && obj.kind !== 'Secret') {
    throw new CredentialsError(
      label,
      'kind',
      `expected a Secret, got ${typeof obj.kind === 'string' ? JSON.stringify(obj.kind.slice(0, 40)) : typeof obj.kind}`,
    );
  }
  const meta = obj.metadata ?? {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
  if (name === undefined) throw new CredentialsError(label, 'metadata.name', 'is missing');
  const namespace = stringOrUndefined(meta.namespace);
  const source = describeSecret(name, namespace);
  const data: Record<string, string> = { ...decodeData(obj.data, source), ...plainData(obj.stringData, source) };
  return { name, namespace, uid: stringOrUndefined(meta.uid), resourceVersion: stringOrUndefined(meta.resourceVersion), data };
}

function decodeData(data: unknown, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(asStringMap(data, source, 'data'))) {
    const compact = value.replace(/\s+/g, '');
    if (!BASE64.test(compact)) throw new CredentialsError(source, `data.${key}`, 'is not valid base64');
    out[key] = decodeUtf8(Buffer.from(compact, 'base64'), source, `data.${key}`);
  }
  return out;
}

function plainData(data: unknown, source: string): Record<string, string> {
  return asStringMap(data, source, 'stringData');
}

function asStringMap(value: unknown, source: string, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new CredentialsError(source, field, 'must be a map of strings');
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw new CredentialsError(source, `${field}.${key}`, 'must be a string');
  }
  return value as Record<string, string>;
}

function decodeUtf8(bytes: Buffer, source: string, field: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CredentialsError(source, field, 'is not valid UTF-8');
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
