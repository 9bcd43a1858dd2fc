// Benchmarks compare Ripcord with peers on "equivalent" flags; these checks make a run fail when the
// flags answer differently, since timing them would then compare unequal work.
import type { FlagDefinition } from '../src/domain/flag.js';

/** `flags` with every percentage strictly between 0 and 100 set to `to`: where 0 and 100 answer alike, no hash decided. */
export function pinnedPercentages(flags: FlagDefinition[], to: 0 | 100): FlagDefinition[] {
  const pin = (percentage: number) => (percentage > 0 && percentage < 100 ? to : percentage);
  return flags.map((flag) => ({
    ...flag,
    config: {
      ...flag.config,
      rules: flag.config.rules.map((rule) => (rule.percentage === undefined ? rule : { ...rule, percentage: pin(rule.percentage) })),
      targeting: flag.config.targeting.map((target) => ({ ...target, percentage: pin(target.percentage) })),
      rollout: flag.config.rollout ? { ...flag.config.rollout, percentage: pin(flag.config.rollout.percentage) } : flag.config.rollout,
    },
  }));
}

/** Ripcord's answer for a user, and whether a hash decided it (percentages pinned to 0 and to 100 answer differently). */
export type RipcordAnswer = (key: string, user: number) => { value: boolean; hashed: boolean };

/**
 * How often each peer answers as Ripcord does, per flag. Throws unless every user whose answer no hash
 * decides gets Ripcord's answer from every peer, and, on the hashed users (each SDK hashes its own
 * way), a peer serves about the same share and agrees as often as two independent splits of those
 * shares would (p·q + (1−p)(1−q)), both within 4 standard errors.
 */
export async function checkEqualWork(keys: string[], users: number, ripcord: RipcordAnswer, peers: Record<string, (key: string, user: number) => boolean | Promise<boolean>>): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const counts = Object.fromEntries(Object.keys(peers).map((peer) => [peer, { agreed: 0, exactMismatch: 0, hashedOn: 0, hashedAgreed: 0 }]));
    let hashed = 0;
    let hashedOn = 0;
    for (let user = 0; user < users; user++) {
      const mine = ripcord(key, user);
      if (mine.hashed) hashed++;
      if (mine.hashed && mine.value) hashedOn++;
      for (const [peer, answer] of Object.entries(peers)) {
        const theirs = await answer(key, user);
        const c = counts[peer]!;
        const same = theirs === mine.value;
        if (same) c.agreed++;
        if (!mine.hashed && !same) c.exactMismatch++;
        if (mine.hashed && theirs) c.hashedOn++;
        if (mine.hashed && same) c.hashedAgreed++;
      }
    }
    out[key] = {};
    for (const [peer, c] of Object.entries(counts)) {
      out[key][peer] = c.agreed / users;
      if (c.exactMismatch > 0) problems.push(`${key}: ${peer} answers ${c.exactMismatch} of ${users - hashed} users no hash decides otherwise than Ripcord`);
      if (hashed === 0) continue;
      const p = hashedOn / hashed;
      const q = c.hashedOn / hashed;
      const mean = (p + q) / 2;
      if (Math.abs(p - q) > 4 * Math.sqrt((2 * mean * (1 - mean)) / hashed)) problems.push(`${key}: ${peer} turns on ${(q * 100).toFixed(1)}% of the hashed users, Ripcord ${(p * 100).toFixed(1)}%`);
      const expected = p * q + (1 - p) * (1 - q);
      const observed = c.hashedAgreed / hashed;
      if (observed < expected - 4 * Math.sqrt((expected * (1 - expected)) / hashed)) {
        problems.push(`${key}: ${peer} agrees on ${(observed * 100).toFixed(1)}% of the hashed users, below the ${(expected * 100).toFixed(1)}% two independent splits would`);
      }
    }
  }
  if (problems.length) throw new Error(`the peers' flags are not equivalent to Ripcord's, so their timings would compare unequal work:\n  ${problems.join('\n  ')}`);
  return out;
}
