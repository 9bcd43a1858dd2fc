import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  it('applies documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toBe('postgres://ripcord_app:ripcord_app@127.0.0.1:5432/ripcord');
    expect(config.MIGRATION_DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379/0');
    expect(config.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(config.TEMPORAL_NAMESPACE).toBe('default');
    expect(config.SLACK_API_URL).toBe('https://slack.com/api/');
    expect(config.RIPCORD_ADMIN_TOKEN).toBeUndefined();
  });

  it('reads every variable when set', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:p@db:5433/x',
      REDIS_URL: 'rediss://cache:6380/2',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'flags',
      PORT: '9090',
      RIPCORD_ADMIN_TOKEN: 'a-long-enough-bootstrap-token',
      SLACK_BOT_TOKEN: 'xoxb-123',
      SLACK_SIGNING_SECRET: 'shh',
      SLACK_ALERT_CHANNEL: '#incidents',
      SLACK_API_URL: 'http://127.0.0.1:4000/api/',
    });
    expect(config).toMatchObject({
      DATABASE_URL: 'postgresql://u:p@db:5433/x',
      REDIS_URL: 'rediss://cache:6380/2',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'flags',
      PORT: 9090,
      RIPCORD_ADMIN_TOKEN: 'a-long-enough-bootstrap-token',
      SLACK_BOT_TOKEN: 'xoxb-123',
      SLACK_SIGNING_SECRET: 'shh',
      SLACK_ALERT_CHANNEL: '#incidents',
      SLACK_API_URL: 'http://127.0.0.1:4000/api/',
    });
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({ PORT: '', SLACK_BOT_TOKEN: '' });
    expect(config.PORT).toBe(8080);
    expect(config.SLACK_BOT_TOKEN).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['REDIS_URL', 'not a url'],
    ['TEMPORAL_ADDRESS', 'no-port'],
    ['RIPCORD_ADMIN_TOKEN', 'short'],
    ['SLACK_BOT_TOKEN', 'xoxp-user-token'],
    ['SLACK_API_URL', 'slack'],
    ['LOG_LEVEL', 'loud'],
  ])('refuses a bad %s and names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });

  it('reads HOST as an IP address to listen on and refuses anything else', () => {
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '::' }).HOST).toBe('::');
    expect(() => loadConfig({ HOST: 'everywhere' })).toThrow(/^Invalid configuration:\n {2}HOST: must be an IP address/);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: '-1', TEMPORAL_ADDRESS: 'x' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('PORT');
      expect((error as Error).message).toContain('TEMPORAL_ADDRESS');
    }
  });
});
