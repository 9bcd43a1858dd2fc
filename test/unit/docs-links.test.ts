import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function markdownFiles(): string[] {
  const docs = join(root, 'docs');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : name.endsWith('.md') ? [path] : [];
    });
  return [join(root, 'README.md'), join(root, 'CHANGELOG.md'), join(root, 'packages/node/README.md'), join(root, 'packages/react/README.md'), ...walk(docs)];
}

/** Drops fenced code, where brackets and hashes are code, not links or headings. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[`*_]/g, '').replace(/[^\p{L}\p{N}\- ]/gu, '').replace(/ /g, '-');
}

function anchorsIn(file: string): Set<string> {
  const found = new Set<string>();
  for (const match of prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)) found.add(anchorOf(match[1]!));
  return found;
}

describe('documentation links', () => {
  it('computes anchors as GitHub does', () => {
    expect(anchorOf('Network: trusted proxies')).toBe('network-trusted-proxies');
    expect(anchorOf('2. Layers and the import rules')).toBe('2-layers-and-the-import-rules');
    expect(anchorOf('`ripcord refs`: flag references')).toBe('ripcord-refs-flag-references');
  });

  it('every relative link in README, CHANGELOG, the package READMEs and docs/ reaches a file and heading', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      for (const match of prose(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path === '' ? file : join(dirname(file), path);
        checked++;
        if (!existsSync(resolved)) broken.push(`${relative(root, file)}: ${target} (no such file)`);
        else if (anchor && resolved.endsWith('.md') && !anchorsIn(resolved).has(anchor)) broken.push(`${relative(root, file)}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });
});
