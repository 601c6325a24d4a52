import type { InjectConfig } from '../config/inject.js';
import { injectManifests } from '../inject/manifests.js';
import type { Logger } from '../log.js';
import { readInput } from './read-input.js';

/** Reads the manifests, injects, logs each warning (to stderr), returns the output text. */
export async function runInject(config: InjectConfig, log: Logger, stdin: NodeJS.ReadableStream): Promise<string> {
  const label = config.input === '-' ? 'stdin' : config.input;
  const result = injectManifests(await readInput(config.input, stdin), config.facts, label);
  for (const warning of result.warnings) log.warn(warning);
  log.debug({ input: label, format: result.format, injected: result.injected }, 'injected');
  return result.text;
}
