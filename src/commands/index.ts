import type { Command } from './command.js';
import { initCommand } from './init.js';
import { injectCommand } from './inject.js';
import { renderCommand } from './render.js';
import { sidecarCommand } from './sidecar.js';
import { webhookCommand } from './webhook.js';

export type { Command, ParsedCommandLine } from './command.js';

/** Every subcommand, in --help order. */
export const COMMANDS: readonly Command[] = [renderCommand, initCommand, sidecarCommand, injectCommand, webhookCommand];
