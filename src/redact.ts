/**
 * The net under "no key in any output": key values this process has read are remembered, and
 * every log line, Event message and error printed passes through `redactSecrets`.
 *
 * Messages are built not to quote Secret payloads in the first place (they name fields, not
 * values), but some rightly name a bucket or an endpoint, and a hostile or careless Secret may
 * hold a key there too (`https://KEY:SECRET@host`, a bucket named like the key). Masking the
 * known values wherever they appear catches that without giving up useful words.
 */

/** Shorter values are not masked: they would blank out ordinary words and no real key is that short. */
export const MIN_SECRET_LENGTH = 8;
/** A sidecar sees a new pair per rotation; old keys are kept for a while, bounded. */
const MAX_REMEMBERED = 256;
export const REDACTED = '[redacted]';

/** Insertion-ordered, so the oldest values are dropped first. */
const remembered = new Set<string>();
/** Longest first, so a key that contains another is masked whole. */
let ordered: string[] = [];

/** Remembers key values (and their JSON-escaped spellings, as they appear in JSON log lines). */
export function rememberSecrets(values: Iterable<string | undefined>): void {
  let added = false;
  for (const value of values) {
    if (value === undefined) continue;
    for (const spelling of spellingsOf(value)) {
      if (remembered.has(spelling)) continue;
      remembered.add(spelling);
      added = true;
    }
  }
  if (!added) return;
  for (const oldest of remembered) {
    if (remembered.size <= MAX_REMEMBERED) break;
    remembered.delete(oldest);
  }
  ordered = [...remembered].sort((a, b) => b.length - a.length);
}

/**
 * The value, the value without the control characters that made it invalid (a key with a stray
 * newline is still that key), and their JSON escapes.
 */
function spellingsOf(value: string): string[] {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const forms = [value, value.replace(/[\u0000-\u001f\u007f]/g, '').trim()];
  return [...new Set(forms.flatMap((form) => [form, JSON.stringify(form).slice(1, -1)]))].filter(
    (form) => form.length >= MIN_SECRET_LENGTH,
  );
}

/** `text` with every remembered key value replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const value of ordered) if (out.includes(value)) out = out.split(value).join(REDACTED);
  return out;
}

/** For tests: forget everything. */
export function forgetSecrets(): void {
  remembered.clear();
  ordered = [];
}
