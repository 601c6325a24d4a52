/**
 * JSON text with object members in a given order. JSON.stringify puts integer-like keys first
 * ("10" before "a"), and an alias may be all digits: the output keeps the input order instead.
 */
export type OrderedMembers = readonly (readonly [string, unknown])[];

/** `{ "k": v, ... }` pretty-printed with two spaces, members in `members` order. */
export function stringifyOrdered(members: OrderedMembers, depth = 0): string {
  if (members.length === 0) return '{}';
  const pad = '  '.repeat(depth + 1);
  const body = members.map(([key, value]) => `${pad}${JSON.stringify(key)}: ${nested(value, depth + 1)}`);
  return `{\n${body.join(',\n')}\n${'  '.repeat(depth)}}`;
}

function nested(value: unknown, depth: number): string {
  const text = JSON.stringify(value, null, 2);
  return text.split('\n').join(`\n${'  '.repeat(depth)}`);
}
