/**
 * The reference pages under docs/ against the code they describe: every exit code, every metric the
 * registries serve, every injection annotation, every error code, Event reason and failure reason
 * the sources use, and the generated catalogue of messages at the end of troubleshooting.md.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCatalogue, TROUBLESHOOTING_PATH, withCatalogue } from '../../scripts/docs/error-catalogue.js';
import { EXIT } from '../../src/errors.js';
import { ANNOTATIONS } from '../../src/inject/annotations.js';
import { BAD_UPDATE_REASONS, createSidecarMetrics, VERIFY_REASONS } from '../../src/runtime/metrics.js';
import { createWebhookMetrics } from '../../src/runtime/webhook-metrics.js';
import { REPO_ROOT } from '../env/tools.js';

function page(name: string): string {
  return readFileSync(join(REPO_ROOT, 'docs', name), 'utf8');
}

/** Every `.ts` file under src/, as text. */
function sources(dir = join(REPO_ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [readFileSync(join(dir, d.name), 'utf8')] : [],
  );
}

function matches(texts: readonly string[], pattern: RegExp): string[] {
  return [...new Set(texts.flatMap((t) => [...t.matchAll(pattern)].map((m) => m[1] ?? '')))].sort();
}

/** The metric names a registry serves: its `# TYPE` lines. */
function served(text: string): string[] {
  return matches([text], /^# TYPE (\S+) /gm);
}

/** The names in backticks in the first cell of every table row: what a table documents. */
function tableNames(text: string): string {
  return matches([text], /^\| ([^|\n]+) \|/gm)
    .flatMap((cell) => matches([cell], /`([^`]+)`/g))
    .map((name) => `\`${name}\``)
    .join(' ');
}

function missing(names: readonly string[], text: string, form: (name: string) => string): string[] {
  return names.filter((name) => !text.includes(form(name)));
}

describe('docs/ reference pages', () => {
  it('exit-codes.md has a row for every exit code', () => {
    const codes = Object.values(EXIT).map(String);
    assert.deepEqual(
      missing(codes, page('exit-codes.md'), (c) => `\n| ${c} | `),
      [],
    );
  });

  it('metrics.md documents every metric the sidecar and the webhook serve', () => {
    // Gauges computed at scrape show only once they have a value: give each one.
    const sidecar = createSidecarMetrics({ aliases: ['a'] });
    sidecar.keysObserved('a', Date.now());
    sidecar.rendered();
    const webhook = createWebhookMetrics();
    webhook.served(Date.now() + 60_000);
    webhook.leader(true);
    const names = [...served(sidecar.render()), ...served(webhook.render())];
    assert.ok(names.length >= 20, `only ${names.length} metrics found`);
    assert.deepEqual(
      missing(names, tableNames(page('metrics.md')), (n) => `\`${n}\``),
      [],
    );
  });

  it('annotations.md has a row for every injection annotation', () => {
    assert.deepEqual(
      missing(ANNOTATIONS, page('annotations.md'), (a) => `\n| \`${a}\` | `),
      [],
    );
  });

  it('troubleshooting.md names every error code, Event reason and failure reason the sources use', () => {
    const src = sources();
    const codes = matches(src, /'(E_[A-Z_]+)'/g);
    const events = matches(
      src,
      /'((?:Bucket|Credentials)(?:Waiting|Failed|Ready|Timeout|VerifyFailed|InitFailed|Rendered|Rotated|BadUpdate))'/g,
    );
    assert.ok(codes.length >= 10 && events.length >= 10, `codes ${codes.join(',')}; events ${events.join(',')}`);
    const text = page('troubleshooting.md');
    assert.deepEqual(
      missing(codes, text, (c) => `\`${c}\``),
      [],
      'error codes',
    );
    assert.deepEqual(
      missing(events, text, (e) => `| \`${e}\` |`),
      [],
      'Event reasons',
    );
    assert.deepEqual(
      missing([...VERIFY_REASONS, ...BAD_UPDATE_REASONS], text, (r) => `\`${r}\``),
      [],
      'reasons',
    );
  });

  it("troubleshooting.md's catalogue is every message the sources make today", () => {
    const text = page('troubleshooting.md');
    assert.equal(
      text,
      withCatalogue(text, renderCatalogue(REPO_ROOT)),
      `${TROUBLESHOOTING_PATH}: the catalogue is stale; run: npm run build && node dist/scripts/docs/error-catalogue.js`,
    );
  });
});
