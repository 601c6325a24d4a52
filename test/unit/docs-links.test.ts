/**
 * Every relative link in README.md and docs/*.md points at a file that exists, and a `#fragment` at
 * a heading of that file (GitHub's anchors). Cheap, and it catches pages moved or renamed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../env/tools.js';

/** Markdown without its fenced code blocks (a `# comment` in a shell block is no heading). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as `-`, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (heading ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** What is wrong with the relative links of `file` (a path under the repository). */
export function brokenLinks(file: string, read: (path: string) => string | undefined): string[] {
  const text = read(file);
  if (text === undefined) return [`${file}: missing`];
  const problems: string[] = [];
  for (const [, target] of prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (target === undefined || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [path = '', fragment] = target.split('#');
    const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path));
    const body = read(resolved);
    if (body === undefined && !existsSync(join(REPO_ROOT, resolved))) problems.push(`${file}: ${target}: no ${resolved}`);
    else if (fragment !== undefined && fragment !== '' && resolved.endsWith('.md') && !anchors(body ?? '').has(fragment))
      problems.push(`${file}: ${target}: no heading #${fragment} in ${resolved}`);
  }
  return problems;
}

function readRepoFile(path: string): string | undefined {
  const full = join(REPO_ROOT, path);
  try {
    return readFileSync(full, 'utf8');
  } catch {
    return undefined;
  }
}

const PAGES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => relative(REPO_ROOT, join(REPO_ROOT, 'docs', f))),
];

describe('links in README.md and docs/', () => {
  for (const file of PAGES) {
    it(`${file}: every relative link and anchor resolves`, () => assert.deepEqual(brokenLinks(file, readRepoFile), []));
  }

  it('tells a broken link, a broken anchor and a good one apart', () => {
    const files: Record<string, string> = {
      'docs/a.md': '# A page\n\n## `init` flags\n\n[ok](b.md#the-b-section) [self](#init-flags) [gone](c.md) [bad](b.md#nope)\n',
      'docs/b.md': '# B\n\n```sh\n# not a heading\n```\n\n## The B section\n',
    };
    assert.deepEqual(
      brokenLinks('docs/a.md', (p) => files[p]),
      ['docs/a.md: c.md: no docs/c.md', 'docs/a.md: b.md#nope: no heading #nope in docs/b.md'],
    );
    assert.ok(!anchors(files['docs/b.md'] ?? '').has('not-a-heading'));
  });
});
