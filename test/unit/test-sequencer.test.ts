import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LONGEST_FILES, SERIAL_FILES } from '../sequencer.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe("the test run's order (test/sequencer.ts)", () => {
  it('names only test files that exist, each once, none both serial and parallel', () => {
    for (const file of [...LONGEST_FILES, ...SERIAL_FILES]) expect(existsSync(`${root}/${file}`), file).toBe(true);
    expect(new Set(LONGEST_FILES).size).toBe(LONGEST_FILES.length);
    expect(new Set(SERIAL_FILES).size).toBe(SERIAL_FILES.length);
    expect(LONGEST_FILES.filter((file) => SERIAL_FILES.includes(file))).toEqual([]);
  });
});
