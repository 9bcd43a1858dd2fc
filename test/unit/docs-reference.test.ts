import { describe, expect, it } from 'vitest';
import { configVariables, renderConfigReference } from '../../scripts/docs/config-reference.js';

describe('docs/configuration.md', () => {
  it('documents every variable of the config schema, each with its own comment', () => {
    const variables = configVariables();
    expect(variables.length).toBeGreaterThan(50);
    expect(variables.filter((v) => v.description.length < 10).map((v) => v.name)).toEqual([]);
    const port = variables.find((v) => v.name === 'PORT');
    expect(port).toMatchObject({ defaultValue: '8080' });
    expect(variables.find((v) => v.name === 'LOG_LEVEL')?.allowed).toContain('debug');
  });

  it('is what the config schema says (npm run docs:generate rewrites it)', async () => {
    await expect(renderConfigReference()).toMatchFileSnapshot('../../docs/configuration.md');
  });
});
