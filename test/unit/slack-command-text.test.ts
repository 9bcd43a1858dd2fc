import { describe, expect, it } from 'vitest';
import { closeMatches, parseFlag, parseKillswitch, parseRollout } from '../../slack/command-text.js';

describe('slack command text', () => {
  it.each([
    ['checkout-v2 payment errors spiking', { kind: 'kill', flag: 'checkout-v2', environment: null, reason: 'payment errors spiking' }],
    ['checkout-v2 --env staging payment errors', { kind: 'kill', flag: 'checkout-v2', environment: 'staging', reason: 'payment errors' }],
    ['checkout-v2 errors --env=staging', { kind: 'kill', flag: 'checkout-v2', environment: 'staging', reason: 'errors' }],
    ['restore checkout-v2', { kind: 'restore', flag: 'checkout-v2', environment: null }],
    ['restore checkout-v2 -e development', { kind: 'restore', flag: 'checkout-v2', environment: 'development' }],
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
  ])('parses /killswitch %j', (text, expected) => {
    expect(parseKillswitch(text)).toEqual(expected);
  });

  it.each([
    ['checkout-v2', /A reason is required/],
    ['checkout-v2 --env', /needs an environment/],
    ['restore', /Which flag/],
  ])('explains a bad /killswitch %j', (text, message) => {
    const parsed = parseKillswitch(text);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.message).toMatch(message);
  });

  it('parses /flag and /rollout', () => {
    expect(parseFlag('new-search staging')).toEqual({ kind: 'show', flag: 'new-search', environment: 'staging' });
    expect(parseFlag('new-search')).toEqual({ kind: 'show', flag: 'new-search', environment: null });
    expect(parseFlag('help')).toEqual({ kind: 'help' });
    expect(parseRollout('new-search pause production')).toEqual({ kind: 'rollout', flag: 'new-search', action: 'pause', environment: 'production', keep: false });
    expect(parseRollout('new-search abort --keep')).toEqual({ kind: 'rollout', flag: 'new-search', action: 'abort', environment: null, keep: true });
    expect(parseRollout('new-search')).toMatchObject({ action: 'status' });
    expect(parseRollout('new-search dance')).toMatchObject({ kind: 'invalid' });
  });

  it('suggests close matches, closest first, and nothing far away', () => {
    const keys = ['checkout-v2', 'checkout-v3', 'new-search', 'homepage-banner'];
    expect(closeMatches('checkout-v1', keys)).toEqual(['checkout-v2', 'checkout-v3']);
    expect(closeMatches('checkout', keys)).toEqual(['checkout-v2', 'checkout-v3']);
    expect(closeMatches('new-serch', keys)).toEqual(['new-search']);
    expect(closeMatches('zzz', keys)).toEqual([]);
    // A short key inside a longer typo is not a suggestion (a flag named "0" once led every typo with a 0).
    expect(closeMatches('slackb-90ad4c9z', ['0', 'slackb-90ad4c92'])).toEqual(['slackb-90ad4c92']);
    expect(closeMatches('0', ['slackb-90ad4c92', '01'])).toEqual(['01']);
    expect(closeMatches('prod', ['development', 'production', 'staging'])).toEqual(['production']);
    expect(closeMatches('x'.repeat(10_000), keys)).toEqual([]);
  });
});
