/** How `/flag` shows what a config serves: its variants and its split. Plain text, no I/O. */

export interface VariantsOfConfig {
  variants?: Array<{ name: string }> | null;
  on_variant?: string | null;
  off_variant?: string | null;
  split?: Array<{ variant: string; weight: number }> | null;
}

/**
 * `, serves `control` (off: `legacy`) of control · compact · wide; split control 50% · compact 30% · wide 20%`,
 * or nothing for a plain on/off config (the on/off state already says it all).
 */
export function describeVariants(config: VariantsOfConfig): string {
  const split = config.split?.length ? `; split ${config.split.map((s) => `${s.variant} ${s.weight}%`).join(' · ')}` : '';
  const names = config.variants?.map((v) => v.name) ?? [];
  const plain = names.length === 2 && config.on_variant === 'on' && config.off_variant === 'off';
  if (plain || !config.on_variant) return split;
  return `, serves \`${config.on_variant}\` (off: \`${config.off_variant ?? '?'}\`) of ${names.join(' · ')}${split}`;
}
