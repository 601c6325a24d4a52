/** `--source` (init, sidecar) and the `source` annotation: where the agent reads the Secrets from. */
export const SOURCE_KINDS = ['api', 'volume', 'auto'] as const;
export type SourceChoice = (typeof SOURCE_KINDS)[number];

export function isSourceChoice(value: string): value is SourceChoice {
  return (SOURCE_KINDS as readonly string[]).includes(value);
}
