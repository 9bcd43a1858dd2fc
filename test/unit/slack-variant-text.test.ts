import { describe, expect, it } from 'vitest';
import { describeVariants } from '../../slack/variant-text.js';

describe('/flag variants text', () => {
  const layouts = { variants: [{ name: 'control' }, { name: 'compact' }, { name: 'wide' }], on_variant: 'control', off_variant: 'control' };

  it('shows the served variants and the split with its weights', () => {
    expect(describeVariants({ ...layouts, split: [{ variant: 'control', weight: 50 }, { variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }] }))
      .toBe(', serves `control` (off: `control`) of control · compact · wide; split control 50% · compact 30% · wide 20%');
    expect(describeVariants(layouts)).toBe(', serves `control` (off: `control`) of control · compact · wide');
  });

  it('adds nothing for a plain on/off config, and only the split for an on/off split', () => {
    const plain = { variants: [{ name: 'on' }, { name: 'off' }], on_variant: 'on', off_variant: 'off' };
    expect(describeVariants(plain)).toBe('');
    expect(describeVariants({ ...plain, split: [{ variant: 'on', weight: 25 }, { variant: 'off', weight: 75 }] })).toBe('; split on 25% · off 75%');
    expect(describeVariants({})).toBe('');
  });
});
