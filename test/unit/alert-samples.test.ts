import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALERT_SOURCES, parseAlertPayload } from '../../src/alerts/alert-payload.js';
import { sampleAlertPayload, TEST_ALERT_NAME } from '../../src/domain/alert-samples.js';

/** The sample bodies a trigger's test alert and the UI's curl example send: every source's adapter reads them as meant. */
describe('sample alert payloads', () => {
  it('parse, for every source, as one alert with its name and status; a new id is a new alert', () => {
    const name = fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim().length > 0 && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s));
    fc.assert(fc.property(fc.constantFrom(...ALERT_SOURCES), name, fc.uuid(), fc.uuid(), fc.constantFrom('firing' as const, 'resolved' as const), (source, n, id, other, status) => {
      const parsed = parseAlertPayload(source, sampleAlertPayload(source, { name: n, id, status }));
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.notices).toHaveLength(1);
      expect(parsed.notices[0]).toMatchObject({ status, name: n });
      const again = parseAlertPayload(source, sampleAlertPayload(source, { name: n, id, status }));
      const different = parseAlertPayload(source, sampleAlertPayload(source, { name: n, id: other, status }));
      expect(again.ok && again.notices[0]!.fingerprint).toBe(parsed.notices[0]!.fingerprint);
      if (id !== other) expect(different.ok && different.notices[0]!.fingerprint).not.toBe(parsed.notices[0]!.fingerprint);
    }));
  });

  it('sends Alertmanager’s webhook shape (version 4, the alert’s labels) and names the test alert', () => {
    expect(sampleAlertPayload('alertmanager', { name: TEST_ALERT_NAME, id: 'x1', status: 'firing' })).toMatchObject({
      version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'RipcordTestAlert' }, fingerprint: 'x1' }],
    });
  });
});
