/**
 * The package version, for the User-Agent of every apiserver request. The bundle has it as a
 * constant (scripts/bundle.mjs defines BUCKET_AGENT_VERSION), so a start costs no file read; the
 * unbundled build (dist/src/, the tests) reads package.json once, on first use.
 */
import { readFileSync } from 'node:fs';

// Replaced by esbuild's `define` in the bundle; never declared at run time otherwise.
declare const BUCKET_AGENT_VERSION: string | undefined;

let read: string | undefined;

export function packageVersion(): string {
  if (typeof BUCKET_AGENT_VERSION === 'string') return BUCKET_AGENT_VERSION;
  // dist/src/version.js: package.json is at ../../ (as cli.ts finds it).
  read ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return read;
}

/** `bucket-agent/0.1.0`: what the apiserver's audit log and metrics show as the client. */
export function userAgent(): string {
  return `bucket-agent/${packageVersion()}`;
}
