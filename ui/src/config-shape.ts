/**
 * A stored config as the editor reads it: one written before variants existed (value and off_value
 * only) gets its implicit variants `on` and `off`, so a diff against a config with variants shows what
 * changed in them (a rename of `on`) rather than a whole list added.
 */
export function withNamedVariants(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const config = value as Record<string, unknown>;
  if (config.variants || !('value' in config) || !('off_value' in config) || !('enabled' in config)) return value;
  return { ...config, variants: [{ name: 'on', value: config.value }, { name: 'off', value: config.off_value }], on_variant: 'on', off_variant: 'off' };
}
