/**
 * docs/cli.md is generated from the command declarations (scripts/docs/cli-reference.ts): the page
 * on disk must be exactly what the declarations give today, so a flag added, renamed or given
 * another default without regenerating the page fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI_REFERENCE_PATH, renderCliReference } from '../../scripts/docs/cli-reference.js';
import { COMMANDS } from '../../src/commands/index.js';
import { COMMON_OPTIONS, ENV_PREFIX } from '../../src/config/common.js';
import { REPO_ROOT } from '../env/tools.js';

const REGENERATE = 'run: npm run build && node dist/scripts/docs/cli-reference.js';

describe('docs/cli.md', () => {
  it('is exactly the text generated from the command declarations', () => {
    const onDisk = readFileSync(join(REPO_ROOT, CLI_REFERENCE_PATH), 'utf8');
    assert.equal(onDisk, renderCliReference(), `${CLI_REFERENCE_PATH} is stale; ${REGENERATE}`);
  });

  it('names every command, every flag and its BUCKET_AGENT_* variable', () => {
    const text = renderCliReference();
    for (const command of COMMANDS) {
      assert.ok(text.includes(`## \`bucket-agent ${command.name}\``), command.name);
      for (const name of Object.keys({ ...COMMON_OPTIONS, ...command.options })) {
        assert.ok(text.includes(`\`--${name}\``), `${command.name} --${name}`);
        assert.ok(text.includes(`\`${ENV_PREFIX}_${name.toUpperCase().replaceAll('-', '_')}\``), `${command.name} --${name} variable`);
      }
    }
  });

  it('tells a stale page from a current one (a changed default shows)', () => {
    const [first, ...rest] = COMMANDS;
    assert.ok(first !== undefined);
    const changed = { ...first, options: { ...first.options, 'file-mode': { ...first.options['file-mode'], default: '0400' } } };
    assert.notEqual(renderCliReference([changed, ...rest]), renderCliReference());
  });
});
