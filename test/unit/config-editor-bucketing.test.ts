import { describe, expect, it } from 'vitest';
import { editable, putBodyOf } from '../../ui/src/pages/config-editor.tsx';

describe('the config editor', () => {
  it("keeps a config's bucketing in the PUT body it saves, and adds none to a config without", () => {
    const base = { enabled: true, variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off', rules: [], targeting: [], kill_switch: { enabled: false }, version: 3 };
    const unleash = { scheme: 'unleash' as const, group_id: 'checkout' };
    expect(putBodyOf(editable({ ...base, rollout: { percentage: 25, strategy: 'gradual' as const }, bucketing: unleash }))).toMatchObject({ bucketing: unleash });
    expect(putBodyOf(editable(base))).not.toHaveProperty('bucketing');
  });
});
