/** `npm run demo` flags, and the few fixed choices that shape the run (declared once, here). */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

export interface DemoOptions {
  /** The summary as JSON on stdout; the step lines go to stderr. */
  readonly json: boolean;
  /** Where init and the sidecar write (kept afterwards); a temp dir under OUT_ROOT, removed at the end, when unset. */
  readonly out: string | undefined;
  /** Build missing test tools (scripts/tools/build-*.sh) instead of stopping with the command to run. */
  readonly build: boolean;
}

/** The Bucket's name, as a tenant would write it. */
export const BUCKET = 'photos';
export const ROTATIONS = 3;
/** Rotation n: COSI's delete + create, then in place, then COSI's way again. */
export const ROTATION_MODES = ['recreate', 'in-place', 'recreate'] as const;
/** How long the old key keeps working after the new Secret is written (COSI revokes it "soon after"). */
export const GRACE_MS = 8_000;
/**
 * The sidecar's --credentials-refresh: how soon the SDK app fetches keys again. The default (10 s)
 * would do as well with a longer grace; a shorter one keeps the demo short.
 */
export const CREDENTIALS_REFRESH = '3s';
/** The provisioner writes the Secret this long after the Bucket, so init is seen waiting for it. */
export const SECRET_DELAY_MS = 2_000;
/**
 * The default output's parent: a tmpfs, as in a pod (the injected volume is a `medium: Memory`
 * emptyDir), where a render needs no fsync; on a disk each render waits for them (hundreds of ms
 * on a busy one). bench/rotation measures on the same.
 */
export const OUT_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
export const SDK_INTERVAL_MS = 200;
export const RCLONE_INTERVAL_MS = 500;
/** After the old key is revoked, the clients keep writing this long before the next rotation. */
export const SETTLE_MS = 2_000;

export const USAGE = `Usage: npm run demo [-- --json] [--out DIR] [--no-build]   (or: node dist/scripts/demo.js ...)
  Runs bucket-agent end to end on this machine: a real kube-apiserver (+kine) and SeaweedFS, a Bucket,
  init, the sidecar, an AWS SDK app and an rclone loop writing while the keys rotate ${ROTATIONS} times.
  --json      the summary as JSON on stdout (the steps go to stderr)
  --out DIR   write the files there and keep them (default: a temp dir on a tmpfs, as in a pod, removed at the end)
  --no-build  when a test tool is missing, stop with the command that builds it instead of building it`;

export class DemoUsageError extends Error {}

export function parseDemoArgs(argv: readonly string[]): DemoOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new DemoUsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help === true) return 'help';
  return { json: parsed.values.json === true, out: parsed.values.out, build: parsed.values['no-build'] !== true };
}

function parse(argv: readonly string[]): {
  values: { json?: boolean; out?: string; 'no-build'?: boolean; help?: boolean };
} {
  return parseArgs({
    args: [...argv],
    options: {
      json: { type: 'boolean' },
      out: { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
