/**
 * Finds flag keys in source code. Two kinds of reference:
 * - a call site of the SDKs or OpenFeature (`useFlag('k'`, `client.boolean('k'`, `getBooleanValue('k'`,
 *   `req.flags.string('k'` …), whose first argument is a flag key whether or not the server knows it;
 * - any string literal that is exactly a known key (configs, constants, other languages' SDKs).
 * Pure over file contents, so it has unit tests; walking the tree is the CLI's part.
 */
export interface CodeReference {
  flag: string;
  path: string;
  line: number;
  /** `call`: an SDK/OpenFeature call site; `literal`: a string equal to a known key. */
  kind: 'call' | 'literal';
}

const CALL = /\b(?:useFlag|useFlagDetails|boolean|string|number|json|details|isEnabled|variation|get(?:Boolean|String|Number|Object)(?:Value|Details))\s*(?:<[^>()]*>)?\s*\(\s*(['"`])([A-Za-z0-9][A-Za-z0-9._-]{0,127})\1/g;
const LITERAL = /(['"`])([A-Za-z0-9][A-Za-z0-9._-]{0,127})\1/g;

/** The references in one file's text; `known` is the server's set of flag keys. */
export function scanText(path: string, text: string, known: ReadonlySet<string>): CodeReference[] {
  const found = new Map<string, CodeReference>();
  const lines = text.split(/\r?\n/);
  lines.forEach((content, index) => {
    const line = index + 1;
    for (const match of content.matchAll(CALL)) {
      const flag = match[2]!;
      found.set(`${flag}:${line}`, { flag, path, line, kind: 'call' });
    }
    for (const match of content.matchAll(LITERAL)) {
      const flag = match[2]!;
      if (known.has(flag) && !found.has(`${flag}:${line}`)) found.set(`${flag}:${line}`, { flag, path, line, kind: 'literal' });
    }
  });
  return [...found.values()];
}

export interface ReferenceReport {
  /** Known flags and where each is used (paths with lines). */
  used: Array<{ flag: string; files: Array<{ path: string; lines: number[] }> }>;
  /** Known flags no file mentions: candidates for removal. */
  unreferenced: string[];
  /** Keys at SDK call sites that the server does not know (typos, or flags already deleted). */
  unknown: Array<{ flag: string; path: string; line: number }>;
}

export function summarise(references: CodeReference[], known: ReadonlySet<string>): ReferenceReport {
  const byFlag = new Map<string, Map<string, number[]>>();
  const unknown: ReferenceReport['unknown'] = [];
  for (const ref of references) {
    if (!known.has(ref.flag)) {
      if (ref.kind === 'call') unknown.push({ flag: ref.flag, path: ref.path, line: ref.line });
      continue;
    }
    const files = byFlag.get(ref.flag) ?? new Map<string, number[]>();
    files.set(ref.path, [...(files.get(ref.path) ?? []), ref.line]);
    byFlag.set(ref.flag, files);
  }
  const used = [...byFlag.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([flag, files]) => ({
    flag, files: [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, lines]) => ({ path, lines: lines.sort((x, y) => x - y) })),
  }));
  const unreferenced = [...known].filter((flag) => !byFlag.has(flag)).sort();
  return { used, unreferenced, unknown };
}
