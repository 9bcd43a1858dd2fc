/** What a `/killswitch`, `/flag` or `/rollout` command asked for, parsed from its text. Pure. */
export type KillswitchCommand =
  | { kind: 'help' }
  | { kind: 'kill'; flag: string; environment: string | null; reason: string }
  | { kind: 'restore'; flag: string; environment: string | null }
  | { kind: 'invalid'; message: string };

export type FlagCommand = { kind: 'help' } | { kind: 'show'; flag: string; environment: string | null } | { kind: 'invalid'; message: string };

export const ROLLOUT_ACTIONS = ['status', 'pause', 'resume', 'abort', 'approve'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];
export type RolloutCommand =
  | { kind: 'help' }
  | { kind: 'rollout'; flag: string; action: RolloutAction; environment: string | null; keep: boolean }
  | { kind: 'invalid'; message: string };

/** Splits words and pulls out `--env <env>` / `--env=<env>` (and bare flags such as `--keep`) wherever they stand. */
function tokenize(text: string): { words: string[]; environment: string | null; switches: Set<string>; error?: string } {
  const raw = text.trim().split(/\s+/).filter(Boolean);
  const words: string[] = [];
  const switches = new Set<string>();
  let environment: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const word = raw[i]!;
    if (word === '--env' || word === '-e') {
      const next = raw[i + 1];
      if (!next) return { words, environment, switches, error: '`--env` needs an environment, e.g. `--env staging`' };
      environment = next;
      i += 1;
    } else if (word.startsWith('--env=')) {
      environment = word.slice('--env='.length) || null;
    } else if (word.startsWith('--')) {
      switches.add(word.slice(2));
    } else {
      words.push(word);
    }
  }
  return { words, environment, switches };
}

/** `/killswitch <flag> <reason…> [--env e]`, `/killswitch restore <flag> [--env e]`, `/killswitch help`. */
export function parseKillswitch(text: string): KillswitchCommand {
  const { words, environment, error } = tokenize(text);
  if (error) return { kind: 'invalid', message: error };
  const [first, second, ...rest] = words;
  if (!first || first === 'help') return { kind: 'help' };
  if (first === 'restore') {
    if (!second) return { kind: 'invalid', message: 'Which flag? `/killswitch restore <flag> [--env <env>]`' };
    return { kind: 'restore', flag: second, environment };
  }
  const reason = [second, ...rest].filter(Boolean).join(' ').trim();
  if (!reason) return { kind: 'invalid', message: `A reason is required: \`/killswitch ${first} <why you are pulling it>\`` };
  return { kind: 'kill', flag: first, environment, reason: reason.slice(0, 500) };
}

/** `/flag <flag> [env]` or `/flag help`. */
export function parseFlag(text: string): FlagCommand {
  const { words, environment, error } = tokenize(text);
  if (error) return { kind: 'invalid', message: error };
  const [flag, env] = words;
  if (!flag || flag === 'help') return { kind: 'help' };
  return { kind: 'show', flag, environment: environment ?? env ?? null };
}

/** `/rollout <flag> status|pause|resume|abort|approve [env] [--keep]`. */
export function parseRollout(text: string): RolloutCommand {
  const { words, environment, switches, error } = tokenize(text);
  if (error) return { kind: 'invalid', message: error };
  const [flag, action = 'status', env] = words;
  if (!flag || flag === 'help') return { kind: 'help' };
  if (!(ROLLOUT_ACTIONS as readonly string[]).includes(action)) {
    return { kind: 'invalid', message: `Unknown action \`${action}\`: use one of ${ROLLOUT_ACTIONS.join(', ')}` };
  }
  return { kind: 'rollout', flag, action: action as RolloutAction, environment: environment ?? env ?? null, keep: switches.has('keep') };
}

// The API's 404s suggest keys the same way.
export { closeMatches } from '../src/flags/close-matches.js';
