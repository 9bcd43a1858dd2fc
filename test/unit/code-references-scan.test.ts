import { describe, expect, it } from 'vitest';
import { scanText, summarise } from '../../packages/node/src/refs/scan.js';

const known = new Set(['new-checkout', 'dark-mode', 'unused-flag']);

describe('ripcord refs: finding flag keys in code', () => {
  it('finds SDK and OpenFeature call sites, known or not, with their lines', () => {
    const text = [
      "const a = useFlag('new-checkout', false);",
      'const b = client.boolean("dark-mode", false, ctx);',
      "const c = await of.getStringValue('typo-flag', 'x');",
      'const d = req.flags.json<Shape>(`new-checkout`, {});',
    ].join('\n');
    expect(scanText('a.ts', text, known)).toEqual([
      { flag: 'new-checkout', path: 'a.ts', line: 1, kind: 'call' },
      { flag: 'dark-mode', path: 'a.ts', line: 2, kind: 'call' },
      { flag: 'typo-flag', path: 'a.ts', line: 3, kind: 'call' },
      { flag: 'new-checkout', path: 'a.ts', line: 4, kind: 'call' },
    ]);
  });

  it('counts a string literal only when it is exactly a known key', () => {
    const text = 'FLAG = "dark-mode"\nOTHER = "dark-mode-2"\nprint("hello")';
    expect(scanText('p.py', text, known)).toEqual([{ flag: 'dark-mode', path: 'p.py', line: 1, kind: 'literal' }]);
  });

  it('summarises: files and lines per flag, unreferenced flags, unknown keys at call sites', () => {
    const refs = [
      ...scanText('b.ts', "useFlag('new-checkout', 1)\nuseFlag('new-checkout', 2)", known),
      ...scanText('a.ts', "x = 'dark-mode'\nuseFlag('ghost', 0)", known),
    ];
    expect(summarise(refs, known)).toEqual({
      used: [
        { flag: 'dark-mode', files: [{ path: 'a.ts', lines: [1] }] },
        { flag: 'new-checkout', files: [{ path: 'b.ts', lines: [1, 2] }] },
      ],
      unreferenced: ['unused-flag'],
      unknown: [{ flag: 'ghost', path: 'a.ts', line: 2 }],
    });
  });
});
