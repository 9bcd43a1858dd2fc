import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_SOURCES, parseAlertPayload } from '../../src/alerts/alert-payload.js';
import { alertmanagerSnippet, curlExample, testResultSentence } from '../../ui/src/alert-trigger-help.js';

/** The alert trigger panel's words and snippets (ui/src/alert-trigger-help.ts). */
describe('alert trigger help', () => {
  const text = fc.string({ minLength: 1, maxLength: 40 });

  it('gives Alertmanager a route and a webhook receiver that YAML reads back as meant, whatever the names', () => {
    fc.assert(fc.property(text, text, text, fc.boolean(), (flag, environment, name, restore) => {
      const url = `https://ripcord.example/hooks/v1/triggers/rc_trigger_${'x'.repeat(43)}`;
      const config = parse(alertmanagerSnippet({ flag, environment, name, restore_on_resolved: restore }, url));
      const receiver = config.receivers[0];
      expect(config.route.routes[0].receiver).toBe(receiver.name);
      expect(receiver.name).toMatch(/^ripcord-[a-z0-9-]*$/);
      expect(receiver.webhook_configs).toEqual([{ url, send_resolved: restore }]);
      expect(config.route.routes[0]).toMatchObject({ matchers: ['alertname="HighErrorRate"'], continue: true });
    }));
  });

  it('gives a curl command whose body, as the shell passes it, is the trigger’s own format', () => {
    for (const source of ALERT_SOURCES) {
      const url = "https://ripcord.example/hooks/v1/triggers/it's";
      // The shell's own reading of the command: echo its arguments instead of running curl.
      const argv = JSON.parse(execFileSync('bash', ['-c', `curl() { node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@"; }; ${curlExample(source, url)}`], { encoding: 'utf8' })) as string[];
      expect(argv.at(-1)).toBe(url);
      const body = JSON.parse(argv[argv.indexOf('--data') + 1]!);
      const parsed = parseAlertPayload(source, body);
      expect(parsed.ok && parsed.notices[0]).toMatchObject({ status: 'firing', name: 'RipcordTestAlert' });
    }
  });

  it('says what a test alert did', () => {
    expect(testResultSentence({ action: 'kill', changed: true, test_alert: 'RipcordTestAlert' }, 'checkout', 'staging'))
      .toBe('Test alert RipcordTestAlert delivered: the trigger pulled the kill switch — checkout is killed in staging. Restore it when you are done.');
    expect(testResultSentence({ action: 'kill', changed: false }, 'checkout', 'staging'))
      .toBe('Test alert RipcordTestAlert delivered: the trigger would pull the kill switch, but checkout was already killed in staging; nothing changed.');
    expect(testResultSentence({ action: 'none', reason: '1 of 3 alerts firing within 60 s' }, 'checkout', 'staging'))
      .toBe('Test alert RipcordTestAlert delivered; the trigger did nothing: 1 of 3 alerts firing within 60 s.');
  });
});
