import { CredentialsError } from '../errors.js';
import type { S3Endpoint } from './types.js';

/**
 * Field-level validation shared by every Secret layout. Each check throws CredentialsError naming
 * the source and the field; no message ever includes the value, which may be a secret key.
 */

// Everything below 0x20, plus DEL: no output format can carry these without escaping, and a
// newline in a value would let a Secret inject lines (a second profile, an `export`) into a file.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- as above, global for replacement
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;
// eslint-disable-next-line no-control-regex -- as above, a run at a time
const CONTROL_RUNS = /[\u0000-\u001f\u007f]+/g;

// RFC 1123 label as Kubernetes checks it (validation.IsDNS1123Label).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

// S3 bucket names: the strict rules plus the legacy upper case and underscore that some S3 servers
// still accept. Anything that could break a path or a URL (slash, space, `?`) is out.
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_IN_BRACKETS = /^\[[0-9A-Fa-f:.]+\]$/;
const ENDPOINT = /^(?:(https?):\/\/)?(\[[^\]]*\]|[^:/]*)(?::(\d{1,5}))?\/?$/i;

export interface FieldContext {
  /** e.g. `secret tenant-a/bucket-backup` or `file ./bucketinfo.json` */
  readonly source: string;
  readonly field: string;
}

/** A required, non-empty string free of control characters. */
export function requireText(value: unknown, ctx: FieldContext): string {
  if (value === undefined || value === null) throw new CredentialsError(ctx.source, ctx.field, 'is missing');
  if (typeof value !== 'string') throw new CredentialsError(ctx.source, ctx.field, `must be a string, got ${typeOf(value)}`);
  if (value === '') throw new CredentialsError(ctx.source, ctx.field, 'is empty');
  if (CONTROL_CHARACTER.test(value)) {
    throw new CredentialsError(ctx.source, ctx.field, 'contains a control character (newline, CR, NUL, ...); refusing to write it');
  }
  return value;
}

/** An optional string: undefined, null and '' mean absent. */
export function optionalText(value: unknown, ctx: FieldContext): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return requireText(value, ctx);
}

export function requireBucketName(value: unknown, ctx: FieldContext): string {
  const name = requireText(value, ctx);
  if (!BUCKET_NAME.test(name)) {
    // Not quoted: a payload value, and payloads are where keys sit (names come from flags instead).
    throw new CredentialsError(
      ctx.source,
      ctx.field,
      `is not a valid S3 bucket name (letters, digits, '.', '-', '_'; 2-255 characters, starting with a letter or digit)`,
    );
  }
  return name;
}

export function isDns1123Label(value: string): boolean {
  return DNS1123_LABEL.test(value);
}

export function requireDns1123Label(value: string, ctx: FieldContext): string {
  if (!isDns1123Label(value)) {
    throw new CredentialsError(
      ctx.source,
      ctx.field,
      `"${printable(value)}" is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric)`,
    );
  }
  return value;
}

/**
 * `http(s)://host[:port]` (a trailing `/` is dropped); without a scheme, https. A path, query,
 * user info or any other scheme is refused: tools join the bucket onto the endpoint themselves,
 * and a path would send them somewhere else. The error says which part is wrong but never quotes
 * the value: endpoints are where keys end up by mistake (`https://KEY:SECRET@host`, presigned
 * URLs with `?X-Amz-Credential=`).
 */
export function parseEndpoint(value: unknown, ctx: FieldContext): S3Endpoint {
  const raw = requireText(value, ctx);
  const match = ENDPOINT.exec(raw);
  const [, schemeText, host = '', portText] = match ?? [];
  if (match === null || (!HOST_NAME.test(host) && !IPV6_IN_BRACKETS.test(host))) {
    throw new CredentialsError(ctx.source, ctx.field, `is not an S3 endpoint of the form http(s)://host[:port]: ${endpointProblem(raw)}`);
  }
  const scheme = schemeText === undefined ? 'https' : (schemeText.toLowerCase() as 'http' | 'https');
  const port = parsePort(portText, ctx);
  const url = `${scheme}://${host}${port === undefined ? '' : `:${port}`}`;
  return { scheme, host, port, url };
}

/** What is wrong with an endpoint, in words that quote none of it. */
function endpointProblem(raw: string): string {
  const scheme = /^([^:/?#@]*):\/\//.exec(raw);
  const rest = scheme === null ? raw : raw.slice(scheme[0].length);
  if (scheme !== null && !/^https?$/i.test(scheme[1] ?? '')) return 'the scheme is not http or https';
  if (/^[^/?#]*@/.test(rest)) return 'it holds user info (user:password@); keys belong in the key fields';
  if (/[?#]/.test(rest)) return 'it has a query or fragment';
  if (/\/./.test(rest)) return 'it has a path; the bucket name is a field of its own';
  if (/\s/.test(rest)) return 'it contains white space';
  return 'the host is not a valid host name, IPv4 address or [IPv6] address, or the port is not a number';
}

function parsePort(text: string | undefined, ctx: FieldContext): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (port < 1 || port > 65535) throw new CredentialsError(ctx.source, ctx.field, `port ${port} is out of range 1-65535`);
  return port;
}

/** The port a client connects to: explicit, or the scheme's default. */
export function effectivePort(endpoint: S3Endpoint): number {
  return endpoint.port ?? (endpoint.scheme === 'https' ? 443 : 80);
}

/** Shorten and de-fang a non-secret value (a name given on the command line) for an error message. */
function printable(value: string): string {
  const clean = value.replace(CONTROL_CHARACTERS, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}

/**
 * Server-supplied text (an apiserver Status message, a Bucket condition) as one bounded line:
 * runs of control characters become one space.
 */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(CONTROL_RUNS, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
