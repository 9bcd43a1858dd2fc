import { describe, expect, it } from 'vitest';
import { createClient } from '@ripcord/node';
import { useFlag } from '@ripcord/react';

describe('package exports', () => {
  // Inside the repository the workspaces resolve to their sources (the `ripcord-source` condition);
  // the built packages are tested as tarballs in test/packages.
  it('imports the SDKs as @ripcord/node and @ripcord/react', () => {
    expect(createClient({ offline: true }).boolean('x', true)).toBe(true);
    expect(typeof useFlag).toBe('function');
  });
});
