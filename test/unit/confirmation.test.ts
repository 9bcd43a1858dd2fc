import { describe, expect, it } from 'vitest';
import { describeConfirmation, summarize } from '../../src/domain/confirmation.js';

const change = { environment: 'production', flag: 'checkout', version: 7, sinceMs: 1_000 };

describe('confirmation of a change by the live replicas', () => {
  it('counts a replica once it acknowledged the version or a later one, timed to the last acknowledgement', () => {
    const acks = new Map([['a', { version: 7, at: 1_004 }], ['b', { version: 9, at: 1_012 }], ['gone', { version: 7, at: 1_001 }]]);
    const confirmation = summarize(['a', 'b'], acks, change);
    expect(confirmation).toEqual({ converged: true, confirmedReplicas: 2, totalReplicas: 2, elapsedMs: 12, laggards: [], replicas: 2 });
    expect(describeConfirmation(confirmation)).toBe('confirmed on 2/2 replicas in 12 ms');
  });

  it('names the live replicas that have not acknowledged it, or only an older version', () => {
    const acks = new Map([['a', { version: 7, at: 1_003 }], ['c', { version: 6, at: 999 }]]);
    const confirmation = summarize(['c', 'a', 'b'], acks, change);
    expect(confirmation).toMatchObject({ converged: false, confirmedReplicas: 1, totalReplicas: 3, laggards: ['b', 'c'] });
    expect(describeConfirmation(confirmation)).toBe('confirmed on 1/3 replicas; not acknowledged by b, c');
  });

  it('has no elapsed time before any acknowledgement', () => {
    expect(summarize(['a'], new Map(), change)).toMatchObject({ converged: false, elapsedMs: null, laggards: ['a'] });
  });
});
